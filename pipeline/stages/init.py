"""``followback init mastodon|bluesky|demo``: put the project on your account, or back on the demo.

Writes the account settings of ``params.yaml`` (comments and order kept:
:func:`pipeline.core.settings.write_settings`) and prints every key it changed:

- ``mastodon``: ``fetch.mastodon.instance`` (and ``account``), ``user.handle``;
- ``bluesky``: ``fetch.bluesky.handle`` (and ``service``), ``user.handle``;
- both: ``ingest.sources`` = the platform's fetch folder (``<fetch.out_dir>/<platform>``) and
  the decisions folder (``report.decisions_out``'s folder), the demo left out; and
  ``user.from_fetch: true``, so that the next ``followback fetch`` fills in ``user.handle`` (when
  not given here) and proposes ``user.languages`` from your own posts (their language tags,
  then lingua) and says so;
- ``demo``: the demo's settings back (its persona, its sources, no account).

Then ``followback fetch <platform>`` needs no option and ``dvc repro`` runs the whole pipeline
on the account; the ``demo`` stage does nothing while the demo is not among the sources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from pipeline.core.config import load_config
from pipeline.core.console import FollowbackError, ParamsOption, console
from pipeline.core.settings import write_settings

DEMO_SOURCE = {"path": "data/raw/demo", "format": "auto"}
DECISIONS_FORMAT = "generic"
# The demo persona's settings, as a fresh clone's params.yaml has them.
DEMO_USER = {"handle": "maya.bakes", "languages": ["en", "de"]}


def settings_for(platform: str, cfg, instance: str | None = None, account: str | None = None,
                 handle: str | None = None, service: str | None = None) -> dict[str, Any]:
    """The ``params.yaml`` keys ``init`` writes for ``platform`` (dotted key -> value)."""
    decisions_dir = Path(cfg.report.decisions_out).parent.as_posix()
    if platform == "demo":
        return {
            "user.handle": DEMO_USER["handle"], "user.languages": DEMO_USER["languages"],
            "user.from_fetch": False,
            "ingest.sources": [DEMO_SOURCE, {"path": decisions_dir, "format": DECISIONS_FORMAT}],
            "fetch.mastodon.instance": None, "fetch.mastodon.account": None,
            "fetch.bluesky.handle": None, "fetch.bluesky.service": None,
        }
    fetched = (Path(cfg.fetch.out_dir) / platform).as_posix()
    out: dict[str, Any] = {
        "ingest.sources": [{"path": fetched, "format": platform},
                           {"path": decisions_dir, "format": DECISIONS_FORMAT}],
        "user.from_fetch": True,
    }
    if platform == "mastodon":
        if not instance:
            raise FollowbackError("which Mastodon server? give --instance, e.g. "
                                  "https://mastodon.social")
        if not instance.startswith(("http://", "https://")):
            instance = "https://" + instance
        out["fetch.mastodon.instance"] = instance.rstrip("/")
        out["fetch.mastodon.account"] = account
        out["fetch.bluesky.handle"] = None
        if account:
            out["user.handle"] = account.lstrip("@")
    else:
        if not handle:
            raise FollowbackError("whose followers? give --handle, e.g. me.bsky.social")
        out["fetch.bluesky.handle"] = handle.lstrip("@")
        out["fetch.bluesky.service"] = service
        out["fetch.mastodon.instance"] = None
        out["fetch.mastodon.account"] = None
        out["user.handle"] = handle.lstrip("@")
    return out


def _show(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return ", ".join(f"{v.get('path')} ({v.get('format')})" for v in value)
    return "null" if value is None else str(value)


def cli(
    platform: Annotated[Literal["mastodon", "bluesky", "demo"], typer.Argument(
        help="mastodon or bluesky: your own account; demo: back to the demo persona.",
        show_default=False)],
    instance: Annotated[str | None, typer.Option(
        help="Mastodon: your server, e.g. https://mastodon.social.", show_default=False)] = None,
    account: Annotated[str | None, typer.Option(
        help="Mastodon: whose followers, e.g. @me (default: the access token's own "
        "account).", show_default=False)] = None,
    handle: Annotated[str | None, typer.Option(
        help="Bluesky: your handle, e.g. me.bsky.social.", show_default=False)] = None,
    service: Annotated[str | None, typer.Option(
        help="Bluesky: the server's base URL (default: the public AppView, or bsky.social "
        "when BLUESKY_APP_PASSWORD is set).", show_default=False)] = None,
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Set the project up on your account (or back on the demo) without editing params.yaml.

    Writes the account's fetch settings, points ingest.sources at its fetch folder and your
    decisions, leaves the demo out, and prints what changed. Then run `followback fetch
    <platform>` and `dvc repro`.
    """
    cfg = load_config(params)
    changes = write_settings(params, settings_for(platform, cfg, instance, account, handle,
                                                  service))
    if not changes:
        console.print(f"{params} is already set up for {platform}: nothing changed",
                      highlight=False)
    for key, old, new in changes:
        console.print(f"{key}: {_show(old)} -> {_show(new)}", highlight=False, markup=False)
    if platform == "demo":
        console.print("the project is on the demo again: `dvc repro` rebuilds it",
                      highlight=False)
        return
    console.print(
        f"next: `followback fetch {platform}` (it fills in user.handle and proposes "
        "user.languages from your own posts), then `dvc repro`, then `followback review` and "
        f"`followback apply {platform}`", highlight=False, markup=False)
    if platform == "mastodon":
        console.print("set MASTODON_ACCESS_TOKEN (Preferences > Development > New application, "
                      "read; write:follows for apply) or fetch.mastodon.token_file; without a "
                      "token give --account to fetch public lists", highlight=False,
                      markup=False)
