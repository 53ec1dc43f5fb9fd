"""Each core module's mutation figures, from what `mutmut run` left in mutants/.

    python tests/mutation/report.py [module ...]
    python tests/mutation/report.py --survivors [module ...]   # their names, one a line

tests/MUTATION.md is the ledger of survivors. Those under its "Equivalent mutants"
heading change nothing a caller can see: they leave the score. Those under "Known gaps"
could be told apart by a test not written yet: they count as missed. The score is
killed / (mutants - equivalent); killed includes timeouts (a mutant that makes a walk
hang) and mutants of import-time code killed in a fresh process (import_time.py).

The exit status is 1 when a survivor is in neither list, so that it gets a test or an
entry; entries that no longer survive are reported too, to be removed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "tests" / "MUTATION.md"
MODULES = (
    "_fast_pages", "_headers", "_responses", "tokens", "params", "middleware.retry",
    "middleware.throttle", "partition", "auth.tokens", "auth.grant", "auth.app",
    "mirror.bookmark", "mirror.rows", "pagination", "scan", "cursor",
)  # fmt: skip

KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 255: "timeout", 37: "type check",
          -9: "killed by the system (a mutant that eats all memory)"}  # fmt: skip
MISSED = {0: "survived", 5: "no tests", 33: "no tests"}
NAME = re.compile(r"`(leadway_async\.[^`\s]+__mutmut_\d+)`")


def results(module: str) -> dict[str, int | None]:
    """Mutant name -> mutmut's exit code (None: not run yet) for one module."""
    meta = ROOT / "mutants" / "leadway_async" / (module.replace(".", "/") + ".py.meta")
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    at_import = ROOT / "mutants" / "import-time.json"
    rechecked: dict[str, int] = json.loads(at_import.read_text()) if at_import.exists() else {}
    codes.update((name, code) for name, code in rechecked.items() if codes.get(name) in MISSED)
    return codes


def ledger() -> tuple[set[str], set[str]]:
    """The mutants tests/MUTATION.md accepts as equivalent, and those it lists as gaps."""
    text = LEDGER.read_text(encoding="utf-8")
    equivalent, _, rest = text.partition("\n## Known gaps")
    equivalent = equivalent.partition("\n## Equivalent mutants")[2]
    return set(NAME.findall(equivalent)), set(NAME.findall(rest.partition("\n## ")[0]))


def survivors(modules: list[str]) -> list[str]:
    """The mutants of `modules` no test killed and the ledger does not accept as equivalent:
    those to test again once new tests are written (`run.sh --survivors`)."""
    equivalents, _ = ledger()
    return sorted(
        name
        for module in modules
        for name, code in results(module).items()
        if code in MISSED and name not in equivalents
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--survivors"]:
        print("\n".join(survivors(argv[1:] or list(MODULES))))
        return 0
    modules = argv or list(MODULES)
    equivalents, gaps = ledger()
    unexplained: list[str] = []
    stale: list[str] = []
    print(f"{'module':<22}{'mutants':>8}{'killed':>8}{'gaps':>6}{'equiv.':>8}{'score':>9}")
    for module in modules:
        codes = results(module)
        if not codes or any(code is None for code in codes.values()):
            print(f"{module:<22}  not run (tests/mutation/run.sh {module})")
            continue
        missed = {name for name, code in codes.items() if code not in KILLED}
        prefix = f"leadway_async.{module}."
        stale += sorted(n for n in equivalents | gaps if n.startswith(prefix) and n not in missed)
        unexplained += [
            f"{name} ({MISSED.get(codes[name] or 0, 'suspicious')})"
            for name in sorted(missed - equivalents - gaps)
        ]
        equivalent = len(missed & equivalents)
        judged = len(codes) - equivalent
        killed = len(codes) - len(missed)
        score = f"{100 * killed / judged:.1f} %" if judged else "-"
        print(
            f"{module:<22}{len(codes):>8}{killed:>8}{len(missed & gaps):>6}{equivalent:>8}"
            f"{score:>9}"
        )
    if stale:
        print("\nListed in tests/MUTATION.md, but killed now or gone (remove them):")
        print("\n".join(f"  {name}" for name in stale))
    if unexplained:
        print("\nSurvivors tests/MUTATION.md does not list (see each with `mutmut show NAME`):")
        print("\n".join(f"  {name}" for name in unexplained))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
