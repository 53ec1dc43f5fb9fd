"""How long a call has left before its deadline: the one place a deadline is read."""

from __future__ import annotations

from .errors import APITimeoutError

__all__ = ["deadline_passed", "time_left"]


def time_left(deadline: float | None, now: float) -> float | None:
    """Seconds from `now` until `deadline` (both on one monotonic clock), never below 0.

    None when there is no deadline.
    """
    if deadline is None:
        return None
    return max(0.0, deadline - now)


def deadline_passed(method: str, path: str, before: str) -> APITimeoutError:
    """The error for a call whose deadline passes `before` something it had to do."""
    return APITimeoutError(f"{method} {path}: the call's deadline passes before {before}")
