"""The two parts of a walk alone, against a model of the server: the page source (fetching
ahead, cancelling) and the pager (handing out, `max_items`, resume tokens)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

import orjson
import pytest
from attrs import evolve

from leadway_async import (
    Conversation,
    ConversationPage,
    ConversationPager,
    ParameterError,
    RateLimit,
)
from leadway_async._convert import page_from_payload
from leadway_async.cursor import WalkState
from leadway_async.pagination import BodyHook, PageSource

from .server_model import Change, Item, ModelServer, conversation, serve

QUERY = {"locationId": "L", "sort": "asc"}


class Server:
    """The model server behind a fetch function that counts calls and can be held back."""

    def __init__(self, count: int, *, report_total: bool = True) -> None:
        self.data = [conversation(f"c{i:04d}", 1_000 + i) for i in range(count)]
        self.report_total = report_total
        self.queries: list[dict[str, str]] = []
        self.answered = 0
        self.cancelled = 0
        self.gate: asyncio.Event | None = None  # when set up, each answer waits for it

    async def fetch(
        self, query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        self.queries.append(query)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.answered += 1
        page = serve(self.data, query)
        return page if self.report_total else evolve(page, total=None)

    def ids(self) -> list[str]:
        return [c.id for c in self.data]


def source(server: Server, **options: object) -> PageSource:
    start = WalkState.start(QUERY)
    return PageSource(server.fetch, QUERY, page_size=10, start=start, **options)  # type: ignore[arg-type]


def pager(server: Server, **options: object) -> ConversationPager:
    return ConversationPager(server.fetch, QUERY, page_size=10, **options)  # type: ignore[arg-type]


async def test_a_source_gives_every_page_in_order_then_none() -> None:
    server = Server(35)
    pages = source(server)
    seen: list[Conversation] = []
    while (fetched := await pages.next()) is not None:
        seen += fetched.outcome.fresh
    assert [c.id for c in seen] == server.ids()
    assert len(server.queries) == 4  # 10 + 10 + 10 + 5: the short page ends it
    assert await pages.next() is None


async def test_a_source_fetches_prefetch_pages_ahead_of_its_reader() -> None:
    server = Server(100)
    pages = source(server, prefetch=2)
    await pages.next()
    await asyncio.sleep(0.01)  # the reader works; the source does not wait for it
    assert len(server.queries) == 3
    await pages.aclose()


async def test_a_source_stops_fetching_once_it_has_what_is_wanted() -> None:
    server = Server(100)
    pages = source(server, prefetch=3, wanted=20)
    fresh = 0
    while (fetched := await pages.next()) is not None:
        fresh += len(fetched.outcome.fresh)
    assert fresh == 20
    assert len(server.queries) == 2  # not one page more, prefetch or not


async def test_closing_a_source_cancels_the_requests_in_flight() -> None:
    server = Server(100)
    server.gate = asyncio.Event()
    pages = source(server, prefetch=1)
    reader = asyncio.ensure_future(pages.next())
    await asyncio.sleep(0.01)
    assert len(server.queries) == 1
    await pages.aclose()
    assert await reader is None  # the reader is told the walk is over, not cancelled
    assert server.cancelled == 1
    assert server.answered == 0
    assert await pages.next() is None
    assert len(server.queries) == 1  # and nothing new is fetched


async def test_a_source_error_is_raised_once_at_its_page() -> None:
    server = Server(50)
    calls = 0

    async def failing(
        query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("page 2 failed")
        return await server.fetch(query)

    start = WalkState.start(QUERY)
    pages = PageSource(failing, QUERY, page_size=10, start=start, prefetch=1)
    assert await pages.next() is not None
    with pytest.raises(RuntimeError, match="page 2 failed"):
        await pages.next()
    await pages.aclose()


async def test_max_items_ending_exactly_on_a_page_asks_for_no_page_more() -> None:
    server = Server(100)
    walk = pager(server, max_items=20, prefetch=2)
    assert [c.id async for c in walk] == server.ids()[:20]
    assert len(server.queries) == 2


async def test_max_items_mid_page_cuts_the_page_and_the_token_points_after_it() -> None:
    server = Server(100)
    walk = pager(server, max_items=15)
    assert [c.id async for c in walk] == server.ids()[:15]
    assert walk.handed_out == 15
    rest = pager(server, resume_token=walk.resume_token)
    assert [c.id async for c in rest] == server.ids()[15:]


async def test_a_resumed_pager_before_iterating_counts_the_earlier_part_and_keeps_its_place() -> (
    None
):
    server = Server(40)
    first = pager(server, max_items=12)
    _ = [c async for c in first]
    resumed = pager(server, resume_token=first.resume_token)
    assert resumed.handed_out == 12
    assert resumed.resume_token == first.resume_token
    assert len(server.queries) == 2  # nothing fetched by looking


async def test_pages_never_ends_with_an_empty_page() -> None:
    server = Server(30, report_total=False)  # three full pages, then an empty one ends it
    walk = pager(server)
    sizes = [len(page) async for page in walk.pages()]
    assert sizes == [10, 10, 10]
    assert len(server.queries) == 4


async def test_aclose_from_another_task_stops_the_walk_at_once() -> None:
    server = Server(100)
    walk = pager(server, prefetch=1)
    handed: list[str] = []
    closed = asyncio.Event()

    async def consume() -> None:
        async for conversation_ in walk:
            handed.append(conversation_.id)
            if len(handed) == 5:
                server.gate = asyncio.Event()  # the next pages hang in flight
                closed.set()
            await asyncio.sleep(0)

    consumer = asyncio.ensure_future(consume())
    await closed.wait()
    await walk.aclose()
    count_when_closed, queries_when_closed = len(handed), len(server.queries)
    await asyncio.wait_for(consumer, 1)  # ends normally: not cancelled, no error
    assert len(handed) == count_when_closed <= 6
    assert len(server.queries) == queries_when_closed  # no new prefetch after aclose()
    assert server.answered <= 2


async def test_aclose_while_the_consumer_awaits_a_page_ends_its_loop_quietly() -> None:
    server = Server(100)
    handed: list[str] = []
    page_two_asked = asyncio.Event()
    fetch = server.fetch

    async def noting(
        query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        if server.queries:
            server.gate = asyncio.Event()
            page_two_asked.set()
        return await fetch(query)

    server.fetch = noting  # type: ignore[method-assign]
    walk = pager(server, prefetch=0)

    async def consume() -> None:
        async for conversation_ in walk:
            handed.append(conversation_.id)

    consumer = asyncio.ensure_future(consume())
    await page_two_asked.wait()
    await asyncio.sleep(0)
    await walk.aclose()
    await asyncio.wait_for(consumer, 1)
    assert handed == server.ids()[:10]
    assert server.cancelled == 1


async def test_a_cancelled_consumer_is_still_cancelled() -> None:
    server = Server(100)
    server.gate = asyncio.Event()
    walk = pager(server)

    async def consume() -> None:
        async for _ in walk:
            pass

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(0.01)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert server.cancelled == 1


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_redelivered_counts_exactly_the_conversations_handed_out_again(order: str) -> None:
    now = int(time.time() * 1000)
    items = [Item(f"c{i:03d}", now - 10**9 + i * 1000, i) for i in range(250)]
    # Between pages, conversations get messages: some already handed out, some not yet.
    moved = ["c000", "c010", "c120", "c200", "c249", "c005"]
    changes = [Change(1 + k % 3, "move", ident, now + k) for k, ident in enumerate(moved)]
    model = ModelServer(items, changes=changes)

    async def fetch(
        query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        return model(query)

    walk = ConversationPager(fetch, {"locationId": "L", "sort": order}, page_size=40)
    handed = [c.id async for c in walk]
    counts = Counter(handed)
    assert set(handed) == {item.id for item in items}
    again = sum(n - 1 for n in counts.values())
    assert again > 0  # the schedule does move conversations already handed out
    assert walk.redelivered == again


async def test_a_consumer_cancelled_as_another_task_closes_the_walk_is_still_cancelled() -> None:
    server = Server(100)
    server.gate = asyncio.Event()  # the first page hangs in flight
    walk = pager(server)
    handed: list[str] = []

    async def consume() -> None:
        async for conversation_ in walk:
            handed.append(conversation_.id)

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(0.01)
    closing = asyncio.ensure_future(walk.aclose())
    consumer.cancel()  # both at once: the cancellation is the consumer's own, and it stands
    await closing
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert consumer.cancelled()
    assert handed == []


async def test_pages_hands_out_no_empty_page_while_stepping_through_a_long_run() -> None:
    # 250 conversations share one value: the walk steps through them by date, and the
    # pages that bring nothing new are not handed out.
    items = [Item(f"r{i:03d}", 5_000, 1_000 + i) for i in range(250)]
    model = ModelServer(items)

    async def fetch(
        query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        return model(query)

    walk = ConversationPager(fetch, QUERY, page_size=100)
    sizes = [len(page) async for page in walk.pages()]
    assert all(sizes)
    assert sum(sizes) == walk.handed_out == 250
    assert model.requests > len(sizes)  # some pages brought nothing new


async def test_a_conversation_handed_out_first_on_a_page_and_again_later_is_counted() -> None:
    # Oldest first: on the first page, the first conversation is older than the walk and
    # the second newer. The older one then gets a message and comes again at the end.
    now = int(time.time() * 1000)
    items = [Item("old", now - 3_600_000, 0), *(Item(f"n{i}", now + i, i + 1) for i in range(5))]
    model = ModelServer(items, changes=[Change(1, "move", "old", now + 100)])

    async def fetch(
        query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        return model(query)

    walk = ConversationPager(fetch, QUERY, page_size=2)
    assert [c.id async for c in walk] == ["old", "n0", "n1", "n2", "n3", "n4", "old"]
    assert walk.redelivered == 1


async def test_a_walk_resumed_within_its_first_page_still_catches_up() -> None:
    # Newest first, stopped after 30 of the first page's 50. Before the walk resumes,
    # c001 (not reached yet) gets a message, jumping behind the cursor, and c059 (handed
    # out) is deleted, so handed_out meets total at the pass's end: only the catch-up
    # finds c001.
    items = [Item(f"c{i:03d}", 1_000 + i) for i in range(60)]
    model = ModelServer(
        items, changes=[Change(1, "move", "c001", 5_000), Change(1, "delete", "c059")]
    )

    async def fetch(
        query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        return model(query)

    newest_first = {"locationId": "L", "sort": "desc"}
    first = ConversationPager(fetch, newest_first, page_size=50)
    got: list[str] = []
    async for handed in first:
        got.append(handed.id)
        if len(got) == 30:
            break
    resumed = ConversationPager(fetch, newest_first, page_size=50, resume_token=first.resume_token)
    got += [c.id async for c in resumed]
    assert {f"c{i:03d}" for i in range(59)} <= set(got)


async def test_a_pager_walks_once_and_says_how_to_go_on() -> None:
    walk = pager(Server(5))
    assert len([c async for c in walk]) == 5
    with pytest.raises(RuntimeError) as caught:
        [c async for c in walk]
    assert str(caught.value) == (
        "a ConversationPager walks once; to continue a walk, start a new paginate() "
        "with resume_token=pager.resume_token"
    )


@pytest.mark.parametrize("bad", [2.5, "5"])
def test_max_items_that_is_no_whole_number_is_refused(bad: object) -> None:
    with pytest.raises(ParameterError) as caught:
        pager(Server(5), max_items=bad)
    assert str(caught.value) == f"max_items must be a positive integer or None, got {bad!r}"


@pytest.mark.parametrize("bad", [True, 1.5, -1])
def test_prefetch_that_is_no_count_is_refused(bad: object) -> None:
    with pytest.raises(ParameterError) as caught:
        pager(Server(5), prefetch=bad)
    assert str(caught.value) == f"prefetch must be an integer >= 0, got {bad!r}"


async def test_by_default_one_page_is_fetched_ahead_of_the_reader() -> None:
    server = Server(100)
    walk = ConversationPager(server.fetch, QUERY, page_size=10)
    async for _ in walk:
        for _ in range(5):
            await asyncio.sleep(0)  # time enough for any fetch ahead to go out
        break
    assert len(server.queries) == 2


@pytest.mark.parametrize("wanted", [11, 35])
async def test_max_items_over_several_pages_hands_out_exactly_that_many(wanted: int) -> None:
    server = Server(100)
    walk = pager(server, max_items=wanted)
    assert [c.id async for c in walk] == server.ids()[:wanted]
    assert walk.handed_out == wanted


async def test_pages_after_aclose_inside_the_loop_hands_out_nothing_more() -> None:
    walk = pager(Server(100))
    sizes = []
    async for page in walk.pages():
        sizes.append(len(page))
        await walk.aclose()
        if len(sizes) > 2:
            break
    assert sizes == [10]


async def test_a_walk_by_score_counts_no_redelivery() -> None:
    # A score says nothing of when it changed: such walks leave `redelivered` at 0, even
    # when a conversation whose score rose comes again in the walk's catch-up.
    items = [Item(f"c{i:03d}", 100 + i, i) for i in range(60)]
    model = ModelServer(items, changes=[Change(1, "move", "c059", 500)])

    async def fetch(
        query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        return model(query)

    by_score = {"locationId": "L", "sort": "desc", "sortBy": "score_profile"}
    walk = ConversationPager(fetch, by_score, page_size=40)
    handed = [c.id async for c in walk]
    assert Counter(handed)["c059"] == 2
    assert walk.redelivered == 0


async def test_a_source_fetches_nothing_ahead_unless_told() -> None:
    server = Server(100)
    pages = source(server)
    assert await pages.next() is not None
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(server.queries) == 1
    await pages.aclose()


async def test_a_page_that_arrives_as_the_source_closes_is_not_handed_out() -> None:
    server = Server(100)
    closing: list[asyncio.Future[None]] = []

    async def closing_as_it_answers(
        query: dict[str, str], notes: object = None, on_body: object = None
    ) -> ConversationPage:
        page = await server.fetch(query, notes)
        closing.append(asyncio.ensure_future(pages.aclose()))  # before the reader wakes
        return page

    start = WalkState.start(QUERY)
    pages = PageSource(closing_as_it_answers, QUERY, page_size=10, start=start, prefetch=2)
    assert await pages.next() is None
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(server.queries) == 1  # and nothing fetched ahead after the close


async def test_a_field_of_an_odd_type_is_warned_about_once_in_a_walk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = ModelServer([Item(f"c{i:03d}", 1_000 + i, i) for i in range(50)])

    sent: list[dict[str, str]] = []

    async def odd(
        query: dict[str, str], notes: set[str] | None = None, on_body: BodyHook | None = None
    ) -> ConversationPage:
        sent.append(query)
        items = [{"id": c.id, "sort": list(c.sort), "unreadCount": "x"} for c in model(query)]
        body = orjson.dumps({"conversations": items, "total": 50})
        for _ in range(3):  # the answer takes a while: the reader comes to wait for it
            await asyncio.sleep(0)
        if on_body is not None:  # as the client does: the next page may be asked early
            await on_body(body)
        payload = orjson.loads(body)
        return page_from_payload(payload, rate_limit=RateLimit(), request_id=None, notes=notes)

    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        handed = [c.id async for c in ConversationPager(odd, QUERY, page_size=10)]
    assert len(handed) == 50
    assert len(sent) == 6  # five pages and the empty one after, the later ones asked early
    assert len([r for r in caplog.records if "unreadCount" in r.getMessage()]) == 1


async def test_the_next_page_is_being_fetched_while_the_reader_works_on_one() -> None:
    server = Server(100)
    walk = pager(server)  # prefetch=1, the default
    async for _ in walk.pages():
        # No await in the loop body: the next request must already be out.
        assert len(server.queries) == 2
        break
