"""The emulator in a separate process, so its work never shares a core's time with ours."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from attrs import frozen


@frozen
class Server:
    """Where a running emulator listens and what it accepts."""

    url: str
    token: str
    location_id: str


@contextmanager
def emulator_process(
    conversations: int,
    *,
    seed: int = 1,
    latency_ms: float = 0,
    rate_limit_max: int = 1_000_000_000,
    rate_limit_interval_ms: int = 10_000,
    rate_limit_mode: str = "fixed",
    daily_limit: int = 1_000_000_000,
    messages_per_s: float = 0,
    skew: float = 0,
) -> Iterator[Server]:
    """Start `python -m leadway_async.testing` and yield once it says `ready`."""
    command = [
        sys.executable, "-m", "leadway_async.testing", "--port", "0",
        "--conversations", str(conversations), "--seed", str(seed),
        "--latency-ms", str(latency_ms),
        "--rate-limit-max", str(rate_limit_max),
        "--rate-limit-interval-ms", str(rate_limit_interval_ms),
        "--rate-limit-mode", rate_limit_mode,
        "--daily-limit", str(daily_limit),
        "--messages-per-s", str(messages_per_s),
        "--skew", str(skew),
    ]  # fmt: skip
    with serve(command) as exports:
        yield Server(
            exports["LEADWAY_BASE_URL"], exports["LEADWAY_TOKEN"], exports["LEADWAY_LOCATION_ID"]
        )


@contextmanager
def serve(command: list[str], cwd: Path | None = None) -> Iterator[dict[str, str]]:
    """Start an emulator `command` printing `export NAME=value` lines, then `ready`, as
    `python -m leadway_async.testing` does; yield those exports once it is ready."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=cwd)
    try:
        exports: dict[str, str] = {}
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
            if line.strip() == "ready":
                break
        else:
            raise RuntimeError(f"the emulator exited early with status {process.wait()}")
        yield exports
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
