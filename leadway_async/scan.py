"""`ConversationScan`: every matching conversation once, walked in several ranges at once.

A cursor walk asks for a page only once the one before has answered, so at a real round
trip it uses a third of a location's rate limit. A scan learns the range of sort values
the matching conversations span (its first page, and the latest value), cuts it into
ranges and walks them side by side, oldest first within each; a walker whose range is
done takes the second half of what is left of the largest range. The rate limit, through
the throttle every request passes, decides the pace. The ranges' rules are in
`partition.py`, the cursor rule in `cursor.py`.

The last range has no end: it takes what moves to the newest end (a new message) or
arrives while the scan runs. If it finishes while other ranges still run, it goes once
more when they are done, so that what moved there meanwhile is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from attrs import define, evolve, frozen

from ._closeable import AsyncCloseable
from .cursor import PageOutcome, SortValue, WalkState, read_page
from .errors import PaginationError, ParameterError
from .models import Conversation, ConversationPage
from .partition import ScanPosition, cut, middle, range_after, remaining

__all__ = ["MAX_CONCURRENCY", "ConversationScan"]

MAX_CONCURRENCY = 16
"""The most requests a scan may have in flight at once."""

FetchPage = Callable[[dict[str, str], set[str]], Awaitable[ConversationPage]]


@define(eq=False)
class _Range:
    """One range while it is walked: what was handed out of it, and what was fetched."""

    handed: WalkState  # as far as the reader has had it; its `end` is the range's, now
    walked: WalkState  # as far as its walker has read
    density: float | None = None  # conversations per unit of value on its last page
    busy: bool = False  # a walker is on it
    done: bool = False  # walked to its end (the last range: for the time being)
    finished: bool = False  # handed out to its end (never for the last range)


@frozen
class _Fetched:
    """A page of one range, fetched from `start`, and what it means for the range."""

    range: _Range
    start: WalkState
    page: ConversationPage
    outcome: PageOutcome


_OVER = object()  # the reader's marker: the scan is over, or closed


class ConversationScan(AsyncCloseable):
    """Every conversation matching a search, each once, fetched `concurrency` pages at a time.

    Iterate it with `async for` for conversations (in no promised order), or `pages()` for
    `ConversationPage` values. `resume_token` always points just after what was handed
    out: pass it to a new `scan()` with the same filters to continue, ranges and all.
    Use it as `async with` (or call `aclose()`, from any task) to stop early: every request
    in flight is cancelled and nothing more is handed out once `aclose()` has returned.
    """

    def __init__(
        self,
        fetch_page: FetchPage,
        query: Mapping[str, str],
        *,
        page_size: int,
        concurrency: int = 4,
        max_items: int | None = None,
        resume_token: str | None = None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise ParameterError(f"concurrency must be an integer, got {concurrency!r}")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ParameterError(
                f"concurrency must be between 1 and {MAX_CONCURRENCY}, got {concurrency}"
            )
        if max_items is not None and (
            isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1
        ):
            raise ParameterError(f"max_items must be a positive integer or None, got {max_items!r}")
        self._fetch_page = fetch_page
        self._query = {**query, "sort": "asc"}
        self._page_size = page_size
        self._concurrency = concurrency
        self._max_items = max_items
        self._template = WalkState.start(self._query, catch_up=False)
        self._ranges: list[_Range] = []
        self._before = 0  # handed out before this object: the part a token resumes from
        self._latest: SortValue | None = None  # the latest sort value seen
        if resume_token is not None:
            position = ScanPosition.from_token(resume_token, fresh=self._template)
            self._before = position.handed_out
            if position.ranges != (self._template,):  # else: from the start, learned anew
                self._ranges = [_Range(state, state) for state in position.ranges]
                self._latest = _latest_of(position.ranges)
        self._final_needed = False  # the last range finished before the others
        self._average_density = 0.0  # matching conversations per unit of sort value
        self._notes: set[str] = set()  # fields of odd types warned about in this scan
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._slots = asyncio.Semaphore(concurrency)
        self._workers: list[asyncio.Task[None]] = []
        self._active = 0
        self._started = False
        self._current: _Fetched | None = None
        self._items: tuple[Conversation, ...] = ()
        self._taken = 0
        self._handed = 0
        self._iterated = False
        self._closed = False

    @property
    def resume_token(self) -> str:
        """An opaque string for resuming just after the last conversation handed out."""
        current = self._current
        ranges = []
        for item in self._ranges:
            state, finished = item.handed, item.finished
            if current is not None and current.range is item and self._taken:
                state, finished = self._handed_so_far(current)
            if not finished:
                ranges.append(state)
        fingerprint = self._template.fingerprint
        position = ScanPosition(fingerprint, tuple(ranges) or (self._template,), self.handed_out)
        return position.to_token()

    @property
    def handed_out(self) -> int:
        """How many conversations the scan has handed out, resumed parts included."""
        return self._before + self._handed

    def __aiter__(self) -> AsyncIterator[Conversation]:
        return self._conversations()

    def pages(self) -> AsyncIterator[ConversationPage]:
        """The scan page by page, each page holding only conversations not handed out before."""
        return self._pages()

    async def aclose(self) -> None:
        """Stop the scan and cancel every request in flight; calling it again does nothing."""
        self._closed = True
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._queue.put_nowait(_OVER)  # a reader waiting in another task stops

    async def _conversations(self) -> AsyncIterator[Conversation]:
        self._claim()
        try:
            while await self._advance():
                for conversation in self._items:
                    if self._closed:
                        return
                    self._taken += 1
                    self._handed += 1
                    yield conversation
        finally:
            await self.aclose()

    async def _pages(self) -> AsyncIterator[ConversationPage]:
        self._claim()
        try:
            while await self._advance():
                if self._items and self._current is not None:
                    self._taken = len(self._items)
                    self._handed += len(self._items)
                    yield evolve(self._current.page, conversations=self._items)
        finally:
            await self.aclose()

    def _claim(self) -> None:
        if self._iterated:
            raise RuntimeError(
                "a ConversationScan runs once; to continue a scan, start a new scan() "
                "with resume_token=scan.resume_token"
            )
        self._iterated = True

    async def _advance(self) -> bool:
        """Move to the next page any walker fetched; False when the scan is over."""
        self._finish_current()
        if self._closed:
            return False
        if self._max_items is not None and self._handed >= self._max_items:
            return False
        if not self._started:
            self._started = True
            try:
                await self._start()
            except PaginationError as error:
                error.resume_token = self.resume_token  # the scan's, not its first range's
                raise
        item = await self._queue.get()
        if item is _OVER or self._closed:
            return False
        if isinstance(item, BaseException):
            if isinstance(item, PaginationError):  # a walker's: resume the scan, not its range
                item.resume_token = self.resume_token
            raise item
        self._slots.release()
        fetched: _Fetched = item
        items = fetched.outcome.fresh
        if self._max_items is not None:
            items = items[: self._max_items - self._handed]
        self._current, self._items, self._taken = fetched, items, 0
        return True

    def _finish_current(self) -> None:
        """The page being handed out is over: its range moves on to where that leaves it."""
        current, self._current = self._current, None
        if current is None:
            return
        item = current.range
        item.handed, finished = self._handed_so_far(current)
        item.finished = item.finished or finished
        self._items, self._taken = (), 0

    def _handed_so_far(self, current: _Fetched) -> tuple[WalkState, bool]:
        """Where the range of the page being handed out stands with what was taken of it,
        and whether that is its end: the page's outcome once all of it was taken (a run of
        equal values it began to step through by date, say), else just after the last."""
        end = current.range.handed.end
        whole = self._taken == len(current.outcome.fresh)
        state = current.outcome.end_state if whole else _after(current, self._items[: self._taken])
        return evolve(state, end=end), whole and current.outcome.is_last and end is not None

    async def _start(self) -> None:
        """Learn the ranges (unless resumed), then start the walkers."""
        if not self._ranges:
            await self._learn()
        count = min(self._concurrency, max(1, sum(1 for r in self._ranges if not r.done)))
        self._active = count
        self._workers = [asyncio.ensure_future(self._worker()) for _ in range(count)]

    async def _learn(self) -> None:
        """The first page, oldest first; if it is not all there is, the latest value too."""
        state = self._template
        query = state.next_query(self._query, self._page_size)
        page = await self._fetch_page(query, self._notes)
        outcome = read_page(state, page, query)
        first = _Range(state, outcome.end_state, done=outcome.is_last)
        self._ranges = [first]
        await self._slots.acquire()
        self._queue.put_nowait(_Fetched(first, state, page, outcome))
        self._note(first, page, outcome.end_state)
        if outcome.is_last:
            return  # one page held it all: a snapshot, nothing to catch up
        newest = {**self._query, "sort": "desc", "limit": "1"}
        top = _first_value(await self._fetch_page(newest, self._notes), state)
        if top is not None and (self._latest is None or top > self._latest):
            self._latest = top
        oldest = _first_value(page, state)
        if page.total and top is not None and oldest is not None and top > oldest:
            self._average_density = page.total / float(top - oldest)
        parts = cut(outcome.end_state, top, self._concurrency)
        first.walked = parts[0]
        first.handed = evolve(first.handed, end=parts[0].end)
        self._ranges += [_Range(part, part) for part in parts[1:]]

    async def _worker(self) -> None:
        try:
            while not self._closed:
                item = self._work()
                if item is None:
                    return
                await self._walk(item)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # surfaces where it happened: through the reader
            self._queue.put_nowait(error)
        finally:
            self._active -= 1
            if self._active == 0 and not self._closed:
                self._queue.put_nowait(_OVER)

    def _work(self) -> _Range | None:
        """A range to walk: one nobody walks, else the second half of the largest, else the
        last range's final pass once every other is done."""
        waiting = next((r for r in self._ranges if not r.busy and not r.done), None)
        if waiting is not None:
            waiting.busy = True
            return waiting
        return self._split_largest() or self._final_pass()

    def _split_largest(self) -> _Range | None:
        """Split what is left of the busy range with most left; None if none is worth it."""
        busy = [r for r in self._ranges if r.busy]
        if not busy:
            return None
        largest = max(busy, key=self._left)
        if self._left(largest) < 2 * self._page_size:
            return None
        start, end = largest.walked.boundary, largest.walked.end
        high = end if end is not None else self._latest
        mid = None if start is None or high is None else middle(start, high)
        if mid is None:
            return None
        second_half = range_after(largest.walked, mid, end)
        largest.walked = evolve(largest.walked, end=mid)
        largest.handed = evolve(largest.handed, end=mid)
        split = _Range(second_half, second_half, density=largest.density, busy=True)
        self._ranges.append(split)
        return split

    def _left(self, item: _Range) -> float:
        """About how many conversations `item` has left to fetch.

        Its last page's density can be far below what lies ahead (most conversations of a
        location are recent), so the scan's average density is the least assumed.
        """
        density = max(item.density or 0.0, self._average_density)
        return remaining(item.walked, density or None, self._latest)

    def _final_pass(self) -> _Range | None:
        """The last range once more, if it finished while others still ran."""
        last = next((r for r in self._ranges if r.handed.end is None), None)
        if last is None or not self._final_needed:
            return None
        if last.busy or not all(r.done for r in self._ranges):
            return None
        self._final_needed = False
        last.done, last.busy = False, True
        last.walked = evolve(last.walked, ending=0, again=False)
        return last

    async def _walk(self, item: _Range) -> None:
        """Walk `item` to its end, queueing each page for the reader."""
        while not self._closed:
            start = item.walked
            query = start.next_query(self._query, self._page_size)
            await self._slots.acquire()
            try:
                page = await self._fetch_page(query, self._notes)
            except BaseException:
                self._slots.release()
                raise
            # The range may have been split while the page was in flight: it is read with
            # the range's end as it is now, so what lies beyond goes to the new range.
            bounded = evolve(start, end=item.handed.end)
            outcome = read_page(bounded, page, query)
            item.walked = outcome.end_state
            self._note(item, page, outcome.end_state)
            self._queue.put_nowait(_Fetched(item, bounded, page, outcome))
            if outcome.is_last:
                item.done, item.busy = True, False
                if item.handed.end is None:  # the last range: again if others still run
                    self._final_needed = not all(r.done for r in self._ranges)
                return

    def _note(self, item: _Range, page: ConversationPage, state: WalkState) -> None:
        """What a page says of its range's density, and of the latest sort value."""
        if len(page) < 2:
            return
        with contextlib.suppress(PaginationError):
            low, high = (
                state.value_of(page.conversations[0]),
                state.value_of(page.conversations[-1]),
            )
            if high > low:
                item.density = (len(page) - 1) / float(high - low)
            if self._latest is None or high > self._latest:
                self._latest = high


def _after(fetched: _Fetched, taken: tuple[Conversation, ...]) -> WalkState:
    """Where a range stands once `taken`, the first new ones of a page, are handed out."""
    return fetched.start.after(taken)


def _first_value(page: ConversationPage, state: WalkState) -> SortValue | None:
    """The sort value of a page's first conversation, if it has one a cursor can use."""
    if not page.conversations:
        return None
    with contextlib.suppress(PaginationError):
        return state.value_of(page.conversations[0])
    return None


def _latest_of(states: tuple[WalkState, ...]) -> SortValue | None:
    values = [v for s in states for v in (s.boundary, s.end) if v is not None]
    return max(values, default=None)
