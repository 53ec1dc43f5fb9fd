"""Conversations as JSON Lines, CSV rows or an aligned table."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import orjson
from attrs import frozen

from .._convert import WIRE_FIELDS, converter
from ..models import Conversation, ConversationPage

CSV_COLUMNS: tuple[str, ...] = ("id", *(field.wire for field in WIRE_FIELDS), "extra")
"""The CSV header: `id`, the wire fields in `Conversation`'s order, then `extra` (the rest)."""
_OWN_COLUMNS = frozenset(CSV_COLUMNS[:-1])


def jsonl_lines(conversations: Sequence[Conversation]) -> bytes:
    """One JSON object per line, as the API sent it, each line ending in a newline."""
    return b"".join(orjson.dumps(converter.unstructure(c)) + b"\n" for c in conversations)


def csv_header() -> str:
    """The CSV header row."""
    return _csv_text([list(CSV_COLUMNS)])


def csv_rows(conversations: Sequence[Conversation]) -> str:
    """CSV rows: scalars as they are, lists and objects as JSON, unknown fields in `extra`."""
    rows = []
    for conversation in conversations:
        wire: dict[str, Any] = converter.unstructure(conversation)
        extra = {k: v for k, v in wire.items() if k not in _OWN_COLUMNS}
        row = [_cell(wire.get(column)) for column in CSV_COLUMNS[:-1]]
        rows.append([*row, _cell(extra or None)])
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


ExportFormat = Literal["jsonl", "csv"]
"""The name of an export format."""


@frozen
class FileFormat:
    """How an export file is written: what it starts with, and each page's bytes."""

    header: bytes
    rows: Callable[[Sequence[Conversation]], bytes]


FILE_FORMATS: Mapping[ExportFormat, FileFormat] = {
    "jsonl": FileFormat(b"", jsonl_lines),
    "csv": FileFormat(csv_header().encode(), lambda rows: csv_rows(rows).encode()),
}
"""The export formats by name."""


def page_json(page: ConversationPage) -> bytes:
    """A page as the API's JSON body (`conversations` and `total`)."""
    body = {"conversations": [converter.unstructure(c) for c in page], "total": page.total}
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
