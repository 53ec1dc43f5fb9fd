"""Which database a mirror URL names (pure): `sqlite:///relative.db`,
`sqlite:////absolute/path.db` or `postgresql://user@host/db`."""

from __future__ import annotations

import re
from typing import Literal

from attrs import frozen

from .errors import DatabaseUrlError

__all__ = ["DatabaseUrl", "parse_database_url"]

_EXAMPLES = "sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://user@host/dbname"
_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")
_PASSWORD_PARAMETER = re.compile(r"(?i)(password=)[^&\s]*")


@frozen
class DatabaseUrl:
    """A parsed mirror URL: the kind of database and where it is.

    `target` is the file path for SQLite (`:memory:` for a database in memory) and the
    whole URL, as libpq takes it, for Postgres. `shown` is the URL with any password
    replaced, for messages.
    """

    kind: Literal["sqlite", "postgresql"]
    target: str
    shown: str


def parse_database_url(url: object) -> DatabaseUrl:
    """The database `url` names; `DatabaseUrlError` (a `ParameterError`) saying what is
    accepted when it names none."""
    if not isinstance(url, str):
        raise DatabaseUrlError(f"the database URL must be a string, got {type(url).__name__}")
    shown = _PASSWORD_PARAMETER.sub(r"\1***", _PASSWORD.sub(r"\1:***@", url))
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise DatabaseUrlError(f"{shown!r} is not a database URL: use {_EXAMPLES}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/"):
            raise DatabaseUrlError(
                f"{shown!r} names a host; a SQLite URL has three slashes before a relative "
                "path (sqlite:///mirror.db) and four before an absolute one "
                "(sqlite:////var/lib/mirror.db)"
            )
        path = rest[1:]
        if not path or path.endswith("/"):
            raise DatabaseUrlError(f"{shown!r} names no file: use {_EXAMPLES}")
        if "?" in path or "#" in path:
            raise DatabaseUrlError(f"{shown!r}: a SQLite URL takes a path only, no ? or #")
        return DatabaseUrl("sqlite", path, shown)
    if scheme in ("postgresql", "postgres"):
        if not rest or rest.startswith("?"):
            raise DatabaseUrlError(f"{shown!r} names no server or database: use {_EXAMPLES}")
        return DatabaseUrl("postgresql", url, shown)
    raise DatabaseUrlError(
        f"{shown!r}: the mirror writes to SQLite or Postgres, not {scheme!r}; use {_EXAMPLES}"
    )
