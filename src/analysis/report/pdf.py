"""DOCX → PDF with LibreOffice headless, and what the PDF was set in.

Every DOCX the project writes (the technical report, the Board edition, the unit sheets) gets a
PDF beside it, because the Board prints and files PDFs. The conversion is LibreOffice's own
(``soffice --headless --convert-to pdf``): python-docx writes the document, LibreOffice lays it
out exactly as Writer would, with the fonts embedded (its PDF export embeds the subset of every
font it uses). No Python library lays out DOCX pages, so there is nothing to prefer over it.

Each call gets its own LibreOffice profile folder (``-env:UserInstallation``): two conversions at
once (parallel report runs, the unit sheets) would otherwise fight over one profile's lock and
one of them would exit 0 without writing anything. Several documents go through one soffice
start (it takes a few seconds to start, a fraction of a second per document).

Vietnamese administrative documents are set in Times New Roman. Debian does not ship it; its
metric-compatible replacement Liberation Serif (``fonts-liberation``) keeps the line breaks and
page breaks of the original. `font_substitution` says which font the machine really uses for it,
and the report manifest records that.

LibreOffice is a system package (Debian ``libreoffice-writer-nogui``), installed by
``scripts/system_deps.sh`` (``make system-deps``, called by ``make report`` and ``make test``).
Without it `docx_to_pdf` raises `PdfUnavailableError` saying so; the report runner then writes
the DOCX and HTML, and says which PDFs it could not make.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

__all__ = ["PdfUnavailableError", "PdfConversionError", "soffice", "docx_to_pdf", "font_substitution"]

DOCUMENT_FONT = "Times New Roman"
_TIMEOUT_S = 300


class PdfUnavailableError(RuntimeError):
    """LibreOffice is not installed: no PDF can be made on this machine."""


class PdfConversionError(RuntimeError):
    """LibreOffice ran but did not write the PDF of a document."""


def soffice() -> str | None:
    """The LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx_files: Iterable[Path | str]) -> list[Path]:
    """Convert each DOCX to a PDF of the same name in the same folder; return the PDFs' paths.

    An existing PDF of the same name is replaced. Raises `PdfUnavailableError` without
    LibreOffice and `PdfConversionError` (naming the document and LibreOffice's output) when a
    PDF was not written.
    """
    files = [Path(f).resolve() for f in docx_files]
    if not files:
        return []
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"{f}: no such DOCX to convert to PDF")
    exe = soffice()
    if exe is None:
        raise PdfUnavailableError(
            "LibreOffice (soffice) is not installed, so no PDF was made: install Debian's "
            "libreoffice-writer-nogui (`make system-deps` as root)")
    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        by_folder.setdefault(f.parent, []).append(f)
    with tempfile.TemporaryDirectory(prefix="soffice-profile-") as profile:
        for folder, group in by_folder.items():
            for f in group:
                f.with_suffix(".pdf").unlink(missing_ok=True)
            cmd = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                   "--nologo", "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(folder),
                   *map(str, group)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT_S)
            for f in group:
                if not f.with_suffix(".pdf").is_file():
                    raise PdfConversionError(
                        f"{f}: LibreOffice wrote no PDF (exit {proc.returncode}): "
                        f"{(proc.stderr or proc.stdout).strip()[:500]}")
    return [f.with_suffix(".pdf") for f in files]


def font_substitution(font: str = DOCUMENT_FONT) -> dict[str, str]:
    """``{"requested": font, "used": <family fontconfig gives for it>}`` (``used`` "unknown"
    when fontconfig's fc-match is not there). LibreOffice takes its substitutes from fontconfig."""
    used = "unknown"
    exe = shutil.which("fc-match")
    if exe:
        out = subprocess.run([exe, "--format=%{family[0]}", font], capture_output=True, text=True, timeout=30)
        used = out.stdout.strip() or used
    return {"requested": font, "used": used}
