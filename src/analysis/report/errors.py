"""What can stop a report, as exceptions whose message says why and what to do.

Every error of ``python -m analysis report`` derives from `ReportError` (the command prints it
and exits 1) except `ParameterError`, a `ValueError` raised before any file is touched.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ReportError", "ParameterError", "PipelineError", "KernelMismatchError",
           "DisclosureAuditError", "NotebookFailedError"]


class ReportError(RuntimeError):
    """A report could not be produced (the message says why and what to do)."""


class ParameterError(ValueError):
    """A notebook parameter with an unsafe name or an unsupported value."""


class PipelineError(ReportError):
    """notebooks/pipeline.yaml or the notebooks of study.yaml are malformed, or a listed notebook is missing."""


class KernelMismatchError(ReportError):
    """The project's Jupyter kernel is missing or runs another interpreter."""


class DisclosureAuditError(ReportError):
    """The whole-report attacker recovered hidden values from the run's published tables."""


class NotebookFailedError(ReportError):
    """A cell of a pipeline notebook raised; the executed notebook is kept for debugging.

    Attributes
    ----------
    notebook : str
        Notebook name (without ``.ipynb``).
    cell_index : int or None
        Index of the failing cell in the *executed* notebook (which includes papermill's
        injected-parameters cell).
    source_line : str
        First line of the failing cell's source.
    error : str
        ``ExceptionName: message``.
    kept_at : pathlib.Path or None
        Where the executed notebook is kept (set once the run folder moved to ``.failed``).
    """

    def __init__(self, notebook: str, cell_index: int | None, source_line: str, error: str,
                 kept_at: Path | None = None) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        self.source_line = source_line
        self.error = error
        self.kept_at = kept_at
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"cell {self.cell_index}" if self.cell_index is not None else "start-up"
        msg = f"notebook {self.notebook}.ipynb failed at {where}"
        if self.source_line:
            msg += f" ({self.source_line!r})"
        msg += f": {self.error}"
        if self.kept_at is not None:
            msg += f"\nexecuted notebook kept in {self.kept_at}"
        return msg

    def with_kept_at(self, path: Path) -> "NotebookFailedError":
        """Record where the executed notebook now lives (updates the message)."""
        self.kept_at = path
        self.args = (self._message(),)
        return self
