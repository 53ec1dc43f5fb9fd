"""Conversations as JSON Lines, CSV rows or an aligned table."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import orjson

from .._convert import conversation_to_wire
from ..models import Conversation, ConversationPage

CSV_COLUMNS = (
    "id", "contactId", "locationId", "fullName", "contactName", "email", "phone",
    "companyName", "type", "lastMessageType", "lastMessageDirection",
    "lastOutboundMessageAction", "lastMessageBody", "unreadCount", "starred", "inbox",
    "attributed", "assignedTo", "followers", "tags", "dateAdded", "dateUpdated",
    "lastMessageDate", "lastManualMessageDate", "scoring", "sort", "extra",
)  # fmt: skip
_KNOWN = frozenset(CSV_COLUMNS)


def jsonl_lines(conversations: Sequence[Conversation]) -> bytes:
    """One JSON object per line, as the API sent it, each line ending in a newline."""
    return b"".join(orjson.dumps(conversation_to_wire(c)) + b"\n" for c in conversations)


def csv_header() -> str:
    """The CSV header row."""
    return _csv_text([list(CSV_COLUMNS)])


def csv_rows(conversations: Sequence[Conversation]) -> str:
    """CSV rows: scalars as they are, lists and objects as JSON, unknown fields in `extra`."""
    rows = []
    for conversation in conversations:
        wire = conversation_to_wire(conversation)
        extra = {k: v for k, v in wire.items() if k not in _KNOWN}
        wire["extra"] = extra or None
        rows.append([_cell(wire.get(column)) for column in CSV_COLUMNS])
    return _csv_text(rows)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def page_json(page: ConversationPage) -> bytes:
    """A page as the API's JSON body (`conversations` and `total`)."""
    body = {"conversations": [conversation_to_wire(c) for c in page], "total": page.total}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2)


def table(page: ConversationPage) -> str:
    """The page as an aligned text table, newest information first in each row."""
    headers = ("last message", "name", "channel", "dir", "unread", "id")
    rows = [
        (
            f"{c.last_message_date:%Y-%m-%d %H:%M}" if c.last_message_date else "-",
            (c.full_name or c.contact_name or "-")[:30],
            str(c.last_message_type or "-").removeprefix("TYPE_"),
            str(c.last_message_direction or "-"),
            "" if c.unread_count is None else str(c.unread_count),
            c.id,
        )
        for c in page
    ]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    shown = f"{len(rows)} of {page.total}" if page.total is not None else f"{len(rows)}"
    lines.append(f"({shown} conversations)")
    return "\n".join(lines)
