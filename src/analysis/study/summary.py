"""The executive summary (notebook 00): the scorecard of the plan's task groups and the sentences it is built from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.instruments import Instrument
from analysis.study.base import STAT_COLUMNS, WAVE
from analysis.study.units import indicator_estimates

__all__ = [
    "scorecard_inputs",
    "scorecard_table",
    "scorecard_frame",
    "entry_sentences",
]


def scorecard_inputs(attainment: pd.DataFrame, changes: pd.DataFrame | None, instrument: Instrument, *,
                     lang: str = "vi") -> pd.DataFrame:
    """Per task group: its targeted indicators' attainment intervals and their changes.

    Parameters
    ----------
    attainment : DataFrame
        `indicator_attainment` output (latest wave).
    changes : DataFrame or None
        `indicator_changes` output (or None at the baseline).

    Returns
    -------
    DataFrame
        ``[task_group, task_label, variable, label, target (share of units: 1.0), due,
        estimate, ci_low, ci_high, n, change, change_significant]`` — one row per targeted
        indicator, and one row with ``variable`` missing for a task group without one (not
        measurable). The plan expects every unit to meet a target, so the target is 100%.
    """
    rows = []
    for tg in instrument.task_groups:
        sub = attainment[attainment["task_group"] == tg.number]
        if sub.empty:
            rows.append({"task_group": tg.number, "task_label": tg.label(lang), "variable": None})
            continue
        for _, r in sub.iterrows():
            ch = changes[changes["variable"] == r["variable"]] if changes is not None and len(changes) else None
            rows.append({"task_group": tg.number, "task_label": tg.label(lang), "variable": r["variable"],
                         "label": instrument.indicator(r["variable"]).label(lang), "target": 1.0,
                         "due": bool(r["due"]), "estimate": r["estimate"], "ci_low": r["ci_low"],
                         "ci_high": r["ci_high"], "n": r["n"],
                         "change": None if ch is None or ch.empty else float(ch["estimate"].iloc[0]),
                         "change_significant": None if ch is None or ch.empty else bool(ch["significant"].iloc[0])})
    return pd.DataFrame(rows)


def scorecard_table(units: pd.DataFrame, instrument: Instrument, *, wave: str, baseline_wave: str,
                    population_dir: Path | None = None) -> pd.DataFrame:
    """Every indicator's mean over units in *wave* with its interval, target and baseline.

    Returns
    -------
    DataFrame
        ``[variable, task_group, unit, direction, target, target_year, baseline, estimate, se,
        ci_low, ci_high, n (units), deff]`` — the input of `analysis.report.scorecard.scorecard`
        (``key="variable"``), through `analysis.disclosure.protect_table` first.
    """
    now = indicator_estimates(units[units[WAVE] == wave], instrument, population_dir=population_dir)
    base = indicator_estimates(units[units[WAVE] == baseline_wave], instrument, population_dir=population_dir)
    meta = pd.DataFrame([{"variable": i.name, "task_group": i.task_group, "unit": i.unit, "direction": i.direction,
                          "target": i.target, "target_year": i.target_year} for i in instrument.indicators])
    out = meta.merge(base[["variable", "estimate"]].rename(columns={"estimate": "baseline"}), on="variable", how="left")
    out = out.merge(now[["variable", *STAT_COLUMNS]], on="variable", how="left")
    out["target"] = out["target"].astype("float64")
    out["target_year"] = out["target_year"].astype("Int64")
    return out


def _basis(sentence: str) -> str:
    """The counts part of a task-group sentence ("… : Chưa đạt — 0 chỉ tiêu đạt, …" → "0 chỉ tiêu đạt, …")."""
    return sentence.split(" — ", 1)[-1].strip()


def scorecard_frame(groups: Sequence, *, n_units: int, lang: str = "vi") -> pd.DataFrame:
    """Task-group scorecard entries (`analysis.report.scorecard.task_group_scorecard`) as a table.

    Returns
    -------
    DataFrame
        ``[task_group, variable ("status"), label, status, status_label, sentence, basis (its counts), estimate
        (NaN: no number), n (units behind the statuses)]`` ready for `protect_table`.
    """
    from analysis.report import scorecard

    rows = [{"task_group": int(str(g.sentence.source).rsplit("=", 1)[-1].rstrip("]")), "variable": "status",
             "label": g.label, "status": g.status, "status_label": scorecard.STATUS_LABELS[g.status][lang],
             "sentence": g.sentence.text, "basis": _basis(g.sentence.text), "estimate": np.nan, "n": float(n_units)} for g in groups]
    return pd.DataFrame(rows)


def entry_sentences(entries: Sequence, *, measurable_only: bool = True) -> list:
    """The sentences of `analysis.report.scorecard.scorecard` entries (optionally only measurable ones)."""
    return [e.sentence for e in entries if not measurable_only or e.status != "not_measurable"]
