"""Outputs a French Excel opens, one formula rule for every output, line breaks always quoted,
and one-line errors for outputs that cannot be written (issue 14)."""

from __future__ import annotations

import errno
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import io, schema
from scoring.batch import run_batch
from scoring.batch_writers import neutralise
from scoring.synthetic import TRUE_P_COLUMNS, generate
from tests.files.corpus import portfolio

RISKY = ["=1+1", "-5", "+3.5e2", "@SUM(A1)", "+33 1 23 45", "-", "\tx", "plain", "", "1e5"]


def test_the_formula_rule_quotes_what_a_spreadsheet_would_run_and_leaves_numbers_alone():
    assert [io.safe_text(v) for v in RISKY] == [
        "'=1+1",
        "-5",
        "+3.5e2",
        "'@SUM(A1)",
        "'+33 1 23 45",
        "'-",
        "'\tx",
        "plain",
        "",
        "1e5",
    ]


@given(st.lists(st.text(alphabet="=+-@\t\r0123456789.eE ab", max_size=6), min_size=1, max_size=20))
def test_batch_applies_the_same_formula_rule_as_every_other_output(cells):
    table = pa.table({"c": pa.array(cells, pa.large_string())})
    assert neutralise(table).column("c").to_pylist() == [io.safe_text(v) for v in cells]


def test_headers_are_neutralised_in_xlsx_and_csv_outputs(tmp_path):
    frame = pd.DataFrame({'=HYPERLINK("http://x","clic")': ["=1+1"], "n": [-5]})
    io.write_table(frame, tmp_path / "o.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx").active
    assert [c.value for c in ws[1]] == ['\'=HYPERLINK("http://x","clic")', "n"]
    assert [c.value for c in ws[2]] == ["'=1+1", -5]
    io.write_table(frame, tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text().startswith("\"'=HYPERLINK")


def test_batch_outputs_neutralise_headers_too(tmp_path, bundle):
    frame = portfolio().assign(**{"=cmd()": "@x"})
    frame.to_csv(tmp_path / "in.csv", index=False)
    run_batch(tmp_path / "in.csv", tmp_path / "out.xlsx", bundle, workers=1)
    header = [c.value for c in next(openpyxl.load_workbook(tmp_path / "out.xlsx").active.iter_rows(max_row=2))]
    assert "'=cmd()" in header


@pytest.mark.parametrize("excel_fr", [False, True])
def test_a_csv_output_quotes_cr_and_lf_so_that_it_reads_back_the_same(tmp_path, excel_fr):
    frame = pd.DataFrame(
        {
            "dossier_id": ["A", "B", "C"],
            "title": ["bare\rCR", "bare\nLF", "CR\r\nLF"],
            "budget_eur": [1200000.5, 3.25, 10.0],
        }
    )
    io.write_table(frame, tmp_path / "o.csv", excel_fr=excel_fr)
    back = io.read_table(tmp_path / "o.csv")
    assert list(back["title"]) == list(frame["title"])
    assert [float(v) for v in back["budget_eur"]] == list(frame["budget_eur"])


def test_the_excel_fr_csv_is_semicolons_utf8_with_bom_and_decimal_commas(tmp_path):
    frame = pd.DataFrame({"title": ["Stratégie"], "budget_eur": [1200.5]})
    data = io.csv_bytes(frame, excel_fr=True)
    assert data.startswith(b"\xef\xbb\xbf") and data.decode("utf-8-sig") == "title;budget_eur\r\nStratégie;1200,5\r\n"


def test_the_apps_downloads_offer_the_excel_fr_variant():
    from ui.components import table_bytes

    frame = pd.DataFrame({"p": [0.25]})
    assert table_bytes(frame, "csv_fr").decode("utf-8-sig") == "p\r\n0,25\r\n"
    assert table_bytes(frame, "csv") == b"p\n0.25\n"


def test_batch_excel_fr_output_is_read_back_by_validate_as_the_same_rows(tmp_path, bundle):
    frame = portfolio()
    frame.to_csv(tmp_path / "in.csv", index=False)
    run_batch(tmp_path / "in.csv", tmp_path / "plain.csv", bundle, workers=1)
    run_batch(tmp_path / "in.csv", tmp_path / "fr.csv", bundle, workers=1, excel_fr=True)
    plain, fr = io.read_file(tmp_path / "plain.csv"), io.read_file(tmp_path / "fr.csv")
    assert "decimal comma" in fr.read_as and "UTF-8 with BOM" in fr.read_as
    a, b = schema.validate_frame(plain.frame), schema.validate_frame(fr.frame)
    assert a.ok.all() and b.ok.all()
    pd.testing.assert_series_equal(a.frame["budget_eur"], b.frame["budget_eur"])
    assert list(fr.frame["p_success"].str.replace(",", ".")) == list(plain.frame["p_success"])


def test_export_training_round_trips_a_title_holding_a_bare_cr(tmp_path):
    from scoring.store.repository import Store
    from scoring.store.transfer import export_training, import_frame

    base = generate(5, seed=3).drop(columns=list(TRUE_P_COLUMNS))
    base.loc[0, "title"] = "Première ligne\rseconde"
    with Store(f"sqlite:///{tmp_path / 'cep.db'}") as store:
        import_frame(store, base, user="analyst")
        report = export_training(store, tmp_path / "train.csv")
    back = io.read_table(tmp_path / "train.csv")
    assert report.rows == len(back) and "Première ligne\rseconde" in set(back["title"])


def test_a_full_disk_is_one_line_and_leaves_no_half_file(tmp_path, monkeypatch):
    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(schema.SchemaError, match="the disk is full"):
        io.write_table(pd.DataFrame({"a": [1]}), tmp_path / "o.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_an_output_path_that_cannot_be_a_file_is_one_line(tmp_path, where):
    (tmp_path / "f.csv").mkdir()
    (tmp_path / "plain").write_text("x")
    target = tmp_path / "f.csv" if where == "folder" else tmp_path / "plain" / "o.csv"
    with pytest.raises(schema.SchemaError, match=str(target)):
        io.write_table(pd.DataFrame({"a": [1]}), target)
