"""`mirror`: keep a database in step with the conversations of one or many locations.

Progress and a one-line summary per location go to standard error; standard output
carries nothing. The exit statuses are the other commands': 1 when a location or the
database failed (the pages written stay), 2 for a usage mistake.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TextIO

from ..client import LeadwayClient
from ..middleware.chain import Handler, Request, Response
from ..scan import MAX_CONCURRENCY
from .config import UsageError, connection_from, filters_from
from .meter import RateMeter
from .progress import Progress

if TYPE_CHECKING:
    from ..mirror import LocationResult, MirrorResult, RunPlan

__all__ = ["LocationMeters", "MirrorReport", "add_mirror_command", "run_mirror"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def duration(text: str) -> timedelta:
    """A duration option: `90s`, `5m`, `24h`, `7d`, `250ms` or plain seconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (a number with s, m, h or d, such as 5m or 24h)"
        )
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def _count(most: int | None) -> Callable[[str], int]:
    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < 1 or (most is not None and value > most):
            limit = f"between 1 and {most}" if most is not None else "at least 1"
            raise argparse.ArgumentTypeError(f"must be {limit}, got {value}")
        return value

    return read


def add_mirror_command(
    commands: Any,
    *,
    connection_options: Callable[[argparse.ArgumentParser], None],
    filter_options: Callable[..., None],
) -> None:
    """Add `mirror` to the command line's subcommands, with the connection and filter
    options the other commands take (given by the parser that owns them)."""
    mirror = commands.add_parser(
        "mirror",
        help="keep a database in step with the conversations of one or many locations",
        description=(
            "Mirror every conversation of the locations into SQLite or Postgres: a full pass "
            "the first time, then incremental runs from the bookmark; a full pass every "
            "--full-every also marks deleted conversations. Safe to stop at any moment and "
            "to run from several workers at once (Postgres). --location-id takes one id or "
            "several, comma-separated."
        ),
    )
    connection_options(mirror)
    filter_options(mirror, page_size=100)
    group = mirror.add_argument_group("mirror")
    group.add_argument(
        "--db",
        required=True,
        metavar="URL",
        help="sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://user@host/db",
    )
    group.add_argument(
        "--all-locations",
        action="store_true",
        help="every location the OAuth install of --token-store reaches",
    )
    group.add_argument(
        "--full", action="store_true", help="a full pass now (it also marks deleted ones)"
    )
    group.add_argument(
        "--full-every",
        type=duration,
        default=timedelta(days=1),
        metavar="DURATION",
        help="a full pass when the last one is this old (default 24h)",
    )
    group.add_argument(
        "--lookback",
        type=duration,
        default=timedelta(minutes=5),
        metavar="DURATION",
        help="start incremental runs this long before the bookmark (default 5m)",
    )
    group.add_argument(
        "--concurrency",
        type=_count(MAX_CONCURRENCY),
        default=4,
        metavar="N",
        help=f"requests in flight in a location's full pass, 1 to {MAX_CONCURRENCY} (default 4)",
    )
    group.add_argument(
        "--locations-at-once",
        type=_count(None),
        default=4,
        metavar="N",
        help="locations mirrored side by side (default 4)",
    )
    group.add_argument(
        "--lease",
        type=duration,
        default=timedelta(seconds=60),
        metavar="DURATION",
        help="how long a dead worker keeps its locations from others (default 60s)",
    )


async def run_mirror(options: argparse.Namespace) -> None:
    """Mirror the locations the options name; progress and summaries on standard error."""
    from ..mirror import Mirror  # the mirror (sqlite3 and all) loads for this command only

    connection = connection_from(options)
    filters = filters_from(options)
    meters = LocationMeters()
    report = MirrorReport(sys.stderr, meters)
    async with LeadwayClient(
        connection.token,
        auth=connection.app,
        location_id=None,
        base_url=connection.base_url,
        middlewares=[meters],
    ) as client:
        mirror = Mirror(
            client,
            options.db,
            filters=filters,
            lookback=options.lookback,
            full_every=options.full_every,
            concurrency=options.concurrency,
            locations_at_once=options.locations_at_once,
            lease=options.lease,
            progress=report,
        )
        locations = await _locations(options, connection.location_id, connection.app)
        result = await mirror.run(locations, full=options.full)
    report.total(result, options.db)


async def _locations(options: argparse.Namespace, given: str | None, app: Any) -> list[str]:
    """The locations to mirror: `--location-id` (one or several, comma-separated), else
    with `--all-locations` every location the OAuth install reaches."""
    if options.all_locations:
        if given:
            raise UsageError("pass --location-id or --all-locations, not both")
        if app is None:
            raise UsageError(
                "--all-locations lists the locations of an OAuth install: pass --token-store "
                "(and the app's --client-id and --client-secret)"
            )
        installed = await app.installed_locations()
        if not installed:
            raise UsageError("the OAuth install reaches no location")
        return [location.id for location in installed]
    ids = [part.strip() for part in (given or "").split(",") if part.strip()]
    if not ids:
        raise UsageError(
            "no location: pass --location-id ID[,ID...] (or set LEADWAY_LOCATION_ID), or "
            "--all-locations with --token-store"
        )
    return ids


class LocationMeters:
    """A middleware measuring each location's share of its own rate limit (the API's
    window is per location): a `RateMeter` per `locationId`."""

    def __init__(self) -> None:
        self._meters: dict[str, RateMeter] = {}

    def meter(self, location_id: str) -> RateMeter:
        """The meter of `location_id`."""
        return self._meters.setdefault(location_id, RateMeter())

    async def __call__(self, request: Request, handler: Handler) -> Response:
        location = request.query.get("locationId")
        if location is None:
            return await handler(request)
        return await self.meter(location)(request, handler)


class MirrorReport:
    """Each location's progress on `stream`: a live line on a terminal (the location that
    moved last), else a line per location every `every_s` seconds; then a one-line
    summary per location."""

    def __init__(self, stream: TextIO, meters: LocationMeters, *, every_s: float = 2.0) -> None:
        self._stream = stream
        self._meters = meters
        self._live = stream.isatty()
        self._every_s = every_s
        self._lines: dict[str, Progress] = {}
        self._resumed: dict[str, bool] = {}
        self._written: dict[str, float] = {}

    def started(self, location_id: str, plan: RunPlan) -> None:
        """Say what the location's run does."""
        if plan.kind == "full":
            kind = (
                "full pass, continuing the one a stopped run left" if plan.resume else ("full pass")
            )
        else:
            since = "the start"
            if plan.start_after is not None:
                moment = datetime.fromtimestamp(plan.start_after / 1000, timezone.utc)
                since = f"{moment:%Y-%m-%d %H:%M:%S} UTC"
            kind = f"incremental run from {since}"
            if plan.resume:
                kind += ", continuing where a stopped run left it"
        progress = Progress(io.StringIO(), rate_share=self._meters.meter(location_id).share)
        progress.begin(0)
        self._lines[location_id] = progress
        self._resumed[location_id] = plan.resume
        self._write(f"{location_id}: {kind}")

    def page(self, location_id: str, done: int, total: int | None) -> None:
        """Show the location's progress, when it is time to."""
        progress = self._lines.get(location_id)
        if progress is None:
            return
        if location_id not in self._written:
            if self._resumed.get(location_id):  # the rate counts this run's pages only
                progress.begin(done)
            self._written[location_id] = 0.0
        progress.done, progress.total = done, total
        now = time.monotonic()
        if self._live or now - self._written[location_id] >= self._every_s:
            self._written[location_id] = now
            self._write(f"{location_id}: {progress.line(now)}", live=True)

    def finished(self, result: LocationResult) -> None:
        """The location's one-line summary."""
        self._write(summary(result))

    def total(self, result: MirrorResult, where: str) -> None:
        """The last line: what the run did in all."""
        done = [r for r in result.locations if r.kind != "skipped"]
        self._write(
            f"mirrored {len(done)} of {len(result.locations)} locations into {_shown(where)} "
            f"in {result.seconds:.1f} s: {result.inserted:,} inserted, {result.updated:,} "
            f"updated, {result.deleted:,} marked deleted, {_plural(result.requests, 'request')}"
        )

    def _write(self, text: str, *, live: bool = False) -> None:
        if self._live:
            self._stream.write(f"\r\x1b[2K{text}" + ("" if live else "\n"))
        else:
            self._stream.write(f"{text}\n")
        self._stream.flush()


def summary(result: LocationResult) -> str:
    """A location's run in one line."""
    where = result.location_id
    if result.kind == "skipped":
        return f"{where}: skipped: {result.skipped}"
    kind = "full pass" if result.kind == "full" else "incremental run"
    if result.resumed:
        kind += " (continued)"
    counts = (
        f"{result.conversations:,} conversations read: {result.inserted:,} inserted, "
        f"{result.updated:,} updated, {result.deleted:,} marked deleted; "
        f"{_plural(result.requests, 'request')} in {result.seconds:.1f} s"
    )
    if result.error is not None:
        reason = " ".join(str(result.error).split()) or type(result.error).__name__
        return f"{where}: {kind} failed after {counts}: {reason}"
    return f"{where}: {kind}, {counts}; {result.present:,} conversations in the mirror"


def _shown(url: str) -> str:
    from ..mirror.url import parse_database_url

    return parse_database_url(url).shown


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
