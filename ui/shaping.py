"""Plain results -> rows and words in one language, shared by the app's charts and the report.

No Streamlit here: the report is built from the same rows the app draws, so
the two cannot disagree.
"""

from __future__ import annotations

from typing import Any

from scoring.i18n import t
from scoring.rubric import SOURCES
from scoring.schema import CRITERIA, FIELD_BY_NAME, NOT_APPLICABLE, SCORE_COLUMNS

TOP_INPUTS = 8  # inputs shown one by one in a waterfall; the others are summed into one step


def pct(p: float | None, lang: str) -> str:
    if p is None:
        return "—"
    return f"{100 * p:.0f}\u202f%" if lang == "fr" else f"{100 * p:.0f}%"


def points(v: float, lang: str) -> str:
    return t("ui.fmt.points", lang, v=f"{100 * v:+.1f}")


def band(lo_hi: list[float], lang: str) -> str:
    return t("ui.prob.band", lang, lo=pct(lo_hi[0], lang), hi=pct(lo_hi[1], lang))


def input_label(name: str, lang: str) -> str:
    return t(f"criterion.{name}", lang) if name in CRITERIA else t(f"input.{name}", lang)


def waterfall_rows(contrib: dict[str, Any], lang: str, top: int = TOP_INPUTS) -> list[dict[str, Any]]:
    """A waterfall in probability points: the base, the largest inputs, the others summed, the result.

    Each row has step, start, end (0-100 scale), kind ('total', 'up', 'down') and its label.
    """
    values = sorted(contrib["values"].items(), key=lambda kv: -abs(kv[1]))
    steps = [(input_label(k, lang), v) for k, v in values[:top]]
    if values[top:]:
        steps.append((t("ui.contrib.others", lang), sum(v for _, v in values[top:])))
    rows = [{"step": t("ui.contrib.base", lang), "start": 0.0, "end": 100 * contrib["base"], "kind": "total"}]
    level = 100 * contrib["base"]
    for name, v in steps:
        rows.append({"step": name, "start": level, "end": level + 100 * v, "kind": "up" if v >= 0 else "down"})
        level += 100 * v
    rows.append({"step": t("ui.contrib.result", lang), "start": 0.0, "end": level, "kind": "total"})
    for r in rows:
        r["label"] = f"{r['end']:.0f}" if r["kind"] == "total" else f"{r['end'] - r['start']:+.1f}"
    return rows


def base_rates(probabilities: dict[str, Any], lang: str) -> tuple[str, str]:
    """(filière base rate sentence, window base rate sentence), each naming its published source."""
    br = probabilities["base_rate"]
    f, w = br["filiere"], br["window"]
    filiere = t("ui.prob.base_filiere", lang, filiere=f["text"], rate=pct(f["value"], lang), figure=f["figure"])
    if w["value"] is None:
        window = t("ui.prob.base_window_none", lang, window=w["text"])
    else:
        window = t("ui.prob.base_window", lang, window=w["text"], rate=pct(w["value"], lang), source=w["source"])
    return filiere, window


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
        return f"{t(f'criterion.{name}', lang)} ({t(f'source.{detail}', lang)})"
    if name in FIELD_BY_NAME and not detail:
        return field_label(name, lang)
    return item
