"""LoggingMiddleware alone: one DEBUG line per request with what an operator needs."""

from __future__ import annotations

import logging

import attrs
import pytest

from leadway_async import APIConnectionError
from leadway_async.middleware import LoggingMiddleware

from .middleware_helpers import REQUEST, ScriptedHandler, response


async def test_a_debug_line_per_request_with_status_attempt_and_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = response(
        200, X_RateLimit_Remaining=7, X_RateLimit_Max=100, X_RateLimit_Daily_Remaining=99
    )
    request = attrs.evolve(REQUEST, params=(("locationId", "L1"), ("status", "unread")), attempt=2)
    with caplog.at_level(logging.DEBUG, logger="leadway_async"):
        await LoggingMiddleware()(request, ScriptedHandler([answer]))
    (record,) = caplog.records
    line = record.getMessage()
    assert record.levelno == logging.DEBUG
    assert line.startswith("GET /conversations/search?locationId=L1&status=unread -> 200 in ")
    assert "attempt 2" in line
    assert "7/100 left" in line
    assert "day 99 left" in line


async def test_a_failed_request_is_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    failing = ScriptedHandler([APIConnectionError("reset")])
    with caplog.at_level(logging.DEBUG, logger="leadway_async"), pytest.raises(APIConnectionError):
        await LoggingMiddleware()(REQUEST, failing)
    (record,) = caplog.records
    assert "-> APIConnectionError" in record.getMessage()


async def test_nothing_is_formatted_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="leadway_async"):
        result = await LoggingMiddleware()(REQUEST, ScriptedHandler([200]))
    assert result.status == 200
    assert caplog.records == []
