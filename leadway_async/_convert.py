"""The package's cattrs converter: wire JSON to models and back, fast and tolerant.

`converter` is the one the package uses on its own path: pages are structured through
the hook registered in it for `Conversation`, and the command line's JSON and CSV rows
are unstructured through it. Structuring runs for every conversation of every page, so
that hook is generated once, from the attrs field metadata of `Conversation` (wire name
and kind), as straight-line code with inline type checks: no call per field. It builds a
mutable twin of the class with the same slot layout and relabels it as `Conversation`,
which costs about a third of the frozen class's own `__init__` (that one sets every slot
through `object.__setattr__`); the result is an ordinary frozen instance. The generated
source is registered with `linecache`, so tracebacks and debuggers show its lines.
"""

from __future__ import annotations

import linecache
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Any, NewType, NoReturn

import attrs
import cattrs
import orjson

from .cursor import sort_value
from .errors import ResponseDecodeError, ResponseValidationError
from .models import (
    EMPTY_EXTRA,
    ENUM,
    MS,
    NUMBERS,
    TEXTS,
    Conversation,
    ConversationPage,
    RateLimit,
    datetime_to_ms,
)

__all__ = [
    "WIRE_FIELDS",
    "conversation_to_wire",
    "converter",
    "decode_json",
    "page_from_payload",
    "structure_conversation",
]


@attrs.frozen
class WireField:
    """How one `Conversation` attribute travels: its wire name, kind and enum (if any)."""

    attribute: str
    wire: str
    kind: str
    enum: type[Enum] | None


WIRE_FIELDS: tuple[WireField, ...] = tuple(
    WireField(a.name, a.metadata["wire"], a.metadata["kind"], a.metadata["enum"])
    for a in attrs.fields(Conversation)
    if "wire" in a.metadata and a.name != "id"
)
"""Every attribute of `Conversation` but `id` and `extra`, in declaration order."""


def _invalid(raw: Any, reason: str) -> NoReturn:
    raise ResponseValidationError(f"a conversation {reason}", body=_json_excerpt(raw))


def _invalid_field(ident: str, wire: str, value: Any, expected: str) -> NoReturn:
    raise ResponseValidationError(
        f"conversation {ident!r} has {wire}={_json_excerpt(value)}, expected {expected}"
    )


def _json_excerpt(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


def _coerce_ms(ident: str, wire: str, value: Any) -> int:
    """An epoch-ms value sent as a float or an ISO 8601 string, as an int."""
    if type(value) is float and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return datetime_to_ms(parsed)
    _invalid_field(ident, wire, value, "epoch milliseconds")


def _structure_source() -> str:
    """The generated hook: pops the known keys from `raw`, so what remains is `extra`.

    What the SDK transforms is checked (id, dates, enums, lists); the rest (strings,
    numbers, booleans, list items) passes through as the server sent it.
    """
    lines = [
        "def structure_owned(raw):",
        "    if type(raw) is not dict:",
        "        _invalid(raw, 'is not a JSON object')",
        "    pop = raw.pop",
        "    ident = pop('id', None)",
        "    if type(ident) is not str or not ident:",
        "        _invalid({'id': ident, **raw} if ident is not None else raw, 'has no string id')",
    ]
    for index, spec in enumerate(WIRE_FIELDS):
        v, wire = f"v{index}", spec.wire
        lines.append(f"    {v} = pop({wire!r}, None)")
        if spec.kind == MS:
            lines.append(f"    if type({v}) is not int and {v} is not None:")
            lines.append(f"        {v} = _coerce_ms(ident, {wire!r}, {v})")
        elif spec.kind == ENUM:
            lines.append(f"    if type({v}) is str:")
            lines.append(f"        {v} = _members_{spec.attribute}.get({v}, {v})")
            lines.append(f"    elif {v} is not None:")
            lines.append(f"        _invalid_field(ident, {wire!r}, {v}, 'a string')")
        elif spec.kind in (TEXTS, NUMBERS):
            lines.append(f"    if type({v}) is list:")
            lines.append(f"        {v} = tuple({v})")
            lines.append(f"    elif {v} is not None:")
            lines.append(f"        _invalid_field(ident, {wire!r}, {v}, 'a list')")
    values = ", ".join(f"v{i}" for i in range(len(WIRE_FIELDS)))
    lines += [
        "    extra = _proxy(dict(raw)) if raw else _EMPTY_EXTRA",  # dict(): compact copy
        f"    built = _Builder(ident, {values}, extra)",
        "    _relabel(built, '__class__', _Conversation)",
        "    return built",
    ]
    return "\n".join(lines) + "\n"


# A mutable class with Conversation's exact slots, so instances can be relabelled.
_Builder = attrs.make_class(
    "_ConversationBuilder",
    {a.name: attrs.field() for a in attrs.fields(Conversation)},
    slots=True,
    weakref_slot=False,
    eq=False,
    repr=False,
)


def _compile_structure() -> Callable[[dict[str, Any]], Conversation]:
    namespace: dict[str, Any] = {
        "_invalid": _invalid,
        "_invalid_field": _invalid_field,
        "_coerce_ms": _coerce_ms,
        "_EMPTY_EXTRA": EMPTY_EXTRA,
        "_proxy": MappingProxyType,
        "_Builder": _Builder,
        "_relabel": object.__setattr__,
        "_Conversation": Conversation,
    }
    for spec in WIRE_FIELDS:
        if spec.enum is not None:
            namespace[f"_members_{spec.attribute}"] = {m.value: m for m in spec.enum}
    source = _structure_source()
    filename = "<leadway_async generated structure_owned>"
    # As attrs does for its generated methods: tracebacks and pdb can show these lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    function: Callable[[dict[str, Any]], Conversation] = namespace["structure_owned"]
    return function


# Consumes its argument: only for dicts freshly decoded from a response body.
_structure_owned = _compile_structure()


def structure_conversation(raw: Any) -> Conversation:
    """A wire JSON object as a `Conversation`; `ResponseValidationError` if it is not one."""
    return _structure_owned(dict(raw) if isinstance(raw, dict) else raw)


def conversation_to_wire(conversation: Conversation) -> dict[str, Any]:
    """A `Conversation` as the wire JSON object it came from (None fields left out)."""
    wire: dict[str, Any] = {"id": conversation.id}
    for spec in WIRE_FIELDS:
        value = getattr(conversation, spec.attribute)
        if value is None:
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        wire[spec.wire] = value
    wire.update(conversation.extra)
    return wire


converter = cattrs.Converter()
"""The package's converter: `structure(raw, Conversation)` and `unstructure(conversation)`."""
converter.register_structure_hook(Conversation, lambda raw, _: structure_conversation(raw))
converter.register_unstructure_hook(Conversation, conversation_to_wire)

DecodedItems = NewType("DecodedItems", tuple[Conversation, ...])
"""A page's `conversations` list freshly decoded from a body: its dicts are consumed."""


def _structure_decoded(items: list[Any], _: object) -> tuple[Conversation, ...]:
    return tuple([_structure_owned(item) for item in items])


converter.register_structure_hook(DecodedItems, _structure_decoded)


def decode_json(body: bytes, *, status: int | None = None) -> Any:
    """A response body decoded as JSON; `ResponseDecodeError` if it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ResponseDecodeError(
            f"the response body is not valid JSON ({exc})", status=status, body=body
        ) from None


def page_from_payload(
    payload: Any,
    *,
    rate_limit: RateLimit,
    request_id: str | None,
    status: int | None = None,
    body: bytes | None = None,
) -> ConversationPage:
    """A decoded 200 body as a `ConversationPage`; `ResponseValidationError` if malformed."""
    if not isinstance(payload, Mapping):
        raise ResponseValidationError("the response is not a JSON object", status=status, body=body)
    items = payload.get("conversations")
    if not isinstance(items, list):
        raise ResponseValidationError(
            "the response has no 'conversations' list", status=status, body=body
        )
    total = payload.get("total")
    if total is not None and (type(total) not in (int, float) or total < 0):
        raise ResponseValidationError(
            f"the response has total={total!r}, expected a count", status=status, body=body
        )
    try:
        conversations: tuple[Conversation, ...] = converter.structure(items, DecodedItems)
    except ResponseValidationError as exc:
        raise ResponseValidationError(str(exc), status=status) from None
    return ConversationPage(
        conversations=conversations,
        total=None if total is None else int(total),
        next_cursor=sort_value(conversations[-1]) if conversations else None,
        rate_limit=rate_limit,
        request_id=request_id,
    )
