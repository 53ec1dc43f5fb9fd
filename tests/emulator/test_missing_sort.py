"""Conversations lacking the sortBy value: kept last with a sentinel, counted, and exact cursors."""

from __future__ import annotations

from typing import Any

import pytest

from leadway_async.testing import LeadwayEmulator, QueryError

from .conftest import Api, untraced

LAST = 9_223_372_036_854_775_807
NEAR = LAST - 1  # 9223372036854775806: a float cannot tell it from LAST
MANUAL = {"sortBy": "last_manual_message_date"}
SCORE = {"sortBy": "score_profile", "sortScoreProfile": "P"}
CONVERSATIONS: list[dict[str, Any]] = [
    {
        "id": "m1",
        "lastMessageDate": 10,
        "lastManualMessageDate": 5,
        "scoring": [{"profileId": "P", "score": 50}],
    },
    {
        "id": "m0",
        "lastMessageDate": 11,
        "lastManualMessageDate": 5,
        "scoring": [{"profileId": "Q", "score": 99}, {"profileId": "P", "score": 7.5}],
    },
    {"id": "z", "lastMessageDate": 12, "lastManualMessageDate": None, "scoring": []},
    {"id": "b", "lastMessageDate": 13},
    # Not numbers, or the old dict shape of `scoring`: lacking too.
    {"id": "a", "lastMessageDate": 14, "lastManualMessageDate": "5", "scoring": {"P": 3}},
    {
        "id": "big",
        "lastMessageDate": 15,
        "lastManualMessageDate": NEAR,
        "scoring": [{"profileId": "P", "score": NEAR}],
    },
    {
        "id": "neg",
        "lastMessageDate": 16,
        "lastManualMessageDate": -NEAR,
        "scoring": [{"profileId": "P", "score": -NEAR}],
    },
]
LACKING = ["a", "b", "z"]  # by id ascending, in both orders


@pytest.fixture
def small(emulator: LeadwayEmulator) -> LeadwayEmulator:
    emulator.set_conversations(CONVERSATIONS)
    return emulator


def ids(body: dict[str, Any]) -> list[str]:
    return [c["id"] for c in body["conversations"]]


def sorts(body: dict[str, Any]) -> list[Any]:
    return [c["sort"][0] for c in body["conversations"]]


@pytest.mark.parametrize(
    ("params", "asc", "desc"),
    [
        (MANUAL, ["neg", "m0", "m1", "big"], ["big", "m0", "m1", "neg"]),
        (SCORE, ["neg", "m0", "m1", "big"], ["big", "m1", "m0", "neg"]),
    ],
)
async def test_those_lacking_the_value_come_last_in_both_orders_with_a_sentinel(
    params: dict[str, str], asc: list[str], desc: list[str], api: Api, small: LeadwayEmulator
) -> None:
    up = await api.search(**params, sort="asc", limit="100")
    down = await api.search(**params, sort="desc", limit="100")
    assert ids(up) == [*asc, *LACKING]
    assert ids(down) == [*desc, *LACKING]
    assert sorts(up)[-3:] == [LAST] * 3
    assert sorts(down)[-3:] == [-LAST] * 3
    assert up["total"] == down["total"] == 7
    served = {c["id"]: c["sort"][0] for c in up["conversations"]}
    assert (served["neg"], served["big"]) == (-NEAR, NEAR)
    assert all(type(value) is int for value in sorts(up) + sorts(down) if value != 7.5)
    for order, body in (("asc", up), ("desc", down)):
        assert small.expected({**params, "sort": order}) == body["conversations"]


@pytest.mark.parametrize("params", [MANUAL, SCORE])
async def test_integer_cursors_are_compared_exactly(
    params: dict[str, str], api: Api, small: LeadwayEmulator
) -> None:
    async def after(order: str, cursor: int) -> list[str]:
        body = await api.search(**params, sort=order, startAfterDate=str(cursor), limit="100")
        assert body["total"] == 7  # the total ignores the cursor
        expected = small.expected({**params, "sort": order, "startAfterDate": cursor})
        assert [c["id"] for c in expected] == ids(body)
        return ids(body)

    assert await after("asc", NEAR - 1) == ["big", *LACKING]
    assert await after("asc", NEAR) == LACKING  # through a float, NEAR would equal LAST
    assert await after("asc", LAST) == []
    assert await after("desc", -(NEAR - 1)) == ["neg", *LACKING]
    assert await after("desc", -NEAR) == LACKING
    assert await after("desc", -LAST) == []
    assert len(await after("desc", LAST)) == 7


async def test_a_walk_ends_at_the_sentinel(api: Api, small: LeadwayEmulator) -> None:
    first = await api.search(**MANUAL, sort="asc", limit="5")
    assert ids(first) == ["neg", "m0", "m1", "big", "a"]
    cursor = str(first["conversations"][-1]["sort"][0])
    rest = await api.search(**MANUAL, sort="asc", limit="5", startAfterDate=cursor)
    assert untraced(rest) == {"conversations": [], "total": 7}  # b and z tie with a


async def test_totals_count_those_lacking_the_value_under_filters_too(
    api: Api, small: LeadwayEmulator
) -> None:
    body = await api.search(**MANUAL, id="b")
    assert (ids(body), sorts(body), body["total"]) == (["b"], [-LAST], 1)
    scored = await api.search(**SCORE, scoreProfile="P", scoreProfileMin="0", limit="100")
    assert (ids(scored), scored["total"]) == (["big", "m1", "m0"], 3)


@pytest.mark.parametrize(
    "cursor",
    ["9223372036854775808", "-9223372036854775809", "1e19", "-9.3e18", "99999999999999999999"],
)
async def test_cursors_outside_the_signed_64_bit_range_are_422(
    cursor: str, api: Api, small: LeadwayEmulator
) -> None:
    reply = await api.get({"startAfterDate": cursor})
    assert reply.status == 422
    (message,) = reply.body["message"]
    assert message.startswith("startAfterDate must be between -9223372036854775808 and")
    with pytest.raises(QueryError):
        small.expected({"startAfterDate": cursor})


@pytest.mark.parametrize("cursor", [str(LAST), "-9223372036854775808", "1e18", "-0.5"])
async def test_cursors_inside_the_range_are_accepted(cursor: str, api: Api) -> None:
    assert (await api.get({"startAfterDate": cursor})).status == 200
