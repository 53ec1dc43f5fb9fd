"""Many locations: each with its own conversations, rate limits and live changes; the default
location as it always was."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from leadway_async.testing import (
    DEFAULT_LOCATION_ID,
    LeadwayEmulator,
    LiveChanges,
    generate_conversations,
)
from leadway_async.testing.__main__ import extra_locations

from .conftest import Api, FakeClock, untraced

EXTRA = ("secondLocation000001", "thirdLocation0000001")
FORBIDDEN = {
    "statusCode": 403,
    "message": "The token does not have access to this location.",
    "error": "Forbidden",
}


def ids(conversations: list[dict[str, object]]) -> list[object]:
    return [c["id"] for c in conversations]


@pytest.fixture
async def many(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async with LeadwayEmulator(
        conversations=40, seed=9, ties=0.2, locations=EXTRA, rate_limit_max=10**6
    ) as emulator:
        yield Api(emulator, http)


async def test_each_location_serves_its_own_conversations(many: Api) -> None:
    emu = many.emulator
    assert emu.location_ids == (DEFAULT_LOCATION_ID, *EXTRA)
    seen: dict[str, list[object]] = {}
    for location in emu.location_ids:
        walked = await Api(emu, many.session, location).walk(limit="100")
        assert {c["locationId"] for c in walked} == {location}
        assert len(walked) == 40
        assert walked == emu.expected({"locationId": location})
        assert walked == emu.expected(location_id=location)
        assert sorted(ids(walked)) == sorted(ids(emu.conversations_in(location)))
        seen[location] = ids(walked)
    every = [found for ids_ in seen.values() for found in ids_]
    assert len(set(every)) == len(every) == 120
    assert emu.conversations == emu.conversations_in(DEFAULT_LOCATION_ID)


async def test_the_default_location_is_what_it_was_without_extra_locations(
    many: Api, http: aiohttp.ClientSession
) -> None:
    async with LeadwayEmulator(conversations=40, seed=9, ties=0.2) as alone:
        assert alone.location_ids == (DEFAULT_LOCATION_ID,)
        single = Api(alone, http)
        assert await single.walk(limit="9") == await many.walk(limit="9")
        other = await single.get({"locationId": EXTRA[0]}, location=False)
        assert (other.status, untraced(other.body)) == (403, FORBIDDEN)
    made = generate_conversations(40, seed=9, location_id=DEFAULT_LOCATION_ID, ties=0.2)
    assert sorted(ids(many.emulator.conversations)) == sorted(ids(made))


def test_extra_locations_are_seeded_by_the_seed_and_their_id() -> None:
    def data(seed: int, locations: tuple[str, ...]) -> list[object]:
        return ids(
            LeadwayEmulator(conversations=5, seed=seed, locations=locations).conversations_in(
                locations[0]
            )
        )

    assert data(1, EXTRA) == data(1, EXTRA)
    assert data(1, EXTRA) != data(2, EXTRA)
    assert data(1, EXTRA) != data(1, EXTRA[::-1])
    given = [{"id": "a", "lastMessageDate": 1}, {"id": "b", "lastMessageDate": 2}]
    emu = LeadwayEmulator(conversations=given, locations=EXTRA[:1])
    assert len(emu.conversations_in(EXTRA[0])) == 2  # as many as the default location's


async def test_a_location_not_served_is_403(many: Api) -> None:
    reply = await many.get({"locationId": "notServedLocation001"}, location=False)
    assert (reply.status, untraced(reply.body)) == (403, FORBIDDEN)
    with pytest.raises(ValueError, match="does not serve"):
        many.emulator.expected({"locationId": "notServedLocation001"})
    with pytest.raises(ValueError, match="does not serve"):
        many.emulator.conversations_in("notServedLocation001")
    with pytest.raises(ValueError, match="is not"):
        many.emulator.expected({"locationId": EXTRA[0]}, location_id=EXTRA[1])


async def test_each_location_has_its_own_burst_window(http: aiohttp.ClientSession) -> None:
    async with LeadwayEmulator(conversations=5, locations=EXTRA, rate_limit_max=2) as emulator:
        api = Api(emulator, http)
        home = [(await api.get()).status for _ in range(3)]
        extra = await api.get({"locationId": EXTRA[0]}, location=False)
        assert home == [200, 200, 429]
        assert (extra.status, extra.headers["X-RateLimit-Remaining"]) == (200, "1")
        emulator.reset_rate_limits(EXTRA[0])
        assert (await api.get()).status == 429  # only the location named starts afresh
        emulator.reset_rate_limits(emulator.location_id)
        assert (await api.get()).status == 200
        with pytest.raises(ValueError, match="does not serve"):
            emulator.reset_rate_limits("notServedLocation001")


async def test_each_location_has_its_own_daily_budget(http: aiohttp.ClientSession) -> None:
    async with LeadwayEmulator(conversations=5, locations=EXTRA, daily_limit=1) as emulator:
        api = Api(emulator, http)
        assert [(await api.get()).status for _ in range(2)] == [200, 429]
        for location in EXTRA:
            reply = await api.get({"locationId": location}, location=False)
            assert (reply.status, reply.headers["X-RateLimit-Daily-Remaining"]) == (200, "0")
        emulator.reset_rate_limits()
        assert (await api.get()).status == 200


async def test_each_location_changes_on_its_own(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    live = LiveChanges(messages_per_s=5, seed=2)
    async with LeadwayEmulator(
        conversations=30, locations=EXTRA, live=live, clock=clock, rate_limit_max=10**6
    ) as emulator:
        api = Api(emulator, http)
        start = clock.now
        clock.advance(20)
        moved = {
            location: emulator.live_in(location).moved(start, clock.now)
            for location in emulator.location_ids
        }
        assert all(moved.values())
        # Each location's changes come from a seed of its own: they happen at other times.
        rhythms = {
            tuple(len(world.moved(start + k, start + k + 0.5)) for k in range(20))
            for world in map(emulator.live_in, emulator.location_ids)
        }
        assert len(rhythms) == 3
        assert emulator.live is emulator.live_in()
        newest = (await api.search(limit="1"))["conversations"][0]
        assert newest["id"] in moved[DEFAULT_LOCATION_ID]
        other = await api.get({"locationId": EXTRA[0], "limit": "1"}, location=False)
        assert other.body["conversations"][0]["id"] in moved[EXTRA[0]]

        span = {"from": str(start), "to": str(clock.now)}
        headers = {"Authorization": f"Bearer {emulator.token}"}
        async with http.get(
            f"{emulator.url}/_emulator/live",
            params={**span, "locationId": EXTRA[0]},
            headers=headers,
        ) as answer:
            assert set((await answer.json())["moved"]) == moved[EXTRA[0]]
        async with http.get(
            f"{emulator.url}/_emulator/live",
            params={**span, "locationId": "notServedLocation001"},
            headers=headers,
        ) as answer:
            assert answer.status == 403


async def test_set_conversations_in_one_location(many: Api) -> None:
    emu = many.emulator
    emu.set_conversations([{"id": "only", "lastMessageDate": 5}], location_id=EXTRA[1])
    body = (await many.get({"locationId": EXTRA[1]}, location=False)).body
    assert ids(body["conversations"]) == ["only"]
    assert len(emu.conversations) == 40


@pytest.mark.parametrize(
    ("locations", "message"),
    [
        ("oneLocationAsAString", "not one string"),
        (["", "b"], "non-empty"),
        (["a", "a"], "distinct"),
        ([DEFAULT_LOCATION_ID], "distinct"),
    ],
)
def test_bad_locations_are_refused(locations: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LeadwayEmulator(conversations=1, locations=locations)  # type: ignore[arg-type]


def test_the_command_line_takes_ids_or_a_number_of_locations() -> None:
    assert extra_locations(None, seed=0, default="d") == []
    assert extra_locations(" a, b ,", seed=0, default="d") == ["a", "b"]
    generated = extra_locations("3", seed=4, default=DEFAULT_LOCATION_ID)
    assert len(set(generated)) == 3
    assert all(len(location) == 20 and location.isalnum() for location in generated)
    assert generated == extra_locations("3", seed=4, default=DEFAULT_LOCATION_ID)
    assert generated != extra_locations("3", seed=5, default=DEFAULT_LOCATION_ID)
    assert DEFAULT_LOCATION_ID not in generated
    with pytest.raises(ValueError, match="--locations"):
        extra_locations(" , ", seed=0, default="d")
