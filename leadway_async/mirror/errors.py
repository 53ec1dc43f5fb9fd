"""What a mirror run raises beyond the client's own errors."""

from __future__ import annotations

from ..errors import LeadwayError, ParameterError

__all__ = [
    "DatabaseUrlError",
    "LeaseLostError",
    "MirrorDatabaseError",
    "MirrorError",
    "MissingDriverError",
    "NotAMirrorError",
    "SchemaVersionError",
]


class MirrorError(LeadwayError):
    """A mirror run could not go on: its database, or what the database holds."""


class DatabaseUrlError(ParameterError):
    """A database URL the mirror cannot use (a `ParameterError`: nothing was sent)."""


class NotAMirrorError(MirrorError):
    """The database holds tables that are not a mirror's, or is not a database at all."""


class SchemaVersionError(MirrorError):
    """The mirror's schema is of a version this release cannot read (a newer one)."""


class MirrorDatabaseError(MirrorError):
    """The database failed during a run (full, read-only, gone away); every page written
    before it stays, with its bookmark."""


class LeaseLostError(MirrorError):
    """Another worker took a location over: this one's lease on it had expired."""


class MissingDriverError(MirrorError, ImportError):
    """The database driver a URL needs is not installed; the message names the extra."""
