"""Run every benchmark section and write benchmarks/RESULTS.md and benchmarks/results.png.

    python -m benchmarks            # the full run (several minutes), writes the results
    python -m benchmarks --quick    # every section small: checks they run and agree

The quick mode asserts only that each section runs and that every contender walks the
same conversations; timings are never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from leadway_async.testing import USER_IDS

from . import live, memory, mirror, models, prefetch, ratelimit, redis_throttle, scan
from ._server import emulator_process
from .walks import Walked, timed_rounds

HERE = Path(__file__).resolve().parent
FLOOR = "floor (aiohttp + orjson)"
OURS = "leadway_async paginate()"


def walk_section(
    title: str, conversations: int, filter_sets: list[dict[str, str]], rounds: int, quick: bool
) -> tuple[str, dict[str, float]]:
    """Timed walks of every contender; the table and each contender's cost against the floor."""
    with emulator_process(conversations) as server:
        results = timed_rounds(server, filter_sets, rounds, keep_ids=quick)
    walked: dict[str, list[Walked]] = {name: rounds_[0].walks for name, rounds_ in results.items()}
    reference = [w.ids for w in walked[FLOOR]]
    for name, walks in walked.items():  # every contender must walk the same conversations
        count = sum(w.conversations for w in walks)
        assert count == sum(w.conversations for w in walked[FLOOR]), (name, count)
        if quick:
            assert [w.ids for w in walks] == reference, f"{name} walked other conversations"
    rates = {
        name: [sum(w.conversations for w in r.walks) / r.seconds for r in rounds_]
        for name, rounds_ in results.items()
    }
    cpu = {
        name: statistics.median(
            r.cpu_seconds / sum(w.conversations for w in r.walks) * 1e6 for r in rounds_
        )
        for name, rounds_ in results.items()
    }
    pages = {name: sum(w.pages for w in walked[name]) for name in walked}
    floor = statistics.median(rates[FLOOR])
    lines = [
        f"{title}: {sum(w.conversations for w in walked[FLOOR]):,} conversations, "
        f"{rounds} rounds, contenders alternating.",
        "",
        "| contender | pages/s | conversations/s (median) | min | max | cost vs floor "
        "| client CPU per conversation (median) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    costs = {}
    for name, values in rates.items():
        median = statistics.median(values)
        costs[name] = floor / median
        page_rate = median * pages[name] / sum(w.conversations for w in walked[name])
        lines.append(
            f"| {name} | {page_rate:,.0f} | {median:,.0f} | {min(values):,.0f} | "
            f"{max(values):,.0f} | {costs[name]:.2f}x | {cpu[name]:.1f} µs |"
        )
    return "\n".join(lines), costs


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    packages = ", ".join(
        f"{name} {_installed(name)}"
        for name in (
            "leadway-async",
            "aiohttp",
            "attrs",
            "cattrs",
            "orjson",
            "backoff",
            "msgspec",
            "httpx",
            "pydantic",
            "gohighlevel-api-client",
            "redis",
        )
    )
    return (
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n"
        f"- Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}\n"
        f"- Python {platform.python_version()}; {packages}\n"
        "- The emulator runs in its own process on the same machine; loopback only."
    )


def _installed(name: str) -> str:
    """The installed version of the distribution `name`, or "not installed"."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def chart(sequential: dict[str, float], concurrent: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(sequential)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, costs, title, target in (
        (axes[0], sequential, "Sequential walk", 1.5),
        (axes[1], concurrent, "Eight concurrent walkers", 2.0),
    ):
        colours = [
            "#9e9e9e" if n == FLOOR else "#1f77b4" if n == OURS else "#d9a441" for n in names
        ]
        bars = axis.barh(names, [costs[n] for n in names], color=colours)
        axis.axvline(target, color="#c0392b", linestyle="--", linewidth=1)
        axis.text(target, -0.6, f" target {target}x", color="#c0392b", fontsize=8)
        axis.bar_label(bars, labels=[f"{costs[n]:.2f}x" for n in names], padding=3, fontsize=9)
        axis.set_title(title)
        axis.set_xlabel("time per conversation, relative to the floor (lower is better)")
        axis.invert_yaxis()
        axis.set_xlim(0, max(max(costs.values()) * 1.25, target * 1.2))
    fig.suptitle("leadway-async: cost of a full walk against raw aiohttp + orjson", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the leadway-async benchmarks.")
    parser.add_argument("--quick", action="store_true", help="every section small, for CI")
    quick = parser.parse_args().quick
    started = time.monotonic()
    walkers = [{"assigned_to": user} for user in USER_IDS]
    sections: list[tuple[str, str]] = []

    def section(title: str, body: str) -> None:
        sections.append((title, body))
        print(f"## {title}\n\n{body}\n", flush=True)

    seq_table, seq_costs = walk_section(
        "Sequential full walk", 2_000 if quick else 205_000, [{}], 2 if quick else 7, quick
    )
    section("1. Sequential full walk (pages of 100)", seq_table)
    con_table, con_costs = walk_section(
        "Eight concurrent walkers over disjoint filters (assigned_to one user each)",
        3_000 if quick else 205_000,
        walkers,
        2 if quick else 5,
        quick,
    )
    section("2. Eight concurrent walkers", con_table)
    section(
        "3. The model layer alone", models.run(500, 5, 2) if quick else models.run(20_000, 200, 7)
    )
    section("4. Memory", memory.run(3_000, 2_000) if quick else memory.run(1_000_000, 100_000))
    section(
        "5. Latency hiding (prefetch)",
        prefetch.run(pages=10, rounds=2) if quick else prefetch.run(pages=100, rounds=5),
    )
    section("6. Rate limit", ratelimit.run(25 if quick else 101))
    live_table, live_goals = live.run(2_000, 20, 20) if quick else live.run(20_000, 20, 100)
    section("7. A location that changes during the walk", live_table)
    scan_text, scan_goals = scan.run(quick)
    section("8. The scan: the rate limit's share in use", scan_text)
    budget_text, budget_goals = redis_throttle.run(quick)
    section("9. One budget: under jitter and load, and across processes through Redis", budget_text)
    section("10. The mirror: a database kept in step", mirror.run(quick))
    print(f"all sections ran in {time.monotonic() - started:.0f} s", file=sys.stderr)
    if quick:
        return
    targets = (
        f"- Sequential walk: paginate() costs {seq_costs[OURS]:.2f}x the floor "
        "(target at most 1.5x).\n"
        f"- Eight concurrent walkers: {con_costs[OURS]:.2f}x (target at most 2.0x).\n"
        f"{live_goals}\n{scan_goals}\n{budget_goals}"
    )
    body = "\n\n".join(f"## {title}\n\n{text}" for title, text in sections)
    (HERE / "RESULTS.md").write_text(
        "# Benchmark results\n\n"
        "Written by `python -m benchmarks` (re-run it to reproduce on this kind of machine).\n\n"
        f"{machine()}\n\n{targets}\n\n![cost against the floor](results.png)\n\n{body}\n",
        encoding="utf-8",
    )
    chart(seq_costs, con_costs, HERE / "results.png")


if __name__ == "__main__":
    main()
