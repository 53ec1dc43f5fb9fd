"""The typed values the search endpoint returns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from enum import Enum
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


# How a field's wire value is read: the kinds the structuring code knows. Every JSON
# array becomes a tuple (ANY: any value as sent, its items as sent).
TEXT, COUNT, FLAG, MS, TEXTS, NUMBERS, ENUM, ANY = (
    "text", "count", "flag", "ms", "texts", "numbers", "enum", "any"
)  # fmt: skip


def wire_field(name: str, kind: str, enum: type[Enum] | None = None, *, hash: bool = True) -> Any:
    """A `Conversation` attribute: its wire name, its kind and (for ENUM) its enum."""
    return field(default=None, hash=hash, metadata={"wire": name, "kind": kind, "enum": enum})


# weakref_slot=False keeps the slot layout identical to the fast builder in _convert.py.
@frozen(weakref_slot=False)
class Conversation:
    """One conversation as the search endpoint returns it.

    Every field but `id` may be None: the API leaves fields out freely. Dates arrive as
    epoch milliseconds (`*_ms`) and are offered as aware UTC datetimes by the properties
    of the same name without the suffix. The API's lists are tuples (`scoring`'s entries
    as sent). Enum fields hold the package's enum member, or the raw string when the API
    sends a value this version does not know yet. JSON fields this version does not model
    are kept in `extra`, under their wire names.

    A typed attribute never lies: a value of an unexpected type is converted where that
    loses nothing (`"3"` for a count gives 3), and otherwise the attribute is None and
    the value is kept, as it came, in `extra` under its wire name.
    """

    id: str = field(metadata={"wire": "id", "kind": TEXT, "enum": None})
    contact_id: str | None = wire_field("contactId", TEXT)
    location_id: str | None = wire_field("locationId", TEXT)
    last_message_body: str | None = wire_field("lastMessageBody", TEXT)
    last_message_type: MessageType | str | None = wire_field("lastMessageType", ENUM, MessageType)
    type: ConversationType | str | None = wire_field("type", ENUM, ConversationType)
    unread_count: int | None = wire_field("unreadCount", COUNT)
    full_name: str | None = wire_field("fullName", TEXT)
    contact_name: str | None = wire_field("contactName", TEXT)
    email: str | None = wire_field("email", TEXT)
    phone: str | None = wire_field("phone", TEXT)
    date_added_ms: int | None = wire_field("dateAdded", MS)
    date_updated_ms: int | None = wire_field("dateUpdated", MS)
    last_message_date_ms: int | None = wire_field("lastMessageDate", MS)
    last_manual_message_date_ms: int | None = wire_field("lastManualMessageDate", MS)
    last_message_direction: MessageDirection | str | None = wire_field(
        "lastMessageDirection", ENUM, MessageDirection
    )
    last_outbound_message_action: MessageAction | str | None = wire_field(
        "lastOutboundMessageAction", ENUM, MessageAction
    )
    assigned_to: str | None = wire_field("assignedTo", TEXT)
    followers: tuple[str, ...] | None = wire_field("followers", TEXTS)
    tags: tuple[str, ...] | None = wire_field("tags", TEXTS)
    company_name: str | None = wire_field("companyName", TEXT)
    starred: bool | None = wire_field("starred", FLAG)
    inbox: bool | None = wire_field("inbox", FLAG)
    scoring: Any = wire_field("scoring", ANY, hash=False)
    attributed: bool | None = wire_field("attributed", FLAG)
    sort: tuple[int | float, ...] | None = wire_field("sort", NUMBERS)
    mentions: tuple[str, ...] | None = wire_field("mentions", TEXTS)
    is_last_message_internal_comment: bool | None = wire_field("isLastMessageInternalComment", FLAG)
    message_types: tuple[int | float, ...] | None = wire_field("messageTypes", NUMBERS)
    profile_photo: str | None = wire_field("profilePhoto", TEXT)
    last_message_conversation_provider_id: str | None = wire_field(
        "lastMessageConversationProviderId", TEXT
    )
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
    daily_reset: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        """Read the `X-RateLimit-*` headers; a missing or malformed one gives None.

        `daily_reset` is `X-RateLimit-Daily-Reset`: milliseconds until the daily quota
        resets, counted from when the response was sent.
        """
        return cls(
            limit_daily=_header_int(headers, "X-RateLimit-Limit-Daily"),
            daily_remaining=_header_int(headers, "X-RateLimit-Daily-Remaining"),
            interval_ms=_header_int(headers, "X-RateLimit-Interval-Milliseconds"),
            max=_header_int(headers, "X-RateLimit-Max"),
            remaining=_header_int(headers, "X-RateLimit-Remaining"),
            daily_reset=_header_int(headers, "X-RateLimit-Daily-Reset"),
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
