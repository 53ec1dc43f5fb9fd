"""The cursor rule, walked against a model of the server's strictly-after semantics."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadway_async import Conversation, ConversationPage, PaginationError, RateLimit
from leadway_async.cursor import WalkState, filters_fingerprint, read_page
from leadway_async.params import MAX_LIMIT

from .server_model import conversation, serve

BASE = {"locationId": "L", "sort": "asc"}


def server_order(data: list[Conversation], order: str) -> list[str]:
    return [c.id for c in serve(data, {"sort": order, "limit": str(len(data) + 1)}).conversations]


def walk(
    data: list[Conversation],
    state: WalkState,
    page_size: int,
    query: dict[str, str],
    stop_after: int | None = None,
) -> tuple[list[str], WalkState]:
    """Hand out conversations until the end (or `stop_after`), as the pager does."""
    handed: list[str] = []
    for _ in range(10_000):
        asked = state.next_query(query, page_size)
        outcome = read_page(state, serve(data, asked), int(asked["limit"]))
        for index, conv in enumerate(outcome.fresh):
            if stop_after is not None and len(handed) == stop_after:
                mid_state, _ = state.after(outcome.fresh[:index])
                return handed, mid_state
            handed.append(conv.id)
        state = outcome.end_state
        if outcome.is_last:
            return handed, state
    raise AssertionError("the walk did not end")


@st.composite
def sort_values(draw: Any) -> list[int]:
    """Sort values in ascending order, with runs of ties when `tie_chance` says so."""
    count = draw(st.integers(min_value=0, max_value=260))
    tie_chance = draw(st.sampled_from([0.0, 0.3, 0.8]))
    value = draw(st.integers(min_value=1_000, max_value=10_000))
    values = []
    for index in range(count):
        if not (index and draw(st.floats(min_value=0, max_value=1)) < tie_chance):
            value += draw(st.integers(min_value=1, max_value=50))
        values.append(value)
    return values


@settings(max_examples=150, deadline=None)
@given(
    values=sort_values(),
    order=st.sampled_from(["asc", "desc"]),
    page_size=st.integers(min_value=1, max_value=MAX_LIMIT),
    stop_fraction=st.floats(min_value=0, max_value=1),
)
def test_walk_yields_each_conversation_once_in_server_order_even_when_resumed(
    values: list[int], order: str, page_size: int, stop_fraction: float
) -> None:
    data = [conversation(f"c{index:04d}", value) for index, value in enumerate(values)]
    longest_run = max((sum(1 for c in data if c.sort == d.sort) for d in data), default=0)
    query = {**BASE, "sort": order}
    start = WalkState(filters_fingerprint(query), order)
    if longest_run >= MAX_LIMIT:
        with pytest.raises(PaginationError, match="share the sort value"):
            walk(data, start, page_size, query)
        return
    stop_after = int(len(data) * stop_fraction)
    first, state = walk(data, start, page_size, query, stop_after=stop_after)
    token = state.to_token()
    resumed_state = WalkState.from_token(token, fingerprint=start.fingerprint, order=order)
    rest, _ = walk(data, resumed_state, page_size, query)

    assert first + rest == server_order(data, order)


def test_ties_across_a_page_boundary_are_not_skipped() -> None:
    # Five conversations share one value; pages of 2 end inside the run twice.
    data = [
        conversation("a", 10),
        *[conversation(f"t{i}", 20) for i in range(5)],
        conversation("z", 30),
    ]
    query = {**BASE}
    handed, _ = walk(data, WalkState(filters_fingerprint(query), "asc"), 2, query)
    assert handed == ["a", "t0", "t1", "t2", "t3", "t4", "z"]


def test_after_a_boundary_the_cursor_steps_back_one_and_the_page_widens() -> None:
    state = WalkState("f", "asc", boundary=500, boundary_ids=frozenset({"x", "y"}), handed_out=9)
    assert state.next_query(BASE, 10) == {**BASE, "startAfterDate": "499", "limit": "12"}
    down = WalkState("f", "desc", boundary=500, boundary_ids=frozenset({"x"}))
    assert down.next_query(BASE, 100)["startAfterDate"] == "501"
    assert down.next_query(BASE, 100)["limit"] == str(MAX_LIMIT)


def test_float_cursors_step_back_by_the_smallest_amount() -> None:
    state = WalkState("f", "asc", boundary=1.5, boundary_ids=frozenset({"x"}))
    stepped = float(state.next_query(BASE, 5)["startAfterDate"])
    assert stepped < 1.5
    assert stepped == math.nextafter(1.5, -math.inf)


def test_a_run_longer_than_the_widest_page_is_reported() -> None:
    data = [conversation(f"t{i:03d}", 7) for i in range(MAX_LIMIT + 5)]
    query = {**BASE}
    with pytest.raises(PaginationError, match="share the sort value 7"):
        walk(data, WalkState(filters_fingerprint(query), "asc"), 50, query)


def test_a_full_page_of_already_seen_conversations_is_a_loop() -> None:
    state = WalkState("f", "asc", boundary=5, boundary_ids=frozenset({"a", "b"}), handed_out=2)
    stuck = ConversationPage((conversation("a", 5), conversation("b", 5)), 10, None, RateLimit())
    with pytest.raises(PaginationError, match="did not advance"):
        read_page(state, stuck, 2)


def test_a_cursor_that_goes_backwards_is_reported() -> None:
    state = WalkState("f", "asc", boundary=50, boundary_ids=frozenset({"m"}), handed_out=3)
    backwards = ConversationPage((conversation("a", 10),), 10, None, RateLimit())
    with pytest.raises(PaginationError, match="backwards"):
        read_page(state, backwards, 5)


def test_conversation_without_any_sort_value_is_reported() -> None:
    state = WalkState("f", "asc")
    page = ConversationPage((Conversation(id="n"),), 1, None, RateLimit())
    with pytest.raises(PaginationError, match="no usable sort value"):
        read_page(state, page, 5)


@pytest.mark.parametrize(
    ("received", "total", "is_last"),
    [(5, 100, False), (4, 100, True), (0, 0, True), (5, 5, True)],
)
def test_end_of_walk(received: int, total: int, is_last: bool) -> None:
    page = ConversationPage(
        tuple(conversation(f"c{i}", i) for i in range(received)), total, None, RateLimit()
    )
    outcome = read_page(WalkState("f", "asc"), page, 5)
    assert outcome.is_last is is_last
    assert len(outcome.fresh) == received


def test_an_empty_page_while_total_says_more_is_flagged() -> None:
    state = WalkState("f", "asc", boundary=5, boundary_ids=frozenset({"a"}), handed_out=3)
    outcome = read_page(state, ConversationPage((), 10, None, RateLimit()), 5)
    assert outcome.is_last
    assert outcome.suspect_end


def test_sort_falls_back_to_last_message_date() -> None:
    no_sort = Conversation(id="a", last_message_date_ms=1234)
    state, fresh = WalkState("f", "asc").after([no_sort])
    assert state.boundary == 1234
    assert fresh == [no_sort]


def test_resume_token_round_trips_as_ascii_text_and_checks_filters() -> None:
    query = {**BASE, "status": "unread"}
    fp = filters_fingerprint(query)
    state = WalkState(fp, "asc", boundary=99, boundary_ids=frozenset({"a", "b"}), handed_out=7)
    token = state.to_token()
    assert token.isascii()
    assert token.encode("ascii").decode() == token
    assert WalkState.from_token(token, fingerprint=fp, order="asc") == state
    other = filters_fingerprint({**BASE, "status": "read"})
    with pytest.raises(ValueError, match="other filters"):
        WalkState.from_token(token, fingerprint=other, order="asc")
    with pytest.raises(ValueError, match="other filters"):
        WalkState.from_token(token, fingerprint=fp, order="desc")


@pytest.mark.parametrize("token", ["", "garbage", "lw1.", "lw1.!!!", "lw1.e30", 42])
def test_malformed_resume_tokens_are_rejected(token: Any) -> None:
    with pytest.raises(ValueError, match="not a resume token"):
        WalkState.from_token(token, fingerprint="f", order="asc")


def test_page_size_does_not_change_the_fingerprint_but_filters_do() -> None:
    assert filters_fingerprint({**BASE, "limit": "10"}) == filters_fingerprint(
        {**BASE, "limit": "99"}
    )
    assert filters_fingerprint(BASE) != filters_fingerprint({**BASE, "query": "x"})
