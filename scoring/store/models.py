"""The store's tables, as SQLAlchemy Core metadata (what the queries are written against).

Every table is append-only: a change is a new row that supersedes the previous
one (the highest version or id wins), so nothing is ever updated or deleted
and the full history of a dossier can be read back. The migrations in
`versions/` create these tables and the triggers that enforce the rule;
`tests/store/test_schema_and_audit.py` checks that both stay identical.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import SchemaItem  # not exported by the top-level sqlalchemy module

#: Constraint names are fixed so that later migrations can refer to them on every backend.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

STATUSES = ("draft", "valid")
#: applicant: self-assessment only; expert: scores the dossiers assigned to them; chair: assigns, sees every
#: score, records decisions; admin: users and model (docs/committee.md).
ROLES = ("applicant", "expert", "chair", "admin")
EXPERT_KINDS = ("academic", "industrial")
ID_LENGTH = 64
NAME_LENGTH = 128


def _who_when() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(NAME_LENGTH), nullable=False),
    ]


def _dossier_ref() -> list[SchemaItem]:
    """The dossier a row belongs to, and the version it was made against."""
    return [
        sa.Column("dossier_id", sa.String(ID_LENGTH), sa.ForeignKey("dossiers.dossier_id"), nullable=False, index=True),
        sa.Column("dossier_version", sa.Integer, nullable=True),
        sa.ForeignKeyConstraint(
            ["dossier_id", "dossier_version"], ["dossier_versions.dossier_id", "dossier_versions.version"]
        ),
    ]


dossiers = sa.Table("dossiers", metadata, sa.Column("dossier_id", sa.String(ID_LENGTH), primary_key=True), *_who_when())

dossier_versions = sa.Table(
    "dossier_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dossier_id", sa.String(ID_LENGTH), sa.ForeignKey("dossiers.dossier_id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    *_who_when(),
    # The optimistic lock: two writers that both loaded version N cannot both insert N+1.
    sa.UniqueConstraint("dossier_id", "version"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.CheckConstraint("status IN ('draft', 'valid')", name="status_known"),
)

assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_dossier_ref(),
    sa.Column("expert", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("scores", JSONType, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("answers", JSONType, nullable=False),
    *_who_when(),
    # Added by 0003: {criterion: the expert's written reason}; NULL on assessments made before it, or outside
    # the committee page (a triage queue's scores carry one note for the whole dossier).
    sa.Column("justifications", JSONType, nullable=True),
)

conflicts_of_interest = sa.Table(
    "conflicts_of_interest",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_dossier_ref(),
    sa.Column("expert", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    *_who_when(),
)

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_dossier_ref(),
    sa.Column("model_name", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("model_sha256", sa.String(64), nullable=False),
    sa.Column("probabilities", JSONType, nullable=False),
    sa.Column("explanation", JSONType, nullable=False),
    *_who_when(),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_dossier_ref(),
    sa.Column("labeled", sa.Boolean, nullable=False),
    sa.Column("funded", sa.Boolean, nullable=True),
    sa.Column("funding_window", sa.String(32), nullable=True),
    sa.Column("decided_on", sa.Date, nullable=True),
    sa.Column("amount_eur", sa.Float, nullable=True),
    *_who_when(),
    sa.Column("reasons", sa.Text, nullable=True),  # added by 0003: why the committee decided so
    sa.CheckConstraint("amount_eur IS NULL OR amount_eur >= 0", name="amount_not_negative"),
)

users = sa.Table(
    # Who may use the app and as what; the latest row of a name supersedes the earlier ones (a new
    # password, a new role, or `active` false to close the account), so who granted what stays readable.
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(NAME_LENGTH), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("expert_kind", sa.String(16), nullable=True),
    sa.Column("password_hash", sa.String(256), nullable=True),  # argon2id, PHC string; NULL: no sign-in
    sa.Column("active", sa.Boolean, nullable=False),
    *_who_when(),
    sa.CheckConstraint("role IN ('applicant', 'expert', 'chair', 'admin')", name="role_known"),
    sa.CheckConstraint("expert_kind IS NULL OR expert_kind IN ('academic', 'industrial')", name="kind_known"),
)

assignments = sa.Table(
    # The chair's assignment of a dossier to an expert; `active` false withdraws it (latest row wins).
    "assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_dossier_ref(),
    sa.Column("expert", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    *_who_when(),
)

#: What an expert advises after the preliminary interview (issue 18; seed 002: since 2024 an interview
#: precedes the committee and may re-plan the submission to a later call or orient the project elsewhere).
INTERVIEW_OUTCOMES = ("submit", "strengthen", "replan", "redirect")

interviews = sa.Table(
    # Added by 0004: one row per interview outcome; a later row supersedes an earlier one (latest id wins).
    "interviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_dossier_ref(),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("funding_window", sa.String(32), nullable=True),  # the window a re-plan aims at
    sa.Column("notes", sa.Text, nullable=False),
    *_who_when(),
    sa.CheckConstraint("outcome IN ('submit', 'strengthen', 'replan', 'redirect')", name="outcome_known"),
    sa.CheckConstraint("outcome <> 'replan' OR funding_window IS NOT NULL", name="replan_names_window"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("user_name", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("dossier_id", sa.String(ID_LENGTH), sa.ForeignKey("dossiers.dossier_id"), nullable=True, index=True),
    sa.Column("details", JSONType, nullable=False),
    # The hash chain (see scoring.store.audit); a unique prev_hash means the chain cannot fork.
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_prev_hash", "prev_hash", unique=True),
)

#: Tables the migrations protect with triggers refusing UPDATE, DELETE and, on SQLite,
#: an INSERT that collides with an existing row (which REPLACE would silently delete).
APPEND_ONLY = tuple(metadata.tables)
