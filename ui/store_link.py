"""The app's one link to the dossier store (`scoring.store`): drafts, and the committee's triage work.

Kept apart from the pages: they work the same without a store (drafts also
travel as JSON files). The store is the local SQLite file, or the database
named by `CEP_DB_URL`; it is opened only when a panel here is used, once per
server process. Every write names the person who made it, as the store's
audit log requires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from scoring.store import (ConflictError, ConflictOfInterestError, InvalidDossierError, Outcome, Store, prepare,
                           url_from_env)
from ui import components as ui

USER = "store.user"
DRAFT_VERSION = "sa.store_version"  # (dossier_id, version) the form was last saved as or reopened from
MESSAGE = "store.message"
REFUSALS = (ConflictError, ConflictOfInterestError, InvalidDossierError, ValueError, KeyError)


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Store:
    return Store(url)


def store() -> Store:
    return _open(url_from_env())


def _user_input() -> str:
    return st.text_input(ui.tr("ui.store.user"), key=USER, persist_state="session", help=ui.tr("ui.store.user_help"))


def _say(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = (kind, text)


def _show_message() -> None:
    found = st.session_state.pop(MESSAGE, None)
    if found:
        getattr(st, found[0])(found[1])


# --------------------------------------------------------------------------- self-assessment drafts

def _save_draft(doc: dict[str, Any]) -> None:
    last = st.session_state.get(DRAFT_VERSION)
    expected = last[1] if last and last[0] == doc.get("dossier_id") else None
    try:
        saved = store().save_dossier(doc, user=st.session_state.get(USER, ""), expected_version=expected, draft=True)
    except REFUSALS as exc:
        _say("error", ui.tr("ui.store.refused", error=str(exc)))
        return
    st.session_state[DRAFT_VERSION] = (saved.dossier_id, saved.version)
    _say("success", ui.tr("ui.store.draft_saved", id=saved.dossier_id, version=saved.version))


def _reopen(dossier_id: str, load_draft: Callable[[object, str], None]) -> None:
    try:
        version = store().load_dossier(dossier_id)
    except KeyError as exc:
        _say("error", ui.tr("ui.store.refused", error=str(exc)))
        return
    load_draft(version.payload, ui.tr("ui.store.source", id=dossier_id, version=version.version))
    st.session_state[DRAFT_VERSION] = (dossier_id, version.version)


def draft_panel(doc: dict[str, Any], load_draft: Callable[[object, str], None]) -> None:
    """Save the form as a draft in the store, or reopen a saved draft."""
    st.markdown(f"**{ui.tr('ui.store.title')}**")
    try:
        drafts = store().list_dossiers(status="draft")
    except Exception as exc:  # noqa: BLE001 - any database failure leaves the JSON drafts working
        st.caption(ui.tr("ui.store.unavailable", error=str(exc)))
        return
    st.caption(ui.tr("ui.store.where", url=store().url))
    user = _user_input()
    st.button(ui.tr("ui.store.save_draft"), on_click=_save_draft, args=(doc,), key="sa.store_save",
              disabled=not user.strip(), icon=":material/database:")
    if drafts:
        labels = {d.dossier_id: ui.tr("ui.store.draft_label", id=d.dossier_id, version=d.version, who=d.created_by,
                                      when=f"{d.created_at:%Y-%m-%d %H:%M}") for d in drafts}
        chosen = st.selectbox(ui.tr("ui.store.drafts"), list(labels), format_func=labels.get, key="sa.store_pick")
        st.button(ui.tr("ui.store.reopen"), on_click=_reopen, args=(chosen, load_draft), key="sa.store_reopen",
                  icon=":material/folder_open:")
    _show_message()


# --------------------------------------------------------------------------- committee triage

def _save_triage(docs: list[dict[str, Any]], scores: Mapping[str, dict[str, float]], notes: Mapping[str, str],
                 decisions: Mapping[str, bool], funded: Mapping[str, bool | None]) -> None:
    user = st.session_state.get(USER, "")
    s = store()
    try:
        outcomes = {i: Outcome(labeled, funded.get(i)) for i, labeled in decisions.items()}
        saved, n_decisions = s.ingest([prepare(d) for d in docs], outcomes, user=user)
        assessed = [i for i in {*scores, *notes} if scores.get(i) or notes.get(i)]
        for i in assessed:
            s.record_assessment(i, scores.get(i, {}), user=user, notes=notes.get(i, ""))
    except REFUSALS as exc:
        _say("error", ui.tr("ui.store.refused", error=str(exc)))
        return
    _say("success", ui.tr("ui.store.triage_saved", n=len(saved), new=sum(r.created for r in saved),
                          assessed=len(assessed), decided=n_decisions))


def triage_panel(docs: list[dict[str, Any]], scores: Mapping[str, dict[str, float]], notes: Mapping[str, str],
                 decisions: Mapping[str, bool], funded: Mapping[str, bool | None]) -> None:
    """Record the queue's dossiers, the experts' scores and notes, the committee's decisions and, once
    known, the window's funding answer (a decided dossier with its funding answer is training data)."""
    with st.expander(ui.tr("ui.store.title"), icon=":material/database:"):
        try:
            st.caption(ui.tr("ui.store.where", url=store().url))
        except Exception as exc:  # noqa: BLE001 - the queue and its export work without a store
            st.caption(ui.tr("ui.store.unavailable", error=str(exc)))
            return
        st.caption(ui.tr("ui.store.triage_intro"))
        user = _user_input()
        st.button(ui.tr("ui.store.save_triage"), on_click=_save_triage, args=(docs, scores, notes, decisions, funded),
                  key="tr.store_save", disabled=not user.strip(), icon=":material/database:")
        _show_message()
