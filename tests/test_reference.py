"""Reference tables and the generator's agreement with the published figures F1-F16."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import DATA_DIR, catalogue, reference, schema
from scoring.io import read_table
from scoring.synthetic import generate


def test_catalogue_covers_every_window_code():
    assert set(reference.catalogue()) == set(catalogue.codes()["funding_window"])


def test_rhu_is_closed_after_2021():
    rhu = reference.catalogue()["rhu"]
    assert rhu.is_open(2021) and not rhu.is_open(2022)


def _checks(frame):
    return {c.id: c for c in reference.reference_check(frame)}


def test_default_dataset_reproduces_every_computable_figure():
    v = schema.validate_frame(read_table(DATA_DIR / "cep_synthetic.csv"), require=catalogue.OUTCOMES)
    assert v.ok.all()
    checks = _checks(v.frame)
    failed = {k: (c.published, c.measured) for k, c in checks.items() if c.ok is False}
    assert not failed
    assert checks["F15"].ok is None  # France 2030 laureates: not a CEP-base figure


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15])
def test_figures_f1_to_f16_within_tolerance_on_5_seeds(seed):
    checks = _checks(schema.validate_frame(generate(6000, seed)).frame)
    assert {f"F{i}" for i in range(1, 17)} <= {k.rstrip("ab") for k in checks}
    failed = {k: (c.published, c.measured) for k, c in checks.items() if c.ok is False}
    assert not failed


def test_label_effect_f16_is_measured_as_ademe_did():
    """F16: log odds ratio of funding, labelled against unlabelled; 47% vs 27% is 0.875."""
    frame = schema.validate_frame(generate(6000, 11)).frame
    check = _checks(frame)["F16"]
    lab = frame["labeled"] == 1
    f1, f0 = frame.loc[lab, "funded"].mean(), frame.loc[~lab, "funded"].mean()
    assert float(check.measured) == pytest.approx(np.log(f1 / (1 - f1)) - np.log(f0 / (1 - f0)), abs=1e-3)
    assert check.published.startswith("0.875")
    frame["funded"] = 1.0 * (frame["labeled"] == 1)  # funding only the labelled is far beyond i-Nov's effect
    frame.loc[frame.index[:5], "funded"] = 1.0 - frame.loc[frame.index[:5], "funded"]
    assert _checks(frame)["F16"].ok is False


def test_reference_check_detects_a_base_that_disagrees():
    frame = schema.validate_frame(generate(6000, 11)).frame
    frame.loc[frame["filiere"] == "e_sante", "labeled"] = 1.0
    frame.loc[frame["filiere"] == "e_sante", "funded"] = 1.0
    assert _checks(frame)["F1"].ok is False


def test_reference_check_prints_the_mediation_report():
    from click.testing import CliRunner

    from scoring.cli import cli

    r = CliRunner().invoke(cli, ["reference-check", "--mediation", "--rows", "20000", "--seed", "5"])
    assert r.exit_code == 0, r.output
    rows = [line for line in r.output.splitlines() if line.startswith("| e-santé") or line.startswith("| AI vs")]
    assert len(rows) == 2
    for line in rows:  # share column, then the ">= 70%" target
        share = int(line.split("|")[6].strip().rstrip("%"))
        assert share >= 70, line


def test_the_shipped_model_card_shows_the_mediation_table():
    card = (DATA_DIR.parent / "models" / "default" / "card.md").read_text(encoding="utf-8")
    assert "### Mediation" in card
    for gap in ("e-santé vs other filières", "AI vs data axis", "collaborative vs not", "companies vs public carriers"):
        assert f"| {gap} |" in card
