"""Export a list of locations with N worker processes that share one OAuth install and
each location's rate limit through Redis.

Start as many as you like, on any number of hosts, with the same arguments:

    export LEADWAY_CLIENT_ID=... LEADWAY_CLIENT_SECRET=...
    python examples/redis_workers.py --redis redis://localhost:6379/0 \\
        --locations ve9EPM428h8vShlRW1KT,aBcDeF... --out-dir exports &   # x N

The install's tokens live in Redis (`RedisTokenStore`: one refresh per expiry, whichever
worker hits it first); the requests of all workers count against one window per location
(`RedisThrottle`); each location is claimed in Redis by one worker, so none is exported
twice. A worker exits when no unclaimed location is left, and prints one line per
location it exported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from pathlib import Path

import redis.asyncio as redis

from leadway_async import LeadwayClient
from leadway_async.auth import OAuthApp
from leadway_async.cli.output import jsonl_lines
from leadway_async.redis import RedisThrottle, RedisTokenStore

CLAIM_SECONDS = 24 * 3600  # a claim outlives any export; delete the keys to export again


async def export_location(client: LeadwayClient, location_id: str, out: Path) -> int:
    """Scan one location into `out` (JSON Lines); returns how many conversations."""
    count = 0
    with out.open("wb") as stream:
        async with client.scan(location_id=location_id, concurrency=4) as scan:
            async for page in scan.pages():
                stream.write(jsonl_lines(page))
                count += len(page)
    return count


async def main(options: argparse.Namespace) -> None:
    connection = redis.Redis.from_url(options.redis)
    me = f"{socket.gethostname()}:{os.getpid()}"
    app = OAuthApp(store=RedisTokenStore(connection, key=f"{options.namespace}:oauth"))
    throttle = RedisThrottle(connection, namespace=options.namespace)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        async with LeadwayClient(auth=app, throttle=throttle) as client:
            for location_id in options.locations.split(","):
                claim = f"{options.namespace}:claim:{location_id}"
                if not await connection.set(claim, me, nx=True, ex=CLAIM_SECONDS):
                    continue  # another worker has it
                out = options.out_dir / f"{location_id}.jsonl"
                count = await export_location(client, location_id, out)
                print(f"{me} exported {count} conversations of {location_id} to {out}")
    finally:
        await connection.aclose()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The worker's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", required=True, help="the Redis URL every worker uses")
    parser.add_argument("--locations", required=True, help="comma-separated location ids")
    parser.add_argument("--out-dir", type=Path, default=Path("exports"))
    parser.add_argument(
        "--namespace", default="leadway-example", help="one per app: the budget's name"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
