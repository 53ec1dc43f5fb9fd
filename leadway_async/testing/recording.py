"""The record of every request the emulator received."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from multidict import CIMultiDictProxy

__all__ = [
    "REDACTED",
    "RecordedRequest",
    "Recorder",
    "redacted_headers",
    "redacted_pairs",
    "redacted_query_string",
]

REDACTED = "[redacted]"
"""What a recorded secret query parameter's value is replaced with."""

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_PARAMETERS = frozenset(
    {"access_token", "refresh_token", "client_secret", "code", "token", "id_token"}
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received, and what was answered.

    `query` holds each parameter's first value (`raw_query` has everything); `headers` are
    case-insensitive and never include Authorization (nor Proxy-Authorization or Cookie).
    Secrets are never kept: no body is recorded, and the values of the query parameters
    `access_token`, `refresh_token`, `client_secret`, `code`, `token` and `id_token` read
    `[redacted]`. `status` is the status line sent, or
    None when the connection was closed before any answer; `fault` names the injected
    fault, if any. `trace_id` is the `traceId` of the answer's body (also `request_id`);
    `time` is the Unix time it arrived.
    """

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: CIMultiDictProxy[str]
    status: int | None
    fault: str | None
    trace_id: str
    time: float

    @property
    def request_id(self) -> str:
        """The `traceId` of the answer (the name this field had before)."""
        return self.trace_id


class Recorder:
    """Keeps the latest `limit` requests (None: all) and counts every one."""

    def __init__(self, limit: int | None = 100_000) -> None:
        self._records: deque[RecordedRequest] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, record: RecordedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._records.append(record)
            self.count += 1

    def snapshot(self) -> list[RecordedRequest]:
        """The requests kept, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget every request so far, count included."""
        with self._lock:
            self._records.clear()
            self.count = 0


def redacted_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The headers but Authorization, Proxy-Authorization and Cookie."""
    return [(k, v) for k, v in headers.items() if k.lower() not in _SECRET_HEADERS]


def redacted_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The query pairs with each secret parameter's value replaced by `REDACTED`."""
    return [(k, REDACTED if k in _SECRET_PARAMETERS else v) for k, v in pairs]


def redacted_query_string(raw: str) -> str:
    """The raw query string with each secret parameter's value replaced by `REDACTED`."""
    parts = raw.split("&")
    for k, part in enumerate(parts):
        name = part.partition("=")[0]
        if unquote_plus(name) in _SECRET_PARAMETERS:
            parts[k] = f"{name}={REDACTED}"
    return "&".join(parts)
