"""The JSON Schema and the validator accept and refuse the same dossiers, for every rule the schema
expresses (codes and their labels, yes/no words, ranges, half points, types, null for optional fields)."""

from __future__ import annotations

import datetime as dt

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import fields, jsonform, schema
from scoring.issues import Issue

SCHEMA = jsonschema.Draft202012Validator(jsonform.json_schema(), format_checker=jsonschema.FormatChecker())
# rules across fields, which the schema lists in its description instead
CROSS = {
    "aid_above_budget",
    "partners_without_consortium",
    "consortium_without_partners",
    "partner_without_consortium",
    "date_not_in_year",
    "duplicate_id",
    "future_date",
    "future_year",
    "na_forbidden",
}
YEAR = dt.date.today().year


def _value(f: fields.Field) -> st.SearchStrategy:
    # floats to the thousandth: the validator allows 1e-9 around a whole number or half point (listed)
    floats = st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: round(x, 3))
    anything = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-10, 3000),
        floats,
        st.text(max_size=8),
        st.lists(st.integers(), max_size=2),
    )
    labels = [v for v in SCHEMA.schema["properties"].get(f.name, {}).get("enum", []) if isinstance(v, str)]
    per_kind = {
        "code": st.sampled_from(list(f.allowed) + labels),
        "answer": st.sampled_from(f.allowed),
        "bool": st.sampled_from([True, False, 1, 0, "oui", "non", "true", "x", "peut-être", 2]),
        "int": st.integers(int(f.lo or 0) - 3, int(f.hi or YEAR) + 3),
        "float": st.floats(-10, 2e9, allow_nan=False).map(lambda x: round(x, 3)),
        "score": st.sampled_from([0, 0.5, 2.5, 4.5, 5, 5.5, -0.5, 2.3, 3]),
        "date": st.sampled_from(["2020-02-02", "2020-02-30", "15/03/2020", "2020-13-01", "x"]),
        "str": st.sampled_from(["Projet", "  ", "A-12", "é"]),
    }
    return st.one_of(per_kind[f.kind], anything.filter(lambda v: not _numeric_text(v)))


def _numeric_text(v) -> bool:
    """Numbers written as text: the validator reads them, the schema (typed JSON) does not (its description says so)."""
    if not isinstance(v, str):
        return False
    try:
        float(v)
        return True
    except ValueError:
        return False


@st.composite
def one_field_changed(draw) -> tuple[dict, fields.Field]:
    f = draw(st.sampled_from(fields.FIELDS))
    doc = jsonform.example()
    node = doc
    for key in f.path[:-1]:
        node = node.setdefault(key, {})
    node[f.path[-1]] = draw(_value(f))
    return doc, f


@settings(max_examples=400, deadline=None)
@given(one_field_changed())
def test_the_json_schema_and_the_validator_agree_on_every_field_rule(case):
    doc, f = case
    by_schema = SCHEMA.is_valid(doc)
    try:
        issues = jsonform.validate_records([doc]).issues
    except schema.SchemaError:  # the whole document refused (e.g. a group that is not an object)
        issues = [Issue(1, f.name, None, "file-level")]
    by_validator = not [i for i in issues if i.code not in CROSS]
    assert by_schema == by_validator, (
        f.name,
        doc,
        [i.message() for i in issues],
        [e.message for e in SCHEMA.iter_errors(doc)],
    )
