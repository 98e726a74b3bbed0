"""What was said about a dossier: the model's predictions and the committee's and funders' decisions.

Owns the `predictions` table (which model, its fingerprint, its
probabilities and explanation, on which version) and the `decisions` table
(the label, the window's answer, its reasons; a later decision supersedes an
earlier one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from scoring.store import db
from scoring.store.ledger import Ledger
from scoring.store.models import decisions, predictions
from scoring.store.records import (
    Decision,
    Outcome,
    Prediction,
    canonical_json,
    check_name,
    check_probabilities,
    from_row,
)


class Decisions(Ledger):
    """`record_prediction`, `predictions`, `record_decision`, `decision`, `decisions`."""

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
            row: dict[str, Any] = {
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
            row: dict[str, Any] = {
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
