"""Search pages decoded straight into models, when every conversation is as expected.

Most pages hold nothing the model does not: every key known, every value of its field's
kind. For those, msgspec decodes the body in one pass into records typed from the field
metadata of `Conversation` (no dict per conversation is built and thrown away), and each
record becomes a `Conversation` as the tolerant hook builds one. Anything else (a key this
version does not model, a value of another type, a date out of range, a body that is not
a page) makes `decode_page` decline, and the page is read the tolerant way (`_convert`),
which repairs, warns and keeps the unknown in `extra`. A page both can read gives the
same conversations either way.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ._convert import BUILDING_NAMES, WIRE_FIELDS, building_lines, compile_function
from ._repair import MS_MAX, MS_MIN
from .models import ANY, COUNT, EMPTY_EXTRA, ENUM, FLAG, MS, NUMBERS, TEXT, TEXTS, Conversation

__all__ = ["DecodedPage", "decode_page"]

_NON_NEGATIVE = msgspec.Meta(ge=0)

# What each kind of field accepts here: exactly what the tolerant hook takes as it is.
_KIND_TYPES: dict[str, Any] = {
    TEXT: str | None,
    COUNT: int | None,
    FLAG: bool | None,
    MS: Annotated[int, msgspec.Meta(ge=MS_MIN, le=MS_MAX)] | None,
    ENUM: str | None,
    TEXTS: tuple[str, ...] | None,
    NUMBERS: tuple[int | float, ...] | None,
    # Any JSON value, an array as a tuple: one type of each shape msgspec tells apart.
    ANY: tuple[Any, ...] | dict[str, Any] | str | int | float | bool | None,
}

_Record = msgspec.defstruct(
    "_Record",
    [
        ("id", Annotated[str, msgspec.Meta(min_length=1)]),
        *(
            (spec.attribute, _KIND_TYPES[spec.kind], msgspec.field(default=None, name=spec.wire))
            for spec in WIRE_FIELDS
        ),
    ],
    forbid_unknown_fields=True,  # an unknown key belongs in `extra`: the tolerant way
    gc=False,  # a record lives only while its page is read, and holds no cycle
)

_Page = msgspec.defstruct(
    "_Page",
    [
        ("conversations", list[_Record]),  # type: ignore[valid-type]
        (
            "total",
            Annotated[int, _NON_NEGATIVE] | Annotated[float, _NON_NEGATIVE] | None,
            None,
        ),
        ("traceId", str | None, None),
    ],
    gc=False,
)

_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_Page)


_ENUM_MEMBERS = {spec.attribute: spec.members() for spec in WIRE_FIELDS if spec.enum is not None}


def _conversation_source() -> str:
    def value_of(attribute: str) -> str:
        if attribute == "extra":
            return "_EMPTY_EXTRA"
        if attribute in _ENUM_MEMBERS:  # a known value as its member (None is no key)
            return f"_members_{attribute}.get(record.{attribute}, record.{attribute})"
        return f"record.{attribute}"

    return "\n".join(["def conversation(record):", *building_lines(value_of)]) + "\n"


_conversation: Any = compile_function(
    "conversation",
    _conversation_source(),
    "<leadway_async generated record conversion>",
    {
        "_EMPTY_EXTRA": EMPTY_EXTRA,
        **BUILDING_NAMES,
        **{f"_members_{attribute}": members for attribute, members in _ENUM_MEMBERS.items()},
    },
)

DecodedPage = tuple[tuple[Conversation, ...], int | float | None, str | None]
"""A page read here: its conversations, its `total` and its `traceId`."""


def decode_page(body: bytes) -> DecodedPage | None:
    """A search page's body as its conversations, `total` and `traceId`; None when
    anything in it asks for the tolerant way."""
    try:
        page = _DECODER.decode(body)
    except msgspec.MsgspecError:  # not JSON, not a page, or not as the model has it
        return None
    return tuple([_conversation(record) for record in page.conversations]), page.total, page.traceId
