"""What the app's pages show, read from the files the pipeline writes and kept while unchanged.

:class:`Project` holds the configuration and caches the scores file (with the decisions, the
profile links and a search column) by the files' modification times, so a page of 50,000
followers is a pandas selection, not a file read; after `dvc repro` or an answer the next
request sees the new files. The queue is a :class:`QueueSession`: the order of the accounts to
ask about, fixed while the scores stay the same, and the answers given in this run (for undo).
Every write goes through the library functions the commands use
(:func:`pipeline.stages.decide.record`, :func:`pipeline.stages.decide.forget`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.config import Config
from pipeline.stages import decide

PAGE_SIZES = (25, 50, 100, 200)
SORTS = {
    "uncertain": "most uncertain first",
    "probability": "probability",
    "handle": "handle",
    "verdict": "verdict",
}
VERDICT_ORDER = {"follow back": 0, "review": 1, "skip": 2}
QUEUE_LENGTH = 500  # accounts asked about per queue (made anew after each retrain)


def _mtime(path: Path) -> float | None:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class Followers:
    """One page of the followers table and what it was asked."""

    rows: list[dict]
    total: int        # matching the filters
    n_scored: int     # in the scores file
    page: int
    pages: int
    per_page: int


@dataclass
class Answer:
    """One answer given in the queue, with what undoing it needs."""

    account_id: str
    handle: str | None
    follow_back: bool
    position: int
    previous: dict | None  # the decisions file's earlier row for this account, if any


@dataclass
class QueueSession:
    """The accounts to ask about, in order, and the answers given since the order was made."""

    ids: list[str]
    version: tuple
    answers: list[Answer] = field(default_factory=list)


class Project:
    """The person's project as the app sees it: config, cached tables, the queue."""

    def __init__(self, cfg: Config, params: Path) -> None:
        self.cfg = cfg
        self.params = Path(params)
        self.root = self.params.resolve().parent
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[tuple, Any]] = {}
        self._queue: QueueSession | None = None

    # ------------------------------------------------------------------ cached reads

    def _cached(self, key: str, paths: list[Path], build):
        version = tuple(_mtime(p) for p in paths)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == version:
                return hit[1]
            value = build()
            self._cache[key] = (version, value)
            return value

    def scores_version(self) -> tuple:
        return (_mtime(self.cfg.score.out),)

    def has_scores(self) -> bool:
        return Path(self.cfg.score.out).is_file()

    def scores(self) -> pd.DataFrame:
        """The scores file with columns the pages sort and filter on (read once per version)."""
        return self._cached("scores", [self.cfg.score.out], self._read_scores)

    def _read_scores(self) -> pd.DataFrame:
        from pipeline.data.scores import load_scores
        from pipeline.stages.review import uncertainty

        # From the Parquet copy `score` writes beside the file when it is fresh (shared: copied
        # before the columns below are added).
        scores = load_scores(self.cfg.score.out).copy()
        scores["account_id"] = scores["account_id"].astype(str)
        scores["uncertainty"] = uncertainty(scores).to_numpy()
        scores["verdict_order"] = scores["verdict"].map(VERDICT_ORDER).fillna(3).astype(int)
        scores["handle_key"] = scores["handle"].fillna("").str.lstrip("@").str.casefold()
        scores["search"] = (scores["handle"].fillna("") + "\n" + scores["display_name"]
                            .fillna("") + "\n" + scores["bio"].fillna("")).str.casefold()
        return scores.reset_index(drop=True)

    def decisions(self) -> pd.DataFrame:
        """Every decision so far (ingested, then the decisions file): account_id, follow_back."""
        paths = [self.cfg.report.decisions_out,
                 Path(self.cfg.ingest.out_dir) / "decisions.parquet"]
        return self._cached("decisions", paths, lambda: decide.known_decisions(self.cfg))

    def decided_map(self) -> dict[str, bool]:
        frame = self.decisions()
        return dict(zip(frame["account_id"].astype(str), frame["follow_back"].astype(bool),
                        strict=True))

    def profiles(self) -> dict[str, dict]:
        """account id -> {"url", "avatar"}: the profile page (ingested accounts) and avatar
        (the latest fetch), http(s) links only."""
        from pipeline.data.profiles import profile_links

        accounts = Path(self.cfg.ingest.out_dir) / "accounts.parquet"
        fetches = [Path(self.cfg.fetch.out_dir) / p for p in ("mastodon", "bluesky")]
        return self._cached("profiles", [accounts, *fetches], lambda: profile_links(self.cfg))

    # ------------------------------------------------------------------ one account

    def card(self, account_id: str) -> dict | None:
        """An account as the queue shows it: the report's row (reasons, evidence, pushes) plus
        its profile links and the decision on it."""
        from pipeline.stages.report import account_rows

        scores = self.scores()
        hit = scores.index[scores["account_id"] == str(account_id)]
        if not len(hit):
            return None
        one = scores.loc[hit[:1]]
        [row] = account_rows(one, self.decisions(), 1)
        row.update(self.profiles().get(str(account_id), {}))
        return row

    # ------------------------------------------------------------------ the queue

    def queue(self) -> QueueSession:
        """The queue for the current scores: made once, kept until the scores change."""
        version = self.scores_version()
        with self._lock:
            if self._queue is None or self._queue.version != version:
                self._queue = QueueSession(self._queue_order(), version)
            return self._queue

    def reset_queue(self) -> None:
        with self._lock:
            self._queue = None

    def _queue_order(self) -> list[str]:
        """Undecided accounts not on a list, in ``followback review``'s order: your newest
        undecided followers first, then the rest; within each, the answers that teach the
        model most (uncertainty weighted by how little the account's feature group is covered,
        :func:`pipeline.stages.review.queue`). The first :data:`QUEUE_LENGTH` of them."""
        from pipeline.stages import review

        scores = self.scores()
        features = self._features()
        labels = review.labels_so_far(self.cfg)
        newest = review.newest_undecided(self.cfg, labels)
        group = review.feature_groups(features, self.cfg.base.seed)
        todo = review.queue(scores, self.decisions(), newest, group, limit=QUEUE_LENGTH)
        return todo["account_id"].astype(str).tolist()

    def _features(self) -> pd.DataFrame | None:
        """The cached feature table of ``followback featurize``, if any (for the queue's
        groups, and for verdicts before any model is trained)."""
        from pipeline.data import io

        path = Path(self.cfg.features.out)
        if not path.is_file():
            return None

        def read() -> pd.DataFrame:
            io.recover(path)
            return pd.read_parquet(path)

        return self._cached("features", [path], read)

    def answer(self, position: int, account_id: str, follow_back: bool) -> Answer:
        """Write one answer to the decisions file at once and remember it for undo."""
        session = self.queue()
        path = self.cfg.report.decisions_out
        previous = _decision_row(path, account_id)
        card = self.card(account_id)
        handle = card["handle"] if card else None
        decide.record(path, account_id, follow_back, handle=handle)
        done = Answer(str(account_id), handle, follow_back, position, previous)
        with self._lock:
            session.answers.append(done)
        return done

    def undo(self) -> Answer | None:
        """Take back the last answer of this run: the decisions file as it was before it."""
        session = self.queue()
        with self._lock:
            if not session.answers:
                return None
            last = session.answers.pop()
        path = self.cfg.report.decisions_out
        if last.previous is None:
            decide.forget(path, last.account_id)
        else:
            from datetime import datetime

            when = last.previous.get("decided_at") or None
            decide.record(path, last.account_id, last.previous["follow_back"],
                          note=last.previous.get("note") or None, handle=last.handle,
                          decided_at=datetime.fromisoformat(when.replace("Z", "+00:00"))
                          if when else None)
        return last

    # ------------------------------------------------------------------ followers

    def followers(self, q: str = "", verdict: str = "", decided: str = "",
                  against: str = "", sort: str = "uncertain", desc: bool = False,
                  page: int = 1, per_page: int = 50) -> Followers:
        """One page of every scored account, filtered, searched and sorted server-side."""
        from pipeline.model.attribution import CRITERION_ORDER
        from pipeline.model.reasons import MIN_REASON

        scores = self.scores()
        mask = np.ones(len(scores), dtype=bool)
        if verdict:
            mask &= (scores["verdict"] == verdict).to_numpy(dtype=bool)
        if decided in ("yes", "no"):
            known = scores["account_id"].isin(set(self.decisions()["account_id"].astype(str)))
            mask &= known.to_numpy(dtype=bool) == (decided == "yes")
        if decided == "listed":
            mask &= (scores["override"].fillna("") != "").to_numpy(dtype=bool)
        if against in CRITERION_ORDER:
            mask &= (scores[f"contrib_{against}"] <= -MIN_REASON).to_numpy(dtype=bool)
        query = q.strip().casefold()
        if query:
            mask &= scores["search"].str.contains(query, regex=False).to_numpy(dtype=bool)
        order = self._order(sort if sort in SORTS else "uncertain")
        if desc:
            order = order[::-1]
        chosen = order[mask[order]]  # positions of the matching rows, in the sort's order
        per_page = per_page if per_page in PAGE_SIZES else 50
        pages = max(1, math.ceil(len(chosen) / per_page))
        page = min(max(1, page), pages)
        part = scores.iloc[chosen[(page - 1) * per_page: page * per_page]]
        decided_map = self.decided_map()
        links = self.profiles()
        rows = []
        for s in part.itertuples(index=False):
            verdict_text = str(s.verdict)
            decision = decided_map.get(s.account_id)
            rows.append({
                "account_id": s.account_id, "handle": _text(s.handle),
                "display_name": _text(s.display_name), "bio": _text(s.bio),
                "probability": float(s.probability), "threshold": float(s.threshold),
                "verdict": verdict_text, "override": _text(s.override),
                "reason": _text(s.reason_1),
                "decided": None if decision is None else ("follow back" if decision
                                                          else "skip"),
                "url": links.get(s.account_id, {}).get("url"),
            })
        return Followers(rows, len(chosen), len(scores), page, pages, per_page)

    def _order(self, sort: str) -> np.ndarray:
        """Row positions of the scores sorted by ``sort`` (ties by account id), made once per
        scores version: a page is then a mask and a slice, whatever the sort."""
        key = {"uncertain": "uncertainty", "probability": "probability",
               "handle": "handle_key", "verdict": "verdict_order"}[sort]

        def build() -> np.ndarray:
            scores = self.scores()
            values = scores[key]
            if values.dtype.kind == "f":
                values = values.fillna(np.inf)
            return np.lexsort((scores["account_id"].to_numpy(dtype=str),
                               values.to_numpy()))

        return self._cached(f"order:{sort}", [self.cfg.score.out], build)

    def warm(self) -> None:
        """Read what the first pages need (the scores, the decisions, the queue)."""
        if self.has_scores():
            self.scores()
            self.decisions()
            self.queue()


def _decision_row(path: Path, account_id: str) -> dict | None:
    frame = decide.read_decisions(path)
    hit = frame[frame["account_id"] == str(account_id)]
    if not len(hit):
        return None
    row = hit.iloc[-1]
    return {"follow_back": str(row["follow_back"]).strip().lower() == "true",
            "decided_at": str(row["decided_at"]), "note": str(row["note"])}
