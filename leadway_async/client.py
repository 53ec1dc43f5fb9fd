"""`LeadwayClient`: configuration, session lifecycle, and the search call."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import aiohttp
from attrs import evolve

from ._closeable import AsyncCloseable
from ._defaults import DEFAULT_API_VERSION, DEFAULT_BASE_URL
from ._responses import page_from_body, raise_for_status
from .auth.provider import AuthProvider, BoundAuth, RefreshOn401
from .cursor import DEFAULT_SORT_BY
from .errors import ClientClosedError, ParameterError
from .middleware.chain import Handler, Middleware, Request, compose
from .middleware.logging import LoggingMiddleware
from .middleware.retry import RetryMiddleware, RetryPolicy
from .middleware.throttle import Throttle
from .models import ConversationPage
from .pagination import BodyHook, ConversationPager
from .params import MAX_LIMIT, build_search_query
from .scan import ConversationScan
from .transport import AiohttpTransport, Bearer

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from .params import SearchFilters

__all__ = ["DEFAULT_API_VERSION", "DEFAULT_BASE_URL", "LeadwayClient", "TokenProvider"]

SEARCH_PATH = "/conversations/search"
WALK_PAGE_SIZE = MAX_LIMIT
DEFAULT_RETRY = RetryPolicy()

TokenProvider = Callable[[], Awaitable[str]]
"""An async callable returning the current bearer token (for OAuth refresh)."""


class LeadwayClient(AsyncCloseable):
    """An async client for the Leadway conversations search API.

    `token` is a Private Integration Token or OAuth access token, or an async callable
    returning one; `auth`, in its place, an OAuth install (`leadway_async.auth.OAuthApp`)
    giving each request the token of its location, renewed when due and once after a
    401. `location_id` is the default sub-account searched; it, `token` and `base_url`
    fall back to `LEADWAY_LOCATION_ID`, `LEADWAY_TOKEN` and `LEADWAY_BASE_URL`.
    `timeout` limits one attempt and `deadline` a whole call (retries and waits
    included), in seconds. A caller-supplied aiohttp `session` is used as it is and never
    closed here; otherwise the client opens one on first use and closes it in `aclose()`
    (or at the end of `async with`).

    Every request takes one chain, outermost first: the caller's `middlewares`, then the
    defaults: retries per `retry` (None: off), the rate-limit `throttle` (False: off; a
    `Throttle` instance to share one budget between clients, a
    `leadway_async.redis.RedisThrottle` to share it between processes and hosts) and
    DEBUG logging. With
    `default_middlewares=False` the chain is the caller's `middlewares` alone.
    """

    def __init__(
        self,
        token: str | TokenProvider | None = None,
        *,
        auth: AuthProvider | None = None,
        location_id: str | None = None,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 30.0,
        deadline: float | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        throttle: Throttle | Middleware | bool = True,
        middlewares: Sequence[Middleware] = (),
        default_middlewares: bool = True,
    ) -> None:
        env = os.environ
        self._auth: BoundAuth | None = None
        if auth is not None:
            if token is not None:
                raise TypeError("pass token= or auth=, not both")
            if not isinstance(auth, AuthProvider):
                raise TypeError(
                    "auth must be an auth provider such as leadway_async.auth.OAuthApp, "
                    f"not {type(auth).__name__}"
                )
        else:
            self._token = _token_provider(token if token is not None else env.get("LEADWAY_TOKEN"))
        self.location_id = location_id or env.get("LEADWAY_LOCATION_ID") or None
        self.base_url = _check_base_url(base_url or env.get("LEADWAY_BASE_URL") or DEFAULT_BASE_URL)
        if not isinstance(api_version, str) or not api_version.strip():
            raise ParameterError(f"api_version must be a non-empty string, got {api_version!r}")
        self.api_version = api_version
        self.timeout = _seconds("timeout", timeout)
        self.deadline = None if deadline is None else _seconds("deadline", deadline)
        self._closed = False
        self._transport = AiohttpTransport(
            base_url=self.base_url,
            api_version=api_version,
            credential=self._credential,
            timeout=self.timeout,
            session=session,
        )
        defaults: list[Middleware] = []
        grants: list[Middleware] = []  # the token endpoint's road: no throttle, no 401 retry
        if default_middlewares:
            if retry is not None:
                defaults.append(RetryMiddleware(retry))
                grants.append(RetryMiddleware(retry))
            if throttle is not False:
                defaults.append(Throttle() if throttle is True else throttle)
            defaults.append(LoggingMiddleware())
            grants.append(LoggingMiddleware())
        chain = list(middlewares)
        if auth is not None:
            self._auth = auth.bind(compose(self._transport, grants))
            chain.append(RefreshOn401(self._auth))
        chain.extend(defaults)
        self._handler: Handler = compose(self._transport, chain)

    def __repr__(self) -> str:
        return (
            f"LeadwayClient(base_url={self.base_url!r}, location_id={self.location_id!r}, "
            f"api_version={self.api_version!r}, closed={self._closed})"
        )

    @property
    def closed(self) -> bool:
        """Whether `aclose()` has been called."""
        return self._closed

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def aclose(self) -> None:
        """Close the client and the session it opened; calling it again does nothing."""
        self._closed = True
        await self._transport.aclose()

    async def search(self, **filters: Unpack[SearchFilters]) -> ConversationPage:
        """One page of conversations matching `filters` (see `SearchFilters`).

        The filters are validated before anything is sent: `TypeError` or `ValueError`
        names the parameter at fault. API errors raise the `APIStatusError` subclass for
        their status; failed connections `APIConnectionError`.
        """
        query = build_search_query(filters, default_location_id=self.location_id)
        return await self._fetch_page(query)

    def paginate(
        self,
        *,
        max_items: int | None = None,
        resume_token: str | None = None,
        prefetch: int = 1,
        **filters: Unpack[SearchFilters],
    ) -> ConversationPager:
        """Every conversation matching `filters`, exactly once, as a `ConversationPager`.

        The filters are `search()`'s, validated here, before any request; `limit` is the
        page size (default 100). `max_items` caps the walk; `resume_token` continues a
        walk with the same filters just after the last conversation it handed out;
        `prefetch` is how many pages are fetched ahead of the one being worked on.
        """
        query = build_search_query(filters, default_location_id=self.location_id)
        page_size = int(query.pop("limit", WALK_PAGE_SIZE))
        self._check_open()
        return ConversationPager(
            self._fetch_page,
            query,
            page_size=page_size,
            max_items=max_items,
            resume_token=resume_token,
            prefetch=prefetch,
        )

    def scan(
        self,
        *,
        concurrency: int = 4,
        max_items: int | None = None,
        resume_token: str | None = None,
        **filters: Unpack[SearchFilters],
    ) -> ConversationScan:
        """Every conversation matching `filters` once, in no promised order, as a
        `ConversationScan` with `concurrency` requests in flight.

        The filters are `search()`'s, validated here, before any request, but for `sort`
        and `start_after_date`: a scan chooses its own order (`paginate()` walks in
        one). `limit` is the page size (default 100); `max_items` caps the scan;
        `resume_token` continues a scan with the same filters just after what it handed
        out. `concurrency` is the most requests in flight (1 to 16); the rate limit
        decides when each goes out.
        """
        for keyword in ("sort", "start_after_date"):
            if filters.get(keyword) is not None:
                raise ParameterError(
                    f"{keyword} is for paginate(): a scan walks its ranges in its own order"
                )
        query = build_search_query(filters, default_location_id=self.location_id)
        page_size = int(query.pop("limit", WALK_PAGE_SIZE))
        self._check_open()
        return ConversationScan(
            self._fetch_page,
            query,
            page_size=page_size,
            concurrency=concurrency,
            max_items=max_items,
            resume_token=resume_token,
        )

    async def _fetch_page(
        self,
        query: dict[str, str],
        notes: set[str] | None = None,
        on_body: BodyHook | None = None,
    ) -> ConversationPage:
        self._check_open()
        sort_by = query.get("sortBy", DEFAULT_SORT_BY)

        async def read(status: int, headers: Mapping[str, str], body: bytes) -> ConversationPage:
            if on_body is not None:
                await on_body(body)
            return page_from_body(status, headers, body, sort_by=sort_by, notes=notes)

        ends = None if self.deadline is None else time.monotonic() + self.deadline
        request = Request("GET", SEARCH_PATH, tuple(query.items()), deadline=ends, read=read)
        response = await self._handler(request)
        raise_for_status(response)
        page: ConversationPage = response.data
        if page.rate_limit != response.rate_limit:  # a middleware changed what it said
            page = evolve(page, rate_limit=response.rate_limit)
        return page

    async def _credential(self, request: Request) -> Bearer | None:
        self._check_open()
        if self._auth is not None:
            return await self._auth.credential(request)
        return Bearer(await self._token())

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("this LeadwayClient is closed; create a new one")


def _token_provider(token: str | TokenProvider | None) -> TokenProvider:
    if token is None:
        raise ParameterError(
            "a token is required: pass LeadwayClient(token=...) or set LEADWAY_TOKEN"
        )
    if isinstance(token, str):
        checked = _check_token(token)

        async def static_token() -> str:
            return checked

        return static_token
    if not callable(token):
        raise TypeError(
            f"token must be a string or an async callable returning one, not {type(token).__name__}"
        )

    async def provided_token() -> str:
        return _check_token(await token())

    return provided_token


def _check_token(token: object) -> str:
    # The messages never echo the value: it may be a real secret with a typo.
    if not isinstance(token, str):
        raise TypeError(f"the token must be a string, not {type(token).__name__}")
    if not token or any(char.isspace() or not char.isprintable() for char in token):
        raise ParameterError("the token is empty or contains whitespace or control characters")
    return token


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ParameterError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _check_base_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ParameterError(f"base_url must start with http:// or https://, got {url!r}")
    return url
