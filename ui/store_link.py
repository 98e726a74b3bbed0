"""The app's one link to the dossier store (`scoring.store`): drafts, and the committee's triage work.

Kept apart from the pages: they work the same without a store (drafts also
travel as JSON files). The store is the local SQLite file, or the database
named by `CEP_DB_URL`; it is opened only when a panel here is used, once per
server process. Every write names the person who made it, as the store's
audit log requires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import streamlit as st

from scoring.store import (
    ConflictError,
    ConflictOfInterestError,
    InvalidDossierError,
    Outcome,
    Review,
    Store,
    prepare,
    url_from_env,
)
from scoring.store.models import NAME_LENGTH
from ui import auth
from ui import components as ui

log = logging.getLogger(__name__)
USER = "store.user"
DRAFT_VERSION = "sa.store_version"  # (dossier_id, version) the form was last saved as or reopened from
MESSAGE = "store.message"
REFUSALS = (ConflictError, ConflictOfInterestError, InvalidDossierError, ValueError, KeyError)


def _where() -> str:
    # Where the records go, in words: the address itself (a file path in the home folder, or a server URL
    # with its user name) means nothing to a project lead and tells anyone reading the screen too much.
    return ui.tr("ui.store.where_local" if store().url.startswith("sqlite") else "ui.store.where_shared")


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Store:
    return Store(url)


def store() -> Store:
    return _open(url_from_env())


def _user_input() -> str:
    signed = auth.current()
    if signed is not None:
        # The session's user (signed in, or named in the sidebar) is who every write records: not editable here.
        st.session_state[USER] = signed.name
        return st.text_input(ui.tr("ui.store.user"), key=USER, disabled=True, help=ui.tr("ui.store.user_help"))
    # the store records names of at most NAME_LENGTH characters: the box takes no more
    return st.text_input(
        ui.tr("ui.store.user"),
        key=USER,
        persist_state="session",
        help=ui.tr("ui.store.user_help"),
        max_chars=NAME_LENGTH,
    )


def _refused(exc: Exception) -> None:
    """Keep the store's refusal for the next run, in the reader's words: the store words its exceptions in English
    for logs and the command line. A refusal the app cannot word (a programming error, not the user's) is said
    in general terms, and its English text goes to the server's log."""
    if isinstance(exc, ConflictError):
        case = "missing" if exc.current_version is None else "exists" if exc.expected_version is None else "newer"
        _say(
            "error",
            f"ui.store.conflict.{case}",
            id=exc.dossier_id,
            expected=exc.expected_version,
            current=exc.current_version,
            who=exc.saved_by or "?",
            when=f"{exc.saved_at:%d/%m/%Y %H:%M} UTC" if exc.saved_at else "?",
        )
    elif isinstance(exc, ConflictOfInterestError):
        _say("error", "ui.store.conflict_of_interest", expert=exc.expert, id=exc.dossier_id)
    elif isinstance(exc, InvalidDossierError):
        _say("error", "ui.store.invalid", id=exc.dossier_id or "?", problems=exc.issues)
    elif isinstance(exc, KeyError):
        _say("error", "ui.store.not_found", id=exc.args[0] if exc.args else "?")
    else:
        log.warning("the store refused a save: %s", exc)
        _say("error", "ui.store.refused_other")


def _say(kind: str, key: str, **values: object) -> None:
    """Keep a message for the next run, translated when shown (the language may change in between)."""
    st.session_state[MESSAGE] = (kind, key, values)


def _shown(value: object) -> str:
    """A message's value as the reader sees it: a validation problem list in words, anything else as text."""
    if isinstance(value, list):
        return "; ".join(ui.plain(ui.issue_text(i)) for i in value)
    return ui.plain(value)


def _show_message() -> None:
    found = st.session_state.pop(MESSAGE, None)
    if found:
        kind, key, values = found
        getattr(st, kind)(ui.tr(key, **{k: _shown(v) for k, v in values.items()}))


# --------------------------------------------------------------------------- self-assessment drafts


def _save_draft(doc: dict[str, Any]) -> None:
    last = st.session_state.get(DRAFT_VERSION)
    expected = last[1] if last and last[0] == doc.get("dossier_id") else None
    try:
        saved = store().save_dossier(doc, user=st.session_state.get(USER, ""), expected_version=expected, draft=True)
    except REFUSALS as exc:
        _refused(exc)
        return
    st.session_state[DRAFT_VERSION] = (saved.dossier_id, saved.version)
    _say("success", "ui.store.draft_saved", id=saved.dossier_id, version=saved.version)


def _reopen(dossier_id: str, load_draft: Callable[[object, str], None]) -> None:
    try:
        version = store().load_dossier(dossier_id)
    except KeyError as exc:
        _refused(exc)
        return
    load_draft(version.payload, ui.tr("ui.store.source", id=dossier_id, version=version.version))
    st.session_state[DRAFT_VERSION] = (dossier_id, version.version)


def draft_panel(doc: dict[str, Any], load_draft: Callable[[object, str], None]) -> None:
    """Save the form as a draft in the store, or reopen a saved draft."""
    st.markdown(f"**{ui.tr('ui.store.title')}**")
    try:
        drafts = auth.own_drafts(store().list_dossiers(status="draft"))
    except Exception as exc:  # noqa: BLE001 - any database failure leaves the JSON drafts working
        st.caption(ui.tr("ui.store.unavailable", error=ui.plain(exc)))
        return
    st.caption(_where())
    user = _user_input()
    st.button(
        ui.tr("ui.store.save_draft"),
        on_click=_save_draft,
        args=(doc,),
        key="sa.store_save",
        disabled=not user.strip(),
        icon=":material/database:",
    )
    if drafts:
        labels = {
            d.dossier_id: ui.tr(
                "ui.store.draft_label",
                id=d.dossier_id,
                version=d.version,
                who=d.created_by,
                when=f"{d.created_at:%Y-%m-%d %H:%M}",
            )
            for d in drafts
        }
        chosen = st.selectbox(ui.tr("ui.store.drafts"), list(labels), format_func=labels.get, key="sa.store_pick")
        st.button(
            ui.tr("ui.store.reopen"),
            on_click=_reopen,
            args=(chosen, load_draft),
            key="sa.store_reopen",
            icon=":material/folder_open:",
        )
    _show_message()


# --------------------------------------------------------------------------- committee triage


class TriageWork(NamedTuple):
    """The queue's dossiers and, by dossier id, what the expert and the committee entered."""

    docs: list[dict[str, Any]]
    scores: Mapping[str, dict[str, float]]
    notes: Mapping[str, str]
    decisions: Mapping[str, bool | None]
    funded: Mapping[str, bool | None]


def _save_triage(collect: Callable[[], TriageWork]) -> None:
    """The whole queue in one transaction, or nothing; what is refused is refused before anything is written.

    The work is read when the button is clicked, not when it was drawn: a note
    typed just before the click is in it.
    """
    user = st.session_state.get(USER, "")
    docs, scores, notes, decisions, funded = collect()
    ids = [d["dossier_id"] for d in docs]
    note_only = [i for i in ids if notes.get(i) and not scores.get(i)]
    if note_only:
        _say("error", "ui.store.note_without_score", ids=", ".join(note_only))
        return
    undecided = [i for i in ids if funded.get(i) is not None and decisions.get(i) is None]
    if undecided:
        _say("error", "ui.store.funding_without_decision", ids=", ".join(undecided))
        return
    try:
        outcomes = {i: Outcome(labeled, funded.get(i)) for i, labeled in decisions.items() if labeled is not None}
        reviews = {i: Review(scores[i], notes.get(i, "")) for i in ids if scores.get(i)}
        done = store().save_triage([prepare(d) for d in docs], outcomes, reviews, user=user)
    except REFUSALS as exc:
        _refused(exc)
        return
    new = sum(s.created for s in done.saved)
    _say(
        "success",
        "ui.store.triage_saved",
        n=len(done.saved),
        new=new,
        same=len(done.saved) - new,
        assessed=len(done.reviewed),
        kept=len(reviews) - len(done.reviewed),
        decided=done.decided,
    )


def triage_panel(collect: Callable[[], TriageWork]) -> None:
    """Record the queue's dossiers, the experts' scores and notes, the committee's decisions and, once
    known, the window's funding answer (a decided dossier with its funding answer is training data)."""
    with st.expander(ui.tr("ui.store.title"), icon=":material/database:"):
        try:
            st.caption(_where())
        except Exception as exc:  # noqa: BLE001 - the queue and its export work without a store
            st.caption(ui.tr("ui.store.unavailable", error=ui.plain(exc)))
            return
        st.caption(ui.tr("ui.store.triage_intro"))
        user = _user_input()
        st.button(
            ui.tr("ui.store.save_triage"),
            on_click=_save_triage,
            args=(collect,),
            key="tr.store_save",
            disabled=not user.strip(),
            icon=":material/database:",
        )
        _show_message()
