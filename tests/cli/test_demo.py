"""`leadway-async demo`: the mirror of a built-in emulator whose conversations change, a
full pass then an incremental run, summed up from the database in a few seconds."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from leadway_async.testing import DEFAULT_LOCATION_ID, LeadwayEmulator

from .helpers import Cli


def test_the_demo_mirrors_twice_and_sums_up_from_the_database(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "demo.db"
    result = cli.run("demo", "--conversations", "1500", "--out", str(out), cwd=tmp_path)

    assert result.status == 0, result.err
    assert "Traceback" not in result.err
    summary = result.out
    full = re.search(
        rf"^mirrored ([\d,]+) conversations into {re.escape(str(out))} in \d+\.\d s "
        r"\(a full pass: (\d+) requests\)$",
        summary,
        re.M,
    )
    assert full, summary
    assert 1_450 <= int(full[1].replace(",", "")) <= 1_550  # created and deleted meanwhile
    assert int(full[2]) >= 15
    incremental = re.search(
        r"^incremental run: ([\d,]+) conversations read \((\d+) new, (\d+) with new messages\) "
        r"with (\d+) requests?, in \d+\.\d\d s$",
        summary,
        re.M,
    )
    assert incremental, summary
    assert int(incremental[3]) > 10  # messages arrived during the pause
    assert int(incremental[4]) <= 4  # a few pages, not a full pass
    assert re.search(r"^by channel: SMS [\d,]+, ", summary, re.M), summary
    assert re.search(r"^unread: [\d,]+ of [\d,]+ conversations \([\d,]+ messages\)$", summary, re.M)
    assert re.search(r"^retries: \d+ \(the emulator failed 5% of requests on purpose\)$", summary,
                     re.M)  # fmt: skip
    query = re.search(r"^look inside: sqlite3 (\S+) '(SELECT .+)'$", summary, re.M)
    assert query, summary
    assert query[1] == str(out)

    # The database is a mirror, and the query offered works on it.
    with sqlite3.connect(out) as db:
        rows = db.execute(query[2]).fetchall()
        (present,) = db.execute("SELECT count(*) FROM conversations WHERE deleted_at IS NULL")
    assert sum(count for _, count, _ in rows) == present[0]
    truth = LeadwayEmulator(conversations=1500, seed=7).expected(
        {"locationId": DEFAULT_LOCATION_ID}
    )
    with sqlite3.connect(out) as db:
        ids = {i for (i,) in db.execute("SELECT id FROM conversations")}
    assert len(ids & {c["id"] for c in truth}) >= 1_450
    assert "emulator at http://127.0.0.1:" in result.err
    assert f"{DEFAULT_LOCATION_ID}: full pass" in result.err
    assert re.search(rf"^{DEFAULT_LOCATION_ID}: incremental run from ", result.err, re.M)


def test_without_out_the_demo_writes_to_a_new_temporary_folder(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("demo", "--conversations", "200", cwd=tmp_path)

    assert result.status == 0, result.err
    where = re.search(r"^mirrored [\d,]+ conversations into (\S+) ", result.out, re.M)
    assert where, result.out
    path = Path(where[1])
    try:
        assert path.name == "leadway-demo.db"
        assert path.parent.name.startswith("leadway-demo-")
        assert path.exists()
        assert list(tmp_path.iterdir()) == []  # nothing left where it ran
    finally:
        for leftover in path.parent.iterdir():
            leftover.unlink()
        path.parent.rmdir()


def test_the_demo_replaces_its_own_mirror_but_no_other_file(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "demo.db"
    with sqlite3.connect(out) as db:  # what a demo left, as far as it looks
        db.execute("CREATE TABLE mirror_schema (version integer)")
    again = cli.run("demo", "--conversations", "200", "--out", str(out))
    assert again.status == 0, again.err
    with sqlite3.connect(out) as db:
        (present,) = db.execute("SELECT count(*) FROM conversations").fetchone()
    assert present >= 200

    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n")
    refused = cli.run("demo", "--conversations", "200", "--out", str(notes))
    assert refused.status == 2
    assert "is not a mirror: the demo will not overwrite it" in refused.err
    assert notes.read_text() == "not a database\n"
