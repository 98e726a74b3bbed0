"""Translations are complete: every code, input, criterion and template has both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoring import catalogue, i18n
from scoring.eligibility import CODES as RULES
from scoring.features import INPUTS


def test_every_code_has_a_french_and_an_english_label():
    for field, codes in catalogue.codes().items():
        for code in codes:
            for lang in i18n.LANGS:
                assert i18n.code_label(field, code, lang).strip(), (field, code, lang)


def test_every_input_rule_and_source_is_translated():
    from scoring.explain import input_label
    from scoring.rubric import SOURCES

    for lang in i18n.LANGS:
        for name in INPUTS:
            assert input_label(name, lang)
        for rule in RULES:
            assert i18n.t(f"rule.{rule}", lang)
        for s in SOURCES:
            assert i18n.t(f"source.{s}", lang)


def test_no_label_is_empty_and_templates_share_fields():
    for key, labels in i18n.table().items():
        assert labels["fr"].strip() and labels["en"].strip(), key
        fields = [set(re.findall(r"{(\w+)}", labels[lang])) for lang in i18n.LANGS]
        assert fields[0] == fields[1], key


def test_every_key_the_code_asks_for_exists():
    """Literal keys passed to t() anywhere in the library or the app are in the table."""
    root = Path(__file__).resolve().parent.parent
    keys = set()
    for path in list((root / "scoring").rglob("*.py")) + list((root / "ui").rglob("*.py")):
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", path.read_text(encoding="utf-8")))
    missing = sorted(k for k in keys if k not in i18n.table())
    assert not missing


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="use one of fr, en"):
        i18n.t("input.year", "de")


def test_every_validation_reason_code_has_words_in_both_languages():
    root = Path(__file__).resolve().parent.parent
    text = "".join((root / "scoring" / name).read_text(encoding="utf-8") for name in ("checks.py", "schema.py"))
    calls = re.findall(r"out\.add\((.*?)\)\n", text, flags=re.S)
    not_codes = {
        "aid_requested_eur",
        "n_partners",
        "submission_date",
        "dossier_id",
        "answer",
        "int",
    }  # fields and kinds
    codes = {c for call in calls for c in re.findall(r'"([a-z_]+)"', call)} - not_codes
    assert {"required", "not_bool", "above_max", "unknown_code"} <= codes
    for code in codes:
        for lang in i18n.LANGS:
            assert i18n.t(f"issue.{code}", lang), code


def test_numbers_are_written_the_french_or_the_english_way():
    from scoring import formatting

    assert formatting.number(12345.5, "fr", 1) == "12\u202f345,5" and formatting.number(12345.5, "en", 1) == "12,345.5"
    assert formatting.percent(0.385, "fr") == "38\u202f%" and formatting.percent(0.385, "en") == "38%"
    assert formatting.points(-0.067, "fr") == "\u22126,7" and formatting.points(0.067, "en") == "+6.7"
    assert formatting.score(3.5, "fr") == "3,5/5" and formatting.score(4.0, "fr") == "4/5"
    assert formatting.euros(200000, "fr") == "200\u202f000\u202f€" and formatting.euros(200000, "en") == "€200,000"


def test_french_spacing_puts_a_narrow_no_break_space_before_high_punctuation_only_where_it_belongs():
    from scoring.formatting import french_spacing

    assert french_spacing("Projets : {p} % ; celui-ci ?") == "Projets\u202f: {p}\u202f%\u202f; celui-ci\u202f?"
    assert french_spacing("Dossier moyen: {v}") == "Dossier moyen\u202f: {v}"  # added where missing
    for untouched in ("http://127.0.0.1:8501", "10:30", "{x:.1f}", "%d"):
        assert french_spacing(untouched) == untouched


def test_every_french_label_has_its_narrow_no_break_spaces():
    for key, labels in i18n.table().items():
        assert not re.search(r"[ \u00a0][;:?!%]", labels["fr"]), key
