"""The design of each wave (base weights, strata, fpc, raking to the frame's margins) and the estimates every notebook draws from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from analysis import project
from analysis.instruments import population
from analysis.stats import weighting
from analysis.stats.design import SurveyDesign
from analysis.study.base import FLAGGED, STAT_COLUMNS, WAVE, by_columns, wave_rows
from analysis.study.data import frame_dir

__all__ = [
    "WaveDesign",
    "base_design",
    "wave_design",
    "design_columns",
    "designs_by_wave",
    "estimate_means",
    "estimate_with_total",
    "raked_weights",
    "model_design",
]


@dataclass(frozen=True)
class WaveDesign:
    """One wave's design before and after raking, with what was done and why.

    Attributes
    ----------
    wave : str
    base : SurveyDesign
        The study's design before raking (`base_design`).
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


def base_design(data: pd.DataFrame, instrument: str) -> SurveyDesign:
    """The study's design of *instrument* (study.yaml ``design``) on *data*, before raking.

    ``weights: equal`` gives every row weight 1, ``weights: frame`` the unit's members over its
    respondents (rows without a unit are left out), any other value names a weight column;
    ``fpc: unit_size`` is the unit's member count from the frame (`load_responses` adds it).

    Raises
    ------
    StudyError
        A design column (strata, cluster, fpc, weights) that the data lack, named with the
        instrument and the key of study.yaml.
    """
    spec = project.load_study().instrument(instrument).design
    df = data
    if spec.weights == project.FRAME_WEIGHTS:
        df = df[df["unit"].notna()].copy() if "unit" in df.columns else df
        weights = df["unit_size"] / df.groupby("unit")["unit"].transform("size") if "unit" in df.columns else None
    elif spec.weights == "equal":
        weights = pd.Series(1.0, index=df.index)
    else:
        weights = df[spec.weights].astype("float64") if spec.weights in df.columns else None
    wanted = {"weights": "unit" if spec.weights == project.FRAME_WEIGHTS else None, "strata": spec.strata,
              "cluster": spec.cluster, "fpc": spec.fpc}
    for key, column in wanted.items():
        if column is not None and column not in df.columns:
            raise project.StudyError(
                f"study.yaml: instruments.{instrument}.design.{key} needs column {column!r}, which the "
                f"{instrument} data lack (a role column: add an item with `role: {column}` to the questionnaire)")
    return SurveyDesign(df.assign(base_weight=weights), weights="base_weight", strata=spec.strata,
                        cluster=spec.cluster, fpc=spec.fpc, lonely_psu=spec.lonely_psu)


def wave_design(data: pd.DataFrame, *, instrument: str, exclude_flagged: bool = False,
                population_dir: Path | None = None) -> WaveDesign:
    """The study's design for one wave's respondents of *instrument*, raked to the frame.

    Parameters
    ----------
    data : DataFrame
        One wave of `load_responses` (with the role columns the design names).
    instrument : str
        The instrument (its ``design`` in study.yaml).
    exclude_flagged : bool
        Leave out rows with a quality flag (the base weights are then recomputed).
    population_dir : path, optional
        The frame folder (default: the study's ``frame``).

    Returns
    -------
    WaveDesign

    Notes
    -----
    Đề án 04's member design: units are strata, the unit's member count is the fpc, base
    weight = members of the unit / respondents of the unit, raked to the frame's org, sex and
    party margins. A unit with one respondent is a lonely stratum: ``lonely_psu="adjust"``
    (conservative, as R's ``survey.lonely.psu = "adjust"``). A raking margin whose column has
    missing answers is skipped (a missing answer has no population target) and the note says so.
    """
    spec = project.load_study().instrument(instrument).design
    df = data[~data[FLAGGED]] if exclude_flagged else data
    base = base_design(df, instrument)
    df = base.data
    wanted = {}
    if spec.rake:
        frame = population.margins(frame_dir(instrument, population_dir, "raking (design.rake)"))
        unknown = [c for c in spec.rake if c not in frame]
        if unknown:
            raise project.StudyError(f"study.yaml: instruments.{instrument}.design.rake: no margins for "
                                     f"{', '.join(unknown)} in the frame (margins.csv has {', '.join(frame)})")
        wanted = {c: t for c, t in frame.items() if c in spec.rake}
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


def model_design(wd: WaveDesign) -> SurveyDesign:
    """The wave's design for a model of a unit-level exposure: units as clusters, same weights.

    The sampling design makes every unit a stratum (all units surveyed), so its standard errors
    describe the members of these units only and take a unit's members as independent: with an
    exposure measured per unit, chance differences between units would then read as an
    association (in the demo, four scales without any planted link came out "significant").
    Models of the plan's implementation (dose-response, DiD) therefore take units as the
    clusters (PSUs, no fpc: units a sample of the units the plan could reach, the reading an
    association needs), keep the base weights and rake again to the same margins, which gives
    the same weights as ``wd.design`` — R: ``rake(svydesign(id = ~unit, weights = ~base_weight,
    data), margins)`` then ``svyglm``.
    """
    base = SurveyDesign(wd.base.data, weights="base_weight", cluster="unit")
    return weighting.rake(base, wd.margins) if wd.margins else base


def design_columns(instrument: str) -> list[str]:
    """The columns `wave_design` reads for *instrument* (study.yaml ``design``): the wave, the
    flag, the unit and its frame size, the design's own columns and the raking margins."""
    spec = project.load_study().instrument(instrument).design
    named = [spec.weights if spec.weights not in ("equal", project.FRAME_WEIGHTS) else None,
             spec.strata, spec.cluster, spec.fpc, *spec.rake]
    return list(dict.fromkeys([WAVE, FLAGGED, "unit", "unit_size", *(c for c in named if c)]))


def designs_by_wave(data: pd.DataFrame, *, instrument: str, exclude_flagged: bool = False,
                    population_dir: Path | None = None) -> dict[str, WaveDesign]:
    """`wave_design` for every wave of *data*, keyed by wave (oldest first)."""
    return {w: wave_design(wave_rows(data, w), instrument=instrument, exclude_flagged=exclude_flagged,
                           population_dir=population_dir)
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
        data = wd.design.data
        present = [v for v in variables if v in data.columns and not data[v].isna().all()]
        if present:  # every variable of the wave in one pass (same rows as one call per variable)
            parts.append(wd.design.mean(present, by=by).assign(**{WAVE: wave}))
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
