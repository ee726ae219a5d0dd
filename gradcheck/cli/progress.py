"""Progress of a run on stderr (stdout stays the report alone).

On a terminal: a rich progress bar (done/total, the rule just finished, elapsed, time left),
shown once the run has lasted a second. In a CI log (`CI` set) or when stderr is not a
terminal: one plain line about every ten seconds. `--quiet`: nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import Any

from gradcheck.model import Verdict

DELAY = 1.0  # seconds before a bar appears: a quick run shows none
PLAIN_EVERY = 10.0  # seconds between two plain lines


class Progress:
    """Told how many rules there are (`begin`) and of every verdict (`__call__`): the
    verdicts.Progress of a run; a context manager around it."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.total = 0
        self.done = 0
        self.last = ""
        self.start = time.monotonic()
        self.quiet = quiet
        self.plain = bool(os.environ.get("CI")) or not sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._said = self.start

    def __enter__(self) -> Progress:
        return self

    def begin(self, total: int) -> None:
        self.total = total
        self.start = self._said = time.monotonic()
        if total and not self.quiet and not self.plain:
            self._timer = threading.Timer(DELAY, self._show_bar)
            self._timer.daemon = True
            self._timer.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None

    def __call__(self, verdict: Verdict) -> None:
        with self._lock:
            self.done += 1
            self.last = verdict.rule_id
            if self.quiet:
                return
            if self._bar is not None:
                self._bar.update(self._task, completed=self.done, rule=self.last)
            elif self.plain and time.monotonic() - self._said >= PLAIN_EVERY:
                self._said = time.monotonic()
                sys.stderr.write(self.line() + "\n")
                sys.stderr.flush()

    def line(self) -> str:
        """The plain progress line, e.g. `gradcheck: 120/287 rules, 45 s, about 62 s left`."""
        elapsed = time.monotonic() - self.start
        text = f"gradcheck: {self.done}/{self.total} rules, {elapsed:.0f} s"
        if 0 < self.done < self.total:
            text += f", about {elapsed / self.done * (self.total - self.done):.0f} s left"
        return f"{text} (last: {self.last})" if self.last else text

    def _show_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        with self._lock:
            if self.done >= self.total:
                return
            self._bar = Bar(
                TextColumn("checking"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[rule]}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task("rules", total=self.total, rule=self.last)
            self._bar.update(self._task, completed=self.done)
            self._bar.start()
