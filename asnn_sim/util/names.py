""""Did you mean ...?" for names the user types: models, encodings, datasets, profiles, flags.

Standard library only (``difflib``), so the command-line parsers can use it without
slowing ``asnn --help`` down.

Examples
--------
>>> did_you_mean("lenett", ["lenet", "resnet19"])
"did you mean 'lenet'?"
>>> unknown_name("encoding", "hybird", ["direct", "temporal", "hybrid"])
"unknown encoding 'hybird' (did you mean 'hybrid'?); choose one of direct, temporal, hybrid"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean", "unknown_name"]

CUTOFF = 0.6  # difflib's default similarity cutoff


def closest(name: object, valid: Iterable[str], cutoff: float = CUTOFF) -> list[str]:
    """The valid names most like ``name``, best first (ties kept, at most 3; may be empty).

    Similarity is :class:`difflib.SequenceMatcher`'s ratio, ignoring case; a valid name
    that starts with ``name`` (``cifar`` -> ``cifar10``, ``cifar100``) counts as close.
    """
    text = str(name).strip().lower()
    if not text:
        return []
    scored = []
    for candidate in dict.fromkeys(str(v) for v in valid):
        ratio = difflib.SequenceMatcher(None, text, candidate.lower()).ratio()
        if candidate.lower().startswith(text) and len(text) >= 2:
            ratio = max(ratio, cutoff)
        if ratio >= cutoff:
            scored.append((ratio, candidate))
    if not scored:
        return []
    best = max(r for r, _ in scored)
    return [c for r, c in sorted(scored, key=lambda rc: -rc[0]) if r >= best - 0.05][:3]


def did_you_mean(name: object, valid: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` (or ``'x' or 'y'``), or ``""`` when nothing is close."""
    close = closest(name, valid)
    if not close:
        return ""
    quoted = [repr(c) for c in close]
    options = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"did you mean {options}?"


def unknown_name(what: str, name: object, valid: Iterable[str], choose: str = "choose one of") -> str:
    """One-line message for an unknown ``what`` (model, encoding, ...), with a suggestion.

    ``"unknown model 'lenett' (did you mean 'lenet'?); choose one of lenet, resnet19"``
    """
    valid = list(valid)
    hint = did_you_mean(name, valid)
    return f"unknown {what} {name!r}" + (f" ({hint})" if hint else "") + f"; {choose} {', '.join(valid)}"
