"""`leadway-async export`: every conversation, once each, as JSONL or CSV: scanned in no
order by default, in the server's order with `--sort`."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
from pathlib import Path

import pytest

from leadway_async._convert import WIRE_FIELDS
from leadway_async.testing import LeadwayEmulator, ThreadedEmulator

from .helpers import (
    PROGRESS_LINE,
    TIMEOUT,
    Cli,
    assert_each_once,
    assert_some_once,
    base_env,
    by_id,
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
    assert_each_once(ids(records), ids(want))  # a scan: in no promised order
    truth = by_id(want)
    for record in records:
        assert record == served(truth[record["id"]]), f"conversation {record['id']} differs"
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
    assert_each_once(ids(records), ids(want))
    truth = by_id(want)
    assert all(record == served(truth[record["id"]]) for record in records)
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
    want = by_id(expected(emulator))
    assert_each_once([row["id"] for row in rows], list(want))
    columns = [name for name in header if name != "extra"]
    for row in rows:
        truth = want[row["id"]]
        for name in columns:
            assert csv_cell_matches(row[name], truth.get(name)), (truth["id"], name, row[name])
        rest = {k: v for k, v in truth.items() if k not in header and v is not None}
        assert csv_cell_matches(row["extra"], rest or None), (truth["id"], row["extra"])
    # Spot checks, spelled out.
    first = want[rows[0]["id"]]
    assert rows[0]["fullName"] == (first.get("fullName") or "")
    assert rows[0]["lastMessageDate"] == str(first["lastMessageDate"])
    tagged = next(row for row in rows if want[row["id"]].get("tags"))
    assert json.loads(tagged["tags"]) == want[tagged["id"]]["tags"]
    assert not (tmp_path / "all.csv.checkpoint.json").exists()


def test_csv_to_standard_output(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli.run(
        "export", "--format", "csv", "--max-items", "40", "--limit", "15", *connection(emulator)
    )

    assert result.status == 0, result.err
    header, rows = csv_records(result.out)
    assert header[0] == "id"
    assert len(rows) == 40
    assert_some_once([row["id"] for row in rows], ids(expected(emulator)))


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_an_ordered_export_keeps_the_servers_order(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, order: str, file_format: str
) -> None:
    out = tmp_path / f"ordered.{file_format}"
    result = cli.run(
        "export",
        *("--out", str(out), "--format", file_format, "--sort", order, "--limit", "45"),
        *connection(emulator),
    )

    assert result.status == 0, result.err
    text = out.read_text(encoding="utf-8")
    got = ids(jsonl_records(text)) if file_format == "jsonl" else ids(csv_records(text)[1])
    assert got == ids(expected(emulator, sort=order))
    sent = [r for r in emulator.requests if r.path.endswith("/conversations/search")]
    assert all(r.query["sort"] == order for r in sent)


@pytest.mark.parametrize(("max_items", "page_size"), [(130, 25), (7, 100), (100, 50)])
def test_max_items_and_page_size_are_honoured_in_order(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path, max_items: int, page_size: int
) -> None:
    out = tmp_path / "some.jsonl"
    result = cli.run(
        "export",
        *("--out", str(out), "--max-items", str(max_items), "--limit", str(page_size)),
        *("--sort", "desc"),
        *connection(emulator),
    )

    assert result.status == 0, result.err
    records = jsonl_records(out.read_text(encoding="utf-8"))
    assert len(records) == max_items
    assert ids(records) == ids(expected(emulator, sort="desc"))[:max_items]
    sent = [r for r in emulator.requests if r.path.endswith("/conversations/search")]
    assert sent
    # The first page has the size asked; later ones may be one wider to step past the
    # conversation the cursor stops on, which the API sends again.
    assert sent[0].query["limit"] == str(page_size)
    assert {int(r.query["limit"]) for r in sent} <= {page_size, page_size + 1}
    assert len(sent) >= -(-max_items // page_size)
    assert not (tmp_path / "some.jsonl.checkpoint.json").exists()


@pytest.mark.parametrize(
    ("max_items", "page_size", "concurrency"), [(130, 25, "4"), (7, 100, "16"), (599, 50, "3")]
)
def test_max_items_caps_a_scan_exactly(
    cli: Cli,
    emulator: ThreadedEmulator,
    tmp_path: Path,
    max_items: int,
    page_size: int,
    concurrency: str,
) -> None:
    out = tmp_path / "some.jsonl"
    result = cli.run(
        "export",
        *("--out", str(out), "--max-items", str(max_items), "--limit", str(page_size)),
        *("--concurrency", concurrency),
        *connection(emulator),
    )

    assert result.status == 0, result.err
    records = jsonl_records(out.read_text(encoding="utf-8"))
    assert len(records) == max_items
    assert_some_once(ids(records), ids(expected(emulator)))
    assert result.err_lines[-1] == f"exported {max_items} conversations to {out}"
    sent = [r for r in emulator.requests if r.path.endswith("/conversations/search")]
    assert sent[0].query["limit"] == str(page_size)
    assert "sort" not in sent[0].query or sent[0].query["sort"] == "asc"
    assert not (tmp_path / "some.jsonl.checkpoint.json").exists()


@pytest.mark.parametrize(
    ("walk", "fewest", "most"),
    [(["--concurrency", "6"], 3, 6), (["--sort", "desc"], 1, 1), ([], 3, 4)],
    ids=["scan-6", "ordered", "scan-default"],
)
def test_requests_in_flight_at_once(
    cli: Cli, tmp_path: Path, walk: list[str], fewest: int, most: int
) -> None:
    """A scan overlaps up to --concurrency requests (4 unless told); the ordered walk, one."""
    emu = LeadwayEmulator(conversations=1200, seed=5, latency_ms=60, rate_limit_max=1_000_000)
    with emu.run_in_thread() as running:
        out = tmp_path / "out.jsonl"
        result = cli.run("export", "--out", str(out), "--limit", "50", *walk, *connection(running))
        assert result.status == 0, result.err
        got = ids(jsonl_records(out.read_text(encoding="utf-8")))
        assert_each_once(got, ids(expected(running)))
        arrived = sorted(r.time for r in running.requests)
    # Each answer takes 60 ms: what arrives within 50 ms of a request overlaps it.
    overlapping = max(sum(1 for t in arrived if start <= t < start + 0.05) for start in arrived)
    assert fewest <= overlapping <= most, overlapping


def test_progress_shows_the_share_of_the_rate_limit_in_use(cli: Cli, tmp_path: Path) -> None:
    """A small window (20 requests a second) that the scan fills: the share is high."""
    emu = LeadwayEmulator(
        conversations=600, seed=13, rate_limit_max=20, rate_limit_interval_ms=1000
    )
    with emu.run_in_thread() as running:
        out = tmp_path / "paced.jsonl"
        result = cli.run("export", "--out", str(out), "--limit", "10", *connection(running))
        assert result.status == 0, result.err
        assert_each_once(
            ids(jsonl_records(out.read_text(encoding="utf-8"))), ids(expected(running))
        )
    lines = [PROGRESS_LINE.match(line) for line in result.err_lines[:-1]]
    assert lines, result.err
    assert all(lines), result.err
    shares = [int(match["share"]) for match in lines if match and match["share"] is not None]
    # Known from the first answer on, so on every line; once the scan fills the window,
    # most of it (the last line may come as the requests thin out at the end).
    assert len(shares) == len(lines), result.err
    assert all(0 <= share <= 100 for share in shares), result.err
    assert max(shares) >= 50, result.err
    assert result.err_lines[-2].startswith("600 of 600 conversations (100%), ")


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
