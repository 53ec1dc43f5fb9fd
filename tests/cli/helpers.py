"""Running the real `leadway-async` console script, and reading what it wrote."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import pytest

from leadway_async.testing import ThreadedEmulator

# Every subprocess gets this long at most (seconds); the emulator's are all on loopback.
TIMEOUT = 60.0

TABLE_HEADERS = ("last message", "name", "channel", "dir", "unread", "id")
PROGRESS_LINE = re.compile(
    r"^[\d,]+ of [\d,]+ conversations \(\d+%\), [\d,]+/s(, \d+ s left)?"
    r"(, (?P<share>\d+)% of the rate limit)?$"
)


def find_script() -> str:
    """The installed `leadway-async` console script (the one beside this Python first)."""
    beside = shutil.which("leadway-async", path=str(Path(sys.executable).parent))
    found = beside or shutil.which("leadway-async")
    if found is None:
        pytest.fail(
            "the console script 'leadway-async' is not on PATH: install the package "
            "(pip install -e .) before running tests/cli"
        )
    return found


def base_env(**extra: str) -> dict[str, str]:
    """This process's environment without any LEADWAY_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADWAY_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Result:
    """How a command ended and what it wrote."""

    status: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


class Cli:
    """Runs the console script in subprocesses, each with a timeout."""

    def __init__(self, script: str) -> None:
        self.script = script

    def command(self, *args: str) -> list[str]:
        return [self.script, *args]

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = TIMEOUT,
    ) -> Result:
        done = subprocess.run(
            self.command(*args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=dict(base_env() if env is None else env),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(base_env() if env is None else env),
            preexec_fn=_default_sigint,
        )


def _default_sigint() -> None:
    """In the child: Ctrl-C's default, even when the tests run as a background job (whose
    shell ignores SIGINT in what it starts, and the command would inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def connection(emu: ThreadedEmulator) -> list[str]:
    """The options that point a command at `emu`."""
    return ["--token", emu.token, "--location-id", emu.location_id, "--base-url", emu.url]


def expected(emu: ThreadedEmulator, **wire: Any) -> list[dict[str, Any]]:
    """What `emu` serves for these wire filters, in order."""
    return emu.expected({"locationId": emu.location_id, **wire})


def ids(conversations: Sequence[Mapping[str, Any]]) -> list[str]:
    return [c["id"] for c in conversations]


def assert_each_once(got: Sequence[str], want: Sequence[str]) -> None:
    """`got` holds every id of `want` exactly once, in any order (what a scan promises)."""
    twice = sorted(i for i, n in Counter(got).items() if n > 1)
    assert not twice, f"{len(twice)} ids more than once, such as {twice[:3]}"
    missing, extra = set(want) - set(got), set(got) - set(want)
    assert not missing, f"{len(missing)} missing, such as {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} not expected, such as {sorted(extra)[:3]}"


def assert_some_once(got: Sequence[str], want: Sequence[str]) -> None:
    """`got` holds ids of `want` only, none twice (part of a scan)."""
    assert len(set(got)) == len(got), "an id came twice"
    assert set(got) <= set(want), "an id not expected"


def by_id(conversations: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {c["id"]: c for c in conversations}


def served(conversation: Mapping[str, Any]) -> dict[str, Any]:
    """A ground-truth wire dict without its null fields (the CLI leaves those out)."""
    return {k: v for k, v in conversation.items() if v is not None}


def jsonl_records(text: str) -> list[dict[str, Any]]:
    """JSON Lines: whole lines only, each one JSON object."""
    if not text:
        return []
    assert text.endswith("\n"), f"the last line is not whole: {text[-80:]!r}"
    records = []
    for number, line in enumerate(text[:-1].split("\n"), 1):
        record = json.loads(line)
        assert isinstance(record, dict), f"line {number} is not a JSON object: {line[:80]!r}"
        records.append(record)
    return records


def csv_records(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV export's header and rows; every row whole, with a cell per column."""
    assert text.endswith("\n"), f"the last row is not whole: {text[-80:]!r}"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, 1):
        assert len(row) == len(header), f"row {number} has {len(row)} cells: {row!r}"
    return header, [dict(zip(header, row, strict=True)) for row in body]


def csv_cell_matches(cell: str, value: Any) -> bool:
    """Whether a CSV cell holds this wire value: lists and objects as JSON, null as empty."""
    if value is None:
        return cell == ""
    if isinstance(value, (list, dict)):
        return cell != "" and json.loads(cell) == value
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    return cell == str(value)


def parse_table(text: str) -> tuple[list[str], list[dict[str, str]], str]:
    """The table's column names, its rows (cells by column) and its footer line."""
    header, *rows, footer = text.rstrip("\n").split("\n")
    columns = list(re.finditer(r"\S+(?: \S+)*", header))
    names = [match.group() for match in columns]
    starts = [match.start() for match in columns]
    ends = [*starts[1:], None]
    cells = [
        {name: row[start:end].strip() for name, start, end in zip(names, starts, ends, strict=True)}
        for row in rows
    ]
    return names, cells, footer


def table_row(conversation: Mapping[str, Any]) -> dict[str, str]:
    """The table row the CLI should print for a wire conversation."""
    last = conversation.get("lastMessageDate")
    when = (
        "-"
        if last is None
        else datetime.fromtimestamp(last / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M")
    )
    unread = conversation.get("unreadCount")
    return {
        "last message": when,
        "name": (conversation.get("fullName") or conversation.get("contactName") or "-")[:30],
        "channel": (conversation.get("lastMessageType") or "-").removeprefix("TYPE_"),
        "dir": conversation.get("lastMessageDirection") or "-",
        "unread": "" if unread is None else str(unread),
        "id": conversation["id"],
    }


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def interrupt_when(
    process: subprocess.Popen[bytes],
    path: Path,
    *,
    lines: int,
    signum: int = signal.SIGINT,
    timeout: float = TIMEOUT,
) -> int:
    """Send `signum` once `path` has `lines` lines; return how many it had then."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        seen = count_lines(path)
        if seen >= lines:
            process.send_signal(signum)
            return seen
        time.sleep(0.005)
    pytest.fail(
        f"the export ended (status {process.returncode}) or stalled before writing "
        f"{lines} lines: it wrote {count_lines(path)}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Make sure a child started by a test is gone (and reaped)."""
    if process.poll() is None:
        process.kill()
    process.wait(TIMEOUT)


def read_until(
    stream: IO[bytes] | None, enough: Callable[[bytes], bool], timeout: float = TIMEOUT
) -> bytes:
    """Read a child's pipe until what came satisfies `enough`; fail after `timeout` s."""
    assert stream is not None
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    seen = b""
    while not enough(seen):
        left = deadline - time.monotonic()
        assert left > 0, f"not there in {timeout} s; got {seen[-200:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the pipe closed first; got {seen[-200:]!r}"
            seen += chunk
    return seen
