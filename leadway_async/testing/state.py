"""Everything a running emulator holds: its data, limits, faults, settings and records."""

from __future__ import annotations

from dataclasses import dataclass, field

from .faults import FaultPlan
from .live import LiveWorld
from .oauth import Bearer, OAuthServer
from .ratelimit import RateLimiter
from .recording import Recorder
from .spec import VERSIONS
from .store import ConversationStore

__all__ = ["EmulatorState", "bearer_token"]

_STATIC = Bearer(None)


@dataclass
class EmulatorState:
    """The mutable state shared by the HTTP app and the handle that controls it.

    `worlds` holds each served location's conversations (changing or not) and search
    index, the default location, `location_id`, first; `token` is the static token that
    reads every one of them, `oauth` the installs and tokens of the OAuth app; `versions`
    are the accepted `Version` headers; `retry_after` (seconds, None: no header) goes on
    429s for a full burst window; `latency_ms` delays every answer.
    """

    token: str
    location_id: str
    worlds: dict[str, LiveWorld]
    limiter: RateLimiter
    oauth: OAuthServer
    versions: tuple[str, ...] = VERSIONS
    plan: FaultPlan = field(default_factory=FaultPlan)
    recorder: Recorder = field(default_factory=Recorder)
    retry_after: float | None = None
    latency_ms: float = 0.0
    count_429: int = 0

    @property
    def live(self) -> LiveWorld:
        """The default location's conversations."""
        return self.worlds[self.location_id]

    @property
    def store(self) -> ConversationStore:
        """The default location's search index as it is now (changes not yet applied aside)."""
        return self.live.store

    def world(self, location_id: str | None = None) -> LiveWorld:
        """A served location's conversations (None: the default location's); `ValueError`
        for a location the emulator does not serve."""
        world = self.worlds.get(self.location_id if location_id is None else location_id)
        if world is None:
            raise ValueError(
                f"the emulator does not serve location {location_id!r} (a search there "
                "answers 403); it serves " + ", ".join(self.worlds)
            )
        return world

    def bearer(self, authorization: str | None) -> Bearer | None:
        """Who an `Authorization` header speaks for: the static token or a valid OAuth
        access token; None for anything else."""
        token = bearer_token(authorization)
        if token is None:
            return None
        if token == self.token:
            return _STATIC
        return self.oauth.bearer(token)


def bearer_token(authorization: str | None) -> str | None:
    """The token of a `Bearer <token>` header (the scheme is case-insensitive), else None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
