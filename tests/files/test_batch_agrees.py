"""Batch reads every CSV `validate` reads, with the same rows and verdicts (issue 14).

Messy CSVs are drawn (separators, BOM, LF/CRLF/CR line ends, quoted values with line
breaks, stray quotes, blank and white-space lines, short rows, repeated ids) and scored
by batch in small chunks: row for row, its status and reasons are validate's.
"""

from __future__ import annotations

from io import StringIO

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import io, schema
from scoring.batch import run_batch
from tests.files.corpus import portfolio

BASE = pd.read_csv(StringIO(portfolio().head(6).to_csv(index=False)), dtype=str, keep_default_na=False)
TITLE = list(BASE.columns).index("title")


def _cell(text: str, sep: str, quote: bool) -> str:
    if quote or any(c in text for c in (sep, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


@st.composite
def messy_csv(draw) -> bytes:
    sep = draw(st.sampled_from([",", ";"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [sep.join(_cell(c, sep, False) for c in BASE.columns)]
    if draw(st.booleans()):
        lines.insert(0, "")
    for row in BASE.itertuples(index=False):
        cells = list(row)
        kind = draw(st.sampled_from(["plain", "quoted", "line_break", "stray_quote", "short", "repeat_id"]))
        if kind == "line_break":
            cells[TITLE] += draw(st.sampled_from(["\nsuite", "\r\nsuite", "\rsuite"]))
        elif kind == "stray_quote":
            cells[TITLE] = cells[TITLE].replace(" ", ' 5" ', 1)
        elif kind == "short":
            cells = cells[: draw(st.integers(1, len(cells) - 1))]
        elif kind == "repeat_id":
            cells[0] = BASE.iat[0, 0]
        rendered = [
            c if kind == "stray_quote" and j == TITLE else _cell(c, sep, kind == "quoted") for j, c in enumerate(cells)
        ]
        lines.append(sep.join(rendered))
        lines += draw(st.lists(st.sampled_from(["", "   "]), max_size=1))
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return text.encode(encoding)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=messy_csv(), chunk_rows=st.sampled_from([1, 2, 5, 100]))
def test_batch_agrees_with_validate_row_for_row_on_messy_csv(tmp_path, bundle, data, chunk_rows):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(data)
    try:
        v = schema.validate_frame(io.read_table(src))
    except schema.SchemaError as exc:
        with pytest.raises(schema.SchemaError):
            run_batch(src, dst, bundle, chunk_rows=chunk_rows, workers=1)
        return exc
    summary = run_batch(src, dst, bundle, chunk_rows=chunk_rows, workers=1)
    out = pd.read_csv(dst, dtype=str, keep_default_na=False)
    assert summary.rows == len(v.ok) == len(out)
    assert list(out["status"] == "ok") == list(v.ok)
    assert list(out["error"]) == [r or "" for r in v.reasons()]
