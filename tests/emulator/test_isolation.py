"""The emulator is the other side, written separately: it imports nothing of the client."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import leadway_async.testing

PACKAGE = Path(leadway_async.testing.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported_names(path: Path) -> list[str]:
    """Absolute names of what a module imports (relative imports resolved)."""
    package = "leadway_async.testing"
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return names


def test_the_check_sees_every_module() -> None:
    assert {p.name for p in MODULES} >= {"app.py", "server.py", "pytest_plugin.py", "data.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_module_imports_from_the_client(path: Path) -> None:
    outside = [
        name
        for name in imported_names(path)
        if (name == "leadway_async" or name.startswith("leadway_async."))
        and not (name == "leadway_async.testing" or name.startswith("leadway_async.testing."))
    ]
    assert outside == []


def test_the_check_catches_relative_and_absolute_escapes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from .. import models\nfrom leadway_async.params import x\nimport json\n")
    names = imported_names(bad)
    assert "leadway_async.models" in names
    assert "leadway_async.params" in names
