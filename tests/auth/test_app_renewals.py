"""OAuthApp's decisions, one at a time: what it is built from, when it renews and mints
(once, however many ask), what it sends, and what its errors carry. Against the emulator,
and against a scripted token endpoint for answers the emulator never gives."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from leadway_async import AuthenticationError, LeadwayClient
from leadway_async.auth import MemoryTokenStore, OAuthApp, OAuthTokens
from leadway_async.errors import (
    APIStatusError,
    BadRequestError,
    ParameterError,
    ResponseValidationError,
    ServerError,
)
from leadway_async.middleware import RetryPolicy, set_testing
from leadway_async.testing import LeadwayEmulator

from .helpers import REDIRECT, Clock, app_for, installed

LIFETIME = 3_600.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


# --- what an app is built from ---------------------------------------------------------


def test_the_credentials_and_base_url_fall_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADWAY_CLIENT_ID", "app7-suffix")
    monkeypatch.setenv("LEADWAY_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("LEADWAY_BASE_URL", "https://gateway.example")
    app = OAuthApp()
    assert (app.client_id, app.app_id, app.base_url) == (
        "app7-suffix", "app7", "https://gateway.example",
    )  # fmt: skip
    assert (app.refresh_margin, app.timeout) == (300.0, 30.0)
    monkeypatch.delenv("LEADWAY_BASE_URL")
    assert OAuthApp().base_url == "https://services.leadconnectorhq.com"


@pytest.mark.parametrize("missing", ["client_id", "client_secret"])
def test_a_missing_credential_names_its_variable(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADWAY_CLIENT_ID", raising=False)
    monkeypatch.delenv("LEADWAY_CLIENT_SECRET", raising=False)
    given = {"client_id": "id", "client_secret": "secret", missing: None}
    with pytest.raises(ParameterError) as caught:
        OAuthApp(**given)
    variable = "LEADWAY_" + missing.upper()
    assert str(caught.value) == f"{missing} is required: pass {missing}=... or set {variable}"


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"store": "tokens.json"}, "RedisTokenStore), not str"),
        ({"base_url": "ftp://x"}, "base_url must start with http:// or https://, got 'ftp://x'"),
        ({"refresh_margin": True}, "refresh_margin must be seconds, got True"),
        ({"refresh_margin": "60"}, "refresh_margin must be seconds, got '60'"),
        ({"refresh_margin": -1}, "refresh_margin must be 0 or more, got -1"),
    ],
)
def test_what_an_app_is_built_from_is_checked(options: dict[str, Any], complaint: str) -> None:
    with pytest.raises((ParameterError, TypeError)) as caught:
        OAuthApp("id", "secret", **options)
    assert str(caught.value).endswith(complaint)


@pytest.mark.parametrize("margin", [0, 0.5])
def test_a_margin_under_a_second_is_kept(margin: float) -> None:
    app = OAuthApp("id", "secret", base_url="https://x.example", refresh_margin=margin)
    assert app.refresh_margin == margin
    assert app.base_url == "https://x.example"


# --- against the emulator --------------------------------------------------------------


async def test_the_code_is_exchanged_with_its_redirect_and_user_type(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        app = app_for(emu, clock)
        plain = "http://localhost:8000/callback"
        code = emu.authorization_code("Company", redirect_uri=plain)
        tokens = await app.exchange_code(code, redirect_uri=plain, user_type="Company")
        assert tokens.user_type == "Company"
        other = emu.authorization_code("Location", redirect_uri=REDIRECT)
        with pytest.raises(BadRequestError) as caught:  # the code was for a location
            await app.exchange_code(other, redirect_uri=REDIRECT, user_type="Company")
        assert caught.value.body["error"] == "invalid_request"


async def test_bad_exchange_input_is_refused_saying_what(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        app = app_for(emu, clock)
        with pytest.raises(ParameterError) as empty:
            await app.exchange_code(" ", redirect_uri=REDIRECT)
        assert str(empty.value) == "code must be the non-empty code the install redirected with"
        with pytest.raises(ParameterError) as kind:
            await app.exchange_code("abc", redirect_uri=REDIRECT, user_type="Agency")
        assert str(kind.value) == "user_type must be Company or Location, got 'Agency'"
        assert sum(emu.oauth_requests.values()) == 0


async def test_a_refused_grant_says_which_grant_it_was(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock, token_lifetime_s=LIFETIME) as emu:
        wrong = OAuthApp(emu.client_id, "wrong", base_url=emu.url, clock=clock)
        with pytest.raises(AuthenticationError) as secret:
            await wrong.exchange_code(emu.authorization_code(), redirect_uri=REDIRECT)
        assert secret.value.message == (
            "the authorization code was refused: the client id or client secret is wrong"
        )
        store = MemoryTokenStore()
        app = app_for(emu, clock, store)
        original = await installed(emu, app)
        await app.refresh()
        await store.write(original)  # its refresh token is spent
        with pytest.raises(AuthenticationError) as spent:
            await app.refresh()
        assert spent.value.message.startswith("the refresh token was refused (invalid_grant")


async def test_an_empty_store_is_a_401_saying_to_authorise_first(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        with pytest.raises(AuthenticationError) as caught:
            await app_for(emu, clock).refresh()
    assert caught.value.status == 401
    assert caught.value.message == (
        "MemoryTokenStore(holds_tokens=False) holds no tokens: authorise the app first "
        "(`leadway-async auth exchange --code ...` or OAuthApp.exchange_code())"
    )


async def test_stored_tokens_without_a_refresh_token_cannot_be_renewed(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        minted = OAuthTokens("loc-token", None, clock.now - 1, "Location", location_id="L1")
        app = app_for(emu, clock, MemoryTokenStore(minted))
        with pytest.raises(AuthenticationError) as caught:
            await app.refresh()
        assert caught.value.status == 401
        assert caught.value.message.startswith(
            "the stored tokens have no refresh token; the app must be authorised again"
        )
        assert emu.oauth_requests["refresh_token"] == 0


async def test_an_app_takes_what_another_app_on_the_same_store_renewed(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=5, clock=clock, token_lifetime_s=LIFETIME) as emu:
        store = MemoryTokenStore()
        first, second = app_for(emu, clock, store), app_for(emu, clock, store)
        await installed(emu, first)
        clock.now += LIFETIME  # both see the tokens expired
        for app in (first, second):
            async with LeadwayClient(auth=app, base_url=emu.url) as client:
                page = await client.search(location_id=emu.location_id)
            assert page.total == 5
        assert emu.oauth_requests["refresh_token"] == 1
        renewed = await store.read()
        assert renewed is not None
        assert renewed.expires_at == clock.now + LIFETIME


async def test_many_first_requests_for_a_location_mint_its_token_once(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=5, clock=clock, locations=["OtherLoc"]) as emu:
        app = app_for(emu, clock)
        await installed(emu, app, "Company")
        async with LeadwayClient(auth=app, base_url=emu.url, throttle=False) as client:
            pages = await asyncio.gather(
                *(client.search(location_id="OtherLoc") for _ in range(20))
            )
        assert [page.total for page in pages] == [5] * 20
        assert emu.oauth_requests["location_token"] == 1


async def test_many_requests_refused_with_a_revoked_location_token_mint_it_once(
    clock: Clock,
) -> None:
    async with LeadwayEmulator(conversations=5, clock=clock, locations=["OtherLoc"]) as emu:
        app = app_for(emu, clock)
        await installed(emu, app, "Company")
        async with LeadwayClient(auth=app, base_url=emu.url, throttle=False) as client:
            await client.search(location_id="OtherLoc")
            emu.revoke()  # the company token and the minted one
            pages = await asyncio.gather(
                *(client.search(location_id="OtherLoc") for _ in range(10))
            )
        assert [page.total for page in pages] == [5] * 10
        # The first mint; one refused, the company token being revoked too; one after the
        # company token's renewal: as for a single request.
        assert emu.oauth_requests["location_token"] == 3
        assert emu.oauth_requests["refresh_token"] == 1


async def test_installed_locations_renews_an_expired_install_first(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock, token_lifetime_s=LIFETIME) as emu:
        app = app_for(emu, clock)
        await installed(emu, app, "Company")
        clock.now += LIFETIME
        found = await app.installed_locations()
        assert [location.id for location in found] == [emu.location_id]
        assert emu.oauth_requests["refresh_token"] == 1
        assert await app.installed_locations(is_installed=False) == []


async def test_installed_locations_needs_an_agency_install(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        app = app_for(emu, clock)
        await installed(emu, app, "Location")
        with pytest.raises(ParameterError) as caught:
            await app.installed_locations()
        assert str(caught.value) == (
            "installed_locations() needs an agency-level (Company) install; this one is a "
            "Location install"
        )
        assert emu.oauth_requests["installed_locations"] == 0


@pytest.mark.parametrize("extra", [149, 199])
async def test_installed_locations_asks_page_by_page_until_it_has_all(
    extra: int, clock: Clock
) -> None:
    more = [f"Loc{n:03d}xxxxxxxxxxxxx" for n in range(extra)]
    async with LeadwayEmulator(conversations=1, clock=clock, locations=more) as emu:
        app = app_for(emu, clock)
        await installed(emu, app, "Company")
        found = await app.installed_locations()
        assert sorted(location.id for location in found) == sorted(emu.location_ids)
        assert emu.oauth_requests["installed_locations"] == 2  # 100 a page


async def test_a_label_the_app_never_gave_out_is_ignored(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        app = app_for(emu, clock)
        await installed(emu, app)
        bound = app.bind(_never_called)
        for label in (None, "token", ("one",), (None, 1, 2)):
            await bound.rejected(label)
        assert emu.oauth_requests["refresh_token"] == 0


async def _never_called(request: object) -> Any:
    raise AssertionError("nothing should be sent")


# --- against a scripted token endpoint -------------------------------------------------


class Scripted:
    """Answers each path with its next scripted (status, JSON body); notes what came."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, Any]]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.method == "POST" else dict(request.query)
        self.seen.append((request.path, {k: str(v) for k, v in form.items()}))
        status, body = self.answers[request.path].pop(0)
        return web.json_response(body, status=status)


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[str, Scripted]]:
    endpoint = Scripted()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", endpoint
    finally:
        await runner.cleanup()


GRANT = {
    "access_token": "acc-1",
    "expires_in": 3600,
    "refresh_token": "ref-1",
    "userType": "Company",
    "companyId": "C1",
}
COMPANY = OAuthTokens("acc-0", "ref-0", 1_800_003_600.0, "Company", company_id="C1")


def scripted_app(url: str, clock: Clock, **options: Any) -> OAuthApp:
    store = MemoryTokenStore(COMPANY)
    return OAuthApp("app-1", "secret", store, base_url=url, clock=clock, **options)


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_grant_the_server_may_have_taken_is_not_sent_again(
    status: int, scripted: tuple[str, Scripted], clock: Clock
) -> None:
    url, endpoint = scripted
    endpoint.answers["/oauth/token"] = [(status, {"message": "oops"}), (200, GRANT)]
    with set_testing(True), pytest.raises(ServerError) as caught:
        await scripted_app(url, clock).refresh()
    assert caught.value.status == status
    assert len(endpoint.seen) == 1


async def test_a_grant_the_server_did_not_take_is_sent_again(
    scripted: tuple[str, Scripted], clock: Clock
) -> None:
    url, endpoint = scripted
    endpoint.answers["/oauth/token"] = [(503, {"message": "busy"}), (200, GRANT)]
    with set_testing(True):
        tokens = await scripted_app(url, clock).refresh()
    assert tokens.access_token == "acc-1"
    assert [form["grant_type"] for _, form in endpoint.seen] == ["refresh_token"] * 2


async def test_the_apps_retry_policy_is_the_one_it_was_given(
    scripted: tuple[str, Scripted], clock: Clock
) -> None:
    url, endpoint = scripted
    endpoint.answers["/oauth/token"] = [(503, {"message": "busy"}), (200, GRANT)]
    with set_testing(True), pytest.raises(ServerError):
        await scripted_app(url, clock, retry=RetryPolicy(max_retries=0)).refresh()
    assert len(endpoint.seen) == 1


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/installedLocations"])
async def test_an_answer_outside_2xx_is_an_error(
    path: str, scripted: tuple[str, Scripted], clock: Clock
) -> None:
    url, endpoint = scripted
    endpoint.answers[path] = [(300, {"message": "choose"})]
    app = scripted_app(url, clock)
    with pytest.raises(APIStatusError) as caught:
        await (app.refresh() if path == "/oauth/token" else app.installed_locations())
    assert caught.value.status == 300
    assert caught.value.body == {"message": "choose"}


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/oauth/token", {"access_token": "x"}),
        ("/oauth/installedLocations", {"count": 3}),
        ("/oauth/locationToken", {"expires_in": 60}),
    ],
)
async def test_a_malformed_answer_says_its_status_and_request_id(
    path: str, answer: dict[str, Any], scripted: tuple[str, Scripted], clock: Clock
) -> None:
    url, endpoint = scripted
    endpoint.answers[path] = [(201, {**answer, "traceId": "trace-77"})]
    app = scripted_app(url, clock)

    async def ask() -> object:
        if path == "/oauth/token":
            return await app.refresh()
        if path == "/oauth/installedLocations":
            return await app.installed_locations()
        async with LeadwayClient(auth=app, base_url=url) as client:  # mints a location token
            return await client.search(location_id="L5")

    with pytest.raises(ResponseValidationError) as caught:
        await ask()
    assert (caught.value.status, caught.value.request_id) == (201, "trace-77")


class CountingStore(MemoryTokenStore):
    """A store that counts its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def read(self) -> OAuthTokens | None:
        self.reads += 1
        return await super().read()


async def test_tasks_waiting_for_a_renewal_take_its_tokens_without_reading_the_store(
    clock: Clock,
) -> None:
    async with LeadwayEmulator(conversations=5, clock=clock, token_lifetime_s=LIFETIME) as emu:
        store = CountingStore()
        app = app_for(emu, clock, store)
        await installed(emu, app)
        clock.now += LIFETIME
        async with LeadwayClient(auth=app, base_url=emu.url, throttle=False) as client:
            await asyncio.gather(*(client.search(location_id=emu.location_id) for _ in range(10)))
            for _ in range(5):
                await client.search(location_id=emu.location_id)
        assert emu.oauth_requests["refresh_token"] == 1
        assert store.reads == 1  # by the task that renewed


async def test_the_apps_own_requests_are_logged_with_their_methods(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    async with LeadwayEmulator(conversations=5, clock=clock, locations=["OtherLoc"]) as emu:
        app = app_for(emu, clock)
        await installed(emu, app, "Company")
        with caplog.at_level(logging.DEBUG, logger="leadway_async"):
            async with LeadwayClient(auth=app, base_url=emu.url) as client:
                await client.search(location_id="OtherLoc")
            await app.installed_locations()
    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("POST /oauth/locationToken?") for line in lines)
    assert any(line.startswith("GET /oauth/installedLocations?") for line in lines)
