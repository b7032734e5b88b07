"""Terminal output shared by the commands: one rich console, progress bars, readable errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)


class FollowbackError(Exception):
    """An error the user can act on: its message is printed without a traceback."""


ParamsOption = Annotated[
    Path,
    typer.Option("--params", "-p", help="The params.yaml to read settings from.",
                 dir_okay=False),
]


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``212 texts/s``."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s", style="cyan")


def progress(unit: str = "items", disable: bool | None = None) -> Progress:
    """A progress bar with done/total, rate and time left; hidden when stderr is no terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=(not console.is_terminal) if disable is None else disable,
    )
