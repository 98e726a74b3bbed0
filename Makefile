# The two commands of the README. Both set up a local virtual environment first.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: app test lint model data bench

# Who can reach the app: this machine only. CEP_ADDRESS=0.0.0.0 CEP_HOST=<name users type> serves
# a team on a shared host: everyone who can reach that port then sees the dossiers (README).
CEP_ADDRESS ?= 127.0.0.1
CEP_HOST ?= $(CEP_ADDRESS)
# Which port: `make app PORT=8502` runs a second app beside the first.
PORT ?= 8501

app: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(BIN)/streamlit run ui/app.py --server.address $(CEP_ADDRESS) --browser.serverAddress $(CEP_HOST) --server.port $(PORT)

# Every test: pyproject.toml deselects the slow ones for a quick `pytest` loop, this selects them back.
test: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -rs -m "slow or not slow" $(PYTEST_ARGS)

# Lint, format and types (configuration in pyproject.toml); CI runs it before the tests.
lint: $(VENV)/.installed
	$(BIN)/ruff check scoring ui tests
	$(BIN)/ruff format --check scoring ui tests
	$(BIN)/mypy

# Rebuild the shipped dataset (same codes and outcomes on every CPU, numbers to 1e-9) and model.
data: $(VENV)/.installed
	$(BIN)/cep-scoring generate --rows 60000 --seed 2025 --out data/cep_synthetic.csv

# One BLAS thread: sums run in one order, so one machine gives the same bytes every run (another CPU's
# kernels move the fitted probabilities by about 1e-3: README, "Rebuilding the shipped data and model").
model: $(VENV)/.installed
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/cep-scoring train --data data/cep_synthetic.csv --out models/default

bench: $(VENV)/.installed
	$(BIN)/cep-scoring bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@
