"""Champion and challenger (issue 18): retrain on the committee's decisions, promote only beyond the noise.

The challenger is fitted on every decided dossier but the most recent year's; both models then predict
that held-out year, which neither has seen (the champion was trained before it, the challenger without
it). Each dossier gives a paired difference of log loss on P(labelled), d = loss(champion) -
loss(challenger); the challenger is promoted when the mean difference exceeds Z_PROMOTE standard errors
(a one-sided paired z test at 2.5 %): better by more than the sampling noise of that year's decisions,
not merely better.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from scoring.model import CEPModel

Z_PROMOTE = norm.ppf(0.975)
MIN_HELD_OUT, MIN_TRAIN = 100, 200
EPS = 1e-12


def decision_path(model_dir: str | Path) -> Path:
    """Where a promoted model's challenge decision is kept: beside its folder, as models/cep.challenge.json
    (inside, it would fail the model's verification: a model folder holds only its manifest's files)."""
    d = Path(model_dir)
    return d.with_name(d.name + ".challenge.json")


def log_loss_rows(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def challenge(champion: CEPModel, frame: pd.DataFrame, seed: int = 0) -> tuple[CEPModel | None, dict[str, Any]]:
    """(the challenger, the decision) on a validated frame of decided dossiers; (None, a refusal) when the
    most recent year or the years before it hold too few decisions to tell."""
    decided = frame[frame["labeled"].notna()]
    year = int(decided["year"].max())
    past, held = decided[decided["year"] < year], decided[decided["year"] == year]
    if len(held) < MIN_HELD_OUT or len(past) < MIN_TRAIN:
        return None, {
            "promote": False,
            "held_out_year": year,
            "held_out": len(held),
            "train": len(past),
            "reason": f"too few decisions: {len(held)} in {year} (at least {MIN_HELD_OUT}) and "
            f"{len(past)} before (at least {MIN_TRAIN})",
        }
    challenger = CEPModel(seed=seed, n_bootstrap=0).fit(past)
    y = held["labeled"].to_numpy(float)
    champ = log_loss_rows(champion.predict(held).labeled, y)
    chall = log_loss_rows(challenger.predict(held).labeled, y)
    d = champ - chall
    se = float(d.std(ddof=1) / np.sqrt(len(d)))
    z = float(d.mean() / se) if se > 0 else 0.0
    promote = z > Z_PROMOTE
    return challenger, {
        "promote": bool(promote),
        "held_out_year": year,
        "held_out": len(held),
        "train": len(past),
        "log_loss": {"champion": float(champ.mean()), "challenger": float(chall.mean())},
        "difference": float(d.mean()),
        "standard_error": se,
        "z": z,
        "threshold": float(Z_PROMOTE),
        "test": "paired z test on per-dossier log loss of P(labelled), one-sided at 2.5 %",
        "reason": (
            "the challenger's log loss is lower by more than the sampling noise"
            if promote
            else "the challenger is not better by more than the sampling noise: the champion stays"
        ),
    }
