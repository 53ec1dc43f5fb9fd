"""`search` and `export` against a real API (or any base URL)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from ..client import LeadwayClient
from . import EXIT_OK, configured, filters_from
from .export import export
from .output import page_json, table
from .progress import Progress


def export_identity(
    config: dict[str, Any], options: argparse.Namespace, filters: dict[str, Any]
) -> dict[str, Any]:
    """What makes two exports the same export (page size and caps may differ)."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    return {
        "filters": {k: plain(v) for k, v in sorted(filters.items()) if k != "limit"},
        "format": options.format,
        "location_id": config["location_id"],
        "base_url": config["base_url"],
    }


async def run_command(options: argparse.Namespace) -> int:
    """Run `search` or `export`; returns the exit status."""
    filters = filters_from(options)
    config = configured(options)
    async with LeadwayClient(**config) as client:
        if options.command == "search":
            page = await client.search(**filters)
            if options.json:
                sys.stdout.buffer.write(page_json(page) + b"\n")
            else:
                print(table(page))
            return EXIT_OK
        result = await export(
            client,
            filters,
            options=export_identity(config, options, filters),
            out=options.out,
            csv=options.format == "csv",
            resume=options.resume,
            max_items=options.max_items,
            progress=Progress(),
        )
    where = options.out or "standard output"
    print(f"exported {result.written:,} conversations to {where}", file=sys.stderr)
    return EXIT_OK
