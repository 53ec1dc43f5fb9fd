"""GET /conversations/search over loopback: filters, order, cursor, total and limit."""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby, pairwise
from typing import Any

import pytest

from leadway_async.testing import SCORE_PROFILES, USER_IDS, LeadwayEmulator, generate_conversations

from .conftest import Api, untraced

Conv = dict[str, Any]
Case = Callable[[list[Conv]], tuple[dict[str, str], Callable[[Conv], bool]]]
WEEK_MS = 7 * 86_400_000
LAST = 9_223_372_036_854_775_807  # the sort value of those lacking one, negated when desc
U1, U2, U3 = USER_IDS[:3]
P1, P2 = SCORE_PROFILES[:2]


def ids(convs: list[Conv]) -> list[str]:
    return [c["id"] for c in convs]


def text_in(conv: Conv, needle: str) -> bool:
    fields = ("fullName", "contactName", "email", "phone", "companyName", "lastMessageBody")
    return any(needle.casefold() in str(conv.get(f) or "").casefold() for f in fields)


def score(conv: Conv, profile: str) -> Any:
    return next((e["score"] for e in conv["scoring"] if e["profileId"] == profile), None)


def recent(convs: list[Conv]) -> Callable[[Conv], bool]:
    newest = max(c["lastMessageDate"] for c in convs)
    return lambda c: c["lastMessageDate"] >= newest - WEEK_MS


# Each case: the wire filters, and the same rule written independently of the emulator.
CASES: dict[str, Case] = {
    "contactId": lambda cs: (
        {"contactId": cs[7]["contactId"]},
        lambda c: c.get("contactId") == cs[7]["contactId"],
    ),
    "assignedTo users": lambda cs: (
        {"assignedTo": f"{U1},{U2}"},
        lambda c: c.get("assignedTo") in (U1, U2),
    ),
    "assignedTo unassigned": lambda cs: (
        {"assignedTo": "unassigned"},
        lambda c: not c.get("assignedTo"),
    ),
    "followers": lambda cs: (
        {"followers": f"{U1},{U3}"},
        lambda c: bool({U1, U3} & set(c.get("followers") or [])),
    ),
    "mentions": lambda cs: ({"mentions": U2}, lambda c: U2 in (c.get("mentions") or [])),
    "query name": lambda cs: ({"query": "MÜLLER"}, lambda c: text_in(c, "müller")),
    "query email": lambda cs: ({"query": "example.net"}, lambda c: text_in(c, "example.net")),
    "query body": lambda cs: ({"query": "invoice"}, lambda c: text_in(c, "Invoice")),
    "query company": lambda cs: ({"query": "globex"}, lambda c: text_in(c, "Globex")),
    "id": lambda cs: ({"id": cs[3]["id"]}, lambda c: c["id"] == cs[3]["id"]),
    "lastMessageType": lambda cs: (
        {"lastMessageType": "TYPE_EMAIL"},
        lambda c: c.get("lastMessageType") == "TYPE_EMAIL",
    ),
    "lastMessageDirection": lambda cs: (
        {"lastMessageDirection": "outbound"},
        lambda c: c.get("lastMessageDirection") == "outbound",
    ),
    "lastMessageAction": lambda cs: (
        {"lastMessageAction": "manual"},
        lambda c: c.get("lastOutboundMessageAction") == "manual",
    ),
    "status all": lambda cs: ({"status": "all"}, lambda c: True),
    "status read": lambda cs: ({"status": "read"}, lambda c: not c.get("unreadCount")),
    "status unread": lambda cs: ({"status": "unread"}, lambda c: (c.get("unreadCount") or 0) > 0),
    "status starred": lambda cs: ({"status": "starred"}, lambda c: c.get("starred") is True),
    "status recents": lambda cs: ({"status": "recents"}, recent(cs)),
    "score range": lambda cs: (
        {"scoreProfile": P1, "scoreProfileMin": "20", "scoreProfileMax": "60.5"},
        lambda c: score(c, P1) is not None and 20 <= score(c, P1) <= 60.5,
    ),
    "score profile only": lambda cs: ({"scoreProfile": P2}, lambda c: score(c, P2) is not None),
    "dateAdded range": lambda cs: (
        {"startDate": str(cs[100]["dateAdded"]), "endDate": str(cs[300]["dateAdded"])},
        lambda c: cs[100]["dateAdded"] <= c["dateAdded"] <= cs[300]["dateAdded"],
    ),
    "combined": lambda cs: (
        {"status": "unread", "lastMessageDirection": "inbound", "assignedTo": U1},
        lambda c: (
            (c.get("unreadCount") or 0) > 0
            and c.get("lastMessageDirection") == "inbound"
            and c.get("assignedTo") == U1
        ),
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_each_filter_selects_what_it_should(
    case: str, api: Api, emulator: LeadwayEmulator
) -> None:
    convs = emulator.conversations
    params, rule = CASES[case](convs)
    wanted = {c["id"] for c in convs if rule(c)}
    assert wanted, "the case should select something"
    if case != "status all":
        assert len(wanted) < len(convs), "the case should leave something out"

    body = await api.search(**params, limit="100")

    assert body["total"] == len(wanted)
    assert {c["id"] for c in body["conversations"]} <= wanted
    assert len(body["conversations"]) == min(100, len(wanted))
    expected = emulator.expected(params)
    assert {c["id"] for c in expected} == wanted
    assert ids(body["conversations"]) == ids(expected[:100])


def sort_keys(convs: list[Conv], field: str) -> list[tuple[Any, str]]:
    return [(c[field], c["id"]) for c in convs]


async def test_default_order_is_newest_first_then_id_ascending(
    api: Api, emulator: LeadwayEmulator
) -> None:
    everything = sorted(emulator.conversations, key=lambda c: (-c["lastMessageDate"], c["id"]))
    body = await api.search(limit="100")
    page = body["conversations"]
    assert ids(page) == ids(everything[:100])
    assert any(a["lastMessageDate"] == b["lastMessageDate"] for a, b in pairwise(page))
    for conv in page:
        assert conv["sort"] == [conv["lastMessageDate"]]


async def test_ascending_order_keeps_id_ascending_within_ties(
    api: Api, emulator: LeadwayEmulator
) -> None:
    body = await api.search(sort="asc", limit="100")
    everything = sorted(emulator.conversations, key=lambda c: (c["lastMessageDate"], c["id"]))
    assert ids(body["conversations"]) == ids(everything[:100])
    page = body["conversations"]
    assert any(a["lastMessageDate"] == b["lastMessageDate"] for a, b in pairwise(page))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sortBy": "last_message_date"}, lambda c: c.get("lastMessageDate")),
        ({"sortBy": "last_manual_message_date"}, lambda c: c.get("lastManualMessageDate")),
        ({"sortBy": "score_profile", "sortScoreProfile": P1}, lambda c: score(c, P1)),
        ({"sortBy": "due_at"}, lambda c: c.get("dateUpdated")),
        ({"sortBy": "overdue_at"}, lambda c: c.get("dateUpdated")),
    ],
)
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_sort_by_orders_by_its_field_and_keeps_those_lacking_it_last(
    params: dict[str, str],
    field: Callable[[Conv], Any],
    order: str,
    api: Api,
    emulator: LeadwayEmulator,
) -> None:
    descending = order == "desc"
    having = sorted((c for c in emulator.conversations if field(c) is not None), key=ids_of)
    having.sort(key=field, reverse=descending)
    lacking = sorted((c for c in emulator.conversations if field(c) is None), key=ids_of)
    everything = having + lacking
    last = -LAST if descending else LAST

    walked = await api.walk(**params, sort=order, limit="100")
    body = await api.search(**params, sort=order, limit="100")

    assert body["total"] == len(emulator.conversations)
    assert ids(body["conversations"]) == ids(everything[:100])
    served = emulator.expected({**params, "sort": order})
    assert ids(served) == ids(everything)
    assert [c["sort"] for c in served] == [
        [last] if field(c) is None else [field(c)] for c in everything
    ]
    for conv in walked:
        assert conv["sort"] == ([last] if field(conv) is None else [field(conv)])
    values = [c["sort"][0] for c in walked]
    assert values == sorted(values, reverse=descending)
    assert len(set(ids(walked))) == len(walked)


def ids_of(conv: Conv) -> str:
    return str(conv["id"])


async def test_the_cursor_is_strictly_after_in_both_directions(api: Api) -> None:
    first = await api.search(limit="30")
    cursor = first["conversations"][-1]["sort"][0]
    after = await api.search(limit="100", startAfterDate=str(cursor))
    assert all(c["sort"][0] < cursor for c in after["conversations"])
    assert after["total"] == first["total"]  # the total ignores the cursor

    up = await api.search(limit="100", sort="asc", startAfterDate=str(cursor))
    assert all(c["sort"][0] > cursor for c in up["conversations"])
    assert up["conversations"][0]["sort"][0] == min(
        c["sort"][0] for c in (await api.walk(sort="asc")) if c["sort"][0] > cursor
    )


async def test_a_cursor_inside_a_run_of_ties_skips_the_whole_run(
    api: Api, emulator: LeadwayEmulator
) -> None:
    order = emulator.expected({})
    runs = [list(run) for _, run in groupby(order, key=lambda c: c["lastMessageDate"])]
    where = next(k for k, run in enumerate(runs) if len(run) >= 3 and k > 0)
    tied = runs[where][0]["lastMessageDate"]

    body = await api.search(startAfterDate=str(tied), limit="5")

    assert body["conversations"][0]["id"] == runs[where + 1][0]["id"]
    asc = await api.search(startAfterDate=str(tied), sort="asc", limit="5")
    assert asc["conversations"][0]["id"] == runs[where - 1][0]["id"]


async def test_float_and_repeated_cursors(api: Api, emulator: LeadwayEmulator) -> None:
    order = emulator.expected({})
    value = order[10]["lastMessageDate"]
    first_with_value = next(c for c in order if c["lastMessageDate"] == value)

    body = await api.search(startAfterDate=f"{value}.5", limit="3")
    assert body["conversations"][0]["id"] == first_with_value["id"]
    exp = await api.search(startAfterDate=f"{value / 1000}e3", limit="3")
    assert all(c["lastMessageDate"] < value for c in exp["conversations"])

    repeated = await api.get(
        [("startAfterDate", str(value)), ("startAfterDate", "0"), ("limit", "3")]
    )
    assert ids(repeated.body["conversations"]) == ids(exp["conversations"])


async def test_walking_without_ties_sees_everything_once_in_order(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.set_conversations(generate_conversations(250, seed=2, location_id="x", ties=0))
    for order in ("desc", "asc"):
        walked = await api.walk(limit="7", sort=order)
        assert ids(walked) == ids(emulator.expected({"sort": order}))
        assert len(set(ids(walked))) == 250


async def test_walking_with_ties_never_repeats_and_keeps_moving(api: Api) -> None:
    walked = await api.walk(limit="3")
    assert len(set(ids(walked))) == len(walked)
    values = [c["sort"][0] for c in walked]
    assert values == sorted(values, reverse=True)


async def test_limit(api: Api) -> None:
    assert len((await api.search())["conversations"]) == 20
    assert len((await api.search(limit="1"))["conversations"]) == 1
    assert len((await api.search(limit="100"))["conversations"]) == 100
    tail = await api.search(limit="100", sort="asc", startAfterDate="0")
    assert len(tail["conversations"]) == 100
    last = await api.search(limit="100", startAfterDate=str(tail["conversations"][5]["sort"][0]))
    assert len(last["conversations"]) == 5


async def test_an_empty_result(api: Api) -> None:
    body = await api.search(id="nothing-has-this-id")
    assert untraced(body) == {"conversations": [], "total": 0}


async def test_replacing_the_data_takes_effect_at_once(api: Api, emulator: LeadwayEmulator) -> None:
    before = await api.search(status="unread")
    custom = {
        "id": "FUTURE00000000000001",
        "sort": [1],
        "lastMessageType": "TYPE_HOLOGRAM",
        "unreadCount": 3,
        "lastMessageDate": 5,
        "brandNew": {"nested": ["ü", None, 1.5]},
    }
    emulator.set_conversations([custom])
    after = await api.search(status="unread")
    assert before["total"] > 1
    assert untraced(after) == {"conversations": [{**custom, "sort": [5]}], "total": 1}
    assert emulator.conversations == [custom]


async def test_conversations_without_a_sort_field_are_served_with_one(
    api: Api, emulator: LeadwayEmulator
) -> None:
    emulator.set_conversations(
        [
            {"id": "b", "lastMessageDate": 2},
            {"sort": "junk", "id": "a", "lastMessageDate": 2, "note": ',"sort":'},
            {"id": "c", "lastMessageDate": None},
        ]
    )
    body = await api.search()
    assert body["conversations"] == [
        {"id": "a", "lastMessageDate": 2, "note": ',"sort":', "sort": [2]},
        {"id": "b", "lastMessageDate": 2, "sort": [2]},
        {"id": "c", "lastMessageDate": None, "sort": [-LAST]},
    ]
    assert body["total"] == 3


def test_every_conversation_needs_a_unique_string_id(emulator: LeadwayEmulator) -> None:
    with pytest.raises(ValueError, match="'id'"):
        emulator.set_conversations([{"lastMessageDate": 1}])
    with pytest.raises(ValueError, match="'id'"):
        LeadwayEmulator(conversations=[{"id": 5}])
    with pytest.raises(ValueError, match="unique"):
        emulator.set_conversations([{"id": "x"}, {"id": "y"}, {"id": "x"}])
    assert len(emulator.conversations) == 400  # a refused set leaves the data as it was


def test_expected_honours_the_cursor_and_ignores_the_limit(emulator: LeadwayEmulator) -> None:
    everything = emulator.expected({"locationId": emulator.location_id, "limit": 5})
    assert len(everything) == len(emulator.conversations)
    cursor = everything[50]["sort"][0]
    rest = emulator.expected({"startAfterDate": cursor, "limit": "5"})
    assert rest == [c for c in everything if c["sort"][0] < cursor]
    assert emulator.expected({"startAfterDate": [cursor, 1]}) == rest
    assert emulator.expected({"status": None}) == everything  # None: not sent
