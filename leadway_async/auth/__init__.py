"""OAuth for services that run for months: `OAuthApp` keeps an install's tokens fresh in a
`TokenStore`, renewing each once however many tasks and processes need it."""

from __future__ import annotations

from .app import OAuthApp
from .grant import InstalledLocation
from .provider import AuthProvider
from .store import FileTokenStore, MemoryTokenStore, TokenStore
from .tokens import OAuthTokens, TokenStoreError

__all__ = [
    "AuthProvider",
    "FileTokenStore",
    "InstalledLocation",
    "MemoryTokenStore",
    "OAuthApp",
    "OAuthTokens",
    "TokenStore",
    "TokenStoreError",
]
