"""What tests read and steer of the emulator's OAuth app: credentials, codes, revocation,
counters."""

from __future__ import annotations

from .oauth import LOCATION
from .state import EmulatorState

__all__ = ["OAuthControls"]


class OAuthControls:
    """The OAuth side of the emulator's controls; safe to use from any thread."""

    _state: EmulatorState

    @property
    def client_id(self) -> str:
        """The OAuth app's client id (`<appId>-<suffix>`)."""
        return self._state.oauth.client_id

    @property
    def client_secret(self) -> str:
        """The OAuth app's client secret."""
        return self._state.oauth.client_secret

    @property
    def app_id(self) -> str:
        """The OAuth app's id: its client id up to the first `-`."""
        return self._state.oauth.app_id

    @property
    def company_id(self) -> str:
        """The company (agency) that installed the app."""
        return self._state.oauth.company_id

    @property
    def token_lifetime_s(self) -> float:
        """How long an access token lives, in seconds of the emulator's clock."""
        return self._state.oauth.token_lifetime_s

    def authorization_code(
        self,
        user_type: str = LOCATION,
        location_id: str | None = None,
        *,
        redirect_uri: str | None = None,
    ) -> str:
        """A new single-use authorization code, valid 10 minutes, as the app's install page
        would hand out: a `"Location"` install on `location_id` (by default the default
        location) or a `"Company"` install (no location). With `redirect_uri`, the exchange
        must send the same one. `ValueError` for another user type or a location not served.
        """
        return self._state.oauth.authorization_code(
            user_type, location_id, redirect_uri=redirect_uri
        )

    def revoke(self, access_token: str | None = None) -> int:
        """Revoke one access token, or with None every access token issued so far; refresh
        tokens stay valid. Return how many valid tokens were revoked. `ValueError` for a
        token the emulator never issued."""
        return self._state.oauth.revoke(access_token)

    @property
    def oauth_requests(self) -> dict[str, int]:
        """OAuth requests so far, by kind: `authorization_code` and `refresh_token` (token
        requests with that grant type), `location_token`, `installed_locations`; and the
        token endpoint's refusals by error: `invalid_request`, `invalid_client`,
        `invalid_grant`, `unsupported_grant_type`. A new dict each time."""
        return self._state.oauth.counts()

    @property
    def valid_access_tokens(self) -> int:
        """How many OAuth access tokens would be accepted now."""
        return self._state.oauth.valid_access_token_count()
