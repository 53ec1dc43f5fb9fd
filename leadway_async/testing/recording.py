"""The record of every request the emulator received."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from multidict import CIMultiDictProxy

__all__ = ["RecordedRequest", "Recorder"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received, and what was answered.

    `query` holds each parameter's first value (`raw_query` has everything); `headers` are
    case-insensitive and never include Authorization. `status` is the status line sent, or
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
