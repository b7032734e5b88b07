"""The six criteria composed into one feature transformer, and the whole model into one Pipeline.

``build_model`` returns a scikit-learn Pipeline that takes the raw account frame
(:func:`pipeline.data.frame.account_frame`) and predicts follow-back, so the one object that MLflow
logs scores accounts from any importer. Each ColumnTransformer step is named after its criterion;
:func:`criterion_of` maps an output feature name (``bio__bio_emb_3``) back to its criterion, which
is what the explanations and the importance-by-criterion plot sum over.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from pipeline.core.config import Config
from pipeline.data import io
from pipeline.data.frame import GROUP_COLUMNS

# The reasons are said in the person's voice, to the follower: "I can't read your posts".

# Criterion -> the person's own words for a reason against following back, said where the
# account has the red flag the words name (pipeline.model.reasons.red_flags).
CRITERIA: dict[str, str] = {
    "bot": "I can't tell if you're real",
    "language": "I can't read your posts",
    "bio": "your bio doesn't say who you are",
    "ratio": "you rarely follow back",
    "toxicity": "your posts look offensive",
    "topic": "your posts aren't about my interests",
}

# The same criteria, said the other way round: a reason for following back.
CRITERIA_POSITIVE: dict[str, str] = {
    "bot": "you look like a real person",
    "language": "I can read your posts",
    "bio": "your bio says who you are",
    "ratio": "you follow people back",
    "toxicity": "your posts are civil",
    "topic": "your posts match my interests",
}

# The criterion itself (a noun phrase, also the label of its bar in the report), for a push
# the words above would misstate: the model learnt from the person's decisions that a bio like
# this one counts against, though the bio says something. Said as "your bio makes me less
# likely to follow back"; CRITERIA_NEUTRAL_PLURAL gives the verb its number.
CRITERIA_NEUTRAL: dict[str, str] = {
    "bot": "your profile and posting pattern",
    "language": "the languages you write in",
    "bio": "your bio",
    "ratio": "your follower numbers",
    "toxicity": "the tone of your posts",
    "topic": "what you post about",
}
CRITERIA_NEUTRAL_PLURAL: dict[str, bool] = {
    "bot": True, "language": True, "bio": False, "ratio": True, "toxicity": False,
    "topic": False,
}

BOT_COLUMNS = [
    "platform", "handle", "display_name", "bio", "followers_count", "following_count",
    "posts_count", "likes_count", "listed_count", "created_at", "last_post_at", "is_verified",
    "is_bot_flagged", "has_default_avatar", "url", "posts",
]
RATIO_COLUMNS = [
    "followers_count", "following_count", "times_followed_back",
    "times_unfollowed_after_followback",
]
LANGUAGE_COLUMNS = ["bio", "posts", "is_private"]
# What the profile says besides the bio (pipeline.features.bio.PROFILE_COLUMNS): "does it say
# who it is?" is the bio criterion's question.
BIO_COLUMNS = ["bio", "fields_count", "verified_links_count", "is_local", "is_discoverable",
               "is_indexable"]
# An account's posts, and its bio: what it says it is about (issue 25).
TOPIC_COLUMNS = ["posts", "bio"]
# The platform's flags of a group account and of a profile without a header image: "is it
# real?" (pipeline.features.bot.PLATFORM_FLAG_COLUMNS).
BOT_FLAG_COLUMNS = ["is_group", "has_default_header"]


def build_features(cfg: Config, own_posts: list[str]) -> ColumnTransformer:
    """The six extractors side by side, configured from ``params.yaml``."""
    from pipeline.features.bio import BioEmbedding
    from pipeline.features.bot import BotLikeness
    from pipeline.features.language import Readability
    from pipeline.features.ratio import FollowRatio
    from pipeline.features.topic import TopicSimilarity
    from pipeline.features.toxicity import Toxicity

    f = cfg.features
    for path in (f.bot.model_path, f.toxicity.model_path):
        if path:  # a model file whose sidecar commit a kill left half done
            io.recover(path)
    cache_dir = str(cfg.base.cache_dir) if cfg.base.cache_dir else None
    embed = dict(model=f.embed.model, device=f.embed.device, batch_size=f.embed.batch_size,
                 cache_dir=cache_dir, backend=f.embed.backend)
    bot_model = str(f.bot.model_path) if f.bot.model_path else None
    # The follower-group counts come in as context columns, computed over the whole follower
    # list (pipeline.data.frame.follower_groups), and only the bot criterion reads them.
    bot_columns = [*BOT_COLUMNS, *BOT_FLAG_COLUMNS] if f.profile else list(BOT_COLUMNS)
    if f.bot.groups:
        bot_columns += GROUP_COLUMNS
    return ColumnTransformer(
        [
            ("bot", BotLikeness(model_path=bot_model, groups=f.bot.groups), bot_columns),
            ("ratio", FollowRatio(), RATIO_COLUMNS),
            ("bio", BioEmbedding(n_components=f.embed.n_components, **embed),
             BIO_COLUMNS if f.profile else "bio"),
            ("language", Readability(languages=list(cfg.user.languages),
                                     candidates=list(f.language.candidates),
                                     min_confidence=f.language.min_confidence,
                                     use_tags=f.language.use_tags, pool=f.language.pool,
                                     cache_dir=cache_dir), LANGUAGE_COLUMNS),
            ("topic", TopicSimilarity(own_posts=list(own_posts), n_clusters=f.n_clusters,
                                      random_state=cfg.base.seed, **embed),
             TOPIC_COLUMNS if f.bio_topic else "posts"),
            ("toxicity", Toxicity(backend=f.toxicity.backend, model_type=f.toxicity.model_type,
                                  checkpoint=_str(f.toxicity.checkpoint),
                                  base_model_dir=_str(f.toxicity.base_model_dir),
                                  model_path=_str(f.toxicity.model_path),
                                  cache_dir=cache_dir), "posts"),
        ],
        remainder="drop",
        verbose_feature_names_out=True,
    )


def build_classifier(cfg: Config):
    """The classifier named in ``train.classifier``, weighted for class imbalance."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    t = cfg.train
    seed = cfg.base.seed
    if t.classifier == "logreg":
        return Pipeline([
            ("scale", StandardScaler()),
            ("logreg", LogisticRegression(C=t.logreg_C, class_weight=t.class_weight,
                                          max_iter=2000, random_state=seed)),
        ])
    if t.classifier == "hgb":
        return HistGradientBoostingClassifier(
            learning_rate=t.hgb_learning_rate, max_iter=t.hgb_max_iter,
            class_weight=t.class_weight, random_state=seed, early_stopping=False,
        )
    return RandomForestClassifier(
        n_estimators=t.forest_n_estimators, class_weight=t.class_weight, min_samples_leaf=2,
        random_state=seed, n_jobs=1,
    )


def build_model(cfg: Config, own_posts: list[str], threshold: float = 0.5) -> Pipeline:
    """Features and calibrated classifier as one Pipeline with a stored decision threshold."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import FixedThresholdClassifier

    clf = build_classifier(cfg)
    if cfg.train.calibration:
        clf = CalibratedClassifierCV(clf, method=cfg.train.calibration, cv=3)
    from pipeline.features.precision import RoundFeatures

    # "round": the same fixed precision in training and scoring, so float noise far below it
    # cannot move an account across a bin edge (see pipeline.features.precision).
    return Pipeline([
        ("features", build_features(cfg, own_posts)),
        ("round", RoundFeatures()),
        ("clf", FixedThresholdClassifier(clf, threshold=threshold,
                                         response_method="predict_proba")),
    ])


def criterion_of(feature_name: str) -> str:
    """``bio__bio_emb_3`` -> ``bio``: the criterion an output feature belongs to."""
    return feature_name.split("__", 1)[0]


def _str(value) -> str | None:
    return None if value is None else str(value)
