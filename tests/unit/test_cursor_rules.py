"""The cursor rule's finer points, against the model of the server: what a refusal says,
word for word; what a resume token carries through a second resume; the pass that
catches up; and what stepping through a run of equal values by date costs."""

from __future__ import annotations

from collections import Counter

import pytest
from attrs import evolve

from leadway_async import (
    Conversation,
    ConversationPage,
    PaginationError,
    ParameterError,
)
from leadway_async.cursor import (
    INT64_MIN,
    Split,
    WalkState,
    filters_fingerprint,
    read_page,
    sort_value,
)

from .server_model import Change, Item, ModelServer, conversation, walk
from .test_cursor import encode, page, token_fields
from .test_run_windows import ASC, DESC
from .test_run_windows import run as run_of

REFUSAL = "cannot walk conversations sorted by last_message_date in ascending order: "


# --- what a refusal says --------------------------------------------------------------


@pytest.mark.parametrize(
    ("odd", "why"),
    [
        (
            Conversation(id="c1", extra={"sort": "soon"}),
            "conversation 'c1' has the sort value 'soon', which no cursor can point past",
        ),
        (
            Conversation(id="c1", sort=(5, 6)),
            "conversation 'c1' has a sort value of 2 elements ([5, 6]); the API's cursor is "
            "one number, so the walk cannot be placed between conversations that share the "
            "first",
        ),
    ],
)
def test_a_conversation_no_cursor_can_follow_is_refused_saying_why(
    odd: Conversation, why: str
) -> None:
    state = WalkState.start(ASC)
    with pytest.raises(PaginationError) as raised:
        read_page(state, page(conversation("c0", 5), odd, total=2), {"limit": "5"})
    assert str(raised.value) == REFUSAL + why


def test_the_lowest_64_bit_value_is_a_sort_value_a_cursor_can_carry() -> None:
    assert sort_value(Conversation(id="c1", sort=(INT64_MIN,))) == INT64_MIN


def test_a_walk_in_the_default_order_reads_a_missing_sort_as_the_last_message_date() -> None:
    state = WalkState.start(ASC)
    undated = Conversation(id="c1", last_message_date_ms=1_234)
    outcome = read_page(state, page(conversation("c0", 1_000), undated, total=2), {"limit": "5"})
    assert [c.id for c in outcome.fresh] == ["c0", "c1"]
    assert outcome.end_state.next_query(ASC, 5)["startAfterDate"] == "1233"


def test_a_value_met_again_after_the_walk_passed_it_is_refused_saying_so() -> None:
    state = WalkState.start(ASC).after([conversation("a", 5)])
    state = read_page(state, page(conversation("b", 6), total=9), {"limit": "5"}).end_state
    passed = evolve(state, passed=True)
    with pytest.raises(PaginationError) as raised:
        read_page(passed, page(conversation("c", 6), total=9), {"limit": "5"})
    assert str(raised.value) == (
        REFUSAL + "the API returned the sort value 6 again after the walk had passed it"
    )


def test_a_cursor_going_backwards_shows_the_first_three_values() -> None:
    state = WalkState.start(ASC).after([conversation("m", 50)])
    backwards = page(*(conversation(f"c{i}", 10 + i) for i in range(5)), total=10)
    with pytest.raises(PaginationError) as raised:
        read_page(state, backwards, {"limit": "5"})
    assert str(raised.value) == (
        REFUSAL + "the cursor went backwards: the API returned sort values [10, 11, 12]... after 50"
    )


def test_a_long_run_without_dates_after_the_callers_cursor_is_refused_not_lost() -> None:
    # After a caller's own cursor `total` may count what lies before it, so it cannot
    # tell how many lack a date; no window of dates reaches those, so the walk refuses
    # the run at once. (It used to step through the dated ones and lose the others.)
    items = [*(Item(f"t{i:03d}", 20, None) for i in range(150)), Item("z", 30, 5)]
    base = {**ASC, "startAfterDate": "0"}
    with pytest.raises(PaginationError) as raised:
        walk(ModelServer(items), WalkState.start(base), base, 100)
    assert str(raised.value) == (
        REFUSAL + "at least 100 conversations share the sort value 20; such a run is "
        "stepped through by dateAdded, but 100 of those on this page have no dateAdded"
    )


def test_a_window_of_dates_full_of_conversations_without_one_is_refused() -> None:
    # A server that answers a window of dates with conversations that have none.
    run = [conversation(f"t{i:03d}", 20) for i in range(100)]
    state = evolve(WalkState.start(ASC).after(run[:1]), split=Split(frozenset(), 0))
    with pytest.raises(PaginationError) as raised:
        read_page(state, page(*run), {"limit": "100", "startDate": "0"})
    assert str(raised.value) == (
        REFUSAL + "at least 100 conversations share the sort value 20 and show no dateAdded, "
        "so nothing can split the run"
    )


def test_a_damaged_or_foreign_token_is_refused_word_for_word() -> None:
    state = WalkState.start(ASC).after([conversation("a", 5)])
    fields = token_fields(state)
    with pytest.raises(ParameterError) as raised:
        WalkState.from_token(encode([fields]), query=ASC)
    assert str(raised.value) == "resume_token is damaged: it does not hold a walk's position"
    with pytest.raises(ParameterError) as raised:
        WalkState.from_token(encode({**fields, "n": -1, "k": 0}), query=ASC)
    assert str(raised.value) == "resume_token is damaged: its field(s) n, k are not valid"
    with pytest.raises(ParameterError) as raised:
        WalkState.from_token(state.to_token(), query={**ASC, "status": "unread"})
    assert str(raised.value) == (
        "resume_token belongs to a walk with other filters; resume with the same filters "
        "(and location) as the walk that produced it"
    )


# --- what a token carries through a second resume --------------------------------------


def test_a_walk_resumed_from_an_old_token_resumes_again_as_it_began() -> None:
    items = [Item(f"c{i:03d}", 1_000 + i) for i in range(120)]
    old = {"f": filters_fingerprint(DESC), "o": "desc", "b": 1_100, "i": ["c100"], "n": 20}
    server = ModelServer(items)
    resumed = WalkState.from_token(encode(old, "lw1."), query=DESC)
    first, stopped = walk(server, resumed, DESC, 30, stop_after=40)
    assert stopped.handed_out == 60  # the 20 of the old token, and these 40
    again = WalkState.from_token(stopped.to_token(), query=DESC)
    assert again.catch_up is False  # still a walk without a catch-up, as it began
    rest, end = walk(server, again, DESC, 30)
    assert first + rest == [f"c{i:03d}" for i in range(99, -1, -1)]
    assert end.handed_out == 120


# --- what a walk costs on servers of every kind -----------------------------------------


def values(count: int, prefix: str = "c") -> list[Item]:
    """`count` conversations with values 1,000 up, each added in its own millisecond."""
    return [Item(f"{prefix}{i:03d}", 1_000 + i, i) for i in range(count)]


TIES_AT_THE_TOP = [Change(1, "create", f"new{k}", 1_029, 100 + k) for k in range(7)]
WALKS = {
    # name: (items, query, page size, server's cap, total's excess, changes, requests)
    "a run inside the caller's startDate": (
        run_of(300, step=3), {**ASC, "startDate": "1300"}, 100, 100, 0, [], 7,
    ),
    "a run inside the caller's endDate": (
        run_of(300, step=3), {**ASC, "endDate": "1700"}, 100, 100, 0, [], 8,
    ),
    "a run after the caller's cursor": (
        run_of(250), {**ASC, "startAfterDate": "10"}, 100, 100, 0, [], 11,
    ),
    "newest first, a run below, total counting five more": (
        [*run_of(250, step=2), *(Item(f"c{i:02d}", 4_000 - i, i) for i in range(30))],
        DESC, 100, 100, 5, [], 12,
    ),
    "newest first, pages capped at 20": (values(130), DESC, 50, 20, 0, [], 8),
    "newest first, pages capped at 10, a run of 10 at the top": (
        [*(Item(f"t{i}", 9_000, i) for i in range(10)), *values(45)], DESC, 10, 10, 0, [], 13,
    ),
    "newest first, total counting seven more": (values(130), DESC, 50, 100, 7, [], 4),
    "newest first after the caller's cursor, total counting seven more": (
        values(130), {**DESC, "startAfterDate": "2000"}, 50, 100, 7, [], 4,
    ),
    "newest first, seven arriving tied with the top": (
        values(30), DESC, 5, 100, 0, TIES_AT_THE_TOP, 10,
    ),
    "newest first, 120 arriving tied with the top: a run to step through": (
        values(50), DESC, 20, 100, 0,
        [Change(1, "create", f"new{k:03d}", 1_049, 100 + k) for k in range(120)], 13,
    ),
    "newest first, one short page, total counting five more": (
        values(30), DESC, 50, 100, 5, [], 3,
    ),
    "oldest first, one short page, total counting five more": (
        values(30), ASC, 50, 100, 5, [], 2,
    ),
    "a run added 100 s apart": (run_of(150, step=100_000), ASC, 100, 100, 0, [], 7),
    "a run added two in a millisecond": (
        [Item(f"r{i:04d}", 5_000, 1_000 + i // 2) for i in range(300)], ASC, 100, 100, 0, [],
        11,
    ),
    "a run with 60 added in one millisecond": (
        [*run_of(45), *(Item(f"s{i:03d}", 5_000, 1_100) for i in range(60)),
         *run_of(45, first=1_200, prefix="u")], ASC, 100, 100, 0, [], 13,
    ),
    "the same, up to the caller's endDate, that millisecond": (
        [*run_of(45), *(Item(f"s{i:03d}", 5_000, 1_100) for i in range(60)),
         *run_of(45, first=1_200, prefix="u")], {**ASC, "endDate": "1100"}, 100, 100, 0, [],
        5,
    ),
    "newest first, a run and one of it added long after": (
        [*run_of(120), Item("late", 5_000, 1_000_000)], DESC, 100, 100, 0, [], 13,
    ),
    "two runs one after the other": (
        [*run_of(130), *(Item(f"s{i:03d}", 6_000, 5_000 + i) for i in range(130))],
        ASC, 100, 100, 0, [], 11,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(WALKS))
def test_each_walk_hands_out_every_conversation_once_in_as_many_requests_as_today(
    case: str,
) -> None:
    items, base, page_size, cap, excess, changes, requests = WALKS[case]
    server = ModelServer(list(items), cap=cap, total_offset=excess, changes=list(changes))
    handed, end = walk(server, WalkState.start(base), base, page_size)
    low, high = int(base.get("startDate", 0)), int(base.get("endDate", 10**12))
    expected = [i.id for i in server.items if low <= (i.added or 0) <= high]
    assert Counter(handed) == Counter(expected)
    assert end.handed_out == len(expected)
    assert server.requests == requests


def test_the_filters_fingerprint_stays_what_stored_tokens_hold() -> None:
    # Tokens stored by earlier versions carry this digest: a change would refuse them all.
    assert filters_fingerprint({"locationId": "L", "sort": "asc"}) == "59dd4bbaf0f2f531"
    assert filters_fingerprint({"sort": "asc", "locationId": "L", "limit": "7"}) == (
        "59dd4bbaf0f2f531"
    )


def test_a_cursor_at_the_lowest_64_bit_value_is_sent() -> None:
    state = WalkState.start(ASC).after([conversation("a", INT64_MIN + 1)])
    assert state.next_query(ASC, 10)["startAfterDate"] == str(INT64_MIN)


def test_a_newest_first_walk_told_not_to_catch_up_ends_after_one_pass() -> None:
    server = ModelServer(values(250))
    handed, _ = walk(server, WalkState.start(DESC, catch_up=False), DESC, 100)
    assert len(handed) == 250
    assert server.requests == 3  # without the look back at the top a catch-up costs


@pytest.mark.parametrize("case", [name for name, walk_ in WALKS.items() if not walk_[5]])
def test_each_walk_stopped_anywhere_and_resumed_costs_at_most_one_request_more(
    case: str,
) -> None:
    items, base, page_size, cap, excess, _, requests = WALKS[case]
    low, high = int(base.get("startDate", 0)), int(base.get("endDate", 10**12))
    expected = Counter(i.id for i in items if low <= (i.added or 0) <= high)
    for stop_after in range(0, len(items) + 1, max(1, len(items) // 30)):
        server = ModelServer(list(items), cap=cap, total_offset=excess)
        first, stopped = walk(server, WalkState.start(base), base, page_size, stop_after=stop_after)
        resumed = WalkState.from_token(stopped.to_token(), query=base)
        rest, _ = walk(server, resumed, base, page_size)
        assert Counter(first + rest) == expected, stop_after
        assert server.requests <= requests + 1, stop_after  # the page it stopped in, again


def test_a_full_page_of_conversations_handed_out_already_is_refused_word_for_word() -> None:
    state = WalkState.start(ASC).after([conversation("a", 5), conversation("b", 5)])
    with pytest.raises(PaginationError) as raised:
        read_page(state, page(conversation("a", 5), conversation("b", 5), total=2), {"limit": "2"})
    assert str(raised.value) == (
        REFUSAL + "the API returned a full page of 2 conversations already handed out; the "
        "cursor did not advance"
    )


def test_once_the_servers_cap_is_learned_no_request_asks_for_more_even_when_catching_up() -> None:
    model = ModelServer(values(130), cap=20, changes=[Change(3, "create", "new", 5_000, 500)])
    queries: list[dict[str, str]] = []

    def server(query: dict[str, str]) -> ConversationPage:
        queries.append(query)
        return model(query)

    handed, _ = walk(server, WalkState.start(DESC), DESC, 50)
    assert Counter(handed) == Counter(i.id for i in model.items)
    assert [int(q["limit"]) for q in queries[:2]] == [50, 51]  # short twice: capped at 20
    assert all(int(q["limit"]) <= 20 for q in queries[2:]), queries


def test_a_long_run_none_of_it_dated_is_refused_counting_them() -> None:
    items = [Item(f"t{i:03d}", 20, None) for i in range(150)]
    with pytest.raises(PaginationError) as raised:
        walk(ModelServer(items), WalkState.start(ASC), ASC, 100)
    assert str(raised.value) == (
        REFUSAL + "at least 100 conversations share the sort value 20; such a run is stepped "
        "through by dateAdded, but 150 of the 150 matching conversations have no dateAdded"
    )
