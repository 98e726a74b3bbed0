"""Monitoring (issue 18): the model checked against the committee's decisions recorded in the store.

Everything is `scoring.monitor`'s: calibration by year, window and filière with the reliability curve
and the band a calibrated model stays in, the AUC, and the drift verdict of a test that accounts for
sampling noise. This page only lays it out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scoring import formatting
from scoring.monitor import TARGETS, decided_frame, monitor
from ui import components as ui
from ui import store_link

st.title(ui.tr("ui.mon.title"))
st.caption(ui.tr("ui.mon.intro"))
try:
    frame, counts = decided_frame(store_link.store(), ui.bundle())
except Exception as exc:  # noqa: BLE001 - no store, no monitoring: said, not a crash
    st.info(ui.tr("ui.store.unavailable", error=ui.plain(exc)), icon=":material/info:")
    st.stop()
if not len(frame):
    st.info(ui.tr("ui.mon.empty"), icon=":material/info:")
    st.stop()
st.caption(
    ui.tr(
        "ui.mon.rows",
        decided=counts["decided"],
        recorded=counts["recorded"],
        now=counts["predicted_now"],
        left=counts["without_prediction"],
    )
)
target = st.radio(
    ui.tr("ui.mon.target"),
    list(TARGETS),
    format_func=lambda k: ui.tr(f"ui.prob.{k}"),
    horizontal=True,
    key="mon.target",
)
report = monitor(frame, target)
if not report["n"]:
    st.info(ui.tr("ui.mon.empty"), icon=":material/info:")
    st.stop()
o = report["overall"]
c1, c2, c3, c4 = st.columns(4)
c1.metric(ui.tr("ui.mon.n"), formatting.number(report["n"], ui.lang()))
c2.metric(ui.tr("ui.mon.predicted"), ui.pct(o["predicted"]))
c3.metric(ui.tr("ui.mon.observed"), ui.pct(o["observed"]))
c4.metric(ui.tr("ui.mon.auc"), "-" if o["auc"] is None else formatting.number(o["auc"], ui.lang(), 3))
if report["drift"]:
    st.error(
        ui.tr("ui.mon.drift")
        + "\n"
        + "\n".join(
            "- "
            + ui.tr(
                "ui.label_value",
                label=ui.plain(d["group"]),
                value=ui.tr("ui.mon.direction." + d["direction"].replace(" ", "_")),
            )
            + f" ({ui.pct(d['predicted'])} → {ui.pct(d['observed'])}, n = {d['n']})"
            for d in report["drifted"]
        )
    )
else:
    st.success(ui.tr("ui.mon.no_drift"))
st.caption(ui.tr("ui.mon.test", alpha=formatting.percent(report["alpha"], ui.lang())))
curve = [
    {"predicted": b["predicted"], "observed": b["observed"], "low": b["band"][0], "high": b["band"][1], "n": b["n"]}
    for b in o["reliability"]
]
axis = {"scale": {"domain": [0, 1]}, "axis": {"format": ".0%"}}
ui.show_chart(
    {
        "data": {"values": curve},
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.25},
                "encoding": {
                    "x": ui.quantitative("predicted", title=ui.tr("ui.mon.predicted"), **axis),
                    "y": ui.quantitative("low", title=ui.tr("ui.mon.observed"), **axis),
                    "y2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "line", "strokeDash": [4, 4], "color": "grey"},
                "encoding": {"x": ui.quantitative("predicted"), "y": ui.quantitative("predicted")},
            },
            {
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": ui.quantitative("predicted"),
                    "y": ui.quantitative("observed"),
                    "tooltip": [ui.quantitative("n"), ui.quantitative("observed", format=".1%")],
                },
            },
        ],
    },
    use_container_width=True,
)
groups = pd.DataFrame(
    [
        {
            ui.tr("ui.mon.group"): ", ".join(f"{k} = {v}" for k, v in g["group"].items()),
            ui.tr("ui.mon.n"): g["n"],
            ui.tr("ui.mon.predicted"): 100 * g["predicted"],
            ui.tr("ui.mon.observed"): 100 * g["observed"],
            "z": None if g["z"] is None else round(g["z"], 2),
            ui.tr("ui.mon.p_holm"): None if g["p_holm"] is None else round(g["p_holm"], 4),
            ui.tr("ui.mon.verdict"): ui.tr("ui.mon.too_small")
            if g["too_small"]
            else ui.tr("ui.mon.drift_short")
            if g["drift"]
            else "",
        }
        for g in report["groups"]
    ]
)
st.dataframe(groups, hide_index=True, key="mon.groups")
