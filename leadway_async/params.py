"""The search parameters: one row each, from which validation, the wire query and the
command line's options all derive (pure functions, no I/O).

Every parameter the spec names is a snake_case keyword here. Values are checked before
anything is sent, and only the parameters the caller set are put on the wire.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from enum import Enum
from types import MappingProxyType
from typing import Any, TypeAlias, TypedDict

from attrs import frozen

from .cursor import MAX_LIMIT, wire_number
from .enums import (
    ConversationStatus,
    MessageAction,
    MessageDirection,
    MessageType,
    SortBy,
    SortOrder,
)
from .errors import ParameterError
from .models import EPOCH, datetime_to_ms

__all__ = [
    "MAX_LIMIT",
    "PARAMETERS",
    "SearchFilters",
    "SearchParameter",
    "build_search_query",
    "check_filter_names",
]

Number: TypeAlias = "int | float"
IdList: TypeAlias = "str | Sequence[str]"
EpochMs: TypeAlias = "int | datetime"


class SearchFilters(TypedDict, total=False):
    """The keyword filters `search()` and `paginate()` accept (all optional)."""

    location_id: str
    contact_id: str
    assigned_to: IdList
    followers: IdList
    mentions: IdList
    query: str
    sort: SortOrder | str
    start_after_date: Number
    conversation_id: str
    limit: int
    last_message_type: MessageType | str
    last_message_action: MessageAction | str
    last_message_direction: MessageDirection | str
    status: ConversationStatus | str
    sort_by: SortBy | str
    sort_score_profile: str
    score_profile: str
    score_profile_min: Number
    score_profile_max: Number
    start_date: EpochMs
    end_date: EpochMs


Normaliser = Callable[[str, Any], str]
"""Checks a keyword's value and returns its wire text; raises TypeError or ValueError."""

TextReader = Callable[[str], Any]
"""Reads a value from command-line text; raises ValueError with a plain message."""


def _sendable(name: str, value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ParameterError(
            f"{name} contains {value[exc.start]!r}, a lone surrogate that cannot be sent as "
            f"UTF-8 (at position {exc.start})"
        ) from None
    return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ParameterError(f"{name} must not be empty")
    return _sendable(name, value)


def _id_list(name: str, value: Any) -> str:
    ids = [value] if isinstance(value, str) else value
    if not isinstance(ids, Sequence) or isinstance(ids, (bytes, bytearray)):
        raise TypeError(f"{name} must be an id or a sequence of ids, not {type(value).__name__}")
    if not ids:
        raise ParameterError(f"{name} must name at least one id")
    for item in ids:
        _text(name, item)
        if len(ids) > 1 and "," in item:
            raise ParameterError(f"{name}: an id cannot contain a comma, got {item!r}")
    return ",".join(ids)


def _choice(enum_class: type[Enum]) -> Normaliser:
    allowed = [str(member.value) for member in enum_class]

    def normalise(name: str, value: Any) -> str:
        text = value.value if isinstance(value, enum_class) else value
        if text not in allowed:
            raise ParameterError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        return str(text)

    return normalise


def _number(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    return wire_number(value)


def _limit(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if not 1 <= value <= MAX_LIMIT:
        raise ParameterError(f"{name} must be between 1 and {MAX_LIMIT}, got {value}")
    return str(value)


def _epoch_ms(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ParameterError(
                f"{name} must be a timezone-aware datetime (a naive one is ambiguous), "
                f"got {value.isoformat()}"
            )
        if value < EPOCH:
            raise ParameterError(f"{name} must not be before 1970-01-01, got {value.isoformat()}")
        return str(datetime_to_ms(value))
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an aware datetime or epoch milliseconds (int), "
            f"not {type(value).__name__}"
        )
    if value < 0:
        raise ParameterError(f"{name} must not be negative, got {value}")
    return str(value)


def read_ids(text: str) -> list[str]:
    """Comma-separated ids, blanks dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def read_number(text: str) -> int | float:
    """A whole or decimal number."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"not a number: {text!r}") from None


def read_datetime(text: str) -> datetime:
    """An ISO 8601 date or time; UTC when it names no offset."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def read_limit(text: str) -> int:
    """A whole number (the range is checked with the other parameters)."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"not a whole number: {text!r}") from None


@frozen
class SearchParameter:
    """One query parameter of the search endpoint, described once.

    `keyword` is the Python keyword, `wire` the query parameter's name; `normalise`
    checks a keyword value and gives its wire text; `read` takes it from command-line
    text, `choices` are its allowed values where it has a closed set, `help` says what
    it selects.
    """

    keyword: str
    wire: str
    normalise: Normaliser
    read: TextReader
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def option(self) -> str:
        """The command-line option: `--contact-id` for `contact_id`."""
        return "--" + self.keyword.replace("_", "-")


def _enum_row(keyword: str, wire: str, enum_class: type[Enum], help: str) -> SearchParameter:
    choices = tuple(str(member.value) for member in enum_class)
    return SearchParameter(keyword, wire, _choice(enum_class), str, help, choices)


_ROW = SearchParameter
PARAMETERS: tuple[SearchParameter, ...] = (
    _ROW("location_id", "locationId", _text, str, "the sub-account to search"),
    _ROW("contact_id", "contactId", _text, str, "conversations of this contact"),
    _ROW("assigned_to", "assignedTo", _id_list, read_ids,
         "comma-separated user ids, or 'unassigned'"),
    _ROW("followers", "followers", _id_list, read_ids, "comma-separated user ids"),
    _ROW("mentions", "mentions", _id_list, read_ids, "comma-separated user ids"),
    _ROW("query", "query", _text, str, "free text"),
    _enum_row("sort", "sort", SortOrder, "order of the walk"),
    _ROW("start_after_date", "startAfterDate", _number, read_number,
         "cursor: the sort value to start after"),
    _ROW("conversation_id", "id", _text, str, "one conversation id (the API's 'id')"),
    _ROW("limit", "limit", _limit, read_limit, f"page size (1-{MAX_LIMIT})"),
    _enum_row("last_message_type", "lastMessageType", MessageType, "channel of the last message"),
    _enum_row("last_message_action", "lastMessageAction", MessageAction,
              "who sent the last outbound message"),
    _enum_row("last_message_direction", "lastMessageDirection", MessageDirection,
              "inbound or outbound"),
    _enum_row("status", "status", ConversationStatus, "read state"),
    _enum_row("sort_by", "sortBy", SortBy, "field to order by"),
    _ROW("sort_score_profile", "sortScoreProfile", _text, str, "score profile to sort by"),
    _ROW("score_profile", "scoreProfile", _text, str, "score profile to filter on"),
    _ROW("score_profile_min", "scoreProfileMin", _number, read_number, "lowest score"),
    _ROW("score_profile_max", "scoreProfileMax", _number, read_number, "highest score"),
    _ROW("start_date", "startDate", _epoch_ms, read_datetime,
         "added on or after (ISO 8601; UTC if no offset)"),
    _ROW("end_date", "endDate", _epoch_ms, read_datetime,
         "added on or before (ISO 8601; UTC if no offset)"),
)  # fmt: skip
"""Every query parameter of the search endpoint, in the spec's order."""

BY_KEYWORD: Mapping[str, SearchParameter] = MappingProxyType({p.keyword: p for p in PARAMETERS})

# Pairs whose first value must not exceed the second.
_RANGES = (("start_date", "end_date"), ("score_profile_min", "score_profile_max"))


def check_filter_names(filters: Mapping[str, Any], *, allowed_extra: Sequence[str] = ()) -> None:
    """Raise `TypeError` naming any keyword that is not a search filter."""
    unknown = [name for name in filters if name not in BY_KEYWORD and name not in allowed_extra]
    if unknown:
        raise TypeError(
            f"unknown search parameter(s): {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(BY_KEYWORD)}"
        )


def build_search_query(
    filters: Mapping[str, Any], *, default_location_id: str | None = None
) -> dict[str, str]:
    """Validate keyword filters and return the wire query, only for parameters set.

    `None` values count as not set. Raises `TypeError` for an unknown keyword or a value
    of the wrong type and `ValueError` for a value outside what the API allows, both
    naming the parameter.
    """
    check_filter_names(filters)
    given = {name: value for name, value in filters.items() if value is not None}
    given.setdefault("location_id", default_location_id)
    if given["location_id"] is None:
        raise ParameterError(
            "location_id is required: pass location_id=..., or set it on the client "
            "(LeadwayClient(location_id=...) or the LEADWAY_LOCATION_ID variable)"
        )
    query: dict[str, str] = {}
    for parameter in PARAMETERS:
        if parameter.keyword in given:
            query[parameter.wire] = parameter.normalise(parameter.keyword, given[parameter.keyword])
    for low, high in _RANGES:
        if low in given and high in given:
            low_wire, high_wire = BY_KEYWORD[low].wire, BY_KEYWORD[high].wire
            if float(query[low_wire]) > float(query[high_wire]):
                raise ParameterError(
                    f"{low} must not be after {high} ({query[low_wire]} > {query[high_wire]})"
                )
    return query
