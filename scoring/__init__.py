"""cep-scoring: explainable likelihood of a health-innovation dossier being
labelled by Medicen's project-evaluation committee (CEP) and funded.

The library never imports the UI; `ui/` imports the library.
"""

from pathlib import Path

__version__ = "0.1.0"

#: Reference tables and default dataset live beside the package, in `data/`,
#: as readable files that experts may tune.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
