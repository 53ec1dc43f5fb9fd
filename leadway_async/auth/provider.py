"""What `LeadwayClient(auth=...)` takes: something that gives each request its bearer
token and hears when one was refused."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..middleware.chain import Handler, Request, Response
from ..transport import Bearer

__all__ = ["AuthProvider", "BoundAuth", "RefreshOn401"]


class BoundAuth(Protocol):
    """An auth provider bound to one client's road to the token endpoint."""

    async def credential(self, request: Request) -> Bearer | None:
        """The bearer token `request` goes out with (None: none)."""
        ...

    async def rejected(self, label: object) -> None:
        """The credential named `label` was refused with a 401: renew it, unless that
        has already been done since."""
        ...


@runtime_checkable
class AuthProvider(Protocol):
    """Gives a client its credentials: `OAuthApp` is one."""

    def bind(self, send: Handler) -> BoundAuth:
        """This provider, sending its own requests (token grants) through `send`."""
        ...


class RefreshOn401:
    """Middleware: after a 401 for a credential the provider can renew, renew it once
    and send the request once more; a second 401 is the answer."""

    def __init__(self, auth: BoundAuth) -> None:
        self._auth = auth

    async def __call__(self, request: Request, handler: Handler) -> Response:
        response = await handler(request)
        if response.status != 401 or response.credential is None:
            return response
        await self._auth.rejected(response.credential)
        return await handler(request)
