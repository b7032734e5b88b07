"""Score accounts from any ingest format in bounded memory, resumably, with reasons.

How the input is streamed
-------------------------
Accounts and their posts may come in separate files, in any order (a posts file before its
accounts file, or posts nested in each account of a platform export). Matching them needs an
index, and holding the posts in memory would grow with the input, so the first pass streams
every record through :func:`pipeline.data.schema` validation into an on-disk SQLite *spool* in the
work folder: accounts and posts keyed like the contract (a later or more recently observed
duplicate replaces an older one, as in ``validate_records``), snapshots for the churn counts,
rejects with their reasons. The second pass reads the spool ``score.chunk_size`` accounts at a
time in input order, with each account's newest ``features.max_posts`` posts, builds the model
input (:func:`pipeline.data.frame.account_frame`), scores and explains it, and writes the chunk's
rows to a part file. Memory is one chunk plus SQLite's page cache, whatever the input size.

Churn counts need the follower and following snapshots; per account they depend only on that
account's own rows and on the times of the snapshots, so each chunk gives
:func:`pipeline.data.snapshots.detect` the chunk's rows plus one marker row at every snapshot time,
which reproduces the whole-table counts chunk by chunk.

Resume and atomicity
--------------------
The work folder ``<out>.parts/`` holds a manifest keyed by the inputs' content hashes, the
model's identity and the settings that change the output; the spool (complete or redone), the
explanation background of a model that carries none (so a resumed run explains against the
same rows) and one part file per
finished chunk, each written atomically. A run that stops (Ctrl-C, kill) and is started again
skips the finished chunks; the output is assembled from the parts, streamed into a temporary
file, and goes in with its rejects file as one :class:`pipeline.data.io.OutputSet` (both old or
both new, whenever the run is killed); then the work folder is removed. Values are
rounded to 4 decimals, so a resumed run writes the same bytes as an uninterrupted one.

CSV output is neutralised: a text cell that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``; so does a cell that
already starts with ``'``, which keeps the change reversible (:func:`read_scores` undoes it).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from pipeline.core.config import Config, Source
from pipeline.core.console import console
from pipeline.data import io, schema
from pipeline.data.frame import churn_counts, follower_groups
from pipeline.data.scores import CSV_LINE_END, OUTPUT_COLUMNS, conform_scores, neutralise_frame

FORMAT_VERSION = 2
SCORED_TABLES = ("accounts", "posts", "snapshots")


# --------------------------------------------------------------------------- CSV safety


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
            from pipeline.data.ingest import generic

            for table in SCORED_TABLES:
                table_file = io.table_path(path, table)
                if table_file.is_file():
                    yield from generic.read(table_file, table)
        else:
            from pipeline.data.ingest import read_source

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
        from pipeline.data.frame import account_frame

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
        the interval each follower first appeared in (:mod:`pipeline.data.groups`)."""
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


# --------------------------------------------------------------------------- ingested rows


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


def spool_groups(spool: Spool, n_chunks: int, max_posts: int, path: Path) -> pd.DataFrame:
    """Follower-group counts (:data:`pipeline.data.frame.GROUP_COLUMNS`) over the whole input,
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
            # as pipeline.data.groups.group_labels reads them
            (p.get("text") or "") for p in posts[:30]
            if (p.get("kind") or "post") in ("post", "reply"))}]
            for posts in chunk["posts"]]
        parts.append(light)
    columns = ["account_id", "created_at", "bio", "display_name", "posts"]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    groups = follower_groups(frame, spool.follower_snapshots())
    with io.atomic_path(path) as tmp:
        groups.to_parquet(tmp)
    return groups


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
                first.append(frame[frame["account_id"].astype(str).isin(newest.index)])
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


