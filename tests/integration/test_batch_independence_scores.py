"""Issue 13 section 1 end to end: the real model gives an account the same probability in any
chunk, `score --chunk-size` does not change the scores file, and `explain` agrees with it."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import load_config
from pipeline.data.frame import (
    follower_groups,
    ingested_account,
    ingested_frame,
    ingested_groups,
    with_groups,
)
from pipeline.data.scores import read_scores
from tests.integration.conftest import invoke

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cfg(trained_project):
    os.chdir(trained_project)
    return load_config(trained_project / "params.yaml")


@pytest.fixture(scope="module")
def model_and_frame(cfg):
    from pipeline.model import tracking

    model, _ = tracking.load_model(cfg, str(cfg.train.model_dir))
    accounts = pd.read_parquet(cfg.ingest.out_dir / "accounts.parquet")
    frame = ingested_frame(cfg, accounts["account_id"].astype(str).tolist())
    # The follower-group counts are context columns over the whole list (as score gives
    # them); what must not depend on the chunk is everything computed from them.
    frame = with_groups(frame, follower_groups(frame))
    return model.pipeline, frame.reset_index(drop=True)


def test_features_and_probabilities_do_not_depend_on_the_chunk(model_and_frame):
    model, frame = model_and_frame
    whole_features = np.asarray(model[:-1].transform(frame))
    whole = model.predict_proba(frame)[:, 1]
    rng = np.random.default_rng(13)
    for _ in range(3):  # seeded random permutations and chunkings
        order = rng.permutation(len(frame))
        cuts = np.sort(rng.choice(np.arange(1, len(frame)), size=rng.integers(1, 6),
                                  replace=False))
        features = np.empty_like(whole_features)
        probability = np.empty_like(whole)
        for part in np.split(order, cuts):
            chunk = frame.iloc[part]
            features[part] = model[:-1].transform(chunk)
            probability[part] = model.predict_proba(chunk)[:, 1]
        assert np.array_equal(features, whole_features)
        assert np.array_equal(probability, whole)


def test_chunk_size_does_not_change_the_scores_and_explain_agrees(cfg, cli_runner,
                                                                   trained_project):
    from pipeline.model import pyfunc, tracking

    small, large = trained_project / "scores_37.csv", trained_project / "scores_100.csv"
    invoke(cli_runner, "score", "--model", str(cfg.train.model_dir), "--chunk-size", "37",
           "--out", str(small))
    invoke(cli_runner, "score", "--model", str(cfg.train.model_dir), "--chunk-size", "100",
           "--out", str(large))
    assert small.read_bytes() == large.read_bytes()

    scores = read_scores(small).set_index("handle")
    model, _ = tracking.load_model(cfg, str(cfg.train.model_dir))
    for handle in scores.index[:: max(1, len(scores) // 12)]:
        # What `followback explain HANDLE` computes: the model's predict on one account,
        # with its follower-group counts over every ingested account.
        frame = with_groups(ingested_account(cfg, handle),
                            ingested_groups(cfg)).reset_index(drop=True)
        row = model.predict(None, frame, params=pyfunc.params_of(cfg)).iloc[0]
        assert round(float(row["probability"]), 4) == scores.loc[handle, "probability"], handle
