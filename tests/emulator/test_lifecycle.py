"""Starting and stopping: the async handle and the thread-backed one."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request

import aiohttp
import pytest

from leadway_async.testing import DEFAULT_LOCATION_ID, DEFAULT_TOKEN, LeadwayEmulator

IN_USE = "(?i)in use|usage"


def sync_search(url: str, token: str, location_id: str, query: str = "") -> dict[str, object]:
    request = urllib.request.Request(
        f"{url}/conversations/search?locationId={location_id}{query}",
        headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, object] = json.load(answer)
        return body


def refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError as answered:
        answered.close()
        return False
    except OSError:
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_start_serve_and_stop(http: aiohttp.ClientSession) -> None:
    emulator = LeadwayEmulator(conversations=12, seed=1)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url
    async with emulator as entered:
        assert entered is emulator
        assert emulator.url.startswith("http://127.0.0.1:")
        assert (emulator.token, emulator.location_id) == (DEFAULT_TOKEN, DEFAULT_LOCATION_ID)
        url = emulator.url
        async with http.get(
            f"{url}/conversations/search",
            params={"locationId": emulator.location_id},
            headers={"Authorization": f"Bearer {emulator.token}", "Version": "2021-07-28"},
        ) as answer:
            assert (await answer.json())["total"] == 12
        with pytest.raises(RuntimeError, match="once"):
            await emulator.start()
    await emulator.aclose()  # a second close does nothing
    assert await asyncio.to_thread(refused, url)
    with pytest.raises(RuntimeError, match="once"):
        await emulator.start()


async def test_chosen_port_token_and_location() -> None:
    port = free_port()
    async with LeadwayEmulator(
        conversations=3, port=port, token="pit-mine", location_id="MyLocation0000000001"
    ) as emulator:
        assert emulator.url == f"http://127.0.0.1:{port}"
        body = await asyncio.to_thread(sync_search, emulator.url, "pit-mine", emulator.location_id)
        assert body["total"] == 3
        assert {c["locationId"] for c in emulator.conversations} == {"MyLocation0000000001"}


async def test_a_busy_port_fails_cleanly() -> None:
    async with LeadwayEmulator(conversations=1) as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match=IN_USE):
            await LeadwayEmulator(conversations=1, port=port).start()


def test_conversations_given_as_dicts_are_served_as_given() -> None:
    convs = [{"id": "b", "lastMessageDate": 1}, {"id": "a", "lastMessageDate": 2}]
    emulator = LeadwayEmulator(conversations=convs)
    assert emulator.conversations == convs
    assert [c["id"] for c in emulator.expected()] == ["a", "b"]


def test_same_seed_same_conversations() -> None:
    first = LeadwayEmulator(conversations=50, seed=7, ties=0.5).conversations
    assert LeadwayEmulator(conversations=50, seed=7, ties=0.5).conversations == first
    assert LeadwayEmulator(conversations=50, seed=8, ties=0.5).conversations != first


def test_the_thread_backed_variant_serves_synchronous_code() -> None:
    threads = set(threading.enumerate())
    with LeadwayEmulator(conversations=40, seed=2).run_in_thread() as emulator:
        body = sync_search(emulator.url, emulator.token, emulator.location_id, "&status=unread")
        expected = emulator.expected({"status": "unread"})
        assert body["total"] == len(expected)
        emulator.inject("status:503")
        with pytest.raises(urllib.error.HTTPError) as caught:
            sync_search(emulator.url, emulator.token, emulator.location_id)
        caught.value.close()
        assert caught.value.code == 503
        assert [r.status for r in emulator.requests] == [200, 503]
        assert emulator.emulator.url == emulator.url
        url = emulator.url
    emulator.close()  # a second close does nothing
    assert refused(url)
    assert set(threading.enumerate()) == threads  # the loop thread is gone


async def test_the_thread_backed_variant_serves_another_event_loop(
    http: aiohttp.ClientSession,
) -> None:
    with LeadwayEmulator(conversations=5).run_in_thread() as emulator:
        async with http.get(
            f"{emulator.url}/conversations/search",
            params={"locationId": emulator.location_id},
            headers={"Authorization": f"Bearer {emulator.token}", "Version": "2021-07-28"},
        ) as answer:
            assert (await answer.json())["total"] == 5
            assert emulator.request_count == 1


def test_a_thread_that_cannot_start_reports_why() -> None:
    with LeadwayEmulator(conversations=1).run_in_thread() as first:
        port = int(first.url.rsplit(":", 1)[1])
        threads = set(threading.enumerate())
        with pytest.raises(OSError, match=IN_USE):
            LeadwayEmulator(conversations=1, port=port).run_in_thread().start()
        assert set(threading.enumerate()) == threads


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="retry_after"):
        LeadwayEmulator(conversations=1, retry_after=-1)
    with pytest.raises(ValueError, match="latency_ms"):
        LeadwayEmulator(conversations=1, latency_ms=-5)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_an_ipv6_host_gets_a_bracketed_url() -> None:
    with LeadwayEmulator(conversations=2, host="::1").run_in_thread() as emulator:
        assert emulator.url.startswith("http://[::1]:")
        body = sync_search(emulator.url, emulator.token, emulator.location_id)
        assert body["total"] == 2
