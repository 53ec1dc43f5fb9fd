"""The `leadway-async` command: its options, and the exit status of what happened.

0: done. 1: the API or the connection failed, the output could not be written, or the
command itself failed (an internal error). 2: a usage mistake, or a value the SDK refused
before sending anything. 130: Ctrl-C; 143: SIGTERM (the checkpoint kept, in both).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import APIStatusError, LeadwayError, ParameterError
from ..params import BY_KEYWORD, SearchParameter
from ..scan import MAX_CONCURRENCY
from .commands import run_export, run_search
from .config import FILTER_PARAMETERS, UsageError, filters_from
from .mirror import add_mirror_command, run_mirror
from .output import FILE_FORMATS
from .sigterm import Terminated, stop_on_sigterm
from .sink import WriteError
from .walk import DEFAULT_CONCURRENCY, conflict

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143

# Shorter "tokens" are not redacted: blanking them would garble ordinary words.
_SHORTEST_REDACTED = 6


def _reader(parameter: SearchParameter) -> Callable[[str], Any]:
    """The parameter's text reader, its complaint shown by argparse as it is."""

    def read(text: str) -> Any:
        try:
            return parameter.read(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return read


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _concurrency(text: str) -> int:
    value = _positive(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_CONCURRENCY}, got {value}")
    return value


# What the export's help says of the options that choose its walk.
_EXPORT_HELP = {
    "sort": "walk in this order, one request at a time (default: a scan, in no order)",
    "start_after_date": "with --sort: the sort value to start after",
}


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "connection (else LEADWAY_TOKEN, LEADWAY_LOCATION_ID, LEADWAY_BASE_URL)"
    )
    group.add_argument("--token", help="Private Integration Token or OAuth access token")
    group.add_argument(
        "--token-store",
        type=Path,
        metavar="FILE",
        help="work from an OAuth install's token store (see 'auth') in place of --token",
    )
    location = BY_KEYWORD["location_id"]
    group.add_argument(location.option, dest=location.keyword, help=location.help)
    group.add_argument("--base-url", help="API base URL (an emulator, a gateway)")
    _add_app_options(group)
    parser.add_argument("--debug", action="store_true", help="show tracebacks and DEBUG logs")


def _add_app_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--client-id", help="the OAuth app's client id (else LEADWAY_CLIENT_ID)")
    group.add_argument(
        "--client-secret", help="the OAuth app's client secret (else LEADWAY_CLIENT_SECRET)"
    )


def _add_auth_command(commands: Any) -> None:
    auth = commands.add_parser("auth", help="authorise the app; see or renew its tokens")
    steps = auth.add_subparsers(dest="auth_command", required=True, metavar="STEP")
    exchange = steps.add_parser("exchange", help="trade an install's code for its tokens")
    exchange.add_argument("--code", required=True, help="the code the install redirected with")
    exchange.add_argument("--redirect-uri", required=True, help="the app's redirect URL")
    exchange.add_argument("--user-type", choices=["Company", "Location"])
    status = steps.add_parser("status", help="who the install is, its scopes and expiry")
    refresh = steps.add_parser("refresh", help="renew the tokens now")
    for step in (exchange, status, refresh):
        group = step.add_argument_group("the install (else LEADWAY_CLIENT_ID, ...)")
        group.add_argument(
            "--token-store",
            type=Path,
            default=Path("leadway-tokens.json"),
            metavar="FILE",
            help="where the tokens are kept (default leadway-tokens.json)",
        )
        _add_app_options(group)
        group.add_argument("--base-url", help="API base URL (an emulator, a gateway)")
        step.add_argument("--debug", action="store_true", help="show tracebacks and DEBUG logs")


def _add_filter_options(
    parser: argparse.ArgumentParser, *, page_size: int, helps: dict[str, str] | None = None
) -> None:
    group = parser.add_argument_group("filters (as search() takes them)")
    for parameter in FILTER_PARAMETERS:
        choices = parameter.choices
        group.add_argument(
            parameter.option,
            dest=parameter.keyword,
            type=_reader(parameter),
            choices=choices,
            metavar="VALUE" if choices and len(choices) > 8 else None,
            help=(helps or {}).get(parameter.keyword, parameter.help),
        )
    limit = BY_KEYWORD["limit"]
    group.add_argument(
        limit.option,
        dest=limit.keyword,
        type=_positive,
        default=page_size,
        help=f"{limit.help}, default {page_size}",
    )


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
    _add_filter_options(search, page_size=20)
    search.add_argument("--json", action="store_true", help="print the page as the API's JSON")

    export = commands.add_parser("export", help="every matching conversation into a file")
    _add_connection_options(export)
    _add_filter_options(export, page_size=100, helps=_EXPORT_HELP)
    export.add_argument("--format", choices=list(FILE_FORMATS), default="jsonl")
    export.add_argument("--out", type=Path, help="output file (default: standard output)")
    export.add_argument("--resume", action="store_true", help="continue an interrupted export")
    export.add_argument("--max-items", type=_positive, help="stop after this many")
    export.add_argument(
        "--concurrency",
        type=_concurrency,
        metavar="N",
        help=(
            f"requests in flight at once in a scan, 1 to {MAX_CONCURRENCY} (default "
            f"{DEFAULT_CONCURRENCY}); not with --sort"
        ),
    )
    export.set_defaults(refuse=export.error)
    add_mirror_command(
        commands,
        connection_options=_add_connection_options,
        filter_options=_add_filter_options,
    )

    _add_auth_command(commands)
    commands.add_parser(
        "emulator", add_help=False, help="run the local emulator (see 'emulator --help')"
    )
    demo = commands.add_parser("demo", help="mirror a built-in emulator: no account needed")
    demo.add_argument("--conversations", type=_positive, default=5000)
    demo.add_argument("--out", type=Path, help="the SQLite file (default: in a new temp folder)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["emulator"]:
        from ..testing.__main__ import main as emulator_main

        return emulator_main(arguments[1:], prog="leadway-async emulator")
    options = build_parser().parse_args(arguments)
    if options.command == "export":
        problem = conflict(filters_from(options), options.concurrency)
        if problem is not None:
            options.refuse(problem)  # argparse's usage error: exits with status 2
    debug: bool = getattr(options, "debug", False)
    # On a terminal a log line first clears the live progress line it would cut into.
    clear_line = "\r\x1b[2K" if sys.stderr.isatty() else ""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format=f"{clear_line}%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        asyncio.run(stop_on_sigterm(_run(options)))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        # The reader went away (`export | head`): stop quietly, as Unix tools do, and keep
        # Python from complaining again when it flushes standard output at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        return _report(exc, debug=debug, secrets=_secrets(options))
    return EXIT_OK


async def _run(options: argparse.Namespace) -> None:
    if options.command == "search":
        await run_search(options)
    elif options.command == "export":
        await run_export(options)
    elif options.command == "mirror":
        await run_mirror(options)
    elif options.command == "auth":
        from .auth import run_auth

        await run_auth(options)
    else:
        from .demo import run_demo

        await run_demo(options)


def _report(exc: Exception, *, debug: bool, secrets: Iterable[str]) -> int:
    """Say what went wrong on standard error, in one line; returns the exit status."""
    status, message, internal = _explain(exc)
    if debug:
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        print(_redacted(trace, secrets), end="", file=sys.stderr)
    elif internal:
        message += " (run with --debug for the traceback)"
    line = " ".join(f"leadway-async: {message}".splitlines())
    print(_redacted(line, secrets), file=sys.stderr)
    return status


def _explain(exc: Exception) -> tuple[int, str, bool]:
    """The exit status and message for `exc`, and whether it is a bug of the command."""
    if isinstance(exc, (UsageError, ParameterError)):
        return EXIT_USAGE, f"error: {exc}", False
    if isinstance(exc, WriteError):
        return EXIT_FAILED, str(exc), False
    if isinstance(exc, APIStatusError):
        return EXIT_FAILED, f"the API answered {exc}", False
    if isinstance(exc, LeadwayError):
        return EXIT_FAILED, str(exc), False
    return EXIT_FAILED, f"internal error: {type(exc).__name__}: {exc}", True


def _secrets(options: argparse.Namespace) -> list[str]:
    given = [getattr(options, name, None) for name in ("token", "client_secret", "code")]
    given += [os.environ.get(name) for name in ("LEADWAY_TOKEN", "LEADWAY_CLIENT_SECRET")]
    return [secret for secret in given if secret and len(secret) >= _SHORTEST_REDACTED]


def _redacted(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text
