"""A location that changes while it is walked: conversations lost, delivered again, and
what the catch-up costs in requests.

The emulator (in its own process) serves a location while conversations get new
messages at a steady rate; afterwards its ground truth says which ids were there for
the whole walk. Contenders, each on the same data, newest first and oldest first:

- `paginate()`: this version's walk;
- `walk as of 0.1`: the walk before the catch-up and the end rule of this version (kept
  here as a baseline): it re-asks its boundary and drops the ids seen there, and ends on
  a short page or once it has handed out `total` conversations; no catch-up.

Each also walks the location held still, for the requests a still walk needs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import Any

import aiohttp
import orjson
from attrs import frozen

from leadway_async import LeadwayClient
from leadway_async.middleware import Handler, Request, Response

from ._server import Server, emulator_process
from .walks import HEADERS_VERSION, SEARCH

PAGE = 100


@frozen
class Walk:
    """What one walk did: ids handed out in order, requests sent, time span, counter."""

    ids: tuple[str, ...]
    requests: int
    started: float
    ended: float
    redelivered: int | None = None


async def sdk_walk(server: Server, order: str) -> Walk:
    requests = 0

    async def count(request: Request, handler: Handler) -> Response:
        nonlocal requests
        requests += 1
        return await handler(request)

    async with LeadwayClient(
        server.token, location_id=server.location_id, base_url=server.url, middlewares=[count]
    ) as client:
        started = time.time()
        pager = client.paginate(sort=order, prefetch=0)
        ids = [conversation.id async for conversation in pager]
        return Walk(tuple(ids), requests, started, time.time(), pager.redelivered)


async def walk_as_of_0_1(server: Server, order: str) -> Walk:
    """The 0.1 pager's rules in a raw loop: exact on a still location, no catch-up."""
    headers = {"Authorization": f"Bearer {server.token}", "Version": HEADERS_VERSION}
    base = {"locationId": server.location_id, "sort": order}
    ids: list[str] = []
    boundary: int | None = None
    seen: set[str] = set()
    requests = 0
    started = time.time()
    async with aiohttp.ClientSession() as session:
        while True:
            query = dict(base)
            if boundary is not None:
                query["startAfterDate"] = str(boundary - 1 if order == "asc" else boundary + 1)
            query["limit"] = str(min(PAGE, PAGE + len(seen)))
            async with session.get(server.url + SEARCH, params=query, headers=headers) as answer:
                body = orjson.loads(await answer.read())
            requests += 1
            page = body["conversations"]
            fresh = [c for c in page if not (c["sort"][0] == boundary and c["id"] in seen)]
            ids += [c["id"] for c in fresh]
            if page:
                last = page[-1]["sort"][0]
                run = {c["id"] for c in page if c["sort"][0] == last}
                seen = run | seen if last == boundary else run
                boundary = last
            if len(page) < int(query["limit"]) or len(ids) >= body["total"]:
                return Walk(tuple(ids), requests, started, time.time())


CONTENDERS = {"leadway_async paginate()": sdk_walk, "walk as of 0.1": walk_as_of_0_1}


async def ground_truth(server: Server, walk: Walk) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {server.token}"}
    span = {"from": str(walk.started), "to": str(walk.ended)}
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.url + "/_emulator/live", params=span, headers=headers) as answer,
    ):
        truth: dict[str, Any] = orjson.loads(await answer.read())
    return truth


def needed_requests(walk: Walk) -> int:
    """Requests the conversations handed out need at the least: full pages of them."""
    return max(1, math.ceil(len(walk.ids) / PAGE))


def run(conversations: int, messages_per_s: float, latency_ms: float) -> tuple[str, str]:
    """The section's table, and a summary of its goals beside the figures."""
    lines = [
        f"Walks of {conversations:,} conversations (pages of {PAGE}, {latency_ms:g} ms per "
        f"request) while {messages_per_s:g} conversations a second get a new message; the "
        "same walk on the location held still beside it.",
        "",
        "| contender | order | lost | delivered again (counted) | moved during the walk | "
        "requests, still | requests, changing | extra requests beyond the pages needed, "
        "changing vs still |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    results: dict[tuple[str, str], tuple[Walk, Walk, dict[str, Any]]] = {}
    for order in ("desc", "asc"):
        for name, walker in CONTENDERS.items():
            with emulator_process(conversations, latency_ms=latency_ms) as still_server:
                still = asyncio.run(walker(still_server, order))
            with emulator_process(
                conversations, latency_ms=latency_ms, messages_per_s=messages_per_s
            ) as server:
                live = asyncio.run(walker(server, order))
                truth = asyncio.run(ground_truth(server, live))
            results[(name, order)] = (still, live, truth)
    goals: list[str] = []
    for (name, order), (still, live, truth) in results.items():
        assert len(set(still.ids)) == len(still.ids) == conversations, (name, order)
        present = set(truth["present_throughout"])
        lost = len(present - set(live.ids))
        again = sum(n - 1 for n in Counter(live.ids).values())
        counted = "" if live.redelivered is None else f" ({live.redelivered})"
        extra_live = live.requests - needed_requests(live)
        extra_still = still.requests - needed_requests(still)
        share = (live.requests / still.requests - 1) if still.requests else 0.0
        lines.append(
            f"| {name} | {order} | {lost} | {again}{counted} | {len(truth['moved'])} | "
            f"{still.requests} | {live.requests} ({share:+.1%}) | {extra_live} vs {extra_still} |"
        )
        goals.append(f"{name}, {order}: {lost} lost, {share:+.1%} requests")
    lines += [
        "",
        "Lost: conversations present for the whole walk and never handed out (goal 0). "
        "Requests, changing: the share is against the still walk (goal for the catch-up: "
        "at most 2 % more); conversations that moved to the end of an oldest-first walk "
        "come again, and their pages are counted too.",
    ]
    summary = (
        "- A location that changes during the walk (goals: 0 lost, at most 2 % more "
        "requests than still): " + "; ".join(goals) + "."
    )
    return "\n".join(lines), summary
