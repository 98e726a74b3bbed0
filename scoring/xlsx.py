"""Reading a workbook's sheet of dossiers (python-calamine), within bounds set before parsing.

A workbook is refused before it is parsed when it is not one, when it would
expand past `MAX_XLSX_BYTES`, or when a sheet's cells span more than
`MAX_XLSX_CELLS` from A1 (a reader lays a sheet out as a grid, whatever its
`<dimension>` tag says). The header is the first non-empty row; merged header
cells, a missing sheet or missing columns are refused naming what to do.
`scoring.io` turns the cells into its table (text fields as text).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.fields import REQUIRED_COLUMNS
from scoring.schema import SchemaError, canonical_columns, check_headers

MAX_XLSX_BYTES = 200 << 20  # uncompressed: a 20 MB upload of real data expands to about 100 MB
MAX_XLSX_CELLS = 5_000_000  # 100,000 dossiers of 50 columns


def read_sheet(path: str | Path, data: bytes, sheet: str | None) -> tuple[pd.DataFrame, str, int]:
    """The dossiers of a workbook's sheet (`sheet`, else the first) as cells, with the sheet's name and its
    header's row number; a SchemaError saying what to do when the sheet is missing, empty or lacks columns."""
    from python_calamine import CalamineWorkbook

    _check_workbook(data)
    wb = CalamineWorkbook.from_path(str(path))
    names = list(wb.sheet_names)
    listed = ", ".join(repr(n) for n in names)
    if sheet is not None and sheet not in names:
        raise SchemaError(key="no_sheet", sheet=sheet, listed=listed)
    name = sheet or names[0]
    ws = wb.get_sheet_by_name(name)
    rows = ws.to_python(skip_empty_area=False)
    top = next((k for k, r in enumerate(rows) if any(v != "" for v in r)), None)
    if top is None:
        raise SchemaError(key="empty_sheet", sheet=name, listed=listed)
    merged = [
        f"{_cell(r0, c0)}:{_cell(r1, c1)}"
        for (r0, c0), (r1, c1) in ws.merged_cell_ranges or ()
        if r0 <= top <= r1 and c1 > c0
    ]
    if merged:
        raise SchemaError(key="merged", sheet=name, cells=", ".join(merged))
    header = [str(v).strip() for v in rows[top]]
    while header and not header[-1]:
        header.pop()
    check_headers(header)
    header = [h or f"Unnamed: {k}" for k, h in enumerate(header)]
    width = len(header)
    body = [[None if v == "" else v for v in r[:width]] + [None] * (width - len(r)) for r in rows[top + 1 :]]
    body = [r for r in body if any(v is not None and not (isinstance(v, str) and not v.strip()) for v in r)]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    canon = set(canonical_columns(header).values())
    absent = [c for c in REQUIRED_COLUMNS if c not in canon]
    if absent:
        others = [n for n in names if n != name and _has_columns(wb, n)]
        fields: dict[str, Any] = dict(sheet=name, row=top + 1, columns=", ".join(absent), listed=listed)
        if others:
            raise SchemaError(key="sheet_lacks_other", other=others[0], **fields)
        raise SchemaError(key="sheet_lacks", **fields)
    return frame, name, top + 1


def _cell(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, r = divmod(col - 1, 26)
        letters = chr(65 + r) + letters
    return f"{letters}{row + 1}"


def _has_columns(wb, name: str) -> bool:
    ws = wb.get_sheet_by_name(name)
    first: list = next((r for r in ws.iter_rows() if any(v != "" for v in r)), [])
    canon = set(canonical_columns([str(v) for v in first]).values())
    return all(c in canon for c in REQUIRED_COLUMNS)


def _check_workbook(data: bytes) -> None:
    """Refuse before parsing what is not a workbook, or one that would expand past MAX_XLSX_BYTES."""
    import io as _io

    if data[:4] != b"PK\x03\x04":
        raise SchemaError(key="not_workbook")
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as z:
            size = sum(i.file_size for i in z.infolist())
            if size > MAX_XLSX_BYTES:
                raise SchemaError(
                    f"the workbook expands to {size / 2**20:,.0f} MB, more than the "
                    f"{MAX_XLSX_BYTES >> 20} MB read at once; save the sheet as CSV or split it"
                )
            for name in z.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    _check_extent(name, z.read(name))
    except zipfile.BadZipFile:
        raise SchemaError(key="damaged_workbook") from None


def _check_extent(name: str, xml: bytes) -> None:
    """Refuse a sheet whose cells span more than MAX_XLSX_CELLS from A1, from its cell references.

    A reader lays a sheet out as a grid from A1 to its farthest cell: one cell at XFD1048576
    is a grid of 17 billion cells, whatever the `<dimension>` tag claims. Counted in C first.
    """
    if xml.count(b"<c ") > MAX_XLSX_CELLS:
        raise SchemaError(f"{name} holds more than {MAX_XLSX_CELLS:,} cells; split the workbook or save it as CSV")
    letters = max(set(re.findall(rb'<c r="([A-Z]+)', xml)), key=lambda c: (len(c), c), default=b"A")
    width = 0
    for ch in letters:
        width = width * 26 + ch - 64
    height = max(map(int, re.findall(rb'<row r="(\d+)"', xml)), default=1)
    if width * height > MAX_XLSX_CELLS:
        raise SchemaError(
            f"{name} spans {height:,} rows x {width:,} columns from A1, more than the "
            f"{MAX_XLSX_CELLS:,} cells read at once; delete the far cells or save the sheet as CSV"
        )
