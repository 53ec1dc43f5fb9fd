"""Separate processes, each with tasks of its own, walking one location through one Redis:
no 429, nearly the whole allowed rate, and every process served all along."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path

from redis_helpers import need_redis

need_redis()

from leadway_async.testing import LeadwayEmulator  # noqa: E402

WALKER = Path(__file__).with_name("walker.py")
SIZE = 20  # per second
PROCESSES, TASKS, REQUESTS = 3, 4, 25


async def test_processes_sharing_one_budget_get_no_429(redis_url: str, namespace: str) -> None:
    async with LeadwayEmulator(
        conversations=50,
        rate_limit_max=SIZE,
        rate_limit_interval_ms=1000,
        rate_limit_mode="sliding",
    ) as emu:
        draws = random.Random(3)

        async def jitter() -> None:  # the server counts each request 0 to 50 ms after its send
            while True:
                emu.latency_ms = draws.uniform(0, 50)
                await asyncio.sleep(0.005)

        start_at = time.time() + 2.5  # after every interpreter has started
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(WALKER),
                emu.url,
                emu.token,
                emu.location_id,
                redis_url,
                namespace,
                str(TASKS),
                str(REQUESTS),
                str(tag),
                str(start_at),
                stdout=asyncio.subprocess.PIPE,
            )
            for tag in range(1, PROCESSES + 1)
        ]
        jittering = asyncio.create_task(jitter())
        try:
            outputs = [await worker.communicate() for worker in workers]
        finally:
            jittering.cancel()
        records = [(r.time, int(r.query["limit"])) for r in emu.requests]

    assert [worker.returncode for worker in workers] == [0] * PROCESSES
    assert sorted(json.loads(out)["tag"] for out, _ in outputs) == [1, 2, 3]
    assert emu.count_429 == 0
    assert len(records) == PROCESSES * REQUESTS
    walk = sorted(t for t, _ in records if t >= start_at - 0.01)
    cycles = [walk[i + SIZE] - walk[i] for i in range(SIZE, len(walk) - SIZE)]
    assert SIZE / (sum(cycles) / len(cycles)) >= 0.85 * SIZE
    # While all three want places, each gets a fair part of them: none starves.
    contended = sorted(records)[PROCESSES : PROCESSES + 45]
    for tag in range(1, PROCESSES + 1):
        assert sum(1 for _, t in contended if t == tag) >= 8, tag
