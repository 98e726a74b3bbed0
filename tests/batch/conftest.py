"""Fixtures for batch tests: a small generated portfolio, written in any of the three formats."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring import catalogue
from scoring.synthetic import TRUE_P_COLUMNS, generate


@pytest.fixture(scope="session")
def portfolio() -> pd.DataFrame:
    """40 valid dossiers as an analyst would have them: no outcome yet."""
    return generate(40, seed=3).drop(columns=list(TRUE_P_COLUMNS) + list(catalogue.OUTCOMES))


def write(frame: pd.DataFrame, path) -> str:
    """The file as a spreadsheet or an export would hold it (CSV: text; XLSX, Parquet: typed cells)."""
    path = str(path)
    if path.endswith(".csv"):
        frame.to_csv(path, index=False, lineterminator="\n")
    elif path.endswith(".xlsx"):
        frame.to_excel(path, index=False, engine="openpyxl")
    else:
        frame.to_parquet(path, index=False)
    return path


def read(path) -> pd.DataFrame:
    """An output read back as text, so that what was written is what is compared."""
    path = str(path)
    if path.endswith(".csv"):
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if path.endswith(".xlsx"):
        return pd.read_excel(path, dtype=object, engine="openpyxl")
    return pd.read_parquet(path)
