"""Griffe extension for the API pages: Sphinx cross-reference roles as plain inline code.

The package's docstrings are numpydoc with Sphinx roles (:class:`~pipeline.x.Y`,
:func:`name`), which mkdocstrings shows as written. This turns each role into inline code of
its target (the last component where Sphinx would show only that, after ``~``).
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _plain(match: re.Match) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_plain, obj.docstring.value)
