"""A conversation as a row of the mirror (pure).

The columns come from `Conversation`'s attrs fields, in their order, each typed by the
field's kind: a field added to the model is a column without anything written here. A
row holds those values, the conversation's JSON as the API sent it (the export's JSON
Lines form: what the SDK read, unknown fields included, absent and null fields left out)
and a hash of that JSON, which tells an unchanged conversation from a changed one without
comparing every column. `plan_page` decides what a page does to the rows already stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from operator import attrgetter
from typing import Any, Literal

import attrs
import orjson
from attrs import frozen

from ..models import ANY, COUNT, ENUM, FLAG, MS, NUMBERS, TEXT, TEXTS, Conversation

__all__ = [
    "CONVERSATION_COLUMNS",
    "Column",
    "ColumnType",
    "ConversationRow",
    "PagePlan",
    "StoredRow",
    "content_hash",
    "conversation_row",
    "plan_page",
]

ColumnType = Literal["text", "integer", "boolean", "json"]
"""How a column is stored: each backend maps these to its own SQL types."""

_TYPE_OF_KIND: Mapping[str, ColumnType] = {
    TEXT: "text",
    ENUM: "text",  # the value's string, known to the enum or not
    COUNT: "integer",
    MS: "integer",  # epoch milliseconds, as the API sends them
    FLAG: "boolean",
    TEXTS: "json",
    NUMBERS: "json",
    ANY: "json",
}


@frozen
class Column:
    """A column of the conversations table: the `Conversation` attribute it holds (its
    name is the column's), how it is stored, its wire name and the attribute's kind (both
    None for `extra`)."""

    name: str
    type: ColumnType
    wire: str | None
    kind: str | None


def _columns() -> tuple[Column, ...]:
    columns = []
    for attribute in attrs.fields(Conversation):
        if attribute.name == "extra":
            columns.append(Column("extra", "json", None, None))
            continue
        kind = str(attribute.metadata.get("kind"))
        if kind not in _TYPE_OF_KIND:
            raise TypeError(
                f"Conversation.{attribute.name} has the kind {kind!r}, which the mirror "
                "does not know how to store: add it to mirror/rows.py"
            )
        wire = attribute.metadata["wire"]
        columns.append(Column(attribute.name, _TYPE_OF_KIND[kind], wire, kind))
    return tuple(columns)


CONVERSATION_COLUMNS: tuple[Column, ...] = _columns()
"""Every attribute of `Conversation` as a column, in declaration order: `id` first,
`extra` (the fields this version does not model, as JSON) last."""


_NAMES = tuple(column.name for column in CONVERSATION_COLUMNS)
_WIRES = tuple(column.wire for column in CONVERSATION_COLUMNS[:-1])  # `extra` has none
_VALUES = attrgetter(*_NAMES)
_ENUMS = tuple(index for index, column in enumerate(CONVERSATION_COLUMNS) if column.kind == ENUM)
_JSON = tuple(
    index for index, column in enumerate(CONVERSATION_COLUMNS[:-1]) if column.type == "json"
)


@frozen
class ConversationRow:
    """A conversation ready to store: its column values (in `CONVERSATION_COLUMNS` order;
    enums as their strings, lists and objects as JSON text), its JSON and that JSON's hash."""

    id: str
    values: tuple[Any, ...]
    raw: str
    content_hash: str
    last_message_date_ms: int | None


def content_hash(raw: bytes) -> str:
    """The hash that tells one stored JSON from another (BLAKE2b, 128 bits, hex)."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def conversation_row(conversation: Conversation) -> ConversationRow:
    """`conversation` as a row."""
    values = list(_VALUES(conversation))
    extra = values[-1]
    # The JSON as `conversation_to_wire` gives it (orjson writes enums as their values
    # and tuples as lists), built from the values already at hand: it is every page's cost.
    pairs = zip(_WIRES, values[:-1], strict=True)
    wire = {name: value for name, value in pairs if value is not None}
    if extra:
        wire.update(extra)
    raw = orjson.dumps(wire)
    for index in _ENUMS:
        value = values[index]
        if value is not None and type(value) is not str:
            values[index] = value.value
    for index in _JSON:
        value = values[index]
        if value is not None:
            values[index] = orjson.dumps(value).decode()
    values[-1] = orjson.dumps(dict(extra)).decode() if extra else None
    return ConversationRow(
        conversation.id,
        tuple(values),
        raw.decode(),
        content_hash(raw),
        conversation.last_message_date_ms,
    )


@frozen
class StoredRow:
    """What the database holds of a conversation a page brings again.

    `written_this_run` says whether the run (or the full pass it continues) has already
    written it.
    """

    content_hash: str
    location_id: str
    deleted: bool
    last_message_date_ms: int | None
    written_this_run: bool


@frozen
class PagePlan:
    """What a page does: rows to insert, rows to update, and how many it leaves alone
    (unchanged, or older than what this run already wrote)."""

    inserts: tuple[ConversationRow, ...]
    updates: tuple[ConversationRow, ...]
    unchanged: int
    older: int


def plan_page(
    rows: Iterable[ConversationRow], stored: Mapping[str, StoredRow], location_id: str
) -> PagePlan:
    """What writing `rows` (a page, mirrored for `location_id`) changes, given the rows
    `stored` already holds for their ids.

    A conversation not stored is inserted. One stored with the same JSON, under the same
    location and not marked deleted is left as it is: nothing is rewritten. Otherwise it
    is updated (a deleted one comes back), unless this run already wrote a version with a
    later `lastMessageDate`: pages fetched side by side can arrive out of order, and an
    older version must not replace a newer one. A conversation twice in `rows` counts once,
    as its last version.
    """
    latest = {row.id: row for row in rows}
    inserts: list[ConversationRow] = []
    updates: list[ConversationRow] = []
    unchanged = older = 0
    for row in latest.values():
        old = stored.get(row.id)
        if old is None:
            inserts.append(row)
        elif (
            old.content_hash == row.content_hash
            and old.location_id == location_id
            and not old.deleted
        ):
            unchanged += 1
        elif old.written_this_run and _before(row.last_message_date_ms, old.last_message_date_ms):
            older += 1
        else:
            updates.append(row)
    return PagePlan(tuple(inserts), tuple(updates), unchanged, older)


def _before(new: int | None, old: int | None) -> bool:
    return new is not None and old is not None and new < old
