"""A progress bar for a person watching a run: on a terminal only, on stderr, never in a pipe or a log.

rich draws it (scenarios/s, errors so far, and an ETA when the input's size is known: bytes of
a JSON Lines file, rows of a Parquet file). rich is imported only when the bar is shown, so runs
in pipes, CI and every other command pay nothing for it.
"""

from __future__ import annotations

import os
import time
from typing import Any, Protocol, TextIO


class Progress(Protocol):
    def update(self, scenarios: int, errors: int, done: int) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    def update(self, scenarios: int, errors: int, done: int) -> None:
        pass

    def close(self) -> None:
        pass


class BarProgress:
    """rich's live bar; `done` counts the source's unit (bytes or rows) against its total."""

    def __init__(self, stream: TextIO, total: int | None, unit: str, forced: bool = False) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        columns: list[Any] = [
            TextColumn("[bold]run"),
            BarColumn(bar_width=20),
            TextColumn("{task.percentage:>3.0f}%" if total else ""),
            TextColumn(
                "{task.fields[scenarios]:,} scenarios · {task.fields[rate]:,.0f}/s · {task.fields[errors]:,} errors"
            ),
            TimeElapsedColumn(),
        ]
        if total:
            columns += [TextColumn("ETA"), TimeRemainingColumn()]
        # forced (`--progress`): drawn on a stream that is no terminal too (rich would draw nothing)
        # soft_wrap: a line printed above the bar (a diagnostic, through rich's stand-in for stderr)
        # is not cut at the console's width: a file path split over two lines cannot be copied
        console = Console(file=stream, force_terminal=forced or None, soft_wrap=True)
        self.bar = RichProgress(*columns, console=console, transient=True)
        self.task = self.bar.add_task("run", total=total or None, scenarios=0, rate=0.0, errors=0)
        self.unit = unit
        self.start = time.perf_counter()
        self.bar.start()

    def update(self, scenarios: int, errors: int, done: int) -> None:
        elapsed = time.perf_counter() - self.start
        rate = scenarios / elapsed if elapsed > 0 else 0.0
        self.bar.update(self.task, completed=done, scenarios=scenarios, rate=rate, errors=errors)

    def close(self) -> None:
        self.bar.stop()


def progress_for(stream: TextIO, total: int | None, unit: str, wanted: bool | None = None) -> Progress:
    """A bar when `stream` is a terminal (or `wanted` says so), else nothing at all."""
    forced = wanted is True
    if wanted is None:
        wanted = hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"
    return BarProgress(stream, total, unit, forced) if wanted else NoProgress()
