"""Plain results -> rows and words in one language, shared by the app's charts and the report.

No Streamlit here: the report is built from the same rows the app draws, so
the two cannot disagree.
"""

from __future__ import annotations

from typing import Any

from scoring import formatting
from scoring.explain import input_label
from scoring.i18n import t

TOP_INPUTS = 8  # inputs shown one by one in a waterfall; the others are summed into one step


def pct(p: float | None, lang: str) -> str:
    return "—" if p is None else formatting.percent(p, lang)


def points(v: float, lang: str) -> str:
    return t("ui.fmt.points", lang, v=formatting.points(v, lang))


def score(s: float | None, lang: str) -> str:
    """A criterion score, "3,5/5", or a dash when the criterion has none."""
    return "—" if s is None else formatting.score(s, lang)


def band(lo_hi: list[float], lang: str) -> str:
    return t("ui.prob.band", lang, lo=pct(lo_hi[0], lang), hi=pct(lo_hi[1], lang))


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
        r["label"] = formatting.number(r["end"], lang) if r["kind"] == "total" else \
            formatting.number(r["end"] - r["start"], lang, 1, sign=True)
    return rows


def base_rates(probabilities: dict[str, Any], lang: str) -> tuple[str, str]:
    """(filière base rate sentence, window base rate sentence), each naming its published source."""
    br = probabilities["base_rate"]
    f, w = br["filiere"], br["window"]
    filiere = t("ui.prob.base_filiere", lang, filiere=f["text"], rate=pct(f["value"], lang), figure=f["figure"])
    if w["value"] is None:
        window = t("ui.prob.base_window_none", lang, window=w["text"])
    else:
        # data/windows.csv's source reads "publication: the analyst's note" (in English); the reader gets the publication
        window = t("ui.prob.base_window", lang, window=w["text"], rate=pct(w["value"], lang),
                   source=w["source"].partition(": ")[0])
    return filiere, window
