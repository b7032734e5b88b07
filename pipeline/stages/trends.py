"""Follower trends against what the person posts: does a topic go with gaining or losing followers?

The follower snapshots cut time into intervals; each interval has its follower gains, losses
and net change, and the person's own posts in it. Each post in the person's main language gets
a topic (k-means clusters of the post embeddings, labelled by their most distinctive TF-IDF
terms); posts in other languages count in the posting volume only, since the English encoder
groups them by language rather than by subject.

Per topic and outcome (gains, losses, net), :func:`associate` asks whether intervals where a
larger share of the posts is on that topic gain or lose more followers:

- the model is a weighted least-squares regression over intervals of followers per day on the
  topic's share of the interval's posts, the posts per day (so that posting more is not taken
  for posting about something) and a linear time trend (so that steady growth is not taken for
  whatever the person posted more of over time); weights are the interval lengths in days, since
  a count over a longer interval is less noisy per day;
- its p-value comes from a Freedman-Lane permutation test of the share's coefficient
  (``n_permutations`` shuffles), which needs no normal errors;
- all topic and volume tests of one run (every outcome) form one family: p-values are
  Holm-adjusted and the confidence intervals are Bonferroni-simultaneous, so "detected" holds
  for the family at 5 %;
- with fewer than ``min_intervals`` intervals (or too few to fit the model) the answer is
  "cannot tell" and no p-value is given.

Shares sum to one, so a topic that gains followers makes the others look as if they lose them,
and an association over time is not proof that the posts cause the change; the verdict says so.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from pipeline.core.console import ParamsOption
from pipeline.data import io, schema
from pipeline.data.snapshots import timeline

ALPHA = 0.05
OUTCOMES = {"gains": "new followers", "losses": "lost followers", "net": "net followers"}
N_TERMS = 3

# sklearn ships English stop words only; the persona posts in German too.
GERMAN_STOP_WORDS = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderen anderer anderes auch
auf aus bei bin bis bist da damit dann das dass dein deine dem den denn der des dich die dies
diese diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er
es etwas euch euer für gegen gibt hab habe haben hat hatte hier hin hinter ich ihr ihre im in
ist jetzt kann kein keine mal man mehr mein meine mich mir mit muss nach nicht nichts noch nun
nur ob oder ohne schon sehr sein seine sich sie sind so soll über um und uns unser unter viel
vom von vor war waren warum was weil welche wenn wer werden wie wieder will wir wird wo zu zum
zur zwei heute immer ganz gut neue neuen
""".split())


@dataclass
class TrendsResult:
    """What :func:`analyze` found: the intervals, the topics with their tests, and a verdict."""

    followers: pd.DataFrame  # taken_at, followers
    intervals: pd.DataFrame  # start, end, days, gains, losses, net, posts, posts_topic_<k>
    posts: pd.DataFrame  # post_id, created_at, topic
    topics: list[dict[str, Any]]
    volume: dict[str, Any]
    verdict: str
    can_tell: bool
    method: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        intervals = self.intervals.copy()
        for col in ("start", "end"):
            intervals[col] = intervals[col].map(lambda t: t.isoformat())
        return {
            "verdict": self.verdict,
            "can_tell": self.can_tell,
            "n_intervals": len(self.intervals),
            "method": self.method,
            "volume": self.volume,
            "topics": self.topics,
            "intervals": _plain(intervals.to_dict(orient="records")),
        }


def _plain(value: Any) -> Any:
    """JSON-safe: numpy numbers to Python, NaN and NA to None."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


# ---------------------------------------------------------------- follower intervals

def follower_intervals(snapshots: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Follower count at each follower snapshot, and gains/losses/net between consecutive ones."""
    lists = timeline(snapshots, "followers")
    counts = pd.DataFrame({
        "taken_at": lists.times,
        "followers": lists.counts().astype(int),
    })
    rows = []
    present = lists.matrix
    for k in range(1, lists.n):
        before, after = present[:, k - 1], present[:, k]
        gains, losses = int((after & ~before).sum()), int((before & ~after).sum())
        start, end = lists.times[k - 1], lists.times[k]
        rows.append({
            "start": start, "end": end, "days": (end - start) / pd.Timedelta(days=1),
            "followers_start": int(before.sum()), "followers_end": int(after.sum()),
            "gains": gains, "losses": losses, "net": gains - losses,
        })
    columns = ["start", "end", "days", "followers_start", "followers_end", "gains", "losses",
               "net"]
    return counts, pd.DataFrame(rows, columns=columns)


def posts_per_interval(intervals: pd.DataFrame, created_at: pd.Series, topics: np.ndarray,
                       n_topics: int) -> pd.DataFrame:
    """Add ``posts`` (all) and ``posts_topic_<k>`` (posts in ``(start, end]``) to ``intervals``.

    A topic of -1 (no topic) counts in ``posts`` only.
    """
    out = intervals.copy()
    out["posts"] = 0
    for k in range(n_topics):
        out[f"posts_topic_{k}"] = 0
    if out.empty:
        return out
    edges = pd.DatetimeIndex([out["start"].iloc[0], *out["end"]]).as_unit("ns")
    when = pd.DatetimeIndex(pd.to_datetime(created_at, utc=True)).as_unit("ns")
    # searchsorted on the left edges puts a post at exactly a snapshot time in the interval
    # that ends there: the snapshot was taken after it.
    slot = edges.searchsorted(when, side="left") - 1
    inside = (slot >= 0) & (slot < len(out)) & ~pd.isna(when)
    for k in range(n_topics):
        hits = np.bincount(slot[inside & (topics == k)], minlength=len(out))
        out[f"posts_topic_{k}"] = hits[: len(out)]
    # All posts, those in no topic (topic -1: another language) included.
    out["posts"] = np.bincount(slot[inside], minlength=len(out))[: len(out)]
    return out


# ---------------------------------------------------------------- topics

def cluster_topics(embeddings: np.ndarray, n_topics: int, seed: int) -> np.ndarray:
    """K-means topic of each post (embeddings L2-normalised: close to spherical k-means)."""
    from sklearn.cluster import KMeans

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    k = max(1, min(n_topics, n))
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embeddings)


def label_topics(texts: list[str], topics: np.ndarray, n_terms: int = N_TERMS) -> list[list[str]]:
    """The ``n_terms`` most distinctive TF-IDF terms of each topic against the other topics."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    n_topics = int(topics.max()) + 1 if len(topics) else 0
    cleaned = [re.sub(r"https?://\S+|@\w+", " ", t) for t in texts]
    vectorizer = TfidfVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | GERMAN_STOP_WORDS), lowercase=True,
        token_pattern=r"(?u)\b[^\W\d_]{3,}\b", sublinear_tf=True, min_df=2 if len(texts) > 20
        else 1)
    try:
        matrix = vectorizer.fit_transform(cleaned)
    except ValueError:  # nothing but stop words
        return [[] for _ in range(n_topics)]
    terms = vectorizer.get_feature_names_out()
    labels = []
    for k in range(n_topics):
        mask = topics == k
        inside = np.asarray(matrix[mask].mean(axis=0)).ravel()
        outside = (np.asarray(matrix[~mask].mean(axis=0)).ravel() if (~mask).any()
                   else np.zeros_like(inside))
        score = inside - outside
        best = [i for i in np.argsort(-score)[:n_terms] if score[i] > 0]
        labels.append([str(terms[i]) for i in best])
    return labels


# ---------------------------------------------------------------- association tests

def _fit(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients and their standard errors; ``Y`` is (n,) or (n, B)."""
    XtX_inv = np.linalg.pinv(X.T @ X)
    beta = XtX_inv @ X.T @ Y
    resid = Y - X @ beta
    df = X.shape[0] - X.shape[1]
    s2 = (resid ** 2).sum(axis=0) / df
    se = np.sqrt(np.multiply.outer(np.diag(XtX_inv), s2))
    return beta, se


def _permutation_test(X: np.ndarray, y: np.ndarray, j: int, n_permutations: int,
                      rng: np.random.Generator) -> tuple[float, float, float, int]:
    """Coefficient ``j``, its standard error, Freedman-Lane permutation p-value, and df."""
    beta, se = _fit(X, y)
    t_obs = beta[j] / se[j]
    reduced = np.delete(X, j, axis=1)
    coef = np.linalg.lstsq(reduced, y, rcond=None)[0]
    fitted = reduced @ coef
    resid = y - fitted
    perms = np.argsort(rng.random((n_permutations, len(y))), axis=1)
    Y = fitted[:, None] + resid[perms].T
    beta_p, se_p = _fit(X, Y)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_perm = beta_p[j] / se_p[j]
    t_perm = np.nan_to_num(t_perm, nan=0.0)
    p = (1 + np.sum(np.abs(t_perm) >= abs(t_obs) - 1e-12)) / (1 + n_permutations)
    return float(beta[j]), float(se[j]), float(p), X.shape[0] - X.shape[1]


def _holm(p: list[float]) -> list[float]:
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def _told(b: float, se: float, p: float, df: int) -> dict:
    return {"can_tell": True, "slope": b, "se": se, "p_value": p, "df": df}


def associate(intervals: pd.DataFrame, n_topics: int, n_permutations: int, min_intervals: int,
              seed: int) -> tuple[list[dict], dict, bool, str]:
    """Per-topic and posting-volume tests of association with follower gains, losses and net.

    Topic k: followers per day ~ share of topic k among the interval's topic posts + posts per
    day + time trend (intervals without topic posts left out). Volume: followers per day ~ posts
    per day + time trend. Returns the per-topic results, the volume results, whether anything
    could be told, and why not when it could not.
    """
    from scipy import stats

    n = len(intervals)
    n_params = 4  # intercept, share, volume, trend
    if n_topics == 0:
        return [], {}, False, "there are no own posts to set against the followers."
    if n < min_intervals:
        why = (f"only {n} intervals between follower snapshots; at least {min_intervals} "
               "are needed (trends.min_intervals). Each new follower snapshot adds one.")
        return [{} for _ in range(n_topics)], {}, False, why
    if n - n_params < 3:
        why = f"{n} intervals are too few for the model (need at least {n_params + 3})."
        return [{} for _ in range(n_topics)], {}, False, why

    days = intervals["days"].to_numpy(dtype=float)
    weight = np.sqrt(days)
    mid = intervals["start"] + (intervals["end"] - intervals["start"]) / 2
    years = ((mid - mid.iloc[0]) / pd.Timedelta(days=365.25)).to_numpy(dtype=float)
    counts = np.column_stack([intervals[f"posts_topic_{k}"].to_numpy(dtype=float)
                              for k in range(n_topics)])
    on_topic = counts.sum(axis=1)
    volume = intervals["posts"].to_numpy(dtype=float) / days
    rng = np.random.default_rng(seed)

    tests: list[tuple[int | None, str, dict]] = []  # (topic or None for volume, outcome, result)
    for outcome in OUTCOMES:
        y = intervals[outcome].to_numpy(dtype=float) / days
        if np.ptp(y) == 0:
            why = f"the {OUTCOMES[outcome]} per day are the same in every interval"
            tests += [(k, outcome, {"can_tell": False, "why": why}) for k in range(n_topics)]
            tests.append((None, outcome, {"can_tell": False, "why": why}))
            continue
        used = on_topic > 0
        for k in range(n_topics):
            share = np.divide(counts[:, k], on_topic, out=np.zeros(n), where=used)
            X = np.column_stack([np.ones(n), share, volume, years])[used]
            w = weight[used][:, None]
            active = int((counts[:, k] > 0).sum())
            if used.sum() < max(min_intervals, n_params + 3):
                result = {"can_tell": False, "why": f"only {int(used.sum())} intervals hold "
                          "posts with a topic"}
            elif active < 3 or np.linalg.matrix_rank(X) < X.shape[1]:
                result = {"can_tell": False,
                          "why": f"posts on this topic fall in only {active} intervals"
                          if active < 3 else "its share cannot be told apart from the posting "
                          "volume or the time trend"}
            else:
                result = _told(*_permutation_test(X * w, y[used] * w[:, 0], 1, n_permutations,
                                                  rng))
            tests.append((k, outcome, result))
        X = np.column_stack([np.ones(n), volume, years])
        if np.linalg.matrix_rank(X) == X.shape[1]:
            result = _told(*_permutation_test(X * weight[:, None], y * weight, 1,
                                              n_permutations, rng))
        else:
            result = {"can_tell": False, "why": "posting volume does not vary enough"}
        tests.append((None, outcome, result))

    told = [t for t in tests if t[2]["can_tell"]]
    m = len(told)
    adjusted = _holm([t[2]["p_value"] for t in told]) if m else []
    for (_, _, result), p_adj in zip(told, adjusted, strict=True):
        # Bonferroni-simultaneous intervals: all of them hold together with 95 % confidence.
        t_crit = stats.t.ppf(1 - ALPHA / (2 * m), result.pop("df"))
        result["ci_low"] = round(result["slope"] - t_crit * result["se"], 4)
        result["ci_high"] = round(result["slope"] + t_crit * result["se"], 4)
        result["slope"], result["se"] = round(result["slope"], 4), round(result["se"], 4)
        result["p_adjusted"] = p_adj
        result["detected"] = bool(p_adj < ALPHA)

    per_topic: list[dict] = [{} for _ in range(n_topics)]
    volume_tests: dict = {}
    for k, outcome, result in tests:
        if k is None:
            volume_tests[outcome] = result
        else:
            per_topic[k][outcome] = result
    used = on_topic > 0
    shares = np.divide(counts, on_topic[:, None], out=np.zeros_like(counts),
                       where=used[:, None])[used]
    mark_mirrors(per_topic, shares)
    return per_topic, volume_tests, True, ""


MIRROR_CORR = -0.3  # share correlation below which two topics trade off against each other


def mark_mirrors(per_topic: list[dict], shares: np.ndarray) -> None:
    """Mark a detected association that may be only the mirror image of a stronger one.

    Shares of the topic posts sum to one, so when more cycling posts bring more new followers,
    the intervals with more bread posts (fewer cycling posts) gain fewer, and the bread test can
    be detected too. A detected slope is marked ``mirror_of`` topic j when, on the same outcome,
    topic j's slope is detected with the opposite sign and a larger t value, and the two shares
    go against each other over the intervals (correlation below :data:`MIRROR_CORR`). A real
    effect can be marked too (gardening that loses followers also looks like the mirror of
    cycling that gains them, on net), so the verdict says "may be". The mark only words the
    verdict; the test and its p-value stand as they are.
    """
    if shares.shape[0] < 3:
        return
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(shares, rowvar=False)
    for outcome in OUTCOMES:
        found = {k: tests[outcome] for k, tests in enumerate(per_topic)
                 if tests.get(outcome, {}).get("detected")}
        for k, res in found.items():
            t_k = abs(res["slope"]) / res["se"] if res["se"] else np.inf
            partners = [
                (abs(other["slope"]) / other["se"] if other["se"] else np.inf, j)
                for j, other in found.items()
                if j != k and np.sign(other["slope"]) == -np.sign(res["slope"])
                and np.isfinite(corr[k, j]) and corr[k, j] < MIRROR_CORR
            ]
            partners = [(t, j) for t, j in partners if t > t_k]
            if partners:
                res["mirror_of"] = max(partners)[1]
                res["share_corr"] = round(float(corr[k, res["mirror_of"]]), 3)


# ---------------------------------------------------------------- the whole analysis

def main_language(languages: Sequence[str | None]) -> str | None:
    """The most common identified language (ties: the first seen)."""
    known = [lang for lang in languages if lang]
    if not known:
        return None
    counts = pd.Series(known).value_counts(sort=False)
    return str(counts.idxmax())


def analyze(snapshots: pd.DataFrame, own_posts: pd.DataFrame, embeddings: np.ndarray, *,
            languages: Sequence[str | None] | None = None, n_topics: int = 3,
            n_permutations: int = 2000, min_intervals: int = 6,
            seed: int = 42) -> TrendsResult:
    """Follower intervals, post topics and the association tests, with a verdict in words.

    ``embeddings`` holds one L2-normalised row per row of ``own_posts`` (in its order), and
    ``languages`` the identified language of each post (None: unknown). Topics are clusters
    of the posts in the main language only: the encoder places a post in another language by
    its language more than by its subject, so those posts count in the posting volume but in
    no topic.
    """
    own_posts = schema.conform("own_posts", own_posts)
    embeddings = np.asarray(embeddings)
    if len(embeddings) != len(own_posts):
        raise ValueError(f"{len(embeddings)} embeddings for {len(own_posts)} own posts")
    languages = list(languages) if languages is not None else [None] * len(own_posts)
    if len(languages) != len(own_posts):
        raise ValueError(f"{len(languages)} languages for {len(own_posts)} own posts")
    main = main_language(languages)
    in_main = np.array([lang is None or lang == main for lang in languages], dtype=bool)

    counts, intervals = follower_intervals(snapshots)
    topics = np.full(len(own_posts), -1)
    if in_main.any():
        topics[in_main] = cluster_topics(embeddings[in_main], n_topics, seed)
    n_found = int(topics.max()) + 1 if len(topics) else 0
    texts = own_posts["text"].astype(str).tolist()
    terms = label_topics([t for t, keep in zip(texts, in_main, strict=True) if keep],
                         topics[in_main])
    intervals = posts_per_interval(intervals, own_posts["created_at"], topics, n_found)
    per_topic, volume, can_tell, why = associate(intervals, n_found, n_permutations,
                                                 min_intervals, seed)
    topic_rows = []
    for k in range(n_found):
        mask = topics == k
        topic_rows.append({
            "topic": k,
            "label": " / ".join(terms[k]) or f"topic {k}",
            "terms": terms[k],
            "n_posts": int(mask.sum()),
            "share": round(float(mask.sum() / max(1, in_main.sum())), 3),
            "tests": per_topic[k],
        })
    posts = pd.DataFrame({"post_id": own_posts["post_id"], "created_at": own_posts["created_at"],
                          "topic": topics, "language": pd.array(languages, dtype="string")})
    dated = own_posts["created_at"].notna()
    other = sorted({lang for lang, keep in zip(languages, in_main, strict=True)
                    if not keep and lang})
    method = {
        "intervals": "between consecutive follower snapshots; posts counted in (start, end]",
        "topics": f"k-means (k={n_found}, seed {seed}) on the embeddings of the posts in the "
                  f"main language ({main or 'unknown'}), each labelled by the most distinctive "
                  "TF-IDF terms of its posts",
        "posts_in_other_languages": int((~in_main).sum()),
        "other_languages": other,
        "model": "per topic and outcome, weighted least squares over the intervals (weight: "
                 "days): followers per day ~ the topic's share of the interval's topic posts + "
                 "posts per day + linear time trend; slope = followers per day from a share "
                 "of 0 to 1 (effect_per_month_10pts: per 30 days and 10 points of share)",
        "volume_model": "followers per day ~ posts per day + linear time trend; slope = "
                        "followers per post",
        "test": f"Freedman-Lane permutation test of each slope, {n_permutations} permutations",
        "multiple_testing": "all topic and volume tests of this run (gains, losses, net) are "
                            "one family: Holm-adjusted p-values, Bonferroni-simultaneous 95% "
                            "intervals",
        "alpha": ALPHA,
        "min_intervals": min_intervals,
        "posts_undated": int((~dated).sum()),
        "posts_outside_snapshots": int(dated.sum() - intervals["posts"].sum())
        if len(intervals) else int(dated.sum()),
    }
    for topic in topic_rows:
        for res in topic["tests"].values():
            if res.get("can_tell"):
                res["effect_per_month_10pts"] = round(res["slope"] * 3, 2)
    verdict = _verdict(topic_rows, volume, can_tell, why, len(intervals), other)
    return TrendsResult(counts, intervals, posts, topic_rows, volume, verdict, can_tell, method)


def _verdict(topics: list[dict], volume: dict, can_tell: bool, why: str, n: int,
             other_languages: list[str]) -> str:
    if not topics:
        return "Cannot tell: there are no own posts to set against the followers."
    if not can_tell:
        return f"Cannot tell whether what you post moves your followers: {why}"
    lines = []
    for topic in topics:
        parts = []
        for outcome in OUTCOMES:
            res = topic["tests"].get(outcome, {})
            if res.get("detected"):
                part = (f"{_phrase(outcome, res['slope'] * 3)} a month (simultaneous 95% "
                        f"CI {res['ci_low'] * 3:+.0f} to {res['ci_high'] * 3:+.0f}, "
                        f"p = {res['p_adjusted']:.2g} after Holm")
                if res.get("mirror_of") is not None:
                    part += (", which may be only the mirror image of posting less about "
                             f"{topics[res['mirror_of']]['label']}")
                parts.append(part + ")")
        if parts:
            lines.append(f"When 10 points more of your posts are about {topic['label']}, you "
                         f"{' and '.join(parts)}.")
    res = volume.get("gains", {})
    if res.get("detected"):
        lines.append(f"Posting more in general goes with {res['slope']:+.2f} new followers per "
                     f"post (p = {res['p_adjusted']:.2g} after Holm).")
    if not lines:
        text = (f"No topic shows a clear link with gaining or losing followers over {n} "
                "intervals (all Holm-adjusted p >= 0.05). That is not proof of no effect: each "
                "topic's interval shows the effects that cannot be ruled out.")
    else:
        text = " ".join(lines) + (
            f" Over {n} intervals. Shares trade off: a topic that gains followers makes the "
            "others look as if they lose them. An association in time, not proof that the "
            "posts cause it.")
    if other_languages:
        from pipeline.features.language import language_name

        names = ", ".join(language_name(code) or code for code in other_languages)
        text += f" Posts in {names} count in the volume but in no topic."
    return text


def _phrase(outcome: str, per_month: float) -> str:
    more = "more" if per_month > 0 else "fewer"
    if outcome == "gains":
        return f"gain {abs(per_month):.0f} {more} new followers"
    if outcome == "losses":
        return f"lose {abs(per_month):.0f} {more} followers"
    return f"end up {per_month:+.0f} followers net"


# ---------------------------------------------------------------- plot and command

def plot(result: TrendsResult, path: str | Path, title: str = "Followers over time") -> None:
    """Followers over time with each post marked on the curve in its topic's colour (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    colours = plt.get_cmap("tab10").colors
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]},
        layout="constrained")
    counts = result.followers
    times = pd.DatetimeIndex(counts["taken_at"]).tz_convert(None).as_unit("ns")
    top.plot(times, counts["followers"], color="0.25", lw=1.6, marker="o", ms=3.5,
             label="followers (snapshots)", zorder=3)
    posts = result.posts.dropna(subset=["created_at"])
    if len(posts) and len(times):
        when = pd.DatetimeIndex(posts["created_at"]).tz_convert(None).as_unit("ns")
        level = np.interp(when.asi8, times.asi8, counts["followers"].to_numpy(dtype=float))
        # Posts before the first or after the last snapshot sit at the curve's ends: mark them
        # hollow, since the followers then are not known.
        inside = (when >= times[0]) & (when <= times[-1])
        for topic in result.topics:
            k = topic["topic"]
            mask = (posts["topic"] == k).to_numpy()
            name = _legend(topic)
            top.scatter(when[mask & inside], level[mask & inside], s=22, color=colours[k % 10],
                        alpha=0.85, edgecolor="white", lw=0.4, label=name, zorder=4)
            if (mask & ~inside).any():
                top.scatter(when[mask & ~inside], level[mask & ~inside], s=22, facecolor="none",
                            edgecolor=colours[k % 10], lw=0.8, zorder=4)
        mask = (posts["topic"] == -1).to_numpy()
        if mask.any():
            top.scatter(when[mask], level[mask], s=14, color="0.6", alpha=0.8, zorder=3.5,
                        label=f"in another language ({int(mask.sum())} posts, no topic)")
    top.set_ylabel("followers")
    top.grid(alpha=0.3)
    top.legend(loc="upper left", fontsize=8.5, frameon=True, framealpha=0.9,
               title="your posts by topic (new followers a month per 10 points of share)",
               title_fontsize=8.5)
    top.set_title(title, loc="left", fontsize=12, fontweight="bold")

    intervals = result.intervals
    if len(intervals):
        start = pd.DatetimeIndex(intervals["start"]).tz_convert(None)
        end = pd.DatetimeIndex(intervals["end"]).tz_convert(None)
        width = (end - start) * 0.9
        centre = start + (end - start) / 2
        days = intervals["days"].to_numpy(dtype=float)
        bottom.bar(centre, intervals["gains"] / days * 7, width=width, color="#3a9a5b",
                   label="gained")
        bottom.bar(centre, -intervals["losses"] / days * 7, width=width, color="#c0504d",
                   label="lost")
        bottom.axhline(0, color="0.3", lw=0.8)
        bottom.legend(loc="upper left", fontsize=8.5, ncols=2)
    bottom.set_ylabel("followers\nper week")
    bottom.grid(alpha=0.3)
    locator = AutoDateLocator()
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    fig.text(0.01, -0.01, _wrap(result.verdict, 150), fontsize=8.5, va="top", ha="left")
    path = Path(path)
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)


def _legend(topic: dict) -> str:
    name = f"{topic['label']} ({topic['n_posts']} posts)"
    res = topic["tests"].get("gains", {})
    if res.get("can_tell"):
        mark = ", detected" if res["detected"] else ""
        name += f": {res['slope'] * 3:+.1f} (p={res['p_adjusted']:.2g}{mark})"
    return name


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def embed(texts: list[str], cfg) -> np.ndarray:
    """The project's sentence embeddings of ``texts`` (L2-normalised rows)."""
    from pipeline.features.embedding import TextEmbedder

    embed_cfg = cfg.features.embed
    embedder = TextEmbedder(model=embed_cfg.model, device=embed_cfg.device,
                            batch_size=embed_cfg.batch_size, cache_dir=cfg.base.cache_dir,
                            backend=embed_cfg.backend)
    return np.asarray(embedder.encode(texts))


def identify_languages(texts: list[str], cfg) -> list[str | None]:
    """The language of each text (lingua, over the configured candidates and the person's)."""
    if not texts:
        return []
    from pipeline.features.language import LanguageIdentifier

    candidates = {*cfg.features.language.candidates, *cfg.user.languages}
    found = LanguageIdentifier(sorted(candidates), cache_dir=cfg.base.cache_dir).identify(texts)
    floor = cfg.features.language.min_confidence
    return [code if code and confidence >= floor else None
            for code, confidence in (found[t] for t in texts)]


def run(cfg, in_dir: Path | None = None) -> TrendsResult:
    """Read the ingested tables, analyse, and write ``trends.out`` (JSON) and ``trends.plot``."""
    in_dir = in_dir or cfg.ingest.out_dir
    snapshots = io.read_table(in_dir, "snapshots")
    own_posts = io.read_table(in_dir, "own_posts")
    texts = own_posts["text"].astype(str).tolist()
    embeddings = embed(texts, cfg) if texts else np.zeros((0, 1))
    result = analyze(snapshots, own_posts, embeddings, languages=identify_languages(texts, cfg),
                     n_topics=cfg.trends.n_topics,
                     n_permutations=cfg.trends.n_permutations,
                     min_intervals=cfg.trends.min_intervals, seed=cfg.base.seed)
    # The JSON and its plot go in together (pipeline.data.io.OutputSet): never one run's verdict
    # beside another run's picture.
    with io.OutputSet() as out:
        io.write_text(out.file(cfg.trends.out), json.dumps(_plain(result.to_json()), indent=2,
                                                           ensure_ascii=False) + "\n")
        plot(result, out.file(cfg.trends.plot), title=f"Followers of {cfg.user.handle} over time")
    return result


def cli(
    params: ParamsOption = Path("params.yaml"),
    in_dir: Annotated[Path | None, typer.Option(
        "--in", help="Folder of ingested tables (default: ingest.out_dir).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="JSON file for the intervals, topics and tests (default: trends.out).")] = None,
    plot_path: Annotated[Path | None, typer.Option(
        "--plot", help="PNG of followers over time (default: trends.plot).")] = None,
    n_topics: Annotated[int | None, typer.Option(
        help="Number of topics to cluster own posts into (default: trends.n_topics).")] = None,
    n_permutations: Annotated[int | None, typer.Option(
        help="Permutations per test (default: trends.n_permutations).")] = None,
    min_intervals: Annotated[int | None, typer.Option(
        help="Fewer intervals than this means 'cannot tell' (default: trends.min_intervals)."
    )] = None,
) -> None:
    """Follower gains and losses between snapshots, set against the topics of your posts."""
    from rich.table import Table

    from pipeline.core.config import load_config
    from pipeline.core.console import console

    cfg = load_config(params)
    overrides = {k: v for k, v in {"out": out, "plot": plot_path, "n_topics": n_topics,
                                   "n_permutations": n_permutations,
                                   "min_intervals": min_intervals}.items() if v is not None}
    cfg = cfg.model_copy(update={"trends": cfg.trends.model_copy(update=overrides)})
    result = run(cfg, in_dir)

    table = Table(title=f"Topics of your posts against {len(result.intervals)} follower "
                        "intervals: followers a month per 10 points more share (p, Holm)",
                  title_justify="left")
    table.add_column("topic")
    table.add_column("posts", justify="right")
    for words in OUTCOMES.values():
        table.add_column(words, justify="right")
    for topic in result.topics:
        cells = [topic["label"], f"{topic['n_posts']}"]
        for outcome in OUTCOMES:
            res = topic["tests"].get(outcome, {})
            if res.get("can_tell"):
                style = "bold green" if res["detected"] else "dim"
                cells.append(f"[{style}]{res['slope'] * 3:+.1f} "
                             f"(p={res['p_adjusted']:.2g})[/]")
            else:
                cells.append("cannot tell")
        table.add_row(*cells)
    console.print(table)
    console.print(result.verdict, highlight=False)
    console.print(f"Wrote {cfg.trends.out} and {cfg.trends.plot}", highlight=False)
