"""The cursor rule: where a walk stands, what to ask next, what is new (pure, no I/O).

The API returns conversations strictly after `startAfterDate` in the sort direction, so
conversations sharing the sort value of the last one handed out would be skipped by a
naive walk. A walk therefore re-asks from just before that value and drops the ids it
already handed out at that value: the only ids it has to remember. A run of equal values
too long for the widest page is stepped through in windows of `dateAdded` (the API's
`startDate`/`endDate` filters, within the caller's own), each small enough for one page.

A walk is made of passes. The first goes through everything. On a location that changes
while it runs, a conversation that gets a message moves to the newest end: behind the
cursor of a newest-first walk. So a newest-first walk whose pass took more than one page
goes again: from the top down to the first value the pass before handed out. A pass
that fits in one page is a snapshot of everything above that value, and ends the walk.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from attrs import evolve, frozen

from . import tokens
from .errors import PaginationError, ParameterError
from .models import Conversation, ConversationPage

__all__ = [
    "DEFAULT_ORDER",
    "DEFAULT_SORT_BY",
    "MAX_LIMIT",
    "PageOutcome",
    "SortValue",
    "Split",
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

DEFAULT_SORT_BY = "last_message_date"
"""The field the API sorts by when no `sortBy` is sent."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGERS = frozenset({int})

SortValue = int | float

# Parameters that do not change which conversations a walk yields, or in what order.
_NOT_IN_FINGERPRINT = frozenset({"limit"})


def filters_fingerprint(query: Mapping[str, str]) -> str:
    """A short digest of the wire query that identifies a walk (page size excluded)."""
    canonical = sorted((k, v) for k, v in query.items() if k not in _NOT_IN_FINGERPRINT)
    return hashlib.sha256(orjson.dumps(canonical)).hexdigest()[:16]


def walk_order(query: Mapping[str, str]) -> str:
    """The order a wire query walks in: its `sort`, else the API's default."""
    return query.get("sort", DEFAULT_ORDER)


def wire_number(value: int | float) -> str:
    """A number as the query string carries it: whole numbers plainly, others exactly."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value) if isinstance(value, int) else repr(value)


class _Unwalkable(Exception):
    """A conversation whose sort value no cursor can point past."""


def sort_value(conversation: Conversation, sort_by: str = DEFAULT_SORT_BY) -> SortValue:
    """The value a conversation sorts by under `sort_by`.

    Its `sort[0]`; where `sort` is absent and the order is the default one, its
    `lastMessageDate`. `PaginationError` when it has none a cursor can use: no value, a
    null, more than one element, or a number outside the signed 64-bit range.
    """
    try:
        return _value(conversation, sort_by)
    except _Unwalkable as exc:
        raise PaginationError(str(exc)) from None


def _value(conversation: Conversation, sort_by: str) -> SortValue:
    sort = conversation.sort
    if not sort:
        odd = conversation.extra.get("sort")
        if odd is not None:  # a sort of a shape the model could not take: kept in extra
            raise _Unwalkable(
                f"conversation {conversation.id!r} has the sort value {odd!r}, which no "
                "cursor can point past"
            )
        if sort_by == DEFAULT_SORT_BY and conversation.last_message_date_ms is not None:
            return conversation.last_message_date_ms
        raise _Unwalkable(f"conversation {conversation.id!r} has no sort value")
    if len(sort) != 1:
        raise _Unwalkable(
            f"conversation {conversation.id!r} has a sort value of {len(sort)} elements "
            f"({list(sort)!r}); the API's cursor is one number, so the walk cannot be "
            "placed between conversations that share the first"
        )
    value = sort[0]
    if type(value) not in (int, float):
        raise _Unwalkable(
            f"conversation {conversation.id!r} has the sort value {value!r}, which no "
            "cursor can point past"
        )
    if not (math.isfinite(value) and INT64_MIN <= value <= INT64_MAX):
        raise _Unwalkable(
            f"conversation {conversation.id!r} has the sort value {value!r}, outside the "
            "signed 64-bit range a cursor can carry"
        )
    return value


def _just_before(value: SortValue, order: str) -> SortValue:
    """The cursor that makes the API return `value` itself again.

    Whole numbers step one unit, floats among them, so that a server reading the cursor
    as an integer sees the same step.
    """
    if isinstance(value, int) or value.is_integer():
        return int(value) - 1 if order == "asc" else int(value) + 1
    return math.nextafter(value, -math.inf if order == "asc" else math.inf)


def _beyond(value: SortValue, bound: SortValue, order: str) -> bool:
    """Whether `value` comes after `bound` in the walk's order."""
    return value > bound if order == "asc" else value < bound


@frozen
class Split:
    """Stepping through a run of equal sort values in windows of `dateAdded`.

    The run's value is the walk's boundary. `seen` are the ids with it handed out before
    the split began. The window is `start`..`end` in epoch ms, inclusive (`end` None:
    up to the caller's `high`); `low` and `high` are the caller's own date filters
    (None: none). `total` is how many conversations matched before the split, checked
    against the first window's count, which holds only conversations with a
    `dateAdded`; then None. `latest` is the latest `dateAdded` seen in the run: windows
    starting past it are left open.
    """

    seen: frozenset[str]
    start: int
    end: int | None = None
    low: int | None = None
    high: int | None = None
    total: int | None = None
    latest: int | None = None


@frozen
class WalkState:
    """Where a walk stands: just after the last conversation handed out.

    `boundary` is that conversation's sort value and `boundary_ids` the ids handed out
    with it (`passed`: every conversation with it has been). `handed_out` counts the
    whole walk. The pass stops after `end` (None: at the end of the data), where
    `end_ids` were handed out already (None: the pass stops before `end`). `top` and
    `top_ids` are the first value this pass handed out and the ids with it (None: too
    many to keep); `paged` says the pass has read a page before. `cap` is the widest page
    the server gives and `most` the widest it has given; `ending` is the size of a short
    page that `total` said was not the end, and `again` marks an empty page asked again.
    `counted` says `handed_out` can be held against the API's `total`: not when the walk
    began after a caller's `startAfterDate`, since `total` may count what lies before it.
    """

    fingerprint: str
    order: str
    sort_by: str = DEFAULT_SORT_BY
    catch_up: bool = False
    boundary: SortValue | None = None
    boundary_ids: frozenset[str] = frozenset()
    passed: bool = False
    handed_out: int = 0
    split: Split | None = None
    end: SortValue | None = None
    end_ids: frozenset[str] | None = frozenset()
    top: SortValue | None = None
    top_ids: frozenset[str] | None = frozenset()
    paged: bool = False
    cap: int = MAX_LIMIT
    most: int = 0
    ending: int = 0
    again: bool = False
    counted: bool = True

    @classmethod
    def start(cls, query: Mapping[str, str], *, catch_up: bool | None = None) -> WalkState:
        """The start of a walk over `query`; newest-first walks catch up unless told."""
        order = walk_order(query)
        return cls(
            fingerprint=filters_fingerprint(query),
            order=order,
            sort_by=query.get("sortBy", DEFAULT_SORT_BY),
            catch_up=order == "desc" if catch_up is None else catch_up,
            counted="startAfterDate" not in query,
        )

    def next_query(self, base: Mapping[str, str], page_size: int) -> dict[str, str]:
        """The wire query for the page after this point, page widened past known ties."""
        query = dict(base)
        if self.boundary is not None:
            cursor = self.boundary if self.passed else _just_before(self.boundary, self.order)
            if not INT64_MIN <= cursor <= INT64_MAX:
                raise self.error(f"the next cursor, {cursor!r}, is outside the signed 64-bit range")
            query["startAfterDate"] = wire_number(cursor)
        split = self.split
        if split is None:
            # Widened by the ids the page will bring again: at the boundary, and at the end.
            again = len(self.boundary_ids) + len(self.end_ids or ())
            query["limit"] = str(min(self.cap, page_size + again))
            return query
        query["startDate"] = str(split.start)
        end = split.high if split.end is None else split.end
        if end is None:
            query.pop("endDate", None)
        else:
            query["endDate"] = str(end)
        query["limit"] = str(self.cap)
        return query

    def after(
        self, conversations: Sequence[Conversation], values: list[SortValue] | None = None
    ) -> WalkState:
        """The state once `conversations`, new ones of a page in order, are handed out
        (`values`: their sort values, when known). The pass has then read a page: a walk
        resumed from here may meet changes made since, so its pass ends with a catch-up."""
        if not conversations:
            return self
        if values is None:
            values = self.values_of(conversations)
        count = self.handed_out + len(conversations)
        if self.split is not None:
            ids = self.boundary_ids | {c.id for c in conversations}
            state = evolve(self, boundary_ids=ids, handed_out=count, paged=True)
        else:
            last = values[-1]
            run_start = len(values)
            while run_start and values[run_start - 1] == last:
                run_start -= 1
            run_ids = {c.id for c in conversations[run_start:]}
            if last == self.boundary and not self.passed:
                run_ids |= self.boundary_ids
            state = evolve(
                self,
                boundary=last,
                boundary_ids=frozenset(run_ids),
                passed=False,
                handed_out=count,
                paged=True,
            )
        return state._with_top(conversations, values)

    def _with_top(
        self, conversations: Sequence[Conversation], values: list[SortValue]
    ) -> WalkState:
        """This state with the pass's first value, and the ids handed out with it."""
        top = values[0] if self.top is None else self.top
        if values[0] != top:  # values follow the walk's order: none of them is the top
            return self
        if self.top_ids is None:
            return evolve(self, top=top)
        ids = self.top_ids | {c.id for c, v in zip(conversations, values, strict=True) if v == top}
        return evolve(self, top=top, top_ids=ids if len(ids) < MAX_LIMIT else None)

    def values_of(self, conversations: Sequence[Conversation]) -> list[SortValue]:
        """The sort values of `conversations`; `PaginationError` for one without any."""
        try:  # the common case, checked a page at a time: one integer each, in range
            values: list[SortValue] = [c.sort[0] for c in conversations if len(c.sort) == 1]  # type: ignore[arg-type,index]
        except TypeError:  # a conversation without `sort`
            pass
        else:
            if (
                len(values) == len(conversations)
                and _INTEGERS.issuperset(map(type, values))
                and (not values or (min(values) >= INT64_MIN and max(values) <= INT64_MAX))
            ):
                return values
        return [self.value_of(c) for c in conversations]

    def value_of(self, conversation: Conversation) -> SortValue:
        """`conversation`'s sort value in this walk; `PaginationError` if it has none."""
        try:
            return _value(conversation, self.sort_by)
        except _Unwalkable as exc:
            raise self.error(str(exc)) from None

    def error(self, why: str) -> PaginationError:
        """A `PaginationError` naming the order, saying `why`, resuming from here."""
        return PaginationError(
            f"cannot walk conversations sorted by {self.sort_by} in {self.order}ending "
            f"order: {why}",
            resume_token=self.to_token(),
        )

    def to_token(self) -> str:
        """This position as an opaque ASCII string, safe to store."""
        return tokens.encode(tokens.WALK, self.to_payload())

    @classmethod
    def from_token(cls, token: str, *, query: Mapping[str, str]) -> WalkState:
        """The position a token records; `ParameterError` saying why if it is not one
        or belongs to a walk with other filters."""
        prefix, payload = tokens.decode(token, (tokens.WALK, tokens.OLD_WALK))
        fresh = cls.start(query)
        if prefix == tokens.OLD_WALK:
            _check_fields(payload, _OLD_FIELDS)
            _check_filters(payload, fresh)
            # A token from before catch-up passes: it does not say where the walk began,
            # so the walk goes on to its end as it would have then, without catching up.
            return evolve(
                fresh,
                boundary=payload["b"],
                boundary_ids=frozenset(payload["i"]),
                handed_out=payload["n"],
                catch_up=False,
            )
        return cls.from_payload(payload, fresh)

    def to_payload(self) -> dict[str, Any]:
        """This position as a JSON object (what a token holds)."""
        payload: dict[str, Any] = {
            "f": self.fingerprint,
            "o": self.order,
            "b": self.boundary,
            "i": sorted(self.boundary_ids),
            "p": self.passed,
            "n": self.handed_out,
            "e": self.end,
            "ei": _sorted_or_none(self.end_ids),
            "t": self.top,
            "ti": _sorted_or_none(self.top_ids),
            "pg": self.paged,
            "c": self.catch_up,
            "k": self.cap,
            "m": self.most,
            "g": self.ending,
            "a": self.again,
        }
        if self.split is not None:
            s = self.split
            payload["s"] = [sorted(s.seen), s.start, s.end, s.low, s.high, s.total, s.latest]
        return payload

    @classmethod
    def from_payload(cls, payload: Any, fresh: WalkState) -> WalkState:
        """The position `payload` records, every field checked, for the walk `fresh` starts;
        `ParameterError` saying why if it is not one or belongs to a walk with other
        filters."""
        if not isinstance(payload, dict):
            raise ParameterError("resume_token is damaged: it does not hold a walk's position")
        _check_fields(payload, _FIELDS)
        _check_filters(payload, fresh)
        split = payload.get("s")
        return evolve(
            fresh,
            boundary=payload["b"],
            boundary_ids=frozenset(payload["i"]),
            passed=payload["p"],
            handed_out=payload["n"],
            split=None if split is None else Split(frozenset(split[0]), *split[1:]),
            end=payload["e"],
            end_ids=_frozen_or_none(payload["ei"]),
            top=payload["t"],
            top_ids=_frozen_or_none(payload["ti"]),
            paged=payload["pg"],
            catch_up=payload["c"],
            cap=payload["k"],
            most=payload["m"],
            ending=payload["g"],
            again=payload["a"],
        )


def _sorted_or_none(ids: frozenset[str] | None) -> list[str] | None:
    return None if ids is None else sorted(ids)


def _frozen_or_none(ids: list[str] | None) -> frozenset[str] | None:
    return None if ids is None else frozenset(ids)


Check = Callable[[Any], bool]


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _ids(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, str) for i in value)


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _flag(value: Any) -> bool:
    return type(value) is bool


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


_OLD_FIELDS: dict[str, Check] = {
    "f": lambda v: isinstance(v, str),
    "o": lambda v: v in ("asc", "desc"),
    "b": _optional(_number),
    "i": _ids,
    "n": _count,
}
_FIELDS: dict[str, Check] = {
    **_OLD_FIELDS,
    "p": _flag,
    "e": _optional(_number),
    "ei": _optional(_ids),
    "t": _optional(_number),
    "ti": _optional(_ids),
    "pg": _flag,
    "c": _flag,
    "k": lambda v: _count(v) and 1 <= v <= MAX_LIMIT,
    "m": _count,
    "g": _count,
    "a": _flag,
}
_SPLIT_FIELDS: tuple[Check, ...] = (
    _ids, _count, *[_optional(_count)] * 2, _optional(_count), _optional(_count),
    _optional(_count),
)  # fmt: skip


def _check_fields(payload: dict[str, Any], fields: dict[str, Check]) -> None:
    """`ParameterError` naming every field of a token's payload that is not valid."""
    bad = [name for name, check in fields.items() if not check(payload.get(name))]
    split = payload.get("s")
    if split is not None and not (
        fields is _FIELDS
        and payload.get("b") is not None  # the run stepped through is at the boundary
        and isinstance(split, list)
        and len(split) == len(_SPLIT_FIELDS)
        and all(check(v) for check, v in zip(_SPLIT_FIELDS, split, strict=True))
    ):
        bad.append("s")
    if bad:
        raise ParameterError(
            f"resume_token is damaged: its field(s) {', '.join(bad)} are not valid"
        )


def _check_filters(payload: dict[str, Any], fresh: WalkState) -> None:
    if payload["f"] != fresh.fingerprint or payload["o"] != fresh.order:
        raise ParameterError(
            "resume_token belongs to a walk with other filters; resume with the same "
            "filters (and location) as the walk that produced it"
        )


@frozen
class PageOutcome:
    """What one page means for a walk.

    `fresh` are the conversations not handed out before, in order; `end_state` is the
    state once all of them are handed out; `is_last` says the walk ends with this page.
    """

    fresh: tuple[Conversation, ...]
    end_state: WalkState
    is_last: bool

    def stopped_after(self, start: WalkState, handed: int) -> WalkState:
        """Where a walk stands once the first `handed` of `fresh` are handed out, the page
        having been read from `start`. Short of all of them, the widest page seen is
        kept: a walk resumed there reads a short page as the walk would have gone on to."""
        if handed == len(self.fresh):
            return self.end_state
        return evolve(start.after(self.fresh[:handed]), most=self.end_state.most)


def read_page(state: WalkState, page: ConversationPage, sent: Mapping[str, str]) -> PageOutcome:
    """Apply the cursor rule to a page fetched from `state` with the query `sent`."""
    asked = int(sent["limit"])
    if state.split is not None:
        return _read_window(state, page, asked)
    conversations = page.conversations
    values = state.values_of(conversations)
    _check_order(state, values)
    end, exclusive = state.end, state.end_ids is None
    cut = len(values)
    if end is not None:
        cut = next(
            (
                i
                for i, v in enumerate(values)
                if _beyond(v, end, state.order) or (exclusive and v == end)
            ),
            cut,
        )
    fresh, fresh_values = _new_among(state, conversations[:cut], values[:cut])
    received = len(conversations)
    end_state = evolve(
        state.after(fresh, fresh_values),
        paged=True,
        most=max(state.most, received),
        ending=0,
        again=False,
    )
    if state.end_ids and cut and values[cut - 1] == end:
        # The page reached the pass's end value: the ids handed out with it in the pass
        # before are handed out at the boundary, like the new ones with it.
        known = end_state.boundary_ids if end_state.boundary == end else frozenset()
        end_state = evolve(
            end_state, boundary=end, boundary_ids=known | state.end_ids, passed=False
        )
    more = state.counted and page.total is not None and end_state.handed_out < page.total
    if cut < received:
        return _pass_over(state, fresh, end_state)
    if state.ending and received:  # asked again after a short page
        if fresh:  # it was not the end: the server gives no more than that many at a time
            end_state = evolve(end_state, cap=max(1, min(state.cap, state.ending)))
        elif received >= state.ending and all(v == state.boundary for v in values):
            # Nothing new, the page full of one run: capped inside it, or at the end?
            # Stepping through the run by date tells, whichever it is.
            capped = evolve(end_state, cap=received)
            return PageOutcome((), _split(capped, sent, page), is_last=False)
        else:
            return _pass_over(state, fresh, end_state)
    if received >= min(asked, end_state.cap):
        if not fresh and not more and end_state.boundary == state.boundary:
            raise state.error(
                f"the API returned a full page of {received} conversations already handed "
                "out; the cursor did not advance"
            )
        if len(end_state.boundary_ids) >= end_state.cap and not end_state.passed:
            # A run of equal values as long as the widest page: step through it by date.
            return PageOutcome(tuple(fresh), _split(end_state, sent, page), is_last=False)
        return PageOutcome(tuple(fresh), end_state, is_last=False)
    if received == 0:
        if more and not state.again and not state.ending:
            # An empty page while `total` says more match: ask once more before trusting it.
            return PageOutcome((), evolve(end_state, again=True), is_last=False)
        return _pass_over(state, fresh, end_state)
    if more and received >= state.most:
        # A short page while `total` says more, and no longer than any before: a gateway
        # may cap the page size. Ask on from here.
        return PageOutcome(tuple(fresh), evolve(end_state, ending=received), is_last=False)
    return _pass_over(state, fresh, end_state)


def _new_among(
    state: WalkState, conversations: Sequence[Conversation], values: list[SortValue]
) -> tuple[list[Conversation], list[SortValue]]:
    """The conversations of a page not handed out before, and their sort values."""
    fresh, fresh_values = list(conversations), values
    if values and values[0] == state.boundary:
        if state.passed:
            raise state.error(
                f"the API returned the sort value {state.boundary!r} again after the walk "
                "had passed it"
            )
        run = next((i for i, v in enumerate(values) if v != state.boundary), len(values))
        kept = [i for i in range(run) if fresh[i].id not in state.boundary_ids]
        kept += range(run, len(fresh))
        fresh, fresh_values = [fresh[i] for i in kept], [values[i] for i in kept]
    end, end_ids = state.end, state.end_ids
    if end_ids and fresh_values and fresh_values[-1] == end:
        kept = [i for i, c in enumerate(fresh) if c.id not in end_ids or fresh_values[i] != end]
        fresh, fresh_values = [fresh[i] for i in kept], [fresh_values[i] for i in kept]
    return fresh, fresh_values


def _split(end_state: WalkState, sent: Mapping[str, str], page: ConversationPage) -> WalkState:
    """The state that steps through the run at the boundary in windows of dateAdded."""
    low, high = sent.get("startDate"), sent.get("endDate")
    start = 0 if low is None else int(low)
    dates = [c.date_added_ms for c in page if c.id in end_state.boundary_ids]
    total = None if low is not None or not end_state.counted else page.total
    undated = dates.count(None)
    if undated and total is None:  # no window can reach them, and `total` cannot tell
        raise end_state.error(
            f"at least {end_state.cap} conversations share the sort value "
            f"{end_state.boundary!r}; such a run is stepped through by dateAdded, but "
            f"{undated} of those on this page have no dateAdded"
        )
    split = Split(
        seen=end_state.boundary_ids,
        start=start,
        low=None if low is None else start,
        high=None if high is None else int(high),
        total=total,
        latest=max((d for d in dates if d is not None), default=None),
    )
    return evolve(end_state, split=split, boundary_ids=frozenset())


def _pass_over(before: WalkState, fresh: list[Conversation], end_state: WalkState) -> PageOutcome:
    """The last page of a pass. A newest-first walk goes again from the top, down to the
    first value this pass handed out (else to where this pass ended): at once when the
    pass handed out something over more than one page, otherwise when resumed."""
    if not end_state.catch_up or (end_state.top is None and end_state.end is None):
        return PageOutcome(tuple(fresh), end_state, is_last=True)
    again = end_state.top is not None and before.paged
    return PageOutcome(tuple(fresh), _next_pass(end_state), is_last=not again)


def _next_pass(end_state: WalkState) -> WalkState:
    """A pass from the top of a newest-first walk, down to where `end_state`'s pass began."""
    if end_state.top is None:
        end, end_ids = end_state.end, end_state.end_ids
    else:
        end, end_ids = end_state.top, end_state.top_ids
        if end_ids is not None and end_state.top == end_state.end and end_state.end_ids:
            end_ids |= end_state.end_ids  # its first value was the last pass's end: those too
    return WalkState(
        fingerprint=end_state.fingerprint,
        order=end_state.order,
        sort_by=end_state.sort_by,
        catch_up=True,
        handed_out=end_state.handed_out,
        end=end,
        # The ids with the first value are excluded; too many for a page: the value is.
        end_ids=end_ids if end_ids is not None and len(end_ids) < end_state.cap else None,
        cap=end_state.cap,
        most=end_state.most,
        counted=end_state.counted,
    )


def _check_order(state: WalkState, values: list[SortValue]) -> None:
    """Raise `PaginationError` unless the values follow the walk's order from its boundary."""
    ascending = state.order == "asc"
    in_order = values == sorted(values, reverse=not ascending)
    if in_order and values and state.boundary is not None:
        first = values[0]
        in_order = first >= state.boundary if ascending else first <= state.boundary
    if not in_order:
        raise state.error(
            f"the cursor went backwards: the API returned sort values {values[:3]}... after "
            f"{state.boundary!r}"
        )


def _read_window(state: WalkState, page: ConversationPage, asked: int) -> PageOutcome:
    """A page of one date window of a run of equal values (the run's value: boundary)."""
    split, value = state.split, state.boundary
    assert split is not None
    assert value is not None
    values = state.values_of(page.conversations)
    _check_order(state, values)
    run = [c for c, v in zip(page.conversations, values, strict=True) if v == value]
    if split.total is not None:
        if page.total is not None and page.total < split.total:
            raise state.error(
                f"at least {state.cap} conversations share the sort value {value!r}; such a "
                f"run is stepped through by dateAdded, but {split.total - page.total} of the "
                f"{split.total} matching conversations have no dateAdded"
            )
        split = evolve(split, total=None)
    dates = [c.date_added_ms for c in run if c.date_added_ms is not None]
    latest = max([*dates, *([] if split.latest is None else [split.latest])], default=None)
    # The window's whole run is on this page unless the page is full of it. (The cap is
    # known by now: the run grew to it only through pages that showed it.)
    if len(run) >= min(asked, state.cap):
        return PageOutcome((), evolve(state, split=_narrower(state, split, dates)), is_last=False)
    fresh = [c for c in run if c.id not in split.seen and c.id not in state.boundary_ids]
    handed = evolve(state.after(fresh, [value] * len(fresh)), paged=True)
    end = split.end
    if end is None or (split.high is not None and end >= split.high):
        done = evolve(handed, split=None, boundary_ids=frozenset(), passed=True)
        if state.end is not None and value == state.end:
            return _pass_over(state, fresh, done)
        return PageOutcome(tuple(fresh), done, is_last=False)
    # Next window: as wide as this one, scaled towards half a page of the run.
    width = end - split.start + 1
    scale = min(4.0, max(0.5, asked / 2 / max(1, len(run))))
    start = end + 1
    next_end: int | None = start + max(1, int(width * scale)) - 1
    past_latest = latest is not None and start > latest
    if past_latest or (split.high is not None and next_end is not None and next_end >= split.high):
        next_end = None  # up to the caller's end: the last window
    window = evolve(split, start=start, end=next_end, latest=latest)
    return PageOutcome(tuple(fresh), evolve(handed, split=window, boundary_ids=frozenset()), False)


def _narrower(state: WalkState, split: Split, dates: list[int]) -> Split:
    """A window too full for one page: cut at the middle of the dates it showed."""
    if not dates:
        raise state.error(
            f"at least {state.cap} conversations share the sort value {state.boundary!r} and "
            "show no dateAdded, so nothing can split the run"
        )
    middle = int(statistics.median_low(dates))
    end = split.end if split.end is not None else split.high
    new_end = middle if end is None else min(middle, end - 1)
    if new_end < split.start:
        raise state.error(
            f"at least {state.cap} conversations share the sort value {state.boundary!r} and "
            f"were added in the same millisecond ({split.start}); nothing can split the run"
        )
    return evolve(
        split, end=new_end, latest=max([*dates, *([] if split.latest is None else [split.latest])])
    )
