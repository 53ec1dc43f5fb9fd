"""The generated conversations: deterministic, realistic, varied, with ties on demand."""

from __future__ import annotations

import re
from collections import Counter
from itertools import groupby
from typing import Any

import orjson
import pytest

from leadway_async.testing import (
    DEFAULT_START_MS,
    SCORE_PROFILES,
    TAGS,
    USER_IDS,
    generate_conversations,
)
from leadway_async.testing.data import MESSAGE_TYPE_CODES, PROVIDER_IDS
from leadway_async.testing.spec import CONVERSATION_TYPES, MESSAGE_TYPES

LOCATION = "LocAtion000000000001"
ALWAYS = ("id", "locationId", "dateAdded", "dateUpdated", "lastMessageDate", "sort")
ALWAYS_KEYS = ("mentions", "scoring", "messageTypes", "isLastMessageInternalComment")
CALLS = ("TYPE_CALL", "TYPE_VOICEMAIL", "TYPE_NO_SHOW")
OFF_SPEC = ("TYPE_NO_SHOW", "TYPE_VOICEMAIL")
ID = re.compile(r"[A-Za-z0-9]{20}")


@pytest.fixture(scope="module")
def convs() -> list[dict[str, Any]]:
    return generate_conversations(4000, seed=3, location_id=LOCATION)


def run_lengths(convs: list[dict[str, Any]]) -> list[int]:
    return [len(list(run)) for _, run in groupby(c["lastMessageDate"] for c in convs)]


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = generate_conversations(300, seed=9, location_id=LOCATION, ties=0.2)
    again = generate_conversations(300, seed=9, location_id=LOCATION, ties=0.2)
    other = generate_conversations(300, seed=10, location_id=LOCATION, ties=0.2)
    assert orjson.dumps(first) == orjson.dumps(again)
    assert {c["id"] for c in first}.isdisjoint(c["id"] for c in other)


def test_count_and_empty() -> None:
    assert generate_conversations(0, location_id=LOCATION) == []
    assert len(generate_conversations(7, location_id=LOCATION)) == 7
    with pytest.raises(ValueError, match="count"):
        generate_conversations(-1, location_id=LOCATION)
    with pytest.raises(ValueError, match="ties"):
        generate_conversations(5, location_id=LOCATION, ties=1.5)


def test_ids_are_unique_real_looking_and_always_present(convs: list[dict[str, Any]]) -> None:
    ids = [c["id"] for c in convs]
    assert len(set(ids)) == len(ids)
    assert all(ID.fullmatch(i) for i in ids)
    for conv in convs:
        assert all(conv.get(field) is not None for field in ALWAYS), conv
        assert all(field in conv for field in (*ALWAYS_KEYS, "profilePhoto")), conv
        assert conv["locationId"] == LOCATION
        assert conv["sort"] == [conv["lastMessageDate"]]
        assert conv["dateAdded"] <= conv["lastMessageDate"] <= conv["dateUpdated"]
        assert list(conv)[-1] == "sort"


def test_dates_start_in_2025_and_stay_epoch_ms_ints(convs: list[dict[str, Any]]) -> None:
    dates = [c["lastMessageDate"] for c in convs]
    assert dates[0] == DEFAULT_START_MS
    assert all(type(d) is int for d in dates)
    assert dates == sorted(dates)
    assert 90 <= (dates[-1] - dates[0]) / 86_400_000 <= 270  # about the default 180 days
    manual = [c["lastManualMessageDate"] for c in convs if c.get("lastManualMessageDate")]
    assert all(type(d) is int for d in manual)
    # Null (or absent) on 86 %, as in a recorded sample of 4,000 real conversations.
    assert 0.83 * len(convs) < len(convs) - len(manual) < 0.89 * len(convs)
    null = sum("lastManualMessageDate" in c and c["lastManualMessageDate"] is None for c in convs)
    assert 0.6 * len(convs) < null < 0.8 * len(convs)  # and absent on the rest


def test_enums_come_from_the_spec_and_vary(convs: list[dict[str, Any]]) -> None:
    types = Counter(c.get("lastMessageType") for c in convs)
    assert set(types) - {None} <= {*MESSAGE_TYPES, *OFF_SPEC}
    assert len(set(types) - {None}) >= 35
    top = [name for name, _ in types.most_common(3)]
    assert set(top) == {"TYPE_SMS", "TYPE_EMAIL", "TYPE_CALL"}
    assert {c.get("type") for c in convs} - {None} == set(CONVERSATION_TYPES)
    assert {c.get("lastMessageDirection") for c in convs} == {"inbound", "outbound", None}
    assert {c.get("lastOutboundMessageAction") for c in convs} == {"automated", "manual", None}


def test_users_tags_and_scores_come_from_small_pools(convs: list[dict[str, Any]]) -> None:
    assigned = Counter(c.get("assignedTo") for c in convs)
    assert set(assigned) - {None} == set(USER_IDS)
    assert 0.15 * len(convs) < assigned[None] < 0.45 * len(convs)  # missing or null
    assert sum("assignedTo" not in c for c in convs) > 0
    followers = {u for c in convs for u in c.get("followers") or []}
    assert followers == set(USER_IDS)
    assert {t for c in convs for t in c.get("tags") or []} == set(TAGS)
    scored = [c["scoring"] for c in convs if c["scoring"]]
    assert {e["profileId"] for s in scored for e in s} == set(SCORE_PROFILES)
    mentioned = [c["mentions"] for c in convs if c["mentions"]]
    assert all(set(m) <= set(USER_IDS) for m in mentioned)


def share(convs: list[dict[str, Any]], test: Any) -> float:
    return sum(1 for c in convs if test(c)) / len(convs)


def test_the_fields_real_responses_carry_beyond_the_spec(convs: list[dict[str, Any]]) -> None:
    # mentions: a list of user ids, usually empty
    assert all(isinstance(c["mentions"], list) for c in convs)
    assert 0.04 < share(convs, lambda c: c["mentions"]) < 0.12
    # isLastMessageInternalComment: true exactly when the last message is an internal comment
    internal = [c for c in convs if c["isLastMessageInternalComment"]]
    assert all(type(c["isLastMessageInternalComment"]) is bool for c in convs)
    assert internal
    assert [c["id"] for c in internal] == [
        c["id"] for c in convs if c.get("lastMessageType") == "TYPE_INTERNAL_COMMENT"
    ]
    # messageTypes: integers, the last message's channel among them
    for conv in convs:
        codes = conv["messageTypes"]
        assert codes == sorted(set(codes))
        assert all(type(code) is int for code in codes)
        assert 1 <= len(codes) <= 2
        if conv.get("lastMessageType"):
            assert MESSAGE_TYPE_CODES[conv["lastMessageType"]] in codes
    assert 0.15 < share(convs, lambda c: len(c["messageTypes"]) == 2) < 0.3
    assert share(convs, lambda c: c["messageTypes"] == [2]) > 0.15  # SMS only
    # profilePhoto: a URL, or null on most
    photos = [c for c in convs if c["profilePhoto"] is not None]
    assert all(c["profilePhoto"].startswith("https://") for c in photos)
    assert 0.08 < len(photos) / len(convs) < 0.16
    # lastMessageConversationProviderId: a string id on a minority, absent elsewhere
    providers = [c.get("lastMessageConversationProviderId") for c in convs]
    assert 0.15 < share(convs, lambda c: "lastMessageConversationProviderId" in c) < 0.25
    assert set(providers) == {*PROVIDER_IDS, None}


def test_scoring_is_a_list_usually_empty_of_profile_scores(convs: list[dict[str, Any]]) -> None:
    assert all(isinstance(c["scoring"], list) for c in convs)
    assert 0.75 < share(convs, lambda c: not c["scoring"]) < 0.85
    for conv in convs:
        profiles = [entry["profileId"] for entry in conv["scoring"]]
        assert len(profiles) == len(set(profiles)) <= 3
        for entry in conv["scoring"]:
            assert set(entry) == {"profileId", "score"}
            assert entry["profileId"] in SCORE_PROFILES
            assert type(entry["score"]) in (int, float)
            assert 0 <= entry["score"] <= 100
    assert any(type(e["score"]) is float for c in convs for e in c["scoring"])


def test_off_spec_types_and_calls_without_body_or_direction(convs: list[dict[str, Any]]) -> None:
    for kind in OFF_SPEC:
        assert 0.02 < share(convs, lambda c, kind=kind: c.get("lastMessageType") == kind) < 0.045
    calls = [c for c in convs if c.get("lastMessageType") in CALLS]
    others = [c for c in convs if c.get("lastMessageType") not in CALLS]
    assert {c["lastMessageType"] for c in calls} == set(CALLS)
    # Each call lacks its body or has a null direction, about half each.
    assert all("lastMessageBody" not in c or c.get("lastMessageDirection") is None for c in calls)
    assert 0.4 < share(calls, lambda c: "lastMessageBody" not in c) < 0.62
    assert 0.4 < share(calls, lambda c: c.get("lastMessageDirection") is None) < 0.62
    # Other messages lose them only as often as any optional field does.
    assert share(others, lambda c: "lastMessageBody" not in c) < 0.05
    assert share(others, lambda c: c.get("lastMessageDirection") is None) < 0.1


def test_field_types(convs: list[dict[str, Any]]) -> None:
    for conv in convs:
        for field in ("starred", "inbox", "attributed"):
            assert conv.get(field) in (True, False, None)
        assert conv.get("unreadCount") is None or type(conv["unreadCount"]) is int
        for field in ("followers", "tags"):
            assert conv.get(field) is None or isinstance(conv[field], list)


def test_a_share_has_unicode_names_and_missing_or_null_fields(
    convs: list[dict[str, Any]],
) -> None:
    names = [c["fullName"] for c in convs if c.get("fullName")]
    non_ascii = [n for n in names if not n.isascii()]
    assert 0.5 * len(names) < len(non_ascii) < 0.7 * len(names)
    assert any("\u4e00" <= ch <= "\u9fff" for n in names for ch in n)  # CJK
    assert any(ord(ch) > 0xFFFF for n in names for ch in n)  # emoji
    for field in ("email", "phone", "contactId", "fullName", "lastMessageType"):
        missing = sum(field not in c for c in convs)
        null = sum(field in c and c[field] is None for c in convs)
        assert missing > 0.01 * len(convs), field
        assert null > 0.01 * len(convs), field


def test_no_ties_unless_asked(convs: list[dict[str, Any]]) -> None:
    assert set(run_lengths(convs)) == {1}


def test_ties_make_runs_of_equal_dates() -> None:
    some = generate_conversations(3000, seed=1, location_id=LOCATION, ties=0.5)
    lengths = run_lengths(some)
    assert max(lengths) >= 5
    assert 0.35 < 1 - len(lengths) / len(some) < 0.65  # the share of repeats follows `ties`
    many = generate_conversations(3000, seed=1, location_id=LOCATION, ties=0.99)
    assert max(run_lengths(many)) >= 150


def test_start_and_span_can_be_chosen() -> None:
    convs = generate_conversations(100, location_id=LOCATION, start_ms=1000, span_days=1)
    dates = [c["lastMessageDate"] for c in convs]
    assert dates[0] == 1000
    assert dates[-1] - dates[0] <= 2 * 86_400_000


@pytest.mark.parametrize("skew", [0.5, 0.9])
def test_skew_puts_that_share_of_conversations_in_the_last_tenth(skew: float) -> None:
    conversations = generate_conversations(20_000, seed=3, location_id="L", skew=skew)
    dates = [c["lastMessageDate"] for c in conversations]
    assert dates == sorted(dates)
    low, high = min(dates), max(dates)
    late = sum(1 for d in dates if d >= low + 0.9 * (high - low)) / len(dates)
    assert skew - 0.03 <= late <= skew + 0.03
    assert high - low > 150 * 86_400_000  # still spread over the whole span


def test_skew_must_leave_some_conversations_early() -> None:
    with pytest.raises(ValueError, match="skew"):
        generate_conversations(10, seed=1, location_id="L", skew=1.0)
