"""The batch benchmark: its portfolios hold the rows they say, and its report has the contract's keys."""

from __future__ import annotations

import pyarrow.csv as pcsv
import pytest

from scoring import benchmark_batch


def test_portfolios_hold_every_generated_block(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmark_batch, "BLOCK", 25)
    files = benchmark_batch._portfolios(tmp_path, (30, 70), seed=4)
    tables = {n: pcsv.read_csv(f) for n, f in files.items()}
    assert {n: t.num_rows for n, t in tables.items()} == {30: 30, 70: 70}
    assert tables[70].slice(0, 30).equals(tables[30])


@pytest.mark.slow
def test_quick_report_has_the_contract_keys_and_honest_numbers(bundle, monkeypatch):
    monkeypatch.setattr(benchmark_batch, "QUICK_SIZES", (2_000,))
    monkeypatch.setattr(benchmark_batch, "QUICK_NAIVE_ROWS", 3)
    report = benchmark_batch.bench_batch(bundle, quick=True)
    assert {"rows_per_s", "rows_per_s_explain", "peak_rss_mb_1m", "naive_rows_per_s"} <= set(report)
    assert report["peak_rss_mb_1m"] is None  # --quick never scores a million rows
    run = report["sizes"]["2000"]
    assert run["plain"]["rows"] == run["explain"]["rows"] == 2_000
    assert run["plain"]["peak_rss_mb"] > 50 and report["rows_per_s"] > report["naive_rows_per_s"] > 0
