"""`search` and `export` against a real API (or any base URL)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..client import LeadwayClient
from ..middleware.chain import Middleware
from .config import Connection, connection_from, filters_from
from .export import ExportTarget, export
from .meter import RateMeter
from .output import page_json, table
from .progress import Progress
from .sink import Sink
from .walk import WalkPlan


def export_identity(
    connection: Connection, options: argparse.Namespace, filters: dict[str, Any]
) -> dict[str, Any]:
    """What makes two exports the same export (page size, caps and concurrency may differ;
    `export()` adds the kind of walk)."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    return {
        "filters": {k: plain(v) for k, v in sorted(filters.items()) if k != "limit"},
        "format": options.format,
        "location_id": connection.location_id,
        "base_url": connection.base_url,
    }


def _client(connection: Connection, middlewares: Sequence[Middleware] = ()) -> LeadwayClient:
    return LeadwayClient(
        connection.token,
        auth=connection.app,
        location_id=connection.location_id,
        base_url=connection.base_url,
        middlewares=middlewares,
    )


async def run_search(options: argparse.Namespace) -> None:
    """Print one page, as a table or as the API's JSON."""
    filters = filters_from(options)
    async with _client(connection_from(options)) as client:
        page = await client.search(**filters)
    if options.json:
        text = page_json(page) + b"\n"
    else:
        text = (table(page) + "\n").encode(sys.stdout.encoding or "utf-8", "replace")
    Sink.standard_output().write(text)


async def run_export(options: argparse.Namespace) -> None:
    """Export every matching conversation, scanned or (with `--sort`) in order; progress
    and a summary go to standard error."""
    filters = filters_from(options)
    connection = connection_from(options)
    target = ExportTarget(
        path=options.out,
        format=options.format,
        identity=export_identity(connection, options, filters),
        resume=options.resume,
    )
    meter = RateMeter()
    async with _client(connection, [meter]) as client:
        result = await export(
            client,
            filters,
            target,
            walk=WalkPlan.for_filters(filters, options.concurrency),
            max_items=options.max_items,
            progress=Progress(rate_share=meter.share),
        )
    where = options.out or "standard output"
    print(f"exported {result.written:,} conversations to {where}", file=sys.stderr)
