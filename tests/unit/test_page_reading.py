"""Reading a page: the collector paused while it is built, and its last sort value read
early from the raw bytes."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from leadway_async import ResponseDecodeError, ResponseValidationError
from leadway_async._collector import collector_paused
from leadway_async._convert import decode_json, page_from_payload
from leadway_async._fast_pages import decode_page
from leadway_async._responses import page_from_body
from leadway_async.models import RateLimit
from leadway_async.pagination import last_sort_value


def big_page(count: int = 100, unknown: bool = False) -> bytes:
    """A page of `count` conversations, read fast unless each has an `unknown` key."""
    conversations = [
        {
            "id": f"c{i}",
            "tags": ["a", "b"],
            "followers": [f"u{i}"],
            "mentions": [],
            "messageTypes": [1],
            "scoring": [],
            "sort": [1_000 + i],
            **({"channel": "sms"} if unknown else {}),
        }
        for i in range(count)
    ]
    return orjson.dumps({"conversations": conversations, "total": count})


_BUILDING = ("page_from_payload", "decode_json", "decode_page")


def _building_a_page() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        # (`in`: under mutation testing a function runs as `x_<name>__mutmut_orig`)
        if any(name in frame.f_code.co_name for name in _BUILDING):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


@pytest.fixture
def collections_while_building() -> Iterator[list[int]]:
    """A collector that runs on every allocation of a tracked object; yields a list that
    gets one entry per collection started while a page is decoded or built."""
    threshold = gc.get_threshold()
    collections: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and _building_a_page():
            collections.append(info["generation"])

    gc.set_threshold(1)
    gc.callbacks.append(count)
    try:
        yield collections
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*threshold)


def test_no_collection_runs_while_a_page_is_built(collections_while_building: list[int]) -> None:
    body = big_page()
    assert decode_page(body) is not None  # the same work without the pause: collections run
    assert collections_while_building
    collections_while_building.clear()
    page = page_from_body(200, CIMultiDict(), body)
    assert collections_while_building == []
    assert len(page) == 100


def test_no_collection_runs_while_a_page_is_built_the_tolerant_way(
    collections_while_building: list[int],
) -> None:
    body = big_page(unknown=True)
    payload = decode_json(body)  # the same work without the pause: collections run
    page_from_payload(payload, rate_limit=RateLimit(), request_id=None)
    assert collections_while_building
    collections_while_building.clear()
    page = page_from_body(200, CIMultiDict(), body)
    assert collections_while_building == []
    assert page.conversations[0].extra == {"channel": "sms"}


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was_found(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        page_from_body(200, CIMultiDict(), big_page(3))
        assert gc.isenabled() is enabled
        page_from_body(200, CIMultiDict(), big_page(3, unknown=True))
        assert gc.isenabled() is enabled
        with pytest.raises(ResponseDecodeError):
            page_from_body(200, CIMultiDict(), b'{"conversations": [')
        assert gc.isenabled() is enabled
        with pytest.raises(ResponseValidationError):
            page_from_body(200, CIMultiDict(), b'{"conversations": 5}')
        assert gc.isenabled() is enabled
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_the_last_sort_value_is_read_from_the_raw_body() -> None:
    assert last_sort_value(big_page(3)) == 1_002
    assert last_sort_value(b'{"conversations":[{"id":"a","sort":[-5]}]}') == -5
    assert last_sort_value(b'{"conversations":[]}') is None


@pytest.mark.parametrize(
    "sort", [b"[1,2]", b"[1.5]", b"[]", b'["x"]', b"[null]", b"[1e3]", b"[--1]", b"[-]"]
)
def test_a_sort_value_that_is_not_one_whole_number_gives_no_guess(sort: bytes) -> None:
    assert last_sort_value(b'{"conversations":[{"id":"a","sort":' + sort + b"}]}") is None


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.text(min_size=1),
                "sort": st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=1),
            },
            optional={"lastMessageBody": st.text(), "tags": st.lists(st.text())},
        ),
        min_size=1,
        max_size=5,
    )
)
def test_text_that_looks_like_a_sort_key_does_not_mislead_it(items: list[dict[str, Any]]) -> None:
    # Inside a JSON string a quote is always escaped, so `"sort":[` in text cannot match.
    for item in items:
        item["lastMessageBody"] = item.get("lastMessageBody", "") + '"sort":[7]'
    body = orjson.dumps({"conversations": items})
    assert last_sort_value(body) == items[-1]["sort"][0]
