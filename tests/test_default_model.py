"""The shipped model is exactly what the documented command produces on the shipped data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from scoring import DATA_DIR, persist


@pytest.mark.slow
def test_default_model_is_rebuilt_exactly_by_make_model(tmp_path):
    out = tmp_path / "model"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "scoring.cli", "train", "--data", str(DATA_DIR / "cep_synthetic.csv"),
                    "--out", str(out)], check=True, env=env, capture_output=True)
    shipped = json.loads((persist.DEFAULT_MODEL_DIR / "manifest.json").read_text())
    rebuilt = json.loads((out / "manifest.json").read_text())
    assert rebuilt["files"] == shipped["files"]
