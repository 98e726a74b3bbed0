"""How the tool names things for a reader: fields, rubric answers and the inputs a score had to do without.

Shared by the app, its HTML report and the text report (`cep-scoring score`),
so that none of them shows a column name or a code.
"""

from __future__ import annotations

import re
from typing import Any

from scoring.catalogue import CRITERIA, NOT_APPLICABLE, SCORE_COLUMNS
from scoring.fields import FIELD_BY_NAME
from scoring.i18n import t
from scoring.rubric import SOURCES

# explain's note on a year the model was not trained on: "year (outside_training 2019-2024 as 2024)"
_OUTSIDE_YEARS = re.compile(r"outside_training (\d+)-(\d+) as (\d+)")


def field_label(name: str, lang: str) -> str:
    """Display name of a dossier column (a rubric question, an expert score or a context field)."""
    f = FIELD_BY_NAME.get(name)
    if f is not None and f.kind == "answer":
        return t(f"rubric.{name}", lang)
    if name in SCORE_COLUMNS:
        return t("ui.field.expert_score", lang, criterion=t(f"criterion.{CRITERIA[SCORE_COLUMNS.index(name)]}", lang))
    return t(f"ui.field.{name}", lang) if f is not None else name


def answer_label(qid: str, answer: str, lang: str) -> str:
    """Display label of a rubric answer, "not applicable" included."""
    return t("ui.answer.na", lang) if answer == NOT_APPLICABLE else t(f"rubric.{qid}.{answer}", lang)


def notice(card: dict[str, Any], lang: str) -> str:
    """The training-data notice every page and report carries."""
    data = card["data"]
    if data["synthetic"]:
        return t("ui.notice.synthetic", lang)
    return t("ui.notice.real", lang, rows=data["rows_used"], source=data["source"])


def missing_label(item: str, lang: str) -> str:
    """One of the explanation's missing inputs, in words: a criterion without score, a question, a field."""
    name, _, detail = item.partition(" (")
    detail = detail.removesuffix(")")
    if name.startswith("answers."):
        return t(f"rubric.{name.removeprefix('answers.')}", lang)
    if name in CRITERIA and detail in SOURCES:
        return t("missing.criterion", lang, criterion=t(f"criterion.{name}", lang), source=t(f"source.{detail}", lang))
    years = _OUTSIDE_YEARS.fullmatch(detail)
    if years:
        lo, hi, used = years.groups()
        return t("missing.year_outside", lang, field=field_label(name, lang), lo=lo, hi=hi, used=used)
    if name in FIELD_BY_NAME and not detail:
        return field_label(name, lang)
    return item
