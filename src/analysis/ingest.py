"""Import survey exports: read, normalise, map to the instrument, validate, flag, store.

``python -m analysis add-wave --instrument member --wave 2026 FILE…`` and `import_wave` run
the same steps, in one direction:

1. **read** each file into strings (`read_file`; the format is recognised from the content,
   not the extension): CSV/TSV text in UTF-8, UTF-8 with BOM, UTF-16 (Excel "Unicode Text")
   or Windows-1258 (`analysis.vn_encoding.decode_bytes`); XLSX (first sheet; KoboToolbox,
   Google/Microsoft Forms or hand-typed); SPSS ``.sav`` (value labels and user-defined
   missing values kept). Everything is read as text first, so ``"001"`` stays ``"001"``.
2. **refuse** what cannot be read safely, before anything is written (exit code 2): other
   encodings, TCVN3/VNI legacy font text (column and example rows named), merged or blank
   header cells, two-row headers, unknown or missing columns, two columns for one item.
3. **normalise** text: Unicode NFC, non-breaking spaces, leading/trailing blanks; control and
   invisible characters are removed and counted (`Message` ``control_characters``).
4. **map** columns to items — by item name, by Kobo group path (``<group>/<item>``, e.g. ``grp_a/q_sat_01``) or by
   the exact question label (Vietnamese or English, NFC and whitespace-folded, optionally
   behind its group label as Kobo writes it) — never by similarity; and answers to codes —
   by code, or by choice label ignoring case, NFC/NFD and non-breaking spaces.
5. **convert** each column to its item type; every value that does not convert is a failure
   with file, sheet, row, column, value and rule (``4,5`` → ``decimal_comma``, ``1.234`` →
   ``thousands_separator``, unknown label → ``choice`` …), never a silent coercion.
6. **validate** (`analysis.validate`) and **de-duplicate**/**flag** (`analysis.quality`); rows
   with any failure go to quarantine with every reason; blank rows and exact duplicate copies
   are dropped and counted, so ``rows_read = accepted + quarantined + dropped`` always.
7. **store**: raw files read-only with their sha256 in ``data/raw/<instrument>/<wave>/``, and
   ``data/processed/<instrument>/<wave>.parquet`` (+ ``.manifest.json``, ``.quarantine.csv``,
   ``.quality.csv``), written deterministically (same answers → same bytes, whatever the format).

The expected export layout (what the synthetic generator writes) is documented in
`EXPORT_FORMAT`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from analysis import config, quality, validate, vn_encoding
from analysis.validate import FAILURE_COLUMNS, InstrumentSpec, ItemSpec

__all__ = [
    "EXPORT_FORMAT",
    "RULES",
    "META_COLUMNS",
    "TRAILING_COLUMNS",
    "FLAG_COLUMNS",
    "Message",
    "IngestError",
    "RawTable",
    "ImportResult",
    "WaveMeta",
    "read_file",
    "synthetic_marker",
    "fold",
    "import_wave",
    "processed_columns",
    "register",
    "main",
]

#: Version of the processed-wave layout written here (stored in the manifest).
INGEST_FORMAT_VERSION = "1"

#: Metadata columns of a processed wave, in order, before the items.
META_COLUMNS: tuple[str, ...] = ("_submission_id", "_submitted_at", "_duration_s")
#: Provenance and flag columns, in order, after the items.
TRAILING_COLUMNS: tuple[str, ...] = ("_source_file", "_source_row")
FLAG_COLUMNS: tuple[str, ...] = ("_flag_speeder", "_flag_straightliner", "_flag_item_nonresponse", "_flag_duplicate")

#: The time zone of fieldwork: naive times in exports (Excel cells, Forms timestamps, Kobo
#: ``start``/``end`` without offset) are read as Vietnam time; Kobo's ``_submission_time`` is UTC.
LOCAL_UTC_OFFSET = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")

EXPORT_FORMAT = """\
What the import accepts (the synthetic generator writes exactly this)
--------------------------------------------------------------------
Header: one row, row 1; no merged cells; no blank header above a column with data.
Item columns, one per data item of the instrument (note items have none), any order, named by
  - the item name                        q_sat_01
  - or its Kobo group path               grp_a/q_sat_01   (separator '/'; any group names)
  - or its exact label, vi or en         Nhìn chung, tôi hài lòng với … (NFC, spaces folded)
  - or Kobo "group label/item label"     Phần II. Hoạt động …/Nhìn chung, tôi hài lòng …
Answers: choice codes (1…5, 9, yes, CDVC01 …) or choice labels (vi or en; case, NFC/NFD and
  non-breaking spaces ignored; for a missing code such as "Không biết / không trả lời" each part
  between ' / ' is accepted too); integers as digits (no '1.234', no '4,5'); decimals with a
  dot; dates as YYYY-MM-DD or dd/mm/yyyy (or Excel date cells); times ISO 8601
  (YYYY-MM-DDTHH:MM:SS[.fff][+07:00]; without offset = Vietnam time).
Metadata columns (case-insensitive):
  submission id   _submission_id | _uuid | meta/instanceID ('uuid:' prefix dropped) | ID
                  (SPSS: submission_id or uuid — SPSS names cannot start with '_').
                  Without one: the unit survey uses the unit code; the member survey gets
                  'row-<sha256 of the answers>-<n>' (then duplicates cannot be recognised).
  submitted at    _submitted_at | _submission_time (UTC, Kobo) | submission_time | Timestamp |
                  Dấu thời gian | Completion time | Thời gian hoàn thành
  duration        _duration_s | _duration | duration_s | duration (seconds, digits) — else
                  end − start from the items with role start/end (Kobo 'start'/'end' columns
                  named after those items, or simply 'start'/'end').
  ignored         Kobo _id, _index, _validation_status, _status, _submitted_by, __version__,
                  _notes, _tags, _attachments, _geolocation, formhub/uuid, meta/*, deviceid,
                  today, username…; Forms Email, Name, Last modified time (listed in the log).
Rows: one per submission from row 2; a fully blank row between data rows is dropped and
  counted; trailing blank rows are not rows.
CSV: comma, semicolon or tab separated (the header line decides); UTF-8 (BOM or not), UTF-16
  with BOM (tab), or Windows-1258. XLSX: the first sheet. SAV: variables named as above;
  value labels map to choices; user-missing values are blank unless labelled as a missing
  choice; SPSS row n is reported as row n + 1 (as if the variable names were row 1).
"""


# ============================================================================================
# Messages and errors
# ============================================================================================
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


def _problem(code: str, file: str, en: str, vi: str) -> Message:
    return Message("error", code, en, vi, file)


def _unprefix(text: str, name: str) -> str:
    """Drop a leading '<file>: ' (the `Message` carries the file separately)."""
    return text[len(name) + 2:] if text.startswith(f"{name}: ") else text


# ============================================================================================
# Reading: bytes -> RawTable of strings
# ============================================================================================
@dataclass(frozen=True)
class RawTable:
    """One file as read: header and cells as text, exactly as received (not yet normalised).

    ``cells`` has one column per header cell (positional, object dtype, ``None`` = empty);
    ``rows`` the row number the user sees for each data row (header = row 1); ``value_labels``
    and ``user_missing`` (SPSS only) are keyed by column position.
    """

    file: str
    format: str
    header: tuple[str, ...]
    cells: pd.DataFrame
    rows: np.ndarray
    sheet: str = ""
    encoding: str = ""
    value_labels: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    user_missing: Mapping[int, frozenset[str]] = field(default_factory=dict)
    notes: tuple[Message, ...] = ()


def _sniff(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith((b"$FL2", b"$FL3")):
        return "sav"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "text"


def read_file(path: os.PathLike | str, *, name: str | None = None) -> RawTable:
    """Read one export into a `RawTable`; raise `IngestError` when it cannot be read safely.

    The format comes from the first bytes (ZIP → XLSX, ``$FL2`` → SPSS, OLE2 → old ``.xls``,
    refused), anything else is text. *name* is the file name used in messages (defaults to
    the path's name).
    """
    path = Path(path)
    name = name or path.name
    data = path.read_bytes()
    kind = _sniff(data)
    if kind == "xls":
        raise IngestError([_problem("format", name,
                                    "old Excel 97-2003 (.xls) workbooks are not supported: open it in Excel and save as .xlsx",
                                    "không hỗ trợ tệp Excel 97-2003 (.xls): hãy mở bằng Excel và lưu lại dạng .xlsx")])
    if kind == "xlsx":
        return _read_xlsx(path, name)
    if kind == "sav":
        return _read_sav(path, name)
    return _read_text(data, name)


#: What a synthetic file says about itself: the name prefix and the words in its workbook
#: title/subject (or SPSS file label) that `analysis.synthetic` writes.
SYNTHETIC_NAME_PREFIX = "SYNTHETIC_DEMO"
SYNTHETIC_WORDS = "SYNTHETIC DEMO"


def synthetic_marker(path: os.PathLike | str, *, name: str | None = None) -> str:
    """What in *path* declares it synthetic demo data ("" when nothing does).

    Looks at the file name (starts with ``SYNTHETIC_DEMO``, any case), an XLSX workbook's
    title and subject, and an SPSS file label (contain ``SYNTHETIC DEMO``, any case).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "SYNTHETIC_DEMO_unit.csv").write_text("a,b")
    3
    >>> synthetic_marker(folder / "SYNTHETIC_DEMO_unit.csv")
    "the file name starts with 'SYNTHETIC_DEMO'"
    """
    path = Path(path)
    name = name or path.name
    found = []
    if name.upper().startswith(SYNTHETIC_NAME_PREFIX):
        found.append(f"the file name starts with {SYNTHETIC_NAME_PREFIX!r}")
    with open(path, "rb") as fh:
        head = fh.read(4)
    words = SYNTHETIC_WORDS.casefold()
    if _sniff(head) == "xlsx":
        import zipfile
        from xml.etree import ElementTree

        try:
            with zipfile.ZipFile(path) as zf:
                core = ElementTree.fromstring(zf.read("docProps/core.xml"))
        except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
            core = None
        dc = "{http://purl.org/dc/elements/1.1/}"
        for prop in ("title", "subject"):
            node = core.find(f"{dc}{prop}") if core is not None else None
            text = (node.text or "").strip() if node is not None else ""
            if words in text.casefold():
                found.append(f"the workbook {prop} is {text!r}")
    elif _sniff(head) == "sav":
        import pyreadstat

        try:
            label = (pyreadstat.read_sav(str(path), metadataonly=True)[1].file_label or "").strip()
        except Exception:  # noqa: BLE001 - an unreadable file is reported by read_file
            label = ""
        if words in label.casefold():
            found.append(f"the SPSS file label is {label!r}")
    return "; ".join(found)


def _grid_to_table(grid: list[list[object]], name: str, fmt: str, *, sheet: str = "", encoding: str = "",
                   first_row: int = 1, notes: Sequence[Message] = ()) -> RawTable:
    """Header = first row of *grid*; data rows after it; trailing blank rows are not rows."""
    if not grid:
        raise IngestError([_problem("empty", name, "the file is empty (no header row)", "tệp rỗng (không có dòng tiêu đề)")])
    width = max(len(r) for r in grid)
    grid = [list(r) + [None] * (width - len(r)) for r in grid]
    header = tuple("" if v is None else str(v) for v in grid[0])
    body = grid[1:]
    # Trailing rows that are entirely blank are sheet formatting, not submissions.
    def blank(row):
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)
    while body and blank(body[-1]):
        body.pop()
    cells = pd.DataFrame(body, columns=range(width), dtype=object) if body else pd.DataFrame(columns=range(width), dtype=object)
    cells = cells.astype(object).where(cells.notna(), None)
    rows = np.arange(first_row + 1, first_row + 1 + len(body), dtype=np.int64)
    return RawTable(name, fmt, header, cells, rows, sheet=sheet, encoding=encoding, notes=tuple(notes))


def _read_text(data: bytes, name: str) -> RawTable:
    try:
        text, encoding = vn_encoding.decode_bytes(data, name)
    except vn_encoding.EncodingProblem as exc:
        raise IngestError([_problem("encoding", name, _unprefix(exc.en, name), _unprefix(exc.vi, name))]) from None
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    # The header line decides the separator: Excel "Unicode Text" uses tabs, a vi-VN Excel
    # may write semicolons (its list separator), everything else commas.
    if "\t" in first_line:
        delimiter = "\t"
    elif ";" in first_line and "," not in first_line:
        delimiter = ";"
    else:
        delimiter = ","
    try:
        grid = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise IngestError([_problem("csv", name, f"the text is not valid CSV ({exc})", f"tệp không đúng định dạng CSV ({exc})")]) from None
    grid = [[c if c != "" else None for c in row] for row in grid]
    table = _grid_to_table(grid, name, "csv", encoding=encoding)
    if len(grid) > 1:
        too_long = [i + 2 for i, r in enumerate(grid[1:]) if len(r) > len(grid[0]) and any(c not in (None, "") for c in r[len(grid[0]):])]
        if too_long:
            raise IngestError([_problem("header", name,
                                        f"rows {_rowlist(too_long)} have more cells than the header row: a value contains an unquoted "
                                        f"'{delimiter}' or a header cell is missing",
                                        f"các dòng {_rowlist(too_long)} có nhiều ô hơn dòng tiêu đề: có giá trị chứa dấu "
                                        f"'{delimiter}' không được đặt trong ngoặc kép hoặc thiếu ô tiêu đề")])
    return table


def _rowlist(rows: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" … ({len(rows)} in all)" if len(rows) > limit else "")


def _excel_cell(v: object) -> object:
    """An Excel cell as the text a user would type: whole floats without '.0', dates ISO."""
    if v is None:
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


def _read_xlsx(path: Path, name: str) -> RawTable:
    import openpyxl
    from openpyxl.utils import get_column_letter

    try:
        # Not read-only: merged ranges are only visible in the full model, and exports are small.
        # From bytes: openpyxl refuses a path whose extension is not .xlsx, but the format was
        # recognised from the content already.
        wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=False, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one message
        raise IngestError([_problem("format", name, f"the workbook cannot be opened ({type(exc).__name__}: {exc})",
                                    f"không mở được tệp Excel ({type(exc).__name__}: {exc})")]) from None
    ws = wb.worksheets[0]
    notes = []
    others = [s.title for s in wb.worksheets[1:] if s.max_row > 1 or s.max_column > 1]
    if others:
        notes.append(Message("info", "other_sheets",
                             f"only the first sheet '{ws.title}' is imported; sheets {others} are ignored (Kobo repeat groups are not imported)",
                             f"chỉ nhập trang tính đầu tiên '{ws.title}'; bỏ qua các trang {others}", name))
    problems = []
    for rng in sorted(ws.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col)):
        where = f"{get_column_letter(rng.min_col)}{rng.min_row}:{get_column_letter(rng.max_col)}{rng.max_row}"
        if rng.min_row <= 2:
            problems.append(_problem("merged_header", name,
                                     f"sheet '{ws.title}': merged header cells {where}: the header must be one row of one name per "
                                     f"column — unmerge the cells and delete the group-title row",
                                     f"trang '{ws.title}': ô tiêu đề bị gộp {where}: tiêu đề phải là một dòng, mỗi cột một tên — "
                                     f"hãy bỏ gộp ô và xóa dòng tiêu đề nhóm"))
        else:
            problems.append(_problem("merged_cells", name,
                                     f"sheet '{ws.title}': merged cells {where} in the data: only the first cell keeps its value — unmerge "
                                     f"and fill every cell",
                                     f"trang '{ws.title}': ô bị gộp {where} trong vùng dữ liệu: chỉ ô đầu giữ giá trị — hãy bỏ gộp và "
                                     f"điền đủ từng ô"))
    if problems:
        raise IngestError(problems)
    grid = [[_excel_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    return _grid_to_table(grid, name, "xlsx", sheet=ws.title, notes=notes)


def _sav_value(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return None
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, str):
        return v if v.strip() else None
    return _excel_cell(v)


def _read_sav(path: Path, name: str) -> RawTable:
    import pyreadstat

    try:
        df, meta = pyreadstat.read_sav(str(path), user_missing=True, apply_value_formats=False)
    except Exception as exc:  # noqa: BLE001
        raise IngestError([_problem("format", name, f"the SPSS file cannot be read ({exc})", f"không đọc được tệp SPSS ({exc})")]) from None
    columns = list(df.columns)
    grid = [columns] + [[_sav_value(v) for v in row] for row in df.itertuples(index=False, name=None)]
    table = _grid_to_table(grid, name, "sav")
    labels: dict[int, dict[str, str]] = {}
    for var, mapping in (meta.variable_value_labels or {}).items():
        labels[columns.index(var)] = {_sav_value(k): str(v) for k, v in mapping.items()}
    missing: dict[int, set[str]] = {}
    for var, values in (getattr(meta, "missing_user_values", None) or {}).items():
        missing.setdefault(columns.index(var), set()).update(_sav_value(v) for v in values)
    for var, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        col = df[var]
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
                hit = pd.to_numeric(col, errors="raise") if pd.api.types.is_numeric_dtype(col) else None
                if hit is not None:
                    missing.setdefault(columns.index(var), set()).update(_sav_value(v) for v in col[(hit >= lo) & (hit <= hi)].unique())
            else:
                missing.setdefault(columns.index(var), set()).add(_sav_value(lo))
    return RawTable(table.file, table.format, table.header, table.cells, table.rows,
                    value_labels=labels, user_missing={k: frozenset(v) for k, v in missing.items()})


# ============================================================================================
# Normalisation
# ============================================================================================
# Control characters (C0 except tab/newline, DEL, C1) and invisible formatting characters
# (zero-width, bidi controls, BOM) that break code matching and are never meaningful in answers.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")


def fold(text: str) -> str:
    """NFC, non-breaking spaces as spaces, runs of whitespace as one space, stripped.

    Examples
    --------
    >>> fold("  Đồng\\u00a0ý \\n ") == "Đồng ý"
    True
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _key(text: str) -> str:
    """Matching key for choice labels: `fold` and case-folded."""
    return fold(text).casefold()


def _keys(values: pd.Series) -> pd.Series:
    """`_key` of every non-blank value, vectorised (blank stays NA)."""
    s = values.astype("string")
    return s.str.normalize("NFC").str.replace(_SPACES, " ", regex=True).str.strip().str.casefold()


def _scan_legacy(table: RawTable) -> list[Message]:
    """File-level errors for TCVN3/VNI text, one per column, with example rows."""
    problems = []
    cells = table.cells
    header_hits = [(i, h, vn_encoding.legacy_reading(h)) for i, h in enumerate(table.header)]
    header_hits = [(i, h, r) for i, h, r in header_hits if r]
    for i, h, (scheme, reading) in header_hits:
        problems.append(_problem("legacy_encoding", table.file,
                                 f"header of column {i + 1} {h!r} is {scheme} legacy-font text (reads as {reading!r}): convert the file "
                                 f"to Unicode (e.g. UniKey's converter) and export again",
                                 f"tiêu đề cột {i + 1} {h!r} dùng bảng mã cũ {scheme} (đọc là {reading!r}): hãy chuyển tệp sang "
                                 f"Unicode (ví dụ công cụ chuyển mã của UniKey) rồi xuất lại"))
    for pos in cells.columns:
        col = cells[pos].dropna().astype(str)
        text = col[~col.str.isascii()]
        if text.empty:
            continue
        # One detector call per distinct value, then a dictionary look-up per cell.
        readings = {v: vn_encoding.legacy_reading(v) for v in text.unique()}
        hit_values = {v for v, r in readings.items() if r is not None}
        hits = text[text.isin(hit_values)]
        if hits.empty:
            continue
        schemes = sorted({readings[v][0] for v in hit_values})
        examples = [(int(table.rows[i]), v, readings[v][1]) for i, v in list(hits.items())[:3]]
        ex_en = "; ".join(f"row {r}: {v!r} (= {u!r})" for r, v, u in examples)
        col_name = table.header[pos] or f"#{pos + 1}"
        problems.append(_problem(
            "legacy_encoding", table.file,
            f"column {col_name!r}: {len(hits)} cell(s) are {'/'.join(schemes)} legacy-font text, e.g. {ex_en}; convert the "
            f"file to Unicode (e.g. UniKey's converter, source {schemes[0]}) and export again",
            f"cột {col_name!r}: {len(hits)} ô dùng bảng mã cũ {'/'.join(schemes)}, ví dụ "
            + "; ".join(f"dòng {r}: {v!r} (= {u!r})" for r, v, u in examples)
            + f"; hãy chuyển tệp sang Unicode (ví dụ công cụ chuyển mã của UniKey, nguồn {schemes[0]}) rồi xuất lại"))
    return problems


def _normalise_cells(table: RawTable, text_columns: set[int]) -> tuple[pd.DataFrame, list[Message]]:
    """NFC, control characters removed (counted), blanks → None; free text keeps its line breaks.

    All non-empty cells are processed as one long Series (one pass for the whole file, not
    one per column), then put back in place.
    """
    notes = []
    cells = table.cells
    arr = cells.to_numpy(dtype=object, copy=True)
    present = pd.notna(arr)
    if not present.any():
        return cells.copy(), notes
    r_idx, c_idx = np.nonzero(present)
    s = pd.Series(arr[present], dtype="string")
    s = s.str.replace("\r\n", "\n", regex=False).str.normalize("NFC")
    bad = s.str.contains(_CONTROL).to_numpy(dtype=bool)
    if bad.any():
        for pos in sorted(set(c_idx[bad])):
            rows = [int(table.rows[r]) for r in r_idx[bad & (c_idx == pos)]]
            name = table.header[pos] or f"#{pos + 1}"
            notes.append(Message("warning", "control_characters",
                                 f"column {name!r}: control or invisible characters removed in {len(rows)} cell(s) (rows {_rowlist(rows)})",
                                 f"cột {name!r}: đã xóa ký tự điều khiển hoặc ký tự ẩn trong {len(rows)} ô (dòng {_rowlist(rows)})",
                                 table.file))
        s = s.str.replace(_CONTROL, "", regex=True)
    # Free text keeps line breaks and inner spacing (only the ends are trimmed); every other
    # cell has its whitespace folded, so codes and labels compare cleanly.
    is_text = np.isin(c_idx, sorted(text_columns))
    folded = s.str.replace(_SPACES, " ", regex=True).str.strip()
    trimmed = s.str.replace("\u00a0", " ", regex=False).str.strip()
    s = trimmed.where(is_text, folded)
    values = s.to_numpy(dtype=object, na_value=None)
    values[values == ""] = None
    arr[r_idx, c_idx] = values
    return pd.DataFrame(arr, index=cells.index, columns=cells.columns, dtype=object), notes


# ============================================================================================
# Column mapping
# ============================================================================================
_ID_ALIASES = ("_submission_id", "submission_id", "_uuid", "uuid", "meta/instanceid", "instanceid", "id")
_TIME_ALIASES = {
    "_submitted_at": LOCAL_UTC_OFFSET, "submitted_at": LOCAL_UTC_OFFSET,
    "_submission_time": dt.timezone.utc, "submission_time": dt.timezone.utc,
    "timestamp": LOCAL_UTC_OFFSET, "dấu thời gian": LOCAL_UTC_OFFSET,
    "completion time": LOCAL_UTC_OFFSET, "thời gian hoàn thành": LOCAL_UTC_OFFSET,
}
_DURATION_ALIASES = ("_duration_s", "duration_s", "_duration", "duration")
_START_ALIASES = ("start", "start time", "thời gian bắt đầu")
_END_ALIASES = ("end",)
_IGNORED = frozenset({
    "_id", "_index", "_parent_index", "_parent_table_name", "_validation_status", "_status", "_submitted_by",
    "__version__", "_version_", "_version", "_notes", "_tags", "_attachments", "_geolocation", "_xform_id_string",
    "_xform_id", "formhub/uuid", "meta/instancename", "meta/deprecatedid", "meta/rootuuid", "meta/audit", "deviceid",
    "today", "username", "simserial", "subscriberid", "phonenumber", "audit", "email", "email address",
    "địa chỉ email", "name", "tên", "last modified time", "thời gian sửa đổi lần cuối", "_source_file", "_source_row",
})


@dataclass(frozen=True)
class _Target:
    kind: str  # item | id | time | duration | start | end | ignore
    name: str  # item name, alias, or reason
    tz: dt.tzinfo | None = None


@dataclass(frozen=True)
class _Lookup:
    names: Mapping[str, str]
    labels: Mapping[str, str | None]  # None = ambiguous label


def _build_lookup(spec: InstrumentSpec) -> _Lookup:
    names: dict[str, str] = {}
    labels: dict[str, str | None] = {}
    for it in spec.items:
        names[it.name] = it.name
        if it.group_path:
            names["/".join((*it.group_path, it.name))] = it.name
        for label, groups in ((it.label_vi, it.group_labels_vi), (it.label_en, it.group_labels_en)):
            if not label:
                continue
            for key in {fold(label), fold("/".join((*groups, label))) if groups else fold(label)}:
                labels[key] = it.name if labels.get(key, it.name) == it.name else None
    return _Lookup(names, labels)


_GROUP_PATH = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_.-]*/)+)([A-Za-z_][A-Za-z0-9_.-]*)")


def _map_header(header: Sequence[str], spec: InstrumentSpec, lookup: _Lookup) -> list[_Target | None]:
    """Target of every column (None = unknown). Exact rules only; see the module docstring."""
    start = spec.by_role("start")
    end = spec.by_role("end")
    out: list[_Target | None] = []
    for raw in header:
        h = fold(raw)
        low = h.casefold()
        # Kobo writes "<group>/<item>"; the group names of a deployed form may differ from the
        # instrument's (renamed groups, nested groups), but the item name is exact and unique.
        grouped = _GROUP_PATH.fullmatch(h)
        if grouped and grouped.group(2) in lookup.names and h not in lookup.names:
            h = grouped.group(2)
        if h in lookup.names:
            item = lookup.names[h]
            role = spec.item(item).role
            out.append(_Target(role if role in ("start", "end") else "item", item))
        elif h in lookup.labels and lookup.labels[h] is not None:
            out.append(_Target("item", lookup.labels[h]))
        elif low in _ID_ALIASES:
            out.append(_Target("id", low))
        elif low in _TIME_ALIASES:
            out.append(_Target("time", low, _TIME_ALIASES[low]))
        elif low in _DURATION_ALIASES:
            out.append(_Target("duration", low))
        elif low in _START_ALIASES and start:
            out.append(_Target("start", start[0].name))
        elif low in _END_ALIASES and end:
            out.append(_Target("end", end[0].name))
        elif low in _IGNORED or low.startswith("meta/"):
            out.append(_Target("ignore", h))
        elif h in lookup.labels:
            out.append(_Target("ambiguous", h))
        else:
            out.append(None)
    return out


def _resolve_meta_targets(targets: list[_Target | None]) -> list[_Target | None]:
    """Several id/time columns (Kobo has _uuid and meta/instanceID): keep the preferred one."""
    targets = list(targets)
    for kind, order in (("id", _ID_ALIASES), ("time", tuple(_TIME_ALIASES)), ("duration", _DURATION_ALIASES)):
        found = [(order.index(t.name), i) for i, t in enumerate(targets) if t and t.kind == kind]
        for _, i in sorted(found)[1:]:
            targets[i] = _Target("ignore", targets[i].name)
    return targets


def _check_header(table: RawTable, cells: pd.DataFrame, targets: list[_Target | None], spec: InstrumentSpec,
                  lookup: _Lookup) -> list[Message]:
    problems: list[Message] = []
    name = table.file
    has_data = cells.notna().any(axis=0)
    # Blank header cells above data: a two-row header (group titles merged in Excel) or a
    # forgotten title. Blank header above an empty column is trailing formatting: ignored.
    blank = [i for i, h in enumerate(table.header) if not fold(h) and bool(has_data.get(i, False))]
    if blank:
        cols = ", ".join(_col_letter(i) for i in blank)
        problems.append(_problem("header", name,
                                 f"column(s) {cols} have data but no header in row 1 (a two-row or merged header?): the header must be "
                                 f"row 1, one item name or question per column",
                                 f"cột {cols} có dữ liệu nhưng không có tiêu đề ở dòng 1 (tiêu đề hai dòng hoặc ô gộp?): tiêu đề phải "
                                 f"nằm ở dòng 1, mỗi cột một tên câu hỏi"))
    folded = [fold(h) for h in table.header]
    seen: dict[str, int] = {}
    for i, h in enumerate(folded):
        if h and h in seen:
            problems.append(_problem("header", name, f"header {h!r} appears twice (columns {_col_letter(seen[h])} and {_col_letter(i)})",
                                     f"tiêu đề {h!r} xuất hiện hai lần (cột {_col_letter(seen[h])} và {_col_letter(i)})"))
        seen.setdefault(h, i)
    by_target: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(targets):
        if t and t.kind in ("item", "start", "end"):
            by_target.setdefault((t.kind, t.name), []).append(i)
    for (_, item), cols in by_target.items():
        if len(cols) > 1:
            shown = ", ".join(f"{_col_letter(c)} {folded[c]!r}" for c in cols)
            problems.append(_problem("header", name, f"item {item!r} has {len(cols)} columns ({shown}): keep one",
                                     f"câu {item!r} có {len(cols)} cột ({shown}): chỉ giữ một cột"))
    ambiguous = [folded[i] for i, t in enumerate(targets) if t and t.kind == "ambiguous"]
    if ambiguous:
        problems.append(_problem("header", name,
                                 f"header(s) {ambiguous} are the label of several items: use the item names as headers",
                                 f"tiêu đề {ambiguous} trùng nội dung của nhiều câu hỏi: hãy dùng mã câu hỏi làm tiêu đề"))
    unknown = [i for i, t in enumerate(targets) if t is None and folded[i]]
    if unknown:
        # A two-row header: row 2 holds item names/labels under the unknown row-1 titles.
        second = [cells.iloc[0, i] if len(cells) else None for i in unknown]
        looks_like_header = sum(bool(isinstance(v, str) and (fold(v) in lookup.names or lookup.labels.get(fold(v)))) for v in second)
        listed = ", ".join(f"{_col_letter(i)} {folded[i]!r}" for i in unknown[:12]) + (" …" if len(unknown) > 12 else "")
        if looks_like_header and looks_like_header >= len(unknown) / 2:
            problems.append(_problem("two_row_header", name,
                                     f"row 2 holds the item names/questions ({looks_like_header} of {len(unknown)} unknown columns): the file "
                                     f"has a two-row header — delete row 1 so the header is one row",
                                     f"dòng 2 chứa mã/nội dung câu hỏi ({looks_like_header}/{len(unknown)} cột không nhận ra): tệp có tiêu đề "
                                     f"hai dòng — hãy xóa dòng 1 để tiêu đề chỉ còn một dòng"))
        else:
            problems.append(_problem("unknown_column", name,
                                     f"{len(unknown)} column(s) match no item of instrument {spec.name} v{spec.version} by name, group path or "
                                     f"exact question text: {listed} — rename them to the item names (see the codebook) or delete them",
                                     f"{len(unknown)} cột không khớp câu hỏi nào của phiếu {spec.name} v{spec.version} theo mã, đường dẫn nhóm "
                                     f"hoặc nguyên văn câu hỏi: {listed} — hãy đổi tên theo mã câu hỏi (xem sổ mã) hoặc xóa cột"))
    mapped = {t.name for t in targets if t and t.kind in ("item", "start", "end")}
    optional_kinds = {"start", "end", "calculate", "today", "time"}
    missing = [it.name for it in spec.items if it.name not in mapped and it.kind not in optional_kinds]
    if missing:
        problems.append(_problem("missing_column", name,
                                 f"{len(missing)} item(s) of instrument {spec.name} v{spec.version} have no column: "
                                 f"{', '.join(missing[:15])}{' …' if len(missing) > 15 else ''} — export every question, or check that the "
                                 f"file belongs to this instrument and version",
                                 f"{len(missing)} câu hỏi của phiếu {spec.name} v{spec.version} không có cột: "
                                 f"{', '.join(missing[:15])}{' …' if len(missing) > 15 else ''} — hãy xuất đủ mọi câu hỏi, hoặc kiểm tra tệp có "
                                 f"đúng phiếu và phiên bản không"))
    return problems


def _col_letter(i: int) -> str:
    s, n = "", i + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


# ============================================================================================
# Conversion to item types (every failure recorded)
# ============================================================================================
_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")
_DEC_COMMA = re.compile(r"[+-]?\d+,\d+")
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(?:[.,]\d{3})+")
_THOUSANDS_DOT = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?")
_DATE_VN = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?")

#: Rules a conversion or validation failure can carry, with what the researcher should do.
RULES: dict[str, tuple[str, str]] = {
    "choice": ("not a code or label of the item's choice list", "không phải mã hoặc nhãn của danh sách lựa chọn"),
    "integer": ("not a whole number", "không phải số nguyên"),
    "decimal": ("not a number", "không phải số"),
    "decimal_comma": ("decimal comma: write the number with a dot (4.5), or a whole number",
                      "dấu phẩy thập phân: hãy ghi số với dấu chấm (4.5) hoặc số nguyên"),
    "thousands_separator": ("thousands separator: write digits only (1234)", "dấu phân cách hàng nghìn: chỉ ghi chữ số (1234)"),
    "date": ("not a date (YYYY-MM-DD or dd/mm/yyyy)", "không phải ngày (YYYY-MM-DD hoặc dd/mm/yyyy)"),
    "datetime": ("not an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS); day/month order cannot be guessed — download the "
                 "responses as .xlsx (real date cells) or format the column as YYYY-MM-DD HH:MM:SS",
                 "không phải thời điểm theo ISO 8601 (YYYY-MM-DDTHH:MM:SS); không thể đoán thứ tự ngày/tháng — hãy tải kết "
                 "quả dạng .xlsx (ô ngày giờ thực) hoặc định dạng cột theo YYYY-MM-DD HH:MM:SS"),
    "duration": ("not a duration in whole or decimal seconds", "không phải thời lượng tính bằng giây"),
    "submission_id": ("the submission id is blank", "mã phiếu bị bỏ trống"),
    "required": ("required answer is blank", "câu bắt buộc bị bỏ trống"),
    "not_relevant": ("answered although the question did not apply", "có trả lời dù câu hỏi không áp dụng"),
    "constraint": ("breaks the item's constraint", "không thỏa điều kiện của câu hỏi"),
    "choice_filter": ("does not belong to the answer it depends on", "không thuộc lựa chọn của câu trước"),
    "duplicate_conflict": ("same submission id as another row with different answers",
                           "trùng mã phiếu với dòng khác nhưng khác câu trả lời"),
}


def _choice_lookup(spec: InstrumentSpec, list_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(exact codes, folded-key → code) for one list; keys shared by two codes are left out."""
    choices = spec.choices.get(list_name, ())
    exact = {c.code: c.code for c in choices}
    keyed: dict[str, str | None] = {}

    def add(key: str, code: str) -> None:
        if key:
            keyed[key] = code if keyed.get(key, code) == code else None

    for c in choices:
        add(_key(c.code), c.code)
        for label in (c.label_vi, c.label_en):
            if label:
                add(_key(label), c.code)
                # "Không biết / không trả lời": either half means the same missing code.
                if c.missing and " / " in label:
                    for part in label.split(" / "):
                        add(_key(part), c.code)
    return exact, {k: v for k, v in keyed.items() if v is not None}


@dataclass
class _Converted:
    typed: pd.DataFrame
    canonical: pd.DataFrame
    failures: list[pd.DataFrame]


def _fail_frame(rows: pd.Index, column: str, values: pd.Series, rule: str, detail_en: str = "", detail_vi: str = "") -> pd.DataFrame:
    en, vi = RULES[rule]
    return pd.DataFrame({
        "_row": rows, "column": column, "value": values.loc[rows].astype(str).to_numpy(), "rule": rule,
        "message_en": f"{en}{detail_en}", "message_vi": f"{vi}{detail_vi}",
    })


def _numeric_values(spec: InstrumentSpec, list_name: str) -> dict[str, str]:
    """``{"1": "yes", "0": "no"}`` from the choices' ``value``; empty when two codes share a value."""
    values = {str(int(c.value)) if float(c.value).is_integer() else str(c.value): c.code
              for c in spec.choices.get(list_name, ()) if c.value is not None}
    return values if len(values) == len({c.code for c in spec.choices.get(list_name, ()) if c.value is not None}) else {}


def _select_codes(frame: pd.DataFrame, items: Sequence[ItemSpec], spec: InstrumentSpec,
                  sav_labels: Mapping[str, pd.Series], sav_rows: pd.Series) -> tuple[dict[str, pd.Series], pd.DataFrame | None]:
    """Codes for every select_one column at once (one long Series, one dictionary look-up).

    Order of evidence: the exact code; the folded code or label (vi/en, case, NFC and spaces
    ignored); for SPSS rows, the value label of the stored number wins, and a number with no
    label stands for the choice whose ``value`` it is (SPSS cannot store codes such as "yes").
    Returns ``{item: codes}`` and the ``choice`` failures (None when there are none).
    """
    names = [it.name for it in items]
    idx = frame.index
    arr = frame[names].to_numpy(dtype=object)
    present = pd.notna(arr)
    r, c = np.nonzero(present)
    out = np.full(arr.shape, None, dtype=object)
    if len(r) == 0:
        return {n: pd.Series(out[:, k], index=idx).astype("string") for k, n in enumerate(names)}, None
    lists = np.array([it.list_name or "" for it in items], dtype=object)
    prefix = pd.Series(lists[c], dtype="string") + "\x1f"
    exact_map, key_map, value_map = {}, {}, {}
    for ln in dict.fromkeys(lists):
        exact, keyed = _choice_lookup(spec, ln)
        exact_map.update({f"{ln}\x1f{k}": v for k, v in exact.items()})
        key_map.update({f"{ln}\x1f{k}": v for k, v in keyed.items()})
        value_map.update({f"{ln}\x1f{k}": v for k, v in _numeric_values(spec, ln).items()})
    vals = pd.Series(arr[present], dtype="string")
    codes = (prefix + vals).map(exact_map).astype(object)
    codes = codes.where(codes.notna(), (prefix + _keys(vals)).map(key_map).astype(object))
    if sav_labels:
        labels = np.full(arr.shape, None, dtype=object)
        for k, n in enumerate(names):
            if n in sav_labels:
                labels[:, k] = sav_labels[n].to_numpy(dtype=object)
        lab = pd.Series(labels[present], dtype="string")
        via_label = (prefix + _keys(lab)).map(key_map).astype(object)
        codes = via_label.where(via_label.notna(), codes)
    if sav_rows.any():
        in_sav = sav_rows.to_numpy(dtype=bool)[r]
        via_value = (prefix + vals).map(value_map).astype(object).where(in_sav, None)
        codes = codes.where(codes.notna(), via_value)
    out[r, c] = codes.to_numpy(dtype=object)
    result = {n: pd.Series(out[:, k], index=idx).astype("string") for k, n in enumerate(names)}
    failed = codes.isna().to_numpy(dtype=bool)
    if not failed.any():
        return result, None
    en, vi = RULES["choice"]
    detail = {ln: ", ".join(ch.code for ch in spec.choices.get(ln, ())[:12]) for ln in dict.fromkeys(lists)}
    fail_lists = lists[c[failed]]
    failures = pd.DataFrame({
        "_row": idx[r[failed]], "column": np.array(names, dtype=object)[c[failed]],
        "value": vals[failed].to_numpy(dtype=object), "rule": "choice",
        "message_en": [f"{en} '{ln}' (codes: {detail[ln]})" for ln in fail_lists],
        "message_vi": [f"{vi} '{ln}' (mã: {detail[ln]})" for ln in fail_lists],
    })
    return result, failures


def _convert(frame: pd.DataFrame, spec: InstrumentSpec, sav_labels: Mapping[str, pd.Series],
             sav_rows: pd.Series) -> _Converted:
    """Type every item column of *frame* (strings, None = blank); collect failures."""
    typed: dict[str, pd.Series] = {}
    canon: dict[str, pd.Series] = {}
    failures: list[pd.DataFrame] = []
    idx = frame.index
    selects, select_failures = _select_codes(frame, [it for it in spec.items if it.kind == "select_one"], spec,
                                             sav_labels, sav_rows)
    if select_failures is not None:
        failures.append(select_failures)
    for it in spec.items:
        raw = frame[it.name] if it.name in frame.columns else pd.Series(None, index=idx, dtype=object)
        present = raw.notna()
        kind = it.kind
        if kind == "select_one":
            typed[it.name] = selects[it.name]
            codes = typed[it.name]
        elif kind == "select_multiple":
            # Space-separated codes (Kobo) or labels; every token must map. Not used by the
            # current instruments, kept so a new instrument version does not need new code.
            exact, keyed = _choice_lookup(spec, it.list_name or "")
            tokens = raw.dropna().astype(str).str.split().explode()
            mapped = tokens.map(exact).astype(object)
            mapped = mapped.where(mapped.notna(), _keys(tokens).map(keyed).astype(object))
            ok_rows = mapped.notna().groupby(level=0).all()
            joined = mapped.groupby(level=0).agg(lambda p: " ".join(p.astype(str)))
            codes = pd.Series(None, index=idx, dtype=object)
            good_rows = ok_rows[ok_rows].index
            codes.loc[good_rows] = joined.loc[good_rows]
            failed = present & codes.isna()
            if failed.any():
                listed = ", ".join(c.code for c in spec.choices.get(it.list_name or "", ())[:12])
                failures.append(_fail_frame(idx[failed], it.name, raw, "choice",
                                            f" '{it.list_name}' (codes: {listed})", f" '{it.list_name}' (mã: {listed})"))
            typed[it.name] = codes.astype("string")
        elif kind in ("integer", "decimal", "range"):
            text = raw[present].astype(str)
            good = text.str.fullmatch(_INT if kind == "integer" else _DEC)
            # Vietnamese writes 1.234 for one thousand two hundred and thirty-four and 4,5 for four
            # and a half: a dot- or comma-grouped number is refused even where it would parse as a
            # decimal ("1.234"), because its meaning depends on who typed it.
            thousands = text.str.fullmatch(_THOUSANDS)
            comma = text.str.fullmatch(_DEC_COMMA) & ~thousands
            bad = ~good | thousands
            other = bad & ~thousands & ~comma
            for rule, mask in (("thousands_separator", thousands), ("decimal_comma", comma),
                               ("integer" if kind == "integer" else "decimal", other)):
                if mask.any():
                    failures.append(_fail_frame(mask[mask].index, it.name, raw, rule))
            ok = text[~bad]
            if kind == "integer":
                col = pd.Series(pd.NA, index=idx, dtype="Int64")
                col.loc[ok.index] = ok.astype("int64").to_numpy()
            else:
                col = pd.Series(np.nan, index=idx, dtype="float64")
                col.loc[ok.index] = ok.astype(float).to_numpy()
            typed[it.name] = col
            codes = col.astype("string")
        elif kind in ("date", "today"):
            text = raw[present].astype(str)
            # One strict parse per distinct value (a wave has few distinct dates).
            parsed = {v: _parse_date(v) for v in text.unique()}
            stamp = text.map(parsed)
            bad = stamp.isna()
            if bad.any():
                failures.append(_fail_frame(bad[bad].index, it.name, raw, "date"))
            col = pd.Series(pd.NaT, index=idx, dtype="datetime64[us]")
            good = stamp[~bad]
            if len(good):
                col.loc[good.index] = pd.to_datetime(good.astype(str), format="%Y-%m-%d").astype("datetime64[us]").to_numpy()
            typed[it.name] = col
            codes = col.dt.strftime("%Y-%m-%d").astype("string")
        elif kind in ("start", "end", "datetime"):
            col, bad = _parse_datetimes(raw, LOCAL_UTC_OFFSET)
            if bad.any():
                failures.append(_fail_frame(bad[bad].index, it.name, raw, "datetime"))
            typed[it.name] = col
            codes = col.astype("string")
        else:  # text, calculate, time, anything else: text as received (normalised)
            typed[it.name] = raw.astype("string")
            codes = typed[it.name]
        # Canonical text for duplicate detection: the converted value, or the raw text marked
        # as unconverted, so two rows differing only in an invalid cell are not "the same".
        marked = ("\x00" + raw.astype("string")).astype(object).where(raw.notna(), "")
        canon[it.name] = codes.astype(object).where(codes.notna(), marked)
    return _Converted(pd.DataFrame(typed, index=idx), pd.DataFrame(canon, index=idx), failures)


def _parse_date(text: str) -> str | None:
    """``YYYY-MM-DD`` (optionally at midnight, as Excel date cells come) or ``dd/mm/yyyy``; None if not a real date."""
    m = _DATE_ISO.fullmatch(text)
    if m:
        y, mo, d = m.groups()
    else:
        m = _DATE_VN.fullmatch(text)
        if not m:
            return None
        d, mo, y = m.groups()
    try:
        return dt.date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def _parse_datetimes(raw: pd.Series, naive_tz: dt.tzinfo) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 strings → UTC timestamps (µs); naive values are in *naive_tz*. (values, failed)."""
    present = raw.notna()
    text = raw[present].astype(str)
    ok = text.str.fullmatch(_DATETIME)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    good = text[ok]
    if len(good):
        aware = good.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$")
        if aware.any():
            out.loc[good[aware].index] = pd.to_datetime(good[aware], format="ISO8601", utc=True).astype("datetime64[us, UTC]").to_numpy()
        if (~aware).any():
            local = pd.to_datetime(good[~aware], format="ISO8601").dt.tz_localize(naive_tz).dt.tz_convert("UTC")
            out.loc[good[~aware].index] = local.astype("datetime64[us, UTC]").to_numpy()
    failed = pd.Series(False, index=raw.index)
    failed.loc[text[~ok].index] = True
    return out, failed


# ============================================================================================
# Wave metadata
# ============================================================================================
@dataclass(frozen=True)
class WaveMeta:
    """``wave.yaml``: what the wave is (stored beside the raw files, echoed in the manifest)."""

    instrument: str
    wave: str
    instrument_version: str
    synthetic: bool
    fieldwork_start: str | None = None
    fieldwork_end: str | None = None
    speeder_seconds: float | None = None
    source: str = ""
    straightliner_min_items: int = quality.DEFAULT_STRAIGHTLINER_MIN_ITEMS
    item_nonresponse_threshold: float = quality.DEFAULT_ITEM_NONRESPONSE_THRESHOLD

    _KEYS = ("instrument", "wave", "instrument_version", "synthetic", "fieldwork_start", "fieldwork_end",
             "speeder_seconds", "source", "straightliner_min_items", "item_nonresponse_threshold")

    @classmethod
    def from_mapping(cls, data: Mapping, *, where: str = "wave.yaml") -> "WaveMeta":
        unknown = sorted(set(data) - set(cls._KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {', '.join(cls._KEYS)}")
        missing = [k for k in ("instrument", "wave", "instrument_version") if data.get(k) in (None, "")]
        if missing:
            raise ValueError(f"{where}: missing {missing}")
        if "synthetic" not in data:
            raise ValueError(f"{where}: missing 'synthetic': write 'synthetic: false' for a real survey or 'synthetic: true' "
                             f"for demo or test data (it is never assumed)")
        synthetic = data["synthetic"]
        if not isinstance(synthetic, bool):
            raise ValueError(f"{where}: synthetic must be true or false, not {synthetic!r}")
        speeder = data.get("speeder_seconds")
        if speeder is not None and (isinstance(speeder, bool) or not isinstance(speeder, (int, float)) or speeder < 0):
            raise ValueError(f"{where}: speeder_seconds must be a number of seconds ≥ 0, not {speeder!r}")
        dates = {}
        for k in ("fieldwork_start", "fieldwork_end"):
            v = data.get(k)
            if v is not None:
                try:
                    dates[k] = dt.date.fromisoformat(str(v)).isoformat()
                except ValueError:
                    raise ValueError(f"{where}: {k} must be a date YYYY-MM-DD, not {v!r}") from None
        return cls(
            instrument=str(data["instrument"]), wave=str(data["wave"]), instrument_version=str(data["instrument_version"]),
            synthetic=synthetic, fieldwork_start=dates.get("fieldwork_start"), fieldwork_end=dates.get("fieldwork_end"),
            speeder_seconds=None if speeder is None else float(speeder), source=str(data.get("source") or ""),
            straightliner_min_items=int(data.get("straightliner_min_items", quality.DEFAULT_STRAIGHTLINER_MIN_ITEMS)),
            item_nonresponse_threshold=float(data.get("item_nonresponse_threshold", quality.DEFAULT_ITEM_NONRESPONSE_THRESHOLD)),
        )

    def to_mapping(self) -> dict:
        return {k: getattr(self, k) for k in self._KEYS}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_mapping(), sort_keys=False, allow_unicode=True)


# ============================================================================================
# The whole import
# ============================================================================================
@dataclass(frozen=True)
class ImportResult:
    """What an import did. ``status``: ``imported``, ``replaced``, ``reprocessed`` or ``unchanged``.

    Counts satisfy ``rows_read == accepted + quarantined + dropped``; ``dropped`` is
    ``dropped_blank + dropped_duplicate + dropped_resolved``. ``failures`` has the columns of
    `analysis.validate.FAILURE_COLUMNS` (one line per failing cell or row rule).
    """

    instrument: str
    wave: str
    status: str
    rows_read: int
    accepted: int
    quarantined: int
    dropped: int
    dropped_blank: int
    dropped_duplicate: int
    dropped_resolved: int
    flags: Mapping[str, int]
    parquet_path: Path
    manifest_path: Path
    quarantine_path: Path
    quality_path: Path
    raw_dir: Path
    messages: tuple[Message, ...] = ()
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(FAILURE_COLUMNS)), repr=False)

    @property
    def exit_code(self) -> int:
        """0: the wave is written (quarantined rows only warn)."""
        return 0


@dataclass
class _Prepared:
    data: pd.DataFrame          # processed wave, final columns and order
    failures: pd.DataFrame      # FAILURE_COLUMNS
    quarantine: pd.DataFrame    # original values + reasons
    counts: dict[str, int]
    flags: dict[str, int]
    messages: list[Message]
    tables: list[RawTable]


def _paths(instrument: str, wave: str, data_dir: Path | None) -> dict[str, Path]:
    root = Path(data_dir).resolve() if data_dir is not None else config.DATA_DIR
    raw = config.resolve_inside(root / "raw" / config.check_id(instrument, "instrument") / config.check_id(wave, "wave"), root)
    proc_dir = config.resolve_inside(root / "processed" / instrument, root)
    return {
        "root": root, "raw": raw, "processed_dir": proc_dir,
        "parquet": proc_dir / f"{wave}.parquet", "manifest": proc_dir / f"{wave}.manifest.json",
        "quarantine": proc_dir / f"{wave}.quarantine.csv", "quality": proc_dir / f"{wave}.quality.csv",
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def processed_columns(spec: InstrumentSpec) -> list[str]:
    """Column order of a processed wave: metadata, items in instrument order, provenance, flags."""
    return [*META_COLUMNS, *(it.name for it in spec.items), *TRAILING_COLUMNS, *FLAG_COLUMNS]


def _frame_from_table(table: RawTable, cells: pd.DataFrame, targets: Sequence[_Target | None], spec: InstrumentSpec,
                      offset: int) -> tuple[pd.DataFrame, dict[str, pd.Series], pd.DataFrame, list[Message]]:
    """One file's cells as item columns (text) + metadata columns, indexed from *offset*.

    Returns the frame, SPSS value labels per item, the original cells (for the quarantine
    file, headers as in the file) and notes.
    """
    notes: list[Message] = []
    labels: dict[str, pd.Series] = {}
    index = pd.RangeIndex(offset, offset + len(cells))
    frame = pd.DataFrame(index=index)
    for i, t in enumerate(targets):
        if t is None or t.kind in ("ignore", "ambiguous"):
            continue
        col = pd.Series(cells[i].to_numpy(), index=index, dtype=object)
        if t.kind not in ("item", "start", "end"):
            frame[f"__{t.kind}"] = col
            if t.kind == "time":
                frame["__time_tz"] = str(t.tz)
            continue
        if i in table.user_missing:
            # SPSS user-missing: blank unless its value label names a missing choice of the item.
            item = spec.item(t.name)
            user_missing = col.isin(list(table.user_missing[i]))
            _, keyed = _choice_lookup(spec, item.list_name) if item.list_name else ({}, {})
            label_codes = _keys(col.map(table.value_labels.get(i, {}))).map(keyed)
            keeps = label_codes.isin(list(spec.missing_codes(item.list_name)))
            blanked = user_missing & ~keeps
            if blanked.any():
                notes.append(Message("info", "user_missing",
                                     f"column {t.name!r}: {int(blanked.sum())} SPSS user-missing value(s) read as blank",
                                     f"cột {t.name!r}: {int(blanked.sum())} giá trị thiếu do người dùng khai báo (SPSS) được coi là để trống",
                                     table.file))
            col = col.where(~blanked, None)
        frame[t.name] = col
        if i in table.value_labels:
            labels[t.name] = pd.Series(col.map(table.value_labels[i]).to_numpy(), index=index)
    frame["_source_file"] = table.file
    frame["_sheet"] = table.sheet
    frame["_source_row"] = table.rows
    original = cells.copy()
    original.columns = [fold(h) or f"column {_col_letter(i)}" for i, h in enumerate(table.header)]
    original.index = index
    return frame, labels, original, notes


def _prepare(files: Sequence[tuple[Path, str]], spec: InstrumentSpec, meta: WaveMeta,
             resolutions: pd.DataFrame | None, resolutions_name: str) -> _Prepared:
    """Everything except writing: read, refuse, normalise, map, convert, validate, flag."""
    rules = validate.compile_rules(spec)
    lookup = _build_lookup(spec)
    problems: list[Message] = []
    messages: list[Message] = []
    tables: list[RawTable] = []
    frames: list[pd.DataFrame] = []
    originals: list[pd.DataFrame] = []
    sav_labels: dict[str, list[pd.Series]] = {}
    text_items = {it.name for it in spec.items if it.kind == "text"}
    offset = 0
    for path, name in files:
        try:
            table = read_file(path, name=name)
        except IngestError as exc:
            problems.extend(exc.problems)
            continue
        messages.extend(table.notes)
        legacy = _scan_legacy(table)
        if legacy:
            problems.extend(legacy)
            continue
        if table.encoding == "cp1258":
            try:
                texts = pd.Series(table.cells.to_numpy().ravel()).dropna().astype(str)
                vn_encoding.check_cp1258_plausible("\n".join([*table.header, *texts]), name)
            except vn_encoding.EncodingProblem as exc:
                problems.append(_problem("encoding", name, _unprefix(exc.en, name), _unprefix(exc.vi, name)))
                continue
        targets = _resolve_meta_targets(_map_header(table.header, spec, lookup))
        text_cols = {i for i, t in enumerate(targets) if t and t.kind == "item" and t.name in text_items}
        cells, notes = _normalise_cells(table, text_cols)
        messages.extend(notes)
        header_problems = _check_header(table, cells, targets, spec, lookup)
        if not len(cells):
            header_problems.append(_problem("no_rows", name, "the file has a header row but no data rows",
                                            "tệp chỉ có dòng tiêu đề, không có dòng dữ liệu nào"))
        if header_problems:
            problems.extend(header_problems)
            continue
        ignored = [fold(table.header[i]) for i, t in enumerate(targets) if t and t.kind == "ignore"]
        if ignored:
            messages.append(Message("info", "ignored_columns", f"export metadata columns not imported: {ignored}",
                                    f"các cột siêu dữ liệu không được nhập: {ignored}", name))
        tables.append(table)
        frame, labels, original, notes = _frame_from_table(table, cells, targets, spec, offset)
        offset += len(frame)
        messages.extend(notes)
        for item, series in labels.items():
            sav_labels.setdefault(item, []).append(series)
        frames.append(frame)
        originals.append(original)
    if problems:
        raise IngestError(problems)
    if not frames:
        raise IngestError([_problem("empty", "", "no file to import", "không có tệp nào để nhập")])

    data = pd.concat(frames, axis=0)
    for col in ("__id", "__time", "__duration", "__time_tz"):
        if col not in data.columns:
            data[col] = None
    for it in spec.items:
        if it.name not in data.columns:
            data[it.name] = None
    data = data.astype({c: object for c in data.columns if c != "_source_row"})
    original = pd.concat(originals, axis=0, sort=False)
    rows_read = len(data)

    # --- blank rows: dropped and counted -------------------------------------------------
    answer_cols = [it.name for it in spec.items] + ["__id", "__time", "__duration"]
    blank = data[answer_cols].isna().all(axis=1)
    if blank.any():
        where = ", ".join(f"{f}:{r}" for f, r in zip(data.loc[blank, "_source_file"][:8], data.loc[blank, "_source_row"][:8]))
        messages.append(Message("info", "blank_rows", f"{int(blank.sum())} blank row(s) dropped ({where})",
                                f"đã bỏ {int(blank.sum())} dòng trống ({where})"))
    data = data[~blank]

    # --- types -------------------------------------------------------------------------------
    labels = {k: pd.concat(v).reindex(data.index) for k, v in sav_labels.items()}
    sav_files = {t.file for t in tables if t.format == "sav"}
    conv = _convert(data, spec, labels, data["_source_file"].isin(sav_files))
    typed = conv.typed
    failures = list(conv.failures)

    # --- metadata columns ------------------------------------------------------------------------
    ids = data["__id"].astype("string").str.replace(r"^uuid:", "", regex=True, case=False).astype(object)
    if data["__id"].isna().all():
        unit = spec.by_role("unit")
        if not spec.anonymous and unit:
            ids = typed[unit[0].name].astype(object)
            messages.append(Message("info", "submission_id_from_unit",
                                    f"no submission id column: the unit code ({unit[0].name}) identifies each form",
                                    f"không có cột mã phiếu: dùng mã tổ chức cơ sở ({unit[0].name}) làm mã phiếu"))
        else:
            content = conv.canonical.astype(str).agg("\x1f".join, axis=1)
            # sha256 per row (stable across pandas versions, unlike hash_pandas_object).
            digest = content.map(lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest()[:16])
            occurrence = digest.groupby(digest).cumcount() + 1
            ids = "row-" + digest + "-" + occurrence.astype(str)
            messages.append(Message("warning", "submission_id_derived",
                                    "no submission id column: ids are derived from the answers, so duplicate submissions cannot be recognised",
                                    "không có cột mã phiếu: mã phiếu được tạo từ nội dung trả lời nên không phát hiện được phiếu trùng"))
    else:
        blank_id = ids.isna()
        if blank_id.any():
            failures.append(pd.DataFrame({"_row": data.index[blank_id], "column": "_submission_id", "value": "",
                                          "rule": "submission_id", "message_en": RULES["submission_id"][0],
                                          "message_vi": RULES["submission_id"][1]}))
    submitted = pd.Series(pd.NaT, index=data.index, dtype="datetime64[us, UTC]")
    for tz_name, part in data.groupby(data["__time_tz"].fillna(""), sort=True):
        tz = dt.timezone.utc if tz_name == "UTC" else LOCAL_UTC_OFFSET
        vals, bad = _parse_datetimes(part["__time"], tz)
        submitted.loc[part.index] = vals
        if bad.any():
            failures.append(_fail_frame(bad[bad].index, "_submitted_at", part["__time"], "datetime"))
    duration = pd.Series(np.nan, index=data.index, dtype="float64")
    dur_text = data["__duration"][data["__duration"].notna()].astype(str)
    dur_ok = dur_text.str.fullmatch(_DEC)
    if (~dur_ok).any():
        failures.append(_fail_frame(dur_ok[~dur_ok].index, "_duration_s", data["__duration"], "duration"))
    duration.loc[dur_text[dur_ok].index] = dur_text[dur_ok].astype(float).to_numpy()
    start, end = spec.by_role("start"), spec.by_role("end")
    if start and end:
        span = (typed[end[0].name] - typed[start[0].name]).dt.total_seconds()
        duration = duration.where(duration.notna(), span)

    # --- duplicates -------------------------------------------------------------------------------
    ids = ids.astype(object).where(ids.notna(), None)
    dup = quality.find_duplicates(ids, conv.canonical)
    if dup.drop_exact.any():
        where = ", ".join(f"{f}:{r}" for f, r in zip(data.loc[dup.drop_exact, "_source_file"][:8], data.loc[dup.drop_exact, "_source_row"][:8]))
        messages.append(Message("info", "exact_duplicates",
                                f"{int(dup.drop_exact.sum())} exact duplicate submission(s) kept once; extra copies dropped ({where})",
                                f"{int(dup.drop_exact.sum())} phiếu trùng hoàn toàn chỉ giữ một bản; đã bỏ các bản sao ({where})"))
    resolved_keep = pd.Series(False, index=data.index)
    resolved_drop = pd.Series(False, index=data.index)
    if resolutions is not None and len(resolutions):
        try:
            resolved_keep, resolved_drop, notes = quality.apply_resolutions(
                resolutions, ids, dup.conflict, data["_source_file"], data["_source_row"], source=resolutions_name)
        except quality.ResolutionError as exc:
            raise IngestError([_problem("resolutions", resolutions_name, str(exc), f"tệp xử lý phiếu trùng không áp dụng được: {exc}")]) from None
        for note in notes:
            messages.append(Message("warning", "resolution_unused", note, note.replace("has no conflicting duplicates in this import; line not needed",
                                                                                          "không còn phiếu trùng mâu thuẫn; dòng này không cần"), resolutions_name))
    unresolved = dup.conflict & ~resolved_keep & ~resolved_drop
    if unresolved.any():
        groups = data.loc[unresolved].groupby(ids[unresolved])
        for sid, grp in groups:
            others = ", ".join(f"{f}:{r}" for f, r in zip(grp["_source_file"], grp["_source_row"]))
            failures.append(pd.DataFrame({
                "_row": grp.index, "column": "_submission_id", "value": str(sid), "rule": "duplicate_conflict",
                "message_en": f"{RULES['duplicate_conflict'][0]} (versions at {others}); add a line 'submission_id,keep' to the "
                              f"resolution file (keep = row to keep, or none) and import again with --resolutions",
                "message_vi": f"{RULES['duplicate_conflict'][1]} (các bản ở {others}); hãy thêm dòng 'submission_id,keep' vào tệp "
                              f"xử lý phiếu trùng (keep = số dòng cần giữ, hoặc none) rồi nhập lại với --resolutions",
            }))
    dropped_dup = dup.drop_exact | resolved_drop
    live = ~dropped_dup

    # --- validation (rows still in play) ----------------------------------------------------------
    val = validate.validate_answers(typed[live], spec, rules=rules, choice_attributes={
        name: {c.code: dict(c.attributes) for c in choices} for name, choices in spec.choices.items()
        if any(c.attributes for c in choices)})
    # A cell that failed conversion is blank in `typed`: its 'required' failure would repeat it.
    conv_cells = set()
    for f in failures:
        conv_cells.update(zip(f["_row"], f["column"]))
    if len(val):
        val = val[[(r, c) not in conv_cells for r, c in zip(val["_row"], val["column"])]]
    all_fail = pd.concat([f for f in [*failures, val] if len(f)], ignore_index=True) if (failures or len(val)) else \
        pd.DataFrame(columns=["_row", "column", "value", "rule", "message_en", "message_vi"])
    all_fail = all_fail[all_fail["_row"].isin(data.index[live])] if len(all_fail) else all_fail
    bad_rows = pd.Index(all_fail["_row"].unique()) if len(all_fail) else pd.Index([])
    quarantined = data.index.isin(bad_rows) & live.to_numpy()
    accepted = live.to_numpy() & ~quarantined

    # --- quality flags on accepted rows -------------------------------------------------------------
    acc = typed[accepted]
    scale = [it.name for it in spec.scale_items]
    missing_codes = {it.name: spec.missing_codes(it.list_name) for it in spec.scale_items}
    applies, _ = validate.relevance(acc, spec, rules)
    out = pd.DataFrame(index=acc.index)
    out["_submission_id"] = ids[accepted].astype("string")
    out["_submitted_at"] = submitted[accepted]
    out["_duration_s"] = duration[accepted].astype("float64")
    for it in spec.items:
        out[it.name] = acc[it.name]
    out["_source_file"] = data.loc[accepted, "_source_file"].astype("string")
    out["_source_row"] = data.loc[accepted, "_source_row"].astype("Int64")
    out["_flag_speeder"] = quality.flag_speeders(out["_duration_s"], meta.speeder_seconds)
    out["_flag_straightliner"] = quality.flag_straightliners(acc, scale, missing_codes=missing_codes,
                                                             min_items=meta.straightliner_min_items)
    out["_flag_item_nonresponse"] = quality.flag_item_nonresponse(acc, scale, missing_codes=missing_codes, applies=applies,
                                                                  threshold=meta.item_nonresponse_threshold)
    out["_flag_duplicate"] = (dup.kept_copy | resolved_keep)[accepted].astype(bool)
    if meta.speeder_seconds is None:
        messages.append(Message("warning", "no_speeder_floor", "wave.yaml has no speeder_seconds: speeders are not flagged",
                                "wave.yaml không có speeder_seconds: không đánh dấu phiếu trả lời quá nhanh"))
    # Deterministic order: by submission id, then time, then where the row came from.
    out = out.sort_values(["_submission_id", "_submitted_at", "_source_file", "_source_row"], kind="stable", na_position="last")
    out = out.reset_index(drop=True)[processed_columns(spec)]

    # --- failure table with places, quarantine file ----------------------------------------------
    if len(all_fail):
        all_fail = all_fail.copy()
        all_fail["file"] = data.loc[all_fail["_row"], "_source_file"].to_numpy()
        all_fail["sheet"] = data.loc[all_fail["_row"], "_sheet"].to_numpy()
        all_fail["row"] = data.loc[all_fail["_row"], "_source_row"].astype("int64").to_numpy()
        # The value as the researcher typed it (before label mapping), where the column came from the file.
        all_fail = all_fail.sort_values(["file", "row", "column", "rule"], kind="stable")
    failures_out = all_fail.reindex(columns=[*FAILURE_COLUMNS, "_row"])
    quarantine = failures_out.merge(original, left_on="_row", right_index=True, how="left").drop(columns="_row") \
        if len(failures_out) else pd.DataFrame(columns=list(FAILURE_COLUMNS))
    failures_out = failures_out.drop(columns="_row").reset_index(drop=True)

    counts = {
        "rows_read": int(rows_read),
        "accepted": int(accepted.sum()),
        "quarantined": int(quarantined.sum()),
        "dropped_blank": int(blank.sum()),
        "dropped_duplicate": int(dup.drop_exact.sum()),
        "dropped_resolved": int(resolved_drop.sum()),
    }
    counts["dropped"] = counts["dropped_blank"] + counts["dropped_duplicate"] + counts["dropped_resolved"]
    if counts["rows_read"] != counts["accepted"] + counts["quarantined"] + counts["dropped"]:
        raise RuntimeError(f"row accounting is off: {counts}")  # a bug here, never bad data
    flags = {c: int(out[c].sum()) for c in FLAG_COLUMNS}
    return _Prepared(out, failures_out, quarantine, counts, flags, messages, tables)


# --------------------------------------------------------------------------------------------
# Writing (deterministic)
# --------------------------------------------------------------------------------------------
def _arrow_type(spec_item: ItemSpec | None, column: str) -> pa.DataType:
    if column == "_submitted_at":
        return pa.timestamp("us", tz="UTC")
    if column == "_duration_s":
        return pa.float64()
    if column == "_source_row":
        return pa.int64()
    if column.startswith("_flag_"):
        return pa.bool_()
    if spec_item is None:
        return pa.string()
    kind = spec_item.kind
    if kind == "integer":
        return pa.int64()
    if kind in ("decimal", "range"):
        return pa.float64()
    if kind in ("date", "today"):
        return pa.timestamp("us")
    if kind in ("start", "end", "datetime"):
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def _write_parquet(frame: pd.DataFrame, spec: InstrumentSpec, path: Path) -> None:
    """Parquet with a fixed schema, no index, no timestamps in the metadata: same data → same bytes."""
    items = {it.name: it for it in spec.items}
    schema = pa.schema([pa.field(c, _arrow_type(items.get(c), c)) for c in frame.columns])
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    # The pandas metadata (dtypes for a faithful read-back: Int64, string) holds versions, no
    # clock; it is kept. Nothing else is added.
    pq.write_table(table, path, compression="zstd", write_statistics=True, use_dictionary=True)


def _atomic_write(path: Path, writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _quality_table(counts: Mapping[str, int], flags: Mapping[str, int], failures: pd.DataFrame) -> pd.DataFrame:
    labels = {
        "rows_read": ("Rows read", "Số dòng đọc được"),
        "accepted": ("Accepted", "Chấp nhận"),
        "quarantined": ("Quarantined (held for checking)", "Tạm giữ để kiểm tra"),
        "dropped": ("Dropped", "Loại bỏ"),
        "dropped_blank": ("Dropped: blank rows", "Loại bỏ: dòng trống"),
        "dropped_duplicate": ("Dropped: exact duplicate copies", "Loại bỏ: bản sao trùng hoàn toàn"),
        "dropped_resolved": ("Dropped: duplicates settled by the resolution file", "Loại bỏ: phiếu trùng đã xử lý theo tệp quyết định"),
        "_flag_speeder": ("Flagged: answered too fast", "Đánh dấu: trả lời quá nhanh"),
        "_flag_straightliner": ("Flagged: same answer to every scale item", "Đánh dấu: chọn cùng một mức cho mọi câu thang đo"),
        "_flag_item_nonresponse": ("Flagged: many items unanswered", "Đánh dấu: bỏ trống nhiều câu"),
        "_flag_duplicate": ("Flagged: kept from duplicate submissions", "Đánh dấu: giữ lại từ các phiếu trùng"),
    }
    rows = [(k, counts[k]) for k in ("rows_read", "accepted", "quarantined", "dropped", "dropped_blank",
                                      "dropped_duplicate", "dropped_resolved")]
    rows += [(k, flags[k]) for k in FLAG_COLUMNS]
    per_rule = failures.groupby("rule").size() if len(failures) else pd.Series(dtype=int)
    out = [{"metric": k, "value": int(v), "label_en": labels[k][0], "label_vi": labels[k][1]} for k, v in rows]
    for rule, (en, vi) in RULES.items():
        out.append({"metric": f"failures_{rule}", "value": int(per_rule.get(rule, 0)),
                    "label_en": f"Failures: {en}", "label_vi": f"Lỗi: {vi}"})
    return pd.DataFrame(out, columns=["metric", "value", "label_en", "label_vi"])


def _fingerprint(files: Sequence[tuple[str, str]], meta: WaveMeta, resolutions_sha: str | None) -> str:
    blob = json.dumps({"files": sorted(files), "meta": meta.to_mapping(), "resolutions": resolutions_sha,
                       "format": INGEST_FORMAT_VERSION}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _move_aside(raw: Path, processed: Sequence[Path], stamp: str) -> Path:
    """Move the current raw files and processed outputs to raw/.replaced-<stamp>/ (kept, not deleted)."""
    target = raw / f".replaced-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = raw / f".replaced-{stamp}-{n}"
    target.mkdir(parents=True)
    for p in sorted(raw.iterdir()):
        if p.name.startswith(".replaced-"):
            continue
        os.replace(p, target / p.name)
    (target / "processed").mkdir()
    for p in processed:
        if p.exists():
            os.replace(p, target / "processed" / p.name)
    return target


def _load_resolutions(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    try:
        text, _ = vn_encoding.decode_bytes(data, path.name)
    except vn_encoding.EncodingProblem as exc:
        raise IngestError([_problem("resolutions", path.name, exc.en, exc.vi)]) from None
    frame = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), dtype=str, keep_default_na=False)
    frame.columns = [fold(c).lower() for c in frame.columns]
    return frame


def _meta_from(source: Mapping | Path, where: str, file: str) -> WaveMeta:
    """`WaveMeta` from a mapping or a ``wave.yaml``; any problem is an `IngestError` (code ``wave_metadata``)."""
    try:
        data = source if isinstance(source, Mapping) else yaml.safe_load(source.read_text(encoding="utf-8"))
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: not a YAML mapping of keys to values")
        return WaveMeta.from_mapping(data, where=where)
    except (ValueError, yaml.YAMLError) as exc:
        raise IngestError([_problem("wave_metadata", file, str(exc), f"siêu dữ liệu đợt (wave.yaml) không hợp lệ: {exc}")]) from None


def import_wave(instrument: str, wave: str, files: Sequence[os.PathLike | str], *,
                meta: WaveMeta | Mapping | os.PathLike | str | None = None, replace: bool = False,
                resolutions: os.PathLike | str | None = None, data_dir: os.PathLike | str | None = None) -> ImportResult:
    """Import *files* as wave *wave* of *instrument*; see the module docstring for the steps.

    Parameters
    ----------
    instrument, wave
        Ids (``member``/``unit``, ``2026``); checked by `analysis.config.check_id`.
    files
        One or more exports (CSV/TSV, XLSX, SAV), all of the same instrument and wave.
    meta
        The wave's metadata: a `WaveMeta`, a mapping, or a path to ``wave.yaml``. When None,
        the ``wave.yaml`` beside the first file is used, else the one stored by an earlier
        import of this wave; without either, `IngestError` (code ``wave_metadata``): whether
        a wave is real or synthetic is never assumed. Files that declare themselves synthetic
        (`synthetic_marker`) are refused (code ``synthetic_file``) when it says
        ``synthetic: false``.
    replace
        Needed when the wave exists with different raw files; the previous raw files and
        processed outputs are moved to ``data/raw/<instrument>/<wave>/.replaced-<UTC time>/``.
    resolutions
        CSV ``submission_id,keep`` settling conflicting duplicates; stored with the raw files
        and re-applied on every later run until another one is given.
    data_dir
        The ``data/`` folder (default `analysis.config.DATA_DIR`; tests use a temporary one).

    Returns
    -------
    ImportResult
        Counts, paths, messages and the failure table. ``status`` is ``unchanged`` when the
        same files, metadata and resolutions were imported before (nothing is written).

    Raises
    ------
    IngestError
        File-level problems (no or mismatching wave metadata, a synthetic file in a real wave,
        encoding, legacy fonts, headers, columns, resolution file): nothing is written, every
        problem of every file is listed.
    FileExistsError
        The wave exists with other files and *replace* is False.
    """
    from analysis import instruments

    instrument = config.check_id(instrument, "instrument")
    wave = config.check_id(wave, "wave")
    paths = _paths(instrument, wave, Path(data_dir) if data_dir is not None else None)
    raw = paths["raw"]

    sources = [Path(f) for f in files]
    if not sources:
        raise IngestError([_problem("empty", "", "no file given", "chưa chỉ định tệp nào")])
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"file(s) not found: {missing} / không tìm thấy tệp: {missing}")
    names = [p.name for p in sources]
    if len(set(names)) != len(names):
        raise IngestError([_problem("files", "", f"two files have the same name {sorted(n for n in names if names.count(n) > 1)}: rename one",
                                    "hai tệp trùng tên: hãy đổi tên một tệp")])
    for n in names:
        if n in ("files.json", "wave.yaml", "resolutions.csv") or n.startswith("."):
            raise IngestError([_problem("files", n, f"the file name {n!r} is reserved in the raw folder: rename the file",
                                        f"tên tệp {n!r} được dành riêng: hãy đổi tên tệp")])
    shas = [(n, _sha256(p)) for n, p in zip(names, sources)]

    # --- wave metadata: given, beside the first file, or stored by an earlier import; never assumed ----------
    stored_meta_path = raw / "wave.yaml"
    beside_meta_path = sources[0].resolve().parent / "wave.yaml"
    meta_notes: list[Message] = []
    if isinstance(meta, WaveMeta):
        wave_meta, meta_where = meta, "the wave metadata given"
    elif isinstance(meta, Mapping):
        wave_meta, meta_where = _meta_from(meta, "the wave metadata given", names[0]), "the wave metadata given"
    elif meta is not None:
        meta_where = str(meta)
        wave_meta = _meta_from(Path(meta), meta_where, names[0])
    elif beside_meta_path.is_file():
        meta_where = str(beside_meta_path)
        wave_meta = _meta_from(beside_meta_path, meta_where, names[0])
        meta_notes.append(Message("info", "wave_metadata", f"wave metadata read from {meta_where} (beside {names[0]}; no --meta given)",
                                  f"siêu dữ liệu đợt lấy từ {meta_where} (cùng thư mục với {names[0]}; không có --meta)"))
    elif stored_meta_path.is_file():
        meta_where = str(stored_meta_path)
        wave_meta = _meta_from(stored_meta_path, meta_where, names[0])
        meta_notes.append(Message("info", "wave_metadata", f"wave metadata read from {meta_where} (stored by the earlier import; no --meta given)",
                                  f"siêu dữ liệu đợt lấy từ {meta_where} (lưu từ lần nhập trước; không có --meta)"))
    else:
        version = instruments.load(instrument).version
        raise IngestError([_problem(
            "wave_metadata", names[0],
            f"no wave metadata: give --meta wave.yaml, or put a wave.yaml beside the file (in {beside_meta_path.parent}), "
            f"with instrument: {instrument}, wave: '{wave}', instrument_version: '{version}' and synthetic: false for a real "
            f"survey or synthetic: true for demo or test data — the import never assumes that data is real",
            f"chưa có siêu dữ liệu đợt: hãy dùng --meta wave.yaml, hoặc đặt tệp wave.yaml cạnh tệp dữ liệu (trong "
            f"{beside_meta_path.parent}), gồm instrument: {instrument}, wave: '{wave}', instrument_version: '{version}' và "
            f"synthetic: false nếu là khảo sát thật hoặc synthetic: true nếu là dữ liệu mẫu/thử nghiệm — chương trình không "
            f"bao giờ tự coi dữ liệu là thật")])
    if (wave_meta.instrument, wave_meta.wave) != (instrument, wave):
        raise IngestError([_problem(
            "wave_metadata", names[0],
            f"wave.yaml is for {wave_meta.instrument} {wave_meta.wave}, not {instrument} {wave} ({meta_where})",
            f"wave.yaml thuộc {wave_meta.instrument} {wave_meta.wave}, không phải {instrument} {wave} ({meta_where})")])
    if not wave_meta.synthetic:
        # A file that says it is synthetic is never imported as a real wave, whatever wave.yaml says.
        refused = [(n, found) for n, p in zip(names, sources) if (found := synthetic_marker(p, name=n))]
        if refused:
            raise IngestError([_problem(
                "synthetic_file", n,
                f"the file declares itself synthetic demo data ({found}) but the wave metadata ({meta_where}) says "
                f"synthetic: false: a synthetic file is never imported as a real wave — for demo or test data set "
                f"'synthetic: true' in wave.yaml; for a real export remove the marker (rename the file, clear the workbook "
                f"title and subject) and import again",
                f"tệp tự ghi là dữ liệu mô phỏng ({found}) nhưng siêu dữ liệu đợt ({meta_where}) ghi synthetic: false: "
                f"tệp mô phỏng không bao giờ được nhập như một đợt thật — nếu là dữ liệu mẫu hoặc thử nghiệm hãy ghi "
                f"'synthetic: true' trong wave.yaml; nếu là dữ liệu thật hãy bỏ dấu hiệu (đổi tên tệp, xóa tiêu đề và chủ "
                f"đề của sổ Excel) rồi nhập lại") for n, found in refused])
    if wave_meta.fieldwork_start is None and stored_meta_path.is_file():
        # Fieldwork dates derived from the submissions on an earlier run are not a change.
        stored = WaveMeta.from_mapping(yaml.safe_load(stored_meta_path.read_text(encoding="utf-8")), where=str(stored_meta_path))
        undated = {**stored.to_mapping(), "fieldwork_start": None, "fieldwork_end": None}
        if undated == {**wave_meta.to_mapping(), "fieldwork_end": None}:
            wave_meta = stored
    inst = instruments.load(instrument, version=wave_meta.instrument_version)
    spec = validate.spec_from_instrument(inst)

    # --- resolutions: given now, or the stored one ----------------------------------------------------
    stored_res = raw / "resolutions.csv"
    res_path = Path(resolutions) if resolutions is not None else (stored_res if stored_res.is_file() else None)
    res_sha = _sha256(res_path) if res_path is not None else None
    res_frame = _load_resolutions(res_path) if res_path is not None else None
    # Kept in memory: the stored copy is moved aside with the rest before it is written again.
    res_bytes = res_path.read_bytes() if res_path is not None else None

    # --- idempotency and replacement --------------------------------------------------------------------
    fingerprint = _fingerprint(shas, wave_meta, res_sha)
    previous_files: list[tuple[str, str]] | None = None
    if (raw / "files.json").is_file():
        previous_files = [(f["name"], f["sha256"]) for f in json.loads((raw / "files.json").read_text(encoding="utf-8"))["files"]]
    if paths["manifest"].is_file() and paths["parquet"].is_file():
        manifest = json.loads(paths["manifest"].read_text(encoding="utf-8"))
        if manifest.get("input_fingerprint") == fingerprint and _sha256(paths["parquet"]) == manifest.get("parquet_sha256"):
            unchanged = _unchanged_result(instrument, wave, paths, manifest)
            return dataclasses.replace(unchanged, messages=(*meta_notes, *unchanged.messages))
    same_files = previous_files is not None and sorted(previous_files) == sorted(shas)
    if previous_files is not None and not same_files and not replace:
        raise FileExistsError(
            f"wave {wave} of {instrument} was already imported from other file(s) {[n for n, _ in previous_files]}: to import "
            f"{names} instead, run again with --replace (the previous files and outputs are kept in "
            f"data/raw/{instrument}/{wave}/.replaced-<time>/) / đợt {wave} của phiếu {instrument} đã được nhập từ tệp khác: "
            f"để thay bằng tệp mới hãy chạy lại với --replace (bản cũ được giữ trong .replaced-<thời điểm>/)")

    prepared = _prepare(list(zip(sources, names)), spec, wave_meta, res_frame, res_path.name if res_path else "resolutions.csv")

    # Default fieldwork dates come from the submissions themselves.
    if wave_meta.fieldwork_start is None and len(prepared.data) and prepared.data["_submitted_at"].notna().any():
        local = prepared.data["_submitted_at"].dropna().dt.tz_convert(LOCAL_UTC_OFFSET)
        wave_meta = WaveMeta(**{**wave_meta.to_mapping(), "fieldwork_start": local.min().date().isoformat(),
                                "fieldwork_end": local.max().date().isoformat()})
        # The stored wave.yaml holds the derived dates, so a rerun compares against them.
        fingerprint = _fingerprint(shas, wave_meta, res_sha)

    # --- write: raw (read-only) first, then processed outputs atomically ----------------------------------
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    status = "imported"
    if previous_files is not None or paths["parquet"].exists():
        moved = _move_aside(raw, [paths[k] for k in ("parquet", "manifest", "quarantine", "quality")], stamp) if raw.exists() else None
        status = "reprocessed" if same_files else "replaced"
        prepared.messages.append(Message("info", status, f"previous version kept in {moved}",
                                         f"phiên bản trước được lưu trong {moved}"))
    raw.mkdir(parents=True, exist_ok=True)
    file_records = []
    for (name, sha), src, table in zip(shas, sources, prepared.tables):
        dest = raw / name
        shutil.copyfile(src, dest)
        os.chmod(dest, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        if _sha256(dest) != sha:
            raise OSError(f"copy of {src} to {dest} does not match its sha256")
        file_records.append({"name": name, "sha256": sha, "bytes": dest.stat().st_size, "format": table.format,
                             "encoding": table.encoding or None, "sheet": table.sheet or None, "rows": int(len(table.rows))})
    (raw / "files.json").write_text(json.dumps({"instrument": instrument, "wave": wave, "files": file_records},
                                               indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (raw / "wave.yaml").write_text(wave_meta.to_yaml(), encoding="utf-8")
    if res_bytes is not None:
        (raw / "resolutions.csv").write_bytes(res_bytes)
        os.chmod(raw / "resolutions.csv", stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)

    _atomic_write(paths["parquet"], lambda p: _write_parquet(prepared.data, spec, p))
    _atomic_write(paths["quarantine"], lambda p: prepared.quarantine.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n"))
    _atomic_write(paths["quality"], lambda p: _quality_table(prepared.counts, prepared.flags, prepared.failures)
                  .to_csv(p, index=False, encoding="utf-8", lineterminator="\n"))
    manifest = {
        "instrument": instrument, "wave": wave, "instrument_version": str(inst.version),
        "synthetic": wave_meta.synthetic, **prepared.counts,
        "flags": prepared.flags,
        "files": [{"name": n, "sha256": s} for n, s in sorted(shas)],
        "imported_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "fieldwork_start": wave_meta.fieldwork_start, "fieldwork_end": wave_meta.fieldwork_end,
        "speeder_seconds": wave_meta.speeder_seconds, "source": wave_meta.source,
        "resolutions_sha256": res_sha, "input_fingerprint": fingerprint,
        "parquet_sha256": _sha256(paths["parquet"]), "ingest_format": INGEST_FORMAT_VERSION,
    }
    _atomic_write(paths["manifest"], lambda p: p.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"))

    if prepared.counts["quarantined"]:
        prepared.messages.append(Message(
            "warning", "quarantined",
            f"{prepared.counts['quarantined']} row(s) quarantined: fix them in the source file (see {paths['quarantine'].name}: file, row, "
            f"column, value, rule) and import again with --replace",
            f"{prepared.counts['quarantined']} dòng bị tạm giữ: hãy sửa trong tệp gốc (xem {paths['quarantine'].name}: tệp, dòng, cột, "
            f"giá trị, quy tắc) rồi nhập lại với --replace"))
    return ImportResult(
        instrument=instrument, wave=wave, status=status, rows_read=prepared.counts["rows_read"],
        accepted=prepared.counts["accepted"], quarantined=prepared.counts["quarantined"], dropped=prepared.counts["dropped"],
        dropped_blank=prepared.counts["dropped_blank"], dropped_duplicate=prepared.counts["dropped_duplicate"],
        dropped_resolved=prepared.counts["dropped_resolved"], flags=dict(prepared.flags),
        parquet_path=paths["parquet"], manifest_path=paths["manifest"], quarantine_path=paths["quarantine"],
        quality_path=paths["quality"], raw_dir=raw, messages=(*meta_notes, *prepared.messages),
        failures=prepared.failures)


def _unchanged_result(instrument: str, wave: str, paths: Mapping[str, Path], manifest: Mapping) -> ImportResult:
    failures = pd.DataFrame(columns=list(FAILURE_COLUMNS))
    if paths["quarantine"].is_file() and paths["quarantine"].stat().st_size:
        q = pd.read_csv(paths["quarantine"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
        failures = q.reindex(columns=list(FAILURE_COLUMNS))
    msg = Message("info", "unchanged",
                  f"wave {wave} of {instrument} is already imported from these same files (same sha256): nothing changed",
                  f"đợt {wave} của phiếu {instrument} đã được nhập từ đúng các tệp này (cùng sha256): không có gì thay đổi")
    return ImportResult(
        instrument=instrument, wave=wave, status="unchanged", rows_read=manifest["rows_read"], accepted=manifest["accepted"],
        quarantined=manifest["quarantined"], dropped=manifest["dropped"], dropped_blank=manifest.get("dropped_blank", 0),
        dropped_duplicate=manifest.get("dropped_duplicate", 0), dropped_resolved=manifest.get("dropped_resolved", 0),
        flags=dict(manifest.get("flags", {})), parquet_path=paths["parquet"], manifest_path=paths["manifest"],
        quarantine_path=paths["quarantine"], quality_path=paths["quality"], raw_dir=paths["raw"], messages=(msg,),
        failures=failures)


# ============================================================================================
# Command line: python -m analysis add-wave
# ============================================================================================
def _summary(result: ImportResult) -> list[str]:
    f = result.flags
    lines = [
        f"{result.instrument} {result.wave}: {result.status}",
        f"  rows read {result.rows_read} = accepted {result.accepted} + quarantined {result.quarantined} + dropped {result.dropped}"
        f" (blank {result.dropped_blank}, duplicate copies {result.dropped_duplicate}, by resolution {result.dropped_resolved})",
        f"  số dòng đọc {result.rows_read} = chấp nhận {result.accepted} + tạm giữ {result.quarantined} + loại {result.dropped}"
        f" (dòng trống {result.dropped_blank}, bản sao trùng {result.dropped_duplicate}, theo tệp quyết định {result.dropped_resolved})",
        f"  flags / đánh dấu: speeders {f.get('_flag_speeder', 0)}, straight-liners {f.get('_flag_straightliner', 0)}, "
        f"item nonresponse {f.get('_flag_item_nonresponse', 0)}, duplicates kept {f.get('_flag_duplicate', 0)}",
        f"  data: {result.parquet_path}",
    ]
    if result.quarantined:
        lines.append(f"  quarantine / tạm giữ: {result.quarantine_path}")
    return lines


def _run(args: argparse.Namespace) -> int:
    try:
        result = import_wave(args.instrument, args.wave, args.files, meta=args.meta, replace=args.replace,
                             resolutions=args.resolutions, data_dir=args.data_dir)
    except IngestError as exc:
        print("nothing was imported / chưa nhập gì:", file=sys.stderr)
        for p in exc.problems:
            print(str(p), file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in _summary(result):
        print(line)
    for m in result.messages:
        print(str(m), file=sys.stderr if m.level != "info" else sys.stdout)
    return result.exit_code


_ADD_WAVE_DESCRIPTION = """\
Import survey exports as one wave: read, check, store raw files read-only and write
data/processed/<instrument>/<wave>.parquet. Exit 0 when the wave is written (quarantined rows
are a warning), 2 when a file cannot be imported (nothing written).

Wave metadata (wave.yaml) is required and must say whether the wave is real or synthetic
(synthetic: false | true); it is never assumed. It is taken from --meta FILE, else from the
wave.yaml beside the first FILE (the output says so), else from the one stored when this wave
was imported before; without any, nothing is imported. A file that declares itself synthetic
(name starting with SYNTHETIC_DEMO, or "SYNTHETIC DEMO" in the workbook title or subject) is
refused when wave.yaml says synthetic: false.
"""


def register(subparsers) -> None:
    """Add the ``add-wave`` command (see `analysis.cli`)."""
    p = subparsers.add_parser(
        "add-wave", help="import a survey export as a wave (CSV, XLSX, SAV)",
        description=_ADD_WAVE_DESCRIPTION,
        epilog=EXPORT_FORMAT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instrument", required=True, help="member or unit")
    p.add_argument("--wave", required=True, help="wave id, e.g. 2026")
    p.add_argument("files", nargs="+", metavar="FILE", help="export file(s): .csv/.txt/.tsv, .xlsx, .sav")
    p.add_argument("--meta", help="wave.yaml (instrument, wave, instrument_version, synthetic: true|false, fieldwork_start/end, "
                                  "speeder_seconds, source); default: the wave.yaml beside the first FILE")
    p.add_argument("--replace", action="store_true", help="replace a wave imported from other files (the old version is kept)")
    p.add_argument("--resolutions", help="CSV submission_id,keep settling conflicting duplicates (stored, re-applied on every run)")
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.ingest …`` = ``python -m analysis add-wave …``."""
    parser = argparse.ArgumentParser(prog="add-wave")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["add-wave", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
