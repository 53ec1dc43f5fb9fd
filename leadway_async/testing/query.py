"""The search query: parsing and validating it, and the rules for what it selects and how it sorts.

Plain functions over plain values; no HTTP here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .spec import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MESSAGE_ACTIONS,
    MESSAGE_DIRECTIONS,
    MESSAGE_TYPES,
    QUERY_PARAMETERS,
    SORT_BYS,
    SORT_ORDERS,
    STATUSES,
)

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Filters",
    "Number",
    "QueryError",
    "SearchQuery",
    "Test",
    "matcher",
    "parse_query",
    "query_pairs",
    "score_of",
    "sort_value",
]

Number = int | float

RECENT_MS = 7 * 86_400_000
"""`status=recents`: conversations whose last message is this close to the newest one."""

INT64_MAX = 9_223_372_036_854_775_807
"""The largest `startAfterDate`, and the sort value of a conversation lacking its value
(ascending; descending, its negation)."""
INT64_MIN = -9_223_372_036_854_775_808
"""The smallest `startAfterDate`."""

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_ENUMS: dict[str, tuple[str, ...]] = {
    "sort": SORT_ORDERS,
    "lastMessageType": MESSAGE_TYPES,
    "lastMessageAction": MESSAGE_ACTIONS,
    "lastMessageDirection": MESSAGE_DIRECTIONS,
    "status": STATUSES,
    "sortBy": SORT_BYS,
}
_NUMBERS = ("scoreProfileMin", "scoreProfileMax", "startDate", "endDate")
_ID_LISTS = ("assignedTo", "followers", "mentions")
_TEXT_FIELDS = ("fullName", "contactName", "email", "phone", "companyName", "lastMessageBody")
_SORT_FIELDS = {
    "last_message_date": "lastMessageDate",
    "last_manual_message_date": "lastManualMessageDate",
    # The data carries no due dates; these two order by the last update instead.
    "due_at": "dateUpdated",
    "overdue_at": "dateUpdated",
}


class QueryError(ValueError):
    """A query the real server would answer with 422; `messages` are its list message."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class Filters:
    """What a query selects, independent of order and paging (hashable, so a cache key)."""

    contact_id: str | None = None
    assigned_to: frozenset[str] | None = None
    followers: frozenset[str] | None = None
    mentions: frozenset[str] | None = None
    text: str | None = None
    conversation_id: str | None = None
    message_type: str | None = None
    message_action: str | None = None
    message_direction: str | None = None
    status: str = "all"
    score_profile: str | None = None
    score_min: Number | None = None
    score_max: Number | None = None
    start_date: Number | None = None
    end_date: Number | None = None


@dataclass(frozen=True)
class SearchQuery:
    """A validated search query: filters, order, cursor and page size."""

    location_id: str | None = None
    filters: Filters = Filters()
    sort_by: str = "last_message_date"
    sort_score_profile: str | None = None
    descending: bool = True
    cursor: Number | None = None
    limit: int = DEFAULT_LIMIT


def parse_query(pairs: Iterable[tuple[str, str]]) -> SearchQuery:
    """Validate query-string pairs the way the real server does; raise `QueryError` if not."""
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    errors: list[str] = []
    single = _single_values(given, errors)
    for name, allowed in _ENUMS.items():
        if name in single and single[name] not in allowed:
            errors.append(f"{name} must be one of the following values: {', '.join(allowed)}")
    numbers: dict[str, Number] = {}
    for name in _NUMBERS:
        if name in single:
            number = _number(single[name])
            if number is None:
                errors.append(f"{name} must be a number conforming to the specified constraints")
            else:
                numbers[name] = number
    cursor = None
    if "startAfterDate" in given:
        # An array cursor arrives as the parameter repeated; its first element is the value.
        cursor = _number(given["startAfterDate"][0])
        if cursor is None:
            errors.append("startAfterDate must be a number or an array of numbers")
        elif not INT64_MIN <= cursor <= INT64_MAX:
            errors.append(
                f"startAfterDate must be between {INT64_MIN} and {INT64_MAX} (a 64-bit integer)"
            )
            cursor = None
    limit = _limit(single.get("limit"), errors)
    sort_by = single.get("sortBy", "last_message_date")
    sort_profile = single.get("sortScoreProfile") or None
    if sort_by == "score_profile" and sort_profile is None:
        errors.append("sortScoreProfile should not be empty when sortBy is score_profile")
    if errors:
        raise QueryError(errors)
    return SearchQuery(
        location_id=single.get("locationId") or None,
        filters=_filters(single, numbers),
        sort_by=sort_by,
        sort_score_profile=sort_profile,
        descending=single.get("sort", "desc") == "desc",
        cursor=cursor,
        limit=limit,
    )


def _single_values(given: dict[str, list[str]], errors: list[str]) -> dict[str, str]:
    """Each known parameter's value; unknown and repeated ones become errors."""
    single: dict[str, str] = {}
    for name, values in given.items():
        if name not in QUERY_PARAMETERS:
            errors.append(f"property {name} should not exist")
        elif len(values) > 1 and name != "startAfterDate":
            errors.append(f"{name} must be a single value, not an array")
        else:
            single[name] = values[0]
    return single


def _filters(single: dict[str, str], numbers: dict[str, Number]) -> Filters:
    return Filters(
        contact_id=single.get("contactId") or None,
        assigned_to=_id_set(single.get("assignedTo")),
        followers=_id_set(single.get("followers")),
        mentions=_id_set(single.get("mentions")),
        text=single.get("query", "").casefold() or None,
        conversation_id=single.get("id") or None,
        message_type=single.get("lastMessageType"),
        message_action=single.get("lastMessageAction"),
        message_direction=single.get("lastMessageDirection"),
        status=single.get("status", "all"),
        score_profile=single.get("scoreProfile") or None,
        score_min=numbers.get("scoreProfileMin"),
        score_max=numbers.get("scoreProfileMax"),
        start_date=numbers.get("startDate"),
        end_date=numbers.get("endDate"),
    )


def query_pairs(query: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Query-string pairs for a wire query given as a mapping; a list value repeats its name.

    Values may be strings or numbers; None means "not sent".
    """
    return [
        (name, _text(value))
        for name, given in (query or {}).items()
        if given is not None
        for value in (given if isinstance(given, list | tuple) else [given])
    ]


def sort_value(conversation: dict[str, Any], sort_by: str, score_profile: str | None) -> Any:
    """The number `conversation` sorts by, or None when it lacks one (it then sorts last)."""
    if sort_by == "score_profile":
        value = score_of(conversation, score_profile)
    else:
        value = conversation.get(_SORT_FIELDS[sort_by])
    return value if _is_number(value) else None


def score_of(conversation: dict[str, Any], profile: str | None) -> Any:
    """The `score` of the first `scoring` entry for `profile`, or None."""
    scoring = conversation.get("scoring")
    if not isinstance(scoring, list):
        return None
    for entry in scoring:
        if isinstance(entry, dict) and entry.get("profileId") == profile:
            return entry.get("score")
    return None


Test = Callable[[dict[str, Any]], bool]


def matcher(filters: Filters, newest: Number | None) -> Test | None:
    """A test of whether a conversation passes `filters` (None: every one does).

    `newest` is the latest lastMessageDate, which `status=recents` is measured from.
    """
    tests = _tests(filters, newest)
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda c: all(test(c) for test in tests)


def _tests(f: Filters, newest: Number | None) -> list[Test]:
    """One predicate per filter that is set."""
    tests: list[Test] = []
    for field, wanted in (
        ("contactId", f.contact_id),
        ("id", f.conversation_id),
        ("lastMessageType", f.message_type),
        ("lastOutboundMessageAction", f.message_action),
        ("lastMessageDirection", f.message_direction),
    ):
        if wanted is not None:
            tests.append(_equal_test(field, wanted))
    if f.assigned_to is not None:
        tests.append(_assigned_test(f.assigned_to))
    for field, ids in (("followers", f.followers), ("mentions", f.mentions)):
        if ids is not None:
            tests.append(_overlap_test(field, ids))
    if f.text is not None:
        tests.append(_text_test(f.text))
    if f.status != "all":
        tests.append(_status_test(f.status, newest))
    if f.score_profile is not None:
        tests.append(_score_test(f.score_profile, f.score_min, f.score_max))
    if f.start_date is not None or f.end_date is not None:
        tests.append(_range_test("dateAdded", f.start_date, f.end_date))
    return tests


def _equal_test(field: str, wanted: str) -> Test:
    return lambda c: c.get(field) == wanted


def _overlap_test(field: str, ids: frozenset[str]) -> Test:
    def test(c: dict[str, Any]) -> bool:
        value = c.get(field)
        return isinstance(value, list) and not ids.isdisjoint(
            v for v in value if isinstance(v, str)
        )

    return test


def _text_test(text: str) -> Test:
    def test(c: dict[str, Any]) -> bool:
        fields = (c.get(name) for name in _TEXT_FIELDS)
        return text in "\x00".join(v for v in fields if isinstance(v, str)).casefold()

    return test


def _assigned_test(ids: frozenset[str]) -> Test:
    unassigned = "unassigned" in ids

    def test(c: dict[str, Any]) -> bool:
        user = c.get("assignedTo")
        return user in ids or (unassigned and not user)

    return test


def _status_test(status: str, newest: Number | None) -> Test:
    if status == "read":
        return lambda c: not c.get("unreadCount")
    if status == "unread":
        return lambda c: _is_number(c.get("unreadCount")) and c["unreadCount"] > 0
    if status == "starred":
        return lambda c: c.get("starred") is True
    since = (newest if newest is not None else 0) - RECENT_MS
    return _range_test("lastMessageDate", since, None)


def _score_test(profile: str, low: Number | None, high: Number | None) -> Test:
    return lambda c: _within(score_of(c, profile), low, high)


def _range_test(field: str, low: Number | None, high: Number | None) -> Test:
    return lambda c: _within(c.get(field), low, high)


def _within(value: Any, low: Number | None, high: Number | None) -> bool:
    return _is_number(value) and (low is None or value >= low) and (high is None or value <= high)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(text: str) -> Number | None:
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else None
    return None


def _limit(text: str | None, errors: list[str]) -> int:
    if text is None:
        return DEFAULT_LIMIT
    number = _number(text)
    if number is None or number != int(number):
        errors.append("limit must be an integer number")
        return DEFAULT_LIMIT
    if not 1 <= number <= MAX_LIMIT:
        errors.append(f"limit must be between 1 and {MAX_LIMIT}")
        return DEFAULT_LIMIT
    return int(number)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _id_set(text: str | None) -> frozenset[str] | None:
    ids = frozenset(part.strip() for part in (text or "").split(",")) - {""}
    return ids or None
