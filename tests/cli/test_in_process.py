"""Small command-line behaviours checked in-process (no subprocess needed)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from leadway_async._convert import converter
from leadway_async.cli.checkpoint import Checkpoint
from leadway_async.cli.config import FILTER_PARAMETERS, filters_from
from leadway_async.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, build_parser, main
from leadway_async.cli.meter import RateMeter
from leadway_async.cli.output import csv_header, csv_rows
from leadway_async.cli.progress import Progress
from leadway_async.middleware.chain import Request, Response
from leadway_async.models import Conversation, RateLimit
from leadway_async.params import PARAMETERS, read_datetime, read_ids, read_number
from leadway_async.testing import ThreadedEmulator

from .helpers import PROGRESS_LINE, connection, csv_records

commands = importlib.import_module("leadway_async.cli.commands")
export = importlib.import_module("leadway_async.cli.export")


def test_progress_after_a_resume_counts_only_this_runs_rate() -> None:
    progress = Progress(io.StringIO())
    progress.begin(2_000)
    progress.done, progress.total = 2_100, 3_000
    started = progress._started
    line = progress.line(now=started + 1.0)
    assert line.startswith("2,100 of 3,000 conversations (70%)")
    assert "100/s" in line  # 100 in this run's one second, not 2,100
    assert "9 s left" in line


def test_progress_shows_the_rate_limit_share_only_once_known() -> None:
    known: list[float | None] = [None]
    progress = Progress(io.StringIO(), rate_share=lambda now: known[0])
    progress.begin(0)
    progress.done, progress.total = 500, 2_000
    started = progress._started

    assert progress.line(now=started + 1.0) == "500 of 2,000 conversations (25%), 500/s, 3 s left"
    known[0] = 0.974
    assert progress.line(now=started + 1.0) == (
        "500 of 2,000 conversations (25%), 500/s, 3 s left, 97% of the rate limit"
    )
    progress.done = 2_000
    line = progress.line(now=started + 4.0)
    assert line == "2,000 of 2,000 conversations (100%), 500/s, 97% of the rate limit"
    assert PROGRESS_LINE.match(line)


def answer(attempt: int, elapsed: float, limit: RateLimit) -> Response:
    request = Request("GET", "/conversations/search", attempt=attempt)
    return Response(request, 200, {}, b"{}", {}, limit, elapsed)


def test_the_rate_meter_counts_requests_sent_in_the_last_window() -> None:
    clock = [100.0]
    meter = RateMeter(clock=lambda: clock[0])
    answers: list[Response] = []

    async def handler(request: Request) -> Response:
        return answers.pop(0)

    async def send(at: float, response: Response) -> None:
        clock[0] = at
        answers.append(response)
        assert await meter(response.request, handler) is response

    window = RateLimit(max=10, interval_ms=2000)

    async def scenario() -> None:
        await send(100.2, answer(1, 0.2, RateLimit()))  # sent at 100.0, no window announced
        assert meter.share() is None
        assert meter.peak is None
        await send(100.5, answer(1, 0.1, window))  # sent at 100.4
        assert meter.share(100.5) == pytest.approx(0.2)
        await send(101.0, answer(3, 0.3, window))  # retried: 3 attempts, the last at 100.7
        assert meter.requests == 5
        assert meter.share(101.0) == pytest.approx(0.5)
        assert meter.share(102.1) == pytest.approx(0.4)  # the first one left the window
        assert meter.share(102.5) == pytest.approx(0.3)
        assert meter.share(103.0) == 0.0
        assert meter.peak == pytest.approx(0.5)

    asyncio.run(scenario())


def exit_status(arguments: list[str]) -> int | str | None:
    """main()'s status, whether it returns it or argparse exits with it."""
    try:
        return main(arguments)
    except SystemExit as exited:
        return exited.code


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["export", "--token", "t", "--limit", "abc"], "not a whole number: 'abc'"),
        (["export", "--token", "t", "--out", "."], "must name a file"),
    ],
)
def test_usage_mistakes_are_explained_in_plain_words(
    arguments: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_status(arguments) == EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err
    assert "_positive" not in err


def options_of(command: str) -> dict[str, str]:
    """A command's option strings and where argparse puts each."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    actions = subparsers.choices[command]._actions
    return {option: action.dest for action in actions for option in action.option_strings}


@pytest.mark.parametrize("command", ["search", "export"])
def test_every_search_parameter_has_an_option(command: str) -> None:
    options = options_of(command)

    # location_id is a connection option; limit has its own per-command default.
    for parameter in PARAMETERS:
        assert options.get(parameter.option) == parameter.keyword, parameter.option
    assert {p.keyword for p in FILTER_PARAMETERS} == {p.keyword for p in PARAMETERS} - {
        "location_id",
        "limit",
    }


# Text each kind of reader accepts; a new kind of reader needs an entry here.
SAMPLES = {str: "abc", read_ids: "u1, u2", read_number: "2.5", read_datetime: "2025-02-03"}


@pytest.mark.parametrize("parameter", FILTER_PARAMETERS, ids=lambda p: p.keyword)
def test_every_filter_option_reaches_the_search_keywords(parameter: Any) -> None:
    text = parameter.choices[-1] if parameter.choices else SAMPLES[parameter.read]
    options = build_parser().parse_args(["search", parameter.option, text])

    filters = filters_from(options)

    assert filters == {parameter.keyword: parameter.read(text), "limit": 20}


def test_csv_keeps_unknown_fields_in_extra_even_one_called_extra() -> None:
    conversation = converter.structure(
        {"id": "c1", "fullName": "Ann", "extra": 5, "newField": [1]}, Conversation
    )

    _, rows = csv_records(csv_header() + csv_rows([conversation]))

    assert rows[0]["id"] == "c1"
    assert rows[0]["fullName"] == "Ann"
    assert json.loads(rows[0]["extra"]) == {"extra": 5, "newField": [1]}


# --- errors in the command's own code ------------------------------------------------------


def fail_with(error: Exception) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


@pytest.mark.parametrize(
    ("command", "module", "function", "error"),
    [
        pytest.param("search", commands, "table", TypeError("boom"), id="search-TypeError"),
        pytest.param(
            "export", export, "save_checkpoint", RuntimeError("gremlins"), id="export-RuntimeError"
        ),
    ],
)
def test_a_bug_in_the_command_is_an_internal_error_not_a_usage_mistake(
    emulator: ThreadedEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    module: ModuleType,
    function: str,
    error: Exception,
) -> None:
    monkeypatch.setattr(module, function, fail_with(error))
    out = ["--out", str(tmp_path / "x.jsonl")] if command == "export" else []
    arguments = [command, *out, *connection(emulator)]

    assert main(arguments) == EXIT_FAILED
    name = type(error).__name__
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"leadway-async: internal error: {name}: {error} (run with --debug for the traceback)"
    )

    assert main([*arguments, "--debug"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert ", in fail\n" in err  # the frame that raised
    assert err.splitlines()[-1] == f"leadway-async: internal error: {name}: {error}"


def test_the_token_never_shows_in_an_error(
    emulator: ThreadedEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    leak = RuntimeError(f"header Authorization: Bearer {emulator.token}")
    monkeypatch.setattr(commands, "table", fail_with(leak))

    for debug in ([], ["--debug"]):
        assert main(["search", *connection(emulator), *debug]) == EXIT_FAILED
        err = capsys.readouterr().err
        assert emulator.token not in err
        assert "Bearer [redacted]" in err.splitlines()[-1]


# --- what a checkpoint counts --------------------------------------------------------------


def test_a_checkpoint_counts_only_bytes_already_synced_to_disk(
    emulator: ThreadedEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "all.csv"
    events: list[tuple[str, int, int]] = []
    real_fsync, real_save = os.fsync, export.save_checkpoint

    def fsync(fd: int) -> None:
        real_fsync(fd)
        status = os.fstat(fd)
        events.append(("fsync", status.st_ino, status.st_size))

    def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
        events.append(("save", 0, checkpoint.bytes_written))
        real_save(path, checkpoint)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(export, "save_checkpoint", save_checkpoint)
    arguments = ["export", "--format", "csv", "--out", str(out), "--limit", "100"]

    assert main([*arguments, *connection(emulator)]) == EXIT_OK, capsys.readouterr().err

    output = out.stat().st_ino
    saves = [i for i, event in enumerate(events) if event[0] == "save"]
    assert len(saves) >= 1 + 600 // 100  # before the first page, then after each page
    assert events[saves[0]][2] == len(csv_header().encode())
    assert events[saves[-1]][2] == out.stat().st_size
    for i in saves:
        synced = [size for kind, inode, size in events[:i] if kind == "fsync" and inode == output]
        assert synced, f"checkpoint {i} came before any fsync of the output"
        assert synced[-1] == events[i][2], "the checkpoint counts bytes not synced"
