# The two commands in README.md. Each one sets up .venv first (idempotent), so a fresh
# clone needs nothing but Python 3.11 and the package registries.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup bench lint clean ui

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: pip takes the CPU build on this machine's disk; a loose
	# torch pulled in later by another package would fetch a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Train on the bundled demo data, score every follower and write the review report.
demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro
	@echo "Review report: reports/review.html   Scores: data/scores.csv"

## Run the whole test suite (fast tests and the slow real-model tests).
test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/features.py
	$(BIN)/python bench/score.py --accounts 500 --memory-accounts 20000
	$(BIN)/python bench/train.py
	$(BIN)/python bench/trends_power.py
	$(BIN)/python bench/fetch.py --followers 300
	$(BIN)/python bench/encoders.py
	$(BIN)/python bench/language.py

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench

ui: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000 --workers 1

clean:
	rm -rf $(VENV)
