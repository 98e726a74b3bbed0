"""The committee's triage queue: dossiers, their explanations and each window's rules -> one sorted table.

Pure (no Streamlit), so the order and the bands are tested without a browser.
The windows' rules are `scoring.eligibility`'s, as every path applies them, read from each
dossier's explanation:
the catalogue's (window closed, carrier, collaboration, partner, TRL, aid),
and the knock-out thresholds per criterion and overall on the experts'
scores; ranking weights (`scoring.reference`) order dossiers inside a
window without changing any probability.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring.catalogue import CRITERIA
from scoring.i18n import code_label, t
from scoring.reference import catalogue, ranking_score, window_rules

BANDS = ("recommend", "discuss", "not_ready")


def _rule_text(code: str, window: str, lang: str) -> str:
    """A broken rule in the queue's words: 'knockout.scientific_quality' -> 'Qualité scientifique < 3'."""
    if code == "knockout.total":
        return t("ui.triage.knockout_total", lang, threshold=f"{catalogue()[window].knockout_total:g}")
    if code.startswith("knockout."):
        name = code.split(".", 1)[1]
        return t(
            "ui.triage.knockout",
            lang,
            criterion=t(f"criterion.{name}", lang),
            threshold=f"{window_rules()[window][name][0]:g}",
        )
    return t(f"rule.{code}", lang)


def build(
    docs: list[dict[str, Any]],
    results: list[dict[str, Any]],
    bands: tuple[float, float],
    lang: str,
    notes: dict[str, str] | None = None,
    decisions: dict[str, bool | None] | None = None,
) -> pd.DataFrame:
    """One row per dossier, sorted by P(labelled) (best first; ranking score breaks ties).

    `bands` = (discuss from, recommend from) on P(labelled), 0-1. A dossier
    that breaks an eligibility rule or a knock-out threshold of its window is
    not ready whatever its probability, and the rule is named.
    """
    notes, decisions = notes or {}, decisions or {}
    scores = np.array(
        [[np.nan if c["score"] is None else c["score"] for c in r["criteria"]] for r in results], dtype=float
    ).reshape(len(results), len(CRITERIA))
    rank_score = np.zeros(len(docs))
    windows = np.array([d["funding_window"] for d in docs], dtype=object)
    for w in set(windows):
        m = windows == w
        rank_score[m] = ranking_score(scores[m], w)
    rows = []
    for i, (doc, res) in enumerate(zip(docs, results)):
        p = res["probabilities"]
        # the explanation's verdict on its own window, knock-outs on the experts' scores (the docs'
        # expert_scores): the rules `eligibility` applies, read rather than validated again
        blocking = [_rule_text(code, doc["funding_window"], lang) for code in res["eligibility"]["codes"]]
        if blocking:
            band = "not_ready"
        else:
            band = "recommend" if p["labeled"] >= bands[1] else "discuss" if p["labeled"] >= bands[0] else "not_ready"
        row = {
            "dossier_id": doc["dossier_id"],
            "acronym": doc.get("acronym", ""),
            "title": doc["title"],
            "filiere": code_label("filiere", doc["filiere"], lang),
            "window": code_label("funding_window", doc["funding_window"], lang),
            "p_labeled": p["labeled"],
            "p_success": p["success"],
            "band": band,
            "band_label": t(f"ui.band.{band}", lang),
            "blocking": "; ".join(blocking),
            "ranking_score": float(rank_score[i]),
        }
        for c in res["criteria"]:
            row[f"score_{c['criterion']}"] = c["score"]
            row[f"source_{c['criterion']}"] = c["source_label"]
        row["reasons"] = " | ".join(r["text"] for r in res["reasons"])
        row["notes"] = notes.get(doc["dossier_id"], "")
        decision = decisions.get(doc["dossier_id"])
        row["decision"] = (
            "" if decision is None else t("ui.decision.labeled" if decision else "ui.decision.not_labeled", lang)
        )
        rows.append(row)
    out = pd.DataFrame(rows)
    out = out.sort_values(["p_labeled", "ranking_score"], ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.insert(
        out.columns.get_loc("ranking_score") + 1,
        "window_rank",
        out.groupby("window")["ranking_score"].rank(ascending=False, method="min").astype(int),
    )
    return out


def export_frame(queue: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The queue with translated headers, as the committee downloads it."""
    return queue.drop(columns=["band"]).rename(columns=lambda c: column_title(c, lang))


def column_title(column: str, lang: str) -> str:
    for prefix in ("score_", "source_"):
        if column.startswith(prefix) and column[len(prefix) :] in CRITERIA:
            return t(f"ui.queue.{prefix[:-1]}", lang, criterion=t(f"criterion.{column[len(prefix) :]}", lang))
    return t(f"ui.queue.{column}", lang)
