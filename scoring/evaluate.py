"""Evaluation: how good the probabilities are, against the oracle and the baselines.

Owns the metrics (ROC AUC, Brier score, log loss, expected calibration error
over 10 equal-width bins), the three baselines stored with every model
(`Baselines`: a logistic regression on the same inputs, the plain sum of the
five criterion scores calibrated, base rates by filière x window), and the
report `evaluate()` returns, whose shape `cep-scoring evaluate --json` prints.
Small groups are flagged, never hidden: below `SMALL_GROUP` rows a group's
ECE is mostly sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from scoring.catalogue import CRITERIA
from scoring.features import CATEGORICAL, PARTNER_COLUMNS
from scoring.model import INTERVAL_LEVEL, TRUE_P
from scoring.rubric import score_table

TARGETS = ("labeled", "funded", "success")
GROUPS = ("filiere", "funding_window")
SMALL_GROUP = 1000
ECE_BINS = 10
EPS = 1e-6


def ece(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: sum over equal-width bins of (share of rows) x |mean y - mean p|."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(total)


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    y, p = np.asarray(y, float), np.clip(np.asarray(p, float), EPS, 1 - EPS)
    both = 0 < y.sum() < len(y)
    return {
        "auc": float(roc_auc_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": ece(y, p),
    }


def targets_of(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    lab = frame["labeled"].to_numpy(dtype=float)
    fund = frame["funded"].to_numpy(dtype=float)
    return {"labeled": lab, "funded": fund, "success": lab * fund}


# --------------------------------------------------------------------------- baselines


def _context_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The same inputs as the model, as plain columns (no interactions, no ramps)."""
    scores = score_table(frame).score
    out = pd.DataFrame({c: scores[:, j] for j, c in enumerate(CRITERIA)})
    for c in CATEGORICAL:
        out[c] = frame[c].astype(object).to_numpy()
    for c in ("collaborative", "preliminary_interview", "trl", "year") + PARTNER_COLUMNS:
        out[c] = frame[c].to_numpy(dtype=float) if c in frame.columns else np.nan
    out["log_budget"] = np.log(frame["budget_eur"].to_numpy(dtype=float))
    out["aid_ratio"] = frame["aid_requested_eur"].to_numpy(dtype=float) / frame["budget_eur"].to_numpy(dtype=float)
    return out


_NUMERIC = list(CRITERIA) + [
    "collaborative",
    "preliminary_interview",
    "trl",
    "year",
    *PARTNER_COLUMNS,
    "log_budget",
    "aid_ratio",
]


def _logistic() -> Pipeline:
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
            (
                "num",
                make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), StandardScaler()),
                list(_NUMERIC),
            ),
        ]
    )
    return make_pipeline(pre, LogisticRegression(C=1.0, max_iter=2000))


@dataclass
class Baselines:
    """The three reference models, fitted per target on the model's training rows."""

    smoothing: float = 10.0  # pseudo-rows pulling a small filière x window cell to the overall rate

    def fit(self, frame: pd.DataFrame) -> "Baselines":
        X = _context_frame(frame)
        ys = targets_of(frame)
        self.logistic_ = {t: _logistic().fit(X, y) for t, y in ys.items()}
        total = self._score_sum(X)[:, None]
        self.score_sum_ = {t: LogisticRegression(C=1e6, max_iter=1000).fit(total, y) for t, y in ys.items()}
        cell = frame["filiere"].astype(str) + "|" + frame["funding_window"].astype(str)
        self.base_rate_ = {}
        for t, y in ys.items():
            overall = float(y.mean())
            g = pd.DataFrame({"cell": cell.to_numpy(), "y": y}).groupby("cell")["y"].agg(["sum", "count"])
            rates = (g["sum"] + self.smoothing * overall) / (g["count"] + self.smoothing)
            self.base_rate_[t] = (rates.to_dict(), overall)
        return self

    @staticmethod
    def _score_sum(X: pd.DataFrame) -> np.ndarray:
        # A criterion with no score (not applicable) counts for the scale midpoint, 2.5.
        return np.nan_to_num(X[list(CRITERIA)].to_numpy(dtype=float), nan=2.5).sum(axis=1)

    def predict(self, frame: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
        """{baseline: {target: probabilities}}."""
        X = _context_frame(frame)
        total = self._score_sum(X)[:, None]
        cell = (frame["filiere"].astype(str) + "|" + frame["funding_window"].astype(str)).to_numpy()
        out: dict[str, dict[str, np.ndarray]] = {"logistic": {}, "score_sum": {}, "base_rate": {}}
        for t in TARGETS:
            out["logistic"][t] = self.logistic_[t].predict_proba(X)[:, 1]
            out["score_sum"][t] = self.score_sum_[t].predict_proba(total)[:, 1]
            rates, overall = self.base_rate_[t]
            out["base_rate"][t] = np.array([rates.get(c, overall) for c in cell])
        return out


# --------------------------------------------------------------------------- report


def interval_coverage(model, frame: pd.DataFrame) -> dict | None:
    """Share of rows whose true probability lies in the model's interval, per target, beside the level it
    states; None without true probabilities (a real export) or without bootstrap refits."""
    if model.n_bootstrap < 2 or not all(c in frame.columns for c in TRUE_P.values()):
        return None
    out: dict = {"level": INTERVAL_LEVEL, "rows": int(len(frame))}
    for t, band in zip(TRUE_P, model.intervals(model.matrices(frame).label)):
        truth = frame[TRUE_P[t]].to_numpy(dtype=float)
        out[t] = float(np.mean((band[:, 0] <= truth) & (truth <= band[:, 1])))
    return out


def evaluate(model, baselines: Baselines | None, frame: pd.DataFrame) -> dict:
    """The evaluation report of `model` on a validated, decided frame (every row is test data)."""
    ys = targets_of(frame)
    pred = model.predict(frame)
    mine = {"labeled": pred.labeled, "funded": pred.funded, "success": pred.success}
    base = baselines.predict(frame) if baselines is not None else {}
    oracle_cols = {"labeled": "true_p_labeled", "funded": "true_p_funded", "success": "true_p_success"}
    has_oracle = all(c in frame.columns for c in oracle_cols.values())
    report: dict = {"targets": {}, "n": int(len(frame))}
    for t in TARGETS:
        y = ys[t]
        groups: list[dict[str, Any]] = []
        entry = {
            "model": metrics(y, mine[t]),
            "oracle": metrics(y, frame[oracle_cols[t]].to_numpy(dtype=float)) if has_oracle else None,
            "baselines": {b: metrics(y, base[b][t]) for b in base},
            "groups": groups,
        }
        for by in GROUPS:
            values = frame[by].astype(str).to_numpy()
            for v in sorted(set(values)):
                m = values == v
                g = metrics(y[m], mine[t][m])
                # On a group of n rows even the true probabilities score an ECE of about 1/sqrt(n)/2:
                # a group's ECE means something only beside theirs on the same rows.
                oracle = ece(y[m], frame[oracle_cols[t]].to_numpy(dtype=float)[m]) if has_oracle else None
                groups.append(
                    {
                        "by": by,
                        "value": v,
                        "n": int(m.sum()),
                        "auc": g["auc"],
                        "ece": g["ece"],
                        "oracle_ece": oracle,
                        "small": bool(m.sum() < SMALL_GROUP),
                    }
                )
        report["targets"][t] = entry
    report["interval_coverage"] = interval_coverage(model, frame)
    return report
