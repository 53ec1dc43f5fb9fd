"""Pages decoded straight into models: the same conversations as the tolerant way, and
declined whenever the tolerant way has something to repair, warn about or keep."""

from __future__ import annotations

import gc
import linecache
import logging
import sys
from collections.abc import Callable
from enum import Enum
from types import FrameType
from typing import Any

import attrs
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from leadway_async._convert import WIRE_FIELDS, decode_json, page_from_payload
from leadway_async._fast_pages import decode_page
from leadway_async._repair import MS_MAX, MS_MIN
from leadway_async._responses import page_from_body
from leadway_async.errors import ResponseDecodeError, ResponseValidationError
from leadway_async.middleware.chain import request_id_from, request_id_of
from leadway_async.models import (
    ANY,
    COUNT,
    ENUM,
    FLAG,
    MS,
    NUMBERS,
    TEXT,
    TEXTS,
    Conversation,
    ConversationPage,
    RateLimit,
)
from leadway_async.testing.data import generate_conversations

TEXTS_NO_SURROGATES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXTS_NO_SURROGATES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(TEXTS_NO_SURROGATES, inner, max_size=3)
    ),
    max_leaves=6,
)


def right_kind(kind: str, enum: type[Enum] | None) -> st.SearchStrategy[Any]:
    """Values the model takes as they are for a field of `kind`."""
    numbers = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    return {
        TEXT: TEXTS_NO_SURROGATES,
        COUNT: st.integers(),
        FLAG: st.booleans(),
        MS: st.integers(MS_MIN, MS_MIN + 2)
        | st.integers(MS_MAX - 2, MS_MAX)
        | st.integers(0, 2**45),
        ENUM: st.sampled_from([m.value for m in enum or ()]) | TEXTS_NO_SURROGATES,
        TEXTS: st.lists(TEXTS_NO_SURROGATES, max_size=3),
        NUMBERS: st.lists(numbers, max_size=3),
        ANY: JSON_VALUES,
    }[kind]


def near_miss(kind: str) -> st.SearchStrategy[Any]:
    """Values a field of `kind` might be sent that the model does not take as they are."""
    floats = st.floats(allow_nan=False, allow_infinity=False)
    return {
        TEXT: st.integers() | st.booleans() | st.lists(TEXTS_NO_SURROGATES, max_size=2),
        COUNT: floats | st.booleans() | st.integers().map(str),
        FLAG: st.integers(0, 1) | st.sampled_from(["true", "false"]),
        MS: st.sampled_from([MS_MIN - 1, MS_MAX + 1, -(2**63) - 1, 2**64])
        | floats
        | st.integers(0, 2**45).map(str),
        ENUM: st.integers() | st.booleans() | st.lists(TEXTS_NO_SURROGATES, max_size=2),
        TEXTS: st.lists(st.integers() | st.none(), min_size=1, max_size=2) | TEXTS_NO_SURROGATES,
        NUMBERS: st.lists(st.booleans() | TEXTS_NO_SURROGATES | st.none(), min_size=1, max_size=2)
        | st.integers(),
        ANY: JSON_VALUES,
    }[kind]


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    """A conversation object holding only values the model takes as they are."""
    item: dict[str, Any] = {"id": draw(st.text(min_size=1, max_size=4))}
    for spec in WIRE_FIELDS:
        if draw(st.integers(0, 3)) == 0:
            continue  # the API leaves fields out freely
        item[spec.wire] = draw(right_kind(spec.kind, spec.enum) | st.none())
    return item


def touch_once(draw: st.DrawFn, item: dict[str, Any]) -> None:
    """Change one thing in `item`: a value of another type or out of range, an unknown
    key, or an id that is not one."""
    where = draw(st.integers(0, len(WIRE_FIELDS) + 1))
    if where < len(WIRE_FIELDS):
        spec = WIRE_FIELDS[where]
        item[spec.wire] = draw(near_miss(spec.kind) | JSON_VALUES)
    elif where == len(WIRE_FIELDS):
        item[draw(TEXTS_NO_SURROGATES.filter(lambda key: key not in item))] = draw(JSON_VALUES)
    else:
        item["id"] = draw(st.sampled_from(["", None, 7]) | JSON_VALUES)


@st.composite
def page_bodies(draw: st.DrawFn, odd: bool) -> bytes:
    """A page of such conversations; with `odd`, one thing in it changed, a total or a
    trace id of any type, or a body that is no page at all."""
    items = draw(st.lists(conversations(), max_size=4))
    page: dict[str, Any] = {"conversations": items}
    if draw(st.booleans()):
        page["total"] = draw(st.integers(0, 10**20) | st.floats(0, 1e9))
    if draw(st.booleans()):
        page["traceId"] = draw(TEXTS_NO_SURROGATES)
    if odd:
        change = draw(st.integers(0, 9))
        if change < 7 and items:
            touch_once(draw, draw(st.sampled_from(items)))
        elif change == 7:
            page[draw(st.sampled_from(["total", "traceId"]))] = draw(JSON_VALUES)
        elif change == 8:
            return msgspec.json.encode(draw(JSON_VALUES))
    return msgspec.json.encode(page)


def typed(conversation: Conversation) -> list[tuple[type, Any]]:
    """Every attribute with its type: 1 and 1.0 are equal but not the same reading."""
    return [(type(value), value) for value in attrs.astuple(conversation, recurse=False)]


def tolerant_page(body: bytes) -> ConversationPage:
    payload = decode_json(body)
    return page_from_payload(payload, rate_limit=RateLimit(), request_id=None, notes=set())


class Warnings(logging.Handler):
    """The package's warnings, kept while the handler is attached."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(body=page_bodies(odd=True))
def test_a_page_read_fast_is_the_page_read_the_tolerant_way(body: bytes) -> None:
    decoded = decode_page(body)
    warnings = Warnings()
    logging.getLogger("leadway_async").addHandler(warnings)
    try:
        tolerant = tolerant_page(body)
    except (ResponseDecodeError, ResponseValidationError):
        assert decoded is None  # nothing the tolerant way refuses is read fast
        return
    finally:
        logging.getLogger("leadway_async").removeHandler(warnings)
    if decoded is None:
        return
    conversations, total, trace = decoded
    assert [typed(c) for c in conversations] == [typed(c) for c in tolerant.conversations]
    assert (None if total is None else int(total)) == tolerant.total
    assert not warnings.records  # nothing the tolerant way warns about is read fast
    assert all(not c.extra for c in tolerant.conversations)  # nor anything it keeps
    assert request_id_from(trace, {}) == request_id_of(decode_json(body), {})


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(body=page_bodies(odd=False))
def test_a_page_of_expected_values_is_always_read_fast(body: bytes) -> None:
    decoded = decode_page(body)
    assert decoded is not None
    assert [typed(c) for c in decoded[0]] == [typed(c) for c in tolerant_page(body)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_emulators_pages_are_read_fast(seed: int) -> None:
    items = generate_conversations(1_000, seed=seed, location_id="loc")
    for start in range(0, len(items), 100):
        body = msgspec.json.encode({"conversations": items[start : start + 100], "total": 1_000})
        decoded = decode_page(body)
        assert decoded is not None
        assert decoded[0] == tolerant_page(body).conversations


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ({"id": "a", "surprise": 1}, "an unknown key"),
        ({"id": "a", "unreadCount": "3"}, "a count as text"),
        ({"id": "a", "unreadCount": True}, "a count as a flag"),
        ({"id": "a", "starred": 1}, "a flag as a number"),
        ({"id": "a", "lastMessageDate": 1.7e12}, "a date as a float"),
        ({"id": "a", "lastMessageDate": MS_MAX + 1}, "a date past what a datetime holds"),
        ({"id": "a", "tags": ["x", 1]}, "a list of text holding a number"),
        ({"id": "a", "sort": [True]}, "a sort value that is a flag"),
        ({"id": ""}, "an empty id"),
        ({"unreadCount": 1}, "no id"),
    ],
)
def test_a_page_the_tolerant_way_must_read_is_declined(item: dict[str, Any], why: str) -> None:
    assert decode_page(msgspec.json.encode({"conversations": [item]})) is None, why


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"total": 1}', b'{"conversations": {}}', b'{"conversations": [1]}'],
)
def test_a_body_that_is_not_a_page_is_declined(body: bytes) -> None:
    assert decode_page(body) is None


@pytest.mark.parametrize("total", [-1, True, "3"])
def test_a_total_that_is_not_a_count_is_declined(total: Any) -> None:
    assert decode_page(msgspec.json.encode({"conversations": [], "total": total})) is None


def test_a_repeated_key_reads_as_its_last_value_either_way() -> None:
    body = b'{"conversations": [{"id": "a", "tags": ["x"], "tags": ["y"]}], "total": 1}'
    decoded = decode_page(body)
    assert decoded is not None
    assert decoded[0][0].tags == ("y",) == tolerant_page(body).conversations[0].tags


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "tolerant"])
def test_scoring_arrays_are_tuples_and_an_empty_one_is_no_object_to_collect(fast: bool) -> None:
    items: list[dict[str, Any]] = [
        {"id": "a", "scoring": []},
        {"id": "b", "scoring": [{"profileId": "p", "score": 3}]},
        {"id": "c", "scoring": {"p": 3}},  # the spec's older shape, kept as it came
    ]
    if not fast:
        items.append({"id": "d", "surprise": 1})
    body = msgspec.json.encode({"conversations": items})
    assert (decode_page(body) is not None) is fast
    a, b, c, *_ = page_from_body(200, CIMultiDict(), body).conversations
    assert (type(a.scoring), a.scoring, gc.is_tracked(a.scoring)) == (tuple, (), False)
    assert b.scoring == ({"profileId": "p", "score": 3},)
    assert type(b.scoring) is tuple
    assert c.scoring == {"p": 3}


def test_numbers_past_64_bits_stay_exact_either_way() -> None:
    big = 2**64 + 1
    fast = msgspec.json.encode({"conversations": [{"id": "a", "unreadCount": big}]})
    tolerant = msgspec.json.encode({"conversations": [{"id": "a", "unreadCount": big, "x": 1}]})
    decoded = decode_page(fast)
    assert decoded is not None
    assert decoded[0][0].unread_count == big
    assert page_from_body(200, CIMultiDict(), tolerant).conversations[0].unread_count == big


def test_a_page_read_fast_carries_its_trace_id_total_and_cursor() -> None:
    body = msgspec.json.encode(
        {"conversations": [{"id": "a", "sort": [5]}], "total": 7.0, "traceId": "t-1"}
    )
    assert decode_page(body) is not None
    page = page_from_body(200, CIMultiDict({"X-Request-Id": "r-1"}), body)
    assert (page.request_id, page.total, page.next_cursor) == ("t-1", 7, 5)
    untraced = msgspec.json.encode({"conversations": [], "traceId": ""})
    assert page_from_body(200, CIMultiDict({"X-Request-Id": "r-1"}), untraced).request_id == "r-1"


def test_an_unknown_key_declined_fast_is_kept_in_extra() -> None:
    body = msgspec.json.encode({"conversations": [{"id": "a", "channel": "whatsapp"}]})
    assert page_from_body(200, CIMultiDict(), body).conversations[0].extra == {
        "channel": "whatsapp"
    }


def test_the_generated_conversion_shows_its_lines_in_tracebacks() -> None:
    assert linecache.getline("<leadway_async generated record conversion>", 1).startswith(
        "def conversation(record):"
    )


def functions_called(work: Callable[[], object]) -> set[str]:
    """The names of the Python functions `work` called."""
    names: set[str] = set()

    def note(frame: FrameType, event: str, _: object) -> None:
        if event == "call":
            names.add(frame.f_code.co_name)

    sys.setprofile(note)
    try:
        work()
    finally:
        sys.setprofile(None)
    return names


def test_page_from_body_reads_a_page_the_tolerant_way_only_when_it_must() -> None:
    plain = msgspec.json.encode({"conversations": [{"id": "a", "sort": [1]}]})
    odd = msgspec.json.encode({"conversations": [{"id": "a", "sort": [1], "channel": "sms"}]})
    assert "page_from_payload" not in functions_called(
        lambda: page_from_body(200, CIMultiDict(), plain)
    )
    assert "page_from_payload" in functions_called(lambda: page_from_body(200, CIMultiDict(), odd))


@pytest.mark.parametrize("extra", [{}, {"channel": "sms"}], ids=["fast", "tolerant"])
def test_either_way_a_page_carries_its_rate_limit_and_its_orders_cursor(
    extra: dict[str, Any],
) -> None:
    body = msgspec.json.encode({"conversations": [{"id": "a", "lastMessageDate": 5, **extra}]})
    headers = CIMultiDict({"X-RateLimit-Max": "100", "X-RateLimit-Remaining": "98"})
    page = page_from_body(200, headers, body)
    assert (page.rate_limit.max, page.rate_limit.remaining) == (100, 98)
    assert page.next_cursor == 5  # no `sort`: the default order's cursor is the date
    other_order = page_from_body(200, headers, body, sort_by="last_manual_message_date")
    assert other_order.next_cursor is None  # in another order the date is no cursor
