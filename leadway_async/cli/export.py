"""`export`: every matching conversation into a file, resumable after Ctrl-C or a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import field, frozen
from attrs.validators import in_

from ..errors import ParameterError
from ..models import RateLimit
from ..params import build_search_query
from .checkpoint import Checkpoint, checkpoint_path, load_checkpoint, save_checkpoint
from .config import UsageError
from .output import FILE_FORMATS, ExportFormat
from .progress import Progress
from .sink import Sink, WriteError
from .walk import WalkPlan, kind_mismatch, start_walk

if TYPE_CHECKING:
    from ..client import LeadwayClient
    from ..pagination import ConversationPager
    from ..scan import ConversationScan


@frozen
class ExportTarget:
    """Where an export goes, and which export it is.

    `path` None is standard output. `identity` is what makes two exports the same one,
    with the kind of walk (`export()` adds it): a resume with another identity is
    refused. `resume` continues the export from its checkpoint.
    """

    path: Path | None
    format: ExportFormat = field(validator=in_(FILE_FORMATS))
    identity: dict[str, Any]
    resume: bool = False


@frozen
class ExportResult:
    """What an export did."""

    written: int
    pages: int
    last_page_rate_limit: RateLimit | None = None


async def export(
    client: LeadwayClient,
    filters: dict[str, Any],
    target: ExportTarget,
    *,
    walk: WalkPlan,
    max_items: int | None,
    progress: Progress,
) -> ExportResult:
    """Walk everything `filters` select into `target` as `walk` says, at most `max_items`
    conversations.

    Whole lines only, each page on disk before the checkpoint counts it; with a file,
    the checkpoint (the walk's resume token after the pages on disk) is saved after each
    page and removed when the export completes. Nothing is written, and nothing sent, if
    the filters, paths or checkpoint are refused.
    """
    file_format = FILE_FORMATS[target.format]
    identity = {**target.identity, "walk": walk.kind}
    start = _starting_point(target, identity, walk)
    written = 0 if start is None else start.written
    remaining = None if max_items is None else max(0, max_items - written)
    pager = _walk(client, filters, walk, remaining, start, target)
    pages, rate_limit = 0, None
    async with pager:
        sink = _open(target, start)
        checkpoint_file = _checkpoint_file(target, sink)

        def save() -> None:
            if checkpoint_file is not None:
                state = Checkpoint(pager.resume_token, identity, sink.committed, written)
                _save(checkpoint_file, state)

        try:
            if start is None:
                sink.write(file_format.header)
            save()
            progress.begin(written)
            if remaining != 0:
                async for page in pager.pages():
                    sink.write(file_format.rows(page.conversations))
                    written, pages, rate_limit = written + len(page), pages + 1, page.rate_limit
                    save()
                    total = page.total if max_items is None else min(page.total or 0, max_items)
                    progress.update(written, total)
            progress.finish()
        finally:
            sink.close()
    if checkpoint_file is not None:
        checkpoint_file.unlink(missing_ok=True)
    return ExportResult(written, pages, rate_limit)


def _starting_point(
    target: ExportTarget, identity: dict[str, Any], walk: WalkPlan
) -> Checkpoint | None:
    """The checkpoint a resumed export continues from; None for a fresh one.

    `UsageError` for an output path or a checkpoint that does not fit the request.
    """
    out = target.path
    if out is None:
        if target.resume:
            raise UsageError("nothing to resume: --resume needs the --out file of the export")
        return None
    if out.is_dir() or not out.name:
        raise UsageError(f"--out must name a file, not the folder {out}")
    if not out.parent.is_dir():
        raise UsageError(f"cannot create {out}: there is no folder {out.parent}")
    checkpoint_file = checkpoint_path(out)
    if not target.resume:
        if checkpoint_file.exists():
            raise UsageError(
                f"an unfinished export to {out} has a checkpoint: continue it with --resume, "
                f"or delete {checkpoint_file} to start over"
            )
        return None
    if not checkpoint_file.exists():
        raise UsageError(f"nothing to resume: no checkpoint for an export to {out}")
    checkpoint = load_checkpoint(checkpoint_file)
    if not out.exists():
        raise UsageError(
            f"the output {out} of the interrupted export is gone: delete "
            f"{checkpoint_file} to start over"
        )
    mismatch = kind_mismatch(checkpoint.options, walk)
    if mismatch is not None:
        raise UsageError(
            f"--resume needs the same kind of export: {mismatch}, or delete "
            f"{checkpoint_file} to start over"
        )
    if checkpoint.options != identity:
        raise UsageError(
            "--resume needs the same options as the interrupted export: "
            f"it had {json.dumps(checkpoint.options, sort_keys=True)}"
        )
    size = out.stat().st_size
    if size < checkpoint.bytes_written:
        raise UsageError(
            f"the output {out} is shorter ({size:,} bytes) than its checkpoint says "
            f"({checkpoint.bytes_written:,} bytes): it was cut or replaced after the export "
            f"stopped; delete {checkpoint_file} to start over"
        )
    return checkpoint


def _walk(
    client: LeadwayClient,
    filters: dict[str, Any],
    walk: WalkPlan,
    remaining: int | None,
    start: Checkpoint | None,
    target: ExportTarget,
) -> ConversationPager | ConversationScan:
    if start is None or target.path is None:
        return start_walk(client, filters, walk, max_items=remaining or None, resume_token=None)
    build_search_query(filters, default_location_id=client.location_id)
    try:  # the filters are good: what is refused now is the checkpoint's token
        return start_walk(
            client, filters, walk, max_items=remaining or None, resume_token=start.resume_token
        )
    except ParameterError as exc:
        raise UsageError(
            f"cannot resume from the checkpoint {checkpoint_path(target.path)}: {exc}; "
            "delete it to start over"
        ) from None


def _open(target: ExportTarget, start: Checkpoint | None) -> Sink:
    if target.path is None:
        return Sink.standard_output()
    if start is None:
        return Sink.open_file(target.path)
    return Sink.open_file(target.path, keep=start.bytes_written)


def _save(path: Path, checkpoint: Checkpoint) -> None:
    try:
        save_checkpoint(path, checkpoint)
    except OSError as exc:
        raise WriteError(str(path), exc) from exc


def _checkpoint_file(target: ExportTarget, sink: Sink) -> Path | None:
    """Where the checkpoint goes: only a regular file can be resumed."""
    if target.path is None or not sink.regular_file:
        return None
    return checkpoint_path(target.path)
