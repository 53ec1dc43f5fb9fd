"""`build_search_query`: keyword filters validated and turned into the wire query."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadway_async import ParameterError
from leadway_async.enums import (
    ConversationStatus,
    MessageAction,
    MessageDirection,
    MessageType,
    SortBy,
    SortOrder,
)
from leadway_async.params import BY_KEYWORD, PARAMETERS, SearchFilters, build_search_query

SPEC = Path(__file__).resolve().parents[1] / "contract/reference/apps/conversations.json"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)
DEFAULT_LOCATION = "default-location"

# The contract's table: snake_case keyword -> wire name.
WIRE = {
    "location_id": "locationId",
    "contact_id": "contactId",
    "assigned_to": "assignedTo",
    "followers": "followers",
    "mentions": "mentions",
    "query": "query",
    "sort": "sort",
    "start_after_date": "startAfterDate",
    "conversation_id": "id",
    "limit": "limit",
    "last_message_type": "lastMessageType",
    "last_message_action": "lastMessageAction",
    "last_message_direction": "lastMessageDirection",
    "status": "status",
    "sort_by": "sortBy",
    "sort_score_profile": "sortScoreProfile",
    "score_profile": "scoreProfile",
    "score_profile_min": "scoreProfileMin",
    "score_profile_max": "scoreProfileMax",
    "start_date": "startDate",
    "end_date": "endDate",
}

TEXT = (
    "location_id",
    "contact_id",
    "query",
    "conversation_id",
    "sort_score_profile",
    "score_profile",
)
IDS = ("assigned_to", "followers", "mentions")
ENUMS: dict[str, type[Enum]] = {
    "sort": SortOrder,
    "last_message_type": MessageType,
    "last_message_action": MessageAction,
    "last_message_direction": MessageDirection,
    "status": ConversationStatus,
    "sort_by": SortBy,
}
NUMBERS = ("start_after_date", "score_profile_min", "score_profile_max")
EPOCHS = ("start_date", "end_date")

# One valid value per keyword.
SAMPLE: dict[str, Any] = {
    **{name: f"{name}-value" for name in TEXT},
    **{name: ["user-1", "user-2"] for name in IDS},
    **{name: next(iter(enum_class)).value for name, enum_class in ENUMS.items()},
    **dict.fromkeys(NUMBERS, 12),
    "limit": 50,
    "start_date": 1_640_995_200_000,
    "end_date": 1_672_531_199_000,
}


def build(**filters: Any) -> dict[str, str]:
    return build_search_query(filters, default_location_id=DEFAULT_LOCATION)


def epoch_ms(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_MS


def test_the_keyword_table_covers_every_query_parameter_of_the_spec() -> None:
    spec = json.loads(SPEC.read_text())
    parameters = spec["paths"]["/conversations/search"]["get"]["parameters"]
    spec_names = {p["name"] for p in parameters if p["in"] == "query"}
    assert set(WIRE.values()) == spec_names
    assert set(SAMPLE) == set(WIRE)


def test_search_filters_keys_are_exactly_the_accepted_keywords() -> None:
    keys = SearchFilters.__optional_keys__ | SearchFilters.__required_keys__
    assert keys == set(WIRE)
    # Every key of the TypedDict is accepted...
    assert set(build(**{key: SAMPLE[key] for key in keys})) == set(WIRE.values())
    # ...and the keyword error lists exactly these as the allowed ones.
    with pytest.raises(TypeError) as info:
        build(not_a_filter=1)
    allowed = str(info.value).split("allowed:", 1)[1]
    assert {name.strip() for name in allowed.split(",")} == keys


@pytest.mark.parametrize("keyword", sorted(WIRE))
def test_each_keyword_maps_to_its_wire_name_and_only_set_ones_appear(keyword: str) -> None:
    query = build(**{keyword: SAMPLE[keyword]})
    assert set(query) == {"locationId", WIRE[keyword]}
    assert all(type(value) is str for value in query.values())


def test_none_counts_as_unset() -> None:
    unset = {name: None for name in WIRE if name != "location_id"}
    assert build(**unset) == {"locationId": DEFAULT_LOCATION}
    with_contact = {**unset, "contact_id": "c1"}
    assert build(**with_contact) == {"locationId": DEFAULT_LOCATION, "contactId": "c1"}


def test_nothing_set_gives_only_the_default_location() -> None:
    assert build() == {"locationId": DEFAULT_LOCATION}


def test_an_explicit_location_wins_over_the_default() -> None:
    assert build(location_id="explicit") == {"locationId": "explicit"}
    # None is "not set", so the default applies.
    assert build(location_id=None) == {"locationId": DEFAULT_LOCATION}


@pytest.mark.parametrize("filters", [{}, {"location_id": None}, {"contact_id": "c1"}])
def test_a_missing_location_is_a_value_error_naming_location_id(filters: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="location_id"):
        build_search_query(filters)
    with pytest.raises(ValueError, match="location_id"):
        build_search_query(filters, default_location_id=None)


@pytest.mark.parametrize("location", ["", "   "])
def test_an_empty_location_is_rejected(location: str) -> None:
    with pytest.raises(ValueError, match="location_id"):
        build(location_id=location)
    with pytest.raises(ValueError, match="location_id"):
        build_search_query({}, default_location_id=location)


@pytest.mark.parametrize("keyword", IDS)
def test_id_lists_are_comma_joined(keyword: str) -> None:
    wire = WIRE[keyword]
    assert build(**{keyword: ["a", "b", "c"]})[wire] == "a,b,c"
    assert build(**{keyword: ("x", "y")})[wire] == "x,y"
    assert build(**{keyword: ["only"]})[wire] == "only"


@pytest.mark.parametrize("keyword", IDS)
def test_a_single_string_id_is_accepted(keyword: str) -> None:
    assert build(**{keyword: "user-9"})[WIRE[keyword]] == "user-9"
    assert build(**{keyword: "unassigned"})[WIRE[keyword]] == "unassigned"


@pytest.mark.parametrize("keyword", IDS)
@pytest.mark.parametrize(
    "value",
    [[], (), "", "  ", ["a", ""], ["", "b"], ["a", " "], ["a,b", "c"], ["a", "b,c"]],
    ids=repr,
)
def test_bad_id_lists_are_rejected(keyword: str, value: Any) -> None:
    with pytest.raises(ValueError, match=keyword):
        build(**{keyword: value})


@pytest.mark.parametrize("keyword", IDS)
@pytest.mark.parametrize(
    "value",
    [5, ["a", 5], [None], b"abc", {"a", "b"}],
    ids=lambda value: f"set{sorted(value)}" if isinstance(value, set) else repr(value),
)
def test_ids_of_the_wrong_type_are_rejected(keyword: str, value: Any) -> None:
    with pytest.raises(TypeError, match=keyword):
        build(**{keyword: value})


@pytest.mark.parametrize("keyword", sorted(ENUMS))
def test_enum_parameters_accept_wire_strings_and_members_alike(keyword: str) -> None:
    for member in ENUMS[keyword]:
        from_member = build(**{keyword: member})
        from_string = build(**{keyword: member.value})
        assert from_member == from_string
        assert from_member[WIRE[keyword]] == member.value
        assert type(from_member[WIRE[keyword]]) is str


@pytest.mark.parametrize("keyword", sorted(ENUMS))
@pytest.mark.parametrize("value", ["TYPE_FUTURE_THING", "ASC", "", "Unread", 3])
def test_unknown_enum_values_are_rejected_listing_the_allowed_ones(
    keyword: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=keyword) as info:
        build(**{keyword: value})
    for member in ENUMS[keyword]:
        assert member.value in str(info.value)


def test_a_member_of_another_enum_is_rejected() -> None:
    with pytest.raises(ValueError, match="status"):
        build(status=SortOrder.ASC)


@pytest.mark.parametrize("limit", [1, 2, 20, 99, 100])
def test_limits_from_1_to_100_are_accepted(limit: int) -> None:
    assert int(build(limit=limit)["limit"]) == limit


@pytest.mark.parametrize("limit", [0, -1, 101, 1000, True, False, 1.5, 20.0, "5", [5]], ids=repr)
def test_other_limits_are_rejected_naming_limit(limit: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="limit"):
        build(limit=limit)


@pytest.mark.parametrize("keyword", EPOCHS)
@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc),
        datetime(2024, 3, 1, 18, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2024, 2, 29, 23, 59, 59, 999_000, tzinfo=timezone(timedelta(hours=-7))),
        datetime(2024, 7, 1, 9, 15, 0, 123_000, tzinfo=ZoneInfo("America/New_York")),
        datetime(2023, 12, 31, 23, 0, tzinfo=ZoneInfo("Pacific/Kiritimati")),
    ],
    ids=str,
)
def test_aware_datetimes_become_epoch_milliseconds(keyword: str, moment: datetime) -> None:
    value = build(**{keyword: moment})[WIRE[keyword]]
    assert int(value) == epoch_ms(moment)
    # The same instant in UTC gives the same wire value.
    assert build(**{keyword: moment.astimezone(timezone.utc)})[WIRE[keyword]] == value


def test_the_same_instant_in_different_timezones_gives_the_same_value() -> None:
    utc = datetime(2024, 1, 1, tzinfo=timezone.utc)
    tokyo = datetime(2024, 1, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert build(start_date=utc) == build(start_date=tokyo)
    assert build(start_date=utc)["startDate"] == "1704067200000"


@pytest.mark.parametrize("keyword", EPOCHS)
@pytest.mark.parametrize("ms", [0, 1, 1_640_995_200_000])
def test_integer_epoch_milliseconds_pass_through(keyword: str, ms: int) -> None:
    assert build(**{keyword: ms})[WIRE[keyword]] == str(ms)


@pytest.mark.parametrize("keyword", EPOCHS)
def test_a_naive_datetime_is_a_value_error_naming_the_parameter(keyword: str) -> None:
    with pytest.raises(ValueError, match=keyword):
        build(**{keyword: datetime(2024, 1, 1, 12)})


@pytest.mark.parametrize("keyword", EPOCHS)
@pytest.mark.parametrize("value", [-1, 1.5, True, "1640995200000", "2024-01-01"], ids=repr)
def test_other_epoch_values_are_rejected_naming_the_parameter(keyword: str, value: Any) -> None:
    with pytest.raises((TypeError, ValueError), match=keyword):
        build(**{keyword: value})


def test_start_after_end_is_rejected() -> None:
    with pytest.raises(ValueError, match="start_date"):
        build(start_date=2_000, end_date=1_000)
    with pytest.raises(ValueError, match="start_date"):
        build(
            start_date=datetime(2024, 1, 2, tzinfo=timezone.utc),
            end_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
        )


def test_start_and_end_are_compared_as_instants_not_wall_clocks() -> None:
    # 12:00 at +05:00 is 07:00 UTC: before 08:00 UTC although its wall clock is later.
    start = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=5)))
    end = datetime(2024, 1, 1, 8, tzinfo=timezone.utc)
    query = build(start_date=start, end_date=end)
    assert int(query["startDate"]) < int(query["endDate"])
    # And the other way round: an earlier wall clock that is a later instant.
    with pytest.raises(ValueError, match="start_date"):
        build(start_date=end, end_date=start)
    # Mixed: a datetime against an int.
    with pytest.raises(ValueError, match="start_date"):
        build(start_date=end, end_date=epoch_ms(end) - 1)


def test_start_equal_to_end_is_accepted() -> None:
    moment = datetime(2024, 5, 5, tzinfo=timezone.utc)
    query = build(start_date=moment, end_date=epoch_ms(moment))
    assert query["startDate"] == query["endDate"]


def test_score_min_above_max_is_rejected() -> None:
    with pytest.raises(ValueError, match="score_profile_min"):
        build(score_profile_min=5, score_profile_max=4)
    with pytest.raises(ValueError, match="score_profile_min"):
        build(score_profile_min=4.5, score_profile_max=4)
    query = build(score_profile_min=4, score_profile_max=4.5)
    assert float(query["scoreProfileMin"]) <= float(query["scoreProfileMax"])


@pytest.mark.parametrize("keyword", NUMBERS)
@pytest.mark.parametrize("value", [0, 7, -3, 1_700_000_000_123, 0.5, -2.25, 1e-7, 1e16], ids=repr)
def test_numbers_accept_ints_and_floats(keyword: str, value: float) -> None:
    text = build(**{keyword: value})[WIRE[keyword]]
    if isinstance(value, int):
        assert int(text) == value
    else:
        assert float(text) == value


@pytest.mark.parametrize("keyword", NUMBERS)
@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, True, False, "5", "1.5", [1], b"1"],
    ids=repr,
)
def test_numbers_reject_non_finite_bool_and_text(keyword: str, value: Any) -> None:
    with pytest.raises((TypeError, ValueError), match=keyword):
        build(**{keyword: value})


@pytest.mark.parametrize("keyword", TEXT)
@pytest.mark.parametrize("value", ["", "   ", 5, ["a"], b"abc"], ids=repr)
def test_text_parameters_reject_empty_and_non_strings(keyword: str, value: Any) -> None:
    with pytest.raises((TypeError, ValueError), match=keyword):
        build(**{keyword: value})


@pytest.mark.parametrize("name", ["locationID", "locationId", "page", "cursor", "start_after"])
def test_an_unknown_keyword_is_a_type_error_naming_it(name: str) -> None:
    with pytest.raises(TypeError, match=name):
        build(**{name: "x"})
    # Even when its value is None.
    with pytest.raises(TypeError, match=name):
        build(**{name: None})


@settings(deadline=None)
@given(
    st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True).filter(lambda s: s not in WIRE)
)
def test_any_unknown_keyword_is_a_type_error_naming_it(name: str) -> None:
    with pytest.raises(TypeError) as info:
        build(**{name: "x"})
    assert name in str(info.value)


# --- Hypothesis: valid filters ---------------------------------------------------------

fixed_offsets = st.builds(
    timezone,
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
        lambda minutes: timedelta(minutes=minutes)
    ),
)
# Milliseconds-precise aware datetimes in assorted timezones.
aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=fixed_offsets,
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
epoch_values = st.one_of(st.integers(min_value=0, max_value=2**53), aware_datetimes)
ids = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() and "," not in s)
texts = st.text(min_size=1, max_size=20).filter(str.strip)
finite_numbers = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
)


def enum_values(enum_class: type[Enum]) -> st.SearchStrategy[Any]:
    return st.sampled_from(list(enum_class)).flatmap(
        lambda member: st.sampled_from([member, member.value])
    )


VALID: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(TEXT, texts),
    **dict.fromkeys(IDS, st.one_of(ids, st.lists(ids, min_size=1, max_size=5))),
    **{name: enum_values(enum_class) for name, enum_class in ENUMS.items()},
    **dict.fromkeys(NUMBERS, finite_numbers),
    "limit": st.integers(min_value=1, max_value=100),
    **dict.fromkeys(EPOCHS, epoch_values),
}


def as_ms(value: int | datetime) -> int:
    return epoch_ms(value) if isinstance(value, datetime) else value


RANGE_SCORE = ("score_profile_min", "score_profile_max", float)


@st.composite
def valid_filters(draw: st.DrawFn) -> dict[str, Any]:
    filters = draw(st.fixed_dictionaries({}, optional=VALID))
    for low, high, key in (("start_date", "end_date", as_ms), RANGE_SCORE):
        if low in filters and high in filters and key(filters[low]) > key(filters[high]):
            filters[low], filters[high] = filters[high], filters[low]
    return filters


def parse_back(name: str, text: str, original: Any) -> Any:
    """The wire text read back into the form of the original value."""
    if name in IDS:
        return text if isinstance(original, str) else text.split(",")
    if name in ENUMS:
        return ENUMS[name](text)
    if name in NUMBERS:
        return int(text) if isinstance(original, int) else float(text)
    if name == "limit":
        return int(text)
    if name in EPOCHS:
        return int(text)
    return text


def expected(name: str, original: Any) -> Any:
    if name in IDS:
        return original if isinstance(original, str) else list(original)
    if name in ENUMS:
        return ENUMS[name](original)
    if name in EPOCHS:
        return as_ms(original)
    return original


@settings(deadline=None)
@given(valid_filters(), st.booleans())
def test_valid_filters_round_trip_through_the_query(filters: dict[str, Any], default: bool) -> None:
    location = DEFAULT_LOCATION if default else None
    if location is None and "location_id" not in filters:
        filters["location_id"] = "loc"
    query = build_search_query(filters, default_location_id=location)
    assert set(query) == {WIRE[name] for name in filters} | {"locationId"}
    assert all(type(value) is str for value in query.values())
    if "location_id" not in filters:
        assert query["locationId"] == DEFAULT_LOCATION
    for name, original in filters.items():
        assert parse_back(name, query[WIRE[name]], original) == expected(name, original), name


@settings(deadline=None)
@given(valid_filters())
def test_unset_filters_do_not_change_the_query(filters: dict[str, Any]) -> None:
    with_nones = dict.fromkeys(WIRE) | filters
    assert build(**with_nones) == build(**filters)


# --- Hypothesis: invalid values --------------------------------------------------------

not_text = st.one_of(st.integers(), st.floats(), st.booleans(), st.lists(st.text(), max_size=2))
blank = st.text(alphabet=" \t\n", max_size=4)
bad_ids = st.one_of(
    blank,
    st.just([]),
    st.lists(ids, max_size=3).flatmap(
        lambda good: st.lists(blank, min_size=1, max_size=2).map(lambda bad: good + bad)
    ),
    st.tuples(ids, ids, ids).map(lambda t: [t[0], f"{t[1]},{t[2]}"]),
    st.integers(),
    st.lists(st.integers(), min_size=1, max_size=3),
)


def bad_enum(enum_class: type[Enum]) -> st.SearchStrategy[Any]:
    allowed = {member.value for member in enum_class}
    return st.one_of(st.text(max_size=30).filter(lambda s: s not in allowed), st.integers())


bad_numbers = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, True, False]),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
)
bad_limits = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=101),
    st.booleans(),
    st.floats(),
    st.text(max_size=5),
)
bad_epochs = st.one_of(
    st.integers(max_value=-1),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)),  # naive
    st.floats(),
    st.booleans(),
    st.text(max_size=15),
)

INVALID: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(TEXT, st.one_of(not_text, blank)),
    **dict.fromkeys(IDS, bad_ids),
    **{name: bad_enum(enum_class) for name, enum_class in ENUMS.items()},
    **dict.fromkeys(NUMBERS, bad_numbers),
    "limit": bad_limits,
    **dict.fromkeys(EPOCHS, bad_epochs),
}


@settings(deadline=None)
@given(st.sampled_from(sorted(INVALID)).flatmap(lambda n: st.tuples(st.just(n), INVALID[n])))
def test_an_invalid_value_is_rejected_naming_its_parameter(case: tuple[str, Any]) -> None:
    name, value = case
    with pytest.raises((TypeError, ValueError)) as info:
        build(**{name: value})
    assert name in str(info.value)


@settings(deadline=None)
@given(
    valid_filters(),
    st.sampled_from(sorted(INVALID)).flatmap(lambda n: st.tuples(st.just(n), INVALID[n])),
)
def test_one_invalid_value_among_valid_ones_is_still_named(
    filters: dict[str, Any], case: tuple[str, Any]
) -> None:
    name, value = case
    with pytest.raises((TypeError, ValueError)) as info:
        build(**{**filters, name: value})
    assert name in str(info.value)


def test_each_parameter_is_one_row_that_the_typed_filters_and_the_query_follow() -> None:
    assert [row.keyword for row in PARAMETERS] == list(SearchFilters.__annotations__)
    assert {row.keyword: row.wire for row in PARAMETERS} == WIRE
    for row in PARAMETERS:
        assert build(**{row.keyword: SAMPLE[row.keyword]})[row.wire]
        assert row.option == "--" + row.keyword.replace("_", "-")
        if row.keyword in ENUMS:
            assert row.choices == tuple(str(m.value) for m in ENUMS[row.keyword])
        else:
            assert row.choices is None


@pytest.mark.parametrize(
    ("keyword", "text", "value"),
    [
        ("assigned_to", " u1, ,u2 ", ["u1", "u2"]),
        ("start_after_date", "1700000000000", 1_700_000_000_000),
        ("score_profile_min", "2.5", 2.5),
        ("start_date", "2025-01-02", datetime(2025, 1, 2, tzinfo=timezone.utc)),
        (
            "end_date",
            "2025-01-02T03:04:05+02:00",
            datetime(2025, 1, 2, 1, 4, 5, tzinfo=timezone.utc),
        ),
        ("limit", "7", 7),
        ("query", "anything at all", "anything at all"),
    ],
)
def test_rows_read_their_command_line_text(keyword: str, text: str, value: object) -> None:
    assert BY_KEYWORD[keyword].read(text) == value


@pytest.mark.parametrize(
    ("keyword", "text", "message"),
    [
        ("start_after_date", "soon", "not a number"),
        ("start_date", "yesterday", "not an ISO 8601"),
        ("limit", "ten", "not a whole number"),
    ],
)
def test_rows_say_plainly_what_text_they_cannot_read(keyword: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BY_KEYWORD[keyword].read(text)


def test_refused_values_are_parameter_errors_and_still_value_errors() -> None:
    with pytest.raises(ParameterError, match="limit") as caught:
        build(limit=101)
    assert isinstance(caught.value, ValueError)


class _NoOffset(tzinfo):
    """A timezone that says nothing of its offset: as naive as no timezone at all."""

    def utcoffset(self, moment: datetime | None) -> timedelta | None:
        return None


@pytest.mark.parametrize("keyword", EPOCHS)
def test_a_datetime_whose_timezone_has_no_offset_is_refused_as_naive(keyword: str) -> None:
    with pytest.raises(ParameterError, match=f"{keyword} must be a timezone-aware datetime"):
        build(**{keyword: datetime(2024, 1, 1, tzinfo=_NoOffset())})


@pytest.mark.parametrize("keyword", EPOCHS)
def test_the_epoch_itself_is_a_date_and_a_moment_before_it_is_refused(keyword: str) -> None:
    assert build(**{keyword: EPOCH})[WIRE[keyword]] == "0"
    before = EPOCH - ONE_MS
    with pytest.raises(ParameterError) as caught:
        build(**{keyword: before})
    assert str(caught.value) == f"{keyword} must not be before 1970-01-01, got {before.isoformat()}"


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("start_date", "2024-01-01", "start_date must be an aware datetime or epoch milliseconds "
                                     "(int), not str"),
        ("followers", 5, "followers must be an id or a sequence of ids, not int"),
        ("score_profile_min", "5", "score_profile_min must be a number, not str"),
    ],
)  # fmt: skip
def test_a_value_of_the_wrong_type_names_the_type_it_was(
    keyword: str, value: object, message: str
) -> None:
    with pytest.raises(TypeError) as caught:
        build(**{keyword: value})
    assert str(caught.value) == message


@pytest.mark.parametrize("keyword", IDS)
def test_one_string_of_comma_separated_ids_goes_as_it_is(keyword: str) -> None:
    assert build(**{keyword: "user-1,user-2"})[WIRE[keyword]] == "user-1,user-2"


def test_an_iso_date_in_utc_written_with_z_is_read() -> None:
    moment = BY_KEYWORD["start_date"].read("2025-01-02T03:04:05Z")
    assert moment == datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
