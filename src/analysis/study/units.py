"""The unit survey (notebook 40): indicators, spread across units, attainment of the plan's
targets, changes, the units to follow up, the unit × task-group matrix and the implementation index.

The unit survey is a census of the frame's units: a share of units is a count ("54/103"), shown
as a count; when some units did not answer, the count of those that did and the worst-case /
best-case bounds, never a sampling interval (`indicator_attainment`). A change is computed on
the units with a value in both waves, its levels too, and a change of a share is in percentage
points (`indicator_changes`). The ``*_texts`` recipes turn a protected table into what the
reader sees, from its protected (rounded) numbers, so that what is printed adds up.

Why one module: every recipe is a table of notebook 40 and they share one set of census rules
(the frame's units, when a unit meets a target, which units a change pairs, how a hidden row is
withheld); split, those rules would be repeated or cross modules as private names.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis import disclosure, project
from analysis.instruments import Indicator, Instrument, population
from analysis.report import tables
from analysis.stats import compare
from analysis.study.base import ALPHA, STAT_COLUMNS, WAVE, by_columns, significance_label
from analysis.study.data import respondents_by_unit, unit_survey
from analysis.study.designs import base_design

__all__ = [
    "unit_indicators",
    "indicator_estimates",
    "indicator_texts",
    "indicator_spread",
    "ATTAINMENT_COUNT_COLUMNS",
    "CHANGE_COLUMNS",
    "FOLLOW_UP_COLUMNS",
    "indicator_attainment",
    "attainment_texts",
    "indicator_changes",
    "change_texts",
    "units_to_follow_up",
    "follow_up_withheld",
    "follow_up_note",
    "follow_up_texts",
    "unit_task_matrix",
    "implementation_index",
    "task_group_labels",
    "unit_response",
    "indicator_units",
    "heatmap_input",
    "task_group_short",
    "indicator_change_sentences",
    "meets_target",
    "target_due",
]


#: The lowest and highest value an indicator can take, by its instrument unit (counts have no top).
_RANGE = {"yes/no": (0.0, 1.0), "share": (0.0, 1.0)}
#: Instrument units whose change is in percentage points (a share of units or of people).
_POINT_UNITS = frozenset({"yes/no", "share"})


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
        task_group, n_yes]``; ``n_yes`` counts the units answering yes to a yes/no indicator
        (empty for the others). Every unit answers: the interval treats the year's values as one
        realisation of the process producing them (`indicator_texts` shows a yes/no indicator as
        its count instead).
    """
    names = [i.name for i in instrument.indicators if i.name in units.columns]
    parts = []
    for wave, sub in units.groupby(WAVE, sort=True):
        d = base_design(sub, instrument.name)
        answered = [n for n in names if sub[n].notna().any()]
        if answered:  # every indicator in one pass (same rows as one call per indicator)
            parts.append(d.mean(answered, by=by).assign(**{WAVE: wave}))
    out = pd.concat(parts, ignore_index=True)
    out["task_group"] = out["variable"].map({i.name: i.task_group for i in instrument.indicators})
    # a yes/no indicator is a share of units: the count of units saying yes is the exact figure
    yes_no = [i.name for i in instrument.indicators if i.unit == "yes/no" and i.name in names]
    keys = [WAVE, *by_columns(by)]
    counts = (units[[*keys, *yes_no]].melt(id_vars=keys, var_name="variable").dropna(subset=["value"])
              .assign(value=lambda t: t["value"].astype("float64").ge(0.5))
              .groupby([*keys, "variable"])["value"].sum().rename("n_yes").reset_index())
    out = out.merge(counts, on=[*keys, "variable"], how="left")
    return out[[*keys, "variable", *STAT_COLUMNS, "task_group", "n_yes"]]


def indicator_texts(protected: disclosure.ProtectedTable, *, lang: str = "vi") -> disclosure.ProtectedTable:
    """The protected `indicator_estimates` table (with the indicators' ``unit``) as the reader sees it.

    Adds ``value_text``: a yes/no indicator as the count of units, ``64/103 (62%)`` — a census
    count, no interval — and any other indicator as its mean with the 95% interval,
    ``2,16 (1,86–2,45)`` (a share in %), the interval left out when its two ends read the same.
    A hidden row shows the table's marker (``n<5``, ``x``) instead, and no interval or count.
    """
    t = protected.table

    def text(row: Mapping) -> str:
        if pd.isna(row["estimate"]):
            return ""
        pct = row["unit"] in _POINT_UNITS
        if row["unit"] == "yes/no" and pd.notna(row.get("n_yes")) and pd.notna(row["n"]):
            return f"{tables.format_count(row['n_yes'], row['n'], lang=lang)} " \
                   f"({tables.format_percent(row['estimate'], 0, lang=lang)})"
        main = tables.format_percent(row["estimate"], 0, lang=lang) if pct else \
            tables.format_number(row["estimate"], 2, lang=lang)
        if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
            return main
        lo, hi = (max(float(row["ci_low"]), 0.0), min(float(row["ci_high"]), 1.0)) if pct else \
            (float(row["ci_low"]), float(row["ci_high"]))
        decimals = 0 if pct else 2
        if tables.format_bounds(lo, hi, decimals, lang=lang, percent=pct).count("–") == 0:
            return main  # an interval whose two ends read the same says nothing
        return f"{main} ({tables.format_interval(lo, hi, decimals, lang=lang, percent=pct)})"

    out = _withhold(protected, {"value_text": [text(r) for r in t.to_dict("records")]}, numbers=["n_yes"])
    # a yes/no indicator is a count of every unit: no interval in the exported table either
    counted = out.table["unit"].eq("yes/no")
    out.table.loc[counted, ["se", "ci_low", "ci_high", "deff"]] = np.nan
    return out


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


#: Columns `indicator_attainment` adds to the core's: the census counts a reader can check.
ATTAINMENT_COUNT_COLUMNS = ["org", "unit", "per", "n_units", "n_responded", "n_answered", "n_not_concerned",
                            "n_missing", "n_met", "share", "share_low", "share_high", "mean_low", "mean_high"]

def meets_target(values: pd.Series, ind: Indicator) -> pd.Series:
    """Whether each value reaches *ind*'s target (``>=`` when higher is better); NaN stays NaN."""
    hit = values >= ind.target if ind.direction == "higher" else values <= ind.target
    return hit.astype("float64").where(values.notna())


def _frame(population_dir: Path | None) -> pd.DataFrame | None:
    """The frame's units (``unit_id, org, name_vi, name_en, members``), or None for a study without one."""
    folder = population_dir if population_dir is not None else project.load_study().frame
    return None if folder is None else population.load_units(folder)


def target_due(ind: Indicator, wave: str) -> bool:
    """Whether *ind*'s target year has come by *wave* (a target of 2025 is not judged in 2024)."""
    try:
        return ind.target_year is not None and int(str(wave)[:4]) >= int(ind.target_year)
    except ValueError:
        return False


def indicator_attainment(units: pd.DataFrame, instrument: Instrument, *, wave: str, by: str | None = None,
                         population_dir: Path | None = None) -> pd.DataFrame:
    """How many units meet each target in *wave*: census counts, never a sampling interval.

    The unit survey asks every unit of the frame (`analysis.instruments.population`), so a share
    of units is a count. For each indicator with a target, overall and, with *by* (``"org"``),
    per group of the frame:

    * ``n_units`` units in the frame, ``n_responded`` that answered the survey, ``n_answered``
      with a value of the indicator, ``n_not_concerned = n_responded − n_answered`` (the
      requirement does not apply: e.g. no breach to deal with), ``n_missing = n_units −
      n_responded`` (no answer), ``n_met`` at or beyond the target;
    * when every unit answered, ``share = n_met / n_answered`` exactly (``n_met / n_units``
      when every unit has a value) and ``share_low``/``share_high`` are empty;
    * when some did not answer, ``share`` is empty and the worst/best cases are
      ``share_low = n_met / (n_answered + n_missing)`` and ``share_high = (n_met + n_missing) /
      (n_answered + n_missing)``: every missing unit failing, or meeting it;
    * ``mean`` is the indicator over the units with a value (what a ``per: total`` target
      judges), with ``mean_low``/``mean_high`` for the missing units at the indicator's lowest
      and highest value when some did not answer (no top for a count: empty).

    Returns
    -------
    DataFrame
        ``[variable, task_group, target, direction, target_year, due, mean, estimate, se,
        ci_low, ci_high, n, deff]`` (the columns of earlier versions: ``estimate`` = ``n_met /
        n_answered``, ``n`` = ``n_answered``, no interval: ``se``, ``ci_low``, ``ci_high``,
        ``deff`` empty) + `ATTAINMENT_COUNT_COLUMNS` (``org`` empty in the overall rows, ``unit``
        the instrument's unit of the indicator, ``per`` what must reach the target). One row
        per targeted indicator overall (instrument order), then per group. Without a frame the
        units that answered are the units.

    Examples
    --------
    >>> from analysis import instruments
    >>> unit = instruments.load("unit")
    >>> ind = next(i for i in unit.indicators if i.target is not None and i.unit == "yes/no")
    >>> data = pd.DataFrame({"wave": "2025", "org": "CDVC", "unit": ["CDVC01", "CDVC02", "CDVC03"],
    ...                      ind.name: [1.0, 0.0, 1.0]})
    >>> row = indicator_attainment(data, unit, wave="2025").set_index("variable").loc[ind.name]
    >>> [int(row[c]) for c in ("n_met", "n_answered", "n_units", "n_missing")], f"{row['share_low']:.4f}"
    ([2, 3, 103, 100], '0.0194')
    >>> f"{row['share_high']:.4f}", bool(pd.isna(row["share"]))  # 100 did not answer: bounds only
    ('0.9903', True)
    """
    sub = units[units[WAVE] == wave]
    frame = _frame(population_dir)
    groups: list = [None]
    if by:
        present = set(sub[by].dropna())
        if frame is not None and by in frame.columns:
            present |= set(frame[by])
        order = {o: i for i, o in enumerate(population.ORGS)}
        groups += sorted(present, key=lambda g: (order.get(g, len(order)), str(g)))
    targeted = [i for i in instrument.indicators if i.target is not None and i.name in sub.columns]
    rows = []
    for key in groups:
        part = sub if key is None else sub[sub[by] == key]
        responded = int(part["unit"].nunique())
        if frame is None or (key is not None and by not in frame.columns):
            n_units = responded
        else:
            n_units = len(frame) if key is None else int((frame[by] == key).sum())
        missing = max(n_units - responded, 0)
        for ind in targeted:
            values = part[ind.name].astype("float64")
            answered = int(values.notna().sum())
            met = int(meets_target(values, ind).sum())
            base = answered + missing
            share = met / answered if answered and not missing else np.nan
            low = met / base if missing and base else np.nan
            high = (met + missing) / base if missing and base else np.nan
            mean = float(values.mean()) if answered else np.nan
            lo_v, hi_v = _RANGE.get(ind.unit, (0.0, np.nan))
            mean_low = (values.sum() + missing * lo_v) / base if missing and answered else np.nan
            mean_high = (values.sum() + missing * hi_v) / base if missing and answered else np.nan
            rows.append({"org": key, "variable": ind.name, "task_group": ind.task_group, "target": ind.target,
                         "direction": ind.direction, "target_year": ind.target_year, "due": target_due(ind, wave),
                         "mean": mean, "estimate": met / answered if answered else np.nan, "se": np.nan,
                         "ci_low": np.nan, "ci_high": np.nan, "n": float(answered), "deff": np.nan,
                         "unit": ind.unit, "per": ind.target_per or "unit", "n_units": n_units,
                         "n_responded": responded, "n_answered": answered, "n_not_concerned": responded - answered,
                         "n_missing": missing, "n_met": met, "share": share, "share_low": low, "share_high": high,
                         "mean_low": mean_low, "mean_high": mean_high})
    columns = ["variable", "task_group", "target", "direction", "target_year", "due", "mean", *STAT_COLUMNS,
               *ATTAINMENT_COUNT_COLUMNS]
    out = pd.DataFrame(rows, columns=columns)
    out["target_year"] = out["target_year"].astype("Int64")
    shares = ["mean", "share", "share_low", "share_high", "mean_low", "mean_high"]
    out[shares] = out[shares].astype("float64").round(4)  # a share of units to 0.01 percentage point
    return out


def _withhold(protected: disclosure.ProtectedTable, texts: Mapping[str, Sequence[str]],
              numbers: Sequence[str] = ()) -> disclosure.ProtectedTable:
    """*protected* with text columns added; in a hidden row the first of them shows the table's
    marker (``n<5``, ``x``), the others and every one of *numbers* are emptied."""
    out = protected.table.copy()
    hidden = out["suppressed"].astype(bool) if "suppressed" in out.columns else pd.Series(False, index=out.index)
    notes = out["note"] if "note" in out.columns else pd.Series("", index=out.index)
    for k, (name, values) in enumerate(texts.items()):
        out[name] = pd.Series(list(values), index=out.index, dtype="object").where(~hidden, notes if k == 0 else None)
    for name in numbers:
        if name in out.columns:
            out[name] = out[name].astype("float64").where(~hidden)
    for low, high in (("ci_low", "ci_high"), ("share_low", "share_high"), ("mean_low", "mean_high")):
        if low in out.columns and high in out.columns:
            # an interval whose two ends are equal says nothing: neither end is exported
            same = out[low].astype("float64").eq(out[high].astype("float64"))
            out[[low, high]] = out[[low, high]].astype("float64").where(~same)
    return dataclasses.replace(protected, table=out)


def attainment_texts(protected: disclosure.ProtectedTable, *, lang: str = "vi") -> disclosure.ProtectedTable:
    """The protected `indicator_attainment` table with what the reader sees, as text.

    Adds ``attained`` (``54/103``: units at the target out of the units with a value),
    ``share_text`` (the exact share ``52%`` when every unit answered, else the worst–best
    bounds ``48%–53%``; never two equal ends), ``answered`` (``103/103`` units that answered
    the survey) and ``value_text`` (the mean over units with a value, in the indicator's unit;
    its bounds when some did not answer). A hidden row shows only the marker
    (``n<5``, ``x``) in ``attained``: no other text, count, share or mean.
    """
    t = protected.table
    pct = t["unit"].isin(_POINT_UNITS)
    share = [tables.format_percent(s, 0, lang=lang) if pd.notna(s) else tables.format_bounds(lo, hi, 0, lang=lang)
             for s, lo, hi in zip(t["share"], t["share_low"], t["share_high"])]
    value = [(tables.format_percent(m, 0, lang=lang) if p else tables.format_number(m, 2, lang=lang, missing=""))
             if pd.isna(lo) and pd.isna(hi) else tables.format_bounds(lo, hi, 0 if p else 2, lang=lang, percent=p)
             for m, lo, hi, p in zip(t["mean"], t["mean_low"], t["mean_high"], pct)]
    return _withhold(protected, {
        "attained": [tables.format_count(m, a, lang=lang) for m, a in zip(t["n_met"], t["n_answered"])],
        "share_text": share,
        "answered": [tables.format_count(r, u, lang=lang) for r, u in zip(t["n_responded"], t["n_units"])],
        "value_text": value,
    }, numbers=[c for c in ATTAINMENT_COUNT_COLUMNS if c.startswith(("n_", "share", "mean"))] + ["mean"])


#: Columns of `indicator_changes` (the shape of `changes_since_baseline`, family ``indicators``).
CHANGE_COLUMNS = [WAVE, "baseline_wave", "variable", "estimate_a", "estimate_b", "estimate", "se", "ci_low",
                  "ci_high", "n", "z", "d", "p_value", "p_adjusted", "family", "significant", "status", "task_group",
                  "n_pairs", "n_a", "n_b", "points"]


def indicator_changes(units: pd.DataFrame, instrument: Instrument, *, wave: str, baseline_wave: str,
                      population_dir: Path | None = None, lang: str = "vi") -> pd.DataFrame:
    """Change of every indicator from the baseline to *wave* within units (the panel).

    Returns
    -------
    DataFrame
        `CHANGE_COLUMNS`, as `changes_since_baseline` (family ``indicators``). ``estimate_a``
        and ``estimate_b`` are the two waves' means over the *same* units — those with a value in
        both waves — so ``estimate = estimate_b − estimate_a`` exactly; ``n`` = ``n_pairs`` =
        those units; ``n_a``/``n_b`` the units with a value in each wave (all of them, for
        reference). ``points`` is True for a share or yes/no indicator: its change is in
        percentage points, and it has no effect size (``d`` empty: Cohen's d means nothing for a
        yes/no answer); for counts and rates ``d`` = mean difference / pooled SD of the two waves
        on the paired units.

    Notes
    -----
    Units are a panel, so the change is the mean of each unit's own difference (paired), its
    SE from the units-in-organizations design. Every unit is surveyed: the test treats each
    year's values of the units as one realisation of the process that produces them, and asks
    whether the mean within-unit difference is larger than that process's year-to-year noise.
    """
    names = [i.name for i in instrument.indicators if i.name in units.columns]
    info = {i.name: i for i in instrument.indicators}
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
        paired = sa.notna() & sb.notna()
        sa, sb = sa[paired], sb[paired]
        points = info[n].unit in _POINT_UNITS
        pooled = np.sqrt((sa.var() + sb.var()) / 2)
        se = est["se"]
        z = est["estimate"] / se if se > 0 else np.nan
        rows.append({WAVE: wave, "baseline_wave": baseline_wave, "variable": n,
                     "estimate_a": sa.mean(), "estimate_b": sb.mean(), "estimate": est["estimate"],
                     "se": se, "ci_low": est["ci_low"], "ci_high": est["ci_high"], "n": float(est["n"]),
                     "z": z, "d": np.nan if points or not pooled > 0 else est["estimate"] / pooled,
                     "n_pairs": int(paired.sum()), "n_a": int(a[n].notna().sum()), "n_b": int(b[n].notna().sum()),
                     "points": points})
    out = pd.DataFrame(rows, columns=[c for c in CHANGE_COLUMNS if c not in ("p_value", "p_adjusted", "family",
                                                                           "significant", "status", "task_group")])
    from scipy import stats  # local: only this function needs the normal tail

    out["p_value"] = 2 * stats.norm.sf(np.abs(out["z"].astype("float64")))
    out["p_adjusted"] = compare.adjust_bh(out["p_value"].to_numpy())
    out["family"] = "indicators"
    out["significant"] = out["p_adjusted"] < ALPHA
    out["status"] = [significance_label(p, e, lang=lang) for p, e in zip(out["p_adjusted"], out["estimate"])]
    out["task_group"] = out["variable"].map({i.name: i.task_group for i in instrument.indicators})
    return out[CHANGE_COLUMNS]


def change_texts(protected: disclosure.ProtectedTable, *, lang: str = "vi") -> disclosure.ProtectedTable:
    """The protected `indicator_changes` table with the printed levels and change, as text.

    Adds ``level_a``/``level_b`` (``51%`` or ``2,16``), ``change_text`` (``+29 điểm %`` for a
    share or yes/no indicator, ``+0,30`` for a count) and ``ci_text`` (its interval, signed
    ends), all from the protected (rounded) numbers, so the printed change is the difference
    of the printed levels within rounding. A hidden row shows only the marker in ``level_a``.
    """
    t = protected.table
    points = t["points"].astype(bool)
    level = [[tables.format_percent(v, 0, lang=lang) if p else tables.format_number(v, 2, lang=lang)
              for v, p in zip(t[c], points)] for c in ("estimate_a", "estimate_b")]
    return _withhold(protected, {
        "level_a": level[0], "level_b": level[1],
        "change_text": [tables.format_change(v, lang=lang, points=p) for v, p in zip(t["estimate"], points)],
        "ci_text": [tables.format_change_interval(lo, hi, lang=lang, points=p)
                    for lo, hi, p in zip(t["ci_low"], t["ci_high"], points)],
    }, numbers=["d", "z", "p_value", "n_pairs", "n_a", "n_b"])


#: Columns of `units_to_follow_up`.
FOLLOW_UP_COLUMNS = ["org", "unit", "name", "task_group", "variable", "label", "indicator_unit", "target",
                     "direction", "target_year", "value", "reason", "status", "estimate", "n"]

_REASONS = {"not_met": ("Chưa đạt", "Not met"), "no_answer": ("Chưa trả lời phiếu", "Did not answer the survey")}


def units_to_follow_up(units: pd.DataFrame, instrument: Instrument, *, wave: str,
                       population_dir: Path | None = None, lang: str = "vi",
                       withheld: Sequence[str] = ()) -> pd.DataFrame:
    """Every unit that does not meet a per-unit requirement in *wave*, for the Bloc's committee.

    A per-unit requirement is a target with ``per: unit`` due by *wave*. A unit is listed for it
    when its value misses the target (``reason`` ``not_met``) or when it is in the frame but did
    not answer the survey (``no_answer``: nothing shows that it meets it). A unit to which the
    requirement does not apply (no value although it answered) is not listed. These are facts
    the unit's committee reported about the unit; no member-derived value is attached. The units
    in *withheld* (`follow_up_withheld`) are not listed.

    Returns
    -------
    DataFrame
        `FOLLOW_UP_COLUMNS`: the unit's code and ``name`` from the frame (in *lang*), the
        requirement (``label`` in *lang*, ``indicator_unit`` its unit, ``target``) and the unit's
        ``value``; ``status`` the reason in words; ``estimate`` = ``value`` and ``n`` = the unit's
        members in the frame (what `analysis.disclosure.protect_table` reads: a unit with fewer
        than k members is not shown on its own). Sorted by task group, requirement (instrument
        order), organization and unit.
    """
    sub = units[units[WAVE] == wave]
    frame = _frame(population_dir)
    if frame is None:
        frame = pd.DataFrame({"unit_id": sub["unit"], "org": sub["org"], "name_vi": sub["unit"],
                              "name_en": sub["unit"], "members": np.nan})
    names = dict(zip(frame["unit_id"], frame["name_en" if lang == "en" else "name_vi"]))
    members = dict(zip(frame["unit_id"], frame["members"].astype("float64")))
    orgs = dict(zip(frame["unit_id"], frame["org"]))
    answered = set(sub["unit"])
    answered_orgs = dict(zip(sub["unit"][::-1], sub["org"][::-1]))  # a unit's first row wins
    not_named = set(withheld)
    org_order = {o: i for i, o in enumerate(population.ORGS)}
    rows = []
    for order, ind in enumerate(instrument.indicators):
        if ind.target is None or (ind.target_per or "unit") != "unit" or ind.name not in sub.columns \
                or not target_due(ind, wave):
            continue
        values = sub.set_index("unit")[ind.name].astype("float64")
        missed = values[meets_target(values, ind).eq(0.0)]
        listed = [(u, v, "not_met") for u, v in missed.items()]
        listed += [(u, np.nan, "no_answer") for u in frame["unit_id"] if u not in answered]
        for unit, value, reason in [r for r in listed if r[0] not in not_named]:
            org = orgs[unit] if unit in orgs else answered_orgs.get(unit)
            rows.append({"org": org, "unit": unit, "name": names.get(unit, unit), "task_group": ind.task_group,
                         "variable": ind.name, "label": ind.label(lang), "indicator_unit": ind.unit,
                         "target": ind.target, "direction": ind.direction, "target_year": ind.target_year,
                         "value": value, "reason": reason, "status": _REASONS[reason][lang == "en"],
                         "estimate": value, "n": members.get(unit, np.nan), "_order": order,
                         "_org": org_order.get(org, len(org_order))})
    out = pd.DataFrame(rows, columns=[*FOLLOW_UP_COLUMNS, "_order", "_org"])
    out = out.sort_values(["task_group", "_order", "_org", "unit"], kind="stable").reset_index(drop=True)
    out["target_year"] = out["target_year"].astype("Int64")
    return out[FOLLOW_UP_COLUMNS]


def follow_up_withheld(instrument: str, wave: str, *, k: int, processed_dir: Path | None = None,
                       population_dir: Path | None = None) -> list[str]:
    """The units a report of *instrument* does not name in the list of units to follow up.

    None in the unit survey's own report (the report for the Bloc's committee: facts about
    units). In a report of the members those units describe, the units with fewer than *k* of
    its respondents in *wave*: there a unit's name sits beside member statistics, and a unit
    with fewer than k respondents is never named with a number (the full list is in the unit
    report).
    """
    if unit_survey(instrument) in (None, instrument):
        return []
    counts = respondents_by_unit(instrument, wave, processed_dir=processed_dir)
    frame = _frame(population_dir)
    every = list(frame["unit_id"]) if frame is not None else list(counts.index)
    return sorted(u for u in every if int(counts.get(u, 0)) < k)


def follow_up_note(withheld: Sequence[str], *, k: int, lang: str = "vi") -> str:
    """The note under the list: whose facts they are, and how many units are not named here."""
    note = {"vi": "thông tin về cơ sở do ban chấp hành cơ sở báo cáo; cơ sở không thuộc diện của yêu cầu không được "
                  "liệt kê.",
            "en": "facts reported by each unit's committee; units to which a requirement does not apply are not "
                  "listed."}[lang]
    if withheld:
        note += {"vi": f" {len(withheld)} cơ sở có ít hơn {k} đoàn viên, hội viên trả lời phiếu không được nêu tên ở "
                       "báo cáo này; danh sách đầy đủ ở báo cáo khảo sát cơ sở.",
                 "en": f" {len(withheld)} units with fewer than {k} member respondents are not named in this report; "
                       "the full list is in the unit-survey report."}[lang]
    return note


def follow_up_texts(protected: disclosure.ProtectedTable, *, lang: str = "vi") -> disclosure.ProtectedTable:
    """The protected `units_to_follow_up` table with ``value_text`` and ``target_text``: a yes/no
    as "không"/"no", a share as ``40%``, a count as ``1``; a hidden row shows only the marker."""
    t = protected.table
    no = {"vi": ("không", "có"), "en": ("no", "yes")}[lang]

    def shown(v: float, unit: str) -> str:
        if pd.isna(v):
            return ""
        if unit == "yes/no":
            return no[int(v >= 0.5)]
        if unit in _POINT_UNITS:
            return tables.format_percent(v, 0, lang=lang)
        return tables.format_number(int(v) if float(v).is_integer() else float(v), None if float(v).is_integer()
                                    else 2, lang=lang)

    return _withhold(protected, {
        "value_text": [shown(v, u) for v, u in zip(t["estimate"], t["indicator_unit"])],
        "target_text": [shown(v, u) for v, u in zip(t["target"], t["indicator_unit"])],
    }, numbers=["value"])


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
    """A few sentences on indicator changes (rose, fell, unchanged): shares in percentage points,
    counts in their unit, each with both levels; see `analysis.study.impact.grouped_change_sentences`."""
    from analysis.report import narrative
    from analysis.study.impact import INDICATOR_NOUN, grouped_change_sentences

    if changes is None or changes.empty:
        return []
    measures, nouns, pairs_note = {}, {}, {}
    for _, row in changes.drop_duplicates("variable").iterrows():  # one per indicator, not per unit
        var = str(row["variable"])
        # the instrument's unit decides the wording: a share in %, a count per unit in its noun
        measures[var] = narrative.measure_for_unit(row.get("unit"))
        nouns[var] = narrative.count_noun_from_label(str(labels.get(var, var))) if measures[var] == "count" else None
        pairs, n_b = row.get("n_pairs"), row.get("n_b")
        if pd.notna(pairs) and pd.notna(n_b) and pairs < n_b:
            # the levels are those of the units compared, not of every unit of the wave: say so
            pairs_note[var] = int(pairs)
    return grouped_change_sentences(changes, labels, table=table, lang=lang, measure=measures,
                                    only_significant=only_significant, noun=INDICATOR_NOUN,
                                    count_nouns=nouns, pairs_note=pairs_note)
