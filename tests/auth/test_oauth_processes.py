"""Processes sharing one FileTokenStore across an expiry: the refresh token is spent once."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

from leadway_async.testing import LeadwayEmulator

from .helpers import REDIRECT

_WORKER = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from leadway_async import LeadwayClient
    from leadway_async.auth import FileTokenStore, OAuthApp

    async def main(url, store_path, location, client_id, secret, seconds):
        print("ready", flush=True)
        while not os.path.exists(store_path):
            await asyncio.sleep(0.005)
        ends = time.monotonic() + seconds
        app = OAuthApp(client_id, secret, FileTokenStore(store_path), base_url=url,
                       refresh_margin=1.5)
        calls = 0
        async with LeadwayClient(auth=app, base_url=url, throttle=False) as client:
            async def task():
                nonlocal calls
                while time.monotonic() < ends:
                    await client.search(location_id=location)
                    calls += 1
                    await asyncio.sleep(0.01)
            await asyncio.gather(*(task() for _ in range(4)))
        print("calls", calls, flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                     float(sys.argv[6])))
    """
)


async def test_four_processes_across_one_expiry_refresh_once(tmp_path: Path) -> None:
    async with LeadwayEmulator(conversations=5, token_lifetime_s=3, rate_limit_max=10_000) as emu:
        store = tmp_path / "tokens.json"
        argv = [str(emu.url), str(store), emu.location_id, emu.client_id, emu.client_secret]
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _WORKER,
                *argv,
                "2.8",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(4)
        ]
        for worker in workers:
            assert worker.stdout is not None
            assert await worker.stdout.readline() == b"ready\n"
        from leadway_async.auth import FileTokenStore, OAuthApp

        app = OAuthApp(emu.client_id, emu.client_secret, FileTokenStore(store), base_url=emu.url)
        await app.exchange_code(emu.authorization_code(), redirect_uri=REDIRECT)
        outputs = [await worker.communicate() for worker in workers]
        for worker, (out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err.decode()
            assert int(out.split()[-1]) > 10  # each made calls on both sides of the expiry
        requests = emu.oauth_requests
        assert requests["refresh_token"] == 1
        assert requests["invalid_grant"] == 0
