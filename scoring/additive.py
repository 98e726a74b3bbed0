"""The additive logit: an L2-penalised logistic regression whose coefficients have lower bounds.

Criterion columns carry coefficients bounded at >= 0 (L-BFGS-B), so the
model's monotonicity in every criterion score is a property of the fit, not a
clipping after it. Owns the fit, its penalty per column (standardised, or per
unit of a raw column) and whether it converged.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit


class AdditiveLogit:
    """L2-penalised logistic regression with per-coefficient lower bounds.

    Columns are scaled by their training standard deviation before the penalty
    (so it treats them alike); a positive scaling keeps the bounds' meaning.
    Columns marked `raw` are penalised per unit of the column instead: a context
    level's slope column has a standard deviation that shrinks with the level's
    rows, and standardising would shrink its penalty with its evidence, pulling
    every level alike; on the raw slope (one prior variance for every level's
    deviation, as in a hierarchical model) a thin level is pulled the most.
    `fit(X, y)`, `decision_function(X)` (log-odds), `predict_proba(X)`.
    """

    intercept_: float
    coef_: np.ndarray
    converged_: bool

    def __init__(self, lower: np.ndarray, penalty: float | np.ndarray = 1e-3, raw: np.ndarray | None = None):
        self.lower = np.asarray(lower, float)
        self.penalty = penalty  # one for every column, or one per column
        self.raw = np.zeros(len(self.lower), bool) if raw is None else np.asarray(raw, bool)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        warm_start: "AdditiveLogit | None" = None,
    ) -> "AdditiveLogit":
        X = np.asarray(X, float)
        y = np.asarray(y, float)
        if X.shape[1] != len(self.lower):
            raise ValueError(f"X has {X.shape[1]} columns but the design has {len(self.lower)}")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        w = w / w.sum()
        scale = X.std(axis=0)
        scale[scale < 1e-12] = 1.0
        Xs = X / scale
        p = X.shape[1]
        prior = np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6)
        theta0 = np.zeros(p + 1)
        theta0[0] = np.log(prior / (1 - prior))
        if warm_start is not None:  # bootstrap refits start from the full fit: same optimum, fewer steps
            theta0 = np.concatenate(([warm_start.intercept_], warm_start.coef_ * scale))
        # lam_j theta_j^2 on the standardised coefficient theta_j = beta_j scale_j; for a raw column lam_j beta_j^2
        lam = np.asarray(self.penalty, float) / np.where(self.raw, scale**2, 1.0)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            z = theta[0] + Xs @ theta[1:]
            nll = -(w * (y * log_expit(z) + (1 - y) * log_expit(-z))).sum()
            r = w * (expit(z) - y)
            grad = np.concatenate(([r.sum()], Xs.T @ r + lam * theta[1:]))
            return nll + 0.5 * (lam * theta[1:]) @ theta[1:], grad

        bounds = [(None, None)] + [(0.0 if lo == 0.0 else None, None) for lo in self.lower]
        res = minimize(
            loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 3000, "gtol": 1e-6}
        )
        self.intercept_ = float(res.x[0])
        self.coef_ = res.x[1:] / scale
        self.converged_ = bool(res.success)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self.intercept_ + np.asarray(X, float) @ self.coef_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])
