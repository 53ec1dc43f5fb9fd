"""The backend a database URL names."""

from __future__ import annotations

from .backend import MirrorBackend
from .sqlite import SqliteBackend
from .url import parse_database_url

__all__ = ["backend_for_url"]


def backend_for_url(url: str) -> MirrorBackend:
    """The backend for `url` (not yet connected): `DatabaseUrlError` for a URL that names
    no database the mirror can use, `MissingDriverError` for Postgres without psycopg."""
    parsed = parse_database_url(url)
    if parsed.kind == "sqlite":
        return SqliteBackend(parsed.target)
    from .postgres import PostgresBackend  # psycopg is an extra: loaded only when asked for

    return PostgresBackend(parsed.target, shown=parsed.shown)
