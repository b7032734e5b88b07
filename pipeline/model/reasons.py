"""What a verdict says in words: the verdict bands, the allow and never-follow lists, the red
flags, each criterion's evidence sentence and the top reasons of every account.

:func:`explain_frame` turns a fitted model and a frame of accounts into the rows that
``followback score`` writes: probability, threshold, verdict, override, reason_1..3 and the
contribution of each criterion (:mod:`pipeline.model.attribution`). The evidence comes from
each extractor's ``evidence(X)`` ("follows 12, followed by 5,400: ratio 0.002", "27 of 30 posts
in Russian", "max toxicity 0.93 in a post of 2026-03-02").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.config import RulesConfig, UserConfig
from pipeline.core.console import FollowbackError
from pipeline.core.words import counted
from pipeline.features.toxicity import flag_score
from pipeline.model.attribution import (
    CRITERION_ORDER,
    attribute,
    contrib_column,
    feature_matrix,
)
from pipeline.model.compose import (
    CRITERIA,
    CRITERIA_NEUTRAL,
    CRITERIA_NEUTRAL_PLURAL,
    CRITERIA_POSITIVE,
)

FOLLOW, SKIP, REVIEW = "follow back", "skip", "review"
VERDICTS = (FOLLOW, REVIEW, SKIP)
ALLOW, NEVER = "allow list", "never-follow list"
N_REASONS = 3
# Contributions smaller than this (log-odds; about one percentage point near p = 0.5) are
# noise, not a reason worth telling the person.
MIN_REASON = 0.05


# --------------------------------------------------------------------------- evidence


def text_or_none(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _date(value: Any) -> str | None:
    text = text_or_none(value)
    return None if text is None else text[:10]


def _bio_sentence(row: pd.Series) -> str | None:
    text = _bio_text(row)
    profile = text_or_none(row.get("profile"))  # fields, verified links, server (issue 25)
    if profile is None:
        return text
    return profile if text is None else f"{text}; {profile}"


def _bio_text(row: pd.Series) -> str | None:
    status = text_or_none(row.get("bio_status"))
    bio = text_or_none(row.get("bio"))
    if status == "empty" or (status is None and bio is None):
        return "empty bio"
    if status and status != "says something":
        text = f'bio holds {status}: "{_short(bio or "", 60)}"'
    elif bio:
        text = f'bio: "{_short(bio or "", 60)}"'
    else:
        return None
    n, followed = row.get("similar_decided"), row.get("similar_followed")
    if n is not None and not pd.isna(n) and int(n) > 0:
        followed = 0 if followed is None or pd.isna(followed) else int(followed)
        if int(n) == 1:
            text += ("; I followed back the one bio like it I decided on" if followed else
                     "; I did not follow back the one bio like it I decided on")
        else:
            text += (f"; of the {int(n)} bios I decided on most like it, I followed back "
                     f"{followed}")
    return text


# What the platform calls each kind of text, as the evidence names the most toxic one.
_KIND_WORDS = {"post": "a post", "repost": "a repost", "reply": "a reply",
               "like": "a liked post"}


def _toxicity_sentence(row: pd.Series) -> str | None:
    n = row.get("n_texts")
    if n is None or pd.isna(n) or int(n) == 0:
        return "no texts to judge"
    score = float(row.get("max_score") or 0.0)
    text = f"max toxicity {score:.2f}"
    meaning = text_or_none(row.get("score_meaning"))
    if meaning:
        text += f" ({meaning})"
    date = _date(row.get("most_toxic_date"))
    kind = text_or_none(row.get("most_toxic_kind")) or "post"
    words = _KIND_WORDS.get(kind, f"a {kind}")
    text += f" in {words} of {date}" if date else f" in {words}"
    labels = text_or_none(row.get("labels"))
    if labels:
        text += f"; in it: {labels}"
    n_toxic = row.get("n_toxic")
    if n_toxic is not None and not pd.isna(n_toxic):
        text += f"; {int(n_toxic)} of {counted(int(n), 'text')} toxic"
    return text


def _topic_sentence(row: pd.Series) -> str | None:
    n = row.get("n_posts")
    bio = row.get("bio_similarity")
    bio_text = (None if bio is None or pd.isna(bio)
                else f"bio similarity {float(bio):.2f} to my posts")
    if n is None or pd.isna(n) or int(n) == 0:
        return f"no posts to compare with mine; {bio_text}" if bio_text else \
            "no posts to compare with mine"
    text = (f"similarity {float(row.get('similarity') or 0):.2f} to my posts over "
            f"{counted(int(n), 'post')}")
    if bio_text:
        text += f"; {bio_text}"
    post = text_or_none(row.get("most_relevant_post"))
    if post:
        text += f'; closest: "{_short(post, 60)}"'
    return text


_SENTENCES: dict[str, Callable[[pd.Series], str | None]] = {
    "bio": _bio_sentence,
    "toxicity": _toxicity_sentence,
    "topic": _topic_sentence,
}


def evidence_sentences(criterion: str, table: pd.DataFrame) -> list[str | None]:
    """One sentence per row of an extractor's ``evidence`` frame.

    A ready sentence column (``evidence`` or ``summary``) is used as it is; the bio, toxicity
    and topic extractors give columns that are phrased here; anything else is listed as
    ``name value`` pairs.
    """
    for column in ("evidence", "summary"):
        if column in table.columns:
            return [text_or_none(v) for v in table[column]]
    maker = _SENTENCES.get(criterion)
    if maker is not None:
        return [maker(row) for _, row in table.iterrows()]
    out = []
    for _, row in table.iterrows():
        parts = [f"{k} {v}" for k, v in row.items() if text_or_none(v) is not None]
        out.append("; ".join(parts) or None)
    return out


def evidence(model, frame: pd.DataFrame, rows: dict[str, np.ndarray] | None = None
             ) -> pd.DataFrame:
    """Evidence sentences per account and criterion (None where an extractor gives none).

    ``rows``: criterion -> the positions of the accounts whose reasons name it; only those
    get that criterion's evidence (the others None). Each extractor's evidence of an account
    reads that account alone, so the sentences are the same as over the whole frame (a
    frame without the follower-group counts is the exception: the bot criterion then counts
    groups within the frame, so it always gets the whole frame).
    """
    from pipeline.data.frame import GROUP_COLUMNS

    features = model.named_steps["features"] if hasattr(model, "named_steps") else model[0]
    out = pd.DataFrame(index=frame.index, columns=CRITERION_ORDER, dtype=object)
    for name, transformer, columns in features.transformers_:
        if name not in out.columns or not hasattr(transformer, "evidence"):
            continue
        given = frame[columns]
        subset = None if rows is None else np.asarray(rows.get(name, []), dtype=int)
        if name == "bot":
            # The follower-group counts over the whole list travel beside the bot columns.
            given = frame[[*columns, *[c for c in GROUP_COLUMNS
                                       if c in frame.columns and c not in columns]]]
            counted = [c for c in GROUP_COLUMNS if c in given.columns]
            if not counted or given[counted].isna().all().all():
                subset = None
        if subset is None:
            table = transformer.evidence(given)
            out[name] = evidence_sentences(name, table.reset_index(drop=True))
        elif len(subset):
            table = transformer.evidence(given.iloc[subset])
            column = out.columns.get_loc(name)
            out.iloc[subset, column] = evidence_sentences(name, table.reset_index(drop=True))
    return out


# --------------------------------------------------------------------------- verdicts


def review_band(threshold: float, margin: float) -> tuple[float, float]:
    """The probabilities ``[low, high)`` that get ``review``: ``margin`` either side of the
    threshold, but never more than half the room on a side, so that ``skip`` and ``follow
    back`` both stay possible. A small model's F1-best threshold can be 0.1 or lower; a plain
    0.1 margin would then send every account below it to review and none to skip."""
    low = threshold - min(margin, threshold / 2)
    high = threshold + min(margin, (1 - threshold) / 2)
    return low, high


def verdict(probability: np.ndarray | float, threshold: float, margin: float) -> np.ndarray:
    """``follow back`` at or above the review band (:func:`review_band`), ``skip`` below it,
    else ``review``."""
    p = np.asarray(probability, dtype=float)
    low, high = review_band(threshold, margin)
    return np.where(p >= high, FOLLOW, np.where(p < low, SKIP, REVIEW))


def _norm(value: str) -> str:
    return str(value).strip().lstrip("@").casefold()


@dataclass(frozen=True)
class Overrides:
    """The allow list and the never-follow list: handles or account ids, any case, with or
    without ``@``. They decide over the model; an entry on both lists is an error."""

    allow: frozenset[str]
    never: frozenset[str]

    @classmethod
    def from_user(cls, user: UserConfig) -> Overrides:
        allow = frozenset(_norm(v) for v in user.allow_list)
        never = frozenset(_norm(v) for v in user.never_list)
        both = sorted(allow & never)
        if both:
            raise FollowbackError(
                f"on both user.allow_list and user.never_list: {', '.join(both)}; "
                "keep each account on one list")
        return cls(allow, never)

    def of(self, handle: Any, account_id: Any) -> str:
        keys = {_norm(v) for v in (handle, account_id) if text_or_none(v) is not None}
        if keys & self.never:
            return NEVER
        if keys & self.allow:
            return ALLOW
        return ""

    def apply(self, frame: pd.DataFrame) -> pd.Series:
        """The override of each row of a frame with ``handle`` and ``account_id``."""
        if not (self.allow or self.never):
            return pd.Series("", index=frame.index, dtype=object)
        return pd.Series([self.of(h, a) for h, a in zip(frame["handle"], frame["account_id"],
                                                         strict=True)],
                         index=frame.index, dtype=object)


def overridden_verdict(model_verdict: np.ndarray, override: pd.Series) -> np.ndarray:
    out = np.asarray(model_verdict, dtype=object).copy()
    out[(override == ALLOW).to_numpy()] = FOLLOW
    out[(override == NEVER).to_numpy()] = SKIP
    return out


# --------------------------------------------------------------------------- reasons


BOT_CLAIM = 0.5  # bot score at which "I can't tell if you're real" is said


def red_flags(named: pd.DataFrame, rules: RulesConfig) -> pd.DataFrame:
    """Whether each criterion's words against following back are true of each account.

    True where the account has the red flag the words name ("you have no about": the bio says
    nothing), False where it has not, NA where it cannot be told (no posts to judge the tone
    of). A criterion whose features are not the built-in extractor's has no column. ``named``
    is the feature step's output with its feature names; the cut-offs are the follower-app
    rules' (``evaluate.rules``), so the words mean what the baseline means.
    """

    def col(name: str) -> pd.Series:
        if name in named.columns:
            return named[name].astype(float)
        return pd.Series(np.nan, index=named.index)

    def tri(flag: pd.Series, unknown: pd.Series | None = None) -> pd.Series:
        out = flag.astype("boolean")
        if unknown is not None:
            out[unknown.fillna(False).astype(bool)] = pd.NA
        return out

    out = pd.DataFrame(index=named.index)
    score = col("bot__bot_score")
    out["bot"] = tri(score >= BOT_CLAIM, score.isna())
    private = col("language__lang_is_private") > 0
    no_posts = col("language__lang_no_posts") > 0
    read = col("language__lang_readable_share")
    out["language"] = tri(private | no_posts | (read < rules.min_read_share),
                          ~(private | no_posts) & read.isna())
    meaningful = col("bio__bio_meaningful")
    out["bio"] = tri(meaningful < 0.5, meaningful.isna())
    ratio = np.exp(col("ratio__log_following_follower_ratio"))
    unfollowed = col("ratio__times_unfollowed_after_followback").fillna(0) > 0
    out["ratio"] = tri((ratio < rules.min_ratio) | unfollowed, ratio.isna() & ~unfollowed)
    tox = (flag_score(named) if "toxicity__toxicity_max" in named.columns
           else col("toxicity__toxicity_max"))
    out["toxicity"] = tri(tox > rules.max_toxicity,
                          (col("toxicity__toxicity_no_texts") > 0) | tox.isna())
    rel = col("topic__topic_max_cluster_cos")
    out["topic"] = tri(rel < rules.min_relevance, (col("topic__topic_no_posts") > 0) | rel.isna()
                       | (col("topic__topic_no_own_posts") > 0))
    return _known(out, named)


# The feature each criterion's red flag is read from: a model whose extractors give other
# features (a custom extractor) gets no flag for that criterion, and keeps the plain words.
_FLAG_FEATURE = {
    "bot": "bot__bot_score", "language": "language__lang_readable_share",
    "bio": "bio__bio_meaningful", "ratio": "ratio__log_following_follower_ratio",
    "toxicity": "toxicity__toxicity_max", "topic": "topic__topic_max_cluster_cos",
}


def _known(flags: pd.DataFrame, named: pd.DataFrame) -> pd.DataFrame:
    return flags[[c for c in flags.columns if _FLAG_FEATURE[c] in named.columns]]


def neutral_phrase(criterion: str, against: bool) -> str:
    """The criterion named with the direction of its push, claiming nothing of the account:
    "your bio makes me less likely to follow back"."""
    if criterion in CRITERIA_NEUTRAL:
        noun = CRITERIA_NEUTRAL[criterion]
        verb = "make" if CRITERIA_NEUTRAL_PLURAL[criterion] else "makes"
    else:  # a criterion of a custom extractor
        noun, verb = f'the "{criterion}" criterion', "makes"
    return f"{noun} {verb} me {'less' if against else 'more'} likely to follow back"


def phrase(criterion: str, contribution: float, red_flag: bool | None = None) -> str:
    """The person's words for one criterion's push: against (negative) or for (positive).

    Where the words would be false of the account (``red_flag`` False for a push against: "your
    bio doesn't say who you are" for a bio that says something; True for a push for; NA either
    way, e.g. "your posts are civil" with no posts to judge), the criterion is named with the
    direction of its push instead: "your bio makes me less likely to follow back" (see
    :func:`neutral_phrase`). The model learnt that weight from the person's decisions; the
    words must not claim a flag the account does not have. A criterion of a custom extractor
    has no words of its own and is always named.
    """
    against = contribution < 0
    said = (CRITERIA if against else CRITERIA_POSITIVE).get(criterion)
    if said is None:
        return neutral_phrase(criterion, against)
    if red_flag is None:
        return said
    if red_flag is not pd.NA and bool(red_flag) == against:
        return said
    return neutral_phrase(criterion, against)


# Words of earlier versions, so that a scores file written by one still maps to its criteria.
_LEGACY_WORDS: dict[str, str] = {
    "you have no about": "bio",
    "your following-to-follower ratio is low": "ratio",
    "your content isn't relevant to my interests": "topic",
    "your about says who you are": "bio",
    "you don't play the ratio game": "ratio",
    "your content matches my interests": "topic",
    "your about": "bio",
}
_NEUTRAL_HEAD = re.compile(r"^(?P<noun>.+?) (?:makes?|weighs) "
                           r"(?:me (?:less|more) likely to follow back|(?:against|for) "
                           r"following back)$")


def criterion_of_phrase(text: str) -> str | None:
    """``"your bio doesn't say who you are — empty bio"`` -> ``bio`` (None for text that is
    no reason). Earlier versions' words map too."""
    head = str(text).split(" — ", 1)[0].strip()
    for words in (CRITERIA, CRITERIA_POSITIVE):
        for crit, said in words.items():
            if said == head:
                return crit
    if head in _LEGACY_WORDS:
        return _LEGACY_WORDS[head]
    match = _NEUTRAL_HEAD.match(head)
    if match is None:
        return None
    noun = match.group("noun")
    for crit, said in CRITERIA_NEUTRAL.items():
        if noun == said:
            return crit
    if noun in _LEGACY_WORDS:
        return _LEGACY_WORDS[noun]
    custom = re.fullmatch(r'the "(.+)" criterion', noun)
    return custom.group(1) if custom else None


def ranked_reasons(contributions: pd.Series, verdict_: str) -> list[str]:
    """Criteria worth telling, most telling first.

    For ``skip`` the pushes against come first, for ``follow back`` the pushes for, each by
    size, then the others; for ``review`` all by size. Pushes under :data:`MIN_REASON` are
    left out.
    """
    c = contributions.dropna()
    c = c[c.abs() >= MIN_REASON]
    if verdict_ == SKIP:
        first, rest = c[c < 0], c[c >= 0]
    elif verdict_ == FOLLOW:
        first, rest = c[c > 0], c[c <= 0]
    else:
        first, rest = c, c.iloc[:0]
    order = [*first.abs().sort_values(ascending=False, kind="stable").index,
             *rest.abs().sort_values(ascending=False, kind="stable").index]
    return list(order)


def ranked_positions(values: np.ndarray, verdicts: np.ndarray, limit: int | None = None
                     ) -> list[list[int]]:
    """:func:`ranked_reasons` of every row of ``values`` (accounts x criteria) at once, as
    column positions: the same order, computed with one sort instead of one per account."""
    values = np.asarray(values, dtype=float)
    verdicts = np.asarray(verdicts, dtype=object)
    size = np.abs(values)
    kept = ~np.isnan(values) & (size >= MIN_REASON)
    first = np.where((verdicts == SKIP)[:, None], values < 0,
                     np.where((verdicts == FOLLOW)[:, None], values > 0, True))
    tier = np.where(kept, np.where(first, 0, 1), 2)
    # lexsort is stable: equal sizes keep the criteria's order, as ranked_reasons does.
    order = np.lexsort((-np.where(kept, size, 0.0), tier), axis=-1)
    counts = kept.sum(axis=1)
    if limit is not None:
        counts = np.minimum(counts, limit)
    return [row[:k].tolist() for row, k in zip(order, counts, strict=True)]


def reason_text(criterion: str, contribution: float, evidence_text: str | None,
                red_flag: bool | None = None) -> str:
    said = phrase(criterion, contribution, red_flag)
    return f"{said} — {evidence_text}" if evidence_text else said


def explain_frame(
    model,
    frame: pd.DataFrame,
    background: np.ndarray,
    margin: float,
    overrides: Overrides,
    features: np.ndarray | None = None,
    rules: RulesConfig | None = None,
    attribution: str = "structure",
) -> pd.DataFrame:
    """Probability, verdict, override, top reasons and contribution per criterion per account.

    Columns: ``account_id, handle, display_name, bio, probability, threshold, verdict,
    override, reason_1..3, contrib_<criterion>`` for the six criteria (log-odds). ``rules``
    (``evaluate.rules``) sets when a reason's words name a red flag (:func:`red_flags`);
    ``attribution`` how the contributions are computed (:func:`attribute`'s ``method``).
    """
    frame = frame.reset_index(drop=True)
    if features is None:
        features = feature_matrix(model, frame)
    attribution = attribute(model, features, background, index=frame.index,
                            method=attribution)
    threshold = float(model[-1].threshold)
    model_verdict = verdict(attribution.probability, threshold, margin)
    override = overrides.apply(frame)
    final = overridden_verdict(model_verdict, override)
    flags = red_flags(pd.DataFrame(features, columns=model[:-1].get_feature_names_out()),
                      rules or RulesConfig())
    names = list(attribution.values.columns)
    values = attribution.values.to_numpy(dtype=float)
    top = ranked_positions(values, model_verdict, N_REASONS)
    told = np.zeros(values.shape, dtype=bool)
    for i, ranked in enumerate(top):
        told[i, ranked] = True
    proofs = evidence(model, frame, {c: np.flatnonzero(told[:, j]) for j, c in enumerate(names)})
    proof = {c: proofs[c].tolist() for c in names if c in proofs}
    flag = {c: flags[c].tolist() for c in names if c in flags}
    reasons: list[list[str]] = []
    for i, ranked in enumerate(top):
        reasons.append([reason_text(names[j], values[i, j],
                                    text_or_none(proof[names[j]][i])
                                    if names[j] in proof else None,
                                    flag[names[j]][i] if names[j] in flag else None)
                        for j in ranked])
    out = pd.DataFrame({
        "account_id": frame["account_id"].astype("string"),
        "handle": frame["handle"].astype("string"),
        "display_name": frame["display_name"].astype("string"),
        "bio": frame["bio"].astype("string"),
        "probability": attribution.probability.astype(float),
        "threshold": threshold,
        "verdict": pd.Series(final, dtype="string"),
        "override": pd.Series(override.to_numpy(), dtype="string"),
    })
    for k in range(N_REASONS):
        out[f"reason_{k + 1}"] = pd.Series(
            [r[k] if len(r) > k else None for r in reasons], dtype="string")
    for crit in CRITERION_ORDER:
        out[contrib_column(crit)] = (attribution.values[crit].to_numpy(dtype=float)
                                     if crit in attribution.values else np.nan)
    return out
