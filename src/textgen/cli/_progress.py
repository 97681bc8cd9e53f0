"""A progress bar on stderr for `tune` and `batch`, fed by `Operation.result(progress=...)`.

On a terminal it redraws in place; elsewhere (CI logs, pipes) rich draws nothing while it
runs and prints the final bar once, so logs get one line rather than a stream of updates.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from textgen.cli._output import Output
    from textgen.progress import Progress


def progress_bar(out: Output, title: str) -> ProgressBar | None:
    """A bar on stderr; in JSON mode only when stderr is a terminal, so logs stay clean."""
    if out.json_mode and not sys.stderr.isatty():
        return None
    return ProgressBar(out.err_console, title)


class ProgressBar:
    """A textgen ProgressRenderer drawing one rich bar with a title and `done/total unit`."""

    def __init__(self, console: Console, title: str) -> None:
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress  # noqa: PLC0415

        self._bar: Any = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: Any = self._bar.add_task(title, total=None, unit="")
        self._bar.start()

    def update(self, progress: Progress) -> None:
        """Move the bar to `progress`."""
        self._bar.update(
            self._task,
            completed=progress.completed,
            total=progress.total,
            unit=progress.description,
        )

    def close(self) -> None:
        """Leave the final bar on screen and stop drawing."""
        self._bar.stop()
