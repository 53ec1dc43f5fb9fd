"""Fixtures: mirror databases (SQLite files, and schemas of a Postgres server the tests
start), and what a test reads back from them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .postgres import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One Postgres server for the session (skipped, or failed, where there is none)."""
    with postgres_server() as server:
        yield server


class Database:
    """A mirror database as a test sees it: its URL, and plain reads and writes.

    `sql` takes `?` placeholders whatever the database.
    """

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url

    def sql(self, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def rows(self) -> dict[str, dict[str, Any]]:
        """Every conversation row by id, `raw` decoded."""
        return {row["id"]: row for row in self.dicts("SELECT * FROM conversations")}

    def states(self) -> dict[str, dict[str, Any]]:
        """Every state row by location."""
        return {row["location_id"]: row for row in self.dicts("SELECT * FROM mirror_state")}

    def dicts(self, text: str) -> list[dict[str, Any]]:
        raise NotImplementedError


class SqliteDatabase(Database):
    def __init__(self, path: Path) -> None:
        super().__init__("sqlite", f"sqlite:///{path}")
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.row_factory = sqlite3.Row
        return connection

    def sql(self, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        connection = self._connect()
        try:
            return [tuple(row) for row in connection.execute(text, params)]
        finally:
            connection.close()

    def dicts(self, text: str) -> list[dict[str, Any]]:
        connection = self._connect()
        try:
            rows = [dict(row) for row in connection.execute(text)]
        finally:
            connection.close()
        for row in rows:
            if isinstance(row.get("raw"), str):
                row["raw"] = json.loads(row["raw"])
        return rows


class PostgresDatabase(Database):
    def __init__(self, server: PostgresServer, schema: str) -> None:
        super().__init__("postgresql", server.url(schema))
        self.server = server
        self.schema = schema

    def sql(self, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.server.connect(self.schema) as db:
            cursor = db.execute(text.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []

    def dicts(self, text: str) -> list[dict[str, Any]]:
        with self.server.connect(self.schema) as db:
            cursor = db.execute(text)
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """An empty mirror database of each kind (a Postgres one is a schema of its own)."""
    if request.param == "sqlite":
        return SqliteDatabase(tmp_path / "mirror.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    return PostgresDatabase(server, server.new_schema())


@pytest.fixture
def sqlite_database(tmp_path: Path) -> SqliteDatabase:
    """An empty SQLite mirror file's database."""
    return SqliteDatabase(tmp_path / "mirror.db")


@pytest.fixture
def postgres_database(postgres: PostgresServer) -> PostgresDatabase:
    """A schema of its own on the test server."""
    return PostgresDatabase(postgres, postgres.new_schema())
