"""Translations are complete: every code, input, criterion and template has every language of the tables; the
languages are the tables' columns, and numbers are written by each language's locale."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from babel import Locale, dates, numbers

from scoring import DATA_DIR, catalogue, formatting, i18n
from scoring.eligibility import CODES as RULES
from scoring.features import INPUTS


def test_every_code_has_a_label_in_every_language():
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
        assert all(labels[lang].strip() for lang in i18n.LANGS), key
        fields = [set(re.findall(r"{(\w+)}", labels[lang])) for lang in i18n.LANGS]
        assert all(f == fields[0] for f in fields), key


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


def test_a_widget_writes_its_percentages_as_the_language_does():
    """Streamlit's slider and progress column apply a printf pattern themselves: the pattern carries the
    language's percent sign and spacing, so the slider reads "35 %" (narrow no-break space) in French."""
    from scoring import formatting

    for lang in ("fr", "en"):
        for spec, value in (("d", 35), (".0f", 35.0)):
            assert formatting.percent_format(lang, spec) % value == formatting.percent(0.35, lang)
    assert formatting.percent_format("fr") == "%d\u202f%%"


def test_french_spacing_puts_a_narrow_no_break_space_before_high_punctuation_only_where_it_belongs():
    from scoring.formatting import french_spacing

    assert french_spacing("Projets : {p} % ; celui-ci ?") == "Projets\u202f: {p}\u202f%\u202f; celui-ci\u202f?"
    assert french_spacing("Dossier moyen: {v}") == "Dossier moyen\u202f: {v}"  # added where missing
    for untouched in ("http://127.0.0.1:8501", "10:30", "{x:.1f}", "%d"):
        assert french_spacing(untouched) == untouched


def test_every_french_label_has_its_narrow_no_break_spaces():
    for key, labels in i18n.table().items():
        assert not re.search(r"[ \u00a0][;:?!%]", labels["fr"]), key


# --------------------------------------------------------------------------- languages as data


def test_the_languages_are_the_columns_of_the_tables_french_first():
    header = (DATA_DIR / "i18n.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert i18n.LANGS == tuple(header[1:]) and i18n.DEFAULT_LANG == i18n.LANGS[0] == "fr"
    for name, keys in i18n.CSV_TABLES.items():
        assert (DATA_DIR / name).read_text(encoding="utf-8").splitlines()[0].split(",") == [*keys, *i18n.LANGS]
    assert i18n.problems() == []
    assert [i18n.name(lang) for lang in i18n.LANGS] == ["Français", "English"]


@pytest.fixture
def tables(tmp_path, monkeypatch):
    """A copy of the tables that i18n reads instead of data/, its languages taken again from the copy."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy, ignore=shutil.ignore_patterns("cep_synthetic.csv"))
    monkeypatch.setattr(i18n, "DATA_DIR", copy)

    def reread() -> tuple[str, ...]:
        monkeypatch.setattr(i18n, "LANGS", i18n._languages())
        return i18n.LANGS

    return copy, reread


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_missing_text_is_named_with_its_file_key_language_and_fix(tables):
    copy, reread = tables
    _edit(copy / "i18n_ui.csv", "ui.nav.portfolio,Portefeuille,Portfolio", "ui.nav.portfolio,Portefeuille,")
    _edit(copy / "rubric.toml", 'fr = "Non estimées", en = "Not estimated"', 'fr = "Non estimées"')
    reread()
    assert i18n.problems() == [
        'data/rubric.toml: 1 key(s) have no en text: rubric.ii_jobs.none; write `en = "..."` beside `fr` in the '
        "question, its `ask` table and each answer",
        "data/i18n_ui.csv: 1 key(s) have no en text: ui.nav.portfolio; fill its en column",
    ]


def test_a_language_in_one_table_only_is_a_language_every_other_table_lacks(tables):
    copy, reread = tables
    text = (copy / "codes.csv").read_text(encoding="utf-8").splitlines()
    (copy / "codes.csv").write_text("\n".join([text[0] + ",de"] + [r + ",x" for r in text[1:]]) + "\n", "utf-8")
    assert reread() == ("fr", "en", "de")
    found = i18n.problems()
    assert "data/i18n.csv has no de column: add one, with the de text of each row" in found
    assert "data/i18n_ui.csv has no de column: add one, with the de text of each row" in found
    assert any(p.startswith("data/rubric.toml: ") and "have no de text: rubric.ii_medical_need, " in p for p in found)
    assert "data/i18n.csv: lang.locale of de is None, not a locale Babel knows; write one such as de_DE" in found
    with pytest.raises(ValueError, match="the translation tables are incomplete"):
        i18n.table.__wrapped__()


def test_a_column_that_is_no_language_is_refused(tables):
    copy, reread = tables
    _edit(copy / "i18n.csv", "key,fr,en\n", "key,fr,en,notes\n")
    assert reread()[-1] == "notes"
    assert any(p.startswith("data/i18n.csv: 'notes' is not a language code Babel knows") for p in i18n.problems())


def test_a_language_named_like_a_key_of_the_tables_is_refused(tables):
    """Indonesian's code is the rubric's `id`: as a language, the questions' ids would be taken for words."""
    copy, reread = tables
    _edit(copy / "i18n.csv", "key,fr,en\n", "key,fr,en,id\n")
    assert reread()[-1] == "id"
    assert i18n.problems()[0].startswith("'id' is a key the tables use for data, so it cannot name a language column")


@pytest.fixture
def locales(monkeypatch):
    """Formatting for languages the tables do not hold, each by the locale given here (caches emptied after)."""
    cached = [formatting._symbols, formatting._euro_affixes, formatting._date_pattern, formatting._plural_rule]

    def use(mapping: dict[str, str]) -> None:
        monkeypatch.setattr(formatting, "_locale", lambda lang: Locale.parse(mapping[lang]))
        for f in cached:
            f.cache_clear()

    yield use
    for f in cached:
        f.cache_clear()


@pytest.mark.parametrize("locale", ["fr_FR", "en_GB", "en_US", "de_DE", "es_ES", "tr_TR", "de_CH"])
def test_numbers_and_dates_are_written_by_the_locale_alone(locales, locale):
    """Babel's own formatting of each locale (a narrow no-break space for its no-break one, whole years):
    no language is special-cased (tr_TR writes "%38", de_CH "12’345.5")."""
    locales({"xx": locale})
    narrow = str.maketrans({"\u00a0": formatting.NNBSP})
    assert formatting.number(12345.5, "xx", 1) == numbers.format_decimal(12345.5, "#,##0.0", locale=locale).translate(
        narrow
    )
    assert formatting.percent(0.385, "xx") == numbers.format_percent(0.385, locale=locale).translate(narrow)
    expected = numbers.format_currency(200000, "EUR", locale=locale, currency_digits=False, format_type="standard")
    assert formatting.euros(200000, "xx") == re.sub(r"[.,\u2019]00(?!\d)", "", expected).translate(narrow)
    short = dates.format_date(dt.date(2025, 3, 14), "short", locale=locale)
    assert formatting.date(dt.date(2025, 3, 14), "xx") == (
        short if "2025" in short else re.sub(r"\b25\b", "2025", short)
    )
