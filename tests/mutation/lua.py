"""Mutation testing of the shared throttle's Lua, which mutmut cannot mutate.

    .venv/bin/python tests/mutation/lua.py                  # every mutant, 2 at a time
    .venv/bin/python tests/mutation/lua.py --list           # the mutants, not run
    .venv/bin/python tests/mutation/lua.py --only ID [ID ...]   # these again
    .venv/bin/python tests/mutation/lua.py --out DIR --jobs 1 --time-limit 300

The window arithmetic of `RedisThrottle` runs in Redis: `_PRELUDE` and the three scripts
`_RESERVE`, `_FINISH` and `_ADOPT` of leadway_async/redis/script.py, raw-string literals
that mutmut sees as mere strings. This tool finds those literals with `ast` (with the
lines of script.py they span), reads their Lua with a small tokenizer that skips comments
and string literals, and makes one mutant per small change (OPERATORS below): `<` for
`<=` and back (likewise `>`/`>=`), `==` for `~=`, `+` for `-`, `*` for `/`, `and` for
`or`, dropping a `not`, `math.max` for `math.min`, `math.ceil` for `math.floor`, an
integer `n` for `n + 1` (and 1 for 0), and a write statement (`redis.call(...)`,
`extend(...)`, `trim(...)`, `learn(...)`) replaced by `do end`.

Each mutant must first compile: a redis-server of the tool's own loads every script
(`SCRIPT LOAD`); one that does not compile is left out as invalid. Then the package is
copied to a fresh temporary directory, the mutated script.py written there, and TESTS run
against real redis-servers with that directory first on PYTHONPATH (and as the working
directory), `-x` so the first failure ends the run. A probe plugin (`-p`) makes pytest
stop with a usage error, not a failure, if the test process imported `leadway_async` from
anywhere but the copy, and records where it did. Before the mutants, the real code must
pass and a copy whose scripts all raise must fail; otherwise the tool stops.

A mutant is killed when the tests fail (exit status 1), timed out when it outlived
`--time-limit` (counted as killed: a throttle that hangs is noticed), survived when they
pass. Survivors accepted as equivalent (no caller can tell them from the real code) are
listed with the reason in tests/MUTATION.md, under "Equivalent Lua mutants"; score =
killed / (mutants - equivalent). The exit status is 1 when a survivor is not listed there.
Ids are
`<script>:<line in script.py>:<operator>:<n>` (n: the operator's nth mutant on that line),
stable while script.py keeps its lines. Results go to `<out>/lua-mutants.json`; a run with
`--only` updates the entries it reran. A full run takes about 15 minutes on 2 shared cores:
most mutants fail within seconds in test_script*.py, and each survivor runs all of TESTS
(about 18 s).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "leadway_async"
SCRIPT = PACKAGE / "redis" / "script.py"

# The literals holding Lua: Python name -> the script's name in mutant ids.
LITERALS = {"_PRELUDE": "prelude", "_RESERVE": "reserve", "_FINISH": "finish", "_ADOPT": "adopt"}
# The scripts Redis runs (each a sum of literals).
SCRIPTS = ("_RESERVE", "_FINISH", "_ADOPT")

# Fast first: the scripts called directly, then through RedisThrottle and the emulator.
TESTS = (
    "tests/redis/test_script.py",
    "tests/redis/test_script_rules.py",
    "tests/redis/test_errors.py",
    "tests/redis/test_throttle.py",
)
PYTEST_OPTIONS = ("-x", "-q", "-p", "no:cacheprovider", "--timeout=60")
PROBE = "_lua_mutation_probe"
IMPORTED_FROM = "imported-from.txt"

OPERATORS = {
    "boundary": "`<` <-> `<=`, `>` <-> `>=`",
    "equality": "`==` <-> `~=`",
    "plus-minus": "binary `+` <-> `-`",
    "mul-div": "`*` <-> `/`",
    "and-or": "`and` <-> `or`",
    "not": "`not` dropped",
    "max-min": "`math.max` <-> `math.min`",
    "ceil-floor": "`math.ceil` -> `math.floor`",
    "number": "integer n -> n + 1; 1 -> 0",
    "drop-call": "a write statement (`redis.call`, `extend`, `trim`, `learn`) -> `do end`",
}
SWAPS = {
    "boundary": {"<": "<=", "<=": "<", ">": ">=", ">=": ">"},
    "equality": {"==": "~=", "~=": "=="},
    "plus-minus": {"+": "-", "-": "+"},
    "mul-div": {"*": "/", "/": "*"},
    "and-or": {"and": "or", "or": "and"},
    "max-min": {"math.max": "math.min", "math.min": "math.max"},
    "ceil-floor": {"math.ceil": "math.floor"},
}
DROPPABLE = {"redis.call", "extend", "trim", "learn"}
KEYWORDS = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}  # fmt: skip

LEDGER = ROOT / "tests" / "MUTATION.md"


def equivalents() -> dict[str, str]:
    """The survivors tests/MUTATION.md accepts as equivalent (under "Equivalent Lua
    mutants"): id -> why no caller can tell them from the real code."""
    text = LEDGER.read_text(encoding="utf-8").partition("\n## Equivalent Lua mutants")[2]
    section = text.partition("\n## ")[0]
    found = re.findall(r"^- `([^`]+)`: (.+?)(?=\n- |\Z)", section, re.S | re.M)
    return {mutant: " ".join(why.split()) for mutant, why in found}


EQUIVALENT = equivalents()

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>--.*)
    | (?P<string>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
    | (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)
    | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<op>==|~=|<=|>=|\.\.\.?|[-+*/%^\#<>=(){}\[\];:,.])
    """,
    re.VERBOSE,
)

_PROBE_PLUGIN = '''"""Written by tests/mutation/lua.py: the tests must run the mutated copy."""
import os
from pathlib import Path

import pytest


def pytest_configure(config):
    import leadway_async.redis.script as script

    copy = Path(os.environ["LUA_MUTATION_COPY"]).resolve()
    imported = Path(script.__file__).resolve()
    (copy / "imported-from.txt").write_text(str(imported))
    if copy not in imported.parents:
        raise pytest.UsageError(f"leadway_async came from {imported}, not from {copy}")
'''


@dataclass(frozen=True)
class Token:
    kind: str  # name, number, string, op
    text: str
    line: int  # in script.py, from 1
    col: int  # in that line, from 0


@dataclass(frozen=True)
class Mutant:
    """One change: `original` at `line`, `col` of script.py made `mutated`."""

    id: str
    script: str
    line: int
    col: int
    operator: str
    original: str
    mutated: str

    def apply(self, lines: list[str]) -> list[str]:
        """script.py's lines with this change made."""
        changed = list(lines)
        text = changed[self.line - 1]
        assert text[self.col : self.col + len(self.original)] == self.original, self.id
        changed[self.line - 1] = (
            text[: self.col] + self.mutated + text[self.col + len(self.original) :]
        )
        return changed


MUTANT = tuple(Mutant.__dataclass_fields__)

# --- finding the Lua -------------------------------------------------------------------


def lua_literals(source: str) -> Iterator[tuple[str, int, list[str], int]]:
    """Each Lua literal of script.py: (script name, its first line, its lines, the column
    of its first line's text). The literals must be verbatim (raw, no escapes), so that
    each line of the Lua is a line of script.py."""
    found = set()
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Name):
            continue
        constants = [
            (c, c.value)
            for c in ast.walk(node.value)
            if isinstance(c, ast.Constant) and isinstance(c.value, str)
        ]
        if target.id not in LITERALS:
            if any("redis.call" in value for _, value in constants):
                raise SystemExit(f"{target.id} holds Lua that lua.py does not know: add it")
            continue
        found.add(target.id)
        if len(constants) != 1:
            raise SystemExit(f"{target.id}: expected one Lua literal, found {len(constants)}")
        constant, lua = constants[0]
        segment = ast.get_source_segment(source, constant) or ""
        quoted = re.match(r'[rR]?("""|\'\'\')', segment)
        if quoted is None or segment[quoted.end() : -3] != lua:
            raise SystemExit(f"{target.id}: not a verbatim triple-quoted literal")
        file_lines = source.splitlines()
        lua_lines = lua.split("\n")
        first = file_lines[constant.lineno - 1]
        if not first.endswith(lua_lines[0]):
            raise SystemExit(f"{target.id}: its first line is not where ast says")
        for offset, text in enumerate(lua_lines[1:], start=1):
            if not file_lines[constant.lineno - 1 + offset].startswith(text):
                raise SystemExit(f"{target.id}: line {constant.lineno + offset} differs")
        yield LITERALS[target.id], constant.lineno, lua_lines, len(first) - len(lua_lines[0])
    if found != set(LITERALS):
        raise SystemExit(f"Lua literals not found in {SCRIPT}: {sorted(set(LITERALS) - found)}")


def tokens(lines: list[str], first_line: int, first_col: int) -> list[Token]:
    """The Lua tokens of one literal, without spaces, comments and the text of strings
    (their tokens are kept, so the code around them reads right)."""
    found = []
    for offset, text in enumerate(lines):
        base = first_col if offset == 0 else 0
        if "[[" in text or "--[" in text:
            raise SystemExit(f"line {first_line + offset}: long brackets are not supported")
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:
                raise SystemExit(f"line {first_line + offset}: cannot read {text[position:]!r}")
            kind = match.lastgroup or ""
            if kind not in ("space", "comment"):
                found.append(Token(kind, match.group(), first_line + offset, base + position))
            position = match.end()
    return found


def _ends_expression(token: Token | None) -> bool:
    if token is None:
        return False
    if token.kind in ("number", "string"):
        return True
    if token.kind == "name":
        return token.text not in KEYWORDS or token.text in ("nil", "true", "false", "end")
    return token.text in (")", "]", "}")


def _changes(script: list[Token], lines: list[str]) -> Iterator[tuple[Token, str, str, str]]:
    """(first token, operator, original text, mutated text) for each change of one
    literal's tokens; `lines` are script.py's."""
    for index, token in enumerate(script):
        previous = script[index - 1] if index else None
        for operator, swaps in SWAPS.items():
            if token.kind in ("op", "name") and token.text in swaps:
                if operator == "plus-minus" and not _ends_expression(previous):
                    continue  # a unary minus: Lua has no unary plus
                yield token, operator, token.text, swaps[token.text]
        if token.kind == "name" and token.text == "not":
            following = script[index + 1]
            assert following.line == token.line
            yield token, "not", f"not{' ' * (following.col - token.col - 3)}", ""
        if token.kind == "number" and token.text.isdigit():
            value = int(token.text)
            yield token, "number", token.text, str(value + 1)
            if value == 1:
                yield token, "number", token.text, "0"
        if token.kind == "name" and token.text in DROPPABLE:
            statement = previous is None or previous.text in ("then", "do", "else")
            if statement or _ends_expression(previous):
                end = _closing(script, index + 1)
                if end is not None and script[end].line == token.line:
                    call = lines[token.line - 1][token.col : script[end].col + 1]
                    yield token, "drop-call", call, "do end"


def _closing(script: list[Token], opening: int) -> int | None:
    """The index of the `)` closing the `(` at `opening`."""
    if opening >= len(script) or script[opening].text != "(":
        return None
    depth = 0
    for index in range(opening, len(script)):
        depth += {"(": 1, ")": -1}.get(script[index].text, 0)
        if depth == 0:
            return index
    return None


def mutants(source: str) -> list[Mutant]:
    """Every mutant of script.py's Lua, in the order of the file."""
    lines = source.splitlines()
    found = []
    for name, first_line, lua_lines, first_col in lua_literals(source):
        counts: dict[tuple[int, str], int] = {}
        script = tokens(lua_lines, first_line, first_col)
        for token, operator, original, mutated in _changes(script, lines):
            n = counts[token.line, operator] = counts.get((token.line, operator), 0) + 1
            mutant_id = f"{name}:{token.line}:{operator}:{n}"
            found.append(
                Mutant(mutant_id, name, token.line, token.col, operator, original, mutated)
            )
    return found


def script_texts(source: str) -> dict[str, str]:
    """The scripts Redis runs, as script.py builds them (sums of its literals)."""
    values: dict[str, str] = {}

    def value(node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return value(node.left) + value(node.right)
        raise SystemExit(f"cannot evaluate {ast.unparse(node)} in {SCRIPT}")

    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in LITERALS:
                values[target.id] = value(node.value)
    return {name: values[name] for name in SCRIPTS}


# --- running one mutant ----------------------------------------------------------------


@dataclass
class Result:
    """What the tests made of one mutant."""

    id: str
    status: str  # killed, survived, timeout, invalid, error
    seconds: float
    failed: str = ""  # the first test that failed, or why the run is an error
    imported_from: str = ""


def compile_error(redis_client: Any, source: str) -> str:
    """Why Redis cannot compile a script of `source`, or "" when it compiles them all."""
    from redis.exceptions import ResponseError

    for name, text in script_texts(source).items():
        try:
            redis_client.script_load(text)
        except ResponseError as error:
            return f"{name}: {error}"
    return ""


def run_tests(mutant_id: str, source: str, time_limit: float) -> Result:
    """Run TESTS against a copy of the package whose script.py is `source`."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lua-mutant-") as directory:
        copy = Path(directory)
        shutil.copytree(
            PACKAGE, copy / "leadway_async", ignore=shutil.ignore_patterns("__pycache__")
        )
        (copy / "leadway_async" / "redis" / "script.py").write_text(source)
        (copy / f"{PROBE}.py").write_text(_PROBE_PLUGIN)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [directory, env.get("PYTHONPATH")]))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["LEADWAY_REQUIRE_REDIS"] = "1"  # no Redis is an error, not a skip
        env["LUA_MUTATION_COPY"] = directory
        tests = [str(ROOT / test) for test in TESTS if (ROOT / test).exists()]
        command = [sys.executable, "-m", "pytest", *tests, *PYTEST_OPTIONS, "-p", PROBE]
        process = subprocess.Popen(
            command,
            cwd=directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: a timeout ends its servers too
        )
        try:
            output, _ = process.communicate(timeout=time_limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return Result(mutant_id, "timeout", time.monotonic() - started)
        imported = copy / IMPORTED_FROM
        imported_from = imported.read_text() if imported.exists() else ""
    seconds = time.monotonic() - started
    failures = [  # "FAILED ../../work/main/tests/redis/x.py::test - why": tests/redis/x.py::test
        line.split(" - ")[0].split(" ", 1)[1].rpartition(str(ROOT) + os.sep)[2]
        for line in output.splitlines()
        if line.startswith(("FAILED ", "ERROR "))
    ]
    if process.returncode == 0:
        return Result(mutant_id, "survived", seconds, imported_from=imported_from)
    if process.returncode == 1:
        return Result(mutant_id, "killed", seconds, failures[0] if failures else "", imported_from)
    tail = "\n".join(output.splitlines()[-15:])
    return Result(mutant_id, "error", seconds, f"pytest exit {process.returncode}:\n{tail}")


# --- the run ---------------------------------------------------------------------------


def describe(mutant: Mutant) -> str:
    original = mutant.original if mutant.operator != "not" else mutant.original.strip()
    return f"{original!r} -> {mutant.mutated!r}"


def summary(results: dict[str, Result]) -> dict[str, Any]:
    counted = [r for r in results.values() if r.status in ("killed", "timeout", "survived")]
    killed = sum(1 for r in counted if r.status in ("killed", "timeout"))
    equivalent = [r.id for r in counted if r.status == "survived" and r.id in EQUIVALENT]
    gaps = [r.id for r in counted if r.status == "survived" and r.id not in EQUIVALENT]
    considered = len(counted) - len(equivalent)
    return {
        "mutants": len(counted),
        "killed": killed,
        "timeouts": sum(1 for r in counted if r.status == "timeout"),
        "survived": len(equivalent) + len(gaps),
        "equivalent": len(equivalent),
        "not_accepted": gaps,
        "invalid": sum(1 for r in results.values() if r.status == "invalid"),
        "errors": sum(1 for r in results.values() if r.status == "error"),
        "score": round(killed / considered, 4) if considered else None,
    }


def print_summary(title: str, figures: dict[str, Any]) -> None:
    score = "n/a" if figures["score"] is None else f"{figures['score']:.1%}"
    print(
        f"{title}: {figures['mutants']} mutants, {figures['killed']} killed "
        f"({figures['timeouts']} by timeout), {figures['survived']} survived "
        f"({figures['equivalent']} equivalent), score {score} "
        f"(killed / (mutants - equivalent)); {figures['invalid']} invalid, "
        f"{figures['errors']} errors"
    )
    for mutant_id in figures["not_accepted"]:
        print(f"  survivor not accepted as equivalent: {mutant_id}")


def sanity_check(source: str, lines: list[str], time_limit: float) -> None:
    """The real code must pass, from the copy; a copy whose scripts all fail must fail."""
    real = run_tests("real code", source, time_limit)
    print(f"real code: {real.status} in {real.seconds:.0f} s, imported from {real.imported_from}")
    if real.status != "survived":
        raise SystemExit(f"the tests do not pass on the real code: {real.status} {real.failed}")
    broken_lines = list(lines)
    for name, first_line, _lua_lines, _col in lua_literals(source):
        if name == "prelude":  # its first line of Lua raises: so does every script
            broken_lines[first_line] = "error('broken on purpose by lua.py') " + lines[first_line]
    broken = run_tests("broken copy", "\n".join(broken_lines) + "\n", time_limit)
    print(f"broken copy: {broken.status} by {broken.failed or '?'} in {broken.seconds:.0f} s")
    if broken.status != "killed":
        raise SystemExit("a copy whose scripts all raise is not caught: the copy is not used")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--out", type=Path, default=Path("/tmp/lua-mutation"))
    parser.add_argument("--jobs", type=int, default=2, help="mutants at a time (1 or 2)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument("--skip-check", action="store_true", help="no real-code/broken runs")
    options = parser.parse_args()

    source = SCRIPT.read_text()
    lines = source.splitlines()
    every = mutants(source)
    by_id = {m.id: m for m in every}
    assert len(by_id) == len(every), "mutant ids must be unique"
    if options.list:
        for m in every:
            print(f"{m.id:32} {describe(m)}")
        print(f"{len(every)} mutants")
        return 0
    chosen = every
    if options.only:
        unknown = [i for i in options.only if i not in by_id]
        if unknown:
            raise SystemExit(f"no such mutant: {', '.join(unknown)} (see --list)")
        chosen = [by_id[i] for i in options.only]

    started = time.monotonic()
    from redis import Redis

    from leadway_async.redis.local_server import LocalRedisServer

    options.out.mkdir(parents=True, exist_ok=True)
    path = options.out / "lua-mutants.json"
    previous = json.loads(path.read_text()).get("mutants", []) if path.exists() else []
    fields = Result.__dataclass_fields__
    merged = {  # the results kept from earlier runs, of mutants that still exist
        entry["id"]: Result(**{k: v for k, v in entry.items() if k in fields})
        for entry in previous
        if entry["id"] in by_id and by_id[entry["id"]] == Mutant(**{k: entry[k] for k in MUTANT})
    }
    results: dict[str, Result] = {}
    lock = threading.Lock()

    def save() -> None:
        """Write every result known so far (after each mutant: a crash loses nothing)."""
        merged.update(results)
        entries = [{**asdict(m), **asdict(merged[m.id])} for m in every if m.id in merged]
        report = {
            "script": str(SCRIPT.relative_to(ROOT)),
            "tests": list(TESTS),
            "operators": OPERATORS,
            "summary": summary(merged),
            "equivalent": {i: EQUIVALENT[i] for i in sorted(EQUIVALENT)},
            "mutants": entries,
        }
        path.write_text(json.dumps(report, indent=1) + "\n")

    def one(mutant: Mutant, client: Redis) -> Result:
        mutated = "\n".join(mutant.apply(lines)) + "\n"
        with lock:
            problem = compile_error(client, mutated)
        if problem:
            result = Result(mutant.id, "invalid", 0.0, problem)
        else:
            result = run_tests(mutant.id, mutated, options.time_limit)
        with lock:
            results[mutant.id] = result
            save()
            note = f"  {result.failed}" if result.status in ("killed", "error") else ""
            if result.status == "survived" and mutant.id in EQUIVALENT:
                note = "  (equivalent)"
            print(
                f"{mutant.id:32} line {mutant.line:3}  {describe(mutant):34} "
                f"{result.status:8} {result.seconds:5.1f} s{note}",
                flush=True,
            )
        return result

    if not options.skip_check:
        sanity_check(source, lines, options.time_limit)
    jobs = max(1, min(2, options.jobs))
    print(f"{len(chosen)} mutants, {jobs} at a time; tests: {', '.join(TESTS)}", flush=True)
    with (
        LocalRedisServer() as server,
        Redis.from_url(server.url) as client,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        list(pool.map(lambda m: one(m, client), chosen))

    errors = [r for r in results.values() if r.status == "error"]
    for result in errors:
        print(f"error in {result.id}: {result.failed}")
    print_summary("this run", summary(results))
    if options.only:
        print_summary(f"all in {path}", summary(merged))
    survivors = {i for i, r in merged.items() if r.status == "survived"}
    for mutant_id in sorted(set(EQUIVALENT) - survivors):
        state = merged[mutant_id].status if mutant_id in merged else "not run or not a mutant now"
        print(f"  tests/MUTATION.md lists {mutant_id}, which is {state}: remove it")
    minutes = (time.monotonic() - started) / 60
    print(f"{len(chosen)} mutants in {minutes:.1f} min; results in {path}")
    return 1 if summary(results)["not_accepted"] or errors else 0


if __name__ == "__main__":
    sys.exit(main())
