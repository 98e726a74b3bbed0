"""Synthetic CEP base: an explicit structural model calibrated to the published figures.

The real CEP base is private; only aggregates are published. This module draws
a historical base (2019-2024) from the assumptions stated in
`data/synthetic.toml`:

    context (year, filière, carrier, consortium, window, axis, TRL, budget)
      -> latent project qualities -> questionnaire answers
      -> committee criterion scores (rubric + evaluator noise)
      -> label decision -> funding decision (with a label effect)

Each row keeps the true probabilities it was drawn from (`true_p_labeled`,
`true_p_funded`, `true_p_success`): they are functions of the row's own
columns only, so that a model can be compared with the best achievable.

Dossier counts per (year, filière) are fixed by the parameters (scaled to the
requested size), not drawn: how many dossiers the CEP examined is a fact of
the base, and drawing it would blur the count figures (F4, F12, F13).
`calibrate()` fits the intercept offsets so that success rates and shares
match `data/figures.csv`; its result is stored in `data/synthetic.toml`.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from scoring import DATA_DIR
from scoring.reference import catalogue
from scoring.rubric import round_half, rubric, rubric_arrays
from scoring.schema import CRITERIA, NOT_APPLICABLE, SCORE_COLUMNS, codes

PARAMS_PATH = DATA_DIR / "synthetic.toml"
TRUE_P_COLUMNS = ("true_p_labeled", "true_p_funded", "true_p_success")
COMPANIES = ("tpe_pme", "eti", "grand_groupe")
_CALLS = {
    "region_idf": ["Innov'Up", "Innov'Up Leader", "Pack IA", "Santé numérique et innovation"],
    "anr": ["PRC", "PRCE", "JCJC"],
    "bpifrance": ["France 2030", "Aide pour projet d'innovation"],
}


@lru_cache(maxsize=4)
def load_params(path: str | None = None) -> dict[str, Any]:
    with open(path or PARAMS_PATH, "rb") as fh:
        return tomllib.load(fh)


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to `weights` summing exactly to `total`."""
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(int)
    short = total - counts.sum()
    counts.flat[np.argsort(-(raw - counts).ravel(), kind="stable")[:short]] += 1
    return counts


def _draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row of a (n, K) probability matrix (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _table(spec: dict[str, float], keys: tuple[str, ...]) -> np.ndarray:
    return np.array([float(spec.get(k, 0.0)) for k in keys])


def _by(values: np.ndarray, keys: tuple[str, ...], table: dict[str, dict[str, float]],
        cols: tuple[str, ...]) -> np.ndarray:
    """Row-wise lookup of a nested table: out[i] = table[values[i]][cols]."""
    lut = np.array([_table(table.get(k, {}), cols) for k in keys])
    return lut[pd.Index(keys).get_indexer(values)]


def h(score: np.ndarray) -> np.ndarray:
    """Monotone, mildly saturating effect of a 0-5 score; 0 where not applicable."""
    d = np.nan_to_num(score - 2.5, nan=0.0)
    return d - 0.04 * d ** 3


def generate(rows: int, seed: int, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Draw a synthetic CEP base of `rows` dossiers; same (rows, seed) -> same frame."""
    if rows < 1:
        raise ValueError(f"rows={rows}: give a positive number of dossiers")
    p = params or load_params()
    rng = np.random.default_rng(seed)
    ctx = _context(rng, rows, p)
    answers = _answers(rng, ctx, p)
    frame = pd.concat([ctx, answers], axis=1)
    raw, _, _ = rubric_arrays(frame)
    noise = rng.normal(0.0, p["latent"]["evaluator_noise_sd"], raw.shape)
    scores = np.clip(round_half(raw + noise), 0.0, 5.0)
    for j, col in enumerate(SCORE_COLUMNS):
        frame[col] = scores[:, j]
    p_lab, p_f1, p_f0 = true_probabilities(frame, p)
    labeled = rng.random(rows) < p_lab
    funded = rng.random(rows) < np.where(labeled, p_f1, p_f0)
    frame["labeled"] = labeled
    frame["funded"] = funded
    frame["true_p_labeled"] = p_lab
    frame["true_p_funded"] = p_lab * p_f1 + (1 - p_lab) * p_f0
    frame["true_p_success"] = p_lab * p_f1
    return frame


def _context(rng: np.random.Generator, n: int, p: dict[str, Any]) -> pd.DataFrame:
    fil_codes = codes()["filiere"]
    years = np.array(p["years"])
    grid = np.array([p["counts"][f] for f in fil_codes], float)  # (filière, year)
    cells = _largest_remainder(grid, n)
    filiere = np.repeat(np.tile(np.array(fil_codes, dtype=object)[:, None], (1, len(years))).ravel(), cells.ravel())
    year = np.repeat(np.tile(years, len(fil_codes)), cells.ravel())
    order = np.lexsort((rng.random(n), year))  # by year, random within a year
    filiere, year = filiere[order], year[order]

    carriers = codes()["carrier_type"]
    carrier = np.array(carriers, dtype=object)[_draw(rng, _by(filiere, fil_codes, p["carrier"], carriers))]
    collab = rng.random(n) < _table(p["collaborative"], carriers)[pd.Index(carriers).get_indexer(carrier)]

    windows = codes()["funding_window"]
    cat = catalogue()
    weights = _by(carrier, carriers, p["window_weights"], windows)
    for k, w in enumerate(windows):
        spec = cat[w]
        ok = np.isin(carrier, spec.eligible_carriers) & (collab | ~spec.collaboration_required)
        ok &= (year >= spec.open_from) & ((year <= spec.open_until) if spec.open_until else True)
        weights[:, k] *= ok
    window = np.array(windows, dtype=object)[_draw(rng, weights)]

    areas = codes()["therapeutic_area"]
    area = np.array(areas, dtype=object)[_draw(rng, np.tile(_table(p["therapeutic_area"], areas), (n, 1)))]
    axes = codes()["technology_axis"]
    axis = np.array(axes, dtype=object)[_draw(rng, _by(filiere, fil_codes, p["technology_axis"], axes))]

    lo = np.array([cat[w].trl_min for w in window])
    hi = np.array([cat[w].trl_max for w in window])
    mu = np.select([carrier == "academic", carrier == "hospital"], [3.0, 4.0], 5.5)
    trl = np.clip(np.round(rng.normal(mu, 1.3)), lo, hi).astype(int)
    amin = np.array([cat[w].aid_min_eur for w in window])
    amax = np.array([cat[w].aid_max_eur for w in window])
    aid = np.round(np.exp(np.log(amin) + np.log(amax / amin) * rng.beta(1.3, 2.5, n)), -3)
    aid = np.clip(aid, amin, amax)
    public = np.isin(carrier, ("academic", "hospital"))
    ratio = np.where(public, rng.uniform(0.7, 1.0, n), rng.uniform(0.35, 0.7, n))
    budget = np.maximum(np.round(aid / ratio, -3), aid)
    duration = rng.choice(np.array([12, 18, 24, 36, 48]), n, p=[0.1, 0.2, 0.35, 0.25, 0.1])

    n_partners = np.where(collab, 1 + np.minimum(rng.poisson(1.2, n), 11), 0)
    company = np.isin(carrier, COMPANIES)
    p_acad = np.select([company, carrier == "academic"], [0.7, 0.3], 0.6)
    p_ind = np.select([company, carrier == "academic"], [0.3, 0.6], 0.5)
    p_clin = np.select([company, carrier == "academic"], [0.5, 0.5], 0.3)
    acad = collab & (rng.random(n) < p_acad)
    ind = collab & (rng.random(n) < p_ind)
    clin = collab & (rng.random(n) < p_clin)
    none = collab & ~acad & ~ind & ~clin
    acad |= none & company
    ind |= none & ~company

    day = rng.integers(0, 365, n)
    submission = (pd.to_datetime(pd.Series(year).astype(str) + "-01-01") + pd.to_timedelta(day, unit="D"))
    call = np.array([_CALLS[w][i % len(_CALLS[w])] if w in _CALLS else "" for i, w in
                     zip(rng.integers(0, 12, n), window)], dtype=object)
    idx = np.arange(1, n + 1)
    return pd.DataFrame({
        "dossier_id": [f"SYN-{y}-{i:06d}" for y, i in zip(year, idx)],
        "acronym": [f"SYN{i:06d}" for i in idx],
        "title": [f"Synthetic dossier {i}" for i in idx],
        "year": year,
        "submission_date": submission.dt.strftime("%Y-%m-%d").to_numpy(),
        "filiere": filiere,
        "funding_window": window,
        "call": np.where(call == "", None, call),
        "carrier_type": carrier,
        "collaborative": collab,
        "partner_academic": acad,
        "partner_industrial": ind,
        "partner_clinical": clin,
        "n_partners": n_partners,
        "therapeutic_area": area,
        "technology_axis": axis,
        "trl": trl,
        "budget_eur": budget,
        "aid_requested_eur": aid,
        "duration_months": duration,
        "preliminary_interview": (year >= 2024) & (rng.random(n) < 0.9),
    })


def correlated_normals(rng: np.random.Generator, n: int, cov: np.ndarray) -> np.ndarray:
    """(n, k) centred normal draws with covariance `cov`: standard normals times its Cholesky factor.

    Not `rng.multivariate_normal`: its default factor comes from an SVD, and the
    equicorrelated `cov` has a repeated eigenvalue, so LAPACK is free to return any
    signs and basis of that eigenspace; it does, differently by CPU kernel, and the
    same seed gave other answers on another machine. The Cholesky factor is unique
    (positive diagonal). The product is summed column by column with elementwise
    operations rather than `@`: BLAS kernels order the sums (and use FMA or not)
    by CPU, which moved the last bits of the latents, hence of `true_p_*`.
    """
    factor = np.linalg.cholesky(cov)
    e = rng.standard_normal((n, len(cov)))
    z = np.zeros((n, len(cov)))
    for i in range(len(cov)):
        z += e[:, i, None] * factor[:, i]
    return z


def _answers(rng: np.random.Generator, ctx: pd.DataFrame, p: dict[str, Any]) -> pd.DataFrame:
    n = len(ctx)
    lat = p["latent"]
    rho = lat["correlation"]
    cov = np.full((len(CRITERIA), len(CRITERIA)), rho) + (1 - rho) * np.eye(len(CRITERIA))
    carriers = codes()["carrier_type"]
    shift = _table(lat["mean_shift_carrier"], carriers)[pd.Index(carriers).get_indexer(ctx["carrier_type"])]
    mean = lat["maturity_trend_per_year"] * (ctx["year"].to_numpy() - 2021.5) + shift
    z = correlated_normals(rng, n, cov) + mean[:, None]
    na = p["not_applicable"]
    no_data = np.isin(ctx["technology_axis"], na["no_data_axes"]) & (rng.random(n) < na["no_data_probability"])
    alone = ~ctx["collaborative"].to_numpy(bool)
    load = lat["answer_loading"]
    out = {}
    for j, c in enumerate(CRITERIA):
        for q in rubric()[c]:
            k = len(q.answers)
            u = load * z[:, j] + np.sqrt(1 - load ** 2) * rng.normal(size=n)
            level = np.searchsorted(norm.ppf(np.arange(1, k) / k), u)
            ans = np.array(q.answers, dtype=object)[level]
            if c == "data_quality" or q.id == "rr_gdpr":
                ans[no_data] = NOT_APPLICABLE
            if q.id == "sp_consortium":
                ans[alone] = NOT_APPLICABLE
            ans[rng.random(n) < na["missing_answer_probability"]] = None
            out[q.id] = ans
    return pd.DataFrame(out)


def _weights(frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
    """Per-row criterion weights: base + filière + axis + window terms, (n, 5)."""
    n = len(frame)
    w = np.tile(_table(spec["base_weight"], CRITERIA), (n, 1))
    for key, col in (("filiere_weight", "filiere"), ("axis_weight", "technology_axis"),
                     ("window_weight", "funding_window")):
        for code, terms in spec.get(key, {}).items():
            w[frame[col].to_numpy() == code] += _table(terms, CRITERIA)
    return w


def _offset(frame: pd.DataFrame, table: dict[str, float], col: str) -> np.ndarray:
    return frame[col].map(lambda v: table.get(v, 0.0)).to_numpy(dtype=float)


def true_probabilities(frame: pd.DataFrame, p: dict[str, Any] | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(labelled), P(funded | labelled), P(funded | not labelled)) of each row.

    Functions of the row's observed columns only (scores and context).
    """
    p = p or load_params()
    off = p.get("offsets", {})
    scores = np.column_stack([frame[c].to_numpy(dtype=float) for c in SCORE_COLUMNS])
    hs = h(scores)
    year = frame["year"].to_numpy(dtype=float)
    interview = frame["preliminary_interview"].to_numpy(dtype=float)
    company = frame["carrier_type"].isin(COMPANIES).to_numpy(dtype=float)
    collab = frame["collaborative"].to_numpy(dtype=float)
    lab, fund = p["label"], p["funding"]
    z_lab = (lab["intercept"] + _offset(frame, off.get("label_filiere", {}), "filiere")
             + _offset(frame, off.get("label_axis", {}), "technology_axis")
             + off.get("label_company", 0.0) * company + off.get("label_collaborative", 0.0) * collab
             + lab["interview"] * interview + (_weights(frame, lab) * hs).sum(axis=1))
    z_fund = (fund["intercept"] + _offset(frame, off.get("funding_window", {}), "funding_window")
              + fund["year_trend"] * (year - 2021.5) + fund["interview"] * interview
              + (_weights(frame, fund) * hs).sum(axis=1))
    return expit(z_lab), expit(z_fund + off.get("label_effect", 0.0)), expit(z_fund)


# --------------------------------------------------------------------------- calibration

#: Success-rate targets the sources do not publish, stated as assumptions.
ASSUMED_WINDOW_SUCCESS = {"bpifrance": 0.33, "phrc": 0.35, "horizon_europe": 0.25, "rhu": 0.30}
ADEME_FUNDED = (0.47, 0.27)  # i-Nov waves 1-4: funded share of labelled / unlabelled


def calibrate(rows: int = 100_000, seed: int = 20240101, iterations: int = 20) -> dict[str, Any]:
    """Fit the intercept offsets so that a large base reproduces the figures.

    Each step moves every offset by the logit gap between its target and what
    the current parameters produce on a large base (a damped fixed-point
    iteration). Deterministic for a given seed.
    """
    from scoring.reference import figures

    p = {k: (dict(v) if isinstance(v, dict) else v) for k, v in load_params().items()}
    fig = figures().set_index("id")
    target_fil = {"e_sante": float(fig.loc["F1", "value"])} | {
        f: float(fig.loc["F2", "value"]) for f in ("pharma_biotech", "medtech", "dm_div")}
    target_axis = {"ai": float(fig.loc["F8a", "value"]), "data": float(fig.loc["F8b", "value"])}
    region = float(fig.loc["F6", "value"])
    target_win = {"anr": float(fig.loc["F5", "value"]), "region_idf": region, "i_demo": region,
                  "feder": region} | ASSUMED_WINDOW_SUCCESS
    target_company = float(fig.loc["F14", "value"])
    target_collab = float(fig.loc["F11b", "value"])
    off = p.setdefault("offsets", {})
    for key in ("label_filiere", "label_axis", "funding_window"):
        off[key] = dict(off.get(key, {}))
    for _ in range(iterations):
        base = generate(rows, seed, p)
        recent = base[base["year"] >= 2022]
        s = recent["labeled"] & recent["funded"]

        def gap(target: float, measured: float) -> float:
            return 0.7 * (logit(target) - logit(np.clip(measured, 1e-4, 1 - 1e-4)))

        for f, t in target_fil.items():
            off["label_filiere"][f] = off["label_filiere"].get(f, 0.0) + gap(t, s[recent["filiere"] == f].mean())
        for a, t in target_axis.items():
            off["label_axis"][a] = off["label_axis"].get(a, 0.0) + gap(t, s[recent["technology_axis"] == a].mean())
        for w, t in target_win.items():
            rows_w = (base if w == "rhu" else recent)
            sw = rows_w["labeled"] & rows_w["funded"]
            off["funding_window"][w] = off["funding_window"].get(w, 0.0) + gap(t, sw[rows_w["funding_window"] == w].mean())
        lab = recent[recent["labeled"]]
        off["label_company"] = off.get("label_company", 0.0) + gap(target_company, lab["carrier_type"].isin(COMPANIES).mean())
        off["label_collaborative"] = off.get("label_collaborative", 0.0) + gap(
            target_collab, recent.loc[s, "collaborative"].mean())
        bpi = base[base["funding_window"] == "bpifrance"]
        f_lab, f_unl = bpi.loc[bpi["labeled"], "funded"].mean(), bpi.loc[~bpi["labeled"], "funded"].mean()
        want = logit(ADEME_FUNDED[0]) - logit(ADEME_FUNDED[1])
        off["label_effect"] = off.get("label_effect", 0.0) + 0.7 * (want - (logit(f_lab) - logit(f_unl)))
    return p


_MARKER = "# --- fitted offsets"


def save_offsets(p: dict[str, Any], path=PARAMS_PATH) -> None:
    """Rewrite the fitted [offsets] section of the parameter file, keeping the rest as written."""
    text = open(path, encoding="utf-8").read()
    head = text[:text.index(_MARKER)]
    off = p["offsets"]

    def inline(d: dict[str, float]) -> str:
        return "{ " + ", ".join(f"{k} = {v:.4f}" for k, v in d.items()) + " }"

    lines = [f"{_MARKER}: written by `cep-scoring generate --calibrate`, do not edit by hand", "[offsets]"]
    lines += [f"{k} = {v:.4f}" for k, v in off.items() if not isinstance(v, dict)]
    lines += [f"{k} = {inline(v)}" for k, v in off.items() if isinstance(v, dict)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head + "\n".join(lines) + "\n")
    load_params.cache_clear()
