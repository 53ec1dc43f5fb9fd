"""Rate-limit and Retry-After headers, the status -> exception map, and the error tree."""

from __future__ import annotations

import inspect
import logging
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from leadway_async import errors
from leadway_async._headers import parse_retry_after
from leadway_async._responses import error_from_response, page_from_body, raise_for_status
from leadway_async.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    LeadwayError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
    status_error_class,
)
from leadway_async.middleware.chain import Request, Response
from leadway_async.models import RateLimit

# header -> RateLimit attribute, as the contract lists them.
RATE_HEADERS = {
    "X-RateLimit-Limit-Daily": "limit_daily",
    "X-RateLimit-Daily-Remaining": "daily_remaining",
    "X-RateLimit-Interval-Milliseconds": "interval_ms",
    "X-RateLimit-Max": "max",
    "X-RateLimit-Remaining": "remaining",
}
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)

# --- RateLimit.from_headers ------------------------------------------------------------


def test_all_five_rate_limit_headers_are_read() -> None:
    headers = CIMultiDict(
        {
            "X-RateLimit-Limit-Daily": "200000",
            "X-RateLimit-Daily-Remaining": "199990",
            "X-RateLimit-Interval-Milliseconds": "10000",
            "X-RateLimit-Max": "100",
            "X-RateLimit-Remaining": "97",
        }
    )
    assert RateLimit.from_headers(headers) == RateLimit(
        limit_daily=200_000, daily_remaining=199_990, interval_ms=10_000, max=100, remaining=97
    )


def test_rate_limit_headers_are_case_insensitive() -> None:
    headers = CIMultiDict({name.lower(): "7" for name in RATE_HEADERS})
    rate = RateLimit.from_headers(headers)
    assert all(getattr(rate, attribute) == 7 for attribute in RATE_HEADERS.values())
    upper = RateLimit.from_headers(CIMultiDict({name.upper(): "8" for name in RATE_HEADERS}))
    assert all(getattr(upper, attribute) == 8 for attribute in RATE_HEADERS.values())


def test_no_rate_limit_headers_give_all_none() -> None:
    assert RateLimit.from_headers(CIMultiDict({"Content-Type": "application/json"})) == RateLimit()
    assert RateLimit() == RateLimit(None, None, None, None, None)


@settings(deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(RATE_HEADERS)), st.integers(0, 10**9)))
def test_present_headers_are_read_and_missing_ones_are_none(values: dict[str, int]) -> None:
    headers = CIMultiDict({name: f" {value} " for name, value in values.items()})
    rate = RateLimit.from_headers(headers)
    for name, attribute in RATE_HEADERS.items():
        assert getattr(rate, attribute) == values.get(name)


@pytest.mark.parametrize("value", ["", " ", "abc", "1.5", "10 requests", "0x10", "1e3", "None"])
def test_a_malformed_rate_limit_header_gives_none(value: str) -> None:
    headers = CIMultiDict({"X-RateLimit-Remaining": value, "X-RateLimit-Max": "100"})
    rate = RateLimit.from_headers(headers)
    assert rate.remaining is None
    assert rate.max == 100


@pytest.mark.parametrize("value", ["1_000", "-1", "+5", "\u0663"], ids=repr)
def test_only_plain_decimal_counts_are_read(value: str) -> None:
    # Python's int() also takes digit-group underscores, signs and non-ASCII digits;
    # none of them is a count an HTTP header carries.
    assert RateLimit.from_headers(CIMultiDict({"X-RateLimit-Remaining": value})).remaining is None


@settings(deadline=None)
@given(st.text(alphabet="abcxyz.,;:/ -e", min_size=1).filter(lambda s: s.strip(" ")))
def test_text_with_no_digits_gives_none(value: str) -> None:
    assert RateLimit.from_headers(CIMultiDict({"X-RateLimit-Max": value})).max is None


# --- parse_retry_after -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"), [("120", 120.0), ("0", 0.0), ("1.5", 1.5), (" 3 ", 3.0), ("0.25", 0.25)]
)
def test_retry_after_in_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(CIMultiDict({"Retry-After": value})) == seconds


@settings(deadline=None)
@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_any_non_negative_seconds_value_is_read(seconds: float) -> None:
    assert parse_retry_after({"Retry-After": repr(seconds)}) == seconds


def test_retry_after_as_a_future_http_date() -> None:
    headers = CIMultiDict(
        {"Retry-After": format_datetime(NOW + timedelta(seconds=90), usegmt=True)}
    )
    assert parse_retry_after(headers, now=NOW) == 90.0


def test_retry_after_as_an_rfc_850_or_asctime_date() -> None:
    later = NOW + timedelta(seconds=30)
    assert parse_retry_after({"Retry-After": later.strftime("%a %b %d %H:%M:%S %Y")}, NOW) == 30.0


def test_retry_after_as_a_past_http_date_is_zero() -> None:
    headers = {"Retry-After": format_datetime(NOW - timedelta(hours=1), usegmt=True)}
    assert parse_retry_after(headers, now=NOW) == 0.0


@settings(deadline=None)
@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_an_http_date_gives_the_wait_until_it_from_now(offset: int) -> None:
    when = format_datetime(NOW + timedelta(seconds=offset), usegmt=True)
    assert parse_retry_after({"Retry-After": when}, now=NOW) == max(0, offset)


def test_a_date_without_now_is_relative_to_the_current_time() -> None:
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    wait = parse_retry_after({"Retry-After": format_datetime(future, usegmt=True)})
    assert wait is not None
    assert 3500 < wait <= 3600


@pytest.mark.parametrize(
    "value", ["soon", "", "-5", "nan", "inf", "-inf", "Mon, 99 Foo 2024 99:99:99 GMT", "1 2"]
)
def test_unreadable_retry_after_gives_none(value: str) -> None:
    assert parse_retry_after({"Retry-After": value}, now=NOW) is None


def test_no_retry_after_gives_none() -> None:
    assert parse_retry_after(CIMultiDict({"X-RateLimit-Remaining": "0"}), now=NOW) is None


def test_retry_after_ms_is_preferred() -> None:
    headers = CIMultiDict({"Retry-After": "60", "Retry-After-Ms": "1500"})
    assert parse_retry_after(headers, now=NOW) == 1.5
    assert parse_retry_after(CIMultiDict({"retry-after-ms": "250"}), now=NOW) == 0.25


def test_a_plain_dict_of_headers_as_the_api_spells_them_is_read() -> None:
    # A transport or middleware of the user's own may answer with a plain dict.
    assert parse_retry_after({"Retry-After": "60", "Retry-After-Ms": "1500"}, now=NOW) == 1.5


def test_an_unreadable_retry_after_ms_falls_back_to_retry_after() -> None:
    headers = CIMultiDict({"Retry-After": "60", "Retry-After-Ms": "later"})
    assert parse_retry_after(headers, now=NOW) == 60.0


def test_retry_after_is_case_insensitive_with_a_multidict() -> None:
    assert parse_retry_after(CIMultiDict({"retry-after": "12"}), now=NOW) == 12.0
    assert parse_retry_after(CIMultiDict({"RETRY-AFTER": "12"}), now=NOW) == 12.0


# --- status_error_class ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (418, APIStatusError),
        (409, APIStatusError),
    ],
)
def test_status_error_class(status: int, error_class: type[APIStatusError]) -> None:
    assert status_error_class(status) is error_class


# --- error_from_response ---------------------------------------------------------------


def response(
    status: int, body: bytes | dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    raw = orjson.dumps(body) if isinstance(body, dict) else body
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    header_map = CIMultiDict(headers or {})
    return Response(
        request=Request("GET", "/conversations/search", (("locationId", "loc"),)),
        status=status,
        headers=header_map,
        body=raw,
        data=data,
        rate_limit=RateLimit.from_headers(header_map),
        elapsed=0.01,
    )


def test_a_422_with_a_list_message_names_every_item() -> None:
    body = {
        "statusCode": 422,
        "message": ["property page should not exist", "limit must not be greater than 100"],
        "error": "Unprocessable Entity",
    }
    error = error_from_response(response(422, body))
    assert type(error) is UnprocessableEntityError
    assert error.status == 422
    assert "property page should not exist" in str(error)
    assert "limit must not be greater than 100" in str(error)
    assert "422" in str(error)
    assert error.body == body


def test_a_401_spec_body() -> None:
    body = {
        "statusCode": 401,
        "message": "Invalid token: access token is invalid",
        "error": "Unauthorized",
    }
    error = error_from_response(response(401, body))
    assert type(error) is AuthenticationError
    assert error.status == 401
    assert error.message == "Invalid token: access token is invalid"
    assert "Invalid token: access token is invalid" in str(error)


def test_a_400_spec_body() -> None:
    error = error_from_response(response(400, {"statusCode": 400, "message": "Bad Request"}))
    assert type(error) is BadRequestError
    assert "Bad Request" in str(error)


DAILY_EXHAUSTED = {
    "X-RateLimit-Limit-Daily": "200000",
    "X-RateLimit-Daily-Remaining": "0",
    "X-RateLimit-Max": "100",
    "X-RateLimit-Remaining": "50",
}


def test_a_429_with_no_daily_requests_left_is_final_for_the_day() -> None:
    error = error_from_response(response(429, {"message": "Too Many Requests"}, DAILY_EXHAUSTED))
    assert isinstance(error, RateLimitError)
    assert error.daily_quota_exhausted is True
    assert error.rate_limit is not None
    assert error.rate_limit.daily_remaining == 0
    assert "daily" in str(error)


@pytest.mark.parametrize("remaining", [None, "1", "199999", "junk"])
def test_a_429_with_daily_requests_left_is_not_final(remaining: str | None) -> None:
    headers = {"X-RateLimit-Remaining": "0"}
    if remaining is not None:
        headers["X-RateLimit-Daily-Remaining"] = remaining
    error = error_from_response(response(429, {"message": "Too Many Requests"}, headers))
    assert isinstance(error, RateLimitError)
    assert error.daily_quota_exhausted is False


def test_a_429_carries_retry_after() -> None:
    error = error_from_response(response(429, {"message": "slow down"}, {"Retry-After": "7"}))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    ms = error_from_response(response(429, {"message": "x"}, {"Retry-After-Ms": "2500"}))
    assert isinstance(ms, RateLimitError)
    assert ms.retry_after == 2.5
    none = error_from_response(response(429, {"message": "x"}))
    assert isinstance(none, RateLimitError)
    assert none.retry_after is None


def test_a_non_json_502_is_a_server_error_with_the_body_excerpt() -> None:
    body = b"<html><body><h1>502 Bad Gateway</h1>upstream went away</body></html>"
    error = error_from_response(response(502, body))
    assert type(error) is ServerError
    assert error.status == 502
    assert "upstream went away" in error.message
    assert "upstream went away" in str(error)


def test_a_long_non_json_error_body_is_cut_in_the_message() -> None:
    body = b"x" * 20_000
    error = error_from_response(response(503, body))
    assert type(error) is ServerError
    assert len(str(error)) < 1_000
    assert "20000" in str(error)


def test_an_empty_error_body_still_gives_a_message() -> None:
    error = error_from_response(response(500, b""))
    assert type(error) is ServerError
    assert error.message.strip()


def test_the_request_id_comes_from_x_request_id() -> None:
    error = error_from_response(
        response(404, {"message": "Not Found"}, {"x-request-id": "req-abc-123"})
    )
    assert type(error) is NotFoundError
    assert error.request_id == "req-abc-123"
    assert "req-abc-123" in str(error)
    assert error_from_response(response(404, {"message": "Not Found"})).request_id is None


def test_the_error_carries_the_rate_limit_it_was_sent_with() -> None:
    error = error_from_response(
        response(403, {"message": "no"}, {"X-RateLimit-Remaining": "3", "X-RateLimit-Max": "9"})
    )
    assert type(error) is PermissionDeniedError
    assert error.rate_limit == RateLimit(remaining=3, max=9)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 418, 422, 429, 500, 503])
def test_raise_for_status_raises_the_class_for_the_status(status: int) -> None:
    with pytest.raises(APIStatusError) as info:
        raise_for_status(response(status, {"message": "m"}))
    assert type(info.value) is status_error_class(status)


@pytest.mark.parametrize("status", [200, 204, 299])
def test_raise_for_status_lets_successes_through(status: int) -> None:
    raise_for_status(response(status, {"conversations": [], "total": 0}))


def test_page_from_body_builds_the_page() -> None:
    result = page_from_body(
        200,
        CIMultiDict({"X-Request-Id": "r1", "X-RateLimit-Remaining": "4"}),
        orjson.dumps({"conversations": [{"id": "a", "sort": [5]}], "total": 1}),
    )
    assert [c.id for c in result] == ["a"]
    assert result.next_cursor == 5
    assert result.request_id == "r1"
    assert result.rate_limit.remaining == 4


def test_a_page_names_the_trace_id_of_its_body_before_the_header() -> None:
    body = orjson.dumps({"conversations": [], "total": 0, "traceId": "t-9"})
    assert page_from_body(200, CIMultiDict({"X-Request-Id": "r1"}), body).request_id == "t-9"


def test_a_page_body_that_is_not_json_says_so_with_its_status() -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        page_from_body(200, CIMultiDict({"X-Request-Id": "r2"}), b'{"conversations": [')
    assert (caught.value.status, caught.value.request_id) == (200, "r2")


# --- ResponseValidationError -----------------------------------------------------------


def test_response_validation_error_truncates_long_bodies() -> None:
    body = b"{" + b"a" * 50_000
    error = ResponseValidationError("bad body", status=200, body=body)
    assert len(str(error)) < 1_000
    assert str(error).startswith("bad body (HTTP 200)")
    assert "50001" in str(error)
    assert error.body_excerpt.startswith("{aaa")


def test_response_validation_error_keeps_short_bodies_whole() -> None:
    error = ResponseValidationError("bad body", body=b'{"conversations": 5}')
    assert '{"conversations": 5}' in str(error)
    assert error.status is None
    assert "HTTP" not in str(error)


def test_response_validation_error_survives_undecodable_bytes() -> None:
    error = ResponseValidationError("bad", status=200, body=b"\xff\xfe abc")
    assert "abc" in str(error)


# --- the hierarchy ---------------------------------------------------------------------

ERROR_CLASSES = [
    value
    for value in vars(errors).values()
    if inspect.isclass(value)
    and issubclass(value, BaseException)
    and value.__module__ == errors.__name__
]


def test_the_module_defines_the_expected_errors() -> None:
    assert len(ERROR_CLASSES) >= 15


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_is_a_leadway_error(error_class: type[BaseException]) -> None:
    assert issubclass(error_class, LeadwayError)


def test_the_branches_of_the_tree() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(RateLimitError, APIStatusError)
    assert issubclass(ResponseDecodeError, ResponseValidationError)
    assert issubclass(ClientClosedError, RuntimeError)
    for error_class in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        UnprocessableEntityError,
        RateLimitError,
        ServerError,
    ):
        assert issubclass(error_class, APIStatusError)
    assert not issubclass(APIConnectionError, APIStatusError)
    assert not issubclass(ResponseValidationError, APIStatusError)


def test_a_timeout_is_caught_as_a_connection_error() -> None:
    with pytest.raises(APIConnectionError):
        raise APITimeoutError("took too long")


def test_the_daily_reset_header_is_read_in_milliseconds() -> None:
    budget = RateLimit.from_headers(CIMultiDict({"X-RateLimit-Daily-Reset": "83002000"}))
    assert budget.daily_reset == 83_002_000
    assert (
        RateLimit.from_headers(CIMultiDict({"X-RateLimit-Daily-Reset": "soon"})).daily_reset is None
    )


def test_a_used_up_daily_quota_error_says_when_it_resets() -> None:
    headers = {"X-RateLimit-Daily-Remaining": "0", "X-RateLimit-Daily-Reset": "5400000"}
    error = error_from_response(response(429, {"message": "Too many requests"}, headers))
    assert isinstance(error, RateLimitError)
    assert error.daily_quota_exhausted
    assert error.retry_after == 5400
    assert "resets in 1 h 30 min (at " in str(error)


def test_the_request_id_is_the_bodys_trace_id_before_any_header() -> None:
    body = {"message": "Not Found", "traceId": "2f1b3c4d-0000-4000-8000-000000000001"}
    error = error_from_response(response(404, body, {"X-Request-Id": "gateway-7"}))
    assert error.request_id == "2f1b3c4d-0000-4000-8000-000000000001"
    assert "2f1b3c4d-0000-4000-8000-000000000001" in str(error)
    assert (
        error_from_response(response(404, {"traceId": 5}, {"X-Request-Id": "g"})).request_id == "g"
    )


# --- what an error object carries, field by field --------------------------------------


def test_a_429_error_carries_its_body_request_id_and_rate_limit() -> None:
    body = {"message": "Too Many Requests", "traceId": "trace-429"}
    headers = {"Retry-After": "2", "X-RateLimit-Max": "100", "X-RateLimit-Remaining": "0"}
    error = error_from_response(response(429, body, headers))
    assert isinstance(error, RateLimitError)
    assert (error.status, error.retry_after, error.daily_quota_exhausted) == (429, 2.0, False)
    assert error.body == body
    assert error.request_id == "trace-429"
    assert error.rate_limit == RateLimit(max=100, remaining=0)
    assert error.message == "Too Many Requests"


def test_a_used_up_daily_quota_error_keeps_the_servers_message_and_says_when() -> None:
    headers = {"X-RateLimit-Daily-Remaining": "0", "X-RateLimit-Daily-Reset": "7200000"}
    error = error_from_response(response(429, {"message": "Quota exceeded"}, headers))
    assert isinstance(error, RateLimitError)
    assert re.fullmatch(
        r"Quota exceeded \(the daily request quota is used up; it resets in 2 h 00 min "
        r"\(at \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\)",
        error.message,
    )
    no_reset = error_from_response(
        response(429, {"message": "Quota exceeded"}, {"X-RateLimit-Daily-Remaining": "0"})
    )
    assert no_reset.message == "Quota exceeded (the daily request quota is used up)"


def test_an_error_body_that_is_not_json_is_kept_as_text() -> None:
    error = error_from_response(response(502, b"<h1>Bad Gateway</h1>"))
    assert error.body == "<h1>Bad Gateway</h1>"
    assert error.message == "<h1>Bad Gateway</h1>"
    empty = error_from_response(response(500, b""))
    assert (empty.body, empty.message) == ("", "(empty body)")
    throttled = error_from_response(response(429, b"slow down", {"X-Request-Id": "r-9"}))
    assert (throttled.body, throttled.request_id) == ("slow down", "r-9")


def test_a_422_list_message_is_joined_with_semicolons() -> None:
    error = error_from_response(response(422, {"message": ["limit too large", "page unknown"]}))
    assert error.message == "limit too large; page unknown"


@pytest.mark.parametrize("status", [199, 300, 301, 304])
def test_raise_for_status_refuses_anything_outside_2xx(status: int) -> None:
    with pytest.raises(APIStatusError) as info:
        raise_for_status(response(status, {"message": "m"}))
    assert info.value.status == status


def page_body(payload: Any) -> tuple[int, CIMultiDict[str], bytes]:
    """A search's success answer carrying `payload`: status, headers, body."""
    return 200, CIMultiDict(), orjson.dumps(payload)


def test_a_pages_next_cursor_follows_the_order_it_was_asked_in() -> None:
    # Without `sort`, a conversation sorts by its lastMessageDate in the default order only.
    payload = {"conversations": [{"id": "c1", "lastMessageDate": 1_700_000_000_000}], "total": 1}
    assert page_from_body(*page_body(payload)).next_cursor == 1_700_000_000_000
    assert page_from_body(*page_body(payload), sort_by="score_profile").next_cursor is None


def test_a_malformed_page_error_shows_the_body() -> None:
    with pytest.raises(ResponseValidationError) as info:
        page_from_body(*page_body({"conversations": "none", "detail": "see here"}))
    assert "see here" in info.value.body_excerpt
    assert info.value.status == 200


def test_an_odd_field_is_warned_about_once_in_a_walk_and_on_each_page_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = {"conversations": [{"id": "c1", "unreadCount": "many"}], "total": 1}
    walk_notes: set[str] = set()
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        for _ in range(3):
            page_from_body(*page_body(payload), notes=walk_notes)
    assert len(caplog.records) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="leadway_async"):
        for _ in range(2):
            page_from_body(*page_body(payload))
    assert len(caplog.records) == 2
