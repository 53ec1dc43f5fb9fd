"""Where output goes: a file, kept on disk write by write, or standard output."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import IO, NoReturn

from .config import UsageError


def _reason(error: OSError) -> str:
    """The system's reason for `error`, without the file name it may carry."""
    if error.errno is not None and error.strerror:
        return f"[Errno {error.errno}] {error.strerror}"
    return str(error)


class WriteError(Exception):
    """Writing the output or its checkpoint failed: where, and the system's reason."""

    def __init__(self, where: str, error: OSError) -> None:
        super().__init__(f"cannot write {where}: {_reason(error)}")


def _is_regular_file(stream: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):  # no descriptor (a test's capture), or closed
        return False


class Sink:
    """An output stream; `committed` counts the bytes written that are safe.

    Every write is flushed, and to a regular file (other than standard output) also
    `fsync`ed, before it counts: a checkpoint taken from `committed` never counts bytes
    a crash could lose. `regular_file` says whether it is one: only those can be resumed.
    """

    def __init__(
        self, stream: IO[bytes], name: str, *, committed: int = 0, is_stdout: bool = False
    ) -> None:
        self._stream = stream
        self._is_stdout = is_stdout
        self._failed = False
        self.name = name
        self.committed = committed
        self.regular_file = _is_regular_file(stream)
        self._durable = self.regular_file and not is_stdout

    @classmethod
    def standard_output(cls) -> Sink:
        """Standard output (left open by `close`)."""
        return cls(sys.stdout.buffer, "standard output", is_stdout=True)

    @classmethod
    def open_file(cls, path: Path, *, keep: int | None = None) -> Sink:
        """`path` emptied, or cut to its first `keep` bytes and written on from there.

        `UsageError` if it cannot be opened, or is shorter than `keep`: it is never
        made longer.
        """
        try:
            stream = path.open("wb" if keep is None else "r+b")
        except OSError as exc:
            raise UsageError(f"cannot open {path} for writing: {_reason(exc)}") from None
        sink = cls(stream, str(path), committed=keep or 0)
        if keep is not None:
            try:
                sink._cut_to(keep)
            except BaseException:
                stream.close()
                raise
        return sink

    def write(self, data: bytes) -> None:
        """Write `data` through to the file or pipe; `WriteError` if that fails."""
        try:
            self._stream.write(data)
            self._stream.flush()
            if self._durable:
                os.fsync(self._stream.fileno())
        except BrokenPipeError:
            self._failed = True
            raise
        except OSError as exc:
            self._fail(exc)
        self.committed += len(data)

    def close(self) -> None:
        """Close a file (standard output stays open)."""
        if self._is_stdout:
            return
        try:
            self._stream.close()
        except OSError as exc:
            if not self._failed:  # else it is what a failed write left unflushed, again
                self._fail(exc)

    def _cut_to(self, size: int) -> None:
        try:
            if os.fstat(self._stream.fileno()).st_size < size:
                raise UsageError(f"{self.name} is shorter than the {size:,} bytes to keep")
            self._stream.truncate(size)
            self._stream.seek(size)
        except OSError as exc:
            self._fail(exc)

    def _fail(self, error: OSError) -> NoReturn:
        self._failed = True
        raise WriteError(self.name, error) from error
