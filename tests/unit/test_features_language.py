"""Readability: "I can't read your posts"."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer

from pipeline.features.language import (
    FEATURES,
    LanguageIdentifier,
    Readability,
    clean_for_detection,
    language_name,
)

COLUMNS = ["bio", "posts", "is_private"]

SPANISH = [
    "Hoy he horneado un pan de masa madre increíble, la miga quedó perfecta.",
    "Mañana salimos en bici por la sierra, ¿alguien se apunta?",
    "Las tomateras del balcón ya están dando fruto este verano.",
    "No hay nada como el olor del pan recién hecho por la mañana.",
]
ENGLISH = [
    "Baked a rye loaf this morning and the whole flat smells amazing.",
    "Anyone up for a long ride along the river this Saturday?",
    "The balcony tomatoes are finally ripe after weeks of waiting.",
]
GERMAN = [
    "Heute habe ich zum ersten Mal ein Roggenbrot mit Sauerteig gebacken.",
    "Am Wochenende fahren wir mit dem Rad an der Elbe entlang.",
]
RUSSIAN = [
    "Сегодня испекла хлеб на закваске, получилось очень вкусно.",
    "Завтра едем на велосипеде за город, погода обещает быть хорошей.",
    "На балконе наконец-то покраснели помидоры.",
]


def _frame(make_accounts):
    return make_accounts([
        {"bio": "Panadera en Sevilla, amante de la bici", "posts": SPANISH},        # 0
        {"bio": "Home baker and cyclist who writes about bread and long rides", "posts": ENGLISH},
        {"bio": "Bäckerin aus Leipzig", "posts": GERMAN},                             # 2
        {"bio": None, "is_private": True, "posts": []},                               # 3
        {"bio": "🍞🚲", "posts": ["lol", "😂😂", "https://t.co/xyz", "ok"]},          # 4
        {"bio": None, "posts": []},                                                   # 5
        {"bio": "Пеку хлеб", "posts": RUSSIAN * 9 + ENGLISH[:1]},                     # 6
    ])[COLUMNS]


def test_cleaning_drops_links_and_mentions():
    assert clean_for_detection("@maya look #sourdough https://x.co/a bit.ly/b") == "look sourdough"


def test_language_names():
    assert language_name("ru") == "Russian" and language_name("de") == "German"
    assert language_name(None) is None


@pytest.mark.slow
def test_spanish_only_account_is_unreadable_for_an_english_reader(make_accounts, lingua_detector):
    X = _frame(make_accounts)
    out = pd.DataFrame(Readability(languages=["en"], show_progress=False).fit_transform(X),
                       columns=FEATURES)
    assert out.loc[0, "lang_readable_share"] == 0.0
    assert out.loc[0, "lang_unreadable_share"] == 1.0
    assert out.loc[0, "lang_bio_unreadable"] == 1.0
    assert out.loc[1, "lang_readable_share"] == 1.0 and out.loc[1, "lang_bio_readable"] == 1.0
    # The same Spanish account reads fine for someone who reads Spanish.
    es = Readability(languages=["en", "es"], show_progress=False).fit_transform(X)
    assert es[0, 0] == 1.0


@pytest.mark.slow
def test_german_counts_as_readable_for_the_persona(make_accounts, lingua_detector):
    X = _frame(make_accounts)
    out = Readability(languages=["en", "de"], show_progress=False).fit_transform(X)
    assert out[2, 0] == 1.0 and out[2, 3] == 1.0
    only_en = Readability(languages=["en"], show_progress=False).fit_transform(X)
    assert only_en[2, 0] == 0.0


@pytest.mark.slow
def test_private_and_no_posts_are_explicit(make_accounts, lingua_detector):
    X = _frame(make_accounts)
    out = pd.DataFrame(Readability(languages=["en"], show_progress=False).fit_transform(X),
                       columns=FEATURES)
    assert np.isfinite(out.to_numpy()).all()
    assert out.loc[3].to_dict() == {
        "lang_readable_share": 0.0, "lang_unreadable_share": 0.0, "lang_unknown_share": 0.0,
        "lang_bio_readable": 0.0, "lang_bio_unreadable": 0.0,
        "lang_is_private": 1.0, "lang_no_posts": 1.0}
    assert out.loc[5, "lang_no_posts"] == 1.0 and out.loc[5, "lang_is_private"] == 0.0
    assert out.loc[0, "lang_no_posts"] == 0.0


@pytest.mark.slow
def test_unidentifiable_posts_are_unknown_not_unreadable(make_accounts, lingua_detector):
    X = _frame(make_accounts)
    out = pd.DataFrame(Readability(languages=["en"], show_progress=False).fit_transform(X),
                       columns=FEATURES)
    assert out.loc[4, "lang_unknown_share"] == 1.0
    assert out.loc[4, "lang_unreadable_share"] == 0.0 and out.loc[4, "lang_readable_share"] == 0.0
    assert out.loc[4, "lang_bio_unreadable"] == 0.0


@pytest.mark.slow
def test_min_confidence_moves_texts_to_unknown(make_accounts, lingua_detector):
    X = _frame(make_accounts)
    strict = Readability(languages=["en"], min_confidence=1.0, show_progress=False).fit_transform(X)
    lax = Readability(languages=["en"], min_confidence=0.0, show_progress=False).fit_transform(X)
    assert strict[:, 2].sum() > lax[:, 2].sum()


@pytest.mark.slow
def test_likes_are_not_read_by_default(make_accounts, lingua_detector):
    X = make_accounts([{"posts": [(t, "like") for t in SPANISH] + ENGLISH[:1]}])[COLUMNS]
    default = Readability(languages=["en"], show_progress=False).fit_transform(X)
    assert default[0, 0] == 1.0
    with_likes = Readability(languages=["en"], kinds=["post", "like"],
                             show_progress=False).fit_transform(X)
    assert with_likes[0, 0] == pytest.approx(1 / 5)


@pytest.mark.slow
def test_evidence_names_the_unreadable_language(make_accounts, lingua_detector):
    X = _frame(make_accounts)
    ev = Readability(languages=["en", "de"], show_progress=False).fit(X).evidence(X)
    assert ev.loc[6, "summary"] == "27 of 28 posts in Russian"
    assert ev.loc[6, "unreadable_language"] == "Russian" and ev.loc[6, "unreadable_count"] == 27
    assert ev.loc[6, "n_readable"] == 1 and ev.loc[6, "bio_language"] == "Russian"
    assert ev.loc[3, "summary"] == "private account: its posts cannot be read"
    assert ev.loc[2, "summary"] == "2 of 2 posts in German"
    assert ev.loc[4, "n_identified"] == 0 and "could not be identified" in ev.loc[4, "summary"]


@pytest.mark.slow
def test_rerun_computes_nothing_new(make_accounts, lingua_detector, tmp_path):
    X = _frame(make_accounts)
    first = Readability(languages=["en"], cache_dir=tmp_path, show_progress=False)
    a = first.fit_transform(X)
    assert first.cache_stats()["computed"] > 0
    second = Readability(languages=["en"], cache_dir=tmp_path, show_progress=False)
    b = second.fit_transform(X)
    stats = second.cache_stats()
    assert stats["misses"] == 0 and stats["computed"] == 0 and stats["hits"] > 0
    np.testing.assert_array_equal(a, b)
    # Another candidate set is another producer: it must not reuse those results.
    third = Readability(languages=["en"], candidates=["en", "es"], cache_dir=tmp_path,
                        show_progress=False)
    third.fit_transform(X)
    assert third.cache_stats()["hits"] == 0


@pytest.mark.slow
def test_sklearn_conventions(make_accounts, lingua_detector):
    X = _frame(make_accounts)
    est = Readability(languages=["en"], show_progress=False)
    assert clone(est).get_params() == est.get_params()
    est.set_params(languages=["en", "de"])
    fitted = est.fit(X)
    np.testing.assert_array_equal(clone(est).fit_transform(X), fitted.transform(X))
    assert fitted.transform(X).shape[1] == len(fitted.get_feature_names_out())
    blob = pickle.dumps(fitted)
    assert len(blob) < 5_000
    np.testing.assert_array_equal(pickle.loads(blob).transform(X), fitted.transform(X))
    out = clone(est).set_output(transform="pandas").fit_transform(X)
    assert list(out.columns) == FEATURES and list(out.index) == list(X.index)


@pytest.mark.slow
def test_in_a_column_transformer(make_accounts, lingua_detector):
    frame = _frame(make_accounts).assign(handle="x")
    ct = ColumnTransformer([("language", Readability(languages=["en"], show_progress=False),
                             COLUMNS)]).set_output(transform="pandas")
    out = ct.fit_transform(frame)
    assert list(out.columns) == [f"language__{f}" for f in FEATURES]


@pytest.mark.slow
def test_person_languages_join_the_candidates(lingua_detector):
    est = Readability(languages=["en", "pl"], candidates=["en", "es"]).fit(
        pd.DataFrame({"posts": [[]]}))
    assert est.candidates_ == ["en", "es", "pl"]
    found = LanguageIdentifier(est.candidates_, show_progress=False).identify(
        ["Dzisiaj upiekłam chleb na zakwasie i jestem z niego bardzo zadowolona."])
    assert next(iter(found.values()))[0] == "pl"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"languages": []}, "languages"),
        ({"languages": "en"}, "languages"),
        ({"languages": ["english"]}, "ISO 639-1"),
        ({"candidates": ["en", "xx"]}, "ISO 639-1"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"kinds": []}, "kinds"),
    ],
)
def test_bad_parameters_are_rejected(params, match):
    with pytest.raises(ValueError, match=match):
        Readability(**params).fit(pd.DataFrame({"posts": [[]]}))
