"""Batch scoring file to file: every row in order, chunk edges, formats, neutralisation, odd files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.batch import run_batch
from scoring.batch_readers import Records
from scoring.catalogue import CRITERIA
from scoring.cli_batch import batch_cmd
from scoring.explain import records
from scoring.i18n import t
from scoring.rubric import feasible_moves
from scoring.schema import SchemaError, validate_frame
from scoring.vectorised import output_columns, score_frame
from tests.batch.conftest import read, write

FORMATS = ("csv", "xlsx", "parquet")


def _broken(portfolio: pd.DataFrame, rows: list[int]) -> pd.DataFrame:
    bad = portfolio.copy()
    bad["trl"] = bad["trl"].astype(str)
    bad.loc[rows, "trl"] = "twelve"
    return bad


@pytest.mark.parametrize("chunk_rows", [7, 8])
def test_a_bad_row_at_either_edge_of_a_chunk_is_reported_with_its_file_row(tmp_path, bundle, portfolio, chunk_rows):
    edges = [0, chunk_rows - 1, chunk_rows, 2 * chunk_rows - 1, len(portfolio) - 1]
    src = write(_broken(portfolio, edges), tmp_path / "in.csv")
    summary = run_batch(src, tmp_path / "out.csv", bundle, chunk_rows=chunk_rows, workers=1)
    out = read(tmp_path / "out.csv")
    assert summary.rows == len(portfolio) and summary.errors == len(edges)
    assert list(np.flatnonzero(out["status"] == "error")) == edges
    for i in edges:
        assert out.loc[i, "error"].startswith(f"row {i + 1}, Technology readiness (TRL): value 'twelve'")
    assert (out.loc[out["status"] == "ok", "error"] == "").all()
    assert (out.loc[out["status"] == "error", "p_success"] == "").all()


def test_rows_keep_their_order_and_columns_across_chunks_and_workers(tmp_path, bundle, portfolio):
    src = write(portfolio, tmp_path / "in.csv")
    run_batch(src, tmp_path / "one.csv", bundle, chunk_rows=6, workers=1)
    run_batch(src, tmp_path / "two.csv", bundle, chunk_rows=6, workers=2)
    out = read(tmp_path / "two.csv")
    assert list(out.columns) == list(portfolio.columns) + list(output_columns())
    assert list(out["dossier_id"]) == list(portfolio["dossier_id"])
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


@pytest.mark.parametrize("src_format", FORMATS)
@pytest.mark.parametrize("dst_format", FORMATS)
def test_every_format_in_and_out_gives_the_same_scores(tmp_path, bundle, portfolio, src_format, dst_format):
    src = write(portfolio, tmp_path / f"in.{src_format}")
    run_batch(src, tmp_path / f"out.{dst_format}", bundle, chunk_rows=16, workers=1)
    out = read(tmp_path / f"out.{dst_format}")
    expected = score_frame(validate_frame(portfolio).frame, bundle)
    assert len(out) == len(portfolio) and list(out["dossier_id"]) == list(portfolio["dossier_id"])
    assert list(out.columns) == list(portfolio.columns) + list(output_columns())
    assert (out["status"] == "ok").all()
    digits = 1e-15 if dst_format == "xlsx" else 0.0  # openpyxl writes numbers with 16 significant digits
    for col in ("p_labeled", "p_funded", "p_success", "criterion_data_quality", "best_window_p_success"):
        got = pd.to_numeric(out[col].replace("", None)).to_numpy(dtype=float)
        assert np.allclose(got, expected[col].to_numpy(dtype=float), rtol=digits, atol=0, equal_nan=True), col
    assert list(out["best_window"].replace("", None).fillna("-")) == list(expected["best_window"].fillna("-"))


def test_batch_probabilities_are_the_models_own_and_the_best_window_its_window_matrix_choice(bundle, portfolio):
    frame = validate_frame(portfolio).frame
    out = score_frame(frame, bundle)
    pred = bundle.model.predict(frame)
    for name, p in (("p_labeled", pred.labeled), ("p_funded", pred.funded), ("p_success", pred.success)):
        assert np.array_equal(out[name].to_numpy(), p), name
    wm = bundle.model.window_matrix(frame)
    best = wm[wm["eligible"]].groupby("row").first()
    assert list(out.loc[best.index, "best_window"]) == list(best["window"])
    assert np.allclose(out.loc[best.index, "best_window_p_success"], best["success"], rtol=0, atol=1e-12)
    assert out.drop(index=best.index)["best_window"].isna().all()  # no window open to those dossiers


def test_batch_says_whether_the_target_window_takes_each_dossier_as_the_one_eligibility_function_does(
    bundle, portfolio
):
    from scoring import eligibility

    raw = portfolio.copy()
    raw.loc[0, ["carrier_type", "collaborative", "n_partners", "funding_window", "trl"]] = [
        "tpe_pme",
        False,
        0,
        "anr",
        4,
    ]
    raw.loc[0, ["budget_eur", "aid_requested_eur"]] = [500_000.0, 300_000.0]
    raw.loc[0, ["partner_academic", "partner_industrial", "partner_clinical", "sp_consortium"]] = [
        False,
        False,
        False,
        "na",
    ]
    raw.loc[1, ["funding_window", "year", "submission_date"]] = ["rhu", 2023, "2023-05-01"]
    frame = validate_frame(raw).frame
    out = score_frame(frame, bundle)
    verdicts = [eligibility.verdict(row, row["funding_window"]) for row in frame.to_dict("records")]
    assert list(out["eligible"]) == [1.0 if v.eligible else 0.0 for v in verdicts]
    assert list(out["eligibility_reason"]) == [";".join(v.codes) for v in verdicts]
    assert out.loc[0, "eligibility_reason"] == "partner_academic" and out.loc[1, "eligibility_reason"].startswith(
        "closed"
    )
    best = out["best_window"].dropna()
    assert all(eligibility.verdict(frame.iloc[i].to_dict(), w).eligible for i, w in best.items())


def test_batch_warnings_are_the_consistency_checks_codes(bundle, portfolio):
    from scoring import consistency

    raw = portfolio.copy()
    raw.loc[0, ["trl", "rr_pathway", "rr_clinical_plan"]] = [3, "certified", "protocol"]
    raw.loc[
        1,
        [
            "technology_axis",
            "dq_volume",
            "dq_access",
            "dq_consent_hosting",
            "dq_interoperability",
            "dq_curation",
            "rr_gdpr",
            "rr_ethics_security",
        ],
    ] = ["ai", "unknown", "negotiating", "planned", "partial", "basic", "planned", "planned"]
    v = validate_frame(raw)
    assert v.ok.all(), v.issues[:2]
    frame = v.frame
    out = score_frame(frame, bundle)
    expected = [";".join(w.code for w in consistency.warnings(row, "en")) for row in frame.to_dict("records")]
    assert list(out["warnings"]) == expected
    assert "stage_trl.rr_pathway" in out.loc[0, "warnings"].split(";")
    assert "ai_data_volume_unknown" in out.loc[1, "warnings"].split(";")


def test_the_summary_counts_rows_their_window_cannot_take_and_rows_to_discuss(tmp_path, bundle, portfolio):
    src = write(portfolio, tmp_path / "in.csv")
    summary = run_batch(src, tmp_path / "out.csv", bundle, workers=1, chunk_rows=15)  # counts summed over chunks
    out = read(tmp_path / "out.csv")
    assert summary.ineligible == (out["eligible"] == "0").sum() and summary.warned == (out["warnings"] != "").sum()
    assert (
        f"{summary.ineligible:,} not eligible" in summary.line()
        and f"{summary.warned:,} with answers" in summary.line()
    )


@pytest.mark.parametrize("dst_format", ["csv", "xlsx"])
def test_spreadsheet_outputs_neutralise_formulas_but_not_numbers(tmp_path, bundle, portfolio, dst_format):
    frame = portfolio.copy()
    frame.loc[0, "title"] = '=HYPERLINK("http://x","click")'
    frame.loc[1, "acronym"] = "@SUM(A1:A9)"
    frame["note"] = ["+33 1 23", "-2+3", "-5", "+1.5e3"] + ["plain"] * (len(frame) - 4)
    src = write(frame, tmp_path / "in.parquet")
    run_batch(src, tmp_path / f"out.{dst_format}", bundle, workers=1)
    out = read(tmp_path / f"out.{dst_format}")
    assert out.loc[0, "title"] == '\'=HYPERLINK("http://x","click")'
    assert out.loc[1, "acronym"] == "'@SUM(A1:A9)"
    assert list(out["note"][:4].astype(str)) == ["'+33 1 23", "'-2+3", "-5", "+1.5e3"]
    run_batch(src, tmp_path / "out.parquet", bundle, workers=1)
    assert read(tmp_path / "out.parquet").loc[0, "title"] == frame.loc[0, "title"]  # data format: left as is


def test_a_file_of_only_bad_rows_is_all_errors_with_the_same_columns(tmp_path, bundle, portfolio):
    src = write(_broken(portfolio, list(range(len(portfolio)))), tmp_path / "in.csv")
    summary = run_batch(src, tmp_path / "out.parquet", bundle, chunk_rows=8, workers=2)
    out = read(tmp_path / "out.parquet")
    assert summary.errors == summary.rows == len(portfolio)
    assert (out["status"] == "error").all() and out["p_success"].isna().all() and out["best_window"].isna().all()
    assert list(out.columns)[-len(output_columns()) :] == list(output_columns())
    assert out["p_success"].dtype == float


def test_a_header_only_file_gives_a_header_only_output_and_an_empty_file_a_clear_error(tmp_path, bundle, portfolio):
    src = write(portfolio.head(0), tmp_path / "in.csv")
    summary = run_batch(src, tmp_path / "out.csv", bundle, workers=1)
    assert summary.rows == 0
    assert (tmp_path / "out.csv").read_text().splitlines() == [
        ",".join(f'"{c}"' for c in list(portfolio.columns) + list(output_columns()))
    ]
    (tmp_path / "zero.csv").write_bytes(b"")
    with pytest.raises(SchemaError, match="the file is empty"):
        run_batch(tmp_path / "zero.csv", tmp_path / "zero-out.csv", bundle, workers=1)
    assert not (tmp_path / "zero-out.csv").exists()


def test_unknown_columns_are_kept_where_they_were(tmp_path, bundle, portfolio):
    frame = portfolio.copy()
    frame.insert(3, "internal_ref", [f"REF-{i}" for i in range(len(frame))])
    frame["comment"] = "à revoir"
    src = write(frame, tmp_path / "in.xlsx")
    run_batch(src, tmp_path / "out.csv", bundle, workers=1)
    out = read(tmp_path / "out.csv")
    assert list(out.columns[: len(frame.columns)]) == list(frame.columns)
    assert list(out["internal_ref"]) == list(frame["internal_ref"]) and (out["comment"] == "à revoir").all()


def test_french_headers_are_read_through_the_mapping_and_written_back_as_given(tmp_path, bundle, portfolio):
    frame = portfolio.rename(columns={"filiere": "Filière", "funding_window": "Guichet", "year": "Année"})
    frame["Filière"] = frame["Filière"].replace({"e_sante": "e-santé", "pharma_biotech": "Pharma / Biotech"})
    src = write(frame, tmp_path / "in.csv")
    run_batch(src, tmp_path / "out.csv", bundle, workers=1)
    out = read(tmp_path / "out.csv")
    assert {"Filière", "Guichet", "Année"} <= set(out.columns) and (out["status"] == "ok").all()
    assert list(out["Filière"]) == list(frame["Filière"])


def test_a_missing_required_column_stops_the_batch_before_writing(tmp_path, bundle, portfolio):
    src = write(portfolio.drop(columns=["trl"]), tmp_path / "in.csv")
    with pytest.raises(SchemaError, match="missing required column.*'trl'"):
        run_batch(src, tmp_path / "out.csv", bundle, workers=1)
    assert not list(tmp_path.glob("*out*"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_input_and_model_give_the_same_bytes(tmp_path, bundle, portfolio, fmt):
    src = write(_broken(portfolio, [3]), tmp_path / "in.csv")
    run_batch(src, tmp_path / f"a.{fmt}", bundle, explain=True, chunk_rows=9, workers=1)
    run_batch(src, tmp_path / f"b.{fmt}", bundle, explain=True, chunk_rows=9, workers=2)
    assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()


def test_explanations_add_up_to_each_probability(tmp_path, bundle, portfolio):
    src = write(_broken(portfolio, [5]), tmp_path / "in.parquet")
    run_batch(src, tmp_path / "out.parquet", bundle, explain=True, chunk_rows=16, workers=1)
    out = read(tmp_path / "out.parquet")
    ok = out[out["status"] == "ok"]
    for target in ("labeled", "success"):
        # from "projects like yours" (base), the five criteria alone move each dossier to its probability
        total = ok[f"base_{target}"] + ok[[f"contrib_{target}__{c}" for c in CRITERIA]].sum(axis=1)
        assert np.max(np.abs(total - ok[f"p_{target}"])) < 1e-6
        assert (ok[f"p_{target}_low"] < ok[f"p_{target}"]).all() and (ok[f"p_{target}"] < ok[f"p_{target}_high"]).all()
    assert not [c for c in out.columns if c.startswith("contrib_") and c.split("__")[1] not in CRITERIA]
    top = ok[[f"contrib_success__{c}" for c in CRITERIA]].abs().to_numpy().argmax(axis=1)
    assert [r.split(":")[0] for r in ok["reason_1"]] == [CRITERIA[k] for k in top]
    assert out.loc[5, ["reason_1", "contrib_success__data_quality", "p_success_low"]].isna().all()


def test_a_criterion_without_a_score_is_no_reason_in_the_file(bundle, portfolio):
    """As in `explain`: the criterion moving P(success) the most, made not scored, leaves the reasons; the
    others move up, and a row with two scored criteria has two reasons."""
    from scoring.rubric import score_table
    from scoring.schema import validate_frame
    from scoring.vectorised import _explanations

    frame = validate_frame(portfolio).frame
    table = score_table(frame)
    matrices = bundle.model.matrices(frame, table)
    full = _explanations(bundle.model, frame, matrices, np.zeros_like(table.score))
    moves = np.abs(np.column_stack([full[f"contrib_success__{c}"] for c in CRITERIA]))
    order = np.argsort(-moves, axis=1, kind="stable")
    rows = np.arange(len(frame))
    without_top = np.zeros_like(table.score)
    without_top[rows, order[:, 0]] = np.nan
    first = _explanations(bundle.model, frame, matrices, without_top)["reason_1"]
    assert [r.split(":")[0] for r in first] == [CRITERIA[k] for k in order[:, 1]]
    two_scored = np.full_like(table.score, np.nan)
    two_scored[rows[:, None], order[:, 3:]] = 0.0
    out = _explanations(bundle.model, frame, matrices, two_scored)
    assert [r.split(":")[0] for r in out["reason_1"]] == [CRITERIA[k] for k in order[:, 3]]
    assert all(r is None for r in out["reason_3"])


def test_quoted_newlines_and_blank_lines_do_not_shift_rows(tmp_path, bundle, portfolio):
    frame = portfolio.copy()
    frame.loc[[6, 7, 8], "title"] = ["two\nlines", '"quoted"\nand\r\nmore', "\n"]
    path = tmp_path / "in.csv"
    write(_broken(frame, [8]), path)
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:5] + [b""] + lines[5:]) + b"\n\n")  # an empty line between rows, two at the end
    run_batch(path, tmp_path / "out.parquet", bundle, chunk_rows=7, workers=1)
    out = read(tmp_path / "out.parquet")
    assert list(out["dossier_id"]) == list(frame["dossier_id"])
    assert list(out.loc[[6, 7], "title"]) == ["two\nlines", '"quoted"\nand\r\nmore']
    assert list(np.flatnonzero(out["status"] == "error")) == [8] and out.loc[8, "error"].startswith("row 9,")


def test_scoring_an_output_again_replaces_its_results_instead_of_doubling_them(tmp_path, bundle, portfolio):
    src = write(portfolio, tmp_path / "in.csv")
    run_batch(src, tmp_path / "once.csv", bundle, workers=1)
    run_batch(tmp_path / "once.csv", tmp_path / "twice.csv", bundle, workers=1)
    once, twice = read(tmp_path / "once.csv"), read(tmp_path / "twice.csv")
    assert list(twice.columns) == list(once.columns) == list(portfolio.columns) + list(output_columns())
    pd.testing.assert_frame_equal(once, twice)


@settings(max_examples=200, deadline=None)
@given(
    text=st.binary(max_size=300).map(lambda b: bytes(b'ab",\n\r'[x % 6] for x in b)),
    cuts=st.lists(st.integers(1, 40), max_size=12),
)
def test_record_ends_do_not_depend_on_how_the_file_is_cut_into_blocks(text, cuts):
    expected, quotes = [], 0
    for i, byte in enumerate(text):  # the rule, one byte at a time: a newline after an even number of quotes
        quotes += byte == 0x22
        if byte == 0x0A and quotes % 2 == 0:
            expected.append(i)
    records, at = Records(Path("x.csv")), 0
    for size in cuts + [len(text)]:
        records.feed(text[at : at + size])
        at += size
    assert list(records.ends) == expected
    assert records.quoted == (quotes % 2 == 1)


def test_cli_exit_code_says_whether_some_rows_failed(tmp_path, portfolio):
    good = write(portfolio, tmp_path / "good.csv")
    bad = write(_broken(portfolio, [2]), tmp_path / "bad.csv")
    runner = CliRunner()
    ok = runner.invoke(batch_cmd, ["--input", good, "--output", str(tmp_path / "g.parquet"), "--lang", "en"])
    assert ok.exit_code == 0, ok.output
    assert f"{len(portfolio)} rows scored, 0 in error" in ok.stderr
    failed = runner.invoke(batch_cmd, ["--input", bad, "--output", str(tmp_path / "b.csv"), "--explain"])
    # French by default, as every command with --lang: the summary, and the reason in the file
    assert failed.exit_code == 1 and f"{len(portfolio)} lignes notées, 1 en erreur" in failed.stderr
    out = read(tmp_path / "b.csv")
    assert "reason_1" in out.columns and "la valeur « twelve » n'est pas un nombre entier" in out.loc[2, "error"]
    missing = runner.invoke(batch_cmd, ["--input", str(tmp_path / "none.csv"), "--output", str(tmp_path / "x.csv")])
    assert missing.exit_code == 2 and t("file.no_such_file", "fr") in missing.output


def test_crlf_line_ends_and_a_last_row_without_newline_are_read(tmp_path, bundle, portfolio):
    path = tmp_path / "in.csv"
    write(portfolio, path)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n"))
    summary = run_batch(path, tmp_path / "out.csv", bundle, chunk_rows=7, workers=1)
    out = read(tmp_path / "out.csv")
    assert summary.rows == len(portfolio) and (out["status"] == "ok").all()
    assert list(out["dossier_id"]) == list(portfolio["dossier_id"])


def test_a_quote_never_closed_is_a_clear_error_not_a_giant_row(tmp_path, bundle, portfolio):
    path = tmp_path / "in.csv"
    write(portfolio, path)
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b",", b',"', 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(SchemaError, match="never closed"):
        run_batch(path, tmp_path / "out.csv", bundle, chunk_rows=100, workers=1)
    assert not (tmp_path / "out.csv").exists()


def test_a_row_that_is_not_utf8_makes_the_file_read_as_windows_1252_as_validate_reads_it(tmp_path, bundle, portfolio):
    path = tmp_path / "in.csv"
    write(portfolio, path)
    path.write_bytes(path.read_bytes().replace(b"Synthetic dossier 12,", b"Synth\xe9tique 12,", 1))
    summary = run_batch(path, tmp_path / "out.csv", bundle, chunk_rows=8, workers=1)
    assert "Windows-1252" in summary.read_as and summary.rows == len(portfolio)
    assert "Synthétique 12" in set(read(tmp_path / "out.csv")["title"])


def test_a_column_with_a_formula_and_empty_cells_is_neutralised_without_failing(tmp_path, bundle, portfolio):
    frame = portfolio.copy()
    frame["note"] = ["=2+2", ""] + ["plain"] * (len(frame) - 2)
    src = write(frame, tmp_path / "in.csv")
    run_batch(src, tmp_path / "out.csv", bundle, workers=1)
    out = read(tmp_path / "out.csv")
    assert list(out["note"][:3]) == ["'=2+2", "", "plain"]


def test_actions_column_lists_feasible_steps_and_the_error_rows_keep_none(tmp_path, bundle, portfolio):
    # self-assessments: with the committee's scores in the file, an answer changes nothing the model reads
    portfolio = portfolio.head(12).drop(columns=[c for c in portfolio.columns if c.startswith("score_")])
    src = write(_broken(portfolio, [2]), tmp_path / "in.csv")
    run_batch(src, tmp_path / "out.csv", bundle, actions=True, chunk_rows=5, workers=1)
    out = read(tmp_path / "out.csv")
    assert list(out.columns)[-len(output_columns(actions=True)) :] == list(output_columns(actions=True))
    assert (out["actions"][out["status"] == "error"].fillna("") == "").all()
    ok = validate_frame(portfolio.drop(index=2)).frame
    listed = out["actions"][out["status"] == "ok"].fillna("").tolist()
    assert len(listed) == len(ok) == 11 and any(listed)
    for row, steps in zip(records(ok), listed):
        feasible = {f"answers.{q.id}: {a} -> {b}" for q, a, b in feasible_moves(row)}
        assert all(step.split(" (")[0] in feasible for step in steps.split(" | ") if step)
