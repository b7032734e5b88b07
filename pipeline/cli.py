"""The ``followback`` command line: one Typer app, one command per pipeline stage.

Each stage module defines a thin ``cli`` function (parse, load config, call the library, print
a summary); this module only registers them in pipeline order. Modules keep heavy imports
(torch, sentence-transformers, mlflow) inside their functions, so ``--help`` stays quick.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import typer

from pipeline.config import ConfigError
from pipeline.console import FollowbackError, console

app = typer.Typer(
    name="followback",
    help="Learn which of your followers you would follow back, and say why.\n\n"
    "Stages run in this order: demo -> ingest -> churn -> featurize -> train -> evaluate -> "
    "score -> trends -> report. `dvc repro` runs them all from params.yaml; `decide` and "
    "`review` record your own verdicts for the next training run.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"followback {version('followback')}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Learn which of your followers you would follow back, and say why."""


# (command name, module): the module's ``cli`` function becomes the command.
COMMANDS: list[tuple[str, str]] = [
    ("demo", "pipeline.demo"),
    ("fetch", "pipeline.fetch"),
    ("ingest", "pipeline.ingest"),
    ("train-bot", "pipeline.train_bot"),
    ("train-toxicity", "pipeline.train_toxicity"),
    ("featurize", "pipeline.featurize"),
    ("train", "pipeline.train"),
    ("evaluate", "pipeline.evaluate"),
    ("score", "pipeline.score"),
    ("explain", "pipeline.explain"),
    ("report", "pipeline.report"),
    ("decide", "pipeline.decide"),
    ("review", "pipeline.review"),
    ("apply", "pipeline.apply"),
    ("churn", "pipeline.churn"),
    ("trends", "pipeline.trends"),
]

# Errors a user can act on: printed as one readable line, exit status 2.
USER_ERRORS = (ConfigError, FollowbackError, FileNotFoundError)


def _friendly(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper


for _name, _module in COMMANDS:
    app.command(_name)(_friendly(importlib.import_module(_module).cli))


if __name__ == "__main__":
    app()
