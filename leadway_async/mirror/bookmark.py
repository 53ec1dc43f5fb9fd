"""Where a location's mirror stands, and what its next run does (pure rules, no I/O).

The bookmark is the latest `lastMessageDate` written. An incremental run walks oldest
first from a lookback window before it: the search index shows a new conversation only
seconds after it was created, by which time a walk may have passed its date, and the
conversations sharing the bookmark's millisecond may not all have been written. A full
pass is due on the first run, when the last one is `full_every` old, when asked for, and
always when one was left unfinished: that one is continued, not started again. A run
stopped during an incremental walk is continued from the walk's resume token, unless a
full pass is due, which takes in everything the walk would have.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from attrs import frozen

from ..models import Conversation

__all__ = ["Bookmark", "RunKind", "RunPlan", "advanced", "incremental_start", "plan_run"]

RunKind = Literal["full", "incremental"]
"""A full pass (every conversation, deletions marked) or an incremental run."""

_INT64_MIN = -(2**63)
_ONE_MS = timedelta(milliseconds=1)


@frozen
class Bookmark:
    """Where a location's mirror stands, as its state row keeps it.

    `position` is the latest `lastMessageDate` written (epoch ms; None before the first
    page). While a full pass is under way, `pass_id` names it, `pass_token` is its scan's
    resume token after the last page written (None before the first), `pass_started_at`
    when it began and `pass_marks_deletions` whether it marks what it does not see (not
    on a location that had no rows when it began); `last_full_at` is when the last full
    pass finished. While an incremental walk is under way, `walk_start_after` is the
    `startAfterDate` it began from and `walk_token` its resume token after the last page
    written.
    """

    position: int | None = None
    pass_id: int | None = None
    pass_token: str | None = None
    pass_started_at: datetime | None = None
    pass_marks_deletions: bool = False
    last_full_at: datetime | None = None
    walk_start_after: int | None = None
    walk_token: str | None = None


@frozen
class RunPlan:
    """What a run of one location does: its kind; whether it continues a walk a stopped
    run left, and from which resume `token`; and for an incremental run the
    `startAfterDate` its walk began from."""

    kind: RunKind
    resume: bool = False
    start_after: int | None = None
    token: str | None = None


def plan_run(
    bookmark: Bookmark,
    *,
    now: datetime,
    full_every: timedelta,
    lookback: timedelta,
    full: bool = False,
) -> RunPlan:
    """The run `bookmark` calls for at `now`; `full` asks for a full pass."""
    if bookmark.pass_id is not None:
        return RunPlan("full", resume=True, token=bookmark.pass_token)
    if full or bookmark.position is None or bookmark.last_full_at is None:
        return RunPlan("full")
    if now - bookmark.last_full_at >= full_every:
        return RunPlan("full")
    if bookmark.walk_start_after is not None and bookmark.walk_token is not None:
        return RunPlan(
            "incremental", resume=True, start_after=bookmark.walk_start_after,
            token=bookmark.walk_token,
        )  # fmt: skip
    return RunPlan("incremental", start_after=incremental_start(bookmark.position, lookback))


def incremental_start(position: int, lookback: timedelta) -> int:
    """The `startAfterDate` of an incremental walk from `position`: the API returns what
    lies strictly after it, so `lookback` before `position`, that millisecond included."""
    return max(_INT64_MIN, position - lookback // _ONE_MS - 1)


def advanced(position: int | None, conversations: Iterable[Conversation]) -> int | None:
    """The bookmark once `conversations` are written: the latest `lastMessageDate` of
    them and `position`. Conversations without one leave it as it is (the API keeps them
    last under a sentinel value that is no date)."""
    dates = [c.last_message_date_ms for c in conversations if c.last_message_date_ms is not None]
    if position is not None:
        dates.append(position)
    return max(dates, default=None)
