"""A model of the search endpoint's paging, and of a location that changes under a walk.

Conversations are ordered by their sort value, then by id; one without a value sorts
last with a sentinel value (+/-(2^63-1)), as a search backend keeps it. The cursor keeps
what is strictly after it; `startDate`/`endDate` filter on `dateAdded`; `limit` is cut
to the server's `cap`; `total` counts what the filters select.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from leadway_async import Conversation, ConversationPage, RateLimit
from leadway_async.cursor import PageOutcome, WalkState, read_page

SENTINEL = 2**63 - 1


def conversation(ident: str, value: int | float, added: int | None = None) -> Conversation:
    return Conversation(
        id=ident, sort=(value,), last_message_date_ms=int(value), date_added_ms=added
    )


def serve(data: list[Conversation], query: dict[str, str]) -> ConversationPage:
    """What the API does: order by value (ties by id), strictly after the cursor, limit."""
    ascending = query.get("sort", "desc") == "asc"
    ordered = sorted(data, key=lambda c: (c.sort[0] if ascending else -c.sort[0], c.id))  # type: ignore[index]
    if "startAfterDate" in query:
        cursor = float(query["startAfterDate"])
        ordered = [c for c in ordered if (c.sort[0] > cursor if ascending else c.sort[0] < cursor)]  # type: ignore[index]
    limit = int(query.get("limit", 20))
    return ConversationPage(tuple(ordered[:limit]), len(data), None, RateLimit())


@dataclass
class Item:
    """One conversation of the model: its sort value (None: none) and dateAdded."""

    id: str
    value: int | float | None
    added: int | None = 0


@dataclass
class Change:
    """Applied before the request numbered `at` (from 0): a move, a creation, a deletion."""

    at: int
    kind: str  # "move" | "create" | "delete"
    id: str
    value: int | float | None = None
    added: int | None = 0


@dataclass
class ModelServer:
    """The endpoint over `items`, with `changes` applied as requests arrive."""

    items: list[Item]
    cap: int = 100
    changes: list[Change] = field(default_factory=list)
    requests: int = 0
    total_offset: int = 0  # added to every total (a server that counts some it never sends)

    def __call__(self, query: Mapping[str, str]) -> ConversationPage:
        for change in [c for c in self.changes if c.at == self.requests]:
            self.apply(change)
        self.requests += 1
        ascending = query.get("sort", "desc") == "asc"
        sentinel = SENTINEL if ascending else -SENTINEL
        low, high = query.get("startDate"), query.get("endDate")
        selected = [
            item
            for item in self.items
            if (low is None or (item.added is not None and item.added >= int(low)))
            and (high is None or (item.added is not None and item.added <= int(high)))
        ]

        def key(item: Item) -> tuple[int | float, str]:
            value = sentinel if item.value is None else item.value
            return (value if ascending else -value, item.id)

        ordered = sorted(selected, key=key)
        if "startAfterDate" in query:
            text = query["startAfterDate"]
            cursor = int(text) if text.lstrip("-").isdigit() else float(text)
            ordered = [
                item
                for item in ordered
                if (key(item)[0] > cursor if ascending else -key(item)[0] < cursor)
            ]
        limit = min(int(query.get("limit", 20)), self.cap)
        page = tuple(
            Conversation(
                id=item.id,
                sort=(sentinel if item.value is None else item.value,),
                date_added_ms=item.added,
            )
            for item in ordered[:limit]
        )
        return ConversationPage(page, len(selected) + self.total_offset, None, RateLimit())

    def apply(self, change: Change) -> None:
        if change.kind == "create":
            self.items.append(Item(change.id, change.value, change.added))
            return
        index = next((i for i, item in enumerate(self.items) if item.id == change.id), None)
        if index is None:
            return
        if change.kind == "delete":
            del self.items[index]
        else:
            self.items[index] = replace(self.items[index], value=change.value)


def walk(
    server: Callable[[dict[str, str]], ConversationPage],
    state: WalkState,
    base: dict[str, str],
    page_size: int,
    *,
    stop_after: int | None = None,
    limit_requests: int = 5_000,
) -> tuple[list[str], WalkState]:
    """Hand out conversations until the walk ends (or `stop_after`), as the pager does.

    Returns the ids handed out and the state to resume from.
    """
    handed: list[str] = []
    for _ in range(limit_requests):
        query = state.next_query(base, page_size)
        outcome: PageOutcome = read_page(state, server(query), query)
        for index, conv in enumerate(outcome.fresh):
            if stop_after is not None and len(handed) == stop_after:
                return handed, outcome.stopped_after(state, index)
            handed.append(conv.id)
        state = outcome.end_state
        if outcome.is_last:
            return handed, state
    raise AssertionError("the walk did not end")
