"""Self-assessment (project lead): the dossier in steps, then its explained result and report.

The widgets keep their values for the whole session (`persist_state`), so a
step that is not on screen keeps what was typed in it. The dossier is
rebuilt from them on every run and checked by the library's validator;
problems are shown under the field they concern.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from scoring import display
from scoring.catalogue import CRITERIA, NOT_APPLICABLE
from scoring.fields import FIELD_BY_NAME, MIN_YEAR
from scoring.i18n import code_label
from scoring.jsonform import from_json, load_json_dossiers
from scoring.rubric import rubric, score_table
from scoring.schema import SchemaError
from ui import components as ui
from ui import form, report, shaping, store_link

STEP = "sa.step"
ATTEMPTED = "sa.attempted"  # an evaluation was asked for: missing required fields are now errors
SCORED = "sa.scored"  # the dossier JSON last evaluated
DRAFT_MESSAGES = "sa.draft_messages"


# --------------------------------------------------------------------------- state changes (callbacks)


def _go(step: int) -> None:
    st.session_state[STEP] = step


def _evaluate() -> None:
    doc = form.doc_from_state(st.session_state)
    issues = form.issues_by_field(doc)
    st.session_state[ATTEMPTED] = True
    if issues:
        st.session_state[STEP] = min(form.step_of(name) for name in issues)
        return
    st.session_state[SCORED] = doc
    st.session_state[STEP] = len(form.STEPS) - 1
    st.session_state.pop(DRAFT_MESSAGES, None)


def load_draft(doc: object, source: str) -> None:
    """Put a saved draft into the form; what it cannot take back is listed, never silently dropped."""
    try:
        state, rejected = form.state_from_doc(doc, ui.lang())
    except SchemaError as exc:
        error = exc.said(ui.lang(), named=False)
        st.session_state[DRAFT_MESSAGES] = ("error", [ui.tr("ui.draft.unreadable", source=source, error=error)])
        return
    st.session_state.update(state)
    for k in (ATTEMPTED, SCORED):
        st.session_state.pop(k, None)
    st.session_state[STEP] = 0
    lines = [ui.tr("ui.draft.loaded", source=source)] + [ui.issue_text(i) for i in rejected]
    st.session_state[DRAFT_MESSAGES] = ("warning" if rejected else "success", lines)


def _load_uploaded_draft() -> None:
    uploaded = st.session_state.get("sa.draft_upload")
    if uploaded is None:
        return
    try:
        docs, was_list = load_json_dossiers(uploaded.getvalue().decode("utf-8"))
    except (SchemaError, UnicodeDecodeError) as exc:
        st.session_state[DRAFT_MESSAGES] = (
            "error",
            [
                ui.tr(
                    "ui.draft.unreadable",
                    source=uploaded.name,
                    error=exc.said(ui.lang(), named=False) if isinstance(exc, SchemaError) else str(exc),
                )
            ],
        )
        return
    if was_list and len(docs) != 1:
        st.session_state[DRAFT_MESSAGES] = ("error", [ui.tr("ui.draft.not_one", source=uploaded.name, n=len(docs))])
        return
    load_draft(docs[0], uploaded.name)


def _clear_form() -> None:
    st.session_state.update(form.empty_state())
    for k in (ATTEMPTED, SCORED, DRAFT_MESSAGES):
        st.session_state.pop(k, None)
    st.session_state[STEP] = 0


# --------------------------------------------------------------------------- drawing


def _draft_panel(doc: dict) -> None:
    with st.expander(ui.tr("ui.draft.title"), icon=":material/save:"):
        st.caption(ui.tr("ui.draft.intro"))
        c1, c2 = st.columns(2)
        c1.download_button(
            ui.tr("ui.draft.download"),
            data=lambda: ui.json_bytes(doc),
            file_name=f"{doc.get('dossier_id') or ui.tr('ui.draft.file_stem')}.json",
            mime=ui.MIME["json"],
            key="sa.draft_download",
            on_click="ignore",
            icon=":material/download:",
        )
        c2.button(ui.tr("ui.draft.clear"), on_click=_clear_form, key="sa.clear", icon=":material/restart_alt:")
        st.file_uploader(
            ui.tr("ui.draft.upload"),
            type=["json"],
            key="sa.draft_upload",
            on_change=_load_uploaded_draft,
            help=ui.upload_help("JSON"),
        )
        store_link.draft_panel(doc, load_draft)
    messages = st.session_state.get(DRAFT_MESSAGES)
    if messages:
        kind, lines = messages
        getattr(st, kind)("\n".join(f"- {ui.plain(line)}" if i else ui.plain(line) for i, line in enumerate(lines)))


def _inline(name: str, issues: dict, attempted: bool, doc_flat: dict) -> None:
    """The field's problems, under it: always for a value given, after an evaluation for an empty one."""
    if name in doc_flat or attempted:
        for issue in issues.get(name, []):
            st.error(ui.plain(ui.issue_text(issue)), icon=":material/error:")


def _label(name: str) -> str:
    return ui.field_label(name) + (" *" if FIELD_BY_NAME[name].required else "")


def _context_widget(name: str) -> None:
    f = FIELD_BY_NAME[name]
    k = form.key(f)
    common = dict(key=k, help=ui.tr(f"ui.help.{name}"), persist_state="session")
    if f.kind == "str":
        st.text_input(_label(name), **common)
    elif f.kind == "code":
        codes = ui.labels(f.allowed, lambda c: code_label(name, c, ui.lang()))
        # required: once chosen, a required field's choice can be changed but not emptied (Escape would,
        # and the next evaluation would be refused for a field the user had filled)
        st.selectbox(
            _label(name),
            list(codes),
            index=None,
            format_func=codes.get,
            required=f.required,
            placeholder=ui.tr("ui.form.choose"),
            **common,
        )
    elif f.kind == "int":
        # No bounds on the widget: it would keep showing an out-of-range "12" while sending nothing, and the
        # validator would call the field absent. Unbounded, the value reaches the validator, which names the range.
        st.number_input(_label(name), value=None, step=1, placeholder=ui.tr("ui.form.number"), **common)
    elif f.kind == "float":
        st.number_input(
            _label(name), value=None, step=10_000.0, format="%.0f", placeholder=ui.tr("ui.form.euros"), **common
        )
    elif f.kind == "date":
        st.date_input(
            _label(name),
            value=None,
            min_value=dt.date(MIN_YEAR, 1, 1),
            max_value=dt.date.today(),
            format="DD/MM/YYYY",
            **common,
        )
    elif name == "preliminary_interview":
        answers = ui.labels((True, False), lambda v: ui.tr("value.yes" if v else "value.no"))
        st.radio(_label(name), list(answers), index=None, horizontal=True, format_func=answers.get, **common)
    else:
        st.checkbox(_label(name), **common)


def _context_step(issues: dict, attempted: bool, doc_flat: dict) -> None:
    collaborative = bool(st.session_state.get(form.key(FIELD_BY_NAME["collaborative"])))
    for group, names in form.CONTEXT_GROUPS:
        st.subheader(ui.tr(f"ui.sa.group.{group}"))
        cols = st.columns(2)
        shown = [n for n in names if n not in form.PARTNER_FIELDS or collaborative]
        for i, name in enumerate(shown):
            with cols[i % 2]:
                _context_widget(name)
                _inline(name, issues, attempted, doc_flat)


def _criterion_step(criterion: str, issues: dict, doc_flat: dict) -> None:
    st.subheader(ui.tr(f"criterion.{criterion}"))
    st.caption(ui.tr("ui.sa.rubric_rule"))
    for q in rubric()[criterion]:
        answers = ui.labels(
            q.answers + ((NOT_APPLICABLE,) if q.na_allowed else ()),
            lambda a, q=q: display.answer_label(q.id, a, ui.lang()),
        )
        st.radio(
            ui.tr(f"rubric.{q.id}"),
            list(answers),
            index=None,
            key=form.key(FIELD_BY_NAME[q.id]),
            format_func=answers.get,
            persist_state="session",
        )
        _inline(q.id, issues, True, doc_flat)
    table = score_table(pd.DataFrame([doc_flat]).reindex(columns=[q.id for q in rubric()[criterion]]))
    j = CRITERIA.index(criterion)
    score = table.score[0, j]
    st.info(
        ui.tr(
            "ui.sa.live_score",
            score=shaping.score(None if pd.isna(score) else score, ui.lang()),
            source=ui.tr(f"source.{table.source[0, j]}"),
        ),
        icon=":material/calculate:",
    )


def _nav(step: int) -> None:
    last_form_step = len(form.STEPS) - 2
    c1, c2, c3 = st.columns(3)
    if step > 0:
        c1.button(ui.tr("ui.sa.previous"), on_click=_go, args=(step - 1,), key="sa.prev", icon=":material/arrow_back:")
    if step < last_form_step:
        c2.button(ui.tr("ui.sa.next"), on_click=_go, args=(step + 1,), key="sa.next", icon=":material/arrow_forward:")
    if step <= last_form_step:
        c3.button(
            ui.tr("ui.sa.evaluate"), on_click=_evaluate, type="primary", key="sa.evaluate", icon=":material/analytics:"
        )


def _issues_summary(issues: dict) -> None:
    lines = [
        f"- {ui.tr(f'ui.sa.step.{form.STEPS[form.step_of(name)]}')} › {ui.plain(ui.issue_text(i))}"
        for name, found in issues.items()
        for i in found
    ]
    st.error(ui.tr("ui.sa.fix_first") + "\n" + "\n".join(lines), icon=":material/error:")


def _results(doc: dict) -> None:
    scored = st.session_state.get(SCORED)
    if scored is None:
        st.info(ui.tr("ui.sa.not_scored"), icon=":material/info:")
        return
    if scored != doc:
        st.warning(ui.tr("ui.sa.stale"), icon=":material/update:")
    _show_result(scored, ui.explain_doc(scored))


def _show_result(doc: dict, result: dict) -> None:
    p = result["probabilities"]
    # the targeted window's refusal leads; then the answers to check with the applicant
    if result["eligibility"]["text"]:
        st.error(ui.plain(result["eligibility"]["text"]), icon=":material/block:")
    if result["warnings"]:
        st.warning(
            "\n".join([ui.tr("text.warnings")] + [f"- {ui.plain(w['text'])}" for w in result["warnings"]]),
            icon=":material/fact_check:",
        )
    interval = p["interval"]["text"]
    c1, c2, c3 = st.columns(3)
    shown = p["interval"]["shown"]  # each probability with as many decimals as its interval
    c1.metric(ui.tr("ui.prob.labeled"), shown["labeled"], help=interval["labeled"])
    if p["estimate"]:
        base = p["base_rate"]["filiere"]["value"]
        c2.metric(
            ui.tr("ui.prob.success"),
            shown["success"],
            delta=ui.tr("ui.prob.vs_base", pts=ui.points(p["success"] - base)),
            help=interval["success"],
        )
        c3.metric(ui.tr("ui.prob.funded"), ui.pct(p["funded"]), help=ui.tr("ui.prob.funded_help"))
        st.caption(ui.tr("ui.prob.intervals", labeled=interval["labeled"], success=interval["success"]))
    else:  # a window that cannot take the dossier gives no funding estimate
        c2.metric(ui.tr("ui.prob.success"), ui.pct(None), help=ui.tr("text.not_estimated"))
        c3.metric(ui.tr("ui.prob.funded"), ui.pct(None), help=ui.tr("text.not_estimated"))
        st.caption(ui.tr("ui.prob.interval_labeled", labeled=interval["labeled"]))
    filiere, window = ui.base_rates(p)
    st.info(f"**{ui.plain(p['summary'])}**\n\n- {filiere}\n- {window}", icon=":material/groups:")

    st.subheader(ui.tr("ui.report.reasons"))
    ui.show_reasons(result["reasons"])

    st.subheader(ui.tr("ui.report.criteria"))
    ui.show_chart(ui.criteria_chart(result["criteria"]), width="stretch")
    ui.show_evidence(result["criteria"])

    st.subheader(ui.tr("ui.report.contributions"))
    st.markdown(ui.plain(result["starting_point"]["text"]))
    st.caption(ui.tr("ui.contrib.explain"))
    target = ui.target_choice("sa.contrib_target") if p["estimate"] else "labeled"
    st.markdown(shaping.levels(result["contributions"][target], ui.lang()))
    ui.show_chart(ui.contributions_chart(result["contributions"][target]), width="stretch")

    st.subheader(ui.tr("ui.report.actions"))
    ui.show_actions(result["actions"])
    st.caption(ui.plain(result["labelling"]["text"]))

    st.subheader(ui.tr("ui.report.windows"))
    ui.show_chart(ui.windows_chart(result["windows"]), width="stretch")
    st.table(
        pd.DataFrame(
            [
                {
                    ui.tr("ui.col.window"): w["label"],
                    ui.tr("ui.col.eligibility"): ui.tr("ui.windows.eligible") if w["eligible"] else w["rule_text"],
                    ui.tr("ui.prob.labeled"): w["interval"]["shown"]["labeled"],
                    ui.tr("ui.prob.success"): w["interval"]["shown"]["success"],
                    ui.tr("text.interval"): w["interval"]["text"]["success"],
                }
                for w in result["windows"]
            ]
        ),
        hide_index=True,
    )

    ui.show_missing(p["missing_inputs"])

    st.subheader(ui.tr("ui.report.download_title"))
    card, lang = ui.bundle().card, ui.lang()
    st.download_button(
        ui.tr("ui.report.download"),
        data=lambda: report.build_html(doc, result, card, lang, dt.datetime.now()).encode("utf-8"),
        file_name=f"{ui.tr('ui.report.file_stem')}_{doc['dossier_id']}_{dt.date.today():%Y%m%d}.html",
        mime=ui.MIME["html"],
        key="sa.report",
        on_click="ignore",
        type="primary",
        icon=":material/description:",
    )
    st.caption(ui.tr("ui.report.download_help"))


# --------------------------------------------------------------------------- page

st.title(ui.tr("ui.sa.title"))
st.caption(ui.tr("ui.sa.intro"))
doc = form.doc_from_state(st.session_state)
doc_flat = from_json(doc)
issues = form.issues_by_field(doc)
attempted = bool(st.session_state.get(ATTEMPTED))
_draft_panel(doc)

steps = ui.labels(range(len(form.STEPS)), lambda i: f"{i + 1}. {ui.tr(f'ui.sa.step.{form.STEPS[i]}')}")
step = st.radio(
    ui.tr("ui.sa.steps"), list(steps), key=STEP, horizontal=True, persist_state="session", format_func=steps.get
)
name = form.STEPS[step]
if attempted and issues:
    _issues_summary(issues)
if name == "context":
    _context_step(issues, attempted, doc_flat)
elif name == "results":
    _results(doc)
else:
    _criterion_step(name, issues, doc_flat)
_nav(step)
