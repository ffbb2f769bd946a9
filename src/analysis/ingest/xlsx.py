"""Reading the first worksheet of an XLSX export as a grid of cell texts.

Two readers give one result. openpyxl is the reference: it reads every cell as Excel's own
model has it, but parses the sheet XML in Python (~90 s for a 63-thousand-row export, which
makes a national export of 631 thousand rows a quarter of an hour). python-calamine (Rust)
reads the same file ~50× faster, and agrees with openpyxl on text, numbers and booleans. It
differs on a few things, each found in the workbook's XML before it is used
(`reference_reader_reason`): error cells (``#N/A``) it reads as empty; integers of 16 digits
or more as floats (digits lost); date-formatted cells by its own format rules (negative and
out-of-range serials become times or numbers); ``_xHHHH_`` escapes it decodes where openpyxl
keeps them; spaces at the ends of a text run it trims unless ``xml:space="preserve"`` (a
rich-text "Đoàn " + "Thanh niên" becomes "ĐoànThanh niên"); merged ranges. A workbook with any
of these, or a value calamine reads as a date or time, is read with openpyxl.
tests/test_ingest_xlsx.py reads each case both ways.

openpyxl's read-only worksheet holds the shared strings (``ws._shared_strings``); the
workbook's ``shared_strings`` is the empty table openpyxl writes from.

Both readers: rows from row 1, columns from A, every row as long as the widest; ``None`` for an
empty cell (an empty string too); trailing rows and columns without any value are not read
(openpyxl counts a formatted empty cell, calamine does not; a blank header over an empty column
is ignored anyway).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from analysis.ingest.messages import IngestError, Message, error_message

__all__ = ["excel_cell", "read_grid", "reference_reader_reason"]


def excel_cell(v: object) -> object:
    """An Excel cell as the text a user would type: whole floats without '.0', dates ISO."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return None
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0) and v.tzinfo is None:
            return v.date().isoformat()
        return v.isoformat()
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v.total_seconds())
    return str(v)


def read_grid(path: Path, name: str) -> tuple[list[list[object]], str, list[Message]]:
    """The first worksheet of *path* as rows of cell texts, its title and the notes (other
    sheets ignored); `IngestError` for a workbook that cannot be read or has merged cells."""
    data = path.read_bytes()
    # The scan for what calamine reads otherwise and calamine's own parse both decompress the
    # sheet; both let go of the interpreter lock, so they run side by side (a national
    # export: 10 s + 18 s one after the other).
    with ThreadPoolExecutor(max_workers=1) as pool:
        reason = pool.submit(reference_reader_reason, data)
        try:
            fast = _calamine_grid(data, name)
        except Exception:  # noqa: BLE001 - a typed value or an unreadable file: the reference reader decides
            fast = None
        if reason.result() is None and fast is not None:
            grid, title, notes = fast
            return _trim(grid), title, notes
    del fast
    grid, title, notes = _openpyxl_grid(data, name)
    return _trim(grid), title, notes


# --------------------------------------------------------------------------- which reader


# What calamine reads otherwise than openpyxl (module docstring), as it appears in the XML.
_ERROR_OR_ISO_DATE_CELL = (b't="e"', b't="d"')
_MERGED = b"<mergeCell "
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
_LONG_INTEGER = re.compile(rb"<v>\s*-?\d{16}")
_UNPRESERVED_SPACE = re.compile(rb"<t>(?:\s|[^<]*\s</t>)")  # calamine trims it, openpyxl keeps it
_CHUNK = 1 << 24
_OVERLAP = 64  # longer than every pattern but the open-ended text one (see _carry)


def reference_reader_reason(data: bytes) -> str | None:
    """Why the workbook *data* must be read with openpyxl (a short English phrase), or ``None``
    when calamine reads it as openpyxl does. A file that is not a readable ZIP returns a reason
    (openpyxl names the problem)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            date_styles = _date_style_ids(zf)
            style = (re.compile(rb'\bs="(?:' + b"|".join(str(i).encode() for i in sorted(date_styles)) + rb')"')
                     if date_styles else None)
            parts = [n for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
            for part in [*parts, "xl/sharedStrings.xml"]:
                if part not in zf.NameToInfo:
                    continue
                reason = _scan(zf, part, style)
                if reason:
                    return f"{part}: {reason}"
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        return f"not a readable workbook ({type(exc).__name__})"
    return None


def _date_style_ids(zf: zipfile.ZipFile) -> set[int]:
    """The cell style indices openpyxl reads as dates, times or durations."""
    from openpyxl.styles.stylesheet import Stylesheet
    from openpyxl.xml.functions import fromstring

    if "xl/styles.xml" not in zf.NameToInfo:
        return set()
    sheet = Stylesheet.from_tree(fromstring(zf.read("xl/styles.xml")))
    return set(sheet.date_formats) | set(sheet.timedelta_formats)


def _scan(zf: zipfile.ZipFile, part: str, date_style: re.Pattern | None) -> str | None:
    """The first thing in *part* that calamine reads otherwise, read in chunks (a national
    export's sheet XML is over a gigabyte)."""
    with zf.open(part) as src:
        tail = b""
        while chunk := src.read(_CHUNK):
            buf = tail + chunk
            if any(token in buf for token in _ERROR_OR_ISO_DATE_CELL):
                return "an error or ISO-date cell"
            if _MERGED in buf:
                return "merged cells"
            if _ESCAPE.search(buf):
                return "an _xHHHH_ escape"
            if _LONG_INTEGER.search(buf):
                return "an integer of 16 digits or more"
            if _UNPRESERVED_SPACE.search(buf):
                return "text with spaces at its ends and no xml:space"
            if date_style is not None and date_style.search(buf):
                return "a date- or time-formatted cell"
            tail = _carry(buf)
    return None


def _carry(buf: bytes) -> bytes:
    """The end of *buf* that the next chunk is scanned with: the last _OVERLAP bytes, and from
    the last ``<t>`` on when its text is not closed yet (a text's length has no bound, and its
    trailing space is only seen at ``</t>``).

    >>> _carry(b"<t>" + b"x" * 100 + b" <")[:3], _carry(b"<t>a</t>" + b"x" * 100)[:3]
    (b'<t>', b'xxx')
    """
    start = len(buf) - _OVERLAP
    opened = buf.rfind(b"<t>")
    if 0 <= opened < start and buf.find(b"</t>", opened) == -1:
        start = opened
    return buf[max(start, 0):]


def _trim(grid: list[list[object]]) -> list[list[object]]:
    """Rows of one length, the sheet's last column with a value; trailing empty rows dropped."""
    def width(row: list[object]) -> int:
        n = len(row)
        while n and row[n - 1] is None:
            n -= 1
        return n

    widths = [width(row) for row in grid]
    while widths and not widths[-1]:
        widths.pop()
    grid = grid[: len(widths)]
    full = max(widths, default=0)
    return [row if len(row) == full else row[:full] + [None] * (full - len(row)) for row in grid]


# --------------------------------------------------------------------------- calamine


class _TypedValue(Exception):
    """calamine read a date, time or duration: its format rules are not openpyxl's."""


def _number_cell(v: object) -> object:
    if isinstance(v, (dt.date, dt.time, dt.timedelta)):
        raise _TypedValue(repr(v))
    return excel_cell(v)


def _calamine_grid(data: bytes, name: str) -> tuple[list[list[object]], str, list[Message]]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        sheets = [m.name for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        first = wb.get_sheet_by_name(sheets[0]).to_python(skip_empty_area=False)
        grid = [[(v or None) if v.__class__ is str else _number_cell(v) for v in row] for row in first]
        others = [s for s in sheets[1:]
                  if _has_value_beyond_a1(wb.get_sheet_by_name(s).to_python(skip_empty_area=False))]
    finally:
        wb.close()
    return grid, sheets[0], _other_sheets_note(name, sheets[0], others)


def _has_value_beyond_a1(rows: list[list[object]]) -> bool:
    return any(v not in ("", None) for r, row in enumerate(rows) for c, v in enumerate(row) if r or c)


def _other_sheets_note(name: str, first: str, others: list[str]) -> list[Message]:
    if not others:
        return []
    return [Message("info", "other_sheets",
                    f"only the first sheet '{first}' is imported; sheets {others} are ignored "
                    f"(Kobo repeat groups are not imported)",
                    f"chỉ nhập trang tính đầu tiên '{first}'; bỏ qua các trang {others}", name)]


# --------------------------------------------------------------------------- openpyxl (the reference)


def _sheet_parser(wb, ws, src):
    """openpyxl's own sheet parser with the shared strings, epoch and date formats of *wb*, as
    ``load_workbook(read_only=False)`` uses it."""
    from openpyxl.worksheet._reader import WorkSheetParser

    return WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                           date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)


def _sheet_rows(wb, ws) -> tuple[dict[int, list[object]], object]:
    """One worksheet streamed: its rows (row number → cell texts by column, `excel_cell`) and
    its merged ranges (the parser reads ``<mergeCells>`` as it goes).

    The same values as the full model holds, without a ``Cell`` object per cell (the full model
    needs ~14 GB for a national export).
    """
    rows: dict[int, list[object]] = {}
    with ws._get_source() as src:
        parser = _sheet_parser(wb, ws, src)
        for _, parsed in parser.parse():
            for cell in parsed:
                r, c = cell["row"], cell["column"]
                row = rows.get(r)
                if row is None:
                    row = rows[r] = []
                if len(row) < c:
                    row.extend([None] * (c - len(row)))
                row[c - 1] = excel_cell(cell["value"])
    return rows, parser.merged_cells


def _value_beyond_a1(wb, ws) -> bool:
    """Whether a sheet has a value outside A1; reads up to the first such cell only."""
    with ws._get_source() as src:
        for _, parsed in _sheet_parser(wb, ws, src).parse():
            if any((cell["row"] > 1 or cell["column"] > 1) and excel_cell(cell["value"]) is not None
                   for cell in parsed):
                return True
    return False


def _openpyxl_grid(data: bytes, name: str) -> tuple[list[list[object]], str, list[Message]]:
    import openpyxl
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.cell_range import CellRange

    try:
        # Streamed (read-only workbook, each sheet through openpyxl's sheet parser): the same
        # values and merged ranges as the full model, in a fraction of its memory. From bytes:
        # openpyxl refuses a path whose extension is not .xlsx, but the format was recognised
        # from the content already.
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            rows, merged = _sheet_rows(wb, ws)
            others = [s.title for s in wb.worksheets[1:] if _value_beyond_a1(wb, s)]
        finally:
            wb.close()
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one message
        raise IngestError([error_message("format", name, f"the workbook cannot be opened ({type(exc).__name__}: {exc})",
                                    f"không mở được tệp Excel ({type(exc).__name__}: {exc})")]) from None
    problems = []
    ranges = {CellRange(m.ref).bounds for m in (merged.mergeCell if merged else ())}  # a set, as the full model's
    for min_col, min_row, max_col, max_row in sorted(ranges, key=lambda b: (b[1], b[0])):
        where = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"
        if min_row <= 2:
            problems.append(error_message("merged_header", name,
                                     f"sheet '{ws.title}': merged header cells {where}: the header must be one row of one name per "
                                     f"column — unmerge the cells and delete the group-title row",
                                     f"trang '{ws.title}': ô tiêu đề bị gộp {where}: tiêu đề phải là một dòng, mỗi cột một tên — "
                                     f"hãy bỏ gộp ô và xóa dòng tiêu đề nhóm"))
        else:
            problems.append(error_message("merged_cells", name,
                                     f"sheet '{ws.title}': merged cells {where} in the data: only the first cell keeps its value — unmerge "
                                     f"and fill every cell",
                                     f"trang '{ws.title}': ô bị gộp {where} trong vùng dữ liệu: chỉ ô đầu giữ giá trị — hãy bỏ gộp và "
                                     f"điền đủ từng ô"))
    if problems:
        raise IngestError(problems)
    # The full model's grid: rows 1..max_row (none for a sheet without cells).
    grid = [rows.pop(r, []) for r in range(1, max(rows, default=0) + 1)]
    return grid, ws.title, _other_sheets_note(name, ws.title, others)
