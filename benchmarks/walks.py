"""Full walks over loopback: pages and conversations per second, against the floor.

Contenders, each following the API's cursor page after page:
- `floor`: raw aiohttp + orjson into dicts, no models (the naive strictly-after cursor);
- `leadway_async`: `client.paginate()` with full models and the default middleware;
- `official SDK`: HighLevel's `gohighlevel-api-client` (httpx, raw dicts), its class
  `BASE_URL` pointed at the emulator and its locked `Version: v3` header set to the
  documented `2021-07-28`, which the emulator (like the API's docs) requires;
- `pydantic`: aiohttp + a pydantic model of the same conversation (`model_validate_json`).

The emulator runs in its own process and advertises a rate limit too high to throttle.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pydantic
from attrs import frozen
from pydantic.alias_generators import to_camel

from leadway_async import LeadwayClient
from leadway_async.middleware import Handler, Request, Response

from ._server import Server

SEARCH = "/conversations/search"
WIRE_NAMES = {"assigned_to": "assignedTo", "status": "status", "sort": "sort"}


def wire(filters: dict[str, str]) -> dict[str, str]:
    """Keyword filters under the API's query parameter names (for the raw contenders)."""
    return {WIRE_NAMES[name]: value for name, value in filters.items()}


HEADERS_VERSION = "2021-07-28"


@frozen
class Walked:
    """What one walk did: requests sent, conversations received, their ids if kept."""

    pages: int
    conversations: int
    ids: tuple[str, ...] = ()


Walker = Callable[[Server, dict[str, str], bool], Awaitable[Walked]]


async def _raw_walk(
    server: Server,
    filters: dict[str, str],
    keep_ids: bool,
    parse: Callable[[bytes], list[Any]],
    cursor_of: Callable[[Any], Any],
    id_of: Callable[[Any], str],
) -> Walked:
    """A plain aiohttp cursor loop; `parse` turns a body into the page's conversations."""
    headers = {"Authorization": f"Bearer {server.token}", "Version": HEADERS_VERSION}
    query = {"locationId": server.location_id, "limit": "100", **wire(filters)}
    pages = count = 0
    ids: list[str] = []
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(server.url + SEARCH, params=query, headers=headers) as answer:
                items = parse(await answer.read())
            pages += 1
            count += len(items)
            if keep_ids:
                ids += [id_of(item) for item in items]
            if len(items) < 100:
                return Walked(pages, count, tuple(ids))
            query["startAfterDate"] = str(cursor_of(items[-1]))


async def floor(server: Server, filters: dict[str, str], keep_ids: bool) -> Walked:
    return await _raw_walk(
        server,
        filters,
        keep_ids,
        parse=lambda body: orjson.loads(body)["conversations"],
        cursor_of=lambda item: item["sort"][0],
        id_of=lambda item: item["id"],
    )


async def leadway(server: Server, filters: dict[str, str], keep_ids: bool) -> Walked:
    requests = 0

    async def count_requests(request: Request, handler: Handler) -> Response:
        nonlocal requests
        requests += 1
        return await handler(request)

    ids: list[str] = []
    count = 0
    async with LeadwayClient(
        server.token,
        location_id=server.location_id,
        base_url=server.url,
        middlewares=[count_requests],
    ) as client:
        async for page in client.paginate(**filters).pages():
            count += len(page)
            if keep_ids:
                ids += [conversation.id for conversation in page]
    return Walked(requests, count, tuple(ids))


async def official_sdk(server: Server, filters: dict[str, str], keep_ids: bool) -> Walked:
    from highlevel import HighLevel

    HighLevel.BASE_URL = server.url
    ghl = HighLevel(private_integration_token=server.token)
    ghl.API_VERSION = HEADERS_VERSION
    pages = count = 0
    ids: list[str] = []
    cursor: Any = None
    try:
        while True:
            page: Any = await ghl.conversations.search_conversation(
                location_id=server.location_id, limit=100, start_after_date=cursor, **filters
            )
            items = page["conversations"]
            pages += 1
            count += len(items)
            if keep_ids:
                ids += [item["id"] for item in items]
            if len(items) < 100:
                return Walked(pages, count, tuple(ids))
            cursor = items[-1]["sort"][0]
    finally:
        await ghl.http_client.aclose()


class PydanticConversation(pydantic.BaseModel):
    """The same conversation as a pydantic model, camelCase on the wire."""

    model_config = pydantic.ConfigDict(
        alias_generator=to_camel,
        frozen=True,
        extra="allow",
        populate_by_name=True,
    )

    id: str
    contact_id: str | None = None
    location_id: str | None = None
    last_message_body: str | None = None
    last_message_type: str | None = None
    type: str | None = None
    unread_count: int | None = None
    full_name: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    date_added: int | None = None
    date_updated: int | None = None
    last_message_date: int | None = None
    last_manual_message_date: int | None = None
    last_message_direction: str | None = None
    last_outbound_message_action: str | None = None
    assigned_to: str | None = None
    followers: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    company_name: str | None = None
    starred: bool | None = None
    inbox: bool | None = None
    scoring: list[dict[str, Any]] | None = None
    attributed: bool | None = None
    sort: tuple[int, ...] | None = None
    mentions: tuple[str, ...] | None = None
    is_last_message_internal_comment: bool | None = None
    message_types: tuple[int, ...] | None = None
    profile_photo: str | None = None
    last_message_conversation_provider_id: str | None = None


class PydanticPage(pydantic.BaseModel):
    conversations: list[PydanticConversation]
    total: int


async def pydantic_models(server: Server, filters: dict[str, str], keep_ids: bool) -> Walked:
    return await _raw_walk(
        server,
        filters,
        keep_ids,
        parse=lambda body: PydanticPage.model_validate_json(body).conversations,
        cursor_of=lambda item: item.sort[0],
        id_of=lambda item: item.id,
    )


CONTENDERS: dict[str, Walker] = {
    "floor (aiohttp + orjson)": floor,
    "leadway_async paginate()": leadway,
    "official SDK (httpx)": official_sdk,
    "pydantic models": pydantic_models,
}


async def walk_all(
    walker: Walker, server: Server, filter_sets: list[dict[str, str]], keep_ids: bool
) -> list[Walked]:
    """Run one walk per filter set, all at once."""
    return list(await asyncio.gather(*(walker(server, f, keep_ids) for f in filter_sets)))


@frozen
class Round:
    """One contender's round: wall seconds, this process's CPU seconds, the walks."""

    seconds: float
    cpu_seconds: float
    walks: list[Walked]


def timed_rounds(
    server: Server, filter_sets: list[dict[str, str]], rounds: int, keep_ids: bool = False
) -> dict[str, list[Round]]:
    """Each contender walks every filter set once per round, contenders alternating.

    CPU time is this process's alone (the emulator runs in its own): what the contender
    costs, whatever the machine's other load does to the wall time.
    """
    results: dict[str, list[Round]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        for name, walker in CONTENDERS.items():
            started, cpu = time.perf_counter(), time.process_time()
            walked = asyncio.run(walk_all(walker, server, filter_sets, keep_ids))
            results[name].append(
                Round(time.perf_counter() - started, time.process_time() - cpu, walked)
            )
    return results
