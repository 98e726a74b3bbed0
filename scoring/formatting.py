"""Numbers and punctuation as each language writes them: the one place the tool formats them.

French: decimal comma, a narrow no-break space (U+202F) as thousands separator
and before % : ; ? ! ("38,5 %", "12 345", "Guichet : i-Démo"). English:
"38.5%", "12,345". The separators come from Babel's locale data (CLDR); the
digits are written by Python's own formatting, because the batch path words
hundreds of thousands of reasons and Babel's pattern engine costs about 20 µs a
number. The minus sign is U+2212, in both languages, so a signed number does not
break at a line end.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from babel import Locale, numbers

LOCALES = {"fr": "fr_FR", "en": "en_GB"}
NNBSP = "\u202f"  # narrow no-break space
MINUS = "\u2212"
_SPACE_BEFORE = re.compile(r"[ \u00a0]([;:?!%])")
# Glued to a word: "moyen:" but not "http://", "10:30" or a format field's "{x:.1f}".
_GLUED = re.compile(r"(?<=[\w})»*])([;:?!])(?=\s|$)|(?<=[\d}])(%)(?![a-z(%])")


@lru_cache(maxsize=None)
def _symbols(lang: str) -> tuple[dict[int, str], str]:
    """(translation of Python's "," and "." to the locale's group and decimal symbols, percent suffix)."""
    locale = LOCALES[lang]
    group = numbers.get_group_symbol(locale)
    decimal = numbers.get_decimal_symbol(locale)
    percent = numbers.format_percent(0, locale=locale).removeprefix("0")
    if lang == "fr":
        group, percent = NNBSP, NNBSP + percent.strip()
    return str.maketrans({",": group, ".": decimal, "-": MINUS}), percent


def separators(lang: str) -> tuple[str, str]:
    """(decimal symbol, thousands separator), for renderers that format numbers themselves (Vega)."""
    table, _ = _symbols(lang)
    return table[ord(".")], table[ord(",")]


def number(x: float, lang: str, digits: int = 0, sign: bool = False) -> str:
    """`x` with `digits` decimals and thousands separators: 12345.5 -> "12 345,5" (fr), "12,345.5" (en)."""
    table, _ = _symbols(lang)
    return f"{x:{'+' if sign else ''},.{digits}f}".translate(table)


def score(s: float, lang: str) -> str:
    """A criterion score on its 0-5 scale, half points shown only when present: "3,5/5", "4/5"."""
    return number(s, lang, 0 if float(s).is_integer() else 1) + "/5"


def percent(p: float, lang: str, digits: int = 0) -> str:
    """A probability (0-1) as a percentage: 0.385 -> "38 %" (fr), "38%" (en)."""
    return number(100 * p, lang, digits) + _symbols(lang)[1]


def points(v: float, lang: str, digits: int = 1) -> str:
    """A difference of probabilities (0-1) in signed percentage points: 0.067 -> "+6,7"."""
    return number(100 * v, lang, digits, sign=True)


def plural(x: float, lang: str) -> str:
    """CLDR's plural category of the number `x` as written, "one" or "other": French says "1,5 point" and
    "0 dossier", English "1 point" and "1.5 points". Labels with a count have a key per category (`key.one`)."""
    return "one" if _plural_rule(lang)(abs(x)) == "one" else "other"


@lru_cache(maxsize=None)
def _plural_rule(lang: str):
    return Locale.parse(LOCALES[lang]).plural_form


def euros(v: float, lang: str) -> str:
    return number(v, lang) + NNBSP + "€" if lang == "fr" else "€" + number(v, lang)


def date(d: dt.date, lang: str) -> str:
    return f"{d:%d/%m/%Y}" if lang == "fr" else f"{d:%Y-%m-%d}"


def french_spacing(text: str) -> str:
    """French text with a narrow no-break space before ; : ? ! % (added where missing, replacing a space)."""
    return _GLUED.sub(lambda m: NNBSP + (m.group(1) or m.group(2)), _SPACE_BEFORE.sub(NNBSP + r"\1", text))
