"""``followback fetch``: the fetch of :mod:`pipeline.data.fetch`, then, the first time after
``followback init``, the account's setup finished: ``user.handle`` from the fetch and
``user.languages`` proposed from your own posts (the platform's language tags, then lingua),
both said and both yours to change.

The command lives here, a layer above the fetch itself, because proposing languages needs the
language criterion's identifier (:mod:`pipeline.features.language`).
"""

from __future__ import annotations

import functools
from pathlib import Path

from pipeline.core.config import Config, load_config
from pipeline.core.console import console
from pipeline.core.settings import write_settings
from pipeline.data import fetch as data_fetch
from pipeline.data.fetch._run import FetchResult
from pipeline.data.ingest.own import own_texts


def complete_setup(params: Path, cfg: Config, result: FetchResult) -> None:
    """After the first fetch on an account set up by ``followback init``."""
    from pipeline.features.language import propose_languages

    texts, tags = own_texts(result.folder, result.platform)
    cache = str(cfg.base.cache_dir) if cfg.base.cache_dir else None
    proposal = propose_languages(texts, tags, candidates=cfg.features.language.candidates,
                                 min_confidence=cfg.features.language.min_confidence,
                                 cache_dir=cache)
    changes = write_settings(params, {"user.handle": result.handle,
                                      "user.languages": proposal.languages,
                                      "user.from_fetch": False})
    for key, old, new in changes:
        console.print(f"{key}: {old} -> {new}", highlight=False, markup=False)
    console.print(f"user.languages proposed {proposal.describe()}; change them in "
                  f"{params} if you read others", highlight=False, markup=False)


@functools.wraps(data_fetch.cli)
def cli(*args, **kwargs) -> None:
    params = Path(kwargs.get("params", "params.yaml"))
    cfg = load_config(params)
    result = data_fetch.cli(*args, **kwargs)
    if cfg.user.from_fetch and result is not None:
        complete_setup(params, cfg, result)
        console.print("next: `dvc repro`", highlight=False)
