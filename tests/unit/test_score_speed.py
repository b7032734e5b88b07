"""The shortcuts that make warm scoring fast change nothing a reader can see."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.data import schema
from pipeline.data.frame import _posts_by_account, account_frame
from pipeline.features.cache import TextCache
from pipeline.model import attribution, reasons
from tests.unit.test_score import FRIENDLY, fitted_toy_model, toy_tables


def reference_post_dicts(group: pd.DataFrame, max_posts: int) -> list[dict]:
    """How account_frame gathered one account's posts before: one sort_values per account."""
    group = group.sort_values("created_at", ascending=False, na_position="last").head(max_posts)
    langs = group["language"] if "language" in group.columns else [None] * len(group)
    out = []
    for text, kind, ts, lang in zip(group["text"], group["kind"], group["created_at"], langs,
                                    strict=True):
        post = {"text": text, "kind": kind,
                "created_at": None if pd.isna(ts) else ts.isoformat()}
        if lang is not None and not pd.isna(lang):
            post["language"] = str(lang)
        out.append(post)
    return out


def _same(a, b) -> bool:
    """Equal, with a missing value (None, NaN, NA) equal only to the same kind of missing."""
    if a is None or b is None:
        return a is b
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b)) and type(a) is type(b)
    return a == b


def test_posts_come_in_the_order_of_a_per_account_sort_ties_and_missing_times_included():
    rng = np.random.default_rng(0)
    n = 3000
    days = rng.integers(0, 40, n)  # many posts of one account share a time: ties
    posts = pd.DataFrame({
        "account_id": rng.choice([f"a{i}" for i in range(60)], n),
        "post_id": [f"p{i}" for i in range(n)],
        "text": rng.choice([*FRIENDLY, None], n),
        "kind": rng.choice(list(schema.POST_KINDS), n),
        "created_at": pd.to_datetime("2026-01-01", utc=True) + pd.to_timedelta(days, unit="D"),
        "language": rng.choice(["en", "de", None], n),
    })
    posts.loc[rng.random(n) < 0.05, "created_at"] = pd.NaT
    posts = schema.conform("posts", posts)
    for max_posts in (5, 30, 1000):
        fast = _posts_by_account(posts, max_posts)
        slow = {k: reference_post_dicts(g, max_posts)
                for k, g in posts.groupby("account_id", sort=False)}
        assert fast.keys() == slow.keys()
        for key in slow:
            assert len(fast[key]) == len(slow[key])
            for a, b in zip(fast[key], slow[key], strict=True):
                assert a.keys() == b.keys() and all(_same(a[c], b[c]) for c in a), key


def test_evidence_of_the_named_criteria_only_is_the_same_evidence():
    from pipeline.data.frame import follower_groups, with_groups

    model = fitted_toy_model()
    accounts, posts, _ = toy_tables(40, seed=9)
    uncounted = account_frame(accounts, posts, max_posts=30)
    counted = with_groups(uncounted, follower_groups(uncounted))
    rng = np.random.default_rng(1)
    rows = {c: np.flatnonzero(rng.random(len(uncounted)) < 0.5)
            for c in attribution.CRITERION_ORDER}
    rows["bio"] = np.array([], dtype=int)
    for frame in (counted, uncounted):
        whole = reasons.evidence(model, frame)
        part = reasons.evidence(model, frame, rows)
        for crit, picked in rows.items():
            assert part[crit].iloc[picked].tolist() == whole[crit].iloc[picked].tolist()
            others = np.setdiff1d(np.arange(len(frame)), picked)
            if crit == "bot" and frame is uncounted:
                # Without the follower-group counts the bot evidence counts groups within
                # the frame: it is made for the whole frame, as before.
                assert part[crit].tolist() == whole[crit].tolist()
            else:
                assert part[crit].iloc[others].isna().all()


def test_explain_frame_reasons_equal_one_sort_per_account():
    model = fitted_toy_model()
    accounts, posts, _ = toy_tables(60, seed=3)
    frame = account_frame(accounts, posts, max_posts=30)
    features = attribution.feature_matrix(model, frame)
    rows = reasons.explain_frame(model, frame, features[:10], 0.1,
                                 reasons.Overrides(frozenset(), frozenset()))
    attr = attribution.attribute(model, features, features[:10])
    proofs = reasons.evidence(model, frame)
    verdicts = reasons.verdict(attr.probability, float(model[-1].threshold), 0.1)
    for i in range(len(frame)):
        ranked = reasons.ranked_reasons(attr.values.iloc[i], verdicts[i])[:reasons.N_REASONS]
        got = [t for t in rows.loc[i, ["reason_1", "reason_2", "reason_3"]] if pd.notna(t)]
        assert [reasons.criterion_of_phrase(t) for t in got] == ranked
        for text, crit in zip(got, ranked, strict=True):
            proof = reasons.text_or_none(proofs.at[i, crit])
            assert proof is None or text.endswith(" — " + proof)


def test_ranked_positions_agree_with_ranked_reasons_on_ties_noise_and_gaps():
    rng = np.random.default_rng(0)
    names = list(attribution.CRITERION_ORDER)
    values = rng.normal(scale=0.3, size=(3000, 6))
    values[rng.random(values.shape) < 0.1] = np.nan
    values[rng.random(values.shape) < 0.1] = 0.25   # ties
    values[rng.random(values.shape) < 0.05] = -0.25
    values[rng.random(values.shape) < 0.05] = reasons.MIN_REASON  # exactly at the cut
    verdicts = rng.choice([reasons.SKIP, reasons.FOLLOW, reasons.REVIEW], len(values))
    fast = reasons.ranked_positions(values, verdicts)
    for i in range(len(values)):
        slow = reasons.ranked_reasons(pd.Series(values[i], index=names), verdicts[i])
        assert [names[j] for j in fast[i]] == slow


def test_recent_results_are_read_from_memory_and_handed_out_as_copies(tmp_path, monkeypatch):
    cache = TextCache(tmp_path, "demo")
    cache.put_many({"a": np.ones(3, dtype="float32"), "b": np.zeros(3, dtype="float32")})
    first = cache.get_many(["a", "b", "c"])
    queries = []
    conn = cache._connect()
    monkeypatch.setattr(cache, "_connect", lambda: queries.append(1) or conn)
    again = cache.get_many(["a", "b"])
    assert queries == []  # both from memory
    assert cache.hits == 4 and cache.misses == 1
    again["a"][:] = 7  # a caller's change stays the caller's
    np.testing.assert_array_equal(cache.get_many(["a"])["a"], first["a"])
    cache.get_many(["c"])
    assert queries == [1]  # unseen texts still go to SQLite


def test_the_memory_of_recent_results_is_bounded(tmp_path, monkeypatch):
    from pipeline.features import cache as module

    monkeypatch.setattr(module, "RECENT_BYTES", 3 * 4 * 10)  # ten 3-float vectors
    cache = TextCache(tmp_path, "demo")
    texts = [f"t{i}" for i in range(25)]
    cache.put_many({t: np.full(3, i, dtype="float32") for i, t in enumerate(texts)})
    assert len(cache.get_many(texts)) == 25
    assert len(cache._recent) == 10 and cache._recent_bytes == 120
    for t in texts:  # one at a time: the ten kept are the ten read last
        assert cache.get_many([t])[t][0] == texts.index(t)
    from pipeline.features.cache import text_key

    assert set(cache._recent) == {text_key(t) for t in texts[-10:]}
