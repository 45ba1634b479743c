"""A progress bar on stderr for long runs: on a terminal only, and only once a run has taken
`DELAY` seconds, so that short runs, pipes, CI logs and pre-commit output stay clean."""

from __future__ import annotations

import time
from typing import TextIO

DELAY = 2.0  # seconds before the bar appears
INTERVAL = 0.1  # seconds between redraws
BAR = 30  # characters of the bar itself


class Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream = total, stream
        self.enabled = total > 1 and _isatty(stream)
        self.started = time.monotonic()
        self.drawn_at: float | None = None
        self.done = 0

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < DELAY:
            return
        if self.drawn_at is not None and now - self.drawn_at < INTERVAL and self.done < self.total:
            return
        self.drawn_at = now
        filled = BAR * self.done // self.total
        bar = "#" * filled + "-" * (BAR - filled)
        percent = 100 * self.done // self.total
        self.stream.write(f"\r\x1b[Kchecking [{bar}] {self.done}/{self.total} files {percent:3d}%")
        self.stream.flush()

    def close(self) -> None:
        """Erase the bar, so that what follows starts on a clean line."""
        if self.drawn_at is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
