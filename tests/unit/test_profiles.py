"""Profile and avatar links: from the ingested accounts and the latest fetch, http(s) only."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.core.config import Config
from pipeline.data.fetch import mastodon
from pipeline.data.fetch._run import Transport, run
from pipeline.data.profiles import profile_links, safe_link
from tests.servers import FakeMastodon, Sleeps, World


@pytest.mark.parametrize("value, expected", [
    ("https://mastodon.social/@maya", "https://mastodon.social/@maya"),
    ("http://127.0.0.1:3000/@u", "http://127.0.0.1:3000/@u"),
    ("javascript:alert(1)", None),
    ("JavaScript:alert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ("//evil.example/x", None),
    ("https://", None),
    ("", None),
    (None, None),
    (3, None),
])
def test_only_absolute_http_links_are_kept(value, expected):
    assert safe_link(value) == expected


def test_profile_and_avatar_links_of_a_mastodon_fetch(tmp_path):
    world = World.make(8)
    with FakeMastodon(world, token="t") as server:
        api = mastodon.MastodonFetch(server.url, "t", None,
                                     Transport(mastodon.transient, 2, 0.001, Sleeps()))
        run(api, tmp_path / "raw" / "mastodon", 30, 20, show_progress=False)
    cfg = Config.model_validate({"fetch": {"out_dir": str(tmp_path / "raw")},
                                 "ingest": {"out_dir": str(tmp_path / "ingested")}})
    (tmp_path / "ingested").mkdir()
    pd.DataFrame({"account_id": ["100", "101", "999"], "platform": "mastodon",
                  "handle": ["user100", "user101", "x"],
                  "url": [f"{server.url}/@user100", "javascript:alert(1)", None]}
                 ).to_parquet(tmp_path / "ingested" / "accounts.parquet")
    links = profile_links(cfg)
    assert links["100"]["url"] == f"{server.url}/@user100"
    assert links["101"]["url"] is None  # never a javascript: link
    # Avatars from the fetch: the instance's missing.png placeholder is no avatar.
    assert links["100"]["avatar"] is None  # number 100 % 4 == 0: the placeholder
    assert links["101"]["avatar"] == f"{server.url}/system/accounts/avatars/101.png"
    assert links["107"] == {"url": None,
                            "avatar": f"{server.url}/system/accounts/avatars/107.png"}
