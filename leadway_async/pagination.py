"""`ConversationPager`: every matching conversation exactly once, resumable, prefetched."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from attrs import evolve, frozen

from ._closeable import AsyncCloseable
from .cursor import PageOutcome, WalkState, filters_fingerprint, read_page
from .errors import PaginationError
from .models import Conversation, ConversationPage

if TYPE_CHECKING:
    pass

__all__ = ["ConversationPager"]

logger = logging.getLogger("leadway_async")

FetchPage = Callable[[dict[str, str]], Awaitable[ConversationPage]]


@frozen
class _Fetched:
    """A page as fetched from `start`, with what it means for the walk."""

    start: WalkState
    page: ConversationPage
    outcome: PageOutcome
    count_after: int  # conversations this pager will have handed out after this page


class ConversationPager(AsyncCloseable):
    """Walks every conversation matching a search, each exactly once, in the API's order.

    Iterate it with `async for` for conversations, or `pages()` for `ConversationPage`
    values. `resume_token` always points just after the last conversation handed out;
    pass it to a new `paginate()` with the same filters to continue from there. While
    you work on one page the next `prefetch` pages are already being fetched. Use it as
    `async with` (or call `aclose()`) to stop early and cancel what is in flight.
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
            raise ValueError(f"max_items must be a positive integer or None, got {max_items!r}")
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"prefetch must be an integer >= 0, got {prefetch!r}")
        self._fetch_page = fetch_page
        self._query = dict(query)
        self._page_size = page_size
        self._max_items = max_items
        self._prefetch = prefetch
        fingerprint = filters_fingerprint(self._query)
        order = self._query.get("sort", "desc")
        self._start = (
            WalkState(fingerprint, order)
            if resume_token is None
            else WalkState.from_token(resume_token, fingerprint=fingerprint, order=order)
        )
        # The page being handed out: where it started, its new conversations, how many
        # of them the caller has had.
        self._page_start = self._start
        self._current: tuple[Conversation, ...] = ()
        self._fetched_page: ConversationPage | None = None
        self._taken = 0
        self._pending: deque[asyncio.Task[_Fetched | None]] = deque()
        self._last_scheduled: asyncio.Task[_Fetched | None] | None = None
        self._iterated = False
        self._finished = False

    @property
    def resume_token(self) -> str:
        """An opaque string for resuming just after the last conversation handed out."""
        state, _ = self._page_start.after(self._current[: self._taken])
        return state.to_token()

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
        self._finished = True
        pending, self._pending = list(self._pending), deque()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _conversations(self) -> AsyncIterator[Conversation]:
        self._claim()
        try:
            while await self._advance():
                for conversation in self._current:
                    self._taken += 1
                    yield conversation
        finally:
            await self.aclose()

    async def _pages(self) -> AsyncIterator[ConversationPage]:
        self._claim()
        try:
            while await self._advance():
                self._taken = len(self._current)
                assert self._fetched_page is not None
                yield evolve(self._fetched_page, conversations=self._current)
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
        if self._finished:
            return False
        if not self._pending:
            self._schedule()
        try:
            fetched = await self._pending.popleft()
        except PaginationError as exc:
            if exc.resume_token is None:
                exc.resume_token = self.resume_token
            raise
        if fetched is None:
            self._finished = True
            return False
        self._page_start, self._taken = fetched.start, 0
        fresh = fetched.outcome.fresh
        if self._max_items is not None:
            fresh = fresh[: self._max_items - (fetched.count_after - len(fresh))]
        self._current, self._fetched_page = fresh, fetched.page
        while len(self._pending) < self._prefetch:
            self._schedule()
        return bool(fresh) or not fetched.outcome.is_last

    def _schedule(self) -> None:
        task = asyncio.ensure_future(self._fetch_after(self._last_scheduled))
        self._pending.append(task)
        self._last_scheduled = task

    async def _fetch_after(self, previous: asyncio.Task[_Fetched | None] | None) -> _Fetched | None:
        if previous is None:
            state, count = self._start, 0
        else:
            before = await asyncio.shield(previous)
            if before is None or before.outcome.is_last:
                return None
            if self._max_items is not None and before.count_after >= self._max_items:
                return None
            state, count = before.outcome.end_state, before.count_after
        try:
            page, outcome = await self._fetch_from(state)
        except PaginationError as exc:
            exc.resume_token = state.to_token()
            raise
        return _Fetched(state, page, outcome, count + len(outcome.fresh))

    async def _fetch_from(self, state: WalkState) -> tuple[ConversationPage, PageOutcome]:
        query = state.next_query(self._query, self._page_size)
        limit = int(query["limit"])
        page = await self._fetch_page(query)
        outcome = read_page(state, page, limit)
        if outcome.suspect_end:
            # An empty page while `total` says more match: ask once more before trusting it.
            page = await self._fetch_page(query)
            outcome = read_page(state, page, limit)
            if outcome.suspect_end:
                logger.warning(
                    "walk ended on an empty page after %d of %s conversations",
                    state.handed_out,
                    page.total,
                )
        return page, outcome
