"""The one exception type the energy side raises on bad input."""

from __future__ import annotations

from collections.abc import Iterable


class EnergyError(ValueError):
    """Bad input to the energy model: a counts directory, a profile, or an option.

    The message is always one line and names the file and the field or column at
    fault, so a command-line wrapper can print it as is and exit with status 1. A
    profile file with several problems gets one error naming them all (their number
    first); :attr:`problems` lists them one by one (one line each), e.g. to print
    them on separate lines.

    Attributes
    ----------
    problems : tuple of str
        Each problem on its own line (the message itself when there is one).
    """

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        # Keep messages on one line whatever the caller passed in.
        message = " ".join(str(message).split())
        super().__init__(message)
        self.problems = tuple(" ".join(str(p).split()) for p in problems) or (message,)
