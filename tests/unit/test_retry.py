"""RetryMiddleware alone, against scripted handlers and a fake clock: no real sleeping."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from leadway_async import APIConnectionError, APITimeoutError, ResponseDecodeError
from leadway_async.middleware import (
    Request,
    RetryEvent,
    RetryMiddleware,
    RetryPolicy,
    is_testing,
    set_testing,
)

from .middleware_helpers import REQUEST, FakeClock, ScriptedHandler, response


def middleware(
    policy: RetryPolicy | None = None, seed: int = 0
) -> tuple[RetryMiddleware, FakeClock]:
    """A retry middleware on a fake clock; its jitter draws from a seeded generator."""
    clock = FakeClock()
    rng = random.Random(seed)
    policy = evolve(policy or RetryPolicy(), jitter=lambda cap: rng.uniform(0, cap))
    return RetryMiddleware(policy, sleep=clock.sleep, clock=clock), clock


def exact(policy: RetryPolicy | None = None) -> tuple[RetryMiddleware, FakeClock]:
    """A retry middleware whose jitter takes the whole cap, so every wait is pinned."""
    clock = FakeClock()
    policy = evolve(policy or RetryPolicy(), jitter=lambda cap: cap)
    return RetryMiddleware(policy, sleep=clock.sleep, clock=clock), clock


@pytest.mark.parametrize(
    "failure",
    [
        APIConnectionError("reset"),
        APITimeoutError("slow"),
        ResponseDecodeError("cut short"),
        408,
        429,
        500,
        502,
        503,
        504,
    ],
)
async def test_transient_failures_are_retried_until_success(failure: object) -> None:
    retry, clock = middleware()
    handler = ScriptedHandler([failure, failure, 200])

    result = await retry(REQUEST, handler)

    assert result.status == 200
    assert [r.attempt for r in handler.requests] == [1, 2, 3]
    assert {r.params for r in handler.requests} == {REQUEST.params}  # the same page asked again
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_never_retried(status: int) -> None:
    retry, clock = middleware()
    handler = ScriptedHandler([status, 200])

    result = await retry(REQUEST, handler)

    assert result.status == status
    assert len(handler.requests) == 1
    assert clock.sleeps == []


async def test_default_is_three_retries_then_the_last_outcome() -> None:
    retry, clock = middleware()
    handler = ScriptedHandler([503] * 10)
    result = await retry(REQUEST, handler)
    assert result.status == 503
    assert len(handler.requests) == 4
    assert len(clock.sleeps) == 3

    failing = ScriptedHandler([APIConnectionError(f"reset {i}") for i in range(10)])
    with pytest.raises(APIConnectionError, match="reset 3"):
        await retry(REQUEST, failing)
    assert len(failing.requests) == 4


async def test_max_retries_zero_turns_retrying_off() -> None:
    retry, clock = middleware(RetryPolicy(max_retries=0))
    handler = ScriptedHandler([503, 200])
    assert (await retry(REQUEST, handler)).status == 503
    assert len(handler.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", True),
        ("base_delay", -0.1),
        ("max_delay", float("nan")),
        ("max_retry_wait", "60"),
    ],
)
def test_policy_values_are_checked(keyword: str, value: object) -> None:
    with pytest.raises(ValueError, match=keyword):
        RetryPolicy(**{keyword: value})  # type: ignore[arg-type]


async def test_backoff_caps_double_from_the_base_delay_up_to_the_max_delay() -> None:
    retry, clock = exact(RetryPolicy(base_delay=0.5, max_delay=8.0, max_retries=7))
    await retry(REQUEST, ScriptedHandler([503] * 8))
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


async def test_the_default_jitter_is_full_jitter_below_each_cap() -> None:
    clock = FakeClock()
    retry = RetryMiddleware(RetryPolicy(max_retries=3), sleep=clock.sleep, clock=clock)
    random.seed(3)
    await retry(REQUEST, ScriptedHandler([500] * 4))
    random.seed(3)
    expected = [random.uniform(0, cap) for cap in (0.5, 1.0, 2.0)]
    assert clock.sleeps == expected


async def test_waits_grow_with_the_policy() -> None:
    retry, clock = middleware(RetryPolicy(base_delay=1.0, max_delay=3.0, max_retries=6), seed=4)
    await retry(REQUEST, ScriptedHandler([500] * 6))
    caps = [1.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    assert len(clock.sleeps) == 6
    assert all(0 <= wait <= cap for wait, cap in zip(clock.sleeps, caps, strict=True))


@given(asked=st.integers(min_value=0, max_value=60), seed=st.integers(min_value=0, max_value=999))
async def test_a_429_waits_what_retry_after_asks_never_less(asked: int, seed: int) -> None:
    retry, clock = middleware(seed=seed)
    await retry(REQUEST, ScriptedHandler([response(429, Retry_After=asked), 200]))
    (wait,) = clock.sleeps
    assert asked <= wait <= asked + 1


@pytest.mark.parametrize(
    ("asked", "longest"),
    [(0, 0.05), (2, 2.25), (9.5, 10.5), (30, 31.0), (60, 61.0)],
)
async def test_a_429_adds_at_most_a_tenth_of_the_asked_wait_and_never_over_a_second(
    asked: float, longest: float
) -> None:
    retry, clock = exact()
    await retry(REQUEST, ScriptedHandler([response(429, Retry_After=asked), 200]))
    assert clock.sleeps == [pytest.approx(longest)]


async def test_retry_after_in_milliseconds_is_read_as_milliseconds() -> None:
    retry, clock = exact()
    await retry(REQUEST, ScriptedHandler([response(429, Retry_After_Ms=1500), 200]))
    assert clock.sleeps == [pytest.approx(1.5 + 0.2)]


async def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    retry, clock = middleware()
    await retry(
        REQUEST,
        ScriptedHandler([response(429, Retry_After=format_datetime(when, usegmt=True)), 200]),
    )
    (wait,) = clock.sleeps
    assert 28 <= wait <= 32


async def test_without_retry_after_a_429_waits_for_the_rate_limit_window() -> None:
    retry, clock = middleware()
    answer = response(429, X_RateLimit_Interval_Milliseconds=10_000, X_RateLimit_Remaining=0)
    await retry(REQUEST, ScriptedHandler([answer, 200]))
    (wait,) = clock.sleeps
    assert 10 <= wait <= 11


async def test_the_window_is_read_from_milliseconds_to_seconds() -> None:
    retry, clock = exact()
    answer = response(429, X_RateLimit_Interval_Milliseconds=2_500)
    await retry(REQUEST, ScriptedHandler([answer, 200]))
    assert clock.sleeps == [pytest.approx(2.5 + 0.3)]


async def test_a_429_without_any_wait_asked_backs_off_like_other_failures() -> None:
    retry, clock = exact()
    await retry(REQUEST, ScriptedHandler([429, 429, 200]))
    assert clock.sleeps == [0.5, 1.0]


async def test_too_long_a_retry_after_gives_up_at_once() -> None:
    retry, clock = middleware(RetryPolicy(max_retry_wait=60))
    handler = ScriptedHandler([response(429, Retry_After=61), 200])
    assert (await retry(REQUEST, handler)).status == 429
    assert len(handler.requests) == 1
    assert clock.sleeps == []


async def test_a_used_up_daily_quota_gives_up_at_once() -> None:
    retry, clock = middleware()
    handler = ScriptedHandler([response(429, X_RateLimit_Daily_Remaining=0, Retry_After=1), 200])
    assert (await retry(REQUEST, handler)).status == 429
    assert len(handler.requests) == 1
    assert clock.sleeps == []


async def test_a_wait_past_the_deadline_ends_the_call_without_waiting() -> None:
    retry, clock = middleware()
    request = evolve(REQUEST, deadline=clock.now + 5)
    handler = ScriptedHandler([response(429, Retry_After=10), 200])
    assert (await retry(request, handler)).status == 429
    assert clock.sleeps == []
    assert len(handler.requests) == 1


async def test_a_wait_that_ends_exactly_at_the_deadline_is_not_started() -> None:
    retry, clock = exact()
    request = evolve(REQUEST, deadline=clock.now + 1.5)
    handler = ScriptedHandler([500, 500, 200])
    assert (await retry(request, handler)).status == 500
    assert clock.sleeps == [0.5]  # the second wait (1.0 s) would end just at the deadline
    assert len(handler.requests) == 2


async def test_a_connection_error_is_raised_as_it_came_when_the_deadline_stops_retrying() -> None:
    retry, clock = exact()
    request = evolve(REQUEST, deadline=clock.now + 0.1)
    error = APIConnectionError("refused")
    with pytest.raises(APIConnectionError) as raised:
        await retry(request, ScriptedHandler([error, 200]))
    assert raised.value is error
    assert clock.sleeps == []


async def test_on_retry_hears_attempt_wait_and_reason() -> None:
    events: list[RetryEvent] = []
    retry, clock = middleware(RetryPolicy(on_retry=events.append))
    await retry(REQUEST, ScriptedHandler([503, APIConnectionError("reset by peer"), 200]))
    assert [e.attempt for e in events] == [1, 2]
    assert [e.wait for e in events] == clock.sleeps
    assert events[0].reason == "HTTP 503"
    assert "reset by peer" in events[1].reason


async def test_each_retry_logs_a_warning_with_reason_and_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry, clock = middleware()
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        await retry(REQUEST, ScriptedHandler([502, 200]))
    (record,) = [r for r in caplog.records if r.name == "leadway_async"]
    assert record.levelno == logging.WARNING
    assert "HTTP 502" in record.getMessage()
    assert f"{clock.sleeps[0]:.2f} s" in record.getMessage()


async def test_testing_switch_turns_waits_to_zero() -> None:
    assert not is_testing()
    set_testing(True)
    try:
        retry, clock = middleware()
        await retry(REQUEST, ScriptedHandler([response(429, Retry_After=30), 503, 200]))
        assert clock.sleeps == [0.0, 0.0]
    finally:
        set_testing(False)


async def test_testing_switch_as_a_context_manager_restores_the_previous_mode() -> None:
    assert not is_testing()
    with set_testing(True):
        assert is_testing()
        with set_testing(False):
            assert not is_testing()
            retry, clock = exact()
            await retry(REQUEST, ScriptedHandler([503, 200]))
            assert clock.sleeps == [0.5]
        assert is_testing()
        retry, clock = exact()
        await retry(REQUEST, ScriptedHandler([503, 200]))
        assert clock.sleeps == [0.0]
    assert not is_testing()


GRANT = Request("POST", "/oauth/token", form=(("grant_type", "refresh_token"),), idempotent=False)


@pytest.mark.parametrize(
    "first",
    [500, 502, 504, 408, APIConnectionError("reset"), ResponseDecodeError("cut", status=200)],
    ids=str,
)
async def test_a_request_that_must_not_go_twice_is_not_retried_when_the_server_may_have_taken_it(
    first: int | Exception,
) -> None:
    clock = FakeClock()
    handler = ScriptedHandler([first, 200])
    middleware = RetryMiddleware(RetryPolicy(), sleep=clock.sleep, clock=clock)
    if isinstance(first, Exception):
        with pytest.raises(type(first)):
            await middleware(GRANT, handler)
    else:
        assert (await middleware(GRANT, handler)).status == first
    assert len(handler.requests) == 1


@pytest.mark.parametrize("first", [429, 503])
async def test_a_request_that_must_not_go_twice_is_retried_when_the_server_did_not_take_it(
    first: int,
) -> None:
    clock = FakeClock()
    handler = ScriptedHandler([first, 200])
    middleware = RetryMiddleware(RetryPolicy(), sleep=clock.sleep, clock=clock)
    assert (await middleware(GRANT, handler)).status == 200
    assert [r.attempt for r in handler.requests] == [1, 2]
    assert handler.requests[1].form == GRANT.form


def test_a_form_never_shows_in_a_request_repr() -> None:
    request = Request("POST", "/oauth/token", form=(("client_secret", "s3cr3t-value"),))
    assert "s3cr3t-value" not in repr(request)


def test_waits_of_zero_are_a_policy() -> None:
    policy = RetryPolicy(base_delay=0, max_delay=0, max_retry_wait=0)
    assert (policy.base_delay, policy.max_delay, policy.max_retry_wait) == (0, 0, 0)


async def test_a_retry_after_an_error_names_the_error_and_its_text() -> None:
    events: list[RetryEvent] = []
    retry, _ = middleware(RetryPolicy(on_retry=events.append))
    await retry(REQUEST, ScriptedHandler([APIConnectionError("reset by peer"), 200]))
    assert [event.reason for event in events] == ["APIConnectionError: reset by peer"]


async def test_the_retry_warning_says_what_where_when_why_and_how_many(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry, _ = exact(RetryPolicy(max_retries=5))
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        await retry(REQUEST, ScriptedHandler([502, 200]))
    assert [r.getMessage() for r in caplog.records] == [
        "retrying GET /conversations/search in 0.50 s after HTTP 502 (attempt 1 of 6 failed)"
    ]
