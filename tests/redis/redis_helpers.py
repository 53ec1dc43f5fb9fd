"""Whether the Redis tests can run here.

This directory is not a package on purpose: as one, pytest would put `tests/` on the path
and `import redis` would find it instead of redis-py."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

REQUIRED = os.environ.get("LEADWAY_REQUIRE_REDIS") == "1"


def missing() -> str | None:
    """Why the Redis tests cannot run here, or None when they can."""
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        return "redis-py is not installed (pip install 'leadway-async[redis]')"
    if shutil.which("redis-server") is None:
        return "redis-server is not on the PATH (apt-get install redis-server)"
    return None


def need_redis() -> None:
    """Skip the calling test module when Redis is missing, or fail it when
    LEADWAY_REQUIRE_REDIS=1 says it must run."""
    reason = missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"LEADWAY_REQUIRE_REDIS=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def answer(**given: Any) -> dict[str, Any]:
    """The finish script's arguments for an answer (status 200, headers as given)."""
    values: dict[str, Any] = {
        "status": 200,
        "max_requests": None,
        "interval_ms": None,
        "remaining": None,
        "retry_after_ms": None,
        "daily_remaining": None,
        "daily_reset_ms": None,
        "default_pause_s": 10.0,
        "daily_recheck_s": 300.0,
    }
    values.update(given)
    return values


async def redis_now(client: Any) -> int:
    """Redis's clock, in microseconds: the time the scripts read."""
    seconds, micros = await client.time()
    return int(seconds) * 1_000_000 + int(micros)
