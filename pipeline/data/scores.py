"""The scores file ``followback score`` writes, and reading it back.

One row per account: probability, threshold, verdict, override, reason_1..3 and the
contribution of each criterion. CSV output is neutralised: a text cell that a spreadsheet would
run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a
leading ``'``; so does a cell that already starts with ``'``, which keeps the change reversible
(:func:`read_scores` undoes it). ``decide``, ``review``, ``report``, ``apply`` and the app read
scores through :func:`read_scores`; the app pages through them with :func:`page`, which reads a
Parquet copy beside the file (:func:`load_scores`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
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


# --------------------------------------------------------------------------- pages

# A copy of a CSV or JSON Lines scores file in Parquet, beside it, that reads in a fraction of
# the time (``followback score`` writes it; :func:`load_scores` rebuilds it when missing or
# stale). It records the size and modification time of the file it copies, so a scores file
# replaced or edited by hand is never paged from an old copy.
SIDECAR_KEY = b"followback.source"
_LOADED: dict[str, tuple[tuple[int, int], pd.DataFrame]] = {}
_EPS = 1e-9


def sidecar_path(path: str | Path) -> Path:
    """``data/scores.csv`` -> ``data/.scores.csv.parquet``."""
    path = Path(path)
    return path.with_name(f".{path.name}.parquet")


def _stat_key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return int(st.st_size), int(st.st_mtime_ns)


def write_sidecar(frames: pd.DataFrame | Iterable[pd.DataFrame], path: str | Path,
                  source: str | Path | None = None, target: str | Path | None = None
                  ) -> Path | None:
    """Write the Parquet copy of the scores file ``path`` from its rows (a frame, or frames
    streamed one after another in bounded memory).

    ``source``: the file whose size and time the copy records, when it is not ``path`` yet;
    ``target``: where to write, when not :func:`sidecar_path` (score writes both beside the
    temporary files that become ``path`` and its copy together). Nothing is written for a
    scores file that is Parquet already.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        return None
    size, mtime = _stat_key(Path(source) if source is not None else path)
    parts = [frames] if isinstance(frames, pd.DataFrame) else frames
    target = Path(target) if target is not None else sidecar_path(path)
    with io.atomic_path(target) as tmp:
        writer = None
        for frame in parts:
            table = pa.Table.from_pandas(conform_scores(frame), preserve_index=False)
            if writer is None:
                meta = dict(table.schema.metadata or {})
                meta[SIDECAR_KEY] = f"{size} {mtime}".encode()
                writer = pq.ParquetWriter(tmp, table.schema.with_metadata(meta))
            writer.write_table(table.cast(writer.schema))
        if writer is None:
            empty = pa.Table.from_pandas(conform_scores(pd.DataFrame(columns=OUTPUT_COLUMNS)),
                                         preserve_index=False)
            meta = {**(empty.schema.metadata or {}), SIDECAR_KEY: f"{size} {mtime}".encode()}
            pq.write_table(empty.replace_schema_metadata(meta), tmp)
        else:
            writer.close()
    return target


def _fresh_sidecar(path: Path) -> pd.DataFrame | None:
    import pyarrow.parquet as pq

    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        table = pq.read_table(side)
    except (OSError, ValueError):
        return None
    recorded = (table.schema.metadata or {}).get(SIDECAR_KEY, b"").decode().split()
    if [int(v) for v in recorded] != list(_stat_key(path)):
        return None
    return conform_scores(table.to_pandas())


def load_scores(path: str | Path) -> pd.DataFrame:
    """:func:`read_scores`, fast: from memory when this process read the same file version
    before, else from its Parquet copy (:func:`sidecar_path`) when that is fresh, else from
    the file itself, then writing the copy for the next reader.

    The frame returned is shared between callers: do not modify it in place.
    """
    path = Path(path)
    io.recover(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `followback score` first")
    key = _stat_key(path)
    held = _LOADED.get(str(path.resolve()))
    if held is not None and held[0] == key:
        return held[1]
    frame = None if path.suffix.lower() == ".parquet" else _fresh_sidecar(path)
    if frame is None:
        frame = read_scores(path)
        if path.suffix.lower() != ".parquet":
            try:
                write_sidecar(frame, path)
            except OSError:  # a read-only folder: page from memory, slower the first time
                pass
    _LOADED.clear()  # one scores file at a time: the app shows one
    _LOADED[str(path.resolve())] = (key, frame)
    return frame


def uncertainty(scores: pd.DataFrame) -> np.ndarray:
    """Distance of each account's log-odds from the threshold's: 0 is a coin toss."""
    p = np.clip(scores["probability"].to_numpy(dtype=float), _EPS, 1 - _EPS)
    t = np.clip(scores["threshold"].to_numpy(dtype=float), _EPS, 1 - _EPS)
    return np.abs(np.log(p / (1 - p)) - np.log(t / (1 - t)))


@dataclass
class Page:
    """One page of scored accounts and how many match in all."""

    rows: pd.DataFrame
    total: int
    offset: int
    limit: int


def page(
    path: str | Path,
    offset: int = 0,
    limit: int = 50,
    order: str = "uncertainty",
    descending: bool = False,
    verdicts: Iterable[str] | None = None,
    query: str | None = None,
    exclude: Iterable[str] | None = None,
    overridden: bool = True,
) -> Page:
    """A page of the scores file, sorted, filtered and searched, for the app's lists.

    Parameters
    ----------
    path : the scores file (``score.out``), any format ``followback score`` writes.
    offset, limit : the page's first row among the matches and its length.
    order : ``"uncertainty"`` (closest to the threshold first, as ``review`` asks) or a
        column of the scores file (e.g. ``probability``, ``handle``, ``contrib_bot``).
        Ties keep the file's order.
    descending : reverse the order (ties still in the file's order).
    verdicts : keep these verdicts only.
    query : keep accounts whose handle, display name or bio contains it (any case).
    exclude : account ids to leave out (e.g. the accounts already decided).
    overridden : False leaves out the accounts on the allow or never-follow list.

    At 50,000 accounts a first page takes well under a second with the Parquet copy that
    ``followback score`` writes (``bench/score.py`` measures it); later pages of the same
    file come from memory.
    """
    scores = load_scores(path)
    keep = np.ones(len(scores), dtype=bool)
    if verdicts is not None:
        keep &= scores["verdict"].isin(list(verdicts)).to_numpy()
    if exclude is not None:
        keep &= ~scores["account_id"].isin(set(exclude)).to_numpy()
    if not overridden:
        keep &= (scores["override"].fillna("") == "").to_numpy()
    if query:
        needle = str(query).casefold()
        found = np.zeros(len(scores), dtype=bool)
        for col in ("handle", "display_name", "bio"):
            text = scores[col].fillna("").str.casefold()
            found |= text.str.contains(needle, regex=False).to_numpy(dtype=bool)
        keep &= found
    rows = np.flatnonzero(keep)
    if order == "uncertainty":
        key = uncertainty(scores.iloc[rows])
    elif order in scores.columns:
        key = scores[order].iloc[rows].to_numpy()
    else:
        raise ValueError(f"unknown order {order!r}: use 'uncertainty' or a scores column")
    ranked = _stable_order(key, descending)
    offset, limit = max(int(offset), 0), max(int(limit), 0)
    chosen = rows[ranked[offset:offset + limit]]
    return Page(scores.iloc[chosen].reset_index(drop=True), int(len(rows)), offset, limit)


def _stable_order(key: np.ndarray, descending: bool) -> np.ndarray:
    """Positions that sort ``key`` (missing last), ties in their original order."""
    series = pd.Series(key)
    return np.asarray(series.sort_values(ascending=not descending, kind="stable",
                                         na_position="last").index)
