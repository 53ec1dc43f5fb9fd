"""Bad input and failing databases: each a clear error, and every page written before it
kept with its bookmark, so the next run continues from there."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from leadway_async import LeadwayClient, tokens
from leadway_async.mirror import (
    DatabaseUrlError,
    LeaseLostError,
    Mirror,
    MirrorDatabaseError,
    NotAMirrorError,
    SchemaVersionError,
    SqliteBackend,
)

from .conftest import Database, PostgresDatabase, SqliteDatabase
from .helpers import (
    assert_mirror_is,
    cli_env,
    client_for,
    connection,
    console_script,
    emulator,
    wait_for_lease_expiry,
)


def handed_out(state: dict[str, Any]) -> int:
    """How many conversations a full pass's bookmark says were written."""
    token = state["pass_token"]
    return 0 if token is None else int(tokens.decode(token, (tokens.SCAN,))[1]["n"])


class AfterPages:
    """Calls `action` once `pages` pages are written."""

    def __init__(self, pages: int, action: Any) -> None:
        self.pages, self.action, self.seen = pages, action, 0

    def started(self, location_id: str, plan: Any) -> None:
        pass

    def page(self, location_id: str, done: int, total: int | None) -> None:
        self.seen += 1
        if self.seen == self.pages:
            self.action()

    def finished(self, result: Any) -> None:
        pass


@pytest.mark.parametrize(
    "url",
    [
        "leadway.db",
        "sqlite://leadway.db",
        "sqlite:///",
        "sqlite:///folder/",
        "sqlite:///x.db?mode=ro",
        "mysql://user@host/db",
        "postgresql://",
        "",
    ],
)
def test_a_database_url_that_names_no_database_is_a_usage_error(url: str) -> None:
    result = subprocess.run(
        [console_script(), "mirror", "--db", url, "--location-id", "x", "--token", "pit-x"],
        capture_output=True, text=True, env=cli_env(), timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("leadway-async: error: ")
    assert "sqlite:///" in line or "sqlite" in line.lower()
    with pytest.raises(DatabaseUrlError):
        Mirror(LeadwayClient("pit-x"), url)


def test_a_password_in_the_url_never_shows() -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        Mirror(LeadwayClient("pit-x"), "mysql://me:s3cret@db/crm?password=s3cret")
    assert "s3cret" not in str(caught.value)


async def test_a_sqlite_file_in_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    async with emulator(5) as emu, client_for(emu) as client:
        with pytest.raises(DatabaseUrlError, match="there is no folder"):
            await Mirror(client, f"sqlite:///{tmp_path}/nowhere/m.db").run()


async def test_a_database_that_is_not_a_mirror_is_refused_untouched(
    database: Database,
) -> None:
    database.sql("CREATE TABLE invoices (id integer)")
    async with emulator(5) as emu, client_for(emu) as client:
        with pytest.raises(
            NotAMirrorError, match=r"is not a mirror: it holds other tables \(invoices"
        ):
            await Mirror(client, database.url).run()
        assert emu.request_count == 0
    tables = database.sql(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if database.kind == "sqlite"
        else "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema()"
    )
    assert tables == [("invoices",)]


async def test_a_file_that_is_no_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: milk, eggs, bread, and a lot more besides these\n" * 20)
    before = path.read_bytes()
    async with emulator(5) as emu, client_for(emu) as client:
        with pytest.raises(NotAMirrorError, match="is not a mirror: file is not a database"):
            await Mirror(client, f"sqlite:///{path}").run()
    assert path.read_bytes() == before


def test_the_command_says_a_database_is_not_a_mirror_and_exits_1(
    sqlite_database: SqliteDatabase,
) -> None:
    sqlite_database.sql("CREATE TABLE invoices (id integer)")
    with emulator(5).run_in_thread() as emu:
        result = subprocess.run(
            [console_script(), "mirror", "--db", sqlite_database.url, *connection(emu),
             "--location-id", emu.location_id],
            capture_output=True, text=True, env=cli_env(), timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        f"leadway-async: {sqlite_database.path} is not a mirror: it holds other tables (invoices)"
    )
    assert "Traceback" not in result.stderr


async def test_a_mirror_of_a_newer_schema_version_is_refused(database: Database) -> None:
    async with emulator(50) as emu, client_for(emu) as client:
        await Mirror(client, database.url).run()
        database.sql("UPDATE mirror_schema SET version = 2")
        with pytest.raises(SchemaVersionError, match="schema version 2, written by a newer"):
            await Mirror(client, database.url).run()


async def test_a_mirror_missing_a_table_is_refused(database: Database) -> None:
    async with emulator(50) as emu, client_for(emu) as client:
        await Mirror(client, database.url).run()
        database.sql("DROP TABLE mirror_seen")
        with pytest.raises(
            NotAMirrorError, match="damaged mirror: it lacks the tables mirror_seen"
        ):
            await Mirror(client, database.url).run()


async def test_a_read_only_file_is_a_clear_error(sqlite_database: SqliteDatabase) -> None:
    path = sqlite_database.path
    async with emulator(100) as emu, client_for(emu) as client:
        await Mirror(client, sqlite_database.url).run()
        undo = _make_read_only(path)
        try:
            with pytest.raises(MirrorDatabaseError, match="attempt to write a readonly database"):
                await Mirror(client, sqlite_database.url).run(full=True)
        finally:
            undo()
    assert len(sqlite_database.rows()) == 100


def _make_read_only(path: Path) -> Any:
    """Make `path` unwritable, even for root (who ignores permission bits); return undo."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return lambda: path.chmod(0o644)
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"running as root, and chattr +i is refused here: {done.stderr!r}")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


async def test_a_full_disk_stops_the_run_with_the_bookmark_at_the_last_page_written(
    sqlite_database: SqliteDatabase,
) -> None:
    db = sqlite_database
    async with emulator(400, latency_ms=1) as emu, client_for(emu) as client:
        # SQLite's own page limit gives the real error of a full disk, after some pages.
        full = SqliteBackend(db.path, pragmas={"max_page_count": 80})
        with pytest.raises(MirrorDatabaseError, match="database or disk is full"):
            await Mirror(client, full, filters={"limit": 40}).run()
        written = len(db.rows())
        state = db.states()[emu.location_id]
        assert 0 < written < 400
        assert written == handed_out(state)
        assert state["lease_owner"] is None  # given back

        result = await Mirror(client, db.url).run()
        truth = emu.expected({"locationId": emu.location_id})
    assert result.locations[0].resumed
    assert result.inserted == 400 - written
    assert_mirror_is(db, truth, emu.location_id)


async def test_postgres_going_away_mid_run_leaves_the_bookmark_at_the_last_page(
    postgres_database: PostgresDatabase,
) -> None:
    db = postgres_database

    def drop_connections() -> None:
        with db.server.connect() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )

    async with emulator(400, latency_ms=1) as emu, client_for(emu) as client:
        lease = timedelta(seconds=1)
        mirror = Mirror(
            client,
            db.url,
            filters={"limit": 40},
            lease=lease,
            progress=AfterPages(3, drop_connections),
        )
        with pytest.raises(MirrorDatabaseError, match="terminat"):
            await mirror.run()
        written = len(db.rows())
        assert 120 <= written < 400
        assert written == handed_out(db.states()[emu.location_id])

        await asyncio.to_thread(wait_for_lease_expiry, db, emu.location_id)
        result = await Mirror(client, db.url).run()
        truth = emu.expected({"locationId": emu.location_id})
    assert result.locations[0].resumed
    assert_mirror_is(db, truth, emu.location_id)


async def test_a_worker_whose_lease_was_taken_over_writes_nothing_more(database: Database) -> None:
    def take_over() -> None:
        database.sql("UPDATE mirror_state SET lease_owner = 'another-worker'")

    async with emulator(400, latency_ms=1) as emu, client_for(emu) as client:
        mirror = Mirror(
            client, database.url, filters={"limit": 40}, progress=AfterPages(2, take_over)
        )
        with pytest.raises(LeaseLostError, match="another worker took location"):
            await mirror.run()
        written = len(database.rows())
    assert written == handed_out(database.states()[emu.location_id])
    assert written < 400
    assert database.states()[emu.location_id]["lease_owner"] == "another-worker"


def test_without_psycopg_the_postgres_backend_names_the_extra() -> None:
    script = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "from leadway_async import LeadwayClient\n"
        "from leadway_async.mirror import Mirror, MissingDriverError\n"
        "try:\n"
        "    Mirror(LeadwayClient('pit-x'), 'postgresql://me@db/crm')\n"
        "except MissingDriverError as exc:\n"
        "    print(exc)\n"
        "import leadway_async.mirror.sqlite\n"  # SQLite needs nothing more
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'leadway-async[postgres]'" in done.stdout
    assert "psycopg 3" in done.stdout
