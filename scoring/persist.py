"""Saving and loading a trained model directory, refusing anything tampered with.

A model directory holds `model.joblib` (the fitted CEPModel), `baselines.joblib`,
`card.json` and `card.md` (the model card) and `manifest.json`: the SHA-256 and
size of every file plus the library versions it was trained with. Loading
checks the manifest *before* unpickling anything: a changed, truncated or
missing file, or a different numpy / scipy / scikit-learn / pandas
major.minor version, is refused with a message saying what to do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import joblib

from scoring import MODELS_DIR

MANIFEST = "manifest.json"
ARTIFACTS = ("model.joblib", "baselines.joblib", "card.json", "card.md")
PINNED_LIBRARIES = ("numpy", "scipy", "scikit-learn", "pandas")
DEFAULT_MODEL_DIR = MODELS_DIR / "default"


class ModelLoadError(RuntimeError):
    """The model directory cannot be trusted or used as it is."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    return {lib: version(lib) for lib in PINNED_LIBRARIES}


def _major_minor(v: str) -> str:
    return ".".join(v.split(".")[:2])


@dataclass
class Bundle:
    """A loaded, verified model directory."""

    model: Any
    baselines: Any
    card: dict[str, Any]
    manifest: dict[str, Any]
    directory: Path

    @property
    def sha256(self) -> str:
        return self.manifest["files"]["model.joblib"]["sha256"]

    @property
    def name(self) -> str:
        return self.card["model"]["name"]

    def identity(self) -> dict[str, Any]:
        """What every score shows about the model that produced it."""
        return {"name": self.name, "sha256": self.sha256, "training_data": self.card["data"]["description"]}


def save(directory: str | Path, model: Any, baselines: Any, card: dict[str, Any], card_md: str) -> Path:
    """Write the model directory and its manifest; returns the directory."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, d / "model.joblib", compress=3)
    joblib.dump(baselines, d / "baselines.joblib", compress=3)
    (d / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    (d / "card.md").write_text(card_md, encoding="utf-8")
    manifest = {
        "format": 1,
        "libraries": library_versions(),
        "files": {name: {"sha256": sha256_file(d / name), "bytes": (d / name).stat().st_size} for name in ARTIFACTS},
    }
    (d / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return d


def verify(directory: str | Path) -> dict[str, Any]:
    """Check the manifest of a model directory; returns it, or raises ModelLoadError."""
    d = Path(directory)
    mpath = d / MANIFEST
    if not mpath.is_file():
        raise ModelLoadError(f"{d}: no {MANIFEST}; this is not a model directory written by `cep-scoring train`")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{mpath}: unreadable manifest ({exc}); retrain with `cep-scoring train`") from None
    for name in ARTIFACTS:
        p = d / name
        if name not in files or not p.is_file():
            raise ModelLoadError(f"{d}: {name} is missing; the directory is incomplete, retrain or restore it")
        if p.stat().st_size != files[name]["bytes"]:
            raise ModelLoadError(f"{p}: {p.stat().st_size} bytes but the manifest says {files[name]['bytes']}: "
                                 "the file is truncated or was replaced; refusing to load it")
        if sha256_file(p) != files[name]["sha256"]:
            raise ModelLoadError(f"{p}: SHA-256 does not match the manifest: the file was modified; "
                                 "refusing to load it (retrain with `cep-scoring train` or restore the original)")
    here = library_versions()
    for lib, v in manifest.get("libraries", {}).items():
        if lib in here and _major_minor(here[lib]) != _major_minor(v):
            raise ModelLoadError(f"{d}: trained with {lib} {v} but {here[lib]} is installed; "
                                 f"install {lib}=={_major_minor(v)}.* or retrain the model with `cep-scoring train`")
    return manifest


def load(directory: str | Path | None = None) -> Bundle:
    """Load a verified model directory (default: models/default)."""
    d = Path(directory) if directory else DEFAULT_MODEL_DIR
    manifest = verify(d)
    card = json.loads((d / "card.json").read_text(encoding="utf-8"))
    return Bundle(joblib.load(d / "model.joblib"), joblib.load(d / "baselines.joblib"), card, manifest, d)
