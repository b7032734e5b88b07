"""Readability on short texts: platform language tags ahead of lingua, and the account's posts
pooled so a short bio does not decide alone; the tags' way from Mastodon and Bluesky into the
model's input frame."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.data.frame import account_frame
from pipeline.features.language import FEATURES, Readability, tag_language

GERMAN = ["Heute habe ich zum ersten Mal ein Roggenbrot mit Sauerteig gebacken.",
          "Am Wochenende fahren wir mit dem Rad an der Elbe entlang."]


def _frame(accounts: list[dict]) -> pd.DataFrame:
    """``accounts``: dicts of ``bio`` and ``posts`` as ``(text, language tag or None)``."""
    acc_rows, post_rows = [], []
    for i, acc in enumerate(accounts):
        acc_rows.append({"platform": "mastodon", "account_id": f"a{i}", "handle": f"u{i}",
                         "bio": acc.get("bio"), "is_private": False})
        for j, (text, tag) in enumerate(acc.get("posts", [])):
            post_rows.append({"account_id": f"a{i}", "post_id": f"a{i}-{j}", "text": text,
                              "kind": "post", "language": tag,
                              "created_at": pd.Timestamp("2024-05-01", tz="UTC")
                              - pd.Timedelta(days=j)})
    return account_frame(pd.DataFrame(acc_rows), pd.DataFrame(post_rows) if post_rows else None)


@pytest.mark.parametrize("tag, code", [("en", "en"), ("en-US", "en"), ("pt_BR", "pt"),
                                       ("DE", "de"), ("und", None), ("", None), (None, None),
                                       (3, None)])
def test_tag_language(tag, code):
    assert tag_language(tag) == code


def test_tags_reach_the_post_dicts_only_where_given():
    frame = _frame([{"posts": [("Guten Morgen", "de"), ("hello", None)]}])
    posts = frame.loc[0, "posts"]
    by_text = {p["text"]: p for p in posts}
    assert by_text["Guten Morgen"]["language"] == "de"
    assert "language" not in by_text["hello"]


@pytest.mark.slow
def test_a_tag_decides_ahead_of_detection(lingua_detector):
    # One short word: lingua alone is unsure; the client said German, and Spanish.
    X = _frame([{"posts": [("Brot!", "de")]},
                {"posts": [("Hola amigos", "es"), ("ok", "es")]}])
    est = Readability(languages=["en", "de"], pool=False, show_progress=False).fit(X)
    out = pd.DataFrame(est.transform(X), columns=FEATURES)
    assert out.loc[0, "lang_readable_share"] == 1.0 and out.loc[0, "lang_unknown_share"] == 0
    assert out.loc[1, "lang_unreadable_share"] == 1.0 and out.loc[1, "lang_unknown_share"] == 0
    untagged = Readability(languages=["en", "de"], use_tags=False, pool=False,
                           show_progress=False).fit(X)
    before = pd.DataFrame(untagged.transform(X), columns=FEATURES)
    assert before.loc[1, "lang_unknown_share"] > 0  # "ok" alone is no language
    ev = est.evidence(X)
    assert ev.loc[1, "n_tagged"] == 2 and "platform's language tag" in ev.loc[1, "summary"]


@pytest.mark.slow
def test_pooling_gives_a_short_bio_the_accounts_language(lingua_detector):
    X = _frame([{"bio": "Bäckerin", "posts": [(t, None) for t in GERMAN]},
                {"bio": "Bäckerin", "posts": []}])
    alone = Readability(languages=["en"], pool=False, show_progress=False).fit(X)
    pooled = Readability(languages=["en"], show_progress=False).fit(X)
    before = pd.DataFrame(alone.transform(X), columns=FEATURES)
    after = pd.DataFrame(pooled.transform(X), columns=FEATURES)
    # The one-word bio alone is unknown (or a guess); with its German posts it is German,
    # which an English-only reader cannot read.
    assert after.loc[0, "lang_bio_unreadable"] == 1.0
    assert before.loc[0, "lang_bio_unreadable"] + before.loc[0, "lang_bio_readable"] <= 1.0
    assert pooled.evidence(X).loc[0, "bio_language"] == "German"


@pytest.mark.slow
def test_pooling_fills_short_posts_from_the_others(lingua_detector):
    posts = [(t, None) for t in GERMAN] + [("Danke!", None), ("Super", None)]
    X = _frame([{"posts": posts}])
    before = pd.DataFrame(Readability(languages=["en", "de"], pool=False, show_progress=False)
                          .fit_transform(X), columns=FEATURES)
    after = pd.DataFrame(Readability(languages=["en", "de"], show_progress=False)
                         .fit_transform(X), columns=FEATURES)
    assert after.loc[0, "lang_unknown_share"] < before.loc[0, "lang_unknown_share"]
    assert after.loc[0, "lang_unknown_share"] == 0.0
    assert after.loc[0, "lang_readable_share"] == 1.0


@pytest.mark.slow
def test_emoji_only_texts_stay_unknown_when_pooled(lingua_detector):
    X = _frame([{"bio": "🌻✨", "posts": [(t, None) for t in GERMAN] + [("🍞🍞", None)]}])
    est = Readability(languages=["en", "de"], show_progress=False).fit(X)
    out = pd.DataFrame(est.transform(X), columns=FEATURES)
    assert out.loc[0, "lang_unknown_share"] == pytest.approx(1 / 3)
    assert out.loc[0, "lang_bio_readable"] == 0.0 and out.loc[0, "lang_bio_unreadable"] == 0.0


@pytest.mark.parametrize("folder, tagged", [("bluesky", "en"), ("mastodon", "en")])
def test_mastodon_and_bluesky_tags_become_the_language_column(fixtures, tmp_path, folder,
                                                               tagged):
    from pipeline.core.config import Source
    from pipeline.data.ingest import ingest

    result = ingest([Source(path=fixtures / "ingest" / folder)], tmp_path)
    posts = result.tables["posts"].frame
    assert "language" in posts.columns
    assert (posts["language"] == tagged).sum() >= 1
