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

`Design.linear` gives the product of that matrix with coefficients without
building it (a one-hot block's product is a lookup of its level's
coefficient): probabilities need only that product, explanations the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from scoring.catalogue import CRITERIA, codes
from scoring.fields import code_index

KNOTS = np.arange(0.0, 5.0)  # ramps over [0,1], [1,2], ... [4,5]
#: What a design column is: a criterion's ramp above a knot, a missing-input indicator, a criterion's slope on a
#: context level, a categorical level's one-hot, or a numeric value (flag, log budget, ratio, year, label).
KINDS = ("ramp", "missing", "slope", "onehot", "value")
TRL_LEVELS = np.arange(1.0, 10.0)
CATEGORICAL = ("filiere", "funding_window", "carrier_type", "therapeutic_area", "technology_axis")
INTERACTIONS = ("filiere", "funding_window", "technology_axis")
CONTEXT = (
    "filiere",
    "funding_window",
    "carrier_type",
    "collaborative",
    "partners",
    "therapeutic_area",
    "technology_axis",
    "trl",
    "budget_eur",
    "aid_ratio",
    "preliminary_interview",
    "year",
)
INPUTS = CRITERIA + CONTEXT
PARTNER_COLUMNS = ("partner_academic", "partner_industrial", "partner_clinical", "n_partners")
#: Dossier columns the design reads besides the criterion scores (and eligibility rules too).
MODEL_COLUMNS = (
    CATEGORICAL
    + ("collaborative",)
    + PARTNER_COLUMNS
    + ("trl", "budget_eur", "aid_requested_eur", "preliminary_interview", "year")
)


@dataclass(eq=False)  # compared and hashed by identity: explanation plans are cached per design
class Design:
    """Column layout of the model matrix, learnt from training rows.

    Attributes describe each column j: `names[j]`, `owner[j]` (index into
    `inputs`), `partner[j]` (second owner for an interaction, else -1),
    `lower[j]` (0.0 for monotone columns, -inf otherwise). For interaction
    columns the value is u(owner) * v(partner): `u_src[j]` is the criterion
    index giving u, and v is the 0/1 indicator of level `level[j]` of input `partner[j]`.
    `deviation[j]` marks a context level's departure from the pooled effect (its
    criterion slopes): the model penalises those apart, so thin levels shrink
    toward the common ramps.

    What each column means is stated here and nowhere else: `kind[j]` (one of
    KINDS), `level[j]` (the categorical level of a one-hot or slope column, ''
    otherwise) and `knot[j]` (a ramp's lower knot, NaN otherwise); readers such
    as the explanations and the batch's window terms select columns by these,
    never by parsing `names`. `levels` is the copy of the catalogue's codes the
    design was laid out with (`scoring.world` checks it against the tables).
    """

    with_label: bool = False
    year_range: tuple[float, float] = (2019.0, 2024.0)
    budget_center: float = 13.5
    names: list[str] = field(default_factory=list)
    owner: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    partner: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    lower: np.ndarray = field(default_factory=lambda: np.zeros(0))
    u_src: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    deviation: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    inputs: tuple[str, ...] = INPUTS
    # context levels with their own slopes: every level (models trained before partial pooling: 500+ rows)
    sloped: dict[str, tuple[str, ...]] = field(default_factory=dict)
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per categorical input, its codes at fit
    kind: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    knot: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def fit(self, frame: pd.DataFrame) -> "Design":
        years = frame["year"].to_numpy(dtype=float)
        self.year_range = (float(years.min()), float(years.max()))
        self.budget_center = float(np.median(np.log(frame["budget_eur"].to_numpy(dtype=float))))
        self.inputs = INPUTS + (("labeled",) if self.with_label else ())
        # Every level gets its own slopes; a thin level's stay near the common ramps because the
        # model penalises these deviations apart (`deviation`), instead of a hard cut on its row count.
        self.levels = {ctx: tuple(codes()[ctx]) for ctx in CATEGORICAL}
        self.sloped = {ctx: self.levels[ctx] for ctx in INTERACTIONS}
        self._layout()
        return self

    def _layout(self) -> None:
        names, owner, partner, lower, u_src, kind, level_of, knot = [], [], [], [], [], [], [], []
        idx = {name: i for i, name in enumerate(self.inputs)}

        def col(
            name: str,
            own: str,
            mono: bool = False,
            pair: str | None = None,
            u: int = -1,
            what: str = "value",
            level: str = "",
            at: float = np.nan,
        ) -> None:
            names.append(name)
            owner.append(idx[own])
            partner.append(idx[pair] if pair else -1)
            lower.append(0.0 if mono else -np.inf)
            u_src.append(u)
            kind.append(what)
            level_of.append(level)
            knot.append(at)

        for j, c in enumerate(CRITERIA):
            for k in KNOTS:
                col(f"{c}:ramp{int(k)}", c, mono=True, what="ramp", at=float(k))
            col(f"{c}:missing", c, what="missing")
            for ctx in INTERACTIONS:
                for level in self.sloped[ctx]:
                    col(f"{c}*{ctx}={level}", c, mono=True, pair=ctx, u=j, what="slope", level=level)
        for ctx in CATEGORICAL:
            for level in self.levels[ctx]:
                col(f"{ctx}={level}", ctx, what="onehot", level=level)
        # Bounded >= 0 like the criteria: working with others, a clinical partner above all, is never what
        # holds a dossier back (seed 002); left free, these columns learnt a base's sampling noise as a
        # penalty, and a strong dossier gained by dropping its clinicians.
        col("collaborative", "collaborative", mono=True)
        for p in PARTNER_COLUMNS:
            col(p, "partners", mono=True)
            col(f"{p}:missing", "partners", what="missing")
        for trl in TRL_LEVELS:
            col(f"trl={trl:g}", "trl", what="onehot", level=f"{trl:g}")
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
        self.kind, self.level, self.knot = kind, level_of, np.array(knot)
        self.deviation = self.partner >= 0  # the criterion x level slopes

    def columns(self, kind: str, owner: str) -> np.ndarray:
        """The columns of `kind` (one of KINDS) owned by input `owner`, in layout order (ramps by knot)."""
        return np.flatnonzero((np.asarray(self.kind) == kind) & (self.owner == self.inputs.index(owner)))

    def onehot(self, ctx: str, level: str) -> int:
        """The one-hot column of categorical `ctx` at `level`."""
        return int(self.columns("onehot", ctx)[self.levels[ctx].index(level)])

    def transform(self, frame: pd.DataFrame, scores: np.ndarray, labeled: np.ndarray | None = None) -> np.ndarray:
        """Model matrix (n, p) of a validated frame and its (n, 5) criterion scores.

        Written into one array allocated once: on a portfolio chunk, fresh
        memory for every intermediate block costs more than the arithmetic.
        """
        X = np.empty((len(frame), len(self.names)))
        _write(X, self._blocks(frame, scores, labeled))
        return X

    def linear(
        self, frame: pd.DataFrame, scores: np.ndarray, coef: np.ndarray, labeled: np.ndarray | None = None
    ) -> np.ndarray:
        """`transform(frame, scores, labeled) @ coef` for coef (p, m), without the (n, p) matrix.

        A one-hot block's product is its level's coefficient, looked up per row: a
        portfolio is scored without building the design, which explanations alone need.
        Equal to the product up to floating-point summation order.
        """
        blocks = self._blocks(frame, scores, labeled)
        z = np.zeros((len(frame), coef.shape[1]))
        for k in range(coef.shape[1]):
            col = 0
            for block in blocks:
                z[:, k] += block.dot(coef[col : col + block.width, k])
                col += block.width
        return z

    def with_scores(self, X: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Model matrix with the context part of X (rows of `transform`) and new criterion scores;
        what-if questions change only the scores, so they skip the frame."""
        n_ctx = self._n_context()
        out = np.empty((len(X), len(self.names)))
        out[:, -n_ctx:] = X[:, -n_ctx:]
        _write(out[:, :-n_ctx], self._score_blocks(scores, self._levels_in(X)))
        return out

    def with_level(self, X: np.ndarray, ctx: str, level: str, scores: np.ndarray) -> np.ndarray:
        """Model matrix X with categorical `ctx` set to `level` on every row (its slopes follow)."""
        out = X.copy()
        hot = out[:, self._onehot_columns(ctx, out.shape[1])]
        hot[:] = 0.0
        hot[:, self.levels[ctx].index(level)] = 1.0
        _write(out[:, : -self._n_context()], self._score_blocks(scores, self._levels_in(out)))
        return out

    def _blocks(self, frame: pd.DataFrame, scores: np.ndarray, labeled: np.ndarray | None) -> list["_Block"]:
        """Every column of the layout, in order, as blocks: the criterion part, then the context."""
        context = self._context_blocks(frame, labeled)
        levels = {ctx: np.asarray(block.at) for ctx, block in zip(CATEGORICAL, context)}  # the categoricals lead
        return self._score_blocks(scores, levels) + context

    def _score_blocks(self, scores: np.ndarray, levels: dict[str, np.ndarray]) -> list["_Block"]:
        """Criterion columns: ramps, missing indicator and per-level slopes, criterion by criterion.

        `levels` holds per interaction context the level index of each row (-1 none).
        """
        filled = np.nan_to_num(scores, nan=0.0)
        sloped = {}
        for ctx in INTERACTIONS:  # level index -> position among the sloped levels, -1 for the others
            lut = np.array(
                [self.sloped[ctx].index(v) if v in self.sloped[ctx] else -1 for v in self.levels[ctx]] + [-1]
            )
            sloped[ctx] = lut[levels[ctx]]
        out = []
        for j in range(len(CRITERIA)):
            s = filled[:, j]
            out.append(_Block(len(KNOTS), values=np.clip(s[:, None] - KNOTS, 0.0, 1.0)))
            out.append(_Block(1, values=np.isnan(scores[:, j])))
            out.extend(_Block(len(self.sloped[ctx]), at=sloped[ctx], factor=s) for ctx in INTERACTIONS)
        return out

    def _levels_in(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Per interaction context, the level index of each row of a model matrix, read off its one-hot columns."""
        out = {}
        for ctx in INTERACTIONS:
            hot = X[:, self._onehot_columns(ctx, X.shape[1])]
            out[ctx] = np.where(hot.any(axis=1), hot.argmax(axis=1), -1)
        return out

    def _n_context(self) -> int:
        return int(np.sum(self.owner >= len(CRITERIA)))

    def _onehot_columns(self, ctx: str, width: int) -> slice:
        """The one-hot columns of categorical `ctx` in a model matrix of `width` columns."""
        start = width - self._n_context() + self._onehot_at(ctx, self.levels[ctx][0])
        return slice(start, start + len(self.levels[ctx]))

    def _onehot_at(self, ctx: str, level: str) -> int:
        """Position of the one-hot column ctx=level inside the context part (categoricals lead it)."""
        before = sum(len(self.levels[c]) for c in CATEGORICAL[: CATEGORICAL.index(ctx)])
        return before + self.levels[ctx].index(level)

    def _context_blocks(self, frame: pd.DataFrame, labeled: np.ndarray | None) -> list["_Block"]:
        """Every column that does not depend on the criterion scores, in layout order."""
        n = len(frame)
        # positions among the installed codes, which `scoring.world` has checked are the design's `levels`
        out = [_Block(len(self.levels[ctx]), at=code_index(frame[ctx], ctx)) for ctx in CATEGORICAL]
        out.append(_Block(1, values=_flag(frame["collaborative"])))
        for p in PARTNER_COLUMNS:
            v = frame[p].to_numpy(dtype=float) if p in frame.columns else np.full(n, np.nan)
            if p == "n_partners":
                v = np.log1p(v)
            out.append(_Block(1, values=np.nan_to_num(v, nan=0.0)))
            out.append(_Block(1, values=np.isnan(v)))
        trl = frame["trl"].to_numpy(dtype=float)
        out.append(
            _Block(len(TRL_LEVELS), at=np.where(np.isin(trl, TRL_LEVELS), np.nan_to_num(trl) - 1, -1).astype(np.intp))
        )
        lb = np.log(frame["budget_eur"].to_numpy(dtype=float)) - self.budget_center
        ratio = frame["aid_requested_eur"].to_numpy(dtype=float) / frame["budget_eur"].to_numpy(dtype=float)
        for v in (
            lb,
            np.maximum(lb, 0.0),
            ratio,
            np.maximum(ratio - 0.5, 0.0),
            _flag(frame["preliminary_interview"]),
            np.clip(frame["year"].to_numpy(dtype=float), *self.year_range) - np.mean(self.year_range),
        ):
            out.append(_Block(1, values=v))
        if self.with_label:
            out.append(_Block(1, values=np.asarray(labeled, float)))
        return out


class _Block(NamedTuple):
    """Consecutive columns of a model matrix: dense `values` (n, width), or the one-hot of
    `at` (a level per row, -1 for none) times `factor` when given (a criterion's slopes)."""

    width: int
    values: np.ndarray | None = None
    at: np.ndarray | None = None  # not `index`: that is a tuple's method
    factor: np.ndarray | None = None

    def write(self, out: np.ndarray) -> None:
        if self.at is None:
            assert self.values is not None
            out[:] = self.values.reshape(len(out), -1)
            return
        hot = self.at[:, None] == np.arange(self.width)
        out[:] = hot if self.factor is None else self.factor[:, None] * hot

    def dot(self, coef: np.ndarray) -> np.ndarray:
        """This block's columns times coef (width,): (n,)."""
        if self.at is None:
            assert self.values is not None
            return self.values @ coef if self.values.ndim == 2 else self.values * coef[0]
        by_level = np.append(coef, 0.0).take(self.at)  # level -1: the appended zero
        return by_level if self.factor is None else self.factor * by_level


def _write(X: np.ndarray, blocks: list[_Block]) -> None:
    col = 0
    for block in blocks:
        block.write(X[:, col : col + block.width])
        col += block.width
    assert col == X.shape[1], "the blocks and the layout disagree"


def _flag(series: pd.Series) -> np.ndarray:
    """0/1 column of a boolean field; a missing optional flag (preliminary interview) counts as no."""
    return np.nan_to_num(series.to_numpy(dtype=float), nan=0.0)
