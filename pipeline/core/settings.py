"""Write settings into ``params.yaml`` the way a person would: comments and order kept.

``followback init`` (and the first fetch after it) change a few keys of the file the person
owns; ruamel.yaml's round trip keeps every comment, the key order and the quoting. The result
is checked against :class:`pipeline.core.config.Config` before it replaces the file
(atomically), so a wrong value leaves the file as it was.
"""

from __future__ import annotations

import io as stdio
import os
from pathlib import Path
from typing import Any

from pipeline.core.config import load_config


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: comments, order and quoting stay
    yaml.preserve_quotes = True
    yaml.width = 100
    return yaml


def plain(value: Any) -> Any:
    """A ruamel node as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _node(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        node = CommentedMap()
        for k, v in value.items():
            node[k] = _node(v)
        return node
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        seq = CommentedSeq()
        seq.extend(_node(v) for v in value)
        return seq
    return value


def write_settings(params: str | Path, settings: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Set the dotted keys of ``settings`` in ``params``; returns (key, old, new) for each
    key that changed (nothing is written when none did)."""
    yaml = _yaml()
    params = Path(params)
    doc = yaml.load(params.read_text(encoding="utf-8"))
    changes: list[tuple[str, Any, Any]] = []
    for dotted, value in settings.items():
        keys = dotted.split(".")
        node = doc
        for key in keys[:-1]:
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        old = plain(node.get(keys[-1]))
        if old != value:
            node[keys[-1]] = _node(value)
            changes.append((dotted, old, value))
    if not changes:
        return changes
    buffer = stdio.StringIO()
    yaml.dump(doc, buffer)
    tmp = params.with_name(f".{params.name}.settings")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    try:
        load_config(tmp)  # a wrong key or value: params.yaml stays as it was
        os.replace(tmp, params)
    finally:
        tmp.unlink(missing_ok=True)
    return changes
