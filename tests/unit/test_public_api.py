"""The names the package exports, its enums against the spec, and a light import."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

import leadway_async
from leadway_async import enums, errors

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "tests/contract/reference/apps/conversations.json"  # the official file, unchanged


def defined_in(module: Any, base: type) -> list[type]:
    return [
        value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, base)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    ]


ENUM_CLASSES = defined_in(enums, Enum)
ERROR_CLASSES = defined_in(errors, BaseException)


def test_all_is_sorted_and_unique() -> None:
    assert leadway_async.__all__ == sorted(leadway_async.__all__)
    assert len(set(leadway_async.__all__)) == len(leadway_async.__all__)


def test_every_name_in_all_exists() -> None:
    for name in leadway_async.__all__:
        assert hasattr(leadway_async, name), name


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, Any] = {}
    exec("from leadway_async import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(leadway_async.__all__)


@pytest.mark.parametrize(
    "name", ["LeadwayClient", "Conversation", "ConversationPage", "RateLimit", "__version__"]
)
def test_the_main_names_are_exported(name: str) -> None:
    assert name in leadway_async.__all__


def test_the_exported_classes_are_the_real_ones() -> None:
    from leadway_async.client import LeadwayClient
    from leadway_async.models import Conversation, ConversationPage, RateLimit

    assert leadway_async.LeadwayClient is LeadwayClient
    assert leadway_async.Conversation is Conversation
    assert leadway_async.ConversationPage is ConversationPage
    assert leadway_async.RateLimit is RateLimit


def test_enums_module_has_the_expected_enums() -> None:
    assert {cls.__name__ for cls in ENUM_CLASSES} >= {
        "SortOrder",
        "SortBy",
        "ConversationStatus",
        "MessageAction",
        "MessageDirection",
        "ConversationType",
        "MessageType",
    }


@pytest.mark.parametrize("enum_class", ENUM_CLASSES, ids=lambda c: c.__name__)
def test_every_enum_is_exported(enum_class: type[Enum]) -> None:
    assert enum_class.__name__ in leadway_async.__all__
    assert getattr(leadway_async, enum_class.__name__) is enum_class


def test_errors_module_has_the_expected_errors() -> None:
    assert len(ERROR_CLASSES) >= 15


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_exception_is_exported(error_class: type[BaseException]) -> None:
    assert error_class.__name__ in leadway_async.__all__
    assert getattr(leadway_async, error_class.__name__) is error_class


def test_version_is_a_version_string() -> None:
    version = leadway_async.__version__
    assert isinstance(version, str)
    assert version.split(".")[0].isdigit()
    assert len(version.split(".")) >= 2


# --- enums against the spec ------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


def query_enum(spec: dict[str, Any], name: str) -> list[str]:
    parameters = spec["paths"]["/conversations/search"]["get"]["parameters"]
    (parameter,) = [p for p in parameters if p["name"] == name and p["in"] == "query"]
    return list(parameter["schema"]["enum"])


def schema_enum(spec: dict[str, Any], field: str) -> list[str]:
    return list(spec["components"]["schemas"]["ConversationSchema"]["properties"][field]["enum"])


@pytest.mark.parametrize(
    ("parameter", "enum_class"),
    [
        ("lastMessageType", enums.MessageType),
        ("sort", enums.SortOrder),
        ("status", enums.ConversationStatus),
        ("sortBy", enums.SortBy),
        ("lastMessageAction", enums.MessageAction),
        ("lastMessageDirection", enums.MessageDirection),
    ],
)
def test_query_enums_match_the_spec(
    spec: dict[str, Any], parameter: str, enum_class: type[Enum]
) -> None:
    assert [member.value for member in enum_class] == query_enum(spec, parameter)


@pytest.mark.parametrize(
    ("field", "enum_class"),
    [("type", enums.ConversationType), ("lastMessageType", enums.MessageType)],
)
def test_conversation_enums_match_the_spec(
    spec: dict[str, Any], field: str, enum_class: type[Enum]
) -> None:
    assert [member.value for member in enum_class] == schema_enum(spec, field)


@pytest.mark.parametrize("enum_class", ENUM_CLASSES, ids=lambda c: c.__name__)
def test_enum_members_are_their_wire_strings(enum_class: type[Enum]) -> None:
    for member in enum_class:
        assert isinstance(member, str)
        assert member == member.value
        assert str(member) == member.value
        assert f"{member}" == member.value


# --- a light import --------------------------------------------------------------------


def test_importing_the_package_leaves_the_emulator_and_cli_unloaded() -> None:
    code = (
        "import json, sys, leadway_async; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('leadway_async'))))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=True,
        timeout=60,
    )
    loaded = json.loads(result.stdout)
    assert "leadway_async" in loaded
    assert "leadway_async.client" in loaded
    for heavy in ("leadway_async.testing", "leadway_async.cli"):
        assert not [m for m in loaded if m == heavy or m.startswith(f"{heavy}.")], heavy
