"""`leadway-async auth` and `--token-store`: an OAuth install from the command line, no
secret ever printed."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadway_async.testing import LeadwayEmulator, ThreadedEmulator

from .helpers import Cli, base_env

REDIRECT = "https://example.com/callback"


@pytest.fixture(scope="module")
def oauth_emulator() -> Iterator[ThreadedEmulator]:
    emu = LeadwayEmulator(conversations=40, seed=3, locations=["SecondLocationXXXXXXX"])
    with emu.run_in_thread() as running:
        yield running


def _app(emu: ThreadedEmulator, store: Path) -> list[str]:
    return ["--token-store", str(store), "--base-url", emu.url, "--client-id", emu.client_id]


def _env(emu: ThreadedEmulator) -> dict[str, str]:
    return base_env(LEADWAY_CLIENT_SECRET=emu.client_secret)


def _secrets_of(store: Path) -> list[str]:
    document = json.loads(store.read_text())
    return [document["access_token"], document["refresh_token"]]


def test_exchange_status_refresh_and_search_from_the_store(
    cli: Cli, oauth_emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emu = oauth_emulator
    store = tmp_path / "tokens.json"
    code = emu.authorization_code("Location")
    exchanged = cli.run(
        "auth", "exchange", "--code", code, "--redirect-uri", REDIRECT, *_app(emu, store),
        env=_env(emu),
    )  # fmt: skip
    assert exchanged.status == 0, exchanged.err
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert f"authorised: tokens kept in {store}" in exchanged.out
    assert "install:   Location" in exchanged.out
    assert f"location:  {emu.location_id}" in exchanged.out
    first = _secrets_of(store)

    status = cli.run("auth", "status", *_app(emu, store), env=_env(emu))
    assert status.status == 0, status.err
    assert "renewable: yes" in status.out
    assert "expires:" in status.out

    refreshed = cli.run("auth", "refresh", *_app(emu, store), env=_env(emu))
    assert refreshed.status == 0, refreshed.err
    assert refreshed.out.startswith("renewed\n")
    second = _secrets_of(store)
    assert second != first

    search = cli.run(
        "search", "--json", "--location-id", emu.location_id, *_app(emu, store), env=_env(emu)
    )
    assert search.status == 0, search.err
    assert json.loads(search.out)["total"] == 40

    shown = "".join(r.out + r.err for r in (exchanged, status, refreshed, search))
    for secret in [*first, *second, code, emu.client_secret]:
        assert secret not in shown


def test_a_company_install_lists_its_locations(
    cli: Cli, oauth_emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emu = oauth_emulator
    store = tmp_path / "tokens.json"
    code = emu.authorization_code("Company")
    done = cli.run(
        "auth", "exchange", "--code", code, "--redirect-uri", REDIRECT, *_app(emu, store),
        env=_env(emu),
    )  # fmt: skip
    assert done.status == 0, done.err
    assert "install:   Company" in done.out
    assert f"locations: 2 ({emu.location_id}, SecondLocationXXXXXXX)" in done.out
    export = cli.run(
        "export", "--location-id", "SecondLocationXXXXXXX", "--out", str(tmp_path / "o.jsonl"),
        *_app(emu, store), env=_env(emu),
    )  # fmt: skip
    assert export.status == 0, export.err
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 40


def test_a_used_code_and_a_wrong_secret_fail_without_showing_them(
    cli: Cli, oauth_emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    emu = oauth_emulator
    store = tmp_path / "tokens.json"
    code = emu.authorization_code("Location")
    args = ("auth", "exchange", "--code", code, "--redirect-uri", REDIRECT, *_app(emu, store))
    assert cli.run(*args, env=_env(emu)).status == 0
    again = cli.run(*args, "--debug", env=_env(emu))
    assert again.status == 1
    assert "authorised again" in again.err
    wrong = "not-the-secret-0123456789"
    refused = cli.run(*args, "--client-secret", wrong, "--debug", env=base_env())
    assert refused.status == 1
    assert "client id or client secret is wrong" in refused.err
    for result in (again, refused):
        for secret in (code, wrong, emu.client_secret, *_secrets_of(store)):
            assert secret not in result.out + result.err


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["auth", "status", "--token-store", "t.json"], "no client id: pass --client-id"),
        (
            ["auth", "status", "--token-store", "missing/t.json", "--client-id", "a",
             "--client-secret", "b"],
            "directory missing does not exist",
        ),
        (
            ["search", "--token", "abcdefgh", "--token-store", "t.json", "--client-id", "a",
             "--client-secret", "b"],
            "pass --token or --token-store, not both",
        ),
        (
            ["auth", "status", "--token-store", "t.json", "--client-id", "a",
             "--client-secret", "b"],
            "holds no tokens yet",
        ),
    ],
)  # fmt: skip
def test_usage_mistakes_are_named(
    cli: Cli, tmp_path: Path, args: list[str], complaint: str
) -> None:
    result = cli.run(*args, env=base_env(), cwd=tmp_path)
    assert result.status == 2
    assert complaint in result.err


def test_a_store_that_is_not_a_token_store_is_named(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text('{"hello": 1}')
    (tmp_path / "t.json").chmod(0o600)
    result = cli.run(
        "auth", "status", "--token-store", "t.json", "--client-id", "a", "--client-secret", "b",
        env=base_env(), cwd=tmp_path,
    )  # fmt: skip
    assert result.status == 1
    assert "t.json is not a leadway-async token store" in result.err
