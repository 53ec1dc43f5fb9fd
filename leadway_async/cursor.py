"""The cursor rule: where a walk stands, what to ask next, what is new (pure, no I/O).

The API returns conversations strictly after `startAfterDate` in the sort direction, so
conversations sharing the sort value of the last one handed out would be skipped by a
naive walk. A walk therefore always re-asks from just before that value and drops the
ids it already handed out at that value: the only ids it ever has to remember.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from attrs import evolve, frozen

from .errors import PaginationError, ParameterError
from .models import Conversation, ConversationPage

__all__ = [
    "DEFAULT_ORDER",
    "MAX_LIMIT",
    "PageOutcome",
    "WalkState",
    "filters_fingerprint",
    "read_page",
    "sort_value",
    "walk_order",
    "wire_number",
]

MAX_LIMIT = 100
"""The API's widest page."""

DEFAULT_ORDER = "desc"
"""The order the API walks in when no `sort` is sent: newest first."""

_TOKEN_PREFIX = "lw1."
# Parameters that do not change which conversations a walk yields, or in what order.
_NOT_IN_FINGERPRINT = frozenset({"limit"})


def filters_fingerprint(query: Mapping[str, str]) -> str:
    """A short digest of the wire query that identifies a walk (page size excluded)."""
    canonical = sorted((k, v) for k, v in query.items() if k not in _NOT_IN_FINGERPRINT)
    return hashlib.sha256(orjson.dumps(canonical)).hexdigest()[:16]


def walk_order(query: Mapping[str, str]) -> str:
    """The order a wire query walks in: its `sort`, else the API's default."""
    return query.get("sort", DEFAULT_ORDER)


def sort_value(conversation: Conversation) -> Any:
    """The value a conversation sorts by: its `sort[0]`, else its `lastMessageDate`."""
    if conversation.sort:
        return conversation.sort[0]
    return conversation.last_message_date_ms


def wire_number(value: int | float) -> str:
    """A number as the query string carries it: integers plainly, floats exactly."""
    return str(value) if isinstance(value, int) else repr(value)


def _just_before(value: int | float, order: str) -> int | float:
    """The cursor that makes the API return `value` itself again."""
    if isinstance(value, int):
        return value - 1 if order == "asc" else value + 1
    return math.nextafter(value, -math.inf if order == "asc" else math.inf)


@frozen
class WalkState:
    """Where a walk stands: just after the last conversation handed out.

    `boundary` is that conversation's sort value, `boundary_ids` the ids handed out with
    that same value, `handed_out` how many conversations the walk has handed out so far.
    """

    fingerprint: str
    order: str
    boundary: int | float | None = None
    boundary_ids: frozenset[str] = frozenset()
    handed_out: int = 0

    def next_query(self, base: Mapping[str, str], page_size: int) -> dict[str, str]:
        """The wire query for the page after this point, page widened past known ties."""
        if len(self.boundary_ids) >= MAX_LIMIT:
            raise PaginationError(
                f"at least {len(self.boundary_ids)} conversations share the sort value "
                f"{self.boundary}; the API's cursor cannot step past a run longer than its "
                f"widest page ({MAX_LIMIT}) without skipping some"
            )
        query = dict(base)
        if self.boundary is not None:
            query["startAfterDate"] = wire_number(_just_before(self.boundary, self.order))
        query["limit"] = str(min(MAX_LIMIT, page_size + len(self.boundary_ids)))
        return query

    def after(self, conversations: Sequence[Conversation]) -> tuple[WalkState, list[Conversation]]:
        """The state after handing out the new ones among `conversations`, and those.

        Conversations at the boundary value already handed out are dropped; anything
        before the boundary in the sort direction means the cursor went backwards.
        Runs once per page, so the work per conversation is kept to list operations.
        """
        if not conversations:
            return self, []
        values = [sort_value(c) for c in conversations]
        _check_order(values, conversations, self.order, self.boundary)
        boundary, seen = self.boundary, self.boundary_ids
        fresh = list(conversations)
        if values[0] == boundary:  # the page starts inside the run handed out last time
            run = next((i for i, v in enumerate(values) if v != boundary), len(values))
            fresh = [c for c in fresh[:run] if c.id not in seen] + fresh[run:]
        if not fresh:
            return self, fresh
        last = values[-1]
        run_start = len(values)
        while run_start and values[run_start - 1] == last:
            run_start -= 1
        run_ids = {c.id for c in conversations[run_start:]}
        if last == boundary:
            run_ids |= seen
        state = evolve(
            self,
            boundary=last,
            boundary_ids=frozenset(run_ids),
            handed_out=self.handed_out + len(fresh),
        )
        return state, fresh

    def to_token(self) -> str:
        """This position as an opaque ASCII string, safe to store."""
        payload = {
            "f": self.fingerprint,
            "o": self.order,
            "b": self.boundary,
            "i": sorted(self.boundary_ids),
            "n": self.handed_out,
        }
        return _TOKEN_PREFIX + base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str, *, fingerprint: str, order: str) -> WalkState:
        """The position a token records; `ValueError` if it is not one or belongs elsewhere."""
        payload = _decode_token(token)
        if payload["f"] != fingerprint or payload["o"] != order:
            raise ParameterError(
                "resume_token belongs to a walk with other filters; resume with the same "
                "filters (and location) as the walk that produced it"
            )
        return cls(
            fingerprint=fingerprint,
            order=order,
            boundary=payload["b"],
            boundary_ids=frozenset(payload["i"]),
            handed_out=payload["n"],
        )


def _check_order(
    values: list[Any], conversations: Sequence[Conversation], order: str, boundary: Any
) -> None:
    """Raise `PaginationError` unless the values are usable and follow the sort order."""
    if not all(type(v) in (int, float) for v in values):
        index = next(i for i, v in enumerate(values) if type(v) not in (int, float))
        conversation = conversations[index]
        raise PaginationError(
            f"conversation {conversation.id!r} has no usable sort value "
            f"(sort={conversation.sort!r}, lastMessageDate="
            f"{conversation.last_message_date_ms!r})"
        )
    ascending = order == "asc"
    in_order = values == sorted(values, reverse=not ascending)
    if in_order and boundary is not None:
        first = values[0]
        in_order = first >= boundary if ascending else first <= boundary
    if not in_order:
        raise PaginationError(
            f"the cursor went backwards: the API returned sort values {values[:3]}... after "
            f"{boundary} in {order}ending order"
        )


def _decode_token(token: Any) -> dict[str, Any]:
    invalid = ParameterError("resume_token is not a resume token from this SDK")
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise invalid
    body = token[len(_TOKEN_PREFIX) :]
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise invalid from None
    ok = (
        isinstance(payload, dict)
        and isinstance(payload.get("f"), str)
        and payload.get("o") in ("asc", "desc")
        and (payload.get("b") is None or type(payload.get("b")) in (int, float))
        and isinstance(payload.get("i"), list)
        and all(isinstance(i, str) for i in payload["i"])
        and type(payload.get("n")) is int
        and payload["n"] >= 0
    )
    if not ok:
        raise invalid
    checked: dict[str, Any] = payload
    return checked


@frozen
class PageOutcome:
    """What one page means for a walk.

    `fresh` are the conversations not handed out before, in order; `end_state` is the
    state once all of them are handed out; `is_last` says the walk ends with this page;
    `suspect_end` marks an empty page although `total` says more conversations match.
    """

    fresh: tuple[Conversation, ...]
    end_state: WalkState
    is_last: bool
    suspect_end: bool = False


def read_page(state: WalkState, page: ConversationPage, asked_limit: int) -> PageOutcome:
    """Apply the cursor rule to a page fetched from `state` with `limit=asked_limit`."""
    end_state, fresh = state.after(page.conversations)
    received = len(page.conversations)
    total_reached = page.total is not None and end_state.handed_out >= page.total
    if received >= asked_limit and not fresh and not total_reached:
        raise PaginationError(
            f"the API returned a full page of {received} conversations already handed out; "
            "the cursor did not advance"
        )
    is_last = received < asked_limit or total_reached
    suspect_end = received == 0 and page.total is not None and page.total > state.handed_out
    return PageOutcome(tuple(fresh), end_state, is_last, suspect_end)
