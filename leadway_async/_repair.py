"""Field values of an unexpected type: converted where that loses nothing (pure rules).

The structuring code calls `repaired()` only for a value whose type is not the one its
field expects. It returns the value converted, or `UNREPAIRABLE`: the attribute is then
None, and the value is kept as it came in `extra`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from enum import Enum
from typing import Any, Final

from .models import ANY, COUNT, ENUM, EPOCH, FLAG, MS, NUMBERS, TEXT, TEXTS, datetime_to_ms

__all__ = ["MS_MAX", "MS_MIN", "UNREPAIRABLE", "repaired"]

UNREPAIRABLE: Final = object()

MS_MIN = datetime_to_ms(datetime.min.replace(tzinfo=EPOCH.tzinfo))
MS_MAX = datetime_to_ms(datetime.max.replace(tzinfo=EPOCH.tzinfo))
"""The epoch milliseconds a `datetime` can hold (years 1 to 9999)."""

_DIGITS = re.compile(r"[+-]?[0-9]+")
_FLAGS = {"true": True, "false": False}


def repaired(kind: str, value: Any, enum: type[Enum] | None = None) -> Any:
    """`value`, of an unexpected type for a field of `kind`, converted without loss;
    `UNREPAIRABLE` when that cannot be done."""
    if kind == TEXT:
        return _text(value)
    if kind == COUNT:
        return _whole(value)
    if kind == FLAG:
        return _flag(value)
    if kind == MS:
        return _ms(value)
    if kind == TEXTS:
        return _items(value, _text)
    if kind == NUMBERS:
        return _items(value, _number)
    if kind == ENUM and enum is not None:
        return UNREPAIRABLE  # an enum field takes strings only: a member or the raw value
    if kind == ANY:
        return value
    raise ValueError(f"no such kind of field: {kind!r}")


def _text(value: Any) -> Any:
    """A number is text without loss; nothing else is."""
    if type(value) is str:
        return value
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return str(value)
    return UNREPAIRABLE


def _whole(value: Any) -> Any:
    """A whole number: from an int, a float with nothing after the point, or digits."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and _DIGITS.fullmatch(value.strip()):
        return int(value)
    return UNREPAIRABLE


def _flag(value: Any) -> Any:
    """A boolean: from the words true and false, or the numbers 0 and 1."""
    if type(value) is bool:
        return value
    if type(value) is str:
        return _FLAGS.get(value.strip().lower(), UNREPAIRABLE)
    if type(value) in (int, float) and value in (0, 1):
        return bool(value)
    return UNREPAIRABLE


def _ms(value: Any) -> Any:
    """Epoch milliseconds a datetime can hold: an int, a float (the model keeps whole
    milliseconds), digits, or an ISO 8601 time with its offset."""
    ms = math.floor(value) if type(value) is float and math.isfinite(value) else _whole(value)
    if ms is UNREPAIRABLE and type(value) is str:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return UNREPAIRABLE
        if parsed.tzinfo is None:
            return UNREPAIRABLE
        ms = datetime_to_ms(parsed)
    if ms is UNREPAIRABLE or not MS_MIN <= ms <= MS_MAX:
        return UNREPAIRABLE
    return ms


def _number(value: Any) -> Any:
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return value
    return UNREPAIRABLE


def _items(value: Any, item: Any) -> Any:
    """A list whose every item is of its kind, as a tuple."""
    if type(value) not in (list, tuple):
        return UNREPAIRABLE
    items = tuple(item(element) for element in value)
    if any(element is UNREPAIRABLE for element in items):
        return UNREPAIRABLE
    return items
