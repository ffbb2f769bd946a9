"""Deterministic file writers for the synthetic generator (XLSX, YAML, JSON).

The same inputs must give byte-identical files (DESIGN.md, convention 12). openpyxl stamps a
workbook twice with the wall clock: the document properties (``created``/``modified``) and the
date of every ZIP member. Both are fixed here: the properties are set before saving and the
archive is re-packed with a constant member date, so a file's sha256 depends only on its content.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

__all__ = ["FIXED_TIME", "write_xlsx", "write_yaml", "write_json"]

#: The one timestamp written into workbook metadata (the plan's issue date, not the wall clock).
FIXED_TIME = dt.datetime(2023, 3, 24, 0, 0, 0)
_ZIP_TIME = (2023, 3, 24, 0, 0, 0)


def _repack(data: bytes) -> bytes:
    """Re-pack a ZIP with fixed member dates, keeping member order and compression."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], *, sheet: str,
               title: str, description: str, creator: str = "analysis.synthetic (SYNTHETIC DEMO DATA)") -> Path:
    """Write one sheet (header row, then *rows*) to *path*, byte-for-byte reproducibly.

    Parameters
    ----------
    path : Path
        Target ``.xlsx`` file (parent folders are created).
    header, rows
        The header cells and the data rows (``None`` = empty cell).
    sheet : str
        Sheet title.
    title, description, creator : str
        Workbook properties; the generator marks them as synthetic so that a file opened on
        its own cannot be mistaken for real data.

    Returns
    -------
    Path
        *path*.
    """
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet)
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    props = wb.properties
    props.creator = creator
    props.lastModifiedBy = creator
    props.title = title
    props.subject = "SYNTHETIC DEMO DATA - not real survey data"
    props.description = description
    props.keywords = "synthetic; demo; Đề án 04-ĐA/ĐUK"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_repack(buf.getvalue()))
    return path


def write_yaml(path: Path, data: Mapping) -> Path:
    """YAML in the given key order, UTF-8, Unix newlines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_json(path: Path, data: Mapping) -> Path:
    """Pretty JSON, keys in the given order, UTF-8, trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
