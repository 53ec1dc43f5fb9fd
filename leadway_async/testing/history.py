"""The record of live changes: what happened to which conversation and when, and so what was
true throughout a span of time. Times are the emulator's clock, in Unix seconds; a span
`[t0, t1]` includes both ends, and a change at `t` is in force from `t` on.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any, Literal

from .query import Filters, Number, Test, matcher

__all__ = ["EventKind", "History"]

EventKind = Literal["message", "created", "deleted", "read"]
Conversation = dict[str, Any]


class History:
    """Every change since the live changes began, and the answers drawn from them.

    `initial` maps each id to the conversation as it was at the start (the dict is kept, not
    copied); `newest` is the latest lastMessageDate the index held then. Not thread-safe:
    the caller serialises access.
    """

    def __init__(self, initial: dict[str, Conversation], newest: Number | None) -> None:
        self._initial = initial
        self._states: dict[str, tuple[list[float], list[Conversation]]] = {}
        self._visible_from: dict[str, float] = {}
        self._deleted_at: dict[str, float] = {}
        self._events: dict[EventKind, tuple[list[float], list[str]]] = {
            "message": ([], []),
            "created": ([], []),
            "deleted": ([], []),
            "read": ([], []),
        }
        self._newest_times: list[float] = [-math.inf]
        self._newest_values: list[Number | None] = [newest]

    def knows(self, conv_id: str) -> bool:
        """Whether a conversation with this id ever existed (at the start or created since)."""
        return conv_id in self._initial or conv_id in self._visible_from

    def changed(self, t: float, kind: EventKind, conv_id: str, state: Conversation) -> None:
        """Record a message or a read at `t`, and the conversation after it."""
        times, states = self._states.setdefault(conv_id, ([], []))
        times.append(t)
        states.append(state)
        self._event(t, kind, conv_id)

    def created(self, t: float, conv_id: str, state: Conversation, visible_at: float) -> None:
        """Record a creation at `t`; the index shows it from `visible_at` on."""
        self._states[conv_id] = ([t], [state])
        self._visible_from[conv_id] = visible_at
        self._event(t, "created", conv_id)

    def deleted(self, t: float, conv_id: str) -> None:
        """Record a deletion at `t`."""
        self._deleted_at[conv_id] = t
        self._event(t, "deleted", conv_id)

    def newest(self, t: float, value: Number | None) -> None:
        """Record that the index's newest lastMessageDate became `value` at `t`."""
        if value != self._newest_values[-1]:
            self._newest_times.append(t)
            self._newest_values.append(value)

    def happened(self, kind: EventKind, t0: float, t1: float) -> frozenset[str]:
        """The ids with an event of this kind in `[t0, t1]`."""
        times, ids = self._events[kind]
        return frozenset(ids[bisect_left(times, t0) : bisect_right(times, t1)])

    def present_throughout(self, t0: float, t1: float) -> frozenset[str]:
        """The ids that existed and were in the index at every moment of `[t0, t1]`."""
        gone = {conv_id for conv_id, at in self._deleted_at.items() if at <= t1}
        present = self._initial.keys() - gone
        present.update(
            conv_id
            for conv_id, at in self._visible_from.items()
            if at <= t0 and conv_id not in gone
        )
        return frozenset(present)

    def matching_throughout(self, filters: Filters, t0: float, t1: float) -> frozenset[str]:
        """The ids present throughout `[t0, t1]` whose every state in it passed `filters`."""
        present = self.present_throughout(t0, t1)
        if filters.status != "recents":
            match = matcher(filters, None)
            if match is None:
                return present
            return frozenset(c for c in present if all(map(match, self._during(c, t0, t1))))
        tests: dict[Number | None, Test | None] = {}

        def test(conv: Conversation, newest: Number | None) -> bool:
            if newest not in tests:
                tests[newest] = matcher(filters, newest)
            check = tests[newest]
            return check is None or check(conv)

        return frozenset(c for c in present if self._recent_throughout(c, t0, t1, test))

    def _during(self, conv_id: str, t0: float, t1: float) -> list[Conversation]:
        """The states `conv_id` was in during `[t0, t1]`, in order."""
        record = self._states.get(conv_id)
        if record is None:
            return [self._initial[conv_id]]
        times, states = record
        first = bisect_right(times, t0) - 1
        end = bisect_right(times, t1)
        before = [self._initial[conv_id]] if first < 0 else []
        return before + states[max(first, 0) : end]

    def _recent_throughout(
        self,
        conv_id: str,
        t0: float,
        t1: float,
        test: Callable[[Conversation, Number | None], bool],
    ) -> bool:
        """Whether each state passed `test` against the newest date at the end of its time.

        The newest date only grows, so the end of each state's time is where it is strictest.
        """
        record = self._states.get(conv_id)
        times = [] if record is None else record[0]
        states = self._during(conv_id, t0, t1)
        following = times[bisect_right(times, t0) : bisect_right(times, t1)]
        ends = [(at, False) for at in following] + [(t1, True)]
        return all(
            test(state, self._newest_at(at, inclusive))
            for state, (at, inclusive) in zip(states, ends, strict=True)
        )

    def _newest_at(self, t: float, inclusive: bool) -> Number | None:
        """The index's newest lastMessageDate at `t` (inclusive) or just before it."""
        find = bisect_right if inclusive else bisect_left
        return self._newest_values[find(self._newest_times, t) - 1]

    def _event(self, t: float, kind: EventKind, conv_id: str) -> None:
        times, ids = self._events[kind]
        times.append(t)
        ids.append(conv_id)
