"""Explanations of every score: evidence, exact contributions, reasons, actions, window advice.

Everything here returns plain data (dicts, arrays); drawing is the UI's job.

Contributions are exact interventional SHAP values of the additive model,
computed in closed form (the path shap's LinearExplainer takes for a linear
model, extended to the criterion x context pairs, each a two-player game):
for a column owned by one input, beta (x - E x); for a pair column
u(a) v(b), each input gets half of its own marginal effect under each order.
The Platt slope multiplies them (calibration is affine in log-odds), and one
per-dossier factor (p - p0) / (z - z0) turns log-odds into probability
points, so that base + sum(values) equals the probability shown, exactly.
P(success) = P(L) P(F|L) combines the two models by the exact product rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from scoring import formatting, schema
from scoring.features import CRITERIA, INPUTS, MODEL_COLUMNS, Design
from scoring.i18n import code_label, t
from scoring.model import CEPModel, CalibratedAdditive, Matrices
from scoring.reference import published_rate_filiere, published_rate_window
from scoring.rubric import Question, ScoreTable, all_questions, assess, row_scores, scores_of

LABELLING_LINE = 0.5  # P(labelled) at which the committee is more likely to label than not
PROMISING = 0.25  # below this P(success) in every open window, the advice is to re-plan
N_ACTIONS = 5
MAX_SET = 3  # exhaustive search for the labelling set up to this many changes


class InvalidDossiers(ValueError):
    """Some dossiers failed validation; `.issues` says which row, field and why."""

    def __init__(self, issues: list[schema.Issue]):
        self.issues = issues
        super().__init__("; ".join(i.message() for i in issues))


# --------------------------------------------------------------------------- exact contributions

@dataclass(frozen=True)
class _Plan:
    """Column bookkeeping of one design for the closed-form SHAP values."""

    single: np.ndarray  # columns owned by one input
    pair: np.ndarray  # interaction columns
    u_cols: tuple[np.ndarray, ...]  # per pair column: the ramp columns whose sum is u
    v_col: np.ndarray  # per pair column: the one-hot column giving v


@lru_cache(maxsize=8)
def _plan(design: Design) -> _Plan:
    names = design.names
    index = {n: j for j, n in enumerate(names)}
    pair = np.flatnonzero(design.partner >= 0)
    u_cols = tuple(np.array([index[f"{CRITERIA[design.u_src[j]]}:ramp{k}"] for k in range(5)]) for j in pair)
    v_col = np.array([index[names[j].split("*", 1)[1]] for j in pair])
    return _Plan(np.flatnonzero(design.partner < 0), pair, u_cols, v_col)


def logit_contributions(cal: CalibratedAdditive, design: Design, X: np.ndarray,
                        background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(base (n,), phi (n, k)) in calibrated log-odds; base + phi.sum(1) == cal.logit(X)."""
    plan = _plan(design)
    beta = cal.model.coef_
    mean = cal.background_mean if background is None else background
    n, k = X.shape[0], len(design.inputs)
    phi = np.zeros((n, k))
    s = plan.single
    np.add.at(phi.T, design.owner[s], ((X[:, s] - mean[s]) * beta[s]).T)
    if len(plan.pair):
        p = plan.pair
        u = np.column_stack([X[:, c].sum(axis=1) for c in plan.u_cols])
        eu = np.array([mean[c].sum() for c in plan.u_cols])
        v = X[:, plan.v_col]
        ev = mean[plan.v_col]
        euv = mean[p]
        b = beta[p]
        uv = X[:, p]
        to_u = 0.5 * b * ((uv - eu * v) + (u * ev - euv))
        to_v = 0.5 * b * ((uv - u * ev) + (eu * v - euv))
        np.add.at(phi.T, design.owner[p], to_u.T)
        np.add.at(phi.T, design.partner[p], to_v.T)
    base = cal.model.intercept_ + mean @ beta
    return cal.platt(base) * np.ones(n), cal.platt.a * phi


def _to_probability(base_z: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds contributions -> probability points, exactly additive (secant of the logistic)."""
    z = base_z + phi.sum(axis=1)
    p, p0 = expit(z), expit(base_z)
    dz = z - base_z
    slope = np.where(np.abs(dz) > 1e-9, (p - p0) / np.where(np.abs(dz) > 1e-9, dz, 1.0), p * (1 - p))
    return p0, phi * slope[:, None]


def contributions(model: CEPModel, frame: pd.DataFrame, table: ScoreTable | None = None,
                  matrices: Matrices | None = None) -> dict[str, Any]:
    """Exact contributions of every input to P(labelled) and P(success), vectorised.

    Returns {"inputs": names, "labeled": (base, values), "success": (base, values)}
    on the 0-1 scale: base + values.sum(1) equals model.predict(frame)'s probability.
    """
    m = matrices or model.matrices(frame, table)
    X_lab, X_f1 = m.label, m.fund
    zl0, phil = logit_contributions(model.label_, model.label_design_, X_lab)
    bg = model.fund_.background_mean.copy()
    bg[-1] = 1.0  # success is funding *given the label*: the label is held at 1 in the background too
    zf0, phif = logit_contributions(model.fund_, model.fund_design_, X_f1, bg)
    a0, cl = _to_probability(zl0, phil)
    b0, cf = _to_probability(zf0, phif[:, :len(INPUTS)])
    a, b = a0 + cl.sum(axis=1), b0 + cf.sum(axis=1)
    cs = cl * ((b + b0) / 2)[:, None] + cf * ((a + a0) / 2)[:, None]
    return {"inputs": INPUTS, "labeled": (a0, cl), "success": (a0 * b0, cs)}


# --------------------------------------------------------------------------- words

def _pct(p: float) -> str:
    return f"{100 * p:.0f}"


def _points(v: float, lang: str) -> str:
    return formatting.points(v, lang)


def input_label(name: str, lang: str) -> str:
    return t(f"criterion.{name}", lang) if name in CRITERIA else t(f"input.{name}", lang)


def input_value(name: str, row: dict[str, Any], scores: dict[str, Any], lang: str) -> str:
    """How the dossier stands on an input, in words ("2/5", "e-santé", "TRL 4")."""
    if name in CRITERIA:
        s = scores[name]
        return t("value.no_score", lang) if s is None else formatting.score(s, lang)
    v = row.get(name)
    if name in ("filiere", "funding_window", "carrier_type", "therapeutic_area", "technology_axis"):
        return code_label(name, v, lang)
    if name in ("collaborative", "preliminary_interview"):
        return t("value.yes" if v else "value.no", lang)
    if name == "partners":
        kinds = [t(f"value.partner_{k}", lang) for k in ("academic", "industrial", "clinical") if row.get(f"partner_{k}")]
        n = row.get("n_partners")
        count = "?" if n is None or pd.isna(n) else formatting.number(n, lang)
        return t("value.partners", lang, n=count, kinds=", ".join(kinds)) if kinds else count
    if name == "budget_eur":
        return t("value.thousand_euros", lang, v=formatting.number(v / 1000, lang))
    if name == "aid_ratio":
        return formatting.percent(row["aid_requested_eur"] / row["budget_eur"], lang)
    if name == "trl":
        return f"TRL {int(v)}"
    return str(int(v)) if isinstance(v, (int, float, np.integer, np.floating)) else str(v)


def reason_text(name: str, value: float, row: dict[str, Any], scores: dict[str, Any], lang: str,
                detail: str = "") -> str:
    return t("reason.sentence", lang, input=input_label(name, lang), value=input_value(name, row, scores, lang),
             detail=f" \u2014 {detail}" if detail else "", points=_points(value, lang))


# --------------------------------------------------------------------------- actions

def _moves(row: dict[str, Any]) -> list[tuple[Question, str, str, int]]:
    """Every upgrade of an answered question to a better-scoring answer: (question, from, to, cost)."""
    out = []
    for q in all_questions():
        a = row.get(q.id)
        if not isinstance(a, str) or a not in q.points:
            continue
        for b in q.answers[q.rank(a) + 1:]:
            if q.points[b] > q.points[a]:
                out.append((q, a, b, q.rank(b) - q.rank(a)))
    return out


def _predict_moves(model: CEPModel, base: np.ndarray, row: dict[str, Any],
                   move_sets: list[list[tuple[Question, str, str, int]]]):
    """Predictions of dossier `row` (model rows `base`) with each set of answer changes applied."""
    rescored = [row_scores({**row, **{q.id: b for q, _, b, _ in ms}}) for ms in move_sets]
    scores = np.array([r[0] for r in rescored])
    sources = np.array([r[1] for r in rescored], dtype=object)
    return model.what_if(base, ScoreTable(scores, scores, sources))


def actions(model: CEPModel, base: np.ndarray, row: dict[str, Any], lang: str,
            p_success: float, p_labeled: float) -> list[dict[str, Any]]:
    """Answer changes that raise P(success) the most, each gain recomputed by the model.

    Best first, cheapest first at equal gain; the smallest set of changes that
    brings P(labelled) over the labelling line is flagged `in_labelling_set`.
    """
    moves = _moves(row)
    if not moves:
        return []
    pred = _predict_moves(model, base, row, [[m] for m in moves])
    gains, lab_gains = pred.success - p_success, pred.labeled - p_labeled
    order = sorted(range(len(moves)), key=lambda i: (-round(gains[i], 4), moves[i][3]))
    chosen, seen = [], set()
    for i in order:
        if gains[i] > 1e-4 and moves[i][0].id not in seen:
            chosen.append(i)
            seen.add(moves[i][0].id)
    chosen = chosen[:N_ACTIONS]
    labelling = _labelling_set(model, base, row, moves, lab_gains, p_labeled)
    for i in labelling:
        if i not in chosen:
            chosen.append(i)
    chosen.sort(key=lambda i: (-round(gains[i], 4), moves[i][3]))
    out = []
    for i in chosen:
        q, a, b, cost = moves[i]
        out.append({
            "field": f"answers.{q.id}", "from": a, "to": b, "gain": float(gains[i]), "cost": cost,
            "in_labelling_set": i in labelling,
            "text": t("action.sentence", lang, question=t(f"rubric.{q.id}", lang),
                      old=t(f"rubric.{q.id}.{a}", lang), new=t(f"rubric.{q.id}.{b}", lang), points=_points(gains[i], lang)),
        })
    return out


def _labelling_set(model: CEPModel, base: np.ndarray, row: dict[str, Any], moves,
                   lab_gains: np.ndarray, p_labeled: float) -> list[int]:
    """Indices of the smallest set of moves (distinct questions) reaching the labelling line, or []."""
    if p_labeled >= LABELLING_LINE:
        return []
    best_per_q: dict[str, int] = {}
    for i, m in enumerate(moves):
        j = best_per_q.get(m[0].id)
        if j is None or lab_gains[i] > lab_gains[j]:
            best_per_q[m[0].id] = i
    top = sorted(best_per_q.values(), key=lambda i: -lab_gains[i])[:8]
    for size in range(1, min(MAX_SET, len(top)) + 1):
        sets = list(combinations(top, size))
        pl = _predict_moves(model, base, row, [[moves[i] for i in s] for s in sets]).labeled
        ok = np.flatnonzero(pl >= LABELLING_LINE)
        if len(ok):
            best = max(ok, key=lambda k: (pl[k], -sum(moves[i][3] for i in sets[k])))
            return list(sets[best])
    return []


# --------------------------------------------------------------------------- one dossier

def _windows(model: CEPModel, frame: pd.DataFrame, table: ScoreTable, lang: str) -> list[dict[str, Any]]:
    wm = model.window_matrix(frame, table)
    return [{"window": r["window"], "label": code_label("funding_window", r["window"], lang),
             "eligible": bool(r["eligible"]), "rule": r["rule"], "rule_text": t(f"rule.{r['rule']}", lang) if r["rule"] else "",
             "labeled": float(r["labeled"]), "funded": float(r["funded"]), "success": float(r["success"])}
            for r in _records(wm)]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts; one conversion of the whole frame (pandas' to_dict walks Arrow text cell by cell)."""
    cols = list(frame.columns)
    return [dict(zip(cols, values)) for values in frame.to_numpy(dtype=object)]


def _window_advice(windows: list[dict[str, Any]], target: str, p_success: float, lang: str) -> str:
    open_ = [w for w in windows if w["eligible"]]
    if not open_ or open_[0]["success"] < PROMISING:
        best = open_[0] if open_ else None
        return t("advice.replan", lang, best=best["label"] if best else "-",
                 p=_pct(best["success"]) if best else "0")
    best = open_[0]
    if best["window"] != target and best["success"] - p_success >= 0.05:
        return t("advice.better_window", lang, window=best["label"], p=_pct(best["success"]), current=_pct(p_success))
    return t("advice.good_fit", lang, window=code_label("funding_window", target, lang), p=_pct(p_success))


def _missing_inputs(row: dict[str, Any], crit: list, model: CEPModel) -> list[str]:
    out = [f"{c.criterion} ({c.source})" for c in crit if c.source in ("missing", "not_applicable")]
    out += [f"answers.{q}" for c in crit for q in c.missing]
    out += [f for f in ("partner_academic", "partner_industrial", "partner_clinical", "n_partners",
                        "preliminary_interview") if row.get(f) is None or pd.isna(row.get(f))]
    lo, hi = model.years_
    if not lo <= row["year"] <= hi:
        # a code, not words: scoring.display.missing_label words it in the reader's language
        out.append(f"year (outside_training {lo:.0f}-{hi:.0f} as {min(max(row['year'], lo), hi):.0f})")
    return out


def explain_frame(frame: pd.DataFrame, bundle, lang: str = "fr") -> list[dict[str, Any]]:
    """Full explanation of each row of a validated frame (all rows valid)."""
    model: CEPModel = bundle.model
    rows = _records(frame)
    crits = [assess(row) for row in rows]
    per_row = [scores_of(c) for c in crits]
    table = ScoreTable(np.array([s for s, _ in per_row]), np.array([s for s, _ in per_row]),
                       np.array([src for _, src in per_row], dtype=object))
    mats = model.matrices(frame, table)
    pred = model.predict(frame, band=True, matrices=mats)
    contrib = contributions(model, frame, matrices=mats)
    out = []
    # the many what-if predictions below copy only what the model reads
    narrow = frame[list(MODEL_COLUMNS)].reset_index(drop=True)
    for i in range(len(frame)):
        one = narrow.iloc[[i]].reset_index(drop=True)
        row = rows[i]
        crit = crits[i]
        one_table = ScoreTable(table.score[i:i + 1], table.rubric[i:i + 1], table.source[i:i + 1])
        scores = {c.criterion: c.score for c in crit}
        p = {"labeled": float(pred.labeled[i]), "funded": float(pred.funded[i]), "success": float(pred.success[i])}
        rate_f, fig = published_rate_filiere(row["filiere"])
        rate_w, source_w = published_rate_window(row["funding_window"])
        windows = _windows(model, one, one_table, lang)
        result = {
            "criteria": [_criterion_dict(c, lang) for c in crit],
            "probabilities": {
                **p,
                "band": {"labeled": pred.labeled_band[i].tolist(), "success": pred.success_band[i].tolist()},
                "base_rate": {
                    "filiere": {"value": rate_f, "figure": fig, "text": code_label("filiere", row["filiere"], lang)},
                    "window": {"value": rate_w, "source": source_w,
                               "text": code_label("funding_window", row["funding_window"], lang)},
                },
                "summary": t("summary.base_rate", lang, filiere=code_label("filiere", row["filiere"], lang),
                             rate=_pct(rate_f), p=_pct(p["success"])),
                "missing_inputs": _missing_inputs(row, crit, model),
            },
            "contributions": {target: _contribution_dict(contrib[target], i) for target in ("labeled", "success")},
            "reasons": _reasons(contrib["success"][1][i], row, scores, crit, lang),
            "actions": actions(model, mats.label[i:i + 1], row, lang, p["success"], p["labeled"]),
            "windows": windows,
            "model": bundle.identity(),
        }
        result["reasons"].append({"input": "funding_window", "value": None, "kind": "advice",
                                  "text": _window_advice(windows, row["funding_window"], p["success"], lang)})
        out.append(result)
    return out


def _contribution_dict(target: tuple[np.ndarray, np.ndarray], i: int) -> dict[str, Any]:
    """Base, per-input values and their totals for the criteria and for the context."""
    values = {name: float(v) for name, v in zip(INPUTS, target[1][i])}
    return {"base": float(target[0][i]), "values": values,
            "groups": {"criteria": sum(values[c] for c in CRITERIA),
                       "context": sum(v for name, v in values.items() if name not in CRITERIA)}}


def _criterion_dict(c, lang: str) -> dict[str, Any]:
    d = c.as_dict()
    d["label"] = t(f"criterion.{c.criterion}", lang)
    d["source_label"] = t(f"source.{c.source}", lang)
    for e in d["evidence"]:
        e["question_label"] = t(f"rubric.{e['question']}", lang)
        e["answer_label"] = t(f"rubric.{e['question']}.{e['answer']}", lang)
    return d


def _reasons(values: np.ndarray, row: dict[str, Any], scores: dict[str, Any], crit, lang: str
             ) -> list[dict[str, Any]]:
    """Top three criteria for and against P(success), as sentences.

    Only the five criteria are reasons: the committee judges the dossier, so what
    raises or lowers the odds is told by the criteria and their answers. Context
    (filière, window, carrier, collaboration, year...) sets the starting point; its
    contributions stay in the waterfall, exact, but are never given as a reason.
    """
    by_crit = {c.criterion: c for c in crit}
    ranked = np.argsort(-values[:len(CRITERIA)], kind="stable")  # INPUTS starts with CRITERIA
    picks = [(i, "for") for i in ranked[:3] if values[i] > 5e-4] + \
            [(i, "against") for i in ranked[::-1][:3] if values[i] < -5e-4]
    out = []
    for i, kind in picks:
        name = INPUTS[i]
        detail = ""
        c = by_crit.get(name)
        if c is not None and c.evidence and c.source == "rubric":
            e = max(c.evidence, key=lambda e: e.effect) if kind == "for" else min(c.evidence, key=lambda e: e.effect)
            detail = f"{t(f'rubric.{e.question}', lang)} {t(f'rubric.{e.question}.{e.answer}', lang)}"
        out.append({"input": name, "value": float(values[i]), "kind": kind,
                    "text": reason_text(name, float(values[i]), row, scores, lang, detail)})
    return out


def explain(docs: list[dict[str, Any]], bundle, lang: str = "fr") -> list[dict[str, Any]]:
    """Explain dossier JSON objects; raises InvalidDossiers naming every bad row and field."""
    try:
        v = schema.validate_records(docs)
    except schema.SchemaError as exc:
        raise InvalidDossiers([schema.Issue(1, "(dossier)", None, str(exc))]) from None
    if v.issues:
        raise InvalidDossiers(v.issues)
    return explain_frame(v.frame, bundle, lang)
