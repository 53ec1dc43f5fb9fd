"""The mirror: a database kept in step with a location, at what cost.

- First mirror against the emulator at a real round trip and window scaled in time (30 ms
  and 100 requests a second, for 300 ms and 100 per 10 s): the share of the window the
  full pass uses (goal: at least 90 %), into SQLite.
- An incremental run after 1 % of the conversations got a message: its requests (goal:
  at most changed / 100 + 3).
- Runs on a location that changes all along (messages, new conversations, deletions,
  reads, an index that lags): after every run the mirror against the emulator's record
  of what happened (goal: 0 missing, 0 stale, 0 duplicated).
- CPU per conversation: a scan alone, then the mirror's first pass into SQLite (rows
  built, hashed, inserted) and a full pass with nothing changed (hashes compared only).

The emulator runs in its own process for the timed parts, in a thread of this one where
only requests and correctness are measured (it is steered between runs).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from leadway_async import LeadwayClient
from leadway_async.middleware import Handler, Request, Response, RetryEvent, RetryPolicy
from leadway_async.mirror import Mirror, MirrorResult
from leadway_async.testing import LeadwayEmulator, LiveChanges
from leadway_async.testing.messages import with_message

from ._server import emulator_process

PAGE = 100


class _Count:
    """A middleware counting requests, and a retry hook counting 429s."""

    def __init__(self) -> None:
        self.requests = 0
        self.rejected = 0

    async def __call__(self, request: Request, handler: Handler) -> Response:
        self.requests += 1
        return await handler(request)

    def retried(self, event: RetryEvent) -> None:
        if event.reason == "HTTP 429":
            self.rejected += 1


def _client(emu: Any, count: _Count | None = None) -> LeadwayClient:
    count = count or _Count()
    return LeadwayClient(
        emu.token,
        location_id=emu.location_id,
        base_url=emu.url,
        middlewares=[count],
        retry=RetryPolicy(on_retry=count.retried),
    )


def first_mirror(conversations: int) -> tuple[str, str]:
    """The first mirror at 30 ms a request and 100 requests a second."""
    window_max, window_ms, latency = 100, 1000, 30
    allowed = window_max / (window_ms / 1000)
    with (
        tempfile.TemporaryDirectory() as folder,
        emulator_process(
            conversations,
            latency_ms=latency,
            rate_limit_max=window_max,
            rate_limit_interval_ms=window_ms,
        ) as server,
    ):
        count = _Count()

        async def run() -> tuple[MirrorResult, float, float]:
            async with _client(server, count) as client:
                started, cpu = time.perf_counter(), time.process_time()
                result = await Mirror(client, f"sqlite:///{folder}/m.db").run()
                return result, time.perf_counter() - started, time.process_time() - cpu

        _, seconds, cpu = asyncio.run(run())
        rows = _count_rows(Path(folder) / "m.db")
    assert rows == conversations, (rows, conversations)
    share = count.requests / seconds / allowed
    rate = conversations / seconds
    text = "\n".join(
        [
            f"{conversations:,} conversations, {latency} ms a request, a window of {window_max} "
            f"requests per {window_ms} ms (the real 300 ms and 100 per 10 s, ten times faster), "
            "into a new SQLite file.",
            "",
            "| conversations | requests | 429s | seconds | conversations/s | share of the window "
            "| CPU per conversation |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {rows:,} | {count.requests:,} | {count.rejected} | {seconds:.1f} | {rate:,.0f} | "
            f"{share:.1%} | {cpu / conversations * 1e6:.1f} µs |",
        ]
    )
    return text, f"first mirror: {share:.1%} of the window, {count.rejected} 429s"


def _count_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        (rows,) = db.execute("SELECT count(*) FROM conversations").fetchone()
    return int(rows)


def incremental_after_changes(conversations: int) -> tuple[str, str]:
    """Requests of an incremental run after 1 % of the conversations got a message."""
    changed = conversations // 100
    emulator = LeadwayEmulator(conversations=conversations, seed=3, rate_limit_max=10**9)
    with tempfile.TemporaryDirectory() as folder, emulator.run_in_thread() as emu:
        url = f"sqlite:///{folder}/m.db"

        async def mirror() -> tuple[MirrorResult, int]:
            count = _Count()
            async with _client(emu, count) as client:
                return await Mirror(client, url).run(), count.requests

        _, first_requests = asyncio.run(mirror())
        rng = random.Random(5)
        data = list(emu.conversations)
        now_ms = int(time.time() * 1000)
        for k, index in enumerate(rng.sample(range(len(data)), changed)):
            data[index] = with_message(rng, data[index], now_ms + k)
        emu.set_conversations(data)
        result, requests = asyncio.run(mirror())
        rows = _rows_by_id(Path(folder) / "m.db")
        truth = {c["id"]: _served(c) for c in emu.conversations}
    location = result.locations[0]
    assert location.kind == "incremental", location
    stale = sum(1 for i, raw in truth.items() if rows.get(i) != raw)
    goal = changed / PAGE + 3
    text = "\n".join(
        [
            f"{conversations:,} conversations mirrored ({first_requests:,} requests), then "
            f"{changed:,} ({changed / conversations:.0%}) get a message; the incremental run:",
            "",
            "| changed | conversations read | updated | requests | goal | stale afterwards |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {changed:,} | {location.conversations:,} | {location.updated:,} | {requests} | "
            f"≤ {goal:g} | {stale} |",
        ]
    )
    return text, f"incremental run after {changed:,} changes: {requests} requests (≤ {goal:g})"


def _rows_by_id(path: Path) -> dict[str, Any]:
    with sqlite3.connect(path) as db:
        return {
            i: orjson.loads(raw)
            for i, raw in db.execute("SELECT id, raw FROM conversations WHERE deleted_at IS NULL")
        }


def _served(conversation: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in conversation.items() if v is not None}


def live_runs(conversations: int, pause_s: float) -> tuple[str, str]:
    """Full and incremental runs on a changing location, each checked against the record."""
    lag = 1.0
    changes = LiveChanges(
        messages_per_s=100, created_per_s=5, deleted_per_s=3, read_per_s=10, index_lag_s=lag
    )
    emulator = LeadwayEmulator(
        conversations=conversations, seed=4, latency_ms=5, rate_limit_max=10**9, live=changes
    )
    lines = [
        f"{conversations:,} conversations; all along {changes.messages_per_s:g} messages, "
        f"{changes.created_per_s:g} new conversations (shown {lag:g} s late), "
        f"{changes.deleted_per_s:g} deletions and {changes.read_per_s:g} reads a second; "
        f"{pause_s:g} s between runs. Left aside: what changed during the run itself, and "
        "after an incremental run the reads and deletions since the last full pass (they "
        "move no date: the next full pass takes them).",
        "",
        "| run | kind | conversations read | inserted | updated | marked deleted | requests "
        "| missing | stale | duplicated | kept though deleted |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    worst = 0
    with tempfile.TemporaryDirectory() as folder, emulator.run_in_thread() as emu:
        path = Path(folder) / "m.db"
        full_started = emu.now()
        for number, full in enumerate((False, False, False, True, False), 1):
            started = emu.now()
            if full or number == 1:
                full_started = started

            async def mirror(full: bool = full) -> MirrorResult:
                async with _client(emu) as client:
                    return await Mirror(client, f"sqlite:///{path}").run(full=full)

            result = asyncio.run(mirror())
            (location,) = result.locations
            found = _check(path, emu, location.kind, started, full_started, lag)
            worst = max(worst, *found.values())
            lines.append(
                f"| {number} | {location.kind} | {location.conversations:,} | "
                f"{location.inserted:,} | {location.updated:,} | {location.deleted:,} | "
                f"{location.requests} | {found['missing']} | {found['stale']} | "
                f"{found['duplicated']} | {found['kept']} |"
            )
            time.sleep(pause_s)
    verdict = "0 missing, stale or duplicated after every run" if worst == 0 else "MISSED"
    return "\n".join(lines), f"live changes: {verdict}"


def _check(
    path: Path, emu: Any, kind: str, started: float, full_started: float, lag: float
) -> dict[str, int]:
    live = emu.live
    checked = emu.now()
    truth = {c["id"]: _served(c) for c in emu.conversations}
    during = (
        live.moved(started, checked)
        | live.read(started, checked)
        | live.deleted(started, checked)
        | live.created(started - lag - 0.05, checked)
    )
    waiting: frozenset[str] = frozenset()
    if kind == "incremental":
        waiting = live.read(full_started, checked) | live.deleted(full_started, checked)
    with sqlite3.connect(path) as db:
        rows, distinct = db.execute(
            "SELECT count(*), count(DISTINCT id) FROM conversations"
        ).fetchone()
        present = {
            i: orjson.loads(raw)
            for i, raw in db.execute("SELECT id, raw FROM conversations WHERE deleted_at IS NULL")
        }
    return {
        "missing": sum(1 for i in truth if i not in present and i not in during),
        "stale": sum(
            1
            for i, raw in present.items()
            if i in truth and i not in during | waiting and raw != truth[i]
        ),
        "duplicated": rows - distinct,
        "kept": sum(1 for i in present if i not in truth and i not in during | waiting),
    }


def cpu_costs(conversations: int) -> str:
    """This process's CPU per conversation: a scan alone, the first mirror, a full pass
    with nothing changed (the SQLite thread's CPU included)."""
    lines = [
        f"{conversations:,} conversations, no latency, no enforced limit; this process's CPU "
        "(its SQLite thread included) per conversation, best of 3.",
        "",
        "| what | CPU per conversation | of which SQLite and rows | wall per conversation |",
        "|---|---:|---:|---:|",
    ]
    with emulator_process(conversations) as server:

        async def scan_only() -> tuple[float, float]:
            async with _client(server) as client:
                started, cpu = time.perf_counter(), time.process_time()
                count = sum([len(page) async for page in client.scan().pages()])
                assert count == conversations
                return time.process_time() - cpu, time.perf_counter() - started

        async def mirror(url: str, full: bool) -> tuple[float, float]:
            async with _client(server) as client:
                started, cpu = time.perf_counter(), time.process_time()
                await Mirror(client, url).run(full=full)
                return time.process_time() - cpu, time.perf_counter() - started

        walk = min(asyncio.run(scan_only()) for _ in range(3))
        firsts, again = [], []
        for _ in range(3):
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite:///{folder}/m.db"
                firsts.append(asyncio.run(mirror(url, False)))
                again.append(asyncio.run(mirror(url, True)))
    per = 1e6 / conversations
    for name, (cpu, wall) in (
        ("scan() alone, nothing kept", walk),
        ("first mirror: rows built, hashed, inserted", min(firsts)),
        ("full pass, nothing changed: hashes compared", min(again)),
    ):
        extra = "" if cpu is walk[0] else f"{(cpu - walk[0]) * per:.1f} µs"
        lines.append(f"| {name} | {cpu * per:.1f} µs | {extra or '-'} | {wall * per:.1f} µs |")
    return "\n".join(lines)


def run(quick: bool) -> str:
    """The section's Markdown body; quick mode: small, a few seconds."""
    if quick:
        first, first_goal = first_mirror(3_000)
        incremental, incremental_goal = incremental_after_changes(3_000)
        live, live_goal = live_runs(1_500, pause_s=0.3)
        cpu = cpu_costs(3_000)
    else:
        first, first_goal = first_mirror(100_000)
        incremental, incremental_goal = incremental_after_changes(100_000)
        live, live_goal = live_runs(20_000, pause_s=2.0)
        cpu = cpu_costs(100_000)
    goals = (
        f"Goals: at least 90 % of the window on the first mirror; an incremental run at most "
        f"changed / 100 + 3 requests; 0 missing, stale or duplicated. Measured: {first_goal}; "
        f"{incremental_goal}; {live_goal}."
    )
    return "\n\n".join([first, incremental, live, cpu, goals])


if __name__ == "__main__":
    import sys

    print(run("--quick" in sys.argv))
