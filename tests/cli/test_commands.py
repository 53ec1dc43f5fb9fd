"""`leadway-async emulator` and `--version` (also via `python -m`); `demo` is in test_demo.py."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from leadway_async import __version__
from leadway_async.testing import DEFAULT_LOCATION_ID, LeadwayEmulator

from .helpers import (
    TIMEOUT,
    Cli,
    base_env,
    ids,
    parse_table,
    read_until,
    stop,
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX-only")
def test_the_emulator_command_serves_until_interrupted(cli: Cli) -> None:
    with cli.popen(
        "emulator", "--port", "0", "--conversations", "50", "--seed", "4", "--token", "pit-cli"
    ) as process:
        try:
            lines = (
                read_until(process.stdout, lambda seen: "ready" in seen.decode().splitlines())
                .decode("utf-8")
                .splitlines()
            )
            assert lines[-1] == "ready"
            exports = dict(
                line.removeprefix("export ").split("=", 1)
                for line in lines
                if line.startswith("export ")
            )
            url = exports["LEADWAY_BASE_URL"]
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
            assert url in lines[0]
            assert exports["LEADWAY_TOKEN"] == "pit-cli"
            assert exports["LEADWAY_LOCATION_ID"] == DEFAULT_LOCATION_ID

            result = cli.run(
                "search",
                *("--limit", "5", "--token", "pit-cli"),
                *("--location-id", DEFAULT_LOCATION_ID, "--base-url", url),
            )
            assert result.status == 0, result.err
            _, rows, footer = parse_table(result.out)
            truth = LeadwayEmulator(conversations=50, seed=4).expected(
                {"locationId": DEFAULT_LOCATION_ID}
            )
            assert [row["id"] for row in rows] == ids(truth)[:5]
            assert footer == "(5 of 50 conversations)"

            process.send_signal(signal.SIGINT)
            rest, err = process.communicate(timeout=TIMEOUT)
        finally:
            stop(process)
    assert process.returncode == 0, err
    assert rest.decode("utf-8").split() == ["stopped"]
    assert b"Traceback" not in err


def test_the_emulator_command_names_itself_in_its_help(cli: Cli) -> None:
    result = cli.run("emulator", "--help")

    assert result.status == 0
    assert result.out.startswith("usage: leadway-async emulator "), result.out[:80]


def test_version_from_the_script_and_from_python_m(cli: Cli) -> None:
    script = cli.run("--version")
    module = subprocess.run(
        [sys.executable, "-m", "leadway_async", "--version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=base_env(),
        timeout=TIMEOUT,
        check=False,
    )

    assert script.status == 0
    assert script.out == f"leadway-async {__version__}\n"
    assert module.returncode == 0, module.stderr
    assert module.stdout.decode() == f"leadway-async {__version__}\n"


def test_python_m_runs_the_same_commands(cli: Cli) -> None:
    module = subprocess.run(
        [sys.executable, "-m", "leadway_async", "search", "--limit", "0"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=base_env(),
        timeout=TIMEOUT,
        check=False,
    )

    assert module.returncode == 2
    assert module.stderr.decode().splitlines()[-1].startswith("leadway-async search: error:")
