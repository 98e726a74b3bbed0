"""Shared fixtures: the example dossier, the shipped model, small generated bases."""

from __future__ import annotations

import copy
import json
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from scoring import jsonform, persist, schema  # noqa: E402
from scoring.synthetic import generate  # noqa: E402


@pytest.fixture
def dossier() -> dict:
    """A fresh copy of the complete valid example dossier."""
    return copy.deepcopy(jsonform.example())


@pytest.fixture(scope="session")
def bundle() -> persist.Bundle:
    """The shipped default model (models/default), verified."""
    return persist.load()


@pytest.fixture(scope="session")
def small_base():
    """800 synthetic dossiers, validated (fast to fit on)."""
    return schema.validate_frame(generate(800, seed=5)).frame


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory):
    """A model trained quickly on a small base: for tests of training itself."""
    from scoring.training import train

    d = tmp_path_factory.mktemp("data")
    data = d / "base.csv"
    from scoring.io import write_table

    write_table(generate(1500, seed=21), data)
    out = d / "model"
    train(data, out, n_bootstrap=3, fresh_rows=0)
    return out


def write_json(path, obj) -> str:
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return str(path)
