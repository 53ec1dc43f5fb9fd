"""The conversations the emulator serves: each encoded once, sorted views cached, pages joined.

A view is the list of conversations a (filters, sortBy, order) selects, in the server's order:
by the sort value, then by `id` ascending in both directions. Conversations lacking the sort
value are not in it. Pages are cut from a view with a binary search for the cursor and
assembled from cached JSON bytes.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson

from .gcpause import paused_gc
from .query import Filters, Number, SearchQuery, select, sort_value

__all__ = ["ConversationStore"]

_VIEW_CACHE_SIZE = 32
_NO_FILTERS = Filters()
_SortKey = tuple[str, str | None]
_ViewKey = tuple[Filters, str, str | None, bool]


class ConversationStore:
    """The ground truth of one emulator: conversations, their encodings and cached views."""

    def __init__(self, conversations: Sequence[dict[str, Any]]) -> None:
        self.conversations = list(conversations)
        ids = _ids(self.conversations)
        with paused_gc():
            self._heads = [_head(conv) for conv in self.conversations]
            self._id_order = sorted(range(len(ids)), key=ids.__getitem__)
        dates = (c.get("lastMessageDate") for c in self.conversations)
        self._newest: Number | None = max(
            (d for d in dates if isinstance(d, int | float) and not isinstance(d, bool)),
            default=None,
        )
        self._values: dict[_SortKey, list[Any]] = {}
        self._views: OrderedDict[_ViewKey, list[int]] = OrderedDict()
        self._lock = threading.Lock()

    def page(self, query: SearchQuery, *, use_cursor: bool = True, empty: bool = False) -> bytes:
        """The JSON body of the answer to `query`.

        `use_cursor=False` answers as if no startAfterDate was sent; `empty=True` returns no
        conversations (but the true total).
        """
        order, values = self._view(query)
        start = self._start(order, values, query) if use_cursor else 0
        picked = () if empty else order[start : start + query.limit]
        heads = self._heads
        items = b",".join(heads[i] + b',"sort":' + orjson.dumps([values[i]]) + b"}" for i in picked)
        return b'{"conversations":[%b],"total":%d}' % (items, len(order))

    def expected(self, query: SearchQuery) -> list[dict[str, Any]]:
        """Every conversation `query` selects from its cursor on, as served, ignoring its limit."""
        order, values = self._view(query)
        start = self._start(order, values, query)
        convs = self.conversations
        with paused_gc():
            return [{**convs[i], "sort": [values[i]]} for i in order[start:]]

    def _start(self, order: list[int], values: list[Any], query: SearchQuery) -> int:
        """Where the page begins: just past every conversation not strictly after the cursor."""
        cursor = query.cursor
        if cursor is None:
            return 0
        if query.descending:
            return bisect_right(order, -cursor, key=lambda i: -values[i])
        return bisect_right(order, cursor, key=values.__getitem__)

    def _view(self, query: SearchQuery) -> tuple[list[int], list[Any]]:
        """The view for `query`, and the sort values (indexed like the conversations)."""
        sort_key = (query.sort_by, query.sort_score_profile)
        view_key = (query.filters, *sort_key, query.descending)
        with self._lock, paused_gc():
            values = self._values.get(sort_key)
            if values is None:
                values = [sort_value(c, *sort_key) for c in self.conversations]
                self._values[sort_key] = values
            order = self._views.get(view_key)
            if order is None:
                order = self._sorted(query.filters, values, descending=query.descending)
                self._views[view_key] = order
                if len(self._views) > _VIEW_CACHE_SIZE:
                    self._views.popitem(last=False)
            else:
                self._views.move_to_end(view_key)
        return order, values

    def _sorted(self, filters: Filters, values: list[Any], *, descending: bool) -> list[int]:
        if filters == _NO_FILTERS:
            order = [i for i in self._id_order if values[i] is not None]
        else:
            selected = set(select(self.conversations, filters, newest=self._newest))
            order = [i for i in self._id_order if i in selected and values[i] is not None]
        # Stable sorts keep the id order within equal values, in both directions.
        order.sort(key=values.__getitem__, reverse=descending)
        return order


def _ids(conversations: list[dict[str, Any]]) -> list[str]:
    ids = []
    for conv in conversations:
        if not isinstance(conv, dict) or not isinstance(conv.get("id"), str):
            raise ValueError("every conversation must be a dict with a string 'id'")
        ids.append(conv["id"])
    return ids


def _head(conv: dict[str, Any]) -> bytes:
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
