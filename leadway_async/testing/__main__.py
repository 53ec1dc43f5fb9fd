"""Run the emulator in the foreground: `python -m leadway_async.testing --port 8080`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
from collections.abc import Sequence

from .faults import Faults, parse_fault
from .live import LiveChanges
from .locations import generated_location_ids
from .oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_COMPANY_ID
from .server import DEFAULT_LOCATION_ID, DEFAULT_TOKEN, LeadwayEmulator
from .spec import VERSIONS

__all__ = ["build_parser", "extra_locations", "main"]


def build_parser(prog: str = "python -m leadway_async.testing") -> argparse.ArgumentParser:
    """The emulator's command-line options."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local Leadway conversations search API and its OAuth endpoints "
        "until Ctrl-C.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    add("--port", type=int, default=8080, help="port, 0 for any free one (default: %(default)s)")
    add("--conversations", type=int, default=1000, help="how many to generate (%(default)s)")
    add("--seed", type=int, default=0, help="seed of the data and the random faults")
    add("--ties", type=float, default=0.0, help="chance a lastMessageDate repeats the previous")
    add("--skew", type=float, default=0.0, help="share of conversations in the last tenth")
    add("--token", default=DEFAULT_TOKEN, help="the static bearer token (reads every location)")
    add("--location-id", default=DEFAULT_LOCATION_ID, help="the default location")
    add(
        "--locations",
        default=None,
        help="extra locations served beside --location-id, each with its own conversations "
        "and rate limits: comma-separated ids, or a number N for N generated ids",
    )
    add("--rate-limit-max", type=int, default=100, help="requests per burst window")
    add("--rate-limit-interval-ms", type=int, default=10_000, help="burst window length")
    add("--rate-limit-mode", choices=("fixed", "sliding"), default="fixed")
    add("--daily-limit", type=int, default=200_000, help="requests per day")
    add("--retry-after", type=float, default=None, help="Retry-After seconds on 429s")
    add("--latency-ms", type=float, default=0.0, help="delay added to every answer")
    add("--fault-rate", type=float, default=0.0, help="share of requests that fail (0-1)")
    add(
        "--fault-kinds",
        default="status:503",
        help="comma-separated kinds: status:<code>, drop, drop:early, truncate, "
        "latency:<ms>, empty, stuck (default: %(default)s)",
    )
    add(
        "--versions",
        default=",".join(VERSIONS),
        help="comma-separated Version headers to accept (default: %(default)s)",
    )
    add("--messages-per-s", type=float, default=0.0, help="live: new messages a second")
    add("--created-per-s", type=float, default=0.0, help="live: new conversations a second")
    add("--deleted-per-s", type=float, default=0.0, help="live: deletions a second")
    add("--read-per-s", type=float, default=0.0, help="live: conversations read a second")
    add("--index-lag-s", type=float, default=0.0, help="live: delay before the index shows new")
    add("--client-id", default=DEFAULT_CLIENT_ID, help="OAuth: the app's client id (%(default)s)")
    add("--client-secret", default=DEFAULT_CLIENT_SECRET, help="OAuth: the app's client secret")
    add("--company-id", default=DEFAULT_COMPANY_ID, help="OAuth: the installing company's id")
    add(
        "--token-lifetime-s",
        type=float,
        default=86_399.0,
        help="OAuth: seconds an access token lives (%(default)s)",
    )
    return parser


def extra_locations(text: str | None, *, seed: int, default: str) -> list[str]:
    """The extra location ids `--locations` names: a comma-separated list, or a number N
    for N ids generated from `seed`."""
    if text is None:
        return []
    if text.strip().isdigit():
        return generated_location_ids(int(text), seed=seed, avoid=default)
    locations = [location.strip() for location in text.split(",") if location.strip()]
    if not locations:
        raise ValueError("--locations needs location ids or a number")
    return locations


def main(
    argv: Sequence[str] | None = None, *, prog: str = "python -m leadway_async.testing"
) -> int:
    """Serve until SIGINT or SIGTERM; return the exit status. `prog` names the command."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    kinds = tuple(kind.strip() for kind in args.fault_kinds.split(",") if kind.strip())
    try:
        for kind in kinds:
            parse_fault(kind)
        faults = Faults(args.fault_rate, kinds, args.seed) if args.fault_rate > 0 else None
        live = LiveChanges(
            messages_per_s=args.messages_per_s,
            created_per_s=args.created_per_s,
            deleted_per_s=args.deleted_per_s,
            read_per_s=args.read_per_s,
            index_lag_s=args.index_lag_s,
            seed=args.seed,
        )
        versions = [version.strip() for version in args.versions.split(",") if version.strip()]
        locations = extra_locations(args.locations, seed=args.seed, default=args.location_id)
        emulator = LeadwayEmulator(
            conversations=args.conversations,
            seed=args.seed,
            ties=args.ties,
            skew=args.skew,
            token=args.token,
            location_id=args.location_id,
            host=args.host,
            port=args.port,
            rate_limit_max=args.rate_limit_max,
            rate_limit_interval_ms=args.rate_limit_interval_ms,
            rate_limit_mode=args.rate_limit_mode,
            daily_limit=args.daily_limit,
            retry_after=args.retry_after,
            latency_ms=args.latency_ms,
            faults=faults,
            versions=versions,
            live=live,
            locations=locations,
            client_id=args.client_id,
            client_secret=args.client_secret,
            company_id=args.company_id,
            token_lifetime_s=args.token_lifetime_s,
        )
    except ValueError as exc:
        parser.error(str(exc))
    # KeyboardInterrupt: where signal handlers cannot be installed (Windows).
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(emulator, args.conversations, args.seed))
    return 0


async def _serve(emulator: LeadwayEmulator, count: int, seed: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with emulator:
        print(f"Leadway emulator at {emulator.url}: {count} conversations, seed {seed}")
        print(f"export LEADWAY_BASE_URL={shlex.quote(emulator.url)}")
        print(f"export LEADWAY_TOKEN={shlex.quote(emulator.token)}")
        print(f"export LEADWAY_LOCATION_ID={shlex.quote(emulator.location_id)}")
        print(f"export LEADWAY_LOCATION_IDS={shlex.quote(','.join(emulator.location_ids))}")
        print(f"export LEADWAY_CLIENT_ID={shlex.quote(emulator.client_id)}")
        print(f"export LEADWAY_CLIENT_SECRET={shlex.quote(emulator.client_secret)}")
        print("ready", flush=True)
        await stop.wait()
    print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
