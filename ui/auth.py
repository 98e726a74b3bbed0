"""Who is using the app, per browser session: the sign-in gate of shared mode, the name of workstation mode.

`scoring.auth` decides the mode and checks passwords; this module asks for
them and keeps the answer in the session. In shared mode nothing but the
sign-in form is drawn until it succeeds (ui/app.py stops before building the
navigation), and the pages offered are those of the user's role. In
workstation mode the person names themself once in the sidebar; the name is
then the one every store write records.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from scoring import auth
from scoring.store import DossierVersion
from ui import components as ui

SESSION = "auth.user"  # the Signed of this browser session
NAME = "auth.name"  # workstation mode: the sidebar's name field
#: A workstation user the store does not know is the committee's everything (the machine is theirs).
WORKSTATION_ROLE = "chair"


@dataclass(frozen=True)
class Signed:
    name: str
    role: str
    expert_kind: str | None
    shared: bool  # signed in with a password (shared mode), or named on a workstation

    def may_open(self, page: str) -> bool:
        return page in auth.PAGES[self.role]

    @property
    def chairs(self) -> bool:
        """Assigns, sees every score, decides: the chair, and the admin who stands in."""
        return self.role in ("chair", "admin")


def current() -> Signed | None:
    return st.session_state.get(SESSION)


def own_drafts(drafts: list[DossierVersion]) -> list[DossierVersion]:
    """The drafts this session may reopen: an applicant, their own (last saved by them); others, all."""
    signed = current()
    if signed is None or signed.role != "applicant":
        return drafts
    return [d for d in drafts if d.created_by == signed.name]


@st.cache_resource(show_spinner=False)
def _authenticator(url: str) -> auth.Authenticator:
    # One per server process and store: the failure counts of the rate limit are shared by every session.
    from ui import store_link

    return auth.Authenticator(store_link.store())


def _mode() -> str:
    try:
        return auth.mode()
    except ValueError as exc:
        st.error(ui.plain(exc))
        st.stop()


def _named() -> None:
    """Workstation: the name typed becomes the session's user, with their role if the store knows them."""
    from ui import store_link

    name = st.session_state.get(NAME, "").strip()
    if not name:
        st.session_state.pop(SESSION, None)
        return
    try:
        known = store_link.store().user(name)
    except Exception:  # noqa: BLE001 - without a store the workstation still works, as its only user
        known = None
    role, kind = (known.role, known.expert_kind) if known and known.active else (WORKSTATION_ROLE, None)
    st.session_state[SESSION] = Signed(name, role, kind, shared=False)


def _sign_in(name: str, password: str) -> None:
    from scoring.store import url_from_env

    try:
        user = _authenticator(url_from_env()).sign_in(name, password)
    except auth.TooManyAttempts as exc:
        st.error(ui.tr("ui.auth.locked", seconds=exc.retry_after))
        return
    except auth.SignInRefused:
        st.error(ui.tr("ui.auth.refused"))
        return
    st.session_state[SESSION] = Signed(user.name, user.role, user.expert_kind, shared=True)
    st.rerun()


def _still_valid(signed: Signed | None) -> Signed | None:
    """The session's user as the store has them now: a closed account is signed out, a new role applies at once."""
    from ui import store_link

    if signed is None or not signed.shared:
        return None
    now = store_link.store().user(signed.name)
    if now is None or not now.active or now.password_hash is None:
        st.session_state.pop(SESSION, None)
        return None
    if (now.role, now.expert_kind) != (signed.role, signed.expert_kind):
        signed = Signed(now.name, now.role, now.expert_kind, shared=True)
        st.session_state[SESSION] = signed
    return signed


def _sign_out() -> None:
    st.session_state.pop(SESSION, None)


LOOPBACK = ("", "127.0.0.1", "localhost", "::1")


def gate() -> Signed | None:
    """The session's user; in shared mode, draws the sign-in form and stops the run until there is one.

    Workstation mode served beyond this machine (`make app CEP_ADDRESS=0.0.0.0` without `CEP_MODE=shared`)
    would let anyone on the network act under any name: the app says so and serves nothing.
    """
    mode = _mode()
    address = st.get_option("server.address") or ""
    if mode == "workstation" and address not in LOOPBACK:
        st.error(ui.tr("ui.auth.exposed", address=ui.plain(address)))
        st.stop()
    if mode == "shared":
        signed = _still_valid(current())
        if signed is None:
            st.title(ui.tr("ui.auth.title"))
            st.caption(ui.tr("ui.auth.intro"))
            with st.form("auth.form"):
                name = st.text_input(ui.tr("ui.auth.name"), key="auth.form_name")
                password = st.text_input(ui.tr("ui.auth.password"), type="password", key="auth.form_password")
                submitted = st.form_submit_button(ui.tr("ui.auth.submit"))
            if submitted:
                _sign_in(name, password)
            st.stop()
        with st.sidebar:
            st.caption(ui.tr("ui.auth.signed_in", name=ui.plain(signed.name), role=ui.tr(f"ui.role.{signed.role}")))
            st.button(ui.tr("ui.auth.sign_out"), on_click=_sign_out, key="auth.sign_out")
        return signed
    st.sidebar.text_input(ui.tr("ui.auth.your_name"), key=NAME, on_change=_named, help=ui.tr("ui.store.user_help"))
    return current()
