"""What tests read and steer on an emulator, shared by its async and thread-backed handles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .faults import Faults
from .live import LiveWorld
from .oauthcontrols import OAuthControls
from .query import parse_query, query_pairs
from .recording import RecordedRequest
from .state import EmulatorState

__all__ = ["EmulatorControls"]


class EmulatorControls(OAuthControls):
    """The emulator's data, records, faults, limits and OAuth app; safe to use from any thread.

    Where a control takes a `location_id`, None means the default location (every location
    for `reset_rate_limits`), and a location the emulator does not serve is a `ValueError`.
    """

    _state: EmulatorState

    @property
    def url(self) -> str:
        """The base URL, `http://host:port` (only once started)."""
        raise NotImplementedError

    @property
    def token(self) -> str:
        """The static bearer token, which reads every served location."""
        return self._state.token

    @property
    def location_id(self) -> str:
        """The default location (the first of `location_ids`)."""
        return self._state.location_id

    @property
    def location_ids(self) -> tuple[str, ...]:
        """Every location served, the default one first."""
        return tuple(self._state.worlds)

    @property
    def versions(self) -> tuple[str, ...]:
        """The `Version` header values accepted."""
        return self._state.versions

    @property
    def conversations(self) -> list[dict[str, Any]]:
        """The default location's ground truth served now, as wire dicts (do not change
        them in place); see `conversations_in()`."""
        return self.conversations_in()

    def conversations_in(self, location_id: str | None = None) -> list[dict[str, Any]]:
        """A location's ground truth served now, as wire dicts (do not change them in place).

        With live changes, conversations created but not yet in the search index are not
        among them.
        """
        world = self._state.world(location_id)
        world.catch_up()
        return world.store.conversations

    def set_conversations(
        self, conversations: Iterable[dict[str, Any]], *, location_id: str | None = None
    ) -> None:
        """Serve these wire dicts from now on in a location instead; each needs a unique
        string `id`.

        The record of live changes starts afresh (so do the changes, from the same seed).
        """
        self._state.world(location_id).replace(conversations)

    def expected(
        self, query: Mapping[str, Any] | None = None, *, location_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The conversations a wire query selects now, in the server's order, as served.

        Values may be strings or numbers (a list for a repeated parameter). `limit` is
        ignored; a `startAfterDate` is honoured, so a query without one gives everything a
        complete walk should see. The location is `location_id`, else the query's
        `locationId`, else the default one (a `ValueError` when they differ). Raises
        `QueryError` (a ValueError) where the server would answer 422.
        """
        wire = {name: value for name, value in (query or {}).items() if name != "limit"}
        parsed = parse_query(query_pairs(wire))
        asked = parsed.location_id
        if location_id is not None and asked is not None and asked != location_id:
            raise ValueError(f"the query's locationId {asked!r} is not {location_id!r}")
        world = self._state.world(location_id or asked)
        world.catch_up()
        return world.store.expected(parsed)

    @property
    def live(self) -> LiveWorld:
        """The default location's live changes and the ground truth about them
        (`present_throughout(t0, t1)`...); see `live_in()`."""
        return self._state.live

    def live_in(self, location_id: str | None = None) -> LiveWorld:
        """A location's live changes and the ground truth about them."""
        return self._state.world(location_id)

    def now(self) -> float:
        """The emulator's clock (Unix seconds unless another clock was given)."""
        return self._state.live.now()

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far (the latest ones, up to `record_limit`), oldest first."""
        return self._state.recorder.snapshot()

    @property
    def request_count(self) -> int:
        """How many requests were received since the start or the last `clear_requests()`."""
        return self._state.recorder.count

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        self._state.recorder.clear()

    def inject(self, *kinds: str) -> None:
        """Apply these faults to the next requests, one each, in order (see `faults`)."""
        self._state.plan.inject(kinds)

    @property
    def pending_faults(self) -> tuple[str, ...]:
        """Injected faults not yet applied."""
        return self._state.plan.pending

    def clear_faults(self) -> None:
        """Cancel the injected faults not yet applied."""
        self._state.plan.clear()

    @property
    def faults(self) -> Faults | None:
        """Random faults applied when no injected one is pending (None: none)."""
        return self._state.plan.faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        self._state.plan.faults = faults

    @property
    def latency_ms(self) -> float:
        """Delay added to every answer, in milliseconds."""
        return self._state.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        if value < 0:
            raise ValueError("latency_ms must not be negative")
        self._state.latency_ms = value

    @property
    def count_429(self) -> int:
        """How many 429 answers were served (rate limits and injected ones)."""
        return self._state.count_429

    def reset_rate_limits(self, location_id: str | None = None) -> None:
        """Start a location's burst window and daily budget afresh (None: every location's)."""
        if location_id is not None:
            self._state.world(location_id)  # a location served, or a ValueError
        self._state.limiter.reset(location_id)
