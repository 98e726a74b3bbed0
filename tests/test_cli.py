"""The command line: a thin shell whose outputs and exit codes scripts can rely on."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from scoring import jsonform
from scoring.cli import cli
from tests.conftest import write_json
from tests.contract import EXPLANATION_KEYS


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_schema_and_example_agree():
    import jsonschema

    s = json.loads(run("schema").output)
    ex = json.loads(run("example").output)
    jsonschema.validate(ex, s)


def test_validate_reports_every_bad_row_and_fails(tmp_path):
    from scoring.synthetic import generate

    frame = generate(20, 1)
    frame.loc[3, "trl"] = 11
    frame.loc[9, "funding_window"] = "fui"
    path = tmp_path / "base.csv"
    frame.to_csv(path, index=False)
    r = run("validate", str(path), "--lang", "en")
    assert r.exit_code == 1
    assert "row 4, Technology readiness (TRL): " in r.output and "row 10, Targeted funding window: " in r.output
    assert "20 rows, 18 valid, 2 invalid" in r.output


def test_validate_reads_xlsx_and_json_lists(tmp_path, dossier):
    bad = dict(dossier, dossier_id="B", budget_eur=-1)
    r = run("validate", write_json(tmp_path / "d.json", [dossier, bad]), "--json")
    report = json.loads(r.output)
    assert (report["rows"], report["invalid"]) == (2, 1) and report["issues"][0]["row"] == 2
    xlsx = tmp_path / "d.xlsx"
    pd.DataFrame([jsonform.from_json(dossier)]).to_excel(xlsx, index=False)
    assert run("validate", str(xlsx)).exit_code == 0


def test_generate_and_reference_check(tmp_path):
    out = tmp_path / "b.csv"
    assert run("generate", "--rows", "6000", "--seed", "12", "--out", str(out)).exit_code == 0
    r = run("reference-check", str(out))
    assert r.exit_code == 0, r.output
    assert "F1" in r.output and "FAIL" not in r.output


def test_score_prints_six_parts_in_both_languages(tmp_path, dossier):
    path = write_json(tmp_path / "d.json", dossier)
    for lang, words in (
        ("fr", ["Critères", "Probabilités", "Raisons", "Actions", "Guichets", "Contributions"]),
        ("en", ["criteria", "Probabilities", "Reasons", "Actions", "windows", "Contributions"]),
    ):
        r = run("score", path, "--lang", lang)
        assert r.exit_code == 0, r.output
        for w in words:
            assert w in r.output, (lang, w)


def test_score_json_single_and_list(tmp_path, dossier):
    one = json.loads(run("score", write_json(tmp_path / "a.json", dossier), "--json").output)
    assert set(one) == EXPLANATION_KEYS
    many = json.loads(
        run("score", write_json(tmp_path / "b.json", [dossier, dict(dossier, dossier_id="X-2")]), "--json").output
    )
    assert isinstance(many, list) and len(many) == 2


def test_score_invalid_dossier_names_the_field(tmp_path, dossier):
    dossier["filiere"] = "pharma"
    r = CliRunner().invoke(cli, ["score", write_json(tmp_path / "a.json", dossier)])
    assert (
        r.exit_code == 1 and "Filière\u202f: la valeur « pharma »" in r.output and "n'est pas un code connu" in r.output
    )


def test_retraining_on_xlsx_with_french_headers_and_missing_columns(tmp_path):
    from scoring.synthetic import generate

    base = generate(1200, 31).drop(
        columns=[
            "true_p_labeled",
            "true_p_funded",
            "true_p_success",
            "partner_academic",
            "partner_industrial",
            "dq_curation",
        ]
    )
    fr = {
        "filiere": "Filière",
        "funding_window": "Guichet",
        "labeled": "Labellisé",
        "funded": "Financé",
        "year": "Année",
        "trl": "TRL",
        "budget_eur": "Budget total (€)",
    }
    base = base.rename(columns=fr)
    base["Filière"] = base["Filière"].map(
        {"pharma_biotech": "Pharma / Biotech", "medtech": "Medtech", "dm_div": "DM / DIV", "e_sante": "e-santé"}
    )
    base["Commentaire interne"] = "x"
    base.loc[5, "TRL"] = 14
    data = tmp_path / "export.xlsx"
    base.to_excel(data, index=False)
    out = tmp_path / "model"
    r = run("train", "--data", str(data), "--out", str(out), "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "1 row left out as invalid" in r.output and "row 6, Technology readiness (TRL): " in r.output
    assert "Commentaire interne" in r.output and "partner_academic" in r.output
    card = json.loads((out / "card.json").read_text())
    assert card["data"]["synthetic"] is False and card["data"]["rows_used"] == 1199
    ev = json.loads(run("evaluate", "--data", str(data), "--model", str(out), "--json").output)
    assert ev["targets"]["labeled"]["oracle"] is None
    assert set(ev["targets"]) == {"labeled", "funded", "success"}


def test_evaluate_json_shape(tmp_path, small_model_dir):
    from scoring.io import write_table
    from scoring.synthetic import generate

    data = tmp_path / "fresh.parquet"
    write_table(generate(3000, 55), data)
    ev = json.loads(run("evaluate", "--data", str(data), "--model", str(small_model_dir), "--json").output)
    assert set(ev) == {"targets", "model", "n", "interval_coverage"} and ev["n"] == 3000
    # a synthetic base has its true probabilities: how often the 80% intervals held them is measured
    assert ev["interval_coverage"]["level"] == 0.8 and ev["interval_coverage"]["rows"] == 3000
    assert all(0 <= ev["interval_coverage"][t] <= 1 for t in ("labeled", "success"))
    for t in ("labeled", "funded", "success"):
        e = ev["targets"][t]
        assert set(e) == {"model", "oracle", "baselines", "groups"}
        assert set(e["model"]) == {"auc", "brier", "log_loss", "ece"}
        assert set(e["baselines"]) == {"logistic", "score_sum", "base_rate"}
        assert {g["by"] for g in e["groups"]} == {"filiere", "funding_window"}
        assert all({"by", "value", "n", "auc", "ece"} <= set(g) for g in e["groups"])


def test_a_json_that_is_not_a_dossier_says_why_in_the_chosen_language(tmp_path):
    path = write_json(tmp_path / "a.json", {"hello": 1})
    fr = CliRunner().invoke(cli, ["score", path])
    assert fr.exit_code == 1 and "ligne 1\u202f: champ inconnu « hello »\u202f; champs connus ici" in fr.output
    en = CliRunner().invoke(cli, ["score", path, "--lang", "en"])
    assert "row 1: unknown field 'hello'; known fields here" in en.output and "(dossier)" not in en.output
