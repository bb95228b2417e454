"""A one-line progress indicator on stderr: rewritten in place on a terminal, a line per
phase otherwise (so logs stay readable)."""

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_phases: int, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._phases = total_phases
        self._phase = 0
        self._label = ""
        self._total = 0
        self._done = 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def phase(self, label: str, total: int) -> None:
        self._finish_line()
        self._phase += 1
        self._label, self._total, self._done = label, total, 0
        if not self._tty:
            elapsed = time.monotonic() - self._started
            print(
                f"[{self._phase}/{self._phases}] {label} ... ({elapsed:.0f} s in)",
                file=self._stream,
                flush=True,
            )
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self._done += n
        self._draw(force=self._done >= self._total)

    def close(self) -> None:
        self._finish_line()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self._tty or (not force and now - self._drawn < 0.1):
            return
        self._drawn = now
        width = 24
        filled = width * self._done // self._total if self._total else width
        bar = "#" * filled + "." * (width - filled)
        line = (
            f"\r[{self._phase}/{self._phases}] {self._label:<44.44} [{bar}] "
            f"{self._done}/{self._total}  {now - self._started:5.0f}s"
        )
        self._stream.write(line)
        self._stream.flush()

    def _finish_line(self) -> None:
        if self._tty and self._label:
            self._stream.write("\n")
            self._stream.flush()
        self._label = ""
