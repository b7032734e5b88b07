"""The model's input: one row per account, its posts gathered into a list.

The contract keeps accounts and posts in separate tables; the feature extractors need both at
once. ``account_frame`` joins them into the frame that the whole scikit-learn Pipeline takes, so
a trained model scores raw accounts from any importer the same way it was trained.

Columns: every ``accounts`` column of the contract, plus

- ``posts``: a list of ``{"text", "kind", "created_at"}`` dicts, newest first, at most
  ``max_posts`` (``created_at`` an ISO-8601 string or None), plus ``"language"`` on a post
  the platform tagged with its language;
- ``times_followed_back`` and ``times_unfollowed_after_followback``: from the follower
  snapshots (see ``pipeline.stages.churn``); null where no snapshots were given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.config import Config
from pipeline.core.console import FollowbackError
from pipeline.data import io, schema

CHURN_COLUMNS = ["times_followed_back", "times_unfollowed_after_followback"]
# How many of the person's *other* followers look like the account (pipeline.data.groups): only
# the whole follower list shows it, so the counts come in as columns computed over all of it
# (score, explain and load_account_frame for training do), never from whichever accounts
# share a chunk. The bot criterion reads them (features.bot.groups); null is "not counted".
GROUP_COLUMNS = [
    "group_same_week", "group_similar_bio", "group_similar_name", "group_similar_posts",
    "group_same_interval", "group_week_and_text", "group_week_and_interval",
]
CONTEXT_COLUMNS = [*CHURN_COLUMNS, *GROUP_COLUMNS]
INPUT_COLUMNS = [*schema.columns("accounts"), "posts", *CONTEXT_COLUMNS]


def _posts_by_account(posts: pd.DataFrame, max_posts: int) -> dict[Any, list[dict]]:
    """Each account's newest ``max_posts`` posts as dicts, newest first (no time last).

    The order is pandas' ``sort_values("created_at", ascending=False, na_position="last")``
    of each account's rows, reproduced on the whole table's times at once: sorting a
    small frame per account cost more than the rest of building a scoring chunk (a test holds
    the two to the same lists, ties included).
    """
    if not len(posts):
        return {}
    created = posts["created_at"]
    missing = created.isna().to_numpy()
    # datetime64, not int64: numpy sorts the two with different algorithms, whose orders of
    # equal times differ.
    ticks = created.array._values_for_argsort()
    stamps = [None if m else t.isoformat() for t, m in zip(created, missing, strict=True)]
    texts, kinds = list(posts["text"]), list(posts["kind"])
    langs = list(posts["language"]) if "language" in posts.columns else [None] * len(posts)
    out = {}
    for key, rows in posts.groupby("account_id", sort=False).indices.items():
        out[key] = [_post(texts[i], kinds[i], stamps[i], langs[i])
                    for i in rows[_newest_first(ticks[rows], missing[rows])[:max_posts]]]
    return out


def _newest_first(ticks: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """pandas' ``nargsort(ascending=False, na_position="last", kind="quicksort")``."""
    idx = np.arange(len(ticks))
    known = idx[~missing][::-1]
    order = known[ticks[~missing][::-1].argsort(kind="quicksort")][::-1]
    return np.concatenate([order, idx[missing]])


def _post(text: Any, kind: Any, stamp: str | None, lang: Any) -> dict:
    post = {"text": text, "kind": kind, "created_at": stamp}
    if lang is not None and not pd.isna(lang):
        post["language"] = str(lang)  # only where the platform tagged it
    return post


def account_frame(
    accounts: pd.DataFrame,
    posts: pd.DataFrame | None = None,
    churn: pd.DataFrame | None = None,
    max_posts: int = 30,
) -> pd.DataFrame:
    """Join accounts with their posts (and churn counts) into the model's input frame.

    Parameters
    ----------
    accounts : contract ``accounts`` table.
    posts : contract ``posts`` table, or None when the source has no posts.
    churn : a frame indexed or keyed by ``account_id`` with :data:`CHURN_COLUMNS`, or None.
    max_posts : keep the newest this many posts per account.
    """
    frame = schema.conform("accounts", accounts)
    if posts is not None and len(posts):
        posts = schema.conform("posts", posts)
        grouped = _posts_by_account(posts, max_posts)
    else:
        grouped = {}
    frame["posts"] = [grouped.get(a, []) for a in frame["account_id"]]
    if churn is not None and len(churn):
        churn = churn.set_index("account_id") if "account_id" in churn.columns else churn
        for col in CHURN_COLUMNS:
            frame[col] = frame["account_id"].map(churn[col]).astype("Int64")
    else:
        for col in CHURN_COLUMNS:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    for col in GROUP_COLUMNS:
        frame[col] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    return frame[INPUT_COLUMNS]


def with_groups(frame: pd.DataFrame, groups: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` with :data:`GROUP_COLUMNS` from ``groups`` (indexed by account id)."""
    if groups is None:
        return frame
    frame = frame.copy()
    ids = frame["account_id"].astype(str)
    for col in GROUP_COLUMNS:
        # A Series, not .to_numpy(): that would hand over an object array and lose Int64.
        frame[col] = ids.map(groups[col]).astype("Int64")
    return frame


def follower_groups(frame: pd.DataFrame, snapshots: pd.DataFrame | None = None
                    ) -> pd.DataFrame:
    """:data:`GROUP_COLUMNS` of every account of ``frame`` (the whole follower list),
    indexed by account id. ``snapshots`` (``taken_at``, ``direction``, ``account_id``) gives
    the snapshot interval each follower first appeared in (``group_same_interval``,
    ``group_week_and_interval``); without them those two counts are 0."""
    from pipeline.data.groups import group_features

    if snapshots is not None and not len(snapshots):
        snapshots = None
    groups = group_features(frame.reset_index(drop=True), snapshots)
    groups.index = frame["account_id"].astype(str).to_numpy()
    return groups


def post_texts(posts: list[dict] | None, kinds: tuple[str, ...] = schema.POST_KINDS) -> list[str]:
    """The non-empty texts of one account's posts of the given kinds."""
    if posts is None:
        return []
    return [p["text"] for p in posts if p.get("text") and p.get("kind", "post") in kinds]


def churn_counts_as_of(snapshots: pd.DataFrame, as_of: pd.Series) -> pd.DataFrame:
    """Churn counts of each account from only the snapshots taken up to its own cutoff.

    Training must see what the person could see when deciding: a follow-back shows in the
    snapshots only *after* the decision, so counts over all snapshots would hand the model its
    label. ``as_of`` maps account_id -> cutoff time (e.g. ``decided_at``); an account whose
    cutoff precedes every snapshot gets null counts, as with no snapshots at all. Runs
    :func:`pipeline.data.snapshots.detect` once per distinct snapshot prefix, not once per account.
    """
    from pipeline.data.snapshots import detect

    times = sorted(snapshots["taken_at"].unique())
    cutoffs = pd.to_datetime(as_of, utc=True)
    # index of the last snapshot at or before each cutoff (-1: none)
    position = pd.Series(
        pd.Index(times).searchsorted(cutoffs.to_numpy(), side="right") - 1, index=as_of.index
    )
    parts = []
    for k, ids in position.groupby(position):
        if k < 0:
            continue
        prefix = snapshots[snapshots["taken_at"] <= times[k]]
        counts = detect(prefix).counts
        parts.append(counts[counts["account_id"].isin(ids.index)])
    if not parts:
        return pd.DataFrame(columns=["account_id", *CHURN_COLUMNS])
    return pd.concat(parts, ignore_index=True)[["account_id", *CHURN_COLUMNS]]


def load_account_frame(
    cfg, tables: dict[str, pd.DataFrame] | None = None, as_of: pd.Series | None = None
) -> pd.DataFrame:
    """The model input frame of every ingested account, with churn counts from the snapshots
    and follower-group counts over all of them.

    ``tables`` may hold already loaded contract tables (``accounts``, ``posts``, ``snapshots``);
    the rest is read from ``ingest.out_dir``. With ``as_of`` (account_id -> time), churn counts
    use only the snapshots up to each account's time (see :func:`churn_counts_as_of`). The
    group counts (:data:`GROUP_COLUMNS`) are computed over every ingested account, as
    ``followback score`` computes them over its whole input, so that training sees an account
    in the same context as scoring does (never over only the decided accounts).
    """
    from pipeline.data import io
    from pipeline.data.snapshots import detect

    tables = dict(tables or {})
    for name in ("accounts", "posts", "snapshots"):
        if name not in tables:
            tables[name] = io.read_table(cfg.ingest.out_dir, name)
    counts = None
    snapshots = tables["snapshots"]
    if len(snapshots):
        if as_of is not None:
            counts = churn_counts_as_of(snapshots, as_of)
        else:
            counts = detect(snapshots).counts
    frame = account_frame(tables["accounts"], tables["posts"], counts,
                          max_posts=cfg.features.max_posts)
    return with_groups(frame, follower_groups(frame, snapshots)) if len(frame) else frame


_MARKER = "\x00snapshot-time"


def churn_counts(rows: pd.DataFrame, times: pd.DataFrame) -> pd.DataFrame | None:
    """Churn counts of the accounts in ``rows`` as the whole snapshot table would give them.

    ``times`` holds every distinct (``taken_at``, ``direction``) of the whole table; a marker
    account present at each of them keeps the snapshot timeline complete.
    """
    from pipeline.data.snapshots import detect

    if times is None or not len(times):
        return None
    markers = times.assign(account_id=_MARKER)
    snapshots = pd.concat([rows, markers], ignore_index=True)
    snapshots["taken_at"] = pd.to_datetime(snapshots["taken_at"], utc=True, format="ISO8601")
    counts = detect(snapshots).counts
    return counts[counts["account_id"] != _MARKER].reset_index(drop=True)


def _read_ids(cfg: Config, table: str, ids: list[str], columns=None) -> pd.DataFrame:
    path = io.table_path(cfg.ingest.out_dir, table)
    if not path.is_file():
        return schema.empty_frame(table)
    frame = pd.read_parquet(path, filters=[("account_id", "in", list(ids))] if ids else None,
                            columns=columns)
    return frame


def ingested_frame(cfg: Config, ids: list[str]) -> pd.DataFrame:
    """The model input of the ingested accounts ``ids`` (in that order), read selectively."""
    from pipeline.data.frame import account_frame

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
