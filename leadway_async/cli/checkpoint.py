"""The checkpoint of an export: where it stands, in a file beside its output."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from attrs import asdict, frozen

from .config import UsageError


@frozen
class Checkpoint:
    """Where an unfinished export stands.

    `options` identifies the export; `bytes_written` is how much of the output file is
    whole and on disk, `written` how many conversations that is.
    """

    resume_token: str
    options: dict[str, Any]
    bytes_written: int
    written: int


def checkpoint_path(out: Path) -> Path:
    """The checkpoint file of an export to `out`."""
    return out.with_name(out.name + ".checkpoint.json")


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the checkpoint at `path` at once: a crash leaves the old one or the new one.

    Raises `OSError` if it cannot be written.
    """
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as stream:
        stream.write(json.dumps(asdict(checkpoint)).encode("utf-8"))
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def load_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint at `path`; `UsageError` if it cannot be read or is not one."""
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        checkpoint = Checkpoint(**fields)
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot read the checkpoint {path}: {exc}") from None
    counts = (checkpoint.bytes_written, checkpoint.written)
    if not isinstance(checkpoint.options, dict) or not all(
        type(count) is int and count >= 0 for count in counts
    ):
        raise UsageError(f"the checkpoint {path} is damaged: delete it to start over")
    return checkpoint
