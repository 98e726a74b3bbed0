"""A corpus of real-world and broken files of dossiers, each with what `validate` must say of it.

Run `python -m tests.files.corpus DIR` to write it; `tests/files/test_corpus.py` runs every
command and the app's uploader on each file. An expected outcome is the exit code of
`cep-scoring validate` (0 every row valid, 1 some rows in error, 2 the file cannot be used),
the rows read and the rows in error (None when the file cannot be used), and for exit 2 a
word of the one-line message.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from scoring import catalogue, jsonform, schema
from scoring.synthetic import TRUE_P_COLUMNS, generate

ROWS = 12


@dataclass(frozen=True)
class Case:
    name: str
    exit: int
    rows: int | None = None
    bad: int | None = None
    says: str = ""  # a word of the one-line message, for exit 2


def portfolio() -> pd.DataFrame:
    """12 valid dossiers, no outcome, as an analyst would have them."""
    return generate(ROWS, seed=14).drop(columns=list(TRUE_P_COLUMNS) + list(catalogue.OUTCOMES))


def _french(frame: pd.DataFrame, space: str) -> pd.DataFrame:
    """Amounts as a French Excel writes them: `1 200 000,50` (`space`: the thousands separator), `1.200,5`."""
    out = frame.copy()
    out["budget_eur"] = [f"{v:,.2f}".replace(",", space).replace(".", ",") for v in frame["budget_eur"]]
    out["aid_requested_eur"] = [
        f"{v:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".") for v in frame["aid_requested_eur"]
    ]
    return out


def _csv(frame: pd.DataFrame, **kw) -> str:
    return frame.to_csv(index=False, lineterminator=kw.pop("lineterminator", "\n"), **kw)


def _xlsx(sheets: dict[str, pd.DataFrame], edit: Callable[[str], str] | None = None) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as w:
        for name, frame in sheets.items():
            frame.to_excel(w, sheet_name=name, index=False)
    if edit is None:
        return buf.getvalue()
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode()).encode()
            z.writestr(item, data)
    return out.getvalue()


def _dimension(ref: str) -> Callable[[str], str]:
    return lambda xml: re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{ref}"', xml)


def _merged_header(xml: str) -> str:
    return xml.replace("</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="B1:C1"/></mergeCells>')


def _far_cell(xml: str) -> str:
    return xml.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')


def _size_bomb(good: bytes) -> bytes:
    out = io.BytesIO(good)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z, z.open("xl/media/padding.bin", "w") as f:
        block = b"\0" * (1 << 20)
        for _ in range(260):
            f.write(block)
    return out.getvalue()


def files(frame: pd.DataFrame) -> dict[str, tuple[bytes, Case]]:
    """{file name: (bytes, expected outcome)}."""
    n = len(frame)
    ok = Case("", 0, n, 0)
    plain = _csv(frame)
    lines = plain.split("\n")
    header_fr = pd.read_csv(Path(schema.__file__).parent.parent / "data" / "headers_fr.csv")
    first_fr = header_fr.drop_duplicates("column").set_index("column")["header"]
    dossier = jsonform.to_json(schema.validate_frame(frame.head(1)).frame.iloc[0])
    wide = pd.concat(
        [frame.head(5), pd.DataFrame(0, index=range(5), columns=[f"extra_{k}" for k in range(5000)])], axis=1
    )
    tz = frame.copy()
    tz["submission_date"] = [
        f"{d}T10:00:00+05:00" if k % 2 else f"{d}T23:30:00Z" for k, d in enumerate(frame["submission_date"])
    ]
    dup = pd.concat([frame, frame.head(1)], ignore_index=True)
    bad = frame.copy()
    bad.loc[1, "trl"], bad.loc[4, "filiere"] = 12, "pharma"
    formula = frame.copy()
    formula.loc[0, "title"] = '=HYPERLINK("http://x","clic")'
    formula['=HYPERLINK("http://x")'] = "-5"
    oui = frame.copy()
    oui["collaborative"] = oui["collaborative"].map({True: "oui", False: "non"})
    newlines = frame.copy()
    newlines.loc[0, "title"] = "Deux\nlignes"
    newlines.loc[1, "title"] = "Retour\rchariot"
    numeric_ids = frame.copy()
    numeric_ids["dossier_id"] = range(1001, 1001 + n)
    true_trl = frame.copy().astype({"trl": object})
    true_trl.loc[2, "trl"] = True
    notes = pd.DataFrame({"Notes": ["Export CEP", "données sur la feuille 2"]})
    good_xlsx = _xlsx({"Dossiers": frame})
    out: dict[str, tuple[bytes, Case]] = {
        "plain.csv": (plain.encode(), ok),
        "fr_excel_cp1252.csv": (
            _csv(_french(frame, "\u00a0").rename(columns=first_fr.to_dict()), sep=";", lineterminator="\r\n").encode(
                "cp1252"
            ),
            ok,
        ),
        "fr_excel_utf8_bom.csv": (
            b"\xef\xbb\xbf" + _csv(_french(frame, "\u202f"), sep=";", lineterminator="\r\n").encode(),
            ok,
        ),
        "cr_line_ends.csv": (_csv(frame, sep=";", decimal=",", lineterminator="\r").encode("cp1252"), ok),
        "crlf.csv": (_csv(frame, lineterminator="\r\n").encode(), ok),
        "excel_unicode_text.csv": (_csv(frame, sep="\t", lineterminator="\r\n").encode("utf-16"), ok),
        "french_headers.csv": (_csv(frame.rename(columns=first_fr.to_dict())).encode(), ok),
        "leading_blank_lines.csv": (("\n\n" + plain).encode(), ok),
        "whitespace_only_line.csv": ("\n".join(lines[:4] + ["   "] + lines[4:]).encode(), ok),
        "row_of_separators.csv": ("\n".join(lines[:4] + ["," * (len(frame.columns) - 1)] + lines[4:]).encode(), ok),
        "short_row.csv": ("\n".join(lines[:4] + ["X-short,abc"] + lines[4:]).encode(), Case("", 1, n + 1, 1)),
        "long_row.csv": ("\n".join(lines[:4] + [lines[4] + ",extra"] + lines[5:]).encode(), Case("", 2, says="cells")),
        "stray_quote.csv": (
            "\n".join(lines[:3] + [lines[3].replace("Synthetic", 'Synth"etic', 1)] + lines[4:]).encode(),
            ok,
        ),
        "quote_never_closed.csv": (
            "\n".join(lines[:3] + [lines[3].replace(",", ',"', 1)] + lines[4:]).encode(),
            Case("", 2, says="never closed"),
        ),
        "newlines_in_titles.csv": (_csv(newlines, quoting=csv.QUOTE_NONNUMERIC).encode(), ok),
        "empty.csv": (b"", Case("", 2, says="empty")),
        "header_only.csv": ((lines[0] + "\n").encode(), Case("", 0, 0, 0)),
        "binary.csv": (bytes(range(256)) * 8, Case("", 2, says="binary")),
        "workbook_named_csv.csv": (good_xlsx, Case("", 2, says="rename it .xlsx")),
        "csv_named_xlsx.xlsx": (plain.encode(), Case("", 2, says="rename it .csv")),
        "duplicate_header.csv": (
            _csv(frame.assign(extra=frame["title"])).replace(",extra\n", ",title\n", 1).encode(),
            Case("", 2, says="both named 'title'"),
        ),
        "french_and_english_header.csv": (
            _csv(frame.assign(Titre=frame["title"])).encode(),
            Case("", 2, says="both mean 'title'"),
        ),
        "duplicate_ids.csv": (_csv(dup).encode(), Case("", 1, n + 1, 2)),
        "time_zones.csv": (_csv(tz).encode(), ok),
        "missing_column.csv": (_csv(frame.drop(columns=["trl"])).encode(), Case("", 2, says="trl")),
        "wide_5000_columns.csv": (_csv(wide).encode(), Case("", 0, 5, 0)),
        "formulas.csv": (_csv(formula).encode(), ok),
        "oui_non.csv": (_csv(oui, sep=";").encode("cp1252"), ok),
        "bad_values.csv": (_csv(bad).encode(), Case("", 1, n, 2)),
        "data_on_sheet_2.xlsx": (_xlsx({"Notes": notes, "Dossiers": frame}), Case("", 2, says="--sheet")),
        "good.xlsx": (good_xlsx, ok),
        "dimension_understated.xlsx": (_xlsx({"D": frame}, _dimension("A1:C2")), ok),
        "dimension_a1.xlsx": (_xlsx({"D": frame}, _dimension("A1")), ok),
        "merged_header.xlsx": (_xlsx({"D": frame}, _merged_header), Case("", 2, says="merged")),
        "numeric_ids.xlsx": (_xlsx({"D": numeric_ids}), ok),
        "excel_true_in_trl.xlsx": (_xlsx({"D": true_trl}), Case("", 1, n, 1)),
        "size_bomb.xlsx": (_size_bomb(good_xlsx), Case("", 2, says="expands")),
        "cell_bomb.xlsx": (_xlsx({"D": frame}, _far_cell), Case("", 2, says="cells")),
        "damaged.xlsx": (good_xlsx[: len(good_xlsx) // 2], Case("", 2, says="damaged")),
        "one.json": (json.dumps(dossier).encode(), Case("", 0, 1, 0)),
        "list.json": (json.dumps([dossier, dict(dossier, dossier_id="B")]).encode(), Case("", 0, 2, 0)),
        "empty_list.json": (b"[]", Case("", 2, says="no dossier")),
        "nan.json": (json.dumps(dossier).replace('"trl": 5', '"trl": NaN').encode(), Case("", 2, says="NaN")),
        "deep.json": (b"[" * 100_000, Case("", 2, says="nested")),
        "boolean_trl.json": (json.dumps(dict(dossier, trl=True)).encode(), Case("", 1, 1, 1)),
        "number_id.json": (json.dumps(dict(dossier, dossier_id=42)).encode(), Case("", 1, 1, 1)),
        "duplicate_ids.json": (json.dumps([dossier, dossier]).encode(), Case("", 1, 2, 2)),
        "not_json.json": (plain.encode(), Case("", 2, says="not valid JSON")),
        "cp1252.json": (
            json.dumps(dict(dossier, title="Stratégie"), ensure_ascii=False).encode("cp1252"),
            Case("", 2, says="UTF-8"),
        ),
        "plain.parquet": (_parquet(frame), ok),
        "numeric_ids.parquet": (_parquet(numeric_ids), ok),
        "notes.txt": (b"hello", Case("", 2, says="unsupported")),
    }
    return {name: (data, Case(name, c.exit, c.rows, c.bad, c.says)) for name, (data, c) in out.items()}


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def write_corpus(folder: str | Path) -> list[Case]:
    """Write every file of the corpus into `folder` (and a folder named like a file); return the cases."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, (data, case) in files(portfolio()).items():
        (folder / name).write_bytes(data)
        cases.append(case)
    (folder / "a_folder.csv").mkdir(exist_ok=True)
    cases.append(Case("a_folder.csv", 2, says="folder"))
    return cases


if __name__ == "__main__":
    for case in write_corpus(sys.argv[1] if len(sys.argv) > 1 else "corpus"):
        print(
            f"{case.name}: exit {case.exit}"
            + (f", {case.rows} rows, {case.bad} bad" if case.rows is not None else f" ({case.says})")
        )
