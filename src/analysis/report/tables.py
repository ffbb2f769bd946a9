"""Table export (CSV, XLSX, HTML) and the one place for Vietnamese/English number formatting.

Every number a reader sees — in a chart label, a sentence, an HTML or DOCX table — goes
through :func:`format_number` (and its friends) so that the Vietnamese output uses a decimal
comma and a thousands dot (``4.816`` members, ``3,62`` points) and the English output the
English convention (``4,816``; ``3.62``), as the layout rules for documents handed to a
Vietnamese public body expect.

Exports are for people who open them in Excel:

- CSV is UTF-8 *with* a byte-order mark, otherwise Excel reads Vietnamese as mojibake;
- XLSX stores a text cell that begins with ``=``, ``+``, ``-``, ``@``, tab or CR as text
  (``data_type="s"`` plus the quote prefix), never as a formula: survey comments are untrusted
  input and ``=HYPERLINK(...)`` in a comment must not become a live link;
- both are deterministic: the same table gives the same bytes (fixed workbook properties and
  zip timestamps), so a re-run shows no spurious diff.

Examples
--------
>>> format_number(4816, lang="vi"), format_number(3.6249, 2, lang="vi")
('4.816', '3,62')
>>> format_number(4816, lang="en"), format_percent(0.625, lang="vi")
('4,816', '62,5%')
>>> import datetime
>>> format_date(datetime.date(2023, 3, 24))
'ngày 24 tháng 3 năm 2023'
"""

from __future__ import annotations

import datetime as _dt
import html
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FIXED_TIMESTAMP",
    "MINUS",
    "NOT_FINITE",
    "tidy_for_export",
    "export_table",
    "format_bounds",
    "format_change",
    "format_change_interval",
    "format_count",
    "format_date",
    "format_interval",
    "format_number",
    "format_percent",
    "format_pvalue",
    "is_formula_like",
    "normalise_ooxml",
    "render_html_table",
    "write_csv",
    "write_xlsx",
]

#: Typographic minus used in displayed numbers (TNR and DejaVu have it; a hyphen reads as a dash).
MINUS = "\u2212"
#: What a table shows for an infinite or otherwise non-finite number.
NOT_FINITE = "\u2014"
#: Timestamp written into XLSX properties and zip entries so output is byte-identical.
FIXED_TIMESTAMP = _dt.datetime(2023, 3, 24, 0, 0, 0)

_SEPARATORS = {"vi": (",", "."), "en": (".", ",")}  # (decimal, thousands)
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _check_lang(lang: str) -> str:
    if lang not in _SEPARATORS:
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    return lang


def _is_missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, (float, np.floating)) and math.isnan(x))
    except TypeError:
        return False


def format_number(x: float | int | None, decimals: int | None = None, *, lang: str = "vi",
                  missing: str = "") -> str:
    """A number as the reader expects it: ``4.816`` / ``3,62`` (vi), ``4,816`` / ``3.62`` (en).

    Parameters
    ----------
    x : number or None
        NaN, None and ``pd.NA`` give *missing*.
    decimals : int, optional
        Digits after the decimal separator; default 0 for integers, 2 otherwise.
    lang : {"vi", "en"}
    missing : str
        Text for a missing value.

    Returns
    -------
    str
        Rounded half away from zero on the decimal representation (3,625 -> 3,63, as a reader
        rounding by hand would), thousands grouped, negative numbers with a true minus sign
        (U+2212); a value that rounds to zero never shows as ``−0``.

    Examples
    --------
    >>> format_number(1234567.891, 1, lang="vi")
    '1.234.567,9'
    >>> format_number(-0.004, 2, lang="vi"), format_number(-0.27, lang="en")
    ('0,00', '−0.27')
    >>> format_number(float("nan"), missing="–")
    '–'
    >>> format_number(float("inf"))  # e.g. a census design effect: no meaningful number
    '—'
    """
    _check_lang(lang)
    if _is_missing(x):
        return missing
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("format_number: a boolean is not a number")
    if not isinstance(x, (int, np.integer)) and not math.isfinite(float(x)):
        return NOT_FINITE
    if decimals is None:
        decimals = 0 if isinstance(x, (int, np.integer)) else 2
    value = Decimal(repr(float(x))) if not isinstance(x, (int, np.integer)) else Decimal(int(x))
    q = Decimal(1).scaleb(-decimals)
    rounded = value.quantize(q, rounding=ROUND_HALF_UP)
    negative = rounded < 0
    text = f"{abs(rounded):,.{decimals}f}"  # en grouping first, then swap for vi
    dec, thou = _SEPARATORS[lang]
    text = text.replace(",", "\0").replace(".", dec).replace("\0", thou)
    return (MINUS + text) if negative else text


def format_percent(p: float | None, decimals: int = 1, *, lang: str = "vi", missing: str = "") -> str:
    """A proportion (0–1) as a percentage: ``62,5%`` (vi), ``62.5%`` (en).

    Examples
    --------
    >>> format_percent(0.0412, 1, lang="en")
    '4.1%'
    """
    if _is_missing(p):
        return missing
    if not math.isfinite(float(p)):
        return NOT_FINITE
    return format_number(float(p) * 100, decimals, lang=lang) + "%"


def format_interval(low: float, high: float, decimals: int = 2, *, lang: str = "vi",
                    percent: bool = False) -> str:
    """A confidence interval: ``0,15–0,39``; with a negative end ``−0,08 đến 0,16`` (vi) or
    ``−0.08 to 0.16`` (en), because an en dash next to a minus sign is misread.

    Examples
    --------
    >>> format_interval(0.15, 0.39), format_interval(-0.08, 0.16, lang="en")
    ('0,15–0,39', '−0.08 to 0.16')
    """
    fmt = (lambda v: format_percent(v, decimals, lang=lang)) if percent else (
        lambda v: format_number(v, decimals, lang=lang))
    lo, hi = fmt(low), fmt(high)
    if lo.startswith(MINUS) or hi.startswith(MINUS):
        return f"{lo} {'đến' if lang == 'vi' else 'to'} {hi}"
    return f"{lo}–{hi}"


def format_count(k: int | float | None, n: int | float | None, *, lang: str = "vi") -> str:
    """A count out of a total, as a reader checks it: ``54/103``; ``1.204/6.314`` (vi).

    Examples
    --------
    >>> format_count(54, 103), format_count(1204, 6314, lang="en"), format_count(None, 103)
    ('54/103', '1,204/6,314', '')
    """
    if _is_missing(k) or _is_missing(n):
        return ""
    return f"{format_number(int(round(float(k))), 0, lang=lang)}/{format_number(int(round(float(n))), 0, lang=lang)}"


def format_bounds(low: float | None, high: float | None, decimals: int = 0, *, lang: str = "vi",
                  percent: bool = True) -> str:
    """Worst-case and best-case bounds (not a sampling interval): ``48%–53%``; one value when
    the two ends read the same, because an interval with equal ends says nothing.

    Examples
    --------
    >>> format_bounds(0.476, 0.534), format_bounds(0.521, 0.524), format_bounds(1.5, 2.25, 2, percent=False)
    ('48%–53%', '52%', '1,50–2,25')
    """
    if _is_missing(low) and _is_missing(high):
        return ""
    fmt = (lambda v: format_percent(v, decimals, lang=lang, missing="…")) if percent else (
        lambda v: format_number(v, decimals, lang=lang, missing="…"))
    lo, hi = fmt(low), fmt(high)
    return lo if lo == hi else f"{lo}–{hi}"


_POINTS = {"vi": "điểm %", "en": "percentage points"}


def format_change(x: float | None, decimals: int | None = None, *, lang: str = "vi", points: bool = False) -> str:
    """A change with its sign: ``+0,30``, ``−0,12``; with *points* a change of a share (0–1) in
    percentage points, ``+29 điểm %`` (vi) / ``+29 percentage points`` (en), never ``%``.

    *decimals* defaults to 0 for points (levels of a share are shown as whole percentages) and
    2 otherwise. A change that rounds to zero has no sign.

    Examples
    --------
    >>> format_change(0.292, points=True), format_change(-0.05, points=True, lang="en"), format_change(0.3)
    ('+29 điểm %', '−5 percentage points', '+0,30')
    >>> format_change(-0.001), format_change(float("nan"))
    ('0,00', '')
    """
    _check_lang(lang)
    if _is_missing(x):
        return ""
    value = float(x) * (100.0 if points else 1.0)
    if decimals is None:
        decimals = 0 if points else 2
    text = format_number(value, decimals, lang=lang)
    if text not in (NOT_FINITE,) and not text.startswith(MINUS) and text.strip("0,.") != "":
        text = "+" + text
    return f"{text} {_POINTS[lang]}" if points else text


def format_change_interval(low: float | None, high: float | None, decimals: int | None = None, *,
                           lang: str = "vi", points: bool = False) -> str:
    """The interval of a change, signed ends joined by "đến"/"to" (a dash next to a sign is
    misread): ``+20 đến +38 điểm %``, ``−0,08 to +0,16``. Empty when an end is missing or both
    ends read the same.

    Examples
    --------
    >>> format_change_interval(0.2, 0.384, points=True), format_change_interval(-0.08, 0.16, lang="en")
    ('+20 đến +38 điểm %', '−0.08 to +0.16')
    >>> format_change_interval(0.0, 0.0)
    ''
    """
    if _is_missing(low) or _is_missing(high):
        return ""
    suffix = " " + _POINTS[lang]
    lo, hi = (format_change(v, decimals, lang=lang, points=points).removesuffix(suffix) for v in (low, high))
    if lo == hi:
        return ""
    joined = f"{lo} {'đến' if lang == 'vi' else 'to'} {hi}"
    return f"{joined} {_POINTS[lang]}" if points else joined


def format_pvalue(p: float, *, lang: str = "vi", alpha: float = 0.05) -> str:
    """A p-value for a sentence: ``= 0,012``, ``< 0,001``.

    Three decimals; when three decimals would round a p just below *alpha* up to *alpha*
    (0,0496 -> 0,050) four are used, so that a result called significant never shows p = 0,050.

    Examples
    --------
    >>> format_pvalue(0.0004), format_pvalue(0.0123, lang="en"), format_pvalue(0.0496)
    ('< 0,001', '= 0.012', '= 0,0496')
    """
    if p < 0.001:
        return "< " + format_number(0.001, 3, lang=lang)
    decimals = 3
    if p < alpha and round(p, 3) >= alpha:
        decimals = 4
    return "= " + format_number(p, decimals, lang=lang)


def format_date(d: _dt.date | str, *, lang: str = "vi") -> str:
    """A date in running text: ``ngày 24 tháng 3 năm 2023`` (vi), ``24 March 2023`` (en).

    Examples
    --------
    >>> format_date("2023-03-24", lang="en")
    '24 March 2023'
    """
    _check_lang(lang)
    if isinstance(d, str):
        d = _dt.date.fromisoformat(d)
    if lang == "vi":
        return f"ngày {d.day} tháng {d.month} năm {d.year}"
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def is_formula_like(value: Any) -> bool:
    """True for a string a spreadsheet would read as a formula (first character ``= + - @``,
    tab or CR).

    Examples
    --------
    >>> is_formula_like("=1+1"), is_formula_like("-5"), is_formula_like("ok"), is_formula_like(-5)
    (True, True, False, False)
    """
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def write_csv(df: pd.DataFrame, path: str | Path, *, excel_safe: bool = True) -> Path:
    """Write *df* as CSV in UTF-8 with BOM, ``\\n`` line ends, no index, text in NFC.

    Parameters
    ----------
    excel_safe : bool
        Prefix a text cell that looks like a formula with ``'`` (Excel executes ``=…`` in a CSV
        it opens). Numbers are numeric columns and never touched. Turn off for a file meant to
        be read back by code only.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(lambda v: ("'" + _nfc(v)) if excel_safe and is_formula_like(v) else _nfc(v))
    out.columns = [("'" + str(c)) if excel_safe and is_formula_like(str(c)) else _nfc(str(c)) for c in out.columns]
    path.write_bytes(b"\xef\xbb\xbf" + out.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return path


def _cell_value(v: Any) -> Any:
    """A Python value openpyxl can store; NaN/NA become an empty cell."""
    if _is_missing(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, str):
        return _ILLEGAL_XML.sub("\ufffd", _nfc(v))  # XML cannot hold these; keep a visible trace
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


#: Columns that hold a statistic: kept as decimals even when every value happens to be whole.
_STATISTIC_COLUMNS = frozenset({"estimate", "se", "ci_low", "ci_high", "target", "value", "df", "deff",
                                "mean", "difference", "d", "p_value", "p_adjusted", "statistic"})


def tidy_for_export(df: pd.DataFrame) -> pd.DataFrame:
    """Counts as integers, no infinite values: the table as a reader opening the CSV expects it.

    A decimal column whose values are all whole numbers (``n``, ``members``, ``task_group``,
    ``target_year`` after a row was emptied by disclosure control) is written as integers
    (``103``, not ``103.0``), unless it holds a statistic (``estimate``, ``target``, …).
    Infinite values (the design effect of a census, whose SRS variance is zero) are emptied; a
    ``deff`` column with no finite value is dropped, as it means nothing for that table.

    Examples
    --------
    >>> t = pd.DataFrame({"n": [103.0, float("nan")], "estimate": [2.0, 1.0], "deff": [float("inf")] * 2})
    >>> tidy_for_export(t).to_csv(index=False).splitlines()
    ['n,estimate', '103,2.0', ',1.0']
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if not pd.api.types.is_float_dtype(col):
            continue
        values = col.to_numpy(dtype="float64")
        out[c] = col.where(np.isfinite(values) | np.isnan(values))
        finite = values[np.isfinite(values)]
        if str(c) == "deff" and finite.size == 0:
            out = out.drop(columns=[c])
        elif str(c) not in _STATISTIC_COLUMNS and finite.size and np.all(finite == np.round(finite)) \
                and np.all(np.abs(finite) < 2**53):
            out[c] = out[c].round().astype("Int64")
    return out


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


def _display(v: Any, decimals: int | None, lang: str, missing: str) -> str:
    if _is_missing(v):
        return missing
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        return format_number(v, decimals, lang=lang, missing=missing)
    return str(_nfc(v))


def render_html_table(df: pd.DataFrame, *, lang: str = "vi", caption: str | None = None,
                      decimals: int | Mapping[str, int] | None = None, missing: str = "",
                      labels: Mapping[str, str] | None = None, css_class: str = "table") -> str:
    """An HTML ``<table>`` with every text escaped and numbers in the reader's convention.

    Parameters
    ----------
    decimals : int or {column: int}, optional
        Digits after the separator (default: 0 for integers, 2 for other numbers).
    labels : {column: header}, optional
        Display headers (from the instrument); the column name otherwise.

    Examples
    --------
    >>> t = pd.DataFrame({"comment": ["<script>alert(1)</script>"], "n": [4816]})
    >>> print(render_html_table(t))
    <table class="table">
    <thead><tr><th scope="col">comment</th><th scope="col">n</th></tr></thead>
    <tbody>
    <tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td class="num">4.816</td></tr>
    </tbody>
    </table>
    """
    _check_lang(lang)
    labels = labels or {}
    esc = lambda s: html.escape(str(_nfc(s)), quote=True)  # noqa: E731
    lines = [f'<table class="{esc(css_class)}">']
    if caption:
        lines.append(f"<caption>{esc(caption)}</caption>")
    heads = "".join(f'<th scope="col">{esc(labels.get(c, c))}</th>' for c in df.columns)
    lines += [f"<thead><tr>{heads}</tr></thead>", "<tbody>"]
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns}
    for row in df.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(df.columns, row):
            d = decimals.get(c) if isinstance(decimals, Mapping) else decimals
            cls = ' class="num"' if numeric[c] else ""
            cells.append(f"<td{cls}>{esc(_display(v, d, lang, missing))}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)
