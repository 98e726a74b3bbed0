"""A committee session: who scores which dossier, and what the panel's scores come to.

- `suggest` proposes a panel for a dossier: academic and industrial experts in
  turn (the committee's strength is that mix, seed 002), the least loaded
  first, never one with a conflict of interest on it.
- `session` gathers, per assessed dossier, each expert's raw and normalised
  scores, the consensus (`scoring.store.consensus`), the model's probability
  computed from the consensus scores (rounded to the half point the model
  takes) beside the one from the rubric alone,
  and the window's knock-out rules and overall line applied to the
  consensus; dossiers to discuss (experts 2+ points apart) come first.

Plain data out: the app and the minutes present it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scoring.eligibility import Verdict, verdict
from scoring.explain import explain
from scoring.i18n import DEFAULT_LANG
from scoring.jsonform import validate_records
from scoring.store.consensus import Consensus, ConsensusSettings
from scoring.store.records import Assessment, Decision
from scoring.store.repository import Store

PANEL_SIZE = 3  # EU evaluations: three or more independent experts per proposal
KINDS = ("academic", "industrial")


def suggest(
    experts: Mapping[str, str | None], load: Mapping[str, int], exclude: Iterable[str] = (), size: int = PANEL_SIZE
) -> list[str]:
    """Up to `size` experts from {name: kind}: the two kinds in turn, each time the least loaded of the
    kind with fewer picks so far (ties by name); experts of no known kind only when a kind runs out."""
    excluded = set(exclude)
    order = lambda e: (load.get(e, 0), e)  # noqa: E731 - the one sort key, used three times
    pools = {k: sorted((e for e, kind in experts.items() if kind == k and e not in excluded), key=order) for k in KINDS}
    others = sorted((e for e, kind in experts.items() if kind not in KINDS and e not in excluded), key=order)
    picked: list[str] = []
    count = dict.fromkeys(KINDS, 0)
    while len(picked) < size and any(pools.values()):
        kind = min((k for k in KINDS if pools[k]), key=lambda k: (count[k], order(pools[k][0])))
        picked.append(pools[kind].pop(0))
        count[kind] += 1
    return picked + others[: size - len(picked)]


@dataclass(frozen=True)
class DossierConsensus:
    """One assessed dossier as the chair reviews it."""

    dossier_id: str
    title: str
    window: str | None
    assigned: tuple[str, ...]
    assessments: dict[str, Assessment]  # expert -> latest assessment (conflicted experts left out)
    consensus: Consensus
    p_rubric: dict[str, float]  # the model on the dossier's questionnaire alone
    p_consensus: dict[str, float]  # the model with the consensus scores (`on_scale`) in place of the rubric's
    # False when the targeted window cannot take the dossier: its P(success) is then arithmetic, not an estimate
    funding_estimate: bool
    rules: Verdict | None  # the window's rules, knock-outs and overall line judged on the consensus scores
    decision: Decision | None

    @property
    def discuss(self) -> bool:
        return self.consensus.discuss

    def normalised(self, expert: str, criterion: str) -> float | None:
        """The score of `expert` that entered the consensus, when it differs from the raw one (normalised)."""
        c = next(c for c in self.consensus.criteria if c.criterion == criterion)
        if expert not in self.consensus.normalised_experts or expert not in c.used:
            return None
        return c.used[expert]


def on_scale(value: float) -> float:
    """A consensus (a mean, a normalised score) on the half-point scale the model takes, halves rounded up."""
    return math.floor(value * 2 + 0.5) / 2


def _probabilities(result: dict[str, Any]) -> dict[str, float]:
    p = result["probabilities"]
    return {k: float(p[k]) for k in ("labeled", "success")}


def session(store: Store, bundle: Any, settings: ConsensusSettings, lang: str = DEFAULT_LANG) -> list[DossierConsensus]:
    """Every assessed dossier of the store, those to discuss first, then by id (rules worded in `lang`)."""
    consensus = store.consensus(settings=settings)
    if not consensus:
        return []
    assigned = store.assignments()
    decisions = store.decisions(list(consensus))
    heads = {d.dossier_id: d for d in store.list_dossiers(status="valid") if d.dossier_id in consensus}
    ids = sorted(heads, key=lambda i: (not consensus[i].discuss, i))
    docs = [heads[i].payload for i in ids]
    with_consensus = [
        {**d, "expert_scores": {c: on_scale(v) for c, v in consensus[i].values().items() if v is not None}}
        for i, d in zip(ids, docs)
    ]
    # Two calls: one call refuses a dossier id given twice.
    rubric, agreed = explain(docs, bundle), explain(with_consensus, bundle)
    rows = validate_records(docs).frame.to_dict("records")  # valid dossiers: one row each, in order
    out = []
    for k, i in enumerate(ids):
        window = docs[k].get("funding_window")
        rules = verdict(rows[k], window, consensus[i].values(), lang) if window else None
        out.append(
            DossierConsensus(
                dossier_id=i,
                title=str(docs[k].get("title", "")),
                window=window,
                assigned=assigned.get(i, ()),
                assessments=store.panel(i),
                consensus=consensus[i],
                p_rubric=_probabilities(rubric[k]),
                p_consensus=_probabilities(agreed[k]),
                funding_estimate=bool(rubric[k]["probabilities"]["estimate"]),
                rules=rules,
                decision=decisions.get(i),
            )
        )
    return out
