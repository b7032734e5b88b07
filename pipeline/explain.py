"""Why the model says follow back or skip: contributions per criterion, in the person's words.

Attribution method
------------------
Exact Shapley values over the six criterion *groups* (bot, language, bio, ratio, toxicity,
topic), on the log-odds scale of the whole fitted classifier (calibration and threshold
included), interventional: a criterion that is "absent" from a coalition takes its features
from a background sample of transformed training rows. With six groups there are 2^6 = 64
coalitions, so the values are exact, not sampled, and by the efficiency property they add up
to ``logit p(x) - mean_b logit p(b)`` for every account. For a linear model (``logreg``
without calibration) they equal ``sum_j coef_j (x_j - mean_b x_j)`` over each criterion's
features; the tests check both.

Why not the ``shap`` package: shap 0.51 has no grouped attribution. Its ``PartitionExplainer``
gives Owen values over a *binary* clustering tree (a binary tree over six groups is not the
six-player game, so group totals differ from Shapley values) within an evaluation budget;
``ExactExplainer`` over the 40-odd single features costs 2^40 coalitions; per-feature
``PermutationExplainer`` values of a calibrated ensemble are sampled, slow, and summing them
per group is not the group's Shapley value. Exact group values computed here take one batched
``predict_proba`` call per block of accounts (n x 62 x background rows), so scoring stays a
streaming, chunked job. A test checks the values against shap's ``ExactExplainer`` run on the
six-player group game, to tie this hand-written code to the reference implementation.

The evidence comes from each extractor's ``evidence(X)`` ("follows 12, followed by 5,400:
ratio 0.002", "27 of 30 posts in Russian", "max toxicity 0.93 in a post of 2026-03-02").
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from pipeline.config import RulesConfig, UserConfig, load_config
from pipeline.console import FollowbackError, ParamsOption, console
from pipeline.features.compose import CRITERIA, CRITERIA_NEUTRAL, CRITERIA_POSITIVE, criterion_of
from pipeline.features.toxicity import flag_score

FOLLOW, SKIP, REVIEW = "follow back", "skip", "review"
VERDICTS = (FOLLOW, REVIEW, SKIP)
ALLOW, NEVER = "allow list", "never-follow list"
CRITERION_ORDER: list[str] = list(CRITERIA)
N_REASONS = 3
# Contributions smaller than this (log-odds; about one percentage point near p = 0.5) are
# noise, not a reason worth telling the person.
MIN_REASON = 0.05
# Hybrid rows per predict_proba call: bounds the memory of the coalition matrix.
MAX_ROWS = 65_536
_EPS = 1e-9


def contrib_column(criterion: str) -> str:
    return f"contrib_{criterion}"


# --------------------------------------------------------------------------- attribution


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def criterion_groups(feature_names: Iterable[str]) -> dict[str, np.ndarray]:
    """Column indices of each criterion's features, in :data:`CRITERION_ORDER` (others after)."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(feature_names):
        groups.setdefault(criterion_of(str(name)), []).append(i)
    order = [c for c in CRITERION_ORDER if c in groups] + [c for c in groups
                                                             if c not in CRITERION_ORDER]
    return {c: np.asarray(groups[c]) for c in order}


def _shapley_weights(n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Coalition membership (2^G x G, bit g = group g present) and the Shapley weight matrix W.

    ``phi = V @ W`` where ``V[:, m]`` is the value of coalition ``m``: W[m, g] is
    ``+|S|!(G-|S|-1)!/G!`` for S = m without g when g is in m, and ``-|m|!(G-|m|-1)!/G!`` when
    g is not in m.
    """
    masks = np.arange(2 ** n_groups)
    member = ((masks[:, None] >> np.arange(n_groups)) & 1).astype(bool)
    size = member.sum(axis=1)
    fact = math.factorial
    weight = np.array([fact(s) * fact(n_groups - s - 1) / fact(n_groups)
                       for s in range(n_groups)] + [0.0])
    plus = weight[np.maximum(size - 1, 0)]
    minus = weight[np.minimum(size, n_groups)]
    W = np.where(member, plus[:, None], -minus[:, None])
    return member, W


def group_shapley(
    f: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    background: np.ndarray,
    groups: dict[str, np.ndarray],
    max_rows: int = MAX_ROWS,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Exact interventional Shapley values of feature groups.

    Parameters
    ----------
    f : callable mapping an (m, d) matrix to m outputs (here: log-odds).
    X : (n, d) rows to explain.
    background : (B, d) rows that stand in for absent groups.
    groups : criterion -> column indices; every column must belong to exactly one group.
    max_rows : at most this many hybrid rows per call of ``f``.

    Returns
    -------
    phi : (n, G) values, columns in the order of ``groups``.
    base : ``mean f(background)``, the value of the empty coalition.
    fx : (n,) ``f(X)``; ``phi.sum(1) == fx - base`` up to rounding.
    """
    X = np.asarray(X, dtype=float)
    background = np.asarray(background, dtype=float)
    n, d = X.shape
    names = list(groups)
    group_of = np.full(d, -1)
    for g, name in enumerate(names):
        group_of[groups[name]] = g
    if (group_of < 0).any():
        raise ValueError(f"columns {np.flatnonzero(group_of < 0).tolist()} belong to no group")
    member, W = _shapley_weights(len(names))
    from_x = member[:, group_of]  # (M, d): column j comes from x in coalition m
    inner = from_x[1:-1]  # the empty and the full coalition need no hybrid rows
    base = float(np.mean(f(background)))
    fx = np.asarray(f(X), dtype=float) if n else np.zeros(0)
    V = np.empty((n, len(member)))
    V[:, 0] = base
    V[:, -1] = fx
    n_bg = len(background)
    per_block = max(1, max_rows // max(1, len(inner) * n_bg))
    # One group alone has no coalitions between the empty and the full one.
    for start in range(0, n if len(inner) else 0, per_block):
        xb = X[start:start + per_block]
        hybrid = np.where(inner[None, :, None, :], xb[:, None, None, :],
                          background[None, None, :, :])
        values = np.asarray(f(hybrid.reshape(-1, d)), dtype=float)
        V[start:start + len(xb), 1:-1] = values.reshape(len(xb), len(inner), n_bg).mean(axis=2)
    return V @ W, base, fx


def feature_matrix(model, frame: pd.DataFrame) -> np.ndarray:
    """The fitted feature step's output for ``frame``, as a float matrix."""
    return np.asarray(model[:-1].transform(frame), dtype=float)


def log_odds_function(model) -> Callable[[np.ndarray], np.ndarray]:
    """``matrix -> logit P(follow back)`` of the fitted classifier step (calibration included)."""
    clf = model[-1]
    names = getattr(clf, "feature_names_in_", None)

    def f(matrix: np.ndarray) -> np.ndarray:
        data = pd.DataFrame(matrix, columns=names) if names is not None else matrix
        return log_odds(clf.predict_proba(data)[:, 1])

    return f


@dataclass
class Attribution:
    """Per-account contributions of each criterion, on the log-odds scale."""

    values: pd.DataFrame  # one column per criterion, index of the explained frame
    base: float           # mean log-odds over the background
    log_odds: np.ndarray  # the model's log-odds per account
    probability: np.ndarray


def attribute(model, features: np.ndarray, background: np.ndarray,
              index: pd.Index | None = None) -> Attribution:
    """Exact group Shapley values of ``features`` (already transformed by the model)."""
    from threadpoolctl import threadpool_limits

    names = model[:-1].get_feature_names_out()
    groups = criterion_groups(names)
    # With torch's and scikit-learn's OpenMP runtimes both loaded, the boosted trees' predict
    # ran 15-25x slower here until the thread count was set explicitly (measured: 30,000 rows
    # of a calibrated HGB in 4.3 s unset, 0.17 s set to the 2 cores).
    with threadpool_limits(limits=os.cpu_count() or 1, user_api="openmp"):
        phi, base, fx = group_shapley(log_odds_function(model), features, background, groups)
        probability = model[-1].predict_proba(_named(model, features))[:, 1]
    values = pd.DataFrame(phi, columns=list(groups), index=index)
    return Attribution(values, base, fx, probability)


def _named(model, matrix: np.ndarray):
    names = getattr(model[-1], "feature_names_in_", None)
    return pd.DataFrame(matrix, columns=names) if names is not None else matrix


# --------------------------------------------------------------------------- evidence


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _date(value: Any) -> str | None:
    text = _text(value)
    return None if text is None else text[:10]


def _bio_sentence(row: pd.Series) -> str | None:
    status = _text(row.get("bio_status"))
    bio = _text(row.get("bio"))
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
        text += (f"; of the {int(n)} bios you decided on most like it, you followed back "
                 f"{int(followed)}")
    return text


def _toxicity_sentence(row: pd.Series) -> str | None:
    n = row.get("n_texts")
    if n is None or pd.isna(n) or int(n) == 0:
        return "no texts to judge"
    score = float(row.get("max_score") or 0.0)
    text = f"max toxicity {score:.2f}"
    meaning = _text(row.get("score_meaning"))
    if meaning:
        text += f" ({meaning})"
    date = _date(row.get("most_toxic_date"))
    kind = _text(row.get("most_toxic_kind")) or "post"
    text += f" in a {kind} of {date}" if date else f" in a {kind}"
    labels = _text(row.get("labels"))
    if labels:
        text += f"; in it: {labels}"
    n_toxic = row.get("n_toxic")
    if n_toxic is not None and not pd.isna(n_toxic):
        text += f"; {int(n_toxic)} of {int(n)} texts toxic"
    return text


def _topic_sentence(row: pd.Series) -> str | None:
    n = row.get("n_posts")
    if n is None or pd.isna(n) or int(n) == 0:
        return "no posts to compare with mine"
    text = f"similarity {float(row.get('similarity') or 0):.2f} to my posts over {int(n)} posts"
    post = _text(row.get("most_relevant_post"))
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
            return [_text(v) for v in table[column]]
    maker = _SENTENCES.get(criterion)
    if maker is not None:
        return [maker(row) for _, row in table.iterrows()]
    out = []
    for _, row in table.iterrows():
        parts = [f"{k} {v}" for k, v in row.items() if _text(v) is not None]
        out.append("; ".join(parts) or None)
    return out


def evidence(model, frame: pd.DataFrame) -> pd.DataFrame:
    """Evidence sentences per account and criterion (None where an extractor gives none)."""
    features = model.named_steps["features"] if hasattr(model, "named_steps") else model[0]
    out = pd.DataFrame(index=frame.index, columns=CRITERION_ORDER, dtype=object)
    for name, transformer, columns in features.transformers_:
        if name not in out.columns or not hasattr(transformer, "evidence"):
            continue
        given = frame[columns]
        if name == "bot":
            # The follower-group counts over the whole list travel beside the bot columns.
            from pipeline.frame import GROUP_COLUMNS

            given = frame[[*columns, *[c for c in GROUP_COLUMNS
                                       if c in frame.columns and c not in columns]]]
        table = transformer.evidence(given)
        out[name] = evidence_sentences(name, table.reset_index(drop=True))
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
        keys = {_norm(v) for v in (handle, account_id) if _text(v) is not None}
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


def phrase(criterion: str, contribution: float, red_flag: bool | None = None) -> str:
    """The person's words for one criterion's push: against (negative) or for (positive).

    Where the words would be false of the account (``red_flag`` False for a push against: "you
    have no about" for a bio that says something; True for a push for; NA either way, e.g. "your
    posts are civil" with no posts to judge), the criterion is named with the direction of its push
    instead: "your about weighs against following back". The model learnt that weight from
    the person's decisions; the words must not claim a flag the account does not have.
    """
    against = contribution < 0
    said = (CRITERIA if against else CRITERIA_POSITIVE).get(criterion, criterion)
    if red_flag is None or criterion not in CRITERIA_NEUTRAL:
        return said
    if red_flag is not pd.NA and bool(red_flag) == against:
        return said
    return f"{CRITERIA_NEUTRAL[criterion]} weighs {'against' if against else 'for'} following back"


def criterion_of_phrase(text: str) -> str | None:
    """``"you have no about — empty bio"`` -> ``bio`` (None for text that is no reason)."""
    head = str(text).split(" — ", 1)[0].strip()
    for words in (CRITERIA, CRITERIA_POSITIVE):
        for crit, said in words.items():
            if said == head:
                return crit
    for crit, noun in CRITERIA_NEUTRAL.items():
        if head in (f"{noun} weighs against following back", f"{noun} weighs for following back"):
            return crit
    return None


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
) -> pd.DataFrame:
    """Probability, verdict, override, top reasons and contribution per criterion per account.

    Columns: ``account_id, handle, display_name, bio, probability, threshold, verdict,
    override, reason_1..3, contrib_<criterion>`` for the six criteria (log-odds). ``rules``
    (``evaluate.rules``) sets when a reason's words name a red flag (:func:`red_flags`).
    """
    frame = frame.reset_index(drop=True)
    if features is None:
        features = feature_matrix(model, frame)
    attribution = attribute(model, features, background, index=frame.index)
    threshold = float(model[-1].threshold)
    model_verdict = verdict(attribution.probability, threshold, margin)
    override = overrides.apply(frame)
    final = overridden_verdict(model_verdict, override)
    proofs = evidence(model, frame)
    flags = red_flags(pd.DataFrame(features, columns=model[:-1].get_feature_names_out()),
                      rules or RulesConfig())
    reasons: list[list[str]] = []
    for i in range(len(frame)):
        contrib = attribution.values.iloc[i]
        ranked = ranked_reasons(contrib, model_verdict[i])[:N_REASONS]
        reasons.append([reason_text(c, contrib[c],
                                    _text(proofs.at[i, c]) if c in proofs else None,
                                    flags.at[i, c] if c in flags else None) for c in ranked])
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


# --------------------------------------------------------------------------- command


def _bar(value: float, scale: float, width: int = 12) -> str:
    n = int(round(min(1.0, abs(value) / scale) * width)) if scale > 0 else 0
    return ("█" * n).rjust(width) if value < 0 else ("█" * n).ljust(width)


def render(row: pd.Series, proofs: pd.Series, console_=None,
           flags: pd.Series | None = None) -> None:
    """Print one account's explanation: verdict, override, every criterion with evidence.

    ``flags`` (a row of :func:`red_flags`) keeps the words true of the account."""
    from rich.text import Text

    out = console_ or console
    # Account text goes in as Text objects: rich markup in a name or bio is shown, not run.
    head = Text()
    head.append(f"@{row['handle']}", style="bold")
    if _text(row.get("display_name")):
        head.append(f"  {row['display_name']}")
    out.print(head)
    if _text(row.get("bio")):
        out.print(Text(str(row["bio"]), style="italic"))
    line = Text(f"P(follow back) {row['probability']:.2f} (threshold "
                f"{row['threshold']:.2f}): ")
    line.append(str(row["verdict"]).upper(), style="bold")
    if row.get("override"):
        line.append(f"  [override: on your {row['override']}, whatever the model says]",
                    style="magenta")
    out.print(line)
    contrib = {c: row[contrib_column(c)] for c in CRITERION_ORDER
               if contrib_column(c) in row and not pd.isna(row[contrib_column(c)])}
    scale = max([abs(v) for v in contrib.values()] + [1e-9])
    out.print(Text("push (log-odds): against | for", style="dim"))
    # One line per criterion, largest push first: bars, then the reason and its evidence.
    for crit in sorted(contrib, key=lambda c: -abs(contrib[c])):
        v = contrib[crit]
        line = Text(f"{v:+6.2f} ")
        line.append(_bar(v, scale) if v < 0 else " " * 12, style="red")
        line.append("|")
        line.append(_bar(v, scale) if v > 0 else " " * 12, style="green")
        flag = flags.get(crit) if flags is not None else None
        line.append("  " + reason_text(crit, v, _text(proofs.get(crit)), flag))
        out.print(line)


def cli(
    handle: Annotated[str, typer.Argument(help="The account to explain: handle (with or "
                                          "without @) or account id, from the ingested data.")],
    params: ParamsOption = Path("params.yaml"),
    model_uri: Annotated[str | None, typer.Option(
        "--model", help="Model folder or MLflow URI (default: score.model_uri, else "
        "train.model_dir, the model the pipeline just trained).")] = None,
) -> None:
    """Say why the model would follow back HANDLE or not: each criterion's push and evidence.

    Contributions are exact Shapley values of the six criteria on the log-odds scale; they add
    up to the account's log-odds minus the average over a sample of your decided accounts.
    """
    from pipeline import pyfunc, score
    from pipeline.frame import with_groups

    cfg = load_config(params)
    model, model_id = score.load_scoring_model(cfg, model_uri)
    console.print(f"model: {model_id}", style="dim", highlight=False, markup=False)
    frame = pyfunc.input_frame(with_groups(score.ingested_account(cfg, handle),
                                           score.ingested_groups(cfg)))
    row = model.predict(None, frame, params=pyfunc.params_of(cfg)).iloc[0]
    pipeline = model.pipeline
    features = feature_matrix(pipeline, frame)
    proofs = evidence(pipeline, frame).iloc[0]
    flags = red_flags(pd.DataFrame(features, columns=pipeline[:-1].get_feature_names_out()),
                      RulesConfig(**model.settings.get("rules", {}))).iloc[0]
    render(row, proofs, flags=flags)
    total = float(sum(row[contrib_column(c)] for c in CRITERION_ORDER
                      if not pd.isna(row[contrib_column(c)])))
    own = float(log_odds(row["probability"]))
    console.print(f"The pushes add up to {total:+.2f}: this account's log-odds {own:+.2f} minus "
                  f"{own - total:+.2f}, the average over {len(model.background)} of your "
                  f"decided accounts. Model: {model_id}.", style="dim", highlight=False,
                  markup=False)
