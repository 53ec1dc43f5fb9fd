"""What a command was told: the connection, the search filters, and usage mistakes."""

from __future__ import annotations

import argparse
import os
from typing import Any

from attrs import field, frozen

from ..params import PARAMETERS, SearchParameter

# location_id is a connection option; limit has a default of its own in each command.
FILTER_PARAMETERS: tuple[SearchParameter, ...] = tuple(
    parameter for parameter in PARAMETERS if parameter.keyword not in ("location_id", "limit")
)
"""The search parameters offered as filter options of `search` and `export`."""


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit status 2."""


@frozen
class Connection:
    """The token, location and API base URL a command uses (None: the client's default)."""

    token: str = field(repr=False)
    location_id: str | None
    base_url: str | None


def missing_token_message() -> str:
    """What to say when no token is given."""
    return (
        "no token: pass --token or set LEADWAY_TOKEN (to try without an account, run "
        "'leadway-async demo', or point --base-url at 'leadway-async emulator')"
    )


def connection_from(options: argparse.Namespace) -> Connection:
    """The connection the options give, else LEADWAY_TOKEN, LEADWAY_LOCATION_ID and
    LEADWAY_BASE_URL; `UsageError` when there is no token."""
    token = options.token or os.environ.get("LEADWAY_TOKEN")
    if not token:
        raise UsageError(missing_token_message())
    return Connection(
        token=token,
        location_id=options.location_id or os.environ.get("LEADWAY_LOCATION_ID"),
        base_url=options.base_url or os.environ.get("LEADWAY_BASE_URL"),
    )


def filters_from(options: argparse.Namespace) -> dict[str, Any]:
    """The search() keywords the options set, the page size included."""
    filters = {p.keyword: getattr(options, p.keyword) for p in FILTER_PARAMETERS}
    filters["limit"] = options.limit
    return {keyword: value for keyword, value in filters.items() if value is not None}
