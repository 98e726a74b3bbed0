"""Dossiers and their versions: saving one under optimistic locking, importing many, reading them back.

Saving a dossier is an optimistic-locking check: the caller says which
version they edited (`expected_version`) and the save is refused with a
`ConflictError` when the store holds another one. The check and the insert
happen in one transaction that holds the dossier's lock (`BEGIN IMMEDIATE`
on SQLite, `SELECT ... FOR UPDATE` on PostgreSQL), and the unique
(dossier_id, version) constraint backs it, so two concurrent writers cannot
both win. An import (`ingest`) saves many dossiers and their decisions in one
transaction. Owns the `dossiers` and `dossier_versions` tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from scoring.store import db
from scoring.store.errors import ConflictError
from scoring.store.ledger import Ledger, latest_versions
from scoring.store.models import decisions, dossier_versions, dossiers
from scoring.store.records import Decision, DossierVersion, Outcome, Prepared, SaveResult, check_name, from_row, prepare


class Versions(Ledger):
    """A dossier's versions: `save_dossier`, `ingest`, `load_dossier`, `versions`, `list_dossiers`."""

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
                found = None if row is None else from_row(DossierVersion, row)
        if not found:
            raise KeyError(
                f"dossier {dossier_id!r}"
                + (f" has no version {version}" if version is not None else " is not in the store")
            )
        return found

    def versions(self, dossier_id: str) -> list[DossierVersion]:
        """Every saved version of a dossier, oldest first."""
        return self._rows_about(dossier_versions, DossierVersion, dossier_id, "version")

    def list_dossiers(self, *, status: str | None = None) -> list[DossierVersion]:
        """The latest version of every dossier, by id; with `status`, the latest version of that status."""
        where = sa.true() if status is None else dossier_versions.c.status == status
        with self._read() as conn:
            return [
                from_row(DossierVersion, r)
                for r in conn.execute(latest_versions(where).order_by(dossier_versions.c.dossier_id))
            ]


def _check_expected(dossier_id: str, expected: int | None, head: DossierVersion | None) -> None:
    current = head.version if head else None
    if current != expected:
        raise ConflictError(
            dossier_id, expected, current, head.created_by if head else None, head.created_at if head else None
        )
