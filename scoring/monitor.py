"""The model checked against the committee's own decisions (issue 18): calibration, discrimination, drift.

The committee's decisions are the only ground truth the tool will ever have. From the store's decided
dossiers, each with the probability the model gave before the decision (`decided_frame`), `monitor` reports
for every year, window and filière, and every window in every year:

- calibration: the mean predicted probability against the observed rate, with the reliability curve
  (predicted-probability bins) and its sampling band: where a calibrated model's observed rate falls 95 %
  of the time, mean p +- 1.96 sqrt(sum p(1 - p)) / n, from the predictions themselves;
- discrimination: the AUC, when the group holds both outcomes;
- drift, by a test that accounts for sampling noise: the calibration-in-the-large score test,
  z = (observed events - expected events) / sqrt(sum p(1 - p)) (the expected count's binomial sampling
  variance under the model's own probabilities), two-sided, with Holm's correction over every group
  tested so that testing many groups does not manufacture a drift. A group with fewer than MIN_ROWS
  decisions or fewer than MIN_EVENTS expected events or non-events is reported as too small, never as drift
  (the normal approximation of the z test needs both counts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from scoring.jsonform import validate_records
from scoring.store.models import predictions

TARGETS = {"labeled": ("p_labeled", "labeled"), "success": ("p_success", "success")}
GROUPINGS: tuple[tuple[str, ...], ...] = (("year",), ("funding_window",), ("filiere",), ("funding_window", "year"))
MIN_ROWS = 30
MIN_EVENTS = 5
ALPHA = 0.01  # family-wise error rate of the drift verdict, after Holm's correction
BINS = np.linspace(0.0, 1.0, 11)
Z95 = norm.ppf(0.975)


@dataclass(frozen=True)
class Group:
    """One group's calibration, discrimination and test."""

    keys: tuple[str, ...]
    values: tuple[Any, ...]
    n: int
    predicted: float  # mean predicted probability
    observed: float  # observed rate
    z: float | None  # None: too small to test
    p_value: float | None
    p_holm: float | None = None
    auc: float | None = None
    drift: bool = False
    curve: tuple[dict[str, Any], ...] = ()  # the group's reliability curve with its band (`reliability`)

    @property
    def name(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in zip(self.keys, self.values))

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": dict(zip(self.keys, (_plain(v) for v in self.values))),
            "n": self.n,
            "predicted": self.predicted,
            "observed": self.observed,
            "z": self.z,
            "p_value": self.p_value,
            "p_holm": self.p_holm,
            "auc": self.auc,
            "too_small": self.z is None,
            "drift": self.drift,
            "reliability": list(self.curve),
        }


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def calibration_z(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Calibration-in-the-large score test: (z, two-sided p-value)."""
    z = float((y.sum() - p.sum()) / np.sqrt((p * (1 - p)).sum()))
    return z, float(2 * norm.sf(abs(z)))


def testable(p: np.ndarray) -> bool:
    """Enough decisions, and enough expected events and non-events, for the z test's normal approximation."""
    return len(p) >= MIN_ROWS and p.sum() >= MIN_EVENTS and (1 - p).sum() >= MIN_EVENTS


def reliability(p: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    """Per predicted-probability bin: n, mean predicted, observed rate, and the band of a calibrated model."""
    out = []
    at = np.clip(np.digitize(p, BINS[1:-1]), 0, len(BINS) - 2)
    for b in range(len(BINS) - 1):
        m = at == b
        n = int(m.sum())
        if not n:
            continue
        half = Z95 * np.sqrt((p[m] * (1 - p[m])).sum()) / n
        mean = float(p[m].mean())
        out.append(
            {
                "bin": [float(BINS[b]), float(BINS[b + 1])],
                "n": n,
                "predicted": mean,
                "observed": float(y[m].mean()),
                "band": [max(0.0, mean - half), min(1.0, mean + half)],
            }
        )
    return out


def _holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate), in the input's order."""
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted.tolist()


def monitor(frame: pd.DataFrame, target: str = "labeled", groupings=GROUPINGS, alpha: float = ALPHA) -> dict[str, Any]:
    """Calibration, discrimination and the drift verdict of one target over decided rows.

    `frame` holds the prediction (`p_labeled` / `p_success`), the outcome (`labeled` / `success`; a row
    whose outcome is unknown, a label still waiting for its funding answer, is left out) and the grouping
    columns."""
    p_col, y_col = TARGETS[target]
    rows = frame[frame[y_col].notna() & frame[p_col].notna()]
    p_all = rows[p_col].to_numpy(float)
    y_all = rows[y_col].to_numpy(float)
    groups: list[Group] = []
    for keys in groupings:
        for values, g in rows.groupby(list(keys), sort=True, observed=True):
            p, y = g[p_col].to_numpy(float), g[y_col].to_numpy(float)
            z, pv = calibration_z(p, y) if testable(p) else (None, None)
            auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None
            groups.append(
                Group(
                    tuple(keys),
                    tuple(values),
                    len(g),
                    float(p.mean()),
                    float(y.mean()),
                    z,
                    pv,
                    auc=auc,
                    curve=tuple(reliability(p, y)),
                )
            )
    tested = [(i, g.p_value) for i, g in enumerate(groups) if g.p_value is not None]
    for (i, _), adj in zip(tested, _holm([value for _, value in tested])):
        groups[i] = Group(**{**groups[i].__dict__, "p_holm": adj, "drift": adj < alpha})
    overall_z, overall_p = calibration_z(p_all, y_all) if testable(p_all) else (None, None)
    drifted = [g for g in groups if g.drift]
    return {
        "target": target,
        "n": int(len(rows)),
        "alpha": alpha,
        "test": "calibration-in-the-large score test per group, z = (O - E) / sqrt(sum p(1 - p)), two-sided, "
        "Holm-corrected over every group tested",
        "overall": {
            "predicted": float(p_all.mean()) if len(rows) else None,
            "observed": float(y_all.mean()) if len(rows) else None,
            "z": overall_z,
            "p_value": overall_p,
            "auc": float(roc_auc_score(y_all, p_all)) if 0 < y_all.sum() < len(y_all) else None,
            "reliability": reliability(p_all, y_all),
        },
        "groups": [g.as_dict() for g in groups],
        "too_small": [g.name for g in groups if g.z is None],
        "drift": bool(drifted),
        "drifted": [
            {
                "group": g.name,
                "direction": "stricter" if g.observed < g.predicted else "more lenient",
                "predicted": g.predicted,
                "observed": g.observed,
                "n": g.n,
                "p_holm": g.p_holm,
            }
            for g in drifted
        ],
    }


# --------------------------------------------------------------------------- from the store


def decided_frame(store, bundle=None) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per decided dossier: its year, window, filière, the outcome, and the prediction recorded
    before the decision (the latest one made before it). A dossier without one is predicted now by `bundle`
    when given (counted in the second value, `predicted_now`), else left out (`without_prediction`)."""
    decisions = store.decisions()
    heads = {v.dossier_id: v for v in store.list_dossiers() if v.dossier_id in decisions}
    with store.engine.connect() as conn:
        recorded = pd.DataFrame(
            conn.execute(
                sa.select(predictions.c.dossier_id, predictions.c.probabilities, predictions.c.created_at).order_by(
                    predictions.c.id
                )
            ).all(),
            columns=["dossier_id", "probabilities", "created_at"],
        )
    before: dict[str, dict[str, float]] = {}
    for r in recorded.itertuples():
        d = decisions.get(r.dossier_id)
        if d is not None and _utc(r.created_at) <= d.created_at:
            before[r.dossier_id] = r.probabilities  # ordered by id: the latest one before the decision wins
    rows, missing = [], []
    for i, d in decisions.items():
        doc = heads[i].payload
        row = {
            "dossier_id": i,
            "year": doc.get("year"),
            "filiere": doc.get("filiere"),
            "funding_window": d.funding_window or doc.get("funding_window"),
            "labeled": float(d.labeled),
            "success": None if d.funded is None else float(d.labeled and d.funded),
        }
        if i in before:
            row.update(p_labeled=before[i].get("labeled"), p_success=before[i].get("success"))
        else:
            missing.append(doc)
            row.update(p_labeled=None, p_success=None)
        rows.append(row)
    frame = pd.DataFrame(
        rows,
        columns=["dossier_id", "year", "filiere", "funding_window", "labeled", "success", "p_labeled", "p_success"],
    )
    counts = {"decided": len(frame), "recorded": len(before), "predicted_now": 0, "without_prediction": len(missing)}
    if missing and bundle is not None:
        v = validate_records(missing)
        ok = v.frame[v.ok].reset_index(drop=True)
        if len(ok):
            pred = bundle.model.predict(ok)
            at = frame.set_index("dossier_id")
            at.loc[ok["dossier_id"].astype(str), "p_labeled"] = pred.labeled
            at.loc[ok["dossier_id"].astype(str), "p_success"] = pred.success
            frame = at.reset_index()
            counts.update(predicted_now=len(ok), without_prediction=len(missing) - len(ok))
    return frame, counts


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; the store writes UTC
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
