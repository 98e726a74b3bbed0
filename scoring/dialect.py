"""How a CSV file is written: its encoding, separator, line ends and decimal mark.

A French Excel saves "CSV" as `;`-separated Windows-1252 with decimal commas,
"CSV UTF-8" with a BOM; other tools write `,`, tabs, LF, CRLF or a bare CR.
`detect` reads that from the file's bytes (each choice can be forced), and
`scoring.io.csv_how` words what was chosen in one line (in the reader's language),
so that a file read the wrong way is seen at once. `french_numbers` turns `1 200 000,50` and
`1.200.000,50` into `1200000.50` in the number columns of a decimal-comma
file; the validator then reads them as any other number.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SEPARATORS = (",", ";", "\t")
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
    "utf-16": "UTF-16",
}
SAMPLE_BYTES = 1 << 16
# a French amount: thousands grouped by a space (plain, no-break, narrow no-break) or a dot, then a decimal comma
_SPACES = " \u00a0\u202f"
_FRENCH_NUMBER = rf"^\s*[+-]?(?:\d{{1,3}}(?:[{_SPACES}]\d{{3}})+|\d{{1,3}}(?:\.\d{{3}})+|\d+)(?:,\d+)?\s*$"
_GROUPING = f"[{_SPACES}.]"


class DialectError(ValueError):
    """The bytes are not a text table (binary, a workbook, a forced encoding that does not fit)."""


@dataclass(frozen=True)
class Dialect:
    sep: str
    encoding: str  # a Python codec name
    newline: str  # "LF", "CRLF" or "CR"
    decimal: str  # "." or ","

    @property
    def plain(self) -> bool:
        """What batch's fast scanner reads: `,`-separated UTF-8 with LF or CRLF line ends and a decimal point."""
        return (
            self.sep == "," and self.encoding in ("utf-8", "utf-8-sig") and self.newline != "CR" and self.decimal == "."
        )


def detect(
    data: bytes, *, whole: bool, sep: str | None = None, encoding: str | None = None, decimal: str | None = None
) -> Dialect:
    """The dialect of a CSV file from its bytes (`whole`: all of them, else its first block).

    Encoding: the one forced, else UTF-16 or UTF-8 by their BOM, UTF-8 when every
    byte fits, else Windows-1252 (Latin-1 for the five bytes it leaves undefined).
    A sample that fits UTF-8 says UTF-8; a later block may disagree, and batch then
    re-reads the whole file (see scoring.batch).
    """
    _refuse_binary(data)
    enc = encoding or _encoding(data, whole)
    try:
        text = data.decode(enc) if whole else codecs.getincrementaldecoder(enc)().decode(data)
    except (UnicodeDecodeError, LookupError) as exc:
        raise DialectError(f"cannot be read as {encoding}: {exc}; leave out --encoding to detect it") from None
    text = text.lstrip("\ufeff")
    head = _first_line(text)
    chosen = sep or max(SEPARATORS, key=lambda s: (_count_outside_quotes(head, s), s == ","))
    cr, lf = text.find("\r"), text.find("\n")
    newline = "LF" if cr < 0 or 0 <= lf < cr else "CRLF" if text[cr + 1 : cr + 2] == "\n" else "CR"
    return Dialect(chosen, enc, newline, decimal or ("," if chosen == ";" else "."))


def file_encoding(path, head: bytes) -> str:
    """`detect`'s encoding for a whole file read block by block (a file too large to hold)."""
    bom = _encoding(head[:4], whole=False)
    if bom in ("utf-16", "utf-8-sig"):
        return bom
    utf8: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()  # None: not UTF-8
    cp1252 = True
    with open(path, "rb") as fh:
        while block := fh.read(4 << 20):
            if utf8 is not None:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    utf8 = None
            cp1252 = cp1252 and not _CP1252_UNDEFINED.intersection(block)
    if utf8 is not None:
        try:
            utf8.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return "cp1252" if cp1252 else "latin-1"


_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _refuse_binary(data: bytes) -> None:
    if data[:4] == b"PK\x03\x04":
        raise DialectError("is a zip file (an Excel workbook?), not a CSV; rename it .xlsx if it is a workbook")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return  # UTF-16 text holds NUL bytes
    if b"\x00" in data[:SAMPLE_BYTES]:
        raise DialectError("holds binary data, not text; export the table as CSV (or XLSX) and try again")


def _encoding(data: bytes, whole: bool) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if data[:3] == codecs.BOM_UTF8:
        return "utf-8-sig"
    try:
        data.decode("utf-8") if whole else codecs.getincrementaldecoder("utf-8")().decode(data)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _first_line(text: str) -> str:
    """The header line: the first line holding more than white space."""
    for line in re.split(r"\r\n|\r|\n", text[:SAMPLE_BYTES]):
        if line.strip():
            return line
    return ""


def _count_outside_quotes(line: str, sep: str) -> int:
    return sum(part.count(sep) for part in line.split('"')[::2])


def french_numbers(values: pd.Series) -> pd.Series:
    """Cells written the French way (`1 200 000,50`, `1.200.000,50`, `3,5`) as plain numbers; others unchanged.

    A cell that is not such a number is left for the validator to report as written.
    """
    arr = pa.array(values.astype("string[pyarrow]"), pa.large_string())
    hit = pc.match_substring_regex(arr, _FRENCH_NUMBER).fill_null(False)
    if not pc.any(hit).as_py():
        return values
    plain = pc.replace_substring(pc.replace_substring_regex(pc.utf8_trim_whitespace(arr), _GROUPING, ""), ",", ".")
    return pd.Series(pc.if_else(hit, plain, arr).to_pandas().array, index=values.index)
