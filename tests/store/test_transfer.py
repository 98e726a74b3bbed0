"""Import into the store and export of the training base, as functions and as commands."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from scoring.catalogue import OUTCOMES
from scoring.fields import COLUMNS
from scoring.i18n import t
from scoring.io import read_table
from scoring.jsonform import from_json
from scoring.schema import SchemaError, validate_frame
from scoring.store import Store, export_training, import_file, import_frame, training_frame
from scoring.store.commands import export_training_cmd, import_cmd


@pytest.fixture
def base(dossier):
    """A small CEP base: flat rows with outcomes, and a column that is not part of a dossier."""
    rows = []
    for i in range(4):
        flat = from_json(dossier(f"CEP-{i}", title=f"Projet {i}"))
        flat.update(labeled=i % 2 == 0, funded=i == 0, true_p_labeled=0.5)
        rows.append(flat)
    return pd.DataFrame(rows)


def test_import_then_import_again_adds_nothing(store, base, tmp_path):
    path = tmp_path / "base.csv"
    base.to_csv(path, index=False)
    first = import_file(store, path, user="secretary")
    assert (first.rows, first.added, first.new_versions, first.unchanged, first.decisions) == (4, 4, 0, 0, 4)
    assert first.ignored_columns == ("true_p_labeled",) and "true_p_labeled" in first.summary()
    again = import_file(store, path, user="secretary")
    assert (again.added, again.new_versions, again.unchanged, again.decisions) == (0, 0, 4, 0)
    assert len(store.versions("CEP-1")) == 1 and len(store.decisions()) == 4
    assert "true_p_labeled" not in json.dumps(store.load_dossier("CEP-1").payload)


def test_a_changed_row_becomes_a_new_version_and_a_changed_outcome_a_new_decision(store, base):
    import_frame(store, base, user="secretary")
    changed = base.copy()
    changed.loc[1, "title"] = "Nouveau titre"
    changed.loc[2, "funded"] = True
    report = import_frame(store, changed, user="secretary")
    assert (report.added, report.new_versions, report.unchanged, report.decisions) == (0, 1, 3, 1)
    assert [v.payload["title"] for v in store.versions("CEP-1")] == ["Projet 1", "Nouveau titre"]
    assert store.decision("CEP-2").funded is True


def test_bad_rows_are_reported_with_row_and_field_and_good_rows_imported(store, base):
    bad = base.astype({"labeled": object})
    bad.loc[1, "trl"] = 12
    bad.loc[3, "dossier_id"] = "CEP-0"
    bad.loc[2, "labeled"] = None
    report = import_frame(store, bad, user="secretary")
    found = {(i.row, i.field) for i in report.issues}
    assert {(2, "trl"), (1, "dossier_id"), (4, "dossier_id"), (3, "labeled")} <= found
    assert report.bad_rows == 4 and report.added == 0
    fixed = import_frame(store, base.drop(index=[1]), user="secretary")
    assert fixed.added == 3 and not fixed.issues


def test_french_headers_and_a_missing_required_column(store, base):
    french = base.rename(columns={"dossier_id": "N° dossier", "title": "Titre", "labeled": "Labellisé"})
    assert import_frame(store, french, user="secretary").added == 4
    with pytest.raises(SchemaError, match="title"):
        import_frame(store, base.drop(columns=["title"]), user="secretary")


def test_export_training_base_columns_rows_and_formats(store, base, tmp_path):
    import_frame(store, base, user="secretary")
    store.record_decision("CEP-3", labeled=False, funded=None, user="secretary")  # funding not known: left out
    store.save_dossier({"dossier_id": "DRAFT-1", "title": "brouillon"}, user="lead", expected_version=None, draft=True)
    store.record_decision("DRAFT-1", labeled=True, funded=True, user="secretary")  # no valid version: left out
    frame, report = training_frame(store)
    assert list(frame.columns) == list(COLUMNS) and frame.columns[0] == "dossier_id"
    assert list(frame["dossier_id"]) == ["CEP-0", "CEP-1", "CEP-2"]
    assert (report.rows, report.pending, report.no_valid_version) == (3, 1, 1)
    assert list(frame["labeled"]) == [True, False, True] and list(frame["funded"]) == [True, False, False]
    for ext in ("csv", "xlsx", "parquet"):
        out = tmp_path / f"train.{ext}"
        assert export_training(store, out).rows == 3
        v = validate_frame(read_table(out), require=OUTCOMES)
        assert v.ok.all(), v.issues[:3]
        assert list(read_table(out).columns) == list(COLUMNS)


def test_export_fills_missing_expert_scores_with_the_consensus(store, base):
    import_frame(store, base, user="secretary")
    store.record_assessment("CEP-0", {"data_quality": 2.0, "industrial_interest": 3.0}, user="ana")
    store.record_assessment("CEP-0", {"data_quality": 3.0}, user="ben")
    frame, report = training_frame(store)
    row = frame.set_index("dossier_id").loc["CEP-0"]
    assert row["score_data_quality"] == 2.5 and row["score_industrial_interest"] == 3.0
    assert pd.isna(row["score_regulatory_readiness"]) and report.consensus_filled == 2


def test_import_and_export_commands(base, tmp_path, monkeypatch, db_url):
    monkeypatch.setenv("CEP_DB_URL", db_url)
    path = tmp_path / "base.parquet"
    base.to_parquet(path)
    runner = CliRunner()
    ok = runner.invoke(import_cmd, [str(path), "--user", "secretary"])
    assert ok.exit_code == 0, ok.output
    assert "4 dossiers ajoutés, 0 nouvelle version, 0 inchangé" in ok.output  # French by default, as --lang says
    bad = tmp_path / "bad.csv"
    base.assign(trl=[3, 12, 4, 5]).to_csv(bad, index=False)
    res = runner.invoke(import_cmd, [str(bad), "--user", "secretary", "--json", "--lang", "en"])
    assert res.exit_code == 1
    [issue] = json.loads(res.output)["issues"]
    assert issue["field"] == "trl" and issue["message"].startswith(
        "row 2, Technology readiness (TRL): value '12' is above"
    )
    out = tmp_path / "train.csv"
    res = runner.invoke(export_training_cmd, ["--out", str(out)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out)) == 4
    with Store(db_url) as store:
        assert {e.user_name for e in store.history("CEP-0")} == {"secretary"}


def test_import_command_needs_a_user(base, tmp_path, monkeypatch):
    monkeypatch.setenv("CEP_DB_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("USER", raising=False)
    path = tmp_path / "base.csv"
    base.to_csv(path, index=False)
    res = CliRunner().invoke(import_cmd, [str(path)])
    assert res.exit_code == 2 and "--user" in res.output


def test_export_command_on_an_empty_store_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("CEP_DB_URL", f"sqlite:///{tmp_path / 'x.db'}")
    res = CliRunner().invoke(export_training_cmd, ["--out", str(tmp_path / "t.csv"), "--lang", "en"])
    assert res.exit_code == 1 and "no decided dossier" in res.output
    res = CliRunner().invoke(export_training_cmd, ["--out", str(tmp_path / "t.csv")])
    assert res.exit_code == 1 and t("cli.export.empty", "fr") in res.output
