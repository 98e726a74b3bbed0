"""The store's promises against someone who goes around it: conflicting inserts, edited or deleted
audit entries, a database file other users can read."""

import datetime as dt
import os
import stat
import subprocess
import sys
import warnings

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from scoring.jsonform import from_json
from scoring.store import Store, import_frame
from scoring.store.audit import GENESIS, entry_hash
from scoring.store.commands import audit_cmd
from scoring.store.db import InsecureFileWarning, alembic_config, create_engine, write_transaction
from scoring.store.interviews import record_interview
from scoring.store.models import APPEND_ONLY, audit_log, metadata

DOSSIER = "CEP-2024-0042"


def _who(table: str) -> str:
    return "user_name" if table == "audit_log" else "created_by"


def _fill(store: Store, dossier) -> Store:
    """Rows in every table."""
    store.save_dossier(dossier(), user="alice", expected_version=None)
    store.record_assessment(DOSSIER, {"data_quality": 3.0}, user="ana")
    store.declare_conflict(DOSSIER, expert="ben", user="ben")
    store.record_decision(DOSSIER, labeled=False, user="secretary")
    store.record_prediction(
        DOSSIER, model_name="m", model_sha256="0" * 64, probabilities={"labeled": 0.2}, explanation={}, user="app"
    )
    store.add_user("ana", "expert", expert_kind="academic", user="admin")
    store.assign(DOSSIER, ["ana"], user="chair")
    record_interview(store, DOSSIER, "submit", user="eve")
    return store


@pytest.fixture
def filled(store, dossier):
    return _fill(store, dossier)


def _copy_first_row(table: str, *, keep_id: bool = True) -> tuple[str, str]:
    """(columns, the first row's values with its author replaced by mallory), for INSERT ... SELECT."""
    cols = [c.name for c in metadata.tables[table].c if keep_id or c.name != "id"]
    values = ", ".join("'mallory'" if c == _who(table) else c for c in cols)
    return ", ".join(cols), f"SELECT {values} FROM {table} WHERE true ORDER BY {cols[0]} LIMIT 1"


def _assert_refused_and_unchanged(store: Store, statement: str, table: str, pragma: str | None = None) -> None:
    with store.engine.connect() as conn:
        before = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with store.engine.begin() as conn:
            if pragma:
                conn.exec_driver_sql(pragma)
            conn.execute(sa.text(statement))
    with store.engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {_who(table)} = 'mallory'")).scalar() == 0
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == before


@pytest.mark.parametrize("recursive_triggers", ["OFF", "ON"])
@pytest.mark.parametrize("verb", ["REPLACE", "INSERT OR REPLACE"])
def test_sqlite_replace_cannot_rewrite_history(tmp_path, dossier, verb, recursive_triggers):
    # REPLACE deletes the conflicting row without firing DELETE triggers unless recursive_triggers is on.
    with Store(f"sqlite:///{tmp_path / 'cep.db'}") as store:
        _fill(store, dossier)
        pragma = f"PRAGMA recursive_triggers = {recursive_triggers}"
        for table in APPEND_ONLY:
            cols, select = _copy_first_row(table)
            _assert_refused_and_unchanged(store, f"{verb} INTO {table} ({cols}) {select}", table, pragma)
        # A new id but the same (dossier_id, version): REPLACE would drop the old version row.
        cols, select = _copy_first_row("dossier_versions", keep_id=False)
        _assert_refused_and_unchanged(
            store, f"{verb} INTO dossier_versions ({cols}) {select}", "dossier_versions", pragma
        )
        # A new id chained off an existing entry: REPLACE would drop that entry.
        cols, select = _copy_first_row("audit_log", keep_id=False)
        _assert_refused_and_unchanged(store, f"{verb} INTO audit_log ({cols}) {select}", "audit_log", pragma)


def test_upsert_cannot_rewrite_history(filled):
    # ON CONFLICT DO UPDATE fires the UPDATE triggers, on SQLite and on PostgreSQL.
    for table in APPEND_ONLY:
        cols, select = _copy_first_row(table)
        key = "dossier_id" if table == "dossiers" else "id"
        who = _who(table)
        _assert_refused_and_unchanged(
            filled,
            f"INSERT INTO {table} ({cols}) {select} ON CONFLICT ({key}) DO UPDATE SET {who} = excluded.{who}",
            table,
        )


# --------------------------------------------------------------------------- the hash chain


def _entries(store: Store) -> list[sa.Row]:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()


def _drop_guards(store: Store) -> None:
    """What someone with write access to the database can do: remove the append-only triggers."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")


def test_every_entry_is_chained_to_the_one_before(filled, dossier):
    base = pd.DataFrame([from_json(dossier(f"CEP-{i}")) for i in range(30)])
    import_frame(filled, base, user="secretary")  # many entries at once
    filled.record_decision(DOSSIER, labeled=True, funded=True, amount_eur=1e20, user="secretary")
    entries = _entries(filled)
    assert len(entries) > 60
    assert entries[0].prev_hash == GENESIS
    for before, entry in zip(entries, entries[1:]):
        assert entry.prev_hash == before.entry_hash
    for entry in entries:
        assert entry.entry_hash == entry_hash(entry.prev_hash, entry._mapping)
    report = filled.verify_audit()
    assert report.intact and report.entries == len(entries)
    assert report.message() == (
        f"{len(entries)} entries, chain intact (last entry {entries[-1].id}, hash {entries[-1].entry_hash})"
    )


def test_an_edited_entry_is_reported(filled):
    victim = _entries(filled)[3]
    _drop_guards(filled)
    with filled.engine.begin() as conn:
        conn.execute(
            sa.update(audit_log).where(audit_log.c.id == victim.id).values(details={**victim.details, "labeled": True})
        )
    report = filled.verify_audit()
    assert not report.intact and report.broken_id == victim.id and report.entries == 3
    assert f"audit entry {victim.id}: its content no longer matches its hash" in report.message()


def test_an_edited_entry_with_a_recomputed_hash_is_reported_at_the_next_one(filled):
    entries = _entries(filled)
    victim, after = entries[3], entries[4]
    _drop_guards(filled)
    forged = {**victim._mapping, "user_name": "mallory"}
    with filled.engine.begin() as conn:
        conn.execute(
            sa.update(audit_log)
            .where(audit_log.c.id == victim.id)
            .values(user_name="mallory", entry_hash=entry_hash(victim.prev_hash, forged))
        )
    report = filled.verify_audit()
    assert report.broken_id == after.id
    assert f"it does not follow entry {victim.id}" in report.message()


@pytest.mark.parametrize("position", ["middle", "first"])
def test_a_deleted_entry_is_reported(filled, position):
    entries = _entries(filled)
    gone, after = (entries[2], entries[3]) if position == "middle" else (entries[0], entries[1])
    _drop_guards(filled)
    with filled.engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.id == gone.id))
    report = filled.verify_audit()
    assert not report.intact and report.broken_id == after.id
    if position == "middle":
        assert f"it does not follow entry {entries[1].id}" in report.message()
    else:
        assert "the entries before it were deleted" in report.message()


def test_an_empty_log_is_intact(store):
    report = store.verify_audit()
    assert report.intact and report.entries == 0 and report.message().startswith("0 entries, chain intact")


def test_audit_verify_command(filled, db_url, monkeypatch):
    monkeypatch.setenv("CEP_DB_URL", db_url)
    runner = CliRunner()
    ok = runner.invoke(audit_cmd, ["verify"])
    n = len(_entries(filled))
    assert ok.exit_code == 0 and f"{n} entries, chain intact" in ok.output, ok.output
    victim = _entries(filled)[1]
    _drop_guards(filled)
    with filled.engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.id == victim.id).values(action="nothing"))
    broken = runner.invoke(audit_cmd, ["verify"])
    assert broken.exit_code == 1 and f"audit entry {victim.id}:" in broken.output, broken.output


def test_migration_chains_an_existing_log(db_url):
    """A database written before the chain existed gets its entries chained, in id order, and keeps its guards."""
    engine = create_engine(db_url)
    cfg = alembic_config()
    with write_transaction(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    now = dt.datetime(2025, 3, 2, 14, 10, 0, 123456, tzinfo=dt.timezone.utc)
    old_log = sa.table(
        "audit_log",
        *[sa.column(c.name, c.type) for c in audit_log.c if c.name not in ("id", "prev_hash", "entry_hash")],
    )
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO dossiers VALUES ('D1', :at, 'alice')"), {"at": now})
        conn.execute(
            old_log.insert(),
            [
                {
                    "at": now + dt.timedelta(seconds=i),
                    "user_name": "alice",
                    "action": "decide",
                    "entity": "decisions",
                    "entity_id": str(i),
                    "dossier_id": "D1" if i else None,
                    "details": {"amount_eur": 1e20, "scores": {"a": 3.0, "b": 2}, "labeled": bool(i), "note": "é"},
                }
                for i in range(3)
            ],
        )
    engine.dispose()
    with Store(db_url) as store:
        report = store.verify_audit()
        assert report.intact and report.entries == 3
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        for statement in ("UPDATE audit_log SET user_name = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with store.engine.begin() as conn:
                    conn.execute(sa.text(statement))
        cols, select = _copy_first_row("audit_log")
        _assert_refused_and_unchanged(
            store,
            f"INSERT INTO audit_log ({cols}) {select} ON CONFLICT (id) DO UPDATE SET user_name = 'mallory'",
            "audit_log",
        )


# --------------------------------------------------------------------------- who can read the file


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_database_and_its_folder_are_private_whatever_the_umask(tmp_path, dossier):
    old = os.umask(0)
    try:
        with Store.from_env({"XDG_DATA_HOME": str(tmp_path)}) as store:
            store.save_dossier(dossier(), user="alice", expected_version=None)
            with store.engine.connect():  # -wal and -shm exist while a connection is open
                path = tmp_path / "cep-scoring" / "cep.db"
                assert _mode(path.parent) == 0o700
                for name in ("cep.db", "cep.db-wal", "cep.db-shm"):
                    assert _mode(path.parent / name) == 0o600, name
    finally:
        os.umask(old)


def test_a_database_others_can_read_is_reported_with_the_fix(tmp_path):
    path = tmp_path / "cep.db"
    Store(f"sqlite:///{path}").close()
    os.chmod(path, 0o644)
    with pytest.warns(InsecureFileWarning, match=f"other users .*: run `chmod 600 {path}`"):
        Store(f"sqlite:///{path}").close()
    os.chmod(path, 0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Store(f"sqlite:///{path}").close()


def test_the_command_line_shows_the_warning(tmp_path):
    path = tmp_path / "cep.db"
    Store(f"sqlite:///{path}").close()
    os.chmod(path, 0o640)
    done = subprocess.run(
        [sys.executable, "-m", "scoring.cli", "audit", "verify"],
        capture_output=True,
        text=True,
        env={**os.environ, "CEP_DB_URL": f"sqlite:///{path}"},
        timeout=120,
    )
    assert done.returncode == 0 and "0 entries, chain intact" in done.stdout
    assert f"chmod 600 {path}" in done.stderr
