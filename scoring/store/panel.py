"""The committee's work on a dossier: assignments, conflicts of interest, the experts' assessments, their consensus.

Owns the `assignments`, `conflicts_of_interest` and `assessments` tables and
what a user may see of them (`scores_visible_to`: nothing with a conflict of
interest; nobody else's scores before one's own, as scoring is blind). An
expert with a standing conflict on a dossier is refused as its assessor or
assignee and left out of its panel and consensus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from scoring.store import db
from scoring.store.consensus import Consensus, ConsensusSettings, combine
from scoring.store.errors import ConflictOfInterestError
from scoring.store.ledger import Ledger, superseding
from scoring.store.models import assessments, assignments, conflicts_of_interest
from scoring.store.records import (
    Assessment,
    Assignment,
    Review,
    check_answers,
    check_justifications,
    check_name,
    from_row,
)


@dataclass(frozen=True)
class CommitteeScores:
    """The committee's scoring of one dossier, as one user may see it."""

    dossier_id: str
    viewer: str
    hidden: bool  # the viewer declared a conflict of interest: nothing is shown
    assessments: tuple[Assessment, ...]  # latest per expert; experts with a conflict are left out
    consensus: Consensus | None
    blind: bool = False  # the viewer has not submitted their own scores yet: the others' stay hidden


class Panel(Ledger):
    """Who scores a dossier, who may not, what they scored and what the committee makes of it."""

    consensus_settings: ConsensusSettings

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
        """Record that `expert` has a conflict of interest on the dossier: their scoring is refused, and hidden
        from them."""
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
        latest = superseding(t, t.c.expert)
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
        latest = superseding(t, t.c.expert)
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
        latest = superseding(t, t.c.expert)
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


def _history(panels: Mapping[str, Mapping[str, Assessment]]) -> dict[str, list[float]]:
    """{expert: every score of their latest assessments}, the reference their severity is measured on."""
    out: dict[str, list[float]] = {}
    for panel in panels.values():
        for expert, a in panel.items():
            out.setdefault(expert, []).extend(a.scores.values())
    return out
