"""The `Store`: dossiers and their versions, the committee's work on them, and the audit log.

Every write goes through `Store._append`, which inserts the rows and their
audit entries in the caller's transaction: a change and its trace are
committed together or not at all. Nothing is updated or deleted; a newer
row supersedes an older one (highest version, or highest id, wins).

Saving a dossier is an optimistic-locking check: the caller says which
version they edited (`expected_version`) and the save is refused with a
`ConflictError` when the store holds another one. The check and the insert
happen in one transaction that holds the dossier's lock (`BEGIN IMMEDIATE`
on SQLite, `SELECT ... FOR UPDATE` on PostgreSQL), and the unique
(dossier_id, version) constraint backs it, so two concurrent writers cannot
both win.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from scoring.store import audit, db
from scoring.store.consensus import Consensus, ConsensusSettings, combine
from scoring.store.errors import ConflictError, ConflictOfInterestError
from scoring.store.models import (
    assessments,
    assignments,
    audit_log,
    conflicts_of_interest,
    decisions,
    dossier_versions,
    dossiers,
    predictions,
    users,
)
from scoring.store.records import (
    Assessment,
    Assignment,
    AuditEntry,
    Decision,
    DossierVersion,
    Outcome,
    Prediction,
    Prepared,
    Review,
    SaveResult,
    TriageSaved,
    User,
    canonical_json,
    check_answers,
    check_justifications,
    check_name,
    check_probabilities,
    check_role,
    from_row,
    prepare,
)

#: Columns an audit entry's details leave out: large JSON the row itself keeps, who and when, which the
#: entry holds as columns of its own, and a password hash, which no reader of the log needs to see.
_NOT_IN_DETAILS = ("payload", "answers", "explanation", "created_at", "created_by", "password_hash")
_CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class CommitteeScores:
    """The committee's scoring of one dossier, as one user may see it."""

    dossier_id: str
    viewer: str
    hidden: bool  # the viewer declared a conflict of interest: nothing is shown
    assessments: tuple[Assessment, ...]  # latest per expert; experts with a conflict are left out
    consensus: Consensus | None
    blind: bool = False  # the viewer has not submitted their own scores yet: the others' stay hidden


class Store:
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
        """The store named by `CEP_DB_URL` (default SQLite file otherwise), with the consensus settings of the environment."""
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

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _append(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], *, user: str, action: str
    ) -> list[Any]:
        """Insert `rows` into `table` and one audit entry per row; returns their primary keys."""
        if not rows:
            return []
        now = dt.datetime.now(dt.timezone.utc)
        for r in rows:
            r.update(created_at=now, created_by=user)
        pk = next(iter(table.primary_key.columns))
        keys = conn.execute(table.insert().returning(pk, sort_by_parameter_order=True), rows).scalars().all()
        audit.append(
            conn,
            [
                {
                    "at": now,
                    "user_name": user,
                    "action": action,
                    "entity": table.name,
                    "entity_id": str(key),
                    "dossier_id": r.get("dossier_id"),
                    "details": {
                        k: (v.isoformat() if isinstance(v, dt.date) else v)
                        for k, v in r.items()
                        if k not in _NOT_IN_DETAILS
                    },
                }
                for key, r in zip(keys, rows)
            ],
        )
        return keys

    # ------------------------------------------------------------------ dossiers

    def save_dossier(
        self, payload: Mapping[str, Any], *, user: str, expected_version: int | None, draft: bool = False
    ) -> SaveResult:
        """Save a dossier (JSON form) as a new version of it.

        `expected_version` is the version the editor started from (None for a
        new dossier); when the store holds another one the save is refused
        with `ConflictError` and nothing is written. A payload equal to the
        latest version (and of the same status) writes nothing. A non-draft
        must be valid (`InvalidDossierError` otherwise); a draft is kept as
        typed, with its issues in the result.
        """
        user = check_name(user, "user")
        if expected_version is not None and (
            isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 1
        ):
            raise ValueError(
                f"expected_version must be the version number the editor opened (1, 2, ...) or None "
                f"for a new dossier, got {expected_version!r}"
            )
        doc = prepare(payload, draft=draft)
        try:
            with db.write_transaction(self.engine) as conn:
                head = self._heads(conn, [doc.dossier_id], lock=True).get(doc.dossier_id)
                _check_expected(doc.dossier_id, expected_version, head)
                return self._put_versions(conn, [doc], {doc.dossier_id: head}, user)[0]
        except sa.exc.IntegrityError:
            # Another writer inserted the same dossier or version first (PostgreSQL lets both
            # get that far for a new dossier); report it as the conflict it is.
            head = self.latest_version(doc.dossier_id)
            _check_expected(doc.dossier_id, expected_version, head)
            raise

    def ingest(
        self, docs: Sequence[Prepared], outcomes: Mapping[str, Outcome], *, user: str
    ) -> tuple[list[SaveResult], int]:
        """Save many dossiers on top of whatever the store holds (an import), in one transaction.

        Each payload becomes a new version when it differs from the latest one;
        each outcome becomes a decision when it differs from the latest decision.
        Returns the save results and the number of decisions recorded.
        """
        user = check_name(user, "user")
        with db.write_transaction(self.engine) as conn:
            return self._ingest(conn, docs, outcomes, user)

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
            mine = _superseding(t, t.c.expert).where(t.c.expert == user)
            latest = {r.dossier_id: r for r in conn.execute(sa.select(t).where(t.c.id.in_(mine)))}
            rows = [
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

    def _ingest(
        self, conn: sa.Connection, docs: Sequence[Prepared], outcomes: Mapping[str, Outcome], user: str
    ) -> tuple[list[SaveResult], int]:
        ids = [d.dossier_id for d in docs]
        if len(set(ids)) != len(ids) or not set(outcomes) <= set(ids):
            raise ValueError("ingest takes each dossier once, and outcomes only for those dossiers")
        heads = self._heads(conn, ids, lock=True)
        saved = self._put_versions(conn, docs, heads, user)
        version = {s.dossier_id: s.version for s in saved}
        latest = self._latest(conn, decisions, list(outcomes))
        rows = [
            {"dossier_id": i, "dossier_version": version.get(i), **o.columns()}
            for i, o in outcomes.items()
            if i not in latest or from_row(Decision, latest[i]).outcome() != o
        ]
        self._append(conn, decisions, rows, user=user, action="decide")
        return saved, len(rows)

    def _put_versions(
        self, conn: sa.Connection, docs: Sequence[Prepared], heads: Mapping[str, DossierVersion | None], user: str
    ) -> list[SaveResult]:
        self._append(
            conn,
            dossiers,
            [{"dossier_id": d.dossier_id} for d in docs if heads.get(d.dossier_id) is None],
            user=user,
            action="create",
        )
        rows, results = [], []
        for d in docs:
            head = heads.get(d.dossier_id)
            if head is not None and (head.sha256, head.status) == (d.sha256, d.status):
                results.append(SaveResult(d.dossier_id, head.version, False, head.status, d.issues))
                continue
            version = head.version + 1 if head else 1
            rows.append(
                {
                    "dossier_id": d.dossier_id,
                    "version": version,
                    "status": d.status,
                    "payload": d.payload,
                    "sha256": d.sha256,
                }
            )
            results.append(SaveResult(d.dossier_id, version, True, d.status, d.issues))
        self._append(conn, dossier_versions, rows, user=user, action="save")
        return results

    def _heads(self, conn: sa.Connection, ids: Sequence[str], *, lock: bool = False) -> dict[str, DossierVersion]:
        """Latest version of each listed dossier; `lock` holds the dossiers' rows until commit (PostgreSQL)."""
        out = {}
        for chunk in _chunks(ids):
            if lock:  # SQLite ignores FOR UPDATE: its BEGIN IMMEDIATE already holds the only write lock
                conn.execute(
                    sa.select(dossiers.c.dossier_id).where(dossiers.c.dossier_id.in_(chunk)).with_for_update()
                ).all()
            for row in conn.execute(_latest_versions(dossier_versions.c.dossier_id.in_(chunk))):
                out[row.dossier_id] = from_row(DossierVersion, row)
        return out

    def latest_version(self, dossier_id: str) -> DossierVersion | None:
        """The latest version of a dossier, or None when it was never saved."""
        with self._read() as conn:
            return self._heads(conn, [dossier_id]).get(dossier_id)

    def load_dossier(self, dossier_id: str, version: int | None = None) -> DossierVersion:
        """A version of a dossier (the latest by default), to reopen a draft or edit it; KeyError when absent."""
        with self._read() as conn:
            if version is None:
                found = self._heads(conn, [dossier_id]).get(dossier_id)
            else:
                row = conn.execute(
                    sa.select(dossier_versions).where(
                        dossier_versions.c.dossier_id == dossier_id, dossier_versions.c.version == version
                    )
                ).first()
                found = row and from_row(DossierVersion, row)
        if not found:
            raise KeyError(
                f"dossier {dossier_id!r}"
                + (f" has no version {version}" if version is not None else " is not in the store")
            )
        return found

    def _rows_about(self, table: sa.Table, record: type, dossier_id: str, order: str = "id") -> list[Any]:
        """Every row of `table` about a dossier, as records, oldest first."""
        with self._read() as conn:
            rows = conn.execute(sa.select(table).where(table.c.dossier_id == dossier_id).order_by(table.c[order]))
            return [from_row(record, r) for r in rows]

    def versions(self, dossier_id: str) -> list[DossierVersion]:
        """Every saved version of a dossier, oldest first."""
        return self._rows_about(dossier_versions, DossierVersion, dossier_id, "version")

    def list_dossiers(self, *, status: str | None = None) -> list[DossierVersion]:
        """The latest version of every dossier, by id; with `status`, the latest version of that status."""
        where = sa.true() if status is None else dossier_versions.c.status == status
        with self._read() as conn:
            return [
                from_row(DossierVersion, r)
                for r in conn.execute(_latest_versions(where).order_by(dossier_versions.c.dossier_id))
            ]

    # ------------------------------------------------------------------ committee

    def _require_head(self, conn: sa.Connection, dossier_id: str) -> DossierVersion:
        head = self._heads(conn, [dossier_id]).get(dossier_id)
        if head is None:
            raise KeyError(f"dossier {dossier_id!r} is not in the store; save it first")
        return head

    def record_assessment(
        self,
        dossier_id: str,
        scores: Mapping[str, Any],
        *,
        user: str,
        expert: str | None = None,
        notes: str = "",
        answers: Mapping[str, str] | None = None,
        justifications: Mapping[str, str] | None = None,
    ) -> Assessment:
        """Record an expert's scores (0-5, half points) and notes on the latest version of a dossier.

        It supersedes that expert's earlier assessment of the dossier. `answers`
        are the rubric answers the expert scored against (the dossier's own by
        default). `justifications`, {criterion: text}, when given, must argue
        every score below 3 or of 5 (the committee page always gives them).
        Refused with `ConflictOfInterestError` when the expert declared a
        conflict of interest on the dossier.
        """
        user = check_name(user, "user")
        expert = check_name(expert or user, "expert")
        review = Review(scores, notes)
        answers = None if answers is None else check_answers(answers)
        argued = None if justifications is None else check_justifications(review.scores, justifications)
        with db.write_transaction(self.engine) as conn:
            head = self._require_head(conn, dossier_id)
            if (dossier_id, expert) in self._standing_conflicts(conn, dossier_id):
                raise ConflictOfInterestError(dossier_id, expert)
            row: dict[str, Any] = {
                "dossier_id": dossier_id,
                "dossier_version": head.version,
                "expert": expert,
                "scores": review.scores,
                "notes": review.notes,
                "answers": dict(head.payload.get("answers", {})) if answers is None else answers,
                "justifications": argued,
            }
            [key] = self._append(conn, assessments, [row], user=user, action="assess")
        return Assessment(id=key, **row)

    def declare_conflict(self, dossier_id: str, *, expert: str, user: str, reason: str = "") -> None:
        """Record that `expert` has a conflict of interest on the dossier: their scoring is refused, hidden from them."""
        self._conflict(dossier_id, expert, user, reason, active=True)

    def withdraw_conflict(self, dossier_id: str, *, expert: str, user: str, reason: str = "") -> None:
        """Record that a declared conflict of interest no longer holds (the declaration stays in the history)."""
        self._conflict(dossier_id, expert, user, reason, active=False)

    def _conflict(self, dossier_id: str, expert: str, user: str, reason: str, *, active: bool) -> None:
        user = check_name(user, "user")
        expert = check_name(expert, "expert")
        with db.write_transaction(self.engine) as conn:
            head = self._require_head(conn, dossier_id)
            self._append(
                conn,
                conflicts_of_interest,
                [
                    {
                        "dossier_id": dossier_id,
                        "dossier_version": head.version,
                        "expert": expert,
                        "active": active,
                        "reason": str(reason),
                    }
                ],
                user=user,
                action="declare_conflict" if active else "withdraw_conflict",
            )

    @staticmethod
    def _standing_conflicts(conn: sa.Connection, dossier_id: str | None = None) -> set[tuple[str, str]]:
        """(dossier_id, expert) pairs whose latest declaration is an active conflict of interest."""
        t = conflicts_of_interest
        latest = _superseding(t, t.c.expert)
        if dossier_id is not None:
            latest = latest.where(t.c.dossier_id == dossier_id)
        return {
            (r.dossier_id, r.expert)
            for r in conn.execute(sa.select(t.c.dossier_id, t.c.expert).where(t.c.id.in_(latest), t.c.active))
        }

    def has_conflict(self, dossier_id: str, expert: str) -> bool:
        with self._read() as conn:
            return (dossier_id, expert) in self._standing_conflicts(conn, dossier_id)

    def _panels(self, conn: sa.Connection, dossier_id: str | None = None) -> dict[str, dict[str, Assessment]]:
        """{dossier: {expert: latest assessment}}, leaving out experts with a standing conflict."""
        t = assessments
        latest = _superseding(t, t.c.expert)
        if dossier_id is not None:
            latest = latest.where(t.c.dossier_id == dossier_id)
        conflicted = self._standing_conflicts(conn, dossier_id)
        out: dict[str, dict[str, Assessment]] = {}
        for row in conn.execute(sa.select(t).where(t.c.id.in_(latest)).order_by(t.c.id)):
            if (row.dossier_id, row.expert) not in conflicted:
                out.setdefault(row.dossier_id, {})[row.expert] = from_row(Assessment, row)
        return out

    def consensus(
        self, dossier_ids: Iterable[str] | None = None, settings: ConsensusSettings | None = None
    ) -> dict[str, Consensus]:
        """The committee consensus of every assessed dossier (or of the listed ones), with this store's
        settings or the ones given (the chair's page switches method and normalisation)."""
        with self._read() as conn:
            panels = self._panels(conn)
        history = _history(panels)
        wanted = panels.keys() if dossier_ids is None else [i for i in dossier_ids if i in panels]
        return {
            i: combine({e: a.scores for e, a in panels[i].items()}, settings or self.consensus_settings, history)
            for i in wanted
        }

    def panel(self, dossier_id: str) -> dict[str, Assessment]:
        """{expert: latest assessment} of a dossier, experts with a standing conflict left out (for the chair)."""
        with self._read() as conn:
            return self._panels(conn, dossier_id).get(dossier_id, {})

    def scores_visible_to(self, user: str, dossier_id: str, *, see_all: bool = False) -> CommitteeScores:
        """Each expert's latest scores and notes, and their consensus, as `user` may see them.

        A user who declared a conflict of interest on the dossier sees nothing of its scoring. Scoring is
        blind: a user who has not submitted their own scores of the dossier sees nobody else's, unless
        `see_all` (the chair, who assigns and decides but does not score).
        """
        user = check_name(user, "user")
        with self._read() as conn:
            self._require_head(conn, dossier_id)
            if (dossier_id, user) in self._standing_conflicts(conn, dossier_id):
                return CommitteeScores(dossier_id, user, True, (), None)
            panels = self._panels(conn, None if self.consensus_settings.normalise else dossier_id)
        panel = panels.get(dossier_id, {})
        if not see_all and user not in panel:
            return CommitteeScores(dossier_id, user, False, (), None, blind=True)
        cons = (
            combine({e: a.scores for e, a in panel.items()}, self.consensus_settings, _history(panels))
            if panel
            else None
        )
        return CommitteeScores(dossier_id, user, False, tuple(panel.values()), cons)

    # ------------------------------------------------------------------ predictions and decisions

    def record_prediction(
        self,
        dossier_id: str,
        *,
        model_name: str,
        model_sha256: str,
        probabilities: Mapping[str, float],
        explanation: Mapping[str, Any],
        user: str,
    ) -> Prediction:
        """Record a model's output on the latest version of a dossier: which model, what it said, why."""
        user = check_name(user, "user")
        model_name = check_name(model_name, "model_name")
        if not (
            isinstance(model_sha256, str)
            and len(model_sha256) == 64
            and all(c in "0123456789abcdef" for c in model_sha256)
        ):
            raise ValueError(f"model_sha256 must be 64 lower-case hex digits, got {model_sha256!r}")
        if not isinstance(explanation, Mapping):
            raise TypeError(f"explanation must be a JSON object, got {type(explanation).__name__}")
        canonical_json(dict(explanation))  # refuses what the JSON column could not store
        with db.write_transaction(self.engine) as conn:
            head = self._require_head(conn, dossier_id)
            row = {
                "dossier_id": dossier_id,
                "dossier_version": head.version,
                "model_name": model_name,
                "model_sha256": model_sha256,
                "probabilities": check_probabilities(probabilities),
                "explanation": dict(explanation),
            }
            [key] = self._append(conn, predictions, [row], user=user, action="predict")
        return Prediction(id=key, **row)

    def predictions(self, dossier_id: str) -> list[Prediction]:
        """Every prediction made on a dossier, oldest first."""
        return self._rows_about(predictions, Prediction, dossier_id)

    def record_decision(
        self,
        dossier_id: str,
        *,
        labeled: bool,
        user: str,
        funded: bool | None = None,
        funding_window: str | None = None,
        decided_on: dt.date | None = None,
        amount_eur: float | None = None,
        reasons: str | None = None,
    ) -> Decision:
        """Record the committee's label and the window's answer, with its reasons; it supersedes earlier decisions."""
        user = check_name(user, "user")
        outcome = Outcome(labeled, funded, funding_window, decided_on, amount_eur)
        if reasons is not None and not isinstance(reasons, str):
            raise TypeError(f"reasons must be text, got {type(reasons).__name__}")
        with db.write_transaction(self.engine) as conn:
            head = self._require_head(conn, dossier_id)
            row = {
                "dossier_id": dossier_id,
                "dossier_version": head.version,
                **outcome.columns(),
                "reasons": reasons.strip() if reasons and reasons.strip() else None,
            }
            [key] = self._append(conn, decisions, [row], user=user, action="decide")
        return Decision(id=key, **row)

    def decision(self, dossier_id: str) -> Decision | None:
        """The latest decision on a dossier, or None."""
        return self.decisions([dossier_id]).get(dossier_id)

    def decisions(self, dossier_ids: Sequence[str] | None = None) -> dict[str, Decision]:
        """The latest decision of every decided dossier (or of the listed ones)."""
        with self._read() as conn:
            return {i: from_row(Decision, r) for i, r in self._latest(conn, decisions, dossier_ids).items()}

    @staticmethod
    def _latest(conn: sa.Connection, table: sa.Table, dossier_ids: Sequence[str] | None) -> dict[str, sa.Row]:
        """Latest row (highest id) per dossier of an append-only table."""
        latest = _superseding(table)
        if dossier_ids is None:
            return {r.dossier_id: r for r in conn.execute(sa.select(table).where(table.c.id.in_(latest)))}
        out = {}
        for chunk in _chunks(dossier_ids):
            q = sa.select(table).where(table.c.id.in_(latest.where(table.c.dossier_id.in_(chunk))))
            out.update({r.dossier_id: r for r in conn.execute(q)})
        return out

    # ------------------------------------------------------------------ users and assignments

    def add_user(
        self,
        name: str,
        role: str,
        *,
        user: str,
        expert_kind: str | None = None,
        password_hash: str | None = None,
        active: bool = True,
    ) -> User:
        """Add a user, or supersede their earlier row (new role, new password, `active` False to close).

        `password_hash` is what `scoring.auth.hash_password` returns, never a password.
        """
        user = check_name(user, "user")
        name = check_name(name, "name")
        role, expert_kind = check_role(role, expert_kind)
        if password_hash is not None and not (isinstance(password_hash, str) and password_hash.startswith("$argon2")):
            raise ValueError("password_hash must be an argon2 hash from scoring.auth.hash_password, not a password")
        row = {
            "name": name,
            "role": role,
            "expert_kind": expert_kind,
            "password_hash": password_hash,
            "active": bool(active),
        }
        with db.write_transaction(self.engine) as conn:
            [key] = self._append(conn, users, [row], user=user, action="add_user")
            return from_row(User, conn.execute(sa.select(users).where(users.c.id == key)).one())

    def users(self, *, include_inactive: bool = False) -> list[User]:
        """Every user's latest row, by name; closed accounts only with `include_inactive`."""
        latest = sa.select(sa.func.max(users.c.id)).group_by(users.c.name)
        with self._read() as conn:
            rows = conn.execute(sa.select(users).where(users.c.id.in_(latest)).order_by(users.c.name))
            return [u for u in (from_row(User, r) for r in rows) if include_inactive or u.active]

    def user(self, name: str) -> User | None:
        """A user's latest row, or None when the name was never added (a closed account is returned, inactive)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(users).where(users.c.name == name).order_by(users.c.id.desc()).limit(1)
            ).first()
        return row and from_row(User, row)

    def assign(self, dossier_id: str, experts: Iterable[str], *, user: str) -> list[Assignment]:
        """Assign the dossier to these experts (those already assigned are left as they are).

        Refused with `ConflictOfInterestError`, nothing written, when one of them declared a conflict on it.
        """
        user = check_name(user, "user")
        experts = [check_name(e, "expert") for e in experts]
        with db.write_transaction(self.engine) as conn:
            head = self._require_head(conn, dossier_id)
            conflicted = self._standing_conflicts(conn, dossier_id)
            for e in experts:
                if (dossier_id, e) in conflicted:
                    raise ConflictOfInterestError(dossier_id, e)
            current = self._standing_assignments(conn, dossier_id).get(dossier_id, set())
            rows = [
                {"dossier_id": dossier_id, "dossier_version": head.version, "expert": e, "active": True}
                for e in dict.fromkeys(experts)
                if e not in current
            ]
            keys = self._append(conn, assignments, rows, user=user, action="assign")
            return [
                from_row(Assignment, r) for r in conn.execute(sa.select(assignments).where(assignments.c.id.in_(keys)))
            ]

    def unassign(self, dossier_id: str, expert: str, *, user: str) -> None:
        """Withdraw an expert's assignment (the assignment stays in the history)."""
        user = check_name(user, "user")
        expert = check_name(expert, "expert")
        with db.write_transaction(self.engine) as conn:
            head = self._require_head(conn, dossier_id)
            self._append(
                conn,
                assignments,
                [{"dossier_id": dossier_id, "dossier_version": head.version, "expert": expert, "active": False}],
                user=user,
                action="unassign",
            )

    @staticmethod
    def _standing_assignments(conn: sa.Connection, dossier_id: str | None = None) -> dict[str, set[str]]:
        t = assignments
        latest = _superseding(t, t.c.expert)
        if dossier_id is not None:
            latest = latest.where(t.c.dossier_id == dossier_id)
        out: dict[str, set[str]] = {}
        for r in conn.execute(sa.select(t.c.dossier_id, t.c.expert).where(t.c.id.in_(latest), t.c.active)):
            out.setdefault(r.dossier_id, set()).add(r.expert)
        return out

    def assignments(self) -> dict[str, tuple[str, ...]]:
        """{dossier: experts assigned to it}, sorted; an expert with a standing conflict is left out."""
        with self._read() as conn:
            assigned = self._standing_assignments(conn)
            conflicted = self._standing_conflicts(conn)
        return {
            d: tuple(sorted(e for e in experts if (d, e) not in conflicted)) for d, experts in sorted(assigned.items())
        }

    def queue(self, expert: str) -> list[str]:
        """The dossiers an expert has to score: assigned to them, without a conflict of interest, by id."""
        return [d for d, experts in self.assignments().items() if expert in experts]

    def conflicts(self) -> set[tuple[str, str]]:
        """(dossier, expert) pairs with a standing conflict of interest."""
        with self._read() as conn:
            return self._standing_conflicts(conn)

    # ------------------------------------------------------------------ history

    def history(self, dossier_id: str) -> list[AuditEntry]:
        """Every change made to a dossier and around it (versions, scores, conflicts, predictions, decisions)."""
        return self._rows_about(audit_log, AuditEntry, dossier_id)

    def verify_audit(self) -> audit.ChainReport:
        """Check the audit log's hash chain: the first entry changed, deleted or inserted outside the store."""
        with self._read() as conn:
            return audit.verify(conn)


def _check_expected(dossier_id: str, expected: int | None, head: DossierVersion | None) -> None:
    current = head.version if head else None
    if current != expected:
        raise ConflictError(dossier_id, expected, current, head and head.created_by, head and head.created_at)


def _superseding(table: sa.Table, *per: sa.Column) -> sa.Select:
    """Ids of the rows no later row supersedes: the highest id per dossier (and per `per`)."""
    return sa.select(sa.func.max(table.c.id)).group_by(table.c.dossier_id, *per)


def _latest_versions(where: sa.ColumnElement[bool]) -> sa.Select:
    v = dossier_versions
    top = (
        sa.select(v.c.dossier_id, sa.func.max(v.c.version).label("version"))
        .where(where)
        .group_by(v.c.dossier_id)
        .subquery()
    )
    return sa.select(v).join(top, sa.and_(v.c.dossier_id == top.c.dossier_id, v.c.version == top.c.version))


def _history(panels: Mapping[str, Mapping[str, Assessment]]) -> dict[str, list[float]]:
    """{expert: every score of their latest assessments}, the reference their severity is measured on."""
    out: dict[str, list[float]] = {}
    for panel in panels.values():
        for expert, a in panel.items():
            out.setdefault(expert, []).extend(a.scores.values())
    return out


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    items = list(items)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
