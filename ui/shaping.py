"""Plain results -> rows and words in one language, shared by the app's charts and the report.

No Streamlit here: the report is built from the same rows the app draws, so
the two cannot disagree.
"""

from __future__ import annotations

from typing import Any

from scoring import formatting
from scoring.explain import input_label
from scoring.i18n import t


def pct(p: float | None, lang: str) -> str:
    return "—" if p is None else formatting.percent(p, lang)


def points(v: float, lang: str) -> str:
    return t("ui.fmt.points", lang, v=formatting.points(v, lang))


def score(s: float | None, lang: str) -> str:
    """A criterion score, "3,5/5", or a dash when the criterion has none."""
    return "—" if s is None else formatting.score(s, lang)


def contribution_rows(contrib: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """What moves this dossier away from projects like it, in probability points: the criteria, largest first.

    Each row has step, points (signed, on the 0-100 scale), kind ('up', 'down') and label ("+6,7").
    Drawn as bars from zero, so the axis is a scale of points; the two levels are `levels`.
    """
    steps = [(input_label(k, lang), v) for k, v in sorted(contrib["values"].items(), key=lambda kv: -abs(kv[1]))]
    return [
        {"step": name, "points": 100 * v, "kind": "up" if v >= 0 else "down", "label": formatting.points(v, lang)}
        for name, v in steps
    ]


def levels(contrib: dict[str, Any], lang: str) -> str:
    """ "From projects like yours (39 %) to this dossier (9 %)": the two probabilities the contributions join."""
    result = contrib["base"] + sum(contrib["values"].values())
    return t("ui.contrib.levels", lang, base=pct(contrib["base"], lang), result=pct(result, lang))


def base_rates(probabilities: dict[str, Any], lang: str) -> tuple[str, str]:
    """(filière base rate sentence, window base rate sentence), each naming its published source."""
    br = probabilities["base_rate"]
    f, w = br["filiere"], br["window"]
    filiere = t("ui.prob.base_filiere", lang, filiere=f["text"], rate=pct(f["value"], lang), figure=f["figure"])
    if w["value"] is None:
        window = t("ui.prob.base_window_none", lang, window=w["text"])
    else:
        # data/windows.csv's source reads "publication: the analyst's note" (in English); readers get the publication
        window = t(
            "ui.prob.base_window",
            lang,
            window=w["text"],
            rate=pct(w["value"], lang),
            source=w["source"].partition(": ")[0],
        )
    return filiere, window
