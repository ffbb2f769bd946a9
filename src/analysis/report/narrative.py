"""Rule-based plain-language sentences (Vietnamese, English) from tidy results.

Every sentence is generated from the numbers on one row of a results table and carries a
``source`` (table name and row key), so a reader or a reviewer can find the number it states.
No sentence claims more than its numbers:

- a change is called *significant* only when the adjusted p-value (Benjamini–Hochberg, column
  ``p_adjusted``) is below ``alpha`` **and** the 95% interval of the difference excludes zero
  on the same side as the difference; otherwise the sentence says there is no statistically
  significant difference — never "improved" or "declined";
- an effect-size word (Cohen 1988: |d| < 0,2 negligible, < 0,5 small, < 0,8 medium, else
  large) is added only to a significant change;
- a missing or suppressed row gives a "not enough data" sentence without numbers.

The scorecard's statuses and sentences are `analysis.report.scorecard`.

Numbers are formatted by :mod:`analysis.report.tables` (decimal comma in Vietnamese).

Examples
--------
>>> row = {"variable": "sat", "estimate_a": 3.41, "estimate_b": 3.68, "difference": 0.27,
...        "ci_low": 0.15, "ci_high": 0.39, "p_adjusted": 0.001}
>>> print(describe_change(row, label="sự hài lòng", wave_a="2023", wave_b="2025",
...                       table="member_change").text)
Điểm trung bình về sự hài lòng tăng có ý nghĩa thống kê từ 3,41 (năm 2023) lên 3,68 (năm 2025), mức chênh lệch 0,27 điểm (khoảng tin cậy 95%: 0,15–0,39; p hiệu chỉnh = 0,001).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.report.tables import format_interval, format_number, format_percent, format_pvalue

__all__ = [
    "MEASURES",
    "measure_for_unit",
    "count_noun_from_label",
    "Sentence",
    "any_missing",
    "format_value",
    "number_in",
    "cohen_label",
    "describe_change",
    "difference_unit",
    "percent_decimals",
    "describe_estimate",
    "is_significant",
    "row_source",
]


_COHEN = ((0.2, "negligible", "không đáng kể"), (0.5, "small", "nhỏ"), (0.8, "medium", "trung bình"),
          (math.inf, "large", "lớn"))


@dataclass(frozen=True)
class Sentence:
    """One generated sentence and where its numbers come from.

    Attributes
    ----------
    text : str
        The sentence (NFC).
    source : str
        ``table[key=value, ...]``: the results table and the row the numbers are read from.
    kind : str
        ``increase``, ``decrease``, ``no_difference``, ``no_data``, ``estimate`` or a
        scorecard status code.
    lang : str
    """

    text: str
    source: str
    kind: str
    lang: str


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def number_in(row: Mapping[str, Any] | pd.Series, key: str) -> float:
    """The value of *key* in *row* as a float; NaN when absent, missing or not a number."""
    v = row.get(key) if hasattr(row, "get") else None
    try:
        return float("nan") if v is None or v is pd.NA else float(v)
    except (TypeError, ValueError):
        return float("nan")


def any_missing(*values: float) -> bool:
    """True when any of *values* is NaN."""
    return any(math.isnan(v) for v in values)


def row_source(table: str, row: Mapping[str, Any] | pd.Series, keys: Sequence[str]) -> str:
    """``table[key=value, ...]`` for the keys present in *row*.

    Examples
    --------
    >>> row_source("member_change", {"org": "DTN", "variable": "sat", "estimate": 1}, ["org", "variable"])
    'member_change[org=DTN, variable=sat]'
    """
    parts = [f"{k}={row[k]}" for k in keys if k in row and not (isinstance(row[k], float) and math.isnan(row[k]))]
    return f"{table}[{', '.join(parts)}]"


def cohen_label(d: float, *, lang: str = "vi") -> str:
    """Cohen's (1988) word for the size of a standardized difference *d*.

    Examples
    --------
    >>> cohen_label(0.1), cohen_label(-0.35), cohen_label(0.5, lang="en"), cohen_label(0.8)
    ('không đáng kể', 'nhỏ', 'medium', 'lớn')
    """
    size = abs(d)
    for bound, en, vi in _COHEN:
        if size < bound:
            return vi if lang == "vi" else en
    raise ValueError(f"cohen_label: not a number: {d!r}")


def format_value(v: float, decimals: int, lang: str, percent: bool) -> str:
    """*v* as a percentage or a number in the reader's convention (`analysis.report.tables`)."""
    return format_percent(v, decimals, lang=lang) if percent else format_number(v, decimals, lang=lang)


def percent_decimals(*shares: float | None) -> int:
    """Decimals of a percentage that the shares (0–1) really carry: 0 for 0.44, 1 for 0.444.

    More than one decimal of a percent is never printed.
    """
    known = [float(v) for v in shares if v is not None and not pd.isna(v)]
    for places in (2, 3):
        if all(abs(round(v, places) - v) < 1e-9 for v in known):
            return places - 2
    return 1


def is_significant(diff: float, lo: float, hi: float, p_adj: float, *, alpha: float = 0.05) -> bool:
    """The significance rule shared by sentences and charts.

    True only when the adjusted p-value is below *alpha* and the interval excludes zero on the
    side of the difference; an inconsistent pair (small p, interval across zero) is not
    significant, so no output claims more than both numbers support.

    Examples
    --------
    >>> is_significant(0.27, 0.15, 0.39, 0.001), is_significant(0.1, -0.01, 0.21, 0.01)
    (True, False)
    """
    diff, lo, hi, p_adj = (float("nan") if v is None or v is pd.NA else float(v) for v in (diff, lo, hi, p_adj))
    if any_missing(diff, lo, hi, p_adj) or p_adj >= alpha:
        return False
    return (lo > 0 and diff > 0) or (hi < 0 and diff < 0)


def describe_change(
    row: Mapping[str, Any] | pd.Series,
    *,
    label: str,
    wave_a: str,
    wave_b: str,
    table: str,
    keys: Sequence[str] = ("variable",),
    lang: str = "vi",
    measure: str = "mean",
    decimals: int | None = None,
    alpha: float = 0.05,
    effect_size: float | None = None,
    count_noun: str | None = None,
) -> Sentence:
    """A sentence about the change between two waves from one row of ``compare.compare_waves``.

    Parameters
    ----------
    row : mapping or Series
        Needs ``estimate_a, estimate_b, difference, ci_low, ci_high, p_adjusted``; an
        ``effect_size`` (or ``d``) column is used when *effect_size* is not given.
    label : str
        The construct's or item's label from the instrument (``Construct.label(lang)``).
    wave_a, wave_b : str
        The earlier and later wave (years).
    table, keys
        Name of the results table and the row's key columns, for :attr:`Sentence.source`.
    measure : {"mean", "proportion", "count"}
        A mean on the item scale ("Điểm trung bình về …", difference in "điểm"), a proportion
        ("Tỷ lệ …", percentages, difference in percentage points), or a count per unit (an
        indicator such as sessions a year: "<label> bình quân mỗi cơ sở", values in
        *count_noun*). Which one follows from the indicator's ``unit`` in the instrument
        (`measure_for_unit`).
    count_noun : str, optional
        The counted thing for ``measure="count"`` (``buổi``, ``người``, ``cuộc`` …), written
        after each value in Vietnamese; see `count_noun_from_label`.
    decimals : int, optional
        2 for means; for percentages what the shares carry: a share published to 2 decimals
        reads as a whole percent (44%, not a made-up 44,0%), finer ones with one decimal.
    alpha : float
        Level for the adjusted p-value.

    Returns
    -------
    Sentence
        ``kind`` is ``increase``, ``decrease``, ``no_difference`` or ``no_data``.

    Examples
    --------
    >>> row = {"variable": "sat", "estimate_a": 3.41, "estimate_b": 3.45, "difference": 0.04,
    ...        "ci_low": -0.08, "ci_high": 0.16, "p_adjusted": 0.52}
    >>> s = describe_change(row, label="sự hài lòng", wave_a="2023", wave_b="2025", table="t")
    >>> s.kind, s.source
    ('no_difference', 't[variable=sat]')
    >>> print(s.text)
    Điểm trung bình về sự hài lòng không có khác biệt có ý nghĩa thống kê giữa năm 2023 (3,41) và năm 2025 (3,45) (chênh lệch 0,04 điểm; khoảng tin cậy 95%: −0,08 đến 0,16; p hiệu chỉnh = 0,520).
    >>> row = {"estimate_a": 1.5, "estimate_b": 2.16, "difference": 0.66, "ci_low": 0.41, "ci_high": 0.9,
    ...        "p_adjusted": 0.0001}
    >>> print(describe_change(row, label="Số buổi làm việc trong năm", wave_a="2023", wave_b="2025", table="t",
    ...                       measure="count", count_noun="buổi").text)
    Số buổi làm việc trong năm bình quân mỗi cơ sở tăng có ý nghĩa thống kê từ 1,50 buổi (năm 2023) lên 2,16 buổi (năm 2025), mức chênh lệch 0,66 buổi (khoảng tin cậy 95%: 0,41–0,90; p hiệu chỉnh < 0,001).
    """
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, not {measure!r}")
    pct = measure == "proportion"
    a, b = number_in(row, "estimate_a"), number_in(row, "estimate_b")
    dec = decimals if decimals is not None else (percent_decimals(a, b) if pct else 2)
    diff, lo, hi, p_adj = (number_in(row, k) for k in ("difference", "ci_low", "ci_high", "p_adjusted"))
    source = row_source(table, row, keys)
    subject = _subject(label, measure, lang)
    if any_missing(a, b, diff, lo, hi, p_adj):
        text = (f"Không đủ dữ liệu để so sánh {subject[0].lower() + subject[1:]} giữa năm {wave_a} và năm {wave_b}."
                if lang == "vi" else
                f"There are not enough data to compare {subject[0].lower() + subject[1:]} between {wave_a} and {wave_b}.")
        return Sentence(_nfc(text), source, "no_data", lang)
    noun = f" {count_noun}" if measure == "count" and count_noun and lang == "vi" else ""
    f = lambda v: format_value(v, dec, lang, pct) + noun  # noqa: E731
    # the difference of proportions is in percentage points, printed without a % sign
    fd = lambda v: format_number(v * 100 if pct else v, dec, lang=lang)  # noqa: E731
    unit = difference_unit(measure, count_noun, lang)
    ci = format_interval(lo * 100 if pct else lo, hi * 100 if pct else hi, dec, lang=lang)
    p = format_pvalue(p_adj, lang=lang, alpha=alpha)
    if not is_significant(diff, lo, hi, p_adj, alpha=alpha):
        if lang == "vi":
            text = (f"{subject} không có khác biệt có ý nghĩa thống kê giữa năm {wave_a} ({f(a)}) và năm "
                    f"{wave_b} ({f(b)}) (chênh lệch {fd(diff)}{unit}; khoảng tin cậy 95%: {ci}; "
                    f"p hiệu chỉnh {p}).")
        else:
            text = (f"There is no statistically significant difference in {subject[0].lower() + subject[1:]} "
                    f"between {wave_a} ({f(a)}) and {wave_b} ({f(b)}) (difference {fd(diff)}{unit}; "
                    f"95% CI: {ci}; adjusted p {p}).")
        return Sentence(_nfc(text), source, "no_difference", lang)
    up = diff > 0
    kind = "increase" if up else "decrease"
    es = effect_size if effect_size is not None else _effect_from_row(row)
    if lang == "vi":
        verb = "tăng" if up else "giảm"
        text = (f"{subject} {verb} có ý nghĩa thống kê từ {f(a)} (năm {wave_a}) lên {f(b)} (năm {wave_b}), "
                if up else
                f"{subject} {verb} có ý nghĩa thống kê từ {f(a)} (năm {wave_a}) xuống {f(b)} (năm {wave_b}), ")
        text += f"mức chênh lệch {fd(abs(diff))}{unit} (khoảng tin cậy 95%: {ci}; p hiệu chỉnh {p})"
        if es is not None:
            text += f", mức độ khác biệt {cohen_label(es, lang='vi')} (d của Cohen = {format_number(es, 2, lang='vi')})"
    else:
        verb = "rose" if up else "fell"
        text = (f"{subject} {verb} significantly from {f(a)} ({wave_a}) to {f(b)} ({wave_b}), a difference of "
                f"{fd(abs(diff))}{unit} (95% CI: {ci}; adjusted p {p})")
        if es is not None:
            text += f", a {cohen_label(es, lang='en')} effect (Cohen's d = {format_number(es, 2, lang='en')})"
    return Sentence(_nfc(text + "."), source, kind, lang)


def _effect_from_row(row: Mapping[str, Any] | pd.Series) -> float | None:
    for key in ("effect_size", "d"):
        v = number_in(row, key)
        if not math.isnan(v):
            return v
    return None


#: How a number is worded: a scale mean, a share, or a count per unit.
MEASURES = ("mean", "proportion", "count")
#: Indicator units (instrument ``unit:``) read as shares; counts and rates per 100 are counts.
_SHARE_UNITS = frozenset({"share", "yes/no", "proportion", "percent"})
_COUNT_UNITS = frozenset({"count", "per 100", "number", "rate"})
#: Vietnamese measure words a count label may start with ("Số buổi …", "Số cuộc …").
_COUNT_NOUNS = ("phong trào", "mô hình", "cuộc", "buổi", "người", "lượt", "lần", "hội nghị", "cán bộ")


def measure_for_unit(unit: str | None) -> str:
    """The wording of an indicator from its instrument ``unit``.

    Examples
    --------
    >>> measure_for_unit("yes/no"), measure_for_unit("count"), measure_for_unit("per 100"), measure_for_unit(None)
    ('proportion', 'count', 'count', 'mean')
    """
    unit = str(unit or "").strip().lower()
    if unit in _SHARE_UNITS:
        return "proportion"
    if unit in _COUNT_UNITS:
        return "count"
    return "mean"


def count_noun_from_label(label: str) -> str | None:
    """The counted thing of a Vietnamese count label ("Số buổi …" → "buổi"), or None.

    Examples
    --------
    >>> count_noun_from_label("Số phong trào thi đua, cuộc vận động trong năm"), count_noun_from_label("Sessions")
    ('phong trào', None)
    >>> count_noun_from_label("Số mô hình, điển hình tiên tiến được biểu dương")
    'mô hình'

    """
    text = unicodedata.normalize("NFC", label or "")
    if not text.startswith("Số "):
        return None
    rest = text[3:]
    return next((n for n in _COUNT_NOUNS if rest == n or rest.startswith((n + " ", n + ","))), None)


def difference_unit(measure: str, count_noun: str | None, lang: str) -> str:
    """The unit after a printed difference: points, percentage points, or the counted noun (vi)."""
    if measure == "proportion":
        return " điểm phần trăm" if lang == "vi" else " percentage points"
    if measure == "count":
        return f" {count_noun}" if count_noun and lang == "vi" else ""
    return " điểm" if lang == "vi" else " points"


def _subject(label: str, measure: str, lang: str) -> str:
    if measure == "count":  # the label names the count itself: "Số buổi …" / "Working sessions …"
        return f"{label} bình quân mỗi cơ sở" if lang == "vi" else f"{label}, mean per unit,"
    # a label continuing the sentence starts in lower case ("Điểm trung bình về niềm tin …"),
    # unless it starts with an abbreviation ("CNTT", "ĐTN")
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        label = label[0].lower() + label[1:]
    if lang == "vi":
        return f"Điểm trung bình về {label}" if measure == "mean" else f"Tỷ lệ {label}"
    return f"The mean score for {label}" if measure == "mean" else f"The share of {label}"


def describe_estimate(
    row: Mapping[str, Any] | pd.Series,
    *,
    label: str,
    wave: str,
    table: str,
    keys: Sequence[str] = ("variable",),
    lang: str = "vi",
    measure: str = "mean",
    decimals: int | None = None,
) -> Sentence:
    """A sentence stating one estimate with its interval and number of respondents.

    Examples
    --------
    >>> row = {"variable": "sat", "estimate": 3.62, "ci_low": 3.5, "ci_high": 3.74, "n": 4816}
    >>> print(describe_estimate(row, label="sự hài lòng", wave="2025", table="t").text)
    Điểm trung bình về sự hài lòng năm 2025 là 3,62 (khoảng tin cậy 95%: 3,50–3,74; n = 4.816).
    >>> print(describe_estimate(row, label="satisfaction", wave="2025", table="t", lang="en").text)
    The mean score for satisfaction in 2025 was 3.62 (95% CI: 3.50–3.74; n = 4,816).
    """
    pct = measure == "proportion"
    dec = decimals if decimals is not None else (1 if pct else 2)
    est, lo, hi, n = (number_in(row, k) for k in ("estimate", "ci_low", "ci_high", "n"))
    source = row_source(table, row, keys)
    subject = _subject(label, measure, lang)
    if any_missing(est):
        text = (f"Không công bố {subject[0].lower() + subject[1:]} năm {wave} (không đủ số người trả lời)."
                if lang == "vi" else
                f"{subject} in {wave} is not published (too few respondents).")
        return Sentence(_nfc(text), source, "no_data", lang)
    value = format_value(est, dec, lang, pct)
    extra = []
    if not any_missing(lo, hi):
        ci = format_interval(lo, hi, dec, lang=lang, percent=pct)
        extra.append(f"khoảng tin cậy 95%: {ci}" if lang == "vi" else f"95% CI: {ci}")
    if not any_missing(n):
        extra.append(f"n = {format_number(int(n), lang=lang)}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    text = (f"{subject} năm {wave} là {value}{tail}." if lang == "vi" else f"{subject} in {wave} was {value}{tail}.")
    return Sentence(_nfc(text), source, "estimate", lang)
