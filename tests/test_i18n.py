"""Translations are complete: every code, input, criterion and template has both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoring import i18n, schema
from scoring.features import INPUTS
from scoring.reference import RULES


def test_every_code_has_a_french_and_an_english_label():
    for field, codes in schema.codes().items():
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
    text = (root / "scoring" / "schema.py").read_text(encoding="utf-8")
    calls = re.findall(r"out\.add\((.*?)\)\n", text, flags=re.S)
    not_codes = {"aid_requested_eur", "n_partners", "submission_date", "dossier_id", "answer", "int"}  # fields and kinds
    codes = {c for call in calls for c in re.findall(r'"([a-z_]+)"', call)} - not_codes
    assert {"required", "not_bool", "above_max", "unknown_code"} <= codes
    for code in codes:
        for lang in i18n.LANGS:
            assert i18n.t(f"issue.{code}", lang), code
