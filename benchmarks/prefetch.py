"""Latency hiding: a walk where the server and the caller each take 20 ms per page.

With prefetch the next page is fetched while the caller works on this one, so a walk
should take about half as long as without. Rounds alternate prefetch on and off.

Run: python -m benchmarks.prefetch [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from leadway_async import LeadwayClient

from ._server import Server, emulator_process


async def timed_walk(server: Server, pages: int, work_s: float, prefetch: int) -> float:
    async with LeadwayClient(
        server.token, location_id=server.location_id, base_url=server.url
    ) as client:
        started = time.perf_counter()
        walked = 0
        async for _page in client.paginate(limit=100, prefetch=prefetch).pages():
            await asyncio.sleep(work_s)  # the caller's work on this page
            walked += 1
        elapsed = time.perf_counter() - started
    assert walked == pages, walked
    return elapsed


def run(pages: int, rounds: int, latency_ms: float = 20, work_ms: float = 20) -> str:
    # Each page after the first re-asks its boundary conversation: 1 + 99 per page.
    conversations = 100 + 99 * (pages - 1) - 1
    times: dict[int, list[float]] = {1: [], 0: []}
    with emulator_process(conversations, latency_ms=latency_ms) as server:
        for _ in range(rounds):
            for prefetch in times:
                times[prefetch].append(
                    asyncio.run(timed_walk(server, pages, work_ms / 1000, prefetch))
                )
    on, off = statistics.median(times[1]), statistics.median(times[0])
    return "\n".join([
        f"{pages} pages, server latency {latency_ms:g} ms, caller work {work_ms:g} ms per page, "
        f"{rounds} rounds.",
        "",
        "| prefetch | seconds (median) | min | max |",
        "|---|---:|---:|---:|",
        f"| on (prefetch=1) | {on:.2f} | {min(times[1]):.2f} | {max(times[1]):.2f} |",
        f"| off (prefetch=0) | {off:.2f} | {min(times[0]):.2f} | {max(times[0]):.2f} |",
        "",
        f"On takes {on / off:.2f}x the time of off (target: at most 0.7x).",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, for CI")
    options = parser.parse_args()
    print(run(pages=10, rounds=2) if options.quick else run(pages=100, rounds=5))


if __name__ == "__main__":
    main()
