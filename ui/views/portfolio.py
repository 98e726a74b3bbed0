"""Portfolio (analyst): a whole file of dossiers scored, summarised by filière x window, and downloaded.

Every input row comes back, in order, with its status: a bad row is listed
with its reasons and kept in the download, never dropped. The file is scored
in chunks so the progress bar moves; the result is kept for the session, so
changing a chart does not score the file again.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from scoring import DATA_DIR, formatting, io
from scoring.issues import Issue
from scoring.schema import SchemaError, validate_frame
from scoring.vectorised import score_frame
from ui import components as ui

RESULT = "pf.result"  # {"name": file name, "token": upload id, "frame": scored frame}
CHUNK = 2_000
FORMATS = ("csv", "xlsx", "parquet")


def _score_chunk(raw: pd.DataFrame, first_row: int) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue]]:
    """(every row of `raw`, scored by the batch library; every row's filière and window codes, with the
    valid rows' probabilities, for the charts and the table; the invalid rows' problems)."""
    scored = score_frame(raw, ui.bundle(), first_row=first_row, lang=ui.lang())
    # The scored rows keep the file's own headers and spellings ("Filière", "e-santé") and word their errors
    # in the reader's language; the page needs the codes and the problems, which the validator gives.
    v = validate_frame(raw, first_row=first_row)
    summary = v.frame[["filiere", "funding_window"]].assign(
        ok=v.ok,
        p_labeled=scored["p_labeled"].to_numpy(),
        p_funded=scored["p_funded"].to_numpy(),
        p_success=scored["p_success"].to_numpy(),
    )
    return scored, summary, v.issues


def _score(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue]]:
    total = formatting.number(len(raw), ui.lang())
    bar = st.progress(0.0, text=ui.tr("ui.pf.scoring", done=0, total=total))
    parts = []
    for start in range(0, len(raw), CHUNK):
        parts.append(_score_chunk(raw.iloc[start : start + CHUNK], first_row=start + 1))
        done = min(start + CHUNK, len(raw))
        bar.progress(done / len(raw), text=ui.tr("ui.pf.scoring", done=formatting.number(done, ui.lang()), total=total))
    bar.empty()
    return (
        pd.concat([p[0] for p in parts], ignore_index=True),
        pd.concat([p[1] for p in parts], ignore_index=True),
        [i for p in parts for i in p[2]],
    )


def _results_table(rows: pd.DataFrame) -> None:
    """Every row with its status and probabilities, in words; the key columns fit a 1366-pixel screen."""
    status = rows["ok"].map({True: ui.tr("ui.pf.status.ok"), False: ui.tr("ui.pf.status.error")})
    table = pd.DataFrame(
        {
            ui.tr("ui.col.row"): rows.index + 1,
            ui.tr("ui.pf.status"): status,
            ui.tr("ui.prob.labeled"): 100 * rows["p_labeled"],
            ui.tr("ui.prob.success"): 100 * rows["p_success"],
            ui.tr("ui.prob.funded"): 100 * rows["p_funded"],
            ui.tr("input.filiere"): ui.code_axis(rows, "filiere"),
            ui.tr("input.funding_window"): ui.code_axis(rows, "funding_window"),
        }
    )
    percent = st.column_config.ProgressColumn(
        format=formatting.percent_format(ui.lang(), ".0f"), min_value=0, max_value=100
    )
    st.dataframe(
        table, hide_index=True, column_config={ui.tr(f"ui.prob.{k}"): percent for k in ("labeled", "success", "funded")}
    )


def _expected_chart(ok: pd.DataFrame) -> dict:
    g = (
        ok.assign(filiere=ui.code_axis(ok, "filiere"), window=ui.code_axis(ok, "funding_window"))
        .groupby(["filiere", "window"], as_index=False)
        .agg(expected=("p_success", "sum"), n=("p_success", "size"))
    )
    g["shown"] = [formatting.number(v, ui.lang(), 1) for v in g["expected"]]
    g["count"] = [formatting.number(v, ui.lang()) for v in g["n"]]
    # Windows down the side, read horizontally: eight slanted names across the top did not all fit, and
    # Vega drops the labels that overlap.
    encoding = {
        "y": ui.nominal("window", title=ui.tr("input.funding_window"), axis={"labelLimit": 320, "labelOverlap": False}),
        "x": ui.nominal(
            "filiere",
            title=ui.tr("input.filiere"),
            axis={"labelAngle": 0, "labelLimit": 200, "labelOverlap": False, "orient": "top"},
        ),
    }
    return {
        "data": {"values": g},
        "height": {"step": 32},
        "encoding": encoding,
        "layer": [
            {
                "mark": "rect",
                "encoding": {
                    "color": ui.quantitative(
                        "expected", title=ui.tr("ui.pf.expected_short"), scale={"scheme": "blues"}
                    ),
                    "tooltip": [
                        ui.nominal("filiere", title=ui.tr("input.filiere")),
                        ui.nominal("window", title=ui.tr("input.funding_window")),
                        ui.nominal("count", title=ui.tr("ui.pf.dossiers")),
                        ui.nominal("shown", title=ui.tr("ui.pf.expected_short")),
                    ],
                },
            },
            {
                "mark": "text",
                "encoding": {
                    "text": ui.nominal("shown"),
                    # a plain float: numpy's repr, np.float64(...), is not a Vega expression, and the chart was blank
                    "color": {
                        "condition": {"test": f"datum.expected > {float(g['expected'].max()) / 2!r}", "value": "white"},
                        "value": "black",
                    },
                },
            },
        ],
    }


def _distribution_chart(ok: pd.DataFrame, target: str) -> dict:
    """Per window, one box per filière: the spread of the chosen probability."""
    df = pd.DataFrame(
        {
            "p": 100 * ok[f"p_{target}"].to_numpy(),
            "filiere": ui.code_axis(ok, "filiere").to_numpy(),
            "window": ui.code_axis(ok, "funding_window").to_numpy(),
        }
    )
    return {
        "data": {"values": df},
        "mark": {"type": "boxplot", "extent": "min-max", "size": 10},
        "height": {"step": 14},
        "encoding": {
            "x": ui.quantitative("p", scale={"domain": [0, 100]}, title=ui.tr("ui.chart.percent_axis")),
            "y": ui.nominal("window", title=None, axis={"labelLimit": 240}),
            "yOffset": ui.nominal("filiere"),
            "color": ui.nominal("filiere", title=ui.tr("input.filiere"), legend={"orient": "top"}),
        },
    }


def _take(name: str, token: str, read) -> None:
    try:
        raw = read()
        scored, summary, issues = _score(raw)
    except SchemaError as exc:
        st.session_state[RESULT] = {"name": name, "token": token, "error": exc.said(ui.lang(), named=False)}
        return
    st.session_state[RESULT] = {"name": name, "token": token, "frame": scored, "summary": summary, "issues": issues}


# --------------------------------------------------------------------------- page

st.title(ui.tr("ui.pf.title"))
st.caption(ui.tr("ui.pf.intro"))
c1, c2 = st.columns([3, 2])
uploaded = c1.file_uploader(
    ui.tr("ui.pf.upload"), type=["csv", "xlsx", "parquet"], key="pf.upload", help=ui.upload_help("CSV, XLSX, Parquet")
)
use_example = c2.button(
    ui.tr("ui.pf.example"), key="pf.example", icon=":material/science:", help=ui.tr("ui.pf.example_help")
)
current = st.session_state.get(RESULT)
if uploaded is not None and (current is None or current["token"] != uploaded.file_id):
    _take(uploaded.name, uploaded.file_id, lambda: ui.read_upload(uploaded))
elif use_example:
    example = DATA_DIR / "cep_synthetic.csv"
    _take(example.name, "example", lambda: io.read_table(example))
current = st.session_state.get(RESULT)
if current is None:
    st.info(ui.tr("ui.pf.empty"), icon=":material/info:")
    st.stop()
if "error" in current:
    st.error(
        ui.tr("ui.pf.file_error", name=ui.plain(current["name"]), error=ui.plain(current["error"])),
        icon=":material/error:",
    )
    st.stop()

scored, rows = current["frame"], current["summary"]
ok = rows[rows["ok"]]
n_bad = len(rows) - len(ok)
c1, c2, c3, c4 = st.columns(4)
c1.metric(ui.tr("ui.pf.rows"), formatting.number(len(rows), ui.lang()))
c2.metric(ui.tr("ui.pf.valid"), formatting.number(len(ok), ui.lang()))
c3.metric(ui.tr("ui.pf.invalid"), formatting.number(n_bad, ui.lang()))
c4.metric(ui.tr("ui.pf.expected"), formatting.number(ok["p_success"].sum(), ui.lang(), 1))

if n_bad:
    st.subheader(ui.tr("ui.pf.bad_rows", n=n_bad))
    st.caption(ui.tr("ui.pf.bad_rows_help"))
    st.dataframe(ui.issues_frame(current["issues"]), hide_index=True)

if len(ok):
    st.subheader(ui.tr("ui.pf.expected_title"))
    st.caption(ui.tr("ui.pf.expected_help"))
    ui.show_chart(_expected_chart(ok), width="stretch")
    st.subheader(ui.tr("ui.pf.distribution"))
    st.caption(ui.tr("ui.pf.distribution_help"))
    target = ui.target_choice("pf.target")
    ui.show_chart(_distribution_chart(ok, target), width="stretch")

st.subheader(ui.tr("ui.pf.table"))
st.caption(ui.tr("ui.pf.table_help"))
_results_table(rows)
ui.download_table(scored, f"{Path(current['name']).stem}_scored", FORMATS, key="pf.download")
