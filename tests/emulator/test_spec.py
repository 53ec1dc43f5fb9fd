"""The emulator's copy of the spec matches the official OpenAPI file, where it is at hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leadway_async.testing import spec

REPO = Path(__file__).resolve().parents[2]
OFFICIAL = REPO / "tests/contract/reference/apps/conversations.json"  # unchanged copy


@pytest.fixture(scope="module")
def operation() -> dict[str, Any]:
    document = json.loads(OFFICIAL.read_text(encoding="utf-8"))
    found: dict[str, Any] = document["paths"][spec.SEARCH_PATH]["get"]
    assert found["operationId"] == "search-conversation"
    return found


def test_the_query_parameters_are_the_specs(operation: dict[str, Any]) -> None:
    names = [p["name"] for p in operation["parameters"] if p["in"] == "query"]
    assert tuple(names) == spec.QUERY_PARAMETERS


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("lastMessageType", spec.MESSAGE_TYPES),
        ("sort", spec.SORT_ORDERS),
        ("lastMessageAction", spec.MESSAGE_ACTIONS),
        ("lastMessageDirection", spec.MESSAGE_DIRECTIONS),
        ("status", spec.STATUSES),
        ("sortBy", spec.SORT_BYS),
    ],
)
def test_the_enums_are_the_specs(
    name: str, values: tuple[str, ...], operation: dict[str, Any]
) -> None:
    (parameter,) = [p for p in operation["parameters"] if p["name"] == name]
    assert tuple(parameter["schema"]["enum"]) == values


def test_there_are_42_message_types() -> None:
    assert len(spec.MESSAGE_TYPES) == len(set(spec.MESSAGE_TYPES)) == 42
