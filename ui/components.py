"""Shared pieces of the app: language, model, labels, uploads, downloads and charts.

Charts are drawn here from the plain data the library returns (the library
never draws), as Vega-Lite specifications, whose renderer Streamlit serves itself: no CDN.
Every visible word comes from the translation table through `tr`.
"""

from __future__ import annotations

import io as _bytes_io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from scoring import display, formatting, io, jsonform, persist
from scoring.explain import explain
from scoring.i18n import DEFAULT_LANG, LANGS, code_label, t
from scoring.i18n import name as language_name
from scoring.issues import Issue, value_text
from scoring.schema import SchemaError
from ui import shaping

LANG_KEY = "app.lang"  # the reader's language code, one of scoring.i18n.LANGS
#: Key prefixes of the pages' value widgets (choices, numbers, texts); buttons and uploaders have other keys.
VALUE_WIDGETS = (
    "sa.f.",
    "sa.step",
    "sa.contrib_target",
    "tr.score.",
    "tr.note.",
    "tr.decision.",
    "tr.bands",
    "tr.pick",
    "pf.target",
    "mc.evaluation",
    "mc.target",
    "store.user",
    "sa.store_pick",
    "cm.pick",
    "cm.method",
    "cm.dec.",
    "cm.assign.",
    "cm.coi_dossier",
    "cm.coi_expert",
)
MAX_UPLOAD_MB = 20  # keep equal to server.maxUploadSize in .streamlit/config.toml
POSITIVE, NEGATIVE, NEUTRAL, ACCENT = "#1a7f37", "#c0392b", "#8c959f", "#0b5cad"


# --------------------------------------------------------------------------- language


def lang() -> str:
    chosen = st.session_state.get(LANG_KEY)
    return chosen if chosen in LANGS else DEFAULT_LANG


def tr(key: str, **fmt: object) -> str:
    return t(key, lang(), **fmt)


def _relabel() -> None:
    # A choice widget shows its options' labels; after a language change the browser keeps showing
    # the old label (or none) until the server sends the value again, which an assignment forces.
    for k in list(st.session_state):
        if k.startswith(VALUE_WIDGETS):
            st.session_state[k] = st.session_state[k]


def languages() -> dict[str, str]:
    """{code: the language's name in itself}, for every language the translation tables hold, the default first."""
    return {code: language_name(code) for code in LANGS}


def language_choice() -> None:
    # The default language (French) first; this is the only place another one is chosen. Each language is
    # named in itself, so a reader finds theirs whatever the page's language is.
    names = languages()
    st.sidebar.radio(
        tr("ui.lang.choose"),
        list(names),
        key=LANG_KEY,
        format_func=names.get,
        horizontal=True,
        persist_state="session",
        on_change=_relabel,
    )


#: CommonMark lets any ASCII punctuation be backslash-escaped, which makes it literal.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_BREAKS = re.compile(r"[^\S\u00a0\u202f]+")  # runs of white space other than no-break spaces


def plain(text: object) -> str:
    """Text from a dossier, a file or an error, made literal for Streamlit's Markdown elements.

    An uploaded title holding `![x](http://host/a.png)` would otherwise make the
    browser fetch that address, and `**`, `$` or `#` would format the page.
    Line breaks become spaces: a Markdown line break can start a heading or a list. No-break spaces stay.
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(text)))


def labels(options: Any, label: Any) -> dict[Any, str]:
    """{option: its label in this run's language}; pass `.get` as a widget's format_func.

    Labels are computed now, not when the widget formats them later, so that a
    formatter never reads a language other than the one the page was drawn in.
    """
    return {o: label(o) for o in options}


def target_choice(key: str) -> str:
    """Which probability a chart shows: P(labelled and funded) first, or P(labelled)."""
    targets = labels(("success", "labeled"), lambda x: tr(f"ui.prob.{x}"))
    return st.radio(tr("ui.contrib.target"), list(targets), horizontal=True, key=key, format_func=targets.get)


def pct(p: float | None) -> str:
    return shaping.pct(p, lang())


def points(v: float) -> str:
    return shaping.points(v, lang())


def base_rates(probabilities: dict[str, Any]) -> tuple[str, str]:
    return shaping.base_rates(probabilities, lang())


# --------------------------------------------------------------------------- model


def model_dir() -> Path:
    """`CEP_MODEL_DIR` when set (a retrained model, a development model), else models/default."""
    return Path(os.environ.get("CEP_MODEL_DIR") or persist.DEFAULT_MODEL_DIR)


EXPLAINED_KEPT = 4096  # explanations kept per server process, the oldest dropped first


@st.cache_resource(show_spinner=False)
def _load(directory: str) -> persist.Bundle:
    b = persist.load(directory)
    # Once per process, before any visitor waits: the first explanation builds the rubric's tables and the
    # model's column plans, the slow part of a first call; every later one reuses them.
    explain([jsonform.example()], b)
    return b


@st.cache_resource(show_spinner=False)
def _explained() -> dict[tuple[str, str, str], dict[str, Any]]:
    """Explanations by (dossier JSON, language, model folder), shared by every session of the process.

    The objects themselves are returned, not copies (st.cache_data would unpickle a queue's every
    explanation on every run): the pages only read them.
    """
    return {}


def explain_docs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The full explanation of each valid dossier, computed once per dossier, language and model.

    The ones not yet explained are explained together, in one call: twenty dossiers take a quarter of
    the time of twenty calls.
    """
    cache, directory = _explained(), str(model_dir())
    keys = [(json.dumps(d, sort_keys=True, ensure_ascii=False), lang(), directory) for d in docs]
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    if missing:
        cache.update(zip(missing, explain([json.loads(k[0]) for k in missing], _load(directory), lang())))
    out = [cache[k] for k in keys]
    for old in list(cache)[: max(0, len(cache) - EXPLAINED_KEPT)]:
        cache.pop(old, None)
    return out


def explain_doc(doc: dict[str, Any]) -> dict[str, Any]:
    return explain_docs([doc])[0]


def bundle() -> persist.Bundle:
    """The verified model, loaded once per server process; a clear stop when it cannot be trusted."""
    try:
        return _load(str(model_dir()))
    except persist.ModelLoadError as exc:
        st.error(tr("ui.model.load_error", error=plain(exc)))
        st.stop()


def notice(card: dict[str, Any]) -> str:
    return display.notice(card, lang())


def sidebar_footer(b: persist.Bundle) -> None:
    ident = b.identity()
    with st.sidebar:
        st.divider()
        st.caption(tr("ui.footer.model", name=ident["name"], sha=ident["sha256"][:12]))
        st.caption(notice(b.card))
        st.caption(tr("ui.footer.local"))


# --------------------------------------------------------------------------- labels


#: The committee's 0-5 scale in half points, the only scores the validator accepts.
SCORE_STEPS = tuple(k / 2 for k in range(11))


def score_input(label: str, key: str, placeholder: str, where: Any = st, **kwargs: Any) -> Any:
    """An expert's score, chosen among the scale's half points written the reader's way ("3,5/5"), or none
    (the placeholder says what then counts): a number box read a French "2,5" as 25."""
    return where.selectbox(
        label,
        SCORE_STEPS,
        index=None,
        key=key,
        placeholder=placeholder,
        format_func=lambda v: formatting.score(v, lang()),
        **kwargs,
    )


def field_label(name: str) -> str:
    return display.field_label(name, lang())


def issue_text(issue: Issue) -> str:
    """One validation problem, naming the field as the user sees it (its label, never its column name)."""
    if issue.empty:
        return tr("ui.issue.line", field=field_label(issue.field), reason=issue.reason_in(lang()))
    return tr(
        "ui.issue.line_value",
        field=field_label(issue.field),
        value=value_text(issue.field, issue.value, lang()),
        reason=issue.reason_in(lang()),
    )


def issues_frame(issues: list[Issue], **extra: object) -> pd.DataFrame:
    """Issues as a table with translated headers, one row per problem."""
    return pd.DataFrame(
        [
            {
                **{tr(f"ui.col.{k}"): v for k, v in extra.items()},
                tr("ui.col.row"): i.row,
                tr("ui.col.problem"): issue_text(i),
                tr("ui.col.field"): field_label(i.field),
            }
            for i in issues
        ]
    )


# --------------------------------------------------------------------------- files


def upload_help(formats: str) -> str:
    return tr("ui.upload.help", formats=formats, mb=MAX_UPLOAD_MB)


def read_upload(uploaded: Any) -> pd.DataFrame:
    """Read an uploaded table through the library's one reader (same rules as the command line).

    The bytes go to a private temporary directory, removed at once: the reader works on paths.
    """
    io.suffix(uploaded.name)
    with tempfile.TemporaryDirectory(prefix="cep-ui-") as d:
        path = Path(d) / Path(uploaded.name).name
        path.write_bytes(uploaded.getvalue())
        try:
            return io.read_table(path)
        except SchemaError as exc:  # the message names the upload, not the temporary copy
            raise exc.renamed(str(path), uploaded.name) from None


def table_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """A frame as CSV, CSV for a French Excel (`csv_fr`), XLSX or Parquet bytes: the library's writers,
    so the spreadsheet formats get its one formula rule."""
    if fmt in ("csv", "csv_fr"):
        return io.csv_bytes(frame, excel_fr=fmt == "csv_fr")
    if fmt == "xlsx":
        return io.xlsx_bytes(frame)
    buf = _bytes_io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


MIME = {
    "csv": "text/csv",
    "csv_fr": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/octet-stream",
    "json": "application/json",
    "html": "text/html",
}


def download_table(frame: pd.DataFrame, stem: str, formats: tuple[str, ...], key: str) -> None:
    """One download button per format, each file built only when clicked; a CSV comes in two variants,
    the plain one and the one a French Excel opens (`;`, UTF-8 with BOM, decimal comma)."""
    formats = tuple(f for fmt in formats for f in ((fmt, "csv_fr") if fmt == "csv" else (fmt,)))
    cols = st.columns(len(formats))
    for col, fmt in zip(cols, formats):
        label = tr("ui.download.excel_fr") if fmt == "csv_fr" else tr("ui.download.table", fmt=fmt.upper())
        name = f"{stem}_excel_fr.csv" if fmt == "csv_fr" else f"{stem}.{fmt}"
        col.download_button(
            label,
            data=lambda f=fmt: table_bytes(frame, f),
            file_name=name,
            mime=MIME[fmt],
            key=f"{key}.{fmt}",
            on_click="ignore",
            icon=":material/download:",
        )


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")


# --------------------------------------------------------------------------- explanations


def show_reasons(reasons: list[dict[str, Any]]) -> None:
    """Reasons for and against side by side, then the advice."""
    cols = st.columns(2)
    for col, kind in zip(cols, ("for", "against")):
        with col:
            st.markdown(f"**{tr(f'ui.reason.{kind}')}**")
            found = [r["text"] for r in reasons if r["kind"] == kind]
            st.markdown("\n".join(f"- {text}" for text in found) or tr("ui.reason.none"))
    for r in reasons:
        if r["kind"] == "advice":
            st.info(r["text"], icon=":material/lightbulb:")


def show_evidence(criteria: list[dict[str, Any]]) -> None:
    """Per criterion, the answers that moved its score, strongest first."""
    for c in criteria:
        score = shaping.score(c["score"], lang())
        source = c["source_label"]
        with st.expander(t("text.criterion_line", lang(), label=c["label"], score=score, source=source)):
            if c["evidence"]:
                # A static table wraps the long questions; the interactive one cut them. Every cell is the
                # rubric's own wording (data/rubric.toml), never a dossier's text.
                st.table(
                    pd.DataFrame(
                        [
                            {
                                tr("ui.col.question"): e["question_label"],
                                tr("ui.col.answer"): e["answer_label"],
                                tr("ui.col.effect"): formatting.number(e["effect"], lang(), 2, sign=True),
                            }
                            for e in c["evidence"]
                        ]
                    ),
                    hide_index=True,
                )
            if c["missing"]:
                st.caption(tr("ui.evidence.missing", questions="; ".join(tr(f"rubric.{q}") for q in c["missing"])))
            if c["source"] == "expert":
                st.caption(tr("ui.evidence.expert", rubric=shaping.score(c["rubric_score"], lang())))


def show_actions(actions: list[dict[str, Any]]) -> None:
    """Answer changes, best first, each with its gain; those that together reach the labelling line are marked."""
    if not actions:
        st.caption(tr("ui.actions.none"))
        return
    # Each sentence already ends with its gain in points.
    lines = [f"- {a['text']}" + (f" · **{tr('ui.actions.in_set')}**" if a["in_labelling_set"] else "") for a in actions]
    st.markdown("\n".join(lines))
    if any(a["in_labelling_set"] for a in actions):
        st.caption(tr("ui.actions.labelling_set_help"))


def show_missing(missing: list[str]) -> None:
    """What the model had to do without, in the user's words; the unanswered questions counted, then listed."""
    if not missing:
        return
    lines = [display.missing_label(m, lang()) for m in missing if not m.startswith("answers.")]
    unanswered = [m.removeprefix("answers.") for m in missing if m.startswith("answers.")]
    if unanswered:
        lines.append(tr("ui.missing.questions", n=len(unanswered)))
    with st.expander(tr("ui.report.missing") + f" ({len(missing)})", icon=":material/help:"):
        st.markdown("\n".join(f"- {line}" for line in lines))
        if unanswered:
            st.caption("; ".join(tr(f"rubric.{q}") for q in unanswered))


# --------------------------------------------------------------------------- charts


def show_chart(spec: dict[str, Any], **kwargs: Any) -> None:
    """A Vega-Lite chart whose axis and tooltip numbers Vega writes the reader's way (its number locale).

    Charts are plain Vega-Lite dictionaries, not Altair objects: Altair validates every encoding and
    copies its schema objects, which took two thirds of the result page's script run (0.5 s of 0.8 s).
    """
    decimal, thousands = formatting.separators(lang())
    locale = {"number": {"decimal": decimal, "thousands": thousands, "grouping": [3], "currency": ["", "\u202f€"]}}
    # The rows go as a named dataset, as Altair sends them: Streamlit ships it to the browser in Arrow form, and
    # its chart element inserts it by name (a top-level `values` reached a layered chart empty).
    st.vega_lite_chart(
        spec={
            **spec,
            "data": {"name": "rows"},
            "datasets": {"rows": spec["data"]["values"]},
            "config": {"locale": locale},
        },
        **kwargs,
    )


def nominal(field: str, **extra: Any) -> dict[str, Any]:
    return {"field": field, "type": "nominal", **extra}


def quantitative(field: str, **extra: Any) -> dict[str, Any]:
    return {"field": field, "type": "quantitative", **extra}


def names_axis(field: str, order: list[str] | None) -> dict[str, Any]:
    """A vertical axis of names, in the given order, wide enough to read them whole."""
    return nominal(field, sort=order, title=None, axis={"labelLimit": 320})


def criteria_chart(criteria: list[dict[str, Any]]) -> dict[str, Any]:
    """The five criterion scores on the 0-5 scale, each labelled with where it came from."""
    rows = [
        {
            "criterion": c["label"],
            "score": c["score"] or 0.0,
            "shown": f"{shaping.score(c['score'], lang())} · {c['source_label']}",
            "source": c["source"],
        }
        for c in criteria
    ]
    return {
        "data": {"values": rows},
        "height": {"step": 34},
        "encoding": {
            "y": names_axis("criterion", [r["criterion"] for r in rows]),
            "x": quantitative(
                "score", scale={"domain": [0, 5]}, axis={"values": list(range(6))}, title=tr("ui.chart.score_axis")
            ),
            "tooltip": [
                nominal("criterion", title=tr("ui.chart.criterion")),
                nominal("shown", title=tr("ui.chart.score")),
            ],
        },
        "layer": [
            {
                "mark": {"type": "bar", "color": ACCENT},
                "encoding": {
                    "opacity": {"condition": {"test": "datum.source === 'expert'", "value": 1.0}, "value": 0.75}
                },
            },
            {"mark": {"type": "text", "align": "left", "dx": 4}, "encoding": {"text": nominal("shown")}},
        ],
    }


def contributions_chart(contrib: dict[str, Any]) -> dict[str, Any]:
    """Each input's contribution as a bar from zero, in probability points (right raises, left lowers)."""
    rows = [{**r, "zero": 0.0} for r in shaping.contribution_rows(contrib, lang())]
    y = names_axis("step", [r["step"] for r in rows])
    text = {"y": y, "x": quantitative("points"), "text": nominal("label")}
    return {
        "data": {"values": rows},
        "height": {"step": 28},
        "layer": [
            {
                "mark": "bar",
                "encoding": {
                    "y": y,
                    "x": quantitative("zero", title=tr("ui.chart.points_axis")),
                    "x2": {"field": "points"},
                    "color": nominal(
                        "kind", scale={"domain": ["up", "down"], "range": [POSITIVE, NEGATIVE]}, legend=None
                    ),
                    "tooltip": [
                        nominal("step", title=tr("ui.chart.input")),
                        nominal("label", title=tr("ui.chart.points")),
                    ],
                },
            },
            # each label just past its bar's end: right of a bar that raises, left of one that lowers
            {
                "mark": {"type": "text", "align": "left", "dx": 4},
                "transform": [{"filter": "datum.points >= 0"}],
                "encoding": text,
            },
            {
                "mark": {"type": "text", "align": "right", "dx": -4},
                "transform": [{"filter": "datum.points < 0"}],
                "encoding": text,
            },
            {"mark": {"type": "rule", "color": NEUTRAL}, "encoding": {"x": {"datum": 0, "type": "quantitative"}}},
        ],
    }


def windows_chart(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """P(labelled) and P(labelled and funded) under every window; an ineligible one is faded, says so (its rule
    is in the table beside) and has no funding bar."""
    rows = []
    for w in windows:
        # the rule itself is in the table below: a long one would be cut on the axis
        name = w["label"] if w["eligible"] else f"{w['label']} — {tr('ui.windows.ineligible')}"
        # P(labelled) is the committee's, whatever the window; funding only where the window can take it
        for measure in ("success", "labeled") if w["eligible"] else ("labeled",):
            rows.append(
                {"window": name, "measure": tr(f"ui.prob.{measure}"), "p": 100 * w[measure], "eligible": w["eligible"]}
            )
    return {
        "data": {"values": rows},
        "mark": "bar",
        "height": {"step": 16},
        "encoding": {
            "y": names_axis("window", list(dict.fromkeys(r["window"] for r in rows))),
            "yOffset": nominal("measure", sort=None),
            "x": quantitative("p", title=tr("ui.chart.percent_axis")),
            "color": nominal("measure", title=None, sort=None, legend={"orient": "top"}),
            "opacity": {"condition": {"test": "datum.eligible", "value": 1.0}, "value": 0.35},
            "tooltip": [
                nominal("window", title=tr("ui.chart.window")),
                nominal("measure", title=" "),
                quantitative("p", format=".0f", title="%"),
            ],
        },
    }


def code_axis(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].map(lambda c: code_label(column, c, lang()) if isinstance(c, str) else "")
