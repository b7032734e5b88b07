"""The follower-app rules: the red flags a follower-management app raises.

The baseline ``followback evaluate`` sets the model against (``evaluate.rules``), and half of
the prior (:mod:`pipeline.model.prior`) that gives verdicts before your own model can learn.
pandas only at import time.
"""

from __future__ import annotations

import pandas as pd

from pipeline.core.config import RulesConfig


def rule_flags(features: pd.DataFrame, rules: RulesConfig) -> pd.DataFrame:
    """The red flags a follower-management app raises, one boolean column per criterion.

    Reads the raw counts and a few named features from the ``featurize`` table. An account is
    followed back by the rules only when it raises no flag.
    """
    followers = features["raw__followers_count"].astype("Float64").fillna(0)
    following = features["raw__following_count"].astype("Float64").fillna(0)
    ratio = (following + 1) / (followers + 1)
    has_posts = features["language__lang_no_posts"] < 0.5
    flags = pd.DataFrame(index=features.index)
    flags["ratio"] = ((followers >= rules.min_followers_for_ratio)
                      & (ratio < rules.min_ratio)).astype(bool)
    flags["bio"] = (features["bio__bio_meaningful"] < 0.5) if rules.skip_empty_bio else False
    flags["private"] = (features["raw__is_private"].fillna(False).astype(bool)
                        if rules.skip_private else False)
    read_share = features["language__lang_readable_share"]
    flags["language"] = has_posts & (read_share < rules.min_read_share)
    from pipeline.features.toxicity import flag_score  # scikit-learn: not at import time

    flags["toxicity"] = flag_score(features) > rules.max_toxicity
    flags["topic"] = has_posts & (features["topic__topic_centroid_cos"] < rules.min_relevance)
    return flags.astype(bool)
