"""The committee in the app: users and their roles, the chair's assignments, a written reason per
criterion score, the reasons of a decision.

- `users`: name, role, expert kind (academic or industrial), argon2 password
  hash; append-only like every table (the latest row of a name wins).
- `assignments`: a dossier assigned to an expert, or withdrawn (`active`).
- `assessments.justifications` and `decisions.reasons`, nullable: rows written
  before this migration have none.

Both new tables get the append-only triggers of 0001 and 0002.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NEW_TABLES = ("users", "assignments")


def _who_when() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    ]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("expert_kind", sa.String(16), nullable=True),
        sa.Column("password_hash", sa.String(256), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        *_who_when(),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.CheckConstraint("role IN ('applicant', 'expert', 'chair', 'admin')", name="ck_users_role_known"),
        sa.CheckConstraint(
            "expert_kind IS NULL OR expert_kind IN ('academic', 'industrial')", name="ck_users_kind_known"
        ),
    )
    op.create_index("ix_users_name", "users", ["name"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("dossier_id", sa.String(64), nullable=False),
        sa.Column("dossier_version", sa.Integer, nullable=True),
        sa.Column("expert", sa.String(128), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        *_who_when(),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.dossier_id"], name="fk_assignments_dossier_id_dossiers"),
        sa.ForeignKeyConstraint(
            ["dossier_id", "dossier_version"],
            ["dossier_versions.dossier_id", "dossier_versions.version"],
            name="fk_assignments_dossier_id_dossier_versions",
        ),
    )
    op.create_index("ix_assignments_dossier_id", "assignments", ["dossier_id"])
    # A plain ADD COLUMN (no batch rebuild on SQLite): the tables' append-only triggers stay in place.
    op.add_column("assessments", sa.Column("justifications", JSON, nullable=True))
    op.add_column("decisions", sa.Column("reasons", sa.Text, nullable=True))
    _append_only()


def _append_only() -> None:
    """The guards 0001 and 0002 put on every table, on the new ones."""
    if not _sqlite():
        for t in NEW_TABLES:
            op.execute(
                f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                f"FOR EACH ROW EXECUTE FUNCTION cep_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION cep_append_only()"
            )
        return
    for t in NEW_TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {t}_no_{verb.lower()} BEFORE {verb} ON {t} BEGIN "
                f"SELECT RAISE(ABORT, '{t} is append-only: {verb} refused (rows are superseded, never "
                f"changed)'); END"
            )
        op.execute(
            f"CREATE TRIGGER {t}_no_overwrite BEFORE INSERT ON {t} WHEN EXISTS (SELECT 1 FROM {t} WHERE "
            f"id = NEW.id) BEGIN SELECT RAISE(ABORT, '{t} is append-only: INSERT refused, a row with the "
            f"same key exists (rows are superseded by new ones, never replaced)'); END"
        )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+) keeps the tables, and so their triggers.
    op.execute("ALTER TABLE decisions DROP COLUMN reasons")
    op.execute("ALTER TABLE assessments DROP COLUMN justifications")
    for t in reversed(NEW_TABLES):
        op.drop_table(t)  # their triggers go with them
