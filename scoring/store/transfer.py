"""Files in and out of the store: importing a CEP export or a generated base, and
exporting the committee's decided dossiers as a training base.

Import validates the whole file with the schema's validator and reports each
bad row (row, field, value, reason); the good rows are saved in one
transaction, matched on `dossier_id`, so that importing a file twice adds
nothing and a changed row becomes a new version. Columns that are not part of
a dossier (e.g. a synthetic base's `true_p_*`) are left out and named in the
report.

Export writes the canonical columns (`fields.COLUMNS`, `dossier_id` first),
one row per dossier whose label and funding are both decided, with its latest
valid version and its latest decision; a criterion the dossier has no expert
score for is filled with the committee's consensus when experts scored it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring import formatting, io, jsonform, schema
from scoring.catalogue import CRITERIA, SCORE_COLUMNS
from scoring.fields import COLUMNS, FIELD_BY_NAME, FIELDS
from scoring.i18n import counted, t
from scoring.issues import Issue
from scoring.rubric import round_half
from scoring.store.records import Outcome, check_name, id_issue, prepare_valid
from scoring.store.repository import Store


@dataclass(frozen=True)
class ImportReport:
    rows: int
    added: int  # dossiers new to the store
    new_versions: int  # known dossiers whose row changed
    unchanged: int
    decisions: int  # outcomes recorded (new or changed)
    issues: tuple[Issue, ...]
    ignored_columns: tuple[str, ...]
    path: str | None = None
    how: io.How | None = None  # how the file was read; None for a table given as such

    @property
    def bad_rows(self) -> int:
        return len({i.row for i in self.issues})

    @property
    def read_as(self) -> str:
        """How the file was read, in English, as the JSON report and the logs hold it."""
        return io.read_as(self.how) if self.how else ""

    def said(self, lang: str) -> str:
        return io.said(self.how, lang) if self.how else ""

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        """The report as JSON data; its issues' words in `lang`."""
        return {
            "path": self.path,
            "read_as": self.read_as,
            "rows": self.rows,
            "added": self.added,
            "new_versions": self.new_versions,
            "unchanged": self.unchanged,
            "decisions": self.decisions,
            "bad_rows": self.bad_rows,
            "ignored_columns": list(self.ignored_columns),
            "issues": [i.as_dict(lang) for i in self.issues],
        }

    def summary(self, lang: str = "en") -> str:
        """What the import did, in `lang`, each count with its word in the number it takes."""
        text = t(
            "cli.import.summary",
            lang,
            file=self.path or t("cli.import.table", lang),
            rows=counted("cli.import.rows", self.rows, lang),
            added=counted("cli.import.added", self.added, lang),
            versions=counted("cli.import.versions", self.new_versions, lang),
            unchanged=counted("cli.import.unchanged", self.unchanged, lang),
            decisions=counted("cli.import.decisions", self.decisions, lang),
            bad=counted("cli.import.bad", self.bad_rows, lang),
        )
        if self.ignored_columns:
            text += t("cli.import.ignored", lang, columns=", ".join(self.ignored_columns))
        return text


def import_frame(store: Store, frame: pd.DataFrame, *, user: str) -> ImportReport:
    """Validate a flat table of dossiers and save its good rows (raises `schema.SchemaError` for a bad header)."""
    user = check_name(user, "user")
    v = schema.validate_frame(frame)
    typed, ok, first = v.frame, v.ok.copy(), v.first_row
    issues = list(v.issues) + _row_issues(typed, ok, first)
    for i in issues:
        ok[i.row - first] = False
    records = typed.loc[ok, list(COLUMNS)].to_dict("records")
    docs = [prepare_valid(r) for r in records]
    outcomes = {
        d.dossier_id: Outcome(
            labeled=bool(r["labeled"]),
            funded=None if np.isnan(r["funded"]) else bool(r["funded"]),
            funding_window=r["funding_window"],
        )
        for d, r in zip(docs, records)
        if not np.isnan(r["labeled"])
    }
    saved, n_decisions = store.ingest(docs, outcomes, user=user) if docs else ([], 0)
    return ImportReport(
        rows=len(typed),
        added=sum(s.created and s.version == 1 for s in saved),
        new_versions=sum(s.created and s.version > 1 for s in saved),
        unchanged=sum(not s.created for s in saved),
        decisions=n_decisions,
        issues=tuple(sorted(issues, key=lambda i: i.row)),
        ignored_columns=tuple(c for c in typed.columns if c not in FIELD_BY_NAME),
    )


def _row_issues(typed: pd.DataFrame, ok: np.ndarray, first: int) -> list[Issue]:
    """What the schema cannot see: identifiers the store cannot hold, outcomes in order (the validator
    already flags an id on several rows)."""
    out = []
    ids = typed["dossier_id"]
    for i in np.flatnonzero(ok):
        issue = id_issue(ids.iat[i], int(i) + first)
        if issue:
            out.append(issue)
    funded_alone = ok & np.isnan(typed["labeled"].to_numpy(float)) & ~np.isnan(typed["funded"].to_numpy(float))
    out.extend(
        Issue(int(i) + first, "labeled", None, "is missing while funded is given; give the label decision too")
        for i in np.flatnonzero(funded_alone)
    )
    return out


def import_file(store: Store, path: str | Path, *, user: str, read: io.ReadOptions | None = None) -> ImportReport:
    """Import a CSV, XLSX, Parquet or JSON file of dossiers (see `import_frame`); `read_as` says how it was read."""
    table = io.read_file(path, read)
    return replace(import_frame(store, table.frame, user=user), path=str(path), how=table.how)


@dataclass(frozen=True)
class ExportReport:
    rows: int  # dossiers written
    pending: int  # labelled or not, but the window's answer is not known yet: left out
    no_valid_version: int  # decided, but only drafts were ever saved: left out
    consensus_filled: int  # score cells filled from the experts' consensus
    path: str | None = None

    def summary(self, lang: str = "en") -> str:
        """What the export wrote and left out, in `lang`."""
        return t(
            "cli.export.summary",
            lang,
            rows=counted("cli.export.rows", self.rows, lang),
            path=self.path,
            pending=formatting.number(self.pending, lang),
            invalid=formatting.number(self.no_valid_version, lang),
            filled=counted("cli.export.filled", self.consensus_filled, lang),
        )


def training_frame(store: Store) -> tuple[pd.DataFrame, ExportReport]:
    """The training base of the store's decided dossiers, in the canonical columns, and what was left out."""
    latest = {d.dossier_id: d.payload for d in store.list_dossiers(status="valid")}
    decided = store.decisions()
    final = sorted(i for i, d in decided.items() if d.funded is not None)
    consensus = store.consensus(final)
    rows, filled = [], 0
    for dossier_id in final:
        if dossier_id not in latest:
            continue
        flat = jsonform.from_json(latest[dossier_id])
        flat.update(labeled=decided[dossier_id].labeled, funded=decided[dossier_id].funded)
        if dossier_id in consensus:
            values = consensus[dossier_id].values()
            for crit, col in zip(CRITERIA, SCORE_COLUMNS):
                value = values[crit]
                if flat.get(col) is None and value is not None:
                    flat[col] = float(round_half(value))
                    filled += 1
        rows.append(flat)
    frame = _typed(pd.DataFrame(rows, columns=list(COLUMNS), dtype=object))
    return frame, ExportReport(
        rows=len(rows),
        pending=len(decided) - len(final),
        no_valid_version=sum(i not in latest for i in final),
        consensus_filled=filled,
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Column types a reader keeps: whole numbers stay whole, yes/no stay booleans, empty cells stay empty."""
    dtypes = {"int": "Int64", "bool": "boolean", "float": "float64", "score": "float64"}
    return frame.astype({f.name: dtypes[f.kind] for f in FIELDS if f.kind in dtypes})


def export_training(store: Store, out_path: str | Path, *, excel_fr: bool = False) -> ExportReport:
    """Write the training base (CSV, XLSX or Parquet, by extension; `excel_fr`: the CSV a French Excel opens)
    and say what it holds."""
    frame, report = training_frame(store)
    io.write_table(frame, out_path, excel_fr=excel_fr)
    return replace(report, path=str(out_path))
