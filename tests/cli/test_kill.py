"""An export stopped while its first page is in flight, then resumed: the file comes out whole.

SIGKILL gives the export no chance to clean up; SIGTERM (what `timeout`, `docker stop`
and systemd send) stops it as Ctrl-C does. Either way `--resume` must give one header
(CSV), no NUL byte, and every conversation exactly once, in order.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadway_async._convert import WIRE_FIELDS
from leadway_async.testing import LeadwayEmulator, ThreadedEmulator

from .helpers import (
    TIMEOUT,
    Cli,
    connection,
    csv_cell_matches,
    csv_records,
    expected,
    ids,
    jsonl_records,
    served,
    stop,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

PAGE = 50
FIRST_PAGE_DELAY_MS = 4000  # the first page stays in flight this long
COLUMNS = ["id", *(field.wire for field in WIRE_FIELDS), "extra"]


@pytest.fixture(scope="module")
def emulator_for_kills() -> Iterator[ThreadedEmulator]:
    """Its own emulator: a killed export's request is still answered (and recorded) later."""
    emu = LeadwayEmulator(conversations=600, seed=29, rate_limit_max=1_000_000)
    with emu.run_in_thread() as running:
        yield running


@pytest.fixture
def emulator(emulator_for_kills: ThreadedEmulator) -> Iterator[ThreadedEmulator]:
    emulator_for_kills.clear_faults()
    yield emulator_for_kills
    emulator_for_kills.clear_faults()


def signal_during_the_first_page(
    cli: Cli, emulator: ThreadedEmulator, command: list[str], out: Path, signum: int
) -> tuple[int, str, bytes]:
    """Start `command`, send `signum` once its first request is being answered.

    Returns the exit status, standard error, and the output file as it was just before.
    """
    emulator.inject(f"latency:{FIRST_PAGE_DELAY_MS}")
    with cli.popen(*command) as process:
        try:
            deadline = time.monotonic() + TIMEOUT
            # The first request takes the injected delay as it arrives.
            while emulator.pending_faults:
                assert process.poll() is None, process.communicate(timeout=TIMEOUT)
                assert time.monotonic() < deadline, "the first request never arrived"
                time.sleep(0.005)
            before = out.read_bytes()
            process.send_signal(signum)
            _, err = process.communicate(timeout=TIMEOUT)
        finally:
            stop(process)
    return process.returncode, err.decode("utf-8"), before


def assert_stopped_as_expected(signum: int, status: int, err: str) -> None:
    if signum == signal.SIGKILL:
        assert status == -signal.SIGKILL
    else:
        assert status == 128 + signal.SIGTERM, err
        assert "Traceback" not in err
        assert err.splitlines()[-1] == "terminated"


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_csv_export_stopped_during_its_first_page_resumes_to_one_whole_file(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, signum: int
) -> None:
    out = tmp_path / "unread.csv"
    command = [
        "export",
        *("--out", str(out), "--format", "csv", "--limit", str(PAGE)),
        *connection(emulator),
    ]

    status, err, before = signal_during_the_first_page(cli, emulator, command, out, signum)

    assert_stopped_as_expected(signum, status, err)
    assert before.count(b"\n") <= 1, "the first page was not in flight any more"
    assert Path(f"{out}.checkpoint.json").exists()

    result = cli.run(*command, "--resume")

    assert result.status == 0, result.err
    data = out.read_bytes()
    assert b"\x00" not in data
    text = data.decode("utf-8")
    assert text.count("id,contactId,") == 1  # one header
    header, rows = csv_records(text)
    assert header == COLUMNS
    want = expected(emulator)
    assert [row["id"] for row in rows] == ids(want)
    for row, truth in zip(rows, want, strict=True):
        assert all(csv_cell_matches(row[name], truth.get(name)) for name in COLUMNS[:-1])
    assert not Path(f"{out}.checkpoint.json").exists()


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_jsonl_export_stopped_during_its_first_page_resumes_to_one_whole_file(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, signum: int
) -> None:
    out = tmp_path / "unread.jsonl"
    command = ["export", "--out", str(out), "--limit", str(PAGE), *connection(emulator)]

    status, err, before = signal_during_the_first_page(cli, emulator, command, out, signum)

    assert_stopped_as_expected(signum, status, err)
    assert before == b"", "the first page was not in flight any more"
    assert Path(f"{out}.checkpoint.json").exists()

    result = cli.run(*command, "--resume")

    assert result.status == 0, result.err
    data = out.read_bytes()
    assert b"\x00" not in data
    assert jsonl_records(data.decode("utf-8")) == [served(c) for c in expected(emulator)]
    assert not Path(f"{out}.checkpoint.json").exists()
