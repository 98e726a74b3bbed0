"""The model as data: a fitted CEPModel and its baselines as JSON plus numeric arrays, never a pickle.

`write(directory, model, baselines)` stores every fitted attribute in
`model.json` (numbers, strings, lists, and the name of each object's class)
and `model.npz` (the arrays: coefficients, bootstrap draws, background means,
the design's column tables); `read(directory)` rebuilds the objects. Reading
runs no code from the directory: the JSON may name only the classes listed in
`_CLASSES`, which are created empty and given their attributes; the arrays are
read with `allow_pickle=False` and must be booleans or numbers.

Each class's attributes are listed in `FIELDS`. Saving an object with an
attribute the list does not know is refused (so a fitted attribute added to
the model cannot be silently lost), and loading a file that lacks one is
refused too (a file written by another version: retrain).

The baselines are fitted with scikit-learn; they are stored as the linear maps
they compute (`LinearPipeline`, `LinearLogit`), which predict the same
probabilities to rounding without scikit-learn's objects.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from scoring.additive import AdditiveLogit
from scoring.calibrated import CalibratedAdditive, Platt
from scoring.evaluate import Baselines
from scoring.features import Design
from scoring.model import CEPModel

#: Bump when the meaning of a stored attribute changes; readers refuse other versions.
FORMAT = 2
JSON_FILE, ARRAYS_FILE = "model.json", "model.npz"
#: Array kinds a model holds: booleans, integers, floats. Anything else (objects above all) is refused.
ARRAY_KINDS = "biuf"


class ModelFileError(ValueError):
    """A model file that cannot be written or read as data."""


class LinearLogit:
    """P(y=1) = expit(intercept + X @ coef): a fitted scikit-learn LogisticRegression, as data."""

    coef: np.ndarray
    intercept: float

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = expit(self.intercept + np.asarray(X, float) @ self.coef)
        return np.column_stack([1 - p, p])


class LinearPipeline:
    """The logistic baseline's scikit-learn pipeline as data: one-hot codes, then imputed, flagged and
    standardised numbers, then a logistic regression (`scoring.evaluate._logistic`)."""

    categorical: list[str]  # the one-hot columns, with per column its levels (None: missing) and coefficients
    levels: list[list[str | None]]
    level_coef: list[np.ndarray]
    numeric: list[str]  # the numeric columns: the fill of a missing value, whether the column is kept (not empty
    fill: np.ndarray  # at fit time), which columns have a missing-value flag, the scaler and the coefficients
    kept: np.ndarray
    flagged: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    num_coef: np.ndarray
    intercept: float

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        z = np.full(len(X), self.intercept)
        for col, levels, coef in zip(self.categorical, self.levels, self.level_coef):
            # an unknown level adds nothing (handle_unknown="ignore"); a missing one is a level if it was seen
            by_level = dict(zip((lv for lv in levels if lv is not None), coef))
            missing = coef[levels.index(None)] if None in levels else 0.0
            values = X[col].to_numpy(dtype=object)
            z += np.array([missing if _isna(v) else by_level.get(v, 0.0) for v in values])
        num = X[self.numeric].to_numpy(dtype=float)
        flags = np.isnan(num[:, self.flagged]).astype(float)
        filled = np.where(np.isnan(num), self.fill, num)[:, self.kept]
        cols = np.column_stack([filled, flags])
        z += ((cols - self.mean) / self.scale) @ self.num_coef
        p = expit(z)
        return np.column_stack([1 - p, p])


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


#: Every class a model file may name, and the attributes it stores.
FIELDS: dict[type, tuple[str, ...]] = {
    CEPModel: (
        "seed",
        "n_bootstrap",
        "label_design_",
        "fund_design_",
        "label_",
        "fund_",
        "n_train_",
        "years_",
        "profiles_",
        "interval_scale_",
    ),
    CalibratedAdditive: ("model", "platt", "penalty", "cv_log_loss", "boot_coef", "boot_intercept", "background_mean"),
    AdditiveLogit: ("lower", "penalty", "raw", "intercept_", "coef_", "converged_"),
    Platt: ("a", "b"),
    Design: (
        "with_label",
        "year_range",
        "budget_center",
        "names",
        "owner",
        "partner",
        "lower",
        "u_src",
        "deviation",
        "inputs",
        "sloped",
        "levels",
        "kind",
        "level",
        "knot",
    ),
    Baselines: ("smoothing", "logistic_", "score_sum_", "base_rate_"),
    LinearLogit: ("coef", "intercept"),
    LinearPipeline: (
        "categorical",
        "levels",
        "level_coef",
        "numeric",
        "fill",
        "kept",
        "flagged",
        "mean",
        "scale",
        "num_coef",
        "intercept",
    ),
}
_CLASSES = {cls.__name__: cls for cls in FIELDS}


# --------------------------------------------------------------------------- writing


def write(directory: Path, model: CEPModel, baselines: Baselines) -> tuple[str, str]:
    """Write model.json and model.npz into `directory`; returns their names. Same objects, same bytes."""
    arrays: dict[str, np.ndarray] = {}
    doc = {
        "format": FORMAT,
        "model": _encode(model, arrays, "model"),
        "baselines": _encode(baselines, arrays, "baselines"),
    }
    (directory / JSON_FILE).write_text(
        json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8"
    )
    _write_npz(directory / ARRAYS_FILE, arrays)
    return JSON_FILE, ARRAYS_FILE


def _encode(value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    """A JSON value for `value`; arrays go to `arrays` under the attribute path `where`."""
    value = _freeze_sklearn(value)
    if type(value) in FIELDS:
        cls = type(value)
        extra = sorted(set(vars(value)) - set(FIELDS[cls]))
        if extra:
            raise ModelFileError(
                f"{where}: {cls.__name__} has attribute(s) {extra} that the model file does not "
                "store; add them to FIELDS in scoring/modelfile.py"
            )
        absent = [f for f in FIELDS[cls] if f not in vars(value)]
        if absent:
            raise ModelFileError(f"{where}: {cls.__name__} lacks {absent} (fitted by an older version); retrain it")
        return {
            "object": cls.__name__,
            "fields": {f: _encode(getattr(value, f), arrays, f"{where}.{f}") for f in FIELDS[cls]},
        }
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in ARRAY_KINDS:
            raise ModelFileError(f"{where}: {value.dtype} array; a model file holds booleans and numbers only")
        arrays[where] = value
        return {"array": where}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}  # JSON has no inf or nan
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):  # keys may be tuples (cv_log_loss): stored as pairs
        return {
            "items": [
                [_encode(k, arrays, f"{where}.key{i}"), _encode(v, arrays, f"{where}.{i}")]
                for i, (k, v) in enumerate(value.items())
            ]
        }
    raise ModelFileError(f"{where}: cannot store a {type(value).__name__} in a model file")


def _freeze_sklearn(value: Any) -> Any:
    """A fitted scikit-learn baseline as the linear map it computes; anything else unchanged."""
    if type(value).__module__.split(".")[0] != "sklearn":
        return value
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    if isinstance(value, LogisticRegression):
        return _set(LinearLogit(), coef=value.coef_[0].copy(), intercept=float(value.intercept_[0]))
    if isinstance(value, Pipeline):
        return _freeze_pipeline(value)
    raise ModelFileError(f"cannot store a scikit-learn {type(value).__name__} in a model file")


def _freeze_pipeline(pipe: Any) -> LinearPipeline:
    """The pipeline of `scoring.evaluate._logistic` (ColumnTransformer "cat" one-hot, "num" mean imputer with
    indicators then scaler; logistic regression) as one linear map; any other shape is refused."""
    pre, lr = pipe.steps[0][1], pipe.steps[-1][1]
    steps = {name: (est, cols) for name, est, cols in pre.transformers_ if name != "remainder"}
    ohe, cat_cols = steps["cat"]
    (imputer, scaler), num_cols = [s for _, s in steps["num"][0].steps], steps["num"][1]
    if (
        ohe.drop_idx_ is not None
        or getattr(ohe, "_infrequent_enabled", False)
        or imputer.strategy != "mean"
        or len(pipe.steps) != 2
        or len(lr.classes_) != 2
    ):
        raise ModelFileError("the logistic baseline's pipeline changed shape; update scoring/modelfile.py")
    coef = lr.coef_[0]
    out = LinearPipeline()
    out.categorical = list(cat_cols)
    out.levels = [[None if _isna(v) else str(v) for v in cats] for cats in ohe.categories_]
    sizes = np.cumsum([0] + [len(c) for c in ohe.categories_])
    out.level_coef = [coef[a:b].copy() for a, b in zip(sizes[:-1], sizes[1:])]
    out.numeric = list(num_cols)
    out.fill = imputer.statistics_.copy()
    out.kept = ~np.isnan(imputer.statistics_)  # a column empty at fit time is dropped (keep_empty_features=False)
    out.flagged = imputer.indicator_.features_.copy() if imputer.indicator_ is not None else np.zeros(0, int)
    out.mean, out.scale = scaler.mean_.copy(), scaler.scale_.copy()
    out.num_coef = coef[sizes[-1] :].copy()
    out.intercept = float(lr.intercept_[0])
    if len(out.num_coef) != int(out.kept.sum()) + len(out.flagged):
        raise ModelFileError("the logistic baseline's columns do not add up; update scoring/modelfile.py")
    return out


def _set(obj: Any, **attrs: Any) -> Any:
    vars(obj).update(attrs)
    return obj


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's layout with fixed dates in the zip, so the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[key]), allow_pickle=False)


# --------------------------------------------------------------------------- reading


def read(directory: Path) -> tuple[CEPModel, Baselines]:
    """The model and baselines of a model directory whose files the manifest has already checked."""
    try:
        doc = json.loads((directory / JSON_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{directory / JSON_FILE}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(
            f"{directory / JSON_FILE}: model file format {doc.get('format')!r}, this version "
            f"reads format {FORMAT}; retrain with `make model`"
        )
    arrays = _read_npz(directory / ARRAYS_FILE)
    model, baselines = _decode(doc["model"], arrays), _decode(doc["baselines"], arrays)
    if type(model) is not CEPModel or type(baselines) is not Baselines:
        raise ModelFileError(f"{directory / JSON_FILE}: does not hold a CEPModel and its Baselines")
    return model, baselines


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        # allow_pickle=False turns an object array into ValueError: nothing was unpickled
        raise ModelFileError(f"{path}: not an array file this version can read as data ({exc})") from None
    bad = sorted(k for k, a in arrays.items() if a.dtype.kind not in ARRAY_KINDS)
    if bad:
        raise ModelFileError(f"{path}: arrays {bad} are not booleans or numbers; refusing them")
    return arrays


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "object" in value:
        return _decode_object(value, arrays)
    if len(value) != 1:
        raise ModelFileError(f"model file: unknown entry {sorted(value)}")
    ((kind, body),) = value.items()
    if kind == "array":
        if body not in arrays:
            raise ModelFileError(f"model file refers to array {body!r}, absent from {ARRAYS_FILE}")
        return arrays[body]
    if kind == "float" and body in ("inf", "-inf", "nan"):
        return float(body)
    if kind == "tuple":
        return tuple(_decode(v, arrays) for v in body)
    if kind == "items":
        return {_decode(k, arrays): _decode(v, arrays) for k, v in body}
    raise ModelFileError(f"model file: unknown entry {kind!r}")


def _decode_object(value: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """One of the model's classes, created empty (no __init__ runs) and given its stored attributes."""
    cls = _CLASSES.get(value["object"])
    if cls is None:
        raise ModelFileError(f"model file names class {value['object']!r}, which is not part of a model")
    fields = value.get("fields")
    if not isinstance(fields, dict) or set(fields) != set(FIELDS[cls]):
        raise ModelFileError(
            f"model file: {cls.__name__} has attributes {sorted(fields or ())}, this version "
            f"expects {sorted(FIELDS[cls])}; retrain with `make model`"
        )
    obj: Any = object.__new__(cls)
    for f in FIELDS[cls]:
        setattr(obj, f, _decode(fields[f], arrays))
    return obj
