"""The control path `GET /_emulator/live`: the live ground truth for a client in another process.

It is not part of the API: it needs the bearer token, but is neither rate limited nor
recorded. `from` and `to` (Unix seconds by the emulator's clock) give the span; every other
parameter is a search filter, as in a search (sort, cursor and limit are checked, then
ignored). The answer maps `present_throughout`, `matching_throughout`, `moved`, `created`,
`deleted` and `read` to sorted lists of ids; a bad query is a 422.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import orjson

from .bodies import error_body
from .live import LiveWorld
from .query import QueryError, parse_query

__all__ = ["LIVE_PATH", "answer_live"]

LIVE_PATH = "/_emulator/live"


def answer_live(
    live: LiveWorld, pairs: Iterable[tuple[str, str]], *, trace_id: str
) -> tuple[int, bytes]:
    """The status and JSON body answering a control-path query."""
    span: dict[str, float] = {}
    rest: list[tuple[str, str]] = []
    errors: list[str] = []
    for name, value in pairs:
        if name not in ("from", "to"):
            rest.append((name, value))
        elif name in span:
            errors.append(f"{name} must be a single value, not an array")
        else:
            span[name] = _seconds(value)
            if math.isnan(span[name]):
                errors.append(f"{name} must be a number of Unix seconds")
    errors += [f"{name} is required" for name in ("from", "to") if name not in span]
    try:
        filters = parse_query(rest).filters
    except QueryError as exc:
        errors += exc.messages
    if not errors:
        try:
            report = live.report(filters, span["from"], span["to"])
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        return 422, error_body(422, errors, trace_id=trace_id)
    return 200, orjson.dumps({name: sorted(ids) for name, ids in report.items()})


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan
