"""An export stopped while pages are in flight, then resumed: the file comes out whole.

SIGKILL gives the export no chance to clean up; SIGTERM (what `timeout`, `docker stop`
and systemd send) stops it as Ctrl-C does. Either way `--resume` must give one header
(CSV), no NUL byte, and every conversation exactly once: in order for the ordered walk
(`--sort`), in any order for a scan (resumed with another `--concurrency`).
"""

from __future__ import annotations

import json
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
    assert_each_once,
    assert_some_once,
    by_id,
    connection,
    count_lines,
    csv_cell_matches,
    csv_records,
    expected,
    ids,
    interrupt_when,
    jsonl_records,
    served,
    stop,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

PAGE = 50
FIRST_PAGE_DELAY_MS = 4000  # the first page stays in flight this long
COLUMNS = ["id", *(field.wire for field in WIRE_FIELDS), "extra"]

# Each walk's options as first run, then as resumed (a scan may resume with another
# concurrency), and the wire filters of what it exports.
WALKS: dict[str, tuple[list[str], list[str], dict[str, str]]] = {
    "ordered": (["--sort", "desc"], ["--sort", "desc"], {"sort": "desc"}),
    "scan": (["--concurrency", "3"], ["--concurrency", "7"], {}),
}


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


def assert_whole_csv(data: bytes, want: list[dict[str, object]], *, ordered: bool) -> None:
    """One header, no NUL byte, and a row for each of `want` exactly once, as served."""
    assert b"\x00" not in data
    text = data.decode("utf-8")
    assert text.count("id,contactId,") == 1  # one header
    header, rows = csv_records(text)
    assert header == COLUMNS
    got = [row["id"] for row in rows]
    if ordered:
        assert got == ids(want)
    else:
        assert_each_once(got, ids(want))
    truth = by_id(want)
    for row in rows:
        assert all(csv_cell_matches(row[name], truth[row["id"]].get(name)) for name in COLUMNS[:-1])


def assert_whole_jsonl(data: bytes, want: list[dict[str, object]], *, ordered: bool) -> None:
    """No NUL byte, and a line for each of `want` exactly once, as served."""
    assert b"\x00" not in data
    records = jsonl_records(data.decode("utf-8"))
    if ordered:
        assert records == [served(c) for c in want]
    else:
        assert_each_once(ids(records), ids(want))
        truth = by_id(want)
        assert all(record == served(truth[record["id"]]) for record in records)


@pytest.mark.parametrize("walk", list(WALKS))
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_csv_export_stopped_during_its_first_page_resumes_to_one_whole_file(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, signum: int, walk: str
) -> None:
    out = tmp_path / "unread.csv"
    first, then, wire = WALKS[walk]
    command = [
        "export",
        *("--out", str(out), "--format", "csv", "--limit", str(PAGE)),
        *connection(emulator),
    ]

    status, err, before = signal_during_the_first_page(
        cli, emulator, [*command, *first], out, signum
    )

    assert_stopped_as_expected(signum, status, err)
    assert before.count(b"\n") <= 1, "the first page was not in flight any more"
    assert Path(f"{out}.checkpoint.json").exists()

    result = cli.run(*command, *then, "--resume")

    assert result.status == 0, result.err
    ordered = walk == "ordered"
    assert_whole_csv(out.read_bytes(), expected(emulator, **wire), ordered=ordered)
    assert not Path(f"{out}.checkpoint.json").exists()


@pytest.mark.parametrize("walk", list(WALKS))
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_jsonl_export_stopped_during_its_first_page_resumes_to_one_whole_file(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, signum: int, walk: str
) -> None:
    out = tmp_path / "unread.jsonl"
    first, then, wire = WALKS[walk]
    command = ["export", "--out", str(out), "--limit", str(PAGE), *connection(emulator)]

    status, err, before = signal_during_the_first_page(
        cli, emulator, [*command, *first], out, signum
    )

    assert_stopped_as_expected(signum, status, err)
    assert before == b"", "the first page was not in flight any more"
    assert Path(f"{out}.checkpoint.json").exists()

    result = cli.run(*command, *then, "--resume")

    assert result.status == 0, result.err
    ordered = walk == "ordered"
    assert_whole_jsonl(out.read_bytes(), expected(emulator, **wire), ordered=ordered)
    assert not Path(f"{out}.checkpoint.json").exists()


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[ThreadedEmulator]:
    """Every answer takes 40 ms: a scan has several pages in flight most of the time."""
    emu = LeadwayEmulator(conversations=2000, seed=31, latency_ms=40, rate_limit_max=1_000_000)
    with emu.run_in_thread() as running:
        yield running


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_scan_stopped_with_pages_in_flight_resumes_to_one_whole_file(
    cli: Cli, slow_emulator: ThreadedEmulator, tmp_path: Path, signum: int, file_format: str
) -> None:
    emu = slow_emulator
    out = tmp_path / f"scan.{file_format}"
    checkpoint = Path(f"{out}.checkpoint.json")
    command = [
        "export",
        *("--out", str(out), "--format", file_format, "--limit", str(PAGE)),
        *connection(emu),
    ]
    want = expected(emu)

    with cli.popen(*command, "--concurrency", "4") as process:
        try:
            interrupt_when(process, out, lines=count_lines(out) + 5 * PAGE, signum=signum)
            _, err = process.communicate(timeout=TIMEOUT)
        finally:
            stop(process)
    assert_stopped_as_expected(signum, process.returncode, err.decode("utf-8"))
    assert checkpoint.exists()
    state = json.loads(checkpoint.read_text(encoding="utf-8"))
    assert 0 < state["written"] < len(want), "it was not stopped mid-way"
    whole = out.read_bytes()[: state["bytes_written"]].decode("utf-8")
    kept = ids(jsonl_records(whole)) if file_format == "jsonl" else ids(csv_records(whole)[1])
    assert len(kept) == state["written"]
    assert_some_once(kept, ids(want))

    emu.clear_requests()
    result = cli.run(*command, "--concurrency", "2", "--resume")

    assert result.status == 0, result.err
    assert result.err_lines[-1] == f"exported {len(want):,} conversations to {out}"
    if file_format == "csv":
        assert_whole_csv(out.read_bytes(), want, ordered=False)
    else:
        assert_whole_jsonl(out.read_bytes(), want, ordered=False)
    assert not checkpoint.exists()
    # It went on from the checkpoint's ranges rather than starting over (a fresh scan's
    # first request has no cursor).
    assert all("startAfterDate" in r.query for r in emu.requests)
