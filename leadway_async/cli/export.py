"""`export`: every matching conversation into a file, resumable after Ctrl-C or a crash."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from attrs import asdict, frozen

from ..client import LeadwayClient
from ..models import RateLimit
from .output import csv_header, csv_rows, jsonl_lines
from .progress import Progress


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit status 2."""


@frozen
class Checkpoint:
    """Where an unfinished export stands, kept beside its output file."""

    resume_token: str
    options: dict[str, Any]
    bytes_written: int
    written: int


@frozen
class ExportResult:
    """What an export did."""

    written: int
    pages: int
    last_page_rate_limit: RateLimit | None = None


def checkpoint_path(out: Path) -> Path:
    """The checkpoint file of an export to `out`."""
    return out.with_name(out.name + ".checkpoint.json")


def _save(path: Path, checkpoint: Checkpoint) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(asdict(checkpoint)), encoding="utf-8")
    os.replace(temporary, path)  # atomic: a crash leaves the old checkpoint or the new one


def _load(path: Path) -> Checkpoint:
    try:
        return Checkpoint(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot read the checkpoint {path}: {exc}") from None


def _open_output(
    out: Path | None, options: dict[str, Any], *, resume: bool, csv: bool
) -> tuple[IO[bytes], str | None, int]:
    """The stream to write to, and the resume token and count to continue from."""
    if out is None:
        if resume:
            raise UsageError("nothing to resume: --resume needs the --out file of the export")
        sink: IO[bytes] = sys.stdout.buffer
        if csv:
            sink.write(csv_header().encode())
        return sink, None, 0
    if out.is_dir() or not out.name:
        raise UsageError(f"--out must name a file, not the folder {out}")
    checkpoint_file = checkpoint_path(out)
    if resume:
        if not checkpoint_file.exists():
            raise UsageError(f"nothing to resume: no checkpoint for an export to {out}")
        checkpoint = _load(checkpoint_file)
        if not out.exists():
            raise UsageError(
                f"the output {out} of the interrupted export is gone: delete "
                f"{checkpoint_file} to start over"
            )
        if checkpoint.options != options:
            raise UsageError(
                "--resume needs the same options as the interrupted export: "
                f"it had {json.dumps(checkpoint.options, sort_keys=True)}"
            )
        sink = out.open("r+b")
        sink.truncate(checkpoint.bytes_written)  # drop lines written after the checkpoint
        sink.seek(checkpoint.bytes_written)
        return sink, checkpoint.resume_token, checkpoint.written
    if checkpoint_file.exists():
        raise UsageError(
            f"an unfinished export to {out} has a checkpoint: continue it with --resume, "
            f"or delete {checkpoint_file} to start over"
        )
    sink = out.open("wb")
    if csv:
        sink.write(csv_header().encode())
    return sink, None, 0


async def export(
    client: LeadwayClient,
    filters: dict[str, Any],
    *,
    options: dict[str, Any],
    out: Path | None,
    csv: bool,
    resume: bool,
    max_items: int | None,
    progress: Progress,
) -> ExportResult:
    """Walk everything `filters` select into `out` (standard output when None).

    Whole lines only, flushed after each page; with a file, a checkpoint is saved after
    each page and removed when the export completes. `options` identifies the export, so
    a resume with other options is refused.
    """
    sink, token, written = _open_output(out, options, resume=resume, csv=csv)
    progress.begin(written)
    checkpoint_file = None if out is None else checkpoint_path(out)
    pages, rate_limit = 0, None
    try:
        remaining = None if max_items is None else max(0, max_items - written)
        pager = client.paginate(max_items=remaining or None, resume_token=token, **filters)

        def save() -> None:
            if checkpoint_file is not None:
                state = Checkpoint(pager.resume_token, options, sink.tell(), written)
                _save(checkpoint_file, state)

        save()
        async with pager:
            if remaining != 0:
                async for page in pager.pages():
                    rows = page.conversations
                    sink.write(csv_rows(rows).encode() if csv else jsonl_lines(rows))
                    sink.flush()
                    written, pages, rate_limit = written + len(page), pages + 1, page.rate_limit
                    save()
                    total = page.total if max_items is None else min(page.total or 0, max_items)
                    progress.update(written, total)
        progress.finish()
    finally:
        if out is not None:
            sink.close()
    if checkpoint_file is not None:
        checkpoint_file.unlink(missing_ok=True)
    return ExportResult(written, pages, rate_limit)
