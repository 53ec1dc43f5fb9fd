"""`demo`: the mirror against a built-in emulator, with no account and no network.

It starts an emulator whose conversations change while it serves, mirrors it into a
SQLite file (a new temporary folder unless `--out` names one), waits a moment, runs
again to show an incremental run, and sums up from the database.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sqlite3
import sys
import tempfile
from pathlib import Path

from attrs import frozen

from ..client import LeadwayClient
from ..middleware.retry import RetryEvent, RetryPolicy
from ..mirror import Mirror, MirrorResult
from ..testing import Faults, LeadwayEmulator, LiveChanges
from .config import UsageError
from .mirror import LocationMeters, MirrorReport

FAULT_RATE = 0.05
PAUSE_S = 2.0
CHANNELS_SHOWN = 6
QUERY = (
    "SELECT last_message_type, count(*), sum(unread_count > 0) AS unread FROM conversations "
    "WHERE deleted_at IS NULL GROUP BY 1 ORDER BY 2 DESC"
)
"""The query the demo offers to paste: conversations and unread ones by channel."""


@frozen
class MirrorSummary:
    """What the mirror holds: conversations by channel (most first), unread ones."""

    by_channel: tuple[tuple[str, int], ...]
    conversations: int
    unread: int
    unread_messages: int


async def run_demo(options: argparse.Namespace) -> None:
    """Start an emulator, mirror it twice (full, then incremental), print a summary."""
    path = _database_path(options.out)
    retries: list[RetryEvent] = []
    meters = LocationMeters()
    changes = LiveChanges(
        messages_per_s=40, created_per_s=3, deleted_per_s=2, read_per_s=5, index_lag_s=1, seed=7
    )
    async with LeadwayEmulator(
        conversations=options.conversations,
        seed=7,
        latency_ms=15,  # a little network, so the progress can be seen moving
        faults=Faults(rate=FAULT_RATE, kinds=("status:503", "drop", "truncate"), seed=7),
        live=changes,
    ) as emu:
        print(
            f"emulator at {emu.url} serving {options.conversations:,} conversations, "
            f"about {changes.rate:g} changes a second",
            file=sys.stderr,
        )
        async with LeadwayClient(
            emu.token,
            location_id=emu.location_id,
            base_url=emu.url,
            retry=RetryPolicy(on_retry=retries.append),
            middlewares=[meters],
        ) as client:
            mirror = Mirror(client, f"sqlite:///{path}", progress=MirrorReport(sys.stderr, meters))
            first = await mirror.run()
            print(f"waiting {PAUSE_S:g} s while conversations change...", file=sys.stderr)
            await asyncio.sleep(PAUSE_S)
            second = await mirror.run()
        budget = meters.meter(emu.location_id).window
    summary = await asyncio.to_thread(read_summary, path)
    _print(path, first, second, summary, retries, budget)


def _database_path(out: Path | None) -> Path:
    """Where the demo's mirror goes: `out` (a demo mirror there is replaced), else a new
    temporary folder (kept, so that the database can be looked at afterwards)."""
    if out is None:
        return Path(tempfile.mkdtemp(prefix="leadway-demo-")) / "leadway-demo.db"
    if out.exists():
        if not _is_mirror(out):
            raise UsageError(
                f"{out} exists and is not a mirror: the demo will not overwrite it; pass "
                "another --out"
            )
        for stale in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
            stale.unlink(missing_ok=True)  # a demo always starts afresh
    return out


def _is_mirror(path: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mirror_schema'"
            ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def read_summary(path: Path) -> MirrorSummary:
    """Conversations by channel and unread ones, as the mirror at `path` holds them."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        channels = db.execute(
            "SELECT coalesce(last_message_type, '(none)'), count(*) FROM conversations "
            "WHERE deleted_at IS NULL GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        total, unread, messages = db.execute(
            "SELECT count(*), coalesce(sum(unread_count > 0), 0), "
            "coalesce(sum(unread_count), 0) FROM conversations WHERE deleted_at IS NULL"
        ).fetchone()
    return MirrorSummary(tuple(channels), total, unread, messages)


def _print(
    path: Path,
    first: MirrorResult,
    second: MirrorResult,
    summary: MirrorSummary,
    retries: list[RetryEvent],
    window: tuple[int, float] | None,
) -> None:
    (full,) = first.locations
    (incremental,) = second.locations
    print(
        f"mirrored {full.present:,} conversations into {path} in {full.seconds:.1f} s "
        f"(a full pass: {full.requests} requests)"
    )
    print(
        f"incremental run: {incremental.conversations:,} conversations read "
        f"({incremental.inserted} new, {incremental.updated} with new messages) with "
        f"{incremental.requests} request{'' if incremental.requests == 1 else 's'}, in "
        f"{incremental.seconds:.2f} s"
    )
    shown = summary.by_channel[:CHANNELS_SHOWN]
    others = sum(count for _, count in summary.by_channel[CHANNELS_SHOWN:])
    channels = ", ".join(f"{channel.removeprefix('TYPE_')} {count:,}" for channel, count in shown)
    if others:
        channels += f", others {others:,}"
    print(f"by channel: {channels}")
    print(
        f"unread: {summary.unread:,} of {summary.conversations:,} conversations "
        f"({summary.unread_messages:,} messages)"
    )
    print(f"retries: {len(retries)} (the emulator failed {FAULT_RATE:.0%} of requests on purpose)")
    if window is not None:
        print(f"rate limit seen: {window[0]} requests per {window[1]:g} s window")
    print(f"look inside: sqlite3 {shlex.quote(str(path))} {shlex.quote(QUERY)}")
