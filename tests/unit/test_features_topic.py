"""TopicSimilarity: "your posts aren't about my interests"."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer

from pipeline.features.topic import FEATURES, TopicSimilarity

BREAD = ["Shaped two batards tonight, they go into the fridge for a slow proof.",
         "My starter doubled in four hours, time to mix the dough.",
         "Spelt and rye loaf with toasted seeds, crust crackling as it cools."]
CYCLING = ["Long bike ride along the river today, 90 km on the touring bike.",
           "Three days of touring with full panniers, 240 km in total."]
CRYPTO = ["Bitcoin breaking resistance, altcoin season incoming, buy the dip.",
          "New NFT drop tonight, whitelist spots going fast, DM me.",
          "Leverage trading signals: 20x long on ETH, stop loss at 3100."]


def _posts(make_accounts):
    return make_accounts([
        {"posts": BREAD},                                             # 0 on topic
        {"posts": CRYPTO},                                            # 1 unrelated
        {"posts": [(t, "like") for t in CYCLING] + [(BREAD[0], "repost")]},  # 2 likes/reposts
        {"posts": []},                                                # 3 none
        {"is_private": True},                                         # 4 private, none
        {"posts": CRYPTO[:2] + CYCLING[:1]},                          # 5 mixed
    ])["posts"]


@pytest.fixture(scope="module")
def fitted(minilm, own_posts, make_accounts):
    est = TopicSimilarity(own_posts=own_posts, random_state=0, show_progress=False)
    return est.fit(_posts(make_accounts))


@pytest.mark.slow
def test_on_topic_account_is_closer_than_an_unrelated_one(fitted, make_accounts):
    out = pd.DataFrame(fitted.transform(_posts(make_accounts)), columns=FEATURES)
    assert out.loc[0, "topic_centroid_cos"] > out.loc[1, "topic_centroid_cos"] + 0.1
    assert out.loc[0, "topic_max_cluster_cos"] > out.loc[1, "topic_max_cluster_cos"] + 0.2
    # A cycling account matches the cycling cluster better than the overall centroid.
    assert out.loc[2, "topic_max_cluster_cos"] > out.loc[2, "topic_centroid_cos"]
    # One relevant post among crypto shows in the best post, less in the mean.
    assert out.loc[5, "topic_best_post_cos"] > out.loc[1, "topic_best_post_cos"] + 0.2
    assert out.loc[5, "topic_max_cluster_cos"] < out.loc[5, "topic_best_post_cos"]


@pytest.mark.slow
def test_clusters_follow_the_persons_interests(fitted):
    assert len(fitted.cluster_centers_) == 3 and sum(fitted.cluster_sizes_) == 12
    np.testing.assert_allclose(np.linalg.norm(fitted.cluster_centers_, axis=1), 1.0, atol=1e-5)
    examples = " ".join(fitted.cluster_examples_).lower()
    assert sum(word in examples for word in ("loaf", "bread", "sourdough", "levain",
                                             "rye", "boules")) >= 1
    assert sum(word in examples for word in ("bike", "km", "ride", "panniers", "gravel")) >= 1
    assert sum(word in examples for word in ("tomatoes", "beds", "garden", "compost",
                                             "zucchini")) >= 1


@pytest.mark.slow
def test_no_posts_gives_zeros_and_the_indicator(fitted, make_accounts):
    out = pd.DataFrame(fitted.transform(_posts(make_accounts)), columns=FEATURES)
    assert np.isfinite(out.to_numpy()).all()
    for row in (3, 4):
        assert out.loc[row].to_dict() == {"topic_centroid_cos": 0.0, "topic_max_cluster_cos": 0.0,
                                          "topic_best_post_cos": 0.0, "topic_no_posts": 1.0,
                                          "topic_no_own_posts": 0.0}
    assert out.loc[[0, 1, 2, 5], "topic_no_posts"].eq(0).all()


@pytest.mark.slow
def test_likes_and_reposts_count_as_content(fitted, make_accounts):
    only_likes = make_accounts([{"posts": [(t, "like") for t in CYCLING]}])["posts"]
    out = fitted.transform(only_likes)
    assert out[0, 3] == 0.0 and out[0, 1] > 0.3


@pytest.mark.slow
def test_evidence_names_the_nearest_cluster(fitted, make_accounts):
    X = _posts(make_accounts)
    ev = fitted.evidence(X)
    bread_cluster = ev.loc[0, "nearest_cluster"]
    assert ev.loc[0, "nearest_cluster_example"] == fitted.cluster_examples_[bread_cluster]
    assert any(w in ev.loc[0, "nearest_cluster_example"].lower()
               for w in ("loaf", "bread", "sourdough", "levain", "rye", "boules"))
    assert ev.loc[5, "most_relevant_post"] == CYCLING[0]
    assert ev.loc[0, "similarity"] == pytest.approx(fitted.transform(X)[0, 1])
    assert pd.isna(ev.loc[3, "nearest_cluster"]) and ev.loc[3, "n_posts"] == 0


@pytest.mark.slow
def test_fewer_own_posts_than_clusters(minilm, make_accounts):
    est = TopicSimilarity(own_posts=["Sourdough loaf", "Sourdough loaf", "Bike tour"],
                          n_clusters=5, random_state=0, show_progress=False)
    out = est.fit_transform(_posts(make_accounts))
    assert est.cluster_centers_.shape[0] == 2 and est.n_own_posts_ == 2
    assert out.shape == (6, len(FEATURES)) and np.isfinite(out).all()
    single = TopicSimilarity(own_posts=["Sourdough loaf"], show_progress=False)
    assert single.fit_transform(_posts(make_accounts)).shape == (6, len(FEATURES))


@pytest.mark.slow
def test_sklearn_conventions(fitted, own_posts, make_accounts):
    X = _posts(make_accounts)
    est = TopicSimilarity(own_posts=own_posts, random_state=0, show_progress=False)
    assert clone(est).get_params()["own_posts"] == own_posts
    est.set_params(n_clusters=2)
    assert est.fit(X).cluster_centers_.shape[0] == 2
    np.testing.assert_allclose(clone(fitted).fit_transform(X), fitted.transform(X), atol=1e-6)
    assert fitted.transform(X).shape[1] == len(fitted.get_feature_names_out())
    blob = pickle.dumps(fitted)
    assert b"SentenceTransformer" not in blob and len(blob) < 100_000
    again = pickle.loads(blob)
    assert "_text_embedder" not in again.__dict__
    np.testing.assert_allclose(again.transform(X), fitted.transform(X), atol=1e-6)


@pytest.mark.slow
def test_pandas_output_in_a_column_transformer(own_posts, make_accounts, minilm):
    frame = make_accounts([{"posts": BREAD}, {"posts": []}])
    for spec in ("posts", ["posts"]):
        ct = ColumnTransformer([("topic", TopicSimilarity(own_posts=own_posts, random_state=0,
                                                          show_progress=False), spec)])
        out = ct.set_output(transform="pandas").fit_transform(frame)
        assert list(out.columns) == [f"topic__{f}" for f in FEATURES]


@pytest.mark.slow
def test_rerun_computes_nothing_new(own_posts, make_accounts, minilm, tmp_path):
    X = _posts(make_accounts)
    TopicSimilarity(own_posts=own_posts, random_state=0, cache_dir=tmp_path,
                    show_progress=False).fit_transform(X)
    again = TopicSimilarity(own_posts=own_posts, random_state=0, cache_dir=tmp_path,
                            show_progress=False)
    again.fit_transform(X)
    stats = again.cache_stats()
    assert stats["misses"] == 0 and stats["computed"] == 0 and stats["hits"] > 0


@pytest.mark.parametrize(
    ("params", "match"),
    [({"own_posts": None}, "own_posts"),
     ({"own_posts": "one string"}, "own_posts"), ({"own_posts": ["x"], "n_clusters": 0},
                                                   "n_clusters")],
)
def test_bad_parameters_are_rejected(params, match):
    with pytest.raises(ValueError, match=match):
        TopicSimilarity(**params).fit(pd.Series([[]], name="posts"))


@pytest.mark.slow
def test_a_bio_about_the_persons_topics_is_closer(own_posts, make_accounts, minilm):
    from pipeline.features.topic import BIO_FEATURES

    frame = make_accounts([
        {"bio": "Sourdough baker and weekend bike tourer, kale on the balcony"},
        {"bio": "Crypto trader | NFTs | DM for signals"},
        {"bio": None, "posts": BREAD},
    ])[["posts", "bio"]]
    est = TopicSimilarity(own_posts=own_posts, random_state=0, show_progress=False).fit(frame)
    names = list(est.get_feature_names_out())
    assert est.bio_ and names == [*FEATURES, *BIO_FEATURES]
    out = pd.DataFrame(est.transform(frame), columns=names)
    assert np.isfinite(out.to_numpy()).all()
    assert out.loc[0, "topic_bio_max_cluster_cos"] > out.loc[1, "topic_bio_max_cluster_cos"] + 0.1
    assert out.loc[0, "topic_bio_centroid_cos"] > out.loc[1, "topic_bio_centroid_cos"]
    assert out["topic_no_bio"].tolist() == [0, 0, 1]
    assert out.loc[2, BIO_FEATURES[:2]].eq(0).all()
    ev = est.evidence(frame)
    assert ev.loc[0, "bio_similarity"] > ev.loc[1, "bio_similarity"]
    assert pd.isna(ev.loc[2, "bio_similarity"])
    # The posts column alone (a model fitted before bios were compared): no bio part.
    alone = TopicSimilarity(own_posts=own_posts, random_state=0, show_progress=False)
    assert alone.fit(frame["posts"]).transform(frame["posts"]).shape == (3, len(FEATURES))
    # Nothing of the person's own to compare with: the bio part is zeros and no bio flags.
    empty = TopicSimilarity(own_posts=[], show_progress=False).fit(frame)
    out = pd.DataFrame(empty.transform(frame), columns=names)
    assert out.loc[:1, BIO_FEATURES[:2]].eq(0).all().all()
