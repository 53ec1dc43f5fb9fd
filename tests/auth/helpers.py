"""What the OAuth tests share: a clock tests move, and apps and stores on an emulator."""

from __future__ import annotations

from leadway_async.auth import MemoryTokenStore, OAuthApp, OAuthTokens, TokenStore
from leadway_async.testing import LeadwayEmulator

REDIRECT = "https://example.com/callback"


class Clock:
    """Unix seconds that move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def app_for(
    emu: LeadwayEmulator,
    clock: Clock,
    store: TokenStore | None = None,
    *,
    refresh_margin: float = 60.0,
) -> OAuthApp:
    """An app with the emulator's credentials, on its URL and clock."""
    return OAuthApp(
        emu.client_id,
        emu.client_secret,
        store if store is not None else MemoryTokenStore(),
        base_url=emu.url,
        refresh_margin=refresh_margin,
        clock=clock,
    )


async def installed(
    emu: LeadwayEmulator, app: OAuthApp, user_type: str = "Location"
) -> OAuthTokens:
    """Install the app as `user_type` and exchange the code."""
    code = emu.authorization_code(user_type)
    return await app.exchange_code(code, redirect_uri=REDIRECT)


class RevokingStore(MemoryTokenStore):
    """A store after whose every write the server revokes every access token issued."""

    def __init__(self, emu: LeadwayEmulator) -> None:
        super().__init__()
        self.emu = emu
        self.arm = False

    async def write(self, tokens: OAuthTokens) -> None:
        await super().write(tokens)
        if self.arm:
            self.emu.revoke()
