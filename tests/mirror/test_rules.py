"""The mirror's pure rules: columns from the model, rows and their hash, what a page
changes, where a run starts and when a full pass is due, database URLs, the schema."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadway_async._convert import conversation_to_wire, structure_conversation
from leadway_async.mirror import DatabaseUrlError, NotAMirrorError, SchemaVersionError
from leadway_async.mirror.bookmark import Bookmark, advanced, incremental_start, plan_run
from leadway_async.mirror.rows import (
    CONVERSATION_COLUMNS,
    ConversationRow,
    StoredRow,
    content_hash,
    conversation_row,
    plan_page,
)
from leadway_async.mirror.schema import (
    BOOKKEEPING_COLUMNS,
    SCHEMA_VERSION,
    TABLES,
    schema_action,
    schema_fingerprint,
)
from leadway_async.mirror.url import parse_database_url
from leadway_async.models import Conversation
from leadway_async.testing import generate_conversations

NOW = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
DAY = timedelta(days=1)
LOOKBACK = timedelta(minutes=5)


def test_every_model_attribute_is_a_column_in_the_model_order() -> None:
    names = [column.name for column in CONVERSATION_COLUMNS]
    assert names == [field.name for field in attrs.fields(Conversation)]
    assert names[0] == "id"
    assert names[-1] == "extra"
    assert not set(names) & {name for name, _ in BOOKKEEPING_COLUMNS}
    types = {column.name: column.type for column in CONVERSATION_COLUMNS}
    assert types["unread_count"] == types["last_message_date_ms"] == "integer"
    assert types["starred"] == "boolean"
    assert types["tags"] == types["sort"] == types["scoring"] == types["extra"] == "json"
    assert types["last_message_type"] == types["full_name"] == "text"


def test_the_schema_version_goes_with_the_columns() -> None:
    # A change of the columns (a field added to Conversation, a type changed) must come
    # with a new SCHEMA_VERSION and a migration from the one before: then pin the new pair.
    assert (SCHEMA_VERSION, schema_fingerprint()) == (1, "ee899cd9e3a00a80")


CONVERSATIONS = [
    structure_conversation(c) for c in generate_conversations(300, seed=8, location_id="L1")
]


@given(st.sampled_from(CONVERSATIONS))
def test_a_row_holds_the_conversation_as_the_api_sent_it(conversation: Conversation) -> None:
    row = conversation_row(conversation)
    assert row.id == conversation.id == row.values[0]
    assert orjson.loads(row.raw) == conversation_to_wire(conversation)
    assert row.content_hash == content_hash(row.raw.encode())
    assert row.last_message_date_ms == conversation.last_message_date_ms
    by_name = dict(zip((c.name for c in CONVERSATION_COLUMNS), row.values, strict=True))
    assert by_name["unread_count"] == conversation.unread_count
    assert by_name["last_message_type"] == (
        None if conversation.last_message_type is None else str(getattr(
            conversation.last_message_type, "value", conversation.last_message_type
        ))
    )  # fmt: skip
    assert by_name["tags"] == (None if conversation.tags is None else orjson.dumps(
        list(conversation.tags)).decode())  # fmt: skip


@given(st.sampled_from(CONVERSATIONS), st.sampled_from(CONVERSATIONS))
def test_the_hash_tells_conversations_apart(one: Conversation, two: Conversation) -> None:
    same = conversation_row(one).content_hash == conversation_row(two).content_hash
    assert same == (conversation_to_wire(one) == conversation_to_wire(two))


def test_unknown_fields_go_to_extra_and_into_the_hash() -> None:
    wire = generate_conversations(1, seed=2, location_id="L1")[0]
    plain = conversation_row(structure_conversation(wire))
    grown = conversation_row(structure_conversation({**wire, "newField": [1, 2]}))
    assert plain.values[-1] is None
    assert orjson.loads(grown.values[-1]) == {"newField": [1, 2]}
    assert grown.content_hash != plain.content_hash


def _row(ident: str, digest: str, date: int | None) -> ConversationRow:
    return ConversationRow(ident, (ident,), "{}", digest, date)


stored_rows = st.builds(
    StoredRow,
    content_hash=st.sampled_from(["h1", "h2"]),
    location_id=st.sampled_from(["L", "M"]),
    deleted=st.booleans(),
    last_message_date_ms=st.one_of(st.none(), st.integers(0, 5)),
    written_this_run=st.booleans(),
)
page_rows = st.lists(
    st.builds(
        _row,
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(["h1", "h2"]),
        st.one_of(st.none(), st.integers(0, 5)),
    ),
    max_size=8,
)


@given(page_rows, st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), stored_rows))
def test_a_page_inserts_the_new_updates_the_changed_and_leaves_the_rest(
    rows: list[ConversationRow], stored: dict[str, StoredRow]
) -> None:
    plan = plan_page(rows, stored, "L")
    latest = {row.id: row for row in rows}
    assert len(plan.inserts) + len(plan.updates) + plan.unchanged + plan.older == len(latest)
    assert {r.id for r in plan.inserts} == latest.keys() - stored.keys()
    assert all(latest[r.id] is r for r in (*plan.inserts, *plan.updates))
    for row in plan.updates:
        old = stored[row.id]
        assert (old.content_hash, old.location_id, old.deleted) != (row.content_hash, "L", False)
        older = (
            row.last_message_date_ms is not None
            and old.last_message_date_ms is not None
            and row.last_message_date_ms < old.last_message_date_ms
        )
        assert not (old.written_this_run and older)
    unchanged = [
        i for i, row in latest.items()
        if i in stored and stored[i].content_hash == row.content_hash
        and stored[i].location_id == "L" and not stored[i].deleted
    ]  # fmt: skip
    assert plan.unchanged == len(unchanged)


def test_an_older_version_does_not_replace_one_this_run_wrote() -> None:
    newer = StoredRow("h1", "L", False, 10, written_this_run=True)
    assert plan_page([_row("a", "h2", 9)], {"a": newer}, "L").older == 1
    two = plan_page([_row("a", "h2", 9), _row("b", "h2", 8)], {"a": newer, "b": newer}, "L")
    assert (two.older, two.updates) == (2, ())
    # Same last message, other content (read since, say): the version fetched later wins.
    same_date = plan_page([_row("a", "h2", 10)], {"a": newer}, "L")
    assert (same_date.older, [row.id for row in same_date.updates]) == (0, ["a"])
    from_before = StoredRow("h1", "L", False, 10, written_this_run=False)
    assert len(plan_page([_row("a", "h2", 9)], {"a": from_before}, "L").updates) == 1


bookmarks = st.builds(
    Bookmark,
    position=st.one_of(st.none(), st.integers(0, 2**62)),
    pass_id=st.one_of(st.none(), st.integers(1, 2**62)),
    pass_token=st.one_of(st.none(), st.just("ls1.x")),
    pass_started_at=st.just(NOW - DAY),
    pass_marks_deletions=st.booleans(),
    last_full_at=st.one_of(st.none(), st.sampled_from([NOW - 2 * DAY, NOW - DAY, NOW - DAY / 2])),
    walk_start_after=st.one_of(st.none(), st.integers(0, 2**62)),
    walk_token=st.one_of(st.none(), st.just("lw2.x")),
)


@given(bookmarks, st.sampled_from([True, False, None]))
def test_which_run_comes_next(bookmark: Bookmark, asked: bool | None) -> None:
    full = bool(asked)  # None: not asked, as a scheduled run does not
    options = {} if asked is None else {"full": asked}
    plan = plan_run(bookmark, now=NOW, full_every=DAY, lookback=LOOKBACK, **options)
    if bookmark.pass_id is not None:  # a pass left unfinished is continued, whatever else
        assert (plan.kind, plan.resume, plan.token) == ("full", True, bookmark.pass_token)
        return
    due = (
        full
        or bookmark.position is None
        or bookmark.last_full_at is None
        or NOW - bookmark.last_full_at >= DAY
    )
    if due:
        assert (plan.kind, plan.resume, plan.token) == ("full", False, None)
    elif bookmark.walk_token is not None and bookmark.walk_start_after is not None:
        assert plan == plan.__class__(
            "incremental", True, bookmark.walk_start_after, bookmark.walk_token
        )
    else:
        assert bookmark.position is not None
        assert (plan.kind, plan.resume) == ("incremental", False)
        assert plan.start_after == incremental_start(bookmark.position, LOOKBACK)


@given(st.integers(-(2**62), 2**62), st.integers(0, 10**9))
def test_an_incremental_walk_starts_a_lookback_before_the_bookmark_inclusive(
    position: int, lookback_ms: int
) -> None:
    start = incremental_start(position, timedelta(milliseconds=lookback_ms))
    # The API returns what is strictly after the start: the bookmark's own millisecond,
    # and the lookback's first, are included.
    assert start == position - lookback_ms - 1


@given(st.one_of(st.none(), st.integers(0, 10**13)), st.lists(st.sampled_from(CONVERSATIONS)))
def test_the_bookmark_is_the_latest_date_written(
    position: int | None, conversations: list[Conversation]
) -> None:
    dates = [c.last_message_date_ms for c in conversations if c.last_message_date_ms is not None]
    expected = max([*dates, *([] if position is None else [position])], default=None)
    assert advanced(position, conversations) == expected
    if position is not None:
        assert advanced(position, conversations) >= position  # type: ignore[operator]


def test_a_conversation_without_a_date_leaves_the_bookmark() -> None:
    wire = {"id": "x1", "sort": [9223372036854775807]}  # kept last under the sentinel
    assert advanced(5, [structure_conversation(wire)]) == 5


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("sqlite:///leadway.db", "sqlite", "leadway.db"),
        ("sqlite:///data/leadway.db", "sqlite", "data/leadway.db"),
        ("sqlite:////var/lib/leadway.db", "sqlite", "/var/lib/leadway.db"),
        ("SQLITE:///x.db", "sqlite", "x.db"),
        ("sqlite:///:memory:", "sqlite", ":memory:"),
        ("postgresql://mirror@db/crm", "postgresql", "postgresql://mirror@db/crm"),
        ("postgres://db/crm?sslmode=require", "postgresql", "postgres://db/crm?sslmode=require"),
    ],
)
def test_database_urls(url: str, kind: str, target: str) -> None:
    parsed = parse_database_url(url)
    assert (parsed.kind, parsed.target) == (kind, target)


def test_a_password_is_hidden_from_what_messages_show() -> None:
    parsed = parse_database_url("postgresql://mirror:hunter22@db/crm?password=hunter22")
    assert parsed.target.count("hunter22") == 2
    assert "hunter22" not in parsed.shown
    assert parsed.shown == "postgresql://mirror:***@db/crm?password=***"


@pytest.mark.parametrize("url", ["x.db", "sqlite:/x.db", "sqlite://host/x.db", "redis://x", 5])
def test_urls_that_name_no_database(url: Any) -> None:
    with pytest.raises(DatabaseUrlError):
        parse_database_url(url)


def test_what_opening_a_database_needs() -> None:
    assert schema_action([], None, "db") == "create"
    assert schema_action(TABLES, SCHEMA_VERSION, "db") == "ready"
    with pytest.raises(NotAMirrorError, match=r"holds other tables \(a, b\)"):
        schema_action(["b", "a"], None, "db")
    with pytest.raises(NotAMirrorError, match="lacks the tables mirror_seen"):
        schema_action(["mirror_schema", "conversations", "mirror_state"], 1, "db")
    with pytest.raises(NotAMirrorError, match="lacks its version"):
        schema_action(TABLES, None, "db")
    with pytest.raises(SchemaVersionError, match="version 2"):
        schema_action(TABLES, SCHEMA_VERSION + 1, "db")
    assert schema_action([*TABLES, "my_view"], SCHEMA_VERSION, "db") == "ready"


def test_a_scheduled_run_after_a_recent_full_pass_is_incremental() -> None:
    bookmark = Bookmark(position=5_000, last_full_at=NOW - DAY / 2)
    plan = plan_run(bookmark, now=NOW, full_every=DAY, lookback=LOOKBACK)
    assert (plan.kind, plan.resume) == ("incremental", False)


def test_the_stored_hash_of_a_conversation_stays_what_earlier_runs_wrote() -> None:
    # Rows written by earlier versions are compared with this hash: a change of it would
    # rewrite every row of every mirror once.
    assert content_hash(b'{"id":"c1"}') == "cd3e5d0d4698b2874c221b8575fdbf6c"


def test_a_full_pass_is_due_once_full_every_has_passed_to_the_millisecond() -> None:
    bookmark = Bookmark(position=5_000, last_full_at=NOW - DAY)
    assert plan_run(bookmark, now=NOW, full_every=DAY, lookback=LOOKBACK).kind == "full"
    recent = attrs.evolve(bookmark, last_full_at=NOW - DAY + timedelta(milliseconds=1))
    assert plan_run(recent, now=NOW, full_every=DAY, lookback=LOOKBACK).kind == "incremental"
