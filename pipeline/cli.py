"""The ``followback`` command line: one Typer app, one command per pipeline stage.

Each stage module defines a thin ``cli`` function (parse, load config, call the library, print
a summary); this module only registers them in pipeline order. Modules keep heavy imports
(torch, sentence-transformers, mlflow) inside their functions, so ``--help`` stays quick.
"""

from __future__ import annotations

import functools
import importlib
import os
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.markup import escape

from pipeline.core.config import ConfigError
from pipeline.core.console import FollowbackError, console

app = typer.Typer(
    name="followback",
    help="Learn which of your followers you would follow back, and say why.\n\n"
    "Stages run in this order: demo -> ingest -> churn -> featurize -> decisions -> train -> "
    "evaluate -> "
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


# Where the traceback of a failed command goes (the terminal gets one readable line).
LOG_FILE = Path(os.environ.get("FOLLOWBACK_LOG", ".followback/error.log"))
_debug = {"on": False}


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug",
                               help="Show the full Python traceback of an error on the "
                               "terminal (otherwise it goes to .followback/error.log)."),
) -> None:
    """Learn which of your followers you would follow back, and say why."""
    _debug["on"] = debug


def _log_traceback(exc: BaseException) -> Path | None:
    """Append the traceback to LOG_FILE; its path, or None when it cannot be written."""
    try:
        LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
        with open(LOG_FILE, "a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
            fh.write("".join(traceback.format_exception(exc)))
        return LOG_FILE
    except OSError:
        return None


# (command name, module): the module's ``cli`` function becomes the command.
COMMANDS: list[tuple[str, str]] = [
    ("init", "pipeline.stages.init"),
    ("demo", "pipeline.demo"),
    ("fetch", "pipeline.stages.fetch"),
    ("ingest", "pipeline.data.ingest"),
    ("train-bot", "pipeline.stages.train_bot"),
    ("train-toxicity", "pipeline.stages.train_toxicity"),
    ("featurize", "pipeline.stages.featurize"),
    ("decisions", "pipeline.stages.decisions"),
    ("train", "pipeline.stages.train"),
    ("evaluate", "pipeline.stages.evaluate"),
    ("score", "pipeline.stages.score"),
    ("explain", "pipeline.stages.explain"),
    ("report", "pipeline.stages.report"),
    ("decide", "pipeline.stages.decide"),
    ("review", "pipeline.stages.review"),
    ("apply", "pipeline.stages.apply"),
    ("churn", "pipeline.stages.churn"),
    ("trends", "pipeline.stages.trends"),
]

# Errors a user can act on: printed as one readable line, exit status 2.
USER_ERRORS = (ConfigError, FollowbackError, FileNotFoundError)


def _friendly(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            if _debug["on"]:
                raise
            _log_traceback(exc)
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a bug or an input nobody foresaw: no traceback on screen
            # Usage errors (exit 2) and typer.Exit keep their own handling; typer ships its
            # own copy of click, so they are told by their package.
            if _debug["on"] or type(exc).__module__.split(".")[0] in ("click", "typer"):
                raise
            log = _log_traceback(exc)
            where = f"the traceback is in {log}" if log else "the traceback could not be logged"
            console.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))}",
                          highlight=False)
            console.print(f"{where}; run again with `followback --debug ...` to see it, and "
                          "please report it with that traceback.", highlight=False,
                          markup=False)
            raise typer.Exit(1) from None

    return wrapper


for _name, _module in COMMANDS:
    app.command(_name)(_friendly(importlib.import_module(_module).cli))


if __name__ == "__main__":
    app()
