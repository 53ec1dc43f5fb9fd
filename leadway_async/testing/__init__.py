"""A local emulator of the Leadway CRM conversations search API, for tests and demos.

It speaks HTTP and JSON only and shares no code with the client. Names are imported on
first use, so loading the pytest plugin stays cheap.

Where the real API's behaviour is not documented, the emulator does this:

- Order is by the sort value, then by `id` ascending, in both directions. A conversation
  without the value the query sorts by is kept (and counted in `total`) after all the
  others, in both orders, with `9223372036854775807` (asc) or `-9223372036854775807` (desc)
  as its `sort` value, as a search backend keeps missing values last.
- `sortBy=due_at` and `overdue_at` sort by `dateUpdated` (the data has no due dates);
  `sortBy=score_profile` needs `sortScoreProfile` (422 otherwise) and sorts by the `score`
  of the `scoring` entry whose `profileId` it names; `scoreProfile` filters on the same.
- `startAfterDate` keeps conversations strictly after it (asc: greater, desc: smaller),
  compared exactly (an integer as an integer); outside the signed 64-bit range it is a 422.
  Repeated, its first value counts. Any other parameter repeated is a 422.
- `lastMessageType` filters take the spec's 42 values only (the off-spec `TYPE_NO_SHOW` and
  `TYPE_VOICEMAIL` the data carries are a 422 as filters).
- `status=read` is an `unreadCount` of 0 or none; `recents` is a `lastMessageDate` within
  7 days of the newest one the index has held. Empty text parameters are ignored;
  `scoreProfileMin`/`Max` without `scoreProfile` are checked but ignored.
- Checks run in this order: token (401), rate limits (429), path (404), Version (400; by
  default `2021-07-28`, `2021-04-15`, `2023-02-21` and `v3` are accepted), locationId
  (400/403), injected fault, query (422). Every body has a `traceId` (a UUID4); there is no
  `X-Request-Id`. Every answer to a request with the right token has the `X-RateLimit-*`
  headers, `X-RateLimit-Daily-Reset` (milliseconds to UTC midnight) among them.
- With `live=LiveChanges(...)`, conversations change while it serves (messages, creations,
  deletions, reads, as a seeded Poisson process); a creation shows in searches after
  `index_lag_s`. `emulator.live` answers what happened over a span of time, and so does
  `GET /_emulator/live?from=&to=` (bearer token, not rate limited, not recorded) for a
  client in another process.
- `locations=[...]` serves more locations beside the default one, each with its own
  conversations, rate-limit window, daily budget and live changes; the static token reads
  them all.
- OAuth (`oauth`): `POST /oauth/token` (codes from `emulator.authorization_code()` or
  `POST /_emulator/oauth/code`; rotating single-use refresh tokens, a replayed one revokes
  its chain), `POST /oauth/locationToken` and `GET /oauth/installedLocations` with a
  company token. A Location access token searches its own location (403 elsewhere); a
  company token on a search is a 401 "The token is not authorized for this scope."; an
  expired, revoked or unknown one the usual 401. No token, secret or code is recorded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .data import DEFAULT_START_MS, SCORE_PROFILES, TAGS, USER_IDS, generate_conversations
    from .faults import Faults
    from .live import LiveChanges, LiveWorld
    from .oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_COMPANY_ID
    from .query import QueryError
    from .recording import RecordedRequest
    from .server import DEFAULT_LOCATION_ID, DEFAULT_TOKEN, LeadwayEmulator
    from .threaded import ThreadedEmulator

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_COMPANY_ID",
    "DEFAULT_LOCATION_ID",
    "DEFAULT_START_MS",
    "DEFAULT_TOKEN",
    "SCORE_PROFILES",
    "TAGS",
    "USER_IDS",
    "Faults",
    "LeadwayEmulator",
    "LiveChanges",
    "LiveWorld",
    "QueryError",
    "RecordedRequest",
    "ThreadedEmulator",
    "generate_conversations",
]

_MODULES = {
    "DEFAULT_CLIENT_ID": "oauth",
    "DEFAULT_CLIENT_SECRET": "oauth",
    "DEFAULT_COMPANY_ID": "oauth",
    "DEFAULT_LOCATION_ID": "server",
    "DEFAULT_START_MS": "data",
    "DEFAULT_TOKEN": "server",
    "SCORE_PROFILES": "data",
    "TAGS": "data",
    "USER_IDS": "data",
    "Faults": "faults",
    "LeadwayEmulator": "server",
    "LiveChanges": "live",
    "LiveWorld": "live",
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
