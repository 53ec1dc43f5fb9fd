"""Output that cannot be written is a failure (exit 1) with the system's reason, not a
usage mistake; the checkpoint it leaves lets `--resume` finish the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from leadway_async.testing import ThreadedEmulator

from .helpers import (
    PROGRESS_LINE,
    TIMEOUT,
    Cli,
    Result,
    assert_each_once,
    assert_some_once,
    base_env,
    by_id,
    connection,
    expected,
    ids,
    jsonl_records,
    served,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/dev/full and RLIMIT_FSIZE as on Linux"
)

EXIT_FAILED = 1
NO_SPACE = "[Errno 28] No space left on device"
TOO_LARGE = "[Errno 27] File too large"


def run_with(cli: Cli, *args: str, stdout_to: Path | None = None, max_file_size: int = 0) -> Result:
    """Run the console script with standard output going to a file, and/or with every
    file it writes limited to `max_file_size` bytes (RLIMIT_FSIZE)."""
    command = cli.command(*args)
    if max_file_size:
        limit = (
            "import os, resource, sys; "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({max_file_size}, {max_file_size})); "
            "os.execv(sys.argv[1], sys.argv[1:])"
        )
        command = [sys.executable, "-c", limit, *command]
    with open(stdout_to or "/dev/null", "wb") as stdout:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stdout if stdout_to else subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=base_env(),
            timeout=TIMEOUT,
            check=False,
        )
    out = done.stdout.decode("utf-8") if done.stdout is not None else ""
    return Result(done.returncode, out, done.stderr.decode("utf-8"))


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_a_full_disk_is_a_write_failure_with_the_reason(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, file_format: str
) -> None:
    out = tmp_path / f"unread.{file_format}"
    out.symlink_to("/dev/full")  # every write fails with ENOSPC

    result = cli.run("export", "--out", str(out), "--format", file_format, *connection(emulator))

    assert result.status == EXIT_FAILED
    assert result.err_lines == [f"leadway-async: cannot write {out}: {NO_SPACE}"], result.err
    assert result.out == ""
    # Not a file that can be resumed: no checkpoint beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


@pytest.mark.parametrize("command", ["search", "export"])
def test_a_full_disk_behind_standard_output_is_a_write_failure(
    cli: Cli, emulator: ThreadedEmulator, command: str
) -> None:
    result = run_with(cli, command, *connection(emulator), stdout_to=Path("/dev/full"))

    assert result.status == EXIT_FAILED
    # One line: Python's own flush at exit does not fail a second time.
    assert result.err_lines == [f"leadway-async: cannot write standard output: {NO_SPACE}"]


@pytest.mark.parametrize("walk", [[], ["--sort", "desc"]], ids=["scan", "ordered"])
def test_a_file_size_limit_stops_the_export_which_resumes_to_the_full_list(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, walk: list[str]
) -> None:
    out = tmp_path / "big.jsonl"
    checkpoint = tmp_path / "big.jsonl.checkpoint.json"
    command = ["export", "--out", str(out), "--limit", "50", *walk, *connection(emulator)]
    ordered = bool(walk)
    want = expected(emulator, sort="desc") if ordered else expected(emulator)

    # About two pages of 50 fit in 100,000 bytes (the whole export is over 400,000).
    result = run_with(cli, *command, max_file_size=100_000)

    assert result.status == EXIT_FAILED
    assert "Traceback" not in result.err
    assert result.err_lines[-1] == f"leadway-async: cannot write {out}: {TOO_LARGE}"
    assert all(PROGRESS_LINE.match(line) for line in result.err_lines[:-1]), result.err
    assert out.stat().st_size == 100_000
    state = json.loads(checkpoint.read_text(encoding="utf-8"))
    assert state["written"] >= 50
    whole = out.read_bytes()[: state["bytes_written"]].decode("utf-8")
    kept = ids(jsonl_records(whole))
    assert len(kept) == state["written"]
    if ordered:
        assert kept == ids(want)[: state["written"]]
    else:
        assert_some_once(kept, ids(want))

    result = cli.run(*command, "--resume")

    assert result.status == 0, result.err
    records = jsonl_records(out.read_text(encoding="utf-8"))
    if ordered:
        assert records == [served(c) for c in want]
    else:
        assert_each_once(ids(records), ids(want))
        truth = by_id(want)
        assert all(record == served(truth[record["id"]]) for record in records)
    assert not checkpoint.exists()
