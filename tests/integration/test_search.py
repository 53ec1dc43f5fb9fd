"""search() against the emulator over loopback: results, every parameter, validation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from leadway_async import (
    Conversation,
    ConversationPage,
    ConversationStatus,
    LeadwayClient,
    MessageDirection,
    MessageType,
    PermissionDeniedError,
    SortBy,
    SortOrder,
)
from leadway_async.testing import LeadwayEmulator


def ids(items: Any) -> list[str]:
    return [item.id if isinstance(item, Conversation) else item["id"] for item in items]


async def test_search_returns_typed_page_matching_the_emulator(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    page = await client.search(limit=25)

    expected = emulator.expected({"locationId": emulator.location_id})
    assert isinstance(page, ConversationPage)
    assert page.total == len(expected)
    assert ids(page) == ids(expected[:25])
    first = page.conversations[0]
    assert isinstance(first, Conversation)
    assert first.id == expected[0]["id"]
    assert first.last_message_date_ms == expected[0]["lastMessageDate"]
    assert first.last_message_date is not None
    assert first.last_message_date.tzinfo is not None
    assert page.next_cursor == page.conversations[-1].sort[0]  # type: ignore[index]
    assert page.rate_limit.max is not None
    assert page.rate_limit.remaining is not None
    assert page.request_id


async def test_unknown_fields_and_enum_values_survive_structuring(
    emulator: LeadwayEmulator, client: LeadwayClient
) -> None:
    future = dict(emulator.conversations[0])
    future.update(id="FUTURE000000000000001", lastMessageType="TYPE_HOLOGRAM", brandNew={"a": 1})
    emulator.set_conversations([future])

    page = await client.search()

    (conv,) = page.conversations
    assert conv.last_message_type == "TYPE_HOLOGRAM"
    assert not isinstance(conv.last_message_type, MessageType)
    assert conv.extra["brandNew"] == {"a": 1}


def _a_user(emulator: LeadwayEmulator) -> str:
    return next(c["assignedTo"] for c in emulator.conversations if c.get("assignedTo"))


def _a_follower(emulator: LeadwayEmulator) -> str:
    return next(c["followers"][0] for c in emulator.conversations if c.get("followers"))


def _a_mention(emulator: LeadwayEmulator) -> str:
    return next(c["mentions"][0] for c in emulator.conversations if c.get("mentions"))


def _date_added(emulator: LeadwayEmulator, fraction: float) -> int:
    dates = sorted(c["dateAdded"] for c in emulator.conversations)
    return int(dates[int(len(dates) * fraction)])


# Each case: keyword filters for search() (built from the emulator's data), and the wire
# query the SDK must send for them (besides locationId).
FILTER_CASES: dict[str, Any] = {
    "contact_id": lambda e: (
        {"contact_id": e.conversations[3]["contactId"]},
        {"contactId": e.conversations[3]["contactId"]},
    ),
    "assigned_to list": lambda e: (
        {"assigned_to": [_a_user(e), "nobody"]},
        {"assignedTo": f"{_a_user(e)},nobody"},
    ),
    "assigned_to unassigned": lambda e: (
        {"assigned_to": "unassigned"},
        {"assignedTo": "unassigned"},
    ),
    "followers": lambda e: ({"followers": [_a_follower(e)]}, {"followers": _a_follower(e)}),
    "mentions": lambda e: ({"mentions": _a_mention(e)}, {"mentions": _a_mention(e)}),
    "query": lambda e: ({"query": "an"}, {"query": "an"}),
    "sort asc": lambda e: ({"sort": "asc"}, {"sort": "asc"}),
    "sort enum": lambda e: ({"sort": SortOrder.DESC}, {"sort": "desc"}),
    "conversation_id": lambda e: (
        {"conversation_id": e.conversations[7]["id"]},
        {"id": e.conversations[7]["id"]},
    ),
    "limit": lambda e: ({"limit": 7}, {"limit": "7"}),
    "last_message_type": lambda e: (
        {"last_message_type": MessageType.TYPE_SMS},
        {"lastMessageType": "TYPE_SMS"},
    ),
    "last_message_action": lambda e: (
        {"last_message_action": "manual"},
        {"lastMessageAction": "manual"},
    ),
    "last_message_direction": lambda e: (
        {"last_message_direction": MessageDirection.INBOUND},
        {"lastMessageDirection": "inbound"},
    ),
    "status unread": lambda e: (
        {"status": ConversationStatus.UNREAD},
        {"status": "unread"},
    ),
    "status starred": lambda e: ({"status": "starred"}, {"status": "starred"}),
    "sort_by": lambda e: (
        {"sort_by": SortBy.LAST_MANUAL_MESSAGE_DATE, "sort": "asc"},
        {"sortBy": "last_manual_message_date", "sort": "asc"},
    ),
    "dates as ints": lambda e: (
        {"start_date": _date_added(e, 0.2), "end_date": _date_added(e, 0.6)},
        {"startDate": str(_date_added(e, 0.2)), "endDate": str(_date_added(e, 0.6))},
    ),
    "dates as aware datetimes": lambda e: (
        {
            "start_date": datetime.fromtimestamp(
                _date_added(e, 0.3) / 1000, tz=timezone(timedelta(hours=-5))
            )
        },
        {"startDate": str(_date_added(e, 0.3))},
    ),
    "start_after_date": lambda e: (
        {"start_after_date": e.conversations[10]["lastMessageDate"]},
        {"startAfterDate": str(e.conversations[10]["lastMessageDate"])},
    ),
}


@pytest.mark.parametrize("case", sorted(FILTER_CASES))
async def test_every_filter_is_sent_under_its_wire_name_and_applied(
    case: str, client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    filters, wire = FILTER_CASES[case](emulator)

    page = await client.search(**filters)

    sent = emulator.requests[-1].query
    assert sent == {"locationId": emulator.location_id, **wire}
    expected = emulator.expected(sent)  # the cursor applied, as the server does
    limit = int(wire.get("limit", 20))
    assert ids(page) == ids(expected[:limit])
    uncursored = {k: v for k, v in sent.items() if k != "startAfterDate"}
    assert page.total == len(emulator.expected(uncursored))  # total ignores the cursor


async def test_score_profile_filters_are_sent(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    profile = next(s["profileId"] for c in emulator.conversations for s in c.get("scoring") or [])

    page = await client.search(
        score_profile=profile, score_profile_min=1, score_profile_max=90.5,
        sort_by="score_profile", sort_score_profile=profile,
    )  # fmt: skip

    sent = emulator.requests[-1].query
    assert sent == {
        "locationId": emulator.location_id,
        "scoreProfile": profile,
        "scoreProfileMin": "1",
        "scoreProfileMax": "90.5",
        "sortBy": "score_profile",
        "sortScoreProfile": profile,
    }
    assert ids(page) == ids(emulator.expected(sent)[:20])


async def test_only_parameters_set_are_sent_with_auth_and_version_headers(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    await client.search(status=None, query=None)

    request = emulator.requests[-1]
    assert request.query == {"locationId": emulator.location_id}
    assert request.headers["Version"] == "2021-07-28"
    assert request.status == 200  # the emulator checked the bearer token


async def test_explicit_location_id_wins_over_the_clients(
    client: LeadwayClient, emulator: LeadwayEmulator
) -> None:
    with pytest.raises(PermissionDeniedError):
        await client.search(location_id="someOtherLocation00")
    assert emulator.requests[-1].query["locationId"] == "someOtherLocation00"


@pytest.mark.parametrize(
    ("filters", "error", "names"),
    [
        ({"limit": 0}, ValueError, "limit"),
        ({"limit": 101}, ValueError, "limit"),
        ({"limit": "20"}, TypeError, "limit"),
        ({"sort": "sideways"}, ValueError, "sort"),
        ({"status": "archived"}, ValueError, "status"),
        ({"last_message_type": "TYPE_PIGEON"}, ValueError, "last_message_type"),
        ({"start_date": datetime(2024, 1, 1)}, ValueError, "start_date"),
        ({"start_date": 2000, "end_date": 1000}, ValueError, "start_date"),
        ({"score_profile_min": 5, "score_profile_max": 1}, ValueError, "score_profile_min"),
        ({"assigned_to": []}, ValueError, "assigned_to"),
        ({"colour": "blue"}, TypeError, "colour"),
    ],
)
async def test_bad_input_raises_before_anything_is_sent(
    filters: dict[str, Any],
    error: type[Exception],
    names: str,
    client: LeadwayClient,
    emulator: LeadwayEmulator,
) -> None:
    with pytest.raises(error, match=names):
        await client.search(**filters)
    assert emulator.requests == []


async def test_missing_location_id_raises_before_anything_is_sent(
    emulator: LeadwayEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADWAY_LOCATION_ID", raising=False)
    async with LeadwayClient(emulator.token, base_url=emulator.url) as client:
        with pytest.raises(ValueError, match="location_id"):
            await client.search()
        page = await client.search(location_id=emulator.location_id, limit=1)
    assert len(page) == 1
    assert len(emulator.requests) == 1
