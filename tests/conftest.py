"""Shared fixtures. Real models load once per test session; everything runs offline."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

# Nothing in the tests may reach a model hub: fail fast instead of hanging on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_BOT_RESEARCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bot-research"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def bot_research_dir() -> Path:
    """The public cresci-2017 tables in ../shared (read in place, never copied in)."""
    path = SHARED_BOT_RESEARCH / "cresci-2017"
    if not path.is_dir():
        pytest.skip(f"shared bot-research data not present at {path}")
    return path


def sample_research(src: Path, dst: Path, n: int,
                    per_group: dict[str, int] | None = None) -> dict[str, int]:
    """The first ``n`` accounts of each research users table in ``src`` (``per_group[group]``
    where given), written under ``dst`` byte-compatible (same header, same rows); returns the
    rows written per group."""
    dst.mkdir(parents=True, exist_ok=True)
    written = {}
    for path in sorted(src.glob("*.users.csv")):
        k = (per_group or {}).get(path.name.split(".")[0], n)
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            rows = [next(reader)] + [row for _, row in zip(range(k), reader, strict=False)]
        with open(dst / path.name, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
        written[path.name.split(".")[0]] = len(rows) - 1
    return written


@pytest.fixture(autouse=True)
def _error_log_in_tmp(tmp_path_factory, monkeypatch):
    """Tracebacks the CLI logs go to a temporary file, not .followback/ of the checkout."""
    from pipeline import cli

    monkeypatch.setattr(cli, "LOG_FILE", tmp_path_factory.getbasetemp() / "error.log")
