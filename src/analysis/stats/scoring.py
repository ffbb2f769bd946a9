"""Recoding, reverse keys, construct scores and unit indicators — all driven by the instrument.

Input is a processed wave (CONTRIBUTING.md): one column per item, choice codes as strings,
integers as nullable ``Int64``. Nothing here knows an item name: the choice lists say which
code means which number and which codes are missing ("Không biết / không trả lời" → NaN, never
averaged); the items say which are reverse-keyed and which construct they measure; the unit
survey's indicators carry their own formulas.

Examples
--------
>>> import pandas as pd
>>> from analysis.instruments import load
>>> member = load("member")
>>> sat = [i.name for i in member.construct_items("sat")]      # find items via the instrument
>>> df = pd.DataFrame({sat[0]: ["5", "9"], sat[1]: ["4", "2"], sat[2]: ["2", "1"], sat[3]: ["4", "9"]})
>>> score_constructs(df, member, constructs=["sat"])["sat"].round(3).tolist()  # reverse item: 6 - x
[4.25, nan]
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from analysis.instruments import Instrument

__all__ = [
    "reverse_key",
    "recode_items",
    "score_constructs",
    "compute_indicators",
    "indicator_attainment",
]

_NUMERIC_TYPES = frozenset({"integer", "decimal"})


def reverse_key(values: pd.Series | np.ndarray | float, low: float, high: float):
    """Reverse a score on the scale ``[low, high]``: ``low + high − x`` (6 − x on 1–5).

    Applying it twice gives the values back; NaN stays NaN.

    Examples
    --------
    >>> reverse_key(pd.Series([1.0, 2.0, float("nan"), 5.0]), 1, 5).tolist()
    [5.0, 4.0, nan, 1.0]
    """
    return (low + high) - values


def _coded_values(series: pd.Series, column: str, values: dict, missing: set, list_name: str) -> np.ndarray:
    """The numbers of a column of choice codes (missing codes and blanks → NaN); each distinct
    code is checked and looked up once. Refuses non-string codes and codes that are neither in
    *values* nor *missing*."""
    which, distinct = pd.factorize(series)  # distinct codes in order of appearance; blank → -1
    distinct = np.asarray(distinct, dtype=object)

    def refuse(bad: list[int], what: str) -> None:
        rows = np.flatnonzero(np.isin(which, bad))
        value = series.iloc[rows[0]]
        value = value.item() if isinstance(value, np.generic) else value  # show 5, not np.int64(5)
        raise ValueError(f"column {column!r}, row {series.index[rows[0]]!r}: value {value!r} {what}; "
                         f"{len(rows)} such value(s)")

    not_text = [k for k, v in enumerate(distinct) if not isinstance(v, str)]
    if not_text:
        refuse(not_text, "is not a choice code string (rule: choice codes are strings, e.g. '1')")
    unknown = [k for k, v in enumerate(distinct) if v not in values and v not in missing]
    if unknown:
        refuse(unknown, f"is not a code of choice list {list_name!r} (allowed: "
                        f"{', '.join(list(values) + sorted(missing))})")
    # one slot more for the blanks (-1 takes the last)
    table = np.array([float(values[v]) if v in values else np.nan for v in distinct] + [np.nan])
    return table[which]


def recode_items(df: pd.DataFrame, instrument: Instrument, *, reverse: bool = True,
                 items: Iterable[str] | None = None) -> pd.DataFrame:
    """Turn choice codes into numbers as the instrument defines them.

    Parameters
    ----------
    df : DataFrame
        A processed wave: item columns hold choice codes as strings.
    instrument : Instrument
        The instrument (version) the wave used.
    reverse : bool, default True
        Apply reverse keys (``low + high − x``, from the item's choice list) to reverse items.
    items : iterable of str, optional
        Item columns to recode; default every item column present in *df*.

    Returns
    -------
    DataFrame
        A copy of *df* in which select items whose list has numeric values are float
        (missing codes and blanks → NaN) and integer/decimal items are float; other columns
        are unchanged.

    Raises
    ------
    ValueError
        A code that is not in the item's choice list, or a non-string code (column, row and
        value named).

    Examples
    --------
    >>> from analysis.instruments import load
    >>> unit = load("unit")
    >>> yn = [i.name for i in unit.items if i.list_name == "yesno"][0]
    >>> recode_items(pd.DataFrame({yn: ["yes", "no", None]}), unit)[yn].tolist()
    [1.0, 0.0, nan]
    """
    out = df.copy()
    names = [c for c in (items if items is not None else df.columns) if instrument.has_item(c)]
    for name in names:
        item = instrument.item(name)
        if item.base_type == "select_one" and item.list_name is not None:
            values = instrument.choice_values(item.list_name)
            if not values:
                continue  # nominal list (org, unit, sex…): codes stay codes
            missing = set(instrument.missing_codes(item.list_name))
            numeric = pd.Series(_coded_values(df[name], name, values, missing, item.list_name),
                                index=df.index, dtype="float64")  # missing codes map to NaN
            if reverse and item.reverse:
                low, high = instrument.scale_range(item.list_name)
                numeric = reverse_key(numeric, low, high)
            out[name] = numeric
        elif item.base_type in _NUMERIC_TYPES:
            col = df[name]
            if not (pd.api.types.is_numeric_dtype(col) or col.isna().all()):
                raise ValueError(f"column {name!r}: expected numbers for {item.type} item, got dtype {col.dtype}")
            out[name] = col.astype("Float64").astype("float64")
    return out


def score_constructs(df: pd.DataFrame, instrument: Instrument, *, scale: str = "mean",
                     constructs: Iterable[str] | None = None) -> pd.DataFrame:
    """Construct scores: mean of the answered items when at least ``min_items`` are answered.

    Parameters
    ----------
    df : DataFrame
        A processed wave (choice codes as strings).
    instrument : Instrument
    scale : {"mean", "0-100"}
        ``mean`` keeps the item scale (1–5); ``0-100`` maps it linearly,
        ``(mean − low) / (high − low) × 100``.
    constructs : iterable of str, optional
        Constructs to score; default all of the instrument's.

    Returns
    -------
    DataFrame
        One float column per construct (named as the construct), aligned to ``df.index``.
        NaN where fewer than ``min_items`` items are answered (missing codes do not count).

    Notes
    -----
    Reverse-keyed items are reversed first (``low + high − x``). Mean-of-available scoring is
    the usual convention (e.g. R ``psych::scoreItems(impute="none")``) with a minimum number of
    answered items set per construct in the YAML.

    Examples
    --------
    >>> from analysis.instruments import load
    >>> member = load("member")
    >>> ren = [i.name for i in member.construct_items("ren")]
    >>> df = pd.DataFrame({n: ["3"] for n in ren})
    >>> score_constructs(df, member, scale="0-100", constructs=["ren"])["ren"].tolist()
    [50.0]
    """
    if scale not in ("mean", "0-100"):
        raise ValueError(f"scale must be 'mean' or '0-100', not {scale!r}")
    wanted = list(constructs) if constructs is not None else [c.name for c in instrument.constructs]
    out = pd.DataFrame(index=df.index)
    for cname in wanted:
        construct = instrument.construct(cname)
        items = instrument.construct_items(cname)
        absent = [i.name for i in items if i.name not in df.columns]
        if absent:
            raise ValueError(f"construct {cname!r}: item column(s) {', '.join(absent)} missing from the data")
        names = [i.name for i in items]
        values = recode_items(df[names], instrument, reverse=True)[names].astype("float64")
        answered = values.notna().sum(axis=1)
        score = values.mean(axis=1, skipna=True).where(answered >= construct.min_items)
        if scale == "0-100":
            low, high = instrument.scale_range(items[0].list_name)  # one list per construct (checked)
            score = (score - low) / (high - low) * 100.0
        out[cname] = score.astype("float64")
    return out


def compute_indicators(df: pd.DataFrame, instrument: Instrument, *,
                       indicators: Iterable[str] | None = None) -> pd.DataFrame:
    """Unit-survey indicators from their formulas, vectorised with ``DataFrame.eval``.

    Parameters
    ----------
    df : DataFrame
        A processed unit-survey wave (one row per unit).
    instrument : Instrument
        The unit instrument (or any instrument with indicators).
    indicators : iterable of str, optional
        Indicators to compute; default all. Every item an indicator uses must be a column of
        *df* (ValueError otherwise).

    Returns
    -------
    DataFrame
        One float column per indicator, aligned to ``df.index``. Comparisons (``x >= 3``) give
        1.0/0.0. ``result.attrs["notes"]`` lists, per indicator, rows where a division by zero
        (or another non-finite result) was set to NaN.

    Notes
    -----
    Select answers enter formulas as their choice ``value`` (yes = 1, no = 0); missing codes
    and blanks as NaN. An indicator is NaN for a row when any item it uses is NaN — for
    example an item skipped by its ``relevant`` condition — so a share is computed among
    the units the question applies to.

    Examples
    --------
    >>> from analysis.instruments import load
    >>> unit = load("unit")
    >>> ind = unit.indicator("ui_dig_share")
    >>> num, den = ind.items
    >>> df = pd.DataFrame({num: pd.array([50, 0, 3], dtype="Int64"), den: pd.array([100, 0, None], dtype="Int64")})
    >>> res = compute_indicators(df, unit, indicators=["ui_dig_share"])
    >>> res["ui_dig_share"].tolist()
    [0.5, nan, nan]
    >>> res.attrs["notes"]
    ["indicator 'ui_dig_share': division by zero (or non-finite result) in 1 row(s), set to NaN: index 1"]
    """
    notes: list[str] = []
    out = pd.DataFrame(index=df.index)
    wanted = [instrument.indicator(n) for n in indicators] if indicators is not None else instrument.indicators
    for ind in wanted:
        absent = [n for n in ind.items if n not in df.columns]
        if absent:
            raise ValueError(f"indicator {ind.name!r}: item column(s) {', '.join(absent)} missing from the data")
        frame = recode_items(df[list(ind.items)], instrument, reverse=False)[list(ind.items)].astype("float64")
        with np.errstate(all="ignore"):
            result = frame.eval(ind.formula, engine="python")
        if not isinstance(result, pd.Series):
            result = pd.Series(result, index=df.index)
        result = result.astype("float64")
        incomplete = frame.isna().any(axis=1)
        result = result.where(~incomplete)
        bad = ~incomplete & ~np.isfinite(result)
        if bad.any():
            rows = ", ".join(str(r) for r in list(df.index[bad.to_numpy()])[:10])
            more = " …" if bad.sum() > 10 else ""
            notes.append(f"indicator '{ind.name}': division by zero (or non-finite result) in {int(bad.sum())} "
                         f"row(s), set to NaN: index {rows}{more}")
            result = result.where(~bad)
        out[ind.name] = result
    out.attrs["notes"] = notes
    return out


def indicator_attainment(values: pd.DataFrame, instrument: Instrument, *, wave: int | str) -> pd.DataFrame:
    """How many units meet each indicator's target in *wave*.

    Parameters
    ----------
    values : DataFrame
        Output of `compute_indicators` (one row per unit).
    instrument : Instrument
    wave : int or str
        The wave's year; a target is ``due`` when ``wave >= target_year``.

    Returns
    -------
    DataFrame
        Columns ``indicator, task_group, unit, direction, target, target_year, per, due, n, mean,
        n_met, share_met`` (one row per indicator, instrument order); ``per`` says what must reach
        the target (``unit``: every unit, ``total``: the mean over units). ``n`` counts units with a
        value; ``n_met`` those at or beyond the target (``>=`` when higher is better, ``<=``
        when lower is). Without a target, ``n_met`` and ``share_met`` are missing.

    Examples
    --------
    >>> from analysis.instruments import load
    >>> unit = load("unit")
    >>> vals = pd.DataFrame({"ui_ldr_sessions": [0.0, 2.0, 3.0, float("nan")]})
    >>> row = indicator_attainment(vals, unit, wave=2024).iloc[0]
    >>> int(row["n"]), int(row["n_met"]), float(row["share_met"]), bool(row["due"])
    (3, 2, 0.6666666666666666, True)
    """
    year = int(wave)
    rows = []
    for ind in instrument.indicators:
        if ind.name not in values.columns:
            continue
        col = values[ind.name].astype("float64")
        n = int(col.notna().sum())
        if ind.target is None:
            n_met, share = pd.NA, np.nan
        else:
            met = col >= ind.target if ind.direction == "higher" else col <= ind.target
            n_met = int((met & col.notna()).sum())
            share = n_met / n if n else np.nan
        rows.append({
            "indicator": ind.name, "task_group": ind.task_group, "unit": ind.unit,
            "direction": ind.direction,
            "target": np.nan if ind.target is None else ind.target,
            "target_year": pd.NA if ind.target_year is None else ind.target_year,
            "per": ind.target_per,
            "due": bool(ind.target_year is not None and year >= ind.target_year),
            "n": n, "mean": float(col.mean()) if n else np.nan,
            "n_met": n_met, "share_met": share,
        })
    out = pd.DataFrame(rows, columns=["indicator", "task_group", "unit", "direction", "target", "target_year",
                                      "per", "due", "n", "mean", "n_met", "share_met"])
    out["target_year"] = out["target_year"].astype("Int64")
    out["n_met"] = out["n_met"].astype("Int64")
    return out
