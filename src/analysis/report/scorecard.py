"""The scorecard: each target of the plan, each task group, from both surveys, by a rule a reader can check.

Pure functions over tidy tables (the recipes of `analysis.study.summary` build them from the
data); every sentence carries its ``source`` (`analysis.report.narrative.Sentence`).

The unit survey is a census of the units, so a target is judged on counts, never on a sampling
interval. Verdicts (``VERDICTS``):

Đạt / achieved · Đạt một phần / partly achieved · Chưa đạt / not achieved · Chưa kết luận được /
inconclusive · Không có chỉ tiêu định lượng / no quantified target (measured, no numeric target) ·
Chưa có số liệu / no data.

A target on every unit (``per: unit`` in the instrument: a working session every six months, a
yearly conference …). *N* units in the frame, *S* of them answered the survey, *A* of those have
a value (a unit without one: the target does not apply — no violation to handle — or the item
was not answered), *M* meet the target
--------------------------------------------------------------------------------------------------
1. no data — ``A = 0``;
2. achieved — ``M = A`` and ``S = N``: every unit answered and every unit with a value meets it;
3. inconclusive — ``M = A`` but ``S < N``: units that did not answer might not meet it;
4. not achieved — ``M = 0``;
5. partly achieved — otherwise (some units meet it, at least one with a value does not).
The count is always shown ("54/103 cơ sở"), with the units without a value and those that did
not answer when there are any.

A target on all units together (``per: total``: the mean over the units)
------------------------------------------------------------------------
With every unit answering, achieved or not achieved by the value itself. With units missing the
value lies between bounds (missing units at the indicator's lowest or highest possible value,
when it has one: 0–1 for a share or a yes/no); achieved when both bounds meet the target, not
achieved when neither does, inconclusive otherwise (or without bounds).

A task group (``task_group_verdict``): its targets and its members' experience
------------------------------------------------------------------------------
T = the verdicts of its targeted indicators with data; C = the changes since the baseline of
the member scales mapped to the task group (``rose`` / ``fell`` when significant after the BH
adjustment, else ``unchanged``).

1. no data — nothing measured;
2. no quantified target — measured, but no targeted indicator has data;
3. achieved — every T achieved and no member scale fell;
4. partly achieved — some T achieved or partly achieved, or a member scale rose;
5. not achieved — some T not achieved;
6. inconclusive — every T inconclusive.
A group whose every targeted indicator is withheld to protect units (too few to publish) is
shown as "Không công bố / withheld", not judged on what remains. One lagging indicator does not
erase the rest (rule 4), and the basis shows the counts:
"2/3 chỉ tiêu đạt; cảm nhận của đoàn viên: 1 tăng, 1 không đổi".
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from analysis.report.narrative import Sentence, format_value, number_in, row_source
from analysis.report.tables import format_number, format_percent

__all__ = [
    "VERDICTS", "CHANGES", "BOUNDED_UNITS", "unit_requirement_verdict", "total_verdict", "change_direction",
    "task_group_verdict", "indicator_verdicts", "attainment_text", "indicator_sentence", "task_group_basis",
    "task_group_table", "lagging_sentences",
]

#: Verdict code -> label, from best to no data.
VERDICTS: dict[str, dict[str, str]] = {
    "achieved": {"vi": "Đạt", "en": "Achieved"},
    "partly": {"vi": "Đạt một phần", "en": "Partly achieved"},
    "not_achieved": {"vi": "Chưa đạt", "en": "Not achieved"},
    "inconclusive": {"vi": "Chưa kết luận được", "en": "Inconclusive"},
    "no_target": {"vi": "Không có chỉ tiêu định lượng", "en": "No quantified target"},
    "no_data": {"vi": "Chưa có số liệu", "en": "No data"},
    # not a verdict on the plan: every targeted indicator of the group is withheld (too few units)
    "withheld": {"vi": "Không công bố", "en": "Withheld"},
}
#: A member scale's change since the baseline -> word.
CHANGES: dict[str, dict[str, str]] = {
    "rose": {"vi": "tăng", "en": "up"},
    "fell": {"vi": "giảm", "en": "down"},
    "unchanged": {"vi": "không đổi", "en": "unchanged"},
}
#: Indicator units with a lowest and highest possible value (the bounds of a missing unit).
BOUNDED_UNITS: dict[str, tuple[float, float]] = {"yes/no": (0.0, 1.0), "share": (0.0, 1.0)}
_TARGETED = ("achieved", "partly", "not_achieved", "inconclusive")


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def unit_requirement_verdict(n_met: int, n_with_value: int, n_responded: int, n_units: int) -> str:
    """Verdict of a target every unit must meet (rules 1–5 of the module docstring).

    Examples
    --------
    >>> unit_requirement_verdict(103, 103, 103, 103), unit_requirement_verdict(54, 103, 103, 103)
    ('achieved', 'partly')
    >>> unit_requirement_verdict(45, 45, 103, 103)  # the 58 others had no violation to handle
    'achieved'
    >>> unit_requirement_verdict(98, 98, 98, 103), unit_requirement_verdict(0, 40, 40, 103)
    ('inconclusive', 'not_achieved')
    >>> unit_requirement_verdict(0, 0, 103, 103)
    'no_data'
    """
    if not n_met <= n_with_value <= n_responded <= n_units:
        raise ValueError(f"unit counts out of order: {n_met} met, {n_with_value} with a value, "
                         f"{n_responded} answered, {n_units} in the frame")
    if n_with_value == 0:
        return "no_data"
    if n_met == n_with_value:
        return "achieved" if n_responded == n_units else "inconclusive"
    return "not_achieved" if n_met == 0 else "partly"


def total_verdict(low: float, high: float, target: float, direction: str = "higher") -> str:
    """Verdict of a target on all units together, from the bounds of its value.

    *low* = *high* when every unit answered; NaN bounds (no data) give ``no_data``, one NaN bound
    (units missing, value unbounded) ``inconclusive`` unless the other settles it.

    Examples
    --------
    >>> total_verdict(0.8, 0.8, 0.75), total_verdict(0.7, 0.9, 0.75), total_verdict(0.5, 0.6, 0.75)
    ('achieved', 'inconclusive', 'not_achieved')
    >>> total_verdict(0.1, 0.1, 0.2, direction="lower")
    'achieved'
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
    if math.isnan(low) and math.isnan(high):
        return "no_data"
    meets = (lambda v: v >= target) if direction == "higher" else (lambda v: v <= target)  # noqa: E731
    worst, best = (low, high) if direction == "higher" else (high, low)
    if not math.isnan(worst) and meets(worst):
        return "achieved"
    if not math.isnan(best) and not meets(best):
        return "not_achieved"
    return "inconclusive"


def change_direction(estimate: float, significant: object) -> str | None:
    """``rose``, ``fell`` or ``unchanged`` for a member scale's change; None without an estimate.

    Examples
    --------
    >>> change_direction(0.46, True), change_direction(-0.2, True), change_direction(0.01, False)
    ('rose', 'fell', 'unchanged')
    >>> change_direction(float("nan"), False) is None
    True
    """
    if estimate is None or estimate is pd.NA or math.isnan(float(estimate)):
        return None
    if significant is True or (not isinstance(significant, str) and bool(significant) and not pd.isna(significant)):
        return "rose" if float(estimate) > 0 else "fell"
    return "unchanged"


def task_group_verdict(indicator_verdicts: Iterable[str], changes: Iterable[str | None] = ()) -> str:
    """A task group's verdict from its indicators' verdicts and its member scales' changes (rules 1–6).

    Examples
    --------
    >>> task_group_verdict(["achieved", "achieved"], ["unchanged"])
    'achieved'
    >>> task_group_verdict(["achieved", "achieved", "not_achieved"]), task_group_verdict(["not_achieved"], ["rose"])
    ('partly', 'partly')
    >>> task_group_verdict(["not_achieved", "inconclusive"]), task_group_verdict(["inconclusive"])
    ('not_achieved', 'inconclusive')
    >>> task_group_verdict(["no_target"], ["rose"]), task_group_verdict(["no_data"], [None])
    ('no_target', 'no_data')
    """
    verdicts = list(indicator_verdicts)
    unknown = [v for v in verdicts if v not in VERDICTS]
    if unknown:
        raise ValueError(f"task_group_verdict: unknown verdict {unknown[0]!r}")
    moves = [c for c in changes if c is not None]
    targeted = [v for v in verdicts if v in _TARGETED]
    if not targeted:
        return "no_target" if moves or "no_target" in verdicts else "no_data"
    if all(v == "achieved" for v in targeted) and "fell" not in moves:
        return "achieved"
    if any(v in ("achieved", "partly") for v in targeted) or "rose" in moves:
        return "partly"
    return "not_achieved" if "not_achieved" in targeted else "inconclusive"


def indicator_verdicts(attainment: pd.DataFrame) -> pd.Series:
    """The verdict of every row of an attainment table (`analysis.study.summary.target_attainment`).

    Rows need ``per, n_units, n_responded, n_with_value, n_met, low, high, target, direction``; a
    row without a target is ``no_target`` when measured, else ``no_data``.
    """
    def one(r: pd.Series) -> str:
        valued = int(r["n_with_value"])
        if pd.isna(r["target"]):
            return "no_target" if valued else "no_data"
        if r["per"] == "unit":
            return unit_requirement_verdict(int(r["n_met"]), valued, int(r["n_responded"]), int(r["n_units"]))
        return total_verdict(number_in(r, "low"), number_in(r, "high"), float(r["target"]), str(r["direction"]))

    if attainment.empty:
        return pd.Series([], dtype="object", index=attainment.index)
    return attainment.apply(one, axis=1)  # one row per indicator and group, never per respondent


def _percent_unit(unit: object) -> bool:
    return str(unit) in BOUNDED_UNITS


def attainment_text(row: Mapping | pd.Series, *, lang: str = "vi") -> str:
    """What a reader checks: "54/103 cơ sở" (per unit) or the value (per total), and who is not counted.

    Examples
    --------
    >>> attainment_text({"per": "unit", "n_met": 54, "n_with_value": 103, "n_responded": 103, "n_units": 103})
    '54/103 cơ sở'
    >>> attainment_text({"per": "unit", "n_met": 45, "n_with_value": 45, "n_responded": 103, "n_units": 103})
    '45/45 cơ sở có số liệu (58 cơ sở không thuộc diện hoặc không trả lời câu này)'
    >>> attainment_text({"per": "unit", "n_met": 50, "n_with_value": 98, "n_responded": 98, "n_units": 103}, lang="en")
    '50/98 units (98 of 103 units answered)'
    """
    n_units, responded, valued = int(row["n_units"]), int(row["n_responded"]), int(row["n_with_value"])
    vi = lang == "vi"
    notes = []
    if valued < responded:
        gap = responded - valued
        notes.append(f"{gap} cơ sở không thuộc diện hoặc không trả lời câu này" if vi
                     else f"{gap} units not concerned or not answering this question")
    if responded < n_units:
        notes.append(f"{responded}/{n_units} cơ sở trả lời phiếu" if vi else f"{responded} of {n_units} units answered")
    note = f" ({'; '.join(notes)})" if notes else ""
    if row.get("per") == "unit":
        noun = ("cơ sở" if valued == n_units else "cơ sở có số liệu") if vi else "units"
        return f"{int(row['n_met'])}/{valued} {noun}{note}"
    pct = _percent_unit(row.get("unit"))
    low, high = number_in(row, "low"), number_in(row, "high")
    if math.isnan(low) and math.isnan(high):
        return ""
    shown = [("…" if math.isnan(v) else format_value(v, 0 if pct else 2, lang, pct)) for v in (low, high)]
    return (shown[0] if low == high else f"{shown[0]}–{shown[1]}") + note


def _target_text(row: Mapping | pd.Series, lang: str) -> str:
    target = float(row["target"])
    pct = _percent_unit(row.get("unit"))
    value = format_percent(target, 0, lang=lang) if pct else format_number(
        int(target) if target == int(target) else target, None if target == int(target) else 2, lang=lang)
    if row.get("per") == "unit":
        if row.get("unit") == "yes/no":
            return "100% cơ sở" if lang == "vi" else "every unit"
        return f"mỗi cơ sở đạt {value}" if lang == "vi" else f"every unit at {value}"
    return f"toàn Khối đạt {value}" if lang == "vi" else f"{value} over all units"


def _evidence(row: Mapping | pd.Series, lang: str) -> str:
    """"7/20 cơ sở; chỉ tiêu: mỗi cơ sở đạt 2, hạn năm 2023; bình quân 1,35 mỗi cơ sở" (no target: the count)."""
    count = attainment_text(row, lang=lang)
    if pd.isna(row.get("target")):
        return count
    year = row.get("target_year")
    due = "" if year is None or pd.isna(year) else (f", hạn năm {int(year)}" if lang == "vi" else f", due {int(year)}")
    mean = number_in(row, "mean")
    extra = ""
    if row.get("per") == "unit" and str(row.get("unit")) == "count" and not math.isnan(mean):
        extra = (f"; bình quân {format_number(mean, 2, lang=lang)} mỗi cơ sở" if lang == "vi"
                 else f"; {format_number(mean, 2, lang=lang)} per unit on average")
    goal = _target_text(row, lang)
    return f"{count}; chỉ tiêu: {goal}{due}{extra}" if lang == "vi" else f"{count}; target: {goal}{due}{extra}"


def indicator_sentence(row: pd.Series, label: str, *, table: str = "scorecard_indicators",
                       lang: str = "vi") -> Sentence:
    """One sentence per indicator: verdict, the count or value, the target, its year.

    *row* is a row of `analysis.study.summary.target_attainment` with its ``verdict``.

    Examples
    --------
    >>> r = pd.Series({"variable": "i1", "verdict": "partly", "per": "unit", "unit": "count", "n_met": 7,
    ...                "n_with_value": 20, "n_responded": 20, "n_units": 20, "target": 2.0,
    ...                "target_year": 2023, "mean": 1.35})
    >>> print(indicator_sentence(r, "Số buổi làm việc").text)
    Số buổi làm việc: Đạt một phần (7/20 cơ sở; chỉ tiêu: mỗi cơ sở đạt 2, hạn năm 2023; bình quân 1,35 mỗi cơ sở).
    """
    verdict = str(row["verdict"])
    word = VERDICTS[verdict][lang] if lang == "vi" else VERDICTS[verdict][lang].lower()
    evidence = _evidence(row, lang)
    text = f"{label}: {word} ({evidence})." if evidence else f"{label}: {word}."
    return Sentence(_nfc(text), row_source(table, row, ["org", "variable"]), verdict, lang)


def task_group_basis(indicator_verdicts: Sequence[str], changes: Sequence[str | None], *, lang: str = "vi",
                     members: bool = True) -> tuple[str, str]:
    """The counts behind a task group's verdict: (targets part, members part).

    Examples
    --------
    >>> task_group_basis(["achieved", "achieved", "partly", "no_target"], ["rose", "unchanged"])
    ('2/3 chỉ tiêu đạt, 1 đạt một phần', '1 tăng, 1 không đổi')
    >>> task_group_basis([], [], lang="en", members=False)
    ('no targeted indicator', '')
    """
    targeted = [v for v in indicator_verdicts if v in _TARGETED]
    if targeted:
        n_ok = targeted.count("achieved")
        parts = [f"{n_ok}/{len(targeted)} " + ("chỉ tiêu đạt" if lang == "vi" else "targets achieved")]
        for v in ("partly", "not_achieved", "inconclusive"):
            if targeted.count(v):
                parts.append(f"{targeted.count(v)} {VERDICTS[v][lang].lower()}")
        targets = ", ".join(parts)
    else:
        targets = "không có chỉ tiêu có mục tiêu" if lang == "vi" else "no targeted indicator"
    if not members:
        return targets, ""
    moves = [c for c in changes if c is not None]
    if not moves:
        return targets, ("chưa có thang đo" if lang == "vi" else "no scale")
    order = ("rose", "unchanged", "fell")
    return targets, ", ".join(f"{moves.count(c)} {CHANGES[c][lang]}" for c in order if moves.count(c))


def task_group_table(indicators: pd.DataFrame, changes: pd.DataFrame | None, task_groups: Mapping[int, str], *,
                     by: str | None = None, lang: str = "vi") -> pd.DataFrame:
    """One row per task group (and group of *by*): verdict, label and its basis.

    Parameters
    ----------
    indicators : DataFrame
        `analysis.study.summary.target_attainment` rows with ``verdict`` and ``task_group``
        (and *by*).
    changes : DataFrame or None
        Member scales' changes ``[task_group, change]`` (and *by*); None when the report has no
        member survey (the members part is left out).
    task_groups : {number: label}
        In the order to report.

    Returns
    -------
    DataFrame
        ``[*by, task_group, label, verdict, verdict_label, targets, members, n_targeted, n_achieved,
        n_rose, n_fell, n_scales]``.
    """
    keys = [by] if by else []
    groups = [()] if not by else [(g,) for g in pd.unique(indicators[by])]
    rows = []
    for key in groups:  # task groups × organizations: a handful of rows
        ind = indicators
        ch = changes
        if by:
            ind = ind[ind[by] == key[0]]
            ch = None if ch is None else ch[ch[by] == key[0]]
        for number, label in task_groups.items():
            mine = ind[ind["task_group"] == number]
            v = [x for x in mine["verdict"] if isinstance(x, str)]  # a withheld row has none
            withheld = bool((mine["verdict"].isna() & mine["target"].notna()).any())
            c = [] if ch is None else list(ch.loc[ch["task_group"] == number, "change"])
            c = [x if isinstance(x, str) else None for x in c]
            verdict = task_group_verdict(v, c)
            if withheld and not any(x in _TARGETED for x in v):
                verdict = "withheld"  # its targets exist but cannot be shown: no verdict from the rest
            targets, members = task_group_basis(v, c, lang=lang, members=changes is not None)
            moves = [x for x in c if x is not None]
            rows.append({**dict(zip(keys, key)), "task_group": int(number), "label": label, "verdict": verdict,
                         "verdict_label": VERDICTS[verdict][lang], "targets": targets, "members": members,
                         "n_targeted": len([x for x in v if x in _TARGETED]), "n_achieved": v.count("achieved"),
                         "n_rose": moves.count("rose"), "n_fell": moves.count("fell"), "n_scales": len(moves)})
    return pd.DataFrame(rows, columns=[*keys, "task_group", "label", "verdict", "verdict_label", "targets", "members",
                                       "n_targeted", "n_achieved", "n_rose", "n_fell", "n_scales"])


def lagging_sentences(attainment: pd.DataFrame, labels: Mapping[str, str], group_labels: Mapping[str, str], *,
                      by: str = "org", table: str = "scorecard_by_org", lang: str = "vi", most: int = 2
                      ) -> list[Sentence]:
    """Where each group (organization) lags: its per-unit targets met by the smallest share of its units.

    One sentence per group with a per-unit target not met by all its units, naming up to *most*:
    "Hội CCB: còn xa chỉ tiêu nhất ở «…» — đạt một phần (6/20 cơ sở; chỉ tiêu: mỗi cơ sở đạt 2, …)".
    """
    per_unit = attainment[(attainment["per"] == "unit") & attainment["n_with_value"].gt(0)
                          & attainment["target"].notna() & attainment["verdict"].notna()].copy()
    if per_unit.empty:
        return []
    per_unit["share"] = per_unit["n_met"].astype(float) / per_unit["n_with_value"].astype(float)
    per_unit = per_unit[per_unit["share"] < 1]
    worst = per_unit.sort_values(["share", "variable"]).groupby(by, sort=True).head(most)
    out = []
    for key, rows in worst.groupby(by, sort=True):  # one sentence per organization
        name = group_labels.get(key, str(key))
        parts = [f"«{labels.get(r['variable'], str(r['variable']))}» — {VERDICTS[str(r['verdict'])][lang].lower()} "
                 f"({_evidence(r, lang)})" for _, r in rows.iterrows()]
        text = (f"{name}: còn xa chỉ tiêu nhất ở " + "; ở ".join(parts) + "." if lang == "vi"
                else f"{name}: furthest from target on " + "; on ".join(parts) + ".")
        out.append(Sentence(_nfc(text), f"{table}[{by}={key}, variable={','.join(rows['variable'])}]",
                            "not_achieved", lang))
    return out
