"""The committee's consensus: several experts' scores -> one score per criterion.

Pure functions on plain mappings, so the rule can be tested and redone by hand:

- the consensus of a criterion is the mean or the median of the experts'
  scores (`ConsensusSettings.method`);
- optionally, each expert's score is first normalised against that expert's
  own history: z = (score - expert's mean) / expert's standard deviation,
  mapped back to the pooled history's scale, pooled mean + z * pooled
  standard deviation, clipped to 0-5. A severe and a lenient expert then
  count alike. An expert with fewer than `min_history` past scores, or who
  always gives the same score, is left as given: their severity is unknown;
- a criterion on which the experts' raw scores differ by `discuss_at`
  points or more (2 by default) is flagged for discussion.

The individual raw scores are kept beside the consensus, never replaced.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable

from scoring.catalogue import CRITERIA

METHODS = ("mean", "median")
ENV_METHOD = "CEP_CONSENSUS_METHOD"
ENV_NORMALISE = "CEP_CONSENSUS_NORMALISE"
_TRUE = ("1", "true", "yes", "oui")
_FALSE = ("", "0", "false", "no", "non")


@dataclass(frozen=True)
class ConsensusSettings:
    #: The median by default: with three or more experts one outlier does not move it.
    method: str = "median"
    normalise: bool = False
    min_history: int = 5
    discuss_at: float = 2.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"consensus method {self.method!r} is not known; use one of {', '.join(METHODS)}")
        if self.min_history < 2:
            raise ValueError(f"min_history is {self.min_history}; a standard deviation needs at least 2 scores")
        if not 0 < self.discuss_at <= 5:
            raise ValueError(f"discuss_at is {self.discuss_at}; give a gap in points from above 0 to 5")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConsensusSettings:
        """`CEP_CONSENSUS_METHOD` (mean|median) and `CEP_CONSENSUS_NORMALISE` (1/0), defaults otherwise."""
        env = os.environ if environ is None else environ
        flag = env.get(ENV_NORMALISE, "").strip().lower()
        if flag not in _TRUE + _FALSE:
            raise ValueError(f"{ENV_NORMALISE}={flag!r}: use 1 or 0")
        return cls(method=env.get(ENV_METHOD, "").strip().lower() or cls.method, normalise=flag in _TRUE)


@dataclass(frozen=True)
class CriterionConsensus:
    criterion: str
    raw: dict[str, float]  # expert -> score as given
    used: dict[str, float]  # expert -> score entering the consensus (normalised or raw)
    value: float | None  # None when no expert scored the criterion
    spread: float | None  # max - min of the raw scores
    discuss: bool


@dataclass(frozen=True)
class Consensus:
    settings: ConsensusSettings
    criteria: tuple[CriterionConsensus, ...]
    normalised_experts: tuple[str, ...]  # experts whose scores were normalised (enough history)

    @property
    def flagged(self) -> tuple[str, ...]:
        """Criteria to discuss: the experts disagree too much."""
        return tuple(c.criterion for c in self.criteria if c.discuss)

    @property
    def discuss(self) -> bool:
        return bool(self.flagged)

    def values(self) -> dict[str, float | None]:
        return {c.criterion: c.value for c in self.criteria}


def normaliser(history: Mapping[str, Sequence[float]], min_history: int) -> Callable[[str, float], float | None]:
    """f(expert, score) -> the score on the pooled scale, or None when the expert cannot be normalised."""
    pooled = [s for scores in history.values() for s in scores]
    if len(pooled) < 2 or statistics.pstdev(pooled) == 0:
        return lambda expert, score: None
    mu, sd = statistics.fmean(pooled), statistics.pstdev(pooled)
    per_expert = {
        e: (statistics.fmean(s), statistics.pstdev(s))
        for e, s in history.items()
        if len(s) >= min_history and statistics.pstdev(s) > 0
    }

    def f(expert: str, score: float) -> float | None:
        if expert not in per_expert:
            return None
        e_mu, e_sd = per_expert[expert]
        return min(5.0, max(0.0, mu + (score - e_mu) / e_sd * sd))

    return f


def combine(
    scores: Mapping[str, Mapping[str, float]],
    settings: ConsensusSettings = ConsensusSettings(),
    history: Mapping[str, Sequence[float]] | None = None,
) -> Consensus:
    """Consensus of one dossier from {expert: {criterion: score}}.

    `history` is {expert: every score they gave, all dossiers and criteria},
    needed only when `settings.normalise` is set.
    """
    if settings.normalise and history is None:
        raise ValueError("normalising needs the experts' history of scores")
    norm = normaliser(history or {}, settings.min_history) if settings.normalise else (lambda e, s: None)
    centre = statistics.fmean if settings.method == "mean" else statistics.median
    normalised: set[str] = set()
    out = []
    for crit in CRITERIA:
        raw = {e: float(s[crit]) for e, s in scores.items() if s.get(crit) is not None}
        used = {}
        for e, s in raw.items():
            n = norm(e, s)
            if n is not None:
                normalised.add(e)
            used[e] = s if n is None else n
        spread = max(raw.values()) - min(raw.values()) if raw else None
        out.append(
            CriterionConsensus(
                criterion=crit,
                raw=raw,
                used=used,
                value=centre(used.values()) if used else None,
                spread=spread,
                discuss=spread is not None and spread >= settings.discuss_at,
            )
        )
    return Consensus(settings, tuple(out), tuple(sorted(normalised)))
