"""The audit log becomes a hash chain, and SQLite refuses inserts that would replace a row.

- `audit_log` gets `prev_hash` and `entry_hash` (see `scoring.store.audit`),
  with a unique `prev_hash` so that the chain cannot fork; the entries already
  there are chained in id order.
- SQLite: a BEFORE INSERT trigger on every table refuses a row whose key is
  taken. `REPLACE` / `INSERT OR REPLACE` would otherwise delete the existing
  row without firing the DELETE triggers (SQLite fires them for REPLACE only
  under `PRAGMA recursive_triggers`, a per-connection setting). PostgreSQL
  has no REPLACE, and its `INSERT ... ON CONFLICT DO UPDATE` fires the UPDATE
  triggers of 0001, which refuse it.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

# The chain must be hashed exactly as `audit verify` checks it, so the backfill uses the store's own
# function; should that function ever change, a later migration has to re-chain the log.
from scoring.store.audit import GENESIS, entry_hash

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Every key of every table: an INSERT repeating any of them would replace an existing row.
KEYS: dict[str, list[tuple[str, ...]]] = {
    "dossiers": [("dossier_id",)],
    "dossier_versions": [("id",), ("dossier_id", "version")],
    "assessments": [("id",)],
    "conflicts_of_interest": [("id",)],
    "predictions": [("id",)],
    "decisions": [("id",)],
    "audit_log": [("id",), ("prev_hash",)],
}
HASH = sa.String(64)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    # The backfill updates rows, which 0001's triggers refuse; they are back before the migration commits.
    _audit_log_guards(drop=True)
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", HASH, nullable=True))
        batch.add_column(sa.Column("entry_hash", HASH, nullable=True))
    _chain_existing_entries()
    with op.batch_alter_table("audit_log") as batch:  # SQLite: the table is rebuilt, its triggers with it
        batch.alter_column("prev_hash", existing_type=HASH, nullable=False)
        batch.alter_column("entry_hash", existing_type=HASH, nullable=False)
        batch.create_index("ix_audit_log_prev_hash", ["prev_hash"], unique=True)
    _audit_log_guards(drop=False)
    if _sqlite():
        for table, keys in KEYS.items():
            taken = " OR ".join(
                f"EXISTS (SELECT 1 FROM {table} WHERE " + " AND ".join(f"{c} = NEW.{c}" for c in key) + ")"
                for key in keys
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_overwrite BEFORE INSERT ON {table} WHEN {taken} BEGIN "
                f"SELECT RAISE(ABORT, '{table} is append-only: INSERT refused, a row with the same key exists "
                f"(rows are superseded by new ones, never replaced)'); END"
            )


def _chain_existing_entries() -> None:
    if context.is_offline_mode():
        # Hashes are computed here, from the rows, which a SQL script cannot do; from an empty
        # database (base) the log has no entries to chain, so the script is still complete.
        environment = context.get_context().environment_context
        if environment is None:  # alembic runs a migration inside its environment; without one, nothing can be said
            raise RuntimeError("0002 runs under alembic (alembic upgrade head, or open the store), not on its own")
        if environment.get_starting_revision_argument() is not None:
            raise RuntimeError(
                "0002 chains the audit log's existing entries with hashes computed from them: "
                "run it on the database (alembic upgrade head, or open the store), not as --sql"
            )
        return
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        *[sa.column(c, sa.String) for c in ("user_name", "action", "entity", "entity_id", "dossier_id")],
        sa.column("details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        sa.column("prev_hash", HASH),
        sa.column("entry_hash", HASH),
    )
    conn = op.get_bind()
    links, prev = [], GENESIS
    for row in conn.execute(sa.select(log).order_by(log.c.id)):
        h = entry_hash(prev, row._mapping)
        links.append({"key": row.id, "prev": prev, "hash": h})
        prev = h
    if links:
        conn.execute(
            log.update()
            .where(log.c.id == sa.bindparam("key"))
            .values(prev_hash=sa.bindparam("prev"), entry_hash=sa.bindparam("hash")),
            links,
        )


def _audit_log_guards(*, drop: bool) -> None:
    """Drop, or create again as 0001 made them, the triggers refusing UPDATE and DELETE on audit_log."""
    if not _sqlite():
        op.execute(
            "DROP TRIGGER audit_log_append_only ON audit_log"
            if drop
            else "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION cep_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"DROP TRIGGER audit_log_no_{verb.lower()}"
            if drop
            else f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log BEGIN "
            f"SELECT RAISE(ABORT, 'audit_log is append-only: {verb} refused (rows are superseded, never "
            f"changed)'); END"
        )


def downgrade() -> None:
    if _sqlite():
        for table in KEYS:
            op.execute(f"DROP TRIGGER {table}_no_overwrite")
    _audit_log_guards(drop=True)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_prev_hash")
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
    _audit_log_guards(drop=False)
