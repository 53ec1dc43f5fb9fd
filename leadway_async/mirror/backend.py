"""What a mirror needs from a database: the `MirrorBackend` protocol SQLite and Postgres
implement, and the values that cross it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from attrs import frozen

from .bookmark import Bookmark, RunKind
from .errors import LeaseLostError, MirrorError
from .rows import ConversationRow, StoredRow
from .schema import Dialect

__all__ = [
    "FinishedRun",
    "LocationKey",
    "LocationState",
    "MirrorBackend",
    "PageWrite",
    "PassStart",
    "WalkToken",
    "check_lease",
    "database_failed",
    "key_of",
    "location_state",
    "refuse_other_filters",
    "stored_row",
]


@frozen
class LocationKey:
    """What one state row is kept for: a location, and the filters its mirror applies
    (canonical JSON of the wire filters, `{}` for none)."""

    location_id: str
    filters: str


@frozen
class LocationState:
    """A location's state row as read, with the database's clock at that moment."""

    key: LocationKey
    bookmark: Bookmark
    last_run_at: datetime | None
    last_run_kind: RunKind | None
    conversations: int
    deleted: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    now: datetime


@frozen
class PassStart:
    """A full pass as begun (or as left unfinished): its id, when it began, and whether
    it marks deletions."""

    pass_id: int
    started_at: datetime
    marks_deletions: bool


@frozen
class WalkToken:
    """Where the walk under way stands after a page: a full pass's scan token, or an
    incremental walk's start and pager token."""

    pass_token: str | None = None
    walk_start_after: int | None = None
    walk_token: str | None = None

    def parameters(self) -> tuple[str | None, int | None, str | None]:
        """The values of the page statement's pass and walk columns."""
        return self.pass_token, self.walk_start_after, self.walk_token


@frozen
class PageWrite:
    """What writing one page did: rows inserted and updated, and conversations left as
    they were (unchanged, or older than a version this run already wrote)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0


@frozen
class FinishedRun:
    """A location after its run: rows marked deleted by it, and the rows present and
    marked deleted in all."""

    deleted_now: int
    conversations: int
    deleted: int


class MirrorBackend(Protocol):
    """A mirror database. Every write takes the location's lease owner: a worker whose
    lease another took over gets `LeaseLostError` and writes nothing. Database failures
    raise `MirrorDatabaseError`; each method's writes are one transaction."""

    @property
    def shown(self) -> str:
        """The database as messages name it (no password)."""
        ...

    async def open(self) -> None:
        """Connect; create the tables on first use, check them otherwise
        (`NotAMirrorError`, `SchemaVersionError`)."""
        ...

    async def aclose(self) -> None:
        """Disconnect; calling it again does nothing."""
        ...

    async def now(self) -> datetime:
        """The database's clock (leases and run times are on it)."""
        ...

    async def register(self, keys: Sequence[LocationKey]) -> None:
        """Make sure each key has a state row; `MirrorError` if a location is mirrored
        here under other filters."""
        ...

    async def claim(
        self,
        keys: Sequence[LocationKey],
        owner: str,
        *,
        lease_s: float,
        not_run_since: datetime,
    ) -> LocationState | None:
        """Take the lease of one of `keys` (all of the same filters) that no live lease
        holds and that has not finished a run since `not_run_since`; None if there is none."""
        ...

    async def states(self, keys: Sequence[LocationKey]) -> list[LocationState]:
        """The state rows of `keys`."""
        ...

    async def renew(self, key: LocationKey, owner: str, *, lease_s: float) -> bool:
        """Extend `owner`'s lease on `key`; False if it is not `owner`'s any more."""
        ...

    async def release(self, key: LocationKey, owner: str) -> None:
        """Give up `owner`'s lease on `key` (nothing if it holds none)."""
        ...

    async def start_pass(
        self, key: LocationKey, owner: str, pass_id: int, *, lease_s: float
    ) -> PassStart:
        """Begin full pass `pass_id`; it marks deletions if the location has rows."""
        ...

    async def write_page(
        self,
        key: LocationKey,
        owner: str,
        rows: Sequence[ConversationRow],
        *,
        bookmark: int | None,
        token: WalkToken,
        seen_pass: int | None,
        since: datetime,
        lease_s: float,
    ) -> PageWrite:
        """Write a page and what follows it, at once: its rows (see `plan_page`; `since`
        is when the run or its pass began), the new `bookmark`, where the walk stands
        (`token`), and with `seen_pass` the ids the pass has seen."""
        ...

    async def finish(
        self, key: LocationKey, owner: str, *, kind: RunKind, full_pass: PassStart | None
    ) -> FinishedRun:
        """End a run: for a full pass, mark what it did not see deleted (if it marks
        deletions) and clear it; record the run's time and the counts."""
        ...


def location_state(dialect: Dialect, row: Sequence[Any]) -> LocationState:
    """A state row read in `STATE_COLUMNS` order, the clock after them."""
    (
        location_id,
        filters,
        bookmark,
        pass_id,
        pass_token,
        pass_started_at,
        pass_marks_deletions,
        last_full_at,
        walk_start_after,
        walk_token,
        last_run_at,
        last_run_kind,
        conversations,
        deleted,
        lease_owner,
        lease_expires_at,
        now,
    ) = row
    read = dialect.read_time
    clock = read(now)
    assert clock is not None
    return LocationState(
        key=LocationKey(location_id, filters),
        bookmark=Bookmark(
            position=bookmark,
            pass_id=pass_id,
            pass_token=pass_token,
            pass_started_at=read(pass_started_at),
            pass_marks_deletions=bool(pass_marks_deletions),
            last_full_at=read(last_full_at),
            walk_start_after=walk_start_after,
            walk_token=walk_token,
        ),
        last_run_at=read(last_run_at),
        last_run_kind=last_run_kind,
        conversations=conversations,
        deleted=deleted,
        lease_owner=lease_owner,
        lease_expires_at=read(lease_expires_at),
        now=clock,
    )


def stored_row(row: Sequence[Any]) -> tuple[str, StoredRow]:
    """A row of the `existing` statement as an id and what is stored for it."""
    conversation_id, digest, location_id, deleted, last_message_date_ms, written = row
    return conversation_id, StoredRow(
        digest, location_id, bool(deleted), last_message_date_ms, bool(written)
    )


def check_lease(rowcount: int, key: LocationKey) -> None:
    """`LeaseLostError` unless a write guarded by the lease owner changed its state row."""
    if rowcount != 1:
        raise LeaseLostError(
            f"another worker took location {key.location_id} over (this one's lease had "
            "expired): nothing more was written for it"
        )


def refuse_other_filters(clash: Sequence[Any] | None, filters: str, where: str) -> None:
    """`MirrorError` if `clash`, a state row of the same location, has other filters."""
    if clash is not None:
        location_id, kept = clash
        raise MirrorError(
            f"{where} mirrors location {location_id} with the filters {kept}; this run asks "
            f"for {filters}: a mirror of other filters needs a database of its own"
        )


def database_failed(where: str, error: Exception) -> str:
    """What to say when the database fails during a run."""
    reason = " ".join(str(error).split()) or type(error).__name__
    return (
        f"the mirror database {where} failed: {reason} (every page written before stays, "
        "with its bookmark: run again to continue from there)"
    )


def key_of(key: LocationKey) -> tuple[str, str]:
    """A state row's key as statement parameters: location, then filters."""
    return key.location_id, key.filters
