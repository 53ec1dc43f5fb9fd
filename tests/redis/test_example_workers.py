"""examples/redis_workers.py: three worker processes share an OAuth install and each
location's window through Redis, and export every location once."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from redis_helpers import need_redis

from leadway_async.testing import LeadwayEmulator

EXAMPLE = Path(__file__).parents[2] / "examples" / "redis_workers.py"
REDIRECT = "https://example.com/callback"


async def test_three_workers_export_every_location_once_with_no_429(
    redis_url: str, namespace: str, tmp_path: Path
) -> None:
    need_redis()
    from leadway_async.auth import OAuthApp
    from leadway_async.redis import RedisTokenStore

    extra = [f"Worker{n}Location0000000"[:20] for n in range(5)]
    async with LeadwayEmulator(
        conversations=250, locations=extra, rate_limit_max=10, rate_limit_interval_ms=1000
    ) as emu:
        store = RedisTokenStore(redis_url, key=f"{namespace}:oauth")
        app = OAuthApp(emu.client_id, emu.client_secret, store, base_url=emu.url)
        await app.exchange_code(emu.authorization_code("Company"), redirect_uri=REDIRECT)
        env = {
            "LEADWAY_CLIENT_ID": emu.client_id,
            "LEADWAY_CLIENT_SECRET": emu.client_secret,
            "LEADWAY_BASE_URL": emu.url,
            "PATH": "/usr/bin:/bin",
        }
        argv = [
            str(EXAMPLE),
            *("--redis", redis_url, "--namespace", namespace),
            *("--locations", ",".join(emu.location_ids), "--out-dir", str(tmp_path)),
        ]
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                *argv,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(3)
        ]
        outputs = [await worker.communicate() for worker in workers]
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err.decode()
        lines = [line for out, _ in outputs for line in out.decode().splitlines()]
        assert sorted(line.split()[-3] for line in lines) == sorted(emu.location_ids)
        for location_id in emu.location_ids:
            exported = (tmp_path / f"{location_id}.jsonl").read_text().splitlines()
            ids = [json.loads(line)["id"] for line in exported]
            want = [c["id"] for c in emu.expected({"locationId": location_id})]
            assert sorted(ids) == sorted(want)
        assert emu.count_429 == 0
        assert emu.oauth_requests["location_token"] == len(emu.location_ids)
