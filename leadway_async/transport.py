"""The last link of the chain: the only code that talks to aiohttp."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp

from ._convert import decode_json
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError, ResponseDecodeError
from .middleware.chain import Request, Response
from .models import RateLimit

__all__ = ["AiohttpTransport"]

USER_AGENT = f"leadway-async/{__version__}"


class AiohttpTransport:
    """Sends a `Request` over an aiohttp session and reads the whole answer.

    Credentials are added here, at the last moment, so no value travelling through the
    chain (and so nothing a middleware logs) carries the token. Connection failures and
    timeouts become `APIConnectionError` / `APITimeoutError`; a success body that is not
    JSON (a truncated one, say) becomes `ResponseDecodeError`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        token: Callable[[], Awaitable[str]],
        session: Callable[[], aiohttp.ClientSession],
        timeout: float,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_version = api_version
        self._token = token
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _timeout_for(self, request: Request) -> aiohttp.ClientTimeout:
        """This attempt's limit: its own or the default, cut to what the deadline leaves."""
        seconds = self._timeout.total if request.timeout is None else request.timeout
        if request.deadline is not None:
            left = max(0.001, request.deadline - time.monotonic())
            seconds = left if seconds is None else min(seconds, left)
        if seconds == self._timeout.total:
            return self._timeout
        return aiohttp.ClientTimeout(total=seconds)

    async def __call__(self, request: Request) -> Response:
        """Send `request` and return its complete `Response`."""
        headers = {
            "Authorization": f"Bearer {await self._token()}",
            "Version": self._api_version,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        timeout = self._timeout_for(request)
        where = f"{request.method} {request.path}"
        started = time.monotonic()
        try:
            async with self._session().request(
                request.method,
                self._base_url + request.path,
                params=request.params,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
                status, answer_headers = answer.status, answer.headers
        except asyncio.TimeoutError:
            raise APITimeoutError(f"{where}: no complete answer within {timeout.total} s") from None
        except aiohttp.ClientPayloadError as exc:
            raise APIConnectionError(f"{where}: the response body was cut short ({exc})") from None
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"{where}: {type(exc).__name__}: {exc}") from None
        elapsed = time.monotonic() - started
        if 200 <= status < 300:
            data = decode_json(body, status=status)
        else:
            try:
                data = decode_json(body, status=status)
            except ResponseDecodeError:
                data = None
        return Response(
            request=request,
            status=status,
            headers=answer_headers,
            body=body,
            data=data,
            rate_limit=RateLimit.from_headers(answer_headers),
            elapsed=elapsed,
        )
