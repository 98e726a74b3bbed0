"""The committee as a panel: the expert's queue and blind scoring, the chair's assignments, consensus and decisions.

Everything is read from and written to the store (`scoring.store`) as the
session's user (ui.auth): the expert scores the dossiers the chair assigned
to them, with a written justification for a score below 3 or of 5, and sees
the other experts' scores only once their own are in; a conflict of interest
takes the dossier out of their queue and hides its scores. The chair assigns
(a balance of academic and industrial experts is suggested), reviews the
consensus with the disagreements first, records each decision with its
reasons, and exports the minutes.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from scoring import committee, formatting
from scoring.catalogue import CRITERIA
from scoring.store import ConflictOfInterestError, ConsensusSettings
from scoring.store.consensus import METHODS
from scoring.store.records import needs_justification
from ui import auth, minutes, store_link
from ui import components as ui

MESSAGE = "cm.message"  # (section, kind, key, values): shown once, in the section whose action it answers


def _say(section: str, kind: str, key: str, **values: object) -> None:
    """Keep a message for the next run, translated when shown (as store_link does)."""
    st.session_state[MESSAGE] = (section, kind, key, values)


def _show_message(section: str) -> None:
    found = st.session_state.get(MESSAGE)
    if found and found[0] == section:
        del st.session_state[MESSAGE]
        _, kind, key, values = found
        getattr(st, kind)(ui.tr(key, **{k: ui.plain(v) for k, v in values.items()}))


def _refused(section: str, exc: Exception) -> None:
    if isinstance(exc, ConflictOfInterestError):
        _say(section, "error", "ui.cm.conflict_refused", expert=exc.expert, id=exc.dossier_id)
    else:
        _say(section, "error", "ui.cm.refused", error=exc)


def _dossier_label(doc: dict) -> str:
    return f"{doc['dossier_id']} · {doc.get('acronym') or doc.get('title', '')}"


def _crit(c: str) -> str:
    return ui.tr(f"criterion.{c}")


def _score(v: float | None) -> str:
    return "—" if v is None else formatting.number(v, ui.lang(), 0 if float(v).is_integer() else 1)


# --------------------------------------------------------------------------- the expert's queue


def _score_key(dossier_id: str, c: str) -> str:
    return f"cm.s.{dossier_id}.{c}"


def _why_key(dossier_id: str, c: str) -> str:
    return f"cm.j.{dossier_id}.{c}"


def _submit(dossier_id: str, me: auth.Signed) -> None:
    scores = {c: st.session_state.get(_score_key(dossier_id, c)) for c in CRITERIA}
    missing = [_crit(c) for c, v in scores.items() if v is None]
    if missing:
        _say("queue", "error", "ui.cm.score_all", criteria=", ".join(missing))
        return
    why = {c: (st.session_state.get(_why_key(dossier_id, c)) or "").strip() for c in CRITERIA}
    unargued = [_crit(c) for c in CRITERIA if needs_justification(scores[c]) and not why[c]]
    if unargued:
        _say("queue", "error", "ui.cm.justify", criteria=", ".join(unargued))
        return
    try:
        store_link.store().record_assessment(dossier_id, scores, user=me.name, justifications=why)
    except store_link.REFUSALS as exc:
        _refused("queue", exc)
        return
    _say("queue", "success", "ui.cm.submitted", id=dossier_id)


def _declare(section: str, dossier_id: str, expert: str, me: auth.Signed, reason_key: str) -> None:
    reason = (st.session_state.get(reason_key) or "").strip()
    if not reason:
        _say(section, "error", "ui.cm.conflict_reason_needed")
        return
    try:
        store_link.store().declare_conflict(dossier_id, expert=expert, user=me.name, reason=reason)
    except store_link.REFUSALS as exc:
        _refused(section, exc)
        return
    _say(section, "success", "ui.cm.conflict_declared", expert=expert, id=dossier_id)


def _hints(doc: dict) -> None:
    """The rubric's reading of the dossier and the model's estimate: what the expert scores against."""
    result = ui.explain_doc(doc)
    p = result["probabilities"]
    shown = p["interval"]["shown"]  # with the decimals its interval needs: never a "100 %" it is not
    if p["estimate"]:
        st.metric(ui.tr("ui.cm.model_estimate"), shown.get("success") or ui.pct(p["success"]))
    else:  # the targeted window cannot take the dossier: say so first, and estimate the label only
        st.warning(ui.plain(result["eligibility"]["text"]))
        st.metric(ui.tr("ui.cm.model_estimate_labeled"), shown.get("labeled") or ui.pct(p["labeled"]))
    st.caption(ui.tr("ui.cm.model_estimate_help"))
    for c in result["criteria"]:
        with st.expander(ui.tr("ui.cm.rubric_hint", criterion=c["label"], score=_score(c["rubric_score"]))):
            for ev in c["evidence"]:
                st.markdown(f"- {ui.plain(ev['question_label'])} **{ui.plain(ev['answer_label'])}**")


def _others(dossier_id: str, me: auth.Signed) -> None:
    view = store_link.store().scores_visible_to(me.name, dossier_id)
    st.markdown(f"**{ui.tr('ui.cm.panel_scores')}**")
    if view.blind:
        st.info(ui.tr("ui.cm.blind"))
        return
    table = pd.DataFrame(
        [
            {ui.tr("ui.cm.col.expert"): a.expert, **{_crit(c): _score(a.scores.get(c)) for c in CRITERIA}}
            for a in sorted(view.assessments, key=lambda a: a.expert)
        ]
    )
    st.dataframe(table, hide_index=True)
    if view.consensus and view.consensus.discuss:
        st.warning(ui.tr("ui.cm.discuss", criteria=", ".join(_crit(c) for c in view.consensus.flagged)))


def _queue(me: auth.Signed) -> None:
    store = store_link.store()
    ids = store.queue(me.name)
    if not ids:
        st.info(ui.tr("ui.cm.queue_empty"))
        return
    heads = {d.dossier_id: d.payload for d in store.list_dossiers() if d.dossier_id in ids}
    done = {i for i in ids if me.name in store.panel(i)}
    labels = ui.labels(
        ids,
        lambda i: ui.tr(
            "ui.cm.queue_item",
            dossier=_dossier_label(heads[i]),
            state=ui.tr("ui.cm.state.done" if i in done else "ui.cm.state.todo"),
        ),
    )
    pick = st.selectbox(ui.tr("ui.cm.pick"), ids, format_func=labels.get, key="cm.pick")
    doc = heads[pick]
    st.subheader(ui.plain(_dossier_label(doc)))
    st.markdown(ui.plain(doc.get("title", "")))
    _hints(doc)
    mine = store.panel(pick).get(me.name)
    for c in CRITERIA:  # a resubmission starts from what the expert submitted last
        st.session_state.setdefault(_score_key(pick, c), mine.scores.get(c) if mine else None)
        st.session_state.setdefault(_why_key(pick, c), (mine.justifications or {}).get(c, "") if mine else "")
    with st.form(f"cm.form.{pick}"):
        st.caption(ui.tr("ui.cm.form_help"))
        for c in CRITERIA:
            left, right = st.columns([1, 3])
            ui.score_input(_crit(c), _score_key(pick, c), ui.tr("ui.cm.no_score"), where=left)
            right.text_area(ui.tr("ui.cm.justification", criterion=_crit(c)), key=_why_key(pick, c), height=68)
        st.form_submit_button(ui.tr("ui.cm.submit"), on_click=_submit, args=(pick, me))
    _show_message("queue")
    _others(pick, me)
    with st.expander(ui.tr("ui.cm.conflict_title")):
        reason_key = f"cm.coi.{pick}"
        st.text_input(ui.tr("ui.cm.conflict_reason"), key=reason_key)
        st.button(
            ui.tr("ui.cm.conflict_declare"),
            on_click=_declare,
            args=("queue", pick, me.name, me, reason_key),
            key=f"cm.coi_btn.{pick}",
        )


# --------------------------------------------------------------------------- the chair: assignments


def _assign_key(dossier_id: str) -> str:
    return f"cm.assign.{dossier_id}"


def _save_assignments(ids: list[str], me: auth.Signed) -> None:
    store = store_link.store()
    current = store.assignments()
    added = removed = 0
    try:
        for i in ids:
            chosen = set(st.session_state.get(_assign_key(i)) or ())
            now = set(current.get(i, ()))
            if chosen - now:
                added += len(store.assign(i, sorted(chosen - now), user=me.name))
            for e in sorted(now - chosen):
                store.unassign(i, e, user=me.name)
                removed += 1
    except store_link.REFUSALS as exc:
        _refused("assign", exc)
        return
    _say("assign", "success", "ui.cm.assigned", added=added, removed=removed)


def _assignments(me: auth.Signed) -> None:
    store = store_link.store()
    experts = {u.name: u.expert_kind for u in store.users() if u.role == "expert"}
    docs = [d.payload for d in store.list_dossiers(status="valid")]
    if not experts:
        st.info(ui.tr("ui.cm.no_experts"))
        return
    if not docs:
        st.info(ui.tr("ui.cm.no_dossiers"))
        return
    current = store.assignments()
    conflicts = store.conflicts()
    load: dict[str, int] = {}
    for assigned in current.values():
        for e in assigned:
            load[e] = load.get(e, 0) + 1
    names = ui.labels(
        experts, lambda e: ui.tr("ui.cm.expert_label", name=e, kind=ui.tr(f"ui.kind.{experts[e]}")) if experts[e] else e
    )
    st.caption(ui.tr("ui.cm.assign_help"))
    for doc in docs:
        i = doc["dossier_id"]
        free = [e for e in experts if (i, e) not in conflicts]
        if _assign_key(i) not in st.session_state:
            # What is assigned, or, for a dossier nobody has yet, the suggested panel (saved only on the click);
            # each suggestion counts in the load, so the next dossier's goes to the others first.
            proposed = list(current.get(i, ()))
            if not proposed:
                proposed = committee.suggest({e: experts[e] for e in free}, load)
                for e in proposed:
                    load[e] = load.get(e, 0) + 1
            st.session_state[_assign_key(i)] = proposed
        st.multiselect(ui.plain(_dossier_label(doc)), free, key=_assign_key(i), format_func=names.get)
        struck = sorted(e for d, e in conflicts if d == i)
        if struck:
            st.caption(ui.tr("ui.cm.conflicted", experts=", ".join(struck)))
    st.button(
        ui.tr("ui.cm.assign_save"),
        on_click=_save_assignments,
        args=([d["dossier_id"] for d in docs], me),
        key="cm.assign_save",
        type="primary",
    )
    _show_message("assign")
    with st.expander(ui.tr("ui.cm.conflict_for_expert")):
        labels = {d["dossier_id"]: _dossier_label(d) for d in docs}
        d = st.selectbox(ui.tr("ui.cm.col.dossier"), list(labels), format_func=labels.get, key="cm.coi_dossier")
        e = st.selectbox(ui.tr("ui.cm.col.expert"), list(experts), format_func=names.get, key="cm.coi_expert")
        st.text_input(ui.tr("ui.cm.conflict_reason"), key="cm.coi_chair_reason")
        st.button(
            ui.tr("ui.cm.conflict_declare"),
            on_click=_declare,
            args=("assign", d, e, me, "cm.coi_chair_reason"),
            key="cm.coi_chair_btn",
        )


# --------------------------------------------------------------------------- the chair: consensus and decisions


def _decide(dossier_id: str, me: auth.Signed) -> None:
    labeled = st.session_state.get(f"cm.dec.{dossier_id}")
    reasons = (st.session_state.get(f"cm.why.{dossier_id}") or "").strip()
    if labeled is None or not reasons:
        _say("consensus", "error", "ui.cm.decision_incomplete", id=dossier_id)
        return
    try:
        store_link.store().record_decision(dossier_id, labeled=labeled == "yes", reasons=reasons, user=me.name)
    except store_link.REFUSALS as exc:
        _refused("consensus", exc)
        return
    _say("consensus", "success", "ui.cm.decided", id=dossier_id)


def _dossier_detail(row: committee.DossierConsensus, me: auth.Signed) -> None:
    values = row.consensus.values()
    lines = []
    for expert, a in sorted(row.assessments.items()):
        line = {ui.tr("ui.cm.col.expert"): expert}
        for c in CRITERIA:
            norm = row.normalised(expert, c)
            line[_crit(c)] = _score(a.scores.get(c)) + ("" if norm is None else f" ({_score(round(norm, 1))})")
        lines.append(line)
    lines.append(
        {
            ui.tr("ui.cm.col.expert"): ui.tr("ui.cm.consensus_row"),
            **{_crit(c): _score(None if values[c] is None else round(values[c], 2)) for c in CRITERIA},
        }
    )
    st.dataframe(pd.DataFrame(lines), hide_index=True)
    if row.consensus.normalised_experts:
        st.caption(ui.tr("ui.cm.normalised_note"))
    if row.discuss:
        st.warning(ui.tr("ui.cm.discuss", criteria=", ".join(_crit(c) for c in row.consensus.flagged)))
    st.markdown(ui.plain(minutes.model_line(row, ui.lang())))
    st.markdown(ui.tr("ui.cm.rules_line", rules=ui.plain(minutes.rules_text(row, ui.lang()))))
    for expert, a in sorted(row.assessments.items()):
        for c, text in sorted((a.justifications or {}).items()):
            st.caption(ui.tr("ui.cm.justified", expert=ui.plain(expert), criterion=_crit(c)))
            st.text(text)
    if row.decision:
        st.success(
            ui.tr(
                "ui.cm.decision_line",
                decision=minutes.decision_text(row, ui.lang()),
                by=ui.plain(row.decision.created_by),
            )
        )
        if row.decision.reasons:
            st.text(row.decision.reasons)
    options = ui.labels(("yes", "no"), lambda v: ui.tr("ui.cm.labelled" if v == "yes" else "ui.cm.not_labelled"))
    st.radio(
        ui.tr("ui.cm.decision"),
        list(options),
        format_func=options.get,
        key=f"cm.dec.{row.dossier_id}",
        horizontal=True,
        index=None,
    )
    st.text_area(ui.tr("ui.cm.reasons"), key=f"cm.why.{row.dossier_id}")
    st.button(ui.tr("ui.cm.decide"), on_click=_decide, args=(row.dossier_id, me), key=f"cm.decide.{row.dossier_id}")


def _consensus(me: auth.Signed) -> None:
    store = store_link.store()
    methods = ui.labels(METHODS, lambda m: ui.tr(f"ui.cm.method.{m}"))
    left, right = st.columns(2)
    method = left.radio(
        ui.tr("ui.cm.method"),
        list(methods),
        format_func=methods.get,
        key="cm.method",
        horizontal=True,
        index=list(METHODS).index(store.consensus_settings.method),
    )
    normalise = right.toggle(
        ui.tr("ui.cm.normalise"),
        key="cm.normalise",
        help=ui.tr("ui.cm.normalise_help"),
        value=store.consensus_settings.normalise,
    )
    settings = ConsensusSettings(method=method, normalise=normalise)
    rows = committee.session(store, ui.bundle(), settings, ui.lang())
    if not rows:
        st.info(ui.tr("ui.cm.no_scores"))
        return
    st.dataframe(minutes.frame(rows, ui.lang()), hide_index=True)
    now = dt.datetime.now(dt.timezone.utc)
    audit_hash = store.verify_audit().last_hash
    page = dict(method=method, normalised=normalise, chair=me.name, audit_hash=audit_hash, when=now)
    left, right = st.columns(2)
    left.download_button(
        ui.tr("ui.cm.minutes_xlsx"),
        data=minutes.xlsx(rows, ui.lang()),
        file_name=f"cep_minutes_{now:%Y-%m-%d}.xlsx",
        mime=ui.MIME["xlsx"],
        key="cm.minutes_xlsx",
        on_click="ignore",
    )
    right.download_button(
        ui.tr("ui.cm.minutes_html"),
        data=minutes.html_page(rows, ui.lang(), **page),
        file_name=f"cep_minutes_{now:%Y-%m-%d}.html",
        mime=ui.MIME["html"],
        key="cm.minutes_html",
        on_click="ignore",
    )
    _show_message("consensus")
    for row in rows:
        title = ui.tr(
            "ui.cm.dossier_head",
            dossier=f"{row.dossier_id} · {row.title}",
            state=ui.tr("ui.cm.state.discuss") if row.discuss else ui.tr("ui.cm.state.agreed"),
        )
        with st.expander(ui.plain(title), expanded=row.discuss):
            _dossier_detail(row, me)


# --------------------------------------------------------------------------- page

st.title(ui.tr("ui.cm.title"))
signed = auth.current()
if signed is None:
    st.info(ui.tr("ui.cm.name_first"))
    st.stop()
try:
    store_link.store()
except Exception as exc:  # noqa: BLE001 - the committee works in the store: without one, say why and stop
    st.error(ui.tr("ui.store.unavailable", error=ui.plain(exc)))
    st.stop()
st.caption(ui.tr("ui.cm.intro", name=ui.plain(signed.name), role=ui.tr(f"ui.role.{signed.role}")))
sections = ["queue", "assign", "consensus"] if signed.chairs else ["queue"]
for tab, section in zip(st.tabs([ui.tr(f"ui.cm.tab.{s}") for s in sections]), sections):
    with tab:
        {"queue": _queue, "assign": _assignments, "consensus": _consensus}[section](signed)
