"""Data quality and response (notebook 10): response rates against the frame, sample composition before and after weighting, weight diagnostics, what flagged rows change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from analysis.instruments import population
from analysis.stats import weighting
from analysis.stats.design import SurveyDesign
from analysis.study.base import STAT_COLUMNS, WAVE, wave_rows
from analysis.study.designs import WaveDesign, design_columns, designs_by_wave, estimate_means

__all__ = [
    "response_rates",
    "sample_composition",
    "weight_summary",
    "quality_effect",
]


def response_rates(data: pd.DataFrame, wave: str, *, population_dir: Path | None = None) -> pd.DataFrame:
    """Respondents against the frame, by organization (margin rows) and by unit.

    Returns
    -------
    DataFrame
        ``[org, unit, variable, estimate (response rate), n (respondents), members]``; the
        organization rows have ``unit`` missing and an overall row has both missing. Shaped
        for `analysis.disclosure.protect_table` (``by=["org", "unit"]``).
    """
    units = population.load_units(population_dir)[["unit_id", "org", "members"]].rename(columns={"unit_id": "unit"})
    got = wave_rows(data, wave).groupby("unit").size().rename("n")
    per_unit = units.merge(got, left_on="unit", right_index=True, how="left").fillna({"n": 0})
    per_org = per_unit.groupby("org", sort=False)[["n", "members"]].sum().reset_index().assign(unit=None)
    total = pd.DataFrame({"org": [None], "unit": [None], "n": [per_unit["n"].sum()],
                          "members": [per_unit["members"].sum()]})
    out = pd.concat([total, per_org, per_unit], ignore_index=True)
    out["variable"] = "response_rate"
    out["estimate"] = out["n"] / out["members"]
    out["n"] = out["n"].astype("float64")
    return out[["org", "unit", "variable", "estimate", "n", "members"]]


def sample_composition(wd: WaveDesign) -> pd.DataFrame:
    """Sample shares before weighting, after base weights and after raking, next to the frame.

    Returns
    -------
    DataFrame
        ``[wave, variable, level, target, n, sample_share, base_share, raked_share,
        target_share]``.
    """
    unweighted = SurveyDesign(wd.base.data.assign(_one=1.0), weights="_one")
    before = weighting.margin_table(unweighted, wd.base, wd.margins)
    after = weighting.margin_table(unweighted, wd.design, wd.margins)
    out = before.rename(columns={"before_share": "sample_share", "after_share": "base_share"})
    out["raked_share"] = after["after_share"].to_numpy()
    out["n"] = out["before"].round().astype("int64")
    out.insert(0, WAVE, wd.wave)
    return out[[WAVE, "variable", "level", "target", "n", "sample_share", "base_share", "raked_share", "target_share"]]


def weight_summary(designs: Mapping[str, WaveDesign]) -> pd.DataFrame:
    """Kish effective sample size and design effect of weighting, base and raked, per wave.

    Returns
    -------
    DataFrame
        ``[wave, weights, n, weight_min, weight_max, weight_cv, n_effective, deff_weighting]``.
    """
    rows = []
    for wave, wd in designs.items():
        for name, d in (("base", wd.base), ("raked", wd.design)):
            diag = weighting.weight_diagnostics(d).assign(**{WAVE: wave, "weights": name})
            rows.append(diag)
    cols = [WAVE, "weights", "n", "weight_min", "weight_max", "weight_cv", "n_effective", "deff_weighting"]
    return pd.concat(rows, ignore_index=True)[cols]


def quality_effect(data: pd.DataFrame, variables: Sequence[str], *, instrument: str,
                   population_dir: Path | None = None) -> pd.DataFrame:
    """Construct means with and without quality-flagged rows, per wave.

    Returns
    -------
    DataFrame
        ``[wave, rows, variable, estimate, se, ci_low, ci_high, n, deff]`` with ``rows`` =
        ``all`` or ``unflagged``; feed both to `analysis.disclosure.protect_table`.
    """
    # the design's columns and the variables only: leaving out the flagged rows copies every
    # column kept, and a wave's ~60 text columns cost more to copy than the raking
    data = data[[c for c in dict.fromkeys([*design_columns(instrument), *variables]) if c in data.columns]]
    parts = []
    for flag, label in ((False, "all"), (True, "unflagged")):
        designs = designs_by_wave(data, instrument=instrument, exclude_flagged=flag, population_dir=population_dir)
        parts.append(estimate_means(designs, variables).assign(rows=label))
    out = pd.concat(parts, ignore_index=True)
    return out[[WAVE, "rows", "variable", *STAT_COLUMNS]]
