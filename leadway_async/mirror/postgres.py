"""The Postgres backend: psycopg 3, async (install the `postgres` extra).

One connection per backend; its transactions take turns. Several workers, processes or
hosts can share one database: a worker claims a location by locking its state row with
`SELECT ... FOR UPDATE SKIP LOCKED` (so two claims never wait on each other nor take the
same row) and writing a lease on it, which every page it writes renews. Leases are on
the database's clock. The tables are created under an advisory lock, so workers starting
at once on an empty database create them once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

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
from .errors import MirrorDatabaseError, MirrorError, MissingDriverError
from .rows import ConversationRow, plan_page
from .schema import POSTGRES, SCHEMA_VERSION, Statements, schema_action

try:
    import psycopg
except ImportError as exc:  # the core installs no driver
    raise MissingDriverError(
        "the mirror's Postgres backend needs psycopg 3, which is not installed: "
        "pip install 'leadway-async[postgres]'"
    ) from exc

__all__ = ["PostgresBackend"]

_STATEMENTS = Statements.of(POSTGRES)
_SCHEMA_LOCK = 0x4C57_4D49_5252  # the advisory lock held while the tables are made


class PostgresBackend:
    """A mirror in a Postgres database: the tables live in the connection's current
    schema (set another with `?options=-csearch_path%3Dmirror` in the URL)."""

    def __init__(self, url: str, *, shown: str | None = None, connect_timeout_s: int = 10):
        self._url = url
        self._shown = shown or url
        self._connect_timeout_s = connect_timeout_s
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    @property
    def shown(self) -> str:
        """The database as messages name it (no password)."""
        return self._shown

    async def open(self) -> None:
        """Connect; create or check the tables."""
        if self._connection is not None:
            return
        try:
            self._connection = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=self._connect_timeout_s
            )
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split())
            raise MirrorDatabaseError(
                f"cannot connect to the mirror database {self.shown}: {reason}"
            ) from exc
        try:
            await self._prepare()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Disconnect; calling it again does nothing."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def now(self) -> datetime:
        """The database's clock."""
        async with self._transaction() as db:
            row = await (await db.execute("SELECT clock_timestamp()")).fetchone()
        assert row is not None
        moment = POSTGRES.read_time(row[0])
        assert moment is not None
        return moment

    async def register(self, keys: Sequence[LocationKey]) -> None:
        """State rows for `keys`, made where missing."""
        async with self._transaction() as db:
            for filters in {key.filters for key in keys}:
                ids = [key.location_id for key in keys if key.filters == filters]
                found = await db.execute(_STATEMENTS.other_filters, (POSTGRES.ids(ids), filters))
                refuse_other_filters(await found.fetchone(), filters, self.shown)
            async with db.cursor() as cursor:
                await cursor.executemany(
                    _STATEMENTS.register, [(key.location_id, key.filters, False) for key in keys]
                )

    async def claim(
        self,
        keys: Sequence[LocationKey],
        owner: str,
        *,
        lease_s: float,
        not_run_since: datetime,
    ) -> LocationState | None:
        """Lock one free state row of `keys`, skipping those locked, and lease it."""
        if not keys:
            return None
        filters = keys[0].filters
        ids = POSTGRES.ids([key.location_id for key in keys])
        async with self._transaction() as db:
            found = await db.execute(_STATEMENTS.claim, (filters, ids, not_run_since))
            row = await found.fetchone()
            if row is None:
                return None
            state = location_state(POSTGRES, row)
            await db.execute(
                _STATEMENTS.take_lease,
                (owner, POSTGRES.lease(lease_s), state.key.location_id, filters),
            )
        return state

    async def states(self, keys: Sequence[LocationKey]) -> list[LocationState]:
        """The state rows of `keys`."""
        if not keys:
            return []
        ids = POSTGRES.ids([key.location_id for key in keys])
        async with self._transaction() as db:
            found = await db.execute(_STATEMENTS.states, (keys[0].filters, ids))
            rows = await found.fetchall()
        return [location_state(POSTGRES, row) for row in rows]

    async def renew(self, key: LocationKey, owner: str, *, lease_s: float) -> bool:
        """Extend the lease; False if `owner` does not hold it any more."""
        async with self._transaction() as db:
            done = await db.execute(
                _STATEMENTS.renew, (POSTGRES.lease(lease_s), key.location_id, key.filters, owner)
            )
            return done.rowcount == 1

    async def release(self, key: LocationKey, owner: str) -> None:
        """Give the lease up."""
        async with self._transaction() as db:
            await db.execute(_STATEMENTS.release, (key.location_id, key.filters, owner))

    async def start_pass(
        self, key: LocationKey, owner: str, pass_id: int, *, lease_s: float
    ) -> PassStart:
        """Begin a full pass."""
        async with self._transaction() as db:
            found = await db.execute(_STATEMENTS.has_rows, (key.location_id,))
            row = await found.fetchone()
            marks = bool(row and row[0])
            done = await db.execute(
                _STATEMENTS.start_pass,
                (pass_id, marks, POSTGRES.lease(lease_s), key.location_id, key.filters, owner),
            )
            check_lease(done.rowcount, key)
            found = await db.execute(_STATEMENTS.pass_started, (key.location_id, key.filters))
            row = await found.fetchone()
        started_at = None if row is None else POSTGRES.read_time(row[0])
        assert started_at is not None
        return PassStart(pass_id, started_at, marks)

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
        location = key.location_id
        async with self._transaction() as db:
            done = await db.execute(
                _STATEMENTS.page,
                (bookmark, *token.parameters(), POSTGRES.lease(lease_s), *key_of(key), owner),
            )
            check_lease(done.rowcount, key)
            ids = list(dict.fromkeys(row.id for row in rows))
            found = await db.execute(_STATEMENTS.existing, (since, POSTGRES.ids(ids)))
            stored = dict(map(stored_row, await found.fetchall()))
            plan = plan_page(rows, stored, location)
            async with db.cursor() as cursor:
                if plan.inserts:
                    await cursor.executemany(
                        _STATEMENTS.insert_conversation,
                        [
                            (*row.values, location, row.raw, row.content_hash)
                            for row in plan.inserts
                        ],
                    )
                if plan.updates:
                    await cursor.executemany(
                        _STATEMENTS.update_conversation,
                        [
                            (*row.values[1:], location, row.raw, row.content_hash, row.id)
                            for row in plan.updates
                        ],
                    )
                if seen_pass is not None and ids:
                    await cursor.executemany(_STATEMENTS.insert_seen, [(seen_pass, i) for i in ids])
        return PageWrite(len(plan.inserts), len(plan.updates), plan.unchanged, plan.older)

    async def finish(
        self, key: LocationKey, owner: str, *, kind: RunKind, full_pass: PassStart | None
    ) -> FinishedRun:
        """Mark deletions (a full pass) and record the run."""
        location = key.location_id
        async with self._transaction() as db:
            deleted_now = 0
            if full_pass is not None:
                if full_pass.marks_deletions:
                    marked = await db.execute(
                        _STATEMENTS.mark_deleted, (location, full_pass.pass_id)
                    )
                    deleted_now = marked.rowcount
                await db.execute(_STATEMENTS.forget_seen, (full_pass.pass_id,))
            found = await db.execute(_STATEMENTS.counts, (location,))
            row = await found.fetchone()
            alive, deleted = (0, 0) if row is None else row
            if kind == "full":
                done = await db.execute(
                    _STATEMENTS.finish_full,
                    (alive, deleted, False, location, key.filters, owner),
                )
            else:
                done = await db.execute(
                    _STATEMENTS.finish_incremental,
                    (alive, deleted, location, key.filters, owner),
                )
            check_lease(done.rowcount, key)
        return FinishedRun(deleted_now, alive, deleted)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._lock:
            connection = self._connection
            if connection is None:
                raise MirrorError(f"the mirror database {self.shown} is not open")
            try:
                async with connection.transaction():
                    yield connection
            except psycopg.Error as exc:
                raise MirrorDatabaseError(database_failed(self.shown, exc)) from exc

    async def _prepare(self) -> None:
        async with self._transaction() as db:
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            found = await db.execute("SELECT current_schema()")
            row = await found.fetchone()
            if row is None or row[0] is None:
                raise MirrorError(
                    f"{self.shown}: the search_path names no schema that exists, so there "
                    "is nowhere to create the mirror's tables"
                )
            found = await db.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
            tables = [name for (name,) in await found.fetchall()]
            version = None
            if "mirror_schema" in tables:
                found = await db.execute(_STATEMENTS.read_version)
                row = await found.fetchone()
                version = None if row is None or row[0] is None else int(row[0])
            if schema_action(tables, version, self.shown) == "create":
                for statement in _STATEMENTS.create:
                    await db.execute(statement)
                await db.execute(
                    _STATEMENTS.insert_version, (SCHEMA_VERSION, f"leadway-async {__version__}")
                )
