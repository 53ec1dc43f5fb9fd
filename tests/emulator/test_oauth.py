"""OAuth on the emulator: codes, rotating refresh tokens, chains revoked on replay, expiry,
location tokens, installed locations, counters and revocation, over loopback sockets."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from leadway_async.testing import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_COMPANY_ID,
    LeadwayEmulator,
)

from .conftest import SEARCH, FakeClock, Reply, untraced

REPO = Path(__file__).resolve().parents[2]
EXTRA = ("extraLocation0000001", "extraLocation0000002", "extraLocation0000003")
UNAUTHORIZED = {
    "statusCode": 401,
    "message": "Invalid token: access token is invalid",
    "error": "Unauthorized",
}
NOT_IN_SCOPE = {
    "statusCode": 401,
    "message": "The token is not authorized for this scope.",
    "error": "Unauthorized",
}
FORBIDDEN = {
    "statusCode": 403,
    "message": "The token does not have access to this location.",
    "error": "Forbidden",
}
CODE_INVALID = {
    "error": "invalid_grant",
    "error_description": "Invalid grant: authorization code is invalid",
}
REFRESH_INVALID = {
    "error": "invalid_grant",
    "error_description": "Invalid grant: refresh token is invalid",
}
SCOPE = "conversations.readonly conversations.write locations.readonly oauth.readonly oauth.write"


class OAuthApi:
    """Speaks to the emulator's OAuth endpoints and search as a client would, by hand."""

    def __init__(self, emulator: LeadwayEmulator, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.session = session

    async def send(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Reply:
        sent = {"Version": "2021-07-28"}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        async with self.session.request(
            method,
            self.emulator.url + path,
            data=form,
            params=params,
            headers=sent,
            **options,
        ) as answer:
            return Reply(answer.status, answer.headers, orjson.loads(await answer.read()))

    async def token(self, **form: str) -> Reply:
        """POST /oauth/token with the app's credentials unless the form says otherwise."""
        sent = {"client_id": self.emulator.client_id, "client_secret": DEFAULT_CLIENT_SECRET}
        sent.update(form)
        return await self.send("POST", "/oauth/token", form=sent)

    async def exchange(self, code: str, **form: str) -> Reply:
        fields = {"redirect_uri": "https://app/cb", **form}
        return await self.token(grant_type="authorization_code", code=code, **fields)

    async def install(self, user_type: str = "Location", location_id: str | None = None) -> Any:
        """A fresh install's grant (the token answer's body)."""
        reply = await self.exchange(self.emulator.authorization_code(user_type, location_id))
        assert reply.status == 200, reply.body
        return reply.body

    async def refresh(self, refresh_token: str, **form: str) -> Reply:
        return await self.token(grant_type="refresh_token", refresh_token=refresh_token, **form)

    async def mint(self, company_token: str, location_id: str, **form: str) -> Reply:
        fields = {"companyId": DEFAULT_COMPANY_ID, "locationId": location_id, **form}
        return await self.send("POST", "/oauth/locationToken", token=company_token, form=fields)

    async def installed(self, company_token: str, **params: str) -> Reply:
        query = {"companyId": DEFAULT_COMPANY_ID, "appId": self.emulator.app_id, **params}
        return await self.send(
            "GET", "/oauth/installedLocations", token=company_token, params=query
        )

    async def search(self, token: str, location_id: str | None = None) -> Reply:
        location = location_id or self.emulator.location_id
        return await self.send("GET", SEARCH, token=token, params={"locationId": location})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def oauth(clock: FakeClock, http: aiohttp.ClientSession) -> AsyncIterator[OAuthApi]:
    async with LeadwayEmulator(
        conversations=20, seed=3, locations=EXTRA, clock=clock, token_lifetime_s=3600
    ) as emulator:
        yield OAuthApi(emulator, http)


async def test_a_code_is_exchanged_once_for_a_location_grant(oauth: OAuthApi) -> None:
    emu = oauth.emulator
    code = emu.authorization_code()
    first = await oauth.exchange(code, user_type="Location")
    assert first.status == 200
    assert first.headers["Cache-Control"] == "no-store"
    grant = untraced(first.body)
    assert sorted(grant) == sorted(
        [
            *("access_token", "token_type", "expires_in", "refresh_token", "scope"),
            *("userType", "companyId", "locationId", "userId"),
        ]
    )
    assert grant["token_type"] == "Bearer"
    assert grant["expires_in"] == 3600
    assert isinstance(grant["expires_in"], int)
    assert grant["scope"] == SCOPE
    assert (grant["userType"], grant["locationId"]) == ("Location", emu.location_id)
    assert grant["companyId"] == DEFAULT_COMPANY_ID
    assert (await oauth.search(grant["access_token"])).status == 200

    again = await oauth.exchange(code)
    assert (again.status, untraced(again.body)) == (400, CODE_INVALID)
    # A replayed code revokes what it granted (RFC 6749, 4.1.2).
    refused = await oauth.search(grant["access_token"])
    assert (refused.status, untraced(refused.body)) == (401, UNAUTHORIZED)
    assert (await oauth.refresh(grant["refresh_token"])).status == 400
    counts = emu.oauth_requests
    assert (counts["authorization_code"], counts["refresh_token"]) == (2, 1)
    assert counts["invalid_grant"] == 2


async def test_a_location_install_can_be_on_any_served_location(oauth: OAuthApi) -> None:
    grant = await oauth.install("Location", EXTRA[1])
    assert grant["locationId"] == EXTRA[1]
    assert (await oauth.search(grant["access_token"], EXTRA[1])).status == 200
    elsewhere = await oauth.search(grant["access_token"], oauth.emulator.location_id)
    assert (elsewhere.status, untraced(elsewhere.body)) == (403, FORBIDDEN)
    unserved = await oauth.search(grant["access_token"], "notServedLocation001")
    assert (unserved.status, untraced(unserved.body)) == (403, FORBIDDEN)


async def test_a_company_install_approves_every_location_but_cannot_search(
    oauth: OAuthApi,
) -> None:
    grant = await oauth.install("Company")
    assert grant["userType"] == "Company"
    assert "locationId" not in grant
    assert grant["approvedLocations"] == list(oauth.emulator.location_ids)
    assert grant["installToFutureLocations"] is False
    refused = await oauth.search(grant["access_token"])
    assert (refused.status, untraced(refused.body)) == (401, NOT_IN_SCOPE)
    assert "X-RateLimit-Remaining" not in refused.headers


async def test_each_refresh_rotates_the_refresh_token(oauth: OAuthApi) -> None:
    grant = await oauth.install()
    first = await oauth.refresh(grant["refresh_token"], user_type="Location")
    assert first.status == 200, first.body
    renewed = untraced(first.body)
    assert renewed["refresh_token"] != grant["refresh_token"]
    assert renewed["access_token"] != grant["access_token"]
    assert renewed["locationId"] == grant["locationId"]
    # The older access token stays valid until it expires; the newer one works too.
    assert (await oauth.search(grant["access_token"])).status == 200
    assert (await oauth.search(renewed["access_token"])).status == 200
    second = await oauth.refresh(renewed["refresh_token"])
    assert second.status == 200
    assert oauth.emulator.oauth_requests["refresh_token"] == 2


async def test_a_replayed_refresh_token_is_refused_and_revokes_its_chain(
    oauth: OAuthApi,
) -> None:
    grant = await oauth.install()
    bystander = await oauth.install()  # another install: not part of the chain
    renewed = (await oauth.refresh(grant["refresh_token"])).body
    assert (await oauth.search(renewed["access_token"])).status == 200

    replay = await oauth.refresh(grant["refresh_token"])
    assert (replay.status, untraced(replay.body)) == (400, REFRESH_INVALID)
    for token in (grant["access_token"], renewed["access_token"]):
        refused = await oauth.search(token)
        assert (refused.status, untraced(refused.body)) == (401, UNAUTHORIZED)
    later = await oauth.refresh(renewed["refresh_token"])
    assert (later.status, untraced(later.body)) == (400, REFRESH_INVALID)
    assert (await oauth.search(bystander["access_token"])).status == 200
    assert oauth.emulator.oauth_requests["invalid_grant"] == 2


async def test_a_replayed_company_refresh_token_revokes_the_location_tokens_minted(
    oauth: OAuthApi,
) -> None:
    company = await oauth.install("Company")
    minted = (await oauth.mint(company["access_token"], EXTRA[0])).body
    assert (await oauth.search(minted["access_token"], EXTRA[0])).status == 200
    await oauth.refresh(company["refresh_token"])
    assert (await oauth.refresh(company["refresh_token"])).status == 400
    assert (await oauth.search(minted["access_token"], EXTRA[0])).status == 401


async def test_access_tokens_expire_by_the_emulators_clock(
    oauth: OAuthApi, clock: FakeClock
) -> None:
    grant = await oauth.install()
    clock.advance(3599)
    assert (await oauth.search(grant["access_token"])).status == 200
    clock.advance(1)
    expired = await oauth.search(grant["access_token"])
    assert (expired.status, untraced(expired.body)) == (401, UNAUTHORIZED)
    assert "X-RateLimit-Remaining" not in expired.headers
    renewed = await oauth.refresh(grant["refresh_token"])  # a refresh token lives a year
    assert (await oauth.search(renewed.body["access_token"])).status == 200
    assert oauth.emulator.valid_access_tokens == 1


async def test_codes_expire_after_ten_minutes(oauth: OAuthApi, clock: FakeClock) -> None:
    code = oauth.emulator.authorization_code()
    clock.advance(600)
    reply = await oauth.exchange(code)
    assert (reply.status, untraced(reply.body)) == (
        400,
        {
            "error": "invalid_grant",
            "error_description": "Invalid grant: authorization code has expired",
        },
    )


async def test_a_company_token_mints_location_tokens(oauth: OAuthApi) -> None:
    company = await oauth.install("Company")
    reply = await oauth.mint(company["access_token"], EXTRA[2])
    assert reply.status == 200, reply.body
    minted = untraced(reply.body)
    assert "refresh_token" not in minted
    assert minted["token_type"] == "Bearer"
    assert (minted["expires_in"], minted["scope"]) == (3600, SCOPE)
    assert (minted["userType"], minted["locationId"]) == ("Location", EXTRA[2])
    assert minted["companyId"] == DEFAULT_COMPANY_ID
    assert minted["appId"] == DEFAULT_CLIENT_ID.split("-")[0]
    assert minted["userId"]

    page = await oauth.search(minted["access_token"], EXTRA[2])
    assert page.status == 200
    assert {c["locationId"] for c in page.body["conversations"]} == {EXTRA[2]}
    elsewhere = await oauth.search(minted["access_token"], EXTRA[1])
    assert (elsewhere.status, untraced(elsewhere.body)) == (403, FORBIDDEN)

    second = (await oauth.mint(company["access_token"], EXTRA[2])).body
    assert second["access_token"] != minted["access_token"]
    for token in (minted["access_token"], second["access_token"]):
        assert (await oauth.search(token, EXTRA[2])).status == 200
    assert oauth.emulator.oauth_requests["location_token"] == 2


async def test_minting_refuses_what_the_api_refuses(oauth: OAuthApi, clock: FakeClock) -> None:
    emu = oauth.emulator
    company = (await oauth.install("Company"))["access_token"]
    location = (await oauth.install())["access_token"]

    async def refusal(reply_: Any) -> tuple[int, Any]:
        reply = await reply_
        return reply.status, untraced(reply.body)

    assert await refusal(oauth.mint("not-a-token", EXTRA[0])) == (401, UNAUTHORIZED)
    assert await refusal(oauth.mint(location, EXTRA[0])) == (401, NOT_IN_SCOPE)
    assert await refusal(oauth.mint(emu.token, EXTRA[0])) == (401, NOT_IN_SCOPE)
    assert await refusal(oauth.mint(company, "notServedLocation001")) == (
        400,
        {"statusCode": 400, "message": "The app is not installed on this location."},
    )
    assert await refusal(oauth.mint(company, EXTRA[0], companyId="otherCompany")) == (
        401,
        {
            "statusCode": 401,
            "message": "The token does not have access to this company.",
            "error": "Unauthorized",
        },
    )
    assert await refusal(
        oauth.send("POST", "/oauth/locationToken", token=company, form={"companyId": "x"})
    ) == (
        422,
        {
            "statusCode": 422,
            "message": ["locationId must be a string"],
            "error": "Unprocessable Entity",
        },
    )
    no_version = oauth.send(
        "POST",
        "/oauth/locationToken",
        token=company,
        form={"companyId": DEFAULT_COMPANY_ID, "locationId": EXTRA[0]},
        headers={"Version": ""},
    )
    status, body = await refusal(no_version)
    assert (status, body["message"]) == (400, "Version header must be " + " or ".join(emu.versions))
    clock.advance(3600)
    assert await refusal(oauth.mint(company, EXTRA[0])) == (401, UNAUTHORIZED)
    assert emu.oauth_requests["location_token"] == 8


async def test_installed_locations_lists_the_served_ones_page_by_page(oauth: OAuthApi) -> None:
    emu = oauth.emulator
    company = (await oauth.install("Company"))["access_token"]
    everything = await oauth.installed(company, isInstalled="true")
    assert everything.status == 200
    body = untraced(everything.body)
    assert [entry["_id"] for entry in body["locations"]] == list(emu.location_ids)
    assert (body["count"], body["installToFutureLocations"]) == (4, False)
    for entry in body["locations"]:
        assert sorted(entry) == ["_id", "address", "isInstalled", "name"]
        assert entry["isInstalled"] is True
        assert entry["name"]
        assert entry["address"]

    page = (await oauth.installed(company, skip="1", limit="2")).body
    assert [entry["_id"] for entry in page["locations"]] == list(emu.location_ids[1:3])
    assert page["count"] == 4
    past = (await oauth.installed(company, skip="4")).body
    assert (past["locations"], past["count"]) == ([], 4)
    named = (await oauth.installed(company, query=body["locations"][2]["name"])).body
    assert [entry["_id"] for entry in named["locations"]] == [emu.location_ids[2]]
    assert (await oauth.installed(company, isInstalled="false")).body["count"] == 0

    wrong_app = await oauth.installed(company, appId="someOtherApp")
    assert (wrong_app.status, untraced(wrong_app.body)) == (
        400,
        {"statusCode": 400, "message": "appId does not match the app the token was issued to."},
    )
    bad = await oauth.installed(company, skip="-1", limit="0", foo="1")
    assert bad.status == 422
    assert bad.body["message"] == [
        "property foo should not exist",
        "skip must be a number string, 0 or more",
        "limit must be a number string, 1 or more",
    ]
    location = (await oauth.install())["access_token"]
    assert (await oauth.installed(location)).status == 401
    assert emu.oauth_requests["installed_locations"] == 8


async def test_the_token_endpoint_refuses_as_rfc_6749_says(oauth: OAuthApi) -> None:
    emu = oauth.emulator

    async def refusal(reply_: Any) -> tuple[int, Any]:
        reply = await reply_
        return reply.status, untraced(reply.body)

    code = emu.authorization_code(redirect_uri="https://app/cb")
    assert await refusal(oauth.exchange(code, client_secret="wrong")) == (
        401,
        {"error": "invalid_client", "error_description": "Invalid client: client is invalid"},
    )
    assert (await refusal(oauth.exchange(code, client_id="other-app")))[0] == 401
    assert await refusal(oauth.token(code=code)) == (
        400,
        {"error": "invalid_request", "error_description": "Missing parameter: `grant_type`"},
    )
    assert await refusal(oauth.token(grant_type="client_credentials")) == (
        400,
        {
            "error": "unsupported_grant_type",
            "error_description": "Unsupported grant type: `grant_type` is invalid",
        },
    )
    assert (await refusal(oauth.token(grant_type="authorization_code")))[1] == {
        "error": "invalid_request",
        "error_description": "Missing parameter: `code`",
    }
    assert (await refusal(oauth.exchange(code, user_type="Company")))[1] == {
        "error": "invalid_request",
        "error_description": "Invalid parameter: `user_type`",
    }
    assert (await refusal(oauth.exchange(code, redirect_uri="https://evil/cb")))[1] == {
        "error": "invalid_request",
        "error_description": "Invalid request: `redirect_uri` is invalid",
    }
    assert (await refusal(oauth.exchange("0" * 40)))[1] == CODE_INVALID
    assert (await refusal(oauth.refresh("never-issued")))[1] == REFRESH_INVALID
    as_json = oauth.send(
        "POST",
        "/oauth/token",
        json={"client_id": emu.client_id, "grant_type": "authorization_code", "code": code},
    )
    status, body = await refusal(as_json)
    assert (status, body["error"]) == (400, "invalid_request")
    # None of these spent the code.
    assert (await oauth.exchange(code)).status == 200
    assert emu.oauth_requests == {
        "authorization_code": 7,
        "refresh_token": 1,
        "location_token": 0,
        "installed_locations": 0,
        "invalid_request": 5,
        "invalid_client": 2,
        "invalid_grant": 2,
        "unsupported_grant_type": 1,
    }


async def test_revoke_one_access_token_or_all_of_them(oauth: OAuthApi) -> None:
    emu = oauth.emulator
    first, second = await oauth.install(), await oauth.install("Location", EXTRA[0])
    assert emu.valid_access_tokens == 2
    assert emu.revoke(first["access_token"]) == 1
    assert (await oauth.search(first["access_token"])).status == 401
    assert (await oauth.search(second["access_token"], EXTRA[0])).status == 200
    assert emu.revoke(first["access_token"]) == 0  # already revoked
    assert emu.revoke() == 1
    refused = await oauth.search(second["access_token"], EXTRA[0])
    assert (refused.status, untraced(refused.body)) == (401, UNAUTHORIZED)
    assert emu.valid_access_tokens == 0
    # Refresh tokens stay valid: the client can recover.
    renewed = await oauth.refresh(second["refresh_token"])
    assert (await oauth.search(renewed.body["access_token"], EXTRA[0])).status == 200
    assert (await oauth.search(emu.token, EXTRA[0])).status == 200  # the static token
    with pytest.raises(ValueError, match="not an OAuth access token"):
        emu.revoke("never-issued")


async def test_the_oauth_controls_over_http(oauth: OAuthApi) -> None:
    emu = oauth.emulator
    control = "/_emulator/oauth"
    refused = await oauth.send("POST", f"{control}/code", token="wrong")
    assert (refused.status, untraced(refused.body)) == (401, UNAUTHORIZED)

    made = await oauth.send(
        "POST", f"{control}/code", token=emu.token, form={"user_type": "Company"}
    )
    assert made.status == 200
    grant = (await oauth.exchange(made.body["code"])).body
    assert grant["userType"] == "Company"
    on_extra = await oauth.send(
        "POST", f"{control}/code", token=emu.token, params={"location_id": EXTRA[0]}
    )
    assert (await oauth.exchange(on_extra.body["code"])).body["locationId"] == EXTRA[0]
    bad = await oauth.send(
        "POST", f"{control}/code", token=emu.token, form={"location_id": "notServed"}
    )
    assert bad.status == 422

    counts = await oauth.send("GET", f"{control}/requests", token=emu.token)
    assert untraced(counts.body) == emu.oauth_requests
    assert counts.body["authorization_code"] == 2
    tokens = await oauth.send("GET", f"{control}/tokens", token=emu.token)
    assert untraced(tokens.body) == {"valid_access_tokens": 2}
    one = await oauth.send(
        "POST", f"{control}/revoke", token=emu.token, form={"access_token": grant["access_token"]}
    )
    assert untraced(one.body) == {"revoked": 1}
    unknown = await oauth.send(
        "POST", f"{control}/revoke", token=emu.token, form={"access_token": "never-issued"}
    )
    assert unknown.status == 422
    rest = await oauth.send("POST", f"{control}/revoke", token=emu.token)
    assert untraced(rest.body) == {"revoked": 1}
    assert emu.valid_access_tokens == 0
    assert all(not r.path.startswith("/_emulator") for r in emu.requests)  # not recorded


async def test_oauth_requests_do_not_count_against_the_search_rate_limit(
    http: aiohttp.ClientSession,
) -> None:
    async with LeadwayEmulator(conversations=5, rate_limit_max=2) as emulator:
        oauth = OAuthApi(emulator, http)
        company = await oauth.install("Company")
        grant = await oauth.install()
        for _ in range(3):
            minted = await oauth.mint(company["access_token"], emulator.location_id)
            assert "X-RateLimit-Remaining" not in minted.headers
            await oauth.installed(company["access_token"])
            await oauth.refresh("never-issued")
        replies = [await oauth.search(grant["access_token"]) for _ in range(3)]
    assert [r.status for r in replies] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in replies] == ["1", "0", "0"]


async def test_no_token_secret_or_code_is_recorded_or_logged(
    oauth: OAuthApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emu = oauth.emulator
    code = emu.authorization_code()
    grant = (await oauth.exchange(code)).body
    renewed = (await oauth.refresh(grant["refresh_token"])).body
    company = await oauth.install("Company")
    minted = (await oauth.mint(company["access_token"], EXTRA[0])).body
    await oauth.installed(company["access_token"])
    await oauth.search(minted["access_token"], EXTRA[0])
    leaked = await oauth.send(
        "POST",
        "/oauth/token",
        params={"client_secret": DEFAULT_CLIENT_SECRET, "code": code},
        form={"grant_type": "refresh_token", "refresh_token": renewed["refresh_token"]},
    )
    assert leaked.status == 400
    secrets = [
        DEFAULT_CLIENT_SECRET,
        code,
        *(grant["access_token"], grant["refresh_token"]),
        *(renewed["access_token"], renewed["refresh_token"]),
        *(company["access_token"], company["refresh_token"], minted["access_token"]),
    ]
    records = repr(emu.requests)
    assert len(emu.requests) == 7
    assert emu.requests[-1].query == {"client_secret": "[redacted]", "code": "[redacted]"}
    assert emu.requests[-1].raw_query == "client_secret=[redacted]&code=[redacted]"
    logged = caplog.text
    for secret in secrets:
        assert secret not in records
        assert secret not in logged
    assert len(set(secrets)) == len(secrets)
    assert all(len(token) >= 40 for token in secrets[1:])


async def test_the_thread_backed_emulator_offers_the_controls(
    leadway_emulator_factory: Any, http: aiohttp.ClientSession
) -> None:
    emu = leadway_emulator_factory(conversations=5, locations=["threadedLocation0001"])
    assert emu.location_ids == (emu.location_id, "threadedLocation0001")
    code = emu.authorization_code("Location", "threadedLocation0001")
    form = {
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
        "grant_type": "authorization_code",
        "code": code,
    }
    async with http.post(f"{emu.url}/oauth/token", data=form) as answer:
        grant = await answer.json()
    assert grant["locationId"] == "threadedLocation0001"
    assert emu.oauth_requests["authorization_code"] == 1
    assert emu.revoke() == 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX-only")
async def test_a_subprocess_emulator_serves_oauth_and_locations(
    http: aiohttp.ClientSession,
) -> None:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "leadway_async.testing", "--port=0", "--conversations=10"),
        *("--locations=2", "--client-id=abc123-suffix", "--client-secret=s3cret"),
        *("--company-id=company000000000001", "--token-lifetime-s=120"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert process.stdout is not None
    try:
        exports: dict[str, str] = {}
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
            assert line, "the command ended before it was ready"
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
            if line.strip() == "ready":
                break
        url, token = exports["LEADWAY_BASE_URL"], exports["LEADWAY_TOKEN"]
        locations = exports["LEADWAY_LOCATION_IDS"].split(",")
        assert len(locations) == 3
        assert locations[0] == exports["LEADWAY_LOCATION_ID"]
        assert (exports["LEADWAY_CLIENT_ID"], exports["LEADWAY_CLIENT_SECRET"]) == (
            "abc123-suffix",
            "s3cret",
        )
        control = {"Authorization": f"Bearer {token}"}
        async with http.post(
            f"{url}/_emulator/oauth/code", data={"user_type": "Company"}, headers=control
        ) as made:
            code = (await made.json())["code"]
        form = {
            "client_id": "abc123-suffix",
            "client_secret": "s3cret",
            "grant_type": "authorization_code",
            "code": code,
        }
        async with http.post(f"{url}/oauth/token", data=form) as answer:
            grant = await answer.json()
        assert (grant["companyId"], grant["expires_in"]) == ("company000000000001", 120)
        assert grant["approvedLocations"] == locations
        bearer = {"Authorization": f"Bearer {grant['access_token']}", "Version": "2021-07-28"}
        async with http.get(
            f"{url}/oauth/installedLocations",
            params={"companyId": "company000000000001", "appId": "abc123"},
            headers=bearer,
        ) as listed:
            assert (await listed.json())["count"] == 3
        async with http.get(f"{url}/_emulator/oauth/requests", headers=control) as counted:
            counts = await counted.json()
        assert (counts["authorization_code"], counts["installed_locations"]) == (1, 1)
    finally:
        if process.returncode is None:
            process.terminate()
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    assert err == b""
    assert out.decode().split() == ["stopped"]
