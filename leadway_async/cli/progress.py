"""Progress on standard error: a live line on a terminal, plain periodic lines elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

RateShare = Callable[[float], float | None]
"""The share of the rate limit in use at a `time.monotonic()` moment; None if not known."""


class Progress:
    """Reports how many conversations are done, of how many, how fast, time left, and the
    share of the rate limit in use (when `rate_share` is given and knows it)."""

    def __init__(
        self,
        stream: TextIO = sys.stderr,
        *,
        every_s: float = 2.0,
        rate_share: RateShare | None = None,
    ) -> None:
        self._stream = stream
        self._rate_share = rate_share
        self._live = stream.isatty()
        self._every_s = every_s
        self._started = time.monotonic()
        self._last_line = 0.0
        self.done = 0
        self.total: int | None = None
        self._resumed_at = 0  # done before this run: not counted in the rate

    def begin(self, done: int) -> None:
        """Start counting from `done` conversations (written by an earlier run)."""
        self._started = time.monotonic()
        self.done = self._resumed_at = done

    def update(self, done: int, total: int | None) -> None:
        """Record progress; writes a line when it is time to."""
        self.done, self.total = done, total
        now = time.monotonic()
        if self._live or now - self._last_line >= self._every_s:
            self._last_line = now
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The progress as one line of text."""
        now = time.monotonic() if now is None else now
        elapsed = max(1e-9, now - self._started)
        rate = (self.done - self._resumed_at) / elapsed
        parts = [f"{self.done:,} conversations"]
        if self.total:
            share = min(100.0, 100 * self.done / self.total)
            parts = [f"{self.done:,} of {self.total:,} conversations ({share:.0f}%)"]
        parts.append(f"{rate:,.0f}/s")
        if self.total and rate > 0 and self.total > self.done:
            parts.append(f"{(self.total - self.done) / rate:.0f} s left")
        used = None if self._rate_share is None else self._rate_share(now)
        if used is not None:
            parts.append(f"{100 * used:.0f}% of the rate limit")
        return ", ".join(parts)

    def finish(self) -> None:
        """End the live line (a terminal) or write a last plain line."""
        self._write(self.line())
        if self._live:
            self._stream.write("\n")
            self._stream.flush()

    def _write(self, text: str) -> None:
        if self._live:
            self._stream.write(f"\r\x1b[2K{text}")
        else:
            self._stream.write(f"{text}\n")
        self._stream.flush()
