"""Strict types and duplicates: what the validator refuses instead of guessing (issue 14)."""

from __future__ import annotations

import copy

import pytest

from scoring import jsonform, schema


@pytest.fixture
def dossier():
    return jsonform.example()


def reasons(docs):
    return {(i.row, i.field, i.code) for i in jsonform.validate_records(docs).issues}


@pytest.mark.parametrize("field", ["trl", "budget_eur", "duration_months"])
def test_a_json_boolean_is_not_a_number(dossier, field):
    dossier[field] = True
    assert any(f == field for _, f, _ in reasons([dossier]))


def test_a_json_boolean_is_not_an_expert_score(dossier):
    dossier["expert_scores"] = {"industrial_interest": True}
    assert (1, "score_industrial_interest", "not_number") in reasons([dossier])


@pytest.mark.parametrize("field,value", [("dossier_id", 42), ("title", 3.5), ("title", False), ("acronym", [1])])
def test_ids_and_titles_in_json_must_be_text(dossier, field, value):
    dossier[field] = value
    assert (1, field, "not_text") in reasons([dossier])


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_json_are_refused_not_read_as_missing(constant):
    with pytest.raises(schema.SchemaError, match=constant):
        jsonform.load_json_dossiers('{"trl": %s}' % constant)


def test_a_json_nested_deeper_than_python_can_follow_is_a_clear_error():
    with pytest.raises(schema.SchemaError, match="nested"):
        jsonform.load_json_dossiers("[" * 100_000)


def test_an_empty_list_is_a_clear_error():
    with pytest.raises(schema.SchemaError, match="no dossier"):
        jsonform.load_json_dossiers("[]")


@pytest.mark.parametrize("written", ["2024-03-15T10:00:00+05:00", "2024-03-15T23:30Z", "2024-03-15 10:00:00-0300"])
def test_a_date_with_a_time_zone_keeps_the_date_as_written(dossier, written):
    other = copy.deepcopy(dossier)
    other["dossier_id"] = "other"
    dossier["submission_date"], other["submission_date"] = written, "2024-03-16"  # zoned and plain mixed
    v = jsonform.validate_records([dossier, other])
    assert v.ok.all(), v.issues
    assert str(v.frame["submission_date"][0])[:10] == "2024-03-15"


def test_a_plain_date_is_not_taken_for_a_time_zone(dossier):
    dossier["submission_date"] = "2024-03-15"
    v = jsonform.validate_records([dossier])
    assert str(v.frame["submission_date"][0])[:10] == "2024-03-15"


def test_a_repeated_dossier_id_flags_every_row_holding_it(dossier):
    other = dict(dossier, dossier_id="B")
    v = jsonform.validate_records([dossier, other, dossier])
    dup = [i for i in v.issues if i.code == "duplicate_id"]
    assert [i.row for i in dup] == [1, 3] and "rows 1, 3" in dup[0].message()
    assert list(v.ok) == [False, True, False]


def test_duplicate_headers_are_an_error_naming_both_columns():
    with pytest.raises(schema.SchemaError, match=r"columns 2 and 4 are both named 'title'"):
        schema.check_headers(["dossier_id", "title", "year", "title"])
