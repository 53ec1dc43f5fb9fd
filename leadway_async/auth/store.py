"""Where an OAuth install's tokens live between runs: the `TokenStore` protocol, in memory
and in a file."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import stat
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

from .tokens import OAuthTokens, TokenStoreError

__all__ = ["FileTokenStore", "MemoryTokenStore", "TokenStore"]

# How often a process waiting for another's file lock looks again, in seconds.
_LOCK_POLL_S = 0.01


@runtime_checkable
class TokenStore(Protocol):
    """Keeps one OAuth install's tokens, shared by everyone using the same store.

    `lock()` is held while the tokens are refreshed: no two holders at once, across every
    process (and, for shared stores, host) using it, so a refresh token is spent once.
    `read()` returns None while nothing has been written; `write()` returns only once the
    tokens are durable.
    """

    async def read(self) -> OAuthTokens | None:
        """The tokens stored, or None."""
        ...

    async def write(self, tokens: OAuthTokens) -> None:
        """Store `tokens` in place of what was there."""
        ...

    def lock(self) -> AbstractAsyncContextManager[None]:
        """Hold the store's refresh lock for the `async with` block."""
        ...


class MemoryTokenStore:
    """Tokens held in this process only: for tests, and services that get them elsewhere."""

    def __init__(self, tokens: OAuthTokens | None = None) -> None:
        self._tokens = tokens
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"MemoryTokenStore(holds_tokens={self._tokens is not None})"

    async def read(self) -> OAuthTokens | None:
        """The tokens stored, or None."""
        return self._tokens

    async def write(self, tokens: OAuthTokens) -> None:
        """Keep `tokens` in place of what was there."""
        self._tokens = tokens

    @contextlib.asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        """Hold the refresh lock of this store, within this process."""
        async with self._lock:
            yield


class FileTokenStore:
    """Tokens in a JSON file only its owner can read, shared by processes on one host.

    The file is created with permissions 0600 and replaced atomically (written beside,
    fsync'd, renamed); a file others can read is refused. `lock()` holds an exclusive
    `flock` on `<path>.lock` as well as a lock within the process.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise TokenStoreError(
                f"cannot keep tokens in {self.path}: the directory {self.path.parent} "
                "does not exist"
            )
        if self.path.is_dir():
            raise TokenStoreError(f"cannot keep tokens in {self.path}: it is a directory")
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._in_process = asyncio.Lock()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    async def read(self) -> OAuthTokens | None:
        """The tokens in the file, or None while it does not exist."""
        return await asyncio.to_thread(self._read)

    async def write(self, tokens: OAuthTokens) -> None:
        """Replace the file's tokens durably."""
        await asyncio.to_thread(self._write, tokens)

    @contextlib.asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        """Hold the store's lock against every task and process using this file."""
        async with self._in_process:
            descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(_LOCK_POLL_S)
                try:
                    yield
                finally:
                    fcntl.flock(descriptor, fcntl.LOCK_UN)
            finally:
                os.close(descriptor)

    def _read(self) -> OAuthTokens | None:
        try:
            descriptor = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenStoreError(
                f"cannot read the token store {self.path}: {exc.strerror}"
            ) from None
        with os.fdopen(descriptor, "rb") as stream:
            mode = os.fstat(stream.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise TokenStoreError(
                    f"the token store {self.path} can be read by other users; "
                    f"run `chmod 600 {self.path}` and try again"
                )
            raw = stream.read()
        try:
            document = json.loads(raw)
        except ValueError:
            raise TokenStoreError(f"{self.path} is not a leadway-async token store") from None
        return OAuthTokens.from_document(document, str(self.path))

    def _write(self, tokens: OAuthTokens) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        payload = json.dumps(tokens.to_document()).encode("utf-8")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)  # a stale file left by a crash keeps its mode
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(payload)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise TokenStoreError(
                f"cannot write the token store {self.path}: {exc.strerror}"
            ) from None
