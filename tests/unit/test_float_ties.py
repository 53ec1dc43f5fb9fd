"""Walks over sort values that are not whole numbers (scores in halves, fractional dates),
with runs of equal values cut by a page's edge: each conversation comes once, in order."""

from __future__ import annotations

import pytest

from leadway_async.cursor import WalkState

from .server_model import Item, ModelServer, walk

BASE = {"locationId": "L"}


def scores() -> list[Item]:
    """Scores in halves with runs of 1 to 5 equal ones; and fractions of a millisecond
    near 2^40 ms, where one step of a float is small."""
    items, index = [], 0
    for step in range(40):
        for _ in range(step % 5 + 1):
            items.append(Item(f"s{index:03d}", 0.5 + step * 2.5, index))
            index += 1
    for step in range(20):
        for _ in range(step % 3 + 1):
            items.append(Item(f"d{index:03d}", 2.0**40 + 0.25 + step * 0.5, index))
            index += 1
    return items


def server_order(items: list[Item], order: str) -> list[str]:
    def key(item: Item) -> tuple[float, str]:
        assert item.value is not None
        return (item.value if order == "asc" else -item.value, item.id)

    return [item.id for item in sorted(items, key=key)]


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 7, 10])
def test_ties_of_fractional_values_at_a_page_edge_are_walked_once_in_order(
    order: str, page_size: int
) -> None:
    items = scores()
    base = {**BASE, "sort": order}
    handed, _ = walk(ModelServer(items), WalkState.start(base, catch_up=False), base, page_size)
    assert handed == server_order(items, order)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_walk_resumed_inside_a_run_of_fractional_values_loses_none_of_it(order: str) -> None:
    items = scores()
    base = {**BASE, "sort": order}
    want = server_order(items, order)
    for stop in (1, 4, 9, 57, 100):
        first, state = walk(ModelServer(items), WalkState.start(base), base, 3, stop_after=stop)
        token = state.to_token()
        rest, _ = walk(ModelServer(items), WalkState.from_token(token, query=base), base, 3)
        assert first + rest == want
