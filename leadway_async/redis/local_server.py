"""A throwaway `redis-server` of its own on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["LocalRedisServer"]

_START_TIMEOUT_S = 10.0
_PR_SET_PDEATHSIG = 1  # prctl(2)


class LocalRedisServer:
    """Runs `redis-server` bound to 127.0.0.1 on a free port (or `port`), with no
    persistence (`--save '' --appendonly no`) in a temporary directory, optionally with a
    `password`. Use it as `with LocalRedisServer() as server:`; `stop()` and `start()`
    again keep the port, so a test can take Redis away and bring it back. On Linux the
    server also ends with the thread that started it, should nothing stop it before.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        password: str | None = None,
        executable: str = "redis-server",
    ) -> None:
        self.password = password
        self.executable = executable
        self.port = port or _free_port()
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available(executable: str = "redis-server") -> bool:
        """Whether `redis-server` can be found on the PATH."""
        return shutil.which(executable) is not None

    @property
    def url(self) -> str:
        """The server's URL, with the password when it has one."""
        credentials = f":{self.password}@" if self.password else ""
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is running."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> LocalRedisServer:
        """Start the server and return once it accepts connections."""
        if self.running:
            return self
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="leadway-redis-")
        directory = Path(self._directory.name)
        command = [
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            "--logfile", str(directory / "redis.log"),
        ]  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_end_with_parent,
        )
        ends = time.monotonic() + _START_TIMEOUT_S
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > ends:
                log = directory / "redis.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}: {tail}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server (its data is lost); calling it again does nothing."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    def __enter__(self) -> LocalRedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _answers(self) -> bool:
        """Whether the server answers a PING (any answer counts: NOAUTH too)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return bool(connection.recv(64))
        except OSError:
            return False


def _end_with_parent() -> None:
    """In the child, before exec: on Linux, be sent SIGTERM when the thread that started
    it ends, so a test run killed outright leaves no server behind (elsewhere: nothing)."""
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
