"""The demo generator: deterministic, valid against the contract, and planting what it says."""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.core.console import FollowbackError
from pipeline.data import schema
from pipeline.demo import TABLE_FILES, demo_config, generate
from pipeline.demo.accounts import _largest_remainder
from pipeline.demo.persona import ARCHETYPES, GENUINE

N = 300
DAY = pd.Timedelta(days=1)


def _records(table: str, path: Path) -> list[schema.Record]:
    """Raw records as an importer would read them: every CSV cell a string."""
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    else:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    return [schema.Record(table, path.name, f"line {i + 2}", row) for i, row in enumerate(rows)]


def _load(out: Path) -> dict[str, pd.DataFrame]:
    return {table: schema.validate_records(table, _records(table, out / name)).frame
            for table, name in TABLE_FILES.items()}


class Demo:
    def __init__(self, out: Path, truth_path: Path, summary) -> None:
        self.out = out
        self.summary = summary
        self.truth = json.loads(truth_path.read_text(encoding="utf-8"))
        self.tables = _load(out)
        self.archetype = {k: v["archetype"] for k, v in self.truth["accounts"].items()}

    def states(self) -> dict[str, list[tuple[bool, bool]]]:
        """Per account: (is a follower, is followed) at each snapshot, in order."""
        snaps = self.tables["snapshots"]
        times = sorted(snaps["taken_at"].unique())
        members = {(t, d): set(g["account_id"]) for (t, d), g in
                   snaps.groupby(["taken_at", "direction"])}
        empty: set[str] = set()
        followers = [members.get((t, "followers"), empty) for t in times]
        following = [members.get((t, "following"), empty) for t in times]
        return {a: [(a in f, a in g) for f, g in zip(followers, following, strict=True)]
                for a in self.truth["accounts"]}


def _unfollows_after_followback(states: list[tuple[bool, bool]]) -> int:
    """Times the account went from mutual to "I follow you, you left"."""
    return sum(1 for (f0, g0), (f1, g1) in zip(states, states[1:], strict=False)
               if f0 and g0 and not f1 and g1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    out = tmp_path_factory.mktemp("demo") / "raw"
    summary = generate(demo_config(out_dir=out, n_followers=N))
    return Demo(out, summary.truth_path, summary)


# ---- determinism and the contract --------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(demo, tmp_path):
    again = generate(demo_config(out_dir=tmp_path / "raw", n_followers=N))
    for name in TABLE_FILES.values():
        assert (tmp_path / "raw" / name).read_bytes() == (demo.out / name).read_bytes(), name
    assert again.truth_path.read_bytes() == demo.summary.truth_path.read_bytes()


def test_another_seed_gives_other_data(demo, tmp_path):
    generate(demo_config(out_dir=tmp_path / "raw", n_followers=N, seed=7))
    for name in ("accounts.csv", "posts.jsonl", "own_posts.csv", "snapshots.csv"):
        assert (tmp_path / "raw" / name).read_bytes() != (demo.out / name).read_bytes(), name


@pytest.mark.parametrize("table", list(TABLE_FILES))
def test_files_validate_against_the_contract(demo, table):
    path = demo.out / TABLE_FILES[table]
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            assert next(csv.reader(fh)) == schema.columns(table)
    result = schema.validate_records(table, _records(table, path))
    assert result.rejects == []
    assert result.duplicates == 0
    assert result.accepted == result.read == demo.summary.tables[table] > 0


def test_ids_and_references_are_consistent(demo):
    t = demo.tables
    ids = set(t["accounts"]["account_id"])
    assert len(ids) == len(t["accounts"])
    assert all(re.fullmatch(r"\d{17,19}", a) for a in ids)  # Mastodon-style snowflakes
    assert t["accounts"]["handle"].is_unique
    assert t["accounts"]["platform"].eq("mastodon").all()
    for table in ("posts", "decisions", "snapshots"):
        assert set(t[table]["account_id"]) <= ids, table
    assert set(demo.truth["accounts"]) == ids
    assert t["posts"]["post_id"].is_unique and t["own_posts"]["post_id"].is_unique
    assert t["snapshots"]["taken_at"].nunique() == 13  # months + 1
    # A follower's account exists before it follows, and its posts come after it was created.
    created = t["accounts"].set_index("account_id")["created_at"]
    first = pd.to_datetime(pd.Series({a: v["first_followed_at"] for a, v in
                                      demo.truth["accounts"].items() if v["follower"]}), utc=True)
    assert (created[first.index] < first).all()
    posts = t["posts"].join(created.rename("account_created"), on="account_id")
    assert (posts["created_at"] > posts["account_created"]).all()


def test_settings_out_of_range_are_refused(tmp_path):
    with pytest.raises(FollowbackError, match="n_followers"):
        generate(demo_config(out_dir=tmp_path / "raw", n_followers=5))


# ---- who the followers are ---------------------------------------------------------------------


def test_archetype_mix_and_decided_share(demo):
    followers = {a: v for a, v in demo.truth["accounts"].items() if v["follower"]}
    assert len(followers) == N
    assert Counter(v["archetype"] for v in followers.values()) == Counter(
        _largest_remainder(ARCHETYPES, N))
    decisions = demo.tables["decisions"]
    assert len(decisions) == round(0.6 * N)
    assert set(decisions["account_id"]) <= set(followers)
    rate = decisions.assign(arch=decisions["account_id"].map(demo.archetype)).groupby(
        "arch")["follow_back"].mean()
    assert rate["related"] > 0.7
    assert rate["spam_bot"] < 0.05 and rate["fake_follower"] < 0.05
    assert rate["foreign"] < 0.15 and rate["toxic"] < 0.2
    assert rate["unrelated"] < rate["related"] - 0.4
    assert 0.2 < decisions["follow_back"].mean() < 0.55


def test_profiles_fit_their_archetype(demo):
    acc = demo.tables["accounts"].assign(arch=lambda f: f["account_id"].map(demo.archetype))
    end = pd.Timestamp(demo.truth["snapshots"][-1])
    age_years = (end - acc["created_at"]).dt.days / 365
    by = acc.assign(age=age_years).groupby("arch")
    assert by["age"].median()["spam_bot"] < 1 and by["age"].median()["fake_follower"] < 1
    assert by["age"].median()["related"] > 1.5
    fake = acc[acc["arch"] == "fake_follower"]
    assert fake["following_count"].median() > 300 and fake["followers_count"].median() < 30
    assert by["has_default_avatar"].mean()["fake_follower"] > 0.6
    assert by["has_default_avatar"].mean()["related"] < 0.15
    f4f = acc[acc["arch"] == "follow4follow"]
    assert (np.log10((f4f["following_count"] + 1) / (f4f["followers_count"] + 1))).median() < -1
    assert acc.loc[acc["arch"] == "honest_bot", "is_bot_flagged"].all()
    assert not acc.loc[acc["arch"] != "honest_bot", "is_bot_flagged"].any()
    spam_handles = acc.loc[acc["arch"].isin(["spam_bot", "fake_follower"]), "handle"]
    assert spam_handles.str.split("@").str[0].str.contains(r"\d").mean() > 0.6
    # Mastodon has no favourites or lists count on an account.
    assert acc["likes_count"].isna().all() and acc["listed_count"].isna().all()
    assert acc["is_verified"].mean() < 0.1


def test_private_accounts_show_no_posts_and_blank_bios_say_nothing(demo):
    acc = demo.tables["accounts"]
    private = set(acc.loc[acc["is_private"], "account_id"])
    assert private and not private & set(demo.tables["posts"]["account_id"])
    blank = acc[acc["account_id"].map(demo.archetype) == "blank_bio"]
    letters = blank["bio"].fillna("").str.replace(r"https?://\S+|linktr\.ee/\S+|#\w+", "",
                                                 regex=True)
    assert not letters.str.contains(r"[A-Za-z]{4,}").any()


# ---- decisions ---------------------------------------------------------------------------------


def test_decisions_come_after_the_follow_and_spread_over_the_year(demo):
    dec = demo.tables["decisions"]
    first = pd.to_datetime(dec["account_id"].map(
        lambda a: demo.truth["accounts"][a]["first_followed_at"]), utc=True)
    assert (dec["decided_at"] > first).all()
    start, end = (pd.Timestamp(demo.truth["snapshots"][i]) for i in (0, -1))
    assert (dec["decided_at"] <= end).all()
    within = dec[dec["decided_at"] >= start]
    assert len(within) > 0.5 * len(dec)
    # Each quarter of the snapshot year holds a fair share: a time-ordered holdout makes sense.
    edges = [pd.Timestamp(demo.truth["snapshots"][i]) for i in (0, 3, 6, 9, 12)]
    quarters = pd.cut(within["decided_at"], edges).value_counts()
    assert len(quarters) == 4 and quarters.min() >= 0.1 * len(within)


def test_exceptions_are_noted(demo):
    dec = demo.tables["decisions"].set_index("account_id")
    exceptions = demo.truth["exceptions"]
    assert sum(e["kind"] == "friend" for e in exceptions) >= 2
    for e in exceptions:
        assert dec.loc[e["account_id"], "follow_back"] == e["follow_back"]
        assert dec.loc[e["account_id"], "note"] == e["note"] and e["note"]
    friends = [e for e in exceptions if e["kind"] == "friend"]
    assert all(e["follow_back"] for e in friends)
    assert all(demo.archetype[e["account_id"]] != "related" for e in friends)


def test_following_list_reflects_follow_backs(demo):
    dec = demo.tables["decisions"]
    states = demo.states()
    times = [pd.Timestamp(t) for t in demo.truth["snapshots"]]
    tricksters = {t["account_id"] for t in demo.truth["tricksters"]}
    undone = {u["account_id"]: pd.Timestamp(u["undone_at"])
              for u in demo.truth["implicit"]["undone"]}
    for row in dec.itertuples():
        followed = [g for t, (_, g) in zip(times, states[row.account_id], strict=True)
                    if t > row.decided_at and t < undone.get(row.account_id, pd.Timestamp.max
                                                              .tz_localize("UTC"))]
        if not row.follow_back:
            assert not any(g for _, g in states[row.account_id]), row.account_id
        elif row.account_id not in tricksters:
            assert all(followed), row.account_id
    # She also follows accounts that never followed her.
    never = demo.truth["following_never_followed"]
    assert never and all(not any(f for f, _ in states[a]) and states[a][-1][1] for a in never)


def test_following_list_says_more_than_her_decisions(demo):
    """Implicit decisions must be noisy on the demo, as on a real account: planted and true."""
    states = demo.states()
    times = [pd.Timestamp(t) for t in demo.truth["snapshots"]]
    implicit = demo.truth["implicit"]
    decided = set(demo.tables["decisions"]["account_id"])
    # Followed first: she follows them at a snapshot before they first follow her.
    first = [r["account_id"] for r in implicit["followed_first"]]
    assert len(first) >= 2 and not set(first) & decided
    seen_first = 0
    for a in first:
        s = states[a]
        k = next(i for i, (f, _) in enumerate(s) if f)
        seen_first += any(g for _, g in s[:k])
        assert all(g for _, g in s[k:])  # and still follows them
    assert seen_first >= len(first) // 2
    # Undone: mutual at some snapshot, later a follower she no longer follows.
    undone = implicit["undone"]
    assert any(u["recorded"] for u in undone) and any(not u["recorded"] for u in undone)
    for u in undone:
        s = states[u["account_id"]]
        mutual = [i for i, (f, g) in enumerate(s) if f and g]
        assert mutual and s[-1] == (True, False), u
        assert (u["account_id"] in decided) == u["recorded"]
        assert times[mutual[-1]] < pd.Timestamp(u["undone_at"]) <= times[mutual[-1] + 1]
    for u in undone:
        if not u["recorded"]:  # courtesy follow-backs of followers her rule would skip
            assert implicit["would_follow_back"][u["account_id"]] is False
    # Never looked at: undecided, never followed, though her rule would follow back.
    never = implicit["never_looked_at_would_follow_back"]
    assert len(never) >= 5
    for a in never:
        assert a not in decided and not any(g for _, g in states[a])
        assert implicit["would_follow_back"][a] is True
    # Her truth agrees with her recorded decisions.
    dec = demo.tables["decisions"].set_index("account_id")["follow_back"]
    assert all(implicit["would_follow_back"][a] == bool(v) for a, v in dec.items())
    assert set(implicit["looked_at"]) == decided


def test_implicit_noise_leaves_the_rest_of_the_demo_alone(tmp_path, monkeypatch):
    """The planting draws from its own stream: accounts, posts and decisions do not change."""
    from pipeline.demo.world import World

    generate(demo_config(out_dir=tmp_path / "with", n_followers=N))
    monkeypatch.setattr(World, "plant_implicit_noise", lambda self: None)
    generate(demo_config(out_dir=tmp_path / "without", n_followers=N))
    for name in ("accounts.csv", "posts.jsonl", "decisions.csv"):
        assert (tmp_path / "with" / name).read_bytes() == (tmp_path / "without" / name).read_bytes()
    assert (tmp_path / "with" / "snapshots.csv").read_bytes() != (
        tmp_path / "without" / "snapshots.csv").read_bytes()


def test_a_learned_model_beats_the_six_criteria_rule(tmp_path):
    """Decisions are no hard threshold: on the true criteria, even a small learned tree beats
    the naive rule "real, readable, has a bio, fair ratio, civil, relevant, public"."""
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    summary = generate(demo_config(out_dir=tmp_path / "raw", n_followers=1000))
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    dec = pd.read_csv(tmp_path / "raw" / "decisions.csv", dtype={"account_id": str})
    x = pd.DataFrame([truth["accounts"][a]["latent"] for a in dec["account_id"]])
    y = dec["follow_back"].astype(bool).to_numpy()
    rule = ((x["relevance"] >= 0.5) & (x["readable"] >= 0.5) & (x["bio_ok"] == 1)
            & (x["bot"] < 0.5) & (x["toxicity"] == 0) & (x["private"] == 0)
            & (x["log_ratio"] > -1)).to_numpy()
    learned = cross_val_score(DecisionTreeClassifier(max_depth=4, random_state=0), x, y, cv=5)
    assert (rule == y).mean() < learned.mean() - 0.01
    assert (rule == y).mean() > 0.7  # but the six criteria do explain most decisions


# ---- snapshots: tricksters and churn -----------------------------------------------------------


def test_tricksters_are_visible_in_the_snapshots_as_planted(demo):
    states = demo.states()
    tricksters = {t["account_id"]: t for t in demo.truth["tricksters"]}
    repeat = set(demo.truth["repeat_offenders"])
    assert len(tricksters) >= 3 and len(repeat) >= 1 and repeat <= set(tricksters)
    for account, planted in tricksters.items():
        assert demo.archetype[account] == "follow4follow"
        expected = 2 if account in repeat else 1
        assert len(planted["cycles"]) == expected
        assert _unfollows_after_followback(states[account]) == expected
        # She keeps following them after they leave: they end on her unfollow list.
        assert states[account][-1] == (False, True)
        for cycle in planted["cycles"]:
            left = pd.Timestamp(cycle["unfollowed_at"]) - pd.Timestamp(cycle["followed_back_at"])
            assert left >= 14 * DAY
    others = set(demo.truth["accounts"]) - set(tricksters)
    assert all(_unfollows_after_followback(states[a]) == 0 for a in others)


def test_refollowers_and_unrequited_unfollowers_are_not_tricksters(demo):
    states = demo.states()
    refollowers = [r["account_id"] for r in demo.truth["refollowers"]]
    assert len(refollowers) >= 2
    for account in refollowers:
        seen = [f for f, _ in states[account]]
        changes = [a != b for a, b in zip(seen, seen[1:], strict=False)]
        assert sum(changes) >= 2 and seen[-1]  # left, came back, still there
        assert not any(g for _, g in states[account])
    unfollowers = demo.truth["never_followed_back_unfollowers"]
    assert len(unfollowers) >= 10
    for account in unfollowers:
        seen = [f for f, _ in states[account]]
        assert not seen[-1] and not any(g for _, g in states[account])
        assert any(seen) or pd.Timestamp(demo.truth["accounts"][account]["first_followed_at"]) \
            < pd.Timestamp(demo.truth["snapshots"][0])


# ---- the topic effect --------------------------------------------------------------------------


def _monthly_changes(demo: Demo) -> tuple[list[int], list[int]]:
    snaps = demo.tables["snapshots"]
    followers = snaps[snaps["direction"] == "followers"]
    sets = [set(g["account_id"]) for _, g in followers.groupby("taken_at")]
    gained = [len(b - a) for a, b in zip(sets, sets[1:], strict=False)]
    lost = [len(a - b) for a, b in zip(sets, sets[1:], strict=False)]
    return gained, lost


def test_follower_gains_and_losses_respond_to_topics_only_when_planted(demo, tmp_path):
    generate(demo_config(out_dir=tmp_path / "raw", n_followers=N, topic_effect=False))
    flat = Demo(tmp_path / "raw", tmp_path / "raw_truth.json", None)
    # Same persona, same posts: only the followers' response differs.
    assert (tmp_path / "raw" / "own_posts.csv").read_bytes() == \
        (demo.out / "own_posts.csv").read_bytes()
    assert demo.truth["topic_effect"]["enabled"] and not flat.truth["topic_effect"]["enabled"]
    assert demo.truth["topic_effect"]["gains_respond_to"] == "cycling"
    assert demo.truth["topic_effect"]["losses_respond_to"] == "gardening"

    def corr(d: Demo) -> tuple[float, float]:
        gained, lost = _monthly_changes(d)
        months = d.truth["topic_effect"]["months"]
        cycling = [m["share"]["cycling"] for m in months]
        gardening = [m["share"]["gardening"] for m in months]
        return np.corrcoef(gained, cycling)[0, 1], np.corrcoef(lost, gardening)[0, 1]

    gain_effect, loss_effect = corr(demo)
    gain_flat, loss_flat = corr(flat)
    assert gain_effect > 0.6 and loss_effect > 0.4
    assert abs(gain_flat) < 0.5 and abs(loss_flat) < 0.5
    assert gain_effect - gain_flat > 0.3 and loss_effect - loss_flat > 0.3
    # The posting mix varies strongly from month to month.
    shares = pd.DataFrame([m["share"] for m in demo.truth["topic_effect"]["months"]])
    assert (shares.max() - shares.min()).min() > 0.4


# ---- texts -------------------------------------------------------------------------------------


def _beginning(text: str, words: int = 3) -> str:
    return " ".join(re.sub(r"^@\S+\s+", "", text).lower().split()[:words])


def test_texts_are_varied_and_natural(demo):
    posts = demo.tables["posts"].assign(arch=lambda f: f["account_id"].map(demo.archetype))
    genuine = posts[posts["arch"].isin(GENUINE) & (posts["kind"] == "post")]
    assert len(genuine) > 1000
    assert genuine["text"].nunique() / len(genuine) > 0.97
    beginnings = genuine["text"].map(_beginning)
    assert beginnings.nunique() > 500
    assert beginnings.value_counts().iloc[0] / len(genuine) < 0.02  # no dominant template
    own = demo.tables["own_posts"]["text"]
    assert own.is_unique and own.map(_beginning).nunique() > 120
    sentences = {s for t in own for s in re.split(r"(?<=[.!?])\s+", t)}
    assert len(sentences) > 250
    every = pd.concat([posts["text"], own, demo.tables["accounts"]["bio"].dropna()])
    assert not every.str.contains(r"\{\w+\}").any()  # no unfilled slot
    assert every.str.len().max() < 500  # Mastodon's limit


def test_bots_repeat_themselves(demo):
    posts = demo.tables["posts"].assign(arch=lambda f: f["account_id"].map(demo.archetype))
    spam = posts[posts["arch"] == "spam_bot"]["text"]
    noise = r"https?://\S+|@\S+|\d[\d,]*|\$\w+|#\w+"  # links, mentions, amounts, coins, tags
    skeleton = spam.str.replace(noise, "", regex=True).str.strip()
    assert skeleton.nunique() / len(skeleton) < 0.1
    # Posting bursts at the same minute of the hour.
    minutes = posts[posts["arch"] == "spam_bot"].groupby("account_id")["created_at"].agg(
        lambda s: s.dt.minute.nunique())
    assert minutes.median() <= 2


@pytest.mark.slow
def test_foreign_posts_are_in_their_language(demo):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = ["en", "de", "es", "pt", "fr", "it", "ru", "ja", "tr", "nl"]
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(
        *[getattr(IsoCode639_1, c.upper()) for c in codes]).build()
    posts = demo.tables["posts"]
    language = {a: v["language"] for a, v in demo.truth["accounts"].items()}
    foreign = posts[posts["account_id"].map(demo.archetype).eq("foreign")
                    & posts["kind"].eq("post")]
    expected = foreign["account_id"].map(language)
    clean = foreign["text"].str.replace(r"https?://\S+|@\S+|#\S+", " ", regex=True)
    found = [r.iso_code_639_1.name.lower() if r else None
             for r in detector.detect_languages_in_parallel_of(list(clean))]
    found = pd.Series(found, index=foreign.index)
    assert expected.nunique() == 7
    assert (found == expected).mean() > 0.9
    # The rest are the English posts of bilingual accounts, never another language.
    assert found[found != expected].eq("en").all()
    # Every one of the seven languages really is there.
    assert (found[found == expected].value_counts() >= 10).sum() == 7


def test_some_followers_write_about_her_topics_in_german_and_others_in_foreign_languages(demo):
    """Relevance across languages and readability are separate signals: German followers on
    her topics (readable and relevant), and foreign-language followers whose timelines she
    cannot read."""
    accounts = demo.truth["accounts"]
    followers = {a: v for a, v in accounts.items() if v["follower"]}
    german_on_topic = [a for a, v in followers.items() if v["language"] == "de"
                       and (v["latent"] or {}).get("relevance", 0) >= 0.5]
    foreign = [a for a, v in followers.items() if v["language"] not in ("en", "de")
               and (v["latent"] or {}).get("readable", 1) < 0.5]
    assert len(german_on_topic) >= 0.05 * len(followers)
    assert 0.03 * len(followers) <= len(foreign) <= 0.3 * len(followers)
    posts = demo.tables["posts"]
    german_posts = posts[posts["account_id"].isin(german_on_topic) & posts["kind"].eq("post")]
    words = german_posts["text"].str.lower()
    assert words.str.contains("brot|sauerteig|rad|garten|tomaten|teig").mean() > 0.3


def test_foreign_language_posts_on_her_topics_count_as_relevant_in_the_truth(demo):
    """A Spanish post about sourdough is on her topic although she cannot read it: the truth
    marks such followers relevant and unreadable, and never counts an on-topic text as off-topic."""
    from pipeline.demo.text import foreign

    accounts = demo.truth["accounts"]
    followers = {a: v for a, v in accounts.items() if v["follower"]}
    unreadable = {a: v for a, v in followers.items() if v["language"] not in ("en", "de")
                  and (v["latent"] or {}).get("readable", 1) < 0.5}
    relevant = [a for a, v in unreadable.items() if v["latent"]["relevance"] >= 0.4]
    irrelevant = [a for a, v in unreadable.items() if v["latent"]["relevance"] == 0]
    assert len(relevant) >= 5 and len(irrelevant) >= 5
    on_topic = {body for lang in foreign.ON_TOPIC for pool in foreign.ON_TOPIC[lang].values()
                for body in pool["bodies"]}
    # The off-topic pool really has no on-topic entry, and the on-topic pools are not empty.
    for lang, pool in foreign.OFF_TOPIC.items():
        assert not on_topic & set(pool["bodies"]), lang
        assert all(foreign.ON_TOPIC[lang][t]["bodies"] for t in foreign.TOPICS)
    posts = demo.tables["posts"]
    own = posts["kind"].isin(["post", "reply"])

    def has_on_topic(ids):
        texts = posts.loc[own & posts["account_id"].isin(ids), "text"]
        return texts.map(lambda t: any(b in t for b in on_topic))

    assert not has_on_topic(irrelevant).any()
    assert has_on_topic(relevant).mean() > 0.3


def test_posts_carry_mastodon_style_language_tags(demo):
    from pipeline.demo.accounts import demo_language_tag

    posts = demo.tables["posts"]
    own = posts[posts["kind"].ne("like")]
    lang = own["account_id"].map(lambda a: demo.truth["accounts"][a]["language"])
    tagged = own["language"].notna()
    # Some clients tag, some do not; likes are never tagged.
    assert 0.3 < tagged.mean() < 0.8
    assert posts.loc[posts["kind"].eq("like"), "language"].isna().all()
    # Most tags are the post's language; a few clients are stuck on English.
    german = tagged & lang.eq("de")
    assert (own.loc[german, "language"] == "de").mean() > 0.7
    assert (own.loc[german, "language"] == "en").any() or german.sum() < 20
    # The same account always gets the same kind of client.
    assert demo_language_tag("x1", "post", "de") == demo_language_tag("x1", "reply", "de")


@pytest.mark.slow
def test_offensive_accounts_are_flagged_by_a_profanity_model(demo):
    from profanity_check import predict_prob

    posts = demo.tables["posts"]
    arch = posts["account_id"].map(demo.archetype)
    lang = posts["account_id"].map(lambda a: demo.truth["accounts"][a]["language"])
    written = posts["kind"].isin(["post", "reply"]) & lang.eq("en")
    toxic = posts[written & arch.eq("toxic")]["text"]
    related = posts[written & arch.eq("related")]["text"]
    assert (predict_prob(list(toxic)) > 0.5).mean() > 0.25
    assert (predict_prob(list(related)) > 0.5).mean() < 0.02
    per_account = posts[written & arch.eq("toxic")].assign(
        p=lambda f: predict_prob(list(f["text"]))).groupby("account_id")["p"].max()
    assert (per_account > 0.5).mean() > 0.8


# ---- command line ------------------------------------------------------------------------------


def test_cli_writes_the_dataset_and_prints_counts(tmp_path):
    from pipeline.cli import app

    params = tmp_path / "params.yaml"
    params.write_text("user:\n  handle: maya.bakes\n  languages: [en, de]\n", encoding="utf-8")
    out = tmp_path / "raw" / "demo"
    result = CliRunner().invoke(app, ["demo", "--params", str(params), "--n-followers", "60",
                                      "--out", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert all((out / name).is_file() for name in TABLE_FILES.values())
    truth = json.loads((tmp_path / "raw" / "demo_truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == 3 and truth["n_followers"] == 60
    assert "accounts.csv" in result.output and "decided" in result.output
    assert math.isclose(len(pd.read_csv(out / "decisions.csv")), 36)
