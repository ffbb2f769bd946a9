"""The unit survey (notebook 40): indicators, spread across units, attainment of the plan's targets, changes, the unit × task-group matrix and the implementation index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.instruments import Instrument, population
from analysis.stats import compare, scoring
from analysis.study.base import ALPHA, STAT_COLUMNS, WAVE, by_columns, significance_label, significant_rows
from analysis.study.designs import base_design

__all__ = [
    "unit_indicators",
    "indicator_estimates",
    "indicator_spread",
    "indicator_attainment",
    "indicator_changes",
    "unit_task_matrix",
    "implementation_index",
    "task_group_labels",
    "unit_response",
    "indicator_units",
    "heatmap_input",
    "task_group_short",
    "indicator_change_sentences",
]


def unit_indicators(units: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """The unit panel in long form: one row per wave, unit and indicator.

    Returns
    -------
    DataFrame
        ``[wave, org, unit, indicator, task_group, value]``.
    """
    names = [i.name for i in instrument.indicators if i.name in units.columns]
    long = units[[WAVE, "org", "unit", *names]].melt(id_vars=[WAVE, "org", "unit"], var_name="indicator",
                                                     value_name="value")
    long["task_group"] = long["indicator"].map({i.name: i.task_group for i in instrument.indicators})
    return long[[WAVE, "org", "unit", "indicator", "task_group", "value"]]


def indicator_estimates(units: pd.DataFrame, instrument: Instrument, *, by: str | Sequence[str] | None = None,
                        population_dir: Path | None = None) -> pd.DataFrame:
    """Mean of every indicator over units, per wave (and organization), with intervals.

    Returns
    -------
    DataFrame
        ``[wave, *by, variable (indicator), estimate, se, ci_low, ci_high, n (units), deff,
        task_group]``. Every unit answers, so the interval mostly reflects missing units.
    """
    names = [i.name for i in instrument.indicators if i.name in units.columns]
    parts = []
    for wave, sub in units.groupby(WAVE, sort=True):
        d = base_design(sub, instrument.name)
        parts += [d.mean(n, by=by).assign(**{WAVE: wave}) for n in names if sub[n].notna().any()]
    out = pd.concat(parts, ignore_index=True)
    out["task_group"] = out["variable"].map({i.name: i.task_group for i in instrument.indicators})
    return out[[WAVE, *by_columns(by), "variable", *STAT_COLUMNS, "task_group"]]


def indicator_spread(units: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.DataFrame:
    """Spread of every indicator across units in *wave*, by organization.

    Returns
    -------
    DataFrame
        ``[org, variable, n, min, q25, median, q75, max]`` (units with a value).
    """
    long = unit_indicators(units[units[WAVE] == wave], instrument).dropna(subset=["value"])
    g = long.groupby(["org", "indicator"], sort=False)["value"]
    out = g.describe(percentiles=[0.25, 0.5, 0.75])[["count", "min", "25%", "50%", "75%", "max"]].reset_index()
    out.columns = ["org", "variable", "n", "min", "q25", "median", "q75", "max"]
    return out


def indicator_attainment(units: pd.DataFrame, instrument: Instrument, *, wave: str,
                         population_dir: Path | None = None) -> pd.DataFrame:
    """Share of units meeting each target in *wave*, with an interval (units as a stratified census).

    Returns
    -------
    DataFrame
        ``[variable (indicator), task_group, target, direction, target_year, due, estimate
        (share of units at target), se, ci_low, ci_high, n, deff, mean]``; indicators
        without a target are left out.
    """
    sub = units[units[WAVE] == wave]
    att = scoring.indicator_attainment(sub, instrument, wave=wave)
    att = att[att["target"].notna()]
    met = {}
    for ind in instrument.indicators:
        if ind.target is None or ind.name not in sub.columns:
            continue
        col = sub[ind.name]
        hit = col >= ind.target if ind.direction == "higher" else col <= ind.target
        met[f"met__{ind.name}"] = hit.astype("float64").where(col.notna())
    d = base_design(sub.assign(**met), instrument.name)
    rows = [d.mean(c).assign(variable=c.removeprefix("met__")) for c in met if d.data[c].notna().any()]
    est = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["variable", *STAT_COLUMNS])
    out = att.rename(columns={"indicator": "variable"})[["variable", "task_group", "target", "direction",
                                                          "target_year", "due", "mean"]]
    return out.merge(est[["variable", *STAT_COLUMNS]], on="variable", how="left")


def indicator_changes(units: pd.DataFrame, instrument: Instrument, *, wave: str, baseline_wave: str,
                      population_dir: Path | None = None, lang: str = "vi") -> pd.DataFrame:
    """Change of every indicator from the baseline to *wave* within units (the panel).

    Returns
    -------
    DataFrame
        As `changes_since_baseline` (family ``indicators``), ``n`` = units with both values.

    Notes
    -----
    Units are a panel, so the change is the mean of each unit's own difference (paired), its
    SE from the units-in-organizations design; d = mean difference / pooled SD of the two
    waves.
    """
    names = [i.name for i in instrument.indicators if i.name in units.columns]
    a = units[units[WAVE] == baseline_wave].set_index("unit")
    b = units[units[WAVE] == wave].set_index("unit")
    both = a.index.intersection(b.index)
    diffs = (b.loc[both, names].astype("float64") - a.loc[both, names].astype("float64")).add_prefix("diff__")
    frame = pd.concat([b.loc[both, ["org"]], diffs], axis=1).reset_index()
    d = base_design(frame, instrument.name)
    rows = []
    for n in names:
        if not frame[f"diff__{n}"].notna().any():
            continue
        est = d.mean(f"diff__{n}").iloc[0]
        sa, sb = a.loc[both, n].astype("float64"), b.loc[both, n].astype("float64")
        pooled = np.sqrt((sa.var() + sb.var()) / 2)
        se = est["se"]
        z = est["estimate"] / se if se > 0 else np.nan
        rows.append({WAVE: wave, "baseline_wave": baseline_wave, "variable": n,
                     "estimate_a": sa.mean(), "estimate_b": sb.mean(), "estimate": est["estimate"],
                     "se": se, "ci_low": est["ci_low"], "ci_high": est["ci_high"], "n": float(est["n"]),
                     "z": z, "d": est["estimate"] / pooled if pooled > 0 else np.nan})
    out = pd.DataFrame(rows)
    from scipy import stats  # local: only this function needs the normal tail

    out["p_value"] = 2 * stats.norm.sf(np.abs(out["z"]))
    out["p_adjusted"] = compare.adjust_bh(out["p_value"].to_numpy())
    out["family"] = "indicators"
    out["significant"] = out["p_adjusted"] < ALPHA
    out["status"] = [significance_label(p, e, lang=lang) for p, e in zip(out["p_adjusted"], out["estimate"])]
    out["task_group"] = out["variable"].map({i.name: i.task_group for i in instrument.indicators})
    return out


def unit_task_matrix(units: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.DataFrame:
    """Per unit and task group: share of the group's targeted indicators the unit meets.

    Returns
    -------
    DataFrame
        ``[org, unit, task_group, estimate, n]`` (``n`` = targeted indicators with a value);
        task groups without a targeted indicator are NaN.
    """
    sub = units[units[WAVE] == wave]
    parts = []
    for ind in instrument.indicators:
        if ind.target is None or ind.name not in sub.columns:
            continue
        col = sub[ind.name]
        hit = (col >= ind.target) if ind.direction == "higher" else (col <= ind.target)
        parts.append(pd.DataFrame({"org": sub["org"], "unit": sub["unit"], "task_group": ind.task_group,
                                   "met": hit.astype("float64").where(col.notna())}))
    long = pd.concat(parts, ignore_index=True)
    out = long.groupby(["org", "unit", "task_group"], sort=True)["met"].agg(["mean", "count"]).reset_index()
    out = out.rename(columns={"mean": "estimate", "count": "n"})
    full = pd.MultiIndex.from_product([sorted(sub["unit"].dropna().unique()),
                                       [tg.number for tg in instrument.task_groups]], names=["unit", "task_group"])
    out = out.set_index(["unit", "task_group"]).reindex(full).reset_index()
    out["org"] = out["unit"].map(dict(zip(sub["unit"], sub["org"])))
    return out[["org", "unit", "task_group", "estimate", "n"]]


def implementation_index(units: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Each unit's plan implementation per wave: share of targeted indicators it meets.

    Returns
    -------
    DataFrame
        ``[wave, unit, implementation]`` (0–1), the exposure of the dose-response model.
    """
    parts = []
    for wave, sub in units.groupby(WAVE, sort=True):
        m = unit_task_matrix(sub, instrument, wave=wave)
        # every targeted indicator counts once, whatever its task group
        m = m.dropna(subset=["estimate"])
        tot = (m["estimate"] * m["n"]).groupby(m["unit"]).sum() / m["n"].groupby(m["unit"]).sum()
        parts.append(pd.DataFrame({WAVE: wave, "unit": tot.index, "implementation": tot.to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[WAVE, "unit", "implementation"])


def task_group_labels(instrument: Instrument, lang: str = "vi") -> dict[int, str]:
    """``{number: label}`` of the plan's six task groups."""
    return {tg.number: tg.label(lang) for tg in instrument.task_groups}


def unit_response(units: pd.DataFrame, *, population_dir: Path | None = None) -> pd.DataFrame:
    """Units that answered the unit survey, per wave and organization, against the frame.

    Returns
    -------
    DataFrame
        ``[wave, org, variable, estimate (share of units), n (units answering), units]``.
    """
    frame = population.load_units(population_dir).groupby("org").size().rename("units")
    got = units.groupby([WAVE, "org"]).size().rename("n").reset_index()
    got["units"] = got["org"].map(frame)
    got["estimate"] = got["n"] / got["units"]
    got["variable"] = "unit_response"
    got["n"] = got["n"].astype("float64")
    return got[[WAVE, "org", "variable", "estimate", "n", "units"]]


def indicator_units(instrument: Instrument) -> pd.DataFrame:
    """``[variable, unit]``: each indicator's unit (share, yes/no, count, per 100) for display."""
    return pd.DataFrame({"variable": [i.name for i in instrument.indicators],
                         "unit": [i.unit for i in instrument.indicators]})


def heatmap_input(matrix: pd.DataFrame, *, population_dir: Path | None = None) -> pd.DataFrame:
    """`unit_task_matrix` on a 0–100 scale, shaped for `protect_table` and `plots.heatmap`.

    ``n`` is the unit's membership in the frame: a unit's own report is about the unit, but a
    unit with fewer than k members is not shown on its own (its figures could describe people).
    """
    sizes = population.unit_sizes(population_dir)
    out = matrix.assign(variable="targets_met", estimate=matrix["estimate"] * 100.0,
                        n=matrix["unit"].map(sizes).astype("float64"), targets=matrix["n"])
    return out[["org", "unit", "task_group", "variable", "estimate", "n", "targets"]]


def task_group_short(instrument: Instrument, lang: str = "vi") -> dict[int, str]:
    """``{number: "NV1"}`` (vi) or ``"TG1"`` (en): short column labels for charts."""
    prefix = "NV" if lang == "vi" else "TG"
    return {tg.number: f"{prefix}{tg.number}" for tg in instrument.task_groups}


def indicator_change_sentences(changes: pd.DataFrame | None, labels: Mapping[str, str], *, table: str,
                               lang: str = "vi", only_significant: bool = True) -> list:
    """Sentences on indicator changes: shares in percentage points, counts in their unit."""
    from analysis.report import narrative

    if changes is None or changes.empty:
        return []
    rows = changes.rename(columns={"estimate": "difference"})
    if only_significant:
        rows = rows[significant_rows(rows)]
    out = []
    for _, row in rows.iterrows():
        # the instrument's unit decides the wording: a share in %, a count per unit in its noun
        measure = narrative.measure_for_unit(row.get("unit"))
        label = str(labels.get(row["variable"], row["variable"]))
        noun = narrative.count_noun_from_label(label) if measure == "count" else None
        if measure == "proportion":
            # narrative writes "Tỷ lệ …" itself: the label continues the sentence
            for prefix in ("Tỷ lệ ", "Share of "):
                if label.startswith(prefix):
                    label = label[len(prefix):]
            label = label[:1].lower() + label[1:]
        out.append(narrative.describe_change(row, label=label,
                                             wave_a=str(row["baseline_wave"]), wave_b=str(row[WAVE]), table=table,
                                             lang=lang, measure=measure, count_noun=noun))
    if not out:
        out = [{"vi": "Không chỉ tiêu cơ sở nào thay đổi có ý nghĩa thống kê.",
                "en": "No unit indicator changed significantly."}[lang]]
    return out
