"""Followers that act together: per account, how many of the person's other followers look
like it (created the same week, near-identical bio, display name or posts, following within
the same snapshot interval).

Bought followers and bot networks arrive in groups. One such account alone can look like a
quiet new person; thirty created the same week with the same bio cannot. The text likenesses
use MinHash signatures and locality-sensitive hashing (datasketch's ``MinHashLSH``): each
account's shingles are hashed once, accounts whose signatures collide in an LSH band and
whose estimated Jaccard similarity to the band's first member reaches ``threshold`` are joined
(union-find), and an account's count is the size of its group less itself. Time and memory
grow linearly with the number of followers (no pairwise comparison; see
``bench/group_value.py`` for 100,000 followers), at the price of MinHash's estimate: two
near-identical texts may, rarely, be missed, and a group is the transitive closure of
likenesses to the band's first member.

Outputs (:data:`GROUP_FEATURES`) are counts of *other* followers, 0 where the account has no
such field (no bio, no posts, no creation date): an empty bio is like every other empty bio,
and counting it would make every blank profile a "network".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from pipeline.data.schema import post_list

GROUP_FEATURES = [  # == pipeline.data.frame.GROUP_COLUMNS (a test checks)
    "group_same_week",          # created in the same ISO week
    "group_similar_bio",        # near-identical bio
    "group_similar_name",       # near-identical display name (digits ignored)
    "group_similar_posts",      # near-identical post texts
    "group_same_interval",      # first seen following in the same snapshot interval
    "group_week_and_text",      # same week and near-identical bio, name or posts
    "group_week_and_interval",  # same week and first seen in the same snapshot interval
]
# datasketch's "legacy" permutations, (a * h + b) mod (2^61 - 1) cut to 32 bits: their
# collision bias on large sets does not matter for a bio's few dozen shingles.
SCHEME = "legacy"
_STRIP = re.compile(r"https?://\S+|www\.\S+|@\w+|\d+")
_WORD = re.compile(r"\w+", re.UNICODE)


def _word_shingles(text: str, k: int = 2) -> set[bytes]:
    """Word k-grams (and the words) of ``text``: links, mentions and numbers left out,
    because templated spam varies exactly those between copies."""
    words = _WORD.findall(_STRIP.sub(" ", text.lower()))
    if not words:
        # An emoji-only bio ("🌸") is one token: alike only when it is the same.
        return {text.strip().encode("utf-8")} if text.strip() else set()
    grams = {" ".join(words[i:i + k]) for i in range(max(len(words) - k + 1, 0))}
    return {g.encode("utf-8") for g in grams | set(words)}


def _char_shingles(text: str, k: int = 3) -> set[bytes]:
    """Character k-grams of a display name without digits, emoji and punctuation."""
    core = " ".join(_WORD.findall(re.sub(r"\d+", "", text.lower())))
    if len(core) < k:
        return {core.encode("utf-8")} if core else set()
    return {core[i:i + k].encode("utf-8") for i in range(len(core) - k + 1)}


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def labels(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))])


def minhash_signatures(shingles: list[set[bytes]], num_perm: int = 64, seed: int = 1
                       ) -> np.ndarray:
    """MinHash signatures, one row per item, with datasketch's permutations and hashing.

    The same values as ``datasketch.MinHash(num_perm, seed, scheme="legacy").update(...)``
    with its default SHA-1 hash, computed for all items at once with numpy rather than one
    Python update per item.
    """
    from datasketch.hashfunc import sha1_hash32
    from datasketch.minhash import MinHash, _max_hash, _mersenne_prime

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    lengths = np.fromiter((len(s) for s in shingles), dtype=np.int64, count=len(shingles))
    hv = np.fromiter((sha1_hash32(x) for s in shingles for x in s), dtype=np.uint64,
                     count=int(lengths.sum()))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    out = np.empty((len(shingles), num_perm), dtype=np.uint64)
    chunk = 200_000 // max(num_perm // 64, 1)  # bounded memory: chunk x num_perm uint64
    item = 0
    while item < len(shingles):
        # Whole items per chunk, so that each minimum is taken over all its shingles.
        end = int(np.searchsorted(starts, starts[item] + chunk, side="right"))
        end = max(end, item + 1)
        lo, hi = starts[item], starts[end - 1] + lengths[end - 1]
        phv = np.bitwise_and((hv[lo:hi, None] * a + b) % _mersenne_prime, _max_hash)
        out[item:end] = np.minimum.reduceat(phv, starts[item:end] - lo, axis=0)
        item = end
    return out


def similar_groups(shingles: list[set[bytes]], threshold: float = 0.7, num_perm: int = 64,
                   seed: int = 1) -> np.ndarray:
    """Group label per item (-1 for an item without shingles), near-identical items alike.

    Parameters
    ----------
    shingles : one set of byte shingles per item.
    threshold : estimated Jaccard similarity at which two items count as near-identical.
    num_perm : MinHash permutations (signature length): more is more exact and slower.
    seed : MinHash seed, fixed so that the same followers give the same groups.
    """
    from datasketch import MinHashLSH
    from datasketch.lean_minhash import LeanMinHash

    n = len(shingles)
    labels = np.full(n, -1)
    present = [i for i, s in enumerate(shingles) if s]
    if not present:
        return labels
    signatures = minhash_signatures([shingles[i] for i in present], num_perm, seed)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with lsh.insertion_session() as session:
        for key, row in enumerate(signatures):
            session.insert(key, LeanMinHash(seed=seed, hashvalues=row, scheme=SCHEME),
                           check_duplication=False)
    uf = _UnionFind(len(present))
    # Every LSH band bucket holds candidates; each joins the bucket's first member when
    # their signatures agree enough. Linear in the bucket sizes, never pairwise.
    for table in lsh.hashtables:
        for bucket in table.keys():
            members = sorted(table.get(bucket))
            if len(members) < 2:
                continue
            others = np.asarray(members[1:])
            # Estimated Jaccard: the share of signature positions that agree.
            agree = (signatures[others] == signatures[members[0]]).mean(axis=1)
            for other in others[agree >= threshold]:
                uf.union(members[0], int(other))
    labels[present] = uf.labels()
    return labels


def _sizes(labels: np.ndarray) -> np.ndarray:
    """For each item, how many *other* items share its label (0 for label -1)."""
    out = np.zeros(len(labels), dtype=float)
    valid = labels >= 0
    if valid.any():
        values, counts = np.unique(labels[valid], return_counts=True)
        out[valid] = pd.Series(counts, index=values).reindex(labels[valid]).to_numpy() - 1
    return out


def _pair_sizes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Others sharing both label ``a`` and label ``b`` (0 where either is -1)."""
    valid = (a >= 0) & (b >= 0)
    out = np.zeros(len(a), dtype=float)
    if valid.any():
        keys = pd.Series(list(zip(a[valid], b[valid], strict=True)))
        out[valid] = keys.map(keys.value_counts()).to_numpy() - 1
    return out


def creation_weeks(created_at: pd.Series) -> np.ndarray:
    """Week number since the epoch of each creation time; -1 where it is missing."""
    times = pd.to_datetime(created_at, utc=True, errors="coerce", format="ISO8601")
    days = (times - pd.Timestamp("1970-01-05", tz="UTC")) / pd.Timedelta(days=1)  # a Monday
    weeks = np.floor(days.to_numpy(dtype=float, na_value=np.nan) / 7)
    return np.where(np.isnan(weeks), -1, weeks).astype(np.int64)


def first_seen_intervals(account_ids: Iterable, snapshots: pd.DataFrame | None) -> np.ndarray:
    """Per account, the index of the snapshot at which it first appears among the followers,
    or -1 where it was there from the first snapshot (or never seen): arriving "before the
    first snapshot" is what every old follower shares, not a group."""
    ids = pd.Series([str(a) for a in account_ids])
    if snapshots is None or not len(snapshots):
        return np.full(len(ids), -1)
    snaps = snapshots[snapshots["direction"].astype(str) == "followers"]
    taken = pd.to_datetime(snaps["taken_at"], utc=True)
    order = {t: i for i, t in enumerate(sorted(taken.unique()))}
    first = (pd.DataFrame({"id": snaps["account_id"].astype(str), "k": taken.map(order)})
             .groupby("id")["k"].min())
    seen = ids.map(first).fillna(0).to_numpy(dtype=int)
    return np.where(seen > 0, seen, -1)


def group_labels(accounts: pd.DataFrame, snapshots: pd.DataFrame | None = None,
                 threshold: float = 0.6, num_perm: int = 64, max_posts: int = 30
                 ) -> dict[str, np.ndarray]:
    """Label arrays per likeness (week, bio, name, posts, interval), -1 where absent."""
    def texts(col: str) -> list[str]:
        if col not in accounts.columns:
            return [""] * len(accounts)
        return ["" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
                else str(v) for v in accounts[col]]

    posts = [" ".join((p.get("text") or "") for p in post_list(v)[:max_posts]
                      if (p.get("kind") or "post") in ("post", "reply"))
             for v in (accounts["posts"] if "posts" in accounts.columns
                       else [None] * len(accounts))]
    return {
        "week": creation_weeks(accounts["created_at"]) if "created_at" in accounts.columns
        else np.full(len(accounts), -1),
        "bio": similar_groups([_word_shingles(t) for t in texts("bio")], threshold, num_perm),
        "name": similar_groups([_char_shingles(t) for t in texts("display_name")],
                               max(threshold, 0.8), num_perm),
        "posts": similar_groups([_word_shingles(t) for t in posts], threshold, num_perm),
        "interval": first_seen_intervals(accounts["account_id"], snapshots)
        if "account_id" in accounts.columns else np.full(len(accounts), -1),
    }


def group_features(accounts: pd.DataFrame, snapshots: pd.DataFrame | None = None,
                   threshold: float = 0.6, num_perm: int = 64) -> pd.DataFrame:
    """:data:`GROUP_FEATURES` for each follower in ``accounts`` (index kept).

    Parameters
    ----------
    accounts : the person's followers, columns of :func:`pipeline.data.frame.account_frame`
        (``account_id``, ``created_at``, ``bio``, ``display_name``, optionally ``posts``).
    snapshots : the snapshots table, for ``group_same_interval`` (0 without it).
    threshold, num_perm : see :func:`similar_groups`.
    """
    lab = group_labels(accounts, snapshots, threshold, num_perm)
    week_text = np.max([_pair_sizes(lab["week"], lab[k]) for k in ("bio", "name", "posts")],
                       axis=0)
    out = pd.DataFrame({
        "group_same_week": _sizes(lab["week"]),
        "group_similar_bio": _sizes(lab["bio"]),
        "group_similar_name": _sizes(lab["name"]),
        "group_similar_posts": _sizes(lab["posts"]),
        "group_same_interval": _sizes(lab["interval"]),
        "group_week_and_text": week_text,
        "group_week_and_interval": _pair_sizes(lab["week"], lab["interval"]),
    }, index=accounts.index)
    return out[GROUP_FEATURES]


def group_sentence(row: pd.Series | dict, min_size: int = 4) -> str | None:
    """The strongest group likeness in the person's words, or None below ``min_size`` others.

    "one of 37 followers created the same week with a near-identical bio"
    """
    def n(key: str) -> int:
        return int(row.get(key, 0) or 0)

    candidates = []
    if n("group_week_and_text") >= min_size:
        what = ("a near-identical bio" if n("group_similar_bio") >= n("group_week_and_text")
                else "near-identical posts" if n("group_similar_posts") >= n(
                    "group_week_and_text") else "a near-identical name")
        candidates.append((n("group_week_and_text") * 2,
                           f"one of {n('group_week_and_text') + 1:,} followers created the "
                           f"same week with {what}"))
    # Following in the same snapshot interval alone is what every month's new followers
    # share: it counts only with a creation week in common.
    for key, words in (("group_similar_bio", "with a near-identical bio"),
                       ("group_similar_posts", "posting near-identical texts"),
                       ("group_week_and_interval", "created the same week that started "
                                                   "following in the same snapshot interval"),
                       ("group_same_week", "created the same week")):
        if n(key) >= min_size:
            candidates.append((n(key), f"one of {n(key) + 1:,} followers {words}"))
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[0])[1]
