"""The dossier store: every version of every dossier, the committee's work, an append-only audit log.

An embedded SQLite file by default, any PostgreSQL through `CEP_DB_URL`;
the schema is migrated with Alembic when a `Store` opens. See docs/store.md.
"""

from scoring.store.consensus import Consensus, ConsensusSettings, CriterionConsensus, combine
from scoring.store.db import default_path, url_from_env
from scoring.store.errors import ConflictError, ConflictOfInterestError, InvalidDossierError
from scoring.store.panel import CommitteeScores
from scoring.store.records import (
    Assessment,
    Assignment,
    AuditEntry,
    Decision,
    DossierVersion,
    Outcome,
    Prediction,
    Prepared,
    Review,
    SaveResult,
    TriageSaved,
    User,
    prepare,
)
from scoring.store.repository import Store
from scoring.store.transfer import (
    ExportReport,
    ImportReport,
    export_training,
    import_file,
    import_frame,
    training_frame,
)

__all__ = [
    "Assessment",
    "Assignment",
    "AuditEntry",
    "CommitteeScores",
    "ConflictError",
    "ConflictOfInterestError",
    "Consensus",
    "ConsensusSettings",
    "CriterionConsensus",
    "Decision",
    "DossierVersion",
    "ExportReport",
    "ImportReport",
    "InvalidDossierError",
    "Outcome",
    "Prediction",
    "Prepared",
    "Review",
    "SaveResult",
    "Store",
    "TriageSaved",
    "User",
    "combine",
    "default_path",
    "export_training",
    "import_file",
    "import_frame",
    "prepare",
    "training_frame",
    "url_from_env",
]
