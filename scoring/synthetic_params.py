"""The synthetic base's assumptions: `data/synthetic.toml`, loaded, checked, and read row by row.

Owns the parameter file's path and loading (`load_params`, cached), the
check that every window its window tables name is one of the catalogue's
(`check_windows`: a misspelt window would be silently ignored), and the two
lookups every part of the generator reads the TOML's tables with (`vector`,
`lookup`).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from scoring import DATA_DIR
from scoring.catalogue import codes

PARAMS_PATH = DATA_DIR / "synthetic.toml"
COMPANIES = ("tpe_pme", "eti", "grand_groupe")
#: The tables of data/synthetic.toml keyed by window code (`window_weights` by carrier, then window).
WINDOW_TABLES = ("calls", "window_success")


@lru_cache(maxsize=4)
def load_params(path: str | None = None) -> dict[str, Any]:
    with open(path or PARAMS_PATH, "rb") as fh:
        return tomllib.load(fh)


def check_windows(p: dict[str, Any]) -> None:
    """Refuse a window in the generator's window tables that the catalogue does not have (a typo would be ignored)."""
    windows = set(codes()["funding_window"])
    named = [(t, w) for t in WINDOW_TABLES for w in p.get(t, {})]
    named += [(f"window_weights.{c}", w) for c, row in p.get("window_weights", {}).items() for w in row]
    unknown = [f"[{t}] {w}" for t, w in named if w not in windows]
    if unknown:
        raise ValueError(
            f"data/synthetic.toml: {', '.join(unknown)}: not a window of data/codes.csv "
            f"({', '.join(codes()['funding_window'])})"
        )


def vector(spec: dict[str, float], keys: tuple[str, ...]) -> np.ndarray:
    return np.array([float(spec.get(k, 0.0)) for k in keys])


def lookup(
    values: np.ndarray, keys: tuple[str, ...], table: dict[str, dict[str, float]], cols: tuple[str, ...]
) -> np.ndarray:
    """Row-wise lookup of a nested table: out[i] = table[values[i]][cols]."""
    lut = np.array([vector(table.get(k, {}), cols) for k in keys])
    return lut[pd.Index(keys).get_indexer(values)]
