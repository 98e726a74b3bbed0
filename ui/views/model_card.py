"""Model page: the model card (data, metrics against the oracle and the baselines, calibration by group,
intended use, limits), drawn from the card the training wrote beside the model."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from scoring.evaluate import SMALL_GROUP
from scoring.i18n import code_label
from ui import components as ui

METRICS = ("auc", "brier", "log_loss", "ece")


def _metrics_table(target: dict) -> pd.DataFrame:
    scorers = [("model", target["model"])] + ([("oracle", target["oracle"])] if target["oracle"] else []) + \
        list(target["baselines"].items())
    return pd.DataFrame([{ui.tr("ui.model.scorer"): ui.tr(f"ui.scorer.{name}"),
                          **{ui.tr(f"ui.metric.{m}"): values[m] for m in METRICS}} for name, values in scorers])


def _calibration_chart(groups: list[dict], small: int) -> alt.Chart:
    df = pd.DataFrame([{"by": ui.tr(f"input.{g['by']}"), "group": code_label(g["by"], g["value"], ui.lang()),
                        "ece": g["ece"], "auc": g["auc"], "n": g["n"],
                        "note": ui.tr("ui.model.small", rows=small) if g["small"] else ""} for g in groups])
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("group:N", title=None, sort="-x"),
        x=alt.X("ece:Q", title=ui.tr("ui.metric.ece")),
        color=alt.condition(alt.datum.note == "", alt.value("#0b5cad"), alt.value("#d4a72c")),
        row=alt.Row("by:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
        tooltip=[alt.Tooltip("group:N", title=ui.tr("ui.model.group")), alt.Tooltip("n:Q", title=ui.tr("ui.model.rows")),
                 alt.Tooltip("ece:Q", format=".3f", title=ui.tr("ui.metric.ece")),
                 alt.Tooltip("auc:Q", format=".3f", title=ui.tr("ui.metric.auc")),
                 alt.Tooltip("note:N", title=" ")],
    ).resolve_scale(y="independent").properties(width=480)


b = ui.bundle()
card = b.card
ident = b.identity()
st.title(ui.tr("ui.model.title"))
st.warning(ui.notice(card), icon=":material/science:")

c1, c2, c3 = st.columns(3)
c1.metric(ui.tr("ui.model.name"), ui.plain(f"{card['model']['name']} {card['model']['version']}"))
c2.metric(ui.tr("ui.model.rows_used"), f"{card['data']['rows_used']:,}".replace(",", "\u202f"))
c3.metric(ui.tr("ui.model.years"), "–".join(str(y) for y in card["data"]["years"]))
st.caption(ui.tr("ui.model.sha", sha=ident["sha256"]))

st.header(ui.tr("ui.model.data"))
d = card["data"]
st.markdown("\n".join([
    f"- {ui.tr('ui.model.source', source=ui.plain(d['source']), sha=d['sha256'][:16])}",
    f"- {ui.tr('ui.model.rows', read=d['rows_read'], used=d['rows_used'], bad=d['bad_rows'])}",
    f"- {ui.tr('ui.model.synthetic_yes' if d['synthetic'] else 'ui.model.synthetic_no')}",
]))

st.header(ui.tr("ui.model.metrics"))
evaluations = [k for k in ("fresh_synthetic", "holdout_2024") if card["evaluation"].get(k)]
if not evaluations:
    st.info(ui.tr("ui.model.no_evaluation"))
else:
    c1, c2 = st.columns(2)
    names = ui.labels(evaluations, lambda k: ui.tr(f"ui.model.eval.{k}"))
    which = c1.radio(ui.tr("ui.model.evaluation"), list(names), horizontal=True, key="mc.evaluation",
                     format_func=names.get)
    targets = ui.labels(("labeled", "success", "funded"), lambda k: ui.tr(f"ui.prob.{k}"))
    target = c2.radio(ui.tr("ui.model.target"), list(targets), horizontal=True, key="mc.target",
                      format_func=targets.get)
    report = card["evaluation"][which]
    st.caption(ui.tr("ui.model.metrics_help", n=report["n"]))
    st.dataframe(_metrics_table(report["targets"][target]), hide_index=True,
                 column_config={ui.tr(f"ui.metric.{m}"): st.column_config.NumberColumn(format="%.3f") for m in METRICS})
    st.subheader(ui.tr("ui.model.calibration"))
    st.caption(ui.tr("ui.model.calibration_help", rows=SMALL_GROUP))
    st.altair_chart(_calibration_chart(report["targets"][target]["groups"], SMALL_GROUP))

st.header(ui.tr("ui.model.intended_use"))
st.caption(ui.tr("ui.model.card_language"))
st.markdown(card["intended_use"])
st.header(ui.tr("ui.model.limits"))
st.markdown("\n".join(f"- {x}" for x in card["limits"]))
with st.expander(ui.tr("ui.model.full_card"), icon=":material/article:"):
    # Shown as its Markdown source: a retrained model's card quotes the user's file and column names.
    st.code((b.directory / "card.md").read_text(encoding="utf-8"), language="markdown", wrap_lines=True)
