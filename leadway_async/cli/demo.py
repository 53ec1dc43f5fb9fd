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
from .meter import RateMeter
from .progress import Progress
from .walk import WalkPlan

FAULT_RATE = 0.05


async def run_demo(options: argparse.Namespace) -> None:
    """Start an emulator, scan everything from it with progress, print a summary."""
    retries: list[RetryEvent] = []
    meter = RateMeter()
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
            middlewares=[meter],
        ) as client:
            started = time.monotonic()
            target = ExportTarget(options.out, "jsonl", identity={"demo": True})
            result = await export(
                client,
                {"limit": 100},
                target,
                walk=WalkPlan("scan"),
                max_items=None,
                progress=Progress(rate_share=meter.share),
            )
            seconds = time.monotonic() - started
    budget = result.last_page_rate_limit
    print(
        f"exported {result.written:,} conversations in {result.pages} pages to {options.out} "
        f"in {seconds:.1f} s, with {meter.requests} requests{_share(meter)}"
    )
    print(f"retries: {len(retries)} (the emulator failed {FAULT_RATE:.0%} of requests on purpose)")
    if budget is not None:
        print(f"rate limit seen: {describe(budget)}")


def _share(meter: RateMeter) -> str:
    """The most of the rate limit the requests used in any window, in words (if known)."""
    if meter.peak is None:
        return ""
    return f" using at most {100 * meter.peak:.0f}% of the rate limit"


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
