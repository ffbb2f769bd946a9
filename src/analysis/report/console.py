"""Info lines on stderr that do not break the progress bar of a running report."""

from __future__ import annotations

import sys

__all__ = ["say"]


def say(message: str) -> None:
    """Print *message* on stderr above tqdm's progress bar."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)
