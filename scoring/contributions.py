"""Exact contributions of the five criteria to a dossier's probabilities, from "projects like yours".

Context is the starting point, the dossier is the explanation. A dossier starts from "projects like yours":
the model's probability for its own context (filière, window, carrier, partners, TRL, budget, year...) with
the five criteria at the average profile of the training dossiers of its filière, window and carrier type
(`scoring.model.criterion_profiles`, coarser groups when that one is thin: `profiles_of`, `background`).
The criteria alone move it from there to its probability: the model is additive in the criteria once the
context is fixed, so their exact interventional SHAP values against that profile are each criterion's own
columns, beta (x - E x), a closed form (`logit_contributions`). The Platt slope multiplies them (calibration
is affine in log-odds), and one per-dossier factor (p - p0) / (z - z0) turns log-odds into probability
points, so that base + sum(values) equals the probability shown, exactly. P(success) = P(L) P(F|L) combines
the two models by the exact product rule (`contributions`). No context input is ever a reason.

Also owns `records`, a frame's rows as dicts in one conversion, which every per-row loop of an explanation
uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from scoring.calibrated import CalibratedAdditive
from scoring.features import CRITERIA, KNOTS, Design
from scoring.model import PROFILE_KEYS, CEPModel, Matrices
from scoring.rubric import ScoreTable


@dataclass(frozen=True)
class _Columns:
    """Per criterion, its columns in a design: ramps, missing indicator, per-level slopes and their one-hots."""

    ramps: tuple[np.ndarray, ...]
    missing: np.ndarray  # (5,)
    slopes: tuple[np.ndarray, ...]
    levels: tuple[np.ndarray, ...]  # per slope column, the one-hot column of its level
    owned: tuple[np.ndarray, ...]  # every column the criterion owns


@lru_cache(maxsize=8)
def _columns(design: Design) -> _Columns:
    ramps, missing, slopes, levels, owned = [], [], [], [], []
    for j, c in enumerate(CRITERIA):  # what each column is, from the design's kind and level (never its name)
        ramps.append(design.columns("ramp", c))
        missing.append(design.columns("missing", c)[0])
        sl = design.columns("slope", c)
        slopes.append(sl)
        levels.append(
            np.array([design.onehot(design.inputs[design.partner[k]], design.level[k]) for k in sl], dtype=int)
        )
        owned.append(np.flatnonzero(design.owner == j))
    return _Columns(tuple(ramps), np.array(missing), tuple(slopes), tuple(levels), tuple(owned))


def background(design: Design, X: np.ndarray, profiles: np.ndarray) -> np.ndarray:
    """Each row of X with its criterion columns at their average over a group: `profiles` (n, 5, ramps + missing),
    from `scoring.model.criterion_profiles`. A slope column is the score times its level's one-hot: its average at
    the dossier's own level is the group's average score times that one-hot. Context columns stay the dossier's."""
    cols = _columns(design)
    B = X.copy()
    for j in range(len(CRITERIA)):
        B[:, cols.ramps[j]] = profiles[:, j, : len(KNOTS)]
        B[:, cols.missing[j]] = profiles[:, j, len(KNOTS)]
        mean_score = profiles[:, j, : len(KNOTS)].sum(axis=1)  # a score is the sum of its ramps (a missing one 0)
        B[:, cols.slopes[j]] = mean_score[:, None] * X[:, cols.levels[j]]
    return B


def logit_contributions(
    cal: CalibratedAdditive, design: Design, X: np.ndarray, B: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(base (n,), phi (n, 5)) in calibrated log-odds; base + phi.sum(1) == cal.logit(X).

    B is X with the criteria at their group's average (`background`): context columns agree, so the model,
    additive in the criteria once the context is fixed, splits the difference criterion by criterion, each
    term that criterion's own columns. These are the interventional SHAP values of the five criteria against
    the group's profiles with the dossier's context held (each input alone in its columns: a sum of one-player
    games); the Platt slope multiplies them.
    """
    beta = cal.model.coef_
    diff = (X - B) * beta
    phi = np.column_stack([diff[:, c].sum(axis=1) for c in _columns(design).owned])
    return cal.platt(cal.model.intercept_ + B @ beta), cal.platt.a * phi


def _to_probability(base_z: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds contributions -> probability points, exactly additive (secant of the logistic)."""
    z = base_z + phi.sum(axis=1)
    p, p0 = expit(z), expit(base_z)
    dz = z - base_z
    slope = np.where(np.abs(dz) > 1e-9, (p - p0) / np.where(np.abs(dz) > 1e-9, dz, 1.0), p * (1 - p))
    return p0, phi * slope[:, None]


def profiles_of(model: CEPModel, frame: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, ...]], np.ndarray]:
    """Per row, the criterion profile of "projects like yours": (profiles (n, 5, ramps + missing), the group's
    keys (the finest of PROFILE_KEYS with enough training rows), its training rows)."""
    table = getattr(model, "profiles_", None)
    if table is None:  # a model trained before the profiles were stored: every training row is the group
        mean = model.label_.background_mean
        cols = _columns(model.label_design_)
        overall = np.array([np.append(mean[cols.ramps[j]], mean[cols.missing[j]]) for j in range(len(CRITERIA))])
        table = {(): (model.n_train_, overall)}
    rows = records(frame[sorted({k for keys in PROFILE_KEYS for k in keys})])
    out, keys_used, counts = [], [], []
    for row in rows:
        keys, (n, profile) = _group(table, row)
        out.append(profile)
        keys_used.append(keys)
        counts.append(n)
    return np.array(out), keys_used, np.array(counts)


def _group(
    table: dict[tuple[str, ...], tuple[int, np.ndarray]], row: dict[str, Any]
) -> tuple[tuple[str, ...], tuple[int, np.ndarray]]:
    """The finest group of PROFILE_KEYS that `table` has for `row`: its keys, and its (rows, profile)."""
    for keys in PROFILE_KEYS:
        hit = table.get(tuple(str(row[k]) for k in keys))
        if hit is not None:
            return keys, hit
    # PROFILE_KEYS ends with (), every training row, which `criterion_profiles` always stores
    raise ValueError("the model's criterion profiles have no group for every training row (key ()): retrain it")


def contributions(
    model: CEPModel, frame: pd.DataFrame, table: ScoreTable | None = None, matrices: Matrices | None = None
) -> dict[str, Any]:
    """Exact contributions of the five criteria to P(labelled) and P(success), from "projects like yours".

    The starting point of a dossier is the model's probability for its own context (filière, window, carrier,
    partners, TRL, budget, year...) with the five criteria at the average profile of the training dossiers of
    its filière, window and carrier type (`profiles_of`): context sets where a dossier starts, and only the
    criteria move it. Returns {"inputs": CRITERIA, "labeled": (base, values), "success": (base, values),
    "group": (keys, rows), "typical": (n, 5) the group's mean scores} on the 0-1 scale:
    base + values.sum(1) equals model.predict(frame)'s probability.
    """
    m = matrices or model.matrices(frame, table)
    X_lab, X_f1 = m.label, m.fund
    profiles, keys, counts = profiles_of(model, frame)
    B = background(model.label_design_, X_lab, profiles)
    zl0, phil = logit_contributions(model.label_, model.label_design_, X_lab, B)
    zf0, phif = logit_contributions(model.fund_, model.fund_design_, X_f1, np.hstack([B, np.ones((len(B), 1))]))
    a0, cl = _to_probability(zl0, phil)
    b0, cf = _to_probability(zf0, phif)
    a, b = a0 + cl.sum(axis=1), b0 + cf.sum(axis=1)
    cs = cl * ((b + b0) / 2)[:, None] + cf * ((a + a0) / 2)[:, None]
    scored = 1.0 - profiles[:, :, len(KNOTS)]
    typical = np.where(scored > 0, profiles[:, :, : len(KNOTS)].sum(axis=2) / np.where(scored > 0, scored, 1.0), np.nan)
    return {
        "inputs": CRITERIA,
        "labeled": (a0, cl),
        "success": (a0 * b0, cs),
        "group": (keys, counts),
        "typical": typical,
    }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts; one conversion of the whole frame (pandas' to_dict walks Arrow text cell by cell)."""
    cols = list(frame.columns)
    return [dict(zip(cols, values)) for values in frame.to_numpy(dtype=object)]
