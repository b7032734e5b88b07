"""The scores file ``followback score`` writes, and reading it back.

One row per account: probability, threshold, verdict, override, reason_1..3 and the
contribution of each criterion. CSV output is neutralised: a text cell that a spreadsheet would
run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a
leading ``'``; so does a cell that already starts with ``'``, which keeps the change reversible
(:func:`read_scores` undoes it). ``decide``, ``review``, ``report``, ``apply`` and the app read
scores through :func:`read_scores`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.data import io

CRITERIA_ORDER = ["bot", "language", "bio", "ratio", "toxicity", "topic"]
CONTRIB_COLUMNS = [f"contrib_{c}" for c in CRITERIA_ORDER]
OUTPUT_COLUMNS = [
    "account_id", "handle", "display_name", "bio", "probability", "threshold", "verdict",
    "override", "reason_1", "reason_2", "reason_3", *CONTRIB_COLUMNS,
    # 0 = your newest undecided follower (they come first); empty for everyone else
    "undecided_rank",
]
TEXT_COLUMNS = ["account_id", "handle", "display_name", "bio", "verdict", "override",
                "reason_1", "reason_2", "reason_3"]
FLOAT_COLUMNS = ["probability", "threshold", *CONTRIB_COLUMNS]
DECIMALS = 4
# First characters that make a spreadsheet evaluate a cell (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The csv module quotes a field holding any character of the line terminator; with "\n" alone a
# bare "\r" in a bio went out unquoted and broke the file for every reader.
CSV_LINE_END = "\r\n"  # a pseudo account present at every snapshot time


def neutralise(value: Any) -> Any:
    """Prefix ``'`` to text a spreadsheet would run as a formula (and to text starting with
    ``'``, so that :func:`unneutralise` is exact)."""
    if isinstance(value, str) and value and (value[0] in FORMULA_START or value[0] == "'"):
        return "'" + value
    return value


def unneutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns
            if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object]


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell neutralised; numbers (a negative contribution) stay numbers."""
    out = frame.copy()
    for col in text_columns(out):
        out[col] = out[col].map(neutralise, na_action="ignore").astype(out[col].dtype)
    return out


def conform_scores(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reindex(columns=OUTPUT_COLUMNS).copy()
    for col in TEXT_COLUMNS:
        out[col] = out[col].astype("string")
    for col in FLOAT_COLUMNS:
        out[col] = out[col].astype(float)
    out["undecided_rank"] = pd.to_numeric(out["undecided_rank"], errors="coerce").astype("Int64")
    out["override"] = out["override"].fillna("")
    return out


def read_scores(path: str | Path) -> pd.DataFrame:
    """A scores file written by ``followback score`` (CSV neutralisation undone)."""
    path = Path(path)
    io.recover(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `followback score` first")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix in (".jsonl", ".ndjson"):
        frame = pd.read_json(path, lines=True, dtype={c: "string" for c in TEXT_COLUMNS})
    else:
        frame = pd.read_csv(path, dtype={c: "string" for c in TEXT_COLUMNS},
                            keep_default_na=False, na_values={c: [""] for c in FLOAT_COLUMNS})
        for col in TEXT_COLUMNS:
            frame[col] = frame[col].map(unneutralise, na_action="ignore").astype("string")
            frame[col] = frame[col].mask(frame[col] == "")
    return conform_scores(frame)


def rejects_path(out: Path) -> Path:
    """``data/scores.csv`` -> ``data/scores.rejects.csv``."""
    out = Path(out)
    return out.with_name(f"{out.name.split('.', 1)[0]}.rejects.csv")
