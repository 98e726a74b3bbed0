"""Expert triage (committee): several dossiers, scored by the experts or by the rubric, in one queue.

Files are read and validated by the library; rows it refuses are listed with
their reasons, never dropped in silence. Each dossier's window rules are
`scoring.eligibility`'s (knock-outs on the experts' scores entered here), and
its suspicious answers `scoring.consistency`'s, listed "to discuss with the
applicant". Each expert score, note and decision
is a widget kept for the whole session, so moving between dossiers loses
nothing; the queue is rebuilt from them on every run (explanations are
cached per dossier, so only a changed dossier is scored again).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pandas as pd
import streamlit as st

from scoring import display, formatting
from scoring.catalogue import CRITERIA, OUTCOMES, SCORE_COLUMNS
from scoring.i18n import counted
from scoring.issues import Issue
from scoring.jsonform import to_json
from scoring.rubric import rubric
from scoring.schema import SchemaError, validate_frame
from scoring.synthetic import generate
from ui import components as ui
from ui import interview, queue, shaping, store_link

LOADED = "tr.loaded"  # {"docs": [dossier JSON without expert scores], "bad": [(file, Issue)]}
EXAMPLE_ROWS, EXAMPLE_SEED = 12, 11  # a seed whose dossiers fall in all three bands


def _score_key(dossier_id: str, criterion: str) -> str:
    return f"tr.score.{dossier_id}.{criterion}"


def _note_key(dossier_id: str) -> str:
    return f"tr.note.{dossier_id}"


def _decision_key(dossier_id: str) -> str:
    return f"tr.decision.{dossier_id}"


def _funded_key(dossier_id: str) -> str:
    return f"tr.funded.{dossier_id}"


# --------------------------------------------------------------------------- loading (callbacks)


def _validated(frames: list[tuple[str, pd.DataFrame]], bad: list[tuple[str, Issue]]) -> list[tuple[str, list, list]]:
    """Per file, (name, its validated rows, whether each is valid); a file the validator refuses goes to `bad`.

    Files with the same columns (twenty JSON dossiers, say) are validated in one call, a tenth of the
    time of one call each; each problem keeps its file and its row in that file. A group whose files
    share a dossier_id is validated file by file: the validator would refuse every copy, where the
    queue keeps the first and lists the others as duplicates.
    """
    groups: dict[tuple, list[int]] = {}
    for k, (_, raw) in enumerate(frames):
        groups.setdefault(tuple(raw.columns), []).append(k)
    out: dict[int, tuple[str, list, list]] = {}
    for members in groups.values():
        ids = pd.concat([frames[k][1] for k in members], ignore_index=True).get("dossier_id")
        shared_id = ids is not None and ids.dropna().duplicated().any()
        for part in [[k] for k in members] if shared_id else [members]:
            out.update(_validated_together(frames, part, bad))
    return [out[k] for k in sorted(out)]


def _validated_together(
    frames: list[tuple[str, pd.DataFrame]], members: list[int], bad: list[tuple[str, Issue]]
) -> dict[int, tuple[str, list, list]]:
    """`_validated` for the files at `members`, in one call when the validator takes them together."""
    out: dict[int, tuple[str, list, list]] = {}
    try:
        v = validate_frame(pd.concat([frames[k][1] for k in members], ignore_index=True))
    except SchemaError as exc:
        if len(members) == 1:
            bad.append(
                (frames[members[0]][0], Issue(0, ui.tr("ui.triage.whole_file"), None, exc.said(ui.lang(), named=False)))
            )
            return out
        for k in members:  # one file spoils the group: each on its own, so the others still load
            out.update(_validated_together(frames, [k], bad))
        return out
    records, start = v.frame.to_dict("records"), 0
    for k in members:
        name, n = frames[k][0], len(frames[k][1])
        bad += [(name, replace(i, row=i.row - start)) for i in v.issues if start < i.row <= start + n]
        out[k] = (name, records[start : start + n], list(v.ok[start : start + n]))
        start += n
    return out


def _take(frames: list[tuple[str, pd.DataFrame]], bad: list[tuple[str, Issue]]) -> None:
    """Validate every file's rows; keep the valid ones as dossiers, list the others with why."""
    docs, seen = [], set()
    for name, records, ok in _validated(frames, bad):
        for i, row in enumerate(records):
            if not ok[i]:
                continue
            if row["dossier_id"] in seen:
                bad.append((name, Issue(i + 1, "dossier_id", row["dossier_id"], ui.tr("ui.triage.duplicate"))))
                continue
            seen.add(row["dossier_id"])
            # Scores given in the file become the experts' starting values, editable like any other.
            for c, col in zip(CRITERIA, SCORE_COLUMNS):
                if pd.notna(row.get(col)):
                    st.session_state[_score_key(row["dossier_id"], c)] = float(row[col])
            docs.append(to_json({k: v for k, v in row.items() if k not in OUTCOMES and k not in SCORE_COLUMNS}))
    st.session_state[LOADED] = {"docs": docs, "bad": bad}


def _load_files() -> None:
    frames, bad = [], []
    for f in st.session_state.get("tr.upload") or []:
        try:
            frames.append((f.name, ui.read_upload(f)))
        except SchemaError as exc:
            bad.append((f.name, Issue(0, ui.tr("ui.triage.whole_file"), None, exc.said(ui.lang(), named=False))))
    _take(frames, bad)


def _load_examples() -> None:
    raw = generate(EXAMPLE_ROWS, EXAMPLE_SEED)
    # the generator writes the training base's titles, in English; examples are titled in the reader's language
    raw["title"] = [ui.tr("ui.triage.example_title", n=k + 1) for k in range(len(raw))]
    _take([(ui.tr("ui.triage.examples_name"), raw.drop(columns=[*SCORE_COLUMNS, *OUTCOMES], errors="ignore"))], [])


# --------------------------------------------------------------------------- drawing


def _expert_doc(doc: dict) -> dict:
    given = {c: st.session_state.get(_score_key(doc["dossier_id"], c)) for c in CRITERIA}
    given = {c: v for c, v in given.items() if v is not None}
    return {**doc, "expert_scores": given} if given else doc


def _anchors(criterion: str, doc: dict, result: dict) -> str:
    """The rubric's anchors for one criterion: its score, the dossier's answers, the scale."""
    crit = next(c for c in result["criteria"] if c["criterion"] == criterion)
    answers = doc.get("answers", {})
    lines = [ui.tr("ui.triage.rubric_score", score=shaping.score(crit["rubric_score"], ui.lang()))]
    for q in rubric()[criterion]:
        a = answers.get(q.id)
        shown = display.answer_label(q.id, a, ui.lang()) if a else ui.tr("ui.triage.unanswered")
        ladder = " < ".join(ui.tr(f"rubric.{q.id}.{x}") for x in q.answers)
        lines.append(f"- **{ui.tr(f'rubric.{q.id}')}** {shown}  \n  _{ladder}_")
    lines.append(ui.tr("ui.triage.scale"))
    return "\n".join(lines)


def _detail(row: pd.Series, doc: dict, result: dict) -> None:
    i = row["dossier_id"]
    st.subheader(f"{row['rank']}. {ui.plain(_pick_label(i, row['acronym']))}")
    st.text(doc["title"])
    left, right = st.columns([2, 3])
    with left:
        st.markdown(f"**{ui.tr('ui.triage.expert_scores')}**")
        st.caption(ui.tr("ui.triage.expert_help"))
        for c in result["criteria"]:
            placeholder = ui.tr("ui.triage.keep_rubric", score=shaping.score(c["rubric_score"], ui.lang()))
            ui.score_input(
                c["label"],
                _score_key(i, c["criterion"]),
                placeholder,
                help=_anchors(c["criterion"], doc, result),
                persist_state="session",
            )
    with right:
        c1, c2 = st.columns(2)
        c1.metric(ui.tr("ui.prob.labeled"), _shown(result, "labeled"))
        c2.metric(ui.tr("ui.prob.success"), _shown(result, "success"))
        st.markdown(ui.tr("ui.label_value", label=f"**{ui.tr('ui.queue.band')}**", value=ui.plain(row["band_label"])))
        if row["blocking"]:  # each rule in a sentence, with its source (the queue's column keeps it short)
            said = result["eligibility"]["reasons"]  # the explanation's verdict, on the experts' scores
            st.error(
                ui.tr("ui.triage.blocked", rules="") + "\n" + "\n".join(f"- {ui.plain(s)}" for s in said),
                icon=":material/block:",
            )
        discuss = result["warnings"]
        if discuss:
            lines = "\n".join(f"- {ui.plain(w['text'])}" for w in discuss)
            st.warning(f"**{ui.tr('ui.triage.to_discuss')}**\n{lines}", icon=":material/forum:")
        ui.show_reasons(result["reasons"])
        st.text_area(ui.tr("ui.triage.notes"), key=_note_key(i), persist_state="session")
        outcomes = ui.labels((True, False), lambda v: ui.tr("ui.decision.labeled" if v else "ui.decision.not_labeled"))
        st.selectbox(
            ui.tr("ui.triage.decision"),
            list(outcomes),
            index=None,
            key=_decision_key(i),
            placeholder=ui.tr("ui.decision.none"),
            persist_state="session",
            format_func=outcomes.get,
        )
        # the window answers months later; a decided and funded (or refused) dossier is training data
        funding = ui.labels((True, False), lambda v: ui.tr("ui.decision.funded" if v else "ui.decision.not_funded"))
        st.selectbox(
            ui.tr("ui.triage.funding"),
            list(funding),
            index=None,
            key=_funded_key(i),
            placeholder=ui.tr("ui.decision.funding_unknown"),
            persist_state="session",
            format_func=funding.get,
        )
    ui.show_evidence(result["criteria"])


def _shown(result: dict, target: str) -> str:
    """A probability with as many decimals as its interval needs: "99,6 %", never a "100 %" it is not."""
    p = result["probabilities"]
    return p["interval"]["shown"].get(target) or ui.pct(p[target])


def _queue_table(q: pd.DataFrame, results: dict[str, dict]) -> None:
    # What decides first, so that it fits a 1366-pixel screen beside the sidebar: rank, whole id, band,
    # the window rule that blocks, the two probabilities; the details after.
    shown = [
        "rank",
        "dossier_id",
        "band_label",
        "blocking",
        "p_labeled",
        "p_success",
        "to_discuss",
        "interview",
        "window",
        "acronym",
        *[f"score_{c}" for c in CRITERIA],
        "ranking_score",
        "window_rank",
        "notes",
        "decision",
    ]
    # Probabilities and the ranking score are numbers, so that a click on a heading sorts them as numbers,
    # written by a Styler as the rest of the app writes them: a progress bar's printf format would give every
    # row the same decimals, so 0.996 read "100 %", where each has the decimals its interval needs ("99,6 %").
    # The scores stay text: a criterion without one would be drawn "None" by the table, not "—".
    title = partial(queue.column_title, lang=ui.lang())
    shown_p = {
        target: dict(zip(q[f"p_{target}"], (_shown(results[i], target) for i in q["dossier_id"])))
        for target in ("labeled", "success")
    }
    written = {
        title("p_labeled"): shown_p["labeled"].get,
        title("p_success"): shown_p["success"].get,
        title("ranking_score"): lambda v: formatting.number(v, ui.lang(), 2),
    }
    table = q[shown].assign(
        **{
            f"score_{c}": [shaping.score(None if pd.isna(v) else v, ui.lang()) for v in q[f"score_{c}"]]
            for c in CRITERIA
        }
    )
    # the two probabilities' headings whole at 1366 px ("P(labellisé et financé)"), the rule's a little narrower
    st.dataframe(
        table.rename(columns=title).style.format(written),
        hide_index=True,
        key="tr.queue_table",
        column_config={
            title("rank"): st.column_config.NumberColumn(width=40),
            title("dossier_id"): st.column_config.TextColumn(width=140),
            title("blocking"): st.column_config.TextColumn(width=170),
            title("to_discuss"): st.column_config.TextColumn(width="medium"),
            title("p_labeled"): st.column_config.NumberColumn(width=95),
            title("p_success"): st.column_config.NumberColumn(width=165),
        },
    )


def _pick_label(dossier_id: str, acronym: str | None) -> str:
    # The browser sends back the chosen label, not the dossier: a label holding the rank or the
    # band would stop matching when expert scores re-sort the queue, and the pane would jump.
    return f"{dossier_id} — {acronym}" if acronym else dossier_id


def _work() -> store_link.TriageWork:
    """The queue's dossiers and what was entered on them, read from the session when called."""
    docs = [_expert_doc(d) for d in st.session_state[LOADED]["docs"]]
    ids = [d["dossier_id"] for d in docs]
    return store_link.TriageWork(
        docs,
        {d["dossier_id"]: d.get("expert_scores", {}) for d in docs},
        {i: st.session_state.get(_note_key(i)) or "" for i in ids},
        {i: st.session_state.get(_decision_key(i)) for i in ids},
        {i: st.session_state.get(_funded_key(i)) for i in ids},
    )


# --------------------------------------------------------------------------- page

st.title(ui.tr("ui.triage.title"))
st.caption(ui.tr("ui.triage.intro"))
c1, c2 = st.columns([3, 2])
c1.file_uploader(
    ui.tr("ui.triage.upload"),
    type=["json", "csv", "xlsx"],
    accept_multiple_files=True,
    key="tr.upload",
    on_change=_load_files,
    help=ui.upload_help("JSON, CSV, XLSX"),
)
c2.button(
    ui.tr("ui.triage.examples"),
    on_click=_load_examples,
    key="tr.examples",
    icon=":material/science:",
    help=ui.tr("ui.triage.examples_help"),
)

loaded = st.session_state.get(LOADED)
if loaded and loaded["bad"]:
    with st.expander(
        ui.tr("ui.triage.bad_rows", problems=counted("ui.triage.problems", len(loaded["bad"]), ui.lang())),
        expanded=True,
        icon=":material/warning:",
    ):
        # a file refused whole says why in a line (row 0); the rows refused are a table, row by row
        for name, issue in loaded["bad"]:
            if issue.row == 0:
                st.error(
                    ui.tr("ui.label_value", label=ui.plain(name), value=ui.plain(issue.reason)), icon=":material/error:"
                )
        rows = [(name, i) for name, i in loaded["bad"] if i.row]
        if rows:
            st.dataframe(
                pd.concat([ui.issues_frame([i], file=name) for name, i in rows], ignore_index=True), hide_index=True
            )
if not loaded or not loaded["docs"]:
    st.info(ui.tr("ui.triage.empty"), icon=":material/info:")
    st.stop()

lo, hi = st.slider(
    ui.tr("ui.triage.thresholds"),
    0,
    100,
    (35, 60),
    step=5,
    key="tr.bands",
    persist_state="session",
    help=ui.tr("ui.triage.thresholds_help"),
    format=formatting.percent_format(ui.lang()),
)
work = _work()
with st.spinner(ui.tr("ui.triage.scoring")):
    results = ui.explain_docs(work.docs)
q = queue.build(work.docs, results, (lo / 100, hi / 100), ui.lang(), work.notes, work.decisions)
by_id = {d["dossier_id"]: (d, r) for d, r in zip(work.docs, results)}
# the explanation's own answer checks (scoring.consistency), worded in the reader's language
q.insert(
    q.columns.get_loc("blocking") + 1,
    "to_discuss",
    [" | ".join(w["text"] for w in by_id[i][1]["warnings"]) for i in q["dossier_id"]],
)
q.insert(q.columns.get_loc("to_discuss") + 1, "interview", interview.queue_column(list(q["dossier_id"])))

counts = q["band"].value_counts()
with st.container(horizontal=True):  # one block, where columns sent four: each is a redraw after an upload
    for band in queue.BANDS:
        st.metric(ui.tr(f"ui.band.{band}"), int(counts.get(band, 0)))
_queue_table(q, {i: r for i, (_, r) in by_id.items()})
ui.download_table(queue.export_frame(q, ui.lang()), "file_cep", ("csv", "xlsx"), key="tr.export")

labels = {r.dossier_id: _pick_label(r.dossier_id, r.acronym) for r in q.itertuples()}
gone = st.session_state.get("tr.pick")
# No dossier until one is picked: the pane (scores with their anchors, evidence, interview brief) is most of
# the page, and drawing it for a dossier nobody chose doubled the wait for the queue after an upload.
pick = st.selectbox(
    ui.tr("ui.triage.pick"),
    list(labels),
    index=None,
    format_func=labels.get,
    key="tr.pick",
    placeholder=ui.tr("ui.triage.pick_placeholder"),
)
if gone is not None and gone not in labels:
    st.info(ui.tr("ui.triage.pick_gone", id=ui.plain(gone)), icon=":material/info:")
if pick is not None:
    _detail(q[q["dossier_id"] == pick].iloc[0], *by_id[pick])
    interview.pane(st.session_state[LOADED]["docs"], by_id[pick][0])

store_link.triage_panel(_work)
