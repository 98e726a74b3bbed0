"""Synthetic CEP base: an explicit structural model calibrated to the published figures.

The real CEP base is private; only aggregates are published. The generator
draws a historical base (2019-2024) from the assumptions stated in
`data/synthetic.toml`:

    context (year, filière, carrier, consortium, window, axis, TRL, budget)
      -> latent project qualities -> questionnaire answers
      -> committee criterion scores (rubric + evaluator noise)
      -> label decision -> funding decision (with a label effect)

Each row keeps the true probabilities it was drawn from (`true_p_labeled`,
`true_p_funded`, `true_p_success`): they are functions of the row's own
columns only, so that a model can be compared with the best achievable.

This module is the synthetic base's public face: what callers use, from the
modules that own each part.

- `scoring.synthetic_params`: the assumptions file, `data/synthetic.toml`
  (loading, the windows its tables name).
- `scoring.synthetic_world`: `generate`, the context, the latent qualities
  and the answers; the committee's scores; the outcomes drawn.
- `scoring.synthetic_outcomes`: the label and funding decisions, the true
  probabilities, and the direct context terms of the label.
- `scoring.synthetic_calibration`: `calibrate()`, which fits the offsets to
  `data/figures.csv` (the direct context terms bounded and penalised toward
  zero, the funders' window offsets free) and `save_offsets()`, which writes
  them into `data/synthetic.toml`.
- `scoring.synthetic_mediation`: `mediation()`, the share of each published
  gap the five criteria carry.

Everything the generator knows per window is data: the catalogue
(`data/windows.csv`: carriers, TRL and aid ranges, years open) and the TOML's
`[window_weights]` (by carrier), `[calls]` and `[window_success]`; the funders'
offsets (`[offsets] funding_window`) are fitted. Adding a window edits data
files only.
"""

from __future__ import annotations

from scoring.synthetic_calibration import DIRECT_LABEL_BOUNDS, Calibration, calibrate, save_offsets
from scoring.synthetic_mediation import MEDIATION_TARGETS, Gap, mediation, mediation_rows
from scoring.synthetic_outcomes import true_probabilities
from scoring.synthetic_params import PARAMS_PATH, load_params
from scoring.synthetic_world import TRUE_P_COLUMNS, correlated_normals, generate

__all__ = [
    "DIRECT_LABEL_BOUNDS",
    "MEDIATION_TARGETS",
    "PARAMS_PATH",
    "TRUE_P_COLUMNS",
    "Calibration",
    "Gap",
    "calibrate",
    "correlated_normals",
    "generate",
    "load_params",
    "mediation",
    "mediation_rows",
    "save_offsets",
    "true_probabilities",
]
