"""One worker process of the multi-process tests: tasks searching one location through a
RedisThrottle, from a given moment, then a JSON line of what it did.

    python tests/redis/walker.py EMULATOR_URL TOKEN LOCATION REDIS_URL NAMESPACE \
        TASKS REQUESTS TAG START_AT

Each search asks for `limit=TAG`, so the emulator's record tells the processes apart.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from leadway_async import LeadwayClient
from leadway_async.redis import RedisThrottle


async def main(argv: list[str]) -> None:
    url, token, location, redis_url, namespace = argv[:5]
    tasks, requests, tag = (int(value) for value in argv[5:8])
    start_at = float(argv[8])
    async with (
        RedisThrottle(redis_url, namespace=namespace) as throttle,
        LeadwayClient(token, location_id=location, base_url=url, throttle=throttle) as client,
    ):
        await client.search(limit=tag)  # connections open before the start
        await asyncio.sleep(max(0.0, start_at - time.time()))
        searches = iter(range(requests - 1))

        async def task() -> None:
            for _ in searches:
                await client.search(limit=tag)

        await asyncio.gather(*(task() for _ in range(tasks)))
    print(json.dumps({"tag": tag, "requests": requests}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
