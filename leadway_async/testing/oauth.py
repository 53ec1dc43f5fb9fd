"""OAuth on the emulator: authorization codes, access and refresh tokens, and their rules.

Plain logic over plain values, thread-safe; `oauthpath` answers the HTTP requests with it.

- An authorization code is single use and lives `CODE_LIFETIME_S`. Exchanging it starts a
  chain: every access and refresh token from it, from its refreshes and location tokens
  minted with its company tokens.
- A refresh token works once (and for `REFRESH_TOKEN_LIFETIME_S`): its refresh returns a
  new access token and a new refresh token; the older access tokens stay valid until they
  expire. Reusing a spent refresh token, or a used code, answers `invalid_grant` and
  revokes the whole chain.
- Access tokens expire `token_lifetime_s` after they were issued, by the emulator's clock.
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .locations import Location

__all__ = [
    "CODE_LIFETIME_S",
    "COMPANY",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_COMPANY_ID",
    "DEFAULT_USER_ID",
    "LOCATION",
    "NOT_IN_SCOPE",
    "NOT_THIS_COMPANY",
    "OAUTH_COUNTERS",
    "REFRESH_TOKEN_LIFETIME_S",
    "SCOPE",
    "ApiError",
    "Bearer",
    "GrantError",
    "OAuthServer",
]

COMPANY = "Company"
LOCATION = "Location"
USER_TYPES = (COMPANY, LOCATION)

DEFAULT_CLIENT_ID = "6650e1f0a1b2c3d4e5f6a7b8-lw0emulator"
"""The emulator app's client id: `<appId>-<suffix>`, as HighLevel's are."""
DEFAULT_CLIENT_SECRET = "lw-emulator-client-secret-5f0c2e6a"
"""The emulator app's client secret."""
DEFAULT_COMPANY_ID = "lwEmulatorCompany001"
"""The company (agency) that installed the app."""
DEFAULT_USER_ID = "MPMxg1RRaiBTXmWXTcI9"
"""The user who installed the app (one of the generated data's user ids)."""

SCOPE = "conversations.readonly conversations.write locations.readonly oauth.readonly oauth.write"
"""The scopes every token carries (space-separated)."""

CODE_LIFETIME_S = 600.0
"""How long an authorization code can be exchanged."""
REFRESH_TOKEN_LIFETIME_S = 365 * 86_400.0
"""How long a refresh token can be used (a year, as the real ones)."""

NOT_IN_SCOPE = "The token is not authorized for this scope."
"""The 401 message to a valid token of the wrong kind (a company token on a search)."""
NOT_THIS_COMPANY = "The token does not have access to this company."
"""The 401 message to a company token naming another company."""
NOT_INSTALLED = "The app is not installed on this location."
WRONG_APP = "appId does not match the app the token was issued to."

OAUTH_COUNTERS = (
    "authorization_code",
    "refresh_token",
    "location_token",
    "installed_locations",
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unsupported_grant_type",
)
"""The keys of `OAuthServer.counts()`: requests by kind, then token-endpoint errors."""

_INSTALLED_PARAMETERS = (
    "skip",
    "limit",
    "query",
    "isInstalled",
    "companyId",
    "appId",
    "versionId",
    "onTrial",
    "planId",
    "locationId",
)


class GrantError(Exception):
    """A refusal by `/oauth/token`: `{"error", "error_description"}` with this status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class ApiError(Exception):
    """A refusal in the API's own body shape: the status and its message (None: the
    status's usual message; a list for a 422)."""

    def __init__(self, status: int, message: str | list[str] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Bearer:
    """Who a valid bearer token speaks for: `user_type` `"Company"` or `"Location"` (None:
    the emulator's static token, which reads every served location) and, for a Location
    token, its `location_id`."""

    user_type: str | None
    location_id: str | None = None

    def reads(self, location_id: str) -> bool:
        """Whether this token may search `location_id`."""
        return self.user_type is None or (
            self.user_type == LOCATION and self.location_id == location_id
        )


@dataclass(eq=False)
class _Chain:
    """One authorization (an install), and every token descended from it."""

    user_type: str
    location_id: str | None
    revoked: bool = False


@dataclass(eq=False)
class _Code:
    chain: _Chain
    redirect_uri: str | None
    expires_at: float
    used: bool = False


@dataclass(eq=False)
class _Access:
    chain: _Chain
    user_type: str
    location_id: str | None
    expires_at: float
    revoked: bool = False

    def valid(self, now: float) -> bool:
        return not self.revoked and not self.chain.revoked and now < self.expires_at


@dataclass(eq=False)
class _Refresh:
    chain: _Chain
    expires_at: float
    spent: bool = False


class OAuthServer:
    """The emulator app's installs and tokens: what the three OAuth endpoints answer.

    `locations` are the served locations (the first one the default); tokens expire
    `token_lifetime_s` (at least 1) after they are issued, by `clock` (Unix seconds).
    Thread-safe.
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        company_id: str = DEFAULT_COMPANY_ID,
        user_id: str = DEFAULT_USER_ID,
        locations: Sequence[Location],
        token_lifetime_s: float = 86_399,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("company_id", company_id),
        ):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string")
        if not locations:
            raise ValueError("an emulator serves at least one location")
        if not 1 <= token_lifetime_s < math.inf:
            raise ValueError("token_lifetime_s must be a finite number of seconds, 1 or more")
        self.client_id = client_id
        self.app_id = client_id.split("-", 1)[0]
        self.company_id = company_id
        self.user_id = user_id
        self.token_lifetime_s = float(token_lifetime_s)
        self._secret = client_secret
        self._locations = tuple(locations)
        self._served = {location.id for location in self._locations}
        self._clock = clock
        self._lock = threading.RLock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._counts = dict.fromkeys(OAUTH_COUNTERS, 0)

    @property
    def client_secret(self) -> str:
        """The app's client secret."""
        return self._secret

    # Controls.

    def authorization_code(
        self,
        user_type: str = LOCATION,
        location_id: str | None = None,
        *,
        redirect_uri: str | None = None,
    ) -> str:
        """A new single-use code for an install of this user type (a Location install on
        `location_id`, by default the default location). With `redirect_uri`, the exchange
        must send the same one."""
        if user_type not in USER_TYPES:
            raise ValueError(f"user_type must be 'Company' or 'Location', not {user_type!r}")
        if user_type == COMPANY and location_id is not None:
            raise ValueError("a Company install is not on one location: leave location_id out")
        if user_type == LOCATION:
            location_id = self._locations[0].id if location_id is None else location_id
            if location_id not in self._served:
                raise ValueError(f"the emulator does not serve location {location_id!r}")
        code = secrets.token_hex(20)
        chain = _Chain(user_type, location_id)
        with self._lock:
            self._codes[code] = _Code(chain, redirect_uri, self._clock() + CODE_LIFETIME_S)
        return code

    def revoke(self, access_token: str | None = None) -> int:
        """Revoke one access token, or with None every access token issued so far (refresh
        tokens stay valid); return how many valid ones were revoked. `ValueError` for a
        token the emulator never issued."""
        with self._lock:
            now = self._clock()
            if access_token is not None:
                record = self._access.get(access_token)
                if record is None:
                    raise ValueError("not an OAuth access token this emulator issued")
                targets = [record]
            else:
                targets = list(self._access.values())
            revoked = 0
            for record in targets:
                revoked += record.valid(now)
                record.revoked = True
            return revoked

    def counts(self) -> dict[str, int]:
        """Requests by kind (`authorization_code`, `refresh_token`, `location_token`,
        `installed_locations`) and `/oauth/token` errors by code, since the start."""
        with self._lock:
            return dict(self._counts)

    def valid_access_token_count(self) -> int:
        """How many access tokens would be accepted now."""
        with self._lock:
            now = self._clock()
            return sum(record.valid(now) for record in self._access.values())

    def count(self, kind: str) -> None:
        """Count one request of this kind (one of `OAUTH_COUNTERS`)."""
        with self._lock:
            self._counts[kind] += 1

    # What a bearer token may do.

    def bearer(self, token: str) -> Bearer | None:
        """Who a valid OAuth access token speaks for; None when it is unknown, expired or
        revoked."""
        with self._lock:
            record = self._access.get(token)
            if record is None or not record.valid(self._clock()):
                return None
            return Bearer(record.user_type, record.location_id)

    # POST /oauth/token.

    def token(self, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The answer to a token-endpoint form; `GrantError` when refused."""
        with self._lock:
            try:
                return self._token(_single(pairs))
            except GrantError as refused:
                self._counts[refused.error] += 1
                raise

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        grant_type = _required(form, "grant_type")
        if grant_type in ("authorization_code", "refresh_token"):
            self._counts[grant_type] += 1
        client_id = _required(form, "client_id")
        secret = _required(form, "client_secret")
        if not (_same(client_id, self.client_id) and _same(secret, self._secret)):
            raise GrantError(401, "invalid_client", "Invalid client: client is invalid")
        user_type = form.get("user_type") or None
        if user_type is not None and user_type not in USER_TYPES:
            raise GrantError(400, "invalid_request", "Invalid parameter: `user_type`")
        if grant_type == "authorization_code":
            return self._exchange(form, user_type)
        if grant_type == "refresh_token":
            return self._refreshed(form, user_type)
        raise GrantError(
            400, "unsupported_grant_type", "Unsupported grant type: `grant_type` is invalid"
        )

    def _exchange(self, form: dict[str, str], user_type: str | None) -> dict[str, Any]:
        now = self._clock()
        code = self._codes.get(_required(form, "code"))
        if code is None or code.chain.revoked:
            raise _invalid_grant("authorization code is invalid")
        if code.used:
            code.chain.revoked = True  # a replayed code: what it granted is revoked
            raise _invalid_grant("authorization code is invalid")
        if now >= code.expires_at:
            raise _invalid_grant("authorization code has expired")
        if code.redirect_uri is not None and form.get("redirect_uri") != code.redirect_uri:
            raise GrantError(400, "invalid_request", "Invalid request: `redirect_uri` is invalid")
        if user_type is not None and user_type != code.chain.user_type:
            raise GrantError(400, "invalid_request", "Invalid parameter: `user_type`")
        code.used = True
        return self._grant(code.chain, now)

    def _refreshed(self, form: dict[str, str], user_type: str | None) -> dict[str, Any]:
        now = self._clock()
        refresh = self._refresh.get(_required(form, "refresh_token"))
        if refresh is None or refresh.chain.revoked:
            raise _invalid_grant("refresh token is invalid")
        if refresh.spent:
            refresh.chain.revoked = True  # a replayed refresh token: revoke the chain
            raise _invalid_grant("refresh token is invalid")
        if now >= refresh.expires_at:
            raise _invalid_grant("refresh token has expired")
        if user_type is not None and user_type != refresh.chain.user_type:
            raise GrantError(400, "invalid_request", "Invalid parameter: `user_type`")
        refresh.spent = True
        return self._grant(refresh.chain, now)

    def _grant(self, chain: _Chain, now: float) -> dict[str, Any]:
        access = self._issue(chain, chain.user_type, chain.location_id, now)
        refresh = secrets.token_urlsafe(32)
        self._refresh[refresh] = _Refresh(chain, now + REFRESH_TOKEN_LIFETIME_S)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.token_lifetime_s),
            "refresh_token": refresh,
            "scope": SCOPE,
            "userType": chain.user_type,
            "companyId": self.company_id,
        }
        if chain.location_id is not None:
            body["locationId"] = chain.location_id
        body["userId"] = self.user_id
        if chain.user_type == COMPANY:
            body["approvedLocations"] = [location.id for location in self._locations]
            body["installToFutureLocations"] = False
        return body

    def _issue(self, chain: _Chain, user_type: str, location_id: str | None, now: float) -> str:
        token = secrets.token_urlsafe(32)
        self._access[token] = _Access(chain, user_type, location_id, now + self.token_lifetime_s)
        return token

    # POST /oauth/locationToken and GET /oauth/installedLocations (company tokens only).

    def company(self, token: str | None) -> None:
        """Check that `token` is a valid company access token; `ApiError` (401) if not."""
        with self._lock:
            self._company(token)

    def _company(self, token: str | None) -> _Access:
        record = None if token is None else self._access.get(token)
        if record is None or not record.valid(self._clock()):
            raise ApiError(401)
        if record.user_type != COMPANY:
            raise ApiError(401, NOT_IN_SCOPE)
        return record

    def location_token(self, token: str | None, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """Mint a location token with the company token `token` for the form's location."""
        with self._lock:
            company = self._company(token)
            fields = ("companyId", "locationId")
            form, errors = _api_form(pairs, fields, required=fields)
            if errors:
                raise ApiError(422, errors)
            if form["companyId"] != self.company_id:
                raise ApiError(401, NOT_THIS_COMPANY)
            location_id = form["locationId"]
            if location_id not in self._served:
                raise ApiError(400, NOT_INSTALLED)
            access = self._issue(company.chain, LOCATION, location_id, self._clock())
            return {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": int(self.token_lifetime_s),
                "scope": SCOPE,
                "userType": LOCATION,
                "companyId": self.company_id,
                "locationId": location_id,
                "userId": self.user_id,
                "appId": self.app_id,
            }

    def installed_locations(
        self, token: str | None, pairs: Iterable[tuple[str, str]]
    ) -> dict[str, Any]:
        """The page of served locations a company token's query asks for."""
        with self._lock:
            self._company(token)
        query, errors = _api_form(pairs, _INSTALLED_PARAMETERS, required=("companyId", "appId"))
        skip = _count(query.get("skip", "0"), 0)
        limit = _count(query.get("limit", "20"), 1)
        if skip is None:
            errors.append("skip must be a number string, 0 or more")
        if limit is None:
            errors.append("limit must be a number string, 1 or more")
        for name in ("isInstalled", "onTrial"):
            if query.get(name, "true") not in ("true", "false"):
                errors.append(f"{name} must be a boolean value")
        if errors or skip is None or limit is None:
            raise ApiError(422, errors)
        if query["companyId"] != self.company_id:
            raise ApiError(401, NOT_THIS_COMPANY)
        if query["appId"] != self.app_id:
            raise ApiError(400, WRONG_APP)
        found = list(self._locations)
        if query.get("isInstalled") == "false" or query.get("onTrial") == "true":
            found = []  # every served location has the app installed, none on a trial
        if query.get("planId"):
            found = []  # the emulator's app has no paid plans
        if query.get("locationId"):
            found = [location for location in found if location.id == query["locationId"]]
        if query.get("query"):
            text = query["query"].casefold()
            found = [location for location in found if text in location.name.casefold()]
        return {
            "locations": [
                {"_id": at.id, "name": at.name, "address": at.address, "isInstalled": True}
                for at in found[skip : skip + limit]
            ],
            "count": len(found),
            "installToFutureLocations": False,
        }


def _single(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The form as a dict; `invalid_request` for a repeated parameter (RFC 6749, 3.2)."""
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise GrantError(400, "invalid_request", f"Invalid request: `{name}` is repeated")
        form[name] = value
    return form


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise GrantError(400, "invalid_request", f"Missing parameter: `{name}`")
    return value


def _invalid_grant(reason: str) -> GrantError:
    return GrantError(400, "invalid_grant", f"Invalid grant: {reason}")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _api_form(
    pairs: Iterable[tuple[str, str]], allowed: Sequence[str], *, required: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """Parameters checked as the API's validation does, and what is wrong with them (the
    messages of a 422)."""
    form: dict[str, str] = {}
    errors: list[str] = []
    for name, value in pairs:
        if name not in allowed:
            errors.append(f"property {name} should not exist")
        elif name in form:
            errors.append(f"{name} must be a single value, not an array")
        else:
            form[name] = value
    errors += [f"{name} must be a string" for name in required if not form.get(name)]
    return form, errors


def _count(text: str, least: int) -> int | None:
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value >= least else None
