"""Import messages: the bilingual log line (`Message`), the file-level error (`IngestError`)
and the small formatters every import step uses to name places (row lists, column letters)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Message", "IngestError", "error_message", "strip_file_prefix", "row_list", "column_letter"]


@dataclass(frozen=True)
class Message:
    """One line of the import log, in English and Vietnamese.

    ``level`` is ``info``, ``warning`` or ``error``; ``code`` a stable key (e.g.
    ``legacy_encoding``) that tests and the report use; ``file`` the file it concerns.
    """

    level: str
    code: str
    en: str
    vi: str
    file: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"[{self.level}] {where}{self.en}\n        {where}{self.vi}"


class IngestError(ValueError):
    """File-level problems: nothing was written. ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[Message]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def error_message(code: str, file: str, en: str, vi: str) -> Message:
    return Message("error", code, en, vi, file)


def strip_file_prefix(text: str, name: str) -> str:
    """Drop a leading '<file>: ' (the `Message` carries the file separately)."""
    return text[len(name) + 2:] if text.startswith(f"{name}: ") else text


def row_list(rows: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" … ({len(rows)} in all)" if len(rows) > limit else "")


def column_letter(i: int) -> str:
    s, n = "", i + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s
