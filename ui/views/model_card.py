"""Model page, for readers who are not statisticians: what the model is, what it learnt from, what its
numbers mean (one sentence each, the oracle and the baselines as a picture), its intended use and limits.
The technical card the training wrote beside the model is one click away, as its Markdown source."""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from scoring import formatting
from scoring.evaluate import SMALL_GROUP
from scoring.i18n import code_label
from scoring.training import CARD_LIMITS
from ui import components as ui
from ui import live_model as live

BASELINES = ("logistic", "score_sum", "base_rate")


def _number(v: float, digits: int = 2) -> str:
    return formatting.number(v, ui.lang(), digits)


def _points(v: float) -> str:
    """Percentage points with one decimal, the noun in the number it takes: "0,5 point" (fr), "0.5 points"."""
    written = f"{v:.1f}"
    return ui.tr(f"ui.model.points.{formatting.plural(Decimal(written), ui.lang())}", n=_number(v, 1))


def _sentences(target: dict) -> list[str]:
    """One sentence per number, each saying what it measures in the reader's words."""
    model, oracle, base = target["model"], target["oracle"], target["baselines"]["base_rate"]
    auc = (
        ui.tr("ui.model.say.auc", model=_number(100 * model["auc"], 0), oracle=_number(100 * oracle["auc"], 0))
        if oracle
        else ui.tr("ui.model.say.auc_no_oracle", model=_number(100 * model["auc"], 0))
    )
    return [
        auc,
        ui.tr("ui.model.say.ece", points=_points(100 * model["ece"])),
        ui.tr("ui.model.say.brier", model=_number(model["brier"], 3), base=_number(base["brier"], 3)),
        ui.tr("ui.model.say.log_loss", model=_number(model["log_loss"], 2), base=_number(base["log_loss"], 2)),
    ]


def _ranking_chart(target: dict) -> dict:
    """How well each scorer ranks dossiers (AUC), this model beside the oracle and the baselines; 0.5 is chance."""
    scorers = (
        [("model", target["model"])]
        + ([("oracle", target["oracle"])] if target["oracle"] else [])
        + [(b, target["baselines"][b]) for b in BASELINES if b in target["baselines"]]
    )
    rows = [
        {"scorer": ui.tr(f"ui.scorer.{name}"), "auc": v["auc"], "shown": _number(v["auc"]), "kind": name}
        for name, v in scorers
    ]
    return {
        "data": {"values": rows},
        "height": {"step": 30},
        "encoding": {
            "y": ui.names_axis("scorer", None),
            "x": ui.quantitative(
                "auc",
                scale={"domain": [0.5, 1.0]},
                title=ui.tr("ui.model.auc_axis"),
                axis={"values": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]},
            ),
            "tooltip": [ui.nominal("scorer", title=ui.tr("ui.model.scorer")), ui.nominal("shown", title="AUC")],
        },
        # clipped at the axis's 0.5: bars drawn from zero ran over the scorers' names
        "layer": [
            {
                "mark": {"type": "bar", "clip": True},
                "encoding": {
                    "color": {"condition": {"test": "datum.kind === 'model'", "value": ui.ACCENT}, "value": ui.NEUTRAL}
                },
            },
            {"mark": {"type": "text", "align": "left", "dx": 4}, "encoding": {"text": ui.nominal("shown")}},
        ],
    }


def _calibration_chart(groups: list[dict], small: int) -> dict:
    rows = [
        {
            "by": ui.tr(f"input.{g['by']}"),
            "group": code_label(g["by"], g["value"], ui.lang()),
            "ece": 100 * g["ece"],
            "shown": _number(100 * g["ece"], 1),
            "n": formatting.number(g["n"], ui.lang()),
            "note": ui.tr("ui.model.small", rows=small) if g["small"] else "",
        }
        for g in groups
    ]
    return {
        "data": {"values": rows},
        "mark": "bar",
        "width": 480,
        "encoding": {
            "y": ui.nominal("group", title=None, sort="-x", axis={"labelLimit": 320}),
            "x": ui.quantitative("ece", title=ui.tr("ui.model.ece_axis")),
            "color": {"condition": {"test": "datum.note === ''", "value": ui.ACCENT}, "value": "#d4a72c"},
            "row": ui.nominal("by", title=None, header={"labelAngle": 0, "labelAlign": "left"}),
            "tooltip": [
                ui.nominal("group", title=ui.tr("ui.model.group")),
                ui.nominal("n", title=ui.tr("ui.model.rows")),
                ui.nominal("shown", title=ui.tr("ui.model.ece_axis")),
                ui.nominal("note", title=" "),
            ],
        },
        "resolve": {"scale": {"y": "independent"}},
    }


b = ui.bundle()
card = b.card
d = card["data"]
years = "–".join(str(y) for y in d["years"])
st.title(ui.tr("ui.model.title"))
st.warning(ui.notice(card), icon=":material/science:")
live.show(b)

st.header(ui.tr("ui.model.what_title"))
st.markdown(ui.tr("ui.model.what"))

st.header(ui.tr("ui.model.data"))
rows = formatting.number(d["rows_used"], ui.lang())
if d["synthetic"]:
    st.markdown(ui.tr("ui.model.trained_synthetic", rows=rows, years=years))
else:
    st.markdown(ui.tr("ui.model.trained_real", rows=rows, years=years, source=ui.plain(d["source"])))
if d["bad_rows"]:
    st.caption(ui.tr("ui.model.bad_rows", bad=formatting.number(d["bad_rows"], ui.lang())))

st.header(ui.tr("ui.model.metrics"))
evaluations = [k for k in ("fresh_synthetic", "holdout_2024") if card["evaluation"].get(k)]
if not evaluations:
    st.info(ui.tr("ui.model.no_evaluation"))
else:
    c1, c2 = st.columns(2)
    names = ui.labels(evaluations, lambda k: ui.tr(f"ui.model.eval.{k}"))
    which = c1.radio(
        ui.tr("ui.model.evaluation"), list(names), horizontal=True, key="mc.evaluation", format_func=names.get
    )
    targets = ui.labels(("labeled", "success", "funded"), lambda k: ui.tr(f"ui.prob.{k}"))
    target = c2.radio(
        ui.tr("ui.model.target"), list(targets), horizontal=True, key="mc.target", format_func=targets.get
    )
    evaluation = card["evaluation"][which]
    chosen = evaluation["targets"][target]
    st.caption(ui.tr("ui.model.metrics_help", n=formatting.number(evaluation["n"], ui.lang())))
    st.markdown("\n".join(f"- {s}" for s in _sentences(chosen)))
    st.subheader(ui.tr("ui.model.ranking"))
    st.caption(ui.tr("ui.model.ranking_help"))
    ui.show_chart(_ranking_chart(chosen), width="stretch")
    st.subheader(ui.tr("ui.model.calibration"))
    st.caption(ui.tr("ui.model.calibration_help", rows=formatting.number(SMALL_GROUP, ui.lang())))
    ui.show_chart(_calibration_chart(chosen["groups"], SMALL_GROUP))

st.header(ui.tr("ui.model.intended_use"))
st.markdown(ui.tr("card.intended_use"))
st.header(ui.tr("ui.model.limits"))
st.markdown("\n".join(f"- {ui.tr(f'card.limit.{k}')}" for k in CARD_LIMITS))
with st.expander(ui.tr("ui.model.full_card"), icon=":material/article:"):
    st.caption(ui.tr("ui.model.sha", sha=b.identity()["sha256"]))
    # Shown as its Markdown source: a retrained model's card quotes the user's file and column names.
    st.code((b.directory / "card.md").read_text(encoding="utf-8"), language="markdown", wrap_lines=True)
