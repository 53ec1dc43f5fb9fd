"""The cursor rule, walked against a model of the server (tests/unit/server_model.py):
ties, runs longer than a page, sentinel values, capped pages, and a location that changes
under the walk."""

from __future__ import annotations

import base64
import math
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadway_async import Conversation, ConversationPage, PaginationError, RateLimit
from leadway_async.cursor import (
    MAX_LIMIT,
    WalkState,
    filters_fingerprint,
    read_page,
    sort_value,
    wire_number,
)

from .server_model import SENTINEL, Change, Item, ModelServer, conversation, walk

BASE = {"locationId": "L", "sort": "asc"}


def start(order: str = "asc", **query: str) -> tuple[WalkState, dict[str, str]]:
    base = {**BASE, "sort": order, **query}
    return WalkState.start(base), base


def page(*conversations: Conversation, total: int | None = None) -> ConversationPage:
    return ConversationPage(tuple(conversations), total, None, RateLimit())


def server_order(items: list[Item], order: str) -> list[str]:
    sentinel = SENTINEL if order == "asc" else -SENTINEL

    def key(item: Item) -> tuple[float, str]:
        value = sentinel if item.value is None else item.value
        return (value if order == "asc" else -value, item.id)

    return [item.id for item in sorted(items, key=key)]


@st.composite
def locations(draw: Any) -> list[Item]:
    """Items with ascending values, runs of ties (some longer than a page), some without
    a value, each with its own dateAdded."""
    count = draw(st.integers(min_value=0, max_value=400))
    tie_chance = draw(st.sampled_from([0.0, 0.3, 0.8, 0.995]))
    missing = draw(st.sampled_from([0.0, 0.0, 0.5, 0.9]))
    value = draw(st.integers(min_value=1_000, max_value=10_000))
    items = []
    for index in range(count):
        if not (index and draw(st.floats(min_value=0, max_value=1)) < tie_chance):
            value += draw(st.integers(min_value=1, max_value=50))
        no_value = draw(st.floats(min_value=0, max_value=1)) < missing
        added = 1_000_000 + index * draw(st.sampled_from([1, 7, 1000]))
        items.append(Item(f"c{index:04d}", None if no_value else value, added))
    return items


@settings(max_examples=200, deadline=None)
@given(
    items=locations(),
    order=st.sampled_from(["asc", "desc"]),
    page_size=st.integers(min_value=1, max_value=MAX_LIMIT),
    cap=st.sampled_from([100, 100, 37]),
    stop_fraction=st.floats(min_value=0, max_value=1),
)
def test_a_still_location_is_walked_exactly_once_even_when_resumed(
    items: list[Item], order: str, page_size: int, cap: int, stop_fraction: float
) -> None:
    server = ModelServer(items, cap=cap)
    state, base = start(order)
    stop_after = int(len(items) * stop_fraction)
    first, stopped = walk(server, state, base, page_size, stop_after=stop_after)
    resumed = WalkState.from_token(stopped.to_token(), query=base)
    rest, end = walk(server, resumed, base, page_size)
    handed = first + rest
    assert sorted(handed) == sorted(item.id for item in items)  # each exactly once
    values = {item.id: item.value for item in items}
    sentinel = SENTINEL if order == "asc" else -SENTINEL
    walked = [sentinel if values[i] is None else values[i] for i in handed]
    assert walked == sorted(walked, reverse=order == "desc")  # in the walk's order
    assert end.handed_out == len(items)


@settings(max_examples=100, deadline=None)
@given(items=locations(), order=st.sampled_from(["asc", "desc"]))
def test_runs_shorter_than_a_page_come_in_the_servers_order(items: list[Item], order: str) -> None:
    runs = Counter(item.value for item in items)
    if any(count >= MAX_LIMIT for count in runs.values()):
        return  # runs as long as a page are stepped through by date, in date windows
    state, base = start(order)
    handed, _ = walk(ModelServer(items), state, base, 40)
    assert handed == server_order(items, order)


def test_on_a_still_location_the_walk_costs_its_pages_and_one_request_to_catch_up() -> None:
    items = [Item(f"c{i:03d}", 1_000 + i) for i in range(250)]
    for order, catch_up in (("asc", 0), ("desc", 1)):
        server = ModelServer(items)
        state, base = start(order)
        handed, _ = walk(server, state, base, 100)
        assert len(handed) == 250
        assert server.requests == 3 + catch_up


def test_a_one_page_walk_is_a_snapshot_and_needs_no_catch_up() -> None:
    server = ModelServer([Item(f"c{i}", i) for i in range(30)])
    state, base = start("desc")
    handed, _ = walk(server, state, base, 100)
    assert len(handed) == 30
    assert server.requests == 1


def test_a_run_longer_than_the_widest_page_is_stepped_through_by_date() -> None:
    items = [
        Item("a", 10, 5),
        *[Item(f"t{i:03d}", 20, 1_000 + i * 13) for i in range(350)],
        Item("z", 30, 7),
    ]
    for order in ("asc", "desc"):
        server = ModelServer(items)
        state, base = start(order)
        handed, _ = walk(server, state, base, 100)
        assert Counter(handed) == Counter(item.id for item in items)
        assert handed[0] == ("a" if order == "asc" else "z")
        assert handed[-1] == ("z" if order == "asc" else "a")
        assert server.requests < 30


def test_date_windows_stay_inside_the_callers_own_dates() -> None:
    items = [Item(f"t{i:03d}", 20, 1_000 + i) for i in range(300)]
    server = ModelServer(items)
    state, base = start("asc", startDate="1050", endDate="1249")
    sent: list[dict[str, str]] = []

    def recording(query: dict[str, str]) -> ConversationPage:
        sent.append(query)
        return server(query)

    handed, _ = walk(recording, state, base, 100)
    assert sorted(handed) == [f"t{i:03d}" for i in range(50, 250)]
    for query in sent:
        assert int(query["startDate"]) >= 1050
        assert int(query["endDate"]) <= 1249


def test_a_run_added_in_one_millisecond_cannot_be_split_and_says_so() -> None:
    items = [Item(f"t{i:03d}", 20, 5_000) for i in range(150)]
    state, base = start("asc")
    with pytest.raises(PaginationError, match="same millisecond") as raised:
        walk(ModelServer(items), state, base, 100)
    assert "sorted by last_message_date in ascending order" in str(raised.value)
    assert raised.value.resume_token is not None


def test_a_long_run_with_conversations_lacking_a_date_added_is_refused() -> None:
    items = [Item(f"t{i:03d}", 20, None if i % 10 == 0 else 1_000 + i) for i in range(150)]
    state, base = start("asc")
    with pytest.raises(PaginationError, match="15 of the 150 matching conversations have no"):
        walk(ModelServer(items), state, base, 100)


def test_conversations_without_the_sort_field_are_walked_through_their_sentinel() -> None:
    items = [Item(f"v{i:03d}", 1_000 + i, i) for i in range(40)]
    items += [Item(f"n{i:03d}", None, 10_000 + i * 3) for i in range(260)]
    for order in ("asc", "desc"):
        state, base = start(order, sortBy="last_manual_message_date")
        handed, _ = walk(ModelServer(items), state, base, 100)
        assert Counter(handed) == Counter(item.id for item in items)
        assert all(i.startswith("n") for i in handed[40:])  # sorted last in both orders


def test_a_capped_page_size_does_not_end_the_walk() -> None:
    items = [Item(f"c{i:03d}", i) for i in range(300)]
    server = ModelServer(items, cap=20)
    state, base = start("asc")
    handed, end = walk(server, state, base, 100)
    assert handed == [item.id for item in items]
    assert end.cap == 20
    assert server.requests == 16  # 15 pages of 20, one empty page ends it


def test_a_walk_does_not_stop_because_it_reached_total() -> None:
    items = [Item(f"c{i:03d}", i) for i in range(60)]
    server = ModelServer(items, total_offset=-20)  # a total that undercounts
    state, base = start("asc")
    handed, _ = walk(server, state, base, 20)
    assert handed == [item.id for item in items]


def test_an_empty_page_while_total_says_more_is_asked_once_more() -> None:
    state, base = start("asc")
    state = state.after([conversation("a", 5)])
    outcome = read_page(state, page(total=10), state.next_query(base, 5))
    assert not outcome.is_last
    again = read_page(outcome.end_state, page(total=10), state.next_query(base, 5))
    assert again.is_last


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    count=st.integers(min_value=1, max_value=300),
    order=st.sampled_from(["asc", "desc"]),
    page_size=st.integers(min_value=5, max_value=100),
)
def test_a_changing_location_loses_nothing_that_was_there_throughout(
    data: Any, count: int, order: str, page_size: int
) -> None:
    items = [Item(f"c{i:04d}", 1_000 + i * 2, i) for i in range(count)]
    pages = count // page_size + 3
    now = 1_000 + count * 2 + 1
    changes = []
    for ident in data.draw(st.lists(st.sampled_from([i.id for i in items]), max_size=40)):
        now += data.draw(st.integers(min_value=0, max_value=3))
        at = data.draw(st.integers(min_value=0, max_value=pages))
        kind = data.draw(st.sampled_from(["move", "move", "move", "delete"]))
        changes.append(Change(at, kind, ident, now))
    for k in range(data.draw(st.integers(min_value=0, max_value=10))):
        now += 1
        at = data.draw(st.integers(min_value=0, max_value=pages))
        changes.append(Change(at, "create", f"new{k}", now, 0))
    changes.sort(key=lambda c: c.at)
    for index, change in enumerate(changes):  # values only grow, as new messages do
        change.value = now + index if change.kind != "delete" else None
    server = ModelServer(items, changes=changes)
    state, base = start(order)
    stop_after = data.draw(st.none() | st.integers(min_value=0, max_value=count))
    handed, stopped = walk(server, state, base, page_size, stop_after=stop_after)
    if stop_after is not None:  # stopped there, or ended before: resumed either way
        resumed = WalkState.from_token(stopped.to_token(), query=base)
        rest, _ = walk(server, resumed, base, page_size)
        handed += rest
    deleted = {c.id for c in changes if c.kind == "delete"}
    moved = {c.id for c in changes if c.kind == "move"}
    throughout = {item.id for item in items} - deleted
    assert throughout <= set(handed)  # none lost
    again = sum(n - 1 for n in Counter(handed).values())
    moves = Counter(c.id for c in changes if c.kind == "move")
    for ident, times in Counter(handed).items():  # no more redeliveries than moves explain
        assert times - 1 <= moves[ident], ident
    assert again <= sum(moves.values())
    assert all(Counter(handed)[i] == 1 for i in throughout - moved)


def test_a_walk_stopped_mid_page_reads_a_short_page_after_it_as_the_walk_would_have() -> None:
    # Found by the property above: stopped after the first of a page of two, the walk
    # forgot how wide its pages had been; resumed, while the other conversation moved to
    # the top, it took the next (short) page for a gateway capping pages at one, and
    # failed on a "run" of one conversation it could not split.
    items = [Item("c0000", 1_000, 0)]
    changes = [Change(0, "create", "new0", 1_004, 0), Change(1, "move", "c0000", 1_005)]
    server = ModelServer(items, changes=changes)
    state, base = start("desc")
    handed, stopped = walk(server, state, base, 5, stop_after=1)
    assert handed == ["new0"]
    rest, _ = walk(server, WalkState.from_token(stopped.to_token(), query=base), base, 5)
    assert rest == ["c0000"]  # moved behind the cursor: the catch-up pass finds it


def test_a_newest_first_walk_catches_a_conversation_that_moved_behind_its_cursor() -> None:
    items = [Item(f"c{i:03d}", 1_000 + i, i) for i in range(300)]
    # Before the third request, c010 (not reached yet) gets a message: it jumps to the top.
    server = ModelServer(items, changes=[Change(2, "move", "c010", 5_000)])
    state, base = start("desc")
    handed, _ = walk(server, state, base, 100)
    assert Counter(handed)["c010"] == 1
    assert len(handed) == 300
    assert server.requests == 5  # three pages, the empty re-ask, one catch-up page


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=250),
    ties=st.sampled_from([1, 2, 3, 150]),
    order=st.sampled_from(["asc", "desc"]),
    page_size=st.integers(min_value=1, max_value=100),
    arrivals=st.integers(min_value=0, max_value=30),
    same_ms=st.booleans(),
)
def test_a_finished_walk_resumed_later_hands_out_exactly_what_arrived(
    count: int, ties: int, order: str, page_size: int, arrivals: int, same_ms: bool
) -> None:
    # Conversations in runs of `ties` equal values, added in pairs in one millisecond or
    # each in its own. The arrivals have messages later than any, so a newest-first walk
    # meets them behind its cursor and an oldest-first one ahead of it.
    items = [Item(f"c{i:04d}", 1_000 + i // ties, i // 2 if same_ms else i) for i in range(count)]
    server = ModelServer(items)
    state, base = start(order)
    first, end = walk(server, state, base, page_size)
    assert sorted(first) == [item.id for item in items]
    server.changes = [
        Change(server.requests, "create", f"new{k}", 5_000 + k, count + k) for k in range(arrivals)
    ]
    resumed = WalkState.from_token(end.to_token(), query=base)
    rest, _ = walk(server, resumed, base, page_size)
    assert sorted(rest) == sorted(f"new{k}" for k in range(arrivals))


def test_a_newest_first_walk_of_one_conversation_resumed_after_an_arrival_gets_it() -> None:
    # It used to take the one conversation brought again for a page the server capped at
    # one, and fail stepping through it by date.
    server = ModelServer([Item("c0000", 1_000, 0)])
    state, base = start("desc")
    _, end = walk(server, state, base, 5)
    server.changes = [Change(server.requests, "create", "new0", 1_001, 1)]
    rest, _ = walk(server, WalkState.from_token(end.to_token(), query=base), base, 5)
    assert rest == ["new0"]


def test_whole_float_values_step_one_unit_like_integers() -> None:
    state, base = start("desc")
    state = state.after([conversation("x", 1_700_000_000_000.0)])
    assert state.next_query(base, 10)["startAfterDate"] == "1700000000001"
    state, base = start("asc")
    state = state.after([conversation("x", 1.5)])
    assert float(state.next_query(base, 10)["startAfterDate"]) == math.nextafter(1.5, -math.inf)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (7, "7"),
        (7.0, "7"),
        (-3.0, "-3"),
        (0.1, "0.1"),
        (1_000.0, "1000"),
        (2.0**53 - 1, "9007199254740991"),
        (2.0**53, "9007199254740992.0"),
        (2.0**60, "1.152921504606847e+18"),
    ],
)
def test_the_wire_form_of_numbers(value: float, shown: str) -> None:
    assert wire_number(value) == shown


@pytest.mark.parametrize(
    ("sort", "why"),
    [
        ((1, 2), "2 elements"),
        ((None,), "no cursor can point past"),
        ((2**63,), "outside the signed 64-bit range"),
        ((-(2**63) - 1,), "outside the signed 64-bit range"),
        ((1.8e19,), "outside the signed 64-bit range"),
        ((math.inf,), "outside the signed 64-bit range"),
        (("x",), "no cursor can point past"),
    ],
)
def test_sort_values_no_cursor_can_carry_are_refused_with_the_token(sort: Any, why: str) -> None:
    state, base = start("asc", sortBy="score_profile")
    bad = Conversation(id="odd", sort=sort)
    with pytest.raises(PaginationError, match=why) as raised:
        read_page(state, page(conversation("a", 1), bad), state.next_query(base, 5))
    assert "sorted by score_profile in ascending order" in str(raised.value)
    assert raised.value.resume_token == state.to_token()


def test_no_cursor_outside_the_64_bit_range_is_ever_sent() -> None:
    for order, edge in (("desc", 2**63 - 1), ("asc", -(2**63))):
        state, base = start(order)
        at_edge = state.after([conversation("x", edge)])  # just before it is one past
        with pytest.raises(PaginationError, match="outside the signed 64-bit range"):
            at_edge.next_query(base, 10)
    state, base = start("asc")
    at_top = state.after([conversation("x", 2**63 - 1)])
    assert at_top.next_query(base, 10)["startAfterDate"] == str(2**63 - 2)


def test_a_missing_sort_falls_back_to_the_last_message_date_only_for_the_default_order() -> None:
    no_sort = Conversation(id="a", last_message_date_ms=1234)
    assert sort_value(no_sort) == 1234
    with pytest.raises(PaginationError, match="no sort value"):
        sort_value(no_sort, "last_manual_message_date")


def test_a_full_page_of_already_seen_conversations_is_a_loop() -> None:
    state, _ = start("asc")
    state = state.after([conversation("a", 5), conversation("b", 5)])
    stuck = page(conversation("a", 5), conversation("b", 5), total=2)
    with pytest.raises(PaginationError, match="did not advance"):
        read_page(state, stuck, {"limit": "2"})


def test_a_cursor_that_goes_backwards_is_reported() -> None:
    state, _ = start("asc")
    state = state.after([conversation("m", 50)])
    with pytest.raises(PaginationError, match="backwards"):
        read_page(state, page(conversation("a", 10), total=10), {"limit": "5"})


def test_resume_token_round_trips_as_ascii_text_and_checks_filters() -> None:
    state, base = start("asc", status="unread")
    state = state.after([conversation("a", 99), conversation("b", 99)])
    token = state.to_token()
    assert token.isascii()
    assert WalkState.from_token(token, query=base) == state
    with pytest.raises(ValueError, match="other filters"):
        WalkState.from_token(token, query={**base, "status": "read"})
    with pytest.raises(ValueError, match="other filters"):
        WalkState.from_token(token, query={**base, "sort": "desc"})


def test_a_token_from_before_catch_up_resumes_exactly_without_catching_up() -> None:
    items = [Item(f"c{i:03d}", 1_000 + i) for i in range(120)]
    base = {**BASE, "sort": "desc"}
    old = {"f": filters_fingerprint(base), "o": "desc", "b": 1_100, "i": ["c100"], "n": 20}
    token = "lw1." + base64.urlsafe_b64encode(orjson.dumps(old)).decode().rstrip("=")
    server = ModelServer(items)
    rest, _ = walk(server, WalkState.from_token(token, query=base), base, 50)
    assert rest == [f"c{i:03d}" for i in range(99, -1, -1)]


def encode(payload: Any, prefix: str = "lw2.") -> str:
    return prefix + base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


@pytest.mark.parametrize("token", ["", "garbage", "lw2.", "lw2.!!!", 42, None])
def test_what_is_not_a_resume_token_is_refused(token: Any) -> None:
    with pytest.raises(ValueError, match=r"not a resume token|damaged"):
        WalkState.from_token(token, query=BASE)


def test_a_token_valid_only_in_some_fields_is_refused_naming_them() -> None:
    state, base = start("asc")
    good = orjson.loads(base64.urlsafe_b64decode(state.to_token()[4:] + "=="))
    for field, bad in [
        ("o", "sideways"),
        ("i", "abc"),
        ("i", [1, 2]),
        ("n", -1),
        ("n", "3"),
        ("b", "12"),
        ("k", 0),
        ("p", 1),
        ("ei", [3]),
    ]:
        with pytest.raises(ValueError, match=f"field\\(s\\) {field} are not valid"):
            WalkState.from_token(encode({**good, field: bad}), query=base)
    with pytest.raises(ValueError, match="does not hold"):
        WalkState.from_token(encode([good]), query=base)
    with pytest.raises(ValueError, match="s are not valid"):
        WalkState.from_token(
            encode({**good, "s": [[], "x", None, None, None, None, None]}), query=base
        )


def test_page_size_does_not_change_the_fingerprint_but_filters_do() -> None:
    assert filters_fingerprint({**BASE, "limit": "10"}) == filters_fingerprint(
        {**BASE, "limit": "99"}
    )
    assert filters_fingerprint(BASE) != filters_fingerprint({**BASE, "query": "x"})


def token_fields(state: WalkState) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(
        base64.urlsafe_b64decode(state.to_token()[4:] + "=" * (-len(state.to_token()[4:]) % 4))
    )
    return decoded


BAD_FIELDS = [
    ("f", 5), ("o", "sideways"), ("o", None), ("b", "12"), ("b", True), ("b", [1]),
    ("i", "abc"), ("i", [1]), ("i", None), ("p", 1), ("p", None), ("n", -1), ("n", "3"),
    ("n", 1.5), ("n", True), ("n", None), ("e", "x"), ("e", True), ("ei", [3]), ("ei", "x"),
    ("t", "x"), ("t", False), ("ti", [None]), ("ti", {}), ("pg", 0), ("pg", None),
    ("c", "yes"), ("k", 0), ("k", MAX_LIMIT + 1), ("k", None), ("m", -1), ("m", "0"),
    ("g", 1.5), ("g", None), ("a", None), ("a", 0),
]  # fmt: skip


@pytest.mark.parametrize(("field", "bad"), BAD_FIELDS, ids=repr)
def test_every_field_of_a_walk_token_is_checked_before_anything_is_sent(
    field: str, bad: Any
) -> None:
    state, base = start("desc")
    state = state.after([conversation("a", 99), conversation("b", 98)])
    with pytest.raises(ValueError, match=f"its field\\(s\\) {field} are not valid"):
        WalkState.from_token(encode({**token_fields(state), field: bad}), query=base)


@pytest.mark.parametrize("field", ["f", "o", "i", "p", "n", "pg", "c", "k", "m", "g", "a"])
def test_a_walk_token_missing_a_field_is_refused_naming_it(field: str) -> None:
    state, base = start("asc")
    fields = token_fields(state)
    del fields[field]
    with pytest.raises(ValueError, match=f"its field\\(s\\) {field} are not valid"):
        WalkState.from_token(encode(fields), query=base)


@pytest.mark.parametrize(
    "split",
    [
        "run",
        [[], 0, None, None, None, None],  # one short
        [[], 0, None, None, None, None, None, None],  # one long
        [[1], 0, None, None, None, None, None],
        [[], -1, None, None, None, None, None],
        [[], 0, "5", None, None, None, None],
        [[], 0, None, 1.5, None, None, None],
        [[], 0, None, None, True, None, None],
        [[], 0, None, None, None, -3, None],
        [[], 0, None, None, None, None, "late"],
    ],
    ids=repr,
)
def test_a_walk_token_stepping_through_a_run_is_checked_field_by_field(split: Any) -> None:
    state, base = start("asc")
    fields = {**token_fields(state.after([conversation("a", 5)])), "s": split}
    with pytest.raises(ValueError, match="its field\\(s\\) s are not valid"):
        WalkState.from_token(encode(fields), query=base)


def test_a_token_stepping_through_a_run_of_no_value_is_refused() -> None:
    # Well formed field by field, but a run of equal values stepped through by date has
    # a value: without one the walk would fail at its first page, not at the token.
    state, base = start("asc")
    fields = {**token_fields(state), "b": None, "s": [["a"], 0, None, None, None, None, None]}
    with pytest.raises(ValueError, match="its field\\(s\\) s are not valid"):
        WalkState.from_token(encode(fields), query=base)
    fields["b"] = 7
    resumed = WalkState.from_token(encode(fields), query=base)  # with its value, it resumes
    assert resumed.next_query(base, 10)["startAfterDate"] == "6"


@pytest.mark.parametrize(
    ("field", "bad"),
    [("f", 5), ("o", "up"), ("b", "12"), ("i", "abc"), ("i", [1]), ("n", -1), ("n", None)],
    ids=repr,
)
def test_every_field_of_an_old_walk_token_is_checked(field: str, bad: Any) -> None:
    base = {**BASE, "sort": "desc"}
    old = {"f": filters_fingerprint(base), "o": "desc", "b": 1_100, "i": ["c100"], "n": 20}
    with pytest.raises(ValueError, match=f"its field\\(s\\) {field} are not valid"):
        WalkState.from_token(encode({**old, field: bad}, prefix="lw1."), query=base)


def test_an_old_walk_token_cannot_step_through_a_run() -> None:
    base = {**BASE, "sort": "desc"}
    old = {"f": filters_fingerprint(base), "o": "desc", "b": 1_100, "i": [], "n": 20}
    split = [[], 0, None, None, None, None, None]
    with pytest.raises(ValueError, match="its field\\(s\\) s are not valid"):
        WalkState.from_token(encode({**old, "s": split}, prefix="lw1."), query=base)
