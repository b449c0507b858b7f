"""Progress output: a tqdm bar on a terminal, a few plain lines when output is not one.

A bar redraws itself many times a second; written to a log file or a pipe, every redraw
becomes text (thousands of lines for one training run). So :func:`progress` returns a
tqdm bar only when its stream (stderr) is a terminal, and otherwise a
:class:`LineProgress` that prints a plain line at most every ``interval`` seconds and a
closing line with the count and time. Both have the same small interface: ``update``,
``set_postfix``, ``write`` (a line on stdout that does not disturb the bar) and ``close``,
and both work as context managers.

Examples
--------
>>> with progress(total=3, desc="demo", unit="step", enabled=False) as bar:
...     for _ in range(3):
...         bar.update(1)
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["LineProgress", "is_terminal", "progress"]

#: Seconds between two plain progress lines when output is not a terminal.
INTERVAL = 30.0


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default stderr, where progress goes) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def progress(
    total: int,
    desc: str,
    unit: str = "it",
    *,
    enabled: bool = True,
    initial: int = 0,
    summary: bool = True,
    interval: float = INTERVAL,
    stream: TextIO | None = None,
) -> Any:
    """A progress reporter for ``total`` units of work.

    Parameters
    ----------
    total : int
    desc : str
        What is progressing (``"simulate"``, ``"train hybrid"``).
    unit : str
        Name of one unit (``"sample"``, ``"batch"``).
    enabled : bool
        False: print nothing (``--quiet``); ``write`` still prints.
    initial : int
        Units already done (a resumed run).
    summary : bool
        When not on a terminal, print a closing line (``simulate: 360 samples in 0.4 s``).
        Callers that print their own line per stage (training's epoch lines) pass False.
    interval : float
        When not on a terminal, seconds between plain progress lines.
    stream : file, optional
        Where progress goes (default stderr).

    Returns
    -------
    tqdm.tqdm or LineProgress
    """
    stream = sys.stderr if stream is None else stream
    if enabled and is_terminal(stream):
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=stream, dynamic_ncols=True, mininterval=0.5)
    return LineProgress(total, desc, unit, enabled=enabled, initial=initial, summary=summary, interval=interval, stream=stream)


class LineProgress:
    """Plain-text progress: a line every ``interval`` seconds and one at the end.

    Lines look like ``simulate: 1,280/10,000 samples (13%), 31 s`` and, on close,
    ``simulate: 10,000 samples in 4 min 2 s``.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str = "it",
        *,
        enabled: bool = True,
        initial: int = 0,
        summary: bool = True,
        interval: float = INTERVAL,
        stream: TextIO | None = None,
    ) -> None:
        self.total, self.desc, self.unit = int(total), desc, unit
        self.enabled, self.summary, self.interval = enabled, summary, interval
        self.stream = sys.stderr if stream is None else stream
        self.n = self.initial = int(initial)
        self.postfix = ""
        self.start = self.last = time.perf_counter()
        self.closed = False

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _units(self, n: int) -> str:
        plural = "es" if self.unit.endswith(("s", "sh", "ch", "x")) else "s"
        return f"{n:,} {self.unit}{'' if n == 1 else plural}"

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units; print a line if ``interval`` seconds have passed."""
        self.n += n
        now = time.perf_counter()
        if self.enabled and now - self.last >= self.interval and self.n < self.total:
            self.last = now
            share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
            post = f", {self.postfix}" if self.postfix else ""
            self._print(f"{self.desc}: {self.n:,}/{self._units(self.total)}{share}, {format_seconds(now - self.start)}{post}")

    def set_postfix(self, **values: Any) -> None:
        """Extra facts for the next line (``loss=0.31``)."""
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())

    def write(self, text: str) -> None:
        """Print a line on stdout (as :meth:`tqdm.tqdm.write`)."""
        print(text, flush=True)

    def close(self) -> None:
        """Print the closing line (once), if enabled, ``summary`` and any work was done."""
        if self.closed:
            return
        self.closed = True
        done = self.n - self.initial
        if self.enabled and self.summary and done > 0:
            self._print(f"{self.desc}: {self._units(done)} in {format_seconds(time.perf_counter() - self.start)}")


def format_seconds(seconds: float) -> str:
    """``0.4 s``, ``31 s``, ``4 min 2 s``, ``1 h 5 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
