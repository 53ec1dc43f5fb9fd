"""What the mirror tests share: emulators, clients, and the mirror held against the
emulator's ground truth."""

from __future__ import annotations

import os
import random
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from leadway_async import LeadwayClient
from leadway_async.testing import LeadwayEmulator
from leadway_async.testing.messages import with_message

from .conftest import Database


def emulator(conversations: int = 600, **options: Any) -> LeadwayEmulator:
    """An emulator answering at once, its burst window out of the way unless told."""
    options.setdefault("rate_limit_max", 1_000_000)
    return LeadwayEmulator(conversations=conversations, seed=options.pop("seed", 17), **options)


def client_for(emu: Any, **options: Any) -> LeadwayClient:
    return LeadwayClient(emu.token, location_id=emu.location_id, base_url=emu.url, **options)


def served(conversation: Mapping[str, Any]) -> dict[str, Any]:
    """A ground-truth wire dict as the mirror keeps its JSON: null fields left out."""
    return {k: v for k, v in conversation.items() if v is not None}


def alive(rows: Mapping[str, Mapping[str, Any]], location_id: str) -> dict[str, Any]:
    """The rows of a location not marked deleted."""
    return {
        i: row
        for i, row in rows.items()
        if row["mirror_location_id"] == location_id and row["deleted_at"] is None
    }


def assert_no_duplicates(db: Database) -> None:
    ((rows, distinct),) = db.sql("SELECT count(*), count(DISTINCT id) FROM conversations")
    assert rows == distinct


def assert_mirror_is(db: Database, truth: Sequence[Mapping[str, Any]], location_id: str) -> None:
    """The location's rows not marked deleted are exactly `truth`, each as served, and
    every other row of it is marked deleted."""
    assert_no_duplicates(db)
    rows = db.rows()
    present = alive(rows, location_id)
    want = {c["id"]: served(c) for c in truth}
    missing, extra = want.keys() - present.keys(), present.keys() - want.keys()
    assert not missing, f"{len(missing)} missing, such as {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} not deleted, such as {sorted(extra)[:3]}"
    stale = [i for i, row in present.items() if row["raw"] != want[i]]
    assert not stale, f"{len(stale)} stale, such as {stale[:3]}"


def changed(
    truth: Sequence[dict[str, Any]],
    seed: int,
    *,
    messages: int,
    created: int,
    deleted: int,
    read: int,
    at_ms: int,
) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
    """`truth` after some changes, and which ids each kind of change touched: messages
    (the conversation moves to `at_ms` and after), new conversations, deletions, reads
    (unreadCount to 0, no new date)."""
    rng = random.Random(seed)
    conversations = {c["id"]: dict(c) for c in truth}
    ids = sorted(conversations)
    rng.shuffle(ids)
    moved = set(ids[:messages])
    gone = set(ids[messages : messages + deleted])
    unread = [
        i for i in ids[messages + deleted :] if (conversations[i].get("unreadCount") or 0) > 0
    ]
    readed = set(unread[:read])
    for k, conversation_id in enumerate(sorted(moved)):
        conversations[conversation_id] = with_message(
            rng, conversations[conversation_id], at_ms + k
        )
    for conversation_id in readed:
        conversations[conversation_id]["unreadCount"] = 0
    for conversation_id in gone:
        del conversations[conversation_id]
    template = truth[0]
    new = set()
    for k in range(created):
        conversation_id = f"new{seed:04d}{k:06d}xxxxxxx"[:20]
        fresh = with_message(rng, {**template, "id": conversation_id}, at_ms + messages + k)
        fresh["dateAdded"] = fresh["lastMessageDate"]
        conversations[conversation_id] = fresh
        new.add(conversation_id)
    touched = {"moved": moved, "created": new, "deleted": gone, "read": readed}
    return list(conversations.values()), touched


def console_script() -> str:
    """The installed `leadway-async` script (the one beside this Python first)."""
    found = shutil.which("leadway-async", path=str(Path(sys.executable).parent))
    found = found or shutil.which("leadway-async")
    if found is None:
        pytest.fail("the console script 'leadway-async' is not installed (pip install -e .)")
    return found


def cli_env() -> dict[str, str]:
    """This process's environment without LEADWAY_* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LEADWAY_")}


def connection(emu: Any) -> list[str]:
    """The options that point a command at `emu`."""
    return ["--token", emu.token, "--base-url", emu.url]


def lease_expired(db: Database, location_id: str) -> bool:
    """Whether the location's lease is free or has run out."""
    now: Any = datetime.now(timezone.utc)
    if db.kind == "sqlite":
        now = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    ((free,),) = db.sql(
        "SELECT lease_owner IS NULL OR lease_expires_at < ? FROM mirror_state "
        "WHERE location_id = ?",
        (now, location_id),
    )
    return bool(free)


def wait_for_lease_expiry(db: Database, location_id: str, timeout: float = 10.0) -> None:
    """Wait for the lease of a worker that could not give it back to run out."""
    deadline = time.monotonic() + timeout
    while not lease_expired(db, location_id):
        assert time.monotonic() < deadline, "the lease never ran out"
        time.sleep(0.05)
