"""The `Store`: dossiers and their versions, the committee's work on them, and the audit log.

`Store` is the one object callers open (`Store(url)`, `Store.from_env()`);
it brings together the tables, each managed by its own module:

- `scoring.store.ledger`: append-only writes with their audit entries, in
  one transaction; the latest rows of a table;
- `scoring.store.versions`: dossiers and their versions, optimistic locking,
  imports;
- `scoring.store.panel`: assignments, conflicts of interest, assessments and
  their consensus;
- `scoring.store.decisions`: the model's predictions, the decisions;
- `scoring.store.users`: users and their roles.

Owns what spans them: opening a store (migrated on open), saving a triage
queue's work in one transaction (`save_triage`: dossiers, decisions and a
review), and a dossier's history from the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from scoring.store import audit, db
from scoring.store.consensus import ConsensusSettings
from scoring.store.decisions import Decisions
from scoring.store.errors import ConflictOfInterestError
from scoring.store.ledger import superseding
from scoring.store.models import assessments, audit_log
from scoring.store.panel import Panel
from scoring.store.records import AuditEntry, Outcome, Prepared, Review, TriageSaved, check_name
from scoring.store.users import Users
from scoring.store.versions import Versions


class Store(Versions, Panel, Decisions, Users):
    """A dossier store on a database URL (SQLite file or PostgreSQL), migrated on open.

    >>> store = Store("sqlite:////tmp/cep.db")            # doctest: +SKIP
    >>> store.save_dossier(doc, user="alice", expected_version=None)  # doctest: +SKIP
    """

    def __init__(self, url: str | sa.URL, *, consensus: ConsensusSettings | None = None):
        self.engine = db.create_engine(url)
        self.consensus_settings = consensus or ConsensusSettings()
        db.upgrade(self.engine)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Store:
        """The store named by `CEP_DB_URL` (default SQLite file otherwise), with the consensus settings of the
        environment."""
        return cls(db.url_from_env(environ), consensus=ConsensusSettings.from_env(environ))

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save_triage(
        self, docs: Sequence[Prepared], outcomes: Mapping[str, Outcome], reviews: Mapping[str, Review], *, user: str
    ) -> TriageSaved:
        """A triage queue's work, all of it or nothing, in one transaction: the dossiers, the committee's
        decisions and `user`'s own review (scores and notes) of each reviewed dossier.

        Saving the same work again writes nothing: a dossier, a decision or a
        review equal to the latest one stored is skipped. A reviewer with a
        standing conflict of interest on a reviewed dossier gets
        `ConflictOfInterestError` and nothing is written.
        """
        user = check_name(user, "user")
        if not set(reviews) <= {d.dossier_id for d in docs}:
            raise ValueError("save_triage takes reviews only for the dossiers it saves")
        with db.write_transaction(self.engine) as conn:
            saved, n_decided = self._ingest(conn, docs, outcomes, user)
            for dossier_id, expert in sorted(self._standing_conflicts(conn)):
                if expert == user and dossier_id in reviews:
                    raise ConflictOfInterestError(dossier_id, user)
            version = {s.dossier_id: s.version for s in saved}
            answers = {d.dossier_id: dict(d.payload.get("answers", {})) for d in docs}
            t = assessments
            mine = superseding(t, t.c.expert).where(t.c.expert == user)
            latest = {r.dossier_id: r for r in conn.execute(sa.select(t).where(t.c.id.in_(mine)))}
            rows: list[dict[str, Any]] = [
                {
                    "dossier_id": i,
                    "dossier_version": version[i],
                    "expert": user,
                    "scores": r.scores,
                    "notes": r.notes,
                    "answers": answers[i],
                }
                for i, r in sorted(reviews.items())
                if i not in latest
                or (latest[i].dossier_version, latest[i].scores, latest[i].notes) != (version[i], r.scores, r.notes)
            ]
            self._append(conn, assessments, rows, user=user, action="assess")
        return TriageSaved(tuple(saved), n_decided, tuple(r["dossier_id"] for r in rows))

    def history(self, dossier_id: str) -> list[AuditEntry]:
        """Every change made to a dossier and around it (versions, scores, conflicts, predictions, decisions)."""
        return self._rows_about(audit_log, AuditEntry, dossier_id)

    def verify_audit(self) -> audit.ChainReport:
        """Check the audit log's hash chain: the first entry changed, deleted or inserted outside the store."""
        with self._read() as conn:
            return audit.verify(conn)
