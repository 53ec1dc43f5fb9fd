"""`python -m leadway_async`: the command line."""

from .cli.main import main

raise SystemExit(main())
