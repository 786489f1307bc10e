"""One progress style for every long job (rich), quiet when output is not a terminal."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)

console = Console(stderr=True)


def quiet() -> bool:
    return os.environ.get("PHYSLLM_QUIET") == "1"


def make_progress(*extra_columns) -> Progress:
    """A rich Progress with a bar, n/total, rate columns given by the caller, elapsed and ETA."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        *extra_columns,
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet(),
        transient=not sys.stderr.isatty(),
    )


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator:
    """Yield an `advance(n=1)` callable for a single bar."""
    with make_progress() as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)
