# The two commands in README.md. Each one sets up .venv first (idempotent), so a fresh
# clone needs nothing but Python 3.11 and the package registries.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup bench lint clean ui java exps docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: pip takes the CPU build on this machine's disk; a loose
	# torch pulled in later by another package would fetch a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,spark,fast,docs]'
	touch $(STAMP)

# `followback score --engine spark` (tested in CI on local[2]) needs a Java runtime, 17 or
# newer; a fresh Debian machine has none, so install Debian's default one when java is missing.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "java not found: installing default-jre-headless"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless; }

setup: $(STAMP) java

## Train on the bundled demo data, score every follower and write the review report.
demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro
	@echo "Review report: reports/review.html   Scores: data/scores.csv"

## Check the import layers, build the documentation site (docs/ -> site/) and run the whole
## test suite (fast tests and the slow real-model tests). pytest runs last, so its summary stays
## the last line.
test: setup docs
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

## The documentation site: mkdocs.yml + docs/ -> site/; any warning (a broken link, a page
## missing from the nav's files) fails the build. Offline: no fonts or scripts are fetched.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: $(STAMP)
	$(BIN)/python bench/features.py
	$(BIN)/python bench/score.py --accounts 500 --memory-accounts 20000
	$(BIN)/python bench/train.py
	$(BIN)/python bench/trends_power.py
	$(BIN)/python bench/fetch.py --followers 300
	$(BIN)/python bench/implicit.py
	$(BIN)/python bench/group_value.py --sizes 10000 100000
	$(BIN)/python bench/encoders.py
	$(BIN)/python bench/language.py
	$(BIN)/python bench/toxicity_heads.py

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/lint-imports

ui: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000 --workers 1

clean:
	rm -rf $(VENV)

## Experiments side by side in a 120-column terminal: the main scores and the classifier.
exps: $(STAMP)
	$(BIN)/dvc exp show --no-pager --drop '.*' \
	  --keep 'Experiment|Created|cv_roc_auc|holdout_roc_auc|^ap$$|^f1$$|auc_gain|train\.classifier'
