"""The next page asked for while this one is built: the answer used only when the cursor
rule then asks exactly that query, never more than `prefetch` pages ahead, and nothing
left behind when the walk stops."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from leadway_async import LeadwayClient
from leadway_async.middleware import Handler, Request, Response
from leadway_async.testing import LeadwayEmulator

from .helpers import client_for, expected_ids


class Events:
    """An outermost middleware noting each request as it sets out and as it comes back
    (its page built), by its cursor."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str | None]] = []

    async def __call__(self, request: Request, handler: Handler) -> Response:
        cursor = request.query.get("startAfterDate")
        self.log.append(("send", cursor))
        response = await handler(request)
        self.log.append(("done", cursor))
        return response

    def sent(self) -> list[str | None]:
        """The cursor of each request, in the order they set out."""
        return [cursor for kind, cursor in self.log if kind == "send"]

    def sent_while_the_page_before_was_read(self) -> int:
        """How many requests set out before the request before them came back."""
        sends = [i for i, (kind, _) in enumerate(self.log) if kind == "send"]
        early = 0
        for before, this in itertools.pairwise(sends):
            done = self.log.index(("done", self.log[before][1]), before)
            early += this < done
        return early


def walk_emulator(**options: Any) -> LeadwayEmulator:
    return LeadwayEmulator(rate_limit_max=1_000_000, **options)


async def walk(client: LeadwayClient, **options: Any) -> list[str]:
    return [conversation.id async for conversation in client.paginate(**options)]


async def test_the_next_request_goes_out_while_this_page_is_built() -> None:
    events = Events()
    async with walk_emulator(conversations=1_000, seed=3) as emu:
        async with client_for(emu, middlewares=[events]) as client:
            ids = await walk(client, limit=50)
        assert ids == expected_ids(emu)
    cursors = [cursor for cursor in events.sent() if cursor is not None]  # None: from the top
    assert len(cursors) == len(set(cursors))  # an answer asked early is used, not asked again
    # 20 pages: from the third on, each was asked for while the page before was read.
    assert events.sent_while_the_page_before_was_read() >= 18


class Held:
    """A middleware holding every request back until released."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, request: Request, handler: Handler) -> Response:
        self.reached.set()
        await self.release.wait()
        return await handler(request)


async def test_nothing_is_asked_early_while_another_walk_of_the_loop_waits_for_a_page() -> None:
    held, events, others = Held(), Events(), Events()
    async with (
        walk_emulator(conversations=1_000, seed=3) as emu,
        client_for(emu, middlewares=[held, others]) as held_client,
        client_for(emu, middlewares=[events]) as client,
    ):
        other = asyncio.ensure_future(walk(held_client, limit=50))
        await held.reached.wait()  # the other walk's reader waits for its first page
        assert await walk(client, limit=50) == expected_ids(emu)
        held.release.set()
        assert await other == expected_ids(emu)
    assert events.sent_while_the_page_before_was_read() == 0
    # Alone once released, the other walk asks early as any walk does.
    assert others.sent_while_the_page_before_was_read() >= 18


async def test_without_prefetch_or_with_max_items_nothing_is_asked_early() -> None:
    for options in ({"prefetch": 0}, {"max_items": 700}):
        events = Events()
        async with walk_emulator(conversations=1_000, seed=3) as emu:
            async with client_for(emu, middlewares=[events]) as client:
                ids = await walk(client, limit=50, **options)
            assert ids == expected_ids(emu)[: options.get("max_items")]
        assert events.sent_while_the_page_before_was_read() == 0, options


async def test_a_guess_the_rule_does_not_confirm_is_dropped_and_nothing_is_lost() -> None:
    # Many conversations share their sort value: at a page boundary the rule widens the
    # page by the ids it has to skip, which the early guess does not know.
    plain, guessing = Events(), Events()
    async with walk_emulator(conversations=2_000, seed=5, ties=0.5) as emu:
        async with client_for(emu, middlewares=[plain]) as client:
            assert await walk(client, limit=20, prefetch=0) == expected_ids(emu)
        async with client_for(emu, middlewares=[guessing]) as client:
            assert await walk(client, limit=20) == expected_ids(emu)
    asked, guessed = plain.sent(), guessing.sent()
    wrong = len(guessed) - len(asked)
    assert set(asked) <= set(guessed)  # every query the rule asked, and a few guesses more
    # After a wrong guess none is sent until a checked one is right: with half of all
    # neighbours sharing their value (an extreme), about one page in six costs one more.
    assert 0 < wrong < len(asked) // 4


async def test_nothing_is_asked_after_a_short_page() -> None:
    events = Events()
    async with walk_emulator(conversations=250) as emu, client_for(emu, middlewares=[events]) as c:
        assert len(await walk(c, sort="asc")) == 250
    assert len(events.sent()) == 3  # 100, 100 and the last 50: the walk ends there


async def test_nothing_is_asked_after_a_short_page_when_total_cannot_tell() -> None:
    # From a caller's own cursor, `total` counts conversations before it too: the body's
    # conversations are counted instead.
    events = Events()
    async with walk_emulator(conversations=250) as emu, client_for(emu, middlewares=[events]) as c:
        assert len(await walk(c, sort="asc", start_after_date=1)) == 250
    assert len(events.sent()) == 3
    assert events.sent_while_the_page_before_was_read() == 1  # the third, the second full


async def test_the_page_after_one_the_total_says_is_full_is_asked_early() -> None:
    # 200 conversations: the second page is full by `total`, so the walk asks a third
    # (empty) page, and asks it early.
    events = Events()
    async with walk_emulator(conversations=200) as emu, client_for(emu, middlewares=[events]) as c:
        assert len(await walk(c, sort="asc")) == 200
    assert len(events.sent()) == 3
    assert events.sent_while_the_page_before_was_read() == 1


async def test_closing_the_walk_cancels_a_request_asked_early() -> None:
    async with (
        walk_emulator(conversations=1_000, seed=3, latency_ms=30) as emu,
        client_for(emu) as client,
    ):
        async with contextlib.aclosing(client.paginate(limit=50).pages()) as pages:
            await pages.__anext__()
            await pages.__anext__()  # the third page is asked for while the second is read
            assert walk_tasks()  # the third page on its way
        assert walk_tasks() == set()
        await asyncio.sleep(0.1)
        assert len(emu.requests) == 3  # the third went out; no more after the close


def walk_tasks() -> set[asyncio.Task[Any]]:
    """The tasks of walks still running (the emulator's own are left out)."""
    return {
        task
        for task in asyncio.all_tasks()
        if "leadway_async" in getattr(task.get_coro(), "cr_code", _NO_CODE).co_filename
    }


_NO_CODE = walk_tasks.__code__
