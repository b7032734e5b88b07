"""Score accounts from any ingest format in bounded memory, resumably, with reasons.

How the input is streamed
-------------------------
Accounts and their posts may come in separate files, in any order (a posts file before its
accounts file, or posts nested in each account of a platform export). Matching them needs an
index, and holding the posts in memory would grow with the input, so the first pass streams
every record through :func:`pipeline.schema` validation into an on-disk SQLite *spool* in the
work folder: accounts and posts keyed like the contract (a later or more recently observed
duplicate replaces an older one, as in ``validate_records``), snapshots for the churn counts,
rejects with their reasons. The second pass reads the spool ``score.chunk_size`` accounts at a
time in input order, with each account's newest ``features.max_posts`` posts, builds the model
input (:func:`pipeline.frame.account_frame`), scores and explains it, and writes the chunk's
rows to a part file. Memory is one chunk plus SQLite's page cache, whatever the input size.

Churn counts need the follower and following snapshots; per account they depend only on that
account's own rows and on the times of the snapshots, so each chunk gives
:func:`pipeline.churn.detect` the chunk's rows plus one marker row at every snapshot time,
which reproduces the whole-table counts chunk by chunk.

Resume and atomicity
--------------------
The work folder ``<out>.parts/`` holds a manifest keyed by the inputs' content hashes, the
model's identity and the settings that change the output; the spool (complete or redone), the
explanation background of a model that carries none (so a resumed run explains against the
same rows) and one part file per
finished chunk, each written atomically. A run that stops (Ctrl-C, kill) and is started again
skips the finished chunks; the output is assembled from the parts, streamed into a temporary
file, and goes in with its rejects file as one :class:`pipeline.io.OutputSet` (both old or
both new, whenever the run is killed); then the work folder is removed. Values are
rounded to 4 decimals, so a resumed run writes the same bytes as an uninterrupted one.

CSV output is neutralised: a text cell that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``; so does a cell that
already starts with ``'``, which keeps the change reversible (:func:`read_scores` undoes it).
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from pydantic import ValidationError

from pipeline import io, schema
from pipeline.config import Config, Source, load_config
from pipeline.console import FollowbackError, ParamsOption, console, progress
from pipeline.frame import follower_groups, with_groups

FORMAT_VERSION = 2
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
SCORED_TABLES = ("accounts", "posts", "snapshots")
# First characters that make a spreadsheet evaluate a cell (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MARKER = "\x00snapshot-time"
# The csv module quotes a field holding any character of the line terminator; with "\n" alone a
# bare "\r" in a bio went out unquoted and broke the file for every reader.
CSV_LINE_END = "\r\n"  # a pseudo account present at every snapshot time


# --------------------------------------------------------------------------- CSV safety


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


def work_dir(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".parts")


# --------------------------------------------------------------------------- inputs


def default_sources(cfg: Config) -> list[Source]:
    """``score.inputs``, or when empty the ingested contract tables."""
    if cfg.score.inputs:
        return list(cfg.score.inputs)
    out_dir = Path(cfg.ingest.out_dir)
    if not io.table_path(out_dir, "accounts").is_file():
        raise FileNotFoundError(
            f"{io.table_path(out_dir, 'accounts')} not found: run `followback ingest` first, "
            "or name the files to score (`followback score FILE...`)")
    return [Source(path=out_dir, format="ingested")]


def iter_records(sources: Iterable[Source]) -> Iterator[schema.Record | schema.Reject]:
    """Every record of every source, streamed; ``ingested`` reads an ingest output folder."""
    for source in sources:
        path = Path(source.path)
        if not path.exists():
            raise FileNotFoundError(f"input not found: {path}")
        if source.format == "ingested":
            from pipeline.ingest import generic

            for table in SCORED_TABLES:
                table_file = io.table_path(path, table)
                if table_file.is_file():
                    yield from generic.read(table_file, table)
        else:
            from pipeline.ingest import read_source

            yield from read_source(path, source.format)


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


def inputs_fingerprint(sources: Iterable[Source]) -> list[dict]:
    """Content hashes of every input file: a changed input means a fresh run, not a resume."""
    out = []
    for source in sources:
        path = Path(source.path)
        files = [p for p in _files(path)
                 if source.format != "ingested" or p.stem in SCORED_TABLES]
        out.append({"path": str(path), "format": source.format,
                    "files": {str(p.relative_to(path) if path.is_dir() else p.name):
                              io.file_sha256(p) for p in files}})
    return out


# --------------------------------------------------------------------------- model


def load_scoring_model(cfg: Config, uri: str | None = None):
    """The model and a stable identity for it (the resume manifest keys on it).

    One rule for every command (:func:`pipeline.tracking.model_uri`): ``uri`` (``--model``),
    else ``score.model_uri``, else ``train.model_dir``, the model the pipeline just trained.
    """
    from pipeline import tracking

    return tracking.load_model(cfg, uri)


def as_followback_model(cfg: Config, model):
    """A :class:`~pipeline.pyfunc.FollowbackModel` from a loaded one or a bare fitted Pipeline.

    A bare Pipeline (library use, tests) gets the config's settings and no background yet:
    :func:`score` then takes it from the ingested decided accounts, else the first chunk.
    """
    from pipeline import pyfunc

    if isinstance(model, pyfunc.FollowbackModel):
        return model
    return pyfunc.FollowbackModel(model, None, pyfunc.settings_of(cfg))


def fallback_background(cfg: Config, pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Transformed rows standing in for an absent criterion, for a model that carries none:
    a seeded sample of the ingested decided accounts, else of ``frame``."""
    size = cfg.score.background_size
    sample = training_sample(cfg, size)
    if sample is None or not len(sample):
        if frame is None or not len(frame):
            raise FollowbackError(
                "no background for the explanations: nothing is ingested in "
                f"{cfg.ingest.out_dir} (run `followback ingest`) and no input was given")
        n = min(size, len(frame))
        pick = np.sort(np.random.default_rng(cfg.base.seed).choice(len(frame), n,
                                                                   replace=False))
        sample = frame.iloc[pick]
    return np.asarray(pipeline[:-1].transform(sample.reset_index(drop=True)), dtype=float)


# --------------------------------------------------------------------------- spool


def _iso(value: datetime | None) -> str:
    """A sortable UTC timestamp text; "" (sorting first) when unknown."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class SpoolCounts:
    read: Counter = field(default_factory=Counter)      # records per table
    valid: Counter = field(default_factory=Counter)
    rejected: int = 0
    other_tables: Counter = field(default_factory=Counter)


class Spool:
    """The validated input on disk: accounts, posts and snapshots in SQLite, plus rejects."""

    BATCH = 5000

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path)
        # The spool is rebuilt whenever it is not marked complete, so it needs no journal.
        self.db.executescript("""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -65536;
            CREATE TABLE IF NOT EXISTS accounts (
                account_id TEXT PRIMARY KEY, seq INTEGER, obs TEXT, ord INTEGER, data TEXT);
            CREATE TABLE IF NOT EXISTS posts (
                account_id TEXT, post_id TEXT, obs TEXT, ord INTEGER, created TEXT, data TEXT,
                PRIMARY KEY (account_id, post_id)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS snapshots (
                taken_at TEXT, direction TEXT, account_id TEXT,
                PRIMARY KEY (taken_at, direction, account_id)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS rejects (
                n INTEGER PRIMARY KEY, source TEXT, location TEXT, tbl TEXT, reason TEXT,
                raw TEXT);
        """)
        self.counts = SpoolCounts()
        self._pending: dict[str, list[tuple]] = {t: [] for t in (*SCORED_TABLES, "rejects")}
        self._order = 0
        self._times: pd.DataFrame | None = None

    def close(self) -> None:
        self.db.close()

    def add(self, item: schema.Record | schema.Reject) -> None:
        if isinstance(item, schema.Reject):
            self._reject(item)
            return
        table = item.table
        self.counts.read[table] += 1
        if table not in SCORED_TABLES:
            self.counts.other_tables[table] += 1
            return
        try:
            row = schema.MODELS[table].model_validate(item.data)
        except ValidationError as exc:
            self._reject(schema.Reject.of(item, schema.describe(exc)))
            return
        self.counts.valid[table] += 1
        self._order += 1
        obs = _iso(item.observed_at)
        if table == "accounts":
            data = json.dumps(row.model_dump(mode="json"), ensure_ascii=False)
            self._pending["accounts"].append((row.account_id, self._order, obs, self._order,
                                              data))
        elif table == "posts":
            data = json.dumps(row.model_dump(mode="json"), ensure_ascii=False)
            self._pending["posts"].append((row.account_id, row.post_id, obs, self._order,
                                           _iso(row.created_at), data))
        else:
            self._pending["snapshots"].append((_iso(row.taken_at), row.direction,
                                               row.account_id))
        if len(self._pending[table]) >= self.BATCH:
            self.flush()

    def _reject(self, reject: schema.Reject) -> None:
        self.counts.rejected += 1
        self._pending["rejects"].append((reject.source, reject.location, reject.table,
                                         reject.reason, reject.raw))

    def flush(self) -> None:
        p = self._pending
        with self.db:
            # A duplicate key keeps the most recently observed record, else the one read last.
            self.db.executemany(
                "INSERT INTO accounts VALUES (?, ?, ?, ?, ?) ON CONFLICT(account_id) DO UPDATE"
                " SET obs = excluded.obs, ord = excluded.ord, data = excluded.data"
                " WHERE (excluded.obs, excluded.ord) >= (accounts.obs, accounts.ord)",
                p["accounts"])
            self.db.executemany(
                "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(account_id, post_id)"
                " DO UPDATE SET obs = excluded.obs, ord = excluded.ord,"
                " created = excluded.created, data = excluded.data"
                " WHERE (excluded.obs, excluded.ord) >= (posts.obs, posts.ord)", p["posts"])
            self.db.executemany("INSERT OR IGNORE INTO snapshots VALUES (?, ?, ?)",
                                p["snapshots"])
            self.db.executemany(
                "INSERT INTO rejects (source, location, tbl, reason, raw) VALUES (?,?,?,?,?)",
                p["rejects"])
        for rows in p.values():
            rows.clear()

    def finish(self, chunk_size: int) -> dict:
        """Number the chunks and return the counts the summary reports."""
        self.flush()
        with self.db:
            self.db.execute("DROP TABLE IF EXISTS chunks")
            self.db.execute(
                "CREATE TABLE chunks AS SELECT account_id, "
                "(ROW_NUMBER() OVER (ORDER BY seq) - 1) / ? AS chunk FROM accounts",
                (int(chunk_size),))
            self.db.execute("CREATE INDEX chunks_chunk ON chunks (chunk)")
            self.db.execute("CREATE INDEX posts_account ON posts (account_id, created)")
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        n_accounts = one("SELECT COUNT(*) FROM accounts")
        n_posts = one("SELECT COUNT(*) FROM posts")
        orphans = one("SELECT COUNT(*) FROM posts p WHERE NOT EXISTS "
                      "(SELECT 1 FROM accounts a WHERE a.account_id = p.account_id)")
        c = self.counts
        return {
            "read": dict(c.read),
            "rejected": c.rejected,
            "accounts": n_accounts,
            "snapshots": one("SELECT COUNT(*) FROM snapshots"),
            "skipped": {
                "older duplicates of accounts": c.valid["accounts"] - n_accounts,
                "older duplicates of posts": c.valid["posts"] - n_posts,
                "posts of accounts not in the input": orphans,
                **{f"{t} rows (not scored)": n for t, n in sorted(c.other_tables.items())},
            },
        }

    # ----------------------------------------------------------------- reading chunks

    def chunk_frame(self, k: int, max_posts: int) -> pd.DataFrame:
        """The model input of chunk ``k``: accounts in input order, posts, churn counts."""
        from pipeline.frame import account_frame

        rows = self.db.execute(
            "SELECT a.data FROM chunks c JOIN accounts a USING (account_id) "
            "WHERE c.chunk = ? ORDER BY a.seq", (k,)).fetchall()
        accounts = schema.to_frame("accounts", [json.loads(r[0]) for r in rows])
        posts = self.db.execute(
            "SELECT data FROM (SELECT p.data, ROW_NUMBER() OVER (PARTITION BY p.account_id "
            "ORDER BY p.created DESC, p.post_id) AS rn FROM chunks c JOIN posts p "
            "USING (account_id) WHERE c.chunk = ?) WHERE rn <= ?", (k, int(max_posts)),
        ).fetchall()
        posts_frame = schema.to_frame("posts", [json.loads(r[0]) for r in posts])
        return account_frame(accounts, posts_frame, self.chunk_churn(k), max_posts=max_posts)

    def chunk_churn(self, k: int) -> pd.DataFrame | None:
        if self._times is None:  # a few dozen rows: read once, not once per chunk
            self._times = pd.DataFrame(
                self.db.execute("SELECT DISTINCT taken_at, direction FROM snapshots").fetchall(),
                columns=["taken_at", "direction"])
        if not len(self._times):
            return None
        rows = self.db.execute(
            "SELECT s.taken_at, s.direction, s.account_id FROM chunks c JOIN snapshots s "
            "USING (account_id) WHERE c.chunk = ?", (k,)).fetchall()
        return churn_counts(pd.DataFrame(rows, columns=["taken_at", "direction", "account_id"]),
                            self._times)

    def follower_snapshots(self) -> pd.DataFrame:
        """Every follower-list snapshot row (``taken_at``, ``direction``, ``account_id``), for
        the interval each follower first appeared in (:mod:`pipeline.groups`)."""
        rows = self.db.execute("SELECT taken_at, direction, account_id FROM snapshots "
                               "WHERE direction = 'followers'").fetchall()
        return pd.DataFrame(rows, columns=["taken_at", "direction", "account_id"])

    def write_rejects(self, path: Path, batch: int = 10_000) -> None:
        """The rejects file (CSV, neutralised), streamed in batches and written atomically."""
        cursor = self.db.execute(
            "SELECT source, location, tbl, reason, raw FROM rejects ORDER BY n")
        with io.atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
            first = True
            while True:
                rows = cursor.fetchmany(batch)
                if not rows and not first:
                    break
                frame = pd.DataFrame(rows, columns=schema.REJECT_COLUMNS, dtype=object)
                neutralise_frame(frame).to_csv(fh, header=first, index=False,
                                               lineterminator=CSV_LINE_END)
                first = False


def churn_counts(rows: pd.DataFrame, times: pd.DataFrame) -> pd.DataFrame | None:
    """Churn counts of the accounts in ``rows`` as the whole snapshot table would give them.

    ``times`` holds every distinct (``taken_at``, ``direction``) of the whole table; a marker
    account present at each of them keeps the snapshot timeline complete.
    """
    from pipeline import churn

    if times is None or not len(times):
        return None
    markers = times.assign(account_id=_MARKER)
    snapshots = pd.concat([rows, markers], ignore_index=True)
    snapshots["taken_at"] = pd.to_datetime(snapshots["taken_at"], utc=True, format="ISO8601")
    counts = churn.detect(snapshots).counts
    return counts[counts["account_id"] != _MARKER].reset_index(drop=True)


# --------------------------------------------------------------------------- ingested rows


def _read_ids(cfg: Config, table: str, ids: list[str], columns=None) -> pd.DataFrame:
    path = io.table_path(cfg.ingest.out_dir, table)
    if not path.is_file():
        return schema.empty_frame(table)
    frame = pd.read_parquet(path, filters=[("account_id", "in", list(ids))] if ids else None,
                            columns=columns)
    return frame


def ingested_frame(cfg: Config, ids: list[str]) -> pd.DataFrame:
    """The model input of the ingested accounts ``ids`` (in that order), read selectively."""
    from pipeline.frame import account_frame

    ids = [str(i) for i in ids]
    accounts = schema.conform("accounts", _read_ids(cfg, "accounts", ids))
    accounts = accounts.set_index("account_id", drop=False).loc[
        [i for i in ids if i in set(accounts["account_id"])]].reset_index(drop=True)
    posts = _read_ids(cfg, "posts", ids)
    snap_path = io.table_path(cfg.ingest.out_dir, "snapshots")
    counts = None
    if snap_path.is_file():
        times = pd.read_parquet(snap_path, columns=["taken_at", "direction"]).drop_duplicates()
        if len(times):
            rows = _read_ids(cfg, "snapshots", ids)[["taken_at", "direction", "account_id"]]
            counts = churn_counts(rows, times)
    return account_frame(accounts, posts if len(posts) else None, counts,
                         max_posts=cfg.features.max_posts)


def _norm_handle(value: Any) -> str:
    return str(value).strip().lstrip("@").casefold()


def find_account(accounts: pd.DataFrame, who: str) -> pd.Series:
    """The row of ``accounts`` whose account id or handle (any case, ``@`` optional) is ``who``."""
    by_id = accounts[accounts["account_id"].astype(str) == who.strip()]
    if len(by_id):
        return by_id.iloc[0]
    key = _norm_handle(who)
    by_handle = accounts[accounts["handle"].astype(str).map(_norm_handle) == key]
    if not len(by_handle):
        raise FollowbackError(f"no account {who!r} (handle or account id) in the data")
    if by_handle["account_id"].astype(str).nunique() > 1:
        # The same handle on two platforms (or two accounts): ask, never pick one silently.
        which = "; ".join(
            f"account id {r['account_id']}"
            + (f" on {r['platform']}" if "platform" in by_handle and isinstance(
                r.get("platform"), str) else "")
            for _, r in by_handle.drop_duplicates("account_id").iterrows())
        raise FollowbackError(f"{len(by_handle['account_id'].unique())} accounts have the "
                              f"handle {who!r} ({which}): give the account id instead")
    return by_handle.iloc[0]


def ingested_groups(cfg: Config) -> pd.DataFrame | None:
    """Follower-group counts over every ingested account (None without ingested data)."""
    path = cfg.ingest.out_dir / "accounts.parquet"
    if not path.is_file():
        return None
    accounts = pd.read_parquet(path)
    snap_path = io.table_path(cfg.ingest.out_dir, "snapshots")
    snapshots = (pd.read_parquet(snap_path, columns=["taken_at", "direction", "account_id"])
                 if snap_path.is_file() else None)
    return follower_groups(ingested_frame(cfg, accounts["account_id"].astype(str).tolist()),
                           snapshots)


def ingested_account(cfg: Config, who: str) -> pd.DataFrame:
    """The model input (one row) of one ingested account, by handle or account id."""
    accounts = pd.read_parquet(io.table_path(cfg.ingest.out_dir, "accounts"),
                               columns=["account_id", "handle", "platform"])
    row = find_account(accounts, who)
    return ingested_frame(cfg, [str(row["account_id"])])


def training_sample(cfg: Config, size: int) -> pd.DataFrame | None:
    """A seeded sample of the decided accounts (the model's training rows), or None."""
    accounts_path = io.table_path(cfg.ingest.out_dir, "accounts")
    decisions_path = io.table_path(cfg.ingest.out_dir, "decisions")
    if not accounts_path.is_file():
        return None
    known = pd.read_parquet(accounts_path, columns=["account_id"])["account_id"].astype(str)
    ids = known
    if decisions_path.is_file():
        decided = pd.read_parquet(decisions_path, columns=["account_id"])["account_id"]
        decided_known = known[known.isin(set(decided.astype(str)))]
        if len(decided_known):
            ids = decided_known
    ids = np.sort(ids.unique())
    if not len(ids):
        return None
    rng = np.random.default_rng(cfg.base.seed)
    pick = np.sort(rng.choice(len(ids), min(size, len(ids)), replace=False))
    # In their context, as training saw them: group counts over every ingested account.
    return with_groups(ingested_frame(cfg, ids[pick].tolist()), ingested_groups(cfg))


# --------------------------------------------------------------------------- scoring


@dataclass
class ScoreSummary:
    out: Path
    rejects: Path
    model: str
    scored: int = 0
    rejected: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    snapshots: int = 0
    chunks: int = 0
    resumed_chunks: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    overrides: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def skipped_total(self) -> int:
        return int(sum(self.skipped.values()))

    @property
    def rate(self) -> float:
        done = self.scored
        return done / self.seconds if self.seconds > 0 else float("nan")


def _settings(cfg: Config, chunk_size: int) -> dict:
    from pipeline import pyfunc

    return {
        "format_version": FORMAT_VERSION,
        "chunk_size": int(chunk_size),
        "max_posts": cfg.features.max_posts,
        "model_params": pyfunc.params_of(cfg),
        "background_size": cfg.score.background_size,
        "seed": cfg.base.seed,
    }


def _read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_manifest(path: Path, manifest: dict) -> None:
    io.write_text(path, json.dumps(manifest, indent=2, sort_keys=True))


def spool_groups(spool: Spool, n_chunks: int, max_posts: int, path: Path) -> pd.DataFrame:
    """Follower-group counts (:data:`pipeline.frame.GROUP_COLUMNS`) over the whole input,
    not one chunk: "one of 37 followers created the same week" must count all of them.

    Reads the spool once more, keeping only what the groups compare (creation time, bio,
    display name, post texts joined), and keeps the result beside the chunks for a resume.
    """
    if path.is_file():
        return pd.read_parquet(path)
    parts = []
    for k in range(n_chunks):
        chunk = spool.chunk_frame(k, max_posts)
        light = chunk[["account_id", "created_at", "bio", "display_name"]].copy()
        light["posts"] = [[{"kind": "post", "text": " ".join(
            (p.get("text") or "") for p in posts[:30]  # as pipeline.groups.group_labels reads them
            if (p.get("kind") or "post") in ("post", "reply"))}]
            for posts in chunk["posts"]]
        parts.append(light)
    columns = ["account_id", "created_at", "bio", "display_name", "posts"]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    groups = follower_groups(frame, spool.follower_snapshots())
    with io.atomic_path(path) as tmp:
        groups.to_parquet(tmp)
    return groups


def _part(work: Path, k: int) -> Path:
    return work / "parts" / f"part-{k:06d}.parquet"


def score(
    cfg: Config,
    out: Path,
    sources: list[Source] | None = None,
    model=None,
    model_id: str | None = None,
    chunk_size: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> ScoreSummary:
    """Score every account of ``sources`` into ``out`` (CSV, Parquet or JSONL), resumably.

    ``on_chunk(k)`` is called after chunk ``k`` is safely written (progress hooks, tests).
    """
    from pipeline import pyfunc

    started = time.perf_counter()
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet", ".jsonl", ".ndjson"):
        raise FollowbackError(f"unsupported output format {suffix!r} for {out} "
                              "(use .csv, .parquet or .jsonl)")
    ingested = not sources and not cfg.score.inputs  # the ingested tables of this project
    sources = sources or default_sources(cfg)
    chunk_size = int(chunk_size or cfg.score.chunk_size)
    if chunk_size < 1:
        raise FollowbackError("score.chunk_size must be at least 1")
    if model is None:
        model, model_id = load_scoring_model(cfg)
    model = as_followback_model(cfg, model)
    model_id = model_id or "unnamed model"
    params = pyfunc.params_of(cfg)
    model.overrides(params)  # an account on both lists is an error before any work

    work = work_dir(out)
    manifest_path = work / "manifest.json"
    key = {"inputs": inputs_fingerprint(sources), "model": model_id,
           "settings": _settings(cfg, chunk_size)}
    manifest = _read_manifest(manifest_path)
    if manifest is not None and manifest.get("key") != key:
        console.print(f"[yellow]{work} belongs to another input, model or setting: "
                      "starting afresh[/]")
        manifest = None
    if manifest is None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        manifest = {"key": key, "spooled": False}
        _write_manifest(manifest_path, manifest)

    spool_path = work / "spool.sqlite"
    if not manifest.get("spooled"):
        spool_path.unlink(missing_ok=True)
        spool = Spool(spool_path)
        with progress("records") as bar:
            task = bar.add_task("reading input", total=None)
            for n, item in enumerate(iter_records(sources), start=1):
                spool.add(item)
                if n % 1000 == 0:
                    bar.update(task, completed=n)
        manifest["counts"] = spool.finish(chunk_size)
        manifest["spooled"] = True
        spool.close()
        _write_manifest(manifest_path, manifest)
    spool = Spool(spool_path)
    try:
        counts = manifest["counts"]
        n_accounts = counts["accounts"]
        n_chunks = math.ceil(n_accounts / chunk_size)
        summary = ScoreSummary(out=out, rejects=rejects_path(out), model=model_id,
                               rejected=counts["rejected"],
                               skipped={k: v for k, v in counts["skipped"].items() if v},
                               snapshots=counts["snapshots"], chunks=n_chunks)

        background_path = work / "background.npy"
        if model.background is None and background_path.is_file():
            model = model.with_background(np.load(background_path, allow_pickle=False))
        todo = [k for k in range(n_chunks) if not _part(work, k).is_file()]
        groups = spool_groups(spool, n_chunks, cfg.features.max_posts, work / "groups.parquet")
        summary.resumed_chunks = n_chunks - len(todo)
        if summary.resumed_chunks:
            console.print(f"resuming: {summary.resumed_chunks} of {n_chunks} chunks already "
                          f"scored in {work}")
        with progress("accounts") as bar:
            task = bar.add_task("scoring", total=n_accounts,
                                completed=min(n_accounts, summary.resumed_chunks * chunk_size))
            for k in todo:
                frame = with_groups(spool.chunk_frame(k, cfg.features.max_posts), groups)
                if model.background is None:
                    model = model.with_background(
                        fallback_background(cfg, model.pipeline, frame))
                    with io.atomic_path(background_path) as tmp:
                        with open(tmp, "wb") as fh:
                            np.save(fh, model.background, allow_pickle=False)
                rows = conform_scores(model.predict(None, frame, params=params))
                rows[FLOAT_COLUMNS] = rows[FLOAT_COLUMNS].round(DECIMALS)
                io.write_table(rows, _part(work, k))
                bar.advance(task, len(frame))
                if on_chunk is not None:
                    on_chunk(k)
        # The scores and their rejects go in together (pipeline.io.OutputSet): a run killed
        # at any point leaves both old or both new, and the parts stay for the next run.
        newest = newest_undecided(cfg) if ingested else None
        with io.OutputSet() as files:
            assemble([_part(work, k) for k in range(n_chunks)], files.file(out), summary,
                     newest)
            spool.write_rejects(files.file(summary.rejects))
    finally:
        spool.close()

    shutil.rmtree(work, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


def newest_undecided(cfg: Config) -> pd.Series | None:
    """account id -> rank (0 = newest) of your undecided followers: current followers you do
    not follow and have not decided on (``decisions.out``, the ingested decisions), from the
    ingested snapshots; None without snapshots."""
    from pipeline.decisions import window_of
    from pipeline.undecided import undecided

    path = io.table_path(cfg.ingest.out_dir, "snapshots")
    if not path.is_file():
        return None
    snapshots = io.read_table(cfg.ingest.out_dir, "snapshots")
    if not len(snapshots):
        return None
    decided: set[str] = set()
    if Path(cfg.decisions.out).is_file():
        decided |= set(pd.read_parquet(cfg.decisions.out, columns=["account_id"])[
            "account_id"].astype(str))
    if io.table_path(cfg.ingest.out_dir, "decisions").is_file():
        decided |= set(io.read_table(cfg.ingest.out_dir, "decisions")["account_id"].astype(str))
    table = undecided(snapshots, decided, window_of(cfg))
    return pd.Series(table["rank"].to_numpy(), index=table["account_id"].astype(str))


def assemble(parts: list[Path], out: Path, summary: ScoreSummary | None = None,
             newest: pd.Series | None = None) -> None:
    """Concatenate the part files into ``out`` part by part, atomically; with ``newest``
    (account id -> rank), those accounts first, newest first, with their ``undecided_rank``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    suffix = out.suffix.lower()
    verdicts: Counter = Counter()
    overrides: Counter = Counter()
    scored = 0

    def counted(frame: pd.DataFrame) -> pd.DataFrame:
        nonlocal scored
        scored += len(frame)
        verdicts.update(frame["verdict"].dropna())
        overrides.update(v for v in frame["override"].dropna() if v)
        return frame

    def frames() -> Iterator[pd.DataFrame]:
        if not parts:
            yield conform_scores(pd.DataFrame(columns=OUTPUT_COLUMNS))
        if newest is not None and len(newest):
            # Two passes: the undecided (no more than the follower list) first, then the rest.
            first = []
            for part in parts:
                frame = pd.read_parquet(part)
                hit = frame["account_id"].astype(str).isin(newest.index)
                first.append(frame[hit])
            head = conform_scores(pd.concat(first, ignore_index=True))
            head["undecided_rank"] = head["account_id"].astype(str).map(newest).astype("Int64")
            yield counted(head.sort_values("undecided_rank", kind="stable"))
            for part in parts:
                frame = conform_scores(pd.read_parquet(part))
                yield counted(frame[~frame["account_id"].astype(str).isin(newest.index)])
            return
        for part in parts:
            yield counted(conform_scores(pd.read_parquet(part)))

    with io.atomic_path(out) as tmp:
        if suffix == ".parquet":
            writer = None
            for frame in frames():
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            writer.close()
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                for i, frame in enumerate(frames()):
                    if suffix == ".csv":
                        neutralise_frame(frame).to_csv(fh, header=(i == 0), index=False,
                                                       lineterminator=CSV_LINE_END)
                    elif len(frame):
                        frame.to_json(fh, orient="records", lines=True, force_ascii=False)
    if summary is not None:
        summary.scored = scored
        summary.verdicts = dict(sorted(verdicts.items()))
        summary.overrides = dict(sorted(overrides.items()))


def print_summary(summary: ScoreSummary) -> None:
    from rich.table import Table

    table = Table(title="followback score", show_header=False)
    table.add_row("model", summary.model)
    table.add_row("scored", f"{summary.scored:,}")
    table.add_row("rejected", f"{summary.rejected:,}"
                  + (f" (see {summary.rejects})" if summary.rejected else ""))
    table.add_row("skipped", f"{summary.skipped_total:,}")
    for reason, n in summary.skipped.items():
        table.add_row(f"  {reason}", f"{n:,}")
    if summary.snapshots:
        table.add_row("snapshot rows used for churn", f"{summary.snapshots:,}")
    for v, n in summary.verdicts.items():
        table.add_row(f"verdict: {v}", f"{n:,}")
    for v, n in summary.overrides.items():
        table.add_row(f"override: {v}", f"{n:,}")
    if summary.resumed_chunks:
        table.add_row("chunks resumed", f"{summary.resumed_chunks} of {summary.chunks}")
    table.add_row("seconds", f"{summary.seconds:,.1f}")
    table.add_row("written", str(summary.out))
    console.print(table)


def cli(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="Files or folders to score, in any ingest format (default: score.inputs, else "
        "the ingested accounts in ingest.out_dir).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output file: .csv, .parquet or .jsonl (default: score.out).",
        dir_okay=False)] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="Format of the INPUT files (auto: from the file names).")]
    = "auto",
    model_uri: Annotated[str | None, typer.Option(
        "--model", help="Model folder or MLflow URI, e.g. models:/followback@champion "
        "(default: score.model_uri, else train.model_dir, the model the pipeline just "
        "trained).")] = None,
    chunk_size: Annotated[int | None, typer.Option(
        help="Accounts per chunk (default: score.chunk_size).", min=1)] = None,
    engine: Annotated[str, typer.Option(
        help="local: this machine, resumable. spark: Apache Spark through MLflow's spark_udf "
        "(pip install 'followback[spark]'); --out ending in .csv gives one CSV, anything "
        "else a partitioned Parquet folder.")] = "local",
    master: Annotated[str, typer.Option(
        help="Spark master for --engine spark: local[2], spark://host:7077, yarn.")]
    = "local[2]",
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Score accounts with the model: probability, verdict and the top reasons per account.

    Streams the input in chunks with bounded memory. An interrupted run resumes from the last
    finished chunk when started again; the output appears only when complete. Bad rows go to
    `<out>.rejects.csv`.
    """
    cfg = load_config(params)
    sources = [Source(path=p, format=fmt) for p in inputs] if inputs else None
    if engine not in ("local", "spark"):
        raise FollowbackError(f"unknown engine {engine!r}: use local or spark")
    if engine == "spark":
        from pipeline import spark

        print_summary(spark.score_spark(cfg, out or cfg.score.out, sources, model_uri,
                                        master=master, chunk_size=chunk_size))
        return
    model, model_id = load_scoring_model(cfg, model_uri)
    console.print(f"model: {model_id}", highlight=False, markup=False)
    target = out or cfg.score.out
    try:
        summary = score(cfg, target, sources, model=model, model_id=model_id,
                        chunk_size=chunk_size)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted: finished chunks are kept in "
                      f"{work_dir(target)}; run the same command again to resume[/]")
        raise typer.Exit(130) from None
    print_summary(summary)
    if summary.scored == 0:
        why = (f"all {summary.rejected:,} input rows were rejected (see {summary.rejects})"
               if summary.rejected else "the input holds no accounts")
        console.print(f"[bold red]nothing was scored[/]: {why}", highlight=False)
        raise typer.Exit(1)
