"""Survivors of code that runs while the package is imported, checked in a fresh process.

    python tests/mutation/import_time.py module [module ...]

mutmut switches a mutant on in a process forked after the package was imported, so a
mutant of a function that only the import calls (`params.PARAMETERS` is built by
`_enum_row()` and `_choice()`; `cursor._optional()` builds the token checks) never runs,
and survives whatever the tests check. Each survivor of such a function is run again
here, in a new process with the mutant on from the start, against the tests mutmut found
for the module; those the tests fail on are recorded as killed in
mutants/import-time.json, which tests/mutation/report.py reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "mutants"
RESULTS = MUTANTS / "import-time.json"
MISSED = (0, 5, 33)

# Prints the qualified names of the functions of a module called while it is imported.
_PROFILE = """
import importlib, sys
from pathlib import Path
target = Path(sys.argv[1]).resolve()
called = set()
def note(frame, event, arg):
    code = frame.f_code
    if event == "call" and Path(code.co_filename).resolve() == target:
        called.add(code.co_qualname.split(".<locals>")[0])
sys.setprofile(note)
module = importlib.import_module(sys.argv[2])
sys.setprofile(None)
for name in sorted(called):
    outer = getattr(module, name.split(".")[0], None)
    if not name.startswith("<") and not (isinstance(outer, type) and "." not in name):
        print(name)
"""


def import_time_functions(module: str) -> set[str]:
    """mutmut's names for the functions of `module` that importing it calls."""
    path = ROOT / "leadway_async" / (module.replace(".", "/") + ".py")
    found = subprocess.run(
        [sys.executable, "-c", _PROFILE, str(path), f"leadway_async.{module}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    names = set()
    for name in found:
        owner, _, method = name.rpartition(".")
        names.add(f"xǁ{owner}ǁ{method}" if owner else f"x_{name}")
    return {f"leadway_async.{module}.{name}" for name in names}


def check(module: str) -> dict[str, int]:
    """Run each survivor of an import-time function in a fresh process; their exit codes."""
    meta = MUTANTS / "leadway_async" / (module.replace(".", "/") + ".py.meta")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    functions = import_time_functions(module)
    survivors = [
        name
        for name, code in codes.items()
        if code in MISSED and name.rsplit("__mutmut_", 1)[0] in functions
    ]
    stats = json.loads((MUTANTS / "mutmut-stats.json").read_text())
    duration = stats["duration_by_test"]
    tests = sorted(
        {
            test
            for function, found in stats["tests_by_mangled_function_name"].items()
            if function.startswith(f"leadway_async.{module}.")
            for test in found
        },
        key=lambda test: duration.get(test, 0.0),
    )

    def pytest(mutant: str) -> int:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly",
             "--hypothesis-seed=0", *tests],
            cwd=MUTANTS, env={**os.environ, "MUTANT_UNDER_TEST": mutant},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ).returncode  # fmt: skip

    if survivors and pytest("") != 0:
        raise RuntimeError(f"the tests of {module} fail without a mutant: fix them first")
    # A mutant that breaks the import fails collection: pytest exits 2 (interrupted) or
    # 4 (no test found where one was named). Either way the suite fails: killed.
    return {name: 1 if (code := pytest(name)) in (2, 4) else code for name in survivors}


def main(modules: list[str]) -> int:
    results: dict[str, int] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for module in modules:
        prefix = f"leadway_async.{module}."
        results = {name: code for name, code in results.items() if not name.startswith(prefix)}
        checked = check(module)
        results.update(checked)
        killed = sum(1 for code in checked.values() if code in (1, 3))
        if checked:
            print(f"   {module}: {len(checked)} survivors run at import, {killed} killed there")
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
