"""The token endpoint's rules, apart from any I/O: the forms sent, the answers read, and
when a token is due for renewal."""

from __future__ import annotations

import math
from typing import Any

from attrs import frozen

from ..errors import APIStatusError, AuthenticationError, ResponseValidationError
from .tokens import COMPANY, LOCATION, OAuthTokens

__all__ = [
    "INSTALLED_LOCATIONS_PATH",
    "LOCATION_TOKEN_PATH",
    "TOKEN_PATH",
    "InstalledLocation",
    "app_id_of",
    "code_form",
    "due",
    "grant_error",
    "installed_locations_from",
    "location_form",
    "refresh_form",
    "tokens_from",
]

TOKEN_PATH = "/oauth/token"
LOCATION_TOKEN_PATH = "/oauth/locationToken"
INSTALLED_LOCATIONS_PATH = "/oauth/installedLocations"

AUTHORISE_AGAIN = (
    "the app must be authorised again: install it anew and run "
    "`leadway-async auth exchange --code ...` (or OAuthApp.exchange_code())"
)


@frozen
class InstalledLocation:
    """A location (sub-account) an agency-level install of the app reaches."""

    id: str
    name: str | None = None
    address: str | None = None
    is_installed: bool = True


def due(tokens: OAuthTokens | None, now: float, margin: float) -> bool:
    """Whether `tokens` must be renewed before use: none yet, or less than `margin`
    seconds left."""
    return tokens is None or tokens.expires_at - now < margin


def app_id_of(client_id: str) -> str:
    """The app's id, which a client id starts with (`<appId>-<suffix>`)."""
    return client_id.split("-", 1)[0]


def code_form(
    client_id: str, client_secret: str, code: str, redirect_uri: str, user_type: str | None
) -> tuple[tuple[str, str], ...]:
    """The `authorization_code` grant's form."""
    form = [
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ]
    if user_type is not None:
        form.append(("user_type", user_type))
    return tuple(form)


def refresh_form(
    client_id: str, client_secret: str, tokens: OAuthTokens
) -> tuple[tuple[str, str], ...]:
    """The `refresh_token` grant's form, renewing `tokens`."""
    assert tokens.refresh_token is not None
    return (
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh_token),
        ("user_type", tokens.user_type),
    )


def location_form(company_id: str, location_id: str) -> tuple[tuple[str, str], ...]:
    """The form minting a location token from a company token."""
    return (("companyId", company_id), ("locationId", location_id))


def tokens_from(
    data: Any,
    now: float,
    *,
    status: int,
    request_id: str | None = None,
    minted_for: str | None = None,
) -> OAuthTokens:
    """The tokens a successful token-endpoint answer grants, expiring `expires_in` after
    `now`; `minted_for` is the location a minted location token is for.

    `ResponseValidationError` when the answer lacks what a grant must carry, with the
    answer's `status` and `request_id` (it shows no part of the body, which holds the
    tokens).
    """

    def broken(reason: str) -> ResponseValidationError:
        return ResponseValidationError(
            f"the token endpoint's answer {reason}", status=status, request_id=request_id
        )

    if not isinstance(data, dict):
        raise broken("is not a JSON object")
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise broken("has no access_token")
    lifetime = data.get("expires_in")
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)):
        raise broken("has no expires_in number")
    if not math.isfinite(lifetime) or lifetime <= 0:
        raise broken("has an expires_in that is not a positive number")
    refresh = data.get("refresh_token")
    if minted_for is None and (not isinstance(refresh, str) or not refresh):
        raise broken("has no refresh_token")
    user_type = data.get("userType") or (LOCATION if minted_for is not None else None)
    if user_type not in (COMPANY, LOCATION):
        raise broken(f"names the user type {user_type!r}, not Company or Location")
    scope = data.get("scope")
    return OAuthTokens(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=now + float(lifetime),
        user_type=user_type,
        company_id=_optional_text(data.get("companyId")),
        location_id=_optional_text(data.get("locationId")) or minted_for,
        user_id=_optional_text(data.get("userId")),
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
    )


def grant_error(error: APIStatusError, what: str) -> APIStatusError:
    """The error to raise for a refused grant: `invalid_grant` and a refused client say
    what a person must do; anything else is left as it is."""
    code = error.body.get("error") if isinstance(error.body, dict) else None
    if code == "invalid_grant":
        return AuthenticationError(
            error.status,
            f"{what} was refused (invalid_grant: already used, expired or revoked); "
            + AUTHORISE_AGAIN,
            body=error.body,
            request_id=error.request_id,
            rate_limit=error.rate_limit,
        )
    if code == "invalid_client" or error.status == 401:
        return AuthenticationError(
            error.status,
            f"{what} was refused: the client id or client secret is wrong",
            body=error.body,
            request_id=error.request_id,
            rate_limit=error.rate_limit,
        )
    return error


def installed_locations_from(
    data: Any, status: int, request_id: str | None = None
) -> tuple[list[InstalledLocation], int]:
    """The locations on one page of `installedLocations`, and the count of all of them;
    `ResponseValidationError` (with `status` and `request_id`) for an answer of another
    shape."""
    if not isinstance(data, dict) or not isinstance(data.get("locations"), list):
        raise ResponseValidationError(
            "the installedLocations answer has no list of locations",
            status=status,
            request_id=request_id,
        )
    found = []
    for entry in data["locations"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("_id"), str):
            raise ResponseValidationError(
                "an installedLocations entry has no _id", status=status, request_id=request_id
            )
        found.append(
            InstalledLocation(
                id=entry["_id"],
                name=_optional_text(entry.get("name")),
                address=_optional_text(entry.get("address")),
                is_installed=entry.get("isInstalled") is not False,
            )
        )
    count = data.get("count")
    total = count if isinstance(count, int) and not isinstance(count, bool) else len(found)
    return found, total


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
