"""`python -m leadway_async`: the command line."""

from .cli import main

raise SystemExit(main())
