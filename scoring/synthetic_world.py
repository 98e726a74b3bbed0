"""The synthetic world: the dossiers' context, their latent qualities, answers and scores, their outcomes.

Owns `generate`: dossier counts per (year, filière) are fixed by the
parameters (scaled to the requested size), not drawn: how many dossiers the
CEP examined is a fact of the base, and drawing it would blur the count
figures (F4, F12, F13). Context (filière, axis, carrier, consortium, window,
TRL) moves the latent qualities and the answers the committee names
(`[mediation]` in data/synthetic.toml, `mediation_shifts`): the committee
judges the dossier, so the published gaps come through the scores. The
committee's criterion scores are the rubric's plus evaluator noise; the label
and funding outcomes are drawn from `scoring.synthetic_outcomes`'
probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from scoring.catalogue import CRITERIA, NOT_APPLICABLE, SCORE_COLUMNS, codes
from scoring.reference import catalogue
from scoring.rubric import round_half, rubric, rubric_arrays
from scoring.synthetic_outcomes import true_probabilities
from scoring.synthetic_params import COMPANIES, check_windows, load_params, lookup, vector

TRUE_P_COLUMNS = ("true_p_labeled", "true_p_funded", "true_p_success")


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


def generate(rows: int, seed: int, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Draw a synthetic CEP base of `rows` dossiers; same (rows, seed) -> same frame."""
    if rows < 1:
        raise ValueError(f"rows={rows}: give a positive number of dossiers")
    p = params or load_params()
    check_windows(p)
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
    carrier = np.array(carriers, dtype=object)[_draw(rng, lookup(filiere, fil_codes, p["carrier"], carriers))]
    collab = rng.random(n) < vector(p["collaborative"], carriers)[pd.Index(carriers).get_indexer(carrier)]

    windows = codes()["funding_window"]
    cat = catalogue()
    weights = lookup(carrier, carriers, p["window_weights"], windows)
    for k, w in enumerate(windows):
        spec = cat[w]
        ok = np.isin(carrier, spec.eligible_carriers) & (collab | ~spec.collaboration_required)
        # a carrier that needs a partner kind at this window (ANR: a company beside a public lab) comes in a consortium
        if spec.partner_required:
            ok &= collab | ~np.isin(carrier, spec.partner_required_for)
        ok &= (year >= spec.open_from) & ((year <= spec.open_until) if spec.open_until else True)
        weights[:, k] *= ok
    window = np.array(windows, dtype=object)[_draw(rng, weights)]

    areas = codes()["therapeutic_area"]
    area = np.array(areas, dtype=object)[_draw(rng, np.tile(vector(p["therapeutic_area"], areas), (n, 1)))]
    axes = codes()["technology_axis"]
    axis = np.array(axes, dtype=object)[_draw(rng, lookup(filiere, fil_codes, p["technology_axis"], axes))]

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
    kinds = {"academic": acad, "industrial": ind, "clinical": clin}
    for w, spec in cat.items():  # the consortium has the partner the window requires of such a carrier
        if spec.partner_required:
            kinds[spec.partner_required] |= (window == w) & np.isin(carrier, spec.partner_required_for)
    none = collab & ~acad & ~ind & ~clin
    acad |= none & company
    ind |= none & ~company

    day = rng.integers(0, 365, n)
    submission = pd.to_datetime(pd.Series(year).astype(str) + "-01-01") + pd.to_timedelta(day, unit="D")
    calls = p.get("calls", {})
    call = np.array(
        [calls[w][i % len(calls[w])] if calls.get(w) else None for i, w in zip(rng.integers(0, 12, n), window)],
        dtype=object,
    )
    idx = np.arange(1, n + 1)
    return pd.DataFrame(
        {
            "dossier_id": [f"SYN-{y}-{i:06d}" for y, i in zip(year, idx)],
            "acronym": [f"SYN{i:06d}" for i in idx],
            "title": [f"Synthetic dossier {i}" for i in idx],
            "year": year,
            "submission_date": submission.dt.strftime("%Y-%m-%d").to_numpy(),
            "filiere": filiere,
            "funding_window": window,
            "call": call,
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
        }
    )


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


#: TRL around which the TRL mediation slope is centred (the middle of the 1-9 scale's span in use).
TRL_CENTRE = 4.5


def mediation_shifts(ctx: pd.DataFrame, p: dict[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """How each dossier's context moves its qualities: ((n, 5) latent shifts, {question: (n,) shifts}).

    Read from `[mediation]` in data/synthetic.toml: a table per context column and
    code (booleans as "true"/"false"), `trl` as a slope per TRL level.
    """
    n = len(ctx)
    latent = np.zeros((n, len(CRITERIA)))
    answers: dict[str, np.ndarray] = {}

    known = {q.id for qs in rubric().values() for q in qs}

    def add(rows: np.ndarray, spec: dict[str, Any]) -> None:
        latent[:] += rows[:, None] * vector(spec.get("latent", {}), CRITERIA)
        for q, v in spec.get("answers", {}).items():
            if q not in known:
                raise ValueError(f"data/synthetic.toml [mediation]: {q!r} is not a rubric question")
            answers[q] = answers.get(q, np.zeros(n)) + rows * float(v)

    for col, table in p.get("mediation", {}).items():
        if col == "trl":
            add(ctx["trl"].to_numpy(dtype=float) - TRL_CENTRE, table)
            continue
        values = ctx[col].to_numpy()
        if values.dtype == bool:
            values = np.where(values, "true", "false")
        for code, spec in table.items():
            add((values == code).astype(float), spec)
    return latent, answers


def _answers(rng: np.random.Generator, ctx: pd.DataFrame, p: dict[str, Any]) -> pd.DataFrame:
    n = len(ctx)
    lat = p["latent"]
    rho = lat["correlation"]
    cov = np.full((len(CRITERIA), len(CRITERIA)), rho) + (1 - rho) * np.eye(len(CRITERIA))
    shift, answer_shift = mediation_shifts(ctx, p)
    mean = lat["maturity_trend_per_year"] * (ctx["year"].to_numpy() - 2021.5)
    z = correlated_normals(rng, n, cov) + mean[:, None] + shift
    na = p["not_applicable"]
    no_data = np.isin(ctx["technology_axis"], na["no_data_axes"]) & (rng.random(n) < na["no_data_probability"])
    alone = ~ctx["collaborative"].to_numpy(bool)
    load = lat["answer_loading"]
    out = {}
    for j, c in enumerate(CRITERIA):
        for q in rubric()[c]:
            k = len(q.answers)
            u = load * z[:, j] + np.sqrt(1 - load**2) * rng.normal(size=n) + answer_shift.get(q.id, 0.0)
            level = np.searchsorted(norm.ppf(np.arange(1, k) / k), u)
            ans = np.array(q.answers, dtype=object)[level]
            if c == "data_quality" or q.id == "rr_gdpr":
                ans[no_data] = NOT_APPLICABLE
            if q.id == "sp_consortium":
                ans[alone] = NOT_APPLICABLE
            ans[rng.random(n) < na["missing_answer_probability"]] = None
            out[q.id] = ans
    return pd.DataFrame(out)
