"""Consistent answers: what a dossier says that is possible but suspicious, to discuss with the applicant.

A validation error (`scoring.schema`) refuses what cannot be: "not applicable"
where the rubric says the question applies, a partner flag without a
consortium. What is left here can be true but usually is not, so it is
never refused, only shown beside the result, in batch output (`warnings`)
and in triage ("to discuss with the applicant"):

- an answer given below its stage requirement (`requires` in data/rubric.toml):
  marking obtained at TRL 3, coverage obtained without marking;
- an AI project whose data volume is unknown ("without reliable data, no
  performing algorithm"), or one that holds its data yet does not know how much;
- a collaborative project naming no kind of partner;
- governance between partners claimed by a project without partners;
- clinical endpoints co-designed with clinicians while no clinical partner nor hospital carrier is named;
- a business model validated with payers on a market not studied;
- an industrial partner committed that a public carrier's consortium does not hold.

`flags` checks a whole frame at once (batch); `warnings` is `flags` on one
dossier, with one sentence each in the reader's language.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from scoring.eligibility import as_floats
from scoring.fields import code_index
from scoring.i18n import DEFAULT_LANG, code_label, t
from scoring.reference import PARTNER_KINDS
from scoring.rubric import all_questions, question

COMPANY_FREE = ("academic", "hospital")  # carriers whose consortium must hold the industrial partner they cite


# (code, question, answer, what it needs: a least TRL, or (another question, the weakest answer that meets it))
_StageCheck = tuple[str, str, str, int | tuple[str, str]]


@lru_cache(maxsize=1)
def _stage_checks() -> tuple[_StageCheck, ...]:
    """(code, question, answer, what it needs): one per stage requirement of the rubric."""
    out: list[_StageCheck] = []
    for q in all_questions():
        for answer, req in q.requires.items():
            if req.trl_min is not None:
                out.append((f"stage_trl.{q.id}", q.id, answer, req.trl_min))
            for other, least in req.answers:
                out.append((f"stage_prior.{q.id}.{other}", q.id, answer, (other, least)))
    return tuple(out)


_FIXED = (
    "ai_data_volume_unknown",
    "data_held_volume_unknown",
    "collaborative_no_partner_kind",
    "consortium_without_partners",
    "clinicians_without_clinical_partner",
    "business_model_without_market",
    "industrial_partner_outside_consortium",
)


@lru_cache(maxsize=1)
def codes() -> tuple[str, ...]:
    """Every warning code, in the order they are reported (one per question and kind: a question's answers
    share its stage codes, only the one given can raise it)."""
    return tuple(dict.fromkeys(c for c, *_ in _stage_checks())) + _FIXED


class _Answers:
    """Per question, each row's answer position among the question's answers (weakest first), read once;
    -1 when unanswered or "na"."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.seen: dict[str, np.ndarray] = {}

    def at(self, qid: str) -> np.ndarray:
        if qid not in self.seen:
            at = code_index(self.frame[qid], qid) if qid in self.frame.columns else np.full(len(self.frame), -1)
            self.seen[qid] = np.where(at >= len(question(qid).answers), -1, at)  # "na" follows the answers
        return self.seen[qid]

    def is_(self, qid: str, *answers: str) -> np.ndarray:
        return np.isin(self.at(qid), [question(qid).rank(a) for a in answers])


def flags(frame: pd.DataFrame) -> np.ndarray:
    """(n, len(codes())) bool: which warning each row of a validated frame raises.

    What a row does not say raises nothing (a missing TRL breaks no stage requirement):
    a warning is about what the applicant wrote.
    """
    n = len(frame)
    answers = _Answers(frame)
    trl = as_floats(frame, "trl")
    out = np.zeros((n, len(codes())), bool)
    column = {c: k for k, c in enumerate(codes())}
    for code, qid, answer, need in _stage_checks():
        gave = answers.is_(qid, answer)
        if isinstance(need, int):
            out[:, column[code]] |= gave & (trl < need)  # NaN compares False
        else:
            other, least = need
            at = answers.at(other)
            out[:, column[code]] |= gave & (at >= 0) & (at < question(other).rank(least))
    axis, carrier = (
        frame[c].astype(object).to_numpy() if c in frame.columns else np.full(n, None)
        for c in ("technology_axis", "carrier_type")
    )
    collab = as_floats(frame, "collaborative")
    partners = {k: as_floats(frame, f"partner_{k}") == 1 for k in PARTNER_KINDS}
    fixed = {
        "ai_data_volume_unknown": (axis == "ai") & answers.is_("dq_volume", "unknown"),
        "data_held_volume_unknown": answers.is_("dq_access", "agreement", "own_or_granted")
        & answers.is_("dq_volume", "unknown"),
        "collaborative_no_partner_kind": (collab == 1)
        & ~(partners["academic"] | partners["industrial"] | partners["clinical"]),
        "consortium_without_partners": (collab == 0)
        & answers.is_("sp_consortium", "informal", "agreement", "track_record"),
        "clinicians_without_clinical_partner": answers.is_("sq_clinicians", "co_design")
        & ~partners["clinical"]
        & (carrier != "hospital")
        & pd.notna(carrier),
        "business_model_without_market": answers.is_("ii_business_model", "validated")
        & answers.is_("ii_market", "not_studied"),
        "industrial_partner_outside_consortium": answers.is_("ii_market", "industrial_partner")
        & ~partners["industrial"]
        & np.isin(carrier, COMPANY_FREE),
    }
    for code in _FIXED:
        out[:, column[code]] = fixed[code]
    return out


@dataclass(frozen=True)
class AnswerWarning:
    """One suspicious answer: its code, the fields it is about, and a sentence saying what to check."""

    code: str
    fields: tuple[str, ...]
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fields": list(self.fields)}


def warnings(row: dict[str, Any], lang: str = DEFAULT_LANG) -> list[AnswerWarning]:
    """The warnings of one validated flat row, in `codes()` order, worded in `lang`."""
    return warnings_of(pd.DataFrame([row]), [row], lang)[0]


def warnings_of(frame: pd.DataFrame, rows: list[dict[str, Any]], lang: str = DEFAULT_LANG) -> list[list[AnswerWarning]]:
    """Per row of a validated frame (`rows` are its records), its warnings: the flags are read in one pass."""
    raised = flags(frame)
    return [[_warning(code, row, lang) for code, hit in zip(codes(), raised[i]) if hit] for i, row in enumerate(rows)]


def _answer(qid: str, row: dict[str, Any], lang: str) -> str:
    return t(f"rubric.{qid}.{row[qid]}", lang)


def _warning(code: str, row: dict[str, Any], lang: str) -> AnswerWarning:
    kind, _, rest = code.partition(".")
    if kind == "stage_trl":
        req = question(rest).requires[row[rest]]
        return AnswerWarning(
            code,
            (f"answers.{rest}", "trl"),
            t(
                "warning.stage_trl",
                lang,
                question=t(f"rubric.{rest}", lang),
                answer=_answer(rest, row, lang),
                trl_min=req.trl_min,
                trl=int(row["trl"]),
            ),
        )
    if kind == "stage_prior":
        qid, other = rest.split(".")
        least = dict(question(qid).requires[row[qid]].answers)[other]
        return AnswerWarning(
            code,
            (f"answers.{qid}", f"answers.{other}"),
            t(
                "warning.stage_prior",
                lang,
                question=t(f"rubric.{qid}", lang),
                answer=_answer(qid, row, lang),
                other=t(f"rubric.{other}", lang),
                least=t(f"rubric.{other}.{least}", lang),
                given=_answer(other, row, lang),
            ),
        )
    fields = {
        "ai_data_volume_unknown": ("technology_axis", "answers.dq_volume"),
        "data_held_volume_unknown": ("answers.dq_access", "answers.dq_volume"),
        "collaborative_no_partner_kind": ("collaborative", "partners"),
        "consortium_without_partners": ("collaborative", "answers.sp_consortium"),
        "clinicians_without_clinical_partner": ("answers.sq_clinicians", "partners.clinical"),
        "business_model_without_market": ("answers.ii_business_model", "answers.ii_market"),
        "industrial_partner_outside_consortium": ("answers.ii_market", "partners.industrial"),
    }[code]
    params = {f.split(".")[-1]: _answer(f.split(".")[-1], row, lang) for f in fields if f.startswith("answers.")}
    if "carrier_type" in row and row["carrier_type"] is not None and not pd.isna(row["carrier_type"]):
        params["carrier"] = code_label("carrier_type", row["carrier_type"], lang)
    return AnswerWarning(code, fields, t(f"warning.{code}", lang, **params))
