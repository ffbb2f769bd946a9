"""XLSX export and deterministic Office files: `write_xlsx`, `export_table` (CSV + XLSX), `normalise_ooxml`.

Split from `analysis.report.tables` (which keeps the number formatting and the CSV/HTML
exports): a text cell that begins like a formula is stored as text with the quote prefix,
never as a formula, and the same table gives the same bytes (fixed workbook properties and
zip timestamps).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.report.tables import (
    FIXED_TIMESTAMP,
    ILLEGAL_XML,
    is_formula_like,
    is_missing,
    nfc,
    tidy_for_export,
    write_csv,
)

__all__ = ["export_table", "normalise_ooxml", "write_xlsx"]


def _cell_value(v: Any) -> Any:
    """A Python value openpyxl can store; NaN/NA become an empty cell."""
    if is_missing(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, str):
        return ILLEGAL_XML.sub("\ufffd", nfc(v))  # XML cannot hold these; keep a visible trace
    return v


def _put(ws: Any, row: int, col: int, value: Any) -> None:
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        # Why both: data_type "s" stops openpyxl writing an <f> element; the quote prefix stops
        # Excel turning the text into a formula when a user edits the cell.
        cell.data_type = "s"
        if is_formula_like(value):
            cell.quotePrefix = True


def normalise_ooxml(data: bytes) -> bytes:
    """Rewrite the zip with fixed entry timestamps and pinned core-property dates.

    openpyxl and python-docx stamp the current time both in the zip entries and in
    ``docProps/core.xml`` (``modified`` is reset on save), which would make every export differ
    from the last. Used for XLSX here and for DOCX by :mod:`analysis.report.docx_report`.
    """
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                                 rb"\g<1>" + stamp + rb"\2", content)
            new = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = 0o600 << 16
            dst.writestr(new, content)
    return buf.getvalue()


def _xml_text(value: str) -> str:
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")  # as lxml writes it: &#272;


def _cell_xml(ref: str, value: Any, style: int) -> str:
    """One ``<c>`` element as openpyxl writes it (inline string, or ``%.16g`` number)."""
    s = f' s="{style}"' if style else ""
    if isinstance(value, str):
        if value == "":
            return f'<c r="{ref}"{s} t="inlineStr"></c>'
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_xml_text(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if math.isinf(value):
        return f'<c r="{ref}"{s} t="n"><v></v></c>'
    return f'<c r="{ref}"{s} t="n"><v>{"%.16g" % value}</v></c>'


def _sheet_data(ws: Any, header: Sequence[Any], df: pd.DataFrame) -> str:
    """The ``<sheetData>`` of *df* under *header*, built as text.

    Why: openpyxl makes, styles and writes one object per cell (410k cells in the unit tables
    of a 10k-unit study: seconds). Only text that reads as a formula gets an openpyxl cell here
    (its quote-prefix style id, registered in the same order as before); a value other than
    text, number or bool is refused (``TypeError``), and the caller writes the sheet cell by cell.
    """
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(j) for j in range(1, len(df.columns) + 1)]
    if not letters:
        return "<sheetData></sheetData>"
    head = [_cell_xml(f"{c}1", v, ws.cell(row=1, column=j).style_id)
            for j, (c, v) in enumerate(zip(letters, header), start=1) if v is not None]
    rows = ['<row r="1">' + "".join(head) + "</row>"]
    for i, row in enumerate(df.itertuples(index=False, name=None), start=2):
        cells = []
        for j, (c, v) in enumerate(zip(letters, row), start=1):
            v = _cell_value(v)
            if v is None:
                continue
            if not isinstance(v, (str, int, float)):
                raise TypeError(type(v).__name__)
            style = 0
            if isinstance(v, str) and is_formula_like(v):
                _put(ws, i, j, v)
                style = ws.cell(row=i, column=j).style_id
            cells.append(_cell_xml(f"{c}{i}", v, style))
        rows.append(f'<row r="{i}">' + "".join(cells) + "</row>")
    if len(df) and len(df.columns):
        ws.cell(row=len(df) + 1, column=len(df.columns))  # the sheet's dimension: every row and column
    return "<sheetData>" + "".join(rows) + "</sheetData>"


def _with_sheet_data(data: bytes, sheet_data: Sequence[str | None]) -> bytes:
    """The workbook zip with sheet *k*'s ``<sheetData>`` replaced by ``sheet_data[k]`` (unless None)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if m and sheet_data[int(m.group(1)) - 1] is not None:
                text = content.decode("utf-8")
                start, end = text.index("<sheetData"), text.index("</sheetData>") + len("</sheetData>") \
                    if "</sheetData>" in text else text.index("/>", text.index("<sheetData")) + 2
                content = (text[:start] + sheet_data[int(m.group(1)) - 1] + text[end:]).encode("utf-8")
            dst.writestr(info, content)
    return buf.getvalue()


def write_xlsx(tables: pd.DataFrame | Mapping[str, pd.DataFrame], path: str | Path, *,
               sheet_name: str = "Sheet1") -> Path:
    """Write one table or several (``{sheet name: DataFrame}``) as a deterministic XLSX.

    Text is stored as text (never as a formula, even ``=1+1``), numbers as numbers, missing as
    empty cells; the header row is bold and frozen.

    Returns
    -------
    pathlib.Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    sheets = {sheet_name: tables} if isinstance(tables, pd.DataFrame) else dict(tables)
    wb = Workbook()
    wb.remove(wb.active)
    sheet_data = []
    for name, df in sheets.items():
        ws = wb.create_sheet(title=str(name)[:31])
        header = [_cell_value(str(col)) for col in df.columns]
        for j, v in enumerate(header, start=1):
            _put(ws, 1, j, v)
            ws.cell(row=1, column=j).font = Font(bold=True)
        try:
            sheet_data.append(_sheet_data(ws, header, df))
        except TypeError:  # a date or other value: openpyxl converts it, cell by cell
            sheet_data.append(None)
            for i, row in enumerate(df.itertuples(index=False, name=None), start=2):
                for j, v in enumerate(row, start=1):
                    _put(ws, i, j, _cell_value(v))
        ws.freeze_panes = "A2"
    props = wb.properties
    props.creator = "analysis"
    props.lastModifiedBy = "analysis"
    props.created = FIXED_TIMESTAMP
    props.modified = FIXED_TIMESTAMP
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(normalise_ooxml(_with_sheet_data(buf.getvalue(), sheet_data)))
    return path


def export_table(df: pd.DataFrame, directory: str | Path, stem: str, *,
                 formats: Sequence[str] = ("csv", "xlsx")) -> dict[str, Path]:
    """Write *df* as ``<directory>/<stem>.csv`` and ``.xlsx`` (the formats asked for).

    Returns
    -------
    dict
        ``{format: path}``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    writers = {"csv": write_csv, "xlsx": write_xlsx}
    unknown = [f for f in formats if f not in writers]
    if unknown:
        raise ValueError(f"export_table: unknown format(s) {unknown!r}; use 'csv' and/or 'xlsx'")
    df = tidy_for_export(df)
    return {f: writers[f](df, directory / f"{stem}.{f}") for f in formats}
