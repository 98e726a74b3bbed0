"""The vectorised scorer: a table of dossiers scored in one pass, the columns a batch adds.

`score_frame` scores one in-memory table (the portfolio page uses it; the
batch engine, `scoring.batch`, runs it on each chunk of a file). This module
owns the batch's output columns and the model arithmetic on a whole table:
validation, rubric and model are vectorised over the rows (the log-odds come
from coefficient lookups without a design matrix unless explanations need it).

The best window comes from the model's structure rather than from re-scoring
the table under each window. The model is additive in log-odds and a window
enters it only through its one-hot column and the criterion x window slopes,
so a dossier's log-odds under any window is its log-odds under its own window
plus the difference of those few terms: one (n, 6) x (6, windows) product per
model.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import expit

from scoring import consistency, eligibility
from scoring.catalogue import CRITERIA, codes
from scoring.explain import actions as explain_actions
from scoring.explain import contributions, records
from scoring.fields import code_index
from scoring.rubric import score_table
from scoring.schema import canonical_columns, validate_frame

CRITERION_COLUMNS = tuple(f"criterion_{c}" for c in CRITERIA)
PROBABILITY_COLUMNS = ("p_labeled", "p_funded", "p_success")
# the target window's verdict (scoring.eligibility): 1/0, and the codes of the rules broken, ';'-joined
ELIGIBILITY_COLUMNS = ("eligible", "eligibility_reason")
WARNING_COLUMNS = ("warnings",)  # codes of the suspicious answers (scoring.consistency), ';'-joined
WINDOW_COLUMNS = ("best_window", "best_window_p_success")
TARGETS = ("labeled", "success")
N_REASONS = 3
INTERVAL_COLUMNS = tuple(f"p_{t}_{side}" for t in TARGETS for side in ("low", "high"))  # the 80% interval
# with actions: the steps of scoring.explain.actions as "field: from -> to (probability +gain)", ' | '-joined, and the
# smallest set of them crossing the labelling line, ';'-joined
ACTION_COLUMNS = ("actions", "labelling_set")
_TEXT_COLUMNS = {"status", "error", "eligibility_reason", "best_window", "warnings", *ACTION_COLUMNS} | {
    f"reason_{k}" for k in range(1, N_REASONS + 1)
}


def output_columns(explain: bool = False, actions: bool = False) -> tuple[str, ...]:
    """The columns a batch adds after the input's own, in order (`actions` implies `explain`)."""
    explain = explain or actions
    cols = (
        ("status", "error")
        + CRITERION_COLUMNS
        + PROBABILITY_COLUMNS
        + ELIGIBILITY_COLUMNS
        + WINDOW_COLUMNS
        + WARNING_COLUMNS
    )
    if explain:
        cols += INTERVAL_COLUMNS + tuple(f"reason_{k}" for k in range(1, N_REASONS + 1))
        for target in TARGETS:  # base: "projects like yours" (scoring.explain.contributions); the criteria move it
            cols += (f"base_{target}",) + tuple(f"contrib_{target}__{name}" for name in CRITERIA)
    return cols + (ACTION_COLUMNS if actions else ())


def output_schema(explain: bool = False, actions: bool = False) -> pa.Schema:
    return pa.schema(
        [(c, pa.string() if c in _TEXT_COLUMNS else pa.float64()) for c in output_columns(explain, actions)]
    )


def score_frame(
    raw: pd.DataFrame,
    bundle,
    explain: bool = False,
    *,
    first_row: int = 1,
    today: dt.date | None = None,
    actions: bool = False,
    lang: str = "en",
) -> pd.DataFrame:
    """Every row of `raw` with its own columns, then the batch columns (see `output_columns`).

    Invalid rows are kept with status "error" and the reason, in `lang`; `first_row` is
    the 1-based number of raw's first row in its file, for those reasons.
    Raises SchemaError when a required column is absent.
    """
    out, _ = score_columns(raw, bundle.model, explain, first_row, today, actions=actions, lang=lang)
    kept = raw.drop(columns=[c for c in raw.columns if c in out])  # a re-scored output gets fresh results
    return pd.concat([kept, pd.DataFrame(out, index=raw.index)], axis=1)


def score_columns(
    raw: pd.DataFrame,
    model,
    explain: bool,
    first_row: int,
    today: dt.date | None,
    repeated: dict[int, tuple[int, ...]] | None = None,
    actions: bool = False,
    lang: str = "en",
) -> tuple[dict[str, np.ndarray], pd.Series]:
    """The batch columns of `raw`, and the hashes of its dossier ids (see `_id_hashes`)."""
    ids = _ids(raw)
    hashes = _id_hashes(ids)
    known = None
    if repeated is not None:  # ids found on several rows of the file: this chunk's, each with all its rows
        known = {ids.iat[row]: repeated[h] for row, h in hashes[hashes.isin(list(repeated))].items()}
    v = validate_frame(raw, first_row=first_row, today=today, repeated=known)
    ok = v.ok
    reasons = v.reasons(lang)
    reasons[ok] = None
    out: dict[str, np.ndarray] = {"status": np.where(ok, "ok", "error").astype(object), "error": reasons}
    frame = v.frame if ok.all() else v.frame[ok].reset_index(drop=True)
    scored = _score_valid(frame, model, explain or actions, actions) if len(frame) else {}
    for name in output_columns(explain, actions)[2:]:
        text = name in _TEXT_COLUMNS
        col = np.full(len(ok), None if text else np.nan, dtype=object if text else float)
        if name in scored:
            col[ok] = scored[name]
        out[name] = col
    return out, hashes


def _ids(raw: pd.DataFrame) -> pd.Series:
    """The dossier ids of a raw chunk as the validator reads them (trimmed text), None where missing."""
    col = next((c for c, name in canonical_columns(raw.columns).items() if name == "dossier_id"), None)
    if col is None:
        return pd.Series([None] * len(raw), dtype=object)
    s = raw[col].reset_index(drop=True)
    return (
        s.str.strip()
        if pd.api.types.is_string_dtype(s.dtype)
        else s.map(lambda v: v.strip() if isinstance(v, str) else v)
    )


def _id_hashes(ids: pd.Series) -> pd.Series:
    """Per row (the index), a 64-bit hash of its dossier id, missing ids left out: what the parent compares."""
    ids = ids[(ids.notna() & (ids != "")).to_numpy(bool)]
    return pd.util.hash_pandas_object(ids.astype(object), index=False)


def _score_valid(frame: pd.DataFrame, model, explain: bool, actions: bool = False) -> dict[str, np.ndarray]:
    """Batch columns of valid rows: `CEPModel.predict`'s arithmetic, its log-odds reused for the windows."""
    table = score_table(frame)
    z_lab, z_f1 = model.logits(frame, table.score)
    pred = model.probabilities(z_lab, z_f1, table)
    out = dict(zip(CRITERION_COLUMNS, table.score.T))
    out.update(p_labeled=pred.labeled, p_funded=pred.funded, p_success=pred.success)
    windows = codes()["funding_window"]
    broken = eligibility.broken(frame, windows)  # knock-outs on the experts' scores the file gives
    target = broken[np.arange(len(frame)), code_index(frame["funding_window"], "funding_window")]
    out["eligible"] = (~target.any(axis=1)).astype(float)
    out["eligibility_reason"] = eligibility.reasons(target)
    allowed = np.asarray(~broken.any(axis=2))  # (n, windows): an array to numpy's stubs too, not a scalar
    out["best_window"], out["best_window_p_success"] = _best_window(model, frame, table.score, z_lab, z_f1, allowed)
    out["warnings"] = eligibility.reasons(consistency.flags(frame), consistency.codes())
    if explain:  # contributions need the design matrix; the probabilities never do
        matrices = model.matrices(frame, table)
        out.update(_explanations(model, frame, matrices, table.score))
        if actions:
            out.update(_actions(model, frame, matrices.label, out))
    return out


def _actions(model, frame: pd.DataFrame, label: np.ndarray, scored: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per row, `scoring.explain.actions` as codes: each step's gain is on P(success), or on P(labelled) where
    the targeted window cannot take the dossier (its funding is then no estimate), as in every other view.

    Row by row (each step is a what-if of its own dossier): about a hundred times slower than the scores,
    hence a separate option.
    """
    steps_out, sets_out = np.empty(len(frame), object), np.empty(len(frame), object)
    for i, row in enumerate(records(frame)):
        focus = "success" if scored["eligible"][i] == 1 else "labeled"
        steps, labelling = explain_actions(
            model, label[i : i + 1], row, "en", float(scored["p_success"][i]), float(scored["p_labeled"][i]), focus
        )
        steps_out[i] = " | ".join(f"{a['field']}: {a['from']} -> {a['to']} ({focus} {a['gain']:+.3f})" for a in steps)
        sets_out[i] = ";".join(labelling["steps"])
    return {"actions": steps_out, "labelling_set": sets_out}


def _window_terms(design, coef: np.ndarray, windows: tuple[str, ...]) -> np.ndarray:
    """(1 + criteria, windows): log-odds a window adds, as a constant and per criterion score point."""
    fw = design.inputs.index("funding_window")
    terms = np.zeros((1 + len(CRITERIA), len(windows)))
    for j, (kind, level) in enumerate(zip(design.kind, design.level)):  # the design says what each column is
        if kind == "onehot" and design.owner[j] == fw:
            terms[0, windows.index(level)] += coef[j]
        elif kind == "slope" and design.partner[j] == fw:
            terms[1 + design.u_src[j], windows.index(level)] += coef[j]
        elif fw in (design.owner[j], design.partner[j]):
            raise NotImplementedError(
                f"design column {design.names[j]!r} uses the window in a way batch windows do not know"
            )
    return terms


def _best_window(
    model, frame: pd.DataFrame, scores: np.ndarray, z_lab: np.ndarray, z_f1: np.ndarray, eligible: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the eligible window with the highest P(success) and that probability (None, NaN if none).

    `eligible`: (n, windows) `scoring.eligibility`'s verdicts, in the catalogue's window order.

    Same choice as the first eligible row of `CEPModel.window_matrix`, ties to the catalogue order.
    """
    windows = codes()["funding_window"]
    n = len(frame)
    u = np.column_stack([np.ones(n), np.nan_to_num(scores, nan=0.0)])
    own = code_index(frame["funding_window"], "funding_window")
    rows = np.arange(n)
    z = []
    for cal, design, z_own in ((model.label_, model.label_design_, z_lab), (model.fund_, model.fund_design_, z_f1)):
        d = u @ _window_terms(design, cal.model.coef_, windows)
        z.append(z_own[:, None] + cal.platt.a * (d - d[rows, own][:, None]))
    success = expit(z[0]) * expit(z[1])
    ranked = np.where(eligible, success, -np.inf)
    best = ranked.argmax(axis=1)
    has = eligible.any(axis=1)
    names = np.array(windows, dtype=object)[best]
    names[~has] = None
    return names, np.where(has, success[rows, best], np.nan)


def _explanations(model, frame: pd.DataFrame, matrices, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Intervals, exact contributions to both probabilities, and the three scored criteria that move P(success)
    the most (`scores`, (n, 5), NaN where a criterion has none: as in `explain`, such a criterion's move is in
    the contributions but it is no reason; a row with fewer scored criteria has empty reasons after them)."""
    c = contributions(model, frame, matrices=matrices)
    out: dict[str, np.ndarray] = {}
    for target, band in zip(TARGETS, model.intervals(matrices.label)):
        out[f"p_{target}_low"], out[f"p_{target}_high"] = band[:, 0], band[:, 1]
    for target in TARGETS:
        base, values = c[target]
        out[f"base_{target}"] = base
        out.update((f"contrib_{target}__{name}", values[:, k]) for k, name in enumerate(c["inputs"]))
    values = c["success"][1]
    scored = ~np.isnan(scores)
    top = np.argsort(np.where(scored, -np.abs(values), np.inf), axis=1, kind="stable")[:, :N_REASONS]
    names = np.array(c["inputs"], dtype=object)[top]
    amounts = np.char.mod("%+.3f", np.take_along_axis(values, top, axis=1)).astype(object)
    text = names + ": " + amounts
    text[~np.take_along_axis(scored, top, axis=1)] = None
    out.update((f"reason_{k + 1}", text[:, k]) for k in range(N_REASONS))
    return out
