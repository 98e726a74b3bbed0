"""Explanations of every score: eligibility first, a starting point, the criteria's moves, reasons, actions, windows.

Everything here returns plain data (dicts, arrays, and sentences in the reader's language); drawing is the UI's job.

Context is the starting point, the dossier is the explanation. A dossier starts from "projects like yours":
the model's probability for its own context (filière, window, carrier, partners, TRL, budget, year...) with
the five criteria at the average profile of the training dossiers of its filière, window and carrier type
(`scoring.model.criterion_profiles`, coarser groups when that one is thin). The criteria alone move it from
there to its probability: the model is additive in the criteria once the context is fixed, so their exact
interventional SHAP values against that profile are each criterion's own columns, beta (x - E x), a closed
form. The Platt slope multiplies them (calibration is affine in log-odds), and one per-dossier factor
(p - p0) / (z - z0) turns log-odds into probability points, so that base + sum(values) equals the
probability shown, exactly. P(success) = P(L) P(F|L) combines the two models by the exact product rule.
No context input is ever a reason.

Before the numbers: whether the targeted window can take the dossier (`scoring.eligibility.verdict`) and the
answers to check (`scoring.consistency.warnings`). Actions are steps a project can take before the next call
(`scoring.rubric.feasible_moves`), each gain recomputed by the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from scoring import formatting, jsonform, schema
from scoring.consistency import warnings_of
from scoring.eligibility import Verdict, target_verdicts
from scoring.features import CRITERIA, KNOTS, Design
from scoring.i18n import code_label, t
from scoring.issues import Issue
from scoring.model import INTERVAL_LEVEL, PROFILE_KEYS, CalibratedAdditive, CEPModel, Matrices
from scoring.reference import published_rate_filiere, published_rate_window
from scoring.rubric import Question, ScoreTable, assess, feasible_moves, row_scores, scores_of

LABELLING_LINE = 0.5  # P(labelled) at which the committee is more likely to label than not
PROMISING = 0.25  # below this P(success) in every open window, the advice is to re-plan
N_ACTIONS = 5
MAX_SET = 3  # exhaustive search for the labelling set up to this many changes
N_ALTERNATIVES = 3  # eligible windows offered when the targeted one cannot take the dossier
MIN_GAIN = 5e-4  # a move under this reads "+0,0 point": near P = 1 every step would, so none is offered or given


class InvalidDossiers(ValueError):
    """Some dossiers failed validation; `.issues` says which row, field and why."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("; ".join(i.message() for i in issues))


# --------------------------------------------------------------------------- exact contributions


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
        for keys in PROFILE_KEYS:
            hit = table.get(tuple(str(row[k]) for k in keys))
            if hit is not None:
                break
        out.append(hit[1])
        keys_used.append(keys)
        counts.append(hit[0])
    return np.array(out), keys_used, np.array(counts)


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


# --------------------------------------------------------------------------- words


def _pct(p: float) -> str:
    return f"{100 * p:.0f}"


def amount(v: float, target: str, lang: str) -> str:
    """A move of a probability in words, with its sign and the probability it moves: "+8,0 points de
    P(labellisé)", "+1,5 point de ..." (French singular below 2), plural by CLDR (`formatting.plural`)."""
    shown = formatting.points(v, lang)
    return t(
        f"amount.{formatting.plural(Decimal(f'{100 * abs(v):.1f}'), lang)}",
        lang,
        v=shown,
        target=t(f"target.{target}", lang),
    )


def input_label(name: str, lang: str) -> str:
    return t(f"criterion.{name}", lang) if name in CRITERIA else t(f"input.{name}", lang)


def _digits(lo: float, hi: float, lang: str) -> int:
    """Decimals the two ends of an interval need to differ as written (up to 2): near 0 or 1 an interval is
    narrow, never a point, and must not read as one ("100-100 %")."""
    return next((d for d in range(3) if formatting.percent(lo, lang, d) != formatting.percent(hi, lang, d)), 2)


def interval_text(lo: float, hi: float, lang: str) -> str:
    """ "intervalle à 80 % : 62 % – 71 %", "… : 99,6 % – 99,9 %" near 1."""
    digits = _digits(lo, hi, lang)
    return t(
        "interval.text",
        lang,
        level=formatting.percent(INTERVAL_LEVEL, lang),
        lo=formatting.percent(lo, lang, digits),
        hi=formatting.percent(hi, lang, digits),
    )


def _interval(bands: dict[str, Any], values: dict[str, float], lang: str) -> dict[str, Any]:
    """Each target's interval, its words, and the probability written with as many decimals as its interval
    (`shown`): "0,4 %" beside "0,3 % – 0,5 %", not "0 %"."""
    out: dict[str, Any] = {"level": INTERVAL_LEVEL}
    for target, (lo, hi) in bands.items():
        out[target] = [float(lo), float(hi)]
    out["text"] = {target: interval_text(*out[target], lang) for target in bands}
    out["shown"] = {target: formatting.percent(values[target], lang, _digits(*out[target], lang)) for target in bands}
    return out


# --------------------------------------------------------------------------- actions


def _predict_moves(
    model: CEPModel, base: np.ndarray, row: dict[str, Any], move_sets: list[list[tuple[Question, str, str]]]
):
    """Predictions of dossier `row` (model rows `base`) with each set of answer changes applied."""
    rescored = [row_scores({**row, **{q.id: b for q, _, b in ms}}) for ms in move_sets]
    scores = np.array([r[0] for r in rescored])
    sources = np.array([r[1] for r in rescored], dtype=object)
    return model.what_if(base, ScoreTable(scores, scores, sources))


def actions(
    model: CEPModel,
    base: np.ndarray,
    row: dict[str, Any],
    lang: str,
    p_success: float,
    p_labeled: float,
    focus: str = "success",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Steps the project can take before the next call, each gain recomputed by the model; and the labelling set.

    A step is one answer level up on one question, where the rubric's requirements (minimum TRL, prior
    answers) hold (`rubric.feasible_moves`): never a context field. Best first by the gain in `focus`
    (P(success); P(labelled) when the targeted window cannot take the dossier, whose funding is then no
    estimate); a step that moves it by less than MIN_GAIN (what reads "+0,0") is not offered. The smallest set
    of steps that brings P(labelled) over the labelling line is flagged `in_labelling_set` and described in the
    second value.
    """
    moves = feasible_moves(row)
    pred = _predict_moves(model, base, row, [[m] for m in moves]) if moves else None
    lab_gains = pred.labeled - p_labeled if moves else np.zeros(0)
    gains = (pred.success - p_success if focus == "success" else lab_gains) if moves else np.zeros(0)
    # Steps that leave the five scores the same (one half point on one criterion, by any of its questions)
    # are one action for the model: offered once, first in the rubric's order, the others named with it.
    same: dict[tuple, list[int]] = {}
    for i in range(len(moves)):
        same.setdefault(tuple(np.nan_to_num(pred.scores[i], nan=-1.0)), []).append(i)
    others = {group[0]: group[1:] for group in same.values()}
    order = sorted((i for i in others if gains[i] >= MIN_GAIN), key=lambda i: -gains[i])
    chosen = order[:N_ACTIONS]
    labelling, after = _labelling_set(model, base, row, moves, lab_gains, p_labeled)
    chosen += [i for i in labelling if i not in chosen]
    chosen.sort(key=lambda i: -gains[i])
    out = []
    for i in chosen:
        q, a, b = moves[i]
        text = t(
            f"action.sentence.{focus}",
            lang,
            question=t(f"rubric.{q.id}", lang),
            old=t(f"rubric.{q.id}.{a}", lang),
            new=t(f"rubric.{q.id}.{b}", lang),
            success=amount(gains[i], "success", lang),
            labeled=amount(lab_gains[i], "labeled", lang),
        )
        alike = [j for j in others.get(i, []) if j not in labelling]
        if alike:
            text = t(
                f"action.same_effect.{formatting.plural(len(alike), lang)}",
                lang,
                action=text,
                n=formatting.number(len(alike), lang),
            )
        out.append(
            {
                "field": f"answers.{q.id}",
                "from": a,
                "to": b,
                "gain": float(gains[i]),
                "gains": {
                    "labeled": float(lab_gains[i]),
                    **({"success": float(gains[i])} if focus == "success" else {}),
                },
                "in_labelling_set": i in labelling,
                "same_effect": [f"answers.{moves[j][0].id}" for j in alike],
                "text": text,
            }
        )
    return out, _labelling_dict(p_labeled, [moves[i] for i in labelling], after, lang)


def _labelling_set(
    model: CEPModel, base: np.ndarray, row: dict[str, Any], moves, lab_gains: np.ndarray, p_labeled: float
) -> tuple[list[int], float | None]:
    """(indices of the smallest set of steps reaching the labelling line, P(labelled) after them), or ([], None)."""
    if p_labeled >= LABELLING_LINE or not moves:
        return [], None
    top = sorted(range(len(moves)), key=lambda i: -lab_gains[i])[:8]
    for size in range(1, min(MAX_SET, len(top)) + 1):
        sets = list(combinations(top, size))
        pl = _predict_moves(model, base, row, [[moves[i] for i in s] for s in sets]).labeled
        ok = np.flatnonzero(pl >= LABELLING_LINE)
        if len(ok):
            best = max(ok, key=lambda k: pl[k])
            return list(sets[best]), float(pl[best])
    return [], None


def _labelling_dict(p_labeled: float, steps: list, after: float | None, lang: str) -> dict[str, Any]:
    """Where the dossier stands against the labelling line, and the set of steps that crosses it if any."""
    if p_labeled >= LABELLING_LINE:
        key = "labelling.above"
    else:
        key = "labelling.reached" if steps else "labelling.out_of_reach"
    return {
        "line": LABELLING_LINE,
        "above": p_labeled >= LABELLING_LINE,
        "steps": [f"answers.{q.id}" for q, _, _ in steps],
        "labeled_after": after,
        "text": t(
            key,
            lang,
            line=formatting.percent(LABELLING_LINE, lang),
            n=formatting.number(len(steps), lang),
            max=formatting.number(MAX_SET, lang),
            after=formatting.percent(after, lang) if after is not None else "",
        ),
    }


# --------------------------------------------------------------------------- one dossier


def _windows(model: CEPModel, frame: pd.DataFrame, table: ScoreTable, lang: str) -> list[list[dict[str, Any]]]:
    """Per dossier of `frame`, every window ranked; one window matrix for the whole frame (a queue of
    twenty dossiers is one pass, not twenty)."""
    wm = model.window_matrix(frame, table, band=True)
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(frame))]
    for r in records(wm):  # ranked within each dossier's rows
        out[r["row"]].append(
            {
                "window": r["window"],
                "label": code_label("funding_window", r["window"], lang),
                "eligible": bool(r["eligible"]),
                "rule": r["rule"],
                "rule_text": t(f"rule.{r['rule']}", lang) if r["rule"] else "",
                "labeled": float(r["labeled"]),
                "funded": float(r["funded"]),
                "success": float(r["success"]),
                "interval": _interval(
                    {
                        "labeled": (r["labeled_low"], r["labeled_high"]),
                        "success": (r["success_low"], r["success_high"]),
                    },
                    r,
                    lang,
                ),
            }
        )
    return out


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts; one conversion of the whole frame (pandas' to_dict walks Arrow text cell by cell)."""
    cols = list(frame.columns)
    return [dict(zip(cols, values)) for values in frame.to_numpy(dtype=object)]


def _window_advice(windows: list[dict[str, Any]], target: str, p_success: float, lang: str) -> str:
    """Which window to aim at: only an eligible window is ever called a good choice."""
    open_ = [w for w in windows if w["eligible"]]
    if not open_ or open_[0]["success"] < PROMISING:
        best = open_[0] if open_ else None
        return t("advice.replan", lang, best=best["label"] if best else "-", p=_pct(best["success"]) if best else "0")
    best = open_[0]
    target_open = any(w["window"] == target for w in open_)
    if best["window"] != target and (not target_open or best["success"] - p_success >= 0.05):
        key = "advice.better_window" if target_open else "advice.eligible_window"
        return t(key, lang, window=best["label"], p=_pct(best["success"]), current=_pct(p_success))
    return t("advice.good_fit", lang, window=code_label("funding_window", target, lang), p=_pct(p_success))


def _eligibility(row: dict[str, Any], v: Verdict, windows: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """Can the targeted window take this dossier (its verdict `v`)? If not, why, and the best eligible
    windows with their probabilities: what the result leads with."""
    best = [] if v.eligible else [w for w in windows if w["eligible"]][:N_ALTERNATIVES]
    alternatives = [{key: w[key] for key in ("window", "label", "labeled", "success", "interval")} for w in best]
    if v.eligible:
        text = ""
    elif best:
        text = t(
            "eligibility.lead",
            lang,
            window=code_label("funding_window", row["funding_window"], lang),
            reasons=" ".join(v.sentences),
            best=_join(
                (
                    t(
                        "eligibility.alternative",
                        lang,
                        window=w["label"],
                        success=formatting.percent(w["success"], lang),
                        interval=w["interval"]["text"]["success"],
                    )
                    for w in best
                ),
                lang,
            ),
        )
    else:
        text = t(
            "eligibility.lead_none",
            lang,
            window=code_label("funding_window", row["funding_window"], lang),
            reasons=" ".join(v.sentences),
        )
    return {
        "window": row["funding_window"],
        "eligible": v.eligible,
        "codes": list(v.codes),
        "reasons": list(v.sentences),
        "alternatives": alternatives,
        "text": text,
    }


def _join(items, lang: str) -> str:
    """Items of a list inside a sentence, "; "-separated, French spacing included."""
    text = "; ".join(items)
    return formatting.french_spacing(text) if lang == "fr" else text


def _missing_inputs(row: dict[str, Any], crit: list) -> list[str]:
    out = [f"{c.criterion} ({c.source})" for c in crit if c.source in ("missing", "not_applicable")]
    out += [f"answers.{q}" for c in crit for q in c.missing]
    out += [
        f
        for f in ("partner_academic", "partner_industrial", "partner_clinical", "n_partners", "preliminary_interview")
        if row.get(f) is None or pd.isna(row.get(f))
    ]
    return out


def _starting_point(
    row: dict[str, Any], contrib: dict[str, Any], i: int, rate_f: float, fig: str, focus: str, lang: str
) -> dict[str, Any]:
    """ "Projects like yours": the group, its size and the model's probabilities for it, beside the published rate
    (P(labelled) alone in the words when the targeted window cannot take the dossier: its funding is no estimate)."""
    keys, rows = contrib["group"][0][i], int(contrib["group"][1][i])
    names = ", ".join(code_label(k, row[k], lang) for k in keys)
    group = t(
        f"start.group.{len(keys)}",
        lang,
        names=names,
        rows=t(f"start.rows.{formatting.plural(rows, lang)}", lang, n=formatting.number(rows, lang)),
    )
    labeled, success = float(contrib["labeled"][0][i]), float(contrib["success"][0][i])
    return {
        "group": {"keys": list(keys), "values": [row[k] for k in keys], "rows": rows, "text": group},
        "labeled": labeled,
        "success": success,
        "published": {"value": rate_f, "figure": fig},
        "text": t(
            f"start.text.{focus}",
            lang,
            group=group,
            success=formatting.percent(success, lang),
            labeled=formatting.percent(labeled, lang),
            rate=formatting.percent(rate_f, lang),
            figure=fig,
            filiere=code_label("filiere", row["filiere"], lang),
        ),
    }


def explain_frame(frame: pd.DataFrame, bundle, lang: str = "fr") -> list[dict[str, Any]]:
    """Full explanation of each row of a validated frame (all rows valid)."""
    model: CEPModel = bundle.model
    rows = records(frame)
    crits = [assess(row) for row in rows]
    per_row = [scores_of(c) for c in crits]
    table = ScoreTable(
        np.array([s for s, _ in per_row]),
        np.array([s for s, _ in per_row]),
        np.array([src for _, src in per_row], dtype=object),
    )
    mats = model.matrices(frame, table)
    pred = model.predict(frame, band=True, matrices=mats)
    contrib = contributions(model, frame, matrices=mats)
    out = []
    per_window = _windows(model, frame, table, lang)
    targets, checks = target_verdicts(frame, rows, lang), warnings_of(frame, rows, lang)
    for i in range(len(frame)):
        row = rows[i]
        crit = crits[i]
        scores = {c.criterion: c.score for c in crit}
        p = {"labeled": float(pred.labeled[i]), "funded": float(pred.funded[i]), "success": float(pred.success[i])}
        rate_f, fig = published_rate_filiere(row["filiere"])
        rate_w, source_w = published_rate_window(row["funding_window"])
        windows = per_window[i]
        eligibility = _eligibility(row, targets[i], windows, lang)
        # what the explanation explains: P(success), unless the targeted window cannot take the dossier
        focus = "success" if eligibility["eligible"] else "labeled"
        steps, labelling = actions(model, mats.label[i : i + 1], row, lang, p["success"], p["labeled"], focus)
        filiere = code_label("filiere", row["filiere"], lang)
        result = {
            "eligibility": eligibility,
            # suspicious but possible answers (scoring.consistency): to check with the applicant, shown with the result
            "warnings": [w.as_dict() for w in checks[i]],
            "criteria": [_criterion_dict(c, lang) for c in crit],
            "probabilities": {
                **p,
                "interval": _interval({"labeled": pred.labeled_band[i], "success": pred.success_band[i]}, p, lang),
                "base_rate": {
                    "filiere": {"value": rate_f, "figure": fig, "text": code_label("filiere", row["filiere"], lang)},
                    "window": {
                        "value": rate_w,
                        "source": source_w,
                        "text": code_label("funding_window", row["funding_window"], lang),
                    },
                },
                # a window that cannot take the dossier gives no estimate of its funding, only the model's arithmetic
                "estimate": eligibility["eligible"],
                "summary": t("summary.base_rate", lang, filiere=filiere, rate=_pct(rate_f), p=_pct(p["success"]))
                if eligibility["eligible"]
                else t(
                    "summary.ineligible",
                    lang,
                    filiere=filiere,
                    rate=_pct(rate_f),
                    window=code_label("funding_window", row["funding_window"], lang),
                ),
                "missing_inputs": _missing_inputs(row, crit),
            },
            "starting_point": _starting_point(row, contrib, i, rate_f, fig, focus, lang),
            "contributions": {target: _contribution_dict(contrib, target, i) for target in ("labeled", "success")},
            "reasons": _reasons(contrib, i, scores, crit, lang, focus),
            "actions": steps,
            "labelling": labelling,
            "windows": windows,
            "model": bundle.identity(),
        }
        result["reasons"].append(
            {
                "input": "funding_window",
                "value": None,
                "kind": "advice",
                "text": _window_advice(windows, row["funding_window"], p["success"], lang),
            }
        )
        out.append(result)
    return out


def _contribution_dict(contrib: dict[str, Any], target: str, i: int) -> dict[str, Any]:
    """The starting point and each criterion's move from it; `typical`, the group's mean score per criterion."""
    base, values = contrib[target]
    typical = contrib["typical"][i]
    return {
        "base": float(base[i]),
        "values": {c: float(v) for c, v in zip(CRITERIA, values[i])},
        "typical": {c: None if np.isnan(v) else float(v) for c, v in zip(CRITERIA, typical)},
    }


def _criterion_dict(c, lang: str) -> dict[str, Any]:
    d = c.as_dict()
    d["label"] = t(f"criterion.{c.criterion}", lang)
    d["source_label"] = t(f"source.{c.source}", lang)
    for e in d["evidence"]:
        e["question_label"] = t(f"rubric.{e['question']}", lang)
        e["answer_label"] = t(f"rubric.{e['question']}.{e['answer']}", lang)
    return d


def _reasons(
    contrib: dict[str, Any], i: int, scores: dict[str, Any], crit, lang: str, focus: str
) -> list[dict[str, Any]]:
    """Top three criteria for and against P(`focus`), as sentences, measured from "projects like yours".

    Only the five criteria are reasons: the committee judges the dossier, so what raises or lowers the odds is
    told by the criteria and their answers (the one that weighs most in the criterion's score, in the
    reason's direction). Context (filière, window, carrier, partners, TRL, year...) sets the starting point.
    """
    values = contrib[focus][1][i]
    typical = contrib["typical"][i]
    by_crit = {c.criterion: c for c in crit}
    ranked = np.argsort(-values, kind="stable")
    picks = [(j, "for") for j in ranked[:3] if values[j] >= MIN_GAIN] + [
        (j, "against") for j in ranked[::-1][:3] if values[j] <= -MIN_GAIN
    ]
    out = []
    for j, kind in picks:
        name = CRITERIA[j]
        c = by_crit[name]
        detail = ""
        if c.evidence and c.source == "rubric":
            e = max(c.evidence, key=lambda e: e.effect) if kind == "for" else min(c.evidence, key=lambda e: e.effect)
            detail = t(
                "reason.answer",
                lang,
                question=t(f"rubric.{e.question}", lang),
                answer=t(f"rubric.{e.question}.{e.answer}", lang),
            )
        s = scores[name]
        out.append(
            {
                "input": name,
                "value": float(values[j]),
                "kind": kind,
                "text": t(
                    "reason.criterion",
                    lang,
                    criterion=input_label(name, lang),
                    score=t("value.no_score", lang) if s is None else formatting.score(s, lang),
                    typical=t("value.no_score", lang)
                    if np.isnan(typical[j])
                    else formatting.score(round(float(typical[j]), 1), lang),
                    detail=detail,
                    points=amount(float(values[j]), focus, lang),
                ),
            }
        )
    return out


def explain(docs: list[dict[str, Any]], bundle, lang: str = "fr") -> list[dict[str, Any]]:
    """Explain dossier JSON objects; raises InvalidDossiers naming every bad row and field."""
    try:
        v = jsonform.validate_records(docs)
    except schema.SchemaError as exc:
        raise InvalidDossiers([Issue(1, "(dossier)", None, str(exc))]) from None
    if v.issues:
        raise InvalidDossiers(v.issues)
    return explain_frame(v.frame, bundle, lang)
