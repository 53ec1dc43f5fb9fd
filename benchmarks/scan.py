"""The scan: how much of a location's rate limit a walk uses, at a real round trip.

A cursor walk asks for a page only once the one before has answered, so at a 300 ms round
trip it sends about three requests a second where ten are allowed. `scan()` walks ranges
side by side and lets the throttle set the pace. Contenders, each against a fresh
emulator with the round trip and the enforced window given:

- `scan(concurrency=4)`, on evenly spread data and on skewed data (90 % of the
  conversations in the last tenth of the time range);
- `paginate()` beside them.

The share is conversations per second over what the window allows (its requests per
second times 100 conversations a page), over the whole run; and, as the "steady" share,
the rate of requests sent after the first window's worth over the same allowance. The
whole-run figure depends on where the run ends against the window: the first window's
burst is free, and a few requests more than a multiple of the window start one more.
The steady share is what a long export gets. The CPU section walks without latency or
limit and compares this process's CPU per conversation.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from attrs import frozen

from leadway_async import LeadwayClient
from leadway_async.middleware import Handler, Request, Response, RetryEvent, RetryPolicy

from ._server import Server, emulator_process

PAGE = 100


@frozen
class Run:
    """What one contender did: conversations, distinct ones, requests, 429s, time, CPU,
    and when each request went out (seconds, `time.perf_counter()`)."""

    conversations: int
    distinct: int
    requests: int
    rejected: int
    seconds: float
    cpu_seconds: float
    sends: tuple[float, ...]

    def steady_rate(self, window_max: int) -> float | None:
        """Requests a second sent after the first `window_max` (None: too few)."""
        later = self.sends[window_max:]
        if len(later) < 2:
            return None
        return (len(later) - 1) / (later[-1] - later[0])


async def _run(server: Server, scan: bool, concurrency: int) -> Run:
    requests = 0
    rejected: list[RetryEvent] = []

    async def count(request: Request, handler: Handler) -> Response:
        nonlocal requests
        requests += 1
        return await handler(request)

    def note(event: RetryEvent) -> None:
        if event.reason == "HTTP 429":
            rejected.append(event)

    sends: list[float] = []

    async def sent(*_: object) -> None:
        sends.append(time.perf_counter())

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(sent)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        LeadwayClient(
            server.token,
            location_id=server.location_id,
            base_url=server.url,
            middlewares=[count],
            retry=RetryPolicy(on_retry=note),
            session=session,
        ) as client,
    ):
        started, cpu = time.perf_counter(), time.process_time()
        walk = client.scan(concurrency=concurrency) if scan else client.paginate()
        ids = [conversation.id async for conversation in walk]
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return Run(len(ids), len(set(ids)), requests, len(rejected), seconds, cpu_seconds, tuple(sends))


def window_runs(pages: int, latency_ms: float, window_max: int, window_ms: int) -> str:
    """The scan and the walk against an enforced window at a real round trip."""
    allowed = window_max / (window_ms / 1000) * PAGE  # conversations a second
    lines = [
        f"About {pages} pages of {PAGE} conversations, {latency_ms:g} ms per request, a window "
        f"of {window_max} requests per {window_ms:g} ms (so {allowed:,.0f} conversations a "
        "second at most), each contender on a fresh emulator.",
        "",
        "| contender | data | conversations | requests | 429s | seconds | conversations/s | "
        "share of what the window allows | steady share |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    summary: list[str] = []
    for name, scan, skew in (
        ("scan(concurrency=4)", True, 0.0),
        ("scan(concurrency=4)", True, 0.9),
        ("paginate()", False, 0.0),
    ):
        with emulator_process(
            pages * PAGE,
            latency_ms=latency_ms,
            rate_limit_max=window_max,
            rate_limit_interval_ms=window_ms,
            skew=skew,
        ) as server:
            run = asyncio.run(_run(server, scan, 4))
        assert run.distinct == run.conversations == pages * PAGE, (name, run)
        rate = run.conversations / run.seconds
        steady = run.steady_rate(window_max)
        steady_share = "n/a" if steady is None else f"{steady * PAGE / allowed:.1%}"
        data = "skewed (90 % in the last tenth)" if skew else "evenly spread"
        lines.append(
            f"| {name} | {data} | {run.conversations:,} | {run.requests} | {run.rejected} | "
            f"{run.seconds:.1f} | {rate:,.0f} | {rate / allowed:.1%} | {steady_share} |"
        )
        summary.append(
            f"{name} on {data} data, {pages} pages at {latency_ms:g} ms: {rate / allowed:.1%} "
            f"(steady {steady_share}), {run.rejected} 429s"
        )
    return "\n".join(lines), "; ".join(summary)


def cpu_runs(conversations: int) -> str:
    """This process's CPU per conversation, scan against walk, without latency or limit."""
    lines = [
        f"{conversations:,} conversations, no latency, no enforced limit: this process's CPU "
        "per conversation (the emulator runs in its own).",
        "",
        "| contender | conversations | CPU per conversation |",
        "|---|---:|---:|",
    ]
    with emulator_process(conversations) as server:
        for name, scan in (("paginate()", False), ("scan(concurrency=4)", True)):
            best = min(
                (asyncio.run(_run(server, scan, 4)) for _ in range(3)),
                key=lambda run: run.cpu_seconds,
            )
            per = best.cpu_seconds / best.conversations * 1e6
            lines.append(f"| {name} | {best.conversations:,} | {per:.1f} µs |")
    return "\n".join(lines)


def run(quick: bool) -> tuple[str, str]:
    """The section's text, and a summary of its goals beside the figures."""
    if quick:
        window, summary = window_runs(pages=12, latency_ms=30, window_max=100, window_ms=1000)
        cpu = cpu_runs(3_000)
    else:
        real, real_summary = window_runs(
            pages=300, latency_ms=300, window_max=100, window_ms=10_000
        )
        scaled, scaled_summary = window_runs(
            pages=1_000, latency_ms=30, window_max=100, window_ms=1_000
        )
        window = f"{real}\n\nThe same shape scaled in time, ten windows long:\n\n{scaled}"
        summary = f"{real_summary}; {scaled_summary}"
        cpu = cpu_runs(100_000)
    goals = (
        "- The scan (goals: at least 95 % of what the window allows, 90 % on skewed data, "
        f"zero 429s; paginate() beside): {summary}."
    )
    return f"{window}\n\n{cpu}", goals
