"""Each core module's mutation figures, from what `mutmut run` left in mutants/.

    python tests/mutation/report.py [module ...]

A survivor (or a mutant no test ran) is accepted only when tests/MUTATION.md names it,
with its reason, as equivalent: a change no caller can see. The exit status is 1 when
any other survives, so that it gets a test or an entry; entries that no longer survive
are reported too, to be removed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "tests" / "MUTATION.md"
MODULES = (
    "_headers", "_responses", "tokens", "params", "cursor", "pagination", "partition",
    "scan", "middleware.retry", "middleware.throttle", "auth.tokens", "auth.grant",
    "auth.app",
)  # fmt: skip

KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 255: "timeout", 37: "type check"}  # fmt: skip
MISSED = {0: "survived", 5: "no tests", 33: "no tests"}
NAME = re.compile(r"`(leadway_async\.[^`\s]+__mutmut_\d+)`")


def results(module: str) -> dict[str, int | None]:
    """Mutant name -> mutmut's exit code (None: not run yet) for one module."""
    meta = ROOT / "mutants" / "leadway_async" / (module.replace(".", "/") + ".py.meta")
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return codes


def main(argv: list[str]) -> int:
    modules = argv or list(MODULES)
    accepted = set(NAME.findall(LEDGER.read_text(encoding="utf-8")))
    at_import = ROOT / "mutants" / "import-time.json"
    rechecked: dict[str, int] = json.loads(at_import.read_text()) if at_import.exists() else {}
    unexplained: list[str] = []
    stale: list[str] = []
    print(f"{'module':<22}{'mutants':>8}{'killed':>8}{'missed':>8}{'equiv.':>8}{'score':>9}")
    for module in modules:
        codes = results(module)
        codes.update((name, code) for name, code in rechecked.items() if codes.get(name) in MISSED)
        if not codes or any(code is None for code in codes.values()):
            print(f"{module:<22}  not run (tests/mutation/run.sh {module})")
            continue
        missed = sorted(name for name, code in codes.items() if code not in KILLED)
        equivalent = [name for name in missed if name in accepted]
        prefix = f"leadway_async.{module}."
        stale += sorted(
            name
            for name in accepted
            if name.startswith(prefix) and (name not in codes or codes[name] in KILLED)
        )
        unexplained += [
            f"{name} ({MISSED.get(codes[name] or 0, 'suspicious')})"
            for name in missed
            if name not in accepted
        ]
        judged = len(codes) - len(equivalent)
        killed = len(codes) - len(missed)
        score = f"{100 * killed / judged:.1f} %" if judged else "-"
        print(
            f"{module:<22}{len(codes):>8}{killed:>8}{len(missed) - len(equivalent):>8}"
            f"{len(equivalent):>8}{score:>9}"
        )
    if stale:
        print("\nListed as equivalent in tests/MUTATION.md, but killed now or gone:")
        print("\n".join(f"  {name}" for name in stale))
    if unexplained:
        print("\nSurvivors not accepted as equivalent (see each with `mutmut show NAME`):")
        print("\n".join(f"  {name}" for name in unexplained))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
