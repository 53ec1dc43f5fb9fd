"""Seeded, realistic conversations in the exact wire format the real API sends.

Beside the spec's fields they carry what recorded real responses show: `mentions`,
`isLastMessageInternalComment`, `messageTypes`, `profilePhoto`,
`lastMessageConversationProviderId`, `scoring` as a list, and off-spec message types.
"""

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import Callable
from typing import Any

from .gcpause import paused_gc
from .spec import CONVERSATION_TYPES, MESSAGE_TYPES

__all__ = [
    "DEFAULT_START_MS",
    "LAST_MESSAGE_TYPES",
    "MESSAGE_TYPE_CODES",
    "OFF_SPEC_MESSAGE_TYPES",
    "PROVIDER_IDS",
    "SCORE_PROFILES",
    "TAGS",
    "USER_IDS",
    "generate_conversations",
]

DEFAULT_START_MS = 1_735_689_600_000
"""2025-01-01T00:00:00Z: the `lastMessageDate` of the first generated conversation."""

USER_IDS = (
    "MPMxg1RRaiBTXmWXTcI9",
    "jb6DMSGmcvsWNqNPWKoS",
    "oS8essxgOh1Zf7s92rAF",
    "TKSeSar2sKkqKXPkOUY9",
    "ZVZrVooiig7mNqT4h4KL",
    "AsxBZtoTHoiCgfSPtRv2",
    "vZUx99x8jKAvVdN0Blk1",
    "u6u8nPPtXg9StIM459ZD",
)
"""The user ids that appear in `assignedTo`, `followers` and `mentions`."""

SCORE_PROFILES = (
    "geZmw4Vh2DjaPoYID4Gu",
    "NHJYKDOQmeNOiHeebUlE",
    "UIlTP15jVroscqmNQpPQ",
)
"""The score-profile ids that appear in `scoring` entries (`{"profileId", "score"}`)."""

PROVIDER_IDS = (
    "6578278e879ad2646715ba9c",
    "64ad5a4b1d1f4b1a2c3e9f01",
    "65f0c2d9a8e7b61234abcd90",
)
"""The ids that appear as `lastMessageConversationProviderId` (custom SMS/email providers)."""

OFF_SPEC_MESSAGE_TYPES = ("TYPE_NO_SHOW", "TYPE_VOICEMAIL")
"""`lastMessageType` values real responses carry beyond the spec's enum."""

LAST_MESSAGE_TYPES = (*MESSAGE_TYPES, *OFF_SPEC_MESSAGE_TYPES)
"""Every `lastMessageType` the generator uses."""

MESSAGE_TYPE_CODES = {
    **{name: k + 1 for k, name in enumerate(MESSAGE_TYPES)},
    "TYPE_NO_SHOW": 100,
    "TYPE_VOICEMAIL": 101,
}
"""The integer each message type has in `messageTypes`: its place in the spec's enum (from
1); 100 and 101 for the off-spec ones."""

INTERNAL_COMMENT = "TYPE_INTERNAL_COMMENT"
CALL_TYPES = frozenset({"TYPE_CALL", "TYPE_VOICEMAIL", "TYPE_NO_SHOW"})
"""Types whose conversations lack `lastMessageBody` or have a null `lastMessageDirection`."""

TAGS = (
    "lead",
    "customer",
    "vip",
    "follow-up",
    "newsletter",
    "support",
    "billing",
    "cold",
    "café",
    "紧急",
)
"""The tags that appear in `tags`."""

_DAY_MS = 86_400_000

_WESTERN_FIRST = (
    ("James", "james"),
    ("Mary", "mary"),
    ("Robert", "robert"),
    ("Patricia", "patricia"),
    ("John", "john"),
    ("Jennifer", "jennifer"),
    ("Michael", "michael"),
    ("Linda", "linda"),
    ("David", "david"),
    ("Susan", "susan"),
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Søren", "soren"),
    ("Chloé", "chloe"),
    ("Łukasz", "lukasz"),
    ("Ana-María", "ana-maria"),
)
_WESTERN_LAST = (
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Garcia", "garcia"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Wilson", "wilson"),
    ("O'Brien", "obrien"),
    ("Müller", "muller"),
    ("Ångström", "angstrom"),
    ("Núñez", "nunez"),
    ("Dvořák", "dvorak"),
    ("Kowalczyk", "kowalczyk"),
)
_OTHER_NAMES = (
    ("王伟", "wang.wei"),
    ("李娜", "li.na"),
    ("张敏", "zhang.min"),
    ("佐藤 花子", "sato.hanako"),
    ("鈴木 一郎", "suzuki.ichiro"),
    ("김민준", "kim.minjun"),
    ("Сергей Иванов", "sergey.ivanov"),
    ("محمد علي", "mohammed.ali"),
    ("Sam 🚀 Carter", "sam.carter"),
    ("Zoë 🌸 Dubois", "zoe.dubois"),
    ("Alex 👍", "alex"),
    ("🎉 Party Planners", "party"),
)
_DOMAINS = ("example.com", "mail.example.org", "example.net", "correo.example.es", "例え.jp")
_COMPANIES = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark & Sons",
    "Müller & Söhne GmbH",
    "Café Lumière",
    "株式会社ヤマト",
    "Blue Bottle 🍼 Co",
    "Northwind Traders",
)
BODIES = (
    "Hi! Are you still open today?",
    "Thanks, see you tomorrow.",
    "Can you send me the invoice?",
    "Your appointment is confirmed for Monday at 10am.",
    "Call me back please",
    "STOP",
    "I'd like a quote for 3 rooms.",
    'He said "ok" and left \\ no reply.',
    "Line one\nLine two\nLine three",
    "¿Tienen disponibilidad el viernes?",
    "Merci beaucoup, à bientôt !",
    "你好，我想预约。",  # noqa: RUF001 (the Chinese full-width comma is meant)
    "予約をお願いします。",
    "👍",
    "Great service 😀🎉",
    "Missed call",
    "Voicemail: please call back about the estimate.",
    "Payment received: $120.00",
    "Review: ★★★★★ Amazing team!",
    "",
    "Can we move it to 3pm?",
    "Follow-up: did you get my email?",
    "<b>Hello</b> &amp; welcome",
    "Tab\tseparated\tvalues",
)

# Heavier weights for the channels real inboxes are made of; about 3 % each off the spec.
MESSAGE_TYPE_CUM_WEIGHTS = list(
    itertools.accumulate(
        {"TYPE_SMS": 30, "TYPE_EMAIL": 20, "TYPE_CALL": 15}.get(name, 1)
        if name not in OFF_SPEC_MESSAGE_TYPES
        else 3.5
        for name in LAST_MESSAGE_TYPES
    )
)
# The shares of conversations with: a last message sent (not received), an outbound action
# that is manual, a lastManualMessageDate (else null, or absent on the last 14 %), a photo,
# scores, mentions, a provider id, a second channel in messageTypes.
OUTBOUND_SHARE = 0.45
MANUAL_SHARE = 0.55
_MANUAL_DATE_SHARE = 0.14
_MANUAL_DATE_NULL_UPTO = 0.86
_PHOTO_SHARE = 0.12
_SCORED_SHARE = 0.2
_MENTIONED_SHARE = 0.08
_PROVIDER_SHARE = 0.2
_TWO_CHANNELS_SHARE = 0.3
_SECOND_CHANNELS = ("TYPE_SMS", "TYPE_EMAIL", "TYPE_CALL")
_CONVERSATION_TYPE_WEIGHTS = (60, 25, 8, 4, 3)

_MISSING = object()

# Optional fields and the share of conversations where each is missing (then as many again
# where it is null).
_OPTIONAL_SHARE = 0.03
_OPTIONAL_FIELDS = (
    "contactId",
    "lastMessageBody",
    "lastMessageType",
    "type",
    "unreadCount",
    "fullName",
    "contactName",
    "email",
    "phone",
    "lastMessageDirection",
    "lastOutboundMessageAction",
    "followers",
    "tags",
    "companyName",
    "starred",
    "inbox",
    "attributed",
)


def generate_conversations(
    count: int,
    *,
    seed: int = 0,
    location_id: str,
    ties: float = 0.0,
    start_ms: int = DEFAULT_START_MS,
    span_days: float = 180.0,
    skew: float = 0.0,
) -> list[dict[str, Any]]:
    """Return `count` wire-format conversations, the same ones for the same arguments.

    `lastMessageDate` grows from `start_ms` over about `span_days`; with probability `ties`
    a conversation's `lastMessageDate` equals the previous one's, so high values make long
    runs of equal sort values. With `ties=0` no two share a `lastMessageDate`. With
    `skew`, that share of the conversations have their last message in the last tenth of
    the span (most of a location's conversations active in the last weeks). Every
    conversation has `id`, `locationId`, `dateAdded`, `dateUpdated`, `lastMessageDate`,
    `mentions`, `scoring`, `messageTypes`, `isLastMessageInternalComment`, `profilePhoto`
    (mostly null) and, last, `sort` (`[lastMessageDate]`); other fields are missing or null
    on a share of them.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if not 0.0 <= ties <= 1.0:
        raise ValueError("ties must be between 0 and 1")
    if not 0.0 <= skew < 1.0:
        raise ValueError("skew must be at least 0 and below 1")
    if count == 0:
        return []
    with paused_gc():
        return _generate(count, seed, location_id, ties, start_ms, span_days, skew)


def _generate(
    count: int,
    seed: int,
    location_id: str,
    ties: float,
    start_ms: int,
    span_days: float,
    skew: float,
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rand = rng.random
    conv_ids = unique_ids(rng, count)
    contact_ids = unique_ids(rng, count)
    names = rng.choices(_NAMES, cum_weights=_NAME_CUM_WEIGHTS, k=count)
    message_types = rng.choices(LAST_MESSAGE_TYPES, cum_weights=MESSAGE_TYPE_CUM_WEIGHTS, k=count)
    conv_types = rng.choices(CONVERSATION_TYPES, weights=_CONVERSATION_TYPE_WEIGHTS, k=count)
    bodies = rng.choices(BODIES, k=count)
    unread = rng.choices((0, 1, 2, 3, 5, 12), weights=(60, 20, 8, 6, 4, 2), k=count)
    assigned = rng.choices((*USER_IDS, _MISSING, None), weights=(9,) * 8 + (18, 10), k=count)
    followers = rng.choices(_FOLLOWER_SETS, weights=_FOLLOWER_WEIGHTS, k=count)
    tags = rng.choices(_TAG_SETS, weights=_TAG_WEIGHTS, k=count)
    companies = rng.choices((*_COMPANIES, _MISSING), weights=(1,) * len(_COMPANIES) + (8,), k=count)
    domains = rng.choices(_DOMAINS, k=count)
    dates = _message_dates(rng, count, ties, start_ms, span_days, skew)

    conversations: list[dict[str, Any]] = []
    append = conversations.append
    for i in range(count):
        name, handle = names[i]
        last = dates[i]
        kind = message_types[i]
        outbound = rand() < OUTBOUND_SHARE
        manual = rand() < MANUAL_SHARE
        conv: dict[str, Any] = {
            "id": conv_ids[i],
            "contactId": contact_ids[i],
            "locationId": location_id,
            "lastMessageBody": bodies[i],
            "lastMessageType": kind,
            "type": conv_types[i],
            "unreadCount": 0 if outbound else unread[i],
            "fullName": name,
            "contactName": name,
            "email": f"{handle}{i % 997}@{domains[i]}",
            "phone": f"+1555{int(rand() * 10_000_000):07d}",
            "profilePhoto": (
                _photo(location_id, contact_ids[i]) if rand() < _PHOTO_SHARE else None
            ),
            "dateAdded": last - int(rand() * 90 * _DAY_MS),
            "dateUpdated": last + int(rand() * _DAY_MS),
            "lastMessageDate": last,
            "lastMessageDirection": "outbound" if outbound else "inbound",
            "lastOutboundMessageAction": "manual" if manual else "automated",
            "isLastMessageInternalComment": kind == INTERNAL_COMMENT,
            "messageTypes": _message_codes(kind, rand),
        }
        if kind in CALL_TYPES:
            drop_body_or_direction(conv, rand)
        chance = rand()
        if chance < _MANUAL_DATE_SHARE:
            conv["lastManualMessageDate"] = (
                last if manual and outbound else last - int(rand() * 30 * _DAY_MS)
            )
        elif chance < _MANUAL_DATE_NULL_UPTO:
            conv["lastManualMessageDate"] = None
        if assigned[i] is not _MISSING:
            conv["assignedTo"] = assigned[i]
        conv["followers"] = list(followers[i])
        conv["tags"] = list(tags[i])
        if companies[i] is not _MISSING:
            conv["companyName"] = companies[i]
        conv["starred"] = rand() < 0.1
        conv["inbox"] = rand() < 0.9
        conv["scoring"] = _scoring(rand) if rand() < _SCORED_SHARE else []
        conv["attributed"] = rand() < 0.5
        # Another conversation's followers: varied enough, and no extra random column.
        conv["mentions"] = (
            list(followers[(i * 7 + 3) % count]) or [USER_IDS[i % 8]]
            if rand() < _MENTIONED_SHARE
            else []
        )
        if rand() < _PROVIDER_SHARE:
            conv["lastMessageConversationProviderId"] = PROVIDER_IDS[int(rand() * 3)]
        conv["sort"] = [last]
        append(conv)

    _knock_out_optional_fields(rng, conversations)
    for conv in conversations:
        if conv["isLastMessageInternalComment"] and conv.get("lastMessageType") is None:
            conv["isLastMessageInternalComment"] = False
    return conversations


def drop_body_or_direction(conv: dict[str, Any], rand: Callable[[], float]) -> None:
    """Make `conv` look like a call: no `lastMessageBody`, or else a null direction (half each)."""
    if rand() < 0.5:
        conv.pop("lastMessageBody", None)
    else:
        conv["lastMessageDirection"] = None


def message_code(kind: str) -> int:
    """The integer `messageTypes` holds for a message type (0 for an unknown one)."""
    return MESSAGE_TYPE_CODES.get(kind, 0)


def _message_codes(kind: str, rand: Callable[[], float]) -> list[int]:
    """`messageTypes`: the last message's channel, sometimes beside an earlier one."""
    code = message_code(kind)
    if rand() < _TWO_CHANNELS_SHARE:
        other = message_code(_SECOND_CHANNELS[int(rand() * len(_SECOND_CHANNELS))])
        return sorted({code, other})
    return [code]


def _photo(location_id: str, contact_id: str) -> str:
    return f"https://storage.googleapis.com/msgsndr/{location_id}/media/{contact_id}.jpeg"


def unique_ids(rng: random.Random, count: int) -> list[str]:
    """Return `count` distinct 20-character alphanumeric ids (120 random bits each)."""
    text = base64.b64encode(rng.randbytes(15 * count)).translate(_ID_TABLE).decode("ascii")
    ids = [text[k : k + 20] for k in range(0, 20 * count, 20)]
    if len(set(ids)) != count:  # never seen in practice, but uniqueness is a promise
        seen: set[str] = set()
        for k, value in enumerate(ids):
            while value in seen:
                value = unique_ids(rng, 1)[0]
            ids[k] = value
            seen.add(value)
    return ids


def _message_dates(
    rng: random.Random, count: int, ties: float, start_ms: int, span_days: float, skew: float
) -> list[int]:
    """Return non-decreasing epoch-ms dates; each repeats the previous one with chance `ties`.

    With `skew`, that share of them fall in the last tenth of the span.
    """
    rand = rng.random
    span_ms = span_days * _DAY_MS
    late = round(count * skew)
    first_late = count - late
    gap = late_gap = max(2, int(2 * span_ms / count))
    if skew:
        gap = max(2, int(2 * 0.9 * span_ms / max(1, first_late)))
        late_gap = max(2, int(2 * 0.1 * span_ms / max(1, late)))
    dates = [start_ms] * count
    last = start_ms
    for i in range(1, count):
        if i == first_late:
            gap = late_gap
        if rand() >= ties:
            last += 1 + int(rand() * gap)
        dates[i] = last
    return dates


def _scoring(rand: Callable[[], float]) -> list[dict[str, Any]]:
    """Return scores for one to three profiles, whole numbers or halves from 0 to 100."""
    scoring: list[dict[str, Any]] = []
    for profile in SCORE_PROFILES:
        if rand() < 0.55:
            halves = int(rand() * 201)
            score = halves // 2 if halves % 2 == 0 else halves / 2
            scoring.append({"profileId": profile, "score": score})
    if not scoring:
        scoring.append({"profileId": SCORE_PROFILES[0], "score": int(rand() * 101)})
    return scoring


def _knock_out_optional_fields(rng: random.Random, conversations: list[dict[str, Any]]) -> None:
    """Remove each optional field from a share of the conversations, and null it on another."""
    count = len(conversations)
    share = max(1, int(count * _OPTIONAL_SHARE)) if count >= 10 else 0
    for field in _OPTIONAL_FIELDS:
        picked = rng.sample(range(count), min(count, 2 * share))
        for k in picked[:share]:
            conversations[k].pop(field, None)
        for k in picked[share:]:
            if field in conversations[k]:
                conversations[k][field] = None


def _weighted_names() -> tuple[tuple[tuple[str, str], ...], list[float]]:
    """Every full name the generator uses, and cumulative weights: 60 % are non-ASCII."""
    western = [
        (f"{first} {last}", f"{fh}.{lh}")
        for (first, fh), (last, lh) in itertools.product(_WESTERN_FIRST, _WESTERN_LAST)
    ]
    names = (*western, *_OTHER_NAMES)
    other_weight = 0.12 * len(western) / len(_OTHER_NAMES)
    weights = [1.0] * len(western) + [other_weight] * len(_OTHER_NAMES)
    return names, list(itertools.accumulate(weights))


def _weighted_sets(
    pool: tuple[str, ...], sizes: dict[int, float]
) -> tuple[tuple[tuple[str, ...], ...], list[float]]:
    """Every combination of `pool` of the given sizes, weighted so each size has its share."""
    sets: list[tuple[str, ...]] = []
    weights: list[float] = []
    for size, share in sizes.items():
        combos = list(itertools.combinations(pool, size))
        sets += combos
        weights += [share / len(combos)] * len(combos)
    return tuple(sets), weights


_ID_TABLE = bytes.maketrans(b"+/", b"xQ")
_NAMES, _NAME_CUM_WEIGHTS = _weighted_names()
_FOLLOWER_SETS, _FOLLOWER_WEIGHTS = _weighted_sets(USER_IDS, {0: 0.4, 1: 0.35, 2: 0.2, 3: 0.05})
_TAG_SETS, _TAG_WEIGHTS = _weighted_sets(TAGS, {0: 0.3, 1: 0.4, 2: 0.25, 3: 0.05})
