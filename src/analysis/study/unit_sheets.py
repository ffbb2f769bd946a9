"""What one grassroots unit's feedback sheet says (issue #16): its own requirements, where it
stands in its organization, and its members' scores only where they are safe together.

* `unit_requirements` — the unit's answer to each per-unit requirement of the plan that is due:
  met, not met, does not apply, or no answer (facts its committee reported, as in the list of
  units to follow up).
* `unit_standing` — every unit's share of due requirements met and its quarter within its
  organization (1 = the best quarter); a sheet shows its own quarter, never another unit.
* `unit_scores` — members' scores by unit next to their organization's, protected as **one**
  table over every unit of the wave together with the organization totals already published:
  a unit of fewer than k respondents shows no score, and further units are hidden until the
  attacker recovers none (`analysis.disclosure.protect_table` with the frame's hierarchy).
  Sheets read their rows from it, so every sheet is cut from the same table. Not yet safe to
  publish: the attacker weighs unit means by respondents, while the frame's member counts are
  public (issue #16 note).
* `interval_words` and `unit_suggestions` — the words a small unit's wide interval needs, and
  two or three suggestions from the unmet requirements, by a documented rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import disclosure
from analysis.instruments import Instrument, population
from analysis.study.base import WAVE
from analysis.study.data import unit_hierarchy
from analysis.study.designs import WaveDesign
from analysis.study.units import meets_target, target_due

__all__ = ["REQUIREMENT_STATUS", "unit_requirements", "unit_standing", "unit_scores", "interval_words",
           "unit_suggestions"]

#: A requirement's status on a sheet, in words.
REQUIREMENT_STATUS = {
    "met": ("Đạt", "Met"),
    "not_met": ("Chưa đạt", "Not met"),
    "not_concerned": ("Không thuộc diện", "Does not apply"),
    "no_answer": ("Chưa báo cáo", "Not reported"),
}


def _per_unit_targets(instrument: Instrument, wave: str) -> list:
    return [ind for ind in instrument.indicators
            if ind.target is not None and (ind.target_per or "unit") == "unit" and target_due(ind, wave)]


def unit_requirements(units: pd.DataFrame, instrument: Instrument, *, wave: str, unit: str,
                      lang: str = "vi") -> pd.DataFrame:
    """The unit's status on every per-unit requirement due by *wave*.

    Returns
    -------
    DataFrame
        ``[task_group, variable, label, indicator_unit, target, direction, target_year, value,
        status, status_label]`` in instrument order; ``status`` is a key of
        `REQUIREMENT_STATUS`: ``no_answer`` when the unit did not answer the unit survey,
        ``not_concerned`` when it answered without a value (the requirement does not apply).
    """
    row = units[(units[WAVE] == wave) & (units["unit"] == unit)]
    out = []
    for ind in _per_unit_targets(instrument, wave):
        answered = len(row) and ind.name in row.columns and pd.notna(row[ind.name].iloc[0])
        value = float(row[ind.name].iloc[0]) if answered else np.nan
        if row.empty:
            status = "no_answer"
        elif np.isnan(value):
            status = "not_concerned"
        else:
            status = "met" if meets_target(pd.Series([value]), ind).iloc[0] == 1.0 else "not_met"
        out.append({"task_group": ind.task_group, "variable": ind.name, "label": ind.label(lang),
                    "indicator_unit": ind.unit, "target": ind.target, "direction": ind.direction,
                    "target_year": ind.target_year, "value": value, "status": status,
                    "status_label": REQUIREMENT_STATUS[status][0 if lang == "vi" else 1]})
    return pd.DataFrame(out, columns=["task_group", "variable", "label", "indicator_unit", "target", "direction",
                                      "target_year", "value", "status", "status_label"])


def unit_standing(units: pd.DataFrame, instrument: Instrument, *, wave: str,
                  population_dir: Path | None = None) -> pd.DataFrame:
    """Each unit's share of due requirements met and its quarter within its organization.

    Returns
    -------
    DataFrame
        ``[unit, org, n_due, n_met, share, quarter, n_units_org]``: ``n_due`` requirements
        that apply to the unit (a value reported), ``share = n_met / n_due``; ``quarter`` 1–4
        within the organization by ``share`` (1 = the best quarter; ties share the better
        quarter); a unit that did not answer has no share and no quarter.
    """
    frame = population.load_units(population_dir)[["unit_id", "org"]].rename(columns={"unit_id": "unit"})
    sub = units[units[WAVE] == wave].set_index("unit")
    targets = [ind for ind in _per_unit_targets(instrument, wave) if ind.name in sub.columns]
    met = pd.DataFrame({ind.name: meets_target(sub[ind.name].astype("float64"), ind) for ind in targets},
                       index=sub.index)
    counts = pd.DataFrame({"n_due": met.notna().sum(axis=1), "n_met": met.sum(axis=1)})
    out = frame.merge(counts, left_on="unit", right_index=True, how="left")
    out["share"] = (out["n_met"] / out["n_due"]).where(out["n_due"] > 0)
    pct = out.groupby("org")["share"].rank(method="max", ascending=False, pct=True)
    out["quarter"] = np.ceil(pct * 4).astype("Int64")
    out["n_units_org"] = out.groupby("org")["unit"].transform("size")
    return out[["unit", "org", "n_due", "n_met", "share", "quarter", "n_units_org"]]


def unit_scores(wd: WaveDesign, constructs: Sequence[str], *, policy: disclosure.DisclosurePolicy,
                published: Sequence[tuple[str, object, Sequence[str]]] = (),
                population_dir: Path | None = None) -> disclosure.ProtectedTable:
    """Members' scores of every unit of the wave, with their organization's, protected together.

    Parameters
    ----------
    wd : WaveDesign
        The wave's raked design (`designs_by_wave`).
    constructs : sequence of str
    policy : DisclosurePolicy
    published : sequence of (name, table, by)
        What the reports of the wave already publish about the same scales (the scores by
        organization): the attacker sees them with the sheets.

    Returns
    -------
    ProtectedTable
        ``by = [wave, org, unit]``; organization rows have ``unit`` missing. Design-based means
        with their 95% intervals; hidden: every unit of fewer than k respondents and the
        complements that keep it hidden against the organization totals and every other sheet.
    """
    d = wd.design
    parts = []
    for var in constructs:
        if var not in d.data.columns or d.data[var].isna().all():
            continue
        parts.append(d.mean(var, by=["org", "unit"]))
        parts.append(d.mean(var, by="org").assign(unit=None))
    table = pd.concat(parts, ignore_index=True).assign(**{WAVE: wd.wave})
    table = table[[WAVE, "org", "unit", *[c for c in table.columns if c not in (WAVE, "org", "unit")]]]
    return disclosure.protect_table(table, by=[WAVE, "org", "unit"], hierarchy=unit_hierarchy(population_dir),
                                    policy=policy, name="unit_scores", published=list(published))


def interval_words(n: float, *, lang: str = "vi") -> str:
    """A plain warning for a score from few respondents (fewer than 30), else ``""``."""
    if pd.isna(n) or n >= 30:
        return ""
    n = int(n)
    return (f"Chỉ có {n} người trả lời nên khoảng tin cậy rộng: điểm của cơ sở chỉ nên đọc như một "
            "dấu hiệu, không dùng để xếp hạng." if lang == "vi" else
            f"Only {n} members answered, so the interval is wide: read the unit's score as a sign, "
            "not as a ranking.")


def unit_suggestions(requirements: pd.DataFrame, *, lang: str = "vi", limit: int = 3) -> list[str]:
    """Up to *limit* suggestions from the unit's unmet requirements, in instrument order.

    Rule: each unmet requirement (``not_met``) gives one suggestion naming it and its target;
    a requirement not reported (``no_answer``) gives one suggestion to report; nothing unmet
    gives one sentence to keep the results. Task group order keeps the plan's priorities.
    """
    unmet = requirements[requirements["status"] == "not_met"]
    out = []
    for _, r in unmet.head(limit).iterrows():
        target = _target_text(r, lang)
        out.append(f"Tập trung thực hiện yêu cầu “{r['label']}” ({target}, hạn năm {r['target_year']})."
                   if lang == "vi" else
                   f"Work on the requirement “{r['label']}” ({target}, due {r['target_year']}).")
    if (requirements["status"] == "no_answer").any() and len(out) < limit:
        out.append("Hoàn thành và gửi phiếu khảo sát cơ sở để kết quả của cơ sở được ghi nhận."
                   if lang == "vi" else "Complete and return the unit survey so the unit's results are recorded.")
    if not out:
        out.append("Duy trì các kết quả đã đạt; chia sẻ cách làm với các cơ sở cùng tổ chức." if lang == "vi"
                   else "Keep up the results achieved; share the practice with units of the organization.")
    return out


def _target_text(r: Mapping, lang: str) -> str:
    if r["indicator_unit"] in ("yes/no",):
        return "yêu cầu: có" if lang == "vi" else "required: yes"
    value = float(r["target"])
    shown = f"{value:g}".replace(".", ",") if lang == "vi" else f"{value:g}"
    if r["indicator_unit"] == "share":
        shown = f"{value * 100:g}%".replace(".", ",") if lang == "vi" else f"{value * 100:g}%"
    word = ("tối thiểu" if r["direction"] == "higher" else "tối đa") if lang == "vi" else \
        ("at least" if r["direction"] == "higher" else "at most")
    return f"{'chỉ tiêu' if lang == 'vi' else 'target'} {word} {shown}"
