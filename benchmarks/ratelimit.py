"""Rate limit: how much of an enforced window a walk uses, and how many 429s it collects.

The emulator enforces `max` requests per window (20 per second here). The share of the
allowed rate is the least time N requests need without breaking the window, over the
time they took. Contenders: `paginate()` with its default throttle, and a naive loop
that sends as fast as it can and sleeps a second after each 429.
"""

from __future__ import annotations

import asyncio
import math
import time

import aiohttp
import orjson

from leadway_async import LeadwayClient
from leadway_async.middleware import RetryEvent, RetryPolicy

from ._server import Server, emulator_process
from .walks import HEADERS_VERSION, SEARCH

WINDOW_MAX, WINDOW_MS = 20, 1000


async def paginate_walk(server: Server) -> tuple[int, int, float]:
    """Requests made, 429s received, seconds taken."""
    got_429: list[RetryEvent] = []

    def note(event: RetryEvent) -> None:
        if event.reason == "HTTP 429":
            got_429.append(event)

    requests = 0
    async with LeadwayClient(
        server.token,
        location_id=server.location_id,
        base_url=server.url,
        retry=RetryPolicy(on_retry=note),
    ) as client:
        started = time.perf_counter()
        async for _ in client.paginate(prefetch=0).pages():
            requests += 1
        elapsed = time.perf_counter() - started
    return requests + len(got_429), len(got_429), elapsed


async def naive_walk(server: Server) -> tuple[int, int, float]:
    """A loop with no throttle: on a 429 it sleeps one second and asks again."""
    headers = {"Authorization": f"Bearer {server.token}", "Version": HEADERS_VERSION}
    query = {"locationId": server.location_id, "limit": "100"}
    requests = rejected = 0
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        while True:
            async with session.get(server.url + SEARCH, params=query, headers=headers) as answer:
                requests += 1
                if answer.status == 429:
                    rejected += 1
                    await asyncio.sleep(1.0)
                    continue
                items = orjson.loads(await answer.read())["conversations"]
            if len(items) < 100:
                return requests, rejected, time.perf_counter() - started
            query["startAfterDate"] = str(items[-1]["sort"][0])


def least_seconds(accepted: int) -> float:
    """The least time `accepted` requests need without breaking the window."""
    return (math.ceil(accepted / WINDOW_MAX) - 1) * WINDOW_MS / 1000


def run(pages: int) -> str:
    lines = [
        f"A walk of {pages} pages against a window of {WINDOW_MAX} requests per "
        f"{WINDOW_MS} ms (fixed windows), each contender on a fresh emulator.",
        "",
        "| contender | requests | 429s received | seconds | share of the allowed rate |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, walk in (("leadway_async paginate()", paginate_walk), ("naive loop", naive_walk)):
        with emulator_process(
            (pages - 1) * 99 + 50, rate_limit_max=WINDOW_MAX, rate_limit_interval_ms=WINDOW_MS
        ) as server:
            requests, rejected, seconds = asyncio.run(walk(server))
        share = least_seconds(requests - rejected) / seconds if seconds else 0.0
        lines.append(f"| {name} | {requests} | {rejected} | {seconds:.2f} | {share:.1%} |")
    return "\n".join(lines)
