"""The store's refusals: each says what was refused, why, and what to do instead."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scoring.issues import Issue


class ConflictError(RuntimeError):
    """A save was based on a version that is no longer the latest: nothing was written."""

    def __init__(
        self,
        dossier_id: str,
        expected_version: int | None,
        current_version: int | None,
        saved_by: str | None = None,
        saved_at: dt.datetime | None = None,
    ):
        self.dossier_id = dossier_id
        self.expected_version = expected_version
        self.current_version = current_version
        self.saved_by = saved_by
        self.saved_at = saved_at
        super().__init__(self._message())

    def _message(self) -> str:
        who = f" by {self.saved_by}" if self.saved_by else ""
        when = f" at {self.saved_at:%Y-%m-%d %H:%M} UTC" if self.saved_at else ""
        if self.current_version is None:
            return (
                f"dossier {self.dossier_id!r}: you edited version {self.expected_version}, but the store has no "
                f"saved version of it; nothing was saved. Save it as a new dossier instead."
            )
        if self.expected_version is None:
            return (
                f"dossier {self.dossier_id!r} already exists (version {self.current_version}, saved{who}{when}); "
                f"nothing was saved. Open it and edit the latest version instead."
            )
        return (
            f"dossier {self.dossier_id!r}: you edited version {self.expected_version}, but version "
            f"{self.current_version} was saved meanwhile{who}{when}; nothing was saved. Reopen version "
            f"{self.current_version}, apply your changes again, and save."
        )


class ConflictOfInterestError(PermissionError):
    """An expert who declared a conflict of interest on a dossier tried to score it."""

    def __init__(self, dossier_id: str, expert: str):
        self.dossier_id = dossier_id
        self.expert = expert
        super().__init__(
            f"{expert} declared a conflict of interest on dossier {dossier_id!r}: "
            f"their scoring of it is refused and the committee's scores are hidden from them"
        )


class InvalidDossierError(ValueError):
    """A dossier failed validation; `issues` lists every reason (save it as a draft to keep it anyway)."""

    def __init__(self, dossier_id: str | None, issues: list[Issue]):
        self.dossier_id = dossier_id
        self.issues = issues
        listed = "; ".join(f"{i.field}: value {i.value!r} {i.reason}" for i in issues)
        super().__init__(
            f"dossier {dossier_id!r} is not valid, nothing was saved ({listed}); fix these fields or save it as a draft"
        )
