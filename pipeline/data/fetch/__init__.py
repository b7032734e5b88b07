"""``followback fetch mastodon|bluesky``: your live followers, one snapshot per fetch.

Each fetch writes the platform's API responses, unmodified, into a new folder
``<fetch.out_dir>/<platform>/<UTC time of the fetch>/``, e.g.
``data/raw/mastodon/2026-05-01T120000Z/``::

    fetch.json                the manifest: platform, server, account, fetched_at, list counts
                              and shortfalls, requests made, and per follower where its posts are
    me/profile.json           your own profile
    me/posts-0001.json ...    your own newest posts (``fetch.own_posts``)
    followers/page-0001.json  the follower list, page by page
    following/page-0001.json  whom you follow
    profiles/batch-0001.json  the followers' profiles (Bluesky; Mastodon's lists carry them)
    posts/<account>.json      each new or changed follower's newest ``features.max_posts`` posts

The ``mastodon`` and ``bluesky`` importers read such a folder: its follower and following lists
become snapshots taken at ``fetched_at``, your own posts become own_posts, the followers'
profiles and posts become accounts and posts. So each fetch adds one snapshot and ``churn`` and
``trends`` work across fetches. The folder appears complete or not at all; an interrupted fetch
resumes when started again; a later fetch re-reads the lists but fetches posts only of followers
that are new or have posted since the last fetch (``--full`` fetches all).

Tokens come from the environment (``MASTODON_ACCESS_TOKEN``, ``BLUESKY_APP_PASSWORD``) or from a
file named in params.yaml (``fetch.mastodon.token_file``, ``fetch.bluesky.password_file``), never
from the command line; they are sent to the server only and written nowhere.

Not a DVC stage: it reads the network, whose answer changes by the minute, so DVC could neither
cache it nor tell when it is out of date. Run it by hand or from cron; the ingest stage depends
on the whole of ``data/raw``, so ``dvc repro`` after a fetch reruns the pipeline on it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import typer

from pipeline.core.config import Config, load_config
from pipeline.core.console import FollowbackError, ParamsOption, console
from pipeline.data.fetch._run import FetchResult, Transport, discard_partials, run

TOKEN_ENV = {"mastodon": "MASTODON_ACCESS_TOKEN", "bluesky": "BLUESKY_APP_PASSWORD"}


def read_secret(platform: str, file: Path | None) -> str | None:
    """The platform's token from its environment variable, else from ``file``; None if neither."""
    value = os.environ.get(TOKEN_ENV[platform], "").strip()
    if value:
        return value
    if file is None:
        return None
    path = Path(file).expanduser()
    if not path.is_file():
        raise FollowbackError(f"the token file {path} (params.yaml) does not exist")
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise FollowbackError(f"the token file {path} is empty")
    return value


def transport_for(platform: str, cfg: Config) -> Transport:
    if platform == "mastodon":
        from pipeline.data.fetch.mastodon import transient
    else:
        from pipeline.data.fetch.bluesky import transient
    return Transport(transient, cfg.fetch.max_retries, cfg.fetch.backoff_seconds)


def platform_client(platform: str, cfg: Config, instance: str | None = None,
                    account: str | None = None, handle: str | None = None,
                    service: str | None = None):
    """The fetching side of ``platform``, from the options or params.yaml."""
    transport = transport_for(platform, cfg)
    if platform == "mastodon":
        from pipeline.data.fetch.mastodon import MastodonFetch

        instance = instance or cfg.fetch.mastodon.instance
        if not instance:
            raise FollowbackError("which Mastodon server? give --instance "
                                  "(e.g. https://mastodon.social) or fetch.mastodon.instance")
        token = read_secret("mastodon", cfg.fetch.mastodon.token_file)
        return MastodonFetch(instance, token, account or cfg.fetch.mastodon.account, transport)
    from pipeline.data.fetch.bluesky import BlueskyFetch

    handle = handle or cfg.fetch.bluesky.handle
    if not handle:
        raise FollowbackError("whose followers? give --handle (e.g. me.bsky.social) or "
                              "fetch.bluesky.handle")
    password = read_secret("bluesky", cfg.fetch.bluesky.password_file)
    return BlueskyFetch(handle, service or cfg.fetch.bluesky.service, password, transport)


def print_summary(result: FetchResult) -> None:
    from rich.table import Table

    grid = Table(title=f"fetched @{result.handle} on {result.platform} into {result.folder}",
                 title_justify="left")
    for name, justify in (("list", "left"), ("profile says", "right"), ("received", "right"),
                          ("pages", "right")):
        grid.add_column(name, justify=justify)
    for r in result.lists.values():
        grid.add_row(r.direction, "?" if r.expected is None else f"{r.expected:,}",
                     f"{r.received:,}", f"{r.pages:,}")
    console.print(grid)
    for r in result.lists.values():
        if r.note:
            console.print(f"[yellow]{r.direction}:[/] {r.note}", highlight=False)
    followers = result.lists["followers"].received
    console.print(
        f"posts: {result.posts_fetched:,} followers fetched, {result.posts_unchanged:,} "
        f"unchanged since the last fetch (kept from it); own posts: {result.own_posts_pages} "
        f"page(s)", highlight=False)
    if result.gone:
        console.print(f"[yellow]gone:[/] {len(result.gone):,} listed account(s) could not be "
                      "read any more (deleted, suspended or blocking): "
                      + ", ".join(result.gone[:5]) + (" ..." if len(result.gone) > 5 else ""),
                      highlight=False)
    per = f" ({result.requests / followers:.2f} per follower)" if followers else ""
    console.print(f"{result.requests:,} requests{per} in {result.seconds:.1f} s; "
                  f"{result.retries} retried, {result.rate_waits} rate-limit wait(s)"
                  + (f"; resumed {result.resumed} time(s)" if result.resumed else ""),
                  highlight=False)


def cli(
    platform: Annotated[Literal["mastodon", "bluesky"], typer.Argument(
        help="mastodon or bluesky.", show_default=False)],
    instance: Annotated[str | None, typer.Option(
        help="Mastodon: your server, e.g. https://mastodon.social (default: "
        "fetch.mastodon.instance).", show_default=False)] = None,
    account: Annotated[str | None, typer.Option(
        help="Mastodon: whose lists, e.g. @me or @me@other.server (default: the access "
        "token's own account).", show_default=False)] = None,
    handle: Annotated[str | None, typer.Option(
        help="Bluesky: your handle, e.g. me.bsky.social (default: fetch.bluesky.handle).",
        show_default=False)] = None,
    service: Annotated[str | None, typer.Option(
        help="Bluesky: the server's base URL (XRPC under `<service>/xrpc/`); default: the "
        "public AppView, or bsky.social when BLUESKY_APP_PASSWORD is set.",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Folder of fetches (default: fetch.out_dir); this fetch goes "
        "to `<out>/<platform>/<UTC time>/`.", file_okay=False, show_default=False)] = None,
    full: Annotated[bool, typer.Option(
        "--full", help="Fetch every follower's posts, not only of those new or changed "
        "since the last fetch.")] = False,
    restart: Annotated[bool, typer.Option(
        "--restart", help="Discard an unfinished fetch instead of resuming it.")] = False,
    params: ParamsOption = Path("params.yaml"),
) -> FetchResult:
    """Fetch your followers, whom you follow, their profiles and posts from the platform's API.

    Tokens only from the environment (MASTODON_ACCESS_TOKEN, BLUESKY_APP_PASSWORD) or the file
    named in params.yaml (fetch.mastodon.token_file, fetch.bluesky.password_file). Writes a new
    folder `data/raw/<platform>/<UTC time>/` that appears complete or not at all; started again
    after an interruption, it resumes. Then point ingest.sources at `data/raw/<platform>` and
    run `dvc repro`.
    """
    cfg = load_config(params)
    platform_dir = (out if out is not None else cfg.fetch.out_dir) / platform
    if restart:
        for folder in discard_partials(platform_dir):
            console.print(f"discarded the unfinished fetch {folder}", highlight=False)
    api = platform_client(platform, cfg, instance, account, handle, service)
    try:
        result = run(api, platform_dir, cfg.features.max_posts, cfg.fetch.own_posts, full=full,
                     cursor_tolerance=cfg.fetch.cursor_tolerance)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: run the same command again to resume where it "
                      "stopped (or add --restart to start over)", highlight=False)
        raise typer.Exit(130) from None
    print_summary(result)
    if not cfg.user.from_fetch and not any(Path(src.path).resolve() == platform_dir.resolve()
                                           for src in cfg.ingest.sources):
        console.print(f"next: `followback init {platform}` (or list {platform_dir} in "
                      "ingest.sources), then `dvc repro`", highlight=False, markup=False)
    elif not cfg.user.from_fetch:
        console.print("next: `dvc repro`", highlight=False)
    return result
