"""A local emulator of the Leadway CRM conversations search API, for tests and demos.

It speaks HTTP and JSON only and shares no code with the client. Names are imported on
first use, so loading the pytest plugin stays cheap.

Where the real API's behaviour is not documented, the emulator does this:

- Order is by the sort value, then by `id` ascending, in both directions. A conversation
  without the value the query sorts by is left out of that query (and of its `total`).
- `sortBy=due_at` and `overdue_at` sort by `dateUpdated` (the data has no due dates);
  `sortBy=score_profile` needs `sortScoreProfile` (422 otherwise) and sorts by
  `scoring[sortScoreProfile]`.
- `startAfterDate` keeps conversations strictly after it (asc: greater, desc: smaller);
  repeated, its first value counts. Any other parameter repeated is a 422.
- `status=read` is an `unreadCount` of 0 or none; `recents` is a `lastMessageDate` within
  7 days of the newest one in the data. Empty text parameters are ignored;
  `scoreProfileMin`/`Max` without `scoreProfile` are checked but ignored.
- Checks run in this order: token (401), rate limits (429), path (404), Version (400),
  locationId (400/403), injected fault, query (422). Every answer has an `X-Request-Id`;
  every answer to a request with the right token has the `X-RateLimit-*` headers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .data import DEFAULT_START_MS, SCORE_PROFILES, TAGS, USER_IDS, generate_conversations
    from .faults import Faults
    from .query import QueryError
    from .recording import RecordedRequest
    from .server import DEFAULT_LOCATION_ID, DEFAULT_TOKEN, LeadwayEmulator
    from .threaded import ThreadedEmulator

__all__ = [
    "DEFAULT_LOCATION_ID",
    "DEFAULT_START_MS",
    "DEFAULT_TOKEN",
    "SCORE_PROFILES",
    "TAGS",
    "USER_IDS",
    "Faults",
    "LeadwayEmulator",
    "QueryError",
    "RecordedRequest",
    "ThreadedEmulator",
    "generate_conversations",
]

_MODULES = {
    "DEFAULT_LOCATION_ID": "server",
    "DEFAULT_START_MS": "data",
    "DEFAULT_TOKEN": "server",
    "SCORE_PROFILES": "data",
    "TAGS": "data",
    "USER_IDS": "data",
    "Faults": "faults",
    "LeadwayEmulator": "server",
    "QueryError": "query",
    "RecordedRequest": "recording",
    "ThreadedEmulator": "threaded",
    "generate_conversations": "data",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
