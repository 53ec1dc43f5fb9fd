"""A model of the search endpoint's paging: strictly after the cursor, ties by id."""

from __future__ import annotations

from leadway_async import Conversation, ConversationPage, RateLimit


def conversation(ident: str, value: int | float) -> Conversation:
    return Conversation(id=ident, sort=(value,), last_message_date_ms=int(value))


def serve(data: list[Conversation], query: dict[str, str]) -> ConversationPage:
    """What the API does: order by value (ties by id), strictly after the cursor, limit."""
    ascending = query.get("sort", "desc") == "asc"
    ordered = sorted(data, key=lambda c: (c.sort[0] if ascending else -c.sort[0], c.id))  # type: ignore[index]
    if "startAfterDate" in query:
        cursor = float(query["startAfterDate"])
        ordered = [c for c in ordered if (c.sort[0] > cursor if ascending else c.sort[0] < cursor)]  # type: ignore[index]
    limit = int(query.get("limit", 20))
    return ConversationPage(tuple(ordered[:limit]), len(data), None, RateLimit())
