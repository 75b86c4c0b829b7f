"""`sync_pending --wait`'s progress, per platform, from onboarding/progress.py: rich's
bars redrawn in place on a terminal, a plain line per platform every PLAIN_EVERY seconds
(and at the end) when the output goes to a file or a pipe."""

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from onboarding import progress

REDRAW_EVERY = 0.5  # seconds between two looks at the database while bars are drawn
PLAIN_EVERY = 10.0


class RunDisplay:
    def __init__(self, rows, stream):
        self.run = progress.RunProgress(rows)
        self.stream = stream
        self.terminal = stream.isatty()
        self.last_look = float("-inf")
        self.bars: Progress | None = None
        self.tasks: dict[str, int] = {}
        if self.terminal:
            self.bars = Progress(
                TextColumn("{task.description:<14}"),
                BarColumn(bar_width=30),
                TextColumn("{task.fields[summary]}"),
                console=Console(file=stream._out if hasattr(stream, "_out") else stream),
                auto_refresh=False,
            )
            self.bars.start()

    def tick(self, *, force: bool = False) -> None:
        """Look again if it is time (or `force`), and show what changed."""
        now = time.monotonic()
        every = REDRAW_EVERY if self.terminal else PLAIN_EVERY
        if not force and now - self.last_look < every:
            return
        self.last_look = now
        platforms = self.run.now()
        if self.bars is None:
            for p in platforms.values():
                self.stream.write(f"{p.label}: {progress.summary_text(p)}")
            return
        for name, p in platforms.items():
            if name not in self.tasks:
                self.tasks[name] = self.bars.add_task(p.label, total=p.total, summary="")
            self.bars.update(
                self.tasks[name], total=p.total, completed=p.done, summary=progress.summary_text(p)
            )
        self.bars.refresh()

    def close(self) -> None:
        self.tick(force=True)
        if self.bars is not None:
            self.bars.stop()
