"""MkDocs hook: list every page in docs/results/ under the nav's "Results" section.

Result pages (one investigation each: day-one.md, toxicity.md, ...) are added by other work at
any time; listing them by hand in mkdocs.yml would break the strict build whenever the list and
the folder differ. This hook fills the section from the folder at build time: index.md first,
then the other pages in name order, each under its own first heading (MkDocs' default title).
"""

from __future__ import annotations

from pathlib import Path

SECTION = "Results"
FOLDER = "results"


def on_config(config, **kwargs):
    folder = Path(config["docs_dir"]) / FOLDER
    pages = sorted(p.name for p in folder.glob("*.md") if p.name != "index.md")
    entries = [f"{FOLDER}/index.md"] + [f"{FOLDER}/{name}" for name in pages]
    for item in config["nav"] or []:
        if isinstance(item, dict) and SECTION in item:
            item[SECTION] = entries
    return config
