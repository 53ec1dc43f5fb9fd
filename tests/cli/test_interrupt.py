"""An export stopped with Ctrl-C (SIGINT) mid-way, then resumed: nothing lost, nothing twice.

The ordered walk (`--sort desc`) stops after a prefix of the full list; a scan after some
of it, in no order, and may resume with another `--concurrency`.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadway_async.testing import LeadwayEmulator, ThreadedEmulator

from .helpers import (
    TIMEOUT,
    Cli,
    assert_each_once,
    assert_some_once,
    by_id,
    connection,
    count_lines,
    csv_records,
    expected,
    ids,
    interrupt_when,
    jsonl_records,
    read_until,
    served,
    stop,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX-only")

CONVERSATIONS = 2000
PAGE = 50
ORDERED = ["--sort", "desc"]


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[ThreadedEmulator]:
    """Enough conversations, answered slowly enough, for an export to take a few seconds."""
    emu = LeadwayEmulator(
        conversations=CONVERSATIONS, seed=23, latency_ms=40, rate_limit_max=1_000_000
    )
    with emu.run_in_thread() as running:
        yield running


def read_ids(path: Path, file_format: str) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if file_format == "csv":
        return [row["id"] for row in csv_records(text)[1]]
    return ids(jsonl_records(text))


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_an_interrupted_ordered_export_resumes_to_the_full_list(
    cli: Cli, slow_emulator: ThreadedEmulator, tmp_path: Path, file_format: str
) -> None:
    emu = slow_emulator
    out = tmp_path / f"export.{file_format}"
    checkpoint = tmp_path / f"export.{file_format}.checkpoint.json"
    command = [
        "export",
        *("--out", str(out), "--format", file_format, "--limit", str(PAGE), *ORDERED),
        *connection(emu),
    ]
    everything = ids(expected(emu, sort="desc"))
    assert len(everything) == CONVERSATIONS

    with cli.popen(*command) as process:
        try:
            interrupt_when(process, out, lines=4 * PAGE)
            _, err = process.communicate(timeout=TIMEOUT)
        finally:
            stop(process)
    message = err.decode("utf-8")
    assert process.returncode == 130, message
    assert "Traceback" not in message
    assert message.splitlines()[-1] == "interrupted"
    assert checkpoint.exists()
    # Only whole lines (rows), and a prefix of the full list: it stopped mid-way.
    partial = read_ids(out, file_format)
    assert 4 * PAGE <= len(partial) < CONVERSATIONS
    assert partial == everything[: len(partial)]

    emu.clear_requests()
    result = cli.run(*command, "--resume")

    assert result.status == 0, result.err
    assert not checkpoint.exists()
    assert read_ids(out, file_format) == everything  # no duplicates, no gaps
    assert result.err_lines[-1] == f"exported {CONVERSATIONS:,} conversations to {out}"
    # It carried on from the checkpoint rather than starting over.
    first = emu.requests[0]
    assert "startAfterDate" in first.query
    assert emu.request_count < CONVERSATIONS // PAGE
    if file_format == "jsonl":
        records = jsonl_records(out.read_text(encoding="utf-8"))
        assert records == [served(c) for c in expected(emu, sort="desc")]
    else:
        header, _ = csv_records(out.read_text(encoding="utf-8"))
        assert out.read_text(encoding="utf-8").count(",".join(header) + "\n") == 1


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_an_interrupted_scan_resumes_to_the_full_set(
    cli: Cli, slow_emulator: ThreadedEmulator, tmp_path: Path, file_format: str
) -> None:
    emu = slow_emulator
    out = tmp_path / f"scan.{file_format}"
    checkpoint = tmp_path / f"scan.{file_format}.checkpoint.json"
    command = [
        "export",
        *("--out", str(out), "--format", file_format, "--limit", str(PAGE)),
        *connection(emu),
    ]
    everything = ids(expected(emu))

    with cli.popen(*command, "--concurrency", "5") as process:
        try:
            interrupt_when(process, out, lines=4 * PAGE)
            _, err = process.communicate(timeout=TIMEOUT)
        finally:
            stop(process)
    message = err.decode("utf-8")
    assert process.returncode == 130, message
    assert message.splitlines()[-1] == "interrupted"
    assert checkpoint.exists()
    partial = read_ids(out, file_format)  # Ctrl-C leaves whole lines only
    assert 4 * PAGE <= len(partial) < CONVERSATIONS
    assert_some_once(partial, everything)

    result = cli.run(*command, "--concurrency", "1", "--resume")

    assert result.status == 0, result.err
    assert not checkpoint.exists()
    assert_each_once(read_ids(out, file_format), everything)
    assert result.err_lines[-1] == f"exported {CONVERSATIONS:,} conversations to {out}"
    if file_format == "jsonl":
        truth = by_id(expected(emu))
        records = jsonl_records(out.read_text(encoding="utf-8"))
        assert all(record == served(truth[record["id"]]) for record in records)


def test_interrupting_twice_then_resuming(
    cli: Cli, slow_emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emu = slow_emulator
    out = tmp_path / "twice.jsonl"
    command = ["export", "--out", str(out), "--limit", str(PAGE), *ORDERED, *connection(emu)]
    everything = ids(expected(emu, sort="desc"))

    for extra in ([], ["--resume"]):
        with cli.popen(*command, *extra) as process:
            try:
                interrupt_when(process, out, lines=count_lines(out) + 3 * PAGE)
                process.communicate(timeout=TIMEOUT)
            finally:
                stop(process)
        assert process.returncode == 130
        assert Path(f"{out}.checkpoint.json").exists()
        partial = ids(jsonl_records(out.read_text(encoding="utf-8")))
        assert len(partial) < CONVERSATIONS
        assert partial == everything[: len(partial)]

    result = cli.run(*command, "--resume")
    assert result.status == 0, result.err
    assert ids(jsonl_records(out.read_text(encoding="utf-8"))) == everything


def test_a_killed_export_resumes_to_the_full_list(
    cli: Cli, slow_emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    """A crash (SIGKILL: no chance to clean up) may leave lines after the checkpoint."""
    emu = slow_emulator
    out = tmp_path / "killed.jsonl"
    command = ["export", "--out", str(out), "--limit", str(PAGE), *ORDERED, *connection(emu)]

    with cli.popen(*command) as process:
        try:
            interrupt_when(process, out, lines=3 * PAGE, signum=signal.SIGKILL)
            process.communicate(timeout=TIMEOUT)
        finally:
            stop(process)
    assert process.returncode == -signal.SIGKILL
    assert Path(f"{out}.checkpoint.json").exists()

    result = cli.run(*command, "--resume")
    assert result.status == 0, result.err
    assert ids(jsonl_records(out.read_text(encoding="utf-8"))) == ids(expected(emu, sort="desc"))
    assert not Path(f"{out}.checkpoint.json").exists()


def test_sigint_during_an_export_to_standard_output(
    cli: Cli, slow_emulator: ThreadedEmulator
) -> None:
    emu = slow_emulator
    with cli.popen("export", "--limit", str(PAGE), *ORDERED, *connection(emu)) as process:
        try:
            # Keep reading, so the pipe never fills; stop it once some pages are out.
            head = read_until(process.stdout, lambda seen: seen.count(b"\n") >= 2 * PAGE)
            process.send_signal(signal.SIGINT)
            tail, err = process.communicate(timeout=TIMEOUT)
        finally:
            stop(process)
    assert process.returncode == 130
    assert err.decode("utf-8").splitlines()[-1] == "interrupted"
    partial = ids(jsonl_records((head + tail).decode("utf-8")))
    assert 2 * PAGE <= len(partial) < CONVERSATIONS
    assert partial == ids(expected(emu, sort="desc"))[: len(partial)]
