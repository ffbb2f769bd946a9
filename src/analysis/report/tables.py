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
import math
import re
import unicodedata
from collections.abc import Mapping
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
    "format_bounds",
    "format_change",
    "format_change_interval",
    "format_count",
    "format_date",
    "format_interval",
    "format_number",
    "format_percent",
    "format_pvalue",
    "ILLEGAL_XML",
    "is_formula_like",
    "is_missing",
    "nfc",
    "render_html_table",
    "write_csv",
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
#: Control characters XML cannot hold.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _check_lang(lang: str) -> str:
    if lang not in _SEPARATORS:
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    return lang


def is_missing(x: Any) -> bool:
    """None, NA, NaT or a float NaN."""
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
    if is_missing(x):
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
    if is_missing(p):
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
    if is_missing(k) or is_missing(n):
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
    if is_missing(low) and is_missing(high):
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
    if is_missing(x):
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
    if is_missing(low) or is_missing(high):
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


def nfc(value: Any) -> Any:
    """Text in Unicode NFC (other values unchanged)."""
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
            out[c] = out[c].map(lambda v: ("'" + nfc(v)) if excel_safe and is_formula_like(v) else nfc(v))
    out.columns = [("'" + str(c)) if excel_safe and is_formula_like(str(c)) else nfc(str(c)) for c in out.columns]
    path.write_bytes(b"\xef\xbb\xbf" + out.to_csv(index=False, lineterminator="\n").encode("utf-8"))
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


def _display(v: Any, decimals: int | None, lang: str, missing: str) -> str:
    if is_missing(v):
        return missing
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        return format_number(v, decimals, lang=lang, missing=missing)
    return str(nfc(v))


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
    esc = lambda s: html.escape(str(nfc(s)), quote=True)  # noqa: E731
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
