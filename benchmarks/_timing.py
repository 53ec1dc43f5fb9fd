"""Running contenders round by round and summarising the rounds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

from attrs import frozen


@frozen
class Summary:
    """The rounds of one contender: per-round rates (units per second)."""

    name: str
    rates: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    @property
    def low(self) -> float:
        return min(self.rates)

    @property
    def high(self) -> float:
        return max(self.rates)


def alternate(contenders: Mapping[str, Callable[[], int]], rounds: int) -> dict[str, Summary]:
    """Run each contender once per round, in turn, for `rounds` rounds.

    Each callable does its work and returns how many units it processed; alternating
    spreads the machine's noise over all contenders alike.
    """
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, work in contenders.items():
            started = time.perf_counter()
            units = work()
            rates[name].append(units / (time.perf_counter() - started))
    return {name: Summary(name, tuple(values)) for name, values in rates.items()}


def table(summaries: Mapping[str, Summary], unit: str, baseline: str | None = None) -> str:
    """A Markdown table: median, min and max rate, and the ratio to `baseline`'s cost."""
    lines = [
        f"| contender | {unit}/s (median) | min | max | cost vs {baseline or '-'} |",
        "|---|---:|---:|---:|---:|",
    ]
    base = summaries[baseline].median if baseline else None
    for summary in summaries.values():
        ratio = f"{base / summary.median:.2f}x" if base else "-"
        lines.append(
            f"| {summary.name} | {summary.median:,.0f} | {summary.low:,.0f} | "
            f"{summary.high:,.0f} | {ratio} |"
        )
    return "\n".join(lines)
