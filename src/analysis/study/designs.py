"""The design of each wave (base weights, strata, fpc, raking to the frame's margins) and the estimates every notebook draws from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from analysis.instruments import population
from analysis.stats import weighting
from analysis.stats.design import SurveyDesign
from analysis.study.base import FLAGGED, STAT_COLUMNS, WAVE, by_columns

__all__ = [
    "WaveDesign",
    "wave_design",
    "designs_by_wave",
    "estimate_means",
    "estimate_with_total",
    "raked_weights",
]


@dataclass(frozen=True)
class WaveDesign:
    """One wave's design before and after raking, with what was done and why.

    Attributes
    ----------
    wave : str
    base : SurveyDesign
        Base weights (unit size / respondents in the unit), strata = unit, fpc = unit size.
    design : SurveyDesign
        ``base`` raked to the frame's margins (the design every estimate uses).
    margins : dict
        The margins raked to (``{column: {level: count}}``).
    notes : tuple of str
        Margins left out and why (e.g. a column with missing answers).
    """

    wave: str
    base: SurveyDesign
    design: SurveyDesign
    margins: Mapping[str, Mapping[str, int]] = field(repr=False)
    notes: tuple[str, ...] = ()


def wave_design(data: pd.DataFrame, *, exclude_flagged: bool = False,
                population_dir: Path | None = None) -> WaveDesign:
    """The project's design for one wave's respondents (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        One wave of `load_member` (needs ``unit``, ``unit_size``, ``org``, ``sex``, ``party``).
    exclude_flagged : bool
        Leave out rows with a quality flag (the base weights are then recomputed).
    population_dir : path, optional

    Returns
    -------
    WaveDesign

    Notes
    -----
    A unit with one respondent is a lonely stratum: ``lonely_psu="adjust"`` (conservative, as
    R's ``survey.lonely.psu = "adjust"``). A raking margin whose column has missing answers is
    skipped (a missing answer has no population target) and the note says so.
    """
    df = data[~data[FLAGGED]] if exclude_flagged else data
    df = df[df["unit"].notna()].copy()
    df["base_weight"] = df["unit_size"] / df.groupby("unit")["unit"].transform("size")
    base = SurveyDesign(df, weights="base_weight", strata="unit", fpc="unit_size", lonely_psu="adjust")
    wanted = population.margins(population_dir)
    notes = []
    margins = {}
    for column, targets in wanted.items():
        if column not in df.columns or df[column].isna().any():
            notes.append(f"{column}: not raked ({int(df[column].isna().sum()) if column in df else 'no'} "
                         "missing answers)")
            continue
        margins[column] = targets
    design = weighting.rake(base, margins) if margins else base
    wave = str(df[WAVE].iloc[0]) if len(df) else ""
    return WaveDesign(wave=wave, base=base, design=design, margins=margins, notes=tuple(notes))


def designs_by_wave(data: pd.DataFrame, *, exclude_flagged: bool = False,
                    population_dir: Path | None = None) -> dict[str, WaveDesign]:
    """`wave_design` for every wave of *data*, keyed by wave (oldest first)."""
    return {w: wave_design(data[data[WAVE] == w], exclude_flagged=exclude_flagged, population_dir=population_dir)
            for w in sorted(data[WAVE].unique())}


def estimate_means(designs: Mapping[str, WaveDesign], variables: Sequence[str], *,
                   by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Weighted means of *variables* in every wave (and domain).

    Returns
    -------
    DataFrame
        ``[wave, *by, variable, estimate, se, ci_low, ci_high, n, deff]``, waves oldest first,
        variables in the order given; a variable that a wave does not have is left out for it.
    """
    cols = [WAVE, *by_columns(by), "variable", *STAT_COLUMNS]
    parts = []
    for wave, wd in designs.items():
        for var in variables:
            if var not in wd.design.data.columns or wd.design.data[var].isna().all():
                continue
            est = wd.design.mean(var, by=by)
            parts.append(est.assign(**{WAVE: wave}))
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)[cols]
    return out.dropna(subset=[c for c in by_columns(by)]).reset_index(drop=True)


def raked_weights(members: pd.DataFrame, designs: Mapping[str, WaveDesign]) -> pd.Series:
    """Each respondent's raked weight from their wave's design (NaN where not in a design)."""
    parts = [wd.design.weights for wd in designs.values()]
    weights = pd.concat(parts) if parts else pd.Series(dtype="float64")
    return weights.reindex(members.index)


def estimate_with_total(designs: Mapping[str, WaveDesign], variables: Sequence[str], *, by: str) -> pd.DataFrame:
    """`estimate_means` by *by* with the overall rows added (``by`` missing = the total)."""
    total = estimate_means(designs, variables).assign(**{by: None})
    parts = estimate_means(designs, variables, by=by)
    out = pd.concat([total, parts], ignore_index=True)
    return out[[WAVE, by, "variable", *STAT_COLUMNS]]
