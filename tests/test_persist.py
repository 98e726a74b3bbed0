"""The model directory: data only, every attribute kept, and nothing planted in it is ever run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import modelfile, persist, schema
from scoring.evaluate import Baselines
from scoring.model import CEPModel
from scoring.synthetic import generate


@pytest.fixture(scope="module")
def fitted(small_base):
    """A model and its baselines as fitted (in memory), and the directory they were saved to."""
    model = CEPModel(seed=3, n_bootstrap=3).fit(small_base)
    baselines = Baselines().fit(small_base)
    return model, baselines


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    d = tmp_path_factory.mktemp("model") / "m"
    card = {"model": {"name": "test"}, "data": {"description": "test base"}}
    persist.save(d, *fitted, card, "# card\n")
    return d


@pytest.fixture
def copy(saved, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(saved, d)
    return d


@pytest.fixture
def frame():
    """Rows the small base may not have: blank optional inputs, every window and filière."""
    raw = generate(400, seed=77).astype(object)
    rng = np.random.default_rng(1)
    for col in ("therapeutic_area", "n_partners", "preliminary_interview", "dq_access", "score_data_quality"):
        raw.loc[rng.random(len(raw)) < 0.3, col] = None
    return schema.validate_frame(raw).frame


def _same(a, b, where="model") -> None:
    """Every attribute of every object equal, arrays bit for bit: nothing fitted was left behind."""
    if type(a) in modelfile.FIELDS:
        assert type(b) is type(a) and vars(b).keys() == vars(a).keys(), where
        for k in vars(a):
            _same(vars(a)[k], vars(b)[k], f"{where}.{k}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, (list, tuple)):
        assert type(b) is type(a) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    else:
        assert type(b) is type(a) and (a == b or (a != a and b != b)), f"{where}: {a!r} != {b!r}"


# --------------------------------------------------------------------------- round trip


def test_every_fitted_attribute_survives_the_round_trip(fitted, saved):
    loaded = persist.load(saved)
    _same(fitted[0], loaded.model)
    assert loaded.manifest["format"] == modelfile.FORMAT


def test_saved_then_loaded_model_predicts_identically(fitted, saved, frame):
    loaded = persist.load(saved)
    a, b = fitted[0].predict(frame, band=True), loaded.model.predict(frame, band=True)
    for name in ("labeled", "funded", "success", "funded_if_labeled", "funded_if_not", "labeled_band", "success_band"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=0, atol=1e-12, err_msg=name)
    wa, wb = fitted[0].window_matrix(frame), loaded.model.window_matrix(frame)
    pd.testing.assert_frame_equal(wa, wb, check_exact=False, atol=1e-12, rtol=0)


def test_baselines_stored_as_data_predict_as_scikit_learn_did(fitted, saved, frame):
    loaded = persist.load(saved)
    assert "sklearn" not in json.dumps(json.loads((saved / "model.json").read_text()))
    a, b = fitted[1].predict(frame), loaded.baselines.predict(frame)
    for base in a:
        for target in a[base]:
            np.testing.assert_allclose(b[base][target], a[base][target], rtol=0, atol=1e-12, err_msg=f"{base}/{target}")


def test_the_same_model_gives_the_same_bytes(fitted, saved, tmp_path):
    persist.save(
        tmp_path / "again", *fitted, {"model": {"name": "test"}, "data": {"description": "test base"}}, "# card\n"
    )
    for name in ("model.json", "model.npz"):
        assert (tmp_path / "again" / name).read_bytes() == (saved / name).read_bytes(), name


def test_an_attribute_the_file_does_not_store_is_refused_at_saving(fitted, tmp_path):
    model = CEPModel.__new__(CEPModel)
    vars(model).update(vars(fitted[0]), calibration_note_="a fitted attribute added to fit()")
    with pytest.raises(modelfile.ModelFileError, match=r"CEPModel has attribute\(s\) \['calibration_note_'\]"):
        persist.save(tmp_path / "m", model, fitted[1], {}, "")
    design = fitted[0].label_design_
    design.knot_ = 1.0
    try:
        with pytest.raises(modelfile.ModelFileError, match=r"model.label_design_: Design .*knot_"):
            persist.save(tmp_path / "m", *fitted, {}, "")
    finally:
        del design.knot_


def test_a_file_missing_an_attribute_is_refused_at_loading(copy):
    doc = json.loads((copy / "model.json").read_text())
    del doc["model"]["fields"]["label_"]["fields"]["platt"]
    (copy / "model.json").write_text(json.dumps(doc))
    persist.write_manifest(copy)
    with pytest.raises(persist.ModelLoadError, match="CalibratedAdditive has attributes .* retrain"):
        persist.load(copy)


def test_library_versions_are_recorded_not_enforced(copy):
    m = json.loads((copy / "manifest.json").read_text())
    m["libraries"] = {"numpy": "1.0.0", "scikit-learn": "0.24.2"}
    (copy / "manifest.json").write_text(json.dumps(m))
    assert persist.load(copy).model is not None


def test_other_format_versions_are_refused(copy):
    m = json.loads((copy / "manifest.json").read_text())
    for fmt in (1, 3):  # 1: pickled, refused wherever it is but for the shipped model until it is retrained
        m["format"] = fmt
        (copy / "manifest.json").write_text(json.dumps(m))
        with pytest.raises(persist.ModelLoadError, match=f"model format {fmt}, .*no pickle.*retrain it with"):
            persist.load(copy)


# --------------------------------------------------------------------------- tampering


class _Payload:
    """Unpickling this writes a file: the proof that something ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


def _list_in_manifest(d: Path, name: str) -> None:
    m = json.loads((d / "manifest.json").read_text())
    m["files"][name] = {"sha256": persist.sha256_file(d / name), "bytes": (d / name).stat().st_size}
    (d / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("listed", [False, True])
def test_a_planted_pickle_is_refused_and_never_run(copy, tmp_path, listed):
    import joblib

    marker = tmp_path / "ran.txt"
    joblib.dump(_Payload(marker), copy / "model.joblib")
    if listed:  # a manifest recomputed by whoever planted it
        _list_in_manifest(copy, "model.joblib")
    with pytest.raises(persist.ModelLoadError, match="model.joblib"):
        persist.load(copy)
    assert not marker.exists()
    joblib.load(copy / "model.joblib")  # the payload is live: loading it the old way would have run it
    assert marker.read_text() == "ran"


def test_an_npz_with_object_arrays_is_refused_and_never_run(copy, tmp_path):
    marker = tmp_path / "ran.txt"
    arrays = dict(np.load(copy / "model.npz", allow_pickle=False))
    key = next(iter(arrays))
    arrays[key] = np.array([_Payload(marker)], dtype=object)
    with open(copy / "model.npz", "wb") as fh:
        np.savez(fh, **arrays)
    persist.write_manifest(copy)  # integrity holds: only the content is hostile
    with pytest.raises(persist.ModelLoadError, match="not an array file this version can read as data"):
        persist.load(copy)
    assert not marker.exists()
    np.load(copy / "model.npz", allow_pickle=True)[key]
    assert marker.read_text() == "ran"


def test_a_pickled_model_json_entry_names_no_class_outside_the_model(copy):
    doc = json.loads((copy / "model.json").read_text())
    doc["model"]["object"] = "Popen"
    (copy / "model.json").write_text(json.dumps(doc))
    persist.write_manifest(copy)
    with pytest.raises(persist.ModelLoadError, match="names class 'Popen', which is not part of a model"):
        persist.load(copy)


@pytest.mark.parametrize("entry", ["../outside.json", "/etc/passwd", "sub/model.json", "link.json"])
def test_a_manifest_entry_outside_the_directory_is_refused(copy, tmp_path, entry):
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (copy / "sub").mkdir()
    (copy / "link.json").symlink_to(outside)
    m = json.loads((copy / "manifest.json").read_text())
    m["files"][entry] = {"sha256": persist.sha256_file(outside), "bytes": outside.stat().st_size}
    (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(persist.ModelLoadError, match="not a file of this directory"):
        persist.load(copy)


def test_tampered_model_is_refused(copy):
    data = bytearray((copy / "model.npz").read_bytes())
    data[100] ^= 0xFF
    (copy / "model.npz").write_bytes(bytes(data))
    with pytest.raises(persist.ModelLoadError, match="SHA-256 does not match"):
        persist.load(copy)


def test_truncated_model_is_refused(copy):
    (copy / "model.json").write_bytes((copy / "model.json").read_bytes()[:1000])
    with pytest.raises(persist.ModelLoadError, match="truncated"):
        persist.load(copy)


def test_missing_manifest_is_refused(copy):
    (copy / "manifest.json").unlink()
    with pytest.raises(persist.ModelLoadError, match="not a model directory"):
        persist.load(copy)


def test_saving_over_a_model_replaces_it_and_refuses_a_directory_with_other_files(fitted, tmp_path):
    d = tmp_path / "default"
    card = {"model": {"name": "test"}, "data": {"description": "test base"}}
    persist.save(d, *fitted, card, "# card\n")
    persist.save(d, *fitted, card, "# card\n")  # `make model` over the shipped one
    assert sorted(p.name for p in d.iterdir()) == sorted(persist.ARTIFACTS + (persist.MANIFEST,))
    assert persist.load(d).model is not None
    (d / "model.joblib").write_text("old")
    with pytest.raises(ValueError, match="holds model.joblib, which are not part of a model"):
        persist.save(d, *fitted, card, "")
    assert (d / "model.joblib").read_text() == "old"  # refused: nothing touched


def test_a_pickled_format_directory_is_refused_with_how_to_retrain(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))
    with pytest.raises(persist.ModelLoadError, match="model format 1.*retrain"):
        persist.load(copy)
