"""The model layer alone: page bodies and wire dicts to conversations, per second.

Contenders, all from the same page bodies:
- `leadway_async page_from_body`: what the client does with a page's body: decoded by
  msgspec straight into models when every conversation is as the model has it (as here);
- `leadway_async page, the tolerant way`: the body decoded to dicts, then structured by the
  generated cattrs hook (what a page holding anything unexpected takes);
- `leadway_async converter`: that hook alone, from orjson's dicts;
- `hand-written attrs`: a hand-written function calling the frozen `Conversation(...)`
  constructor with the same conversions;
- `stock cattrs`: a plain `cattrs.Converter` with camelCase renames into a frozen attrs
  class with the same fields as plain types;
- `decode only`: orjson alone, the floor every contender pays, reported for reference.

Run: python -m benchmarks.models [--quick]
"""

from __future__ import annotations

import argparse
from typing import Any

import attrs
import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn, override

from leadway_async import Conversation
from leadway_async._convert import (
    WIRE_FIELDS,
    decode_json,
    page_from_payload,
    structure_conversation,
)
from leadway_async._responses import page_from_body
from leadway_async.enums import ConversationType, MessageAction, MessageDirection, MessageType
from leadway_async.models import RateLimit
from leadway_async.testing import generate_conversations

from ._timing import alternate, table

_ENUM_MEMBERS: dict[str, dict[str, Any]] = {
    wire: {m.value: m for m in enum}
    for wire, enum in (
        ("lastMessageType", MessageType),
        ("type", ConversationType),
        ("lastMessageDirection", MessageDirection),
        ("lastOutboundMessageAction", MessageAction),
    )
}
_KNOWN = frozenset(["id", *(f.wire for f in WIRE_FIELDS)])


def hand_written(raw: dict[str, Any]) -> Conversation:
    """What a careful person writes by hand: get each key, convert, call the constructor."""
    get = raw.get
    followers, tags, sort = get("followers"), get("tags"), get("sort")
    mentions, message_types = get("mentions"), get("messageTypes")
    extra = {k: v for k, v in raw.items() if k not in _KNOWN}
    mt, ty = get("lastMessageType"), get("type")
    di, ac = get("lastMessageDirection"), get("lastOutboundMessageAction")
    return Conversation(
        id=raw["id"],
        contact_id=get("contactId"),
        location_id=get("locationId"),
        last_message_body=get("lastMessageBody"),
        last_message_type=_ENUM_MEMBERS["lastMessageType"].get(mt, mt),
        type=_ENUM_MEMBERS["type"].get(ty, ty),
        unread_count=get("unreadCount"),
        full_name=get("fullName"),
        contact_name=get("contactName"),
        email=get("email"),
        phone=get("phone"),
        date_added_ms=get("dateAdded"),
        date_updated_ms=get("dateUpdated"),
        last_message_date_ms=get("lastMessageDate"),
        last_manual_message_date_ms=get("lastManualMessageDate"),
        last_message_direction=_ENUM_MEMBERS["lastMessageDirection"].get(di, di),
        last_outbound_message_action=_ENUM_MEMBERS["lastOutboundMessageAction"].get(ac, ac),
        assigned_to=get("assignedTo"),
        followers=None if followers is None else tuple(followers),
        tags=None if tags is None else tuple(tags),
        company_name=get("companyName"),
        starred=get("starred"),
        inbox=get("inbox"),
        scoring=get("scoring"),
        attributed=get("attributed"),
        sort=None if sort is None else tuple(sort),
        mentions=None if mentions is None else tuple(mentions),
        is_last_message_internal_comment=get("isLastMessageInternalComment"),
        message_types=None if message_types is None else tuple(message_types),
        profile_photo=get("profilePhoto"),
        last_message_conversation_provider_id=get("lastMessageConversationProviderId"),
        extra=extra,
    )


@attrs.frozen
class PlainConversation:
    """The same fields as plain types, for stock cattrs."""

    id: str
    contact_id: str | None = None
    location_id: str | None = None
    last_message_body: str | None = None
    last_message_type: str | None = None
    type: str | None = None
    unread_count: int | None = None
    full_name: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    date_added_ms: int | None = None
    date_updated_ms: int | None = None
    last_message_date_ms: int | None = None
    last_manual_message_date_ms: int | None = None
    last_message_direction: str | None = None
    last_outbound_message_action: str | None = None
    assigned_to: str | None = None
    followers: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    company_name: str | None = None
    starred: bool | None = None
    inbox: bool | None = None
    scoring: list[dict[str, Any]] | None = None
    attributed: bool | None = None
    sort: tuple[int, ...] | None = None
    mentions: tuple[str, ...] | None = None
    is_last_message_internal_comment: bool | None = None
    message_types: tuple[int, ...] | None = None
    profile_photo: str | None = None
    last_message_conversation_provider_id: str | None = None


def stock_cattrs() -> Any:
    converter = cattrs.Converter()
    renames = {f.attribute: override(rename=f.wire) for f in WIRE_FIELDS}
    converter.register_structure_hook(
        PlainConversation, make_dict_structure_fn(PlainConversation, converter, **renames)
    )
    return lambda raw: converter.structure(raw, PlainConversation)


def run(conversations: int, pages_per_round: int, rounds: int) -> str:
    items = generate_conversations(conversations, seed=1, location_id="benchLocation0000000")
    bodies = [
        orjson.dumps({"conversations": items[i : i + 100], "total": len(items)})
        for i in range(0, len(items), 100)
    ][:pages_per_round]
    structure_stock = stock_cattrs()

    def over_pages(structure: Any) -> Any:
        def work() -> int:
            count = 0
            for body in bodies:
                for raw in orjson.loads(body)["conversations"]:
                    structure(raw)
                    count += 1
            return count

        return work

    def package_pages() -> int:
        count = 0
        for body in bodies:
            count += len(page_from_body(200, {}, body))
        return count

    def tolerant_pages() -> int:
        count = 0
        for body in bodies:
            page = page_from_payload(decode_json(body), rate_limit=RateLimit(), request_id=None)
            count += len(page)
        return count

    summaries = alternate(
        {
            "decode only (orjson)": over_pages(lambda raw: raw),
            "leadway_async converter": over_pages(structure_conversation),
            "leadway_async page_from_body": package_pages,
            "leadway_async page, the tolerant way": tolerant_pages,
            "hand-written attrs": over_pages(hand_written),
            "stock cattrs": over_pages(structure_stock),
        },
        rounds,
    )
    decode_cost = 1 / summaries["decode only (orjson)"].median
    lines = [table(summaries, "conversations", baseline="hand-written attrs"), ""]
    lines.append("Structuring alone (decode cost subtracted), microseconds per conversation:")
    lines.append("")
    for name, summary in summaries.items():
        if name != "decode only (orjson)":
            lines.append(f"- {name}: {(1 / summary.median - decode_cost) * 1e6:.2f} µs")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, for CI")
    options = parser.parse_args()
    if options.quick:
        print(run(conversations=500, pages_per_round=5, rounds=2))
    else:
        print(run(conversations=20_000, pages_per_round=200, rounds=7))


if __name__ == "__main__":
    main()
