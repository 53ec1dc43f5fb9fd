"""What the token endpoint is sent and how each of its answers is read, field by field:
the forms of the grants, the tokens a grant gives, and the errors of a refused one."""

from __future__ import annotations

from typing import Any

import pytest

from leadway_async.auth.grant import (
    code_form,
    grant_error,
    installed_locations_from,
    refresh_form,
    tokens_from,
)
from leadway_async.auth.tokens import OAuthTokens
from leadway_async.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ResponseValidationError,
    ServerError,
)
from leadway_async.models import RateLimit

from .test_grant import ANSWER


def test_the_code_grant_sends_every_field_and_the_user_type_only_when_given() -> None:
    assert code_form("id-1", "secret", "code-9", "https://x/cb", None) == (
        ("client_id", "id-1"),
        ("client_secret", "secret"),
        ("grant_type", "authorization_code"),
        ("code", "code-9"),
        ("redirect_uri", "https://x/cb"),
    )
    assert code_form("id-1", "secret", "code-9", "https://x/cb", "Company")[-1] == (
        "user_type",
        "Company",
    )


def test_the_refresh_grant_sends_the_refresh_token_and_user_type() -> None:
    tokens = OAuthTokens("acc", "ref-7", 0.0, "Company", company_id="C1")
    assert refresh_form("id-1", "secret", tokens) == (
        ("client_id", "id-1"),
        ("client_secret", "secret"),
        ("grant_type", "refresh_token"),
        ("refresh_token", "ref-7"),
        ("user_type", "Company"),
    )


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ([ANSWER], "is not a JSON object"),
        ({**ANSWER, "access_token": 5}, "has no access_token"),
        ({**ANSWER, "expires_in": None}, "has no expires_in number"),
        ({**ANSWER, "expires_in": -5}, "has an expires_in that is not a positive number"),
        ({**ANSWER, "refresh_token": 123}, "has no refresh_token"),
        ({**ANSWER, "refresh_token": ""}, "has no refresh_token"),
        ({k: v for k, v in ANSWER.items() if k != "userType"}, "names the user type None"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_grant_answer_lacking_a_field_is_refused_saying_which(
    answer: Any, complaint: str
) -> None:
    with pytest.raises(ResponseValidationError) as caught:
        tokens_from(answer, 0.0, status=200, request_id="t-3")
    assert str(caught.value).startswith(f"the token endpoint's answer {complaint}")
    assert (caught.value.status, caught.value.request_id) == (200, "t-3")


def test_a_grant_of_one_second_is_a_grant() -> None:
    tokens = tokens_from({**ANSWER, "expires_in": 1}, 100.0, status=200)
    assert tokens.expires_at == 101.0


def test_a_grant_reads_missing_or_odd_optional_fields_as_none() -> None:
    answer = {**ANSWER, "companyId": "", "locationId": 5, "userId": None}
    del answer["scope"]
    tokens = tokens_from(answer, 0.0, status=200)
    assert (tokens.company_id, tokens.location_id, tokens.user_id) == (None, None, None)
    assert tokens.scopes == ()


@pytest.mark.parametrize("refresh", ["", 7, None])
def test_a_minted_location_token_has_no_refresh_token_whatever_the_answer_holds(
    refresh: object,
) -> None:
    answer = {"access_token": "loc-1", "expires_in": 60, "refresh_token": refresh}
    tokens = tokens_from(answer, 0.0, status=200, minted_for="L2")
    assert tokens.refresh_token is None
    assert tokens.location_id == "L2"


BUDGET = RateLimit(max=10, remaining=4)


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, {"error": "invalid_client"}), (401, {"error": "unauthorized"}), (401, "denied")],
    ids=repr,
)
def test_a_refused_client_keeps_the_status_body_request_id_and_rate_limit(
    status: int, body: object
) -> None:
    refused = APIStatusError(status, "no", body=body, request_id="t-8", rate_limit=BUDGET)
    error = grant_error(refused, "the refresh token")
    assert isinstance(error, AuthenticationError)
    assert (error.status, error.body, error.request_id, error.rate_limit) == (
        status, body, "t-8", BUDGET,
    )  # fmt: skip
    assert error.message == "the refresh token was refused: the client id or client secret is wrong"


def test_invalid_grant_keeps_the_rate_limit_too() -> None:
    refused = BadRequestError(400, "x", body={"error": "invalid_grant"}, rate_limit=BUDGET)
    assert grant_error(refused, "the code").rate_limit == BUDGET


@pytest.mark.parametrize(
    "refused",
    [
        ServerError(502, "<html>Bad Gateway</html>", body="<html>Bad Gateway</html>"),
        BadRequestError(402, "pay", body={"error": "payment"}),
        ServerError(503, "down", body=None),
    ],
    ids=lambda error: str(error.status),
)
def test_a_grant_refused_for_another_reason_is_left_as_it_is(refused: APIStatusError) -> None:
    assert grant_error(refused, "the refresh token") is refused


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"count": 1}, "the installedLocations answer has no list of locations"),
        ({"locations": [{"_id": 5}]}, "an installedLocations entry has no _id"),
    ],
)
def test_an_installed_locations_answer_of_another_shape_says_why(
    data: object, complaint: str
) -> None:
    with pytest.raises(ResponseValidationError) as caught:
        installed_locations_from(data, 200, "t-4")
    assert str(caught.value).startswith(complaint)
    assert (caught.value.status, caught.value.request_id) == (200, "t-4")


@pytest.mark.parametrize("count", [None, True, "7", 1.5])
def test_without_a_count_all_the_installed_locations_are_those_listed(count: object) -> None:
    data: dict[str, object] = {"locations": [{"_id": "L1"}, {"_id": "L2", "name": ""}]}
    if count is not None:
        data["count"] = count
    found, total = installed_locations_from(data, 200)
    assert total == 2
    assert [(x.id, x.name) for x in found] == [("L1", None), ("L2", None)]
