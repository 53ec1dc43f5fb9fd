"""Every error status and its body, as the real API shapes them."""

from __future__ import annotations

import pytest

from leadway_async.testing import LeadwayEmulator

from .conftest import Api

UNAUTHORIZED = {
    "statusCode": 401,
    "message": "Invalid token: access token is invalid",
    "error": "Unauthorized",
}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Basic {token}", "{token}", "Bearer", "Bearer {token}x"],
)
async def test_missing_or_wrong_token_is_401(
    authorization: str | None, api: Api, emulator: LeadwayEmulator
) -> None:
    headers = {"Version": "2021-07-28"}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=emulator.token)
    async with api.session.get(
        f"{emulator.url}/conversations/search",
        params={"locationId": emulator.location_id},
        headers=headers,
    ) as answer:
        assert answer.status == 401
        assert await answer.json() == UNAUTHORIZED
        assert answer.headers["X-Request-Id"]
        assert "X-RateLimit-Remaining" not in answer.headers


async def test_the_bearer_scheme_is_case_insensitive(api: Api, emulator: LeadwayEmulator) -> None:
    reply = await api.get(headers={"Authorization": f"bearer {emulator.token}"})
    assert reply.status == 200


@pytest.mark.parametrize("version", ["2021-07-28", "2021-04-15"])
async def test_both_versions_are_accepted(version: str, api: Api) -> None:
    assert (await api.get(headers={"Version": version})).status == 200


@pytest.mark.parametrize("version", ["", "2021-07-29", "v1"])
async def test_an_unsupported_version_is_400(version: str, api: Api) -> None:
    reply = await api.get(headers={"Version": version})
    assert reply.status == 400
    assert reply.body == {
        "statusCode": 400,
        "message": "Version header must be 2021-07-28 or 2021-04-15",
    }


async def test_a_missing_version_is_400(api: Api, emulator: LeadwayEmulator) -> None:
    async with api.session.get(
        f"{emulator.url}/conversations/search",
        params={"locationId": emulator.location_id},
        headers={"Authorization": f"Bearer {emulator.token}"},
    ) as answer:
        assert answer.status == 400
        assert await answer.json() == {
            "statusCode": 400,
            "message": "Version header was not found",
        }


@pytest.mark.parametrize("params", [[], [("locationId", "")]])
async def test_a_missing_location_is_400(params: list[tuple[str, str]], api: Api) -> None:
    reply = await api.get(params, location=False)
    assert reply.status == 400
    assert reply.body == {"statusCode": 400, "message": "locationId is required"}


async def test_another_location_is_403(api: Api) -> None:
    reply = await api.get({"locationId": "someOtherLocation000"}, location=False)
    assert reply.status == 403
    assert reply.body == {
        "statusCode": 403,
        "message": "The token does not have access to this location.",
        "error": "Forbidden",
    }


@pytest.mark.parametrize("path", ["/", "/conversations", "/v9/conversations/search", "/x?y=1"])
async def test_any_other_path_is_404(path: str, api: Api) -> None:
    reply = await api.get(path=path)
    assert reply.status == 404
    assert reply.body == {
        "statusCode": 404,
        "message": f"Cannot GET {path.partition('?')[0]}",
        "error": "Not Found",
    }


async def test_another_method_is_404(api: Api, emulator: LeadwayEmulator) -> None:
    async with api.session.post(
        f"{emulator.url}/conversations/search",
        params={"locationId": emulator.location_id},
        headers={"Authorization": f"Bearer {emulator.token}", "Version": "2021-07-28"},
    ) as answer:
        assert answer.status == 404
        body = await answer.json()
    assert body["message"] == "Cannot POST /conversations/search"


async def test_an_unknown_parameter_is_422_with_a_list_message(api: Api) -> None:
    reply = await api.get({"foo": "1", "limit": "5"})
    assert reply.status == 422
    assert reply.body == {
        "statusCode": 422,
        "message": ["property foo should not exist"],
        "error": "Unprocessable Entity",
    }


@pytest.mark.parametrize(
    ("params", "names", "allowed"),
    [
        ({"limit": "abc"}, "limit", "integer"),
        ({"limit": "0"}, "limit", "between 1 and 100"),
        ({"limit": "101"}, "limit", "between 1 and 100"),
        ({"startAfterDate": "yesterday"}, "startAfterDate", "number"),
        ({"startDate": "2025-01-01"}, "startDate", "number"),
        ({"scoreProfileMin": "high"}, "scoreProfileMin", "number"),
        ({"status": "archived"}, "status", "all, read, unread, starred, recents"),
        ({"sort": "newest"}, "sort", "asc, desc"),
        ({"lastMessageType": "TYPE_FAX"}, "lastMessageType", "TYPE_SMS_REACTION"),
    ],
)
async def test_bad_values_are_422_naming_the_parameter_and_what_is_allowed(
    params: dict[str, str], names: str, allowed: str, api: Api
) -> None:
    reply = await api.get(params)
    assert reply.status == 422
    assert reply.body["error"] == "Unprocessable Entity"
    (message,) = reply.body["message"]
    assert message.startswith(names)
    assert allowed in message


async def test_error_answers_to_authenticated_requests_carry_the_headers(api: Api) -> None:
    for reply in (
        await api.get({"foo": "1"}),
        await api.get(path="/nowhere"),
        await api.get({"locationId": "someOtherLocation000"}, location=False),
    ):
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        assert reply.headers["X-Request-Id"]
        assert reply.headers["X-RateLimit-Max"] == "1000000"
