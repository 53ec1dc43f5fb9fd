"""What goes wrong is said in one line, with the documented exit status."""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadway_async.testing import ThreadedEmulator

from .helpers import (
    TIMEOUT,
    Cli,
    Result,
    assert_each_once,
    assert_some_once,
    connection,
    expected,
    ids,
    jsonl_records,
    read_until,
    stop,
)

EXIT_API_ERROR, EXIT_USAGE = 1, 2
ORDERED = ["--sort", "desc"]


def server_message(emu: ThreadedEmulator, *, token: str, location_id: str) -> str:
    """The error message the emulator itself gives such a request."""
    request = urllib.request.Request(
        f"{emu.url}/conversations/search?locationId={location_id}",
        headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    with caught.value as answer:
        message = json.loads(answer.read())["message"]
    assert isinstance(message, str)
    return message


def assert_one_line(result: Result) -> str:
    """The command said what went wrong in one line, and nothing on standard output."""
    assert result.out == ""
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1, result.err
    return result.err_lines[0]


@pytest.mark.parametrize("command", ["search", "export"])
def test_no_token_says_how_to_try_without_an_account(cli: Cli, command: str) -> None:
    bare = {"PATH": os.environ.get("PATH", os.defpath)}
    result = cli.run(command, env=bare)

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert line.startswith("leadway-async: error: no token")
    assert "--token" in line
    assert "LEADWAY_TOKEN" in line
    assert "demo" in line
    assert "--base-url" in line


@pytest.mark.parametrize(
    ("options", "named"),
    [
        pytest.param(["search", "--limit", "0"], "--limit", id="search-limit-0"),
        pytest.param(["export", "--limit", "0"], "--limit", id="export-limit-0"),
        pytest.param(["search", "--limit", "many"], "--limit", id="limit-not-a-number"),
        pytest.param(["export", "--max-items", "-3"], "--max-items", id="max-items-negative"),
        pytest.param(["search", "--sort", "sideways"], "--sort", id="sort-sideways"),
        pytest.param(["search", "--status", "maybe"], "--status", id="status-unknown"),
        pytest.param(["search", "--colour", "red"], "--colour", id="unknown-option"),
        pytest.param(["search", "--start-date", "notadate"], "--start-date", id="bad-date"),
        pytest.param(["export", "--format", "xml"], "--format", id="bad-format"),
        pytest.param(["search", "--score-profile-min", "lots"], "--score-profile-min", id="nan"),
        pytest.param(["export", "--concurrency", "0"], "--concurrency", id="concurrency-0"),
        pytest.param(["export", "--concurrency", "17"], "--concurrency", id="concurrency-17"),
        pytest.param(["export", "--concurrency", "x"], "--concurrency", id="concurrency-x"),
        pytest.param(
            ["export", "--sort", "asc", "--concurrency", "4"], "--sort", id="concurrency-sort"
        ),
        pytest.param(
            ["export", "--concurrency", "2", "--sort", "desc"],
            "--concurrency",
            id="sort-concurrency",
        ),
        pytest.param(
            ["export", "--start-after-date", "1700000000000"], "--sort", id="cursor-without-order"
        ),
        pytest.param(["search", "--concurrency", "4"], "--concurrency", id="search-concurrency"),
    ],
)
def test_bad_options_are_usage_errors(
    cli: Cli, emulator: ThreadedEmulator, options: list[str], named: str
) -> None:
    result = cli.run(*options, *connection(emulator))

    assert result.status == EXIT_USAGE
    assert result.out == ""
    assert "Traceback" not in result.err
    # argparse's usual answer: the usage, then the error (an unknown option is reported by
    # the top-level parser, so it names no command).
    assert result.err_lines[0].startswith("usage: leadway-async ")
    last = result.err_lines[-1]
    assert re.match(rf"leadway-async( {options[0]})?: error:", last), last
    assert named in last
    assert emulator.request_count == 0


@pytest.mark.parametrize(
    ("options", "named"),
    [
        pytest.param(["--limit", "101"], "limit", id="limit-over-100"),
        pytest.param(
            ["--start-date", "2025-03-01", "--end-date", "2025-02-01"],
            "start_date",
            id="dates-reversed",
        ),
        pytest.param(["--base-url", "ftp://127.0.0.1"], "base_url", id="not-http"),
    ],
)
def test_values_the_api_would_refuse_are_usage_errors_in_one_line(
    cli: Cli, emulator: ThreadedEmulator, options: list[str], named: str
) -> None:
    where = [] if "--base-url" in options else ["--base-url", emulator.url]
    result = cli.run(
        "search",
        *options,
        *where,
        *("--token", emulator.token, "--location-id", emulator.location_id),
    )

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert line.startswith("leadway-async: error:")
    assert named in line
    assert emulator.request_count == 0


def test_no_command_is_a_usage_error(cli: Cli) -> None:
    result = cli.run()

    assert result.status == EXIT_USAGE
    assert result.err_lines[-1].startswith("leadway-async: error:")


def test_a_wrong_token_is_a_401_in_one_line(cli: Cli, emulator: ThreadedEmulator) -> None:
    message = server_message(emulator, token="pit-wrong", location_id=emulator.location_id)
    emulator.clear_requests()
    result = cli.run(
        "search",
        *("--token", "pit-wrong", "--location-id", emulator.location_id),
        *("--base-url", emulator.url),
    )

    assert result.status == EXIT_API_ERROR
    line = assert_one_line(result)
    assert "401" in line
    assert message in line
    assert emulator.request_count == 1  # not retried


def test_debug_shows_the_traceback(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli.run(
        "search",
        "--debug",
        *("--token", "pit-wrong", "--location-id", emulator.location_id),
        *("--base-url", emulator.url),
    )

    assert result.status == EXIT_API_ERROR
    assert "Traceback (most recent call last)" in result.err
    assert "AuthenticationError" in result.err
    assert "401" in result.err_lines[-1]
    assert result.out == ""


def test_another_location_is_a_403(cli: Cli, emulator: ThreadedEmulator) -> None:
    message = server_message(emulator, token=emulator.token, location_id="someoneElsesLocation")
    result = cli.run(
        "export",
        *("--token", emulator.token, "--location-id", "someoneElsesLocation"),
        *("--base-url", emulator.url),
    )

    assert result.status == EXIT_API_ERROR
    line = assert_one_line(result)
    assert "403" in line
    assert message in line


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_nothing_listening_is_an_error_without_a_traceback(cli: Cli, dead_port: int) -> None:
    result = cli.run(
        "search",
        *("--token", "pit-any", "--location-id", "anywhere"),
        *("--base-url", f"http://127.0.0.1:{dead_port}"),
    )

    assert result.status == EXIT_API_ERROR
    assert result.out == ""
    assert "Traceback" not in result.err
    last = result.err_lines[-1]
    assert last.startswith("leadway-async: ")
    assert f"127.0.0.1:{dead_port}" in last
    # Before it gave up it said it was retrying, as warnings.
    assert all(line.startswith("WARNING retrying") for line in result.err_lines[:-1])


# --- checkpoints ---------------------------------------------------------------------------


@pytest.fixture
def unfinished(cli: Cli, emulator: ThreadedEmulator, tmp_path: Path) -> Path:
    """An ordered export (`--sort desc`) to a file that failed after its first page,
    leaving a checkpoint."""
    out = tmp_path / "unfinished.jsonl"
    emulator.inject("ok", "status:400")
    result = cli.run("export", "--out", str(out), "--limit", "50", *ORDERED, *connection(emulator))
    assert result.status == EXIT_API_ERROR, result.err
    assert "400" in result.err_lines[-1]
    assert (tmp_path / "unfinished.jsonl.checkpoint.json").exists()
    want = ids(expected(emulator, sort="desc"))[:50]
    assert ids(jsonl_records(out.read_text(encoding="utf-8"))) == want
    return out


@pytest.fixture
def unfinished_scan(cli: Cli, emulator: ThreadedEmulator, tmp_path: Path) -> Path:
    """A scan to a file that failed after its first page, leaving a checkpoint.

    One request at a time: its first page, the newest conversation (where the scan's
    ranges end), then the page that fails.
    """
    out = tmp_path / "unfinished-scan.jsonl"
    emulator.inject("ok", "ok", "status:400")
    result = cli.run(
        "export", "--out", str(out), "--limit", "50", "--concurrency", "1", *connection(emulator)
    )
    assert result.status == EXIT_API_ERROR, result.err
    assert "400" in result.err_lines[-1]
    assert Path(f"{out}.checkpoint.json").exists()
    # A scan walks oldest first.
    want = ids(expected(emulator, sort="asc"))[:50]
    assert ids(jsonl_records(out.read_text(encoding="utf-8"))) == want
    return out


def test_an_export_that_failed_resumes_to_the_full_list(
    cli: Cli, emulator: ThreadedEmulator, unfinished: Path
) -> None:
    # The page size may differ from the interrupted export's.
    result = cli.run(
        "export",
        *("--out", str(unfinished), "--resume", "--limit", "80", *ORDERED),
        *connection(emulator),
    )

    assert result.status == 0, result.err
    got = ids(jsonl_records(unfinished.read_text(encoding="utf-8")))
    assert got == ids(expected(emulator, sort="desc"))
    assert not Path(f"{unfinished}.checkpoint.json").exists()


def test_a_scan_that_failed_resumes_to_the_full_set(
    cli: Cli, emulator: ThreadedEmulator, unfinished_scan: Path
) -> None:
    # The page size and the concurrency may differ from the interrupted scan's.
    result = cli.run(
        "export",
        *("--out", str(unfinished_scan), "--resume", "--limit", "80", "--concurrency", "5"),
        *connection(emulator),
    )

    assert result.status == 0, result.err
    got = ids(jsonl_records(unfinished_scan.read_text(encoding="utf-8")))
    assert_each_once(got, ids(expected(emulator)))
    assert not Path(f"{unfinished_scan}.checkpoint.json").exists()


def test_resuming_a_scan_as_an_ordered_export_is_refused_before_anything_is_sent(
    cli: Cli, emulator: ThreadedEmulator, unfinished_scan: Path
) -> None:
    checkpoint = Path(f"{unfinished_scan}.checkpoint.json")
    before = unfinished_scan.read_bytes(), checkpoint.read_bytes()
    emulator.clear_requests()
    result = cli.run(
        "export", "--out", str(unfinished_scan), "--resume", *ORDERED, *connection(emulator)
    )

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert line.startswith("leadway-async: error: --resume needs the same kind of export:")
    assert "was a scan" in line
    assert "without --sort" in line
    assert str(checkpoint) in line  # what to delete to start over
    assert (unfinished_scan.read_bytes(), checkpoint.read_bytes()) == before
    assert emulator.request_count == 0


def test_resuming_an_ordered_export_as_a_scan_is_refused_before_anything_is_sent(
    cli: Cli, emulator: ThreadedEmulator, unfinished: Path
) -> None:
    checkpoint = Path(f"{unfinished}.checkpoint.json")
    before = unfinished.read_bytes(), checkpoint.read_bytes()
    emulator.clear_requests()
    for scan in ([], ["--concurrency", "3"]):
        result = cli.run(
            "export", "--out", str(unfinished), "--resume", *scan, *connection(emulator)
        )

        assert result.status == EXIT_USAGE
        line = assert_one_line(result)
        assert line.startswith("leadway-async: error: --resume needs the same kind of export:")
        assert "walked in order (--sort desc)" in line
        assert "resume it with --sort desc" in line
        assert (unfinished.read_bytes(), checkpoint.read_bytes()) == before
        assert emulator.request_count == 0


def test_a_checkpoint_whose_token_is_of_the_other_kind_is_refused(
    cli: Cli, emulator: ThreadedEmulator, unfinished: Path, unfinished_scan: Path
) -> None:
    """A checkpoint that says "ordered" but holds a scan's token: the SDK refuses the token."""
    checkpoint = Path(f"{unfinished}.checkpoint.json")
    state = json.loads(checkpoint.read_text(encoding="utf-8"))
    scan_state = json.loads(Path(f"{unfinished_scan}.checkpoint.json").read_text("utf-8"))
    state["resume_token"] = scan_state["resume_token"]
    checkpoint.write_text(json.dumps(state), encoding="utf-8")
    emulator.clear_requests()
    result = cli.run(
        "export", "--out", str(unfinished), "--resume", *ORDERED, *connection(emulator)
    )

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert line.startswith(f"leadway-async: error: cannot resume from the checkpoint {checkpoint}")
    assert "resume_token" in line
    assert emulator.request_count == 0


def test_resume_without_a_checkpoint_is_a_usage_error(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "never.jsonl"
    result = cli.run("export", "--out", str(out), "--resume", *connection(emulator))

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert "nothing to resume" in line
    assert not out.exists()
    assert emulator.request_count == 0


def test_resume_to_standard_output_is_a_usage_error(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli.run("export", "--resume", *connection(emulator))

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert "--out" in line


def test_a_checkpoint_is_not_overwritten_without_resume(
    cli: Cli, emulator: ThreadedEmulator, unfinished: Path
) -> None:
    checkpoint = Path(f"{unfinished}.checkpoint.json")
    before = unfinished.read_bytes(), checkpoint.read_bytes()
    emulator.clear_requests()
    result = cli.run("export", "--out", str(unfinished), *ORDERED, *connection(emulator))

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert "--resume" in line
    assert str(checkpoint) in line
    assert (unfinished.read_bytes(), checkpoint.read_bytes()) == before
    assert emulator.request_count == 0


@pytest.mark.parametrize(
    "different",
    [
        pytest.param(["--status", "unread", *ORDERED], id="another-filter"),
        pytest.param(["--sort", "asc"], id="another-order"),
        pytest.param(["--format", "csv", *ORDERED], id="another-format"),
    ],
)
def test_resume_with_other_options_is_a_usage_error(
    cli: Cli, emulator: ThreadedEmulator, unfinished: Path, different: list[str]
) -> None:
    checkpoint = Path(f"{unfinished}.checkpoint.json")
    before = unfinished.read_bytes(), checkpoint.read_bytes()
    emulator.clear_requests()
    result = cli.run(
        "export", "--out", str(unfinished), "--resume", *different, *connection(emulator)
    )

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert "--resume needs the same options" in line
    assert (unfinished.read_bytes(), checkpoint.read_bytes()) == before
    assert emulator.request_count == 0


def test_resume_refuses_an_output_shorter_than_its_checkpoint(
    cli: Cli, emulator: ThreadedEmulator, unfinished: Path
) -> None:
    checkpoint = Path(f"{unfinished}.checkpoint.json")
    whole = unfinished.read_bytes()
    unfinished.write_bytes(whole[:-10])  # cut after the checkpoint was taken
    before = unfinished.read_bytes(), checkpoint.read_bytes()
    emulator.clear_requests()
    result = cli.run(
        "export",
        *("--out", str(unfinished), "--resume", "--limit", "50", *ORDERED),
        *connection(emulator),
    )

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert line.startswith("leadway-async: error:")
    assert f"is shorter ({len(whole) - 10:,} bytes) than its checkpoint says" in line
    assert str(checkpoint) in line  # what to delete to start over
    # Never made longer (nor padded with NUL bytes), and nothing fetched.
    assert (unfinished.read_bytes(), checkpoint.read_bytes()) == before
    assert emulator.request_count == 0


def test_a_damaged_resume_token_is_a_usage_error_naming_the_checkpoint(
    cli: Cli, emulator: ThreadedEmulator, unfinished: Path
) -> None:
    checkpoint = Path(f"{unfinished}.checkpoint.json")
    state = json.loads(checkpoint.read_text(encoding="utf-8"))
    state["resume_token"] = state["resume_token"][:-12] + "not-a-token"
    checkpoint.write_text(json.dumps(state), encoding="utf-8")
    before = unfinished.read_bytes(), checkpoint.read_bytes()
    emulator.clear_requests()
    result = cli.run(
        "export", "--out", str(unfinished), "--resume", *ORDERED, *connection(emulator)
    )

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert line.startswith(f"leadway-async: error: cannot resume from the checkpoint {checkpoint}")
    assert "resume_token is not a resume token" in line
    assert (unfinished.read_bytes(), checkpoint.read_bytes()) == before
    assert emulator.request_count == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(["--assigned-to", ","], "assigned_to must name at least one id", id="no-id"),
        pytest.param(["--query", " "], "query must not be empty", id="blank-query"),
    ],
)
def test_values_the_sdk_refuses_are_usage_errors_and_leave_the_output_alone(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, options: list[str], message: str
) -> None:
    out = tmp_path / "kept.jsonl"
    out.write_text("an earlier export\n", encoding="utf-8")
    for command in (["search"], ["export", "--out", str(out)]):
        result = cli.run(*command, *options, *connection(emulator))

        assert result.status == EXIT_USAGE
        assert assert_one_line(result) == f"leadway-async: error: {message}"
    assert out.read_text(encoding="utf-8") == "an earlier export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.jsonl"]
    assert emulator.request_count == 0


# --- files that cannot be written ---------------------------------------------------------


def test_an_output_file_in_a_missing_folder_is_reported_in_one_line(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "no-such-folder" / "x.jsonl"
    result = cli.run("export", "--out", str(out), *connection(emulator))

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert line.startswith("leadway-async: ")
    assert "x.jsonl" in line


def test_resume_when_the_output_file_is_gone_is_reported_in_one_line(
    cli: Cli, emulator: ThreadedEmulator, unfinished: Path
) -> None:
    unfinished.unlink()
    result = cli.run(
        "export",
        *("--out", str(unfinished), "--resume", "--limit", "50", *ORDERED),
        *connection(emulator),
    )

    assert result.status == EXIT_USAGE
    line = assert_one_line(result)
    assert line.startswith("leadway-async: error:")
    assert unfinished.name in line


def test_a_reader_that_stops_early_is_not_an_error(cli: Cli, emulator: ThreadedEmulator) -> None:
    """`leadway-async export | head`: the export stops quietly when its reader goes away."""
    with cli.popen("export", "--limit", "50", *connection(emulator)) as process:
        try:
            head = read_until(process.stdout, lambda seen: seen.count(b"\n") >= 5)
            assert process.stdout is not None
            process.stdout.close()
            process.wait(TIMEOUT)
            assert process.stderr is not None
            err = process.stderr.read().decode("utf-8")
        finally:
            stop(process)
    got = ids(jsonl_records(head[: head.rindex(b"\n") + 1].decode()))
    assert len(got) >= 5
    assert_some_once(got, ids(expected(emulator)))
    assert "Traceback" not in err
    assert not [line for line in err.splitlines() if line.startswith("leadway-async:")], err
    assert process.returncode != EXIT_USAGE
