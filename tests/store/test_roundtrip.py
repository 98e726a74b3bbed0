"""Round trip through the command line: generate a base, import it, export the training base,
retrain on it and evaluate: the committee's own history can feed the model."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scoring import cli as cli_module
from scoring.fields import COLUMNS
from scoring.io import read_table
from scoring.schema import validate_frame
from scoring.store.commands import export_training_cmd, import_cmd

MISSING = [c for c in ("generate", "train", "evaluate") if c not in cli_module.cli.commands]


@pytest.mark.slow
@pytest.mark.skipif(bool(MISSING), reason=f"scoring.cli lacks the {', '.join(MISSING)} command(s) so far")
def test_generate_import_export_train_evaluate(tmp_path, monkeypatch):
    # The data path does not depend on the database; the store's tests cover PostgreSQL.
    monkeypatch.setenv("CEP_DB_URL", f"sqlite:///{tmp_path / 'cep.db'}")
    runner = CliRunner()

    def run(command, *args):
        res = runner.invoke(command, [str(a) for a in args])
        assert res.exit_code == 0, res.output
        return res.output

    base, train_base, model = tmp_path / "base.parquet", tmp_path / "train.csv", tmp_path / "model"
    run(cli_module.cli, "generate", "--rows", 250, "--seed", 11, "--out", base)
    assert "250 dossiers added" in run(import_cmd, base, "--user", "secretary", "--lang", "en")
    assert "0 dossier ajouté, 0 nouvelle version, 250 inchangés" in run(import_cmd, base, "--user", "secretary")
    run(export_training_cmd, "--out", train_base)

    exported = validate_frame(read_table(train_base), require=("labeled", "funded"))
    original = validate_frame(read_table(base))
    assert exported.ok.all() and list(exported.frame.columns) == list(COLUMNS)
    mine = exported.frame.set_index("dossier_id").sort_index()
    theirs = original.frame.set_index("dossier_id").sort_index()[mine.columns]
    pd.testing.assert_frame_equal(
        mine.astype(object).where(mine.notna(), np.nan),
        theirs.astype(object).where(theirs.notna(), np.nan),
        check_dtype=False,
    )

    run(cli_module.cli, "train", "--data", train_base, "--out", model)
    result = json.loads(run(cli_module.cli, "evaluate", "--data", train_base, "--model", model, "--json"))
    assert 0.5 < result["targets"]["labeled"]["model"]["auc"] <= 1.0
