"""Walking a search: `PageSource` fetches the pages, `ConversationPager` hands them out.

The source keeps up to `prefetch` pages in flight ahead of its reader and cancels them
when closed; the pager hands out conversations, applies `max_items` and builds resume
tokens. The cursor rule itself, pure, is in `cursor.py`.

Each page's query follows from the page before, so a walk would wait for the server,
then build the page, then ask for the next. The source overlaps the two: once a full
page's body has arrived, before the page is built, it asks for the page the walk will
most likely want next (the same query with the cursor moved past the body's last sort
value by the same step as the last time), and uses that answer only if the rule then
asks exactly that query. A wrong guess costs one request, cancelled; after one, guesses
are only checked, not sent, until one is right again. No guess is sent while another
walk of the same event loop waits for a page: the loop then has that walk's answer to
work on in the meantime, and one more page in flight would only be one more waiting,
alive, for the collector to walk.
"""

from __future__ import annotations

import asyncio
import sys
import time
from array import array
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Protocol
from weakref import WeakKeyDictionary

from attrs import evolve, frozen

from ._closeable import AsyncCloseable
from .cursor import PageOutcome, WalkState, read_page
from .errors import PaginationError, ParameterError
from .models import Conversation, ConversationPage

__all__ = [
    "BodyHook",
    "ConversationPager",
    "FetchPage",
    "FetchedPage",
    "PageSource",
    "last_sort_value",
]

BodyHook = Callable[[bytes], Awaitable[None]]
"""Called with a page's raw body once it has arrived, before the page is built."""


class FetchPage(Protocol):
    """Fetches the page a wire query asks for; `notes` holds the fields warned about so
    far, and `on_body` is called with the raw body before the page is built."""

    def __call__(
        self, query: dict[str, str], notes: set[str], on_body: BodyHook | None = None
    ) -> Awaitable[ConversationPage]: ...


_SORT_KEY = b'"sort":['


def last_sort_value(body: bytes) -> int | None:
    """The first number of the last `sort` array of a raw page, when it is a whole number.

    Read from the bytes without decoding them, to guess the next query early; the page
    itself is decoded and checked afterwards, and the guess is used only if it is right.
    """
    at = body.rfind(_SORT_KEY)
    if at < 0:
        return None
    start = at + len(_SORT_KEY)
    digits = body[start : body.find(b"]", start)]
    if not digits.removeprefix(b"-").isdigit():
        return None  # not a single whole number: no guess
    return int(digits)


@frozen(eq=False)
class _Early:
    """A request sent before its turn: the query guessed for a page, and its fetch."""

    query: dict[str, str]
    task: asyncio.Task[ConversationPage]


class _Readers:
    """How many walks of one event loop have a reader waiting for a page."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting = 0


_READERS: WeakKeyDictionary[asyncio.AbstractEventLoop, _Readers] = WeakKeyDictionary()


def _readers_of(loop: asyncio.AbstractEventLoop) -> _Readers:
    readers = _READERS.get(loop)
    if readers is None:
        readers = _READERS[loop] = _Readers()
    return readers


@frozen
class FetchedPage:
    """A page of a walk: where the walk stood before it, the page, and what it means."""

    start: WalkState
    page: ConversationPage
    outcome: PageOutcome
    fresh_so_far: int  # new conversations the source fetched up to and including this page


class PageSource:
    """The pages of one walk from `start`, in order, up to `prefetch` fetched ahead.

    Each page's query follows from the one before, so fetching ahead is a chain of tasks,
    each waiting for its predecessor's outcome. With `prefetch` at 1 or more, the request
    the walk will most likely want next also goes out while a page is being built (see
    the module's docstring), never more than one page ahead of the walk, and only while
    no other walk of the event loop waits for a page. With `wanted`, no page is fetched
    once that many new conversations have arrived, and none is guessed. `aclose()`
    cancels what is in flight; a reader waiting in `next()` meanwhile gets None, as at
    the end of the walk.
    """

    def __init__(
        self,
        fetch_page: FetchPage,
        query: Mapping[str, str],
        *,
        page_size: int,
        start: WalkState,
        prefetch: int = 0,
        wanted: int | None = None,
    ) -> None:
        self._fetch_page = fetch_page
        self._query = dict(query)
        self._page_size = page_size
        self._start = start
        self._prefetch = prefetch
        self._wanted = wanted
        self._notes: set[str] = set()  # fields of odd types warned about in this walk
        self._pending: deque[asyncio.Task[FetchedPage | None]] = deque()
        self._last: asyncio.Task[FetchedPage | None] | None = None
        self._early: _Early | None = None  # a request sent before its turn
        self._scheduled = 0  # pages the walk has set out to fetch, numbered from 1
        self._handed = 0  # pages next() has returned
        self._waiting_for: int | None = None  # the page next() waits for, by number
        self._step: int | None = None  # the last query's cursor minus the last page's end
        self._guessed: dict[int, dict[str, str]] = {}  # page number -> the query guessed
        self._trusted = True  # the last guess that could be checked was right
        self._left: int | None = None  # how many more the last page's `total` promised
        self._readers: _Readers | None = None  # the walks of this loop waiting for a page
        self._closed = False

    async def next(self) -> FetchedPage | None:
        """The next page of the walk; None once the walk is over or the source closed."""
        if self._closed:
            return None
        if not self._pending:
            self._schedule()
        task = self._pending[0]  # stays pending while awaited, so aclose() can cancel it
        if self._readers is None:
            self._readers = _readers_of(asyncio.get_running_loop())
        readers = self._readers
        self._waiting_for = self._handed + 1
        readers.waiting += 1
        try:
            fetched = await task
        except asyncio.CancelledError:
            if self._closed and not _cancelling():
                return None  # aclose() from another task stopped the walk
            raise
        finally:
            readers.waiting -= 1
            self._waiting_for = None
            self._handed += 1
            if self._pending and self._pending[0] is task:
                self._pending.popleft()
        if fetched is not None and not self._closed and len(self._pending) < self._prefetch:
            while len(self._pending) < self._prefetch:
                self._schedule()
            # Let the new fetches send their requests now: a reader that works through
            # the page without awaiting would otherwise hold them back until it is done.
            await asyncio.sleep(0)
        return None if self._closed else fetched

    async def aclose(self) -> None:
        """Cancel every request in flight; calling it again does nothing."""
        self._closed = True
        pending: list[asyncio.Future[FetchedPage | None] | asyncio.Future[ConversationPage]]
        pending = [*self._pending]
        self._pending = deque()
        early, self._early = self._early, None
        if early is not None:
            pending.append(early.task)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _schedule(self) -> None:
        self._scheduled += 1
        task = asyncio.ensure_future(self._fetch_after(self._last, self._scheduled))
        self._pending.append(task)
        self._last = task

    async def _fetch_after(
        self, previous: asyncio.Task[FetchedPage | None] | None, number: int
    ) -> FetchedPage | None:
        before: FetchedPage | None = None
        if previous is None:
            state, fresh_so_far = self._start, 0
        else:
            before = await asyncio.shield(previous)
            if before is None or before.outcome.is_last:
                return None
            if self._wanted is not None and before.fresh_so_far >= self._wanted:
                return None
            state, fresh_so_far = before.outcome.end_state, before.fresh_so_far
        try:
            after = None if before is None else before.page
            page, outcome = await self._fetch_from(state, after, number)
        except PaginationError as exc:
            exc.resume_token = state.to_token()
            raise
        return FetchedPage(state, page, outcome, fresh_so_far + len(outcome.fresh))

    async def _fetch_from(
        self, state: WalkState, after: ConversationPage | None, number: int
    ) -> tuple[ConversationPage, PageOutcome]:
        """Page `number` of the walk, fetched from `state`; `after` is the page before."""
        query = state.next_query(self._query, self._page_size)
        self._step = _step(query, after)
        guessed = self._guessed.pop(number, None)
        if guessed is not None:
            self._trusted = guessed == query
        page = await self._page_for(query, number)
        outcome = read_page(state, page, query)
        total, ending = page.total, outcome.end_state
        self._left = total - ending.handed_out if total is not None and ending.counted else None
        return page, outcome

    async def _page_for(self, query: dict[str, str], number: int) -> ConversationPage:
        """The page `query` asks for: the answer to a request sent early for exactly that
        query, or a new request."""
        early, self._early = self._early, None
        if early is not None:
            if early.query == query:
                return await early.task
            _drop(early.task)  # a wrong guess
        return await self._fetch_page(query, self._notes, self._looking_ahead(query, number))

    def _looking_ahead(self, query: dict[str, str], number: int) -> BodyHook | None:
        """What to do with the body of page `number`, asked for by `query`, before it is
        built: ask early for the page after it. Only while the reader waits for this page,
        so no more than `prefetch` pages are ever ahead of the one it works on (a busy
        reader has the next page fetched ahead already), and no other walk's reader waits
        (see the module's docstring)."""
        if self._prefetch < 1 or self._wanted is not None:
            return None

        async def on_body(body: bytes) -> None:
            guess = self._guess(query, body)
            if guess is None:
                return
            self._guessed[number + 1] = guess  # checked when the walk gets there
            if not self._trusted:
                return  # the walk is not following its guesses: send none until it does
            if self._waiting_for != number or self._closed or self._early is not None:
                return
            if self._readers is not None and self._readers.waiting > 1:
                return  # the loop has another walk's page to work on meanwhile
            following = _Early(
                guess,
                asyncio.ensure_future(
                    self._fetch_page(guess, self._notes, self._looking_ahead(guess, number + 1))
                ),
            )
            self._early = following
            await asyncio.sleep(0)  # let it go out before this page is built

        return on_body

    def _guess(self, query: dict[str, str], body: bytes) -> dict[str, str] | None:
        """The query most likely to come after the page `query` asked for, whose body is
        `body`; None when none is worth sending early."""
        if self._step is None:
            return None
        # None after what may be the walk's last page: as `total` tells (cheaper than
        # counting), or without one, a body holding fewer conversations than asked.
        full = int(query["limit"])
        if self._left is not None:
            if self._left < full:
                return None
        elif body.count(_SORT_KEY) < full:
            return None
        last = last_sort_value(body)
        if last is None:
            return None
        return {**query, "startAfterDate": str(last + self._step)}


def _step(query: Mapping[str, str], after: ConversationPage | None) -> int | None:
    """How far `query`'s cursor is past the end of the page before it, when both are
    whole numbers (the step a guessed next query takes from the page's last value)."""
    cursor = query.get("startAfterDate")
    end = None if after is None else after.next_cursor
    if cursor is None or type(end) is not int or not cursor.removeprefix("-").isdigit():
        return None
    return int(cursor) - end


def _drop(task: asyncio.Task[ConversationPage]) -> None:
    """Give up an early request that turned out not to be wanted."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()  # retrieved, so an error it ended with is not reported as lost


def _cancelling() -> bool:
    """Whether the running task itself is being cancelled (known from Python 3.11 on)."""
    task = asyncio.current_task()
    if task is None or sys.version_info < (3, 11):
        return False
    return task.cancelling() > 0


class ConversationPager(AsyncCloseable):
    """Walks every conversation matching a search, each exactly once, in the API's order.

    Iterate it with `async for` for conversations, or `pages()` for `ConversationPage`
    values. `resume_token` always points just after the last conversation handed out;
    pass it to a new `paginate()` with the same filters to continue from there. While
    you work on one page the next `prefetch` pages are already being fetched. Use it as
    `async with` (or call `aclose()`, from any task) to stop early and cancel what is in
    flight: nothing more is handed out once `aclose()` has returned.
    """

    def __init__(
        self,
        fetch_page: FetchPage,
        query: Mapping[str, str],
        *,
        page_size: int,
        max_items: int | None = None,
        resume_token: str | None = None,
        prefetch: int = 1,
    ) -> None:
        if max_items is not None and (
            isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1
        ):
            raise ParameterError(f"max_items must be a positive integer or None, got {max_items!r}")
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise ParameterError(f"prefetch must be an integer >= 0, got {prefetch!r}")
        start = (
            WalkState.start(query)
            if resume_token is None
            else WalkState.from_token(resume_token, query=query)
        )
        self._source = PageSource(
            fetch_page, query, page_size=page_size, start=start, prefetch=prefetch, wanted=max_items
        )
        self._max_items = max_items
        # The page being handed out: where it started, its new conversations, how many
        # of them the caller has had; and how many this pager handed out before it.
        self._page_start = start
        self._fetched: FetchedPage | None = None
        self._current: tuple[Conversation, ...] = ()
        self._taken = 0
        self._before_current = 0
        self._deliveries = _Deliveries(start)
        self._iterated = False
        self._closed = False

    @property
    def resume_token(self) -> str:
        """An opaque string for resuming just after the last conversation handed out."""
        fetched = self._fetched
        if fetched is None:
            return self._page_start.to_token()
        return fetched.outcome.stopped_after(fetched.start, self._taken).to_token()

    @property
    def redelivered(self) -> int:
        """How many conversations were handed out again, in a state newer than before.

        On a location that changes during the walk, a conversation that gets a message
        after it was handed out may come again, newer; counted since this pager started.
        """
        return self._deliveries.again

    @property
    def handed_out(self) -> int:
        """How many conversations the walk has handed out, resumed parts included."""
        return self._page_start.handed_out + self._taken

    def __aiter__(self) -> AsyncIterator[Conversation]:
        return self._conversations()

    def pages(self) -> AsyncIterator[ConversationPage]:
        """The walk page by page, each page holding only conversations not handed out before."""
        return self._pages()

    async def aclose(self) -> None:
        """Stop the walk and cancel any request in flight; calling it again does nothing."""
        self._closed = True
        await self._source.aclose()

    async def _conversations(self) -> AsyncIterator[Conversation]:
        self._claim()
        try:
            while await self._advance():
                for conversation in self._current:
                    if self._closed:
                        return
                    self._taken += 1
                    yield conversation
        finally:
            await self.aclose()

    async def _pages(self) -> AsyncIterator[ConversationPage]:
        self._claim()
        try:
            while await self._advance():
                if self._current and self._fetched is not None:
                    self._taken = len(self._current)
                    page = self._fetched.page
                    if len(self._current) < len(page):  # some were handed out before
                        page = evolve(page, conversations=self._current)
                    yield page
        finally:
            await self.aclose()

    def _claim(self) -> None:
        if self._iterated:
            raise RuntimeError(
                "a ConversationPager walks once; to continue a walk, start a new paginate() "
                "with resume_token=pager.resume_token"
            )
        self._iterated = True

    async def _advance(self) -> bool:
        """Move to the next page; False when the walk is over."""
        if self._closed:
            return False
        fetched = await self._source.next()  # its errors carry the failed page's token
        if fetched is None or self._closed:
            return False
        self._before_current += self._taken
        fresh = fetched.outcome.fresh
        if self._max_items is not None:
            fresh = fresh[: self._max_items - self._before_current]
        self._page_start, self._current, self._taken = fetched.start, fresh, 0
        self._fetched = fetched
        self._deliveries.note(fetched.start, fresh)
        return bool(fresh) or not fetched.outcome.is_last


class _Deliveries:
    """Counts conversations handed out again, from 8-byte fingerprints of the ids.

    A conversation comes again only in a state newer than the walk's start: in a
    catch-up pass of a newest-first walk, or, oldest first, with a sort value (a date)
    past the moment the walk began, so at its end. Only those are looked up; the others
    are just recorded. Walks ordered by score are not counted: a score says nothing of
    when it changed.
    """

    def __init__(self, start: WalkState) -> None:
        self._prints = array("q")
        self.again = 0
        # Date values are epoch ms; a minute covers the skew between the two clocks.
        self._since = (time.time() - 60) * 1000
        self._counted = start.sort_by != "score_profile"

    def note(self, state: WalkState, handed: tuple[Conversation, ...]) -> None:
        """Record the conversations of a page handed out from `state`."""
        if not handed or not self._counted:
            return
        first_newer = self._first_newer(state, handed)
        prints = self._prints
        if first_newer > 0:
            prints.extend(map(hash, [c.id for c in handed[:first_newer]]))
        for conversation in handed[first_newer:]:
            fingerprint = hash(conversation.id)
            if fingerprint in prints:  # a scan, but only for the few that can come again
                self.again += 1
            else:
                prints.append(fingerprint)

    def _first_newer(self, state: WalkState, handed: tuple[Conversation, ...]) -> int:
        """Where on this page the conversations that may come again begin."""
        if state.order == "desc":
            return 0 if state.end is not None else len(handed)  # a catch-up pass: all
        if state.value_of(handed[-1]) < self._since:  # oldest first: the last is the latest
            return len(handed)
        values = state.values_of(handed)
        return next((i for i, v in enumerate(values) if v >= self._since), len(handed))
