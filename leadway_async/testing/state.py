"""Everything a running emulator holds: its data, limits, faults, settings and records."""

from __future__ import annotations

from dataclasses import dataclass, field

from .faults import FaultPlan
from .live import LiveWorld
from .ratelimit import RateLimiter
from .recording import Recorder
from .spec import VERSIONS
from .store import ConversationStore

__all__ = ["EmulatorState"]


@dataclass
class EmulatorState:
    """The mutable state shared by the HTTP app and the handle that controls it.

    `live` holds the conversations (changing or not) and the search index, `store`;
    `versions` are the accepted `Version` headers; `retry_after` (seconds, None: no header)
    goes on 429s for a full burst window; `latency_ms` delays every answer.
    """

    token: str
    location_id: str
    live: LiveWorld
    limiter: RateLimiter
    versions: tuple[str, ...] = VERSIONS
    plan: FaultPlan = field(default_factory=FaultPlan)
    recorder: Recorder = field(default_factory=Recorder)
    retry_after: float | None = None
    latency_ms: float = 0.0
    count_429: int = 0

    @property
    def store(self) -> ConversationStore:
        """The search index as it is now (changes not yet applied aside)."""
        return self.live.store
