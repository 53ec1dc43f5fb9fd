"""The typed values the search endpoint returns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from attrs import field, frozen

from .enums import ConversationType, MessageAction, MessageDirection, MessageType

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
EMPTY_EXTRA: Mapping[str, Any] = MappingProxyType({})


_ONE_MS = timedelta(milliseconds=1)


def ms_to_datetime(ms: int | None) -> datetime | None:
    """An epoch-milliseconds value as an aware UTC datetime (None stays None)."""
    return None if ms is None else EPOCH + timedelta(milliseconds=ms)


def datetime_to_ms(moment: datetime) -> int:
    """An aware datetime as exact epoch milliseconds (no float rounding)."""
    return (moment - EPOCH) // _ONE_MS


# weakref_slot=False keeps the slot layout identical to the fast builder in _convert.py.
@frozen(weakref_slot=False)
class Conversation:
    """One conversation as the search endpoint returns it.

    Every field but `id` may be None: the API leaves fields out freely. Dates arrive as
    epoch milliseconds (`*_ms`) and are offered as aware UTC datetimes by the properties
    of the same name without the suffix. Enum fields hold the package's enum member, or
    the raw string when the API sends a value this version does not know yet. JSON fields
    this version does not model are kept in `extra`, under their wire names.
    """

    id: str
    contact_id: str | None = None
    location_id: str | None = None
    last_message_body: str | None = None
    last_message_type: MessageType | str | None = None
    type: ConversationType | str | None = None
    unread_count: int | None = None
    full_name: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    date_added_ms: int | None = None
    date_updated_ms: int | None = None
    last_message_date_ms: int | None = None
    last_manual_message_date_ms: int | None = None
    last_message_direction: MessageDirection | str | None = None
    last_outbound_message_action: MessageAction | str | None = None
    assigned_to: str | None = None
    followers: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    company_name: str | None = None
    starred: bool | None = None
    inbox: bool | None = None
    scoring: Any = field(default=None, hash=False)
    attributed: bool | None = None
    sort: tuple[int | float, ...] | None = None
    extra: Mapping[str, Any] = field(default=EMPTY_EXTRA, hash=False)

    @property
    def date_added(self) -> datetime | None:
        """When the conversation was created."""
        return ms_to_datetime(self.date_added_ms)

    @property
    def date_updated(self) -> datetime | None:
        """When the conversation last changed."""
        return ms_to_datetime(self.date_updated_ms)

    @property
    def last_message_date(self) -> datetime | None:
        """When the most recent message was sent or received."""
        return ms_to_datetime(self.last_message_date_ms)

    @property
    def last_manual_message_date(self) -> datetime | None:
        """When a person last sent a message in this conversation."""
        return ms_to_datetime(self.last_manual_message_date_ms)


@frozen
class RateLimit:
    """The rate-limit budget the API reported with a response (None where it did not say)."""

    limit_daily: int | None = None
    daily_remaining: int | None = None
    interval_ms: int | None = None
    max: int | None = None
    remaining: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        """Read the five `X-RateLimit-*` headers; a missing or malformed one gives None."""
        return cls(
            limit_daily=_header_int(headers, "X-RateLimit-Limit-Daily"),
            daily_remaining=_header_int(headers, "X-RateLimit-Daily-Remaining"),
            interval_ms=_header_int(headers, "X-RateLimit-Interval-Milliseconds"),
            max=_header_int(headers, "X-RateLimit-Max"),
            remaining=_header_int(headers, "X-RateLimit-Remaining"),
        )


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


@frozen
class ConversationPage:
    """One page of search results.

    `total` is how many conversations match the filters in all; `next_cursor` is the
    `startAfterDate` value that asks for the conversations after this page (None for an
    empty page); `rate_limit` is the budget the API reported with this page.
    """

    conversations: tuple[Conversation, ...]
    total: int | None
    next_cursor: int | float | None
    rate_limit: RateLimit
    request_id: str | None = None

    def __len__(self) -> int:
        return len(self.conversations)

    def __iter__(self) -> Iterator[Conversation]:
        return iter(self.conversations)
