"""Query validation, without sockets: what the server accepts and what it answers 422 to."""

from __future__ import annotations

import pytest

from leadway_async.testing import QueryError
from leadway_async.testing.query import Filters, SearchQuery, parse_query


def errors_of(*pairs: tuple[str, str]) -> list[str]:
    with pytest.raises(QueryError) as caught:
        parse_query(pairs)
    return caught.value.messages


def test_defaults() -> None:
    assert parse_query([("locationId", "L")]) == SearchQuery(location_id="L")
    query = parse_query([])
    assert (query.sort_by, query.descending, query.limit, query.cursor) == (
        "last_message_date",
        True,
        20,
        None,
    )


def test_every_filter_is_read() -> None:
    query = parse_query(
        [
            ("contactId", "C"),
            ("assignedTo", "u1, u2,,unassigned"),
            ("followers", "u3"),
            ("mentions", "u4,u5"),
            ("query", "MÜLLER"),
            ("id", "X"),
            ("lastMessageType", "TYPE_SMS"),
            ("lastMessageAction", "manual"),
            ("lastMessageDirection", "inbound"),
            ("status", "starred"),
            ("scoreProfile", "P"),
            ("scoreProfileMin", "1"),
            ("scoreProfileMax", "90.5"),
            ("startDate", "100"),
            ("endDate", "2e3"),
            ("sortBy", "score_profile"),
            ("sortScoreProfile", "P"),
            ("sort", "asc"),
            ("limit", "100"),
            ("startAfterDate", "12.5"),
        ]
    )
    assert query.filters == Filters(
        contact_id="C",
        assigned_to=frozenset({"u1", "u2", "unassigned"}),
        followers=frozenset({"u3"}),
        mentions=frozenset({"u4", "u5"}),
        text="müller",
        conversation_id="X",
        message_type="TYPE_SMS",
        message_action="manual",
        message_direction="inbound",
        status="starred",
        score_profile="P",
        score_min=1,
        score_max=90.5,
        start_date=100,
        end_date=2000.0,
    )
    assert (query.sort_by, query.sort_score_profile) == ("score_profile", "P")
    assert (query.descending, query.limit, query.cursor) == (False, 100, 12.5)


def test_empty_text_filters_are_ignored() -> None:
    assert parse_query([("contactId", ""), ("query", ""), ("assignedTo", " , ")]).filters == (
        Filters()
    )


def test_unknown_parameters_each_get_a_message() -> None:
    assert errors_of(("foo", "1"), ("bar", "")) == [
        "property foo should not exist",
        "property bar should not exist",
    ]


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("sort", "ASC", "asc, desc"),
        ("status", "archived", "all, read, unread, starred, recents"),
        ("lastMessageDirection", "sideways", "inbound, outbound"),
        ("lastMessageAction", "auto", "automated, manual"),
        ("sortBy", "date", "last_manual_message_date, last_message_date, score_profile"),
        ("lastMessageType", "TYPE_HOLOGRAM", "TYPE_CALL, TYPE_SMS, TYPE_RCS"),
    ],
)
def test_enum_values_outside_the_spec_are_refused(name: str, value: str, allowed: str) -> None:
    (message,) = errors_of((name, value))
    assert message.startswith(f"{name} must be one of the following values: {allowed}")


def test_all_42_message_types_are_accepted() -> None:
    (message,) = errors_of(("lastMessageType", "x"))
    types = message.split(": ", 1)[1].split(", ")
    assert len(types) == 42
    for name in types:
        assert parse_query([("lastMessageType", name)]).filters.message_type == name


@pytest.mark.parametrize(
    "name", ["scoreProfileMin", "scoreProfileMax", "startDate", "endDate", "startAfterDate"]
)
@pytest.mark.parametrize("value", ["abc", "", "1,2", "nan", "inf", "1e999", "0x10"])
def test_numbers_must_be_finite_numbers(name: str, value: str) -> None:
    (message,) = errors_of((name, value))
    assert message.startswith(f"{name} must be a number")


@pytest.mark.parametrize(
    ("value", "number"), [("5", 5), ("-3", -3), ("1.5", 1.5), ("1e3", 1000.0), (".5", 0.5)]
)
def test_number_forms(value: str, number: float) -> None:
    assert parse_query([("startAfterDate", value)]).cursor == number
    assert type(parse_query([("startDate", value)]).filters.start_date) is type(number)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "limit must be between 1 and 100"),
        ("101", "limit must be between 1 and 100"),
        ("-5", "limit must be between 1 and 100"),
        ("2.5", "limit must be an integer number"),
        ("ten", "limit must be an integer number"),
    ],
)
def test_limit_outside_1_to_100_is_refused(value: str, message: str) -> None:
    assert errors_of(("limit", value)) == [message]


@pytest.mark.parametrize(("value", "limit"), [("1", 1), ("100", 100), ("50.0", 50)])
def test_limit_inside_1_to_100(value: str, limit: int) -> None:
    assert parse_query([("limit", value)]).limit == limit


def test_a_repeated_cursor_uses_its_first_value_other_repeats_are_refused() -> None:
    assert parse_query([("startAfterDate", "7"), ("startAfterDate", "3")]).cursor == 7
    assert errors_of(("status", "read"), ("status", "unread")) == [
        "status must be a single value, not an array"
    ]


def test_sorting_by_score_profile_needs_the_profile() -> None:
    assert errors_of(("sortBy", "score_profile")) == [
        "sortScoreProfile should not be empty when sortBy is score_profile"
    ]


def test_all_problems_are_reported_together() -> None:
    assert len(errors_of(("foo", "1"), ("limit", "0"), ("sort", "up"), ("endDate", "x"))) == 4
