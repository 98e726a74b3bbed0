"""Explanations of every score: eligibility first, a starting point, the criteria's moves, reasons, actions, windows.

Owns the explanation of a dossier as a whole (`explain`, `explain_frame`): it puts together what the
targeted window says (`scoring.eligibility.verdict`), the answers to check (`scoring.consistency.warnings`),
the probabilities and their intervals, the starting point and the criteria's exact moves from it
(`scoring.contributions`), the reasons (the criteria only, never the context), the steps before the next
call (`scoring.actions`) and every window ranked, with the advice on which to aim at. Everything here
returns plain data (dicts, arrays, and sentences in the reader's language, `scoring.phrasing`); drawing is
the UI's job.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring import formatting, jsonform, schema
from scoring.actions import LABELLING_LINE, MIN_GAIN, actions
from scoring.consistency import warnings_of
from scoring.contributions import contributions, records
from scoring.eligibility import Verdict, target_verdicts
from scoring.features import CRITERIA
from scoring.i18n import code_label, counted, t
from scoring.issues import WHOLE_DOSSIER, Issue
from scoring.model import CEPModel
from scoring.phrasing import amount, input_label, interval_dict, without_estimate
from scoring.reference import published_rate_filiere, published_rate_window
from scoring.rubric import ScoreTable, assess, scores_of

#: What callers import from here: the builder's own names and, from the modules it is built on, the ones they
#: used when those were part of this module.
__all__ = [
    "LABELLING_LINE",
    "MIN_GAIN",
    "PROMISING",
    "InvalidDossiers",
    "actions",
    "amount",
    "contributions",
    "explain",
    "explain_frame",
    "input_label",
    "records",
]


PROMISING = 0.25  # below this P(success) in every open window, the advice is to re-plan
N_ALTERNATIVES = 3  # eligible windows offered when the targeted one cannot take the dossier


class InvalidDossiers(ValueError):
    """Some dossiers failed validation; `.issues` says which row, field and why."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("; ".join(i.message() for i in issues))


def _pct(p: float) -> str:
    return f"{100 * p:.0f}"


def _windows(model: CEPModel, frame: pd.DataFrame, table: ScoreTable, lang: str) -> list[list[dict[str, Any]]]:
    """Per dossier of `frame`, every window ranked; one window matrix for the whole frame (a queue of
    twenty dossiers is one pass, not twenty)."""
    wm = model.window_matrix(frame, table, band=True)
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(frame))]
    for r in records(wm):  # ranked within each dossier's rows
        interval = interval_dict(
            {"labeled": (r["labeled_low"], r["labeled_high"]), "success": (r["success_low"], r["success_high"])},
            r,
            lang,
        )
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
                # a window that cannot take the dossier is never written as if it could fund it
                "interval": interval if r["eligible"] else without_estimate(interval, "success"),
            }
        )
    return out


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
    return formatting.typeset(text, lang)


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
    group = t(f"start.group.{len(keys)}", lang, names=names, rows=counted("start.rows", rows, lang))
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
    lab_band, succ_band = pred.bands()
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
                "interval": interval_dict({"labeled": lab_band[i], "success": succ_band[i]}, p, lang),
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
    told by the criteria and their answers (the one that weighs most in the criterion's score in the
    reason's direction, when one does). Context (filière, window, carrier, partners, TRL, year...) sets the
    starting point.
    """
    values = contrib[focus][1][i]
    typical = contrib["typical"][i]
    by_crit = {c.criterion: c for c in crit}
    # A criterion without a score (not applicable) still moves the probability from its group's average, and
    # the contributions show it; it is no reason for or against, since the dossier shows nothing on it.
    ranked = [j for j in np.argsort(-values, kind="stable") if scores[CRITERIA[j]] is not None]
    picks = [(j, "for") for j in ranked[:3] if values[j] >= MIN_GAIN] + [
        (j, "against") for j in ranked[::-1][:3] if values[j] <= -MIN_GAIN
    ]
    out = []
    for j, kind in picks:
        name = CRITERIA[j]
        c = by_crit[name]
        detail = ""
        # the answer named is one that pushes the criterion's score the reason's way: a criterion can be "for"
        # only against its group's average (2/5 where projects like yours score 1/5) with no answer above
        # the rubric's midpoint, and then none is named rather than one that moves nothing
        sign = 1.0 if kind == "for" else -1.0
        pushing = [e for e in c.evidence if sign * e.effect > 0] if c.source == "rubric" else []
        if pushing:
            e = max(pushing, key=lambda e: sign * e.effect)
            detail = t(
                "reason.answer",
                lang,
                question=t(f"rubric.{e.question}", lang),
                answer=t(f"rubric.{e.question}.{e.answer}", lang),
            )
        out.append(
            {
                "input": name,
                "value": float(values[j]),
                "kind": kind,
                "text": t(
                    "reason.criterion",
                    lang,
                    criterion=input_label(name, lang),
                    score=formatting.score(scores[name], lang),
                    typical=t("value.no_score", lang)
                    if np.isnan(typical[j])
                    else formatting.score(round(float(typical[j]), 1), lang),
                    detail=detail,
                    points=amount(float(values[j]), focus, lang),
                ),
            }
        )
    return out


def validated(docs: list[dict[str, Any]], lang: str) -> schema.Validated:
    """Dossier JSON objects validated; InvalidDossiers naming every bad row and field, or, for a document that
    is not a dossier (an unknown field, not an object), why, in `lang`."""
    try:
        v = jsonform.validate_records(docs)
    except schema.SchemaError as exc:
        raise InvalidDossiers([Issue(1, WHOLE_DOSSIER, None, exc.said(lang))]) from None
    if v.issues:
        raise InvalidDossiers(v.issues)
    return v


def explain(docs: list[dict[str, Any]], bundle, lang: str = "fr") -> list[dict[str, Any]]:
    """Explain dossier JSON objects; raises InvalidDossiers naming every bad row and field."""
    v = validated(docs, lang)
    return explain_frame(v.frame, bundle, lang)
