"""What one live event does to a conversation: a new message, a read, a new conversation.

Each returns a new dict in the generator's shape, leaving the one it was given unchanged.
"""

from __future__ import annotations

import random
from typing import Any

from .data import (
    BODIES,
    CALL_TYPES,
    INTERNAL_COMMENT,
    LAST_MESSAGE_TYPES,
    MANUAL_SHARE,
    MESSAGE_TYPE_CUM_WEIGHTS,
    OUTBOUND_SHARE,
    drop_body_or_direction,
    generate_conversations,
    message_code,
)

__all__ = ["new_conversation", "with_message", "without_unread"]

Conversation = dict[str, Any]
_ABSENT = object()


def with_message(rng: random.Random, conv: Conversation, ms: int) -> Conversation:
    """`conv` after a new last message at `ms` (epoch milliseconds).

    Inbound messages raise `unreadCount`; a manual outbound one sets `lastManualMessageDate`.
    """
    kind = rng.choices(LAST_MESSAGE_TYPES, cum_weights=MESSAGE_TYPE_CUM_WEIGHTS)[0]
    new = dict(conv)
    had_sort = new.pop("sort", _ABSENT) is not _ABSENT
    new["lastMessageDate"] = ms
    new["dateUpdated"] = ms
    new["lastMessageType"] = kind
    new["lastMessageBody"] = rng.choice(BODIES)
    new["lastMessageDirection"] = "outbound" if rng.random() < OUTBOUND_SHARE else "inbound"
    new["isLastMessageInternalComment"] = kind == INTERNAL_COMMENT
    if kind in CALL_TYPES:
        drop_body_or_direction(new, rng.random)
    direction = new.get("lastMessageDirection")
    if direction == "inbound":
        unread = new.get("unreadCount")
        new["unreadCount"] = (unread if isinstance(unread, int) and unread > 0 else 0) + 1
    elif direction == "outbound":
        manual = rng.random() < MANUAL_SHARE
        new["lastOutboundMessageAction"] = "manual" if manual else "automated"
        if manual:
            new["lastManualMessageDate"] = ms
    codes = new.get("messageTypes")
    code = message_code(kind)
    if not isinstance(codes, list):
        new["messageTypes"] = [code]
    elif code not in codes:
        new["messageTypes"] = sorted([*codes, code])
    if had_sort:
        new["sort"] = [ms]  # last, as in generated conversations
    return new


def without_unread(conv: Conversation) -> Conversation:
    """`conv` once read: `unreadCount` 0."""
    return {**conv, "unreadCount": 0}


def new_conversation(
    rng: random.Random, conv_id: str, ms: int, *, location_id: str
) -> Conversation:
    """A conversation created at `ms` with one message; seeded by `rng`."""
    (conv,) = generate_conversations(
        1, seed=rng.getrandbits(64), location_id=location_id, start_ms=ms
    )
    conv["id"] = conv_id
    conv["dateAdded"] = ms
    conv["dateUpdated"] = ms
    if conv.get("lastManualMessageDate") is not None:
        manual = (
            conv.get("lastMessageDirection") == "outbound"
            and conv.get("lastOutboundMessageAction") == "manual"
        )
        conv["lastManualMessageDate"] = ms if manual else None
    return conv
