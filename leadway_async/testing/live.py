"""Live changes: conversations that change while the emulator serves, and what happened when.

Messages, creations, deletions and reads arrive as a seeded Poisson process on the
emulator's clock, from the moment it starts serving to the moment it stops. They are applied
lazily, in time order, whenever a request or a ground-truth question needs the present: the
events due are applied together and the search index is told once which conversations
changed. A creation reaches the index `index_lag_s` seconds after it happens.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .data import unique_ids
from .history import EventKind, History
from .messages import new_conversation, with_message, without_unread
from .query import Filters, Number, parse_query, query_pairs
from .store import ConversationStore

__all__ = ["LiveChanges", "LiveWorld"]

Conversation = dict[str, Any]
_Changes = dict[str, Conversation | None]


@dataclass(frozen=True)
class LiveChanges:
    """How conversations change while the emulator serves: rates in events per second.

    A message goes to a random conversation, a read to a random unread one, a deletion
    removes a random one; a new conversation is found by searches `index_lag_s` seconds
    after its creation. `seed` makes the sequence of events repeatable.
    """

    messages_per_s: float = 0.0
    created_per_s: float = 0.0
    deleted_per_s: float = 0.0
    read_per_s: float = 0.0
    index_lag_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("messages_per_s", "created_per_s", "deleted_per_s", "read_per_s"):
            if not 0 <= getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be a finite number, 0 or more")
        if not 0 <= self.index_lag_s < math.inf:
            raise ValueError("index_lag_s must be a finite number, 0 or more")

    @property
    def rate(self) -> float:
        """Events of any kind per second."""
        return self.messages_per_s + self.created_per_s + self.deleted_per_s + self.read_per_s


class _Pool:
    """A set of ids to draw from at random, in a repeatable order."""

    def __init__(self, ids: Iterable[str]) -> None:
        self._ids = list(ids)
        self._at = {conv_id: k for k, conv_id in enumerate(self._ids)}

    def add(self, conv_id: str) -> None:
        if conv_id not in self._at:
            self._at[conv_id] = len(self._ids)
            self._ids.append(conv_id)

    def discard(self, conv_id: str) -> None:
        k = self._at.pop(conv_id, None)
        if k is None:
            return
        last = self._ids.pop()
        if k < len(self._ids):
            self._ids[k] = last
            self._at[last] = k

    def pick(self, rng: random.Random) -> str | None:
        return self._ids[int(rng.random() * len(self._ids))] if self._ids else None


class LiveWorld:
    """The emulator's conversations as they change, the index searches see, and the record.

    `store` is the search index. Ground-truth questions take a span `[t0, t1]` of the
    clock's time (Unix seconds by default) that must not end after `now()`, and answer with
    ids. The record keeps every change since the start (or the last `replace()`), so it
    grows with the number of events. Thread-safe.
    """

    def __init__(
        self,
        conversations: Iterable[Conversation],
        *,
        location_id: str,
        changes: LiveChanges | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.changes = changes if changes is not None else LiveChanges()
        self._location_id = location_id
        self._clock = clock
        self._lock = threading.RLock()
        self._began: float | None = None
        self._ended = math.inf
        self._load(ConversationStore(conversations))

    def now(self) -> float:
        """The emulator's clock."""
        return self._clock()

    def begin(self) -> None:
        """Start the changes now (the emulator started serving); later calls do nothing."""
        with self._lock:
            if self._began is None:
                self._began = self._clock()
                self._schedule(self._began)

    def end(self) -> None:
        """Apply what is due and stop the changes (the emulator stopped serving)."""
        with self._lock:
            if self._began is not None and self._ended == math.inf:
                self._ended = self._clock()
                self._advance(self._ended)
                self._due = math.inf

    def replace(self, conversations: Iterable[Conversation]) -> None:
        """Serve these conversations from now on; the record and the changes start afresh."""
        store = ConversationStore(conversations)
        with self._lock:
            self._load(store)
            if self._began is not None and self._ended == math.inf:
                self._schedule(self._clock())

    def catch_up(self) -> None:
        """Apply every change due by now."""
        if self._clock() < self._due:
            return
        with self._lock:
            self._advance(min(self._clock(), self._ended))

    def present_throughout(self, t0: float, t1: float) -> frozenset[str]:
        """The ids that existed and were in the index at every moment of `[t0, t1]`."""
        with self._lock:
            self._settle(t0, t1)
            return self._history.present_throughout(t0, t1)

    def matching_throughout(
        self, query: Mapping[str, Any] | None, t0: float, t1: float
    ) -> frozenset[str]:
        """The ids present throughout `[t0, t1]` whose every state in it matched `query`.

        `query` is a wire query as `expected()` takes it; only its filters count (not sort,
        cursor or limit). Raises `QueryError` where a search would answer 422.
        """
        filters = parse_query(query_pairs(query)).filters
        with self._lock:
            self._settle(t0, t1)
            return self._history.matching_throughout(filters, t0, t1)

    def moved(self, t0: float, t1: float) -> frozenset[str]:
        """The ids that got a new message in `[t0, t1]`."""
        return self._happened("message", t0, t1)

    def created(self, t0: float, t1: float) -> frozenset[str]:
        """The ids created in `[t0, t1]` (whether or not the index shows them yet)."""
        return self._happened("created", t0, t1)

    def deleted(self, t0: float, t1: float) -> frozenset[str]:
        """The ids deleted in `[t0, t1]`."""
        return self._happened("deleted", t0, t1)

    def read(self, t0: float, t1: float) -> frozenset[str]:
        """The ids read (unreadCount set to 0) in `[t0, t1]`."""
        return self._happened("read", t0, t1)

    def report(self, filters: Filters, t0: float, t1: float) -> dict[str, frozenset[str]]:
        """Every answer about `[t0, t1]` at once, `matching_throughout` for `filters`."""
        with self._lock:
            self._settle(t0, t1)
            history = self._history
            return {
                "present_throughout": history.present_throughout(t0, t1),
                "matching_throughout": history.matching_throughout(filters, t0, t1),
                "moved": history.happened("message", t0, t1),
                "created": history.happened("created", t0, t1),
                "deleted": history.happened("deleted", t0, t1),
                "read": history.happened("read", t0, t1),
            }

    def _happened(self, kind: EventKind, t0: float, t1: float) -> frozenset[str]:
        with self._lock:
            self._settle(t0, t1)
            return self._history.happened(kind, t0, t1)

    def _settle(self, t0: float, t1: float) -> None:
        """Check the span and apply what is due (hold the lock)."""
        now = self._clock()
        if not t0 <= t1:
            raise ValueError(f"the span ends before it starts: {t0} > {t1}")
        if t1 > now:
            raise ValueError(f"the span ends after now: {t1} > {now}")
        self._advance(min(now, self._ended))

    def _load(self, store: ConversationStore) -> None:
        """Start from `store`, with an empty record (hold the lock)."""
        self.store = store
        self._world = store.snapshot()
        self._history = History(dict(self._world), store.newest)
        self._newest = store.newest
        self._pending: dict[str, float] = {}  # id: when the index shows it
        self._index_queue: list[tuple[float, str]] = []
        self._pools: tuple[_Pool, _Pool] | None = None  # alive, unread: built on first use
        self._rng = random.Random(self.changes.seed)
        self._next = math.inf
        self._due = math.inf

    def _schedule(self, now: float) -> None:
        """Start the process at `now` (hold the lock)."""
        self._rng = random.Random(self.changes.seed)
        rate = self.changes.rate
        self._next = now + self._rng.expovariate(rate) if rate > 0 else math.inf
        self._due = self._next

    def _advance(self, now: float) -> None:
        """Apply every event up to `now`, in time order, then update the index once."""
        changes: _Changes = {}
        queue = self._index_queue
        while True:
            shown = queue[0][0] if queue else math.inf
            if shown <= self._next:
                if shown > now:
                    break
                self._show(*heapq.heappop(queue), changes)
            else:
                if self._next > now:
                    break
                at = self._next
                self._event(at, changes)
                self._next = at + self._rng.expovariate(self.changes.rate)
        self._due = min(self._next, queue[0][0] if queue else math.inf)
        if changes:
            self.store.apply(changes, self._newest)

    def _event(self, at: float, changes: _Changes) -> None:
        live, rng = self.changes, self._rng
        if self._pools is None:
            unread = (c for c, conv in self._world.items() if _unread(conv))
            self._pools = (_Pool(self._world), _Pool(unread))
        alive, unread_pool = self._pools
        ms = int(at * 1000)
        draw = rng.random() * live.rate
        if draw < live.messages_per_s:
            conv_id = alive.pick(rng)
            if conv_id is not None:
                new = with_message(rng, self._world[conv_id], ms)
                self._change(at, "message", new, unread_pool, changes)
        elif draw < live.messages_per_s + live.created_per_s:
            self._create(at, ms, alive, unread_pool)
        elif draw < live.messages_per_s + live.created_per_s + live.deleted_per_s:
            conv_id = alive.pick(rng)
            if conv_id is not None:
                alive.discard(conv_id)
                unread_pool.discard(conv_id)
                self._delete(at, conv_id, changes)
        else:
            conv_id = unread_pool.pick(rng)
            if conv_id is not None:
                new = without_unread(self._world[conv_id])
                self._change(at, "read", new, unread_pool, changes)

    def _change(
        self, at: float, kind: EventKind, new: Conversation, unread: _Pool, changes: _Changes
    ) -> None:
        conv_id = new["id"]
        self._world[conv_id] = new
        if _unread(new):
            unread.add(conv_id)
        else:
            unread.discard(conv_id)
        self._history.changed(at, kind, conv_id, new)
        if conv_id not in self._pending:
            changes[conv_id] = new
            self._raise_newest(at, new)

    def _create(self, at: float, ms: int, alive: _Pool, unread: _Pool) -> None:
        rng = self._rng
        conv_id = unique_ids(rng, 1)[0]
        while conv_id in self._world or self._history.knows(conv_id):
            conv_id = unique_ids(rng, 1)[0]
        conv = new_conversation(rng, conv_id, ms, location_id=self._location_id)
        shown = at + self.changes.index_lag_s
        self._world[conv_id] = conv
        alive.add(conv_id)
        if _unread(conv):
            unread.add(conv_id)
        self._pending[conv_id] = shown
        heapq.heappush(self._index_queue, (shown, conv_id))
        self._history.created(at, conv_id, conv, shown)

    def _delete(self, at: float, conv_id: str, changes: _Changes) -> None:
        del self._world[conv_id]
        if self._pending.pop(conv_id, None) is None:
            changes[conv_id] = None
        self._history.deleted(at, conv_id)

    def _show(self, at: float, conv_id: str, changes: _Changes) -> None:
        """The index catches up with a created conversation (unless it is gone already)."""
        if self._pending.pop(conv_id, None) is None:
            return
        conv = self._world[conv_id]
        changes[conv_id] = conv
        self._raise_newest(at, conv)

    def _raise_newest(self, at: float, conv: Conversation) -> None:
        date = conv.get("lastMessageDate")
        if not isinstance(date, int | float) or isinstance(date, bool):
            return
        newest: Number | None = self._newest
        if newest is None or date > newest:
            self._newest = date
            self._history.newest(at, date)


def _unread(conv: Conversation) -> bool:
    count = conv.get("unreadCount")
    return isinstance(count, int | float) and not isinstance(count, bool) and count > 0
