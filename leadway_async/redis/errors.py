"""The error a shared throttle raises when Redis refuses it in a way waiting will not mend."""

from __future__ import annotations

from ..errors import LeadwayError

__all__ = ["RedisThrottleError"]


class RedisThrottleError(LeadwayError):
    """Redis refused the shared throttle: wrong or missing credentials, a user without the
    permission to run its scripts, or a key of its namespace holding something that is
    not leadway-async's. The request was not sent.

    An unreachable Redis is not an error: the throttle falls back to a limit of its own
    (see `RedisThrottle`). Refusals are errors instead because they do not heal by
    themselves, and a fleet quietly working at a fraction of its budget would hide them.
    """
