"""Where the store lives and how it is reached: URL resolution, engine set-up, migrations.

SQLite is the default (one file, nothing to install); any PostgreSQL is used
when `CEP_DB_URL` says so. Writes on SQLite start with `BEGIN IMMEDIATE` so
that two writers queue on the lock instead of one failing at commit time,
and the schema is brought to the latest migration every time a store opens.
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

ENV_URL = "CEP_DB_URL"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
#: Seconds a writer waits for another one's lock before giving up (SQLite).
BUSY_TIMEOUT_S = 30
#: Connection execution option marking a transaction that will write.
WRITE = "cep_write"
#: Key of the PostgreSQL advisory lock that serialises concurrent migrations.
MIGRATION_LOCK = 0x43455053  # "CEPS"


class InsecureFileWarning(UserWarning):
    """The database file can be read or written by other users of the machine."""


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/cep-scoring/cep.db`, i.e. `~/.local/share/cep-scoring/cep.db` by default."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cep-scoring" / "cep.db"


def url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """`CEP_DB_URL` when set, else the default SQLite file."""
    env = os.environ if environ is None else environ
    return env.get(ENV_URL) or f"sqlite:///{default_path(env)}"


def normalise_url(url: str | sa.URL) -> sa.URL:
    """Parse a database URL; plain `postgresql://` means the psycopg 3 driver shipped with the package."""
    u = sa.make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        if u.database in (None, "", ":memory:"):
            raise ValueError(f"{u}: the store needs a database file (sqlite:////path/to/cep.db), not memory")
    elif u.get_backend_name() != "postgresql":
        raise ValueError(
            f"{u.render_as_string(hide_password=True)}: unsupported database; "
            f"use sqlite:///FILE or postgresql://USER@HOST/DB"
        )
    return u


def create_engine(url: str | sa.URL) -> sa.Engine:
    """An engine for the store's URL, with SQLite set up for concurrent use (WAL, foreign keys, lock waits)."""
    u = normalise_url(url)
    if u.get_backend_name() == "postgresql":
        return sa.create_engine(u, pool_pre_ping=True)
    if not u.database:  # normalise_url refuses a SQLite URL without a file; this says so to the type checker too
        raise ValueError(f"{u}: the store needs a database file (sqlite:////path/to/cep.db)")
    _private_file(Path(u.database).expanduser())
    engine = sa.create_engine(u, connect_args={"timeout": BUSY_TIMEOUT_S})
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _private_file(path: Path) -> None:
    """Create the database file (and its folder) for the user only, whatever the umask; warn when others can read it.

    Dossiers are confidential. SQLite would create the file 0644 less the umask; created
    0600 here, it also gives its -wal and -shm files that mode (SQLite copies the database's).
    """
    try:
        path.parent.mkdir(parents=True)
        path.parent.chmod(0o700)
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # In WAL mode the -wal file holds recent writes: it is as confidential as the database.
        exposed = [
            str(p)
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
            if p.exists() and stat.S_IMODE(p.stat().st_mode) & 0o077
        ]
        if exposed:
            warnings.warn(
                f"{' '.join(exposed)} can be read or changed by other users of this machine, and the "
                f"store holds confidential dossiers: run `chmod 600 {' '.join(exposed)}`",
                InsecureFileWarning,
                stacklevel=2,
            )
        return
    os.fchmod(fd, 0o600)  # the umask may have taken bits away (never added them)
    os.close(fd)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling skips BEGIN before SELECT and DDL; SQLAlchemy
    # emits BEGIN itself (below) so that reads are repeatable and migrations are atomic.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor the writer them
    cur.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # A deferred transaction that reads and then writes fails with SQLITE_BUSY when another
    # writer committed in between; taking the write lock up front makes writers queue instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that will write, committed on success, rolled back on error."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


def alembic_config() -> Config:
    return Config(str(ALEMBIC_INI))


def upgrade(engine: sa.Engine) -> None:
    """Bring the database to the latest migration, in one transaction (a no-op when it is there)."""
    cfg = alembic_config()
    with write_transaction(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
