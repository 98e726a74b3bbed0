"""Store fixtures: a fresh database per test, on SQLite and on a real PostgreSQL server.

The PostgreSQL server is Debian's binaries (initdb, pg_ctl), started once per
session in a temporary directory, listening on a free loopback port only.
Without those binaries the PostgreSQL cases are skipped, saying so, unless
CEP_REQUIRE_POSTGRES=1 (CI), where their absence is a failure.
"""

from __future__ import annotations

import copy
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from scoring.jsonform import example
from scoring.store import Store

SKIP_REASON = "PostgreSQL not installed: store tests ran on SQLite only"


def _pg_bindir() -> Path | None:
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    found = [
        p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists() and (p / "pg_ctl").exists()
    ]
    # The newest major version, compared as a number (10 after 9).
    found.sort(key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throwaway cluster: trust authentication, loopback only, no fsync (its data dies with the test run)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="cep-pg-"))
        self.port = _free_port()
        self._as: dict[str, int] = {}
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the server as Debian's postgres user.
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root and there is no 'postgres' user to run PostgreSQL as")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self._databases = itertools.count()

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir, **self._as)
        if done.returncode:
            log = self.dir / "server.log"
            pytest.fail(
                f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}\n" + (log.read_text() if log.exists() else "")
            )

    def start(self) -> None:
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "cep", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        try:
            if (self.dir / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self) -> str:
        """URL of an empty schema of the test database: much faster than CREATE DATABASE, as isolated."""
        name = f"test_{next(self._databases)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="cep", dbname="postgres", autocommit=True) as c:
            c.execute(f"CREATE SCHEMA {name}")
        return f"postgresql+psycopg://cep@127.0.0.1:{self.port}/postgres?options=-csearch_path%3D{name}"


@pytest.fixture(scope="session")
def pg_server():
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CEP_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                "CEP_REQUIRE_POSTGRES=1 but no PostgreSQL binaries (initdb, pg_ctl) were found; "
                "apt-get install postgresql"
            )
        pytest.skip(SKIP_REASON)
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cep.db'}"
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture
def store(db_url):
    with Store(db_url) as s:
        yield s


@pytest.fixture
def dossier():
    """make(dossier_id, **top-level changes) -> a valid dossier (JSON form) based on the shipped example."""

    def make(dossier_id: str = "CEP-2024-0042", **changes):
        doc = copy.deepcopy(example())
        doc.update(dossier_id=dossier_id, **changes)
        return doc

    return make
