"""Actions: the steps a project can take before the next call, each gain recomputed by the model.

A step is one answer level up on one question where the rubric's requirements hold
(`scoring.rubric.feasible_moves`), never a context field; `actions` ranks them by the model's gain and
words them, and finds the smallest set of steps that brings P(labelled) over the labelling line
(`LABELLING_LINE`), searched exhaustively up to `MAX_SET` steps.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from scoring import formatting
from scoring.i18n import t
from scoring.model import CEPModel, Scored
from scoring.phrasing import amount
from scoring.rubric import Question, ScoreTable, feasible_moves, row_scores

LABELLING_LINE = 0.5  # P(labelled) at which the committee is more likely to label than not
N_ACTIONS = 5
MAX_SET = 3  # exhaustive search for the labelling set up to this many changes
MIN_GAIN = 5e-4  # a move under this reads "+0,0 point": near P = 1 every step would, so none is offered or given


def _predict_moves(
    model: CEPModel, base: np.ndarray, row: dict[str, Any], move_sets: list[list[tuple[Question, str, str]]]
) -> Scored:
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
    if moves:
        pred = _predict_moves(model, base, row, [[m] for m in moves])
        lab_gains, move_scores = pred.labeled - p_labeled, pred.scores
        gains = pred.success - p_success if focus == "success" else lab_gains
    else:
        lab_gains = gains = move_scores = np.zeros(0)
    # Steps that leave the five scores the same (one half point on one criterion, by any of its questions)
    # are one action for the model: offered once, first in the rubric's order, the others named with it.
    same: dict[tuple, list[int]] = {}
    for i in range(len(moves)):
        same.setdefault(tuple(np.nan_to_num(move_scores[i], nan=-1.0)), []).append(i)
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
