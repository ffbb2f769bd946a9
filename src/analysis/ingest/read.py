"""Reading exports: detect the format and encoding from the content and read each file into
a `RawTable` of strings (CSV/TSV text, XLSX, SPSS ``.sav``); normalise the text (NFC,
whitespace, control and invisible characters removed and counted) and refuse TCVN3/VNI
legacy-font text. Nothing here knows the instrument."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.ingest import vn_encoding, xlsx
from analysis.ingest.messages import IngestError, Message, error_message, row_list, strip_file_prefix

__all__ = [
    "RawTable", "read_file", "fold", "sniff_format", "choice_key", "choice_keys", "scan_legacy",
    "normalise_cells", "cell_codes",
]


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


def sniff_format(data: bytes) -> str:
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
    kind = sniff_format(data)
    if kind == "xls":
        raise IngestError([error_message("format", name,
                                    "old Excel 97-2003 (.xls) workbooks are not supported: open it in Excel and save as .xlsx",
                                    "không hỗ trợ tệp Excel 97-2003 (.xls): hãy mở bằng Excel và lưu lại dạng .xlsx")])
    if kind == "xlsx":
        return _read_xlsx(path, name) if _is_workbook(data) else _read_zip(data, name)
    if kind == "sav":
        return _read_sav(path, name)
    return _read_text(data, name)


def _is_workbook(data: bytes) -> bool:
    """A ZIP that is an Excel workbook (an ODK Central download is a ZIP of CSV files)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = set(zf.namelist())
    except zipfile.BadZipFile:
        return True  # not a readable ZIP: the workbook reader names the problem
    has_csv = any(m.endswith(".csv") for m in members)
    return "xl/workbook.xml" in members or ("[Content_Types].xml" in members and not has_csv)


def _read_zip(data: bytes, name: str) -> RawTable:
    """ODK Central's "download all": ``<form>.csv`` (one row per submission), a CSV per repeat
    group (``<form>-<repeat>.csv``, with ``PARENT_KEY``) and ``media/`` attachments. The main
    table is imported; the rest is listed in the log. The archive member is reported as the sheet."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = [m for m in zf.namelist() if not m.endswith("/")]
        csvs = [m for m in members if m.lower().endswith(".csv") and not m.lower().startswith("media/")]
        heads = {m: zf.read(m).split(b"\n", 1)[0] for m in csvs}
        main = [m for m in csvs if b"PARENT_KEY" not in heads[m]]
        if len(main) != 1:
            found = ", ".join(csvs) or "none"
            raise IngestError([error_message(
                "format", name,
                f"the ZIP archive must hold exactly one main CSV table (an ODK Central download); CSV files: {found}",
                f"tệp ZIP phải chứa đúng một bảng CSV chính (tệp tải về từ ODK Central); các tệp CSV: {found}")])
        table = _read_text(zf.read(main[0]), name)
    repeats = [m for m in csvs if m != main[0]]
    others = [m for m in members if m not in csvs]
    notes = list(table.notes)
    if repeats or others:
        notes.append(Message(
            "info", "other_sheets",
            f"only {main[0]!r} of the archive is imported; repeat tables {repeats} and {len(others)} other file(s) "
            f"(attachments) are not",
            f"chỉ nhập {main[0]!r} trong tệp nén; không nhập các bảng lặp {repeats} và {len(others)} tệp khác "
            f"(tệp đính kèm)", name))
    return dataclasses.replace(table, format="zip-csv", sheet=main[0], notes=tuple(notes))


def _grid_to_table(grid: list[list[object]], name: str, fmt: str, *, sheet: str = "", encoding: str = "",
                   first_row: int = 1, notes: Sequence[Message] = ()) -> RawTable:
    """Header = first row of *grid*; data rows after it; trailing blank rows are not rows."""
    if not grid:
        raise IngestError([error_message("empty", name, "the file is empty (no header row)", "tệp rỗng (không có dòng tiêu đề)")])
    width = max(len(r) for r in grid)
    if any(len(r) != width for r in grid):
        grid = [list(r) + [None] * (width - len(r)) for r in grid]
    header = tuple("" if v is None else str(v) for v in grid[0])
    body = grid[1:]
    # Trailing rows that are entirely blank are sheet formatting, not submissions.
    def blank(row):
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)
    while body and blank(body[-1]):
        body.pop()
    cells = pd.DataFrame(body, columns=range(width), dtype=object) if body else pd.DataFrame(columns=range(width), dtype=object)
    # The readers give None or text in every cell, so the frame needs no NaN-to-None pass.
    rows = np.arange(first_row + 1, first_row + 1 + len(body), dtype=np.int64)
    return RawTable(name, fmt, header, cells, rows, sheet=sheet, encoding=encoding, notes=tuple(notes))


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _read_text(data: bytes, name: str) -> RawTable:
    try:
        text, encoding = vn_encoding.decode_bytes(data, name)
    except vn_encoding.EncodingProblem as exc:
        raise IngestError([error_message("encoding", name, strip_file_prefix(exc.en, name), strip_file_prefix(exc.vi, name))]) from None
    text = text.lstrip("\ufeff")
    # Separators inside quotes ("a;b" in a quoted label) do not count.
    first_line = _QUOTED.sub("", text.split("\n", 1)[0])
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
        raise IngestError([error_message("csv", name, f"the text is not valid CSV ({exc})", f"tệp không đúng định dạng CSV ({exc})")]) from None
    grid = [[c if c != "" else None for c in row] for row in grid]
    table = _grid_to_table(grid, name, "csv", encoding=encoding)
    if len(grid) > 1:
        too_long = [i + 2 for i, r in enumerate(grid[1:]) if len(r) > len(grid[0]) and any(c not in (None, "") for c in r[len(grid[0]):])]
        if too_long:
            raise IngestError([error_message("header", name,
                                        f"rows {row_list(too_long)} have more cells than the header row: a value contains an unquoted "
                                        f"'{delimiter}' or a header cell is missing",
                                        f"các dòng {row_list(too_long)} có nhiều ô hơn dòng tiêu đề: có giá trị chứa dấu "
                                        f"'{delimiter}' không được đặt trong ngoặc kép hoặc thiếu ô tiêu đề")])
    return table


def _read_xlsx(path: Path, name: str) -> RawTable:
    grid, sheet, notes = xlsx.read_grid(path, name)
    return _grid_to_table(grid, name, "xlsx", sheet=sheet, notes=notes)


def _sav_value(v: object) -> str | None:
    """One SPSS value (a value label key, a user-missing value) as text; blank/NaN/NaT → None."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, str):
        return v if v.strip() else None
    return xlsx.excel_cell(v)


def _sav_column(col: pd.Series) -> np.ndarray:
    """A column as pyreadstat returns it, as text (None = missing), one pass per column.

    Numbers: whole values without '.0'; datetime64 and date/time objects: ISO 8601 without
    offset (SPSS has no time zone: local time); strings: blank → None. `_read_sav` reads
    date and time variables as seconds and converts them with `_sav_clock` instead.
    """
    out = np.full(len(col), None, dtype=object)
    present = col.notna().to_numpy(dtype=bool)
    if not present.any():
        return out
    if pd.api.types.is_datetime64_any_dtype(col):
        text = col[present].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.replace(r"\.0+$", "", regex=True)
        out[present] = text.to_numpy(dtype=object)
    elif pd.api.types.is_numeric_dtype(col):
        v = col.to_numpy(dtype="float64")[present]
        whole = np.isfinite(v) & (v == np.floor(v)) & (np.abs(v) < 2**53)
        text = np.empty(len(v), dtype=object)
        text[whole] = pd.Series(v[whole].astype(np.int64)).astype(str).to_numpy(dtype=object)
        text[~whole] = pd.Series(v[~whole]).map(repr).to_numpy(dtype=object)
        out[present] = text
    else:
        # In a NumPy object array: a blank string becomes None (pandas' str dtype would make it NaN).
        values = col[present].astype(object)
        is_text = values.map(type).isin([str]).to_numpy(dtype=bool)
        text = np.empty(len(values), dtype=object)
        text[~is_text] = values[~is_text].map(xlsx.excel_cell).to_numpy(dtype=object)
        strings = values[is_text]
        text[is_text] = np.where((strings.str.strip() != "").to_numpy(dtype=bool), strings.to_numpy(dtype=object), None)
        out[present] = text
    return out


#: SPSS stores dates and times as seconds since the Gregorian calendar began (14 Oct 1582).
_SPSS_EPOCH = np.datetime64("1582-10-14T00:00:00", "us")
_SPSS_DAY = 86_400.0
# Years 1–9999 (what a date can show); outside, the number is not a date whatever its format.
_SPSS_LO = float((np.datetime64("0001-01-01T00:00:00", "us") - _SPSS_EPOCH) / np.timedelta64(1, "s"))
_SPSS_HI = float((np.datetime64("9999-12-31T23:59:59", "us") - _SPSS_EPOCH) / np.timedelta64(1, "s"))


def _sav_clock_kind(spss_format: str) -> str | None:
    """``datetime``, ``date`` or ``time`` for an SPSS print format (DATETIME20, ADATE10, TIME8 …)."""
    f = re.sub(r"[\d.]+$", "", (spss_format or "").upper())
    if f in ("DATETIME", "YMDHMS", "DATETIMEMS"):
        return "datetime"
    if f in ("DATE", "ADATE", "EDATE", "SDATE", "JDATE", "MOYR", "QYR", "WKYR"):
        return "date"
    if f == "TIME":
        return "time"
    # DTIME (ddd hh:mm:ss) and MTIME (mm:ss) are elapsed times: kept as seconds, as durations are.
    return None


def _sav_declared(col: pd.Series, values: Sequence[object], ranges: Sequence[Mapping]) -> np.ndarray:
    """Where a numeric column holds one of its SPSS user-missing values (discrete or a range)."""
    v = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64")
    hit = np.isin(v, [float(x) for x in values if isinstance(x, (int, float))])
    for r in ranges:
        lo, hi = r.get("lo"), r.get("hi")
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
            hit |= (v >= lo) & (v <= hi)
    return hit


def _sav_clock(col: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """SPSS seconds as ISO text (local time; SPSS has no zone): (text or None, impossible values)."""
    v = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64")
    present = np.isfinite(v)
    ok = present & ((v >= 0) & (v < _SPSS_DAY) if kind == "time" else (v >= _SPSS_LO) & (v <= _SPSS_HI))
    out = np.full(len(v), None, dtype=object)
    if ok.any():
        micro = np.round(v[ok] * 1e6).astype(np.int64)
        if kind == "time":
            stamps = np.datetime64("1970-01-01T00:00:00", "us") + micro.astype("timedelta64[us]")
        else:
            stamps = _SPSS_EPOCH + micro.astype("timedelta64[us]")
        unit = "D" if kind == "date" else ("s" if (micro % 1_000_000 == 0).all() else "us")
        text = np.datetime_as_string(stamps, unit=unit)
        out[ok] = (pd.Series(text).str[11:] if kind == "time" else pd.Series(text)).to_numpy(dtype=object)
    return out, present & ~ok


def _sav_problem(name: str, col: pd.Series, position: int, exc: Exception) -> IngestError:
    """The first value of *col* that cannot be read as text, with its SPSS row (reported as row + 1)."""
    row, value = None, None
    for i, v in enumerate(col.tolist()):  # only on the error path, to name the value
        try:
            _sav_value(v)
        except Exception:  # noqa: BLE001 - any value that fails is the one to name
            row, value = i + 2, v
            break
    where_en = f"row {row}, " if row is not None else ""
    where_vi = f"dòng {row}, " if row is not None else ""
    return IngestError([error_message(
        "sav_value", name,
        f"{where_en}column {col.name!r} (#{position + 1}): value {value!r} cannot be read "
        f"({type(exc).__name__}: {exc}); check the variable's format in SPSS (Variable View) and save again",
        f"{where_vi}cột {col.name!r} (#{position + 1}): không đọc được giá trị {value!r} "
        f"({type(exc).__name__}: {exc}); hãy kiểm tra định dạng biến trong SPSS (Variable View) rồi lưu lại")])


def _read_sav(path: Path, name: str) -> RawTable:
    import pyreadstat

    try:
        # Dates and times as SPSS stores them (seconds), converted here: pyreadstat's own
        # conversion fails on a whole file for one impossible value and wraps TIME ≥ 24 h.
        df, meta = pyreadstat.read_sav(str(path), user_missing=True, apply_value_formats=False,
                                       disable_datetime_conversion=True)
    except Exception as exc:  # noqa: BLE001
        raise IngestError([error_message("format", name, f"the SPSS file cannot be read ({exc})",
                                         f"không đọc được tệp SPSS ({exc})")]) from None
    columns = [str(c) for c in df.columns]
    formats = dict(getattr(meta, "original_variable_types", None) or {})
    user_values = dict(getattr(meta, "missing_user_values", None) or {})
    user_ranges = dict(getattr(meta, "missing_ranges", None) or {})
    body, problems = {}, []
    clock_missing: dict[str, set[str]] = {}  # date/time column → its user-missing values as cell text
    for i, var in enumerate(df.columns):
        kind = _sav_clock_kind(formats.get(var, "")) if pd.api.types.is_numeric_dtype(df[var]) else None
        if kind is None:
            try:
                body[i] = _sav_column(df[var])
            except Exception as exc:  # noqa: BLE001 - named with its row, column and value
                raise _sav_problem(name, df[var], i, exc) from None
            continue
        text, bad = _sav_clock(df[var], kind)
        # A user-missing code on a date variable (0, 99999999 …) is declared not to be a date:
        # it keeps the text it reads as (its number when it is no date at all), so the column's
        # user-missing values match it and it is blanked like any other; never an error.
        declared = _sav_declared(df[var], user_values.get(var, ()), user_ranges.get(var, ()))
        text = np.where(declared & bad, _sav_column(df[var]), text)
        bad = bad & ~declared
        clock_missing[var] = {t for t in text[declared] if t is not None}
        body[i] = text
        if bad.any():
            rows = (np.nonzero(bad)[0] + 2).tolist()
            values = [_sav_value(df[var].iloc[r - 2]) for r in rows[:5]]  # as numbers, what SPSS stores
            shown = ", ".join(f"row {r}: {v}" for r, v in zip(rows, values))
            shown_vi = ", ".join(f"dòng {r}: {v}" for r, v in zip(rows, values))
            what = {"time": ("a time of day (0 to 24 hours)", "giờ trong ngày (0 đến 24 giờ)"),
                    "date": ("a date (years 1–9999)", "ngày (năm 1–9999)"),
                    "datetime": ("a date-time (years 1–9999)", "thời điểm (năm 1–9999)")}[kind]
            problems.append(error_message(
                "sav_value", name,
                f"column {var!r} ({formats.get(var)}): {len(rows)} value(s) are not {what[0]} — rows {row_list(rows)} "
                f"({shown}; in seconds, as SPSS stores them); correct them in SPSS (Data View) or change the "
                f"variable's format, and save again",
                f"cột {var!r} ({formats.get(var)}): {len(rows)} giá trị không phải {what[1]} — dòng {row_list(rows)} "
                f"({shown_vi}; tính bằng giây, như SPSS lưu); hãy sửa trong SPSS (Data View) hoặc đổi định dạng "
                f"biến rồi lưu lại"))
    if problems:
        raise IngestError(problems)
    cells = pd.DataFrame(body, index=range(len(df)), columns=range(len(columns)), dtype=object)
    # Trailing rows that are entirely blank are not submissions (as in the other formats).
    filled = cells.notna().any(axis=1).to_numpy(dtype=bool)
    last = int(np.nonzero(filled)[0].max()) + 1 if filled.any() else 0
    cells = cells.iloc[:last].reset_index(drop=True)
    table = RawTable(name, "sav", tuple(columns), cells, np.arange(2, 2 + last, dtype=np.int64))
    labels: dict[int, dict[str, str]] = {}
    for var, mapping in (meta.variable_value_labels or {}).items():
        labels[columns.index(var)] = {_sav_value(k): str(v) for k, v in mapping.items()}
    # Date/time columns: their user-missing values as the text their cells hold (above).
    missing: dict[int, set[str]] = {columns.index(v): texts for v, texts in clock_missing.items() if texts}
    for var, values in user_values.items():
        if var not in clock_missing:
            missing.setdefault(columns.index(var), set()).update(_sav_value(v) for v in values)
    for var, ranges in user_ranges.items():
        if var in clock_missing:
            continue
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


def choice_key(text: str) -> str:
    """Matching key for choice labels: `fold` and case-folded."""
    return fold(text).casefold()


def choice_keys(values: pd.Series) -> pd.Series:
    """`choice_key` of every non-blank value, vectorised (blank stays NA)."""
    s = values.astype("string")
    return s.str.normalize("NFC").str.replace(_SPACES, " ", regex=True).str.strip().str.casefold()


def cell_codes(table: RawTable) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's number among the distinct values, column after column (blank: -1), and the
    distinct values: one hashing pass over the grid, shared by `scan_legacy` and `normalise_cells`."""
    value_id, raw = pd.factorize(table.cells.to_numpy(dtype=object).ravel(order="F"))
    return value_id, np.asarray(raw, dtype=object)


def scan_legacy(table: RawTable, codes: tuple[np.ndarray, np.ndarray] | None = None) -> list[Message]:
    """File-level errors for TCVN3/VNI text, one per column, with example rows.

    *codes* is `cell_codes` of *table* (computed when not given): each distinct value is
    checked once, whatever the column, and the cells are found from their value numbers.
    """
    problems = []
    header_hits = [(i, h, vn_encoding.legacy_reading(h)) for i, h in enumerate(table.header)]
    header_hits = [(i, h, r) for i, h, r in header_hits if r]
    for i, h, (scheme, reading) in header_hits:
        problems.append(error_message("legacy_encoding", table.file,
                                 f"header of column {i + 1} {h!r} is {scheme} legacy-font text (reads as {reading!r}): convert the file "
                                 f"to Unicode (e.g. UniKey's converter) and export again",
                                 f"tiêu đề cột {i + 1} {h!r} dùng bảng mã cũ {scheme} (đọc là {reading!r}): hãy chuyển tệp sang "
                                 f"Unicode (ví dụ công cụ chuyển mã của UniKey) rồi xuất lại"))
    value_id, raw = codes if codes is not None else cell_codes(table)
    text = pd.Series(raw, dtype=object)
    if pd.api.types.infer_dtype(raw, skipna=False) != "string":  # the readers give text: no copy then
        text = text.astype(str)
    non_ascii = np.flatnonzero(~text.str.isascii().to_numpy(dtype=bool))
    # One detector call per distinct value, then the cells holding a hit, in column then row order.
    readings = {int(k): r for k in non_ascii if (r := vn_encoding.legacy_reading(text.iat[k])) is not None}
    if not readings:
        return problems
    hit_value = np.zeros(len(raw), dtype=bool)
    hit_value[list(readings)] = True
    hit_cells = np.flatnonzero((value_id >= 0) & hit_value[value_id])
    n_rows = len(table.cells)
    hit_cols = hit_cells // n_rows
    for pos in np.unique(hit_cols).tolist():
        hits = hit_cells[hit_cols == pos]
        ids = value_id[hits]
        schemes = sorted({readings[int(v)][0] for v in np.unique(ids)})
        examples = [(int(table.rows[i % n_rows]), text.iat[v], readings[int(v)][1]) for i, v in zip(hits[:3], ids[:3])]
        ex_en = "; ".join(f"row {r}: {v!r} (= {u!r})" for r, v, u in examples)
        col_name = table.header[pos] or f"#{pos + 1}"
        problems.append(error_message(
            "legacy_encoding", table.file,
            f"column {col_name!r}: {len(hits)} cell(s) are {'/'.join(schemes)} legacy-font text, e.g. {ex_en}; convert the "
            f"file to Unicode (e.g. UniKey's converter, source {schemes[0]}) and export again",
            f"cột {col_name!r}: {len(hits)} ô dùng bảng mã cũ {'/'.join(schemes)}, ví dụ "
            + "; ".join(f"dòng {r}: {v!r} (= {u!r})" for r, v, u in examples)
            + f"; hãy chuyển tệp sang Unicode (ví dụ công cụ chuyển mã của UniKey, nguồn {schemes[0]}) rồi xuất lại"))
    return problems


def normalise_cells(table: RawTable, text_columns: set[int],
                    codes: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[pd.DataFrame, list[Message]]:
    """NFC, control characters removed (counted), blanks → None; free text keeps its line breaks.

    Each distinct (value, free text or not) is cleaned once — a survey export repeats a few
    thousand codes over millions of cells — then put back in place. *codes*: `cell_codes`.
    """
    notes = []
    cells = table.cells
    n_rows, n_cols = cells.shape
    # Column by column in one flat array (blank: -1); a column's cells are adjacent.
    value_id, raw = codes if codes is not None else cell_codes(table)
    present = value_id >= 0
    if not present.any():
        return cells.copy(), notes
    text_column = np.zeros(n_cols, dtype=bool)
    text_column[sorted(text_columns)] = True
    # A free-text cell and a code with the same raw text are cleaned differently: the pair
    # (value, is free text) is what is distinct.
    key = value_id * 2 + np.repeat(text_column, n_rows)  # blank: -2 or -1
    seen = np.zeros(2 * len(raw), dtype=bool)  # the pairs that occur, in key order (no hashing)
    seen[key[present]] = True
    pairs = np.flatnonzero(seen)
    # A key's pair number; the two entries at the end are what the blank keys -2 and -1 index.
    which = np.append(np.cumsum(seen) - 1, [-1, -1])[key]
    values = np.asarray(raw, dtype=object)[pairs // 2]
    # Printable ASCII without spaces (ids, times, most codes) has nothing to clean.
    distinct = pd.Series(values, dtype="string")
    rest = ~distinct.str.fullmatch("[!-~]*").to_numpy(dtype=bool)
    text_flag = (pairs % 2 == 1)[rest]
    s = distinct[rest].reset_index(drop=True)
    s = s.str.replace("\r\n", "\n", regex=False).str.normalize("NFC")
    bad_distinct = np.zeros(len(values), dtype=bool)
    bad_distinct[rest] = s.str.contains(_CONTROL).to_numpy(dtype=bool)
    if bad_distinct.any():
        bad_rows, bad_cols = np.divmod(np.flatnonzero(present & bad_distinct[which]), n_rows)[::-1]
        for pos in sorted(set(bad_cols)):
            rows = [int(table.rows[r]) for r in bad_rows[bad_cols == pos]]
            name = table.header[pos] or f"#{pos + 1}"
            notes.append(Message("warning", "control_characters",
                                 f"column {name!r}: control or invisible characters removed in {len(rows)} cell(s) (rows {row_list(rows)})",
                                 f"cột {name!r}: đã xóa ký tự điều khiển hoặc ký tự ẩn trong {len(rows)} ô (dòng {row_list(rows)})",
                                 table.file))
        s = s.str.replace(_CONTROL, "", regex=True)
    # Free text keeps line breaks and inner spacing (only the ends are trimmed); every other
    # cell has its whitespace folded, so codes and labels compare cleanly.
    folded = s.str.replace(_SPACES, " ", regex=True).str.strip()
    trimmed = s.str.replace("\u00a0", " ", regex=False).str.strip()
    values[rest] = trimmed.where(text_flag, folded).to_numpy(dtype=object, na_value=None)
    values[values == ""] = None
    cleaned = np.append(values, None)[which].reshape((n_rows, n_cols), order="F")  # -1: the None at the end
    return pd.DataFrame(cleaned, index=cells.index, columns=cells.columns, dtype=object), notes
