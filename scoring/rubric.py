"""The CEP criteria rubric: questionnaire answers -> five criterion scores, with evidence.

The questions, answer labels and points live in `data/rubric.toml`. The rule,
kept deliberately simple so that a project lead can redo it by hand:

    score = 2.5 + sum_j w_j (points_j - 2.5) / sum_j w_j

over the answered, applicable questions j of the criterion, rounded to the
nearest half point. Each term w_j (points_j - 2.5) / sum w is that answer's
*evidence*: positive, it raised the score above the scale's midpoint;
negative, it lowered it. "na" (not applicable) answers are not zeros: they
leave the mean. A criterion whose questions are all "na" is not applicable;
one with applicable questions but none answered is missing. An expert score,
when given, overrides the rubric and the result says so.

Stage requirements (`requires` in the TOML, `Question.requires` here): an
answer level may need a minimum TRL and/or another question answered at
least at some level (marking obtained needs TRL 7 and a clinical plan).
`feasible_moves` lists the answer changes a project can make before the next
call: one level up per question, where the requirements hold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from scoring.catalogue import CRITERIA, NOT_APPLICABLE, SCORE_COLUMNS, questions
from scoring.fields import FIELD_BY_NAME, code_index

MIDPOINT = 2.5

#: Where a criterion score came from.
SOURCES = ("expert", "rubric", "not_applicable", "missing")


@dataclass(frozen=True)
class Requirement:
    """What a project needs before it can give an answer: a minimum TRL, other answers at least at a level."""

    trl_min: int | None = None
    answers: tuple[tuple[str, str], ...] = ()  # (question id, the weakest answer that meets it)


@dataclass(frozen=True)
class Question:
    id: str
    criterion: str
    weight: float
    na_allowed: bool
    answers: tuple[str, ...]  # weakest first
    points: dict[str, float]
    requires: dict[str, Requirement] = field(default_factory=dict)  # answer -> its requirement; absent: none

    def rank(self, answer: str) -> int:
        return self.answers.index(answer)

    def unmet(self, answer: str, row: dict[str, Any], unknown_met: bool = False) -> list[str]:
        """What `row` lacks to give `answer`: 'trl' and/or the ids of the questions answered too low.

        A prerequisite question answered "na" is met (the step does not apply to the project).
        A missing TRL or prerequisite answer is unmet, unless `unknown_met` (a warning
        should not accuse a dossier of what it did not say).
        """
        req = self.requires.get(answer)
        if req is None:
            return []
        out = []
        if req.trl_min is not None:
            trl = row.get("trl")
            if trl is None or pd.isna(trl):
                if not unknown_met:
                    out.append("trl")
            elif trl < req.trl_min:
                out.append("trl")
        for qid, least in req.answers:
            given = row.get(qid)
            if given == NOT_APPLICABLE:
                continue
            if not isinstance(given, str) or given not in question(qid).points:
                if not unknown_met:
                    out.append(qid)
            elif question(qid).rank(given) < question(qid).rank(least):
                out.append(qid)
        return out


@lru_cache(maxsize=1)
def rubric() -> dict[str, tuple[Question, ...]]:
    """{criterion: its questions}, from data/rubric.toml."""
    out: dict[str, list[Question]] = {c: [] for c in CRITERIA}
    answers_of = {q["id"]: [a["code"] for a in q["answers"]] for q in questions()}
    for q in questions():
        pts = {a["code"]: float(a["points"]) for a in q["answers"]}
        if not all(0.0 <= p <= 5.0 for p in pts.values()):
            raise ValueError(f"data/rubric.toml: question {q['id']} has points outside 0-5")
        requires = {
            a["code"]: _requirement(q["id"], a["code"], a["requires"], answers_of)
            for a in q["answers"]
            if "requires" in a
        }
        out[q["criterion"]].append(
            Question(q["id"], q["criterion"], float(q["weight"]), bool(q["na_allowed"]), tuple(pts), pts, requires)
        )
    for c, qs in out.items():
        if not 4 <= len(qs) <= 6:
            raise ValueError(f"data/rubric.toml: criterion {c} has {len(qs)} questions; the rubric asks 4 to 6")
    return {c: tuple(qs) for c, qs in out.items()}


def _requirement(qid: str, code: str, spec: dict[str, Any], answers_of: dict[str, list[str]]) -> Requirement:
    """One answer's `requires` table, checked: a TRL on the 1-9 scale, other questions' answers that exist."""
    where = f"data/rubric.toml: question {qid}, answer {code}: requires"
    trl = spec.get("trl_min")
    if trl is not None and not (isinstance(trl, int) and 1 <= trl <= 9):
        raise ValueError(f"{where} trl_min = {trl!r}; give a whole TRL from 1 to 9")
    pairs = []
    for other, least in spec.items():
        if other == "trl_min":
            continue
        if other == qid or other not in answers_of or least not in answers_of[other]:
            raise ValueError(
                f"{where} {other} = {least!r}; name another question and one of its answers "
                f"({', '.join(answers_of.get(other, [])) or 'unknown question'})"
            )
        pairs.append((other, least))
    return Requirement(trl, tuple(pairs))


def all_questions() -> tuple[Question, ...]:
    return tuple(q for qs in rubric().values() for q in qs)


def question(qid: str) -> Question:
    for q in all_questions():
        if q.id == qid:
            return q
    raise KeyError(f"unknown question {qid!r}")


def feasible_moves(row: dict[str, Any]) -> list[tuple[Question, str, str]]:
    """The answer changes a project can make before the next call: (question, from, to).

    One per answered question at most: the next answer up that scores more
    than the current one, kept only if its requirements hold for the dossier's
    TRL and its current answers. Requirements only ask for a minimum, and moves
    only go up, so any set of these moves stays feasible together. Unanswered
    and "na" questions have no move (the lead answers them, no step to plan).
    """
    out = []
    for q in all_questions():
        a = row.get(q.id)
        if not isinstance(a, str) or a not in q.points:
            continue
        up = next((b for b in q.answers[q.rank(a) + 1 :] if q.points[b] > q.points[a]), None)
        if up is not None and not q.unmet(up, row):
            out.append((q, a, up))
    return out


def round_half(x: np.ndarray | float) -> np.ndarray | float:
    """Round to the nearest half point, halves up (2.25 -> 2.5), as a person would."""
    return np.floor(np.asarray(x, float) * 2 + 0.5) / 2


# --------------------------------------------------------------------------- vectorised


@dataclass
class ScoreTable:
    """Per row and criterion: the score used, the rubric's score and the source."""

    score: np.ndarray  # (n, 5) float, NaN when not applicable or missing
    rubric: np.ndarray  # (n, 5) float, rubric's score (NaN when it has none)
    source: np.ndarray  # (n, 5) object, one of SOURCES


@lru_cache(maxsize=None)
def _answer_tables(qid: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per allowed answer of a question, then for no answer (index -1): its weighted term
    w (points - midpoint), its weight, and whether it is 'na'; 0 for answers that score nothing."""
    q = question(qid)
    allowed = FIELD_BY_NAME[qid].allowed + (None,)
    return (
        np.array([q.weight * (q.points[a] - MIDPOINT) if a in q.points else 0.0 for a in allowed]),
        np.array([q.weight if a in q.points else 0.0 for a in allowed]),
        np.array([a == NOT_APPLICABLE for a in allowed]),
    )


def rubric_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised rule: (raw unrounded score, all-na mask, nothing-usable mask), each (n, 5)."""
    n = len(frame)
    raw = np.full((n, len(CRITERIA)), np.nan)
    all_na = np.zeros((n, len(CRITERIA)), bool)
    none = np.full(n, -1)
    for j, c in enumerate(CRITERIA):
        num = np.zeros(n)
        den = np.zeros(n)
        na_count = np.zeros(n, int)
        for q in rubric()[c]:
            at = code_index(frame[q.id], q.id) if q.id in frame.columns else none
            term, weight, na = _answer_tables(q.id)
            num += term[at]  # the term of an answer that scores nothing is 0.0: every sum keeps its bits
            den += weight[at]
            na_count += na[at]
        has = den > 0
        raw[has, j] = MIDPOINT + num[has] / den[has]
        all_na[:, j] = na_count == len(rubric()[c])
    return raw, all_na, np.isnan(raw)


def score_table(frame: pd.DataFrame) -> ScoreTable:
    """Criterion scores of every row of a validated frame: expert first, else rubric."""
    raw, all_na, none = rubric_arrays(frame)
    rub = np.clip(round_half(raw), 0.0, 5.0)
    n = len(frame)
    expert = (
        np.column_stack(
            [
                frame[col].to_numpy(dtype=float, na_value=np.nan) if col in frame.columns else np.full(n, np.nan)
                for col in SCORE_COLUMNS
            ]
        )
        if n
        else np.zeros((0, len(CRITERIA)))
    )
    has_expert = ~np.isnan(expert)
    score = np.where(has_expert, expert, rub)
    kind = np.where(has_expert, 0, np.where(~none, 1, np.where(all_na, 2, 3)))  # positions in SOURCES
    return ScoreTable(score, rub, np.array(SOURCES, dtype=object)[kind])


# --------------------------------------------------------------------------- one dossier


@dataclass(frozen=True)
class Evidence:
    question: str
    answer: str
    points: float
    effect: float  # signed contribution to the unrounded score, in score points


@dataclass(frozen=True)
class CriterionResult:
    criterion: str
    score: float | None
    source: str
    rubric_score: float | None
    expert_score: float | None
    evidence: tuple[Evidence, ...]  # strongest effect first
    missing: tuple[str, ...]  # applicable questions left unanswered
    not_applicable: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence"] = [asdict(e) for e in self.evidence]
        d["missing"] = list(self.missing)
        d["not_applicable"] = list(self.not_applicable)
        return d


def _criterion(c: str, row: dict[str, Any]) -> tuple[list, float, float, tuple[str, ...]]:
    """(usable (question, answer) pairs, num, den, not-applicable ids) of one criterion on one row.

    The sum runs in question order, as in `rubric_arrays`, so both paths give the same bits.
    """
    usable = []
    num = den = 0.0
    na = []
    for q in rubric()[c]:
        a = row.get(q.id)
        if isinstance(a, str) and a in q.points:
            usable.append((q, a))
            num += q.weight * (q.points[a] - MIDPOINT)
            den += q.weight
        elif a == NOT_APPLICABLE:
            na.append(q.id)
    return usable, num, den, tuple(na)


def _decide(
    c: str, j: int, row: dict[str, Any], usable: list, num: float, den: float, na: tuple[str, ...]
) -> tuple[float | None, str, float | None, float | None]:
    """(score, source, rubric score, expert score): the expert overrides the rubric."""
    rub = float(np.clip(round_half(MIDPOINT + num / den), 0.0, 5.0)) if usable else None
    expert = row.get(SCORE_COLUMNS[j])
    expert = None if expert is None or pd.isna(expert) else float(expert)
    if expert is not None:
        return expert, "expert", rub, expert
    if rub is not None:
        return rub, "rubric", rub, expert
    return None, ("not_applicable" if len(na) == len(rubric()[c]) else "missing"), rub, expert


def assess(row: dict[str, Any] | pd.Series) -> list[CriterionResult]:
    """The five criterion results of one validated flat row, with their evidence.

    Plain Python on one row: the single-dossier path is latency-bound.
    """
    row = dict(row)
    out = []
    for j, c in enumerate(CRITERIA):
        usable, num, den, na = _criterion(c, row)
        score, source, rub, expert = _decide(c, j, row, usable, num, den, na)
        evidence = tuple(
            sorted(
                (Evidence(q.id, a, q.points[a], q.weight * (q.points[a] - MIDPOINT) / den) for q, a in usable),
                key=lambda e: -abs(e.effect),
            )
        )
        out.append(
            CriterionResult(
                criterion=c,
                score=score,
                source=source,
                rubric_score=rub,
                expert_score=expert,
                evidence=evidence,
                missing=tuple(q.id for q in rubric()[c] if not isinstance(row.get(q.id), str) or row.get(q.id) == ""),
                not_applicable=na,
            )
        )
    return out


def row_scores(row: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(scores (5,), sources (5,)) of one row, without the evidence: for what-if questions."""
    decided = [_decide(c, j, row, *_criterion(c, row)) for j, c in enumerate(CRITERIA)]
    return (
        np.array([np.nan if d[0] is None else d[0] for d in decided]),
        np.array([d[1] for d in decided], dtype=object),
    )


def scores_of(results: list[CriterionResult]) -> tuple[np.ndarray, np.ndarray]:
    """(scores (5,), sources (5,)) of `assess` results, as `score_table` lays them out."""
    return (
        np.array([np.nan if r.score is None else r.score for r in results]),
        np.array([r.source for r in results], dtype=object),
    )
