"""The Mastodon importer: Account and Status entities of the REST API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Source
from pipeline.data.ingest import ingest, mastodon
from pipeline.data.ingest._common import html_to_text

COUNT_NAMES = ("read", "accepted", "rejected", "duplicates")


@pytest.fixture(scope="module")
def folder(fixtures: Path) -> Path:
    return fixtures / "ingest" / "mastodon"


def run(path: Path, out: Path):
    result = ingest([Source(path=path, format="mastodon")], out)
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    return result, rejects


def counts(result, table: str) -> tuple[int, ...]:
    return next(r for r in result.summary() if r[0] == table)[1:]


def test_accounts_counts_and_rejects(folder, tmp_path):
    result, rejects = run(folder / "followers.json", tmp_path)
    assert counts(result, "accounts") == (8, 3, 4, 1)
    assert [(r.location, r.table, r.reason) for r in rejects.itertuples()] == [
        ("record 4", "accounts", "account_id: required field is missing"),
        ("record 5", "accounts",
         "followers_count: Input should be a valid integer, unable to parse string as an integer"),
        ("record 6", "accounts", "created_at: unparseable date 'yesterday'"),
        ("record 8", "accounts", "not a Mastodon Account or Status entity: int"),
    ]
    assert set(rejects.source) == {str(folder / "followers.json")}
    assert json.loads(rejects.raw[0])["handle"] == "noid@example.social"
    assert rejects.raw[3] == "42"


def test_account_fields_are_mapped(folder, tmp_path):
    result, _ = run(folder / "followers.json", tmp_path)
    accounts = result.tables["accounts"].frame.set_index("account_id")
    knead = accounts.loc["109283749201"]
    # The duplicate read last (newer counts) is kept.
    assert (knead.followers_count, knead.posts_count) == (430, 1544)
    assert knead.handle == "kneadtoknow@bread.social"
    assert knead.last_post_at == pd.Timestamp("2024-05-09", tz="UTC")
    assert knead.platform == "mastodon"
    assert not knead.is_bot_flagged and not knead.is_private and not knead.has_default_avatar
    # Mastodon has none of these: they stay null.
    assert pd.isna(knead.likes_count) and pd.isna(knead.is_verified) and pd.isna(knead.location)
    bot = accounts.loc["110004555123"]
    assert bot.is_bot_flagged and bot.has_default_avatar
    assert bot.bio == "A random baking tip every 4 hours. Run by @kneadtoknow"
    locked = accounts.loc["109774120087"]
    assert locked.is_private and pd.isna(locked.last_post_at)


def test_note_html_becomes_text_with_line_breaks(folder):
    first = next(mastodon.read(folder / "followers.json"))
    assert first.data["bio"] == ("Sourdough nerd. Rye, spelt & wild yeast.\nBaking in Leipzig 🥖"
                                 "\n\nPosts in English and German.")


def test_fields_and_other_platform_fields_go_to_extra(folder):
    first = next(mastodon.read(folder / "followers.json"))
    assert first.extra["fields"][0] == {"name": "Blog", "value": "https://kneadtoknow.de",
                                        "verified_at": "2023-01-10T12:00:00.000+00:00"}
    assert first.extra["username"] == "kneadtoknow"
    assert first.extra["discoverable"] is True
    assert "note" not in first.extra and "followers_count" not in first.extra


def test_statuses_kinds_text_and_embedded_account(folder, tmp_path):
    result, rejects = run(folder / "statuses.json", tmp_path)
    assert counts(result, "posts") == (5, 3, 2, 0)
    assert counts(result, "accounts") == (1, 1, 0, 0)  # the poster, once per file
    assert [(r.location, r.table, r.reason) for r in rejects.itertuples()] == [
        ("record 4", "posts", "account_id: required field is missing"),
        ("record 5", "posts", "created_at: unparseable date '2024-13-45T99:00:00.000Z'"),
    ]
    posts = result.tables["posts"].frame.set_index("post_id")
    assert posts.kind.to_dict() == {"112389120001": "post", "112389120002": "repost",
                                    "112389120003": "reply"}
    assert posts.loc["112389120001", "text"] == (
        "Day 3 of the rye starter: bubbly, smells of green apples.\n\n"
        "Feeding 1:5:5 tonight. #sourdough")
    # A reblog's text is the reblogged status's content.
    assert posts.loc["112389120002", "text"] == (
        "Bike touring the Alps on 40mm tyres:\npacking list thread 🧵")
    assert posts.loc["112389120003", "text"] == "@maya try a longer bulk ferment!"
    assert set(posts.account_id) == {"109283749201"}
    # The reblogged author is not a follower: not imported as an account.
    assert result.tables["accounts"].frame.account_id.tolist() == ["109283749201"]
    extra = pd.read_parquet(tmp_path / "posts_extra.parquet").set_index("post_id")
    reblog_extra = json.loads(extra.loc["112389120002", "extra"])
    assert reblog_extra["reblog"]["acct"] == "gravelgrrl@cycling.social"
    # The status's language tag is a contract column now; a reblog takes the reblogged one's.
    assert "language" not in reblog_extra
    assert posts.loc["112389120002", "language"] == "en"


def test_malformed_json_line_is_rejected_and_the_rest_read(folder, tmp_path):
    result, rejects = run(folder / "statuses_stream.jsonl", tmp_path)
    assert counts(result, "posts") == (4, 2, 1, 1)
    assert counts(result, "accounts") == (1, 1, 0, 0)
    [reject] = rejects.itertuples()
    # The broken first line is put in the table the file's other records hold.
    assert (reject.location, reject.table) == ("line 1", "posts")
    assert reject.reason.startswith("malformed JSON: Unterminated string")
    assert reject.raw.startswith('{"id": "112400000001"')
    posts = result.tables["posts"].frame.set_index("post_id")
    assert posts.loc["112400000002", "text"] == "Tomato seedlings are in (edited)."


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<p>line<br>break<br/>again</p>", "line\nbreak\nagain"),
        ("<p>Bread &amp; bikes</p>", "Bread & bikes"),
        ("plain text", "plain text"),
        ('<p><a href="https://example.org/a/very/long/path"><span class="invisible">https://'
         '</span><span class="ellipsis">example.org/a/very</span><span class="invisible">'
         '/long/path</span></a></p>', "https://example.org/a/very/long/path"),
        ("", ""),
        (None, None),
    ],
)
def test_html_to_text(html, text):
    assert html_to_text(html) == text
