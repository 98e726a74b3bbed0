"""The preliminary interview's outcome (issue 18): `interviews`, append-only like every table.

One row per outcome the expert records after the interview (submit, strengthen, re-plan to a named
window, redirect) with the notes; a later row supersedes an earlier one. The table gets the append-only
triggers of 0001-0003.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "interviews"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("dossier_id", sa.String(64), nullable=False),
        sa.Column("dossier_version", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("funding_window", sa.String(32), nullable=True),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interviews"),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.dossier_id"], name="fk_interviews_dossier_id_dossiers"),
        sa.ForeignKeyConstraint(
            ["dossier_id", "dossier_version"],
            ["dossier_versions.dossier_id", "dossier_versions.version"],
            name="fk_interviews_dossier_id_dossier_versions",
        ),
        sa.CheckConstraint(
            "outcome IN ('submit', 'strengthen', 'replan', 'redirect')", name="ck_interviews_outcome_known"
        ),
        sa.CheckConstraint(
            "outcome <> 'replan' OR funding_window IS NOT NULL", name="ck_interviews_replan_names_window"
        ),
    )
    op.create_index("ix_interviews_dossier_id", TABLE, ["dossier_id"])
    if op.get_bind().dialect.name != "sqlite":
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION cep_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION cep_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} BEGIN "
            f"SELECT RAISE(ABORT, '{TABLE} is append-only: {verb} refused (rows are superseded, never "
            f"changed)'); END"
        )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_overwrite BEFORE INSERT ON {TABLE} WHEN EXISTS (SELECT 1 FROM {TABLE} "
        f"WHERE id = NEW.id) BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: INSERT refused, a row with "
        f"the same key exists (rows are superseded by new ones, never replaced)'); END"
    )


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
