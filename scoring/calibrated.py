"""A calibrated additive model: penalties chosen by cross-validation, a Platt map, bootstrap refits.

Owns `fit_calibrated`, which turns a design matrix and an outcome into a
`CalibratedAdditive`: the penalties (shared columns, and a context level's
criterion slopes penalised apart per score point: partial pooling, a thin
level's stay near the common ramps) chosen by K-fold log loss; a Platt map
fitted on the out-of-fold logits, affine with a positive slope, so it keeps
monotonicity and the exact additivity of contributions in log-odds; and the
bootstrap refits that `scoring.model` turns into an uncertainty band.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import log_expit

from scoring.additive import AdditiveLogit

PENALTIES = (3e-4, 1e-3, 3e-3)  # L2 on standardised columns: every column but the deviations
#: L2 on a context level's criterion slopes, per score point: on a level with a share r of the rows, about
#: penalty / (penalty + 2 r) of its departure from the common ramps goes; at 1 nearly all of it, on any level
DEVIATION_PENALTIES = (1e-3, 1e-2, 1e-1, 1.0)
N_FOLDS = 5
N_BOOTSTRAP = 20


@dataclass
class Platt:
    """Affine calibration map of log-odds, slope > 0: z_cal = a z + b."""

    a: float = 1.0
    b: float = 0.0

    def fit(self, z: np.ndarray, y: np.ndarray) -> "Platt":
        m = AdditiveLogit(lower=np.array([0.0]), penalty=0.0).fit(z[:, None], y)
        self.a, self.b = max(float(m.coef_[0]), 1e-6), m.intercept_
        return self

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.a * z + self.b


@dataclass
class CalibratedAdditive:
    """One calibrated additive model: the fitted logit, its Platt map and bootstrap refits."""

    model: AdditiveLogit
    platt: Platt
    penalty: tuple[float, float]  # (shared columns, deviations)
    cv_log_loss: dict[tuple[float, float], float]
    boot_coef: np.ndarray  # (B, p)
    boot_intercept: np.ndarray  # (B,)
    background_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def logit(self, X: np.ndarray) -> np.ndarray:
        """Calibrated log-odds."""
        return self.platt(self.model.decision_function(X))

    def boot_logits(self, X: np.ndarray) -> np.ndarray:
        """(n, B) calibrated log-odds of the bootstrap refits."""
        return self.platt(X @ self.boot_coef.T + self.boot_intercept)


def fit_calibrated(
    X: np.ndarray, y: np.ndarray, lower: np.ndarray, deviation: np.ndarray, seed: int, n_bootstrap: int = N_BOOTSTRAP
) -> CalibratedAdditive:
    """Choose the penalties by K-fold log loss, fit the Platt map on out-of-fold logits, refit, bootstrap.

    `deviation` marks the columns penalised apart, per score point (a context level's criterion
    slopes): partial pooling, where the data decide how far a level may depart from the common
    ramps, and a thin level, whose rows weigh little against the penalty, departs less. Two steps
    keep the search to six fits per fold instead of twelve: the shared penalty with the deviations'
    at a middle value, then the deviations' penalty given the shared one.
    """
    rng = np.random.default_rng(seed)
    folds = rng.permutation(len(y)) % N_FOLDS
    cv: dict[tuple[float, float], float] = {}
    oof: dict[tuple[float, float], np.ndarray] = {}

    def validate(pair: tuple[float, float]) -> None:
        z = np.zeros(len(y))
        for k in range(N_FOLDS):
            tr, te = folds != k, folds == k
            model = AdditiveLogit(lower, np.where(deviation, pair[1], pair[0]), deviation).fit(X[tr], y[tr])
            z[te] = model.decision_function(X[te])
        oof[pair] = z
        cv[pair] = float(-(y * log_expit(z) + (1 - y) * log_expit(-z)).mean())

    for lam in PENALTIES:
        validate((lam, DEVIATION_PENALTIES[1]))
    shared = min(cv, key=lambda pair: cv[pair])[0]
    for dev in DEVIATION_PENALTIES:
        if (shared, dev) not in cv:
            validate((shared, dev))
    best = min(cv, key=lambda pair: cv[pair])
    platt = Platt().fit(oof[best], y)
    penalty = np.where(deviation, best[1], best[0])
    model = AdditiveLogit(lower, penalty, deviation).fit(X, y)
    boots = [
        AdditiveLogit(lower, penalty, deviation).fit(X[idx], y[idx], warm_start=model)
        for idx in (rng.integers(0, len(y), len(y)) for _ in range(n_bootstrap))
    ]
    return CalibratedAdditive(
        model,
        platt,
        best,
        cv,
        np.array([b.coef_ for b in boots]),
        np.array([b.intercept_ for b in boots]),
        X.mean(axis=0),
    )
