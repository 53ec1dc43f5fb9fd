"""`leadway-async mirror`: progress and a summary per location on standard error, nothing
on standard output, the other commands' exit statuses."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadway_async.testing import LeadwayEmulator, ThreadedEmulator

from .conftest import SqliteDatabase
from .helpers import alive, assert_mirror_is, cli_env, connection, console_script

SECOND = "SecondLocationXXXXXXX"
PROGRESS = re.compile(
    r"^(\S+): [\d,]+ of [\d,]+ conversations \(\d+%\), [\d,]+/s(, \d+ s left)?"
    r", \d+% of the rate limit$"
)


@pytest.fixture(scope="module")
def emu() -> Iterator[ThreadedEmulator]:
    emulator = LeadwayEmulator(conversations=450, seed=9, locations=[SECOND], latency_ms=2)
    with emulator.run_in_thread() as running:
        yield running


def mirror(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), "mirror", *args],
        capture_output=True, text=True, env=env or cli_env(), timeout=60, check=False,
    )  # fmt: skip


def test_two_locations_then_an_incremental_run(
    emu: ThreadedEmulator, sqlite_database: SqliteDatabase
) -> None:
    db = sqlite_database
    both = f"{emu.location_id},{SECOND}"
    first = mirror("--db", db.url, "--location-id", both, *connection(emu))

    assert first.returncode == 0, first.stderr
    assert first.stdout == ""
    lines = first.stderr.splitlines()
    for location in (emu.location_id, SECOND):
        assert f"{location}: full pass" in lines
        assert any((m := PROGRESS.match(line)) and m[1] == location for line in lines), first.stderr
        assert re.search(
            rf"^{location}: full pass, 450 conversations read: 450 inserted, 0 updated, "
            r"0 marked deleted; \d+ requests in \d+\.\d s; 450 conversations in the mirror$",
            first.stderr,
            re.M,
        ), first.stderr
    assert re.fullmatch(
        rf"mirrored 2 of 2 locations into {re.escape(db.url)} in \d+\.\d s: 900 inserted, "
        r"0 updated, 0 marked deleted, \d+ requests",
        lines[-1],
    )
    for location in (emu.location_id, SECOND):
        assert_mirror_is(db, emu.expected({"locationId": location}), location)

    second = mirror("--db", db.url, "--location-id", both, *connection(emu))

    assert second.returncode == 0, second.stderr
    assert re.search(
        rf"^{emu.location_id}: incremental run from \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC$",
        second.stderr,
        re.M,
    )
    assert re.search(
        rf"^{SECOND}: incremental run, \d+ conversations read: 0 inserted, 0 updated, "
        r"0 marked deleted; 1 request in",
        second.stderr,
        re.M,
    ), second.stderr


def test_every_location_of_an_oauth_install(
    emu: ThreadedEmulator, sqlite_database: SqliteDatabase, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    env = {**cli_env(), "LEADWAY_CLIENT_SECRET": emu.client_secret}
    app = ["--token-store", str(store), "--client-id", emu.client_id, "--base-url", emu.url]
    code = emu.authorization_code("Company")
    exchanged = subprocess.run(
        [console_script(), "auth", "exchange", "--code", code,
         "--redirect-uri", "https://example.com/callback", *app],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert exchanged.returncode == 0, exchanged.stderr

    done = mirror("--db", sqlite_database.url, "--all-locations", *app, env=env)

    assert done.returncode == 0, done.stderr
    rows = sqlite_database.rows()
    assert len(alive(rows, emu.location_id)) == len(alive(rows, SECOND)) == 450


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token", "pit-abcdef"], "no location: pass --location-id"),
        (["--token", "pit-abcdef", "--all-locations"], "--all-locations lists the locations"),
        (["--token", "pit-abcdef", "--location-id", "a", "--all-locations"], "not both"),
        (["--location-id", "a"], "no token"),
        (["--token", "pit-abcdef", "--location-id", "a", "--sort", "asc"], "sort is not"),
        (["--token", "pit-abcdef", "--location-id", "a", "--lookback", "soon"], "duration"),
        (["--token", "pit-abcdef", "--location-id", "a", "--concurrency", "17"], "between 1"),
    ],
)
def test_usage_mistakes_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    done = mirror("--db", f"sqlite:///{tmp_path}/m.db", *args)

    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert not (tmp_path / "m.db").exists()


def test_an_api_failure_exits_1_after_the_other_locations(
    emu: ThreadedEmulator, sqlite_database: SqliteDatabase
) -> None:
    done = mirror(
        "--db", sqlite_database.url, "--location-id", f"NotServedHereXXXXXXX,{SECOND}",
        *connection(emu),
    )  # fmt: skip

    assert done.returncode == 1
    assert re.search(r"^NotServedHereXXXXXXX: full pass failed after 0 conversations", done.stderr,
                     re.M)  # fmt: skip
    assert f"{SECOND}: full pass, 450 conversations read" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("leadway-async: the API answered HTTP 403")


def test_the_help_names_the_database_urls() -> None:
    done = subprocess.run(
        [console_script(), "mirror", "--help"], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0
    text: Any = " ".join(done.stdout.split())
    for option in ("--db URL", "--all-locations", "--full", "--full-every", "--lookback",
                   "--locations-at-once", "--lease", "--token-store"):  # fmt: skip
        assert option in text
    assert "sqlite:////absolute/path.db" in text
