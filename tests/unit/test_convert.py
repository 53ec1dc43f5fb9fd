"""Wire JSON to `Conversation` and back, and a decoded 200 body to a `ConversationPage`."""

from __future__ import annotations

import copy
import linecache
import math
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadway_async._convert import (
    WIRE_FIELDS,
    DecodedItems,
    conversation_to_wire,
    converter,
    page_from_payload,
    structure_conversation,
)
from leadway_async.enums import ConversationType, MessageAction, MessageDirection, MessageType
from leadway_async.errors import ResponseValidationError
from leadway_async.models import Conversation, ConversationPage, RateLimit

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)

# The wire format as the contract describes it: wire name -> (attribute, kind).
PLAIN_TEXT = {
    "contactId": "contact_id",
    "locationId": "location_id",
    "lastMessageBody": "last_message_body",
    "fullName": "full_name",
    "contactName": "contact_name",
    "email": "email",
    "phone": "phone",
    "assignedTo": "assigned_to",
    "companyName": "company_name",
    "profilePhoto": "profile_photo",
    "lastMessageConversationProviderId": "last_message_conversation_provider_id",
}
BOOLS = {
    "starred": "starred",
    "inbox": "inbox",
    "attributed": "attributed",
    "isLastMessageInternalComment": "is_last_message_internal_comment",
}
ENUM_FIELDS: dict[str, tuple[str, type[Enum]]] = {
    "lastMessageType": ("last_message_type", MessageType),
    "type": ("type", ConversationType),
    "lastMessageDirection": ("last_message_direction", MessageDirection),
    "lastOutboundMessageAction": ("last_outbound_message_action", MessageAction),
}
MS_FIELDS = {
    "dateAdded": ("date_added_ms", "date_added"),
    "dateUpdated": ("date_updated_ms", "date_updated"),
    "lastMessageDate": ("last_message_date_ms", "last_message_date"),
    "lastManualMessageDate": ("last_manual_message_date_ms", "last_manual_message_date"),
}
LIST_FIELDS = {
    "followers": "followers",
    "tags": "tags",
    "sort": "sort",
    "mentions": "mentions",
    "messageTypes": "message_types",
}
OTHER = {"unreadCount": "unread_count", "scoring": "scoring"}
KNOWN: dict[str, str] = {
    "id": "id",
    **PLAIN_TEXT,
    **BOOLS,
    **{wire: attribute for wire, (attribute, _) in ENUM_FIELDS.items()},
    **{wire: attribute for wire, (attribute, _) in MS_FIELDS.items()},
    **LIST_FIELDS,
    **OTHER,
}


def ms_of(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_MS


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- strategies ------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
fixed_offsets = st.builds(
    timezone,
    st.integers(min_value=-(14 * 60), max_value=14 * 60).map(lambda m: timedelta(minutes=m)),
)


def ms_datetimes(latest: datetime) -> st.SearchStrategy[datetime]:
    """Aware datetimes to the millisecond, in assorted fixed-offset timezones."""
    return st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=latest, timezones=fixed_offsets
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


def iso_text(moment: datetime, zulu: bool, millis: bool) -> str:
    text = moment.isoformat(timespec="milliseconds" if millis else "auto")
    if zulu and moment.utcoffset() == timedelta(0):
        text = text.removesuffix("+00:00") + "Z"
    return text


def iso_strings(latest: datetime) -> st.SearchStrategy[str]:
    return st.builds(iso_text, ms_datetimes(latest), st.booleans(), st.booleans())


# Up to 2037: the range real conversation dates fall in (later ones: see the ISO test below).
REALISTIC_LATEST = datetime(2037, 12, 31)
MAX_MS = ms_of(datetime(2100, 1, 1, tzinfo=timezone.utc))
epoch_ms_values = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=MAX_MS),
    st.floats(min_value=0, max_value=MAX_MS, allow_nan=False),
    iso_strings(REALISTIC_LATEST),
)


def enum_strings(enum_class: type[Enum]) -> st.SearchStrategy[str | None]:
    known = {member.value for member in enum_class}
    unknown = st.one_of(
        st.just("TYPE_FUTURE_THING"),
        st.from_regex(r"TYPE_[A-Z_]{1,20}", fullmatch=True),
        st.text(max_size=12),
    ).filter(lambda s: s not in known)
    return st.one_of(st.none(), st.sampled_from(sorted(known)), unknown)


FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(PLAIN_TEXT, st.one_of(st.none(), st.text(max_size=20))),
    **dict.fromkeys(BOOLS, st.one_of(st.none(), st.booleans())),
    **{wire: enum_strings(enum_class) for wire, (_, enum_class) in ENUM_FIELDS.items()},
    **dict.fromkeys(MS_FIELDS, epoch_ms_values),
    "followers": st.one_of(st.none(), st.lists(st.text(min_size=1, max_size=8), max_size=4)),
    "tags": st.one_of(st.none(), st.lists(st.text(max_size=8), max_size=4)),
    "mentions": st.one_of(st.none(), st.lists(st.text(min_size=1, max_size=8), max_size=3)),
    "messageTypes": st.one_of(st.none(), st.lists(st.integers(0, 1000), max_size=3)),
    "sort": st.one_of(
        st.none(),
        st.lists(
            st.one_of(
                st.integers(min_value=0, max_value=MAX_MS),
                st.floats(allow_nan=False, allow_infinity=False),
            ),
            max_size=2,
        ),
    ),
    "unreadCount": st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)),
    "scoring": json_values,
}
assert set(FIELD_STRATEGIES) | {"id"} == set(KNOWN)

extra_keys = st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN)


@st.composite
def wire_conversations(draw: st.DrawFn) -> dict[str, Any]:
    """A conversation as the API may send it: any field but id missing or null, more."""
    item: dict[str, Any] = {"id": draw(st.text(min_size=1, max_size=20))}
    item.update(draw(st.fixed_dictionaries({}, optional=FIELD_STRATEGIES)))
    item.update(draw(st.dictionaries(extra_keys, json_values, max_size=3)))
    order = draw(st.permutations(list(item)))
    return {key: item[key] for key in order}


# --- expectations computed from the wire dict ------------------------------------------


def expected_ms(value: Any) -> int | None:
    """Whole epoch milliseconds: ints as sent, floats cut to the millisecond, ISO parsed."""
    if value is None or type(value) is int:
        return value
    if isinstance(value, str):
        return ms_of(parse_iso(value))
    return math.floor(value)


def expected_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The attribute values `item` should give, from the contract's description."""
    fields: dict[str, Any] = {"id": item["id"]}
    for wire, attribute in {**PLAIN_TEXT, **BOOLS, **OTHER}.items():
        fields[attribute] = item.get(wire)
    if type(item.get("scoring")) is list:  # any value as sent, an array as a tuple
        fields["scoring"] = tuple(item["scoring"])
    for wire, (attribute, enum_class) in ENUM_FIELDS.items():
        value = item.get(wire)
        known = {member.value: member for member in enum_class}
        fields[attribute] = known.get(value, value) if value is not None else None
    for wire, attribute in LIST_FIELDS.items():
        value = item.get(wire)
        fields[attribute] = None if value is None else tuple(value)
    for wire, (attribute, _) in MS_FIELDS.items():
        fields[attribute] = expected_ms(item.get(wire))
    fields["extra"] = {key: value for key, value in item.items() if key not in KNOWN}
    return fields


# Each example builds a whole conversation: fewer of them keep the suite fast.
PROPERTY = settings(max_examples=40, deadline=None)

# --- properties ------------------------------------------------------------------------


@PROPERTY
@given(wire_conversations())
def test_round_trip_through_the_wire_is_stable(item: dict[str, Any]) -> None:
    once = structure_conversation(item)
    wire = conversation_to_wire(once)
    assert structure_conversation(wire) == once
    assert conversation_to_wire(structure_conversation(wire)) == wire
    # What goes back out is JSON again.
    assert orjson.loads(orjson.dumps(wire)) == wire


@PROPERTY
@given(wire_conversations())
def test_to_wire_gives_the_fields_that_were_set_under_their_wire_names(
    item: dict[str, Any],
) -> None:
    wire = conversation_to_wire(structure_conversation(item))
    assert set(wire) == {
        key for key, value in item.items() if value is not None or key not in KNOWN
    }
    for key, value in wire.items():
        if key in MS_FIELDS:
            assert type(value) is int
            assert (
                abs(value - ms_of(parse_iso(item[key]))) < 1
                if isinstance(item[key], str)
                else abs(value - item[key]) < 1
            )
        else:
            assert value == item[key], key


@PROPERTY
@given(wire_conversations())
def test_structure_gives_the_values_the_contract_describes(item: dict[str, Any]) -> None:
    conversation = structure_conversation(item)
    fields = expected_fields(item)
    for wire, (attribute, _) in MS_FIELDS.items():
        value = item.get(wire)
        got = getattr(conversation, attribute)
        if type(value) is float:
            assert type(got) is int
            assert abs(got - value) < 1
            fields[attribute] = got
    actual = {a.name: getattr(conversation, a.name) for a in attrs.fields(Conversation)}
    assert actual == fields


@PROPERTY
@given(wire_conversations())
def test_enum_fields_hold_members_when_known_and_plain_strings_otherwise(
    item: dict[str, Any],
) -> None:
    conversation = structure_conversation(item)
    for wire, (attribute, enum_class) in ENUM_FIELDS.items():
        value = item.get(wire)
        got = getattr(conversation, attribute)
        if value is None:
            assert got is None
        elif value in {member.value for member in enum_class}:
            assert got is enum_class(value)
        else:
            assert type(got) is str
            assert got == value


def test_an_unknown_message_type_stays_a_string() -> None:
    conversation = structure_conversation(
        {"id": "c1", "lastMessageType": "TYPE_FUTURE_THING", "type": "TYPE_PHONE"}
    )
    assert conversation.last_message_type == "TYPE_FUTURE_THING"
    assert type(conversation.last_message_type) is str
    assert conversation.type is ConversationType.TYPE_PHONE


@PROPERTY
@given(wire_conversations())
def test_unknown_keys_are_kept_in_extra_and_known_keys_never(item: dict[str, Any]) -> None:
    conversation = structure_conversation(item)
    assert dict(conversation.extra) == {k: v for k, v in item.items() if k not in KNOWN}
    assert not set(conversation.extra) & set(KNOWN)


def test_extra_cannot_be_changed_through_the_conversation() -> None:
    conversation = structure_conversation({"id": "c1", "newField": {"a": 1}})
    assert conversation.extra["newField"] == {"a": 1}
    with pytest.raises(TypeError):
        conversation.extra["newField"] = 2  # type: ignore[index]
    empty = structure_conversation({"id": "c2"})
    assert dict(empty.extra) == {}
    with pytest.raises(TypeError):
        empty.extra["x"] = 1  # type: ignore[index]


@PROPERTY
@given(wire_conversations())
def test_datetime_properties_are_aware_utc_and_equal_the_epoch_ms(item: dict[str, Any]) -> None:
    conversation = structure_conversation(item)
    for wire, (ms_attribute, property_name) in MS_FIELDS.items():
        ms = getattr(conversation, ms_attribute)
        moment = getattr(conversation, property_name)
        if ms is None:
            assert moment is None
            continue
        assert moment.tzinfo is not None
        assert moment.utcoffset() == timedelta(0)
        assert moment.timestamp() == pytest.approx(ms / 1000, abs=1e-6)
        assert ms_of(moment) == ms
        if isinstance(item[wire], str):
            assert moment == parse_iso(item[wire])


@PROPERTY
@given(wire_conversations())
def test_the_input_dict_is_not_mutated(item: dict[str, Any]) -> None:
    before = copy.deepcopy(item)
    structure_conversation(item)
    converter.structure(item, Conversation)
    assert item == before
    assert list(item) == list(before)


@PROPERTY
@given(wire_conversations())
def test_results_are_frozen_hashable_real_conversations(item: dict[str, Any]) -> None:
    conversation = structure_conversation(item)
    assert type(conversation) is Conversation
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        conversation.id = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        conversation.contact_id = "other"  # type: ignore[misc]
    assert hash(conversation) == hash(structure_conversation(item))
    assert conversation in {conversation}


@PROPERTY
@given(wire_conversations())
def test_results_equal_conversations_built_through_the_constructor(item: dict[str, Any]) -> None:
    conversation = structure_conversation(item)
    fields = {a.name: getattr(conversation, a.name) for a in attrs.fields(Conversation)}
    fields["extra"] = dict(fields["extra"])
    built = Conversation(**fields)
    assert conversation == built
    assert built == conversation
    assert hash(conversation) == hash(built)
    assert repr(conversation) == repr(Conversation(**{**fields, "extra": conversation.extra}))
    assert attrs.asdict(conversation, recurse=False) == attrs.asdict(built, recurse=False)


@PROPERTY
@given(wire_conversations())
def test_the_converter_uses_the_same_hooks(item: dict[str, Any]) -> None:
    via_converter = converter.structure(item, Conversation)
    assert type(via_converter) is Conversation
    assert via_converter == structure_conversation(item)
    assert converter.unstructure(via_converter) == conversation_to_wire(via_converter)


def test_the_converter_rejects_what_structure_rejects() -> None:
    with pytest.raises(ResponseValidationError, match="id"):
        converter.structure({"id": 5}, Conversation)


def test_converter_is_not_the_global_cattrs_converter() -> None:
    import cattrs

    assert converter is not cattrs.global_converter


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize("wire", sorted(MS_FIELDS))
def test_epoch_ms_fields_accept_ints_floats_and_iso_strings(wire: str) -> None:
    attribute = MS_FIELDS[wire][0]
    moment = datetime(2024, 3, 10, 14, 5, 6, 789_000, tzinfo=timezone.utc)
    ms = ms_of(moment)
    for value in (
        ms,
        float(ms),
        ms + 0.4,
        "2024-03-10T14:05:06.789Z",
        "2024-03-10T14:05:06.789+00:00",
        "2024-03-10T16:05:06.789+02:00",
        "2024-03-10T09:05:06.789-05:00",
    ):
        got = getattr(structure_conversation({"id": "c", wire: value}), attribute)
        assert got == ms, value
        assert type(got) is int


@settings(deadline=None)
@given(iso_strings(datetime(2200, 1, 1)))
@example("2038-11-15T02:55:44.851Z")
@example("2107-01-01T00:00:00.004000+00:00")
def test_iso_strings_give_the_exact_millisecond(text: str) -> None:
    conversation = structure_conversation({"id": "c", "dateAdded": text})
    assert conversation.date_added_ms == ms_of(parse_iso(text))


def test_an_iso_string_after_2038_gives_the_exact_millisecond() -> None:
    text = "2038-11-15T02:55:44.851Z"
    conversation = structure_conversation({"id": "c", "dateAdded": text})
    assert conversation.date_added_ms == ms_of(parse_iso(text))
    assert conversation.date_added == parse_iso(text)


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("item", [None, 5, "c1", ["c1"], [{"id": "c1"}]], ids=repr)
def test_an_item_that_is_not_an_object_is_rejected(item: Any) -> None:
    with pytest.raises(ResponseValidationError, match="object"):
        structure_conversation(item)


@pytest.mark.parametrize(
    "item",
    [{}, {"contactId": "x"}, {"id": None}, {"id": ""}, {"id": 5}, {"id": ["a"]}, {"id": True}],
    ids=repr,
)
def test_an_item_without_a_string_id_is_rejected(item: dict[str, Any]) -> None:
    with pytest.raises(ResponseValidationError, match="id"):
        structure_conversation(item)


def test_the_error_for_a_bad_id_shows_the_item_as_sent() -> None:
    item = {"id": 12345, "contactId": "x"}
    with pytest.raises(ResponseValidationError) as info:
        structure_conversation(item)
    assert info.value.body_excerpt == orjson.dumps(item).decode()
    assert "12345" in str(info.value)


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        ("followers", "u1,u2"),
        ("followers", {"u1": True}),
        ("followers", 3),
        ("followers", ["u1", None]),
        ("tags", "vip"),
        ("sort", 1_700_000_000_000),
        ("dateAdded", "yesterday"),
        ("dateAdded", "2024-01-01T00:00:00"),
        ("dateAdded", True),
        ("dateAdded", [1]),
        ("dateUpdated", math.nan),
        ("lastMessageDate", math.inf),
        ("lastMessageType", 5),
        ("lastMessageType", ["TYPE_SMS"]),
        ("lastMessageDirection", True),
        ("lastOutboundMessageAction", {"a": 1}),
    ],
    ids=repr,
)
def test_a_field_of_a_shape_beyond_repair_is_kept_in_extra_and_the_attribute_is_none(
    wire: str, value: Any
) -> None:
    conversation = structure_conversation({"id": "conv-1", wire: value, "contactId": "k"})
    assert getattr(conversation, KNOWN[wire]) is None
    kept = conversation.extra[wire]
    assert kept == value or (math.isnan(value) and math.isnan(kept))
    assert conversation.contact_id == "k"


# --- pages -----------------------------------------------------------------------------

RATE = RateLimit(limit_daily=200_000, daily_remaining=10, interval_ms=10_000, max=100, remaining=9)


def page(payload: Any, status: int = 200) -> ConversationPage:
    return page_from_payload(
        payload, rate_limit=RATE, request_id="req-1", status=status, body=b"{...}"
    )


@pytest.mark.parametrize("status", [200, 299])
@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "conversations",
        {},
        {"total": 3},
        {"conversations": None, "total": 0},
        {"conversations": {}, "total": 0},
        {"conversations": "[]", "total": 0},
        {"conversations": [], "total": "12"},
        {"conversations": [], "total": -1},
        {"conversations": [], "total": True},
        {"conversations": [], "total": [1]},
        {"conversations": [], "total": {"value": 1}},
        {"conversations": [{"id": "a"}, "b"], "total": 2},
        {"conversations": [{"id": "a"}, {"id": 2}], "total": 2},
    ],
    ids=repr,
)
def test_malformed_payloads_are_rejected_with_the_status(payload: Any, status: int) -> None:
    with pytest.raises(ResponseValidationError) as info:
        page(payload, status)
    assert f"HTTP {status}" in str(info.value)
    assert info.value.status == status


def expected_cursor(item: dict[str, Any]) -> Any:
    """The cursor rule: a one-number sort, else (none at all) the last message date; a
    sort no cursor can carry gives none."""
    sort = item.get("sort")
    if sort:
        usable = len(sort) == 1 and -(2**63) <= sort[0] <= 2**63 - 1
        return sort[0] if usable else None
    return expected_ms(item.get("lastMessageDate"))


@settings(max_examples=25, deadline=None)
@given(st.lists(wire_conversations(), max_size=4), st.integers(min_value=0, max_value=10**6))
def test_a_page_holds_the_conversations_in_order_and_the_next_cursor(
    items: list[dict[str, Any]], total: int
) -> None:
    expected = [structure_conversation(item) for item in items]
    cursor = expected_cursor(items[-1]) if items else None
    result = page({"conversations": copy.deepcopy(items), "total": total})
    assert list(result.conversations) == expected
    assert list(result) == expected
    assert len(result) == len(items)
    assert result.total == total
    assert result.next_cursor == cursor
    assert result.rate_limit == RATE
    assert result.request_id == "req-1"


def test_next_cursor_is_the_sort_value_of_the_last_conversation() -> None:
    payload = {
        "conversations": [
            {"id": "a", "sort": [300], "lastMessageDate": 3},
            {"id": "b", "sort": [200], "lastMessageDate": 2},
        ],
        "total": 10,
    }
    assert page(payload).next_cursor == 200


@pytest.mark.parametrize("sort", [[200, "b"], [200, 201], [None], [2**64]], ids=repr)
def test_next_cursor_is_none_for_a_sort_value_no_cursor_can_carry(sort: Any) -> None:
    payload = {"conversations": [{"id": "b", "sort": sort, "lastMessageDate": 2}], "total": 1}
    assert page(payload).next_cursor is None


@pytest.mark.parametrize("sort", [None, []], ids=repr)
def test_next_cursor_falls_back_to_the_last_message_date(sort: Any) -> None:
    payload = {
        "conversations": [
            {"id": "a", "sort": [300]},
            {"id": "b", "sort": sort, "lastMessageDate": 1_700_000_000_123},
        ],
        "total": 10,
    }
    assert page(payload).next_cursor == 1_700_000_000_123


def test_next_cursor_is_none_when_the_last_conversation_has_neither() -> None:
    assert page({"conversations": [{"id": "a"}], "total": 1}).next_cursor is None


def test_an_empty_page_has_no_cursor() -> None:
    result = page({"conversations": [], "total": 0})
    assert result.next_cursor is None
    assert result.conversations == ()
    assert len(result) == 0
    assert result.total == 0


def test_pages_are_frozen() -> None:
    result = page({"conversations": [{"id": "a"}], "total": 1})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.total = 2  # type: ignore[misc]


def test_the_wire_format_is_described_once_on_the_model_and_read_from_there() -> None:
    described = {
        a.metadata["wire"]: a.name for a in attrs.fields(Conversation) if "wire" in a.metadata
    }
    assert described == KNOWN  # the contract's table, field for field
    assert [f.attribute for f in WIRE_FIELDS] == [
        a.name for a in attrs.fields(Conversation) if a.name not in ("id", "extra")
    ]


def test_a_new_field_described_on_the_model_is_structured_and_unstructured() -> None:
    spec = next(f for f in WIRE_FIELDS if f.wire == "companyName")
    item = {"id": "c1", spec.wire: "Acme"}
    conversation = structure_conversation(item)
    assert getattr(conversation, spec.attribute) == "Acme"
    assert converter.unstructure(conversation) == item


def test_tracebacks_show_the_lines_of_the_generated_structuring_code() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        structure_conversation({"id": 5, "contactId": "k"})
    generated = [entry for entry in caught.traceback if "generated structure>" in str(entry.path)]
    assert generated, "the generated hook is not in the traceback"
    line = linecache.getline(str(generated[0].path), generated[0].lineno + 1)
    assert "'has no string id'" in line


def test_pages_are_structured_through_the_package_converter() -> None:
    seen: list[int] = []
    hook = converter.get_structure_hook(DecodedItems)

    def counting(items: list[Any], cls: Any) -> tuple[Conversation, ...]:
        seen.append(len(items))
        return hook(items, cls)  # type: ignore[no-any-return]

    converter.register_structure_hook(DecodedItems, counting)
    try:
        page = page_from_payload(
            {"conversations": [{"id": "a"}, {"id": "b"}], "total": 2},
            rate_limit=RateLimit(),
            request_id=None,
        )
    finally:
        converter.register_structure_hook(DecodedItems, hook)
    assert seen == [2]
    assert [c.id for c in page] == ["a", "b"]
