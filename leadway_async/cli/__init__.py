"""The command line: `leadway-async search | export | emulator | demo`.

Also `python -m leadway_async`. Nothing here is imported by `import leadway_async`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._version import __version__
from ..enums import (
    ConversationStatus,
    MessageAction,
    MessageDirection,
    MessageType,
    SortBy,
    SortOrder,
)
from ..errors import APIStatusError, LeadwayError
from .export import UsageError

EXIT_OK, EXIT_API_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _iso_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _values(enum_class: Any) -> list[str]:
    return [str(member.value) for member in enum_class]


# search()'s filters as options: keyword -> (how to read it, allowed values, help).
FILTER_OPTIONS: dict[str, tuple[Callable[[str], Any], list[str] | None, str]] = {
    "contact_id": (str, None, "conversations of this contact"),
    "assigned_to": (_ids, None, "comma-separated user ids, or 'unassigned'"),
    "followers": (_ids, None, "comma-separated user ids"),
    "mentions": (_ids, None, "comma-separated user ids"),
    "query": (str, None, "free text"),
    "sort": (str, _values(SortOrder), "order of the walk"),
    "sort_by": (str, _values(SortBy), "field to order by"),
    "start_after_date": (_number, None, "cursor: the sort value to start after"),
    "conversation_id": (str, None, "one conversation id (the API's 'id')"),
    "status": (str, _values(ConversationStatus), "read state"),
    "last_message_type": (str, _values(MessageType), "channel of the last message"),
    "last_message_action": (str, _values(MessageAction), "who sent the last outbound message"),
    "last_message_direction": (str, _values(MessageDirection), "inbound or outbound"),
    "sort_score_profile": (str, None, "score profile to sort by"),
    "score_profile": (str, None, "score profile to filter on"),
    "score_profile_min": (_number, None, "lowest score"),
    "score_profile_max": (_number, None, "highest score"),
    "start_date": (_iso_datetime, None, "added on or after (ISO 8601; UTC if no offset)"),
    "end_date": (_iso_datetime, None, "added on or before (ISO 8601; UTC if no offset)"),
}


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "connection (else LEADWAY_TOKEN, LEADWAY_LOCATION_ID, LEADWAY_BASE_URL)"
    )
    group.add_argument("--token", help="Private Integration Token or OAuth access token")
    group.add_argument("--location-id", help="the sub-account to search")
    group.add_argument("--base-url", help="API base URL (an emulator, a gateway)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and DEBUG logs")


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (as search() takes them)")
    for name, (read, choices, text) in FILTER_OPTIONS.items():
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=read,
            choices=choices,
            metavar="VALUE" if choices and len(choices) > 8 else None,
            help=text,
        )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The `leadway-async` argument parser."""
    parser = argparse.ArgumentParser(
        prog="leadway-async",
        description="Search and export Leadway CRM conversations; run a local emulator.",
    )
    parser.add_argument("--version", action="version", version=f"leadway-async {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    search = commands.add_parser("search", help="one page of conversations")
    _add_connection_options(search)
    _add_filter_options(search)
    search.add_argument("--limit", type=_positive, default=20, help="page size (1-100, default 20)")
    search.add_argument("--json", action="store_true", help="print the page as the API's JSON")

    export = commands.add_parser("export", help="every matching conversation into a file")
    _add_connection_options(export)
    _add_filter_options(export)
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--out", type=Path, help="output file (default: standard output)")
    export.add_argument("--resume", action="store_true", help="continue an interrupted export")
    export.add_argument("--max-items", type=_positive, help="stop after this many")
    export.add_argument("--limit", type=_positive, default=100, help="page size (default 100)")

    commands.add_parser(
        "emulator", add_help=False, help="run the local emulator (see 'emulator --help')"
    )
    demo = commands.add_parser("demo", help="export from a built-in emulator: no account needed")
    demo.add_argument("--conversations", type=_positive, default=5000)
    demo.add_argument("--out", type=Path, default=Path("leadway-demo.jsonl"))
    return parser


def filters_from(options: argparse.Namespace) -> dict[str, Any]:
    """The search() keywords the options set."""
    filters = {name: getattr(options, name) for name in FILTER_OPTIONS}
    filters["limit"] = options.limit
    return {name: value for name, value in filters.items() if value is not None}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["emulator"]:
        from ..testing.__main__ import main as emulator_main

        return emulator_main(arguments[1:], prog="leadway-async emulator")
    parser = build_parser()
    options = parser.parse_args(arguments)
    debug = getattr(options, "debug", False)
    # On a terminal a log line first clears the live progress line it would cut into.
    clear_line = "\r\x1b[2K" if sys.stderr.isatty() else ""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format=f"{clear_line}%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        if options.command == "demo":
            from .demo import run_demo

            return asyncio.run(run_demo(options))
        from .commands import run_command

        return asyncio.run(run_command(options))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`export | head`): stop quietly, as Unix tools do, and keep
        # Python from complaining again when it flushes standard output at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_API_ERROR
    except (UsageError, ValueError, TypeError, OSError) as exc:
        if debug:
            traceback.print_exc()
        print(f"leadway-async: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except APIStatusError as exc:
        if debug:
            traceback.print_exc()
        print(f"leadway-async: the API answered {exc}", file=sys.stderr)
        return EXIT_API_ERROR
    except LeadwayError as exc:
        if debug:
            traceback.print_exc()
        print(f"leadway-async: {exc}", file=sys.stderr)
        return EXIT_API_ERROR


def missing_token_message() -> str:
    """What to say when no token is given."""
    return (
        "no token: pass --token or set LEADWAY_TOKEN (to try without an account, run "
        "'leadway-async demo', or point --base-url at 'leadway-async emulator')"
    )


def configured(options: argparse.Namespace) -> dict[str, Any]:
    """LeadwayClient keywords from the options, else the environment."""
    token = options.token or os.environ.get("LEADWAY_TOKEN")
    if not token:
        raise UsageError(missing_token_message())
    return {
        "token": token,
        "location_id": options.location_id or os.environ.get("LEADWAY_LOCATION_ID"),
        "base_url": options.base_url or os.environ.get("LEADWAY_BASE_URL"),
    }
