"""Progress renderers for operations: how metadata becomes a bar, and the rich bar itself."""

from __future__ import annotations

from typing import Any, Protocol

from google.protobuf.message import Message

from textgen._calls import Progress
from textgen._extras import missing_extra

__all__ = ["Progress", "ProgressRenderer", "RichProgressRenderer", "describe_metadata"]


class ProgressRenderer(Protocol):
    """Draws an operation's progress; `Operation.result(progress=renderer)` drives it."""

    def update(self, progress: Progress) -> None:
        """Show the latest progress."""

    def close(self) -> None:
        """Stop drawing; called once, when waiting ends for any reason."""


def describe_metadata(metadata: Message) -> Progress:
    """A generic reading of metadata: the first `completed_X` / `total_X` pair of numbers.

    This covers tuning (`completed_steps` of `total_steps`) and batches (`completed_batches` of
    `total_batches`); resources with other metadata pass their own `describe`.
    """
    fields = {f.name: getattr(metadata, f.name) for f in metadata.DESCRIPTOR.fields}
    for field, value in fields.items():
        if field.startswith("completed_") and isinstance(value, int | float):
            total = fields.get("total_" + field.removeprefix("completed_"))
            if isinstance(total, int | float):
                unit = field.removeprefix("completed_")
                return Progress(float(value), float(total) or None, unit)
    percent = fields.get("completed_percent")
    if isinstance(percent, int | float):
        return Progress(float(percent), 100.0, "percent")
    return Progress(0.0, None, metadata.DESCRIPTOR.name)


class RichProgressRenderer:
    """A live terminal progress bar drawn with rich (installed with the `cli` extra)."""

    def __init__(self, title: str) -> None:
        try:
            from rich.progress import (  # noqa: PLC0415  (rich is optional)
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress  # noqa: PLC0415
        except ImportError as error:
            raise missing_extra(error, "progress=True") or error from None
        from rich.table import Column  # noqa: PLC0415

        # The label takes at most a third of the width left by the counts and shortens with an
        # ellipsis, and the bar the rest: a long title (an operation's name) leaves the bar
        # room to move.
        label = Column(ratio=1, no_wrap=True, overflow="ellipsis")
        self._bar: Any = RichProgress(
            TextColumn("{task.description}", table_column=label),
            BarColumn(bar_width=None, table_column=Column(ratio=2)),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
            expand=True,
        )
        self._task: Any = self._bar.add_task(title, total=None)
        self._title = title
        self._bar.start()

    def update(self, progress: Progress) -> None:
        """Move the bar to `progress`."""
        label = f"{self._title} ({progress.description})" if progress.description else self._title
        self._bar.update(
            self._task, completed=progress.completed, total=progress.total, description=label
        )

    def close(self) -> None:
        """Leave the final bar on screen and stop refreshing."""
        self._bar.stop()
