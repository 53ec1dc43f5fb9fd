"""Every error status and its body, as the real API shapes them."""

from __future__ import annotations

import aiohttp
import pytest

from leadway_async.testing import LeadwayEmulator

from .conftest import Api, untraced

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
        assert untraced(await answer.json()) == UNAUTHORIZED
        assert "X-Request-Id" not in answer.headers
        assert "X-RateLimit-Remaining" not in answer.headers


async def test_the_bearer_scheme_is_case_insensitive(api: Api, emulator: LeadwayEmulator) -> None:
    reply = await api.get(headers={"Authorization": f"bearer {emulator.token}"})
    assert reply.status == 200


@pytest.mark.parametrize("version", ["2021-07-28", "2021-04-15", "2023-02-21", "v3"])
async def test_each_default_version_is_accepted(version: str, api: Api) -> None:
    assert (await api.get(headers={"Version": version})).status == 200


@pytest.mark.parametrize("version", ["", "2021-07-29", "v1", "V3", "v4", "2023-02-22"])
async def test_an_unsupported_version_is_400(version: str, api: Api) -> None:
    reply = await api.get(headers={"Version": version})
    assert reply.status == 400
    assert untraced(reply.body) == {
        "statusCode": 400,
        "message": "Version header must be 2021-07-28 or 2021-04-15 or 2023-02-21 or v3",
    }


async def test_a_missing_version_is_400(api: Api, emulator: LeadwayEmulator) -> None:
    async with api.session.get(
        f"{emulator.url}/conversations/search",
        params={"locationId": emulator.location_id},
        headers={"Authorization": f"Bearer {emulator.token}"},
    ) as answer:
        assert answer.status == 400
        assert untraced(await answer.json()) == {
            "statusCode": 400,
            "message": "Version header was not found",
        }


@pytest.mark.parametrize("params", [[], [("locationId", "")]])
async def test_a_missing_location_is_400(params: list[tuple[str, str]], api: Api) -> None:
    reply = await api.get(params, location=False)
    assert reply.status == 400
    assert untraced(reply.body) == {"statusCode": 400, "message": "locationId is required"}


async def test_another_location_is_403(api: Api) -> None:
    reply = await api.get({"locationId": "someOtherLocation000"}, location=False)
    assert reply.status == 403
    assert untraced(reply.body) == {
        "statusCode": 403,
        "message": "The token does not have access to this location.",
        "error": "Forbidden",
    }


@pytest.mark.parametrize("path", ["/", "/conversations", "/v9/conversations/search", "/x?y=1"])
async def test_any_other_path_is_404(path: str, api: Api) -> None:
    reply = await api.get(path=path)
    assert reply.status == 404
    assert untraced(reply.body) == {
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
    assert untraced(reply.body) == {
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
        assert "X-Request-Id" not in reply.headers
        assert reply.headers["X-RateLimit-Max"] == "1000000"


async def test_every_body_carries_a_fresh_trace_id_and_no_request_id_header(
    http: aiohttp.ClientSession,
) -> None:
    async with LeadwayEmulator(conversations=5, rate_limit_max=4) as emulator:
        api = Api(emulator, http)
        replies = [
            await api.get(),
            await api.get(headers={"Authorization": "Bearer wrong"}),
            await api.get(path="/nowhere"),
            await api.get({"limit": "0"}),
            await api.get(),
            await api.get(),  # the fifth counted request: over the burst limit of 4
        ]
    assert [r.status for r in replies] == [200, 401, 404, 422, 200, 429]
    traces = [r.body["traceId"] for r in replies]
    for reply in replies:
        untraced(reply.body)  # a UUID4 string
        assert "X-Request-Id" not in reply.headers
    assert list(replies[0].body) == ["conversations", "total", "traceId"]
    assert len(set(traces)) == len(traces)
    assert [r.trace_id for r in emulator.requests] == traces


async def test_the_accepted_versions_can_be_chosen(http: aiohttp.ClientSession) -> None:
    async with LeadwayEmulator(conversations=3, versions=["2099-01-01", "v4"]) as emulator:
        api = Api(emulator, http)
        assert emulator.versions == ("2099-01-01", "v4")
        assert (await api.get(headers={"Version": "v4"})).status == 200
        assert (await api.get(headers={"Version": "2099-01-01"})).status == 200
        refused = await api.get(headers={"Version": "2021-07-28"})
    assert refused.status == 400
    assert untraced(refused.body) == {
        "statusCode": 400,
        "message": "Version header must be 2099-01-01 or v4",
    }
    assert LeadwayEmulator(conversations=1, versions="v3").versions == ("v3",)
    for bad in ([], [""], ["v3", ""]):
        with pytest.raises(ValueError, match="versions"):
            LeadwayEmulator(conversations=1, versions=bad)
