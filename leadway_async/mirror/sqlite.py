"""The SQLite backend: the standard library's `sqlite3`, off the event loop.

One connection, used by one thread of its own: every call is queued to that thread, so
the event loop never waits on the disk and transactions never interleave. The database
is in WAL mode (readers, a person's `sqlite3` shell included, do not block the mirror)
with `synchronous=FULL`: a page counts once it is on disk. Several processes may share
the file; each transaction takes the write lock at its start (`BEGIN IMMEDIATE`) and
waits up to `busy_timeout_s` for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from .._version import __version__
from .backend import (
    FinishedRun,
    LocationKey,
    LocationState,
    PageWrite,
    PassStart,
    WalkToken,
    check_lease,
    database_failed,
    key_of,
    location_state,
    refuse_other_filters,
    stored_row,
)
from .bookmark import RunKind
from .errors import DatabaseUrlError, MirrorDatabaseError, MirrorError, NotAMirrorError
from .rows import ConversationRow, plan_page
from .schema import SCHEMA_VERSION, SQLITE, Statements, schema_action

__all__ = ["SqliteBackend"]

T = TypeVar("T")

_STATEMENTS = Statements.of(SQLITE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VALUE = re.compile(r"-?[0-9]+|[A-Za-z_][A-Za-z0-9_]*")
_LOCK_POLL_S = 0.01  # how often a refused switch to WAL is tried again


class SqliteBackend:
    """A mirror in a SQLite file (`:memory:` for one in memory, gone when closed).

    `pragmas` are set on the connection after the mirror's own (names and values are
    plain words or whole numbers, such as `{"cache_size": -65536}`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        pragmas: Mapping[str, str | int] | None = None,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self._path = os.fspath(path)
        self._pragmas = dict(pragmas or {})
        for name, value in self._pragmas.items():
            if not _NAME.fullmatch(name) or not _VALUE.fullmatch(str(value)):
                raise ValueError(f"not a pragma this backend sets: {name}={value!r}")
        self._busy_timeout_s = busy_timeout_s
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    @property
    def shown(self) -> str:
        """The database as messages name it: its path."""
        return self._path

    async def open(self) -> None:
        """Connect in the backend's thread; create or check the tables."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="leadway-mirror-sqlite")
        try:
            await self._call(self._open)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Close the connection, after whatever is queued before; again does nothing."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            future = asyncio.get_running_loop().run_in_executor(executor, self._close)
            await asyncio.shield(future)
        finally:
            executor.shutdown(wait=False)

    async def now(self) -> datetime:
        """This machine's clock, which SQLite's `now` reads too."""
        return datetime.now(timezone.utc)

    async def register(self, keys: Sequence[LocationKey]) -> None:
        """State rows for `keys`, made where missing."""
        await self._call(self._register, keys)

    async def claim(
        self,
        keys: Sequence[LocationKey],
        owner: str,
        *,
        lease_s: float,
        not_run_since: datetime,
    ) -> LocationState | None:
        """Lease one of `keys` that is free and not run since `not_run_since`."""
        return await self._call(self._claim, keys, owner, lease_s, not_run_since)

    async def states(self, keys: Sequence[LocationKey]) -> list[LocationState]:
        """The state rows of `keys`."""
        return await self._call(self._states, keys)

    async def renew(self, key: LocationKey, owner: str, *, lease_s: float) -> bool:
        """Extend the lease; False if `owner` does not hold it any more."""
        return await self._call(self._renew, key, owner, lease_s)

    async def release(self, key: LocationKey, owner: str) -> None:
        """Give the lease up."""
        await self._call(self._release, key, owner)

    async def start_pass(
        self, key: LocationKey, owner: str, pass_id: int, *, lease_s: float
    ) -> PassStart:
        """Begin a full pass."""
        return await self._call(self._start_pass, key, owner, pass_id, lease_s)

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
        """A page, its bookmark and what the pass saw, in one transaction."""
        return await self._call(
            self._write_page, key, owner, rows, bookmark, token, seen_pass, since, lease_s
        )

    async def finish(
        self, key: LocationKey, owner: str, *, kind: RunKind, full_pass: PassStart | None
    ) -> FinishedRun:
        """Mark deletions (a full pass) and record the run."""
        return await self._call(self._finish, key, owner, kind, full_pass)

    # Everything below runs in the backend's thread.

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        executor = self._executor
        if executor is None:
            raise MirrorError(f"the mirror database {self.shown} is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, partial(self._guarded, function, *args))

    def _guarded(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return function(*args)
        except sqlite3.Error as exc:
            raise MirrorDatabaseError(database_failed(self.shown, exc)) from exc

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise MirrorError(f"the mirror database {self.shown} is not open")
        return self._connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._db()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the error that got here counts
                    connection.execute("ROLLBACK")
            raise

    def _open(self) -> None:
        path = self._path
        if path != ":memory:" and not Path(path).parent.is_dir():
            raise DatabaseUrlError(
                f"cannot create the mirror database {path}: there is no folder {Path(path).parent}"
            )
        try:
            connection = sqlite3.connect(
                path,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise MirrorDatabaseError(f"cannot open the mirror database {path}: {exc}") from exc
        try:
            self._connection = connection
            try:
                tables = self._tables(connection)
            except sqlite3.DatabaseError as exc:
                raise NotAMirrorError(f"{path} is not a mirror: {exc}") from exc
            schema_action(tables, self._version(connection, tables), path)  # refuse early
            if path != ":memory:":
                self._use_wal(connection)
            connection.execute("PRAGMA synchronous = FULL")
            for name, value in self._pragmas.items():
                connection.execute(f"PRAGMA {name} = {value}")
            with self._transaction():
                tables = self._tables(connection)
                action = schema_action(tables, self._version(connection, tables), path)
                if action == "create":
                    for statement in _STATEMENTS.create:
                        connection.execute(statement)
                    connection.execute(
                        _STATEMENTS.insert_version,
                        (SCHEMA_VERSION, f"leadway-async {__version__}"),
                    )
        except BaseException:
            self._connection = None
            connection.close()
            raise

    def _use_wal(self, connection: sqlite3.Connection) -> None:
        """Put the file in WAL mode, waiting up to `busy_timeout_s` for the write lock.

        While another connection holds the write lock of a file still in rollback mode
        (a second worker opening a new mirror), SQLite refuses the switch at once instead
        of waiting as it does for a transaction; so the wait is done here.
        """
        deadline = time.monotonic() + self._busy_timeout_s
        while True:
            try:
                connection.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if str(exc) != "database is locked" or time.monotonic() >= deadline:
                    raise
            time.sleep(_LOCK_POLL_S)

    @staticmethod
    def _tables(connection: sqlite3.Connection) -> list[str]:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
        return [name for (name,) in rows]

    @staticmethod
    def _version(connection: sqlite3.Connection, tables: list[str]) -> int | None:
        if "mirror_schema" not in tables:
            return None
        (version,) = connection.execute(_STATEMENTS.read_version).fetchone()
        return None if version is None else int(version)

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _register(self, keys: Sequence[LocationKey]) -> None:
        with self._transaction() as db:
            for filters in {key.filters for key in keys}:
                ids = [key.location_id for key in keys if key.filters == filters]
                clash = db.execute(_STATEMENTS.other_filters, (SQLITE.ids(ids), filters))
                refuse_other_filters(clash.fetchone(), filters, self.shown)
            db.executemany(
                _STATEMENTS.register, [(key.location_id, key.filters, False) for key in keys]
            )

    def _claim(
        self, keys: Sequence[LocationKey], owner: str, lease_s: float, not_run_since: datetime
    ) -> LocationState | None:
        if not keys:
            return None
        filters = keys[0].filters
        ids = SQLITE.ids([key.location_id for key in keys])
        with self._transaction() as db:
            row = db.execute(
                _STATEMENTS.claim, (filters, ids, SQLITE.time_value(not_run_since))
            ).fetchone()
            if row is None:
                return None
            state = location_state(SQLITE, row)
            db.execute(
                _STATEMENTS.take_lease,
                (owner, SQLITE.lease(lease_s), state.key.location_id, filters),
            )
        return state

    def _states(self, keys: Sequence[LocationKey]) -> list[LocationState]:
        if not keys:
            return []
        ids = SQLITE.ids([key.location_id for key in keys])
        rows = self._db().execute(_STATEMENTS.states, (keys[0].filters, ids)).fetchall()
        return [location_state(SQLITE, row) for row in rows]

    def _renew(self, key: LocationKey, owner: str, lease_s: float) -> bool:
        with self._transaction() as db:
            done = db.execute(
                _STATEMENTS.renew, (SQLITE.lease(lease_s), key.location_id, key.filters, owner)
            )
            return done.rowcount == 1

    def _release(self, key: LocationKey, owner: str) -> None:
        with self._transaction() as db:
            db.execute(_STATEMENTS.release, (key.location_id, key.filters, owner))

    def _start_pass(self, key: LocationKey, owner: str, pass_id: int, lease_s: float) -> PassStart:
        with self._transaction() as db:
            (has_rows,) = db.execute(_STATEMENTS.has_rows, (key.location_id,)).fetchone()
            marks = bool(has_rows)
            done = db.execute(
                _STATEMENTS.start_pass,
                (pass_id, marks, SQLITE.lease(lease_s), key.location_id, key.filters, owner),
            )
            check_lease(done.rowcount, key)
            (started,) = db.execute(
                _STATEMENTS.pass_started, (key.location_id, key.filters)
            ).fetchone()
        started_at = SQLITE.read_time(started)
        assert started_at is not None
        return PassStart(pass_id, started_at, marks)

    def _write_page(
        self,
        key: LocationKey,
        owner: str,
        rows: Sequence[ConversationRow],
        bookmark: int | None,
        token: WalkToken,
        seen_pass: int | None,
        since: datetime,
        lease_s: float,
    ) -> PageWrite:
        location = key.location_id
        with self._transaction() as db:
            done = db.execute(
                _STATEMENTS.page,
                (bookmark, *token.parameters(), SQLITE.lease(lease_s), *key_of(key), owner),
            )
            check_lease(done.rowcount, key)
            ids = list(dict.fromkeys(row.id for row in rows))
            found = db.execute(_STATEMENTS.existing, (SQLITE.time_value(since), SQLITE.ids(ids)))
            plan = plan_page(rows, dict(map(stored_row, found)), location)
            db.executemany(
                _STATEMENTS.insert_conversation,
                [(*row.values, location, row.raw, row.content_hash) for row in plan.inserts],
            )
            db.executemany(
                _STATEMENTS.update_conversation,
                [
                    (*row.values[1:], location, row.raw, row.content_hash, row.id)
                    for row in plan.updates
                ],
            )
            if seen_pass is not None:
                db.executemany(_STATEMENTS.insert_seen, [(seen_pass, i) for i in ids])
        return PageWrite(len(plan.inserts), len(plan.updates), plan.unchanged, plan.older)

    def _finish(
        self, key: LocationKey, owner: str, kind: RunKind, full_pass: PassStart | None
    ) -> FinishedRun:
        location = key.location_id
        with self._transaction() as db:
            deleted_now = 0
            if full_pass is not None:
                if full_pass.marks_deletions:
                    marked = db.execute(_STATEMENTS.mark_deleted, (location, full_pass.pass_id))
                    deleted_now = marked.rowcount
                db.execute(_STATEMENTS.forget_seen, (full_pass.pass_id,))
            alive, deleted = db.execute(_STATEMENTS.counts, (location,)).fetchone()
            if kind == "full":
                done = db.execute(
                    _STATEMENTS.finish_full,
                    (alive, deleted, False, location, key.filters, owner),
                )
            else:
                done = db.execute(
                    _STATEMENTS.finish_incremental, (alive, deleted, location, key.filters, owner)
                )
            check_lease(done.rowcount, key)
        return FinishedRun(deleted_now, alive, deleted)
