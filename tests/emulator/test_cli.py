"""`python -m leadway_async.testing`: starts, says where, serves, and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
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

        async with http.get(
            f"{url}/conversations/search",
            params={"locationId": exports["LEADWAY_LOCATION_ID"]},
            headers={"Authorization": "Bearer pit-cli-test", "Version": "2021-07-28"},
        ) as answer:
            assert answer.status == 200
            assert (await answer.json())["total"] == 50
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
            *("--fault-rate", "0.1", "--fault-kinds", "drop,truncate"),
        ]
    )
    assert vars(args) == {
        "host": "::1",
        "port": 9,
        "conversations": 5,
        "seed": 2,
        "ties": 0.5,
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
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["--fault-kinds", "status:503,bogus"],
        ["--fault-rate", "2"],
        ["--ties", "3"],
        ["--rate-limit-mode", "leaky"],
        ["--conversations", "many"],
    ],
)
def test_bad_options_exit_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "error:" in capsys.readouterr().err
