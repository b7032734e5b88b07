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
    # discoverable, indexable and group are contract columns now (issue 25), not extras.
    assert first.data["is_discoverable"] is True
    assert not {"discoverable", "indexable", "group"} & set(first.extra)
    assert "note" not in first.extra and "followers_count" not in first.extra


def _entity(**overrides) -> dict:
    """A generated Account entity in the REST API's shape."""
    entity = {
        "id": "1", "username": "ana", "acct": "ana", "display_name": "Ana",
        "locked": False, "bot": False, "group": False, "discoverable": True,
        "indexable": False, "created_at": "2023-02-01T00:00:00.000Z", "note": "<p>Hi</p>",
        "url": "https://example.social/@ana",
        "avatar": "https://example.social/system/avatars/1.png",
        "header": "https://example.social/headers/original/missing.png",
        "followers_count": 10, "following_count": 20, "statuses_count": 30,
        "last_status_at": "2024-10-01",
        "fields": [
            {"name": "Web", "value": "<a href=\"https://ana.example\">ana.example</a>",
             "verified_at": "2024-01-01T00:00:00.000+00:00"},
            {"name": "Pronouns", "value": "she/her", "verified_at": None},
        ],
    }
    entity.update(overrides)
    return entity


def _account(entity: dict) -> dict:
    record = mastodon.account_record(entity, "generated", "record 1")
    return record.data


def test_profile_metadata_columns():
    data = _account(_entity())
    assert data["is_local"] is True  # "ana": an account of the server that answered
    assert (data["is_discoverable"], data["is_indexable"], data["is_group"]) == (
        True, False, False)
    assert data["has_default_header"] is True and data["has_default_avatar"] is False
    assert (data["fields_count"], data["verified_links_count"]) == (2, 1)
    # The fields themselves stay in extra, their values as text.
    extra = mastodon.account_record(_entity(), "generated", "record 1").extra
    assert [f["value"] for f in extra["fields"]] == ["ana.example", "she/her"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"acct": "ana@elsewhere.example"}, {"is_local": False}),
        ({"acct": None, "username": "ana"}, {"is_local": None}),
        ({"fields": []}, {"fields_count": 0, "verified_links_count": 0}),
        ({"fields": None}, {"fields_count": None, "verified_links_count": None}),
        ({"fields": "not a list"}, {"fields_count": None, "verified_links_count": None}),
        ({"fields": [{"name": "a", "value": "b"}, "junk"]},
         {"fields_count": 1, "verified_links_count": 0}),
        ({"group": True, "discoverable": None, "indexable": None},
         {"is_group": True, "is_discoverable": None, "is_indexable": None}),
        ({"header": "https://files.example/headers/1/original/me.jpg?123"},
         {"has_default_header": False}),
        ({"header": None}, {"has_default_header": None}),
    ],
)
def test_profile_metadata_edge_cases(overrides, expected):
    data = _account(_entity(**overrides))
    for column, value in expected.items():
        assert data.get(column) == value, column


def test_profile_metadata_reaches_the_accounts_table(tmp_path):
    path = tmp_path / "followers.json"
    path.write_text(json.dumps([
        _entity(),
        _entity(id="2", acct="bo@far.example", fields=[], group=True, discoverable=False),
        # An older server's entity: none of the newer fields at all.
        {"id": "3", "username": "cy", "acct": "cy", "followers_count": 1,
         "following_count": 2, "statuses_count": 3, "created_at": "2020-01-01"},
    ]), encoding="utf-8")
    result, rejects = run(path, tmp_path / "out")
    assert rejects.empty
    accounts = result.tables["accounts"].frame.set_index("account_id")
    assert accounts["is_local"].tolist() == [True, False, True]
    assert accounts["fields_count"].tolist()[:2] == [2, 0]
    assert accounts["verified_links_count"].tolist()[:2] == [1, 0]
    assert accounts["is_group"].tolist()[:2] == [False, True]
    assert accounts["is_discoverable"].tolist()[:2] == [True, False]
    newer = ["is_discoverable", "is_indexable", "is_group", "has_default_header",
             "fields_count", "verified_links_count"]
    assert accounts.loc["3", newer].isna().all()
    assert str(accounts["fields_count"].dtype) == "Int64"
    assert str(accounts["is_local"].dtype) == "boolean"


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
