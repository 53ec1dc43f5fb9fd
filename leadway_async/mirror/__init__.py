"""Keep a database in step with Leadway conversations: `Mirror(client, db).run(...)`.

SQLite through the standard library (`sqlite:///mirror.db`); Postgres through psycopg 3
(`postgresql://...`, the `postgres` extra), where several workers can share one
database. See `Mirror` and `leadway-async mirror --help`.
"""

from .backend import MirrorBackend
from .bookmark import RunPlan
from .errors import (
    DatabaseUrlError,
    LeaseLostError,
    MirrorDatabaseError,
    MirrorError,
    MissingDriverError,
    NotAMirrorError,
    SchemaVersionError,
)
from .run import (
    DEFAULT_FULL_EVERY,
    DEFAULT_LEASE,
    DEFAULT_LOOKBACK,
    LocationResult,
    Mirror,
    MirrorProgress,
    MirrorResult,
)
from .schema import SCHEMA_VERSION
from .sqlite import SqliteBackend

__all__ = [
    "DEFAULT_FULL_EVERY",
    "DEFAULT_LEASE",
    "DEFAULT_LOOKBACK",
    "SCHEMA_VERSION",
    "DatabaseUrlError",
    "LeaseLostError",
    "LocationResult",
    "Mirror",
    "MirrorBackend",
    "MirrorDatabaseError",
    "MirrorError",
    "MirrorProgress",
    "MirrorResult",
    "MissingDriverError",
    "NotAMirrorError",
    "RunPlan",
    "SchemaVersionError",
    "SqliteBackend",
]
