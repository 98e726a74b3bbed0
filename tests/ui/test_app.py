"""The app under Streamlit's AppTest: every page, the form with good and bad input, the result,
the triage queue's order, the portfolio with bad rows, the model card; and the app's configuration."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from streamlit import dataframe_util

from scoring import catalogue, fields, formatting, i18n, jsonform, schema
from scoring.i18n import t
from scoring.synthetic import generate
from tests.ui.conftest import example_bytes, pick_top, texts, unescape, upload
from ui import components, form, queue

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "self_assessment": (None, "ui.sa.title"),
    "triage": ("views/triage.py", "ui.triage.title"),
    "portfolio": ("views/portfolio.py", "ui.pf.title"),
    "model": ("views/model_card.py", "ui.model.title"),
}


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_opens_in_french_and_switches_to_english(app, name):
    path, title = PAGES[name]
    if path:
        app.switch_page(path).run()
    assert not app.exception, app.exception
    assert app.title[0].value == t(title, "fr")
    app.session_state[components.LANG_KEY] = "en"  # the sidebar's language choice (see below why not clicked)
    app.run()
    assert not app.exception, app.exception
    assert app.title[0].value == t(title, "en")


def test_the_sidebar_names_the_model_and_says_the_data_are_synthetic(app, bundle):
    # The sidebar is drawn by ui/app.py for every page. (AppTest drops the sidebar of st.navigation
    # apps after the first run, so it is read there.)
    sidebar = "\n".join(c.value for c in app.sidebar.caption)
    assert t("ui.notice.synthetic", "fr") in sidebar
    assert bundle.name in sidebar and bundle.sha256[:12] in sidebar


# --------------------------------------------------------------------------- self-assessment


def _fill_context(at, doc: dict) -> None:
    """Type the example dossier's context into the first step's widgets, as a user would."""
    flat = jsonform.from_json(doc)
    for f in form.FORM_FIELDS:
        if f.kind == "answer" or f.name not in flat:
            continue
        if f.name in form.PARTNER_FIELDS and not flat["collaborative"]:
            continue
        key, value = form.key(f), flat[f.name]
        if f.kind == "str":
            at.text_input(key=key).input(value)
        elif f.kind in ("int", "float"):
            at.number_input(key=key).set_value(value)
        elif f.kind == "date":
            at.date_input(key=key).set_value(pd.Timestamp(value).date())
        elif f.kind == "code":
            at.selectbox(key=key).select(value)
        elif f.name == "preliminary_interview":
            at.radio(key=key).set_value(value)
        else:
            at.checkbox(key=key).check() if value else at.checkbox(key=key).uncheck()
        if f.name == "collaborative":
            at.run()  # the partner fields appear once the project is collaborative


def _answer_every_step(at, doc: dict) -> None:
    for _criterion in catalogue.CRITERIA:
        at.button(key="sa.next").click().run()
        assert not at.exception, at.exception
        for radio in at.radio:
            qid = radio.key.removeprefix(form.PREFIX + "answers.")
            if qid in doc["answers"]:
                radio.set_value(doc["answers"][qid])


def test_form_with_good_input_gives_an_explained_result(app):
    doc = jsonform.example()
    _fill_context(app, doc)
    app.run()
    _answer_every_step(app, doc)
    app.button(key="sa.evaluate").click().run()
    assert not app.exception, app.exception
    assert app.radio(key="sa.step").value == len(form.STEPS) - 1
    metrics = {m.label: m.value for m in app.metric}
    for target in ("labeled", "success", "funded"):
        assert re.fullmatch(r"\d+\u202f%", metrics[t(f"ui.prob.{target}", "fr")])
    shown = texts(app)
    for key in ("ui.reason.for", "ui.reason.against"):
        assert t(key, "fr") in shown
    assert "Medi'Scope 2025" in shown  # the filière's published base rate, with its source
    assert len(app.get("vega_lite_chart")) >= 3  # criteria, contributions, windows
    assert t("ui.report.download", "fr") in [b.label for b in app.download_button]


def test_form_with_bad_input_names_the_fields_and_gives_no_result(app):
    doc = jsonform.example()
    doc["aid_requested_eur"] = doc["budget_eur"] + 1
    del doc["title"]
    _fill_context(app, doc)
    app.button(key="sa.evaluate").click().run()
    assert not app.exception, app.exception
    assert app.radio(key="sa.step").value == 0  # back to the step holding the problems
    errors = unescape("\n".join(e.value for e in app.error))
    assert t("ui.issue.line", "fr", field=t("ui.field.title", "fr"), reason=t("issue.required", "fr")) in errors
    assert f"{t('ui.field.aid_requested_eur', 'fr')}\u202f: la valeur « 800\u202f001 »" in errors  # French number
    assert "(title)" not in errors and "aid_requested_eur" not in errors  # labels, never column names
    assert "l'aide demandée ne peut pas dépasser le budget total" in errors  # the library's reason, in French
    assert not app.metric


def test_a_form_with_a_single_answer_gives_a_result(app):
    doc = jsonform.example()
    doc["answers"] = {"ii_medical_need": "interviews"}
    upload(app, "sa.draft_upload", "draft.json", json.dumps(doc).encode(), "application/json")
    app.button(key="sa.evaluate").click().run()
    assert not app.exception, app.exception
    assert t("ui.prob.success", "fr") in [m.label for m in app.metric]


def test_a_draft_reloads_into_the_form_and_evaluates(app):
    upload(app, "sa.draft_upload", "draft.json", example_bytes(), "application/json")
    assert t("ui.draft.loaded", "fr", source="draft.json") in texts(app)
    assert app.text_input(key="sa.f.title").value == jsonform.example()["title"]


def test_a_draft_saved_over_a_version_it_did_not_open_is_refused_in_the_readers_words(app):
    """The store refuses (ConflictError, in English for logs): the page says why in French, naming the version
    and who saved it, and nothing of the exception's English."""
    upload(app, "sa.draft_upload", "draft.json", example_bytes(), "application/json")
    app.text_input(key="store.user").input("Alice").run()
    app.button(key="sa.store_save").click().run()
    del app.session_state["sa.store_version"]  # as a second session would, not having opened version 1
    app.button(key="sa.store_save").click().run()
    assert not app.exception, app.exception
    said = texts(app)
    before, after = t(
        "ui.store.conflict.exists", "fr", id=jsonform.example()["dossier_id"], current=1, who="Alice", when="WHEN"
    ).split("WHEN")
    assert before in said and after in said
    assert "already exists" not in said and "nothing was saved" not in said
    app.button(key="sa.evaluate").click().run()
    assert not app.exception, app.exception
    assert t("ui.prob.success", "fr") in [m.label for m in app.metric]


def test_a_draft_value_the_form_cannot_take_is_listed(app):
    upload(app, "sa.draft_upload", "draft.json", example_bytes(filiere="astrophysics"), "application/json")
    warning = unescape("\n".join(w.value for w in app.warning))
    assert f"{t('ui.field.filiere', 'fr')}\u202f: la valeur « astrophysics »" in warning
    assert app.selectbox(key="sa.f.filiere").value is None


def test_a_file_that_is_not_a_dossier_is_refused_with_its_reason(app):
    upload(app, "sa.draft_upload", "draft.json", example_bytes(colour="blue"), "application/json")
    assert "colour" in "\n".join(e.value for e in app.error)


def test_a_draft_saved_in_the_local_store_reopens(app):
    upload(app, "sa.draft_upload", "draft.json", example_bytes(), "application/json")
    app.text_input(key="store.user").input("Alice").run()
    app.button(key="sa.store_save").click().run()
    doc_id = jsonform.example()["dossier_id"]
    assert t("ui.store.draft_saved", "fr", id=doc_id, version=1) in texts(app)
    app.button(key="sa.clear").click().run()
    assert app.text_input(key="sa.f.title").value == ""
    assert app.selectbox(key="sa.store_pick").value == doc_id
    app.button(key="sa.store_reopen").click().run()
    assert not app.exception, app.exception
    assert app.text_input(key="sa.f.title").value == jsonform.example()["title"]


# --------------------------------------------------------------------------- triage


def _queue(at, written: bool = False) -> pd.DataFrame:
    """The queue table's values, or its cells as the screen writes them (`written`: the Styler's text)."""
    [table] = [d for d in at.dataframe if t("ui.queue.rank", "fr") in d.value.columns]
    if written:
        return dataframe_util.convert_arrow_bytes_to_pandas_df(table.proto.arrow_data.styler.display_values)
    return table.value


def test_triage_queue_is_sorted_by_probability_and_follows_the_experts(app, bundle):
    from scoring.explain import explain

    app.switch_page("views/triage.py").run()
    app.button(key="tr.examples").click().run()
    assert not app.exception, app.exception
    q, on_screen = _queue(app), _queue(app, written=True)
    shown = on_screen[t("ui.queue.p_labeled", "fr")]  # as written: "41 %", "99,6 %"
    assert all(re.fullmatch(r"\d+(,\d+)?\u202f%", x) for x in shown), list(shown)
    docs = app.session_state["tr.loaded"]["docs"]  # each written with the decimals its interval needs
    written = {d["dossier_id"]: r["probabilities"]["interval"]["shown"] for d, r in zip(docs, explain(docs, bundle))}
    ids = q[t("ui.queue.dossier_id", "fr")]
    for target in ("labeled", "success"):
        assert list(on_screen[t(f"ui.queue.p_{target}", "fr")]) == [written[i][target] for i in ids]
    # numbers under the words, so that a click on a heading sorts "9 %" below "85 %"
    numeric = ["p_labeled", "p_success", "ranking_score"]
    assert all(pd.api.types.is_float_dtype(q[queue.column_title(c, "fr")]) for c in numeric)
    # a criterion without a score is a dash (as text: the table would draw a missing number "None")
    scores = q[queue.column_title("score_data_quality", "fr")]
    assert (scores == "—").any() and scores.str.fullmatch(r"—|\d(,5)?/5").all()
    p = q[t("ui.queue.p_labeled", "fr")].to_numpy()
    assert len(q) == 12 and (p[:-1] >= p[1:]).all()
    assert set(q[t("ui.queue.band_label", "fr")]) <= {t(f"ui.band.{b}", "fr") for b in queue.BANDS}
    scores = [b for b in app.selectbox if (b.key or "").startswith("tr.score.")]
    assert app.selectbox(key="tr.pick").value is None and not scores  # no pane until a pick
    top = pick_top(app)
    assert top == q[t("ui.queue.dossier_id", "fr")].iloc[0]
    box = app.selectbox(key=f"tr.score.{top}.scientific_quality")  # half points, written the French way
    assert box.options == [formatting.score(k / 2, "fr") for k in range(11)] and box.value is None
    titles = {d["dossier_id"]: d["title"] for d in app.session_state["tr.loaded"]["docs"]}
    assert all(x.startswith(t("ui.triage.example_title", "fr", n="")) for x in titles.values()), titles  # in French
    assert [x.value for x in app.text] == [titles[top]]
    for c in catalogue.CRITERIA:  # the experts find the leading dossier poor on every criterion
        app.selectbox(key=f"tr.score.{top}.{c}").set_value(0.5)
    app.text_area(key=f"tr.note.{top}").input("équipe clinique absente")
    app.run()
    assert not app.exception, app.exception
    q = _queue(app)
    row = q[q[t("ui.queue.dossier_id", "fr")] == top].iloc[0]
    assert row[t("ui.queue.rank", "fr")] > 1
    assert row[t("ui.queue.notes", "fr")] == "équipe clinique absente"
    assert {b.label for b in app.download_button} >= {t("ui.download.table", "fr", fmt=f) for f in ("CSV", "XLSX")}


def test_triage_lists_bad_rows_and_queues_the_others(app):
    raw = generate(5, 11).drop(columns=[*catalogue.SCORE_COLUMNS, *catalogue.OUTCOMES]).astype(object)
    raw.loc[2, "trl"] = "douze"
    app.switch_page("views/triage.py").run()
    upload(app, "tr.upload", "session.csv", raw.to_csv(index=False).encode(), "text/csv")
    bad = [d.value for d in app.dataframe if t("ui.col.problem", "fr") in d.value.columns][0]
    assert list(bad[t("ui.col.row", "fr")]) == [3] and "douze" in bad[t("ui.col.problem", "fr")].iloc[0]
    assert len(_queue(app)) == 4


def test_a_file_refused_whole_says_why_in_french_beside_the_rows_of_the_others(app):
    raw = generate(3, 11).drop(columns=[*catalogue.SCORE_COLUMNS, *catalogue.OUTCOMES])
    app.switch_page("views/triage.py").run()
    files = [("vide.csv", b"", "text/csv"), ("bons.csv", raw.to_csv(index=False).encode(), "text/csv")]
    upload(app, "tr.upload", None, files, None)
    errors = [unescape(e.value) for e in app.error]  # shown as plain text (Markdown escaped)
    assert errors == [t("ui.label_value", "fr", label="vide.csv", value=t("file.empty", "fr"))], errors
    assert not [d for d in app.dataframe if t("ui.col.problem", "fr") in d.value.columns]  # no row to list
    assert len(_queue(app)) == 3


def test_window_rules_mark_ineligible_and_knocked_out_dossiers(bundle):
    from scoring.explain import explain

    eligible = jsonform.example()
    wrong_carrier = {
        **jsonform.example(),
        "dossier_id": "X-CARRIER",
        "carrier_type": "academic",
        "funding_window": "bpifrance",
    }
    europe = {
        **jsonform.example(),
        "dossier_id": "X-EU",
        "funding_window": "horizon_europe",
        "budget_eur": 2_000_000,
        "aid_requested_eur": 1_000_000,
        "expert_scores": {c: 2.0 for c in catalogue.CRITERIA},
    }
    docs = [eligible, wrong_carrier, europe]
    q = queue.build(docs, explain(docs, bundle, "fr"), (0.0, 0.0), "fr").set_index("dossier_id")
    assert q.loc[eligible["dossier_id"], "band"] == "recommend"  # thresholds at 0: every ready dossier qualifies
    assert q.loc["X-CARRIER", "band"] == "not_ready" and t("rule.carrier", "fr") in q.loc["X-CARRIER", "blocking"]
    assert q.loc["X-EU", "band"] == "not_ready"
    assert t("ui.triage.knockout_total", "fr", threshold="10") in q.loc["X-EU", "blocking"]


def test_triage_names_the_window_rule_with_its_source_and_lists_answers_to_discuss(app):
    from scoring.consistency import warnings
    from scoring.eligibility import verdict

    doc = {
        **jsonform.example(),
        "dossier_id": "X-ANR",
        "funding_window": "anr",
        "trl": 3,
        "answers": {**jsonform.example()["answers"], "rr_pathway": "certified", "rr_clinical_plan": "protocol"},
    }
    app.switch_page("views/triage.py").run()
    upload(app, "tr.upload", "x.json", json.dumps(doc, ensure_ascii=False).encode(), "application/json")
    pick_top(app)
    row = jsonform.validate_records([doc]).frame.iloc[0].to_dict()
    q = _queue(app).set_index(t("ui.queue.dossier_id", "fr"))
    assert q.loc["X-ANR", t("ui.queue.blocking", "fr")] == t("rule.partner_academic", "fr")
    said = [w.text for w in warnings(row, "fr")]
    assert said and q.loc["X-ANR", t("ui.queue.to_discuss", "fr")] == " | ".join(said)
    shown = texts(app)
    assert all(s in shown for s in verdict(row, "anr", lang="fr").sentences)  # the rule in words, with its source
    assert t("ui.triage.to_discuss", "fr") in shown and all(s in shown for s in said)


def test_triage_work_is_recorded_in_the_local_store(app, tmp_path):
    from scoring.store import Store

    app.switch_page("views/triage.py").run()
    app.button(key="tr.examples").click().run()
    top = pick_top(app)
    app.selectbox(key=f"tr.score.{top}.scientific_quality").set_value(4.5)
    app.text_area(key=f"tr.note.{top}").input("dossier solide")
    app.selectbox(key=f"tr.decision.{top}").select(True)
    app.text_input(key="store.user").input("Comité")
    app.run()
    app.button(key="tr.store_save").click().run()
    assert not app.exception, app.exception
    assert t("ui.store.triage_saved", "fr", n=12, new=12, same=0, assessed=1, kept=0, decided=1) in texts(app)
    store = Store(f"sqlite:///{tmp_path / 'cep.db'}")
    assessment = store.scores_visible_to("Comité", top).assessments[0]
    assert assessment.scores == {"scientific_quality": 4.5} and assessment.notes == "dossier solide"
    assert store.decision(top).labeled is True
    assert store.decision(top).funded is None  # the window has not answered: not yet training data
    store.close()
    app.selectbox(key=f"tr.funded.{top}").select(True)
    app.run()
    app.button(key="tr.store_save").click().run()
    assert not app.exception, app.exception
    store = Store(f"sqlite:///{tmp_path / 'cep.db'}")
    from scoring.store import training_frame

    base, _ = training_frame(store)
    row = base[base["dossier_id"] == top]
    assert len(row) == 1 and bool(row["labeled"].iloc[0]) and bool(row["funded"].iloc[0])
    assert row["score_scientific_quality"].iloc[0] == 4.5  # the expert's score travels with it
    store.close()


def _six_json_dossiers() -> list[tuple[str, bytes, str]]:
    raw = generate(6, 11).drop(columns=[*catalogue.SCORE_COLUMNS, *catalogue.OUTCOMES])
    return [
        (
            f"{row['dossier_id']}.json",
            json.dumps(jsonform.to_json(row), ensure_ascii=False).encode(),
            "application/json",
        )
        for row in schema.validate_frame(raw).frame.to_dict("records")
    ]


def _ids(at) -> list[str]:
    return list(_queue(at)[t("ui.queue.dossier_id", "fr")])


def test_the_picked_dossier_stays_in_the_pane_while_expert_scores_resort_the_queue(app, tmp_path):
    from scoring.store import Store

    app.switch_page("views/triage.py").run()
    upload(app, "tr.upload", None, _six_json_dossiers(), None)
    picked = _ids(app)[2]
    app.selectbox(key="tr.pick").select(picked).run()
    for criterion in catalogue.CRITERIA:  # the experts find it poor on every criterion: it sinks in the queue
        app.selectbox(key=f"tr.score.{picked}.{criterion}").set_value(0.5).run()
        assert app.selectbox(key="tr.pick").value == picked
    assert _ids(app).index(picked) > 2
    assert picked in app.subheader[0].value.replace("\\", "")
    app.text_area(key=f"tr.note.{picked}").input("besoin médical non démontré")
    app.selectbox(key=f"tr.decision.{picked}").select(False)
    app.text_input(key="store.user").input("Comité")
    app.run()
    q = _queue(app).set_index(t("ui.queue.dossier_id", "fr"))
    assert q[t("ui.queue.notes", "fr")].to_dict() == {
        i: ("besoin médical non démontré" if i == picked else "") for i in q.index
    }
    assert q[t("ui.queue.decision", "fr")].to_dict() == {
        i: (t("ui.decision.not_labeled", "fr") if i == picked else "") for i in q.index
    }
    app.button(key="tr.store_save").click().run()
    assert not app.exception, app.exception
    store = Store(f"sqlite:///{tmp_path / 'cep.db'}")
    assert set(store.decisions()) == {picked} and store.decision(picked).labeled is False
    reviewed = {i for i in q.index if store.scores_visible_to("Comité", i).assessments}
    assert reviewed == {picked}
    [mine] = store.scores_visible_to("Comité", picked).assessments
    assert mine.notes == "besoin médical non démontré"
    assert mine.scores == dict.fromkeys(catalogue.CRITERIA, 0.5)
    store.close()


def test_a_picked_dossier_whose_file_is_removed_is_said_gone_not_swapped_silently(app):
    files = _six_json_dossiers()
    app.switch_page("views/triage.py").run()
    upload(app, "tr.upload", None, files, None)
    picked = _ids(app)[2]
    app.selectbox(key="tr.pick").select(picked).run()
    upload(app, "tr.upload", None, [f for f in files if not f[0].startswith(picked)], None)
    assert picked not in _ids(app)
    assert t("ui.triage.pick_gone", "fr", id=picked.replace("-", "\\-")) in [i.value for i in app.info]


def test_saving_the_queue_twice_records_nothing_twice_and_says_so(app, tmp_path):
    from scoring.store import Store

    app.switch_page("views/triage.py").run()
    upload(app, "tr.upload", None, _six_json_dossiers(), None)
    top = pick_top(app)
    app.selectbox(key=f"tr.score.{top}.data_quality").set_value(4.0)
    app.selectbox(key=f"tr.decision.{top}").select(True)
    app.text_input(key="store.user").input("Comité")
    app.run()
    for same in (False, True):
        app.button(key="tr.store_save").click().run()
        assert not app.exception, app.exception
        n = 0 if same else 1
        assert t(
            "ui.store.triage_saved",
            "fr",
            n=6,
            new=0 if same else 6,
            same=6 if same else 0,
            assessed=n,
            kept=1 - n,
            decided=n,
        ) in texts(app)
    store = Store(f"sqlite:///{tmp_path / 'cep.db'}")
    actions = [e.action for e in store.history(top)]
    assert (actions.count("assess"), actions.count("decide"), actions.count("save")) == (1, 1, 1)
    store.close()


def test_a_note_without_a_score_saves_nothing_and_says_which_dossier_in_french(app, tmp_path):
    from scoring.store import Store

    app.switch_page("views/triage.py").run()
    upload(app, "tr.upload", None, _six_json_dossiers(), None)
    first, second = _ids(app)[:2]
    app.selectbox(key="tr.pick").select(first).run()
    app.selectbox(key=f"tr.decision.{first}").select(True).run()
    app.selectbox(key="tr.pick").select(second).run()
    app.text_area(key=f"tr.note.{second}").input("à revoir")
    app.text_input(key="store.user").input("Comité")
    app.run()
    app.button(key="tr.store_save").click().run()
    assert t("ui.store.note_without_score", "fr", ids=second.replace("-", "\\-")) in [e.value for e in app.error]
    store = Store(f"sqlite:///{tmp_path / 'cep.db'}")
    assert store.decisions() == {} and store.list_dossiers() == []
    store.close()


# --------------------------------------------------------------------------- portfolio


def test_portfolio_scores_every_row_and_lists_the_bad_ones(app):
    raw = generate(60, 3).astype(object)
    raw.loc[3, "trl"] = "douze"
    raw.loc[10, "filiere"] = "astrophysique"
    app.switch_page("views/portfolio.py").run()
    upload(app, "pf.upload", "base.csv", raw.to_csv(index=False).encode(), "text/csv")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics[t("ui.pf.rows", "fr")] == "60" and metrics[t("ui.pf.invalid", "fr")] == "2"
    bad = [d.value for d in app.dataframe if t("ui.col.problem", "fr") in d.value.columns][0]
    assert list(bad[t("ui.col.row", "fr")]) == [4, 11]
    [results] = [d.value for d in app.dataframe if t("ui.pf.status", "fr") in d.value.columns]
    assert len(results) == 60 and list(results[t("ui.pf.status", "fr")]).count(t("ui.pf.status.error", "fr")) == 2
    assert results[t("ui.prob.success", "fr")].notna().sum() == 58
    assert len(app.get("vega_lite_chart")) == 2
    assert t("ui.download.table", "fr", fmt="CSV") in [b.label for b in app.download_button]


def test_portfolio_explains_a_file_it_cannot_read(app):
    app.switch_page("views/portfolio.py").run()
    upload(app, "pf.upload", "base.csv", b"a,b\n1,2\n", "text/csv")
    assert "filiere" in "\n".join(e.value for e in app.error)


# --------------------------------------------------------------------------- model card


def test_model_page_explains_the_model_in_words_and_draws_it_against_oracle_and_baselines(app, bundle):
    app.switch_page("views/model_card.py").run()
    assert not app.dataframe  # sentences and a picture, not a table of metrics
    shown = texts(app)
    assert t("ui.notice.synthetic", "fr") in shown  # trained on synthetic data: stays visible
    labeled = bundle.card["evaluation"]["fresh_synthetic"]["targets"]["labeled"]
    assert f"{round(100 * labeled['model']['auc'])} fois" in shown and t("card.limit.synthetic", "fr") in shown
    [ranking, _calibration] = app.get("vega_lite_chart")
    drawn = ranking.proto.SerializeToString()  # the spec and its data (Arrow holds the strings as UTF-8)
    for scorer in ("model", "oracle", "logistic", "score_sum", "base_rate"):
        assert t(f"ui.scorer.{scorer}", "fr").encode() in drawn
    assert t("ui.model.limits", "fr") in [h.value for h in app.header]
    assert "## Limits" in app.code[0].value  # the technical card, as written, one click away


def test_a_model_that_cannot_be_trusted_stops_the_app_with_its_reason(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from tests.ui.conftest import APP, TIMEOUT

    monkeypatch.setenv("CEP_MODEL_DIR", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert "manifest.json" in unescape("\n".join(e.value for e in at.error))
    assert not at.title  # no page is drawn on a model that failed its checks


# --------------------------------------------------------------------------- configuration and labels


def test_configuration_keeps_everything_local():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorLinks"] is False
    # Bound to this machine, and an address set by hand: Streamlit then never looks up the external IP.
    assert config["server"]["address"] == config["browser"]["serverAddress"] == "127.0.0.1"
    assert config["server"]["maxUploadSize"] == components.MAX_UPLOAD_MB
    assert "http" not in json.dumps(config["theme"])


def test_make_app_serves_this_machine_only_unless_a_team_host_is_named_on_the_port_asked():
    def command(*overrides: str) -> str:
        out = subprocess.run(
            ["make", "-n", "app", *overrides],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("CEP_")},
        )
        return next(line for line in out.stdout.splitlines() if "streamlit run" in line)

    assert "--server.address 127.0.0.1 --browser.serverAddress 127.0.0.1" in command()
    shared = command("CEP_ADDRESS=0.0.0.0", "CEP_HOST=cep.cluster.local")
    assert "--server.address 0.0.0.0 --browser.serverAddress cep.cluster.local" in shared
    assert "--server.port 8501" in command() and "--server.port 8600" in command("PORT=8600")


def test_every_ui_label_exists_in_both_languages():
    table = i18n.table()
    used = set()
    for path in (ROOT / "ui").rglob("*.py"):
        used |= set(re.findall(r"""["'](ui\.[a-z_.]+[a-z_])["']""", path.read_text(encoding="utf-8")))
    families = [f"ui.field.{f.name}" for f in fields.FIELDS if f.kind not in ("answer", "score")]
    families += [f"ui.help.{f.name}" for f in form.FORM_FIELDS if f.kind != "answer"]
    families += [f"ui.sa.step.{s}" for s in form.STEPS] + [f"ui.sa.group.{g}" for g, _ in form.CONTEXT_GROUPS]
    families += [f"ui.band.{b}" for b in queue.BANDS]
    counted = {k for k in used if f"{k}.one" in table and f"{k}.other" in table}  # i18n.counted's plural pairs
    assert sorted(k for k in used | set(families) if k not in table and k not in counted) == []
    with open(ROOT / "data" / "i18n_ui.csv", encoding="utf-8") as fh:
        assert all(line.startswith("ui.") for line in list(fh)[1:])


def test_the_form_covers_every_dossier_field_and_round_trips_a_draft():
    covered = {f.name for f in form.FORM_FIELDS}
    assert covered == {f.name for f in fields.FIELDS if f.kind != "score" and f.name not in catalogue.OUTCOMES}
    state, rejected = form.state_from_doc(jsonform.example(), "fr")
    assert rejected == []
    assert form.doc_from_state(state) == jsonform.example()


def test_a_project_without_consortium_has_no_partners():
    state, _ = form.state_from_doc(
        {
            **jsonform.example(),
            "collaborative": False,
            "partners": {"academic": False, "industrial": False, "clinical": False, "count": 0},
        },
        "fr",
    )
    state[form.key(fields.FIELD_BY_NAME["partner_clinical"])] = True  # ticked before unticking "collaborative"
    assert form.doc_from_state(state)["partners"] == {
        "academic": False,
        "industrial": False,
        "clinical": False,
        "count": 0,
    }
