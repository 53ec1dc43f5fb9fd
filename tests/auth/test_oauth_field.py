"""OAuth against the emulator over loopback: renewals once, however many ask."""

from __future__ import annotations

import asyncio
import logging

import pytest

from leadway_async import AuthenticationError, LeadwayClient
from leadway_async.auth import MemoryTokenStore, OAuthApp, TokenStoreError
from leadway_async.errors import ParameterError, PermissionDeniedError
from leadway_async.testing import LeadwayEmulator

from .helpers import REDIRECT, Clock, RevokingStore, app_for, installed

LIFETIME = 3_600.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_an_exchanged_code_reads_its_location_and_is_stored(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=30, clock=clock, token_lifetime_s=LIFETIME) as emu:
        store = MemoryTokenStore()
        app = app_for(emu, clock, store)
        tokens = await installed(emu, app)
        assert await store.read() == tokens
        assert (tokens.user_type, tokens.location_id) == ("Location", emu.location_id)
        assert tokens.expires_at == clock.now + LIFETIME
        async with LeadwayClient(auth=app, base_url=emu.url) as client:
            page = await client.search(location_id=emu.location_id)
        assert page.total == 30
        assert emu.oauth_requests["authorization_code"] == 1
        assert emu.oauth_requests["refresh_token"] == 0


async def test_200_tasks_across_one_expiry_refresh_once_and_all_succeed(clock: Clock) -> None:
    async with LeadwayEmulator(
        conversations=10, clock=clock, token_lifetime_s=LIFETIME, rate_limit_max=1000
    ) as emu:
        app = app_for(emu, clock)
        first = await installed(emu, app)
        async with LeadwayClient(auth=app, base_url=emu.url, throttle=False) as client:
            await client.search(location_id=emu.location_id)
            clock.now += LIFETIME - 1  # inside the margin: every task finds the token due
            pages = await asyncio.gather(
                *(client.search(location_id=emu.location_id) for _ in range(200))
            )
        assert [page.total for page in pages] == [10] * 200
        assert emu.oauth_requests["refresh_token"] == 1
        renewed = await app.tokens()
        assert renewed is not None
        assert renewed.refresh_token != first.refresh_token
        assert renewed.expires_at == clock.now + LIFETIME


async def test_a_token_revoked_on_the_server_is_renewed_once_and_the_call_succeeds(
    clock: Clock,
) -> None:
    async with LeadwayEmulator(conversations=10, clock=clock) as emu:
        app = app_for(emu, clock)
        await installed(emu, app)
        async with LeadwayClient(auth=app, base_url=emu.url) as client:
            await client.search(location_id=emu.location_id)
            assert emu.revoke() == 1
            page = await client.search(location_id=emu.location_id)
        assert page.total == 10
        assert emu.oauth_requests["refresh_token"] == 1


async def test_a_second_401_is_final_after_one_renewal(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=10, clock=clock) as emu:
        store = RevokingStore(emu)
        app = app_for(emu, clock, store)
        await installed(emu, app)
        async with LeadwayClient(auth=app, base_url=emu.url) as client:
            await client.search(location_id=emu.location_id)
            store.arm = True  # each renewed token is revoked as soon as it is stored
            emu.revoke()
            with pytest.raises(AuthenticationError) as caught:
                await client.search(location_id=emu.location_id)
        assert caught.value.status == 401
        assert caught.value.message == "Invalid token: access token is invalid"
        assert caught.value.request_id
        requests = emu.oauth_requests
        assert requests["authorization_code"] + requests["refresh_token"] == 2


async def test_a_spent_refresh_token_says_authorise_again_without_a_loop(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=10, clock=clock, token_lifetime_s=LIFETIME) as emu:
        store = MemoryTokenStore()
        app = app_for(emu, clock, store)
        original = await installed(emu, app)
        await app.refresh()  # spends the original refresh token
        await store.write(original)  # as another process that lost its write would leave it
        clock.now += LIFETIME
        fresh_app = app_for(emu, clock, store)
        async with LeadwayClient(auth=fresh_app, base_url=emu.url) as client:
            with pytest.raises(AuthenticationError, match="authorised again") as caught:
                await client.search(location_id=emu.location_id)
        assert caught.value.status == 400
        assert caught.value.body["error"] == "invalid_grant"
        assert emu.oauth_requests["refresh_token"] == 2
        assert emu.oauth_requests["invalid_grant"] == 1


async def test_a_token_for_another_location_is_refused_without_a_renewal(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=10, clock=clock, locations=["OtherLoc"]) as emu:
        app = app_for(emu, clock)
        await installed(emu, app)
        async with LeadwayClient(auth=app, base_url=emu.url) as client:
            with pytest.raises(PermissionDeniedError):
                await client.search(location_id="OtherLoc")
        assert emu.oauth_requests["refresh_token"] == 0


async def test_an_agency_install_mints_each_location_token_once_per_expiry(clock: Clock) -> None:
    extra = [f"Loc{n:02d}xxxxxxxxxxxxxx" for n in range(19)]
    async with LeadwayEmulator(
        conversations=60, clock=clock, token_lifetime_s=LIFETIME, locations=extra
    ) as emu:
        app = app_for(emu, clock)
        tokens = await installed(emu, app, "Company")
        assert tokens.user_type == "Company"
        locations = await app.installed_locations()
        assert sorted(location.id for location in locations) == sorted(emu.location_ids)
        seen: dict[str, list[str]] = {location.id: [] for location in locations}

        async with LeadwayClient(auth=app, base_url=emu.url, throttle=False) as client:

            async def walk(location_id: str, resume: str | None) -> str | None:
                pager = client.paginate(location_id=location_id, limit=10, max_items=30,
                                        resume_token=resume)  # fmt: skip
                async for conversation in pager:
                    seen[location_id].append(conversation.id)
                return pager.resume_token

            halves = await asyncio.gather(*(walk(loc, None) for loc in seen))
            clock.now += LIFETIME  # every token, the company's too, has expired
            await asyncio.gather(
                *(walk(loc, token) for loc, token in zip(seen, halves, strict=True))
            )

        assert all(len(ids) == len(set(ids)) == 60 for ids in seen.values())
        requests = emu.oauth_requests
        assert requests["location_token"] == 2 * len(seen)
        assert requests["refresh_token"] == 1


async def test_bad_input_is_refused_before_any_request(tmp_path: object, clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        with pytest.raises(ParameterError, match="client_id is required"):
            OAuthApp("", "secret")
        with pytest.raises(ParameterError, match="client_secret is required"):
            OAuthApp("id", None)
        with pytest.raises(TypeError, match="store must be a TokenStore"):
            OAuthApp("id", "secret", store="tokens.json")  # type: ignore[arg-type]
        app = app_for(emu, clock)
        with pytest.raises(ParameterError, match="code must be"):
            await app.exchange_code("  ", redirect_uri=REDIRECT)
        with pytest.raises(ParameterError, match="redirect_uri"):
            await app.exchange_code("abc", redirect_uri="callback")
        with pytest.raises(TypeError, match="not both"):
            LeadwayClient("token", auth=app)
        with pytest.raises(TypeError, match="auth must be an auth provider"):
            LeadwayClient(auth="token")  # type: ignore[arg-type]
        assert sum(emu.oauth_requests.values()) == 0


async def test_a_store_that_holds_nothing_says_to_authorise_first(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        async with LeadwayClient(auth=app_for(emu, clock), base_url=emu.url) as client:
            with pytest.raises(AuthenticationError, match="holds no tokens: authorise"):
                await client.search(location_id=emu.location_id)
        assert sum(emu.oauth_requests.values()) == 0


async def test_a_wrong_client_secret_is_named_and_never_shown(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with LeadwayEmulator(conversations=1, clock=clock) as emu:
        secret = "wrong-secret-0123456789"
        app = OAuthApp(emu.client_id, secret, base_url=emu.url, clock=clock)
        code = emu.authorization_code()
        with pytest.raises(AuthenticationError, match="client id or client secret") as caught:
            await app.exchange_code(code, redirect_uri=REDIRECT)
    shown = str(caught.value) + repr(caught.value) + repr(app) + caplog.text
    assert secret not in shown
    assert code not in shown


async def test_no_secret_shows_in_logs_errors_or_reprs_on_any_path(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with LeadwayEmulator(conversations=10, clock=clock, token_lifetime_s=LIFETIME) as emu:
        store = RevokingStore(emu)
        app = app_for(emu, clock, store)
        code = emu.authorization_code()
        first = await app.exchange_code(code, redirect_uri=REDIRECT)
        secrets = {emu.client_secret, code, first.access_token, str(first.refresh_token)}
        async with LeadwayClient(auth=app, base_url=emu.url) as client:
            emu.revoke()
            await client.search(location_id=emu.location_id)  # renewed after a 401
            renewed = await store.read()
            assert renewed is not None
            secrets |= {renewed.access_token, str(renewed.refresh_token)}
            store.arm = True
            emu.revoke()
            with pytest.raises(AuthenticationError) as second_401:
                await client.search(location_id=emu.location_id)
            texts += [str(second_401.value), repr(second_401.value), repr(second_401.value.body)]
        await store.write(first)  # a spent refresh token
        clock.now += LIFETIME
        with pytest.raises(AuthenticationError) as spent:
            await app.refresh()
        texts += [str(spent.value), repr(spent.value.body), repr(app), repr(store)]
        texts += [repr(await store.read()), str(await app.tokens())]
        with pytest.raises(AuthenticationError) as used_code:
            await app.exchange_code(code, redirect_uri=REDIRECT)
        texts += [str(used_code.value), repr(used_code.value.body)]
    shown = "\n".join(texts) + caplog.text
    assert "POST /oauth/token" in caplog.text  # the token requests were logged
    for secret in secrets:
        assert secret not in shown


async def test_a_store_in_a_missing_directory_is_refused_at_once(tmp_path: object) -> None:
    from pathlib import Path

    from leadway_async.auth import FileTokenStore

    with pytest.raises(TokenStoreError, match="does not exist"):
        FileTokenStore(Path(str(tmp_path)) / "missing" / "tokens.json")


async def test_a_revoked_location_token_is_minted_once_more(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=10, clock=clock, locations=["OtherLoc"]) as emu:
        app = app_for(emu, clock)
        await installed(emu, app, "Company")
        async with LeadwayClient(auth=app, base_url=emu.url) as client:
            await client.search(location_id="OtherLoc")
            emu.revoke()  # the company token and the minted one
            page = await client.search(location_id="OtherLoc")
        assert page.total == 10
        requests = emu.oauth_requests
        # The first mint; one refused, the company token being revoked too; one after the
        # company token's renewal.
        assert requests["location_token"] == 3
        assert requests["refresh_token"] == 1


async def test_a_client_sends_token_requests_to_its_own_base_url(clock: Clock) -> None:
    async with LeadwayEmulator(conversations=10, clock=clock, token_lifetime_s=LIFETIME) as emu:
        app = app_for(emu, clock)
        await installed(emu, app)
        app.base_url = "http://127.0.0.1:9"  # nothing listens there
        clock.now += LIFETIME
        async with LeadwayClient(auth=app, base_url=emu.url) as client:
            page = await client.search(location_id=emu.location_id)
        assert page.total == 10
        assert emu.oauth_requests["refresh_token"] == 1
