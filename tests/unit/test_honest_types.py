"""A value of an unexpected type never fails a page and never makes a typed attribute lie:
converted where that loses nothing, else None with the value kept in `extra`."""

from __future__ import annotations

import logging
import math
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadway_async._convert import WIRE_FIELDS, page_from_payload, structure_conversation
from leadway_async._repair import MS_MAX, MS_MIN
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
    RateLimit,
)

BY_WIRE = {spec.wire: spec for spec in WIRE_FIELDS}

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.sampled_from(["3", "-2", " 7 ", "true", "False", "yes", "2024-01-01T00:00:00Z", ""]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=4), children, max_size=2)
    ),
    max_leaves=5,
)


def honest(kind: str, enum: type[Enum] | None, value: Any) -> bool:
    """Whether `value` is what an attribute of this kind may hold."""
    if value is None or kind == ANY:
        return True
    if kind == TEXT:
        return type(value) is str
    if kind == COUNT:
        return type(value) is int
    if kind == FLAG:
        return type(value) is bool
    if kind == MS:
        return type(value) is int and MS_MIN <= value <= MS_MAX
    if kind == TEXTS:
        return type(value) is tuple and all(type(v) is str for v in value)
    if kind == NUMBERS:
        return type(value) is tuple and all(type(v) in (int, float) for v in value)
    assert kind == ENUM
    assert enum is not None
    return isinstance(value, enum) or type(value) is str


@settings(max_examples=300, deadline=None)
@given(wire=st.sampled_from(sorted(BY_WIRE)), value=json_values)
def test_every_attribute_holds_its_type_or_none_and_nothing_is_lost(wire: str, value: Any) -> None:
    spec = BY_WIRE[wire]
    conversation = structure_conversation({"id": "c1", wire: value, "contactId": "k"})
    got = getattr(conversation, spec.attribute)
    assert honest(spec.kind, spec.enum, got), (wire, value, got)
    assert conversation.contact_id == "k" or wire == "contactId"
    if value is not None and got is None:
        assert conversation.extra[wire] == value or value != value  # kept as it came
    else:
        assert wire not in conversation.extra
    if spec.kind == MS and got is not None:
        assert getattr(conversation, spec.attribute.removesuffix("_ms")) is not None


@pytest.mark.parametrize(
    ("wire", "value", "attribute_value"),
    [
        ("unreadCount", "3", 3),
        ("unreadCount", " 12 ", 12),
        ("unreadCount", 3.0, 3),
        ("unreadCount", 3.5, None),
        ("unreadCount", "3.5", None),
        ("unreadCount", True, None),
        ("starred", "yes", None),
        ("starred", "true", True),
        ("starred", "FALSE", False),
        ("starred", 1, True),
        ("starred", 2, None),
        ("phone", 15551234567, "15551234567"),
        ("phone", ["+1555"], None),
        ("dateAdded", 1e17, None),
        ("dateAdded", 10**17, None),
        ("dateAdded", "1700000000000", 1_700_000_000_000),
        ("dateAdded", "2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("dateAdded", "2023-11-14T22:13:20", None),
        ("tags", "vip", None),
        ("tags", ["vip", 7], ("vip", "7")),
        ("mentions", ["u1", None], None),
        ("messageTypes", [100, 2.5], (100, 2.5)),
        ("messageTypes", ["100"], None),
        ("lastMessageType", 5, None),
        ("lastMessageType", "TYPE_NO_SHOW", "TYPE_NO_SHOW"),
        ("scoring", [{"profileId": "p", "score": 3}], ({"profileId": "p", "score": 3},)),
        ("scoring", {"p": 3}, {"p": 3}),  # the spec's older shape: kept as it came
    ],
    ids=repr,
)
def test_conversions_lose_nothing_and_the_rest_goes_to_extra(
    wire: str, value: Any, attribute_value: Any
) -> None:
    conversation = structure_conversation({"id": "c1", wire: value})
    assert getattr(conversation, BY_WIRE[wire].attribute) == attribute_value
    assert (wire in conversation.extra) is (attribute_value is None)


def test_a_date_no_datetime_can_hold_is_none_instead_of_an_overflow() -> None:
    conversation = structure_conversation({"id": "c1", "lastMessageDate": 10**17})
    assert conversation.last_message_date is None
    assert conversation.extra["lastMessageDate"] == 10**17
    assert math.isclose(MS_MAX, 253_402_300_799_999)


def page(items: list[dict[str, Any]], notes: set[str] | None = None) -> list[Conversation]:
    return list(
        page_from_payload(
            {"conversations": items, "total": len(items)},
            rate_limit=RateLimit(),
            request_id=None,
            notes=notes,
        )
    )


def test_a_page_with_odd_fields_delivers_every_conversation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    items = [
        {"id": "a", "unreadCount": "3", "starred": "yes"},
        {"id": "b", "unreadCount": 2, "starred": False},
        {"id": "c", "unreadCount": "many", "lastMessageDate": 10**17},
    ]
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        delivered = page(items)
    assert [c.id for c in delivered] == ["a", "b", "c"]
    assert [c.unread_count for c in delivered] == [3, 2, None]
    assert [c.starred for c in delivered] == [None, False, None]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3  # one per field: unreadCount, starred, lastMessageDate
    assert any("unreadCount" in text and "read it as 3" in text for text in warned)
    assert any("starred" in text and "kept it in `extra`" in text for text in warned)


def test_a_walk_warns_once_per_field_across_its_pages(caplog: pytest.LogCaptureFixture) -> None:
    notes: set[str] = set()
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        for start in range(0, 30, 10):
            page([{"id": f"c{i}", "unreadCount": str(i)} for i in range(start, start + 10)], notes)
    assert len(caplog.records) == 1
    assert notes == {"unreadCount"}
