"""The scorecard: the status of each indicator of the plan against its target, and of each task group.

Statuses and their sentences (Vietnamese, English) from one row of an indicator table each;
every sentence carries its ``source`` (`analysis.report.narrative.Sentence`).

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
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from analysis.report.narrative import Sentence, any_missing, format_value, number_in, row_source
from analysis.report.tables import format_interval, format_number

__all__ = ["STATUS_LABELS", "ScorecardEntry", "scorecard", "scorecard_status", "task_group_scorecard",
           "task_group_status"]

#: Status code -> (Vietnamese, English) label, in the order worst ... best, then unmeasured.
STATUS_LABELS: dict[str, dict[str, str]] = {
    "not_achieved": {"vi": "Chưa đạt", "en": "Not achieved"},
    "on_track": {"vi": "Đúng tiến độ", "en": "On track"},
    "achieved": {"vi": "Đạt", "en": "Achieved"},
    "not_measurable": {"vi": "Chưa đo được", "en": "Not measurable"},
}
_STATUS_RANK = {"not_achieved": 0, "on_track": 1, "achieved": 2}
_PERCENT_UNITS = frozenset({"share", "yes/no", "proportion", "percent"})


@dataclass(frozen=True)
class ScorecardEntry:
    """Status of one indicator (or task group) with its sentence."""

    status: str
    label: str
    sentence: Sentence


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


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
    lo = est if ci_low is None or any_missing(float(ci_low)) else float(ci_low)
    hi = est if ci_high is None or any_missing(float(ci_high)) else float(ci_high)
    if direction == "lower":  # mirror: work on negated values so one rule serves both
        est, lo, hi, target = -est, -hi, -lo, -float(target)
        baseline = None if baseline is None or any_missing(float(baseline)) else -float(baseline)
    if lo >= target:
        return "achieved"
    due = target_year is None or year >= int(target_year)
    if due:
        return "not_achieved"
    has_baseline = baseline is not None and not any_missing(float(baseline))
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
    f = lambda v: format_value(v, dec, lang, percent)  # noqa: E731
    word = STATUS_LABELS[status][lang]
    if status == "not_measurable":
        if lang == "vi":
            return f"{label}: {word} (chưa có số liệu hoặc chưa có mục tiêu định lượng)."
        return f"{label}: {word.lower()} (no data, or no quantified target)."
    has_ci = not any_missing(lo, hi) and hi > lo
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
        est, lo, hi = (number_in(row, k) for k in (estimate_col, "ci_low", "ci_high"))
        target = number_in(row, "target")
        ty = row.get("target_year")
        ty = None if ty is None or pd.isna(ty) else int(ty)
        direction = str(row.get("direction") or "higher")
        baseline = number_in(row, "baseline")
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
