"""Saving and loading a trained model directory, refusing anything tampered with or executable.

A model directory holds `model.json` and `model.npz` (the fitted CEPModel and
its baselines as data, `scoring.modelfile`), `world.json` (the reference
tables it was trained with, `scoring.world`), `card.json` and `card.md` (the
model card) and `manifest.json`: the SHA-256 and size of every file, each
table's fingerprint, and the library versions it was trained with (recorded
for the card, not enforced: a data-only model does not depend on a library's
pickling). Loading checks the manifest before reading anything else and
refuses:

- an entry that is not a plain file name of the directory (`../x`, `/etc/x`,
  a link leading out of it);
- a file the manifest does not list (a planted `model.joblib` above all):
  the directory holds exactly its manifest's files;
- a changed, truncated or missing file;
- arrays that are not booleans or numbers (`modelfile` reads them with
  `allow_pickle=False`);
- a model whose tables differ from the installed ones: one message saying
  what changed and to retrain, instead of a wrong column later.

Nothing in the directory is ever unpickled or executed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from scoring import modelfile, world
from scoring.paths import DEFAULT_MODEL_DIR

MANIFEST = "manifest.json"
FORMAT = modelfile.FORMAT
ARTIFACTS = (modelfile.JSON_FILE, modelfile.ARRAYS_FILE, world.FILE, "card.json", "card.md")
RECORDED_LIBRARIES = ("numpy", "scipy", "scikit-learn", "pandas")


class ModelLoadError(RuntimeError):
    """The model directory cannot be trusted or used as it is."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    return {lib: version(lib) for lib in RECORDED_LIBRARIES}


@dataclass
class Bundle:
    """A loaded, verified model directory."""

    model: Any
    baselines: Any
    card: dict[str, Any]
    manifest: dict[str, Any]
    directory: Path
    world: dict[str, Any]  # the tables the model was trained with

    @property
    def sha256(self) -> str:
        """The model's identity: one hash of its two data files (the card may be re-rendered)."""
        files = self.manifest["files"]
        return hashlib.sha256("".join(files[n]["sha256"] for n in ARTIFACTS[:2]).encode()).hexdigest()

    @property
    def name(self) -> str:
        return self.card["model"]["name"]

    def identity(self) -> dict[str, Any]:
        """What every score shows about the model that produced it."""
        return {"name": self.name, "sha256": self.sha256, "training_data": self.card["data"]["description"]}


def save(directory: str | Path, model: Any, baselines: Any, card: dict[str, Any], card_md: str) -> Path:
    """Write the model directory and its manifest; returns the directory."""
    d = Path(directory)
    tables = world.snapshot()
    for design in (model.label_design_, model.fund_design_):
        if {k: list(v) for k, v in design.levels.items()} != {k: tables["codes"][k] for k in design.levels}:
            raise ValueError("the catalogue's codes changed between fitting the model and saving it; fit it again")
    d.mkdir(parents=True, exist_ok=True)
    foreign = sorted(p.name for p in d.iterdir() if p.name not in ARTIFACTS + (MANIFEST,))
    if foreign:
        raise ValueError(
            f"{d} holds {', '.join(foreign)}, which are not part of a model: save to an empty directory "
            "or remove them (a model directory holds only its manifest's files)"
        )
    modelfile.write(d, model, baselines)
    (d / world.FILE).write_text(
        json.dumps(tables, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    (d / "card.json").write_text(
        json.dumps(card, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    (d / "card.md").write_text(card_md, encoding="utf-8")
    write_manifest(d)
    return d


def write_manifest(d: Path) -> dict[str, Any]:
    manifest = {
        "format": FORMAT,
        "libraries": library_versions(),
        "world": world.fingerprints(json.loads((d / world.FILE).read_text(encoding="utf-8"))),
        "files": {name: {"sha256": sha256_file(d / name), "bytes": (d / name).stat().st_size} for name in ARTIFACTS},
    }
    (d / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def verify(directory: str | Path) -> dict[str, Any]:
    """Check the manifest of a model directory and the files it lists; returns it, or raises ModelLoadError."""
    d = Path(directory)
    manifest = _read_manifest(d)
    files = manifest["files"]
    if manifest.get("format") != FORMAT:
        raise ModelLoadError(
            f"{d}: model format {manifest.get('format')!r}, this version reads format {FORMAT} "
            "(arrays and JSON, no pickle): retrain it with `cep-scoring train --out DIR` "
            "(`make model` for the shipped one)"
        )
    root = d.resolve()
    for name in files:
        p = d / name
        if not isinstance(name, str) or Path(name).name != name or name in (".", "..") or p.resolve().parent != root:
            raise ModelLoadError(
                f"{d}: the manifest lists {name!r}, which is not a file of this directory; refusing to load it"
            )
    unexpected = sorted(set(files) ^ set(ARTIFACTS))
    if unexpected:
        raise ModelLoadError(
            f"{d}: the manifest lists {sorted(files)}, a model directory holds {list(ARTIFACTS)}; refusing to load it"
        )
    present = sorted(p.name for p in d.iterdir() if p.name != MANIFEST and p.name not in files)
    if present:
        raise ModelLoadError(
            f"{d}: {', '.join(present)} not in the manifest; a model directory holds only the "
            "files its manifest lists (a pickled model is never loaded): remove them or retrain"
        )
    for name in ARTIFACTS:
        p = d / name
        if not p.is_file():
            raise ModelLoadError(f"{d}: {name} is missing; the directory is incomplete, retrain or restore it")
        if p.stat().st_size != files[name]["bytes"]:
            raise ModelLoadError(
                f"{p}: {p.stat().st_size} bytes but the manifest says {files[name]['bytes']}: "
                "the file is truncated or was replaced; refusing to load it"
            )
        if sha256_file(p) != files[name]["sha256"]:
            raise ModelLoadError(
                f"{p}: SHA-256 does not match the manifest: the file was modified; "
                "refusing to load it (retrain with `cep-scoring train` or restore the original)"
            )
    return manifest


def _read_manifest(d: Path) -> dict[str, Any]:
    mpath = d / MANIFEST
    if not mpath.is_file():
        raise ModelLoadError(f"{d}: no {MANIFEST}; this is not a model directory written by `cep-scoring train`")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        if not isinstance(manifest["files"], dict):
            raise TypeError("files is not a mapping")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{mpath}: unreadable manifest ({exc}); retrain with `cep-scoring train`") from None
    return manifest


def load(directory: str | Path | None = None) -> Bundle:
    """Load a verified model directory (default: the shipped model)."""
    d = Path(directory) if directory else DEFAULT_MODEL_DIR
    manifest = verify(d)
    trained = check_world(d, manifest)
    try:
        model, baselines = modelfile.read(d)
    except modelfile.ModelFileError as exc:
        raise ModelLoadError(str(exc)) from None
    card = json.loads((d / "card.json").read_text(encoding="utf-8"))
    return Bundle(model, baselines, card, manifest, d, trained)


def check_world(d: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The model's copy of the tables, if the installed ones are the same; else one message saying what changed."""
    trained = json.loads((d / world.FILE).read_text(encoding="utf-8"))
    try:
        now = world.snapshot()
    except (OSError, ValueError, KeyError) as exc:  # a table its loader refuses: a window in codes.csv only, ...
        raise ModelLoadError(
            f"the installed tables cannot be read ({exc}); fix them, then retrain the model if they changed"
        ) from None
    if world.fingerprints(now) == manifest.get("world") == world.fingerprints(trained):
        return trained
    changes = world.differences(trained, now) or [
        f"the {', '.join(t for t, f in world.fingerprints(now).items() if manifest.get('world', {}).get(t) != f)} "
        "tables changed since the model was trained"
    ]
    more = f"; and {len(changes) - 3} more changes" if len(changes) > 3 else ""
    how = "`make model`" if d == DEFAULT_MODEL_DIR else f"`cep-scoring train --data BASE --out {d}`"
    raise ModelLoadError(f"{d}: {'; '.join(changes[:3])}{more}: retrain with {how}")
