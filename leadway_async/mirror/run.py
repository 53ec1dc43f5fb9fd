"""`Mirror`: keep a database in step with the conversations of one or many locations.

A location's first run is a full pass (`scan()`); later runs walk oldest first from the
bookmark (`paginate(sort="asc")`), a lookback window earlier; every `full_every`, or when
asked, a full pass again, which also marks what the API no longer returns as deleted.
Each page is one transaction with the bookmark that follows it, so a run stopped at any
moment continues where its last page left it. Locations run side by side, each under
the lease of the worker running it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import orjson
from attrs import define, field, frozen

from ..cursor import DEFAULT_SORT_BY
from ..errors import ParameterError
from ..models import ConversationPage
from ..pagination import BodyHook, ConversationPager
from ..params import MAX_LIMIT, build_search_query
from ..scan import MAX_CONCURRENCY, ConversationScan
from .backend import (
    LocationKey,
    LocationState,
    MirrorBackend,
    PageWrite,
    PassStart,
    WalkToken,
)
from .bookmark import RunPlan, advanced, plan_run
from .database import backend_for_url
from .errors import LeaseLostError, MirrorError
from .rows import conversation_row

if TYPE_CHECKING:
    from ..client import LeadwayClient

__all__ = [
    "DEFAULT_FULL_EVERY",
    "DEFAULT_LEASE",
    "DEFAULT_LOOKBACK",
    "LocationResult",
    "Mirror",
    "MirrorProgress",
    "MirrorResult",
]

logger = logging.getLogger("leadway_async")

T = TypeVar("T")

DEFAULT_LOOKBACK = timedelta(minutes=5)
"""How far before its bookmark an incremental run starts (the index lags new ones)."""

DEFAULT_FULL_EVERY = timedelta(days=1)
"""How old the last full pass may get before a run makes another."""

DEFAULT_LEASE = timedelta(seconds=60)
"""How long a worker's claim on a location lasts unless renewed (every page renews it)."""

ResultKind = Literal["full", "incremental", "skipped"]

# Options a mirror sets itself: the order it walks in, and where it starts.
_OWN_OPTIONS = ("sort", "start_after_date", "location_id")


@frozen
class LocationResult:
    """What a run did for one location.

    `kind` is "full" (a full pass; `resumed` if it continued one a stopped run left),
    "incremental", or "skipped" (another worker holds it or ran it meanwhile: `skipped`
    says which). `conversations` came from the API in this run; `inserted`, `updated`
    (a deleted one coming back included), `unchanged` and `deleted` (marked deleted now)
    count rows; `present` is how many rows of the location are not marked deleted after
    it. `requests` counts the search requests sent (a retried request once). `error` is
    what stopped it, if anything did.
    """

    location_id: str
    kind: ResultKind
    resumed: bool = False
    conversations: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    present: int = 0
    pages: int = 0
    requests: int = 0
    seconds: float = 0.0
    skipped: str | None = None
    error: BaseException | None = field(default=None, eq=False)


@frozen
class MirrorResult:
    """What a run did: a `LocationResult` per location, in the order asked, and sums."""

    locations: tuple[LocationResult, ...]
    seconds: float

    @property
    def inserted(self) -> int:
        """Rows inserted, over every location."""
        return sum(r.inserted for r in self.locations)

    @property
    def updated(self) -> int:
        """Rows updated, over every location."""
        return sum(r.updated for r in self.locations)

    @property
    def unchanged(self) -> int:
        """Conversations the API returned as they were stored, over every location."""
        return sum(r.unchanged for r in self.locations)

    @property
    def deleted(self) -> int:
        """Rows marked deleted, over every location."""
        return sum(r.deleted for r in self.locations)

    @property
    def requests(self) -> int:
        """Search requests sent, over every location."""
        return sum(r.requests for r in self.locations)

    @property
    def conversations(self) -> int:
        """Conversations the API returned, over every location."""
        return sum(r.conversations for r in self.locations)


class MirrorProgress(Protocol):
    """Hears how each location's run goes (the command line shows it)."""

    def started(self, location_id: str, plan: RunPlan) -> None:
        """A location's run begins, as `plan` says."""

    def page(self, location_id: str, done: int, total: int | None) -> None:
        """A page is written: `done` conversations so far (in a full pass, those of the
        stopped runs it continues too), of about `total` (None when unknown)."""

    def finished(self, result: LocationResult) -> None:
        """A location's run ended (or was skipped, or failed: see `result.error`)."""


class _Silent:
    def started(self, location_id: str, plan: RunPlan) -> None:
        pass

    def page(self, location_id: str, done: int, total: int | None) -> None:
        pass

    def finished(self, result: LocationResult) -> None:
        pass


class _CountedFetch:
    """The client's page fetch, counting the requests of one location's run."""

    def __init__(self, client: LeadwayClient) -> None:
        # The road every walk of the client takes; wrapped to count this run's requests
        # without touching the client's middlewares, which other tasks share.
        self._fetch = client._fetch_page
        self.requests = 0

    async def __call__(
        self, query: dict[str, str], notes: set[str], on_body: BodyHook | None = None
    ) -> ConversationPage:
        self.requests += 1
        return await self._fetch(query, notes, on_body)


@define
class _Tally:
    conversations: int = 0
    pages: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, page: ConversationPage, wrote: PageWrite) -> None:
        self.conversations += len(page)
        self.pages += 1
        self.inserted += wrote.inserted
        self.updated += wrote.updated
        self.unchanged += wrote.unchanged + wrote.older


class Mirror:
    """Keeps a database (`db`: a URL, `sqlite:///mirror.db`, `sqlite:////abs/path.db` or
    `postgresql://user@host/dbname`, or a `MirrorBackend`) in step with the conversations
    `client` can read, location by location.

    `filters` are `search()`'s keywords (the mirror keeps only what they select; `limit`
    is the page size; `sort`, `start_after_date` and `sort_by` are the mirror's own).
    An incremental run starts `lookback` before the bookmark; a full pass comes when the
    last one is `full_every` old. `concurrency` is the requests in flight in a location's
    full pass (1 to 16); `locations_at_once` how many locations run side by side. A
    worker's claim on a location is a `lease`, renewed with every page and every third
    of its length: a worker that dies holds its locations no longer than that.
    `progress` hears every location's start, pages and end.

    Bad settings raise `ParameterError` (`DatabaseUrlError` for the URL) here, before
    anything is sent or opened.
    """

    def __init__(
        self,
        client: LeadwayClient,
        db: str | MirrorBackend,
        *,
        filters: Mapping[str, Any] | None = None,
        lookback: timedelta = DEFAULT_LOOKBACK,
        full_every: timedelta = DEFAULT_FULL_EVERY,
        concurrency: int = 4,
        locations_at_once: int = 4,
        lease: timedelta = DEFAULT_LEASE,
        progress: MirrorProgress | None = None,
    ) -> None:
        self._client = client
        self._backend = backend_for_url(db) if isinstance(db, str) else db
        self._query, self._page_size = _wire_filters(filters or {})
        self._filters = orjson.dumps(dict(sorted(self._query.items()))).decode()
        self._lookback = _duration("lookback", lookback, minimum=timedelta(0))
        self._full_every = _duration("full_every", full_every, minimum=timedelta(0))
        self._lease_s = _duration("lease", lease, minimum=timedelta(seconds=1)).total_seconds()
        self._concurrency = _count("concurrency", concurrency, MAX_CONCURRENCY)
        self._locations_at_once = _count("locations_at_once", locations_at_once, None)
        self._progress: MirrorProgress = progress or _Silent()
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._running = False

    @property
    def owner(self) -> str:
        """This worker's name on the leases it takes (host, process, a random part)."""
        return self._owner

    async def run(
        self, location_ids: Sequence[str] | None = None, *, full: bool = False
    ) -> MirrorResult:
        """Mirror each of `location_ids` (default: the client's location) once.

        A location another worker holds, or ran since this run began, is skipped. `full`
        makes every location a full pass (one left unfinished is continued). If a location
        fails (an API error, its lease taken over), the others still run to their end and
        then the first failure is raised; pages written stay. A database failure stops
        every location at once and raises `MirrorDatabaseError`. A `Mirror` does one run
        at a time (`RuntimeError` otherwise); workers side by side each have their own.
        """
        begun = time.monotonic()
        keys = [LocationKey(location, self._filters) for location in self._locations(location_ids)]
        if self._running:
            raise RuntimeError("a Mirror runs once at a time; make another for a second run")
        self._running = True
        try:
            results = await self._mirror_all(keys, full=full)
        finally:
            self._running = False
        ordered = tuple(results[key.location_id] for key in keys if key.location_id in results)
        failure = next((r.error for r in ordered if r.error is not None), None)
        if failure is not None:
            raise failure
        return MirrorResult(ordered, time.monotonic() - begun)

    async def _mirror_all(
        self, keys: list[LocationKey], *, full: bool
    ) -> dict[str, LocationResult]:
        """Open the database, run every location this worker can claim, `locations_at_once`
        at a time, and say why the others were skipped."""
        backend = self._backend
        results: dict[str, LocationResult] = {}
        await backend.open()
        try:
            await backend.register(keys)
            not_run_since = await backend.now()
            pending = list(keys)

            async def worker() -> None:
                while pending:
                    state = await backend.claim(
                        list(pending),  # a copy: the backend may read it in another thread
                        self._owner,
                        lease_s=self._lease_s,
                        not_run_since=not_run_since,
                    )
                    if state is None:
                        return
                    pending.remove(state.key)
                    result = await self._location(state, full=full)
                    results[result.location_id] = result

            workers = [
                asyncio.ensure_future(worker())
                for _ in range(min(self._locations_at_once, len(keys)))
            ]
            try:
                await asyncio.gather(*workers)
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
            for state in await backend.states(pending):
                result = _skipped(state, not_run_since)
                results[result.location_id] = result
                self._progress.finished(result)
        finally:
            await backend.aclose()
        return results

    def _locations(self, location_ids: Sequence[str] | None) -> list[str]:
        if location_ids is None:
            if self._client.location_id is None:
                raise ParameterError(
                    "no location to mirror: pass run(location_ids=[...]) or give the client "
                    "a location_id"
                )
            location_ids = [self._client.location_id]
        if isinstance(location_ids, str):
            raise ParameterError("location_ids must be a list of location ids, not one string")
        locations = list(dict.fromkeys(location_ids))
        if not locations:
            raise ParameterError("location_ids is empty: there is nothing to mirror")
        for location in locations:
            build_search_query({"location_id": location})  # the id's own check
        return locations

    async def _location(self, state: LocationState, *, full: bool) -> LocationResult:
        """Run one claimed location and give its lease back; an API failure or a lost
        lease is its result's `error`, a database failure is raised."""
        begun = time.monotonic()
        location = state.key.location_id
        plan = plan_run(
            state.bookmark,
            now=state.now,
            full_every=self._full_every,
            lookback=self._lookback,
            full=full,
        )
        self._progress.started(location, plan)
        fetch = _CountedFetch(self._client)
        tally = _Tally()
        error: BaseException | None = None
        deleted = present = 0
        try:
            deleted, present = await self._leased(state.key, self._walk(state, plan, fetch, tally))
        except LeaseLostError as exc:
            error = exc
        except MirrorError:
            raise
        except Exception as exc:
            error = exc
        finally:
            # If the database failed, what failed first is what is raised.
            with contextlib.suppress(MirrorError):
                await asyncio.shield(self._backend.release(state.key, self._owner))
        result = LocationResult(
            location,
            plan.kind,
            resumed=plan.resume,
            conversations=tally.conversations,
            inserted=tally.inserted,
            updated=tally.updated,
            unchanged=tally.unchanged,
            deleted=deleted,
            present=present,
            pages=tally.pages,
            requests=fetch.requests,
            seconds=time.monotonic() - begun,
            error=error,
        )
        self._progress.finished(result)
        return result

    async def _leased(self, key: LocationKey, work: Coroutine[Any, Any, T]) -> T:
        """Await `work`, renewing the lease on `key` every third of its length; if it
        was lost, `work` is cancelled and `LeaseLostError` raised."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self._lease_s / 3)
                if done:
                    return task.result()
                if not await self._backend.renew(key, self._owner, lease_s=self._lease_s):
                    raise LeaseLostError(
                        f"another worker took location {key.location_id} over while this "
                        "one was mirroring it (its lease had expired)"
                    )
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _walk(
        self, state: LocationState, plan: RunPlan, fetch: _CountedFetch, tally: _Tally
    ) -> tuple[int, int]:
        """The run `plan` says; returns the rows it marked deleted and the rows present."""
        key, bookmark = state.key, state.bookmark
        query = {**self._query, "locationId": key.location_id}
        full_pass: PassStart | None = None
        position = bookmark.position
        walk: ConversationScan | ConversationPager
        if plan.kind == "full":
            if plan.resume:
                assert bookmark.pass_id is not None
                assert bookmark.pass_started_at is not None
                full_pass = PassStart(
                    bookmark.pass_id, bookmark.pass_started_at, bookmark.pass_marks_deletions
                )
            else:
                pass_id = secrets.randbits(62) or 1
                full_pass = await self._backend.start_pass(
                    key, self._owner, pass_id, lease_s=self._lease_s
                )
            walk = self._scan(query, fetch, plan.token)
            since = full_pass.started_at
            seen = full_pass.pass_id if full_pass.marks_deletions else None
        else:
            assert plan.start_after is not None
            ordered = {**query, "sort": "asc", "startAfterDate": str(plan.start_after)}
            walk = self._pager(ordered, fetch, plan.token)
            since, seen = state.now, None
        async with walk:
            async for page in walk.pages():
                position = advanced(position, page.conversations)
                if full_pass is not None:
                    token = WalkToken(pass_token=walk.resume_token)
                else:
                    token = WalkToken(None, plan.start_after, walk.resume_token)
                wrote = await self._backend.write_page(
                    key,
                    self._owner,
                    [conversation_row(conversation) for conversation in page],
                    bookmark=position,
                    token=token,
                    seen_pass=seen,
                    since=since,
                    lease_s=self._lease_s,
                )
                tally.add(page, wrote)
                if full_pass is not None:
                    self._progress.page(key.location_id, walk.handed_out, page.total)
                else:
                    self._progress.page(key.location_id, tally.conversations, None)
        finished = await self._backend.finish(key, self._owner, kind=plan.kind, full_pass=full_pass)
        return finished.deleted_now, finished.conversations

    def _pager(
        self, query: dict[str, str], fetch: _CountedFetch, token: str | None
    ) -> ConversationPager:
        """The incremental walk, continued from `token` where one can be."""
        try:
            return ConversationPager(
                fetch, query, page_size=self._page_size, prefetch=1, resume_token=token
            )
        except ParameterError as exc:
            if token is None:
                raise
            logger.warning(
                "location %s: the incremental walk left unfinished cannot be continued (%s); "
                "it starts again from where it began",
                query["locationId"],
                exc,
            )
            return ConversationPager(fetch, query, page_size=self._page_size, prefetch=1)

    def _scan(
        self, query: dict[str, str], fetch: _CountedFetch, token: str | None
    ) -> ConversationScan:
        """The full pass's scan, continued from `token` where one can be."""
        try:
            return ConversationScan(
                fetch,
                query,
                page_size=self._page_size,
                concurrency=self._concurrency,
                resume_token=token,
            )
        except ParameterError as exc:
            if token is None:
                raise
            logger.warning(
                "location %s: the full pass left unfinished cannot be continued (%s); it "
                "starts again from the beginning, and still marks deletions",
                query["locationId"],
                exc,
            )
            return ConversationScan(
                fetch, query, page_size=self._page_size, concurrency=self._concurrency
            )


def _skipped(state: LocationState, not_run_since: datetime) -> LocationResult:
    """The result of a location this worker did not get."""
    if state.last_run_at is not None and state.last_run_at >= not_run_since:
        why = "another worker mirrored it while this run went on"
    elif state.lease_expires_at is not None:
        why = f"another worker holds it (its lease runs to {state.lease_expires_at:%H:%M:%S} UTC)"
    else:
        why = "another worker holds it"
    return LocationResult(
        state.key.location_id, "skipped", present=state.conversations, skipped=why
    )


def _wire_filters(filters: Mapping[str, Any]) -> tuple[dict[str, str], int]:
    """The wire filters a mirror applies (no location), and its page size."""
    for keyword in _OWN_OPTIONS:
        if filters.get(keyword) is not None:
            what = (
                "pass the locations to run()"
                if keyword == "location_id"
                else ("a mirror walks in an order of its own")
            )
            raise ParameterError(f"{keyword} is not a mirror filter: {what}")
    query = build_search_query(filters, default_location_id="-")
    if query.pop("sortBy", DEFAULT_SORT_BY) != DEFAULT_SORT_BY:
        raise ParameterError(
            "sort_by is not a mirror filter: a mirror follows lastMessageDate, the one order "
            "every change moves a conversation in"
        )
    del query["locationId"]
    return query, int(query.pop("limit", MAX_LIMIT))


def _duration(name: str, value: object, *, minimum: timedelta) -> timedelta:
    if not isinstance(value, timedelta):
        raise ParameterError(f"{name} must be a datetime.timedelta, got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be at least {minimum}, got {value}")
    return value


def _count(name: str, value: object, most: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    if most is not None and value > most:
        raise ParameterError(f"{name} must be at most {most}, got {value}")
    return value
