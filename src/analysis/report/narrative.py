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

Numbers are formatted by :mod:`analysis.report.tables` (decimal comma in Vietnamese).

Scorecard rule (per indicator, direction "higher"; "lower" is the mirror image)
-------------------------------------------------------------------------------
The status is judged from the 95% interval ``[ci_low, ci_high]`` against the target, not from
the point estimate. A census value without an interval counts as an interval of width zero.

1. **Chưa đo được / not measurable** — no target, or no estimate (no data, or suppressed).
2. **Đạt / achieved** — ``ci_low >= target``: the whole interval reaches the target.
3. Otherwise, in or after the target year (``year >= target_year``):
   **Chưa đạt / not achieved** — the sentence says "below the target" when
   ``ci_high < target`` and "not shown to be achieved" when the interval contains the target.
4. Otherwise (before the target year): **Đúng tiến độ / on track** when the estimate is not
   below the baseline (if one is given) and the target is within reach: it is inside or below
   the interval (``ci_high >= target``), or — with a baseline from an earlier year — the upper
   end of the interval, carried forward at the pace it gained since the baseline
   (``ci_high + (ci_high − baseline) / (year − baseline_year) × (target_year − year)``),
   reaches the target by the target year. Else **Chưa đạt / not achieved** ("behind
   schedule"). The projection uses the interval's favourable end, as rule 2 does not: the
   verdict "behind" is given only when even that optimistic straight line falls short.

A task group's status combines its indicators' statuses: not measurable when none is
measurable; otherwise the worst measurable one (not achieved < on track < achieved).

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.report.tables import format_interval, format_number, format_percent, format_pvalue

__all__ = [
    "MEASURES",
    "measure_for_unit",
    "count_noun_from_label",
    "STATUS_LABELS",
    "Sentence",
    "ScorecardEntry",
    "cohen_label",
    "describe_change",
    "describe_estimate",
    "is_significant",
    "row_source",
    "scorecard",
    "scorecard_status",
    "task_group_scorecard",
    "task_group_status",
]

#: Status code -> (Vietnamese, English) label, in the order worst ... best, then unmeasured.
STATUS_LABELS: dict[str, dict[str, str]] = {
    "not_achieved": {"vi": "Chưa đạt", "en": "Not achieved"},
    "on_track": {"vi": "Đúng tiến độ", "en": "On track"},
    "achieved": {"vi": "Đạt", "en": "Achieved"},
    "not_measurable": {"vi": "Chưa đo được", "en": "Not measurable"},
}
_STATUS_RANK = {"not_achieved": 0, "on_track": 1, "achieved": 2}

_COHEN = ((0.2, "negligible", "không đáng kể"), (0.5, "small", "nhỏ"), (0.8, "medium", "trung bình"),
          (math.inf, "large", "lớn"))
_PERCENT_UNITS = {"share", "yes/no", "proportion", "percent"}


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


@dataclass(frozen=True)
class ScorecardEntry:
    """Status of one indicator (or task group) with its sentence."""

    status: str
    label: str
    sentence: Sentence


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _get(row: Mapping[str, Any] | pd.Series, key: str) -> float:
    v = row.get(key) if hasattr(row, "get") else None
    try:
        return float("nan") if v is None or v is pd.NA else float(v)
    except (TypeError, ValueError):
        return float("nan")


def _missing(*values: float) -> bool:
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


def _fmt(v: float, decimals: int, lang: str, percent: bool) -> str:
    return format_percent(v, decimals, lang=lang) if percent else format_number(v, decimals, lang=lang)


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
    if _missing(diff, lo, hi, p_adj) or p_adj >= alpha:
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
        2 for means, 1 for percentages.
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
    dec = decimals if decimals is not None else (1 if pct else 2)
    a, b = _get(row, "estimate_a"), _get(row, "estimate_b")
    diff, lo, hi, p_adj = (_get(row, k) for k in ("difference", "ci_low", "ci_high", "p_adjusted"))
    source = row_source(table, row, keys)
    subject = _subject(label, measure, lang)
    if _missing(a, b, diff, lo, hi, p_adj):
        text = (f"Không đủ dữ liệu để so sánh {subject[0].lower() + subject[1:]} giữa năm {wave_a} và năm {wave_b}."
                if lang == "vi" else
                f"There are not enough data to compare {subject[0].lower() + subject[1:]} between {wave_a} and {wave_b}.")
        return Sentence(_nfc(text), source, "no_data", lang)
    noun = f" {count_noun}" if measure == "count" and count_noun and lang == "vi" else ""
    f = lambda v: _fmt(v, dec, lang, pct) + noun  # noqa: E731
    # the difference of proportions is in percentage points, printed without a % sign
    fd = lambda v: format_number(v * 100 if pct else v, dec, lang=lang)  # noqa: E731
    unit = _difference_unit(measure, count_noun, lang)
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
        v = _get(row, key)
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


def _difference_unit(measure: str, count_noun: str | None, lang: str) -> str:
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
    est, lo, hi, n = (_get(row, k) for k in ("estimate", "ci_low", "ci_high", "n"))
    source = row_source(table, row, keys)
    subject = _subject(label, measure, lang)
    if _missing(est):
        text = (f"Không công bố {subject[0].lower() + subject[1:]} năm {wave} (không đủ số người trả lời)."
                if lang == "vi" else
                f"{subject} in {wave} is not published (too few respondents).")
        return Sentence(_nfc(text), source, "no_data", lang)
    value = _fmt(est, dec, lang, pct)
    extra = []
    if not _missing(lo, hi):
        ci = format_interval(lo, hi, dec, lang=lang, percent=pct)
        extra.append(f"khoảng tin cậy 95%: {ci}" if lang == "vi" else f"95% CI: {ci}")
    if not _missing(n):
        extra.append(f"n = {format_number(int(n), lang=lang)}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    text = (f"{subject} năm {wave} là {value}{tail}." if lang == "vi" else f"{subject} in {wave} was {value}{tail}.")
    return Sentence(_nfc(text), source, "estimate", lang)


def scorecard_status(
    estimate: float,
    ci_low: float | None,
    ci_high: float | None,
    *,
    target: float | None,
    target_year: int | None,
    year: int,
    direction: str = "higher",
    baseline: float | None = None,
    baseline_year: int | None = None,
) -> str:
    """Status code of one indicator by the documented interval rule (module docstring).

    Returns
    -------
    str
        ``achieved``, ``on_track``, ``not_achieved`` or ``not_measurable``.

    Examples
    --------
    >>> scorecard_status(0.9, 0.82, 0.95, target=0.8, target_year=2025, year=2024)
    'achieved'
    >>> scorecard_status(0.7, 0.6, 0.85, target=0.8, target_year=2025, year=2024)
    'on_track'
    >>> scorecard_status(0.7, 0.6, 0.85, target=0.8, target_year=2025, year=2025)
    'not_achieved'
    >>> scorecard_status(float("nan"), None, None, target=0.8, target_year=2025, year=2025)
    'not_measurable'

    A 2025 target of 100% seen in 2024: 70% (interval 60–80%) after 40% in 2023 is on pace
    (80% + 40 points a year reaches 100%); 50% (45–55%) after 40% is behind.

    >>> scorecard_status(0.7, 0.6, 0.8, target=1.0, target_year=2025, year=2024, baseline=0.4, baseline_year=2023)
    'on_track'
    >>> scorecard_status(0.5, 0.45, 0.55, target=1.0, target_year=2025, year=2024, baseline=0.4, baseline_year=2023)
    'not_achieved'
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
    est = float("nan") if estimate is None or estimate is pd.NA else float(estimate)
    if target is None or (isinstance(target, float) and math.isnan(target)) or math.isnan(est):
        return "not_measurable"
    lo = est if ci_low is None or _missing(float(ci_low)) else float(ci_low)
    hi = est if ci_high is None or _missing(float(ci_high)) else float(ci_high)
    if direction == "lower":  # mirror: work on negated values so one rule serves both
        est, lo, hi, target = -est, -hi, -lo, -float(target)
        baseline = None if baseline is None or _missing(float(baseline)) else -float(baseline)
    if lo >= target:
        return "achieved"
    due = target_year is None or year >= int(target_year)
    if due:
        return "not_achieved"
    has_baseline = baseline is not None and not _missing(float(baseline))
    moving_right_way = not has_baseline or est >= float(baseline)
    within_reach = hi >= target
    if not within_reach and has_baseline and baseline_year is not None and year > int(baseline_year):
        pace = (hi - float(baseline)) / (year - int(baseline_year))
        within_reach = hi + pace * (int(target_year) - year) >= target
    return "on_track" if within_reach and moving_right_way else "not_achieved"


def _scorecard_sentence(status: str, label: str, est: float, lo: float, hi: float, target: float,
                        target_year: int | None, year: int, direction: str, percent: bool, lang: str) -> str:
    # shares of units are published rounded to whole percentages: "62%", "mục tiêu 100%"
    dec = 0 if percent else 2
    f = lambda v: _fmt(v, dec, lang, percent)  # noqa: E731
    word = STATUS_LABELS[status][lang]
    if status == "not_measurable":
        if lang == "vi":
            return f"{label}: {word} (chưa có số liệu hoặc chưa có mục tiêu định lượng)."
        return f"{label}: {word.lower()} (no data, or no quantified target)."
    has_ci = not _missing(lo, hi) and hi > lo
    ci = format_interval(lo, hi, dec, lang=lang, percent=percent) if has_ci else ""
    # a whole-number target of a count reads "2", not "2,00"
    ft = f if percent or float(target) != int(target) else (lambda v: format_number(int(v), lang=lang))  # noqa: E731
    if lang == "vi":
        ev = f"{f(est)}" + (f", khoảng tin cậy 95%: {ci}" if has_ci else "")
        goal = f"mục tiêu {ft(target)}" + (f" vào năm {target_year}" if target_year else "")
        below = (hi < target) if direction == "higher" else (lo > target)
        reason = {
            "achieved": f"cả khoảng ước lượng đạt {goal}" if has_ci else f"đạt {goal}",
            "on_track": f"năm {year} chưa đến hạn, {goal} vẫn nằm trong tầm đạt được",
            "not_achieved": (f"thấp hơn {goal}" if direction == "higher" else f"cao hơn {goal}") if below
            else f"số liệu chưa cho phép khẳng định đã đạt {goal}",
        }[status]
        if status == "not_achieved" and target_year and year < int(target_year):
            reason = f"chậm so với tiến độ để đạt {goal}"
        return f"{label}: {word} ({ev}; {reason})."
    ev = f"{f(est)}" + (f", 95% CI: {ci}" if has_ci else "")
    goal = f"the target of {ft(target)}" + (f" by {target_year}" if target_year else "")
    below = (hi < target) if direction == "higher" else (lo > target)
    reason = {
        "achieved": f"the whole interval meets {goal}" if has_ci else f"meets {goal}",
        "on_track": f"{year} is before the deadline and {goal} is still within reach",
        "not_achieved": (f"{'below' if direction == 'higher' else 'above'} {goal}" if below
                         else f"the data do not show that {goal} was met"),
    }[status]
    if status == "not_achieved" and target_year and year < int(target_year):
        reason = f"behind schedule for {goal}"
    return f"{label}: {word.lower()} ({ev}; {reason})."


def scorecard(
    indicators: pd.DataFrame,
    *,
    year: int,
    labels: Mapping[str, str],
    table: str = "scorecard",
    lang: str = "vi",
    key: str = "indicator",
    estimate_col: str = "estimate",
    baseline_year: int | None = None,
) -> list[ScorecardEntry]:
    """Status and sentence for every indicator row.

    Parameters
    ----------
    indicators : DataFrame
        One row per indicator: ``indicator, estimate, target, target_year, direction`` and
        optionally ``ci_low, ci_high, unit, baseline, task_group``. ``unit`` in
        {"share", "yes/no", "proportion"} prints values as percentages.
    year : int
        The wave being reported.
    labels : {indicator: label}
        Labels from the instrument (``Indicator.label(lang)``).
    estimate_col : str
        Column holding the estimate (``"mean"`` for ``scoring.indicator_attainment`` output,
        which has no interval: a census of units counts as an interval of width zero).
    baseline_year : int, optional
        Year of the ``baseline`` column: before a target's year, the pace since then decides
        whether the target is still within reach (rule 4 of the module docstring).

    Returns
    -------
    list of ScorecardEntry
        In row order.

    Examples
    --------
    >>> t = pd.DataFrame({"indicator": ["i1"], "estimate": [0.9], "ci_low": [0.85], "ci_high": [0.95],
    ...                   "target": [0.8], "target_year": [2025], "direction": ["higher"], "unit": ["share"]})
    >>> e = scorecard(t, year=2025, labels={"i1": "Tỷ lệ đơn vị số hóa dữ liệu"})[0]
    >>> e.status, e.sentence.source
    ('achieved', 'scorecard[indicator=i1]')
    >>> print(e.sentence.text)
    Tỷ lệ đơn vị số hóa dữ liệu: Đạt (90%, khoảng tin cậy 95%: 85%–95%; cả khoảng ước lượng đạt mục tiêu 80% vào năm 2025).
    """
    entries = []
    for _, row in indicators.iterrows():
        est, lo, hi = (_get(row, k) for k in (estimate_col, "ci_low", "ci_high"))
        target = _get(row, "target")
        ty = row.get("target_year")
        ty = None if ty is None or pd.isna(ty) else int(ty)
        direction = str(row.get("direction") or "higher")
        baseline = _get(row, "baseline")
        status = scorecard_status(est, lo, hi, target=None if math.isnan(target) else target, target_year=ty,
                                  year=year, direction=direction, baseline=None if math.isnan(baseline) else baseline,
                                  baseline_year=baseline_year)
        label = labels.get(row[key], str(row[key]))
        pct = str(row.get("unit", "")) in _PERCENT_UNITS
        lo_ = est if math.isnan(lo) else lo
        hi_ = est if math.isnan(hi) else hi
        text = _scorecard_sentence(status, label, est, lo_, hi_, target, ty, year, direction, pct, lang)
        entries.append(ScorecardEntry(status, label, Sentence(_nfc(text), row_source(table, row, [key]), status, lang)))
    return entries


def task_group_status(statuses: Iterable[str]) -> str:
    """A task group's status from its indicators' statuses (the worst measurable one).

    Examples
    --------
    >>> task_group_status(["achieved", "on_track", "not_measurable"])
    'on_track'
    >>> task_group_status(["not_measurable"]), task_group_status(["achieved", "not_achieved"])
    ('not_measurable', 'not_achieved')
    """
    statuses = list(statuses)
    measurable = [s for s in statuses if s in _STATUS_RANK]
    unknown = [s for s in statuses if s not in STATUS_LABELS]
    if unknown:
        raise ValueError(f"task_group_status: unknown status {unknown[0]!r}")
    if not measurable:
        return "not_measurable"
    return min(measurable, key=_STATUS_RANK.__getitem__)


def task_group_scorecard(
    entries: Sequence[ScorecardEntry],
    task_groups: Sequence[int | None],
    *,
    group_labels: Mapping[int, str],
    table: str = "scorecard",
    lang: str = "vi",
) -> list[ScorecardEntry]:
    """One entry per task group: the combined status and a sentence counting its indicators.

    Parameters
    ----------
    entries : list of ScorecardEntry
        From :func:`scorecard`.
    task_groups : list of int
        The task group of each entry (same order); ``None`` entries are left out.
    group_labels : {number: label}
        ``TaskGroup.label(lang)`` from the instrument, in the order to report.

    Examples
    --------
    >>> e = [ScorecardEntry("achieved", "a", Sentence("", "", "achieved", "vi")),
    ...      ScorecardEntry("not_measurable", "b", Sentence("", "", "not_measurable", "vi"))]
    >>> g = task_group_scorecard(e, [3, 3], group_labels={3: "Cải cách hành chính"})[0]
    >>> g.status, g.sentence.source
    ('achieved', 'scorecard[task_group=3]')
    >>> print(g.sentence.text)
    Nhóm nhiệm vụ 3 (Cải cách hành chính): Đạt — 1 chỉ tiêu đạt, 0 đúng tiến độ, 0 chưa đạt, 1 chưa đo được.
    """
    if len(entries) != len(task_groups):
        raise ValueError(f"task_group_scorecard: {len(entries)} entries but {len(task_groups)} task groups")
    out = []
    for number, glabel in group_labels.items():
        statuses = [e.status for e, g in zip(entries, task_groups) if g is not None and int(g) == int(number)]
        status = task_group_status(statuses)
        counts = {k: statuses.count(k) for k in ("achieved", "on_track", "not_achieved", "not_measurable")}
        word = STATUS_LABELS[status][lang]
        if lang == "vi":
            text = (f"Nhóm nhiệm vụ {number} ({glabel}): {word} — {counts['achieved']} chỉ tiêu đạt, "
                    f"{counts['on_track']} đúng tiến độ, {counts['not_achieved']} chưa đạt, "
                    f"{counts['not_measurable']} chưa đo được.")
        else:
            text = (f"Task group {number} ({glabel}): {word.lower()} — {counts['achieved']} indicator(s) "
                    f"achieved, {counts['on_track']} on track, {counts['not_achieved']} not achieved, "
                    f"{counts['not_measurable']} not measurable.")
        out.append(ScorecardEntry(status, glabel, Sentence(_nfc(text), f"{table}[task_group={number}]", status, lang)))
    return out
