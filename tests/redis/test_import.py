"""The Redis extra stays optional: the core never loads redis-py, and without it
`leadway_async.redis` says which extra to install. Runs whether or not Redis is here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=60
    )


def test_without_redis_py_the_import_names_the_extra() -> None:
    result = run(
        "import sys\n"
        "sys.modules['redis'] = None  # as if redis-py were not installed\n"
        "try:\n"
        "    import leadway_async.redis\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'leadway-async[redis]'" in result.stdout


def test_the_core_does_not_load_redis_py() -> None:
    result = run(
        "import json, sys, leadway_async\n"
        "from leadway_async import LeadwayClient\n"
        "from leadway_async.middleware import Throttle\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'redis'"
        " or m.startswith('leadway_async.redis'))))\n"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
