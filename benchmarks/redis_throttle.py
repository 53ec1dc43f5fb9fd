"""One budget: the throttle under jitter and load, and across processes through Redis.

Every contender walks one location of an emulator (in a process of its own, a fresh one
each time) that enforces 20 requests per second in fixed windows; it waits 20 ms, then
counts a request and answers. 429s are counted where they arrive (every attempt, retried
ones included). The share of the allowed rate is the least time the accepted requests
need without breaking the window over the time from the start to the last answer; the
steady share is the pace after the first window (see `Outcome`).

1. One process, eight tasks, the in-process `Throttle`, under each of the conditions in
   which counting a request at its send let the server count more than the window: 2 MB
   pages (100 conversations of about 20 KB each); 5 ms of CPU per conversation (pages of
   10; beside it, in a full run, half that work); 0 to 50 ms between the throttle and the
   wire (a middleware inside the throttle sleeps that long: a jittery path); and one
   sequential caller on that jittery path against a server that enforces nothing but
   still reports a window of 20 a second counted at arrival (a middleware inside the
   jitter stamps the `X-RateLimit-*` headers such a server sends: the emulator can only
   enforce the window it reports), the case where an `X-RateLimit-Remaining: 0` that
   disagreed with the local log paused a whole window.
2. Four worker processes with eight tasks each: the in-process `Throttle` in each (the
   default) beside one `RedisThrottle` budget on a loopback redis-server, with the
   conditions combined (0-50 ms jitter and 5 ms of CPU per conversation, pages of 10: at
   20 pages a second, 100 conversations a page at 5 ms each would need ten cores), then
   (full run) 2 MB pages alone, the jitter alone, and the combined one without CPU work.
3. Four processes sharing one install's OAuth tokens in a `RedisTokenStore` across one
   token expiry: how many refresh requests reach the token endpoint (one is the goal).
4. What the throttle itself costs per request: one task, answers at once, a window too
   large to wait for.

Without redis-py or redis-server only the first table runs.

    python -m benchmarks.redis_throttle [--quick]         # the section on its own
    python -m benchmarks.redis_throttle worker '<json>'   # one walker (run() starts them)
    python -m benchmarks.redis_throttle oauth '<json>'    # one process of the token test
    python -m benchmarks.redis_throttle emulator '<json>' # an emulator with long bodies
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from attrs import evolve, frozen
from multidict import CIMultiDict, CIMultiDictProxy

from leadway_async import LeadwayClient
from leadway_async.errors import LeadwayError
from leadway_async.middleware import (
    Handler,
    Request,
    Response,
    RetryMiddleware,
    RetryPolicy,
    Throttle,
)
from leadway_async.models import RateLimit

from ._server import Server, emulator_process, serve

WINDOW_MAX, WINDOW_MS = 20, 1000
PROCESSES, TASKS, PAGE = 4, 8, 10
LATENCY_MS, JITTER_MS, CPU_MS = 20, 50, 5.0
BIG_PAGE, BODY_BYTES = 100, 20_000  # about 2 MB a page
# Tokens (lifetime, renewed this long before expiry, searching this long): the renewal,
# then the first token's expiry, both inside the run; the second renewal due after it.
TOKENS_FULL, TOKENS_QUICK = (3.0, 1.0, 3.4), (2.0, 0.5, 2.2)
REDIRECT = "https://example.com/callback"
REPO = Path(__file__).resolve().parents[1]


@frozen
class Condition:
    """What the walkers face: `processes` x `tasks` walks of `pages` pages of `page_size`,
    `cpu_ms` of CPU per conversation, 0 to `jitter_ms` between the throttle and the wire,
    `body_bytes` of message body per conversation (0: the generator's short ones). With
    `enforced` false the emulator refuses nothing and the walkers stamp the headers a
    server counting 20 a second at arrival would send."""

    name: str
    short: str  # for the goals line
    processes: int
    tasks: int
    pages: int
    page_size: int = PAGE
    cpu_ms: float = 0.0
    jitter_ms: float = 0.0
    body_bytes: int = 0
    enforced: bool = True
    beside: bool = False  # shown to explain another row, not measured against a goal


@frozen
class Outcome:
    """What the walkers of one run saw, added up."""

    attempts: int
    rejected: int
    seconds: float  # from the start to the last answer
    walked: float  # from the start to the end of the walks (the last pages worked on)
    cpu_seconds: float
    page_bytes: float  # mean body of a 200
    refused_at_arrival: int  # `enforced=False`: what a server counting at arrival would refuse
    sends: tuple[float, ...]  # when each accepted request reached the wire, in order

    @property
    def share(self) -> float | None:
        """The least time the accepted requests need over the time they took (None: a
        window's worth or fewer, which need no time)."""
        accepted = self.attempts - self.rejected
        if accepted <= WINDOW_MAX:
            return None
        return _least_seconds(accepted) / self.seconds

    @property
    def steady(self) -> float | None:
        """After the first window: a window's worth of requests over the mean time from
        an accepted request to the window's worth after it, against the window (None: too
        few requests)."""
        sends = self.sends
        cycles = [
            sends[i + WINDOW_MAX] - sends[i] for i in range(WINDOW_MAX, len(sends) - WINDOW_MAX)
        ]
        if not cycles:
            return None
        return WINDOW_MS / 1000 / (sum(cycles) / len(cycles))

    @property
    def cores(self) -> float:
        """The walkers' CPU time over the walks' time."""
        return self.cpu_seconds / self.walked


def _loops_per_second() -> float:
    """How many turns of an empty loop this process makes in a second of CPU."""
    turns, started = 2_000_000, time.thread_time()
    for _ in range(turns):
        pass
    return turns / (time.thread_time() - started)


def _work(turns: int) -> None:
    """Spend CPU: `turns` turns of an empty loop (no clock read in the loop)."""
    for _ in range(turns):
        pass


def _arrival_stamp(refused: list[int]) -> Callable[[Request, Handler], Awaitable[Response]]:
    """A middleware that counts each request where it reaches the wire in fixed windows of
    20 a second and puts on its answer the `X-RateLimit-*` headers a server counting that
    way sends (refusing nothing: it counts in `refused` what it would have refused)."""
    from leadway_async.testing.ratelimit import RateLimiter

    limiter = RateLimiter(max_requests=WINDOW_MAX, interval_ms=WINDOW_MS, mode="fixed")

    async def stamp(request: Request, handler: Handler) -> Response:
        quota = limiter.hit(request.query.get("locationId", ""))
        refused[0] += not quota.allowed
        response = await handler(request)
        headers = CIMultiDict(response.headers)
        headers["X-RateLimit-Max"] = str(quota.max_requests)
        headers["X-RateLimit-Interval-Milliseconds"] = str(quota.interval_ms)
        headers["X-RateLimit-Remaining"] = str(quota.remaining)
        return evolve(
            response,
            headers=CIMultiDictProxy(headers),
            rate_limit=RateLimit.from_headers(headers),
        )

    return stamp


async def _worker(settings: dict[str, Any]) -> dict[str, Any]:
    """One process: `tasks` walks of `pages` pages each, from `start_at`; what it saw."""
    logging.getLogger("leadway_async").setLevel(logging.ERROR)  # 429s are counted, not told
    turns = round(_loops_per_second() * settings["cpu_ms"] / 1000)
    statuses: dict[int, int] = {}
    received = [0]  # body bytes of the 200s
    answered = [0.0]  # when the last answer came
    sends: list[float] = []
    refused = [0]
    draws = random.Random(settings["seed"])
    jitter_s = settings["jitter_ms"] / 1000

    async def jitter(request: Request, handler: Handler) -> Response:
        await asyncio.sleep(draws.uniform(0, jitter_s))
        return await handler(request)

    async def count(request: Request, handler: Handler) -> Response:
        sent = time.time()
        response = await handler(request)
        answered[0] = time.time()
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.status != 429:
            sends.append(sent)
        if response.status == 200:
            received[0] += len(response.body)
        return response

    throttle: Any
    if settings["contender"] == "redis":
        from leadway_async.redis import RedisThrottle

        throttle = RedisThrottle(settings["redis_url"], namespace=settings["namespace"])
    else:
        throttle = Throttle()
    chain: list[Any] = [RetryMiddleware(RetryPolicy(max_retries=10)), throttle]
    if jitter_s:
        chain.append(jitter)
    if not settings["enforced"]:
        chain.append(_arrival_stamp(refused))
    chain.append(count)
    page_size = settings["page_size"]
    async with LeadwayClient(
        settings["token"],
        location_id=settings["location_id"],
        base_url=settings["url"],
        default_middlewares=False,
        middlewares=chain,
    ) as client:
        await asyncio.sleep(max(0.0, settings["start_at"] - time.time()))
        cpu = time.process_time()

        async def walk() -> int:
            seen = 0
            async for _ in client.paginate(
                limit=page_size, max_items=settings["pages"] * page_size
            ):
                _work(turns)
                seen += 1
            return seen

        seen = await asyncio.gather(*(walk() for _ in range(settings["tasks"])))
        ended, cpu = time.time(), time.process_time() - cpu
    if settings["contender"] == "redis":
        await throttle.aclose()
    return {
        "statuses": statuses,
        "answered": answered[0],
        "ended": ended,
        "cpu": cpu,
        "conversations": sum(seen),
        "body_bytes": received[0],
        "sends": sends,
        "refused": refused[0],
    }


def _least_seconds(accepted: int) -> float:
    """The least time `accepted` requests need without breaking the window."""
    return (math.ceil(accepted / WINDOW_MAX) - 1) * WINDOW_MS / 1000


def _contend(
    server: Server, contender: str, condition: Condition, redis_url: str | None
) -> Outcome:
    """Start the workers together; add up what they saw."""
    start_at = time.time() + 1.0  # after every interpreter has started (a late one joins late)
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    workers = []
    for seed in range(condition.processes):
        settings = {
            "url": server.url,
            "token": server.token,
            "location_id": server.location_id,
            "contender": contender,
            "redis_url": redis_url,
            "namespace": namespace,
            "tasks": condition.tasks,
            "pages": condition.pages,
            "page_size": condition.page_size,
            "cpu_ms": condition.cpu_ms,
            "jitter_ms": condition.jitter_ms,
            "enforced": condition.enforced,
            "start_at": start_at,
            "seed": seed,
        }
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks.redis_throttle", "worker", json.dumps(settings)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=600)
        if worker.returncode:
            raise RuntimeError(f"a {contender} worker failed with status {worker.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    statuses: dict[str, int] = {}
    for result in results:
        for status, count in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    conversations = sum(result["conversations"] for result in results)
    expected = condition.processes * condition.tasks * condition.pages * condition.page_size
    assert conversations == expected, (condition.name, contender, conversations)
    answered = statuses.get("200", 0)
    return Outcome(
        attempts=sum(statuses.values()),
        rejected=statuses.get("429", 0),
        seconds=max(result["answered"] for result in results) - start_at,
        walked=max(result["ended"] for result in results) - start_at,
        cpu_seconds=sum(result["cpu"] for result in results),
        page_bytes=sum(result["body_bytes"] for result in results) / max(1, answered),
        refused_at_arrival=sum(result["refused"] for result in results),
        sends=tuple(sorted(sent for result in results for sent in result["sends"])),
    )


def _padded(text: str | None, size: int) -> str:
    """`text` (or a short note) repeated until its JSON takes about `size` bytes."""
    unit = (text or "Left a voicemail.") + " "
    return unit * max(1, round(size / (len(json.dumps(unit, ensure_ascii=False).encode()) - 2)))


async def _serve_padded(settings: dict[str, Any]) -> None:
    """Serve an emulator whose conversations carry message bodies of `body_bytes`
    characters until SIGINT, announcing itself as `python -m leadway_async.testing` does."""
    from leadway_async.testing import DEFAULT_LOCATION_ID, LeadwayEmulator
    from leadway_async.testing.data import generate_conversations

    conversations = generate_conversations(
        settings["conversations"], seed=1, location_id=DEFAULT_LOCATION_ID
    )
    for conversation in conversations:
        conversation["lastMessageBody"] = _padded(
            conversation.get("lastMessageBody"), settings["body_bytes"]
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with LeadwayEmulator(
        conversations=conversations,
        latency_ms=settings["latency_ms"],
        rate_limit_max=settings["rate_limit_max"],
        rate_limit_interval_ms=WINDOW_MS,
    ) as emulator:
        print(f"export LEADWAY_BASE_URL={emulator.url}")
        print(f"export LEADWAY_TOKEN={emulator.token}")
        print(f"export LEADWAY_LOCATION_ID={emulator.location_id}")
        print("ready", flush=True)
        await stop.wait()


@contextmanager
def _emulator(condition: Condition) -> Iterator[Server]:
    """A fresh emulator in its own process for `condition`: enough conversations for
    every walk, the window enforced or not, long bodies or not."""
    conversations = condition.pages * condition.page_size + 50
    rate_limit_max = WINDOW_MAX if condition.enforced else 1_000_000_000
    if not condition.body_bytes:
        with emulator_process(
            conversations,
            latency_ms=LATENCY_MS,
            rate_limit_max=rate_limit_max,
            rate_limit_interval_ms=WINDOW_MS,
        ) as server:
            yield server
        return
    settings = {
        "conversations": conversations,
        "body_bytes": condition.body_bytes,
        "latency_ms": LATENCY_MS,
        "rate_limit_max": rate_limit_max,
    }
    command = [sys.executable, "-m", "benchmarks.redis_throttle", "emulator", json.dumps(settings)]
    with serve(command, cwd=REPO) as exports:
        yield Server(
            exports["LEADWAY_BASE_URL"], exports["LEADWAY_TOKEN"], exports["LEADWAY_LOCATION_ID"]
        )


async def _oauth_worker(settings: dict[str, Any]) -> dict[str, Any]:
    """One process of the token test: four tasks searching through an `OAuthApp` on the
    shared `RedisTokenStore` for `seconds` from when the tokens are there."""
    from leadway_async.auth import OAuthApp
    from leadway_async.redis import RedisTokenStore

    logging.getLogger("leadway_async").setLevel(logging.CRITICAL)
    store = RedisTokenStore(settings["redis_url"], key=settings["key"])
    print("ready", flush=True)
    while True:  # until the parent has exchanged the code into the store
        if await store.read() is not None:
            break
        await asyncio.sleep(0.005)
    ends = time.monotonic() + settings["seconds"]
    app = OAuthApp(
        settings["client_id"],
        settings["client_secret"],
        store,
        base_url=settings["url"],
        refresh_margin=settings["refresh_margin"],
    )
    calls = failures = 0
    async with LeadwayClient(auth=app, base_url=settings["url"], throttle=False) as client:

        async def task() -> None:
            nonlocal calls, failures
            while time.monotonic() < ends:
                try:
                    await client.search(location_id=settings["location_id"], limit=1)
                except LeadwayError:
                    failures += 1
                calls += 1
                await asyncio.sleep(0.01)

        await asyncio.gather(*(task() for _ in range(4)))
    await store.aclose()
    return {"calls": calls, "failures": failures}


@frozen
class Refreshes:
    """One run of the token test: searches made, failed and refused with a 401; refresh
    requests and invalid grants at the token endpoint."""

    searches: int
    failed: int
    unauthorized: int
    refreshes: int
    invalid_grants: int


def _token_run(redis_url: str, lifetime_s: float, margin_s: float, seconds: float) -> Refreshes:
    """Four processes across one token expiry, sharing a `RedisTokenStore`."""
    from leadway_async.auth import OAuthApp
    from leadway_async.redis import RedisTokenStore
    from leadway_async.testing import LeadwayEmulator

    key = f"bench-oauth-{uuid.uuid4().hex[:8]}"
    emulator = LeadwayEmulator(
        conversations=5, token_lifetime_s=lifetime_s, rate_limit_max=1_000_000
    )
    with emulator.run_in_thread() as emu:  # this process only waits meanwhile
        settings = {
            "url": emu.url,
            "redis_url": redis_url,
            "key": key,
            "location_id": emu.location_id,
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "refresh_margin": margin_s,
            "seconds": seconds,
        }
        command = [sys.executable, "-m", "benchmarks.redis_throttle", "oauth", json.dumps(settings)]
        workers = [
            subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError("a token worker did not start")

        async def install() -> None:
            store = RedisTokenStore(redis_url, key=key)
            app = OAuthApp(emu.client_id, emu.client_secret, store, base_url=emu.url)
            await app.exchange_code(emu.authorization_code("Location"), redirect_uri=REDIRECT)
            await store.aclose()

        asyncio.run(install())
        results = []
        for worker in workers:
            out, _ = worker.communicate(timeout=120)
            if worker.returncode:
                raise RuntimeError(f"a token worker failed with status {worker.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        counts = emu.oauth_requests
        searches = [r for r in emu.requests if r.path.startswith("/conversations")]
    return Refreshes(
        searches=sum(result["calls"] for result in results),
        failed=sum(result["failures"] for result in results),
        unauthorized=sum(1 for r in searches if r.status == 401),
        refreshes=counts["refresh_token"],
        invalid_grants=counts["invalid_grant"],
    )


async def _cost(make: Callable[[], Any], calls: int) -> float:
    """Milliseconds per request spent in `make()`'s throttle (None: no throttle at all)."""
    headers = {
        "X-RateLimit-Max": "1000000000",
        "X-RateLimit-Interval-Milliseconds": "10000",
        "X-RateLimit-Remaining": "999999999",
    }
    request = Request("GET", "/conversations/search", (("locationId", "bench"),))
    answer = Response(request, 200, headers, b"{}", {}, RateLimit.from_headers(headers), 0.0)

    async def handler(_: Request) -> Response:
        return answer

    throttle = make()
    call: Callable[[], Awaitable[Response]] = (
        (lambda: handler(request)) if throttle is None else (lambda: throttle(request, handler))
    )
    for _ in range(50):  # the window is learned, connections are open, scripts loaded
        await call()
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    seconds = time.perf_counter() - started
    if hasattr(throttle, "aclose"):
        await throttle.aclose()
    return seconds / calls * 1000


def _costs(redis_url: str, calls: int) -> list[tuple[str, float]]:
    from leadway_async.redis import RedisThrottle

    def redis_throttle() -> RedisThrottle:
        return RedisThrottle(redis_url, namespace=f"bench-{uuid.uuid4().hex[:8]}")

    contenders: list[tuple[str, Callable[[], Any]]] = [
        ("no throttle", lambda: None),
        ("Throttle (in process)", Throttle),
        ("RedisThrottle (loopback Redis)", redis_throttle),
    ]
    return [(name, asyncio.run(_cost(make, calls))) for name, make in contenders]


def _redis_missing() -> str | None:
    """Why the Redis parts cannot run here, or None."""
    try:
        from leadway_async.redis.local_server import LocalRedisServer
    except ImportError:
        return "redis-py is not installed (pip install -e '.[redis]')"
    if not LocalRedisServer.available():
        return "redis-server is not installed"
    return None


def _one_process(quick: bool) -> tuple[list[str], list[str]]:
    """Table 1: the in-process `Throttle` in one process, one condition at a time."""
    pages = 1 if quick else 25  # per task: 8 x 25 = 200 requests
    conditions = [
        Condition(
            f"2 MB pages ({BIG_PAGE} conversations of {BODY_BYTES // 1000} KB)",
            "2 MB pages",
            1,
            TASKS,
            pages,
            page_size=BIG_PAGE,
            body_bytes=BODY_BYTES,
        ),
        Condition(
            f"{CPU_MS:g} ms of CPU per conversation, pages of {PAGE}",
            f"{CPU_MS:g} ms CPU",
            1,
            TASKS,
            pages,
            cpu_ms=CPU_MS,
        ),
        Condition(
            f"{CPU_MS / 2:g} ms of CPU per conversation (half), pages of {PAGE}",
            f"{CPU_MS / 2:g} ms CPU",
            1,
            TASKS,
            pages,
            cpu_ms=CPU_MS / 2,
            beside=True,
        ),
        Condition(f"0-{JITTER_MS} ms path jitter", "jitter", 1, TASKS, pages, jitter_ms=JITTER_MS),
        Condition(
            f"sequential caller, 0-{JITTER_MS} ms path jitter, server enforcing nothing",
            "sequential, not enforced",
            1,
            1,
            pages * TASKS,
            jitter_ms=JITTER_MS,
            enforced=False,
        ),
    ]
    lines = [
        "One process, the in-process `Throttle`, one condition at a time (goals: 0 429s, "
        "at least 90 % of the allowed rate):",
        "",
        "| condition | tasks | requests | 429s received | seconds | share of the allowed rate "
        "| steady share | page | walker CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    if quick:  # the rows beside the goals explain a full run's figures
        conditions = [condition for condition in conditions if not condition.beside]
    summary = []
    stamped = 0
    for condition in conditions:
        with _emulator(condition) as server:
            result = _contend(server, "throttle", condition, None)
        if not condition.enforced:
            stamped = result.refused_at_arrival
        lines.append(
            f"| {condition.name} | {condition.tasks} | {result.attempts} | {result.rejected} | "
            f"{result.seconds:.2f} | {_percent(result.share)} | {_percent(result.steady)} | "
            f"{_size(result.page_bytes)} | {result.cores:.0%} of a core |"
        )
        if not condition.beside:
            summary.append(_summary(condition.short, result))
    lines += [
        "",
        f"The server of the last row refuses nothing; counted at arrival as one enforcing "
        f"the window would, it would have refused {stamped} of those requests.",
        "",
        "What limits these: each place is held from the send until one window (and 5 ms) "
        "after the answer is seen, so each round of the window's requests takes the window "
        f"plus a round trip as the walker sees it: {LATENCY_MS} ms of answer, the jitter "
        f"(0-{JITTER_MS} ms), the reading of a 2 MB page. A busy event loop sees answers "
        f"late and wakes late: at {CPU_MS:g} ms a conversation the walker needs "
        f"{WINDOW_MAX} pages x {PAGE} x {CPU_MS:g} ms = "
        f"{WINDOW_MAX * PAGE * CPU_MS / 1000:g} s of CPU a second at the allowed rate, all "
        "of one core, and the row at half that work (full run) shows the throttle's share "
        "once the core is not saturated. The sequential caller waits for each answer "
        f"before the next send, so the last window's {WINDOW_MAX} requests take it about a "
        "second that the least time counts as none: on ten windows its whole-run share "
        "cannot pass about 90 %; the steady share is its pace.",
    ]
    return lines, summary


def _size(bytes_: float) -> str:
    return f"{bytes_ / 1e6:.1f} MB" if bytes_ >= 1e5 else f"{bytes_ / 1e3:.0f} KB"


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.1%}"


def _summary(name: str, result: Outcome) -> str:
    share = "n/a" if result.share is None else f"{result.share:.0%}"
    steady = "n/a" if result.steady is None else f"{result.steady:.0%}"
    return f"{name} {result.rejected} 429s, {share} (steady {steady})"


def _processes(quick: bool, redis_url: str) -> tuple[list[str], list[str]]:
    """Table 2: four processes, a `Throttle` in each beside one `RedisThrottle` budget."""
    combined_pages = 1 if quick else 15
    pages = 1 if quick else 6  # per task: 4 x 8 x 6 = 192 requests
    conditions = [
        Condition(
            f"0-{JITTER_MS} ms jitter and {CPU_MS:g} ms CPU per conversation, pages of {PAGE}",
            "combined",
            PROCESSES,
            TASKS,
            combined_pages,
            cpu_ms=CPU_MS,
            jitter_ms=JITTER_MS,
        ),
    ]
    if not quick:  # the combined condition is enough to see the section runs
        conditions += [
            Condition(
                f"2 MB pages ({BIG_PAGE} conversations of {BODY_BYTES // 1000} KB)",
                "2 MB pages",
                PROCESSES,
                TASKS,
                pages,
                page_size=BIG_PAGE,
                body_bytes=BODY_BYTES,
            ),
            Condition(
                f"0-{JITTER_MS} ms path jitter",
                "jitter",
                PROCESSES,
                TASKS,
                pages,
                jitter_ms=JITTER_MS,
            ),
        ]
    runs: list[tuple[Condition, str, str]] = []
    for condition in conditions:
        runs.append((condition, "Throttle in each process", "throttle"))
        runs.append((condition, "RedisThrottle, one budget", "redis"))
    if not quick:  # how much of the gap is the walkers' busy event loops, not the throttle
        no_cpu = evolve(
            conditions[0],
            name=f"0-{JITTER_MS} ms jitter, no CPU work, pages of {PAGE}",
            short="jitter, no CPU work",
            cpu_ms=0.0,
            beside=True,
        )
        runs.append((no_cpu, "RedisThrottle, one budget", "redis"))
    lines = [
        f"{PROCESSES} processes x {TASKS} tasks (goals: RedisThrottle 0 429s and at least "
        "90 % of the allowed rate; the `Throttle` in each process beside it):",
        "",
        "| condition | contender | requests | 429s received | seconds | share of the allowed "
        "rate | steady share | walkers' CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    summary = []
    for condition, name, contender in runs:
        with _emulator(condition) as server:
            result = _contend(server, contender, condition, redis_url)
        lines.append(
            f"| {condition.name} | {name} | {result.attempts} | {result.rejected} | "
            f"{result.seconds:.2f} | {_percent(result.share)} | {_percent(result.steady)} | "
            f"{result.cores:.2f} cores |"
        )
        who = name.split(",")[0].replace(" in each process", " each")
        if not condition.beside:
            summary.append(_summary(f"{who} {condition.short}", result))
    lines += [
        "",
        "What limits these: the `Throttle` in each process holds only its own places; the "
        "other processes show only after the fact, through `X-RateLimit-Remaining` and "
        "429s, so the four overrun the window whenever they start or resume together (a "
        "429 pauses a process a window, and all four resume at about the same time). "
        "`RedisThrottle` keeps one set of places for all of them. Its share pays for "
        "learning the window once for everyone (one request in flight across all "
        "processes until the first answer), for a Redis round trip at each grant and each "
        "release (the last table), for polling Redis every 50 ms while every place is "
        "held by a request in flight, and, in the combined condition, for walkers that "
        f"need {WINDOW_MAX * PAGE * CPU_MS / 1000:g} s of CPU a second between them at the "
        "allowed rate on cores they share with the emulator and Redis: the row without "
        "CPU work (full run) shows the share without it.",
    ]
    return lines, summary


def _tokens(quick: bool, redis_url: str) -> tuple[list[str], str]:
    """Table 3: four processes across one token expiry with a `RedisTokenStore`."""
    rounds = 1 if quick else 3
    lifetime_s, margin_s, seconds = TOKENS_QUICK if quick else TOKENS_FULL
    lines = [
        f"{PROCESSES} processes x 4 tasks searching through one install's tokens in a "
        f"`RedisTokenStore` (code exchanged once, by this process, into the store): tokens "
        f"live {lifetime_s:g} s and are renewed {margin_s:g} s before they expire; each "
        f"process searches for {seconds:g} s from the exchange, across the renewal and the "
        "first token's expiry, ending before the second renewal is due (goal: exactly 1 "
        "refresh request a run, no invalid_grant).",
        "",
        "| run | searches | failed | answered 401 | refresh requests | invalid_grant |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    outcomes = []
    for number in range(1, rounds + 1):
        run = _token_run(redis_url, lifetime_s, margin_s, seconds)
        outcomes.append(run)
        lines.append(
            f"| {number} | {run.searches} | {run.failed} | {run.unauthorized} | "
            f"{run.refreshes} | {run.invalid_grants} |"
        )
    lines += [
        "",
        "Refresh requests and invalid grants as the emulator's token endpoint counted "
        "them, searches answered 401 as its record shows. The first process to find the "
        "tokens within the margin takes the store's Redis lock and renews; the others wait "
        "for the lock, then read the renewed tokens from Redis. What this does not show: a "
        "process stalled past the lock's time to live (30 s) while renewing, or Redis "
        "going away mid-renewal.",
    ]
    refreshes = ", ".join(str(run.refreshes) for run in outcomes)
    invalid = sum(run.invalid_grants for run in outcomes)
    return lines, f"RedisTokenStore {refreshes} refresh per run, {invalid} invalid_grant"


def run(quick: bool) -> tuple[str, str]:
    """The section's Markdown body, and a summary of its goals beside the figures."""
    lines = [
        f"A window of {WINDOW_MAX} requests per {WINDOW_MS} ms enforced in fixed windows; "
        f"the emulator waits {LATENCY_MS} ms, then counts a request and answers; each "
        "contender on a fresh emulator in a process of its own. 429s: every attempt "
        "answered 429, retried ones "
        "included. Share of the allowed rate: the least time the accepted requests need "
        "without breaking the window (the first window's worth is free) over the time from "
        "the start to the last answer; it pays for the start (one request alone until the "
        "window is learned) and for a last window partly used. Steady share: after the "
        f"first window, {WINDOW_MAX} requests over the mean time from an accepted request "
        f"to the {WINDOW_MAX}th after it, against the window: the pace kept, whose ceiling "
        "under the rule is the window over the window plus the 5 ms margin plus the round "
        "trip as the walker sees it. CPU: the walking processes' CPU time over the walks' "
        f"time ({os.cpu_count()} cores here, shared with the emulator, Redis and anything "
        "else running).",
        "",
    ]
    one_lines, one_summary = _one_process(quick)
    lines += one_lines
    goals = f"in one process {'; '.join(one_summary)}"
    missing = _redis_missing()
    if missing is not None:
        lines += ["", f"The rest not run: {missing}."]
        return "\n".join(lines), _goals_line(goals)
    from leadway_async.redis.local_server import LocalRedisServer

    with LocalRedisServer() as redis_server:
        process_lines, process_summary = _processes(quick, redis_server.url)
        token_lines, token_summary = _tokens(quick, redis_server.url)
        costs = _costs(redis_server.url, 300 if quick else 3000)
    floor = costs[0][1]
    redis_cost = costs[2][1] - floor
    lines += [
        "",
        *process_lines,
        "",
        *token_lines,
        "",
        "What the throttle costs per request (one task, sequential, answers at once):",
        "",
        "| throttle | ms per request | over no throttle |",
        "|---|---:|---:|",
        *(f"| {name} | {ms:.3f} | {ms - floor:+.3f} ms |" for name, ms in costs),
        "",
        "No network and no emulator here: the in-process `Throttle` is bookkeeping in "
        "memory; `RedisThrottle` is one script call to a loopback Redis to take a place "
        "and one to report the answer, so its cost is two Redis round trips, which grow "
        "with the distance to Redis.",
    ]
    goals += (
        f"; {PROCESSES} processes {'; '.join(process_summary)}; {token_summary}; "
        f"RedisThrottle costs {redis_cost:+.2f} ms a request"
    )
    return "\n".join(lines), _goals_line(goals)


def _goals_line(figures: str) -> str:
    return (
        "- One budget (goals: 0 429s for `Throttle` and `RedisThrottle` under 0-50 ms "
        "jitter, 5 ms CPU per conversation and 2 MB pages, at least 90 % of the allowed "
        f"rate; exactly 1 token refresh across 4 processes): {figures}."
    )


if __name__ == "__main__":
    command = sys.argv[1:2]
    if command == ["worker"]:
        print(json.dumps(asyncio.run(_worker(json.loads(sys.argv[2])))), flush=True)
    elif command == ["oauth"]:
        print(json.dumps(asyncio.run(_oauth_worker(json.loads(sys.argv[2])))), flush=True)
    elif command == ["emulator"]:
        asyncio.run(_serve_padded(json.loads(sys.argv[2])))
    else:
        text, goals = run("--quick" in sys.argv)
        print(f"{text}\n\n{goals}")
