"""The search parameters: validation and the wire query (pure functions, no I/O).

Every parameter the spec names is a snake_case keyword here. Values are checked before
anything is sent, and only the parameters the caller set are put on the wire.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypeAlias, TypedDict

from .enums import (
    ConversationStatus,
    MessageAction,
    MessageDirection,
    MessageType,
    SortBy,
    SortOrder,
)
from .models import EPOCH, datetime_to_ms

__all__ = ["MAX_LIMIT", "SearchFilters", "build_search_query", "check_filter_names"]

MAX_LIMIT = 100

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


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def _id_list(name: str, value: Any) -> str:
    ids = [value] if isinstance(value, str) else value
    if not isinstance(ids, Sequence) or isinstance(ids, (bytes, bytearray)):
        raise TypeError(f"{name} must be an id or a sequence of ids, not {type(value).__name__}")
    if not ids:
        raise ValueError(f"{name} must name at least one id")
    for item in ids:
        _text(name, item)
        if len(ids) > 1 and "," in item:
            raise ValueError(f"{name}: an id cannot contain a comma, got {item!r}")
    return ",".join(ids)


def _choice(enum_class: type[Enum]) -> Normaliser:
    allowed = [str(member.value) for member in enum_class]

    def normalise(name: str, value: Any) -> str:
        text = value.value if isinstance(value, enum_class) else value
        if text not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        return str(text)

    return normalise


def _number(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return str(value) if isinstance(value, int) else repr(value)


def _limit(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if not 1 <= value <= MAX_LIMIT:
        raise ValueError(f"{name} must be between 1 and {MAX_LIMIT}, got {value}")
    return str(value)


def _epoch_ms(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{name} must be a timezone-aware datetime (a naive one is ambiguous), "
                f"got {value.isoformat()}"
            )
        if value < EPOCH:
            raise ValueError(f"{name} must not be before 1970-01-01, got {value.isoformat()}")
        return str(datetime_to_ms(value))
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an aware datetime or epoch milliseconds (int), "
            f"not {type(value).__name__}"
        )
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return str(value)


# keyword -> (wire name, normaliser), in the spec's order.
_PARAMETERS: dict[str, tuple[str, Normaliser]] = {
    "location_id": ("locationId", _text),
    "contact_id": ("contactId", _text),
    "assigned_to": ("assignedTo", _id_list),
    "followers": ("followers", _id_list),
    "mentions": ("mentions", _id_list),
    "query": ("query", _text),
    "sort": ("sort", _choice(SortOrder)),
    "start_after_date": ("startAfterDate", _number),
    "conversation_id": ("id", _text),
    "limit": ("limit", _limit),
    "last_message_type": ("lastMessageType", _choice(MessageType)),
    "last_message_action": ("lastMessageAction", _choice(MessageAction)),
    "last_message_direction": ("lastMessageDirection", _choice(MessageDirection)),
    "status": ("status", _choice(ConversationStatus)),
    "sort_by": ("sortBy", _choice(SortBy)),
    "sort_score_profile": ("sortScoreProfile", _text),
    "score_profile": ("scoreProfile", _text),
    "score_profile_min": ("scoreProfileMin", _number),
    "score_profile_max": ("scoreProfileMax", _number),
    "start_date": ("startDate", _epoch_ms),
    "end_date": ("endDate", _epoch_ms),
}

# Pairs whose first value must not exceed the second.
_RANGES = (("start_date", "end_date"), ("score_profile_min", "score_profile_max"))


def check_filter_names(filters: Mapping[str, Any], *, allowed_extra: Sequence[str] = ()) -> None:
    """Raise `TypeError` naming any keyword that is not a search filter."""
    unknown = [name for name in filters if name not in _PARAMETERS and name not in allowed_extra]
    if unknown:
        raise TypeError(
            f"unknown search parameter(s): {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(_PARAMETERS)}"
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
        raise ValueError(
            "location_id is required: pass location_id=..., or set it on the client "
            "(LeadwayClient(location_id=...) or the LEADWAY_LOCATION_ID variable)"
        )
    query: dict[str, str] = {}
    for name, (wire, normalise) in _PARAMETERS.items():
        if name in given:
            query[wire] = normalise(name, given[name])
    for low, high in _RANGES:
        if low in given and high in given:
            low_wire, high_wire = _PARAMETERS[low][0], _PARAMETERS[high][0]
            if float(query[low_wire]) > float(query[high_wire]):
                raise ValueError(
                    f"{low} must not be after {high} ({query[low_wire]} > {query[high_wire]})"
                )
    return query
