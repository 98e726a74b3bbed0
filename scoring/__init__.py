"""cep-scoring: explainable likelihood of a health-innovation dossier being
labelled by Medicen's project-evaluation committee (CEP) and funded.

The library never imports the UI; `ui/` imports the library.
"""

from scoring.paths import DATA_DIR, MODELS_DIR

__version__ = "0.1.0"

#: Reference tables and the default dataset (`data/`, readable files that experts may tune) and the shipped
#: model (`models/`): located by `scoring.paths`, in the installed package or the checkout.
__all__ = ["DATA_DIR", "MODELS_DIR", "__version__"]
