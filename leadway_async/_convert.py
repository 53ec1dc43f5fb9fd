"""The package's cattrs converter: wire JSON to models and back, fast and tolerant.

`converter` is the one the package uses on its own path: a page holding anything the
model does not expect is structured through the hook registered in it for
`Conversation` (the others are decoded straight into models by `_fast_pages`), and the
command line's JSON and CSV rows are unstructured through it. The hook is generated once,
from the attrs field metadata of `Conversation` (wire name and kind), as straight-line
code with inline type checks: no call per field. Like `_fast_pages`, it builds through
`building_lines`: a mutable twin of the class with the same slot layout, its slots set
one by one, relabelled as `Conversation`, which costs about a fifth of calling the frozen
class (whose `__init__` sets every slot through `object.__setattr__`; and a call with 32
arguments is itself dear); the result is an ordinary frozen instance. Generated source is
registered with `linecache`, so tracebacks and debuggers show its lines.
"""

from __future__ import annotations

import linecache
import logging
import operator
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from enum import Enum
from types import MappingProxyType
from typing import Any, NewType, NoReturn

import attrs
import cattrs
import msgspec
import orjson

from ._repair import MS_MAX, MS_MIN, UNREPAIRABLE, repaired
from .cursor import DEFAULT_SORT_BY, sort_value
from .errors import PaginationError, ResponseDecodeError, ResponseValidationError
from .models import (
    ANY,
    COUNT,
    EMPTY_EXTRA,
    ENUM,
    FLAG,
    MS,
    NUMBERS,
    TEXT,
    TEXTS,
    Conversation,
    ConversationPage,
    RateLimit,
)

logger = logging.getLogger("leadway_async")

__all__ = [
    "BUILDING_NAMES",
    "WIRE_FIELDS",
    "building_lines",
    "compile_function",
    "conversation_to_wire",
    "converter",
    "decode_json",
    "new_page",
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

    def members(self) -> dict[Any, Enum]:
        """The enum's members by their wire value (none for a field without an enum)."""
        return {} if self.enum is None else {member.value: member for member in self.enum}


WIRE_FIELDS: tuple[WireField, ...] = tuple(
    WireField(a.name, a.metadata["wire"], a.metadata["kind"], a.metadata["enum"])
    for a in attrs.fields(Conversation)
    if "wire" in a.metadata and a.name != "id"
)
"""Every attribute of `Conversation` but `id` and `extra`, in declaration order."""


def _invalid(raw: Any, reason: str) -> NoReturn:
    raise ResponseValidationError(f"a conversation {reason}", body=_json_excerpt(raw))


def _json_excerpt(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


_NOTES: ContextVar[set[str] | None] = ContextVar("leadway_async_field_notes", default=None)


def _fix(ident: str, index: int, value: Any, odd: dict[str, Any]) -> Any:
    """A field whose value has an unexpected type: its repaired value, or None with the
    value noted in `odd` (kept in `extra`); warns once per field and walk."""
    spec = WIRE_FIELDS[index]
    fixed = repaired(spec.kind, value, spec.enum)
    if fixed is UNREPAIRABLE:
        odd[spec.wire] = value
        _warn(spec, ident, value, "kept it in `extra` and set the attribute to None")
        return None
    _warn(spec, ident, value, f"read it as {fixed!r}")
    return fixed


def _warn(spec: WireField, ident: str, value: Any, outcome: str) -> None:
    notes = _NOTES.get()
    if notes is not None:
        if spec.wire in notes:
            return
        notes.add(spec.wire)
    logger.warning(
        "conversation %r has %s=%s, not %s as expected; %s (said once per field and walk)",
        ident, spec.wire, _json_excerpt(value)[:80], _EXPECTED[spec.kind], outcome,
    )  # fmt: skip


_EXPECTED = {
    TEXT: "a string",
    COUNT: "a whole number",
    FLAG: "true or false",
    MS: "epoch milliseconds a date can hold",
    TEXTS: "a list of strings",
    NUMBERS: "a list of numbers",
    ENUM: "a string",
    ANY: "anything",
}


def _structure_source() -> str:
    """The generated hook: every known key read at once, each value checked against its
    field's kind with one type test on the common path (anything else goes to `_fix`),
    and what is left over kept as `extra`."""
    values = ", ".join(f"v{i}" for i in range(len(WIRE_FIELDS)))
    local = {"id": "ident", "extra": "extra"}
    local.update((spec.attribute, f"v{i}") for i, spec in enumerate(WIRE_FIELDS))
    lines = [
        "def structure(raw, type=type, tuple=tuple, len=len):",  # locals: quicker
        "    if type(raw) is not dict:",
        "        _invalid(raw, 'is not a JSON object')",
        # Every known key, absent ones as None, in the order of _KNOWN_WIRE; then others.
        "    every = {**_ABSENT, **raw}",
        f"    if len(every) == {len(_KNOWN_WIRE)}:",  # no other key: values in known order
        f"        ident, {values} = every.values()",
        "    else:",
        f"        ident, {values} = _known(every)",
        "    if type(ident) is not str or not ident:",
        "        _invalid(raw, 'has no string id')",
        "    odd = {}",
    ]
    for index, spec in enumerate(WIRE_FIELDS):
        v = f"v{index}"
        fix = f"_fix(ident, {index}, {v}, odd)"
        if spec.kind in _SCALAR_TYPES:
            expected = _SCALAR_TYPES[spec.kind]
            lines.append(f"    if type({v}) is not {expected} and {v} is not None:")
            lines.append(f"        {v} = {fix}")
        elif spec.kind == MS:
            out_of_range = f"type({v}) is not int or not {MS_MIN} <= {v} <= {MS_MAX}"
            lines.append(f"    if {v} is not None and ({out_of_range}):")
            lines.append(f"        {v} = {fix}")
        elif spec.kind == ENUM:
            lines.append(f"    if type({v}) is str:")
            lines.append(f"        {v} = _members_{spec.attribute}.get({v}, {v})")
            lines.append(f"    elif {v} is not None:")
            lines.append(f"        {v} = {fix}")
        elif spec.kind == TEXTS:
            lines.append(f"    if type({v}) is list:")
            lines.append("        try:")
            lines.append(f"            _join({v})  # only strings join")
            lines.append("        except TypeError:")
            lines.append(f"            {v} = {fix}")
            lines.append("        else:")
            lines.append(f"            {v} = tuple({v})")
            lines.append(f"    elif {v} is not None:")
            lines.append(f"        {v} = {fix}")
        elif spec.kind == NUMBERS:
            lines.append(f"    if type({v}) is list:")
            lines.append(f"        if len({v}) == 1 and type({v}[0]) is int:")
            lines.append(f"            {v} = ({v}[0],)")
            lines.append(f"        elif _NUMBER_TYPES.issuperset(map(type, {v})):")
            lines.append(f"            {v} = tuple({v})")
            lines.append("        else:")
            lines.append(f"            {v} = {fix}")
            lines.append(f"    elif {v} is not None:")
            lines.append(f"        {v} = {fix}")
        elif spec.kind == ANY:  # anything goes; an array as a tuple, as for every list
            lines.append(f"    if type({v}) is list:")
            lines.append(f"        {v} = tuple({v})")
    lines += [
        f"    if len(every) != {len(_KNOWN_WIRE)} or odd:",  # unknown keys, or odd values
        "        extra = _extra(raw, odd)",
        "    else:",
        "        extra = _EMPTY_EXTRA",
        *building_lines(local.__getitem__),
    ]
    return "\n".join(lines) + "\n"


def building_lines(value_of: Callable[[str], str]) -> list[str]:
    """Generated lines that build a `Conversation` from one expression per attribute
    (`value_of(name)`) and return it; they need `BUILDING_NAMES` in the namespace."""
    return [
        "    built = _new(_Builder)",  # every slot set below, no __init__ call
        *(f"    built.{a.name} = {value_of(a.name)}" for a in attrs.fields(Conversation)),
        "    built.__class__ = _Conversation",
        "    return built",
    ]


_KNOWN_WIRE = ("id", *(spec.wire for spec in WIRE_FIELDS))


def _extra(raw: dict[str, Any], odd: dict[str, Any]) -> Mapping[str, Any]:
    """The keys this version does not model, and the values no attribute could take."""
    known = _KNOWN_SET
    return MappingProxyType({**{k: v for k, v in raw.items() if k not in known}, **odd})


_KNOWN_SET = frozenset(_KNOWN_WIRE)


_SCALAR_TYPES = {TEXT: "str", COUNT: "int", FLAG: "bool"}


# A mutable class with Conversation's exact slots, so instances can be relabelled.
# (The generated hook sets the slots itself: the `__init__` attrs writes is not called.)
_Builder = attrs.make_class(
    "_ConversationBuilder",
    {a.name: attrs.field() for a in attrs.fields(Conversation)},
    slots=True,
    weakref_slot=False,
    eq=False,
    repr=False,
)

BUILDING_NAMES: dict[str, Any] = {
    "_new": object.__new__,
    "_Builder": _Builder,
    "_Conversation": Conversation,
}
"""What the lines of `building_lines` refer to."""


def compile_function(name: str, source: str, filename: str, namespace: dict[str, Any]) -> Any:
    """The function `name` that `source` defines, compiled in `namespace`.

    As attrs does for its generated methods, the source is registered with `linecache`
    under `filename`, so tracebacks and debuggers show its lines.
    """
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


def _compile_structure() -> Callable[[dict[str, Any]], Conversation]:
    namespace: dict[str, Any] = {
        "_invalid": _invalid,
        "_fix": _fix,
        "_extra": _extra,
        "_ABSENT": dict.fromkeys(_KNOWN_WIRE),
        "_known": operator.itemgetter(*_KNOWN_WIRE),
        "_join": "".join,
        "_NUMBER_TYPES": frozenset({int, float}),
        "_EMPTY_EXTRA": EMPTY_EXTRA,
        **BUILDING_NAMES,
    }
    for spec in WIRE_FIELDS:
        if spec.enum is not None:
            namespace[f"_members_{spec.attribute}"] = spec.members()
    function: Callable[[Any], Conversation] = compile_function(
        "structure", _structure_source(), "<leadway_async generated structure>", namespace
    )
    return function


structure_conversation = _compile_structure()
"""A wire JSON object as a `Conversation`; `ResponseValidationError` if it is not one."""


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
"""A page's `conversations` list, as decoded from a body."""


def _structure_decoded(items: list[Any], _: object) -> tuple[Conversation, ...]:
    return tuple([structure_conversation(item) for item in items])


converter.register_structure_hook(DecodedItems, _structure_decoded)


_JSON = msgspec.json.Decoder()


def decode_json(body: bytes, *, status: int | None = None, request_id: str | None = None) -> Any:
    """A response body decoded as JSON; `ResponseDecodeError` if it is not JSON.

    msgspec decodes every body the API sends, as it decodes search pages straight into
    models (`_fast_pages`): a value reads the same whichever way its page took (whole
    numbers past 64 bits, for one, stay exact).
    """
    try:
        return _JSON.decode(body)
    except msgspec.DecodeError as exc:
        raise ResponseDecodeError(
            f"the response body is not valid JSON ({exc})",
            status=status,
            body=body,
            request_id=request_id,
        ) from None


def page_from_payload(
    payload: Any,
    *,
    rate_limit: RateLimit,
    request_id: str | None,
    status: int | None = None,
    body: bytes | None = None,
    sort_by: str = DEFAULT_SORT_BY,
    notes: set[str] | None = None,
) -> ConversationPage:
    """A decoded 200 body as a `ConversationPage`; `ResponseValidationError` if malformed.

    `sort_by` is the order the page was asked in (for `next_cursor`); `notes` holds the
    fields already warned about in this walk (None: warn for this page alone). An error
    carries `status`, `request_id` and an excerpt of `body` (already redacted).
    """

    def malformed(reason: str) -> ResponseValidationError:
        return ResponseValidationError(reason, status=status, body=body, request_id=request_id)

    if not isinstance(payload, Mapping):
        raise malformed("the response is not a JSON object")
    items = payload.get("conversations")
    if not isinstance(items, list):
        raise malformed("the response has no 'conversations' list")
    total = payload.get("total")
    if total is not None and (type(total) not in (int, float) or total < 0):
        raise malformed(f"the response has total={total!r}, expected a count")
    warned = _NOTES.set(set() if notes is None else notes)
    try:
        conversations: tuple[Conversation, ...] = converter.structure(items, DecodedItems)
    except ResponseValidationError as exc:
        # The item at fault goes in the reason; the error carries the page's body.
        item = exc.body_excerpt
        raise malformed(f"{exc.reason}: {item}" if item else exc.reason) from None
    finally:
        _NOTES.reset(warned)
    return new_page(
        conversations, total, sort_by=sort_by, rate_limit=rate_limit, request_id=request_id
    )


def new_page(
    conversations: tuple[Conversation, ...],
    total: float | None,
    *,
    sort_by: str,
    rate_limit: RateLimit,
    request_id: str | None,
) -> ConversationPage:
    """The page of `conversations` (`total` a count already checked), with its cursor."""
    return ConversationPage(
        conversations=conversations,
        total=None if total is None else int(total),
        next_cursor=_next_cursor(conversations, sort_by),
        rate_limit=rate_limit,
        request_id=request_id,
    )


def _next_cursor(conversations: tuple[Conversation, ...], sort_by: str) -> int | float | None:
    if not conversations:
        return None
    try:
        return sort_value(conversations[-1], sort_by)
    except PaginationError:
        return None  # no cursor can point past it
