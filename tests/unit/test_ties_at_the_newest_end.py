"""A newest-first walk over a location where conversations take the newest sort value
while it runs: those sharing the value the walk began at come once, and none twice."""

from __future__ import annotations

from collections import Counter

import pytest

from leadway_async.cursor import WalkState

from .server_model import Change, Item, ModelServer, walk

BASE = {"locationId": "L", "sort": "desc"}


def location(top_run: int, value: int = 5_000) -> list[Item]:
    """300 conversations with values of their own, then `top_run` sharing the newest."""
    items = [Item(f"a{i:03d}", 1_000 + i, 1_000_000 + i) for i in range(300)]
    return items + [Item(f"t{i:03d}", value, 2_000_000 + i) for i in range(top_run)]


def created(count: int, value: int, *, at: int = 3, prefix: str = "n") -> list[Change]:
    """`count` conversations created before request `at`, all with the sort value `value`."""
    return [Change(at, "create", f"{prefix}{i:03d}", value, 3_000_000 + i) for i in range(count)]


@pytest.mark.parametrize(
    "joining",
    [
        60,  # with those already there, more than a page share the value
        150,  # more than a page of new ones alone
        20,  # fewer: a page still holds them all
    ],
)
def test_conversations_joining_the_value_the_walk_began_at_come_once(joining: int) -> None:
    server = ModelServer(location(60), changes=created(joining, 5_000))
    handed, _ = walk(server, WalkState.start(BASE), BASE, 50)
    assert Counter(handed) == Counter(item.id for item in server.items)  # each once


@pytest.mark.parametrize("above", [45, 99])
def test_a_page_of_new_ones_and_those_had_before_at_the_first_value_is_walked_past(
    above: int,
) -> None:
    # New conversations above the value the walk began at; asked again from theirs, a page
    # holds only them and the 60 handed out before with 5,000.
    changes = created(above, 5_001) + created(1, 5_002, prefix="m")
    server = ModelServer(location(60), changes=changes)
    handed, _ = walk(server, WalkState.start(BASE), BASE, 50)
    assert Counter(handed) == Counter(item.id for item in server.items)
