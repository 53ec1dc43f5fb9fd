"""Token stores: what they keep, how they refuse, and that their lock holds across
processes."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from leadway_async.auth import (
    FileTokenStore,
    MemoryTokenStore,
    OAuthTokens,
    TokenStore,
    TokenStoreError,
)

TOKENS = OAuthTokens(
    access_token="access-SECRET-1",
    refresh_token="refresh-SECRET-2",
    expires_at=1_800_000_000.5,
    user_type="Company",
    company_id="C1",
    location_id=None,
    user_id="U1",
    scopes=("conversations.readonly", "oauth.write"),
)


def test_neither_token_shows_in_a_repr() -> None:
    shown = repr(TOKENS) + str(TOKENS)
    assert "SECRET" not in shown
    assert "C1" in shown
    assert "[hidden]" in shown


def test_a_document_reads_back_as_the_same_tokens() -> None:
    assert OAuthTokens.from_document(TOKENS.to_document(), "here") == TOKENS


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ([], "is not a leadway-async token store"),
        ({"access_token": "x"}, "is not a leadway-async token store"),
        ({**TOKENS.to_document(), "version": 2}, "version 2; this release reads version 1"),
        ({**TOKENS.to_document(), "access_token": ""}, "access_token is not a non-empty"),
        ({**TOKENS.to_document(), "expires_at": "soon"}, "expires_at is not a number"),
        ({**TOKENS.to_document(), "user_type": "Agency"}, "user_type is 'Agency'"),
        ({**TOKENS.to_document(), "scopes": [1]}, "scopes is not a list of strings"),
    ],
)
def test_a_document_that_is_not_ours_is_refused_by_name(document: object, complaint: str) -> None:
    with pytest.raises(TokenStoreError, match=complaint) as caught:
        OAuthTokens.from_document(document, "the store X")
    assert "the store X" in str(caught.value)
    assert "SECRET" not in str(caught.value)


async def test_the_memory_store_keeps_what_it_is_given() -> None:
    store = MemoryTokenStore()
    assert isinstance(store, TokenStore)
    assert await store.read() is None
    await store.write(TOKENS)
    assert await store.read() == TOKENS
    assert "SECRET" not in repr(store)


async def test_the_file_store_writes_a_file_only_its_owner_can_read(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    assert isinstance(store, TokenStore)
    assert await store.read() is None
    await store.write(TOKENS)
    mode = stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode)
    assert mode == 0o600
    assert await FileTokenStore(tmp_path / "tokens.json").read() == TOKENS
    assert os.listdir(tmp_path) == ["tokens.json"]  # no temporary left


async def test_the_file_store_replaces_a_stale_temporary_with_its_own_mode(tmp_path: Path) -> None:
    stale = tmp_path / f".tokens.json.{os.getpid()}.tmp"
    stale.write_text("half")
    stale.chmod(0o644)
    store = FileTokenStore(tmp_path / "tokens.json")
    await store.write(TOKENS)
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600


async def test_the_file_store_refuses_a_file_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    await store.write(TOKENS)
    path.chmod(0o640)
    with pytest.raises(TokenStoreError, match=r"can be read by other users; run `chmod 600"):
        await store.read()


async def test_the_file_store_refuses_a_file_that_is_not_a_token_store(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    for content in ("not json", json.dumps({"hello": 1})):
        path.write_text(content)
        path.chmod(0o600)
        with pytest.raises(TokenStoreError, match="is not a leadway-async token store"):
            await FileTokenStore(path).read()


def test_the_file_store_refuses_a_path_in_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(TokenStoreError, match="does not exist"):
        FileTokenStore(tmp_path / "nowhere" / "tokens.json")
    with pytest.raises(TokenStoreError, match="is a directory"):
        FileTokenStore(tmp_path)


async def test_a_failed_write_says_so_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    path.mkdir()  # something that cannot be replaced by a file
    with pytest.raises(TokenStoreError, match="cannot write the token store") as caught:
        await store.write(TOKENS)
    assert "SECRET" not in str(caught.value)
    assert os.listdir(tmp_path) == ["tokens.json"]


async def test_the_memory_store_lock_admits_one_holder_at_a_time() -> None:
    store = MemoryTokenStore()
    inside = 0
    most = 0

    async def hold() -> None:
        nonlocal inside, most
        async with store.lock():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(hold() for _ in range(20)))
    assert most == 1


_HOLDER = textwrap.dedent(
    """
    import asyncio, sys, time
    from leadway_async.auth import FileTokenStore

    async def main(path, log):
        store = FileTokenStore(path)
        for _ in range(5):
            async with store.lock():
                with open(log, "a") as out:
                    out.write("in\\n"); out.flush()
                await asyncio.sleep(0.005)
                with open(log, "a") as out:
                    out.write("out\\n"); out.flush()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_the_file_store_lock_holds_across_processes(tmp_path: Path) -> None:
    log = tmp_path / "log"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _HOLDER, str(tmp_path / "tokens.json"), str(log)
        )
        for _ in range(4)
    ]
    assert [await p.wait() for p in processes] == [0, 0, 0, 0]
    lines = log.read_text().split()
    assert lines == ["in", "out"] * 20
