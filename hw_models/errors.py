"""The one exception type the energy side raises on bad input."""

from __future__ import annotations


class EnergyError(ValueError):
    """Bad input to the energy model: a counts directory, a profile, or an option.

    The message is always one line and names the file and the field or column at
    fault, so a command-line wrapper can print it as is and exit with status 1.
    """

    def __init__(self, message: str) -> None:
        # Keep messages on one line whatever the caller passed in.
        super().__init__(" ".join(str(message).split()))
