"""Criterion "I can't tell if you're real": bot-likeness from the profile and posting behaviour.

Profile features follow BotometerLite (Yang et al., AAAI 2020) and Cresci et al. 2015: counts
per day of account age, handle length, digits and character entropy, display name against
handle, default avatar, bio length, verified, the platform's bot flag. Behaviour features come
from the account's recent posts: share of reposts, of posts with links, of near-duplicate
posts, the entropy of posting hours and the median gap between posts.

:func:`profile_features` is the single definition of the profile features. The bot-likeness
model trained by ``followback train-bot`` (:mod:`pipeline.stages.train_bot`) reads how far an
account stands out in them from the other accounts of its platform
(:mod:`pipeline.features.population`: in training the other accounts of its labelled source, in
scoring the person's followers as :class:`BotLikeness` saw them in ``fit``), so that a score
learnt on Twitter and Instagram research sets ranks Mastodon accounts the right way round.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import UTC, datetime
from difflib import SequenceMatcher
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline.core.words import counted
from pipeline.features import post_list
from pipeline.features.population import STANDOUT_COLUMNS, fit_population, standout
from pipeline.features.ratio import log_ratio

# The columns of pipeline.data.frame.account_frame that BotLikeness reads.
BOT_COLUMNS = [
    "platform", "handle", "display_name", "bio", "followers_count", "following_count",
    "posts_count", "likes_count", "listed_count", "created_at", "last_post_at", "is_verified",
    "is_bot_flagged", "has_default_avatar", "url", "posts",
]
COUNT_COLUMNS = ["posts_count", "followers_count", "following_count", "likes_count", "listed_count"]
FLAG_FEATURES = {"default_avatar": "has_default_avatar", "verified": "is_verified",
                 "bot_flagged": "is_bot_flagged"}

# Platform flags BotLikeness reads when its input holds these columns (issue 25): a group
# account (Mastodon ``group``) boosts its members and is nobody; a profile without a header
# image, like one with the default avatar, is one nobody set up. Not bot-model inputs: the
# labelled research sets do not have them.
PLATFORM_FLAGS = {"group_flagged": "is_group", "default_header": "has_default_header"}
PLATFORM_FLAG_COLUMNS = list(PLATFORM_FLAGS.values())

# Profile features, NaN where the input is missing (see profile_features).
PROFILE_FEATURES = [
    "log_age_days",
    "log_days_since_last_post",
    "log_posts_count",
    "log_followers_count",
    "log_following_count",
    "log_likes_count",
    "log_listed_count",
    "log_following_follower_ratio",
    "log_posts_per_day",
    "log_followers_per_day",
    "log_following_per_day",
    "log_likes_per_day",
    "handle_length",
    "handle_digit_share",
    "handle_entropy",
    "name_handle_similarity",
    "bio_length",
    "has_url",
    *FLAG_FEATURES,
]
# What the research users.csv tables can teach: they carry no posts, no last-post time and no
# platform bot flag, so the bot model sees the rest of the profile only.
BOT_MODEL_FEATURES = [
    f for f in PROFILE_FEATURES
    if f not in ("log_days_since_last_post", "bot_flagged")
]
# Everything a bot model may read: the profile features as they are (models up to the
# transfer work of issue 25 read these) and how far an account stands out in them.
BOT_MODEL_INPUTS = [*BOT_MODEL_FEATURES, *STANDOUT_COLUMNS]
# bot_score of an account its platform marks as automated (with platform_flag=True).
FLAGGED_SCORE = 1.0
# The follower and following counts themselves and their ratio are the "ratio" criterion
# (FollowRatio); BotLikeness leaves them out of its output so that an explanation does not
# credit one number to two criteria. They still count inside bot_score.
RATIO_OWNED = ["log_followers_count", "log_following_count", "log_following_follower_ratio"]
# Input columns whose absence gets an indicator feature ``<column>_missing``.
MISSING_INDICATORS = ["created_at", "last_post_at", *COUNT_COLUMNS, "display_name",
                      *FLAG_FEATURES.values()]
POST_FEATURES = [
    "n_posts",
    "repost_share",
    "link_share",
    "near_duplicate_share",
    "hour_entropy",
    "log_median_gap_hours",
    "no_posts",
    "few_timed_posts",
]
# Kinds that are the account's own activity; a like's time and text belong to someone else.
ACTIVITY_KINDS = ("post", "repost", "reply")
AUTHORED_KINDS = ("post", "reply")

_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
_STRIP = re.compile(r"https?://\S+|www\.\S+|@\w+|\d+")
_WORD = re.compile(r"\w+")
_TRAIN_COMMAND = "followback train-bot"
# Group likeness (pipeline.data.groups) is said in the evidence from this many followers on.
GROUP_MIN_FOLLOWERS = 20
# With ``groups=True``: set where the follower-group counts are absent or null. Missing is
# not 0: "no other follower looks like it" and "nobody counted" are different statements.
GROUP_MISSING = "group_counts_missing"


def group_counts(X: pd.DataFrame) -> pd.DataFrame:
    """The follower-group count columns of ``X`` as floats, NaN where absent or null.

    The counts are context columns (:data:`pipeline.data.frame.GROUP_COLUMNS`), computed over the
    whole follower list by whoever builds the frame; this never counts them over ``X`` itself,
    so a row's features depend on that row alone, whatever else shares its chunk.
    """
    from pipeline.data.frame import GROUP_COLUMNS

    out = pd.DataFrame(index=X.index)
    for col in GROUP_COLUMNS:
        out[col] = _floats(X[col]) if col in X.columns else np.nan
    # A count is of other followers: a negative one is bad input, not a group.
    return out.where(out >= 0)


# ---------------------------------------------------------------------------------------------
# Column helpers: contract dtypes (nullable Int64, boolean, string, UTC datetimes) -> numpy.

def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("Float64").to_numpy(
        dtype=float, na_value=np.nan)


def _flags(series: pd.Series) -> np.ndarray:
    return series.astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _texts(series: pd.Series) -> list[str | None]:
    return [None if _isna(v) else str(v) for v in series]


def _times(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")


def _isna(value: Any) -> bool:
    """True for None, NaN, NA and NaT; False for anything else, lists included."""
    if value is None:
        return True
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(missing) if np.ndim(missing) == 0 else False


def _post_time(value: Any) -> datetime | None:
    """A post's ``created_at`` (ISO text from account_frame, or a datetime) in UTC, or None.

    Plain ``datetime`` rather than pandas: a frame holds tens of thousands of post times and
    ``datetime.fromisoformat`` reads them several times faster than ``pd.Timestamp``.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    elif isinstance(value, pd.Timestamp):
        value = None if pd.isna(value) else value.to_pydatetime()
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _true(value: Any) -> bool:
    return not _isna(value) and bool(value)


def _utc(value: Any) -> pd.Timestamp:
    """Any date or time as a UTC timestamp (naive values are taken as UTC); NaT if missing."""
    if _isna(value):
        return pd.NaT
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


# ---------------------------------------------------------------------------------------------
# Profile features.

def handle_core(handle: str) -> str:
    """The part of a handle a person chose: no ``@``, no Mastodon instance, no Bluesky suffix."""
    core = handle.strip().lstrip("@").split("@")[0]
    return core.removesuffix(".bsky.social")


def char_entropy(text: str) -> float:
    """Shannon entropy in bits of the characters of ``text`` (case-insensitive); 0 if empty."""
    if not text:
        return 0.0
    counts = Counter(text.lower())
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _alnum(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def name_handle_similarity(name: str | None, handle: str | None) -> float:
    """How much the display name reads like the handle, 0..1; NaN without a display name.

    BotometerLite's name/screen-name likeness. It cuts both ways: some fakes pair a name
    with an unrelated handle, others (cresci-2017's social spambots) derive the handle from
    the generated name exactly, so the model, not this function, decides what it means.
    """
    if name is None:
        return np.nan
    a, b = _alnum(name), _alnum(handle_core(handle or ""))
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def newest_time(X: pd.DataFrame) -> pd.Timestamp:
    """The newest account creation, last-post or post time in ``X`` (NaT when there is none)."""
    stamps = []
    for col in ("created_at", "last_post_at"):
        if col in X.columns:
            stamps.append(_times(X[col]).max())
    if "posts" in X.columns:
        post_times = [t for posts in X["posts"] for _, _, t in _activity(posts, ACTIVITY_KINDS)
                      if t is not None]
        if post_times:
            stamps.append(pd.Timestamp(max(post_times)))
    stamps = [s for s in stamps if not pd.isna(s)]
    return max(stamps) if stamps else pd.NaT


def profile_features(X: pd.DataFrame, reference_time: pd.Timestamp | pd.Series) -> pd.DataFrame:
    """The profile-metadata features of each account, NaN where the input is missing.

    Parameters
    ----------
    X : DataFrame
        Account columns of the contract (at least ``handle``, ``display_name``, ``bio``, the
        counts, ``created_at``, ``last_post_at``, the flags and ``url``), and optionally
        ``posts``, whose newest post stands in for a missing ``last_post_at``.
    reference_time : Timestamp or Series of Timestamps
        "Now" for account age: one time for all accounts, or one per account (aligned with
        ``X``), e.g. when each research account was crawled.

    Returns
    -------
    DataFrame with columns :data:`PROFILE_FEATURES`, the index of ``X``.
    """
    out = pd.DataFrame(index=X.index)
    X = _with_absent_columns(X)
    if isinstance(reference_time, pd.Series):
        reference = _times(reference_time).reindex(X.index)
    else:
        reference = _utc(reference_time)
    created = _times(X["created_at"])
    # A clock skew or an account newer than the reference must not make age negative.
    age = ((reference - created) / pd.Timedelta(days=1)).astype(float).clip(lower=0)
    out["log_age_days"] = np.log1p(age.to_numpy())
    last_post = _times(X["last_post_at"])
    if "posts" in X.columns:
        # Where the platform gives no last-post time, the newest post seen is one.
        seen = pd.Series([max((t for _, _, t in _activity(p, ACTIVITY_KINDS) if t is not None),
                              default=None) for p in X["posts"]], index=X.index, dtype=object)
        last_post = last_post.fillna(_times(seen))
    since_post = ((reference - last_post) / pd.Timedelta(days=1)).astype(float)
    out["log_days_since_last_post"] = np.log1p(since_post.clip(lower=0).to_numpy())

    counts = {col: _floats(X[col]) for col in COUNT_COLUMNS}
    for col, values in counts.items():
        out[f"log_{col}"] = np.log1p(values)
    out["log_following_follower_ratio"] = log_ratio(counts["following_count"],
                                                    counts["followers_count"])
    # Rates over at least one day: an account an hour old has not posted 24 times a day.
    days = np.maximum(age.to_numpy(), 1.0)
    for col in ("posts_count", "followers_count", "following_count", "likes_count"):
        out[f"log_{col.removesuffix('_count')}_per_day"] = np.log1p(counts[col] / days)

    # A handle that is missing is not an empty handle: its features stay NaN, unless the
    # source publishes its length or digit share instead of the text (labelled research sets).
    handles = [None if h is None else handle_core(h) for h in _texts(X["handle"])]
    out["handle_length"] = _or_published(
        [np.nan if h is None else float(len(h)) for h in handles], X, "handle_length")
    out["handle_digit_share"] = _or_published(
        [np.nan if h is None else (sum(c.isdigit() for c in h) / len(h) if h else 0.0)
         for h in handles], X, "handle_digit_share")
    out["handle_entropy"] = [np.nan if h is None else char_entropy(h) for h in handles]
    out["name_handle_similarity"] = [
        np.nan if handle is None else name_handle_similarity(name, handle)
        for name, handle in zip(_texts(X["display_name"]), _texts(X["handle"]), strict=True)
    ]
    # A profile's bio field exists on every platform: no bio is an empty one (length 0). A
    # source without the column at all publishes at most the length.
    if X.attrs.get("absent_bio"):
        out["bio_length"] = _or_published([np.nan] * len(X), X, "bio_length")
    else:
        out["bio_length"] = [float(len(b.strip())) if b else 0.0 for b in _texts(X["bio"])]
    if X.attrs.get("absent_url"):
        out["has_url"] = _or_published([np.nan] * len(X), X, "has_url")
    else:
        out["has_url"] = [0.0 if u is None else 1.0 for u in _texts(X["url"])]
    for name, col in FLAG_FEATURES.items():
        out[name] = _flags(X[col])
    return out[PROFILE_FEATURES]


def _with_absent_columns(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with every input column profile_features reads; absent ones all missing.

    Labelled research sets (:mod:`pipeline.data.ingest._labelled`) publish only some fields; the
    features of the others stay NaN. ``attrs`` remember that bio and url were absent rather
    than empty, so that their features stay missing too.
    """
    needed = ["handle", "display_name", "bio", "url", "created_at", "last_post_at",
              *COUNT_COLUMNS, *FLAG_FEATURES.values()]
    absent = [c for c in needed if c not in X.columns]
    if not absent:
        return X
    X = X.copy()
    for col in absent:
        X[col] = pd.Series(pd.NA, index=X.index, dtype="object")
    X.attrs["absent_bio"] = "bio" in absent
    X.attrs["absent_url"] = "url" in absent
    return X


def _or_published(values: list[float], X: pd.DataFrame, column: str) -> np.ndarray:
    """``values``, with NaN filled from the published ``column`` where a source has one."""
    out = np.asarray(values, dtype=float)
    if column in X.columns:
        published = _floats(X[column])
        out = np.where(np.isnan(out), published, out)
    return out


def bot_model_input(profile: pd.DataFrame) -> pd.DataFrame:
    """The columns a bot model may see, from :func:`profile_features` output (and, where
    present, :func:`~pipeline.features.population.standout` output beside it).

    Missing values stay NaN, flags included: an avatar or verification a source does not
    publish is unknown, not "no" (the tree ensembles route NaN themselves). The research
    importer already reads cresci-2017's empty boolean cells as "no".
    """
    return profile[[f for f in BOT_MODEL_INPUTS if f in profile.columns]].copy()


def platform_flag_features(X: pd.DataFrame) -> pd.DataFrame:
    """:data:`PLATFORM_FLAGS` as 0/1 (0 where not known) and a ``<column>_missing`` indicator
    per flag column, in the order of :meth:`BotLikeness.get_feature_names_out`."""
    out = pd.DataFrame(index=X.index)
    flags = {name: _flags(X[col]) for name, col in PLATFORM_FLAGS.items()}
    for name, values in flags.items():
        out[name] = np.nan_to_num(values, nan=0.0)
    for name, col in PLATFORM_FLAGS.items():
        out[f"{col}_missing"] = np.isnan(flags[name]).astype(float)
    return out


# ---------------------------------------------------------------------------------------------
# Behaviour features from posts.

def _activity(posts: Any, kinds: tuple[str, ...]) -> list[tuple[str, str, datetime | None]]:
    """(kind, text, UTC time or None) of one account's posts of the given kinds."""
    out = []
    for post in post_list(posts):
        kind = post.get("kind") or "post"
        if kind not in kinds:
            continue
        out.append((kind, post.get("text") or "", _post_time(post.get("created_at"))))
    return out


def _shingles(text: str) -> frozenset[str]:
    # Links, mentions and numbers are what templated spam varies between copies.
    return frozenset(_WORD.findall(_STRIP.sub(" ", text.lower())))


def near_duplicate_share(texts: list[str], threshold: float = 0.8) -> float:
    """Share of texts whose word set overlaps another's by at least ``threshold`` (Jaccard)."""
    sets = [s for s in (_shingles(t) for t in texts) if s]
    if len(sets) < 2:
        return 0.0
    duplicate = [False] * len(sets)
    sizes = [len(s) for s in sets]
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            # Jaccard can reach the threshold only if the smaller set is big enough.
            if (duplicate[i] and duplicate[j]) or (
                    min(sizes[i], sizes[j]) < threshold * max(sizes[i], sizes[j])):
                continue
            if len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= threshold:
                duplicate[i] = duplicate[j] = True
    return sum(duplicate) / len(sets)


def hour_entropy(times: list[datetime]) -> float:
    """Shannon entropy in bits of the UTC posting hours (0..log2 24): bots post round the clock."""
    counts = Counter(t.hour for t in times)
    n = len(times)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def post_features(posts: pd.Series, duplicate_threshold: float = 0.8) -> pd.DataFrame:
    """Behaviour features from each account's ``posts`` list (see :data:`POST_FEATURES`).

    Shares are 0 and ``no_posts`` is 1 for an account without posts; timing features are 0 and
    ``few_timed_posts`` is 1 with fewer than two dated posts.
    """
    rows = []
    for value in posts:
        activity = _activity(value, ACTIVITY_KINDS)
        n = len(activity)
        authored = [text for kind, text, _ in activity if kind in AUTHORED_KINDS]
        times = sorted(t for _, _, t in activity if t is not None)
        gaps = np.diff([t.timestamp() for t in times]) / 3600 if len(times) > 1 else []
        rows.append({
            "n_posts": float(n),
            "repost_share": sum(k == "repost" for k, _, _ in activity) / n if n else 0.0,
            "link_share": sum(bool(_LINK.search(t)) for _, t, _ in activity) / n if n else 0.0,
            "near_duplicate_share": near_duplicate_share(authored, duplicate_threshold),
            "hour_entropy": hour_entropy(times) if len(times) > 1 else 0.0,
            "log_median_gap_hours": float(np.log1p(np.median(gaps))) if len(gaps) else 0.0,
            "no_posts": float(n == 0),
            "few_timed_posts": float(len(times) < 2),
        })
    return pd.DataFrame(rows, index=posts.index, columns=POST_FEATURES, dtype=float)


# ---------------------------------------------------------------------------------------------
# The trained bot model.

def load_bot_model(path: str | Path):
    """Load the bot-likeness model saved by ``followback train-bot``, trusting only its own types.

    skops refuses types it does not know; this accepts those from scikit-learn and numpy
    only, so a model file that smuggles in anything else is refused rather than run.
    """
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"bot-likeness model not found: {path}. Create it with `{_TRAIN_COMMAND}` "
            "(or set features.bot.model_path: null in params.yaml to go without bot_score)"
        )
    untrusted = sio.get_untrusted_types(file=path)
    foreign = [t for t in untrusted if not t.startswith(("sklearn.", "numpy."))]
    if foreign:
        raise ValueError(f"{path} holds types other than scikit-learn's and numpy's, "
                         f"refusing to load it: {foreign}")
    model = sio.load(path, trusted=untrusted)
    features = list(getattr(model, "feature_names_in_", []))
    unknown = sorted(set(features) - set(PROFILE_FEATURES) - set(STANDOUT_COLUMNS))
    if not features or unknown:
        raise ValueError(
            f"{path} was not trained on this version's profile features "
            f"({'unknown: ' + ', '.join(unknown) if unknown else 'no feature names'}); "
            f"retrain it with `{_TRAIN_COMMAND}`"
        )
    return model


def bot_scores(model, profile: pd.DataFrame, stand: pd.DataFrame | None = None) -> np.ndarray:
    """Probability of "bot" from the bot model, for :func:`profile_features` output and, for
    a model that reads them, the standouts (:func:`~pipeline.features.population.standout`)."""
    X = profile if stand is None else pd.concat([profile, stand], axis=1)
    missing = [f for f in model.feature_names_in_ if f not in X.columns]
    if missing:
        raise ValueError(f"the bot model reads {', '.join(missing)}, which were not computed")
    X = bot_model_input(X)[list(model.feature_names_in_)]
    return model.predict_proba(X)[:, list(model.classes_).index(1)]


def uses_population(model) -> bool:
    """True for a bot model that reads standouts, which need the fitted population."""
    return bool(set(model.feature_names_in_) & set(STANDOUT_COLUMNS))


# ---------------------------------------------------------------------------------------------

class BotLikeness(TransformerMixin, BaseEstimator):
    """Bot-likeness features from profile metadata and posts, plus an optional model score.

    Takes a DataFrame with the columns :data:`BOT_COLUMNS` of
    :func:`pipeline.data.frame.account_frame`. Outputs finite floats: each profile feature that can
    be missing becomes 0 where it is, and an indicator ``<column>_missing`` says so. The
    follower and following counts and their ratio are left to
    :class:`~pipeline.features.ratio.FollowRatio`; the per-day rates stay here.

    Parameters
    ----------
    model_path : str or None, default=None
        The skops file written by ``followback train-bot``. When set, the output gains
        ``bot_score``: the model's probability that the account is a bot, computed from the
        profile features only (the labelled research data it learns from have no posts), as
        how far the account stands out from the accounts of its platform seen in ``fit``
        (:mod:`pipeline.features.population`). The model loads on first use and is never
        part of a pickle of this transformer.
    reference_time : str, datetime or None, default=None
        "Now" for account age and rates per day. None takes the newest account creation,
        last-post or post time seen in ``fit``, so that the same data give the same features
        on any day (the wall clock would not). Accounts created after it have age 0.
    duplicate_threshold : float, default=0.8
        Two posts are near-duplicates when their word sets (without links, mentions and
        numbers) overlap at least this much (Jaccard index).
    groups : bool, default=True
        Add the follower-group counts (:data:`pipeline.data.frame.GROUP_COLUMNS`, how many of the
        person's other followers were created the same week, have a near-identical bio, ...)
        as features, ``log1p`` of each count, and ``group_counts_missing``, 1 where the frame
        lacks the counts or they are null (the count features are 0 there). The counts are
        read from the input's columns, never computed over the rows at hand: score, explain
        and training compute them over the whole follower list (:mod:`pipeline.data.groups`).
    platform_flag : bool, default=True
        An account its platform marks as automated (Mastodon's and Bluesky's ``bot``, i.e.
        ``is_bot_flagged``) gets ``bot_score`` 1: the account says so itself. False leaves
        ``bot_score`` to the model (the flag is an output feature either way).

    Attributes
    ----------
    reference_time_ : str or None
        The reference time used for account age, ISO 8601 in UTC (None if ``fit`` saw no
        times, which leaves every age missing). Kept as text so that skops, which MLflow
        uses to save the pipeline, can store it.
    bot_model_features_ : list of str
        Profile features ``bot_score`` is computed from (only with ``model_path``).
    population_ : dict
        The accounts seen in ``fit`` as a population per platform (and all together): for
        each profile feature of :data:`~pipeline.features.population.RELATIVE_FEATURES`, the
        median and quantiles of the distances to it (see
        :func:`~pipeline.features.population.fit_population`). ``bot_score`` ranks an account
        among them, so that it depends on the account and this population alone.
    platform_flags_ : bool
        Whether ``fit`` saw :data:`PLATFORM_FLAG_COLUMNS` (``is_group``,
        ``has_default_header``); then the output holds ``group_flagged``, ``default_header``
        (0 where unknown) and their ``<column>_missing`` indicators. A model fitted before
        they existed lacks the attribute: no such features.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import pandas as pd
    >>> from pipeline.data.frame import account_frame
    >>> X = account_frame(pd.DataFrame({
    ...     "platform": ["mastodon"] * 2, "account_id": ["1", "2"],
    ...     "handle": ["maya_bakes", "xk2938471"], "following_count": [180, 4000],
    ...     "created_at": ["2019-03-01T00:00:00Z", "2024-05-17T00:00:00Z"],
    ... }))
    >>> bot = BotLikeness().fit(X)
    >>> bot.reference_time_
    '2024-05-17T00:00:00+00:00'
    >>> bot.evidence(X)["evidence"].tolist()[1]
    'account 0 days old; follows 4,000 (4,000 a day); no posts seen'
    """

    def __init__(
        self,
        model_path: str | None = None,
        reference_time: str | datetime | None = None,
        duplicate_threshold: float = 0.8,
        groups: bool = True,
        platform_flag: bool = True,
    ) -> None:
        self.model_path = model_path
        self.reference_time = reference_time
        self.duplicate_threshold = duplicate_threshold
        self.groups = groups
        self.platform_flag = platform_flag

    # The loaded model is a cache, not state: __getstate__ drops it and it reloads on first use.
    @cached_property
    def _bot_model(self):
        return load_bot_model(self.model_path)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        # Weights stay in the model file (they are data, and the file carries their provenance);
        # a pickled or MLflow-logged pipeline reloads them from model_path on first use.
        state.pop("_bot_model", None)
        return state

    def _check_frame(self, X, reset: bool) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "BotLikeness needs a DataFrame with the columns of "
                "pipeline.data.frame.account_frame "
                f"({', '.join(BOT_COLUMNS)}), got {type(X).__name__}"
            )
        missing = [c for c in BOT_COLUMNS if c not in X.columns]
        if missing:
            raise ValueError(f"BotLikeness is missing input columns: {', '.join(missing)}")
        if self.groups:
            from pipeline.data.frame import GROUP_COLUMNS

            absent = [c for c in GROUP_COLUMNS if c not in X.columns]
            if absent:
                # Counts nobody computed are missing, and read as such (GROUP_MISSING).
                X = X.assign(**{c: pd.Series(pd.NA, index=X.index, dtype="Int64")
                                for c in absent})
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    def fit(self, X: pd.DataFrame, y=None) -> BotLikeness:
        """Fix the reference time and the population; with ``model_path``, load the bot model.

        The population (``population_``) is every account of ``X``: fit on the whole
        follower list (featurize) or on the decided followers (train), once, so that scoring
        any number of accounts later ranks each against the same population.

        Parameters
        ----------
        X : DataFrame with the columns :data:`BOT_COLUMNS`
        y : None
            Ignored.

        Returns
        -------
        self : BotLikeness
        """
        if not 0 < self.duplicate_threshold <= 1:
            raise ValueError(
                f"duplicate_threshold must be in (0, 1], got {self.duplicate_threshold!r}")
        X = self._check_frame(X, reset=True)
        self.platform_flags_ = set(PLATFORM_FLAG_COLUMNS) <= set(X.columns)
        reference = (_utc(self.reference_time) if self.reference_time is not None
                     else newest_time(X))
        self.reference_time_ = None if pd.isna(reference) else reference.isoformat()
        self.population_ = fit_population(profile_features(X, _utc(self.reference_time_)),
                                          X["platform"].astype(str).to_numpy())
        # A changed model_path between fits must not reuse the previous model.
        self.__dict__.pop("_bot_model", None)
        if self.model_path is not None:
            self.bot_model_features_ = list(self._bot_model.feature_names_in_)
        return self

    def _features(self, X: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray | None]:
        check_is_fitted(self, "reference_time_")
        X = self._check_frame(X, reset=False)
        profile = profile_features(X, _utc(self.reference_time_))
        posts = post_features(X["posts"], self.duplicate_threshold)
        score = None
        if self.model_path is not None:
            model = self._bot_model
            stand = None
            if uses_population(model):
                if not hasattr(self, "population_"):
                    raise ValueError(
                        f"{self.model_path} ranks accounts among the followers seen in fit, "
                        "and this BotLikeness was fitted by an earlier version that kept no "
                        "population: fit it again (followback train)")
                stand = standout(profile, X["platform"].astype(str).to_numpy(),
                                 self.population_)
            score = bot_scores(model, profile, stand)
            if self.platform_flag:
                flagged = _flags(X["is_bot_flagged"]) == 1
                score = np.where(flagged, np.maximum(score, FLAGGED_SCORE), score)
        return profile, posts, score

    def _group_part(self, X: pd.DataFrame) -> pd.DataFrame:
        counts = group_counts(X)
        out = np.log1p(counts.fillna(0.0))
        out[GROUP_MISSING] = counts.isna().any(axis=1).to_numpy(dtype=float)
        return out

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Profile and behaviour features, missing indicators and ``bot_score``.

        Parameters
        ----------
        X : DataFrame with the columns :data:`BOT_COLUMNS`

        Returns
        -------
        ndarray of shape (n_samples, len(get_feature_names_out()))
            Finite floats.
        """
        profile, posts, score = self._features(X)
        own = profile.drop(columns=RATIO_OWNED)
        # Flags read as "no" where missing: the indicator below keeps "unknown" apart.
        parts = [own.fillna(0.0), posts]
        missing = {f"{col}_missing": X[col].isna().to_numpy(dtype=float)
                   for col in MISSING_INDICATORS}
        # Age needs a reference time too, and the last post may come from the posts list.
        missing["created_at_missing"] = profile["log_age_days"].isna().to_numpy(dtype=float)
        missing["last_post_at_missing"] = (
            profile["log_days_since_last_post"].isna().to_numpy(dtype=float))
        parts.append(pd.DataFrame(missing, index=X.index))
        if getattr(self, "platform_flags_", False):
            parts.append(platform_flag_features(X))
        if self.groups:
            parts.append(self._group_part(X))
        if score is not None:
            parts.append(pd.DataFrame({"bot_score": score}, index=X.index))
        out = pd.concat(parts, axis=1).to_numpy(dtype=float)
        # Indicators above cover every NaN; anything left is a bug, not data.
        assert np.isfinite(out).all(), "BotLikeness produced a non-finite feature"
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output columns.

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn's API; the output names do not depend on it.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "reference_time_")
        names = [f for f in PROFILE_FEATURES if f not in RATIO_OWNED]
        names += POST_FEATURES
        names += [f"{col}_missing" for col in MISSING_INDICATORS]
        if getattr(self, "platform_flags_", False):
            names += [*PLATFORM_FLAGS, *[f"{col}_missing" for col in PLATFORM_FLAG_COLUMNS]]
        if self.groups:
            from pipeline.data.frame import GROUP_COLUMNS

            names += [*GROUP_COLUMNS, GROUP_MISSING]
        if self.model_path is not None:
            names.append("bot_score")
        return np.asarray(names, dtype=object)

    def evidence(self, X: pd.DataFrame) -> pd.DataFrame:
        """Human-readable evidence per account, for the explanations.

        Parameters
        ----------
        X : DataFrame with the columns :data:`BOT_COLUMNS`
            It may hold more (the whole account frame): the ones seen in ``fit`` are read.

        Returns
        -------
        DataFrame
            One row per account (index of ``X``): ``account_age_days``, ``default_avatar``,
            ``following_count``, ``following_per_day``, ``near_duplicate_share``,
            ``bot_score`` (NaN without a model) and ``evidence``, e.g. "account 14 days old;
            default avatar; follows 4,000 (286 a day); no posts seen; bot score 0.91".
        """
        from pipeline.data.frame import GROUP_COLUMNS

        given = (X[GROUP_COLUMNS] if isinstance(X, pd.DataFrame)
                 and set(GROUP_COLUMNS) <= set(X.columns) else None)
        if isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            # Explanations may hand over the whole account frame: read the fitted columns.
            X = X[[c for c in self.feature_names_in_ if c in X.columns]]
        profile, posts, score = self._features(X)
        age = np.expm1(profile["log_age_days"])
        following = _floats(X["following_count"])
        per_day = following / np.maximum(age.fillna(np.inf).to_numpy(), 1.0)
        per_day[np.isnan(following) | age.isna().to_numpy()] = np.nan
        out = pd.DataFrame({
            "account_age_days": age.round(1),
            "default_avatar": X["has_default_avatar"].astype("boolean"),
            "following_count": X["following_count"].astype("Int64"),
            "following_per_day": per_day,
            "near_duplicate_share": posts["near_duplicate_share"].where(posts["no_posts"] == 0),
            "bot_score": np.nan if score is None else score,
        }, index=X.index)
        # Followers that act together: only the whole follower list shows them.
        # score and explain give the counts over the whole follower list as columns
        # (pipeline.data.frame.GROUP_COLUMNS); a frame without them is taken as the whole list.
        out["group"] = None
        from pipeline.data.groups import group_features, group_sentence

        if given is not None and given.notna().any().any():
            out["group"] = [None if g.isna().all() else group_sentence(g.fillna(0))
                            for _, g in given.iterrows()]
        elif len(X) >= GROUP_MIN_FOLLOWERS:  # library use: the frame is the whole list
            out["group"] = [group_sentence(g) for _, g in group_features(X).iterrows()]
        absent = pd.Series(pd.NA, index=X.index, dtype="boolean")
        group_flag = X["is_group"] if "is_group" in X.columns else absent
        no_header = X["has_default_header"] if "has_default_header" in X.columns else absent
        out["evidence"] = [
            _bot_sentence(row, flagged, verified, n_posts, reposts, group, is_group, header)
            for row, flagged, verified, n_posts, reposts, group, is_group, header in zip(
                out.itertuples(), X["is_bot_flagged"], X["is_verified"],
                posts["n_posts"], posts["repost_share"], out["group"], group_flag,
                no_header, strict=True)
        ]
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


def _bot_sentence(row, flagged, verified, n_posts: float, repost_share: float,
                  group: str | None = None, is_group=None, default_header=None) -> str:
    """The bot evidence in the person's words, the strongest signals first and the model's
    score last: "account 9 days old; follows 4,000 (444 a day); no posts seen; one of 37
    followers created the same week with a near-identical bio; bot score 0.93"."""
    first, later = [], []
    if _true(flagged):
        first.append("marked as a bot by the platform")
    if _true(is_group):
        first.append("a group account, not a person")
    if pd.isna(row.account_age_days):
        later.append("account age unknown")
    else:
        # A young account is a signal; an old one only context, said after the signals.
        (first if row.account_age_days < 365 else later).append(
            f"account {counted(row.account_age_days, 'day')} old")
    if _true(row.default_avatar):
        first.append("default avatar")
    if _true(default_header):
        later.append("no header image")
    if not pd.isna(row.following_count):
        text = f"follows {row.following_count:,}"
        # A rate below one a day says nothing a person would notice.
        if not pd.isna(row.following_per_day) and row.following_per_day >= 1:
            text += f" ({row.following_per_day:,.0f} a day)"
        (first if row.following_count >= 1000 else later).append(text)
    if n_posts == 0:
        first.append("no posts seen")
    else:
        if row.near_duplicate_share > 0:
            first.append(f"{row.near_duplicate_share:.0%} of its posts are near-duplicates")
        if repost_share >= 0.5:
            first.append(f"{repost_share:.0%} reposts")
    if isinstance(group, str) and group:
        first.append(group)
    if _true(verified):
        later.append("verified")
    parts = first + later
    if not pd.isna(row.bot_score):
        parts.append(f"bot score {row.bot_score:.2f}")
    return "; ".join(parts)
