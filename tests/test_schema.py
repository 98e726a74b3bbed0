"""The dossier schema: rejections name row, field, value and fix; JSON <-> flat is lossless."""

from __future__ import annotations

import datetime as dt
import io

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import catalogue, display, fields, jsonform, schema
from scoring.synthetic import TRUE_P_COLUMNS, generate


def issues_of(doc, **kw):
    return jsonform.validate_records([doc], **kw).issues


def test_example_is_valid_against_validator_and_json_schema(dossier):
    assert issues_of(dossier) == []
    jsonschema.validate(dossier, jsonform.json_schema())


@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("filiere", "biotech", "not a known code; allowed: pharma_biotech, medtech, dm_div, e_sante"),
        ("funding_window", "fui", "not a known code"),
        ("trl", 12, "above the maximum 9"),
        ("trl", 3.5, "not a whole number"),
        ("trl", "high", "not a whole number"),
        ("budget_eur", -5, "below the minimum"),
        ("collaborative", "maybe", "not a yes/no value"),
        ("submission_date", "15/03/2024", "not a date; write it as YYYY-MM-DD"),
        ("title", "", "is missing; this field is required"),
    ],
)
def test_bad_values_are_rejected_with_field_and_reason(dossier, field, value, needle):
    dossier[field] = value
    found = [i for i in issues_of(dossier) if i.field == field]
    assert found, f"{field}={value!r} was accepted"
    assert needle in found[0].message()
    assert found[0].message().startswith(f"row 1, {display.field_label(field, 'en')}: ")  # its label, not its code


def test_reasons_are_translated_from_the_same_code(dossier):
    dossier["trl"] = 12
    [issue] = issues_of(dossier)
    assert issue.code == "above_max"
    # French typography: a narrow no-break space before ":" and ";" (the translation table adds it).
    assert issue.message("fr") == (
        "ligne 1, Maturité technologique (TRL)\u202f: la valeur 12 dépasse le maximum 9\u202f; valeurs admises de 1 à 9"
    )
    assert issue.message("en") == (
        "row 1, Technology readiness (TRL): value 12 is above the maximum 9; allowed from 1 to 9"
    )


def test_year_in_the_future_is_rejected(dossier):
    dossier["year"] = 2031
    dossier.pop("submission_date")
    msg = [i.message() for i in issues_of(dossier, today=dt.date(2026, 11, 23))]
    assert any(m.startswith(f"row 1, {display.field_label('year', 'en')}: ") and "in the future" in m for m in msg)


def test_aid_above_budget_is_rejected(dossier):
    dossier["aid_requested_eur"] = dossier["budget_eur"] + 1
    [issue] = issues_of(dossier)
    assert issue.field == "aid_requested_eur" and "cannot exceed the total budget" in issue.reason


def test_partners_must_agree_with_collaboration(dossier):
    dossier["collaborative"] = False
    fields = {i.field for i in issues_of(dossier)}
    assert {"n_partners", "partner_clinical"} <= fields


def test_unknown_answer_and_not_applicable_where_not_allowed(dossier):
    dossier["answers"]["dq_access"] = "maybe"
    dossier["answers"]["ii_medical_need"] = "na"
    fields = {i.field for i in issues_of(dossier)}
    assert fields == {"dq_access", "ii_medical_need"}


def test_expert_score_must_be_on_half_points(dossier):
    dossier["expert_scores"] = {"data_quality": 3.3}
    [issue] = issues_of(dossier)
    assert issue.field == "score_data_quality" and "half-point" in issue.reason


def test_unknown_json_field_is_refused_with_known_fields(dossier):
    dossier["answers"]["dq_acces"] = "agreement"
    with pytest.raises(schema.SchemaError, match="unknown field 'answers.dq_acces'"):
        jsonform.validate_records([dossier])


def test_missing_required_column_is_a_file_level_error_in_the_reader_s_language():
    frame = pd.DataFrame({"dossier_id": ["a"]})
    with pytest.raises(schema.SchemaError, match="missing required column.*'filiere' / 'Filière'") as caught:
        schema.validate_frame(frame)
    said = caught.value.at("base.csv").said("fr")
    assert (
        said.startswith("base.csv\u202f: colonne(s) obligatoire(s) absente(s)\u202f: ")
        and "'filiere' / 'Filière'" in said
    )
    assert caught.value.at("base.csv").said("fr", named=False).startswith("colonne(s) obligatoire(s)")


def test_a_file_level_error_keeps_its_words_across_processes():
    """A batch worker's error reaches the parent whole, in both languages (pickled with its key)."""
    import pickle

    exc = schema.SchemaError(key="empty", path="a.csv")
    back = pickle.loads(pickle.dumps(exc))
    assert (str(back), back.said("fr")) == (str(exc), exc.said("fr")) and "vide" in back.said("fr")


def test_every_bad_row_is_reported_none_dropped():
    base = generate(50, seed=3).astype(object)
    base.loc[[4, 17], "trl"] = 0
    base.loc[17, "filiere"] = "x"
    v = schema.validate_frame(base)
    assert len(v.frame) == 50
    assert sorted({i.row for i in v.issues}) == [5, 18]
    assert list(np.flatnonzero(~v.ok)) == [4, 17]


def test_french_headers_and_labels_are_mapped(dossier):
    flat = jsonform.from_json(dossier)
    fr = {
        "Filière": "e-santé",
        "Guichet": "Région Île-de-France",
        "Type de porteur": "TPE / PME",
        "Collaboratif": "oui",
        "Année": "2024",
    }
    canon = {"filiere", "funding_window", "carrier_type", "collaborative", "year"}
    row = {k: v for k, v in flat.items() if k not in canon} | fr
    v = schema.validate_frame(pd.DataFrame([row]).astype(str))
    assert v.issues == []
    assert v.frame.loc[0, "filiere"] == "e_sante" and v.frame.loc[0, "funding_window"] == "region_idf"


def test_two_headers_for_one_column_are_refused():
    with pytest.raises(schema.SchemaError, match="both mean 'year'"):
        schema.normalise_columns(pd.DataFrame({"year": [1], "Année": [2]}))


def test_json_to_flat_to_json_is_lossless(dossier):
    dossier["expert_scores"] = {"scientific_quality": 4.5}
    dossier["labeled"] = True
    v = jsonform.validate_records([dossier])
    assert jsonform.to_json(v.frame.iloc[0]) == dossier


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_flat_to_json_to_flat_is_lossless(seed):
    flat = schema.validate_frame(generate(3, seed)).frame
    again = jsonform.validate_records([jsonform.to_json(r) for r in flat.to_dict("records")]).frame
    for col in fields.COLUMNS:
        a, b = flat[col].to_numpy(dtype=object), again[col].to_numpy(dtype=object)
        assert all((pd.isna(x) and pd.isna(y)) or x == y for x, y in zip(a, b)), col


def test_json_schema_lists_every_code():
    s = jsonform.json_schema()
    codes = list(catalogue.codes()["filiere"])
    assert s["properties"]["filiere"]["enum"][: len(codes)] == codes  # then the French and English labels
    assert set(s["required"]) >= {"dossier_id", "filiere", "funding_window", "trl", "budget_eur"}
    assert s["properties"]["expert_scores"]["properties"]["data_quality"]["anyOf"][0]["multipleOf"] == 0.5


# Cells a person or an export might write, per column: good, aliased, blank and wrong.
_CELLS = {
    "filiere": ["e-santé", "Pharma / Biotech", "biotech", " medtech ", "", "medtech"],
    "trl": ["3.5", "twelve", " 4 ", "", "12", "1_000", "７"],
    "collaborative": ["Oui", "maybe", "", "TRUE", " false "],
    "ii_ip": ["filed", "nonsense", "", "na", " none"],
    "score_data_quality": ["4.5", "4.2", "", "x", "-1", "inf"],
    "budget_eur": ["1e6", "-5", "abc", "", "2e9"],
    "year": ["2019", "2031", "x", ""],
    "submission_date": ["2019-13-01", "15/03/2024", "", "2020-02-02"],
    "title": ["  padded  ", "", "=1+1"],
}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_a_file_is_checked_the_same_whole_as_in_small_pieces(seed):
    # A whole column is checked on its distinct values (or by exact lookup when it is clean);
    # pieces of fewer than 64 rows are checked cell by cell: reasons and typed values must not differ.
    text = generate(600, seed).drop(columns=list(TRUE_P_COLUMNS))
    text = pd.read_csv(io.StringIO(text.to_csv(index=False)), dtype="str")
    rng = np.random.default_rng(seed)
    for column, cells in _CELLS.items():  # every odd cell, each in a few random rows
        for cell in cells:
            text.loc[rng.choice(len(text), 3, replace=False), column] = cell
    today = dt.date(2026, 11, 23)
    whole = schema.validate_frame(text, today=today)
    parts = [schema.validate_frame(text.iloc[i : i + 60], today=today, first_row=i + 1) for i in range(0, 600, 60)]

    def said(issues):
        return [(i.row, i.field, i.code, i.params, str(i.value)) for i in issues]

    assert said(whole.issues) == [issue for p in parts for issue in said(p.issues)]
    pd.testing.assert_frame_equal(whole.frame, pd.concat([p.frame for p in parts], ignore_index=True))


def test_coded_fields_come_out_as_categoricals_of_their_codes():
    frame = schema.validate_frame(generate(100, seed=2)).frame
    assert list(frame["filiere"].cat.categories) == list(catalogue.codes()["filiere"])
    assert list(frame["ii_ip"].cat.categories) == list(fields.FIELD_BY_NAME["ii_ip"].allowed)
    assert (
        fields.code_index(frame["filiere"], "filiere")
        == [catalogue.codes()["filiere"].index(v) for v in frame["filiere"]]
    ).all()


# --------------------------------------------------------------------------- "not applicable" where it applies


def test_not_applicable_where_the_question_applies_is_an_error_naming_row_question_rule_and_fix(dossier):
    dossier["answers"].update(rr_gdpr="na", rr_reimbursement="na")  # a remote-monitoring project
    issues = issues_of(dossier)
    assert [(i.row, i.field, i.code) for i in issues] == [
        (1, "rr_gdpr", "na_forbidden"),
        (1, "rr_reimbursement", "na_forbidden"),
    ]
    en, fr = issues[0].message("en"), issues[0].message("fr")
    assert (
        f"row 1, {display.field_label('rr_gdpr', 'en')}: " in en and "Small molecule, Biotherapy, Bioproduction" in en
    )
    assert "give the answer that describes the project" in en
    assert "Petite molécule, Biothérapie, Bioproduction" in fr


def test_not_applicable_is_accepted_in_the_context_the_rubric_names(dossier):
    dossier["technology_axis"] = "small_molecule"
    for q in ("dq_access", "dq_volume", "dq_consent_hosting", "dq_interoperability", "dq_curation", "rr_gdpr"):
        dossier["answers"][q] = "na"
    assert issues_of(dossier) == []
    dossier["answers"]["sp_consortium"] = "na"  # but the project has a partner: governance applies
    assert [(i.field, i.code) for i in issues_of(dossier)] == [("sp_consortium", "na_forbidden")]
    dossier.update(
        collaborative=False, partners={"academic": False, "industrial": False, "clinical": False, "count": 0}
    )
    assert issues_of(dossier) == []


def test_every_na_rule_names_known_context_values_and_every_question_that_uses_one_allows_na():
    rules = catalogue.na_rules()
    used = {q["na_only_when"] for q in catalogue.questions() if "na_only_when" in q}
    assert used == set(rules)
    never = {"ai", "data", "remote_monitoring"}  # HDS hosting, GDPR and data questions always apply to these
    for q in catalogue.questions():
        if q["id"].startswith("dq_") or q["id"] in ("rr_gdpr",):
            assert not never & set(rules[q["na_only_when"]].get("technology_axis", ())), q["id"]


_NA_BASE = generate(40, 8).drop(columns=list(TRUE_P_COLUMNS))  # every axis, carrier and collaboration


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_frame_validator_and_the_per_dossier_rule_agree_on_every_na(seed):
    rng = np.random.default_rng(seed)
    raw = _NA_BASE.copy()
    na_questions = [q["id"] for q in catalogue.questions() if q["na_allowed"]]
    for qid in na_questions:  # "na" dropped on random rows, whatever their context
        raw.loc[rng.random(len(raw)) < 0.3, qid] = "na"
    v = schema.validate_frame(raw)
    flagged = {(i.row - 1, i.field) for i in v.issues if i.code == "na_forbidden"}
    expected = {
        (k, qid)
        for k, row in enumerate(v.frame.to_dict("records"))
        for qid in na_questions
        if row[qid] == "na" and not schema.na_allowed(qid, row)
    }
    assert flagged == expected
    assert {i.code for i in v.issues} <= {"na_forbidden"}  # the generator draws "na" only where allowed


@pytest.mark.parametrize(
    "rule, words",
    [
        ('[na_rule.no_data_component]\ntechnology_axis = ["spaceship"]', "[na_rule.no_data_component] technology_axis"),
        ("[na_rule.no_data_component]\ntrl = [1, 2]", "names 'trl'"),
    ],
)
def test_a_na_rule_the_validator_cannot_read_is_refused_naming_it(tmp_path, monkeypatch, rule, words):
    text = (catalogue.DATA_DIR / "rubric.toml").read_text(encoding="utf-8")
    start = text.index("[na_rule.no_data_component]")
    end = text.index("\n\n", start)
    (tmp_path / "rubric.toml").write_text(text[:start] + rule + text[end:], encoding="utf-8")
    monkeypatch.setattr(catalogue, "DATA_DIR", tmp_path)
    catalogue.na_rules.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"data/rubric.toml") as err:
            catalogue.na_rules()
        assert words in str(err.value)
    finally:
        monkeypatch.undo()
        catalogue.na_rules.cache_clear()
