"""Contract-test helper: validate SDK requests against the official OpenAPI description.

The reference is HighLevel's LeadConnector v2 description of the Conversations API
(``reference/apps/conversations.json`` beside this module, an unchanged copy; Leadway is the
renamed API), operation ``search-conversation`` (``GET /conversations/search``).  It is
corrected *in memory* (see :func:`load_corrected_spec`); the file itself is never edited.

Validation uses ``openapi-core`` request validation (parameters, types, enums, required
parameters, the ``bearer`` security requirement).  ``openapi-core`` silently ignores query
parameters that the operation does not declare, while the real server answers ``422`` to
them, so :func:`validate_search_request` adds that check (and a check against repeating a
single-valued parameter) itself.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import SecurityValidationError
from openapi_core.validation.request.validators import (
    V30RequestParametersValidator,
    V30RequestSecurityValidator,
)
from werkzeug.datastructures import Headers, ImmutableMultiDict

__all__ = [
    "ACCEPTED_API_VERSIONS",
    "CORRECTIONS",
    "SEARCH_OPERATION_ID",
    "SEARCH_PATH",
    "SPEC_BASE_URI",
    "SPEC_PATH",
    "declared_query_parameters",
    "load_corrected_spec",
    "search_operation",
    "validate_search_request",
]

#: The official description, unchanged (HighLevel's highlevel-api-docs, commit 0af86a4), kept
#: beside this module with the common schemas it refers to, so the test runs anywhere.
SPEC_PATH = Path(__file__).resolve().parent / "reference/apps/conversations.json"
#: Base URI of the description: its responses ``$ref`` ``../common/common-schemas.json``, so
#: anything that resolves references (openapi-core, openapi-spec-validator) needs it.
SPEC_BASE_URI = SPEC_PATH.as_uri()

SEARCH_PATH = "/conversations/search"
SEARCH_OPERATION_ID = "search-conversation"

#: API versions the server accepts in the ``Version`` header.
ACCEPTED_API_VERSIONS = ("2021-04-15", "2021-07-28")


# --------------------------------------------------------------------------------------
# Corrections of the official description.  Each one mutates the spec dict in place.
# --------------------------------------------------------------------------------------


def _iter_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    for path, path_item in spec["paths"].items():
        for method, operation in path_item.items():
            if method in methods:
                yield path, method, operation


def fix_start_after_date_parameter(spec: dict[str, Any]) -> None:
    """``startAfterDate``: parameter-level ``anyOf`` and ``"type": "any"`` -> a number schema.

    The official file puts an ``anyOf`` (of two *object* schemas) directly on the Parameter
    Object, which OpenAPI 3.0 does not allow, and its ``schema`` has ``"type": "any"``, which is
    not a JSON-schema type: the spec does not validate.  The server takes the sort value of
    the last document of the previous page: a number (it also takes an array of numbers, but
    the SDK always sends a single number), so the corrected schema is ``{"type": "number"}``.
    """
    operation = spec["paths"][SEARCH_PATH]["get"]
    for param in operation["parameters"]:
        if param["name"] == "startAfterDate" and param["in"] == "query":
            param.pop("anyOf", None)
            param["schema"] = {"type": "number", "example": 1600854}
            return
    raise LookupError("startAfterDate parameter not found: the reference file changed")


def allow_current_api_version(spec: dict[str, Any]) -> None:
    """``Version`` header enum: ``["2021-04-15"]`` -> ``["2021-04-15", "2021-07-28"]``.

    Every operation's ``Version`` header only lists ``2021-04-15``, while the API's current
    documented default version is ``2021-07-28`` (which the SDK sends) and the server accepts
    both.  The version is API-wide, so the correction applies to every operation.
    """
    for _path, _method, operation in _iter_operations(spec):
        for param in operation.get("parameters", []):
            if param["name"] == "Version" and param["in"] == "header":
                param["schema"]["enum"] = list(ACCEPTED_API_VERSIONS)


def fix_http_security_schemes(spec: dict[str, Any]) -> None:
    """``type: http`` security schemes: drop the apiKey-only ``name`` and ``in`` fields.

    All five schemes (``bearer``, ``Location-Access``, ...) are ``{"type": "http", "scheme":
    "bearer"}`` but also carry ``"name": "Authorization", "in": "header"``, which only belong
    to ``apiKey`` schemes; the OpenAPI 3.0 HTTP Security Scheme forbids extra fields, so the
    spec does not validate.  Dropping them changes nothing: an http bearer scheme already
    means ``Authorization: Bearer <token>``.
    """
    for scheme in spec["components"]["securitySchemes"].values():
        if scheme.get("type") == "http":
            scheme.pop("name", None)
            scheme.pop("in", None)


def add_missing_response_header_schemas(spec: dict[str, Any]) -> None:
    """Response headers without ``schema``/``content`` -> ``{"type": "string"}`` schema.

    The recording and transcription-download responses declare ``Content-Type`` and
    ``Content-Disposition`` headers with only a description; an OpenAPI 3.0 Header Object
    needs a ``schema`` (or ``content``), so the spec does not validate.  Both are strings.
    """
    for _path, _method, operation in _iter_operations(spec):
        for response in operation.get("responses", {}).values():
            for header in response.get("headers", {}).values():
                if "schema" not in header and "content" not in header and "$ref" not in header:
                    header["schema"] = {"type": "string"}


def fix_schema_examples_keyword(spec: dict[str, Any]) -> None:
    """Schema-level ``examples`` (JSON Schema / OAS 3.1 keyword) -> OAS 3.0 ``example``.

    ``GetEmailMessageResponseDto.provider`` has ``examples: [..]`` and
    ``UserSubscriptionChangeDto.subscription_action`` has ``examples: {name: Example Object}``;
    OAS 3.0 Schema Objects only know the singular ``example``, so the spec does not validate.
    The first example is kept as ``example``.
    """

    def fix(schema: dict[str, Any]) -> None:
        examples = schema.pop("examples", None)
        if examples and "example" not in schema:
            if isinstance(examples, list):
                schema["example"] = examples[0]
            elif isinstance(examples, dict):
                first = next(iter(examples.values()))
                if isinstance(first, dict) and "value" in first:
                    schema["example"] = first["value"]
        for prop in schema.get("properties", {}).values():
            if isinstance(prop, dict):
                fix(prop)

    # Only Schema Objects are concerned (Media Type / Parameter Objects do have an
    # ``examples`` map); they all live under components/schemas in this file.
    for schema in spec["components"]["schemas"].values():
        fix(schema)


def fix_process_message_direction_type(spec: dict[str, Any]) -> None:
    """``ProcessMessageBodyDto.direction``: ``type: object`` -> ``type: string``.

    The property is the message direction (``"outbound"`` by default, or ``"inbound"``) but is
    declared as an object whose ``default`` is the string ``"outbound"`` (and whose ``example``
    is a list), so the spec does not validate (a default must match its schema).
    """
    direction = spec["components"]["schemas"]["ProcessMessageBodyDto"]["properties"]["direction"]
    direction["type"] = "string"
    direction["example"] = "outbound"


def declare_missing_path_parameters(spec: dict[str, Any]) -> None:
    """Templated path parameters never declared -> declare them (required strings).

    ``GET /conversations/messages/email/{id}`` and ``GET /conversations/messages/{id}`` use an
    ``{id}`` template but do not declare the ``id`` path parameter, so the spec does not
    validate.  The fix adds ``{"name": "id", "in": "path", "required": true, string}``.
    """
    for path, _method, operation in _iter_operations(spec):
        params = operation.setdefault("parameters", [])
        declared = {p["name"] for p in params if p.get("in") == "path"}
        declared |= {
            p["name"] for p in spec["paths"][path].get("parameters", []) if p.get("in") == "path"
        }
        for segment in path.split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                if name not in declared:
                    params.append(
                        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    )


CORRECTIONS = (
    fix_start_after_date_parameter,
    allow_current_api_version,
    fix_http_security_schemes,
    add_missing_response_header_schemas,
    fix_schema_examples_keyword,
    fix_process_message_direction_type,
    declare_missing_path_parameters,
)


@functools.cache
def _corrected_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    for correction in CORRECTIONS:
        correction(spec)
    return spec


def load_corrected_spec() -> dict[str, Any]:
    """Return (a private copy of) the official description with its defects corrected.

    The file is read once and cached; each call returns a deep copy, so callers may mutate it.
    External ``$ref`` s (``../common/common-schemas.json``) are kept: resolve them with
    ``base_uri=SPEC_BASE_URI``.

    Corrections (each a function of this module, applied in this order):

    1. :func:`fix_start_after_date_parameter` -- ``startAfterDate`` had a parameter-level
       ``anyOf`` (not allowed on a Parameter Object) and ``"type": "any"`` (not a type); it
       becomes ``{"type": "number"}`` (the SDK sends a single number).
    2. :func:`allow_current_api_version` -- the ``Version`` header enum only listed
       ``2021-04-15``; the current documented default ``2021-07-28`` is accepted too.
    3. :func:`fix_http_security_schemes` -- the ``http``/``bearer`` security schemes carried
       apiKey-only ``name``/``in`` fields, forbidden on an HTTP scheme.
    4. :func:`add_missing_response_header_schemas` -- two binary-download responses declared
       headers without a ``schema``; they get ``{"type": "string"}``.
    5. :func:`fix_schema_examples_keyword` -- two schemas used the OAS 3.1 ``examples``
       keyword; it becomes the OAS 3.0 ``example``.
    6. :func:`fix_process_message_direction_type` -- ``ProcessMessageBodyDto.direction`` was
       ``type: object`` with a string default; it is a string.
    7. :func:`declare_missing_path_parameters` -- two ``/{id}`` paths never declared their
       ``id`` path parameter.

    Corrections 1 and 2 matter to the search request contract (1 also blocks validation);
    3-7 are only needed for the document to pass openapi-spec-validator (which openapi-core
    runs on load).  Known defects left alone because they neither break validation nor
    reject a valid request: ``scoreProfileMin``/``scoreProfileMax`` have string examples on
    number schemas, and the now-unreferenced ``StartAfterArrayNumberSchema`` has string items.
    """
    return copy.deepcopy(_corrected_spec())


def search_operation() -> dict[str, Any]:
    """The corrected ``search-conversation`` Operation Object (a copy)."""
    operation: dict[str, Any] = load_corrected_spec()["paths"][SEARCH_PATH]["get"]
    assert operation["operationId"] == SEARCH_OPERATION_ID
    return operation


def declared_query_parameters() -> dict[str, dict[str, Any]]:
    """Query parameters of ``search-conversation``: name -> Parameter Object."""
    return {p["name"]: p for p in search_operation()["parameters"] if p["in"] == "query"}


# --------------------------------------------------------------------------------------
# Request validation
# --------------------------------------------------------------------------------------


@functools.cache
def _declared_query_parameters() -> dict[str, dict[str, Any]]:
    # Read-only view on the cached spec (no deep copy per validated request).
    operation = _corrected_spec()["paths"][SEARCH_PATH]["get"]
    return {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}


@dataclass
class _RawRequest:
    """A raw request implementing openapi-core's ``Request`` protocol."""

    host_url: str
    path: str
    method: str
    parameters: RequestParameters = field(default_factory=RequestParameters)
    body: bytes | None = None
    content_type: str = ""


@functools.cache
def _openapi() -> OpenAPI:
    # ``from_dict`` also runs openapi-spec-validator on the corrected document.
    return OpenAPI.from_dict(_corrected_spec(), base_uri=SPEC_BASE_URI)


@functools.cache
def _validators() -> tuple[V30RequestSecurityValidator, V30RequestParametersValidator]:
    # ``OpenAPI.iter_request_errors`` stops at a security error without looking at the
    # parameters; running the two validators separately reports everything at once.
    spec = _openapi().spec
    return V30RequestSecurityValidator(spec), V30RequestParametersValidator(spec)


@functools.cache
def _server_url() -> str:
    return str(_corrected_spec()["servers"][0]["url"])


def _describe(exc: BaseException) -> str:
    """One line per error, following openapi-core's cause chain and schema errors."""
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None:
        parts.append(f"{type(cause).__name__}: {cause}")
        parts.extend(f"  - {e.message}" for e in getattr(cause, "schema_errors", ()) or ())
        cause = cause.__cause__
    return "\n    ".join(parts)


def validate_search_request(url: str, headers: Mapping[str, str], method: str = "GET") -> None:
    """Check a ``search-conversation`` request against the corrected official description.

    *url* is the full request URL as the SDK builds it (scheme and host are not part of the
    contract: the base URL is configurable, e.g. the local emulator, so only the path and
    query string are checked).  *headers* may be any mapping (case-insensitive lookup is
    applied).  Raises :class:`AssertionError` listing every violation: wrong path or method,
    query parameters the operation does not declare (the server answers 422 to them), a
    single-valued parameter given several times, and everything openapi-core reports
    (missing ``locationId``, wrong types, values outside an enum, missing/invalid
    ``Version`` header, missing or non-``Bearer`` ``Authorization`` header).
    """
    split = urlsplit(url)
    problems: list[str] = []

    if split.path != SEARCH_PATH:
        raise AssertionError(f"request path {split.path!r} is not {SEARCH_PATH!r} (url: {url})")
    if method.upper() != "GET":
        raise AssertionError(
            f"{SEARCH_OPERATION_ID} is GET {SEARCH_PATH}, not {method} (url: {url})"
        )

    query_items = parse_qsl(split.query, keep_blank_values=True)
    declared = _declared_query_parameters()
    counts: dict[str, int] = {}
    for name, _value in query_items:
        counts[name] = counts.get(name, 0) + 1
    for name in sorted(counts):
        if name not in declared:
            problems.append(
                f"unknown query parameter {name!r} (the server answers 422); "
                f"declared: {', '.join(sorted(declared))}"
            )
        elif counts[name] > 1 and declared[name]["schema"].get("type") != "array":
            problems.append(f"query parameter {name!r} is single-valued but given {counts[name]}x")

    request = _RawRequest(
        host_url=_server_url(),
        path=split.path,
        method=method.lower(),
        parameters=RequestParameters(
            query=ImmutableMultiDict(query_items),
            header=Headers(list(headers.items())),
        ),
    )
    for validator in _validators():
        for error in validator.iter_errors(request):
            problems.append(_describe(error))
            if isinstance(error, SecurityValidationError):
                problems.append("(an 'Authorization: Bearer <token>' header is required)")

    if problems:
        details = "\n  ".join(problems)
        raise AssertionError(
            f"request breaks the {SEARCH_OPERATION_ID} contract ({method} {url}):\n  {details}"
        )
