"""`leadway-async export`: every conversation, once each, in order, as JSONL or CSV."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
from pathlib import Path

import pytest

from leadway_async._convert import WIRE_FIELDS
from leadway_async.testing import ThreadedEmulator

from .helpers import (
    PROGRESS_LINE,
    TIMEOUT,
    Cli,
    base_env,
    connection,
    csv_cell_matches,
    csv_records,
    expected,
    ids,
    jsonl_records,
    served,
)


def test_jsonl_to_a_file_holds_every_conversation_as_served(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "all.jsonl"
    result = cli.run("export", "--out", str(out), *connection(emulator))

    assert result.status == 0, result.err
    assert result.out == ""
    records = jsonl_records(out.read_text(encoding="utf-8"))
    want = expected(emulator)
    assert ids(records) == ids(want)
    for record, truth in zip(records, want, strict=True):
        assert record == served(truth), f"conversation {truth['id']} differs"
    assert not (tmp_path / "all.jsonl.checkpoint.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.jsonl"]
    assert result.err_lines[-1] == f"exported 600 conversations to {out}"


def test_filters_apply_to_the_export(cli: Cli, emulator: ThreadedEmulator, tmp_path: Path) -> None:
    out = tmp_path / "inbound.jsonl"
    result = cli.run(
        "export",
        "--out",
        str(out),
        *("--last-message-direction", "inbound", "--sort", "asc", "--limit", "30"),
        *connection(emulator),
    )

    assert result.status == 0, result.err
    want = expected(emulator, lastMessageDirection="inbound", sort="asc")
    assert 30 < len(want) < 600
    records = jsonl_records(out.read_text(encoding="utf-8"))
    assert records == [served(c) for c in want]


def test_standard_output_carries_only_data(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli.run("export", "--status", "unread", *connection(emulator))

    assert result.status == 0, result.err
    records = jsonl_records(result.out)
    want = expected(emulator, status="unread")
    assert ids(records) == ids(want)
    assert records == [served(c) for c in want]
    # Progress and the summary went to standard error.
    assert any(PROGRESS_LINE.match(line) for line in result.err_lines), result.err
    assert result.err_lines[-1] == f"exported {len(want)} conversations to standard output"


def test_csv_has_a_header_then_a_row_per_conversation(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "all.csv"
    result = cli.run("export", "--format", "csv", "--out", str(out), *connection(emulator))

    assert result.status == 0, result.err
    header, rows = csv_records(out.read_text(encoding="utf-8"))
    # The wire fields in the order of Conversation's attributes, between id and extra.
    assert header == ["id", *(field.wire for field in WIRE_FIELDS), "extra"]
    assert {"fullName", "lastMessageDate", "tags", "assignedTo", "starred", "scoring"} <= set(
        header
    )
    want = expected(emulator)
    assert [row["id"] for row in rows] == ids(want)
    columns = [name for name in header if name != "extra"]
    for row, truth in zip(rows, want, strict=True):
        for name in columns:
            assert csv_cell_matches(row[name], truth.get(name)), (truth["id"], name, row[name])
        rest = {k: v for k, v in truth.items() if k not in header and v is not None}
        assert csv_cell_matches(row["extra"], rest or None), (truth["id"], row["extra"])
    # Spot checks, spelled out.
    first = want[0]
    assert rows[0]["fullName"] == (first.get("fullName") or "")
    assert rows[0]["lastMessageDate"] == str(first["lastMessageDate"])
    tagged = next(i for i, c in enumerate(want) if c.get("tags"))
    assert json.loads(rows[tagged]["tags"]) == want[tagged]["tags"]
    assert not (tmp_path / "all.csv.checkpoint.json").exists()


def test_csv_to_standard_output(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli.run(
        "export", "--format", "csv", "--max-items", "40", "--limit", "15", *connection(emulator)
    )

    assert result.status == 0, result.err
    header, rows = csv_records(result.out)
    assert header[0] == "id"
    assert [row["id"] for row in rows] == ids(expected(emulator))[:40]


@pytest.mark.parametrize(("max_items", "page_size"), [(130, 25), (7, 100), (100, 50)])
def test_max_items_and_page_size_are_honoured(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, max_items: int, page_size: int
) -> None:
    out = tmp_path / "some.jsonl"
    result = cli.run(
        "export",
        *("--out", str(out), "--max-items", str(max_items), "--limit", str(page_size)),
        *connection(emulator),
    )

    assert result.status == 0, result.err
    records = jsonl_records(out.read_text(encoding="utf-8"))
    assert len(records) == max_items
    assert ids(records) == ids(expected(emulator))[:max_items]
    sent = [r for r in emulator.requests if r.path.endswith("/conversations/search")]
    assert sent
    # The first page has the size asked; later ones may be one wider to step past the
    # conversation the cursor stops on, which the API sends again.
    assert sent[0].query["limit"] == str(page_size)
    assert {int(r.query["limit"]) for r in sent} <= {page_size, page_size + 1}
    assert len(sent) >= -(-max_items // page_size)
    assert not (tmp_path / "some.jsonl.checkpoint.json").exists()


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "p.jsonl"
    result = cli.run("export", "--out", str(out), "--limit", "40", *connection(emulator))

    assert result.status == 0, result.err
    assert "\r" not in result.err
    assert "\x1b" not in result.err
    progress = [line for line in result.err_lines if PROGRESS_LINE.match(line)]
    assert progress, result.err
    assert progress[-1].startswith("600 of 600 conversations (100%)")
    assert result.err_lines[-1] == f"exported 600 conversations to {out}"
    assert all(PROGRESS_LINE.match(line) for line in result.err_lines[:-1]), result.err


def test_progress_is_one_live_line_on_a_terminal(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "t.jsonl"
    leader, follower = pty.openpty()
    try:
        with subprocess.Popen(
            cli.command("export", "--out", str(out), "--limit", "100", *connection(emulator)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=follower,
            env=base_env(),
        ) as process:
            os.close(follower)
            follower = -1
            seen = b""
            while True:
                ready, _, _ = select.select([leader], [], [], TIMEOUT)
                assert ready, "no output from the export"
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            assert process.wait(TIMEOUT) == 0
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    text = seen.decode("utf-8")
    # Every update rewrites the same line; one newline ends it, then the summary.
    assert text.count("\r\x1b[2K") >= 6
    live, summary = text.replace("\r\n", "\n").rstrip("\n").rsplit("\n", 1)
    assert "\n" not in live
    assert live.split("\r\x1b[2K")[-1].startswith("600 of 600 conversations (100%)")
    assert summary == f"exported 600 conversations to {out}"
    assert len(jsonl_records(out.read_text(encoding="utf-8"))) == 600
