"""Tests of the contract-test helper itself, with hand-built URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV30SpecValidator

from .openapi_contract import (
    ACCEPTED_API_VERSIONS,
    SEARCH_PATH,
    SPEC_BASE_URI,
    declared_query_parameters,
    load_corrected_spec,
    validate_search_request,
)

BASE = "https://services.leadconnectorhq.com"
HEADERS = {"Authorization": "Bearer pit-token", "Version": "2021-07-28"}


def url(query: dict[str, Any] | list[tuple[str, Any]] | None = None, base: str = BASE) -> str:
    return f"{base}{SEARCH_PATH}" + (f"?{urlencode(query)}" if query else "")


def valid_value(param: dict[str, Any]) -> Any:
    schema = param["schema"]
    if "enum" in schema:
        return schema["enum"][0]
    if schema["type"] == "number":
        return 1640995200000
    return "ABCHkzuJQ8ZMd4Te84GK"


# --- the corrected spec ------------------------------------------------------------------


def test_corrected_spec_passes_openapi_spec_validator() -> None:
    validate(load_corrected_spec(), base_uri=SPEC_BASE_URI, cls=OpenAPIV30SpecValidator)


def test_corrections_are_applied() -> None:
    params = declared_query_parameters()
    start_after = params["startAfterDate"]
    assert "anyOf" not in start_after
    assert start_after["schema"]["type"] == "number"
    headers = {
        p["name"]: p
        for p in load_corrected_spec()["paths"][SEARCH_PATH]["get"]["parameters"]
        if p["in"] == "header"
    }
    assert headers["Version"]["schema"]["enum"] == ["2021-04-15", "2021-07-28"]


def test_load_corrected_spec_returns_independent_copies() -> None:
    first = load_corrected_spec()
    first["paths"].clear()
    assert SEARCH_PATH in load_corrected_spec()["paths"]


# --- valid requests ----------------------------------------------------------------------


def test_minimal_valid_request_passes() -> None:
    validate_search_request(url({"locationId": "loc1"}), HEADERS)


def test_request_using_every_spec_parameter_passes() -> None:
    params = declared_query_parameters()
    assert len(params) == 21
    query = {name: valid_value(param) for name, param in params.items()}
    query["startAfterDate"] = 1600854
    query["limit"] = 100
    validate_search_request(url(query), HEADERS)


ENUM_CASES = [
    pytest.param(name, value, id=f"{name}={value}")
    for name, param in declared_query_parameters().items()
    if "enum" in param["schema"]
    for value in param["schema"]["enum"]
]


def test_last_message_type_has_42_values() -> None:
    assert len(declared_query_parameters()["lastMessageType"]["schema"]["enum"]) == 42


@pytest.mark.parametrize(("name", "value"), ENUM_CASES)
def test_every_enum_value_passes(name: str, value: str) -> None:
    validate_search_request(url({"locationId": "loc1", name: value}), HEADERS)


@pytest.mark.parametrize("version", ACCEPTED_API_VERSIONS)
def test_both_api_versions_pass(version: str) -> None:
    validate_search_request(url({"locationId": "loc1"}), {**HEADERS, "Version": version})


def test_header_names_are_case_insensitive() -> None:
    validate_search_request(
        url({"locationId": "loc1"}),
        {"authorization": "bearer pit-token", "version": "2021-04-15"},
    )


def test_host_is_not_part_of_the_contract() -> None:
    validate_search_request(url({"locationId": "loc1"}, base="http://127.0.0.1:8123"), HEADERS)


@pytest.mark.parametrize("value", ["1600854", "1600854.5", "0"])
def test_numeric_start_after_date_passes(value: str) -> None:
    validate_search_request(url({"locationId": "loc1", "startAfterDate": value}), HEADERS)


# --- invalid requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        pytest.param({}, HEADERS, "locationId", id="missing-locationId"),
        pytest.param({"locationId": "loc1", "foo": "1"}, HEADERS, "'foo'", id="unknown-param"),
        pytest.param({"locationId": "loc1", "sort": "sideways"}, HEADERS, "sort", id="bad-sort"),
        pytest.param({"locationId": "loc1", "status": "bogus"}, HEADERS, "status", id="bad-status"),
        pytest.param({"locationId": "loc1", "limit": "abc"}, HEADERS, "limit", id="limit-abc"),
        pytest.param(
            {"locationId": "loc1", "startAfterDate": "yesterday"},
            HEADERS,
            "startAfterDate",
            id="startAfterDate-not-a-number",
        ),
        pytest.param(
            {"locationId": "loc1", "lastMessageType": "TYPE_PIGEON"},
            HEADERS,
            "lastMessageType",
            id="bad-lastMessageType",
        ),
        pytest.param(
            [("locationId", "loc1"), ("status", "read"), ("status", "unread")],
            HEADERS,
            "single-valued",
            id="repeated-scalar-param",
        ),
        pytest.param({"locationId": ""}, HEADERS, "locationId", id="empty-locationId"),
        pytest.param(
            {"locationId": "loc1"},
            {"Authorization": "Bearer pit-token"},
            "Version",
            id="missing-Version",
        ),
        pytest.param(
            {"locationId": "loc1"},
            {**HEADERS, "Version": "2024-01-01"},
            "Version",
            id="wrong-Version",
        ),
        pytest.param(
            {"locationId": "loc1"},
            {"Version": "2021-07-28"},
            "Authorization",
            id="missing-Authorization",
        ),
        pytest.param(
            {"locationId": "loc1"},
            {**HEADERS, "Authorization": "Basic dXNlcjpwYXNz"},
            "Authorization",
            id="non-bearer-Authorization",
        ),
    ],
)
def test_contract_violations_fail(
    query: dict[str, str] | list[tuple[str, str]], headers: dict[str, str], expected: str
) -> None:
    with pytest.raises(AssertionError, match="search-conversation contract") as excinfo:
        validate_search_request(url(query), headers)
    assert expected in str(excinfo.value)


def test_all_violations_are_reported_together() -> None:
    with pytest.raises(AssertionError) as excinfo:
        validate_search_request(url({"foo": "1", "sort": "sideways"}), {"Version": "1999-01-01"})
    message = str(excinfo.value)
    for expected in ("'foo'", "sort", "locationId", "Version", "Authorization"):
        assert expected in message


def test_wrong_path_fails() -> None:
    with pytest.raises(AssertionError, match="is not '/conversations/search'"):
        validate_search_request(f"{BASE}/conversations/abc?locationId=loc1", HEADERS)


def test_wrong_method_fails() -> None:
    with pytest.raises(AssertionError, match="not POST"):
        validate_search_request(url({"locationId": "loc1"}), HEADERS, method="POST")
