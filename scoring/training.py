"""Training: from a base of decided dossiers to a verified model directory and its card.

`train()` validates the base (bad rows reported and left out, never guessed),
keeps a hold-out by year (train up to 2023, test 2024) and reports it, fits
the final model and the three baselines on every valid row, evaluates on a
fresh synthetic base when the training base is synthetic (the sampling noise
of a training base's thin windows hides calibration errors), and writes the model card.
Deterministic: the same data and seed give the same files.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring import __version__, catalogue, fields, i18n, io, issues, persist, schema
from scoring.calibrated import DEVIATION_PENALTIES, N_BOOTSTRAP, PENALTIES
from scoring.evaluate import SMALL_GROUP, TARGETS, Baselines, evaluate
from scoring.features import INPUTS
from scoring.model import INTERVAL_LEVEL, CEPModel

HOLDOUT_YEAR = 2024
CARD_LIMITS = ("synthetic", "thin_windows", "late_years", "self_declared")  # card.limit.* rows of data/i18n.csv
FRESH_ROWS = 60_000
FRESH_SEED = 99
SYNTHETIC_NOTICE = (
    "Trained on synthetic data calibrated to published aggregates (Medi'Scope 2025, base CEP "
    "Medicen 2022-2024); no real dossier was used. Probabilities illustrate the committee's "
    "published behaviour, they are not measured on real decisions."
)


@dataclass
class TrainingReport:
    rows_read: int
    rows_used: int
    bad_rows: list[issues.Issue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    absent_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a fit that did not converge (`fit_warnings`)


class ConvergenceWarning(UserWarning):
    """A model's fit stopped before its optimiser's tolerance."""


def fit_warnings(model: CEPModel) -> list[str]:
    """What is wrong with the final fits, in words; a fit that diverged is an error, not a warning.

    L-BFGS-B can stop at its iteration limit or in a line search it cannot finish: the coefficients
    are then near the optimum at best, and nothing else would say so.
    """
    out = []
    for what, cal in (("label", model.label_), ("funding", model.fund_)):
        if not (np.all(np.isfinite(cal.model.coef_)) and np.isfinite(cal.model.intercept_)):
            raise ValueError(
                f"the {what} model's fit diverged (coefficients not finite): the base has a column the "
                "model cannot fit; check it for constant or extreme values"
            )
        if not cal.model.converged_:
            out.append(
                f"the {what} model's fit did not converge (L-BFGS-B stopped before its tolerance): its "
                "probabilities may be off; check the base (enough rows for its windows and filières?) "
                "before using this model"
            )
    return out


def read_training_base(path: str | Path, read: io.ReadOptions | None = None) -> tuple[pd.DataFrame, TrainingReport]:
    """Validate a training file (read as `read` says, else as detected); returns the valid decided rows and
    what was left out and why."""
    raw = io.read_table(path, read)
    v = schema.validate_frame(raw, require=catalogue.OUTCOMES)
    undecided = v.frame["labeled"].isna() | v.frame["funded"].isna()
    known = set(fields.COLUMNS) | {"true_p_labeled", "true_p_funded", "true_p_success"}
    report = TrainingReport(
        rows_read=len(raw),
        rows_used=int((v.ok & ~undecided.to_numpy()).sum()),
        bad_rows=list(v.issues),
        ignored_columns=[c for c in v.frame.columns if c not in known],
        absent_columns=[c for c in fields.COLUMNS if c not in schema.normalise_columns(raw).columns],
    )
    return v.frame[v.ok & ~undecided.to_numpy()].reset_index(drop=True), report


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train(
    data: str | Path,
    out: str | Path,
    seed: int = 0,
    n_bootstrap: int = N_BOOTSTRAP,
    fresh_rows: int = FRESH_ROWS,
    read: io.ReadOptions | None = None,
) -> tuple[persist.Bundle, TrainingReport]:
    """Train, evaluate and save a model directory from a base of decided dossiers."""
    frame, report = read_training_base(data, read)
    if report.rows_used < 200:
        raise ValueError(f"{data}: only {report.rows_used} valid decided rows; training needs at least 200")
    synthetic = all(c in frame.columns for c in ("true_p_labeled", "true_p_funded", "true_p_success"))
    years = frame["year"].to_numpy()
    holdout = None
    if (years == HOLDOUT_YEAR).sum() >= 100 and (years < HOLDOUT_YEAR).sum() >= 200:
        past, test = frame[years < HOLDOUT_YEAR], frame[years == HOLDOUT_YEAR]
        m = CEPModel(seed=seed, n_bootstrap=0).fit(past)
        holdout = evaluate(m, Baselines().fit(past), test)
    model = CEPModel(seed=seed, n_bootstrap=n_bootstrap).fit(frame)
    report.warnings = fit_warnings(model)
    for w in report.warnings:  # the command line shows Python warnings on stderr
        warnings.warn(w, ConvergenceWarning, stacklevel=2)
    baselines = Baselines().fit(frame)
    fresh, mediation = None, None
    if synthetic and fresh_rows:
        from scoring.synthetic_mediation import mediation as synthetic_mediation
        from scoring.synthetic_world import generate

        fresh_raw = generate(fresh_rows, FRESH_SEED)
        fresh = evaluate(model, baselines, schema.validate_frame(fresh_raw).frame)
        mediation = [g.as_dict() for g in synthetic_mediation(fresh_raw)]
    data_info = {
        "source": Path(data).name,
        "sha256": _sha256(data),
        "rows_read": report.rows_read,
        "rows_used": report.rows_used,
        "bad_rows": len({i.row for i in report.bad_rows}),
        "ignored_columns": report.ignored_columns,
        "absent_columns": report.absent_columns,
        "years": [int(years.min()), int(years.max())],
        "synthetic": synthetic,
        "description": SYNTHETIC_NOTICE
        if synthetic
        else f"Trained on {report.rows_used} decided dossiers of {Path(data).name} (a user's CEP export).",
        # how much of each published context gap the generator carries through the five criteria (issue 12)
        "mediation": mediation,
    }
    card = build_card(model, data_info, holdout, fresh, seed)
    bundle_dir = persist.save(out, model, baselines, card, render_card(card))
    return persist.load(bundle_dir), report


def build_card(model: CEPModel, data_info: dict, holdout: dict | None, fresh: dict | None, seed: int) -> dict:
    return {
        "model": {"name": model.name, "version": __version__, "seed": seed, **model.describe()},
        "data": data_info,
        "libraries": persist.library_versions(),
        "inputs": list(INPUTS),
        "method": {
            "estimator": "Two L2-penalised additive logistic models (label; funding given the label) over "
            "piecewise-linear criterion ramps, criterion x filière / window / axis slopes, and context "
            "columns; criterion and label coefficients bounded >= 0 (L-BFGS-B) so a better score "
            "never lowers a probability.",
            "pooling": "Every filière, window and axis has its own criterion slopes, penalised apart from the other "
            "columns (partial pooling): the second penalty, per score point and chosen by 5-fold log "
            "loss, pulls a level's slopes toward the common ramps, a thin level's (fewer rows against the "
            "same penalty) the most. Being bounded >= 0, a level's slopes can only add to the common "
            "ramps, so the common ramps sit between the flattest level and the pooled slope. A window's "
            "own rate (its one-hot, a funder's selectivity) takes only the small shared penalty.",
            "why": "On the synthetic base a glass-box additive model comes within 0.005 of the true probabilities' "
            "AUC (tests/test_targets.py), is monotone by construction, and gives exact contributions at the "
            "speed of a matrix product.",
            "penalty_grid": f"shared {list(PENALTIES)} (level slopes at {DEVIATION_PENALTIES[1]}), then level "
            f"slopes {list(DEVIATION_PENALTIES)} per score point, given the shared one",
            "calibration": "Platt map (slope > 0) fitted on 5-fold out-of-fold log-odds, per model.",
            "uncertainty": f"{model.n_bootstrap} bootstrap refits; the {INTERVAL_LEVEL:.0%} interval is the "
            "estimate +/- the normal quantile times their log-odds spread times a scale (label "
            f"{model.interval_scale_['labeled']:.2f}, success {model.interval_scale_['success']:.2f}) "
            "measured on the training rows' true probabilities (1 on a base without them: then "
            "the interval is the estimation uncertainty alone).",
            "explanations": 'From "projects like yours": the starting point is the model\'s probability for the '
            "dossier's own context with the five criteria at the average profile of the training "
            "dossiers of its filière, window and carrier type (coarser groups below 30 rows); the "
            "criteria alone move it to the dossier's probability: their exact interventional SHAP "
            "values in calibrated log-odds against that profile, context held (the model is "
            "additive in the criteria once the context is fixed). Shown in probability points by "
            "one per-dossier factor (p - p_base) / (z - z_base), which keeps them summing exactly "
            "to the probability and keeps their signs and order. P(success) = P(L) P(F|L): its "
            "contributions combine the two models' by the exact product rule "
            "d(ab) = da (b + b0)/2 + db (a + a0)/2.",
        },
        "evaluation": {
            "holdout_2024": holdout,
            "fresh_synthetic": fresh,
            "fresh_synthetic_rows": FRESH_ROWS if fresh else 0,
            "fresh_synthetic_seed": FRESH_SEED,
            "smallgroup_rows": SMALL_GROUP,
        },
        # The card's prose, in both languages, is in data/i18n.csv (the app shows the reader's language).
        "intended_use": i18n.t("card.intended_use", "en"),
        "limits": [i18n.t(f"card.limit.{k}", "en") for k in CARD_LIMITS],
    }


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def metric_rows(report: dict) -> list[str]:
    rows = ["| target | scorer | AUC | Brier | log loss | ECE |", "|---|---|---|---|---|---|"]
    for t in TARGETS:
        e = report["targets"][t]
        scorers = (
            [("model", e["model"])] + ([("oracle", e["oracle"])] if e["oracle"] else []) + list(e["baselines"].items())
        )
        for name, m in scorers:
            rows.append(
                f"| {t} | {name} | {_fmt(m['auc'])} | {_fmt(m['brier'])} | {_fmt(m['log_loss'])} | {_fmt(m['ece'])} |"
            )
    return rows


def group_rows(report: dict) -> list[str]:
    rows = ["| target | group | value | rows | AUC | ECE | oracle ECE | note |", "|---|---|---|---|---|---|---|---|"]
    for t in TARGETS:
        for g in report["targets"][t]["groups"]:
            if t == "funded" and g["by"] != "funding_window":  # funding is judged per window, its funder's
                continue
            note = f"small (< {SMALL_GROUP} rows): ECE mostly noise" if g["small"] else ""
            rows.append(
                f"| {t} | {g['by']} | {g['value']} | {g['n']} | {_fmt(g['auc'])} | {_fmt(g['ece'])} | "
                f"{_fmt(g['oracle_ece'])} | {note} |"
            )
    return rows


def coverage_rows(cov: dict | None) -> list[str]:
    """How often the intervals held the true probability on these rows (synthetic bases only)."""
    if not cov:
        return []
    return [
        f"Intervals: the stated {cov['level']:.0%} interval held the true probability for "
        f"{cov['labeled']:.1%} of the rows (labelled) and {cov['success']:.1%} (labelled and funded), "
        f"over {cov['rows']} rows.",
        "",
    ]


def render_card(card: dict) -> str:
    d, m, ev = card["data"], card["model"], card["evaluation"]
    lines = [f"# Model card: {m['name']} {m['version']}", ""]
    if d["synthetic"]:
        lines += [f"> **{d['description']}**", ""]
    lines += [
        "## Data",
        "",
        f"- Source: `{d['source']}` (SHA-256 `{d['sha256'][:16]}...`), years {d['years'][0]}-{d['years'][1]}",
        f"- Rows read {d['rows_read']}, used {d['rows_used']}, left out (invalid or undecided) "
        f"{d['rows_read'] - d['rows_used']}",
        f"- Columns ignored: {', '.join(d['ignored_columns']) or 'none'}; "
        f"absent: {', '.join(d['absent_columns']) or 'none'}",
        "",
    ]
    if d.get("mediation"):
        from scoring.synthetic_mediation import mediation_rows

        lines += (
            [
                "### Mediation: the generator's committee judges the dossier",
                "",
                "Each published context gap on the fresh synthetic base (2022-2024 rows, in expectation), and the "
                "part left when every direct context term of the label is set to zero (same rows, latents and "
                "scores): the share the five criteria carry.",
                "",
            ]
            + mediation_rows(d["mediation"])
            + [""]
        )
    lines += ["## Method", ""]
    lines += [f"- **{k}**: {v}" for k, v in card["method"].items()]
    lines += [
        "",
        f"- Penalty chosen (shared, level slopes): label {m['penalty_label']}, "
        f"funding {m['penalty_funding']}; Platt maps label {m['platt_label']}, funding {m['platt_funding']}",
        f"- Inputs: {', '.join(card['inputs'])}",
        "",
    ]
    for key, title in (
        (
            "fresh_synthetic",
            f"Evaluation on a fresh synthetic base ({ev['fresh_synthetic_rows']} rows, "
            f"seed {ev['fresh_synthetic_seed']})",
        ),
        ("holdout_2024", "Hold-out by year (trained up to 2023, tested on 2024)"),
    ):
        if ev[key]:
            lines += (
                [f"## {title}", ""]
                + metric_rows(ev[key])
                + ["", "### Calibration by group", ""]
                + group_rows(ev[key])
                + [""]
                + coverage_rows(ev[key].get("interval_coverage"))
            )
    lines += ["## Intended use", "", card["intended_use"], "", "## Limits", ""]
    lines += [f"- {x}" for x in card["limits"]]
    lines += ["", "## Libraries", ""] + [f"- {k} {v}" for k, v in card["libraries"].items()] + [""]
    return "\n".join(lines)
