"""`auth`: authorise the app once, then see and renew the install's tokens; never shows
a token."""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timezone

from ..auth import OAuthApp, OAuthTokens
from ..auth.tokens import COMPANY
from .config import UsageError, oauth_app_from


async def run_auth(options: argparse.Namespace) -> None:
    """Run `auth exchange`, `auth status` or `auth refresh`; the install is described on
    standard output."""
    app = oauth_app_from(options, options.base_url or os.environ.get("LEADWAY_BASE_URL"))
    if options.auth_command == "exchange":
        tokens = await app.exchange_code(
            options.code, redirect_uri=options.redirect_uri, user_type=options.user_type
        )
        print(f"authorised: tokens kept in {options.token_store}")
    elif options.auth_command == "refresh":
        tokens = await app.refresh()
        print("renewed")
    else:
        found = await app.tokens()
        if found is None:
            raise UsageError(
                f"{options.token_store} holds no tokens yet: run "
                "'leadway-async auth exchange --code ... --redirect-uri ...'"
            )
        tokens = found
    print(await describe(app, tokens))


async def describe(app: OAuthApp, tokens: OAuthTokens) -> str:
    """Who the install is, what it may reach and until when, in a few lines."""
    left = tokens.expires_in(time.time())
    expiry = datetime.fromtimestamp(tokens.expires_at, timezone.utc)
    state = f"in {_span(left)}" if left > 0 else f"expired {_span(-left)} ago"
    lines = [
        f"install:   {tokens.user_type}",
        f"company:   {tokens.company_id or '-'}",
        f"user:      {tokens.user_id or '-'}",
    ]
    if tokens.user_type == COMPANY:
        locations = await app.installed_locations()
        shown = ", ".join(location.id for location in locations) or "none"
        lines.append(f"locations: {len(locations)} ({shown})")
    else:
        lines.append(f"location:  {tokens.location_id or '-'}")
    lines += [
        f"scopes:    {' '.join(tokens.scopes) or '-'}",
        f"expires:   {expiry:%Y-%m-%d %H:%M:%S} UTC ({state})",
        f"renewable: {'yes' if tokens.refresh_token else 'no'}",
    ]
    return "\n".join(lines)


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {int(seconds % 60)} s"
