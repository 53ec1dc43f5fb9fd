"""Everything a running emulator holds: its data, limits, faults, settings and records."""

from __future__ import annotations

from dataclasses import dataclass, field

from .faults import FaultPlan
from .ratelimit import RateLimiter
from .recording import Recorder
from .store import ConversationStore

__all__ = ["EmulatorState"]


@dataclass
class EmulatorState:
    """The mutable state shared by the HTTP app and the handle that controls it.

    `retry_after` (seconds, None: no header) goes on 429s for a full burst window;
    `latency_ms` delays every answer.
    """

    token: str
    location_id: str
    store: ConversationStore
    limiter: RateLimiter
    plan: FaultPlan = field(default_factory=FaultPlan)
    recorder: Recorder = field(default_factory=Recorder)
    retry_after: float | None = None
    latency_ms: float = 0.0
    count_429: int = 0
