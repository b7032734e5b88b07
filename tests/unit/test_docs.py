"""The README and the documentation site stay true to the code.

Modules move (issue 23 puts the package into layers), commands gain options: these tests fail
when a page names a path, a module or a command option that no longer exists, so the docs
cannot quietly rot. The site's own links and anchors are checked by `make docs`
(`mkdocs build --strict`), which `make test` runs.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# A repository path as the pages write it: `pipeline/io.py`, `pipeline/fetch/`, `bench/score.py`,
# `tests/unit/test_docs.py`. Placeholders (`<platform>`) and globs are not paths.
PATH = re.compile(r"(?<![\w./-])((?:pipeline|bench|tests)/[\w./-]*)")
# A dotted name inside the package: `pipeline.io.OutputSet`, `pipeline.frame.load_account_frame`.
DOTTED = re.compile(r"(?<![\w./-])(pipeline(?:\.\w+)+)")


def _mentions(pattern: re.Pattern) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in pattern.finditer(text):
            name = match.group(1).rstrip(".")
            if "*" not in name:
                found.append((str(page.relative_to(ROOT)), name))
    return sorted(set(found))


def test_pages_mention_paths():
    # The checks below are only worth something while they find what the pages mention.
    assert len(_mentions(PATH)) > 30
    assert len(_mentions(DOTTED)) >= 3


@pytest.mark.parametrize(("page", "path"), _mentions(PATH))
def test_mentioned_path_exists(page, path):
    assert (ROOT / path).exists(), f"{page} mentions {path}, which is not in the repository"


def _top_level_names(module_file: Path) -> set[str]:
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _resolve(dotted: str) -> str | None:
    """None if `dotted` names a module of the package or a top-level name in one, else why not."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        module = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not module.exists():
            continue
        rest = parts[cut:]
        if not rest:
            return None
        if rest[0] in _top_level_names(module):
            return None
        return f"{'.'.join(parts[:cut])} defines no {rest[0]}"
    return "no such module"


@pytest.mark.parametrize(("page", "dotted"), _mentions(DOTTED))
def test_mentioned_module_name_exists(page, dotted):
    problem = _resolve(dotted)
    assert problem is None, f"{page} mentions {dotted}: {problem}"


def test_resolve_tells_a_missing_name():
    assert _resolve("pipeline.cli.app") is None
    assert _resolve("pipeline.cli.no_such_thing") == "pipeline.cli defines no no_such_thing"
    assert _resolve("pipeline.no_such_module") == "pipeline defines no no_such_module"
    assert _resolve("pipeline.cli.app.anything") is None  # an attribute of a name is not followed


def _readme_commands() -> dict[str, str]:
    """The README's command table: command name -> the row."""
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `followback ([a-z-]+)", line)
        if match:
            rows[match.group(1)] = line
    return rows


def _cli_commands():
    import typer.main

    from pipeline.cli import app

    return typer.main.get_command(app).commands


def test_readme_lists_every_command():
    readme = set(_readme_commands())
    cli = set(_cli_commands())
    assert readme == cli, (f"in `followback --help` but not the README's table: {cli - readme}; "
                           f"in the table but not the CLI: {readme - cli}")


def test_readme_options_exist():
    commands = _cli_commands()
    for name, row in _readme_commands().items():
        options = {opt for param in commands[name].params for opt in param.opts}
        options |= {opt for param in commands[name].params
                    for opt in getattr(param, "secondary_opts", [])}
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", row):
            assert option in options, f"README's row for {name} names {option}, which it lacks"


def _load_hook():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_section_lists_the_folder(tmp_path):
    hooks = _load_hook()
    (tmp_path / "results").mkdir()
    for name in ("index.md", "toxicity.md", "day-one.md"):
        (tmp_path / "results" / name).write_text(f"# {name}\n")
    nav = [{"Home": "index.md"}, {"Results": ["results/index.md"]}]
    config = hooks.on_config({"docs_dir": str(tmp_path), "nav": nav})
    assert config["nav"][1] == {"Results": ["results/index.md", "results/day-one.md",
                                            "results/toxicity.md"]}
    assert config["nav"][0] == {"Home": "index.md"}


def test_mkdocs_nav_has_the_results_section():
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^  - Results:\n      - results/index.md$", text, flags=re.M)
    assert "font: false" in text  # no web fonts: the site builds and reads offline


def _anchors(page: Path) -> set[str]:
    """The heading anchors MkDocs gives a page (toc's slugify of the heading's text)."""
    from markdown.extensions.toc import slugify

    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    headings = re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M)
    return {slugify(re.sub(r"[`*]", "", h), "-") for h in headings}


def test_readme_links_to_docs_resolve():
    # mkdocs build --strict checks the site's own links; the README is not part of the site.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]+)(?:#([^)\s]+))?\)", readme)
    assert len(links) > 10
    for target, anchor in links:
        page = ROOT / target
        assert page.is_file(), f"README links to {target}, which does not exist"
        if anchor:
            assert anchor in _anchors(page), f"README links to {target}#{anchor}: no such heading"
