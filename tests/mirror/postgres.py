"""A throwaway Postgres server for the tests: initdb in a temporary folder, a free
loopback port, stopped and removed at the end of the session.

Postgres refuses to run as root, so as root the server runs as the `postgres` user
(`runuser`). Without a server binary or psycopg the tests that need it are skipped,
saying why, unless LEADWAY_REQUIRE_POSTGRES=1, where they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

REQUIRED = os.environ.get("LEADWAY_REQUIRE_POSTGRES") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail where Postgres is required."""
    if REQUIRED:
        pytest.fail(f"LEADWAY_REQUIRE_POSTGRES=1, but {reason}")
    pytest.skip(reason)


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: the newest Debian install, else the PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """A running server: `url()` names a fresh schema of its own for each test."""

    def __init__(self, bindir: Path, folder: Path, run_as: list[str]) -> None:
        self.bindir = bindir
        self.folder = folder
        self.data = folder / "data"
        self.run_as = run_as
        self.port = 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run_as, *args], capture_output=True, text=True, timeout=60, check=False
        )

    def start(self) -> None:
        created = self._run(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"),
            "--no-sync",
        )
        if created.returncode != 0:
            unavailable(f"initdb failed: {created.stderr.strip()[-300:]}")
        for _ in range(3):  # a port taken between choosing it and binding it: another one
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            started = self._run(
                str(self.bindir / "pg_ctl"),
                *("-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-t", "30"),
                *("-o", options, "start"),
            )
            if started.returncode == 0:
                return
        log = (self.folder / "log").read_text(errors="replace")[-500:]
        unavailable(f"the Postgres server did not start: {started.stderr.strip()} {log}")

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    @property
    def base_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, schema: str) -> str:
        """A URL whose tables go into `schema`."""
        return f"{self.base_url}?options=-csearch_path%3D{schema}"

    def new_schema(self) -> str:
        """A new, empty schema's name."""
        name = f"t_{secrets.token_hex(6)}"
        with self.connect() as db:
            db.execute(f"CREATE SCHEMA {name}")
        return name

    def connect(self, schema: str | None = None) -> Any:
        import psycopg

        url = self.base_url if schema is None else self.url(schema)
        return psycopg.connect(url, autocommit=True)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server for the session (skip or fail where there is none to start)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install -e '.[postgres]')")
    bindir = find_bindir()
    if bindir is None:
        unavailable("no Postgres server binary (initdb) is installed (Debian: postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="leadway-postgres-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # Postgres will not run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root, and there is no 'postgres' user to run the server")
        os.chown(folder, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    server = PostgresServer(bindir, folder, run_as)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
