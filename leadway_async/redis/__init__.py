"""One rate-limit budget and one OAuth token store shared through Redis, by every process
and host of a deployment: `RedisThrottle` and `RedisTokenStore`.

Needs redis-py (with its asyncio client): `pip install 'leadway-async[redis]'`. The core
package installs no Redis dependency and never imports this one by itself.
"""

from __future__ import annotations

try:
    import redis.asyncio  # noqa: F401  (checks the extra is installed)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "leadway_async.redis needs redis-py with its asyncio client: "
        "pip install 'leadway-async[redis]'"
    ) from exc

from .errors import RedisThrottleError
from .store import RedisTokenStore
from .throttle import RedisThrottle

__all__ = ["RedisThrottle", "RedisThrottleError", "RedisTokenStore"]
