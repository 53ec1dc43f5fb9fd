"""`python -m leadway_async.testing`: starts, says where, serves, and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from leadway_async.testing.__main__ import build_parser, main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX-only")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
async def test_the_command_serves_until_interrupted(
    stop: signal.Signals, http: aiohttp.ClientSession
) -> None:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadway_async.testing",
        "--port=0",
        "--conversations=50",
        "--seed=7",
        "--token=pit-cli-test",
        "--versions=v3, 2099-01-01",
        "--messages-per-s=400",
        "--created-per-s=100",
        "--index-lag-s=30",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert process.stdout is not None
    try:
        lines: list[str] = []
        while not lines or lines[-1] != "ready":
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "the command ended before it was ready"
            lines.append(line.decode().strip())
        exports = dict(line[len("export ") :].split("=", 1) for line in lines if "export" in line)
        url = exports["LEADWAY_BASE_URL"]
        assert url.startswith("http://127.0.0.1:")
        assert exports["LEADWAY_TOKEN"] == "pit-cli-test"
        assert url in lines[0]

        started = time.time()
        await asyncio.sleep(0.1)
        search = f"{url}/conversations/search"
        params = {"locationId": exports["LEADWAY_LOCATION_ID"]}
        token = {"Authorization": "Bearer pit-cli-test"}
        async with http.get(search, params=params, headers={**token, "Version": "v3"}) as answer:
            assert answer.status == 200
            body = await answer.json()
        assert body["total"] == 50  # creations wait 30 s for the index
        newest = body["conversations"][0]
        assert newest["lastMessageDate"] >= started * 1000  # a live message moved it first
        async with http.get(
            search, params=params, headers={**token, "Version": "2099-01-01"}
        ) as other:
            assert other.status == 200
        async with http.get(
            search, params=params, headers={**token, "Version": "2021-07-28"}
        ) as refused:
            assert refused.status == 400
        span = {"from": str(started), "to": str(time.time())}
        async with http.get(f"{url}/_emulator/live", params=span, headers=token) as live:
            truth = await live.json()
        assert newest["id"] in truth["moved"]
        assert truth["created"]
        assert len(truth["present_throughout"]) <= 50
    finally:
        if process.returncode is None:
            process.send_signal(stop)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    assert out.decode().split() == ["stopped"]
    assert err == b""


def test_the_parser_knows_every_option() -> None:
    args = build_parser().parse_args(
        [
            *("--host", "::1", "--port", "9", "--conversations", "5", "--seed", "2"),
            *("--ties", "0.5", "--token", "t", "--location-id", "L", "--rate-limit-max", "7"),
            *("--rate-limit-interval-ms", "500", "--rate-limit-mode", "sliding"),
            *("--daily-limit", "99", "--retry-after", "1.5", "--latency-ms", "20"),
            *("--fault-rate", "0.1", "--fault-kinds", "drop,truncate", "--versions", "v3"),
            *("--messages-per-s", "20", "--created-per-s", "1.5", "--deleted-per-s", "0.5"),
            *("--read-per-s", "2", "--index-lag-s", "3", "--skew", "0.9"),
            *("--locations", "a,b", "--client-id", "app-x", "--client-secret", "s"),
            *("--company-id", "C", "--token-lifetime-s", "60"),
        ]
    )
    assert vars(args) == {
        "host": "::1",
        "port": 9,
        "conversations": 5,
        "seed": 2,
        "ties": 0.5,
        "skew": 0.9,
        "token": "t",
        "location_id": "L",
        "rate_limit_max": 7,
        "rate_limit_interval_ms": 500,
        "rate_limit_mode": "sliding",
        "daily_limit": 99,
        "retry_after": 1.5,
        "latency_ms": 20.0,
        "fault_rate": 0.1,
        "fault_kinds": "drop,truncate",
        "versions": "v3",
        "messages_per_s": 20.0,
        "created_per_s": 1.5,
        "deleted_per_s": 0.5,
        "read_per_s": 2.0,
        "index_lag_s": 3.0,
        "locations": "a,b",
        "client_id": "app-x",
        "client_secret": "s",
        "company_id": "C",
        "token_lifetime_s": 60.0,
    }
    defaults = build_parser().parse_args([])
    assert defaults.versions == "2021-07-28,2021-04-15,2023-02-21,v3"
    assert (defaults.messages_per_s, defaults.index_lag_s) == (0.0, 0.0)
    assert (defaults.locations, defaults.token_lifetime_s) == (None, 86_399.0)
    assert defaults.client_id == "6650e1f0a1b2c3d4e5f6a7b8-lw0emulator"


@pytest.mark.parametrize(
    "argv",
    [
        ["--fault-kinds", "status:503,bogus"],
        ["--fault-rate", "2"],
        ["--ties", "3"],
        ["--skew", "-0.1"],
        ["--rate-limit-mode", "leaky"],
        ["--conversations", "many"],
        ["--versions", " , "],
        ["--messages-per-s", "-1"],
        ["--index-lag-s", "inf"],
        ["--locations", " , "],
        ["--locations", "a,a"],
        ["--token-lifetime-s", "0.5"],
        ["--client-id", ""],
    ],
)
def test_bad_options_exit_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "error:" in capsys.readouterr().err
