"""The mirror's tables, their version, and every statement the backends run (pure text).

Four tables: `conversations` (a row per conversation: the typed columns of `rows.py`, the
JSON, and when it was first seen, last changed and found deleted), `mirror_state` (a row
per location and filters: the bookmark, the full pass under way, the counts and the
lease of the worker mirroring it), `mirror_seen` (the ids a full pass has seen, so that a
pass killed midway still marks deletions right when it is continued) and
`mirror_schema` (the version). SQLite and Postgres differ in types, placeholders and
clocks only: a `Dialect` says how.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import orjson
from attrs import frozen

from .errors import NotAMirrorError, SchemaVersionError
from .rows import CONVERSATION_COLUMNS, ColumnType

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "POSTGRES",
    "SCHEMA_VERSION",
    "SQLITE",
    "STATE_COLUMNS",
    "TABLES",
    "Dialect",
    "Statements",
    "schema_action",
    "schema_fingerprint",
]

SCHEMA_VERSION = 1
"""The version of the tables this release writes. A release that changes them raises it
and migrates older mirrors; a mirror of a higher version is refused."""

TABLES = ("conversations", "mirror_state", "mirror_seen", "mirror_schema")
"""The mirror's tables."""

BOOKKEEPING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("mirror_location_id", "text NOT NULL"),  # the location this row was mirrored for
    ("raw", "raw NOT NULL"),  # the conversation's JSON
    ("content_hash", "text NOT NULL"),  # the hash of `raw`
    ("first_seen_at", "time NOT NULL"),
    ("last_changed_at", "time NOT NULL"),  # inserted, updated, marked deleted
    ("deleted_at", "time"),  # when a full pass no longer found it (None: it is there)
    ("revision", "integer NOT NULL"),  # 1 when inserted, one more on every change
)
"""The conversations table's own columns beside the conversation's, with their types."""

STATE_COLUMNS = (
    "location_id",
    "filters",
    "bookmark",
    "pass_id",
    "pass_token",
    "pass_started_at",
    "pass_marks_deletions",
    "last_full_at",
    "walk_start_after",
    "walk_token",
    "last_run_at",
    "last_run_kind",
    "conversations",
    "deleted",
    "lease_owner",
    "lease_expires_at",
)
"""The columns of `mirror_state` a backend reads, in this order."""

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(_TIME_FORMAT)[:-4] + "Z"


def _sqlite_read_time(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=timezone.utc)


def _postgres_read_time(value: Any) -> datetime | None:
    return None if value is None else value.astimezone(timezone.utc)


def _sqlite_ids(ids: Collection[str]) -> str:
    return orjson.dumps(list(ids)).decode()


def _postgres_ids(ids: Collection[str]) -> list[str]:
    return list(ids)


def _sqlite_lease(seconds: float) -> str:
    return f"+{seconds:.3f} seconds"


def _postgres_lease(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def _same(moment: datetime) -> datetime:
    return moment


@frozen
class Dialect:
    """How one database spells what the mirror needs.

    `types` maps the column types of `rows.py` (and `raw`, `time`) to SQL types;
    `placeholder` is the parameter marker; `json_value`/`raw_value` wrap a placeholder
    for JSON text; `now` is the current time in SQL (`lease_now` the one leases compare
    with); `in_ids` tests a column against one parameter holding many ids (`ids` makes
    that parameter); `lease_until` is the time a lease of some seconds (`lease` makes the
    parameter) expires; `time_value` and `read_time` turn times into parameters and back.
    """

    name: Literal["sqlite", "postgresql"]
    types: Mapping[str, str]
    placeholder: str
    json_value: str
    raw_value: str
    now: str
    lease_now: str
    in_ids: str
    lease_until: str
    ids: Callable[[Collection[str]], Any]
    lease: Callable[[float], Any]
    time_value: Callable[[datetime], Any]
    read_time: Callable[[Any], datetime | None]
    table_suffix: str = ""


_SQLITE_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

SQLITE = Dialect(
    name="sqlite",
    types={
        "text": "TEXT",
        "integer": "INTEGER",
        "boolean": "INTEGER",
        "json": "TEXT",
        "raw": "TEXT",
        "time": "TEXT",
    },
    placeholder="?",
    json_value="?",
    raw_value="?",
    now=_SQLITE_NOW,
    lease_now=_SQLITE_NOW,
    in_ids="IN (SELECT value FROM json_each(?))",
    lease_until="strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)",
    ids=_sqlite_ids,
    lease=_sqlite_lease,
    time_value=_sqlite_time,
    read_time=_sqlite_read_time,
    table_suffix=" WITHOUT ROWID",
)
"""SQLite: times as ISO 8601 text in UTC (`2026-11-27T10:00:00.123Z`), JSON as text."""

POSTGRES = Dialect(
    name="postgresql",
    types={
        "text": "text",
        "integer": "bigint",
        "boolean": "boolean",
        "json": "jsonb",
        "raw": "json",  # kept as the text it came as
        "time": "timestamptz",
    },
    placeholder="%s",
    json_value="%s::jsonb",
    raw_value="%s::json",
    now="now()",
    lease_now="clock_timestamp()",
    in_ids="= ANY(%s)",
    lease_until="clock_timestamp() + %s",
    ids=_postgres_ids,
    lease=_postgres_lease,
    time_value=_same,
    read_time=_postgres_read_time,
)
"""Postgres: `timestamptz`, `jsonb` for list and object columns, `json` for the JSON."""


def _sql_type(dialect: Dialect, declared: str) -> str:
    kind, _, rest = declared.partition(" ")
    return f"{dialect.types[kind]} {rest}".strip()


def _column_type(dialect: Dialect, column_type: ColumnType) -> str:
    return dialect.types[column_type]


def schema_fingerprint() -> str:
    """A digest of every table as both dialects create it: a test pins it to
    `SCHEMA_VERSION`, so that no change of the tables (a field added to `Conversation`
    included) reaches a release without a new version and its migration."""
    created = [Statements.of(dialect).create for dialect in (SQLITE, POSTGRES)]
    return hashlib.sha256(orjson.dumps(created)).hexdigest()[:16]


def schema_action(
    tables: Collection[str], version: int | None, where: str
) -> Literal["create", "ready"]:
    """What opening a database with these `tables` (and the version row it holds, if
    any) needs: "create" for an empty one, "ready" for a mirror of this version.

    `NotAMirrorError` for a database holding other tables, or a mirror missing some of
    its own; `SchemaVersionError` for a mirror of a newer version.
    """
    present = set(tables)
    if not present:
        return "create"
    if "mirror_schema" not in present:
        others = ", ".join(sorted(present)[:5])
        raise NotAMirrorError(
            f"{where} is not a mirror: it holds other tables ({others}); point the mirror "
            "at a new or empty database (or Postgres schema), or at an existing mirror"
        )
    missing = [table for table in TABLES if table not in present]
    if missing or version is None:
        what = f"the tables {', '.join(missing)}" if missing else "its version"
        raise NotAMirrorError(f"{where} is a damaged mirror: it lacks {what}")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{where} is a mirror of schema version {version}, written by a newer release "
            f"of leadway-async; this one reads version {SCHEMA_VERSION}: upgrade it"
        )
    if version < 1:
        raise NotAMirrorError(f"{where} is a damaged mirror: its schema version is {version}")
    return "ready"


@frozen
class Statements:
    """Every statement of one dialect, placeholders in place."""

    create: tuple[str, ...]
    insert_version: str
    read_version: str
    state_select: str
    other_filters: str
    register: str
    claim: str
    take_lease: str
    renew: str
    release: str
    states: str
    page: str
    existing: str
    insert_conversation: str
    update_conversation: str
    insert_seen: str
    has_rows: str
    start_pass: str
    pass_started: str
    mark_deleted: str
    forget_seen: str
    counts: str
    finish_full: str
    finish_incremental: str

    @classmethod
    def of(cls, dialect: Dialect) -> Statements:
        """The statements in `dialect`."""
        p, now = dialect.placeholder, dialect.now
        key = f"location_id = {p} AND filters = {p}"
        conversation_columns = [
            f"{c.name} {_column_type(dialect, c.type)}" for c in CONVERSATION_COLUMNS[1:]
        ]
        bookkeeping = [f"{name} {_sql_type(dialect, kind)}" for name, kind in BOOKKEEPING_COLUMNS]
        boolean, text, integer, time = (
            dialect.types["boolean"],
            dialect.types["text"],
            dialect.types["integer"],
            dialect.types["time"],
        )
        create = (
            "CREATE TABLE mirror_schema ("
            f"version {integer} NOT NULL, created_at {time} NOT NULL, created_by {text} NOT NULL)",
            f"CREATE TABLE conversations (id {text} PRIMARY KEY, "
            + ", ".join([*conversation_columns, *bookkeeping])
            + ")",
            "CREATE INDEX conversations_by_location "
            "ON conversations (mirror_location_id, deleted_at)",
            "CREATE INDEX conversations_by_last_message ON conversations (last_message_date_ms)",
            f"CREATE TABLE mirror_state (location_id {text} NOT NULL, filters {text} NOT NULL, "
            f"bookmark {integer}, pass_id {integer}, pass_token {text}, "
            f"pass_started_at {time}, pass_marks_deletions {boolean} NOT NULL, "
            f"last_full_at {time}, walk_start_after {integer}, walk_token {text}, "
            f"last_run_at {time}, last_run_kind {text}, "
            f"conversations {integer} NOT NULL, deleted {integer} NOT NULL, "
            f"lease_owner {text}, lease_expires_at {time}, "
            "PRIMARY KEY (location_id, filters))",
            f"CREATE TABLE mirror_seen (pass_id {integer} NOT NULL, id {text} NOT NULL, "
            f"PRIMARY KEY (pass_id, id)){dialect.table_suffix}",
        )
        state_columns = ", ".join(STATE_COLUMNS)
        names = [c.name for c in CONVERSATION_COLUMNS]
        value_marks = [dialect.json_value if c.type == "json" else p for c in CONVERSATION_COLUMNS]
        own = ", ".join(name for name, _ in BOOKKEEPING_COLUMNS)
        insert = (
            f"INSERT INTO conversations ({', '.join(names)}, {own}) VALUES "
            f"({', '.join(value_marks)}, {p}, {dialect.raw_value}, {p}, {now}, {now}, NULL, 1)"
        )
        assignments = [
            f"{name} = {mark}" for name, mark in zip(names[1:], value_marks[1:], strict=True)
        ]
        update = (
            f"UPDATE conversations SET {', '.join(assignments)}, mirror_location_id = {p}, "
            f"raw = {dialect.raw_value}, content_hash = {p}, last_changed_at = {now}, "
            f"deleted_at = NULL, revision = revision + 1 WHERE id = {p}"
        )
        lease_free = f"(lease_owner IS NULL OR lease_expires_at < {dialect.lease_now})"
        locking = " FOR UPDATE SKIP LOCKED" if dialect.name == "postgresql" else ""
        return cls(
            create=create,
            insert_version=(
                "INSERT INTO mirror_schema (version, created_at, created_by) "
                f"VALUES ({p}, {now}, {p})"
            ),
            read_version="SELECT max(version) FROM mirror_schema",
            state_select=f"SELECT {state_columns} FROM mirror_state WHERE {key}",
            other_filters=(
                "SELECT location_id, filters FROM mirror_state "
                f"WHERE location_id {dialect.in_ids} AND filters <> {p}"
            ),
            register=(
                "INSERT INTO mirror_state (location_id, filters, pass_marks_deletions, "
                f"conversations, deleted) VALUES ({p}, {p}, {p}, 0, 0) ON CONFLICT DO NOTHING"
            ),
            claim=(
                f"SELECT {state_columns}, {dialect.lease_now} FROM mirror_state "
                f"WHERE filters = {p} AND location_id {dialect.in_ids} AND {lease_free} "
                f"AND (last_run_at IS NULL OR last_run_at < {p}) "
                f"ORDER BY last_run_at NULLS FIRST, location_id LIMIT 1{locking}"
            ),
            take_lease=(
                f"UPDATE mirror_state SET lease_owner = {p}, "
                f"lease_expires_at = {dialect.lease_until} WHERE {key}"
            ),
            renew=(
                f"UPDATE mirror_state SET lease_expires_at = {dialect.lease_until} "
                f"WHERE {key} AND lease_owner = {p}"
            ),
            release=(
                "UPDATE mirror_state SET lease_owner = NULL, lease_expires_at = NULL "
                f"WHERE {key} AND lease_owner = {p}"
            ),
            states=(
                f"SELECT {state_columns}, {dialect.lease_now} FROM mirror_state "
                f"WHERE filters = {p} AND location_id {dialect.in_ids}"
            ),
            page=(
                f"UPDATE mirror_state SET bookmark = {p}, pass_token = {p}, "
                f"walk_start_after = {p}, walk_token = {p}, "
                f"lease_expires_at = {dialect.lease_until} WHERE {key} AND lease_owner = {p}"
            ),
            existing=(
                "SELECT id, content_hash, mirror_location_id, deleted_at IS NOT NULL, "
                f"last_message_date_ms, last_changed_at >= {p} FROM conversations "
                f"WHERE id {dialect.in_ids}"
            ),
            insert_conversation=insert,
            update_conversation=update,
            insert_seen=(
                f"INSERT INTO mirror_seen (pass_id, id) VALUES ({p}, {p}) ON CONFLICT DO NOTHING"
            ),
            has_rows=(
                "SELECT count(*) FROM (SELECT 1 FROM conversations "
                f"WHERE mirror_location_id = {p} LIMIT 1) AS one"
            ),
            start_pass=(
                f"UPDATE mirror_state SET pass_id = {p}, pass_token = NULL, "
                "walk_start_after = NULL, walk_token = NULL, "
                f"pass_marks_deletions = {p}, pass_started_at = {now}, "
                f"lease_expires_at = {dialect.lease_until} WHERE {key} AND lease_owner = {p}"
            ),
            pass_started=f"SELECT pass_started_at FROM mirror_state WHERE {key}",
            mark_deleted=(
                f"UPDATE conversations SET deleted_at = {now}, last_changed_at = {now}, "
                f"revision = revision + 1 WHERE mirror_location_id = {p} AND deleted_at IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM mirror_seen "
                f"WHERE mirror_seen.pass_id = {p} AND mirror_seen.id = conversations.id)"
            ),
            forget_seen=f"DELETE FROM mirror_seen WHERE pass_id = {p}",
            counts=(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL), "
                "count(*) FILTER (WHERE deleted_at IS NOT NULL) "
                f"FROM conversations WHERE mirror_location_id = {p}"
            ),
            finish_full=(
                f"UPDATE mirror_state SET last_full_at = {now}, last_run_at = {now}, "
                f"last_run_kind = 'full', conversations = {p}, deleted = {p}, pass_id = NULL, "
                f"pass_token = NULL, pass_started_at = NULL, pass_marks_deletions = {p}, "
                "walk_start_after = NULL, walk_token = NULL "
                f"WHERE {key} AND lease_owner = {p}"
            ),
            finish_incremental=(
                f"UPDATE mirror_state SET last_run_at = {now}, last_run_kind = 'incremental', "
                "walk_start_after = NULL, walk_token = NULL, "
                f"conversations = {p}, deleted = {p} WHERE {key} AND lease_owner = {p}"
            ),
        )
