"""The database itself: migrations match the models, history cannot be rewritten, URLs resolve."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scoring.store import Store, default_path, url_from_env
from scoring.store.db import alembic_config, normalise_url, write_transaction
from scoring.store.interviews import record_interview
from scoring.store.models import APPEND_ONLY, metadata


def test_migrated_schema_matches_the_models(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_history_cannot_be_updated_or_deleted(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    store.record_assessment("CEP-2024-0042", {"data_quality": 3.0}, user="ana")
    store.declare_conflict("CEP-2024-0042", expert="ben", user="ben")
    store.record_decision("CEP-2024-0042", labeled=False, user="secretary")
    store.record_prediction(
        "CEP-2024-0042",
        model_name="m",
        model_sha256="0" * 64,
        probabilities={"labeled": 0.2},
        explanation={},
        user="app",
    )
    store.add_user("ana", "expert", user="admin")
    store.assign("CEP-2024-0042", ["ana"], user="chair")
    record_interview(store, "CEP-2024-0042", "submit", user="eve")
    for table in APPEND_ONLY:
        column = "user_name" if table == "audit_log" else "created_by"
        for statement in (f"UPDATE {table} SET {column} = 'mallory'", f"DELETE FROM {table}"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with store.engine.begin() as conn:
                    conn.execute(sa.text(statement))
        with store.engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} = 'mallory'")).scalar() == 0
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() >= 1


def test_every_row_has_its_audit_entry(store, dossier):
    store.save_dossier(dossier(), user="alice", expected_version=None)
    store.save_dossier(dossier(title="v2"), user="alice", expected_version=1)
    store.record_assessment("CEP-2024-0042", {"data_quality": 3.0}, user="ana")
    with store.engine.connect() as conn:
        for table in APPEND_ONLY:
            if table == "audit_log":
                continue
            rows = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
            entries = conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE entity = :t"), {"t": table}).scalar()
            assert rows == entries, table


def test_reopening_is_a_no_op_and_downgrade_upgrade_round_trips(db_url):
    Store(db_url).close()
    with Store(db_url) as store:
        cfg = alembic_config()
        with write_transaction(store.engine) as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert "dossiers" not in sa.inspect(store.engine).get_table_names()
    with Store(db_url) as store:
        assert set(APPEND_ONLY) <= set(sa.inspect(store.engine).get_table_names())


def test_default_location_and_environment(tmp_path):
    assert default_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "cep-scoring" / "cep.db"
    assert default_path({}) == Path.home() / ".local" / "share" / "cep-scoring" / "cep.db"
    assert url_from_env({"CEP_DB_URL": "postgresql://u@h/db"}) == "postgresql://u@h/db"
    assert url_from_env({"XDG_DATA_HOME": str(tmp_path)}) == f"sqlite:///{tmp_path}/cep-scoring/cep.db"
    with Store.from_env({"XDG_DATA_HOME": str(tmp_path / "new")}) as store:
        assert (tmp_path / "new" / "cep-scoring" / "cep.db").exists()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_urls_are_checked():
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="database file"):
        normalise_url("sqlite://")
    with pytest.raises(ValueError, match="unsupported database") as info:
        normalise_url("mysql://u:secret@h/db")
    assert "secret" not in str(info.value)
