"""The last link of the chain: the only code that talks to aiohttp."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from attrs import field, frozen
from multidict import CIMultiDictProxy

from ._convert import decode_json
from ._time import deadline_passed, time_left
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError, ResponseDecodeError
from .middleware.chain import Request, Response
from .models import RateLimit

__all__ = ["REDACTED", "AiohttpTransport", "Bearer", "Credential"]

USER_AGENT = f"leadway-async/{__version__}"
REDACTED = "[redacted]"

# Form fields whose values are secrets: redacted from any body that echoes them.
SECRET_FORM_FIELDS = frozenset({"client_secret", "code", "refresh_token"})


@frozen
class Bearer:
    """A bearer token and a label naming it (never the token itself; None when there is
    nothing to tell apart), which the response carries as `Response.credential`."""

    token: str = field(repr=False)
    label: object = None


Credential = Callable[[Request], Awaitable["Bearer | None"]]
"""Gives the bearer token for a request at the moment it is sent (None: send none)."""


class AiohttpTransport:
    """Sends a `Request` over aiohttp and reads the whole answer.

    It owns its aiohttp session: created on first use inside the running loop, with
    aiohttp's hidden resend turned off, and closed by `aclose()`. A `session` given by
    the caller is used as it is and never closed here.

    Credentials are added here, at the last moment, so no value travelling through the
    chain (and so nothing a middleware logs) carries the token; no frame of this module
    keeps it once an error passes, and a server that echoes it back has it redacted.
    Connection failures and timeouts become `APIConnectionError` / `APITimeoutError`; a
    success body is read by the request's `read`, else decoded as JSON, and one that is
    not JSON (a truncated one, say) becomes `ResponseDecodeError`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        credential: Credential,
        timeout: float,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_version = api_version
        self._credential = credential
        self._timeout = timeout
        self._given_session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._clock = clock

    async def aclose(self) -> None:
        """Close the session this transport opened; calling it again does nothing."""
        session, self._own_session = self._own_session, None
        if session is not None:
            await session.close()

    def _session(self) -> aiohttp.ClientSession:
        if self._given_session is not None:
            return self._given_session
        if self._own_session is None or self._own_session.closed:
            session = aiohttp.ClientSession()
            # aiohttp silently sends an idempotent request again when a kept-alive
            # connection closes before answering; the retry middleware counts attempts,
            # so that hidden second try is turned off (a private switch, checked for).
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            self._own_session = session
        return self._own_session

    def _seconds_for(self, request: Request) -> float:
        """This attempt's time limit: the timeout, cut to what the deadline leaves."""
        left = time_left(request.deadline, self._clock())
        if left is None:
            return self._timeout
        if left <= 0:
            raise deadline_passed(request.method, request.path, "the request could be sent")
        return min(self._timeout, left)

    async def __call__(self, request: Request) -> Response:
        """Send `request` and return its complete `Response`."""
        seconds = self._seconds_for(request)
        where = f"{request.method} {request.path}"
        started = self._clock()
        try:
            status, headers, body, label = await self._exchange(request, seconds)
        except asyncio.TimeoutError:
            error: APIConnectionError = APITimeoutError(
                f"{where}: no complete answer within {seconds:g} s"
            )
        except aiohttp.ClientPayloadError as exc:
            error = APIConnectionError(f"{where}: the response body was cut short ({exc})")
        except aiohttp.ClientError as exc:
            error = APIConnectionError(f"{where}: {type(exc).__name__}: {exc}")
        else:
            return await _response(request, status, headers, body, self._clock() - started, label)
        # Raised outside the handlers: aiohttp's error, and the frames holding the
        # request's headers that its traceback keeps, are not chained to ours.
        raise error

    async def _exchange(
        self, request: Request, seconds: float
    ) -> tuple[int, CIMultiDictProxy[str], bytes, object]:
        """One HTTP exchange: status, headers, the whole body with every secret sent
        redacted, and the label of the credential used."""
        headers: dict[str, str] | None = None
        bearer: Bearer | None = None
        secrets: list[str] = []
        try:
            bearer = await self._credential(request)
            headers = {
                "Version": self._api_version,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
            if bearer is not None:
                headers["Authorization"] = f"Bearer {bearer.token}"
                secrets.append(bearer.token)
            form = request.form
            if form is not None:
                secrets.extend(value for name, value in form if name in SECRET_FORM_FIELDS)
            async with self._session().request(
                request.method,
                self._base_url + request.path,
                params=request.params,
                data=None if form is None else dict(form),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=seconds),
                allow_redirects=False,
            ) as answer:
                body = _redacted(await answer.read(), secrets)
                label = None if bearer is None else bearer.label
                return answer.status, answer.headers, body, label
        finally:
            # An error reporter that records the locals of every frame must not find them.
            bearer = headers = form = None
            secrets.clear()


def _redacted(body: bytes, secrets: list[str]) -> bytes:
    """`body` with every secret in `secrets` that it echoes replaced by `REDACTED`."""
    for secret in secrets:
        raw = secret.encode()
        if raw and raw in body:
            body = body.replace(raw, REDACTED.encode())
    return body


async def _response(
    request: Request,
    status: int,
    headers: CIMultiDictProxy[str],
    body: bytes,
    elapsed: float,
    credential: object,
) -> Response:
    data: Any
    if 200 <= status < 300:
        if request.read is not None:
            data = await request.read(status, headers, body)
        else:
            data = decode_json(body, status=status, request_id=headers.get("X-Request-Id"))
    else:
        try:
            data = decode_json(body, status=status)
        except ResponseDecodeError:
            data = None
    return Response(
        request=request,
        status=status,
        headers=headers,
        body=body,
        data=data,
        rate_limit=RateLimit.from_headers(headers),
        elapsed=elapsed,
        credential=credential,
    )
