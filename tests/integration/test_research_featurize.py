"""The six extractors on the public bot-research accounts: ingest, featurize, featurize again.

The cresci-2017 user tables (read in place from ../shared) are profiles without posts, in
English, Italian and other languages, with the quirks of the research format. A sample of every
group goes through the real `followback ingest` and `followback featurize` with the real models;
every account must come out with defined features (the no-posts indicators set, no NaN), the
shipped bot model must rank the bot groups above the genuine accounts, and a second run must
compute nothing (every text from the cache). The sample is a follower list's mix, 200 genuine
accounts and 5 of each bot group (40 bots): the bot score ranks accounts by how far they stand
out from the others, which assumes most of them are people.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from tests.conftest import sample_research
from tests.integration.conftest import invoke, small_params

OWN_POSTS = [
    "Sourdough day: 78% hydration and a long cold proof, the crumb is finally open.",
    "Rode 80 km along the river this morning, headwind all the way back.",
    "New bike lanes on the high street, a small win for everyone who cycles to work.",
    "Rye starter is bubbling again after a week in the fridge.",
    "Brot backen am Sonntag: Dinkel, Wasser, Salz und Geduld.",
    "Fixed my first flat tyre on the road without swearing. Progress.",
]


@pytest.mark.slow
def test_six_extractors_on_research_accounts(bot_research_dir, tmp_path, cli_runner):
    root = tmp_path
    groups = sample_research(bot_research_dir, root / "research", 5,
                             per_group={"genuine_accounts": 200})
    (root / "own").mkdir()
    pd.DataFrame({"post_id": [str(i) for i in range(len(OWN_POSTS))],
                  "created_at": "2025-01-01T00:00:00Z", "text": OWN_POSTS}).to_csv(
        root / "own" / "own_posts.csv", index=False)
    params = small_params(root)
    params["base"]["cache_dir"] = str(root / "cache")
    params["features"]["out"] = str(root / "features.parquet")
    params["features"]["metrics"] = str(root / "featurize.json")
    params["ingest"]["out_dir"] = str(root / "ingested")
    params["ingest"]["sources"] = [
        {"path": str(root / "research"), "format": "twitter-research"},
        {"path": str(root / "own"), "format": "generic"},
    ]
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    old = Path.cwd()
    os.chdir(root)
    try:
        invoke(cli_runner, "ingest")
        invoke(cli_runner, "featurize")
        first = json.loads((root / "features.json").read_text())
        assert set(json.loads((root / "featurize.json").read_text())) == {
            "n_accounts", "n_features", "seconds"}  # DVC metrics: numbers only
        features = pd.read_parquet(root / "features.parquet")
        invoke(cli_runner, "featurize")
        second = json.loads((root / "features.json").read_text())
    finally:
        os.chdir(old)

    # Every research account imported (nine groups) and featurized, nothing undefined.
    assert len(groups) == 9 and len(features) == sum(groups.values()) == 240
    values = features.filter(regex="__").drop(columns=features.filter(like="raw__").columns)
    assert values.shape[1] == first["n_features"]
    assert not values.isna().any().any(), values.columns[values.isna().any()].tolist()
    # Profiles without posts: the indicators say so, the scores do not pretend.
    assert (features["topic__topic_no_posts"] == 1).all()
    assert (features["language__lang_no_posts"] == 1).all()
    assert (features["toxicity__toxicity_no_texts"] == 1).all()
    # Bios are read: most genuine accounts have one, and lingua finds English or German in some.
    ids = pd.read_parquet(root / "ingested" / "accounts.parquet")[["account_id"]]
    assert len(ids) == 240
    assert features["bio__bio_present"].mean() > 0.3
    assert features["language__lang_bio_readable"].sum() > 10
    # The shipped bot model: the research bot groups score above the genuine accounts.
    genuine = pd.read_csv(bot_research_dir / "genuine_accounts.users.csv", usecols=["id"],
                          dtype=str, nrows=200)["id"]
    is_genuine = features["account_id"].isin(set(genuine))
    assert is_genuine.sum() == 200
    bot_score = features["bot__bot_score"]
    # 0.785 when written (the shipped model of 2026-12-07): the aim is 0.75.
    assert roc_auc_score(~is_genuine, bot_score) > 0.75
    assert bot_score[~is_genuine].mean() > bot_score[is_genuine].mean() + 0.2
    # The second run finds every text in the cache.
    for name, stats in second["cache"].items():
        assert stats["computed"] == 0, (name, stats)
    assert sum(s["computed"] for s in first["cache"].values()) > 0
    np.testing.assert_allclose(pd.read_parquet(root / "features.parquet")[values.columns],
                               values)
