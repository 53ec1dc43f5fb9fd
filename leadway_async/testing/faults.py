"""Fault injection: which requests fail, and how.

Kinds, as strings:

- `status:<code>`: that status with a JSON error body in the API's usual shape.
- `drop`: the response head (status and headers announcing a body) is sent, then the
  connection is closed: the client fails while reading the body (aiohttp: ClientPayloadError).
- `drop:early`: the connection is closed before any byte of the answer (aiohttp:
  ServerDisconnectedError). Note that aiohttp's ClientSession silently sends an idempotent
  request once more after this, so a GET only fails if that second attempt is dropped too.
- `truncate`: a 200 whose body stops halfway; Content-Length promises the whole of it.
- `latency:<ms>`: the answer is delayed by that long, then given normally.
- `empty`: a 200 page with no conversations, though more exist (and the true total).
- `stuck`: the cursor is ignored: the answer is the first page again.
- `ok`: no fault (a placeholder in a script).
"""

from __future__ import annotations

import math
import random
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Fault", "FaultPlan", "Faults", "parse_fault"]

Action = Literal["status", "drop", "drop:early", "truncate", "latency", "empty", "stuck", "ok"]
_PLAIN: tuple[Action, ...] = ("drop", "drop:early", "truncate", "empty", "stuck", "ok")


@dataclass(frozen=True)
class Fault:
    """One fault: `kind` as written, `action` its family, and its number where it has one."""

    kind: str
    action: Action
    status: int | None = None
    latency_ms: float | None = None


def parse_fault(kind: str) -> Fault:
    """Read a fault kind such as `status:503`, `drop` or `latency:250`."""
    for action in _PLAIN:
        if kind == action:
            return Fault(kind, action)
    name, _, arg = kind.partition(":")
    try:
        if name == "status" and 300 <= int(arg) <= 599:
            return Fault(kind, "status", status=int(arg))
        if name == "latency" and 0 <= float(arg) < math.inf:
            return Fault(kind, "latency", latency_ms=float(arg))
    except ValueError:
        pass
    raise ValueError(
        f"unknown fault kind {kind!r}: use status:<300-599>, drop, drop:early, truncate, "
        "latency:<ms>, empty, stuck or ok"
    )


@dataclass(frozen=True)
class Faults:
    """Random faults: each request fails with probability `rate`, its kind drawn from `kinds`.

    Draws come from a generator seeded with `seed`, so a run is repeatable.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ("status:503",)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("the fault rate must be between 0 and 1")
        if not self.kinds:
            raise ValueError("at least one fault kind is needed")
        for kind in self.kinds:
            parse_fault(kind)


class FaultPlan:
    """Picks the fault for each request: scripted faults first, in order, then random ones."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._script: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._random: tuple[Faults, random.Random, tuple[Fault, ...]] | None = None
        self.faults = faults

    @property
    def faults(self) -> Faults | None:
        """The random faults in force (None: none)."""
        return None if self._random is None else self._random[0]

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        if faults is None:
            self._random = None
        else:
            kinds = tuple(parse_fault(kind) for kind in faults.kinds)
            self._random = (faults, random.Random(faults.seed), kinds)

    def inject(self, kinds: Iterable[str]) -> None:
        """Queue faults for the next requests, in order."""
        parsed = [parse_fault(kind) for kind in kinds]
        with self._lock:
            self._script.extend(parsed)

    @property
    def pending(self) -> tuple[str, ...]:
        """The scripted faults not yet applied."""
        with self._lock:
            return tuple(fault.kind for fault in self._script)

    def clear(self) -> None:
        """Drop the scripted faults not yet applied."""
        with self._lock:
            self._script.clear()

    def next(self) -> Fault | None:
        """The fault for the next request, or None."""
        with self._lock:
            if self._script:
                return self._script.popleft()
            chosen = self._random
            if chosen is None:
                return None
            faults, rng, kinds = chosen
            if faults.rate <= 0 or rng.random() >= faults.rate:
                return None
            return rng.choice(kinds)
