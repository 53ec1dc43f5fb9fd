"""The search index: the conversations a search can find, their encodings and sorted views.

A view is every conversation a (filters, sortBy, order) selects, in the server's order: by
the sort value, then by `id` ascending, in both directions. A conversation lacking the sort
value is in the view too, after every one that has it, with `INT64_MAX` (ascending) or its
negation (descending) as its sort value. Pages are cut from a view with a binary search for
the cursor and assembled from JSON bytes cached per conversation on first use. Changes
update the cached views in place.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from .gcpause import paused_gc
from .query import INT64_MAX, Filters, Number, SearchQuery, Test, matcher, sort_value

__all__ = ["ConversationStore"]

_VIEW_CACHE_SIZE = 32
_NO_FILTERS = Filters()
_ViewKey = tuple[Filters, str, str | None, bool]
Conversation = dict[str, Any]


class _View:
    """One view: `positions` ascending (see `_position`), `ids` in the same order."""

    __slots__ = ("ids", "match", "position", "positions")

    def __init__(self, match: Test | None, position: Callable[[Conversation], Number]) -> None:
        self.match = match
        self.position = position
        self.ids: list[str] = []
        self.positions: list[Number] = []

    def has(self, conv: Conversation) -> bool:
        return self.match is None or self.match(conv)

    def remove(self, conv_id: str, position: Number) -> None:
        positions = self.positions
        lo = bisect_left(positions, position)
        k = bisect_left(self.ids, conv_id, lo, bisect_right(positions, position, lo))
        if k < len(self.ids) and self.ids[k] == conv_id:
            del self.ids[k]
            del positions[k]

    def insert(self, conv_id: str, position: Number) -> None:
        positions = self.positions
        lo = bisect_left(positions, position)
        k = bisect_left(self.ids, conv_id, lo, bisect_right(positions, position, lo))
        self.ids.insert(k, conv_id)
        positions.insert(k, position)


class ConversationStore:
    """The conversations searches see, their encodings and cached views; thread-safe.

    `newest` is the latest lastMessageDate it has held, which `status=recents` is measured
    from (a deletion does not lower it).
    """

    def __init__(self, conversations: Iterable[Conversation]) -> None:
        # Conversations sit in slots, in the order they came (None where one was deleted):
        # building a view walks them in memory order, which is what makes it fast.
        slots: list[Conversation | None] = []
        slot_of: dict[str, int] = {}
        for conv in conversations:
            if not isinstance(conv, dict) or not isinstance(conv.get("id"), str):
                raise ValueError("every conversation must be a dict with a string 'id'")
            if conv["id"] in slot_of:
                raise ValueError(f"conversation ids must be unique: {conv['id']!r} repeats")
            slot_of[conv["id"]] = len(slots)
            slots.append(conv)
        self._slots = slots
        self._slot_of = slot_of
        self._ids = list(slot_of)
        with paused_gc():
            self._id_order = sorted(range(len(slots)), key=self._ids.__getitem__)
        self._heads: dict[str, bytes] = {}
        dates = (c.get("lastMessageDate") for c in slots if c is not None)
        self.newest: Number | None = max(
            (d for d in dates if isinstance(d, int | float) and not isinstance(d, bool)),
            default=None,
        )
        self._views: OrderedDict[_ViewKey, _View] = OrderedDict()
        self._lock = threading.RLock()

    @property
    def conversations(self) -> list[Conversation]:
        """Every conversation, oldest in the store first."""
        with self._lock:
            return [conv for conv in self._slots if conv is not None]

    def snapshot(self) -> dict[str, Conversation]:
        """Every conversation by id, oldest in the store first (a new dict)."""
        with self._lock:
            ids = self._ids
            return {ids[slot]: conv for slot, conv in enumerate(self._slots) if conv is not None}

    def page(
        self, query: SearchQuery, *, use_cursor: bool = True, empty: bool = False
    ) -> tuple[bytes, int]:
        """The encoded conversations of the answer to `query` (comma-joined), and its total.

        `use_cursor=False` answers as if no startAfterDate was sent; `empty=True` returns no
        conversations (but the true total).
        """
        with self._lock:
            view = self._view(query)
            start = _start(view, query) if use_cursor else 0
            total = len(view.ids)
            if empty:
                return b"", total
            end = start + query.limit
            head = self._head
            sign = -1 if query.descending else 1
            items = b",".join(
                head(conv_id) + b',"sort":' + orjson.dumps([sign * position]) + b"}"
                for conv_id, position in zip(
                    view.ids[start:end], view.positions[start:end], strict=True
                )
            )
            return items, total

    def expected(self, query: SearchQuery) -> list[Conversation]:
        """Every conversation `query` selects from its cursor on, as served, ignoring its limit."""
        with self._lock, paused_gc():
            view = self._view(query)
            start = _start(view, query)
            sign = -1 if query.descending else 1
            get = self._get
            return [
                {**get(conv_id), "sort": [sign * position]}
                for conv_id, position in zip(view.ids[start:], view.positions[start:], strict=True)
            ]

    def apply(self, changes: Mapping[str, Conversation | None], newest: Number | None) -> None:
        """Take each id's new state (None: gone) and the new `newest`, updating the views."""
        with self._lock, paused_gc():
            slots, slot_of, ids, by_id = self._slots, self._slot_of, self._ids, self._id_order
            olds: list[tuple[str, Conversation | None, Conversation | None]] = []
            for conv_id, new in changes.items():
                slot = slot_of.get(conv_id)
                olds.append((conv_id, None if slot is None else slots[slot], new))
                self._heads.pop(conv_id, None)
                if slot is not None and new is not None:
                    slots[slot] = new
                elif slot is not None:
                    del slot_of[conv_id]
                    slots[slot] = None
                    del by_id[bisect_left(by_id, conv_id, key=ids.__getitem__)]
                elif new is not None:
                    slot_of[conv_id] = len(slots)
                    slots.append(new)
                    ids.append(conv_id)
                    insort(by_id, slot_of[conv_id], key=ids.__getitem__)
            if newest != self.newest:
                self.newest = newest
                for key in [key for key in self._views if key[0].status == "recents"]:
                    del self._views[key]
            if len(changes) > 64 and len(changes) * 16 > len(slot_of):
                self._views.clear()  # rebuilding is cheaper than this many moves
                return
            for view in self._views.values():
                _update(view, olds)

    def _get(self, conv_id: str) -> Conversation:
        conv = self._slots[self._slot_of[conv_id]]
        assert conv is not None
        return conv

    def _head(self, conv_id: str) -> bytes:
        """The conversation's JSON without `sort` and the closing brace (hold the lock)."""
        head = self._heads.get(conv_id)
        if head is None:
            head = self._heads[conv_id] = _head(self._get(conv_id))
        return head

    def _view(self, query: SearchQuery) -> _View:
        """The view for `query`, built on first use (hold the lock)."""
        profile = query.sort_score_profile if query.sort_by == "score_profile" else None
        key = (query.filters, query.sort_by, profile, query.descending)
        view = self._views.get(key)
        if view is not None:
            self._views.move_to_end(key)
            return view
        with paused_gc():
            view = self._build(query.filters, _position(query.sort_by, profile, query.descending))
        self._views[key] = view
        if len(self._views) > _VIEW_CACHE_SIZE:
            self._views.popitem(last=False)
        return view

    def _build(self, filters: Filters, position: Callable[[Conversation], Number]) -> _View:
        match = None if filters == _NO_FILTERS else matcher(filters, self.newest)
        view = _View(match, position)
        slots = self._slots
        if match is None:
            values = [0 if conv is None else position(conv) for conv in slots]
            order = sorted(self._id_order, key=values.__getitem__)
        else:
            kept = [conv is not None and match(conv) for conv in slots]
            values = [
                0 if conv is None or not keep else position(conv)
                for conv, keep in zip(slots, kept, strict=True)
            ]
            order = [slot for slot in self._id_order if kept[slot]]
            order.sort(key=values.__getitem__)  # stable: the id order stays among equals
        ids = self._ids
        view.ids = [ids[slot] for slot in order]
        view.positions = [values[slot] for slot in order]
        return view


def _position(sort_by: str, profile: str | None, descending: bool) -> Callable[[Any], Number]:
    """Where a conversation goes in a view: its sort value (negated when descending), or
    `INT64_MAX` when it lacks one; the served sort value is the position, negated back."""
    sign = -1 if descending else 1

    def position(conv: Conversation) -> Number:
        value = sort_value(conv, sort_by, profile)
        return INT64_MAX if value is None else sign * value

    return position


def _start(view: _View, query: SearchQuery) -> int:
    """Where a page begins: just past every conversation not strictly after the cursor."""
    cursor = query.cursor
    if cursor is None:
        return 0
    return bisect_right(view.positions, -cursor if query.descending else cursor)


def _update(
    view: _View, changes: list[tuple[str, Conversation | None, Conversation | None]]
) -> None:
    position = view.position
    for conv_id, old, new in changes:
        was = old is not None and view.has(old)
        now = new is not None and view.has(new)
        before = position(old) if was and old is not None else None
        after = position(new) if now and new is not None else None
        if before == after and was == now:
            continue  # it stays where it was (or stays out)
        if before is not None:
            view.remove(conv_id, before)
        if after is not None:
            view.insert(conv_id, after)


def _head(conv: Conversation) -> bytes:
    """`conv` as JSON without its `sort` and its closing brace, so a `sort` can be appended."""
    if "sort" not in conv:
        return orjson.dumps(conv)[:-1]
    if next(reversed(conv)) == "sort":
        # Generated conversations end with `sort`; cutting the bytes avoids copying the dict.
        raw = orjson.dumps(conv)
        tail = b',"sort":' + orjson.dumps(conv["sort"]) + b"}"
        if raw.endswith(tail):
            return raw[: -len(tail)]
    return orjson.dumps({k: v for k, v in conv.items() if k != "sort"})[:-1]
