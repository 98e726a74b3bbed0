"""Model inputs and their design matrix: what the likelihood model sees, and how.

An *input* is what an explanation talks about: the five criterion scores and
the dossier's context (filière, window, carrier, consortium, partners,
therapeutic area, technology axis, TRL, budget, aid share, preliminary
interview, year). `Design` turns a validated frame into a numeric matrix
whose every column belongs to one input, or to a pair of inputs for the
criterion x context interactions (a criterion weighs differently by filière,
window and technology axis). That ownership is what makes the exact
contributions of `scoring.explain` possible.

Criterion columns are monotone by construction: piecewise-linear ramps and
per-context slopes whose coefficients the model bounds at >= 0, so a better
score can never lower a probability. A missing or not-applicable score has
its own indicator column: the model learns what "no score" means instead of
imputing one silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from scoring.schema import CRITERIA, codes

KNOTS = np.arange(0.0, 5.0)  # ramps over [0,1], [1,2], ... [4,5]
#: A context level gets its own criterion slopes only with this many training
#: dossiers; thinner levels (a small window, a rare axis) share the common slopes,
#: which they cannot estimate alone without miscalibrating.
MIN_SUPPORT = 500
CATEGORICAL = ("filiere", "funding_window", "carrier_type", "therapeutic_area", "technology_axis")
INTERACTIONS = ("filiere", "funding_window", "technology_axis")
CONTEXT = ("filiere", "funding_window", "carrier_type", "collaborative", "partners", "therapeutic_area",
           "technology_axis", "trl", "budget_eur", "aid_ratio", "preliminary_interview", "year")
INPUTS = CRITERIA + CONTEXT
PARTNER_COLUMNS = ("partner_academic", "partner_industrial", "partner_clinical", "n_partners")
#: Dossier columns the design reads besides the criterion scores (and eligibility rules too).
MODEL_COLUMNS = CATEGORICAL + ("collaborative",) + PARTNER_COLUMNS + (
    "trl", "budget_eur", "aid_requested_eur", "preliminary_interview", "year")


@dataclass(eq=False)  # compared and hashed by identity: explanation plans are cached per design
class Design:
    """Column layout of the model matrix, learnt from training rows.

    Attributes describe each column j: `names[j]`, `owner[j]` (index into
    `inputs`), `partner[j]` (second owner for an interaction, else -1),
    `lower[j]` (0.0 for monotone columns, -inf otherwise). For interaction
    columns the value is u(owner) * v(partner): `u_src[j]` is the criterion
    index giving u, and v is the 0/1 indicator of level `v_level[j]`.
    """

    with_label: bool = False
    year_range: tuple[float, float] = (2019.0, 2024.0)
    budget_center: float = 13.5
    names: list[str] = field(default_factory=list)
    owner: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    partner: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    lower: np.ndarray = field(default_factory=lambda: np.zeros(0))
    u_src: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    inputs: tuple[str, ...] = INPUTS
    sloped: dict[str, tuple[str, ...]] = field(default_factory=dict)  # context levels with their own slopes

    def fit(self, frame: pd.DataFrame) -> "Design":
        years = frame["year"].to_numpy(dtype=float)
        self.year_range = (float(years.min()), float(years.max()))
        self.budget_center = float(np.median(np.log(frame["budget_eur"].to_numpy(dtype=float))))
        self.inputs = INPUTS + (("labeled",) if self.with_label else ())
        self.sloped = {ctx: tuple(level for level in codes()[ctx] if (frame[ctx] == level).sum() >= MIN_SUPPORT)
                       for ctx in INTERACTIONS}
        self._layout()
        return self

    def _layout(self) -> None:
        names, owner, partner, lower, u_src = [], [], [], [], []
        idx = {name: i for i, name in enumerate(self.inputs)}

        def col(name: str, own: str, mono: bool = False, pair: str | None = None, u: int = -1) -> None:
            names.append(name)
            owner.append(idx[own])
            partner.append(idx[pair] if pair else -1)
            lower.append(0.0 if mono else -np.inf)
            u_src.append(u)

        for j, c in enumerate(CRITERIA):
            for k in KNOTS:
                col(f"{c}:ramp{int(k)}", c, mono=True)
            col(f"{c}:missing", c)
            for ctx in INTERACTIONS:
                for level in self.sloped[ctx]:
                    col(f"{c}*{ctx}={level}", c, mono=True, pair=ctx, u=j)
        for ctx in CATEGORICAL:
            for level in codes()[ctx]:
                col(f"{ctx}={level}", ctx)
        col("collaborative", "collaborative")
        for p in PARTNER_COLUMNS:
            col(p, "partners")
            col(f"{p}:missing", "partners")
        for level in range(1, 10):
            col(f"trl={level}", "trl")
        col("log_budget", "budget_eur")
        col("log_budget:over", "budget_eur")
        col("aid_ratio", "aid_ratio")
        col("aid_ratio:over_half", "aid_ratio")
        col("preliminary_interview", "preliminary_interview")
        col("year", "year")
        if self.with_label:
            col("labeled", "labeled", mono=True)
        self.names, self.owner, self.partner = names, np.array(owner), np.array(partner)
        self.lower, self.u_src = np.array(lower), np.array(u_src)

    def transform(self, frame: pd.DataFrame, scores: np.ndarray, labeled: np.ndarray | None = None
                  ) -> np.ndarray:
        """Model matrix (n, p) of a validated frame and its (n, 5) criterion scores.

        Written into one array allocated once: on a portfolio chunk, fresh
        memory for every intermediate block costs more than the arithmetic.
        """
        X = np.empty((len(frame), len(self.names)))
        self._fill_context(frame, labeled, X[:, X.shape[1] - self._n_context():])
        self._fill_scores(X, scores)
        return X

    def with_scores(self, X: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Model matrix with the context part of X (rows of `transform`) and new criterion scores;
        what-if questions change only the scores, so they skip the frame."""
        n_ctx = self._n_context()
        out = np.empty((len(X), len(self.names)))
        out[:, -n_ctx:] = X[:, -n_ctx:]
        self._fill_scores(out, scores)
        return out

    def with_level(self, X: np.ndarray, ctx: str, level: str, scores: np.ndarray) -> np.ndarray:
        """Model matrix X with categorical `ctx` set to `level` on every row (its slopes follow)."""
        out = X.copy()
        start = out.shape[1] - self._n_context() + self._onehot_at(ctx, codes()[ctx][0])
        out[:, start:start + len(codes()[ctx])] = 0.0
        out[:, start + codes()[ctx].index(level)] = 1.0
        self._fill_scores(out, scores)
        return out

    def _fill_scores(self, X: np.ndarray, scores: np.ndarray) -> None:
        """Write the criterion columns (the first part of X) from the scores and X's own one-hot columns."""
        ctx0 = X.shape[1] - self._n_context()
        filled = np.nan_to_num(scores, nan=0.0)
        col = 0
        for j in range(len(CRITERIA)):
            s = filled[:, j:j + 1]
            X[:, col:col + len(KNOTS)] = np.clip(s - KNOTS, 0.0, 1.0)
            X[:, col + len(KNOTS)] = np.isnan(scores[:, j])
            col += len(KNOTS) + 1
            for ctx in INTERACTIONS:
                idx = [ctx0 + self._onehot_at(ctx, level) for level in self.sloped[ctx]]
                X[:, col:col + len(idx)] = s * X[:, idx]
                col += len(idx)

    def _n_context(self) -> int:
        return int(np.sum(self.owner >= len(CRITERIA)))

    def _onehot_at(self, ctx: str, level: str) -> int:
        """Position of the one-hot column ctx=level inside the context part (categoricals lead it)."""
        before = sum(len(codes()[c]) for c in CATEGORICAL[:CATEGORICAL.index(ctx)])
        return before + codes()[ctx].index(level)

    def _fill_context(self, frame: pd.DataFrame, labeled: np.ndarray | None, out: np.ndarray) -> None:
        """Write every column that does not depend on the criterion scores into `out`, in layout order."""
        n = len(frame)
        col = 0

        def put(block: np.ndarray) -> None:
            nonlocal col
            block = block.reshape(n, -1)
            out[:, col:col + block.shape[1]] = block
            col += block.shape[1]

        for ctx in CATEGORICAL:
            put(_onehot(frame[ctx], codes()[ctx]))
        put(_flag(frame["collaborative"]))
        for p in PARTNER_COLUMNS:
            v = frame[p].to_numpy(dtype=float) if p in frame.columns else np.full(n, np.nan)
            if p == "n_partners":
                v = np.log1p(v)
            put(np.nan_to_num(v, nan=0.0))
            put(np.isnan(v))
        put(_onehot(frame["trl"].astype(float), tuple(float(t) for t in range(1, 10))))
        lb = np.log(frame["budget_eur"].to_numpy(dtype=float)) - self.budget_center
        put(lb)
        put(np.maximum(lb, 0.0))
        ratio = frame["aid_requested_eur"].to_numpy(dtype=float) / frame["budget_eur"].to_numpy(dtype=float)
        put(ratio)
        put(np.maximum(ratio - 0.5, 0.0))
        put(_flag(frame["preliminary_interview"]))
        put(np.clip(frame["year"].to_numpy(dtype=float), *self.year_range) - np.mean(self.year_range))
        if self.with_label:
            put(np.asarray(labeled, float))


@lru_cache(maxsize=32)
def _positions(levels: tuple) -> dict:
    return {level: i for i, level in enumerate(levels)}


def _onehot(values, levels: tuple) -> np.ndarray:
    if len(values) > 64:  # a portfolio: pandas hashes the whole column in C
        idx = pd.Categorical(values, categories=list(levels)).codes.astype(np.int64)
    else:  # a dossier and its what-ifs: a dict lookup per cell, without pandas' per-call set-up
        pos = _positions(levels)
        idx = np.fromiter((pos.get(v, -1) for v in np.asarray(values, dtype=object)), dtype=np.int64, count=len(values))
    return (idx[:, None] == np.arange(len(levels))).astype(float)


def _flag(series: pd.Series) -> np.ndarray:
    """0/1 column of a boolean field; a missing optional flag (preliminary interview) counts as no."""
    return np.nan_to_num(series.to_numpy(dtype=float), nan=0.0)[:, None]
