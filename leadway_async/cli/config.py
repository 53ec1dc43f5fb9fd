"""What a command was told: the connection, the search filters, and usage mistakes."""

from __future__ import annotations

import argparse
import os
from typing import Any

from attrs import field, frozen

from ..auth import FileTokenStore, OAuthApp, TokenStoreError
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
    """The credentials, location and API base URL a command uses (None: the client's
    default): a `token`, or an OAuth install (`app`) whose tokens a store keeps."""

    token: str | None = field(repr=False)
    location_id: str | None
    base_url: str | None
    app: OAuthApp | None = None


def missing_token_message() -> str:
    """What to say when no token is given."""
    return (
        "no token: pass --token or set LEADWAY_TOKEN, or --token-store for an OAuth "
        "install (to try without an account, run 'leadway-async demo', or point "
        "--base-url at 'leadway-async emulator')"
    )


def connection_from(options: argparse.Namespace) -> Connection:
    """The connection the options give, else LEADWAY_TOKEN, LEADWAY_LOCATION_ID and
    LEADWAY_BASE_URL; `UsageError` when there is no token, or both a token and a store."""
    token = options.token or None
    base_url = options.base_url or os.environ.get("LEADWAY_BASE_URL")
    app = None
    if options.token_store is not None:
        if token is not None:
            raise UsageError("pass --token or --token-store, not both")
        app = oauth_app_from(options, base_url)
    else:
        token = token or os.environ.get("LEADWAY_TOKEN")
        if not token:
            raise UsageError(missing_token_message())
    return Connection(
        token=token,
        location_id=options.location_id or os.environ.get("LEADWAY_LOCATION_ID"),
        base_url=base_url,
        app=app,
    )


def oauth_app_from(options: argparse.Namespace, base_url: str | None) -> OAuthApp:
    """The OAuth install the options name: `--token-store` and the app's client id and
    secret (else LEADWAY_CLIENT_ID and LEADWAY_CLIENT_SECRET)."""
    env = os.environ
    client_id = options.client_id or env.get("LEADWAY_CLIENT_ID")
    client_secret = options.client_secret or env.get("LEADWAY_CLIENT_SECRET")
    if not client_id:
        raise UsageError("no client id: pass --client-id or set LEADWAY_CLIENT_ID")
    if not client_secret:
        raise UsageError("no client secret: pass --client-secret or set LEADWAY_CLIENT_SECRET")
    try:
        store = FileTokenStore(options.token_store)
    except TokenStoreError as exc:
        raise UsageError(str(exc)) from None
    return OAuthApp(client_id, client_secret, store, base_url=base_url)


def filters_from(options: argparse.Namespace) -> dict[str, Any]:
    """The search() keywords the options set, the page size included."""
    filters = {p.keyword: getattr(options, p.keyword) for p in FILTER_PARAMETERS}
    filters["limit"] = options.limit
    return {keyword: value for keyword, value in filters.items() if value is not None}
