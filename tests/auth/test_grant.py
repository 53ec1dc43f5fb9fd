"""The token endpoint's rules, without I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadway_async.auth.grant import (
    app_id_of,
    due,
    grant_error,
    installed_locations_from,
    tokens_from,
)
from leadway_async.auth.tokens import OAuthTokens
from leadway_async.errors import (
    AuthenticationError,
    BadRequestError,
    ResponseValidationError,
)

ANSWER = {
    "access_token": "acc-1234567890",
    "token_type": "Bearer",
    "expires_in": 86399,
    "refresh_token": "ref-1234567890",
    "scope": "conversations.readonly locations.readonly",
    "userType": "Location",
    "companyId": "C1",
    "locationId": "L1",
    "userId": "U1",
}


def _tokens(expires_at: float) -> OAuthTokens:
    return OAuthTokens("a", "r", expires_at, "Location")


def test_a_grant_is_read_with_its_expiry_counted_from_now() -> None:
    tokens = tokens_from(ANSWER, 1_000.0, status=200)
    assert tokens.expires_at == 1_000.0 + 86399
    assert (tokens.user_type, tokens.company_id, tokens.location_id, tokens.user_id) == (
        "Location", "C1", "L1", "U1",
    )  # fmt: skip
    assert tokens.scopes == ("conversations.readonly", "locations.readonly")
    assert tokens.refresh_token == "ref-1234567890"


def test_a_minted_location_token_needs_no_refresh_token_and_knows_its_location() -> None:
    answer = {"access_token": "loc-123456", "expires_in": 600, "scope": "x"}
    tokens = tokens_from(answer, 0.0, status=200, minted_for="L9")
    assert (tokens.refresh_token, tokens.user_type, tokens.location_id) == (None, "Location", "L9")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"access_token": ""}, "no access_token"),
        ({"expires_in": "86399"}, "no expires_in"),
        ({"expires_in": True}, "no expires_in"),
        ({"expires_in": 0}, "not a positive number"),
        ({"expires_in": float("inf")}, "not a positive number"),
        ({"refresh_token": None}, "no refresh_token"),
        ({"userType": "Agency"}, "user type 'Agency'"),
    ],
)
def test_a_grant_without_what_it_must_carry_is_refused_without_quoting_it(
    change: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ResponseValidationError, match=complaint) as caught:
        tokens_from({**ANSWER, **change}, 0.0, status=200)
    assert "secret-body" not in str(caught.value)
    assert "ref-1234567890" not in str(caught.value)


def test_a_grant_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ResponseValidationError, match="not a JSON object"):
        tokens_from([ANSWER], 0.0, status=200)


@given(expires_at=st.floats(-1e6, 1e6), now=st.floats(-1e6, 1e6), margin=st.floats(0, 1e4))
def test_tokens_are_due_exactly_when_less_than_the_margin_is_left(
    expires_at: float, now: float, margin: float
) -> None:
    assert due(_tokens(expires_at), now, margin) is (expires_at - now < margin)


def test_no_tokens_are_always_due() -> None:
    assert due(None, 0.0, 0.0)


def test_the_app_id_is_the_client_id_before_its_first_dash() -> None:
    assert app_id_of("6650e1f0-lw0emulator-x") == "6650e1f0"
    assert app_id_of("plain") == "plain"


def test_invalid_grant_says_the_app_must_be_authorised_again() -> None:
    body = {"error": "invalid_grant", "error_description": "used", "traceId": "t-1"}
    error = grant_error(BadRequestError(400, "used", body=body, request_id="t-1"), "the thing")
    assert isinstance(error, AuthenticationError)
    assert (error.status, error.body, error.request_id) == (400, body, "t-1")
    assert "authorised again" in str(error)
    assert "the thing was refused" in str(error)


def test_a_refused_client_says_which_credentials_are_wrong() -> None:
    body = {"error": "invalid_client"}
    error = grant_error(AuthenticationError(401, "no", body=body), "the code")
    assert isinstance(error, AuthenticationError)
    assert "client id or client secret" in str(error)


def test_other_grant_errors_are_left_as_they_are() -> None:
    original = BadRequestError(400, "bad", body={"error": "invalid_request"})
    assert grant_error(original, "x") is original


def test_installed_locations_are_read_with_the_count_of_all() -> None:
    data = {
        "locations": [
            {"_id": "L1", "name": "One", "address": "1 Road", "isInstalled": True},
            {"_id": "L2", "isInstalled": False},
        ],
        "count": 5,
    }
    found, total = installed_locations_from(data, 200)
    assert [(x.id, x.name, x.address, x.is_installed) for x in found] == [
        ("L1", "One", "1 Road", True),
        ("L2", None, None, False),
    ]
    assert total == 5


@pytest.mark.parametrize("data", [{}, {"locations": {}}, {"locations": [{"name": "x"}]}, []])
def test_an_installed_locations_answer_of_another_shape_is_refused(data: object) -> None:
    with pytest.raises(ResponseValidationError):
        installed_locations_from(data, 200)
