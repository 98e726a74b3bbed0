"""The likelihood model: P(labelled), P(funded) and P(labelled and funded).

Owns `CEPModel`: two calibrated additive logistic models (`scoring.calibrated`) over the columns of
`scoring.features.Design`:

* the label model, P(labelled | dossier);
* the funding model, P(funded | dossier, labelled), trained on every row with
  the label as an input bounded >= 0, so P(funded | labelled) can never fall
  below P(funded | not labelled).

They combine into P(success) = P(L) P(F | L) and P(funded) = P(L) P(F | L) +
(1 - P(L)) P(F | not L): success is at most each of the other two by
construction. Also owns the uncertainty band beside every probability
(`CEPModel.intervals`: the bootstrap refits' spread in log-odds, widened to
hold the true probability INTERVAL_LEVEL of the time), every window's
probabilities for a dossier (`window_matrix`), and the criterion profiles of
"projects like yours" (`criterion_profiles`) stored for the explanations.

`predict` computes the log-odds straight from the frame (`Design.linear`);
what-if variants and windows start from a dossier's design matrix
(`scored`). Both agree to the last few bits of a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit, logit
from scipy.stats import norm

from scoring import eligibility
from scoring.calibrated import N_BOOTSTRAP, fit_calibrated
from scoring.catalogue import CRITERIA, codes
from scoring.features import KNOTS, Design
from scoring.reference import catalogue
from scoring.rubric import ScoreTable, score_table

INTERVAL_LEVEL = 0.8  # the interval shown beside every probability is meant to hold the true one 80% of the time
#: "projects like yours": the group whose criterion profile is the explanation's starting point, and the
#: coarser groups it falls back to when it has fewer than MIN_PROFILE_ROWS training rows
PROFILE_KEYS: tuple[tuple[str, ...], ...] = (
    ("filiere", "funding_window", "carrier_type"),
    ("filiere", "funding_window"),
    (),
)
MIN_PROFILE_ROWS = 30
TRUE_P = {"labeled": "true_p_labeled", "success": "true_p_success"}


def _success_logit(z_lab: np.ndarray, z_f1: np.ndarray) -> np.ndarray:
    """Log-odds of P(L) P(F|L) from the two log-odds, without leaving log space (no 1 - p near 1)."""
    log_p = log_expit(z_lab) + log_expit(z_f1)
    return log_p - np.log(-np.expm1(log_p))


def criterion_profiles(frame: pd.DataFrame, scores: np.ndarray) -> dict[tuple[str, ...], tuple[int, np.ndarray]]:
    """The training rows' average criterion profile per group of PROFILE_KEYS, coarsest () included.

    {group values: (rows, (5, len(KNOTS) + 1) mean ramp values and missing share per criterion)}: what the
    criterion columns of the design average to over the group, the background of `scoring.explain`'s
    starting point ("projects like yours"). Groups with fewer than MIN_PROFILE_ROWS rows are left out.
    """
    filled = np.nan_to_num(scores, nan=0.0)
    feats = np.concatenate([np.clip(filled[:, :, None] - KNOTS, 0.0, 1.0), np.isnan(scores)[:, :, None]], axis=2)
    flat = pd.DataFrame(feats.reshape(len(scores), -1))
    out: dict[tuple[str, ...], tuple[int, np.ndarray]] = {}
    for keys in PROFILE_KEYS:
        if not keys:
            out[()] = (len(flat), feats.mean(axis=0))
            continue
        groups = flat.groupby([frame[k].astype(str).to_numpy() for k in keys], sort=True)
        sizes, means = groups.size(), groups.mean()
        for key, n in sizes.items():
            if n >= MIN_PROFILE_ROWS:
                out[tuple(key)] = (int(n), means.loc[key].to_numpy().reshape(feats.shape[1:]))
    return out


@dataclass
class Scored:
    """Probabilities of a batch of dossiers, with what they rest on."""

    labeled: np.ndarray
    funded: np.ndarray
    success: np.ndarray
    funded_if_labeled: np.ndarray
    funded_if_not: np.ndarray
    scores: np.ndarray  # (n, 5) criterion scores used
    sources: np.ndarray  # (n, 5) expert / rubric / not_applicable / missing
    labeled_band: np.ndarray | None = None  # (n, 2): the INTERVAL_LEVEL interval (`CEPModel.intervals`)
    success_band: np.ndarray | None = None  # (n, 2)

    def bands(self) -> tuple[np.ndarray, np.ndarray]:
        """(labelled, success) intervals, (n, 2) each; only probabilities asked with `band=True` have them."""
        if self.labeled_band is None or self.success_band is None:
            raise ValueError("these probabilities were computed without their intervals: ask with band=True")
        return self.labeled_band, self.success_band


class Matrices(NamedTuple):
    """Model matrix of a batch (the label design) and the criterion scores it was built from.

    The funding design is the same matrix plus the label column: its logits
    are computed from this one (`CEPModel.fund_logit`), never copied.
    """

    label: np.ndarray
    table: ScoreTable

    @property
    def scores(self) -> np.ndarray:
        return self.table.score

    @property
    def fund(self) -> np.ndarray:
        """The funding design at L=1, materialised (for explanations only)."""
        return np.hstack([self.label, np.ones((len(self.label), 1))])


class CEPModel:
    """The committee's likelihood model: `fit(frame)`, `predict(frame)`, `window_matrix(frame)`.

    `frame` is a validated flat frame (scoring.schema.validate_frame(...).frame
    rows that passed); training frames also hold `labeled` and `funded`.
    """

    name = "cep-additive-logit"

    def __init__(self, seed: int = 0, n_bootstrap: int = N_BOOTSTRAP):
        self.seed = seed
        self.n_bootstrap = n_bootstrap

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame) -> "CEPModel":
        missing = [c for c in ("labeled", "funded") if c not in frame or frame[c].isna().any()]
        if missing:
            raise ValueError(
                f"training rows need both outcomes; {missing} missing in some rows "
                "(drop undecided dossiers or fill the outcome)"
            )
        if len(frame) < 200:
            raise ValueError(f"{len(frame)} training rows: the model needs at least 200 decided dossiers")
        scores = score_table(frame).score
        y_lab = frame["labeled"].to_numpy(dtype=float)
        y_fund = frame["funded"].to_numpy(dtype=float)
        self.label_design_ = Design(with_label=False).fit(frame)
        self.fund_design_ = Design(with_label=True).fit(frame)
        # `matrices` builds the funding matrix from the label one: the layouts must agree but for the label
        assert self.fund_design_.names[:-1] == self.label_design_.names and self.fund_design_.names[-1] == "labeled"
        X_lab = self.label_design_.transform(frame, scores)
        X_fund = self.fund_design_.transform(frame, scores, y_lab)
        self.label_ = fit_calibrated(
            X_lab, y_lab, self.label_design_.lower, self.label_design_.deviation, self.seed, self.n_bootstrap
        )
        self.fund_ = fit_calibrated(
            X_fund, y_fund, self.fund_design_.lower, self.fund_design_.deviation, self.seed + 1, self.n_bootstrap
        )
        self.n_train_ = len(frame)
        self.years_ = self.label_design_.year_range
        self.profiles_ = criterion_profiles(frame, scores)
        self.interval_scale_ = self._interval_scale(frame, X_lab)
        return self

    def _interval_scale(self, frame: pd.DataFrame, X_lab: np.ndarray) -> dict[str, float]:
        """Per target, how much wider than the bootstrap's spread the interval must be to hold the true probability
        INTERVAL_LEVEL of the time: measured on the training rows when they carry their true probabilities (a
        synthetic base), never below 1. The bootstrap sees the estimate's sampling noise, not the bias that the
        penalties and the additive form leave; a real export has no true probability to measure it on, so there the
        interval is the estimation uncertainty alone (scale 1), and the card says so.
        """
        if self.n_bootstrap < 2 or not all(c in frame.columns for c in TRUE_P.values()):
            return {t: 1.0 for t in TRUE_P}
        z, sd = self._logit_spread(X_lab)
        q = norm.ppf(0.5 + INTERVAL_LEVEL / 2)
        out = {}
        for t, col in TRUE_P.items():
            truth = logit(np.clip(frame[col].to_numpy(dtype=float), 1e-12, 1 - 1e-12))
            ratio = np.abs(truth - z[t]) / sd[t]
            out[t] = max(1.0, float(np.quantile(ratio, INTERVAL_LEVEL) / q))
        return out

    # ------------------------------------------------------------------ predict
    def matrices(self, frame: pd.DataFrame, table: ScoreTable | None = None) -> "Matrices":
        """Model matrices of a validated frame: label design, funding design at L=1, scores.

        `table` passes criterion scores already computed (the single-dossier path
        scores one row many ways and must not redo the rubric each time). Both
        designs are laid out from the same training rows, so the funding matrix
        is the label matrix plus the label column: the frame is read once.
        """
        table = score_table(frame) if table is None else table
        return Matrices(self.label_design_.transform(frame, table.score), table)

    def predict(
        self,
        frame: pd.DataFrame,
        band: bool = False,
        table: ScoreTable | None = None,
        matrices: "Matrices | None" = None,
    ) -> Scored:
        """Probabilities of each row, from `logits` (no design matrix is built for them).

        The uncertainty band needs the label matrix: `matrices` passes the output of
        `matrices(frame)` when the caller has built it already.
        """
        if table is None:
            table = matrices.table if matrices is not None else score_table(frame)
        out = self.probabilities(*self.logits(frame, table.score), table)
        if band:
            self._add_band(out, (matrices or self.matrices(frame, table)).label)
        return out

    def logits(self, frame: pd.DataFrame, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated log-odds of being labelled and of funding at L=1, straight from the frame."""
        lab, fund = self.label_, self.fund_
        # the funding design is the label design plus the label column, at 1 here
        z = self.label_design_.linear(frame, scores, np.column_stack([lab.model.coef_, fund.model.coef_[:-1]]))
        return (
            lab.platt(lab.model.intercept_ + z[:, 0]),
            fund.platt(fund.model.intercept_ + z[:, 1] + fund.model.coef_[-1]),
        )

    def what_if(self, base: np.ndarray, table: ScoreTable) -> Scored:
        """One dossier under each row of criterion scores in `table`.

        `base` is the dossier's label-design row from `matrices`: answer changes
        move only the criterion scores, so its context columns are reused for
        every variant instead of rebuilt from the frame.
        """
        X_lab = self.label_design_.with_scores(np.repeat(base, len(table.score), axis=0), table.score)
        return self.scored(Matrices(X_lab, table))

    def fund_logit(self, X_lab: np.ndarray, boot: bool = False) -> np.ndarray:
        """Calibrated log-odds of funding at L=1 from the label matrix (the funding design minus its label column);
        (n, B) for the bootstrap refits."""
        f = self.fund_
        if boot:
            return f.platt(X_lab @ f.boot_coef[:, :-1].T + f.boot_intercept + f.boot_coef[:, -1])
        return f.platt(f.model.intercept_ + X_lab @ f.model.coef_[:-1] + f.model.coef_[-1])

    def scored(self, m: "Matrices", band: bool = False) -> Scored:
        """Probabilities from model matrices: what-if variants and windows, built on a dossier's matrix."""
        out = self.probabilities(self.label_.logit(m.label), self.fund_logit(m.label), m.table)
        if band:
            self._add_band(out, m.label)
        return out

    def probabilities(self, z_lab: np.ndarray, z_f1: np.ndarray, table: ScoreTable) -> Scored:
        """P(labelled), P(funded), P(success) from the calibrated log-odds of `logits`."""
        p_lab = expit(z_lab)
        p_f1 = expit(z_f1)
        # not labelled = the same row with the label column at 0: one coefficient less, calibrated
        p_f0 = expit(z_f1 - self.fund_.platt.a * self.fund_.model.coef_[-1])
        return Scored(p_lab, p_lab * p_f1 + (1 - p_lab) * p_f0, p_lab * p_f1, p_f1, p_f0, table.score, table.source)

    def _add_band(self, out: Scored, X_lab: np.ndarray) -> None:
        out.labeled_band, out.success_band = self.intervals(X_lab)

    def _logit_spread(self, X_lab: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per target, the model's log-odds and their standard deviation over the bootstrap refits."""
        z_lab, z_f1 = self.label_.logit(X_lab), self.fund_logit(X_lab)
        b_lab, b_f1 = self.label_.boot_logits(X_lab), self.fund_logit(X_lab, boot=True)
        # success = P(L) P(F|L): its log-odds from the two models' log-odds, refit by refit
        z_succ = _success_logit(z_lab, z_f1)
        b_succ = _success_logit(b_lab, b_f1)
        return (
            {"labeled": z_lab, "success": z_succ},
            {"labeled": b_lab.std(axis=1, ddof=1), "success": b_succ.std(axis=1, ddof=1)},
        )

    def intervals(self, X_lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labelled, success) intervals (n, 2) meant to hold the true probability INTERVAL_LEVEL of the time.

        Built in log-odds, the estimate plus or minus the normal quantile times the bootstrap refits' spread
        (20 refits: their standard deviation is steadier than their 10th and 90th values) times the model's
        `interval_scale_`, then mapped to probabilities: near 0 or 1 the interval narrows but never shrinks to
        a point, as the percentiles of the refits' probabilities did. Needs bootstrap refits.
        """
        z, sd = self._logit_spread(X_lab)
        q = norm.ppf(0.5 + INTERVAL_LEVEL / 2)
        scale = getattr(self, "interval_scale_", {})  # models trained before the scale existed: estimation alone
        out = []
        for t in ("labeled", "success"):
            half = q * scale.get(t, 1.0) * sd[t]
            out.append(np.column_stack([expit(z[t] - half), expit(z[t] + half)]))
        return out[0], out[1]

    # ------------------------------------------------------------------ windows
    def window_matrix(self, frame: pd.DataFrame, table: ScoreTable | None = None, band: bool = False) -> pd.DataFrame:
        """Every dossier under every window: eligibility and probabilities, ranked.

        One row per (dossier, window): `row` (position in `frame`), `window`,
        `eligible`, `rule` (first rule broken, '' when eligible: `scoring.eligibility`),
        `labeled`, `funded`, `success`, `rank` (1 = best eligible window by
        P(success); ineligible windows rank after all eligible ones); with `band`,
        the intervals too (`labeled_low`, `labeled_high`, `success_low`, `success_high`).
        """
        windows = codes()["funding_window"]
        n, k = len(frame), len(windows)
        m = self.matrices(frame, table)
        # only the window's one-hot block and its interactions change; every window scored in one pass, window-major
        X = np.vstack([self.label_design_.with_level(m.label, "funding_window", w, m.scores) for w in windows])
        tiled = ScoreTable(*(np.tile(a, (k, 1)) for a in (m.table.score, m.table.rubric, m.table.source)))
        s = self.scored(Matrices(X, tiled), band=band)
        rule = eligibility.first_rule(frame, windows).T.ravel()
        row = np.tile(np.arange(n), k)
        eligible = rule == ""
        order = np.lexsort((-s.success, ~eligible, row))
        out = (
            pd.DataFrame(
                {
                    "row": row,
                    "window": np.repeat(np.array(windows, dtype=object), n),
                    "eligible": eligible,
                    "rule": rule,
                    "labeled": s.labeled,
                    "funded": s.funded,
                    "success": s.success,
                    **(
                        {
                            f"{t}_{side}": getattr(s, f"{t}_band")[:, col]
                            for t in ("labeled", "success")
                            for col, side in enumerate(("low", "high"))
                        }
                        if band
                        else {}
                    ),
                }
            )
            .iloc[order]
            .reset_index(drop=True)
        )
        out["rank"] = np.tile(np.arange(1, k + 1), n)
        return out

    def describe(self) -> dict:
        return {
            "name": self.name,
            "penalty_label": list(self.label_.penalty),
            "penalty_funding": list(self.fund_.penalty),
            "platt_label": [self.label_.platt.a, self.label_.platt.b],
            "platt_funding": [self.fund_.platt.a, self.fund_.platt.b],
            "n_bootstrap": self.n_bootstrap,
            "n_train": self.n_train_,
            "years": list(self.years_),
            "n_columns_label": len(self.label_design_.names),
            "n_columns_funding": len(self.fund_design_.names),
            "windows": list(catalogue()),
            "criteria": list(CRITERIA),
        }
