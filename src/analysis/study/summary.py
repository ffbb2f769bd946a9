"""The executive summary (notebook 00): the scorecard of the plan's task groups, from both surveys.

The rule of every verdict is in `analysis.report.scorecard`; these recipes count what it judges:
the units of the frame that meet each target (overall and by organization) and the member
scales' changes mapped to each task group. The unit survey is a census of the units: a count,
never a sampling interval.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import disclosure
from analysis.instruments import Instrument
from analysis.report import scorecard
from analysis.report.narrative import Sentence, is_significant, number_in, row_source
from analysis.report.tables import format_interval, format_number
from analysis.stats import scoring
from analysis.study.base import WAVE
from analysis.study.units import indicator_attainment

__all__ = [
    "ATTAINMENT_COLUMNS",
    "target_attainment",
    "withhold_attainment",
    "member_changes",
    "scorecard_by_group",
    "attainment_by_group",
    "dose_response_sentences",
]

#: Columns of `target_attainment`: counts a reader can check, the verdict they give.
ATTAINMENT_COLUMNS = ["org", "variable", "task_group", "unit", "direction", "per", "target", "target_year", "due",
                      "n_units", "n_responded", "n_with_value", "n_met", "mean", "low", "high", "verdict",
                      "attainment"]


def target_attainment(units: pd.DataFrame, instrument: Instrument, *, wave: str, by: str | None = "org",
                      population_dir: Path | None = None, lang: str = "vi") -> pd.DataFrame:
    """Every indicator's census counts in *wave* (`analysis.study.units.indicator_attainment`), overall
    and by *by*, with the scorecard's verdict and text.

    Indicators without a target come too (counts only): a task group measured without a numeric
    target reads "Không có chỉ tiêu định lượng", not "Chưa có số liệu".

    Returns
    -------
    DataFrame
        `ATTAINMENT_COLUMNS` + ``estimate, n`` (what `analysis.disclosure.protect_table` reads:
        the share of units meeting the target, or the mean, and the units with a value). One row
        per indicator (instrument order) overall (*by* missing), then per group; ``n_with_value``
        units with a value, ``low``/``high`` the mean with the units that did not answer at the
        indicator's lowest/highest value (equal when every unit answered); ``verdict`` by
        `analysis.report.scorecard.indicator_verdicts`; ``attainment`` its text ("54/103 cơ sở").
    """
    key = by or "org"
    targeted = indicator_attainment(units, instrument, wave=wave, by=by, population_dir=population_dir)
    targeted = targeted.rename(columns={"n_answered": "n_with_value", **({"org": key} if by else {})})
    if key not in targeted.columns:
        targeted[key] = None
    # indicators without a target: counted like the others (units with a value), nothing to meet
    frame = targeted.drop_duplicates(key)[[key, "n_units", "n_responded"]]
    sub = units[units[WAVE] == wave]
    parts = []
    for group, n_units, responded in frame.itertuples(index=False):  # the total and each organization
        rows = sub if pd.isna(group) else sub[sub[by] == group]
        counts = scoring.indicator_attainment(rows, instrument, wave=wave)
        counts = counts[counts["target"].isna()].rename(columns={"indicator": "variable", "n": "n_with_value"})
        parts.append(counts.assign(**{key: group}, n_units=n_units, n_responded=responded, n_met=0))
    out = pd.concat([targeted, *parts], ignore_index=True)
    out["low"] = out["mean_low"].where(out["mean_low"].notna(), out["mean"]) if "mean_low" in out else out["mean"]
    out["high"] = out["mean_high"].where(out["mean_high"].notna(), out["mean"]) if "mean_high" in out else out["mean"]
    order = {i.name: n for n, i in enumerate(instrument.indicators)}
    out["_group"] = out[key].isna().map({True: 0, False: 1})
    out = out.sort_values(["_group", key, "variable"], key=lambda s: s.map(order) if s.name == "variable" else s,
                          na_position="first", kind="stable").reset_index(drop=True)
    out["n_met"] = out["n_met"].astype("Int64").fillna(0).astype(int)
    out["verdict"] = scorecard.indicator_verdicts(out)
    out["attainment"] = [scorecard.attainment_text(r, lang=lang) for _, r in out.iterrows()]
    out["estimate"] = np.where(out["target"].notna() & (out["per"] == "unit"),
                               out["n_met"] / out["n_with_value"].where(out["n_with_value"] > 0), out["mean"])
    out["n"] = out["n_with_value"].astype(float)
    out[["mean", "low", "high"]] = out[["mean", "low", "high"]].astype(float).round(4)
    return out[[*ATTAINMENT_COLUMNS, "estimate", "n"]].rename(columns={"org": key})


def withhold_attainment(protected: disclosure.ProtectedTable, *, targets_only: bool = False
                        ) -> disclosure.ProtectedTable:
    """The protected `target_attainment` table with every number of a hidden row withheld
    (with *targets_only*, only the indicators that have a target: the table the reader sees).

    `analysis.disclosure.protect_table` hides the estimate and n of a row with too few units
    (or a complementary one); the counts, bounds, verdict and text that would give them away are
    withheld too: the text becomes the table's mark (``n<5``, ``x``), the verdict None.
    """
    out = protected.table.copy()
    hidden = out["suppressed"].astype(bool)
    for c in ("n_with_value", "n_met", "mean", "low", "high"):
        out[c] = out[c].astype("float64").where(~hidden)
    out["verdict"] = out["verdict"].where(~hidden, None)
    out["attainment"] = out["attainment"].where(~hidden, out["note"])
    if targets_only:
        out = out[out["target"].notna()].reset_index(drop=True)
    return dataclasses.replace(protected, table=out)


def member_changes(changes: pd.DataFrame | None, instrument: Instrument, *, by: str | None = None
                   ) -> pd.DataFrame | None:
    """Each member scale's change since the baseline as ``rose``/``fell``/``unchanged``, with its task group.

    *changes* is a (protected) change table of notebook 50 (``changes_constructs_overall`` or
    ``…_by_org``); a hidden row has no change (it is not counted). None when there is none.
    """
    if changes is None:
        return None
    groups = {c.name: c.task_group for c in instrument.constructs}
    keys = [by] if by else []
    out = changes[[*keys, "variable", "estimate", "significant"]].copy()
    out["task_group"] = out["variable"].map(groups)
    out["change"] = [scorecard.change_direction(e, s) for e, s in zip(out["estimate"], out["significant"])]
    return out[out["task_group"].notna()].astype({"task_group": int})


def scorecard_by_group(attainment: pd.DataFrame, changes_overall: pd.DataFrame | None,
                       changes_by: pd.DataFrame | None, instrument: Instrument, *, by: str = "org",
                       lang: str = "vi") -> pd.DataFrame:
    """The task-group verdicts of the whole Bloc and of every organization (the Board's second table).

    Parameters
    ----------
    attainment : DataFrame
        `withhold_attainment` output (withheld rows carry no verdict and are not counted).
    changes_overall, changes_by : DataFrame or None
        `member_changes` overall and by *by*.

    Returns
    -------
    DataFrame
        ``[by (missing = the total), task_group, label, verdict, cell, n (units of the group)]``,
        long, to show wide (one column per group); each cell is the verdict and its counts,
        "Đạt một phần (2/3 đạt; 1 tăng)" (targets achieved; member scales up, down).
    """
    groups = {tg.number: tg.label(lang) for tg in instrument.task_groups}
    overall = scorecard.task_group_table(attainment[attainment[by].isna()], changes_overall, groups, lang=lang)
    parts = attainment[attainment[by].notna()]
    by_group = scorecard.task_group_table(parts, changes_by, groups, by=by, lang=lang)
    table = pd.concat([overall.assign(**{by: None}), by_group], ignore_index=True)
    table["cell"] = [_short_cell(r, lang) for _, r in table.iterrows()]
    units = attainment.groupby(attainment[by].fillna("__total__"))["n_units"].max()
    table["n"] = table[by].fillna("__total__").map(units).astype(float)
    return table[[by, "task_group", "label", "verdict", "cell", "n"]]


def _short_cell(row: pd.Series, lang: str) -> str:
    """"Đạt một phần (0/2 đạt; 1 tăng)": the verdict with its counts, short enough for a table cell."""
    parts = []
    if row["n_targeted"]:
        parts.append(f"{row['n_achieved']}/{row['n_targeted']} " + ("đạt" if lang == "vi" else "achieved"))
    for n, word in ((row["n_rose"], scorecard.CHANGES["rose"][lang]), (row["n_fell"], scorecard.CHANGES["fell"][lang])):
        if n:
            parts.append(f"{n} {word}")
    return row["verdict_label"] + (f" ({'; '.join(parts)})" if parts else "")


def attainment_by_group(attainment: pd.DataFrame, *, by: str = "org", lang: str = "vi") -> pd.DataFrame:
    """Targeted indicators × (total, each group): the count of units meeting it ("30/48") and the verdict.

    Returns
    -------
    DataFrame
        ``[variable, task_group, total, <group>…, verdict_label (overall), n (units of the frame)]``,
        in instrument order.
    """
    targeted = attainment[attainment["target"].notna()]
    wide = targeted.pivot_table(index="variable", columns=targeted[by].fillna("__total__"), values="attainment",
                                aggfunc="first")
    groups = [c for c in sorted(targeted[by].dropna().unique()) if c in wide.columns]
    wide = wide[["__total__", *groups]].rename(columns={"__total__": "total"})
    wide.columns.name = None
    overall = targeted[targeted[by].isna()].set_index("variable")
    wide["task_group"] = overall["task_group"]
    wide["verdict_label"] = overall["verdict"].map(lambda v: scorecard.VERDICTS[v][lang] if isinstance(v, str) else "")
    wide["n"] = overall["n_units"].astype(float)
    order = list(dict.fromkeys(targeted["variable"]))  # instrument order
    return wide.loc[order].reset_index()[["variable", "task_group", "total", *groups, "verdict_label", "n"]]


def dose_response_sentences(dose: pd.DataFrame | None, labels: Mapping[str, str], *, table: str = "dose_response",
                            lang: str = "vi") -> list[Sentence]:
    """The dose-response result as an association: which scales are higher where units implemented more.

    *dose* is notebook 50's (protected) ``dose_response`` table: one row per scale, the
    coefficient of the unit's implementation index (0 = no target met, 1 = every target met).
    Returns one sentence for the scales with a significant positive association (BH), one for
    the negative ones, and the no-control-group caveat; nothing when the model did not run.
    """
    if dose is None or dose.empty:
        return []
    sig = [is_significant(number_in(r, "estimate"), number_in(r, "ci_low"), number_in(r, "ci_high"),
                          number_in(r, "p_adjusted")) for _, r in dose.iterrows()]
    rows = dose[sig]
    out = []
    for sign, rows_ in (("+", rows[rows["estimate"] > 0]), ("-", rows[rows["estimate"] < 0])):
        if rows_.empty:
            continue
        items = []
        for _, r in rows_.iterrows():  # one per scale
            ci = format_interval(float(r["ci_low"]), float(r["ci_high"]), 2, lang=lang)
            value = format_number(abs(float(r["estimate"])), 2, lang=lang)
            items.append(f"{labels.get(r['variable'], r['variable'])} ({value} điểm; KTC 95% {ci})" if lang == "vi"
                         else f"{labels.get(r['variable'], r['variable'])} ({value} points; 95% CI {ci})")
        if lang == "vi":
            word = "cao hơn" if sign == "+" else "thấp hơn"
            text = (f"Ở cơ sở thực hiện Đề án nhiều hơn, đoàn viên, hội viên đánh giá {word} ở {len(items)} thang đo: "
                    f"{'; '.join(items)} — chênh lệch giữa cơ sở đạt mọi chỉ tiêu và cơ sở chưa đạt chỉ tiêu nào, "
                    "cùng đợt và cùng tổ chức.")
        else:
            word = "higher" if sign == "+" else "lower"
            text = (f"Where units implemented more of the plan, members score {word} on {len(items)} scale(s): "
                    f"{'; '.join(items)} — the difference between a unit meeting every target and one meeting none, "
                    "same wave and organization.")
        out.append(Sentence(text, row_source(table, {"variable": ",".join(rows_["variable"])}, ["variable"]),
                            "increase" if sign == "+" else "decrease", lang))
    caveat = ("Đây là mối liên hệ, không phải bằng chứng nhân quả: không có nhóm đối chứng, và cơ sở thực hiện "
              "tốt có thể khác các cơ sở khác ở những điểm khác." if lang == "vi" else
              "This is an association, not proof of cause: there is no control group, and units that implement "
              "well may differ from others in other ways.")
    if out:
        out.append(Sentence(caveat, f"{table}[]", "estimate", lang))
    return out
