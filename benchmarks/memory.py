"""Memory: peak RSS growth while streaming conversations, and bytes per kept conversation.

Each measurement runs in a fresh child process (`--child`), so nothing one contender
allocated can hide another's growth. Streaming contenders:
- `floor`: raw aiohttp + orjson, dicts discarded, following the cursor naively;
- `leadway_async paginate()`: full models, default settings, conversations discarded.
Keeping contenders hold every conversation of a walk in a list: raw dicts against models.

Run: python -m benchmarks.memory [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from typing import Any

from ._server import Server, emulator_process


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


class PeakSampler:
    """Samples this process's RSS every few milliseconds in a thread; keeps the peak."""

    def __init__(self) -> None:
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


async def floor_walk(server: Server, keep: list[Any] | None) -> int:
    import aiohttp
    import orjson

    headers = {"Authorization": f"Bearer {server.token}", "Version": "2021-07-28"}
    query: dict[str, str] = {"locationId": server.location_id, "limit": "100"}
    count = 0
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(
                f"{server.url}/conversations/search", params=query, headers=headers
            ) as r:
                page = orjson.loads(await r.read())
            items = page["conversations"]
            count += len(items)
            if keep is not None:
                keep.extend(items)
            if len(items) < 100:
                return count
            query["startAfterDate"] = str(items[-1]["sort"][0])


async def sdk_walk(server: Server, keep: list[Any] | None) -> int:
    from leadway_async import LeadwayClient

    count = 0
    async with LeadwayClient(
        server.token, location_id=server.location_id, base_url=server.url
    ) as client:
        async for conversation in client.paginate():
            count += 1
            if keep is not None:
                keep.append(conversation)
    return count


async def warm_up(server: Server) -> None:
    """A short walk first, so imports, connection pools and caches are in the baseline."""
    from leadway_async import LeadwayClient

    async with LeadwayClient(
        server.token, location_id=server.location_id, base_url=server.url
    ) as client:
        async for _ in client.paginate(max_items=300):
            pass


def child(contender: str, keep: bool, server: Server) -> dict[str, Any]:
    asyncio.run(warm_up(server))
    walk = floor_walk if contender == "floor" else sdk_walk
    kept: list[Any] | None = [] if keep else None
    before = rss_bytes()
    started = time.perf_counter()
    with PeakSampler() as sampler:
        count = asyncio.run(walk(server, kept))
    return {
        "contender": contender,
        "count": count,
        "seconds": time.perf_counter() - started,
        "rss_before": before,
        "rss_peak": sampler.peak,
        "kept": keep,
    }


def measure(contender: str, keep: bool, server: Server) -> dict[str, Any]:
    args = [
        sys.executable, "-m", "benchmarks.memory", "--child", contender,
        "--url", server.url, "--token", server.token, "--location-id", server.location_id,
    ]  # fmt: skip
    if keep:
        args.append("--keep")
    output = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def run(stream_count: int, keep_count: int) -> str:
    lines = [
        f"Streaming {stream_count:,} conversations, items discarded: peak RSS growth over the "
        "RSS after a short warm-up walk.",
        "",
        "| contender | conversations | seconds | peak RSS growth |",
        "|---|---:|---:|---:|",
    ]
    with emulator_process(stream_count) as server:
        for contender in ("floor", "sdk"):
            r = measure(contender, False, server)
            growth = (r["rss_peak"] - r["rss_before"]) / 2**20
            name = (
                "floor (aiohttp + orjson)" if contender == "floor" else "leadway_async paginate()"
            )
            lines.append(f"| {name} | {r['count']:,} | {r['seconds']:.1f} | {growth:.1f} MB |")
    lines += [
        "",
        f"Keeping all {keep_count:,} conversations of a walk in a list: RSS growth per item.",
        "",
        "| kept as | conversations | bytes per conversation |",
        "|---|---:|---:|",
    ]
    with emulator_process(keep_count) as server:
        for contender in ("floor", "sdk"):
            r = measure(contender, True, server)
            per_item = (r["rss_peak"] - r["rss_before"]) / r["count"]
            name = "raw dicts (floor)" if contender == "floor" else "Conversation models"
            lines.append(f"| {name} | {r['count']:,} | {per_item:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, for CI")
    parser.add_argument("--child", choices=["floor", "sdk"], help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--location-id", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        server = Server(options.url, options.token, options.location_id)
        print(json.dumps(child(options.child, options.keep, server)))
    elif options.quick:
        print(run(stream_count=3_000, keep_count=2_000))
    else:
        print(run(stream_count=1_000_000, keep_count=100_000))


if __name__ == "__main__":
    main()
