"""`demo`: the whole job against a built-in emulator, with no account and no network."""

from __future__ import annotations

import argparse
import sys
import time

from ..client import LeadwayClient
from ..middleware.retry import RetryEvent, RetryPolicy
from ..models import RateLimit
from ..testing import Faults, LeadwayEmulator
from .checkpoint import checkpoint_path
from .export import ExportTarget, export
from .progress import Progress

FAULT_RATE = 0.05


async def run_demo(options: argparse.Namespace) -> None:
    """Start an emulator, export everything from it with progress, print a summary."""
    retries: list[RetryEvent] = []
    async with LeadwayEmulator(
        conversations=options.conversations,
        seed=7,
        latency_ms=15,  # a little network, so the progress can be seen moving
        faults=Faults(rate=FAULT_RATE, kinds=("status:503", "drop", "truncate"), seed=7),
    ) as emu:
        print(
            f"emulator at {emu.url} serving {options.conversations:,} conversations",
            file=sys.stderr,
        )
        checkpoint_path(options.out).unlink(missing_ok=True)  # a demo always starts afresh
        async with LeadwayClient(
            emu.token,
            location_id=emu.location_id,
            base_url=emu.url,
            retry=RetryPolicy(on_retry=retries.append),
        ) as client:
            started = time.monotonic()
            target = ExportTarget(options.out, "jsonl", identity={"demo": True})
            result = await export(
                client, {"limit": 100}, target, max_items=None, progress=Progress()
            )
            seconds = time.monotonic() - started
    budget = result.last_page_rate_limit
    pages = f"{result.pages} pages"
    print(
        f"exported {result.written:,} conversations in {pages} to {options.out} in {seconds:.1f} s"
    )
    print(f"retries: {len(retries)} (the emulator failed {FAULT_RATE:.0%} of requests on purpose)")
    if budget is not None:
        print(f"rate limit seen: {describe(budget)}")


def describe(budget: RateLimit) -> str:
    """The rate-limit headers of a response in words (what was not announced, said so)."""
    window = "no burst window announced"
    if budget.max is not None and budget.interval_ms is not None:
        window = (
            f"{budget.max} requests per {budget.interval_ms / 1000:g} s window, "
            f"{budget.remaining} left in the last one"
        )
    day = "no daily budget announced"
    if budget.daily_remaining is not None and budget.limit_daily is not None:
        day = f"{budget.daily_remaining:,} of {budget.limit_daily:,} left today"
    return f"{window}; {day}"
