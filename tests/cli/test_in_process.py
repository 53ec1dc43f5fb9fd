"""Small command-line behaviours checked in-process (no subprocess needed)."""

from __future__ import annotations

import io

import pytest

from leadway_async.cli import EXIT_USAGE, main
from leadway_async.cli.progress import Progress


def test_progress_after_a_resume_counts_only_this_runs_rate() -> None:
    progress = Progress(io.StringIO())
    progress.begin(2_000)
    progress.done, progress.total = 2_100, 3_000
    started = progress._started
    line = progress.line(now=started + 1.0)
    assert line.startswith("2,100 of 3,000 conversations (70%)")
    assert "100/s" in line  # 100 in this run's one second, not 2,100
    assert "9 s left" in line


def exit_status(arguments: list[str]) -> int | str | None:
    """main()'s status, whether it returns it or argparse exits with it."""
    try:
        return main(arguments)
    except SystemExit as exited:
        return exited.code


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["export", "--token", "t", "--limit", "abc"], "not a whole number: 'abc'"),
        (["export", "--token", "t", "--out", "."], "must name a file"),
    ],
)
def test_usage_mistakes_are_explained_in_plain_words(
    arguments: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_status(arguments) == EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err
    assert "_positive" not in err


def test_every_search_filter_has_an_option() -> None:
    from leadway_async.cli import FILTER_OPTIONS
    from leadway_async.params import SearchFilters

    # location_id is a connection option; limit has its own per-command default.
    assert set(FILTER_OPTIONS) == set(SearchFilters.__annotations__) - {"location_id", "limit"}
