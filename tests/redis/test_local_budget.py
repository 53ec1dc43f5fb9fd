"""The book a process keeps of a location, and the limit it keeps alone while Redis is away."""

from __future__ import annotations

import pytest
from redis_helpers import need_redis

need_redis()

from leadway_async.redis.fallback import LocalBudget  # noqa: E402

SPAN = 1.005  # a window of 1000 ms plus the least margin


def budget(size: int = 20, share: float = 0.25) -> LocalBudget:
    book = LocalBudget(share=share, margin_ratio=0.001, margin_min_s=0.005)
    book.learn(size, 1000)
    return book


def test_alone_a_process_holds_at_most_its_share_of_the_window() -> None:
    book = budget(20, 0.25)
    assert book.cap == 5
    grants = [book.send(0.0) for _ in range(5)]
    assert book.delay(0.0) is None  # five in flight: only a finish frees a place
    for grant in grants:
        book.finish(grant, 0.1)
    assert book.delay(0.2) == pytest.approx(0.1 + SPAN - 0.2)
    assert book.delay(0.1 + SPAN + 0.001) == 0.0


def test_the_share_is_at_least_one_place() -> None:
    book = budget(3, 0.25)
    assert book.cap == 1
    book.send(0.0)
    assert book.delay(0.0) is None


def test_places_of_unseen_spenders_count_against_the_whole_window() -> None:
    book = budget(10, 0.5)
    grant = book.send(0.0)
    book.finish(grant, 0.05, remaining=1)  # the server counted 9; ours: 1
    assert book.held(0.05) == 9
    assert book.delay(0.06) == 0.0  # the tenth place is free, and ours are under the share
    grant = book.send(0.06)
    assert book.delay(0.06) == pytest.approx(0.05 + SPAN - 0.06)  # the window is full


def test_holds_lists_how_long_each_finished_place_stays_held() -> None:
    book = budget(10)
    grant = book.send(0.0)
    book.finish(grant, 0.5, remaining=6)  # three unseen
    book.send(0.6)  # in flight: not a finished place
    assert book.holds(1.0) == pytest.approx([0.5 + SPAN - 1.0] * 4)
    assert book.holds(0.5 + SPAN) == []


def test_until_an_answer_says_the_window_nothing_holds_a_request_back() -> None:
    book = LocalBudget(share=0.25, margin_ratio=0.001, margin_min_s=0.005)
    assert (book.cap, book.learned, book.delay(0.0)) == (None, False, 0.0)
    book.learn(None, None)  # an answer without the headers: no limit announced
    assert book.learned
    assert book.delay(0.0) == 0.0
