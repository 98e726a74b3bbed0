"""Initial store: dossiers and their versions, assessments, conflicts of interest,
predictions, decisions and the audit log; every table append-only.

Written out in full rather than derived from `scoring.store.models`, so that
this step stays what it was when later migrations change the models.

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import SchemaItem  # not exported by the top-level sqlalchemy module

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLES = (
    "dossiers",
    "dossier_versions",
    "assessments",
    "conflicts_of_interest",
    "predictions",
    "decisions",
    "audit_log",
)


def _who_when() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    ]


def _dossier_ref(table: str) -> list[SchemaItem]:
    return [
        sa.Column("dossier_id", sa.String(64), nullable=False),
        sa.Column("dossier_version", sa.Integer, nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.dossier_id"], name=f"fk_{table}_dossier_id_dossiers"),
        sa.ForeignKeyConstraint(
            ["dossier_id", "dossier_version"],
            ["dossier_versions.dossier_id", "dossier_versions.version"],
            name=f"fk_{table}_dossier_id_dossier_versions",
        ),
    ]


def _dossier_table(name: str, *columns: SchemaItem) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer, nullable=False),
        *_dossier_ref(name),
        *columns,
        *_who_when(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
    )
    op.create_index(f"ix_{name}_dossier_id", name, ["dossier_id"])


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("dossier_id", sa.String(64), nullable=False),
        *_who_when(),
        sa.PrimaryKeyConstraint("dossier_id", name="pk_dossiers"),
    )
    op.create_table(
        "dossier_versions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("dossier_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        *_who_when(),
        sa.PrimaryKeyConstraint("id", name="pk_dossier_versions"),
        sa.ForeignKeyConstraint(
            ["dossier_id"], ["dossiers.dossier_id"], name="fk_dossier_versions_dossier_id_dossiers"
        ),
        sa.UniqueConstraint("dossier_id", "version", name="uq_dossier_versions_dossier_id_version"),
        sa.CheckConstraint("version >= 1", name="ck_dossier_versions_version_positive"),
        sa.CheckConstraint("status IN ('draft', 'valid')", name="ck_dossier_versions_status_known"),
    )
    _dossier_table(
        "assessments",
        sa.Column("expert", sa.String(128), nullable=False),
        sa.Column("scores", JSON, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("answers", JSON, nullable=False),
    )
    _dossier_table(
        "conflicts_of_interest",
        sa.Column("expert", sa.String(128), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    _dossier_table(
        "predictions",
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("probabilities", JSON, nullable=False),
        sa.Column("explanation", JSON, nullable=False),
    )
    _dossier_table(
        "decisions",
        sa.Column("labeled", sa.Boolean, nullable=False),
        sa.Column("funded", sa.Boolean, nullable=True),
        sa.Column("funding_window", sa.String(32), nullable=True),
        sa.Column("decided_on", sa.Date, nullable=True),
        sa.Column("amount_eur", sa.Float, nullable=True),
        sa.CheckConstraint("amount_eur IS NULL OR amount_eur >= 0", name="ck_decisions_amount_not_negative"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("dossier_id", sa.String(64), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.dossier_id"], name="fk_audit_log_dossier_id_dossiers"),
    )
    op.create_index("ix_audit_log_dossier_id", "audit_log", ["dossier_id"])
    _forbid_changes()


def _forbid_changes() -> None:
    """Triggers refusing UPDATE and DELETE (and TRUNCATE on PostgreSQL): history is only appended to."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION cep_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused (rows are superseded, never changed)',
                    TG_TABLE_NAME, TG_OP;
            END $$""")
        for t in TABLES:
            op.execute(
                f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                f"FOR EACH ROW EXECUTE FUNCTION cep_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION cep_append_only()"
            )
        return
    for t in TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {t}_no_{verb.lower()} BEFORE {verb} ON {t} BEGIN "
                f"SELECT RAISE(ABORT, '{t} is append-only: {verb} refused (rows are superseded, never changed)'); "
                f"END"
            )


def downgrade() -> None:
    for t in reversed(TABLES):
        op.drop_table(t)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION cep_append_only()")
