"""The explanation's words for numbers: a probability's move, an interval, an input's name.

Sentences come from the translation tables (`scoring.i18n.t`); numbers are written by `scoring.formatting`
in the reader's locale. An interval is written with as many decimals as its two ends need to differ, and
the probability beside it with as many.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from scoring import formatting
from scoring.features import CRITERIA
from scoring.i18n import t
from scoring.model import INTERVAL_LEVEL

#: What every view writes for a probability that is not estimated (the funding of a window that cannot take
#: the dossier): a dash in every language, as the app's metrics write it.
NO_ESTIMATE = "—"


def amount(v: float, target: str, lang: str) -> str:
    """A move of a probability in words, with its sign and the probability it moves: "+8,0 points de
    P(labellisé)", "+1,5 point de ..." (French singular below 2), plural by CLDR (`formatting.plural`)."""
    shown = formatting.points(v, lang)
    return t(
        f"amount.{formatting.plural(Decimal(f'{100 * abs(v):.1f}'), lang)}",
        lang,
        v=shown,
        target=t(f"target.{target}", lang),
    )


def input_label(name: str, lang: str) -> str:
    return t(f"criterion.{name}", lang) if name in CRITERIA else t(f"input.{name}", lang)


def _digits(lo: float, hi: float, lang: str) -> int:
    """Decimals the two ends of an interval need (up to 2) to differ as written, and so that neither reads
    0 % or 100 % when it is not: near 0 or 1 an interval is narrow, never a point ("100-100 %"), and a
    dossier at 0.4 % is not written as one that has no chance ("0 % - 1 %")."""

    def honest(d: int) -> bool:
        if formatting.percent(lo, lang, d) == formatting.percent(hi, lang, d):
            return False
        return all(x in (0.0, 1.0) or round(100 * x, d) not in (0, 100) for x in (lo, hi))

    return next((d for d in range(3) if honest(d)), 2)


def interval_text(lo: float, hi: float, lang: str) -> str:
    """ "intervalle à 80 % : 62 % – 71 %", "… : 99,6 % – 99,9 %" near 1."""
    digits = _digits(lo, hi, lang)
    return t(
        "interval.text",
        lang,
        level=formatting.percent(INTERVAL_LEVEL, lang),
        lo=formatting.percent(lo, lang, digits),
        hi=formatting.percent(hi, lang, digits),
    )


def interval_dict(bands: dict[str, Any], values: dict[str, float], lang: str) -> dict[str, Any]:
    """Each target's interval, its words, and the probability written with as many decimals as its interval
    (`shown`): "0,4 %" beside "0,3 % – 0,5 %", not "0 %"."""
    ends = {target: (float(lo), float(hi)) for target, (lo, hi) in bands.items()}
    out: dict[str, Any] = {"level": INTERVAL_LEVEL, **{target: [lo, hi] for target, (lo, hi) in ends.items()}}
    out["text"] = {target: interval_text(lo, hi, lang) for target, (lo, hi) in ends.items()}
    out["shown"] = {
        target: formatting.percent(values[target], lang, _digits(lo, hi, lang)) for target, (lo, hi) in ends.items()
    }
    return out


def without_estimate(interval: dict[str, Any], target: str) -> dict[str, Any]:
    """`interval` with `target`'s probability and interval written as not estimated in every view (text,
    HTML, app): the numbers stay for the JSON's readers, the words never present them as an estimate."""
    return {
        **interval,
        "text": {**interval["text"], target: NO_ESTIMATE},
        "shown": {**interval["shown"], target: NO_ESTIMATE},
    }
