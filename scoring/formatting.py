"""Numbers, dates and punctuation as each language writes them: the one place the tool formats them.

A language's conventions are its Babel locale's (CLDR), which the translation
table names (`scoring.i18n.locale`, the `lang.locale` row of data/i18n.csv):
French (fr_FR) writes "38,5 %", "12 345", "200 000 €", "14/03/2025"; English
(en_GB) "38.5%", "12,345", "€200,000", "14/03/2025"; a language added to the
tables gets its own with no code. Where a locale puts a no-break space between
digits or between a number and its unit, the tool writes the narrow one
(U+202F). The digits are written by Python's own formatting, because the batch
path words hundreds of thousands of reasons and Babel's pattern engine costs
about 20 µs a number. The minus sign is U+2212, in every language, so a signed
number does not break at a line end. French typography also puts a narrow
no-break space before ; : ? ! (`typeset`), a rule of the language that no
locale data carries.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale, dates, numbers

NNBSP = "\u202f"  # narrow no-break space
MINUS = "\u2212"
#: Languages whose typography puts a narrow no-break space before ; : ? ! (French's rule; CLDR has no such datum).
SPACED_PUNCTUATION = ("fr",)
_SPACE_BEFORE = re.compile(r"[ \u00a0]([;:?!%])")
# Glued to a word: "moyen:" but not "http://", "10:30" or a format field's "{x:.1f}".
_GLUED = re.compile(r"(?<=[\w})»*])([;:?!])(?=\s|$)|(?<=[\d}])(%)(?![a-z(%])")


@lru_cache(maxsize=None)
def _locale(lang: str) -> Locale:
    # scoring.i18n imports this module (it typesets its labels), so its table is reached once both are loaded
    from scoring import i18n

    return i18n.locale(lang)


def _narrow(text: str) -> str:
    return text.replace("\u00a0", NNBSP)


def _affixes(pattern: str, symbol: str, sign: str) -> tuple[str, str]:
    """(prefix, suffix) of a CLDR number pattern's positive part, `symbol` as `sign`: "#,##0 %" -> ("", " %")."""
    positive = pattern.split(";")[0]
    digits = [i for i, c in enumerate(positive) if c in "#0,."]
    prefix, suffix = positive[: digits[0]], positive[digits[-1] + 1 :]
    return _narrow(prefix.replace(symbol, sign)), _narrow(suffix.replace(symbol, sign))


@lru_cache(maxsize=None)
def _symbols(lang: str) -> tuple[dict[int, str], tuple[str, str]]:
    """(translation of Python's "," and "." to the locale's group and decimal symbols, percent prefix and suffix)."""
    loc = _locale(lang)
    group = _narrow(numbers.get_group_symbol(loc))
    decimal = numbers.get_decimal_symbol(loc)
    # the "latn" symbols, as Babel's getters above take them: Python writes the digits, in Latin script
    percent = _affixes(loc.percent_formats[None].pattern, "%", loc.number_symbols["latn"]["percentSign"])
    return str.maketrans({",": group, ".": decimal, "-": MINUS}), percent


def separators(lang: str) -> tuple[str, str]:
    """(decimal symbol, thousands separator), for renderers that format numbers themselves (Vega)."""
    table, _ = _symbols(lang)
    return table[ord(".")], table[ord(",")]


def percent_format(lang: str, spec: str = "d") -> str:
    """A printf pattern of a percentage, for widgets that write their numbers themselves (Streamlit's slider
    and progress column): "%d %%" with a narrow no-break space (fr), "%d%%" (en); `spec` is the number's
    conversion ("d", ".0f")."""
    prefix, suffix = _symbols(lang)[1]
    return prefix.replace("%", "%%") + "%" + spec + suffix.replace("%", "%%")


def number(x: float, lang: str, digits: int = 0, sign: bool = False) -> str:
    """`x` with `digits` decimals and thousands separators: 12345.5 -> "12 345,5" (fr), "12,345.5" (en)."""
    table, _ = _symbols(lang)
    return f"{x:{'+' if sign else ''},.{digits}f}".translate(table)


def score(s: float, lang: str) -> str:
    """A criterion score on its 0-5 scale, half points shown only when present: "3,5/5", "4/5"."""
    return number(s, lang, 0 if float(s).is_integer() else 1) + "/5"


def percent(p: float, lang: str, digits: int = 0) -> str:
    """A probability (0-1) as a percentage: 0.385 -> "38 %" (fr), "38%" (en)."""
    prefix, suffix = _symbols(lang)[1]
    return prefix + number(100 * p, lang, digits) + suffix


def points(v: float, lang: str, digits: int = 1) -> str:
    """A difference of probabilities (0-1) in signed percentage points: 0.067 -> "+6,7"."""
    return number(100 * v, lang, digits, sign=True)


def plural(x: float | Decimal, lang: str) -> str:
    """CLDR's plural category of the number `x` as written, "one" or "other": French says "1,5 point" and
    "0 dossier", English "1 point" and "1.5 points". Labels with a count have a key per category (`key.one`).
    A Decimal keeps the written trailing zeros, which CLDR counts ("1.0 points"); a whole float reads as an int."""
    return "one" if _plural_rule(lang)(abs(x)) == "one" else "other"


@lru_cache(maxsize=None)
def _plural_rule(lang: str):
    return _locale(lang).plural_form


@lru_cache(maxsize=None)
def _euro_affixes(lang: str) -> tuple[str, str]:
    loc = _locale(lang)
    return _affixes(loc.currency_formats["standard"].pattern, "¤", numbers.get_currency_symbol("EUR", loc))


def euros(v: float, lang: str) -> str:
    """An amount in whole euros, the symbol where the locale puts it: "200 000 €" (fr), "€200,000" (en)."""
    prefix, suffix = _euro_affixes(lang)
    return prefix + number(v, lang) + suffix


@lru_cache(maxsize=None)
def _date_pattern(lang: str) -> str:
    # the locale's short date, with the year in full: "dd/MM/y" (fr, en_GB), "dd.MM.yy" -> "dd.MM.y" (de)
    return re.sub("y+", "y", dates.get_date_format("short", locale=_locale(lang)).pattern)


def date(d: dt.date, lang: str) -> str:
    """A day, the locale's short way with the year in full: "14/03/2025" (fr, en), "14.03.2025" (de)."""
    return dates.format_date(d, _date_pattern(lang), locale=_locale(lang))


def typeset(text: str, lang: str) -> str:
    """`text` with its language's punctuation spacing: `french_spacing` for French, as written otherwise."""
    return french_spacing(text) if lang.split("_")[0] in SPACED_PUNCTUATION else text


def french_spacing(text: str) -> str:
    """French text with a narrow no-break space before ; : ? ! % (added where missing, replacing a space)."""
    return _GLUED.sub(lambda m: NNBSP + (m.group(1) or m.group(2)), _SPACE_BEFORE.sub(NNBSP + r"\1", text))
