"""`OAuthApp`: an OAuth install's tokens, always fresh, renewed once however many ask."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from .._defaults import DEFAULT_API_VERSION, DEFAULT_BASE_URL
from .._responses import error_from_response
from ..errors import APIStatusError, AuthenticationError, ParameterError
from ..middleware.chain import Handler, Request, Response, compose
from ..middleware.logging import LoggingMiddleware
from ..middleware.retry import RetryMiddleware, RetryPolicy
from ..transport import AiohttpTransport, Bearer
from .grant import (
    AUTHORISE_AGAIN,
    INSTALLED_LOCATIONS_PATH,
    LOCATION_TOKEN_PATH,
    TOKEN_PATH,
    InstalledLocation,
    app_id_of,
    code_form,
    due,
    grant_error,
    installed_locations_from,
    location_form,
    refresh_form,
    tokens_from,
)
from .provider import BoundAuth
from .store import MemoryTokenStore, TokenStore
from .tokens import COMPANY, LOCATION, OAuthTokens

__all__ = ["DEFAULT_REFRESH_MARGIN", "OAuthApp"]

DEFAULT_REFRESH_MARGIN = 300.0
_INSTALLED_PAGE = 100


class _Slot:
    """One credential in use: the tokens, a serial that changes whenever they do, and
    the lock that lets one task at a time renew them."""

    def __init__(self, key: str | None) -> None:
        self.key = key  # None: the install's own tokens; else the location minted for
        self.tokens: OAuthTokens | None = None
        self.serial = 0
        self.bearer: Bearer | None = None
        self.lock = asyncio.Lock()

    def adopt(self, tokens: OAuthTokens) -> None:
        if self.tokens is None or self.tokens.access_token != tokens.access_token:
            self.serial += 1
            self.bearer = Bearer(tokens.access_token, (self.key, self.serial))
        self.tokens = tokens


class OAuthApp:
    """An app's OAuth install: its tokens kept in `store` and renewed before they expire.

    `client_id` and `client_secret` fall back to `LEADWAY_CLIENT_ID` and
    `LEADWAY_CLIENT_SECRET`. Tokens are renewed `refresh_margin` seconds before expiry
    and once after a 401; however many tasks (and, with a shared store, processes) need a
    renewal at once, one request goes to the token endpoint, the store's lock held. An
    agency (Company) install mints a token per location on demand. Pass it as
    `LeadwayClient(auth=app)`; its own calls (`exchange_code`, `refresh`,
    `installed_locations`) go to `base_url` (else `LEADWAY_BASE_URL`, else the API).
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        store: TokenStore | None = None,
        *,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        app_id: str | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        env = os.environ
        self.client_id = _required("client_id", client_id or env.get("LEADWAY_CLIENT_ID"))
        self._client_secret = _required(
            "client_secret", client_secret or env.get("LEADWAY_CLIENT_SECRET")
        )
        if store is None:
            store = MemoryTokenStore()
        if not isinstance(store, TokenStore):
            raise TypeError(
                f"store must be a TokenStore (MemoryTokenStore, FileTokenStore, "
                f"RedisTokenStore), not {type(store).__name__}"
            )
        self.store = store
        self.base_url = base_url or env.get("LEADWAY_BASE_URL") or DEFAULT_BASE_URL
        if not self.base_url.startswith(("http://", "https://")):
            raise ParameterError(
                f"base_url must start with http:// or https://, got {self.base_url!r}"
            )
        self.api_version = api_version
        self.app_id = app_id or app_id_of(self.client_id)
        if isinstance(refresh_margin, bool) or not isinstance(refresh_margin, (int, float)):
            raise ParameterError(f"refresh_margin must be seconds, got {refresh_margin!r}")
        if refresh_margin < 0:
            raise ParameterError(f"refresh_margin must be 0 or more, got {refresh_margin!r}")
        self.refresh_margin = float(refresh_margin)
        self.timeout = timeout
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._install = _Slot(None)
        self._locations: dict[str, _Slot] = {}

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r}, store={self.store!r})"

    def bind(self, send: Handler) -> BoundAuth:
        """This app as a client's credentials, its own requests sent through `send`."""
        return _Bound(self, send)

    async def tokens(self) -> OAuthTokens | None:
        """The install's tokens as the store holds them (None before `exchange_code`)."""
        return await self.store.read()

    async def exchange_code(
        self, code: str, *, redirect_uri: str, user_type: str | None = None
    ) -> OAuthTokens:
        """Trade the code an install redirected with for the install's tokens, and store
        them. `user_type` (`"Company"` or `"Location"`) is sent when given."""
        if not isinstance(code, str) or not code.strip():
            raise ParameterError("code must be the non-empty code the install redirected with")
        if not isinstance(redirect_uri, str) or not redirect_uri.startswith(
            ("http://", "https://")
        ):
            raise ParameterError(
                f"redirect_uri must be the app's http(s) redirect URL, got {redirect_uri!r}"
            )
        if user_type not in (None, COMPANY, LOCATION):
            raise ParameterError(f"user_type must be Company or Location, got {user_type!r}")
        form = code_form(self.client_id, self._client_secret, code, redirect_uri, user_type)
        async with self._connection() as send, self.store.lock():
            tokens = await self._grant(send, form, "the authorization code")
            await self._keep(tokens)
        return tokens

    async def refresh(self) -> OAuthTokens:
        """Renew the install's tokens now, whatever their expiry, and store them."""
        async with self._connection() as send, self._install.lock:
            await self._renew(send, refused=None, force=True)
        assert self._install.tokens is not None
        return self._install.tokens

    async def installed_locations(self, *, is_installed: bool = True) -> list[InstalledLocation]:
        """Every location an agency (Company) install of the app reaches."""
        async with self._connection() as send:
            await self._install_bearer(send)
            tokens = self._install.tokens
            assert tokens is not None
            if tokens.user_type != COMPANY or tokens.company_id is None:
                raise ParameterError(
                    "installed_locations() needs an agency-level (Company) install; this "
                    f"one is a {tokens.user_type} install"
                )
            found: list[InstalledLocation] = []
            while True:
                params = (
                    ("companyId", tokens.company_id),
                    ("appId", self.app_id),
                    ("isInstalled", "true" if is_installed else "false"),
                    ("skip", str(len(found))),
                    ("limit", str(_INSTALLED_PAGE)),
                )
                response = await self._as_install(
                    send, Request("GET", INSTALLED_LOCATIONS_PATH, params)
                )
                _raise_for(response)
                page, total = installed_locations_from(
                    response.data, response.status, response.request_id
                )
                found.extend(page)
                if not page or len(found) >= total:
                    return found

    # What a bound client calls ------------------------------------------------------

    async def _credential(self, send: Handler, request: Request) -> Bearer | None:
        if request.path == TOKEN_PATH:
            return None
        install = await self._install_bearer(send)
        location = request.query.get("locationId")
        tokens = self._install.tokens
        assert tokens is not None
        if request.path in (LOCATION_TOKEN_PATH, INSTALLED_LOCATIONS_PATH):
            return install
        if tokens.user_type != COMPANY or not location:
            return install
        slot = self._locations.get(location)
        if slot is None:
            slot = self._locations[location] = _Slot(location)
        if due(slot.tokens, self._clock(), self.refresh_margin):
            async with slot.lock:
                if due(slot.tokens, self._clock(), self.refresh_margin):
                    await self._mint(send, slot)
        return slot.bearer

    async def _rejected(self, send: Handler, label: object) -> None:
        if not isinstance(label, tuple) or len(label) != 2:
            return  # not a label this app gave out
        key, serial = label
        slot = self._install if key is None else self._locations.get(key)
        if slot is None:
            return
        async with slot.lock:
            if slot.serial != serial or slot.tokens is None:
                return  # renewed since that request went out
            if slot is self._install:
                await self._renew(send, refused=slot.tokens.access_token)
            else:
                await self._mint(send, slot)

    # The renewals ----------------------------------------------------------------------

    async def _install_bearer(self, send: Handler) -> Bearer:
        slot = self._install
        if due(slot.tokens, self._clock(), self.refresh_margin):
            async with slot.lock:
                if due(slot.tokens, self._clock(), self.refresh_margin):
                    await self._renew(send, refused=None)
        assert slot.bearer is not None
        return slot.bearer

    async def _renew(self, send: Handler, *, refused: str | None, force: bool = False) -> None:
        """Make the install's tokens fresh, holding its slot's lock: take the store's if
        another task or process renewed them already, else spend the refresh token."""
        async with self.store.lock():
            stored = await self.store.read()
            if stored is None:
                raise AuthenticationError(
                    401,
                    f"{self.store!r} holds no tokens: authorise the app first "
                    "(`leadway-async auth exchange --code ...` or OAuthApp.exchange_code())",
                )
            fresh = not due(stored, self._clock(), self.refresh_margin)
            if fresh and not force and stored.access_token != refused:
                self._install.adopt(stored)
                return
            if stored.refresh_token is None:
                raise AuthenticationError(
                    401, "the stored tokens have no refresh token; " + AUTHORISE_AGAIN
                )
            form = refresh_form(self.client_id, self._client_secret, stored)
            await self._keep(await self._grant(send, form, "the refresh token"))

    async def _keep(self, tokens: OAuthTokens) -> None:
        """Store newly granted tokens, then use them. Were the store to fail, this
        process keeps them (the old refresh token is spent) and the error is raised."""
        try:
            await self.store.write(tokens)
        finally:
            self._install.adopt(tokens)

    async def _mint(self, send: Handler, slot: _Slot) -> None:
        """A new token for the slot's location, minted from the install's token."""
        assert slot.key is not None
        await self._install_bearer(send)
        company = self._install.tokens
        assert company is not None
        assert company.company_id is not None
        request = Request(
            "POST", LOCATION_TOKEN_PATH, form=location_form(company.company_id, slot.key)
        )
        response = await self._as_install(send, request)
        _raise_for(response)
        slot.adopt(
            tokens_from(
                response.data,
                self._clock(),
                status=response.status,
                request_id=response.request_id,
                minted_for=slot.key,
            )
        )

    async def _as_install(self, send: Handler, request: Request) -> Response:
        """Send a request made with the install's token; after a 401, renew it once and
        send once more."""
        response = await send(request)
        if response.status == 401 and response.credential is not None:
            await self._rejected(send, response.credential)
            response = await send(request)
        return response

    async def _grant(
        self, send: Handler, form: tuple[tuple[str, str], ...], what: str
    ) -> OAuthTokens:
        response = await send(Request("POST", TOKEN_PATH, form=form, idempotent=False))
        if not 200 <= response.status < 300:
            raise grant_error(error_from_response(response), what)
        return tokens_from(
            response.data, self._clock(), status=response.status, request_id=response.request_id
        )

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Handler]:
        """A road of the app's own to `base_url`, for calls made outside a client."""

        async def credential(request: Request) -> Bearer | None:
            return await self._credential(send, request)

        transport = AiohttpTransport(
            base_url=self.base_url,
            api_version=self.api_version,
            credential=credential,
            timeout=self.timeout,
        )
        send = compose(transport, [RetryMiddleware(self._retry), LoggingMiddleware()])
        try:
            yield send
        finally:
            await transport.aclose()


class _Bound:
    """An `OAuthApp` serving one client, through that client's road."""

    def __init__(self, app: OAuthApp, send: Handler) -> None:
        self._app = app
        self._send = send

    async def credential(self, request: Request) -> Bearer | None:
        return await self._app._credential(self._send, request)

    async def rejected(self, label: object) -> None:
        await self._app._rejected(self._send, label)


def _raise_for(response: Response) -> None:
    if not 200 <= response.status < 300:
        error: APIStatusError = error_from_response(response)
        raise error


def _required(name: str, value: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        variable = "LEADWAY_" + name.upper()
        raise ParameterError(f"{name} is required: pass {name}=... or set {variable}")
    return value
