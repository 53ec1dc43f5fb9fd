"""`OAuthTokens`: what the token endpoint granted, with the secrets kept out of sight."""

from __future__ import annotations

import math
from typing import Any

from attrs import field, frozen

from ..errors import LeadwayError

__all__ = ["COMPANY", "LOCATION", "OAuthTokens", "TokenStoreError"]

COMPANY = "Company"
LOCATION = "Location"
_USER_TYPES = (COMPANY, LOCATION)

# The shape written to a token store, so a file that is something else is told apart.
STORE_FORMAT = "leadway-async/oauth-tokens"
STORE_VERSION = 1


class TokenStoreError(LeadwayError):
    """A token store could not be read or written, or holds something that is not ours."""


def _hidden(value: str | None) -> str:
    return "None" if value is None else "'[hidden]'"


@frozen
class OAuthTokens:
    """An OAuth grant: the access token, the refresh token that renews it (None for a
    location token minted from a company token), when the access token expires (Unix
    seconds), the user type (`"Company"` or `"Location"`), the company, location and
    user ids, and the scopes. Neither token appears in its repr."""

    access_token: str = field(repr=_hidden)
    refresh_token: str | None = field(repr=_hidden)
    expires_at: float
    user_type: str
    company_id: str | None = None
    location_id: str | None = None
    user_id: str | None = None
    scopes: tuple[str, ...] = ()

    def expires_in(self, now: float) -> float:
        """Seconds left before the access token expires (negative once it has)."""
        return self.expires_at - now

    def to_document(self) -> dict[str, Any]:
        """The JSON object a token store keeps."""
        return {
            "format": STORE_FORMAT,
            "version": STORE_VERSION,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "user_type": self.user_type,
            "company_id": self.company_id,
            "location_id": self.location_id,
            "user_id": self.user_id,
            "scopes": list(self.scopes),
        }

    @classmethod
    def from_document(cls, document: object, where: str) -> OAuthTokens:
        """Tokens from a store's JSON object; `TokenStoreError` naming `where` when it is
        not one this release can read."""
        if not isinstance(document, dict) or document.get("format") != STORE_FORMAT:
            raise TokenStoreError(f"{where} is not a leadway-async token store")
        if document.get("version") != STORE_VERSION:
            raise TokenStoreError(
                f"{where} is a token store of version {document.get('version')!r}; this "
                f"release reads version {STORE_VERSION}"
            )
        try:
            return cls(
                access_token=_text(document, "access_token"),
                refresh_token=_text(document, "refresh_token", optional=True),
                expires_at=_moment(document, "expires_at"),
                user_type=_user_type(document.get("user_type")),
                company_id=_text(document, "company_id", optional=True),
                location_id=_text(document, "location_id", optional=True),
                user_id=_text(document, "user_id", optional=True),
                scopes=_scopes(document.get("scopes", [])),
            )
        except ValueError as exc:
            raise TokenStoreError(f"{where} is damaged: {exc}") from None


def _text(document: dict[str, Any], key: str, *, optional: bool = False) -> Any:
    value = document.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is not a non-empty string")
    return value


def _moment(document: dict[str, Any], key: str) -> float:
    value = document.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key} is not a number of seconds")
    return float(value)


def _user_type(value: object) -> str:
    if value not in _USER_TYPES:
        raise ValueError(f"user_type is {value!r}, not one of {', '.join(_USER_TYPES)}")
    return str(value)


def _scopes(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if not isinstance(value, list) or not all(isinstance(scope, str) for scope in value):
        raise ValueError("scopes is not a list of strings")
    return tuple(value)
