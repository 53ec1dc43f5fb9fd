"""`leadway-async search`: one page, as a table or JSON, filtered as asked."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from leadway_async.testing import USER_IDS, ThreadedEmulator

from .helpers import (
    TABLE_HEADERS,
    Cli,
    base_env,
    connection,
    expected,
    ids,
    parse_table,
    served,
    table_row,
)


def test_the_table_shows_the_first_page_in_the_servers_order(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    result = cli.run("search", "--limit", "12", *connection(emulator))

    assert result.status == 0, result.err
    assert result.err == ""
    names, rows, footer = parse_table(result.out)
    assert names == list(TABLE_HEADERS)
    everything = expected(emulator)
    assert rows == [table_row(c) for c in everything[:12]]
    assert footer == f"(12 of {len(everything)} conversations)"


def test_the_default_page_size_is_20(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli.run("search", *connection(emulator))

    assert result.status == 0, result.err
    _, rows, footer = parse_table(result.out)
    assert [row["id"] for row in rows] == ids(expected(emulator))[:20]
    assert footer == "(20 of 600 conversations)"


@pytest.mark.parametrize(
    ("options", "wire", "limit"),
    [
        pytest.param(
            ["--status", "unread", "--sort", "asc", "--limit", "7"],
            {"status": "unread", "sort": "asc"},
            7,
            id="status-and-order",
        ),
        pytest.param(
            ["--assigned-to", f"{USER_IDS[0]},{USER_IDS[3]}", "--limit", "15"],
            {"assignedTo": f"{USER_IDS[0]},{USER_IDS[3]}"},
            15,
            id="assigned-to-two-users",
        ),
        pytest.param(
            ["--assigned-to", "unassigned", "--last-message-direction", "inbound"],
            {"assignedTo": "unassigned", "lastMessageDirection": "inbound"},
            20,
            id="unassigned-inbound",
        ),
        pytest.param(
            ["--query", "smith", "--sort-by", "last_manual_message_date", "--limit", "9"],
            {"query": "smith", "sortBy": "last_manual_message_date"},
            9,
            id="text-and-sort-field",
        ),
    ],
)
def test_filters_select_what_the_emulator_selects(
    cli: Cli, emulator: ThreadedEmulator, options: list[str], wire: dict[str, str], limit: int
) -> None:
    result = cli.run("search", *options, *connection(emulator))

    assert result.status == 0, result.err
    want = expected(emulator, **wire)
    assert 0 < len(want) < len(emulator.conversations), "the filter should narrow the data"
    _, rows, footer = parse_table(result.out)
    assert [row["id"] for row in rows] == ids(want)[:limit]
    assert footer == f"({min(limit, len(want))} of {len(want)} conversations)"


def _date_added_cut(emulator: ThreadedEmulator) -> int:
    """A dateAdded the data has, about a third of the way through."""
    added = sorted(c["dateAdded"] for c in emulator.conversations)
    return added[len(added) // 3]


def _iso(ms: int, spelling: str) -> str:
    """`ms` in ISO 8601: with Z, with a +05:00 offset, or naive (which the CLI reads as UTC)."""
    moment = datetime.fromtimestamp(ms / 1000, timezone.utc)
    if spelling == "offset":
        moment = moment.astimezone(timezone(timedelta(hours=5)))
    text = moment.isoformat(timespec="milliseconds")
    if spelling == "Z":
        return text.replace("+00:00", "Z")
    return text.removesuffix("+00:00") if spelling == "naive" else text


@pytest.mark.parametrize("spelling", ["Z", "offset", "naive"])
def test_start_date_takes_iso_8601_and_keeps_its_boundary(
    cli: Cli, emulator: ThreadedEmulator, spelling: str
) -> None:
    cut = _date_added_cut(emulator)
    text = _iso(cut, spelling)
    result = cli.run(
        "search", "--start-date", text, "--sort", "asc", "--limit", "10", *connection(emulator)
    )

    assert result.status == 0, result.err
    want = expected(emulator, startDate=cut, sort="asc")
    assert any(c["dateAdded"] == cut for c in want), "the boundary itself is included"
    assert len(want) < len(emulator.conversations)
    _, rows, footer = parse_table(result.out)
    assert [row["id"] for row in rows] == ids(want)[:10]
    assert footer == f"(10 of {len(want)} conversations)"


def test_json_prints_the_page_as_the_api_sent_it(cli: Cli, emulator: ThreadedEmulator) -> None:
    result = cli.run("search", "--json", "--status", "read", "--limit", "25", *connection(emulator))

    assert result.status == 0, result.err
    body = json.loads(result.out)
    want = expected(emulator, status="read")
    assert set(body) == {"conversations", "total"}
    assert body["total"] == len(want)
    assert ids(body["conversations"]) == ids(want)[:25]
    assert body["conversations"] == [served(c) for c in want[:25]]


def test_the_environment_can_stand_in_for_the_options(cli: Cli, emulator: ThreadedEmulator) -> None:
    env = base_env(
        LEADWAY_TOKEN=emulator.token,
        LEADWAY_LOCATION_ID=emulator.location_id,
        LEADWAY_BASE_URL=emulator.url,
    )
    result = cli.run("search", "--limit", "5", env=env)

    assert result.status == 0, result.err
    _, rows, footer = parse_table(result.out)
    assert [row["id"] for row in rows] == ids(expected(emulator))[:5]
    assert footer == "(5 of 600 conversations)"
    assert emulator.request_count == 1


def test_options_win_over_the_environment(cli: Cli, emulator: ThreadedEmulator) -> None:
    env = base_env(
        LEADWAY_TOKEN="pit-not-the-right-one",
        LEADWAY_LOCATION_ID="elsewhere",
        LEADWAY_BASE_URL="http://127.0.0.1:9",
    )
    result = cli.run("search", "--limit", "3", *connection(emulator), env=env)

    assert result.status == 0, result.err
    _, rows, _ = parse_table(result.out)
    assert [row["id"] for row in rows] == ids(expected(emulator))[:3]
