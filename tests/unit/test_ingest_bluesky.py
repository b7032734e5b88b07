"""The Bluesky importer: profileViewDetailed profiles, author feeds and repo records."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Source
from pipeline.data.ingest import bluesky, ingest

VEGGIE = "did:plc:4k3x7qzq2jv5l6m2n8r9t0ab"
SPAM = "did:plc:zq5u2m7x3n9k1w4c6v8b0lpe"
VELO = "did:plc:v3rf1edj0urn4l1st5k9m2xa"


@pytest.fixture(scope="module")
def folder(fixtures: Path) -> Path:
    return fixtures / "ingest" / "bluesky"


def run(path: Path, out: Path):
    result = ingest([Source(path=path)], out)
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    return result, rejects


def counts(result, table: str) -> tuple[int, ...]:
    return next(r for r in result.summary() if r[0] == table)[1:]


def test_profiles_counts_and_rejects(folder, tmp_path):
    result, rejects = run(folder / "profiles.json", tmp_path)
    assert counts(result, "accounts") == (7, 3, 3, 1)
    assert [(r.location, r.table, r.reason) for r in rejects.itertuples()] == [
        ("record 4", "accounts", "account_id: required field is missing"),
        ("record 5", "accounts",
         "followers_count: Input should be a valid integer, unable to parse string as an integer"),
        ("record 6", "accounts", "created_at: unparseable date 'not-a-date'"),
    ]


def test_profile_mapping(folder, tmp_path):
    result, _ = run(folder / "profiles.json", tmp_path)
    accounts = result.tables["accounts"].frame.set_index("account_id")
    veggie = accounts.loc[VEGGIE]
    # The duplicate read last was indexed earlier: the more recent profile (indexedAt) wins.
    assert (veggie.followers_count, veggie.following_count, veggie.posts_count) == (233, 310, 1204)
    assert veggie.bio == "Urban gardening on a Berlin balcony 🌱\nTomatoes, chard, compost."
    assert veggie.created_at == pd.Timestamp("2023-05-02 18:22:10.118", tz="UTC")
    # Bluesky has no private accounts and no like counts: null, not False or 0.
    assert pd.isna(veggie.is_private) and pd.isna(veggie.likes_count)
    assert not pd.isna(veggie.is_bot_flagged) and not veggie.is_bot_flagged  # labels: []
    assert not veggie.has_default_avatar and pd.isna(veggie.is_verified)
    spam = accounts.loc[SPAM]
    assert spam.is_bot_flagged and spam.has_default_avatar
    velo = accounts.loc[VELO]
    assert velo.is_verified
    assert not velo.is_bot_flagged  # its spam label was negated


def test_labels_and_other_fields_kept_in_extra(folder):
    records = list(bluesky.read(folder / "profiles.json"))
    spam = next(r for r in records if r.data.get("account_id") == SPAM)
    assert spam.extra["labels"][0]["val"] == "spam"
    assert "followersCount" not in spam.extra and "indexedAt" in spam.extra


@pytest.mark.parametrize(
    ("labels", "flag"),
    [
        (None, None),
        ([], False),
        ([{"val": "porn"}], False),
        ([{"val": "spam"}], True),
        ([{"val": "bot"}], True),
        ([{"val": "automated"}], True),
        ([{"val": "spam"}, {"val": "spam", "neg": True}], False),
    ],
)
def test_bot_labels(labels, flag):
    profile = {"did": "did:plc:x", "handle": "x.bsky.social"}
    if labels is not None:
        profile["labels"] = labels
    assert bluesky.profile_record(profile, "f", "record 1").data.get("is_bot_flagged") is flag


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        # A handle on a domain of the account's own is Bluesky's verified link.
        ({"handle": "ana.example.org", "followersCount": 3, "banner": "https://cdn/b.jpg"},
         {"verified_links_count": 1, "has_default_header": False}),
        ({"handle": "ana.bsky.social", "followersCount": 3},
         {"verified_links_count": 0, "has_default_header": True}),
        ({"handle": "handle.invalid", "postsCount": 0},
         {"verified_links_count": 0, "has_default_header": True}),
        # A list entry (profileView) has no counts and never a banner: not known.
        ({"handle": "ana.bsky.social"}, {"has_default_header": None}),
    ],
)
def test_profile_metadata_columns(profile, expected):
    data = bluesky.profile_record({"did": "did:plc:x", **profile}, "f", "record 1").data
    for column, value in expected.items():
        assert data.get(column) == value, column
    # Bluesky has none of these: they stay null, never False or 0.
    for column in ("is_local", "is_discoverable", "is_indexable", "is_group", "fields_count"):
        assert data.get(column) is None, column


def test_author_feed(folder, tmp_path):
    result, rejects = run(folder / "author_feed.json", tmp_path)
    assert counts(result, "posts") == (5, 3, 2, 0)
    assert counts(result, "accounts") == (0, 0, 0, 0)  # basic author views are not profiles
    assert [(r.location, r.reason) for r in rejects.itertuples()] == [
        ("record 4", "created_at: unparseable date 'yesterday-ish'"),
        ("record 5", "post_id: required field is missing"),
    ]
    posts = result.tables["posts"].frame.set_index("post_id")
    assert set(posts.account_id) == {VEGGIE}
    repost = posts.loc[f"at://{VELO}/app.bsky.feed.post/3ksq9zzz9z2z"]
    assert repost.kind == "repost"
    assert repost.text.startswith("Our 10-day bike touring route")
    assert repost.created_at == pd.Timestamp("2024-05-02 11:00", tz="UTC")  # when reposted
    reply = posts.loc[f"at://{VEGGIE}/app.bsky.feed.post/3ksqe5abc2d2k"]
    assert reply.kind == "reply"
    extra = pd.read_parquet(tmp_path / "posts_extra.parquet")
    langs = {json.loads(e).get("langs", [None])[0] for e in extra.extra}
    assert langs == {"en"}


def test_repo_records_jsonl(folder, tmp_path):
    result, rejects = run(folder / "records.jsonl", tmp_path)
    assert counts(result, "posts") == (5, 3, 2, 0)
    assert [(r.location, r.table) for r in rejects.itertuples()] == [
        ("line 4", "posts"), ("line 5", "posts")]
    assert rejects.reason[0].startswith("malformed JSON")
    assert rejects.reason[1] == ("repo record of type 'app.bsky.graph.follow' is not a post, "
                                 "repost or like")
    posts = result.tables["posts"].frame
    assert sorted(posts.kind) == ["like", "post", "repost"]
    assert set(posts.account_id) == {"did:plc:q7mfn2ldx0wby3ssk5t8vzc2"}
