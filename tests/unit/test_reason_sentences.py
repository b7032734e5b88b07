"""Every reason sentence the code can build reads naturally, in the person's voice.

A reason is ``head`` or ``head — evidence``. The head (pipeline.model.reasons.phrase) depends on
the criterion, the direction of its push and the red-flag state (None, True, False, NA); the
evidence on each extractor's evidence builder and its branches (counts of 0, 1, 2 and many,
missing values, kinds of text). This file enumerates them all, checks the heads word for word
against the list below, and checks every head and every evidence sentence for grammatical
number with inflect (a library of English inflection, independent of the code under test):
a subject and its verb agree, and a count agrees with its noun ("1 post", "2 posts"). The
person speaks: "I" and "my" are the person, "you" the follower, never the other way round.
"""

from __future__ import annotations

import functools
import itertools
import re
from types import SimpleNamespace

import inflect  # a dev dependency (pyproject.toml): English inflection, not ours to get wrong
import numpy as np
import pandas as pd
import pytest

from pipeline.data.groups import GROUP_FEATURES, group_sentence
from pipeline.features.bot import _bot_sentence
from pipeline.features.language import language_summary
from pipeline.features.ratio import FollowRatio
from pipeline.features.topic import NOTHING_TO_COMPARE
from pipeline.model import reasons
from pipeline.model.compose import CRITERIA, CRITERIA_NEUTRAL

ENGINE = inflect.engine()

CUSTOM = "karma"  # a criterion of a custom extractor: no words of its own
FLAG_STATES = (None, True, False, pd.NA)

# Every head the code can say, by hand: what a person reads.
EXPECTED_HEADS = {
    # against, where the account has the red flag the words name
    "I can't tell if you're real",
    "I can't read your posts",
    "your bio doesn't say who you are",
    "you rarely follow back",
    "your posts look offensive",
    "your posts aren't about my interests",
    # for, where it has not
    "you look like a real person",
    "I can read your posts",
    "your bio says who you are",
    "you follow people back",
    "your posts are civil",
    "your posts match my interests",
    # the criterion named, where the words above would be false or cannot be told
    "your profile and posting pattern make me less likely to follow back",
    "your profile and posting pattern make me more likely to follow back",
    "the languages you write in make me less likely to follow back",
    "the languages you write in make me more likely to follow back",
    "your bio makes me less likely to follow back",
    "your bio makes me more likely to follow back",
    "your follower numbers make me less likely to follow back",
    "your follower numbers make me more likely to follow back",
    "the tone of your posts makes me less likely to follow back",
    "the tone of your posts makes me more likely to follow back",
    "what you post about makes me less likely to follow back",
    "what you post about makes me more likely to follow back",
    # a custom extractor's criterion
    'the "karma" criterion makes me less likely to follow back',
    'the "karma" criterion makes me more likely to follow back',
}


CASES = [(crit, push, flag) for crit in [*CRITERIA, CUSTOM] for push in (-0.7, 0.7)
         for flag in FLAG_STATES]


def all_heads() -> dict[tuple, str]:
    return {(crit, push, repr(flag)): reasons.phrase(crit, push, flag)
            for crit, push, flag in CASES}


# --------------------------------------------------------------------------- evidence


def bio_sentences() -> list[str]:
    out = []
    for status, bio in [("empty", None), (None, None), (None, "Home baker in Berlin"),
                        ("only emoji/links/hashtags/mentions", "🍞🚲 linktr.ee/x"),
                        ("says something", "Home baker in Berlin"), ("says something", None)]:
        for n, followed in [(np.nan, np.nan), (0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2),
                            (5, 3)]:
            row = pd.Series({"bio_status": status, "bio": bio, "similar_decided": n,
                             "similar_followed": followed})
            out.append(reasons._bio_sentence(row))
    return [s for s in out if s is not None]


def toxicity_sentences() -> list[str]:
    out = []
    for n, n_toxic, meaning, kind, date, labels in itertools.product(
            (0, 1, 2, 30), (np.nan, 0, 1, 2), (None, "Detoxify's toxicity label"),
            ("post", "repost", "reply", "like", None), (None, "2026-03-02T10:00:00+00:00"),
            (None, "insult 0.91, obscene 0.40")):
        if not np.isnan(n_toxic) and n_toxic > n:
            continue
        out.append(reasons._toxicity_sentence(pd.Series(
            {"n_texts": n, "n_toxic": n_toxic, "max_score": 0.934 if n else 0.0,
             "score_meaning": meaning, "most_toxic_kind": kind, "most_toxic_date": date,
             "labels": labels})))
    return out


def topic_sentences() -> list[str]:
    out = [NOTHING_TO_COMPARE]
    for n, post in itertools.product((0, 1, 2, 12), (None, "Fed the starter")):
        out.append(reasons._topic_sentence(pd.Series(
            {"n_posts": n, "similarity": 0.123, "most_relevant_post": post})))
    return out


def language_sentences() -> list[str]:
    out = []
    for n, locked in ((0, False), (0, True)):
        out.append(language_summary(n, 0, [], None, 0, locked, 0))
    for n, tagged in itertools.product((1, 2, 30), (0, 1, 3)):
        out.append(language_summary(n, 0, [], None, 0, False, tagged))          # unidentified
        out.append(language_summary(n, n, ["en"] * n, None, 0, False, tagged))  # readable
        out.append(language_summary(n, n, [], "ru", n, False, tagged))          # unreadable
        if n > 1:
            out.append(language_summary(n, n, ["en"] * (n - 1), "ru", 1, False, tagged))
            out.append(language_summary(n, n, ["de", "en"] * (n // 2), None, 0, False,
                                        tagged))
    return out


def ratio_sentences() -> list[str]:
    rows = list(itertools.product((np.nan, 0, 1, 5400), (np.nan, 1, 12),
                                  (np.nan, 0, 1, 2), (np.nan, 0, 1, 3)))
    X = pd.DataFrame(rows, columns=["followers_count", "following_count",
                                    "times_followed_back", "times_unfollowed_after_followback"])
    ratio = FollowRatio().fit(X.fillna(0))
    return ratio.evidence(X)["evidence"].tolist()


def group_sentences() -> list[str]:
    out = []
    for key, n in itertools.product(GROUP_FEATURES, (3, 4, 36)):
        counts = dict.fromkeys(GROUP_FEATURES, 0)
        counts[key] = n
        for also in ("group_similar_bio", "group_similar_posts", "group_similar_name"):
            if key == "group_week_and_text":
                counts[also] = n if also != "group_similar_name" else 0
            out.append(group_sentence(counts))
    return [s for s in out if s is not None]


def bot_sentences() -> list[str]:
    out = []
    groups = [None, *group_sentences()[:3]]
    for age, avatar, following, per_day, n_posts, dup, reposts, group, verified, flagged, \
            score in itertools.product((np.nan, 0.4, 1, 9, 400), (True, pd.NA), (pd.NA, 1, 4000),
                                       (np.nan, 0.5, 444), (0, 1, 30), (0.0, 0.3), (0.0, 0.6),
                                       groups, (True, False), (True, False), (np.nan, 0.91)):
        row = SimpleNamespace(account_age_days=age, default_avatar=avatar,
                              following_count=following, following_per_day=per_day,
                              near_duplicate_share=dup, bot_score=score)
        out.append(_bot_sentence(row, flagged, verified, n_posts, reposts, group))
    return out


EVIDENCE = {name: functools.cache(make) for name, make in {
    "bio": bio_sentences, "toxicity": toxicity_sentences, "topic": topic_sentences,
    "language": language_sentences, "ratio": ratio_sentences, "bot": bot_sentences,
}.items()}


def every_reason() -> list[str]:
    """Every reason :func:`pipeline.model.reasons.reason_text` builds: each head state of
    each criterion with no evidence and with every evidence sentence of that criterion."""
    out = []
    evidence = {crit: sorted(set(make())) for crit, make in EVIDENCE.items()}
    for crit, push, flag in CASES:
        for text in [None, *evidence.get(crit, [])]:
            out.append(reasons.reason_text(crit, push, text, flag))
    return out


# --------------------------------------------------------------------------- the checks

# The nouns the evidence counts: a count before one of them must agree with it.
COUNTED_NOUNS = {"post", "text", "bio", "day", "follower", "time", "account", "repost"}
MODALS = {"can't", "can", "cannot", "could", "won't", "will"}
ADVERBS = {"rarely", "never", "often", "always"}
PLACEHOLDER = re.compile(r'"[^"]*"')


@functools.cache
def _singular(word: str) -> str | bool:
    return ENGINE.singular_noun(word)  # False for a word that is singular already


def _is_plural_noun(word: str) -> bool:
    return _singular(word) is not False


def count_errors(text: str) -> list[str]:
    """"1 posts", "2 post": a count that does not agree with its noun."""
    errors = []
    for number, word in re.findall(r"(?<![\d.,%])(\d[\d,]*)(?![\d.,%]) (\w+)", text):
        singular = _singular(word) or word
        if singular not in COUNTED_NOUNS:
            continue
        n = int(number.replace(",", ""))
        if (n == 1) == _is_plural_noun(word):
            errors.append(f"{number} {word}")
    return errors


# The verbs the heads use (and the ones people tripped on), in both numbers.
VERBS = {"make", "makes", "is", "are", "isn't", "aren't", "say", "says", "doesn't", "don't",
         "look", "looks", "match", "matches", "follow", "follows", "weigh", "weighs", "read",
         "reads", "tell", "tells", "count", "counts", "have", "has", *MODALS}
# Words after which a noun phrase's head noun is over: "the tone of ...", "the languages you
# write in" (a relative clause).
HEAD_ENDS = {"of", "you", "I", "that", "which", "who"}


def subject_verb_error(head: str) -> str | None:
    """The head's subject and its first verb disagree in number (None when they agree)."""
    words = PLACEHOLDER.sub("X", head).split()
    verb_at = next((i for i, w in enumerate(words) if i and w in VERBS), None)
    if verb_at is None:
        return f"no verb found in {head!r}"
    subject, verb = words[:verb_at], words[verb_at]
    while subject and subject[-1] in ADVERBS:
        subject = subject[:-1]
    if verb in MODALS:
        return None
    text = " ".join(subject)
    if subject in (["I"], ["you"]):
        plural = True  # "I make", "you make": the verb's plain form
    elif "and" in subject:
        plural = True
    elif subject[0] in ("what", "who"):
        plural = False  # a clause is singular
    else:
        end = next((i for i, w in enumerate(subject) if i and w in HEAD_ENDS), len(subject))
        plural = _is_plural_noun(subject[end - 1])
    agrees = (ENGINE.plural_verb(verb) == verb) == plural
    return None if agrees else f"{text!r} with {verb!r} in {head!r}"


def test_the_heads_are_exactly_the_words_a_person_reads():
    assert set(all_heads().values()) == EXPECTED_HEADS


@pytest.mark.parametrize("head", sorted(EXPECTED_HEADS))
def test_each_head_agrees_in_number(head):
    assert subject_verb_error(head) is None


def test_the_checker_catches_the_sentences_people_tripped_on():
    assert subject_verb_error("your follower numbers weighs against following back")
    assert subject_verb_error("your profile and posting pattern makes me less likely")
    assert subject_verb_error("your bio make me less likely to follow back")
    assert subject_verb_error("the tone of your posts make me less likely to follow back")
    assert subject_verb_error("your posts looks offensive")
    assert count_errors("similarity 0.12 to my posts over 1 posts") == ["1 posts"]
    assert count_errors("account 1 days old; 3 of 30 texts toxic") == ["1 days"]
    assert count_errors("of the 1 bios I decided on") == ["1 bios"]
    assert count_errors("follows 4,000 (444 a day); 2 post") == ["2 post"]
    assert count_errors("max toxicity 0.93; 30% reposts; ratio 0.002; 1 of 1 text") == []


@pytest.mark.parametrize("criterion", sorted(EVIDENCE))
def test_every_evidence_sentence_counts_in_agreement(criterion):
    sentences = EVIDENCE[criterion]()
    assert len(set(sentences)) >= 5
    bad = sorted({e for s in sentences for e in count_errors(s)})
    assert not bad, bad


@pytest.mark.parametrize("criterion", sorted(EVIDENCE))
def test_evidence_speaks_of_the_follower_in_the_third_person(criterion):
    """The head speaks to the follower ("your posts"); the evidence is the person's note about
    them: "I" and "my" are the person, never "you" (which the head gives the follower)."""
    for sentence in set(EVIDENCE[criterion]()):
        plain = PLACEHOLDER.sub("X", sentence)
        assert not re.search(r"\b(you|your|yours)\b", plain, re.IGNORECASE), sentence
        assert "  " not in sentence and not sentence.endswith((";", ",", " ")), sentence


def test_every_reason_is_well_formed_and_maps_back_to_its_criterion():
    built = every_reason()
    assert len(built) > 10_000  # the bot evidence alone has thousands of branch combinations
    for reason in built:
        head, _, evidence = reason.partition(" — ")
        assert head in EXPECTED_HEADS, reason
        assert " — " not in evidence  # one separator: the head is found again
        assert "weighs" not in reason and "your about" not in reason
        assert not count_errors(reason), reason
    for crit, push, flag in CASES:
        reason = reasons.reason_text(crit, push, "some evidence", flag)
        assert reasons.criterion_of_phrase(reason) == crit, reason


def test_words_written_by_earlier_versions_still_map_to_their_criteria():
    old = {"you have no about — empty bio": "bio",
           "your about weighs against following back — bio: \"x\"": "bio",
           "your follower numbers weighs for following back": "ratio",
           "your following-to-follower ratio is low": "ratio",
           "your content isn't relevant to my interests": "topic",
           "you don't play the ratio game": "ratio"}
    for text, crit in old.items():
        assert reasons.criterion_of_phrase(text) == crit, text
    assert reasons.criterion_of_phrase("something else entirely") is None


def test_neutral_words_for_every_criterion_say_the_direction_only():
    for crit, noun in CRITERIA_NEUTRAL.items():
        against = reasons.phrase(crit, -1.0, pd.NA)
        assert against.startswith(noun) and against.endswith("less likely to follow back")
        assert reasons.phrase(crit, 1.0, pd.NA).endswith("more likely to follow back")
