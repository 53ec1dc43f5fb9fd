"""A body that is not the promised shape: the error carries what a support request needs.

Its status, the server's request id (the body's `traceId`) and an excerpt of the body,
whichever check refused the page, a conversation-level one included.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from leadway_async import ResponseDecodeError, ResponseValidationError
from leadway_async._convert import decode_json, page_from_payload
from leadway_async.models import RateLimit

TRACE = "4f1c2e0a-trace"


def page(payload: Any, *, request_id: str | None = TRACE) -> Any:
    body = orjson.dumps(payload)
    return page_from_payload(
        payload, rate_limit=RateLimit(), request_id=request_id, status=200, body=body
    )


MALFORMED = {
    "no conversations list": {"conversations": {"a": 1}, "total": 1, "traceId": TRACE},
    "a bad total": {"conversations": [], "total": "many", "traceId": TRACE},
    "a conversation without id": {
        "conversations": [{"id": "c1"}, {"contactId": "k9", "fullName": "Ann"}],
        "total": 2,
        "traceId": TRACE,
    },
    "a conversation that is not an object": {
        "conversations": ["c1"],
        "total": 1,
        "traceId": TRACE,
    },
}


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_every_malformed_page_error_carries_status_request_id_and_body(payload: Any) -> None:
    with pytest.raises(ResponseValidationError) as caught:
        page(payload)
    error = caught.value
    assert error.status == 200
    assert error.request_id == TRACE
    assert error.body_excerpt == orjson.dumps(payload).decode()
    assert f"(HTTP 200, request id {TRACE})" in str(error)
    assert str(error).endswith(f"; body: {error.body_excerpt}")


def test_a_conversation_without_id_names_the_item_and_carries_the_page() -> None:
    payload = MALFORMED["a conversation without id"]
    with pytest.raises(ResponseValidationError) as caught:
        page(payload)
    error = caught.value
    item = orjson.dumps({"contactId": "k9", "fullName": "Ann"}).decode()
    assert error.reason == f"a conversation has no string id: {item}"
    assert str(error).startswith(f"a conversation has no string id: {item} (HTTP 200, ")
    assert TRACE in error.body_excerpt


def test_a_page_that_is_not_an_object_carries_the_request_id_it_was_given() -> None:
    with pytest.raises(ResponseValidationError, match="not a JSON object") as caught:
        page([1, 2], request_id="from-a-header")
    assert caught.value.request_id == "from-a-header"
    assert caught.value.body_excerpt == "[1,2]"


def test_without_a_request_id_the_message_is_as_before() -> None:
    error = ResponseValidationError("bad body", status=200, body=b"{}")
    assert error.request_id is None
    assert str(error) == "bad body (HTTP 200); body: {}"
    assert str(ResponseValidationError("bad", request_id="r-1")) == "bad (request id r-1)"


def test_a_body_that_is_not_json_carries_the_request_id() -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        decode_json(b'{"conversations": [', status=200, request_id="r-7")
    assert (caught.value.status, caught.value.request_id) == (200, "r-7")
    assert caught.value.reason.startswith("the response body is not valid JSON")
    assert caught.value.body_excerpt == '{"conversations": ['
    assert "request id r-7" in str(caught.value)
