"""The translation tables and the languages they hold: every label the tool shows, in each language.

It merges readable files of `data/`: `codes.csv` (labels of coded values),
`rubric.toml` (questions, answers and the interview's `ask`, kept with the rubric because experts
tune them together), `i18n.csv` (the library's words: field and input
names, reason and advice templates) and `i18n_ui.csv` (the app's words).
A key defined twice is an error. Keys are dotted: `filiere.e_sante`,
`field.trl`, `rubric.dq_access`, `rubric.dq_access.not_secured`, `ui.submit`.

The languages are data: a language is a column of the CSV tables (after their
key columns) and a key beside `fr` in the rubric's questions, answers and `ask`
tables. `LANGS` is the language columns of `i18n.csv` in file order (French
first: the default), then any language another table holds; `table()` refuses
tables where a language lacks a text, naming the file, the keys and the
language. The row `lang.locale` of `i18n.csv` gives each language's Babel
locale, from which `scoring.formatting` writes numbers and dates; the
language's own name ("Deutsch") comes from Babel. Adding a language is a
column in each table and nothing in code (docs/extending.md).
Labels are typeset once here (`scoring.formatting.typeset`: French gets its narrow
no-break spaces before ; : ? ! %), so the files keep plain spaces.
"""

from __future__ import annotations

import csv
import tomllib
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError

from scoring import DATA_DIR
from scoring.formatting import number, plural, typeset

#: Translation tables read as CSV, with the columns that are not languages (the key).
CSV_TABLES = {"codes.csv": ("field", "code"), "i18n.csv": ("key",), "i18n_ui.csv": ("key",)}
RUBRIC = "rubric.toml"
LOCALE_KEY = "lang.locale"  # the i18n.csv row naming each language's Babel locale
_SHOWN = 8  # missing keys named in a message before "and N more"
#: Keys the tables' entries use for data: a language of that name would be taken for words (scoring.world leaves
#: every language's key out of a model's copy of the tables), e.g. Indonesian's "id", a question's id.
RESERVED = frozenset({"id", "code", "field", "key", "criterion", "weight", "points"})


def _csv_columns(name: str) -> list[str]:
    path = DATA_DIR / name
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), [])
    return [c for c in header if c not in CSV_TABLES[name]]


def _rubric_questions() -> list[dict[str, Any]]:
    with open(DATA_DIR / RUBRIC, "rb") as fh:
        return tomllib.load(fh)["question"]


def _rubric_languages() -> list[str]:
    # `ask` holds nothing but words, so its keys are the rubric's languages
    return list(dict.fromkeys(lang for q in _rubric_questions() for lang in q.get("ask", {})))


def _languages() -> tuple[str, ...]:
    """Every language a table holds: i18n.csv's columns in their order (the first is the default), then the rest."""
    found = _csv_columns("i18n.csv")
    for name in CSV_TABLES:
        found += _csv_columns(name)
    return tuple(dict.fromkeys(found + _rubric_languages()))


LANGS = _languages()
DEFAULT_LANG = LANGS[0]


def _entries() -> list[tuple[str, str, dict[str, Any]]]:
    """(file, key, {language: text as written}) of every translated key, in file order."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    with open(DATA_DIR / "codes.csv", encoding="utf-8", newline="") as fh:
        out += [("codes.csv", f"{row['field']}.{row['code']}", row) for row in csv.DictReader(fh)]
    for q in _rubric_questions():
        out.append((RUBRIC, f"rubric.{q['id']}", q))
        # the interview's question; "ask." not "rubric.": "rubric.<id>.<x>" keys are answers
        out.append((RUBRIC, f"ask.{q['id']}", q.get("ask", {})))
        out += [(RUBRIC, f"rubric.{q['id']}.{a['code']}", a) for a in q["answers"]]
    for name in ("i18n.csv", "i18n_ui.csv"):
        path = DATA_DIR / name
        if path.exists():
            with open(path, encoding="utf-8", newline="") as fh:
                out += [(name, row["key"], row) for row in csv.DictReader(fh)]
    return out


def problems() -> list[str]:
    """What keeps the tables from giving every key in every language, a sentence each with its fix; [] if nothing."""
    out = []
    columns = {name: _csv_columns(name) for name in CSV_TABLES}
    for lang in LANGS:
        if lang in RESERVED:
            out.append(
                f"{lang!r} is a key the tables use for data, so it cannot name a language column; name the column "
                f"by a locale instead (e.g. {lang}_{lang.upper()})"
            )
            continue
        try:
            Locale.parse(lang)
        except (ValueError, UnknownLocaleError):
            where = [f"data/{n}" for n in CSV_TABLES if lang in columns[n]] or [f"data/{RUBRIC}"]
            out.append(
                f"{', '.join(where)}: {lang!r} is not a language code Babel knows (columns are "
                f"{', '.join(k for keys in CSV_TABLES.values() for k in keys)} then one per language: fr, en, de...)"
            )
    for name in CSV_TABLES:
        for lang in [lang for lang in LANGS if lang not in columns[name]]:
            out.append(f"data/{name} has no {lang} column: add one, with the {lang} text of each row")
    missing: dict[tuple[str, str], list[str]] = {}
    seen: dict[str, str] = {}
    for name, key, texts in _entries():
        if name.startswith("i18n") and key in seen:
            out.append(f"data/{name}: key {key!r} is defined twice (also in data/{seen[key]}); keep one")
        seen.setdefault(key, name)
        for lang in LANGS:
            text = texts.get(lang)
            if (name == RUBRIC or lang in columns[name]) and not (isinstance(text, str) and text.strip()):
                missing.setdefault((name, lang), []).append(key)
    for (name, lang), keys in missing.items():
        shown = ", ".join(keys[:_SHOWN]) + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")
        how = (
            f'write `{lang} = "..."` beside `fr` in the question, its `ask` table and each answer'
            if name == RUBRIC
            else f"fill its {lang} column"
        )
        out.append(f"data/{name}: {len(keys)} key(s) have no {lang} text: {shown}; {how}")
    out += _locale_problems()
    return out


def _locale_problems() -> list[str]:
    row = next((texts for name, key, texts in _entries() if key == LOCALE_KEY), None)
    if row is None:
        return [f"data/i18n.csv has no {LOCALE_KEY} row: add one with each language's Babel locale (fr_FR, en_GB)"]
    out = []
    for lang in LANGS:
        try:
            Locale.parse(row.get(lang) or "")
        except (ValueError, UnknownLocaleError):
            out.append(
                f"data/i18n.csv: {LOCALE_KEY} of {lang} is {row.get(lang)!r}, not a locale Babel knows; "
                f"write one such as {lang}_{lang.upper()}"
            )
    return out


@lru_cache(maxsize=1)
def table() -> dict[str, dict[str, str]]:
    """Return {key: {language: label}} for every label of the tool, each language typeset its way.

    Incomplete tables raise ValueError with every problem of `problems()`.
    """
    found = problems()
    if found:
        raise ValueError("the translation tables are incomplete:\n- " + "\n- ".join(found))
    out = {key: {lang: str(texts[lang]) for lang in LANGS} for _, key, texts in _entries()}
    for labels in out.values():
        for lang in LANGS:
            labels[lang] = typeset(labels[lang], lang)
    return out


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r} is not supported; use one of {', '.join(LANGS)}")
    return lang


@lru_cache(maxsize=None)
def locale(lang: str) -> Locale:
    """The Babel locale whose conventions write `lang`'s numbers and dates (the `lang.locale` row of i18n.csv)."""
    return Locale.parse(table()[LOCALE_KEY][check_lang(lang)])


def name(lang: str) -> str:
    """The language's name in itself, as a chooser lists it: "Français", "English", "Deutsch"."""
    own = Locale.parse(check_lang(lang)).get_display_name(lang) or lang
    return own[:1].upper() + own[1:]


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """Label of `key` in `lang`, formatted with `fmt` (str.format fields).

    A missing key raises KeyError: a test checks that every key the code
    asks for exists in every language, so nothing falls back silently.
    """
    text = table()[key][check_lang(lang)]
    return text.format(**fmt) if fmt else text


def counted(key: str, n: int, lang: str = DEFAULT_LANG) -> str:
    """`key`'s words for the count `n`, in the number it takes (`key.one`, `key.other`): "0 ligne notée",
    "12 345 lignes notées", "1 row scored"."""
    return t(f"{key}.{plural(n, lang)}", lang, n=number(n, lang))


def code_label(field: str, code: str, lang: str = DEFAULT_LANG) -> str:
    """Display label of a coded value, e.g. ("filiere", "e_sante") -> "e-santé"."""
    return t(f"{field}.{code}", lang)
