"""Calibration of the synthetic base to the published figures: the fitted offsets of data/synthetic.toml.

Owns the targets (the figures of `data/figures.csv` that a base can measure,
plus the rates stated as assumptions: the share labelled, and the windows'
success rates of `[window_success]`), `calibrate()`, a penalised, bounded
least-squares fit of the offsets in tolerance units, and `save_offsets()`,
which writes them, with what the fit could not meet, into the TOML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from scoring.catalogue import codes
from scoring.reference import catalogue
from scoring.synthetic_outcomes import DIRECT_LABEL_BOUNDS, base_logits
from scoring.synthetic_params import COMPANIES, PARAMS_PATH, load_params
from scoring.synthetic_world import generate

#: Tolerance of each target the sources do not publish as such (data/synthetic.toml's [window_success], the label rate).
ASSUMED_TOLERANCE = 0.05
#: First year of the recent period the published rates are measured on (Medi'Scope 2025: base CEP 2022-2024).
RECENT_FROM = 2022
#: Share of examined dossiers labelled, 2022-2024: not published (the Medi'Scope chart of
#: labelling gives no number). Without it, only F14 and F16 split success into label and
#: funding, and the fit may label few dossiers and fund nearly all of them at a window.
ASSUMED_LABEL_RATE = 0.65
#: Penalty on the direct label terms: PENALTY * (offset / 0.5)^2, in the same units as a
#: figure missed by one tolerance; a direct term of 0.5 logit costs as much as one figure at
#: the edge of its tolerance, so it is used only where the scores cannot carry a gap.
PENALTY = 1.0


@dataclass
class Target:
    """One calibration target: a published (or assumed) value, its tolerance, how a base measures it."""

    id: str
    value: float
    tolerance: float
    measure: Any  # (p_lab, p_success, p_funded_lab, p_funded_unl) -> expected value on the rows


def _targets(base: pd.DataFrame, p: dict[str, Any]) -> list[Target]:
    """Every calibration target, measured in expectation (true probabilities, no outcome draw)."""
    from scoring.reference import figures

    fig = figures().set_index("id")
    recent = (base["year"] >= RECENT_FROM).to_numpy()
    fil, axis = base["filiere"].to_numpy(), base["technology_axis"].to_numpy()
    win = base["funding_window"].to_numpy()
    op = base["funding_window"].map({k: w.operator for k, w in catalogue().items()}).to_numpy()
    company = base["carrier_type"].isin(COMPANIES).to_numpy()
    collab = base["collaborative"].to_numpy(bool)

    def rate(mask):
        return lambda pl, ps, f1, f0: ps[mask].mean()

    def share(mask, among=recent):
        return lambda pl, ps, f1, f0: ps[mask & among].sum() / ps[among].sum()

    def published(fid: str, measure) -> Target:
        return Target(fid, float(fig.loc[fid, "value"]), float(fig.loc[fid, "tolerance"]), measure)

    others = recent & (fil != "e_sante")
    out = [
        published("F1", rate(recent & (fil == "e_sante"))),
        published("F2", rate(others)),
        published("F3", share(np.isin(fil, ("pharma_biotech", "medtech")))),
        published(
            "F3b",
            lambda pl, ps, f1, f0: ps[recent & (fil == "pharma_biotech")].sum() / ps[recent & (fil == "medtech")].sum(),
        ),
        published("F5", rate(recent & (win == "anr"))),
        published("F6", rate(recent & (op == "region_idf"))),
        published("F7", share(op == "region_idf")),
        published("F8a", rate(recent & (axis == "ai"))),
        published("F8b", rate(recent & (axis == "data"))),
        published("F11b", share(collab)),
        published("F14", lambda pl, ps, f1, f0: pl[recent & company].sum() / pl[recent].sum()),
        published("F16", lambda pl, ps, f1, f0: label_effect_log_odds(pl, f1, f0)),
    ]
    out.append(
        Target("assumed:labelled", ASSUMED_LABEL_RATE, ASSUMED_TOLERANCE, lambda pl, ps, f1, f0: pl[recent].mean())
    )
    cat = catalogue()
    for w, v in p.get("window_success", {}).items():
        # a window closed before the recent years (RHU: no call after 2021) is measured on the years it was open
        until = cat[w].open_until
        closed = until is not None and until < RECENT_FROM
        rows = (win == w) & (recent | closed)
        if isinstance(v, str):  # a published figure's id: the window at that figure's rate (F6: the Région's)
            if v not in fig.index:
                raise ValueError(f"data/synthetic.toml [window_success] {w} = {v!r}: not a figure of data/figures.csv")
            out.append(Target(f"{v}:{w}", float(fig.loc[v, "value"]), ASSUMED_TOLERANCE, rate(rows)))
        else:
            out.append(Target(f"assumed:{w}", float(v), ASSUMED_TOLERANCE, rate(rows)))
    return out


def label_effect_log_odds(p_lab: np.ndarray, p_f1: np.ndarray, p_f0: np.ndarray) -> float:
    """Expected log odds ratio of funding, labelled against unlabelled dossiers (F16's measure)."""
    f_lab = (p_lab * p_f1).sum() / p_lab.sum()
    f_unl = ((1 - p_lab) * p_f0).sum() / (1 - p_lab).sum()
    return float(logit(f_lab) - logit(f_unl))


def _layout(p: dict[str, Any]) -> list[tuple[str, str | None, tuple[float, float] | None]]:
    """The fitted offsets as (table, code or None, bounds or None when free), in vector order."""
    fil, axes, windows = codes()["filiere"], ("ai", "data"), codes()["funding_window"]
    out: list[tuple[str, str | None, tuple[float, float] | None]] = [
        ("label_level", None, None),
        ("label_effect", None, None),
    ]
    out += [("label_filiere", f, DIRECT_LABEL_BOUNDS["label_filiere"]) for f in fil]
    out += [("label_axis", a, DIRECT_LABEL_BOUNDS["label_axis"]) for a in axes]
    out += [
        ("label_company", None, DIRECT_LABEL_BOUNDS["label_company"]),
        ("label_collaborative", None, DIRECT_LABEL_BOUNDS["label_collaborative"]),
    ]
    out += [("funding_window", w, None) for w in windows]
    return out


def _set(p: dict[str, Any], layout, x: np.ndarray) -> None:
    off = p.setdefault("offsets", {})
    for (key, code, _), v in zip(layout, x):
        if code is None:
            off[key] = float(v)
        else:
            off.setdefault(key, {})[code] = float(v)


@dataclass
class Calibration:
    params: dict[str, Any]
    rows: list[tuple[str, float, float, float]]  # (target id, target, tolerance, expected value)
    at_bound: list[str]

    @property
    def missed(self) -> list[tuple[str, float, float, float]]:
        return [r for r in self.rows if abs(r[3] - r[1]) > r[2]]

    def notes(self) -> list[str]:
        """What the calibration could not do, in words (written into data/synthetic.toml)."""
        out = [
            f"{i}: {v:.3f} against {t:.3f} +/- {tol:.3f} (off by {abs(v - t) - tol:.3f} beyond tolerance)"
            for i, t, tol, v in self.missed
        ]
        return out + [f"{name} at its bound" for name in self.at_bound]


def calibrate(rows: int = 100_000, seed: int = 20240101) -> Calibration:
    """Fit the offsets to the figures: penalised, bounded least squares in tolerance units.

    The context, answers and scores of a large base do not depend on the offsets, so
    the base is drawn once; each figure is then measured in expectation from the true
    probabilities, which makes the objective smooth and deterministic. Direct label
    terms are bounded (DIRECT_LABEL_BOUNDS) and penalised toward zero (PENALTY);
    the label level, the label effect on funding and the funders' selectivity per
    window are free.
    """
    from scipy.optimize import minimize

    p = {k: (dict(v) if isinstance(v, dict) else v) for k, v in load_params().items()}
    p["offsets"] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in p.get("offsets", {}).items()}
    base = generate(rows, seed, p)
    targets = _targets(base, p)
    layout = _layout(p)
    bounded = np.array([b is not None for _, _, b in layout])
    # Each offset adds x[j] to the log-odds of the rows its code matches: one row index per
    # offset table (a last, zero slot for rows no offset of that table applies to).
    z_lab0, z_fund0 = base_logits(base, p)
    company = base["carrier_type"].isin(COMPANIES).to_numpy(dtype=float)
    collab = base["collaborative"].to_numpy(dtype=float)
    slots: dict[str, list[int]] = {}
    for j, (key, _code, _) in enumerate(layout):
        slots.setdefault(key, []).append(j)
    column = {"label_filiere": "filiere", "label_axis": "technology_axis", "funding_window": "funding_window"}
    rows_of = {key: pd.Index([layout[j][1] for j in slots[key]]).get_indexer(base[col]) for key, col in column.items()}

    def lookup(x: np.ndarray, key: str) -> np.ndarray:
        return np.append(x[slots[key]], 0.0)[rows_of[key]]  # index -1 (no offset) reads the zero slot

    def values(x: np.ndarray) -> np.ndarray:
        (level,), (effect,) = x[slots["label_level"]], x[slots["label_effect"]]
        z_lab = (
            z_lab0
            + level
            + lookup(x, "label_filiere")
            + lookup(x, "label_axis")
            + x[slots["label_company"][0]] * company
            + x[slots["label_collaborative"][0]] * collab
        )
        z_fund = z_fund0 + lookup(x, "funding_window")
        pl, f1, f0 = expit(z_lab), expit(z_fund + effect), expit(z_fund)
        ps = pl * f1
        return np.array([t.measure(pl, ps, f1, f0) for t in targets])

    want = np.array([t.value for t in targets])
    tol = np.array([t.tolerance for t in targets])

    def loss(x: np.ndarray) -> float:
        return float((((values(x) - want) / tol) ** 2).sum() + PENALTY * ((x[bounded] / 0.5) ** 2).sum())

    x0 = np.zeros(len(layout))
    fit = minimize(
        loss, x0, method="L-BFGS-B", bounds=[b or (None, None) for _, _, b in layout], options={"maxiter": 500}
    )
    got = values(fit.x)
    _set(p, layout, fit.x)
    # a bound is binding where the fit sits on it and the loss would fall beyond it
    at_bound = [
        f"{key}{'.' + code if code else ''} = {v:+.3f}"
        for (key, code, b), v, g in zip(layout, fit.x, fit.jac)
        if b is not None and ((v - b[0] < 1e-3 and g > 1e-6) or (b[1] - v < 1e-3 and g < -1e-6))
    ]
    return Calibration(p, [(t.id, t.value, t.tolerance, float(g)) for t, g in zip(targets, got)], at_bound)


_MARKER = "# --- fitted offsets"


def save_offsets(cal: Calibration, path=PARAMS_PATH) -> None:
    """Rewrite the fitted [offsets] section of the parameter file, keeping the rest as written.

    What the calibration could not meet, and the direct terms it pushed to a bound,
    are written above the offsets, so that the file says which figures are missed.
    """
    text = open(path, encoding="utf-8").read()
    head = text[: text.index(_MARKER)]
    off = cal.params["offsets"]

    def inline(d: dict[str, float]) -> str:
        return "{ " + ", ".join(f"{k} = {v:.4f}" for k, v in d.items()) + " }"

    notes = cal.notes() or ["every target within its tolerance, no direct term at its bound"]
    lines = [f"{_MARKER}: written by `cep-scoring generate --calibrate`, do not edit by hand"]
    lines += [f"# calibration: {n}" for n in notes]
    lines += ["[offsets]"]
    lines += [f"{k} = {v:.4f}" for k, v in off.items() if not isinstance(v, dict)]
    lines += [f"{k} = {inline(v)}" for k, v in off.items() if isinstance(v, dict)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head + "\n".join(lines) + "\n")
    load_params.cache_clear()
