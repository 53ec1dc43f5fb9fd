"""The parts of a scan: ranges of sort values, how they are cut, split and resumed (pure).

A scan walks oldest first in several ranges at once. A range holds the conversations
whose sort value is after its start and up to its end; the last range has no end, so it
also takes what arrives or moves to the newest end while the scan runs. Each range is
walked with the cursor rule of `cursor.py` (a `WalkState` whose `end` is the range's),
so a run of equal values always belongs to one range and is walked as a walk walks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from attrs import evolve, frozen

from . import tokens
from .cursor import INT64_MAX, SortValue, WalkState
from .errors import ParameterError

__all__ = ["ScanPosition", "cut", "middle", "range_after", "remaining"]


def range_after(template: WalkState, start: SortValue, end: SortValue | None) -> WalkState:
    """A range of the scan `template` belongs to: values after `start`, up to `end`."""
    return WalkState(
        fingerprint=template.fingerprint,
        order=template.order,
        sort_by=template.sort_by,
        boundary=start,
        passed=True,
        end=end,
        cap=template.cap,
        most=template.most,
        counted=template.counted,
    )


def middle(low: SortValue, high: SortValue) -> SortValue | None:
    """A value strictly between `low` and `high`, halfway; None when there is none."""
    if isinstance(low, int) and isinstance(high, int):
        mid = low + (high - low) // 2
        return mid if low < mid < high else None
    mid_float = (low + high) / 2
    return mid_float if low < mid_float < high else None


def cut(first: WalkState, top: SortValue | None, parts: int) -> list[WalkState]:
    """The ranges a scan starts with, after its first page left it at `first`.

    What lies between `first` and `top` (the latest value at the start) is cut into
    `parts` ranges of equal width; the first continues from `first`, the last has no end.
    """
    start = first.boundary
    if start is None or top is None or parts < 2 or not top > start:
        return [evolve(first, end=None)]
    bounds: list[SortValue] = []
    for index in range(1, parts):
        value = start + (top - start) * index / parts
        bound: SortValue = int(value) if isinstance(start, int) and isinstance(top, int) else value
        if bound > (bounds[-1] if bounds else start):
            bounds.append(bound)
    ranges = [evolve(first, end=bounds[0] if bounds else None)]
    for index, bound in enumerate(bounds):
        following = bounds[index + 1] if index + 1 < len(bounds) else None
        ranges.append(range_after(first, bound, following))
    return ranges


def remaining(walked: WalkState, density: float | None, latest: SortValue | None) -> float:
    """About how many conversations a range has left, from where its walker stands.

    The width left (up to its end, or for the last range up to the `latest` value seen)
    times the `density` (conversations per unit of value) its last page showed.
    """
    start, end = walked.boundary, walked.end if walked.end is not None else latest
    if start is None or end is None or density is None or not end > start:
        return 0.0
    return float(end - start) * density


@frozen
class ScanPosition:
    """Where a scan stands: its ranges not handed out to their end, and its count."""

    fingerprint: str
    ranges: tuple[WalkState, ...]
    handed_out: int = 0

    def to_token(self) -> str:
        """This position as an opaque ASCII string, safe to store."""
        payload = {
            "f": self.fingerprint,
            "n": self.handed_out,
            "r": [state.to_payload() for state in self.ranges],
        }
        return tokens.encode(tokens.SCAN, payload)

    @classmethod
    def from_token(cls, token: str, *, fresh: WalkState) -> ScanPosition:
        """The position a scan token records, for the scan `fresh` starts; `ParameterError`
        saying why if it is not one or belongs to a scan with other filters."""
        _, payload = tokens.decode(token, (tokens.SCAN,))
        if payload.get("f") != fresh.fingerprint:
            raise ParameterError(
                "resume_token belongs to a scan with other filters; resume with the same "
                "filters (and location) as the scan that produced it"
            )
        ranges, count = payload.get("r"), payload.get("n")
        if not (_ranges(ranges) and type(count) is int and 0 <= count <= INT64_MAX):
            raise ParameterError("resume_token is damaged: it does not hold a scan's position")
        states = tuple(WalkState.from_payload(item, fresh) for item in ranges)
        if sum(1 for state in states if state.end is None) != 1:
            raise ParameterError("resume_token is damaged: one range, the last, has no end")
        return cls(fresh.fingerprint, states, count)


def _ranges(value: Any) -> TypeGuard[list[Mapping[str, Any]]]:
    return (
        isinstance(value, list)
        and 0 < len(value) <= 64
        and all(isinstance(item, Mapping) for item in value)
    )
