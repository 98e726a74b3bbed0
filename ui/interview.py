"""Triage's preliminary-interview pane (issue 18): the picked dossier's brief and the expert's outcome.

The brief is `scoring.interview`'s (the expert's, or the applicant's mirror to hand over, printable as
HTML). The outcome (submit / strengthen / re-plan to a window / redirect) and its notes are recorded in the
store with their audit entry (`scoring.store.interviews`), which also sets the dossier's
`preliminary_interview` input; the queue's dossier gets that input at once, so its probabilities follow.
Without a store the outcome is kept for the session, and the queue still shows it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import streamlit as st

from scoring.interview import briefs, render_html
from scoring.store.interviews import latest_interviews, record_interview
from scoring.store.models import INTERVIEW_OUTCOMES
from ui import components as ui
from ui import store_link

log = logging.getLogger(__name__)
RECORDED = "tr.interview.recorded"  # {dossier_id: (outcome, window or None)} recorded in this session
MESSAGE = "tr.interview.message"


@st.cache_data(max_entries=64, show_spinner=False)
def _brief(doc_json: str, lang: str, audience: str) -> dict[str, Any]:
    # keyed on the dossier's JSON: an edited dossier (expert scores, the interview input) is briefed again
    return briefs([json.loads(doc_json)], ui.bundle(), lang, audience)[0]


def _key(dossier_id: str, what: str) -> str:
    return f"tr.interview.{what}.{dossier_id}"


def outcome_text(outcome: str, window: str | None) -> str:
    """An outcome in the reader's words: "Replanifier : FEDER RDI"."""
    text = ui.tr(f"ui.interview.outcome.{outcome}")
    return (
        ui.tr("ui.interview.outcome_window", outcome=text, window=ui.tr(f"funding_window.{window}")) if window else text
    )


def queue_column(dossier_ids: list[str]) -> list[str]:
    """Per dossier, its latest interview outcome (this session's, else the store's), or ""."""
    stored: dict[str, Any] = {}
    try:
        stored = {i: (r.outcome, r.funding_window) for i, r in latest_interviews(store_link.store()).items()}
    except Exception as exc:  # noqa: BLE001 - the queue works without a store; the session keeps the outcomes
        log.info("interview outcomes not read from the store: %s", exc)
    mine = {**stored, **st.session_state.get(RECORDED, {})}
    return [outcome_text(*mine[i]) if i in mine else "" for i in dossier_ids]


def _record(docs: list[dict[str, Any]], dossier_id: str) -> None:
    """Store the outcome and mark the queue's dossier as interviewed (the model reads that input)."""
    outcome = st.session_state.get(_key(dossier_id, "outcome"))
    window = st.session_state.get(_key(dossier_id, "window")) if outcome == "replan" else None
    notes = st.session_state.get(_key(dossier_id, "notes")) or ""
    if outcome is None or (outcome == "replan" and not window):
        st.session_state[MESSAGE] = ("error", "ui.interview.incomplete")
        return
    doc = next(d for d in docs if d["dossier_id"] == dossier_id)
    doc["preliminary_interview"] = True
    st.session_state.setdefault(RECORDED, {})[dossier_id] = (outcome, window)
    user = st.session_state.get(store_link.USER, "").strip()
    if not user:  # no name, no audited record: kept for the session only, and said so
        st.session_state[MESSAGE] = ("warning", "ui.interview.session_only")
        return
    try:
        store = store_link.store()
        head = store.latest_version(dossier_id)
        if head is None:
            store.save_dossier(doc, user=user, expected_version=None)
        record_interview(store, dossier_id, outcome, user=user, notes=notes, funding_window=window)
    except Exception as exc:  # noqa: BLE001 - a refused or absent store leaves the session's record
        log.warning("interview outcome not stored: %s", exc)
        st.session_state[MESSAGE] = ("warning", "ui.interview.session_only")
        return
    st.session_state[MESSAGE] = ("success", "ui.interview.recorded")


def pane(docs: list[dict[str, Any]], doc: dict[str, Any]) -> None:
    """The brief of `doc` and the outcome form; `docs` are the queue's dossiers (the recorded one is marked)."""
    i = doc["dossier_id"]
    with st.expander(ui.tr("ui.interview.title"), icon=":material/record_voice_over:"):
        audiences = {"expert": ui.tr("ui.interview.expert"), "applicant": ui.tr("ui.interview.applicant")}
        audience = st.radio(
            ui.tr("ui.interview.audience"),
            list(audiences),
            format_func=audiences.get,
            horizontal=True,
            key=_key(i, "audience"),
        )
        b = _brief(json.dumps(doc, sort_keys=True, ensure_ascii=False), ui.lang(), audience)
        st.markdown("  \n".join(ui.plain(line) for line in b["summary"]))
        st.markdown(f"**{ui.tr('ui.interview.eligibility')}** {ui.plain(b['eligibility']['text'])}")
        st.markdown(f"**{ui.plain(ui.tr(f'interview.h.questions.{audience}'))}**")
        for n, q in enumerate(b["questions"], 1):
            strong = f"  \n_{ui.plain(q['strong_text'])}_" if q["strong_text"] else ""
            st.markdown(f"{n}. **{ui.plain(q['ask'])}**  \n{ui.plain(q['why'])}{strong}")
        r = b["readiness"]
        show = {"submit": st.success, "strengthen": st.warning, "replan": st.error}[r["verdict"]]
        show("\n".join([ui.plain(r["text"]), *(f"- {ui.plain(s['text'])}" for s in r["steps"])]))
        st.download_button(
            ui.tr("ui.interview.download"),
            render_html([b]).encode("utf-8"),
            file_name=f"entretien-{i}-{audience}.html",
            mime="text/html",
            key=_key(i, "download"),
            icon=":material/print:",
        )
        st.divider()
        outcomes = {o: ui.tr(f"ui.interview.outcome.{o}") for o in INTERVIEW_OUTCOMES}
        chosen = st.selectbox(
            ui.tr("ui.interview.outcome"),
            list(outcomes),
            format_func=outcomes.get,
            index=None,
            key=_key(i, "outcome"),
            placeholder=ui.tr("ui.interview.outcome_none"),
        )
        if chosen == "replan":  # the windows that can take the dossier, best first, the brief's advice preselected
            windows = [w["window"] for w in b["eligibility"]["best_windows"]] or [doc["funding_window"]]
            st.selectbox(
                ui.tr("ui.interview.window"),
                windows,
                key=_key(i, "window"),
                index=windows.index(r["window"]) if r["window"] in windows else 0,
                format_func=lambda w: ui.tr(f"funding_window.{w}"),
            )
        st.text_area(ui.tr("ui.interview.notes"), key=_key(i, "notes"))
        st.button(
            ui.tr("ui.interview.record"),
            on_click=_record,
            args=(docs, i),
            key=_key(i, "record"),
            icon=":material/how_to_reg:",
        )
        found = st.session_state.pop(MESSAGE, None)
        if found:
            getattr(st, found[0])(ui.tr(found[1]))
