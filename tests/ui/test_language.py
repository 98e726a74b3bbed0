"""Every page, both reports and the command line, read in French and in English: nothing of the other language,
no decimal point and no column name or code in French (tests/ui/language.py says what is checked)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from scoring import catalogue, fields, jsonform
from scoring.cli import cli
from scoring.explain import explain
from scoring.synthetic import generate
from tests.ui.conftest import example_bytes, pick_top, upload
from tests.ui.language import ALLOWED, html_text, problems, shown
from ui import components, form, report


def _late_dossier() -> dict:
    """The example dossier examined this year, after the training years: its result carries that note."""
    year = dt.date.today().year
    return {**jsonform.example(), "year": year, "submission_date": f"{year}-01-01"}


def _rows():
    return generate(6, 11).drop(columns=[*catalogue.SCORE_COLUMNS, *catalogue.OUTCOMES]).astype(object)


def _bad_rows_csv() -> bytes:
    raw = _rows()
    raw.loc[1, "trl"] = "12"
    raw.loc[2, "budget_eur"] = None
    raw.loc[3, "partner_academic"] = 1.0
    raw.loc[3, "collaborative"] = False
    return raw.to_csv(index=False).encode()


def _self_assessment(at) -> list[str]:
    """The form's every step (one with problems shown), then the result."""
    seen = []
    upload(at, "sa.draft_upload", "draft.json", example_bytes(trl=12), "application/json")
    at.button(key="sa.evaluate").click().run()
    seen.append(shown(at))  # the TRL of 12, refused with its range
    at.number_input(key=form.key(fields.FIELD_BY_NAME["trl"])).set_value(4).run()
    for step in range(1, len(form.STEPS) - 1):
        at.radio(key="sa.step").set_value(step).run()
        seen.append(shown(at))
    at.button(key="sa.evaluate").click().run()
    assert not at.exception, at.exception
    seen.append(shown(at))
    return seen


def _triage(at) -> list[str]:
    at.switch_page("views/triage.py").run()
    upload(at, "tr.upload", "session.csv", _bad_rows_csv(), "text/csv")
    queue_only = shown(at)
    pick_top(at)  # the pane of a picked dossier: scores, rules, reasons, evidence, interview brief
    return [queue_only, shown(at)]


def _portfolio(at) -> list[str]:
    at.switch_page("views/portfolio.py").run()
    upload(at, "pf.upload", "base.csv", _bad_rows_csv(), "text/csv")
    return [shown(at)]


def _model(at) -> list[str]:
    at.switch_page("views/model_card.py").run()
    return [shown(at)]


PAGES = {"self_assessment": _self_assessment, "triage": _triage, "portfolio": _portfolio, "model": _model}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_speaks_one_language(app, page, lang):
    if lang == "en":
        app.session_state[components.LANG_KEY] = "en"
        app.run()
    texts = PAGES[page](app)
    assert not app.exception, app.exception
    typed = tuple(_rows()["title"]) + (jsonform.example()["title"],)  # the dossiers' own words, in their language
    found = [p for text in texts for p in problems(text, lang, ALLOWED + typed)]
    assert not found, "\n".join(dict.fromkeys(found))


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_reports_speak_one_language(bundle, lang):
    doc = _late_dossier()
    result = explain([doc], bundle, lang)[0]
    html = report.build_html(doc, result, bundle.card, lang, dt.datetime(2025, 3, 14, 9, 30))
    found = problems(html_text(html), lang, ALLOWED + (doc["title"],))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_command_line_speaks_one_language(tmp_path, lang):
    doc = _late_dossier()
    path = tmp_path / "dossier.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    r = CliRunner().invoke(cli, ["score", str(path), "--lang", lang])
    assert r.exit_code == 0, r.output
    found = problems(r.output, lang, ALLOWED + (doc["title"],))
    assert not found, "\n".join(found)


def test_the_checks_catch_what_they_are_for():
    assert problems("Dossier moyen : 38.5", "fr")
    assert problems("dépasse budget_eur", "fr")
    assert problems("1 rows", "fr")
    assert problems("champ answers.ii_jobs", "fr")
    assert problems("la valeur est absente", "en")
    assert not problems("Dossier moyen\u202f: 38,5 ; P(labellisé) 38\u202f%", "fr")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_command_line_summaries_speak_one_language(tmp_path, lang):
    """generate, validate and train say what they did in the chosen language (file names aside)."""
    base = tmp_path / "base.csv"
    runner = CliRunner()
    runs = [
        runner.invoke(cli, ["generate", "--rows", "800", "--seed", "3", "--out", str(base), "--lang", lang]),
        runner.invoke(cli, ["validate", str(base), "--lang", lang]),
        runner.invoke(cli, ["train", "--data", str(base), "--out", str(tmp_path / "out"), "--lang", lang]),
    ]
    for r in runs:
        assert r.exit_code == 0, r.output
    found = [p for r in runs for p in problems(r.stdout, lang, ALLOWED + (str(tmp_path),))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_portfolio_and_store_commands_speak_one_language(tmp_path, monkeypatch, lang):
    """batch, validate, import and export-training on a file with bad rows (a number out of range, an empty
    required value, a rule broken): their summaries, the reasons they print and the reasons batch writes in
    its error column, in the chosen language (file names and the output's column names aside)."""
    from scoring.io import read_table
    from scoring.store.commands import export_training_cmd, import_cmd

    monkeypatch.setenv("CEP_DB_URL", f"sqlite:///{tmp_path / 'cep.db'}")
    raw = generate(12, 11).astype(object)
    raw.loc[1, "trl"] = "12"
    raw.loc[2, "budget_eur"] = None
    raw.loc[3, "title"] = ""
    base, out = tmp_path / "base.csv", tmp_path / "sortie.csv"
    raw.to_csv(base, index=False)
    runner = CliRunner()
    runs = [
        runner.invoke(cli, ["batch", "--input", str(base), "--output", str(out), "--lang", lang]),
        runner.invoke(cli, ["validate", str(base), "--lang", lang]),
        runner.invoke(import_cmd, [str(base), "--user", "secretary", "--lang", lang]),
        runner.invoke(export_training_cmd, ["--out", str(tmp_path / "train.csv"), "--lang", lang]),
    ]
    assert [r.exit_code for r in runs] == [1, 1, 1, 0], [r.output for r in runs]
    errors = [e for e in read_table(out)["error"] if isinstance(e, str) and e]
    assert len(errors) == 3
    allowed = ALLOWED + (str(tmp_path), "eligibility_reason", "warnings", "true_p_labeled", "true_p_funded")
    found = [
        p for text in [r.output for r in runs] + errors for p in problems(text, lang, allowed + ("true_p_success",))
    ]
    assert not found, "\n".join(found)
