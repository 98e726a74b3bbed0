"""The mediation report: how much of each published context gap the five criteria carry.

Owns `mediation()`, the four published gaps (e-santé, AI, collaborative,
companies) measured on a generated base with and without the direct context
terms of the label, `MEDIATION_TARGETS` (issue 12: the criteria carry at
least 70% of the e-santé and AI gaps) and the report's Markdown rows
(`mediation_rows`, for the model card and `reference-check --mediation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from scoring.synthetic_outcomes import true_probabilities
from scoring.synthetic_params import COMPANIES, load_params


@dataclass
class Gap:
    """A published gap between two groups, as generated, and the share the five criteria carry."""

    name: str
    outcome: str  # "success" (labelled and funded) or "labelled"
    published: float
    source: str
    generated: float  # expected, on the 2022-2024 rows
    through_criteria: float  # the same with every direct context term of the label set to zero

    @property
    def share(self) -> float:
        return self.through_criteria / self.generated if self.generated else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, share=self.share)


#: Mediation targets (issue 12): the criteria carry at least this share of these gaps.
MEDIATION_TARGETS = {"e-santé vs other filières": 0.70, "AI vs data axis": 0.70}


def mediation(base: pd.DataFrame, p: dict[str, Any] | None = None) -> list[Gap]:
    """The four published context gaps on a generated base, and the share carried by the scores.

    Both gaps are expectations over the same rows (same seed, same latents and
    scores): the full one with the true probabilities, the other with the direct
    context terms of the label at zero. The funders' window offsets stay (a
    funder's selectivity is the window's, not the dossier's context).
    """
    from scoring.reference import figures

    p = p or load_params()
    fig = figures().set_index("id")
    val = lambda fid: float(fig.loc[fid, "value"])  # noqa: E731
    b = base[base["year"] >= 2022]
    pl, f1, _ = true_probabilities(b, p)
    pl0, _, _ = true_probabilities(b, p, direct=False)
    fil, axis = b["filiere"].to_numpy(), b["technology_axis"].to_numpy()
    company = b["carrier_type"].isin(COMPANIES).to_numpy()
    public = b["carrier_type"].isin(("academic", "hospital")).to_numpy()
    collab = b["collaborative"].to_numpy(bool)
    s_rate, l_rate = (pl * f1).mean(), pl.mean()
    # published gaps that are shares, turned into rate gaps at this base's overall rate and group sizes
    c_share, k_share = collab.mean(), company.mean()
    specs = [
        ("e-santé vs other filières", "success", fil == "e_sante", fil != "e_sante", val("F1") - val("F2"), "F1 - F2"),
        ("AI vs data axis", "success", axis == "ai", axis == "data", val("F8a") - val("F8b"), "F8a - F8b"),
        (
            "collaborative vs not",
            "success",
            collab,
            ~collab,
            s_rate * (val("F11b") / c_share - (1 - val("F11b")) / (1 - c_share)),
            "implied by F11b at this base's success rate and collaborative share",
        ),
        (
            "companies vs public carriers",
            "labelled",
            company,
            public,
            l_rate * (val("F14") / k_share - (1 - val("F14")) / (1 - k_share)),
            "implied by F14 at this base's label rate and company share",
        ),
    ]
    out = []
    for name, outcome, a, z, published, source in specs:
        full, only = (pl * f1, pl0 * f1) if outcome == "success" else (pl, pl0)
        out.append(
            Gap(
                name,
                outcome,
                float(published),
                source,
                float(full[a].mean() - full[z].mean()),
                float(only[a].mean() - only[z].mean()),
            )
        )
    return out


def mediation_rows(gaps: list[dict[str, Any]]) -> list[str]:
    """The mediation report as Markdown table rows (model card and `reference-check --mediation`)."""
    out = [
        "| gap | outcome | published | generated | through the criteria | share | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in gaps:
        target = MEDIATION_TARGETS.get(g["name"])
        out.append(
            f"| {g['name']} | {g['outcome']} | {g['published']:+.3f} ({g['source']}) | {g['generated']:+.3f} "
            f"| {g['through_criteria']:+.3f} | {g['share']:.0%} | {f'>= {target:.0%}' if target else '-'} |"
        )
    return out
