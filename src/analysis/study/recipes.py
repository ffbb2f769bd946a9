"""The study's glue: every wave of both surveys, this project's design, tidy results for the report.

The pipeline notebooks call these functions and nothing else does any arithmetic in them. Each
function is pure (DataFrames in, a tidy DataFrame out) and reads the instrument, never an item
name: member answers reach the report through *roles* (``org``, ``unit``, ``sex``…), construct
scores (named as the construct) and indicator values (named as the indicator).

The project's design, one wave at a time (DESIGN.md, statistical contract):

* every grassroots unit is surveyed, members are sampled within their unit, so **units are
  strata** and the unit's member count is the **fpc**;
* **base weight** = members of the unit / respondents of the unit;
* the base weights are **raked** to the frame's margins of organization, sex and party
  membership (`analysis.instruments.population.margins`); the standard errors account for the raking.

Tables keep the statistics core's columns ``[wave, *by, variable, estimate, se, ci_low,
ci_high, n, deff]`` so that `analysis.disclosure.protect_table` and `analysis.stats.compare` take them
as they are.

Examples
--------
>>> ROLE_COLUMNS[:3]
('org', 'unit', 'sex')
>>> significance_label(0.01, 0.2, lang="en"), significance_label(0.3, 0.2, lang="vi")
('significant increase', 'không thay đổi có ý nghĩa')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis import instruments
from analysis.ingest import waves as waves_mod
from analysis.instruments import Instrument, population
from analysis.stats import compare, reliability, scoring, weighting
from analysis.stats.design import SurveyDesign

__all__ = [
    "ROLE_COLUMNS",
    "WAVE",
    "FLAGGED",
    "ALPHA",
    "WaveDesign",
    "role_columns",
    "load_member",
    "load_units",
    "wave_design",
    "designs_by_wave",
    "estimate_means",
    "changes_since_baseline",
    "significance_label",
    "comparable_constructs",
    "item_distribution",
    "response_rates",
    "sample_composition",
    "weight_summary",
    "quality_effect",
    "import_counts",
    "reliability_table",
    "item_statistics",
    "unit_indicators",
    "indicator_estimates",
    "indicator_spread",
    "indicator_attainment",
    "indicator_changes",
    "unit_task_matrix",
    "implementation_index",
    "dose_response",
    "scorecard_inputs",
    "labels_for",
    "unit_hierarchy",
    "estimate_with_total",
    "likert_args",
    "change_sentences",
    "scorecard_table",
    "scorecard_frame",
    "task_group_labels",
    "comments",
    "comment_sample",
    "unit_response",
    "misbehaving_sentence",
    "comparability_text",
    "unit_identifiers",
    "indicator_units",
    "heatmap_input",
    "task_group_short",
    "model_assumptions",
    "entry_sentences",
    "indicator_change_sentences",
    "likert_figures",
    "construct_names",
    "no_change_sentence",
    "change_summary",
]

#: Canonical respondent columns, named by the role their item plays in the instrument.
ROLE_COLUMNS: tuple[str, ...] = ("org", "unit", "sex", "age_group", "party", "education", "theory", "position")
#: The wave column of every table (as `analysis.disclosure`'s policy expects).
WAVE = "wave"
#: Rows with any import quality flag (``_flag_*``): kept, and reported with and without.
FLAGGED = "flagged"
#: Significance level applied to BH-adjusted p-values.
ALPHA = 0.05
_STATS = ["estimate", "se", "ci_low", "ci_high", "n", "deff"]


# ------------------------------------------------------------------------------ loading

def role_columns(df: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """The respondent's role columns (org, unit, sex…), missing codes as missing.

    Parameters
    ----------
    df : DataFrame
        A processed wave (item columns hold choice codes as strings).
    instrument : Instrument
        The version the wave was collected with.

    Returns
    -------
    DataFrame
        One object column per role in `ROLE_COLUMNS` that the instrument has, aligned to *df*.
    """
    out = pd.DataFrame(index=df.index)
    for role in ROLE_COLUMNS:
        item = instrument.role_item(role)
        if item is None or item.name not in df.columns:
            continue
        codes = df[item.name].astype(object).where(df[item.name].notna(), None)
        if item.list_name:
            # "Don't know" is not a sex or a party: it must not become a raking category.
            codes = codes.where(~codes.isin(instrument.missing_codes(item.list_name)), None)
        out[role] = codes
    return out


def _flags(df: pd.DataFrame) -> pd.Series:
    cols = [c for c in df.columns if str(c).startswith("_flag_")]
    if not cols:
        return pd.Series(False, index=df.index)
    return df[cols].fillna(False).astype(bool).any(axis=1)


def load_member(waves: Sequence[str], *, instrument: str = "member", processed_dir: Path | None = None,
                population_dir: Path | None = None) -> pd.DataFrame:
    """Every respondent of *waves*, with roles, construct scores and the frame's unit size.

    Parameters
    ----------
    waves : sequence of str
        Imported waves, oldest first.
    instrument : str
        The member instrument's id.
    processed_dir, population_dir : path, optional
        Defaults from `analysis.config`.

    Returns
    -------
    DataFrame
        ``wave``, the role columns, ``unit_size`` (members of the unit in the frame),
        ``flagged`` (any ``_flag_*``), one float column per construct of the latest version
        (NaN in a wave whose version lacks it), and the wave's item columns (item names; other
        code reads them through the instrument only).

    Raises
    ------
    ValueError
        A respondent's unit is not in the population frame (the unit is named).
    """
    sizes = population.unit_sizes(population_dir)
    imported = set(waves_mod.list_waves(instrument, processed_dir=processed_dir))
    frames = []
    for wave in [w for w in waves if w in imported]:  # a unit report may run before a member wave exists
        raw = waves_mod.load_wave(instrument, wave, processed_dir=processed_dir)
        ins = waves_mod.load_instrument(instrument, wave, processed_dir=processed_dir)
        roles = role_columns(raw, ins)
        scores = scoring.score_constructs(raw, ins)
        meta = pd.DataFrame({WAVE: wave, FLAGGED: _flags(raw)}, index=raw.index)
        frame = pd.concat([meta, roles, scores, raw.drop(columns=[c for c in scores.columns if c in raw.columns])],
                          axis=1)
        unknown = sorted(set(frame["unit"].dropna()) - set(sizes))
        if unknown:
            raise ValueError(f"{instrument} wave {wave}: unit(s) {', '.join(unknown)} not in the population "
                             "frame (data/population/units.csv)")
        frame["unit_size"] = frame["unit"].map(sizes).astype("float64")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_units(waves: Sequence[str], *, instrument: str = "unit",
               processed_dir: Path | None = None) -> pd.DataFrame:
    """Every unit's answers and indicator values in *waves* (the unit panel).

    Returns
    -------
    DataFrame
        ``wave, org, unit`` then one float column per indicator (named as the indicator), and
        the items. Waves not imported are skipped (the member report may run before any unit
        wave exists).
    """
    imported = set(waves_mod.list_waves(instrument, processed_dir=processed_dir))
    frames = []
    for wave in [w for w in waves if w in imported]:
        raw = waves_mod.load_wave(instrument, wave, processed_dir=processed_dir)
        ins = waves_mod.load_instrument(instrument, wave, processed_dir=processed_dir)
        roles = role_columns(raw, ins)[["org", "unit"]]
        values = scoring.compute_indicators(raw, ins)
        frames.append(pd.concat([pd.DataFrame({WAVE: wave}, index=raw.index), roles, values,
                                 raw.drop(columns=[c for c in values.columns if c in raw.columns])], axis=1))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[WAVE, "org", "unit"])


# ------------------------------------------------------------------------------- design

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


# ---------------------------------------------------------------------------- estimates

def _by(by: str | Sequence[str] | None) -> list[str]:
    return [] if by is None else ([by] if isinstance(by, str) else list(by))


def estimate_means(designs: Mapping[str, WaveDesign], variables: Sequence[str], *,
                   by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Weighted means of *variables* in every wave (and domain).

    Returns
    -------
    DataFrame
        ``[wave, *by, variable, estimate, se, ci_low, ci_high, n, deff]``, waves oldest first,
        variables in the order given; a variable that a wave does not have is left out for it.
    """
    cols = [WAVE, *_by(by), "variable", *_STATS]
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
    return out.dropna(subset=[c for c in _by(by)]).reset_index(drop=True)


def significance_label(p_adjusted: float, difference: float, *, lang: str = "vi", alpha: float = ALPHA) -> str:
    """Plain words for a BH-adjusted test: increase, decrease or no significant change.

    Examples
    --------
    >>> significance_label(0.001, -0.3)
    'giảm có ý nghĩa'
    """
    words = {"vi": ("tăng có ý nghĩa", "giảm có ý nghĩa", "không thay đổi có ý nghĩa", "không so sánh được"),
             "en": ("significant increase", "significant decrease", "no significant change", "not comparable")}[lang]
    if p_adjusted is None or pd.isna(p_adjusted) or pd.isna(difference):
        return words[3]
    if p_adjusted < alpha:
        return words[0] if difference > 0 else words[1]
    return words[2]


def comparable_constructs(instrument: str, wave: str, baseline_wave: str, *,
                          processed_dir: Path | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Constructs whose items are all comparable between the two waves' instrument versions.

    Returns
    -------
    (comparable, not_comparable)
        Construct names, and ``(construct, reason)`` for the others.
    """
    a = waves_mod.load_instrument(instrument, baseline_wave, processed_dir=processed_dir)
    b = waves_mod.load_instrument(instrument, wave, processed_dir=processed_dir)
    cmp = instruments.comparable_items(a, b)
    return list(cmp.constructs), list(cmp.not_comparable_constructs)


def changes_since_baseline(designs: Mapping[str, WaveDesign], variables: Sequence[str], *, wave: str,
                           baseline_wave: str, by: str | Sequence[str] | None = None,
                           family: str = "constructs", lang: str = "vi") -> pd.DataFrame:
    """Change of each variable from the baseline to *wave*, with interval, effect size and BH.

    Parameters
    ----------
    designs : mapping
        `designs_by_wave` output holding both waves.
    variables : sequence of str
        Only comparable variables (see `comparable_constructs`).
    by : str or sequence, optional
        Domains (e.g. ``"org"``).
    family : str
        The declared family: all rows of this table form one Benjamini–Hochberg family.

    Returns
    -------
    DataFrame
        ``[wave, baseline_wave, *by, variable, estimate_a, estimate_b, estimate (the
        difference), se, ci_low, ci_high, n (the smaller wave's n), z, p_value, p_adjusted,
        d, family, significant, status]``.

    Notes
    -----
    Independent cross-sections: ``se = sqrt(se_a² + se_b²)`` (`analysis.stats.compare.compare_waves`);
    Cohen's d with the weighted pooled SD (`analysis.stats.compare.cohens_d_waves`).
    """
    names = _by(by)
    est = estimate_means({w: designs[w] for w in (baseline_wave, wave)}, variables, by=by)
    a = est[est[WAVE] == baseline_wave].drop(columns=WAVE)
    b = est[est[WAVE] == wave].drop(columns=WAVE)
    diff = compare.compare_waves(a, b)
    diff["p_adjusted"] = compare.adjust_bh(diff["p_value"].to_numpy())  # one declared family
    n = pd.merge(a[[*names, "variable", "n"]], b[[*names, "variable", "n"]], on=[*names, "variable"],
                 suffixes=("_a", "_b"))
    n["n"] = n[["n_a", "n_b"]].min(axis=1)
    diff = diff.merge(n[[*names, "variable", "n"]], on=[*names, "variable"], how="left")
    ds = pd.concat([compare.cohens_d_waves(designs[baseline_wave].design, designs[wave].design, v, by=by)
                    for v in variables], ignore_index=True)
    diff = diff.merge(ds[[*names, "variable", "d"]], on=[*names, "variable"], how="left")
    diff = diff.rename(columns={"difference": "estimate"})
    diff.insert(0, "baseline_wave", baseline_wave)
    diff.insert(0, WAVE, wave)
    diff["family"] = family
    diff["significant"] = diff["p_adjusted"] < ALPHA
    diff["status"] = [significance_label(p, e, lang=lang) for p, e in zip(diff["p_adjusted"], diff["estimate"])]
    order = {v: i for i, v in enumerate(variables)}
    diff = diff.sort_values([*names, "variable"], key=lambda s: s.map(order) if s.name == "variable" else s)
    return diff.reset_index(drop=True)[[WAVE, "baseline_wave", *names, "variable", "estimate_a", "estimate_b",
                                        "estimate", "se", "ci_low", "ci_high", "n", "z", "p_value", "p_adjusted",
                                        "d", "family", "significant", "status"]]


def item_distribution(design: SurveyDesign, instrument: Instrument, *, lang: str = "vi") -> pd.DataFrame:
    """Weighted answer distribution of every scale item (missing codes left out).

    Returns
    -------
    DataFrame
        ``[construct, variable (item), question, level (code), label, value, estimate, se,
        ci_low, ci_high, n, deff]``, levels in scale order; codes are the instrument's.
    """
    parts = []
    for item in instrument.scale_items:
        if item.name not in design.data.columns or design.data[item.name].isna().all():
            continue
        missing = set(instrument.missing_codes(item.list_name))
        valid = design.data[item.name].where(~design.data[item.name].isin(missing))
        # same weights and calibration, the item's "don't know" codes as missing
        sub = design._replace(data=design.data.assign(**{item.name: valid}))
        est = sub.proportion(item.name)
        values = instrument.choice_values(item.list_name)
        est["value"] = est["level"].map(values)
        est["label"] = est["level"].map(lambda c, ln=item.list_name: instrument.choice_label(ln, c, lang))
        est["construct"] = item.construct
        est["question"] = item.label(lang)
        parts.append(est.sort_values("value"))
    cols = ["construct", "variable", "question", "level", "label", "value", *_STATS]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


# ------------------------------------------------------------------------ data quality

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
    got = data[data[WAVE] == wave].groupby("unit").size().rename("n")
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


def quality_effect(data: pd.DataFrame, variables: Sequence[str], *,
                   population_dir: Path | None = None) -> pd.DataFrame:
    """Construct means with and without quality-flagged rows, per wave.

    Returns
    -------
    DataFrame
        ``[wave, rows, variable, estimate, se, ci_low, ci_high, n, deff]`` with ``rows`` =
        ``all`` or ``unflagged``; feed both to `analysis.disclosure.protect_table`.
    """
    parts = []
    for flag, label in ((False, "all"), (True, "unflagged")):
        designs = designs_by_wave(data, exclude_flagged=flag, population_dir=population_dir)
        parts.append(estimate_means(designs, variables).assign(rows=label))
    out = pd.concat(parts, ignore_index=True)
    return out[[WAVE, "rows", "variable", *_STATS]]


def import_counts(instrument: str, waves: Sequence[str], *, processed_dir: Path | None = None) -> pd.DataFrame:
    """Rows read, accepted, quarantined and dropped, and flags, per wave (from the import files).

    Returns
    -------
    DataFrame
        ``[wave, rows_read, accepted, quarantined, dropped, balanced, flag columns…,
        synthetic, instrument_version]``; ``balanced`` checks read = accepted + quarantined
        + dropped. Flag counts come from the processed data (``_flag_*`` columns).
    """
    rows = []
    imported = set(waves_mod.list_waves(instrument, processed_dir=processed_dir))
    for wave in [w for w in waves if w in imported]:
        m = waves_mod.wave_manifest(instrument, wave, processed_dir=processed_dir)
        row = {WAVE: wave, **{k: m.get(k) for k in ("rows_read", "accepted", "quarantined", "dropped")}}
        row["balanced"] = (row["rows_read"] == sum(int(row[k] or 0) for k in ("accepted", "quarantined", "dropped")))
        data = waves_mod.load_wave(instrument, wave, processed_dir=processed_dir)
        for col in sorted(c for c in data.columns if str(c).startswith("_flag_")):
            row[col.removeprefix("_")] = int(data[col].fillna(False).astype(bool).sum())
        row["synthetic"] = m.get("synthetic", True) is not False
        row["instrument_version"] = str(m.get("instrument_version", ""))
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------- measurement

def _raked_weights(members: pd.DataFrame, designs: Mapping[str, WaveDesign]) -> pd.Series:
    """Each respondent's raked weight from their wave's design (NaN where not in a design)."""
    parts = [wd.design.weights for wd in designs.values()]
    weights = pd.concat(parts) if parts else pd.Series(dtype="float64")
    return weights.reindex(members.index)


def _construct_items(data: pd.DataFrame, instrument: Instrument) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Reverse-keyed numeric items of every construct present in *data*."""
    scales = {c.name: [i.name for i in instrument.construct_items(c.name) if i.name in data.columns]
              for c in instrument.constructs}
    scales = {k: v for k, v in scales.items() if len(v) >= 2}
    cols = sorted({i for v in scales.values() for i in v})
    items = scoring.recode_items(data[cols], instrument, reverse=True)
    return items, scales


def reliability_table(data: pd.DataFrame, instrument: Instrument, *, by: Sequence[str] = (WAVE, "org"),
                      n_boot: int = 200, seed: int = 20230) -> pd.DataFrame:
    """Alpha, omega and a unit-cluster bootstrap interval for alpha, per construct and group.

    Returns
    -------
    DataFrame
        ``[*by, variable (construct), alpha, alpha_std, omega_total, ci_low, ci_high, n, k,
        estimate]`` (``estimate`` = alpha, for disclosure control).
    """
    items, scales = _construct_items(data, instrument)
    frame = pd.concat([data[list(by) + ["unit"]], items], axis=1)
    out = reliability.reliability_by(frame, scales, by=list(by), cluster="unit", n_boot=n_boot, seed=seed)
    out = out.rename(columns={"scale": "variable"})
    out["estimate"] = out["alpha"]
    out["n"] = out["n"].astype("float64")
    if {"org", WAVE} <= set(by):
        out["group"] = out["org"].astype(str) + " · " + out[WAVE].astype(str)  # a column header when shown wide
    return out


def item_statistics(data: pd.DataFrame, instrument: Instrument, *, lang: str = "vi") -> pd.DataFrame:
    """Item statistics of every construct (one wave): r_drop, alpha if dropped, mean, sd, flags.

    Returns
    -------
    DataFrame
        ``[variable (construct), item, question, alpha, r_drop, alpha_if_dropped, mean, sd, n,
        low_r_drop, alpha_rises, misbehaves]``: ``low_r_drop`` is ``r_drop < 0.30``;
        ``alpha_rises`` that alpha without the item is higher than with it.
    """
    items, scales = _construct_items(data, instrument)
    parts = []
    for name, cols in scales.items():
        res = reliability.cronbach_alpha(items[cols])
        t = res.items.copy()
        t.insert(0, "variable", name)
        t["alpha"] = res.alpha
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    out["question"] = out["item"].map(lambda n: instrument.item(n).label(lang))  # the report's language
    out["low_r_drop"] = out["r_drop"] < 0.30
    out["alpha_rises"] = out["alpha_if_dropped"] > out["alpha"] + 1e-9
    out["misbehaves"] = out["low_r_drop"] | out["alpha_rises"]
    return out[["variable", "item", "question", "alpha", "r_drop", "alpha_if_dropped", "mean", "sd", "n",
                "low_r_drop", "alpha_rises", "misbehaves"]]


# ------------------------------------------------------------------------- unit survey

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


def _unit_design(units: pd.DataFrame, population_dir: Path | None = None) -> SurveyDesign:
    """Units as observations: strata = organization, every unit weight 1, no fpc.

    Every unit answers, so a finite-population view would give zero standard errors: the
    intervals here treat the year's unit outcomes as draws from the process that produces them
    (a superpopulation view), which is what a statement about the plan's effect needs.
    """
    return SurveyDesign(units.assign(_unit_weight=1.0), weights="_unit_weight", strata="org",
                        lonely_psu="adjust")


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
        d = _unit_design(sub, population_dir)
        parts += [d.mean(n, by=by).assign(**{WAVE: wave}) for n in names if sub[n].notna().any()]
    out = pd.concat(parts, ignore_index=True)
    out["task_group"] = out["variable"].map({i.name: i.task_group for i in instrument.indicators})
    return out[[WAVE, *_by(by), "variable", *_STATS, "task_group"]]


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
    d = _unit_design(sub.assign(**met), population_dir)
    rows = [d.mean(c).assign(variable=c.removeprefix("met__")) for c in met if d.data[c].notna().any()]
    est = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["variable", *_STATS])
    out = att.rename(columns={"indicator": "variable"})[["variable", "task_group", "target", "direction",
                                                          "target_year", "due", "mean"]]
    return out.merge(est[["variable", *_STATS]], on="variable", how="left")


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
    d = _unit_design(frame, population_dir)
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


def dose_response(members: pd.DataFrame, index: pd.DataFrame, outcomes: Sequence[str], *,
                  designs: Mapping[str, WaveDesign] | None = None, method: str = "cluster_robust") -> pd.DataFrame:
    """Member outcomes on their unit's implementation index (cluster-robust by unit, or mixed).

    Parameters
    ----------
    members : DataFrame
        `load_member` output (all waves).
    index : DataFrame
        `implementation_index` output.
    outcomes : sequence of str
        Construct columns.
    designs : mapping, optional
        `designs_by_wave` output: with ``cluster_robust`` each respondent carries the raked
        weight of their wave (a survey-weighted regression); without it the fit is unweighted.
    method : {"mixed", "cluster_robust"}
        See `analysis.stats.models.fit_dose_response`.

    Returns
    -------
    DataFrame
        ``[variable, term, estimate, se, statistic, df, p_value, ci_low, ci_high, n_obs,
        n_groups, p_adjusted, method, assumptions]``: the exposure's coefficient, the change in
        the construct score for a unit meeting all its targets rather than none, same wave and
        organization. BH within this family.
    """
    from analysis.stats import models  # heavy import, only here

    weighted = designs is not None and method == "cluster_robust"
    members = members.assign(weight=_raked_weights(members, designs)) if weighted else members.assign(weight=1.0)
    data = members.merge(index, on=[WAVE, "unit"], how="inner")
    rows = []
    for var in outcomes:
        # construct names are not always safe in a formula (e.g. "inf"): fit a neutral name
        sub = data[[var, "implementation", "unit", WAVE, "org", "weight"]].dropna().rename(columns={var: "outcome"})
        if sub["unit"].nunique() < 5 or sub["implementation"].nunique() < 2:
            continue
        res = models.fit_dose_response(sub, outcome="outcome", exposure="implementation", unit="unit", wave=WAVE,
                                       org="org", method=method, weights="weight" if weighted else None)
        row = res.key_table().iloc[0].to_dict()
        row.update(variable=var, n_obs=res.n_obs, n_groups=res.n_groups, method=res.method,
                   assumptions=res.assumptions)
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out["p_adjusted"] = compare.adjust_bh(out["p_value"].to_numpy())
        out["n"] = out["n_obs"].astype("float64")
    return out


# ---------------------------------------------------------------------------- scorecard

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


_ROLE_WORDS = {
    "org": ("Tổ chức", "Organization"), "unit": ("Cơ sở", "Unit"), "sex": ("Giới tính", "Sex"),
    "age_group": ("Nhóm tuổi", "Age group"), "party": ("Đảng viên", "Party member"),
    "education": ("Trình độ chuyên môn", "Education"), "theory": ("Lý luận chính trị", "Political theory"),
    "position": ("Chức vụ", "Position"), "": ("Toàn Khối", "All organizations"),
    "base": ("Trọng số cơ sở", "Base weights"), "raked": ("Sau hiệu chỉnh (raking)", "Raked"),
    "all": ("Tất cả phiếu", "All rows"), "unflagged": ("Bỏ phiếu bị đánh dấu", "Without flagged rows"),
}


def labels_for(instrument: Instrument, lang: str = "vi") -> dict[str, str]:
    """Display labels: constructs, indicators, task groups (``tg1``…), roles and role codes.

    Returns
    -------
    dict
        ``{code: label}`` in *lang* (falls back to Vietnamese); ``""`` (a margin row) is
        "Toàn Khối" / "All organizations".
    """
    out = {k: v[0 if lang == "vi" else 1] for k, v in _ROLE_WORDS.items()}
    out.update({c.name: c.label(lang) for c in instrument.constructs})
    out.update({i.name: i.label(lang) for i in instrument.indicators})
    out.update({f"tg{tg.number}": tg.label(lang) for tg in instrument.task_groups})
    for role in ROLE_COLUMNS:
        item = instrument.role_item(role)
        if item is not None and item.list_name and role != "unit":
            out.update({c.name: c.label(lang) for c in instrument.choice_list(item.list_name) if c.name not in out})
    return out


# ------------------------------------------------------------------------ report helpers

def unit_hierarchy(population_dir: Path | None = None) -> pd.DataFrame:
    """``[unit, org]`` from the frame: the nesting `analysis.disclosure` needs."""
    units = population.load_units(population_dir)
    return units[["unit_id", "org"]].rename(columns={"unit_id": "unit"})


def estimate_with_total(designs: Mapping[str, WaveDesign], variables: Sequence[str], *, by: str) -> pd.DataFrame:
    """`estimate_means` by *by* with the overall rows added (``by`` missing = the total)."""
    total = estimate_means(designs, variables).assign(**{by: None})
    parts = estimate_means(designs, variables, by=by)
    out = pd.concat([total, parts], ignore_index=True)
    return out[[WAVE, by, "variable", *_STATS]]


def likert_args(instrument: Instrument, lang: str = "vi") -> dict:
    """Levels, level labels and item labels of the instrument's scale for `analysis.report.plots.likert_bars`."""
    lists = [i.list_name for i in instrument.scale_items]
    main = max(set(lists), key=lists.count)
    return {"levels": list(instrument.valid_codes(main)),
            "level_labels": {c.name: c.label(lang) for c in instrument.choice_list(main)},
            "item_labels": {i.name: i.label(lang) for i in instrument.scale_items}}


def _significant(rows: pd.DataFrame) -> pd.Series:
    """The ``significant`` flag, False for hidden rows and where missing (e.g. read from CSV)."""
    sig = rows["significant"].map(lambda v: v is True or str(v).lower() == "true")
    if "suppressed" in rows.columns:
        sig &= ~rows["suppressed"].map(lambda v: v is True or str(v).lower() == "true")
    return sig


def change_sentences(changes: pd.DataFrame, labels: Mapping[str, str], *, table: str, lang: str = "vi",
                     keys: Sequence[str] = ("variable",), only_significant: bool = False,
                     measure: str = "mean") -> list:
    """`analysis.report.narrative.describe_change` for every row of a (protected) change table.

    Hidden rows (suppressed) get the "not enough data" sentence of narrative; labels of the
    key columns are joined (e.g. organization · construct).
    """
    from analysis.report import narrative

    if changes is None:  # the notebook that makes the table did not run for this report
        return []
    rows = changes.rename(columns={"estimate": "difference"})
    if only_significant:
        rows = rows[_significant(rows)]
    out = []
    for _, row in rows.iterrows():
        label = " – ".join(labels.get(str(row[k]), str(row[k])) for k in reversed(list(keys)) if pd.notna(row[k]))
        out.append(narrative.describe_change(row, label=label, wave_a=str(row["baseline_wave"]),
                                             wave_b=str(row[WAVE]), table=table, keys=list(keys), lang=lang,
                                             measure=measure))
    return out


def scorecard_table(units: pd.DataFrame, instrument: Instrument, *, wave: str, baseline_wave: str,
                    population_dir: Path | None = None) -> pd.DataFrame:
    """Every indicator's mean over units in *wave* with its interval, target and baseline.

    Returns
    -------
    DataFrame
        ``[variable, task_group, unit, direction, target, target_year, baseline, estimate, se,
        ci_low, ci_high, n (units), deff]`` — the input of `analysis.report.narrative.scorecard`
        (``key="variable"``), through `analysis.disclosure.protect_table` first.
    """
    now = indicator_estimates(units[units[WAVE] == wave], instrument, population_dir=population_dir)
    base = indicator_estimates(units[units[WAVE] == baseline_wave], instrument, population_dir=population_dir)
    meta = pd.DataFrame([{"variable": i.name, "task_group": i.task_group, "unit": i.unit, "direction": i.direction,
                          "target": i.target, "target_year": i.target_year} for i in instrument.indicators])
    out = meta.merge(base[["variable", "estimate"]].rename(columns={"estimate": "baseline"}), on="variable", how="left")
    out = out.merge(now[["variable", *_STATS]], on="variable", how="left")
    out["target"] = out["target"].astype("float64")
    out["target_year"] = out["target_year"].astype("Int64")
    return out


def task_group_labels(instrument: Instrument, lang: str = "vi") -> dict[int, str]:
    """``{number: label}`` of the plan's six task groups."""
    return {tg.number: tg.label(lang) for tg in instrument.task_groups}


def _basis(sentence: str) -> str:
    """The counts part of a task-group sentence ("… : Chưa đạt — 0 chỉ tiêu đạt, …" → "0 chỉ tiêu đạt, …")."""
    return sentence.split(" — ", 1)[-1].strip()


def scorecard_frame(groups: Sequence, *, n_units: int, lang: str = "vi") -> pd.DataFrame:
    """Task-group scorecard entries (`analysis.report.narrative.task_group_scorecard`) as a table.

    Returns
    -------
    DataFrame
        ``[task_group, variable ("status"), label, status, status_label, sentence, basis (its counts), estimate
        (NaN: no number), n (units behind the statuses)]`` ready for `protect_table`.
    """
    from analysis.report import narrative

    rows = [{"task_group": int(str(g.sentence.source).rsplit("=", 1)[-1].rstrip("]")), "variable": "status",
             "label": g.label, "status": g.status, "status_label": narrative.STATUS_LABELS[g.status][lang],
             "sentence": g.sentence.text, "basis": _basis(g.sentence.text), "estimate": np.nan, "n": float(n_units)} for g in groups]
    return pd.DataFrame(rows)


def comments(members: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.DataFrame:
    """Free-text answers of *wave*, one row per comment: ``[org, question, comment]``."""
    sub = members[members[WAVE] == wave]
    parts = []
    for item in instrument.by_role("comment"):
        if item.name in sub.columns:
            texts = sub[item.name].astype("string").str.strip()
            keep = texts.notna() & (texts != "")
            parts.append(pd.DataFrame({"org": sub.loc[keep, "org"], "question": item.label(),
                                       "comment": texts[keep].astype(str)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["org", "question", "comment"])


def comment_sample(publishable: pd.DataFrame, *, per_group: int = 8, seed: int = 20230324) -> pd.DataFrame:
    """A reproducible random sample of screened comments per organization (never in submission order)."""
    if publishable.empty:
        return publishable
    shuffled = publishable.sample(frac=1.0, random_state=seed)
    picked = shuffled.groupby("org", sort=True).head(per_group)
    return picked.sort_values(["org", "comment"]).reset_index(drop=True)


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


def misbehaving_sentence(items: pd.DataFrame, labels: Mapping[str, str], *, lang: str = "vi") -> str:
    """One sentence naming the constructs whose items misbehave (or saying none do)."""
    bad = items[items["misbehaves"].fillna(False).astype(bool)]
    if bad.empty:
        return {"vi": "Không có câu hỏi nào có tương quan với phần còn lại của thang đo dưới 0,30 hoặc làm "
                      "tăng alpha khi bỏ đi.",
                "en": "No item correlates below 0.30 with the rest of its scale or raises alpha when dropped."}[lang]
    names = ", ".join(dict.fromkeys(labels.get(v, v) for v in bad["variable"]))
    return {"vi": f"{len(bad)} câu hỏi cần xem lại (tương quan với phần còn lại dưới 0,30 hoặc alpha tăng khi "
                  f"bỏ đi), thuộc các thang đo: {names}.",
            "en": f"{len(bad)} item(s) to review (correlation with the rest below 0.30, or alpha rises when "
                  f"dropped), in: {names}."}[lang]


def comparability_text(comparable: Sequence[str], not_comparable: Sequence[tuple[str, str]],
                       labels: Mapping[str, str], *, wave: str, baseline_wave: str, lang: str = "vi") -> str:
    """Which constructs are compared across the two waves' instrument versions, and which not."""
    if not not_comparable:
        return {"vi": f"Tất cả {len(comparable)} thang đo dùng cùng câu hỏi ở đợt {baseline_wave} và đợt {wave}, "
                      "nên được so sánh trực tiếp.",
                "en": f"All {len(comparable)} scales use the same questions in {baseline_wave} and {wave}, "
                      "so they are compared directly."}[lang]
    names = "; ".join(f"{labels.get(c, c)} ({why})" for c, why in not_comparable)
    return {"vi": f"Chỉ so sánh {len(comparable)} thang đo có câu hỏi giống nhau giữa hai phiên bản phiếu. "
                  f"Không so sánh: {names}.",
            "en": f"Only the {len(comparable)} scales with the same questions in both versions are compared. "
                  f"Not compared: {names}."}[lang]


def unit_identifiers(population_dir: Path | None = None) -> list[str]:
    """Unit codes and names (vi, en) from the frame: a comment naming one is withheld."""
    units = population.load_units(population_dir)
    return sorted(set(units["unit_id"]) | set(units["name_vi"]) | set(units["name_en"]))


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


def model_assumptions(fits: pd.DataFrame, *, lang: str = "vi") -> str:
    """The models' statement of what the estimates mean (one language of the bilingual text)."""
    if fits is None or fits.empty or "assumptions" not in fits.columns:
        return {"vi": "Chưa đủ dữ liệu để ước lượng mô hình.", "en": "Not enough data to fit the model."}[lang]
    text = str(fits["assumptions"].iloc[0])
    if " / " in text:
        parts = [p.strip() for p in text.split(" / ")]
        return parts[0] if lang == "vi" or len(parts) == 1 else parts[1]
    # analysis.stats.models writes each statement as Vietnamese sentences followed by English ones:
    # keep the sentences of the report's language (Vietnamese ones carry Vietnamese letters)
    sentences = [x.strip() for x in re.split(r"(?<=\.)\s+", text) if x.strip()]
    mine = [x for x in sentences if bool(_VI_LETTERS.search(x)) == (lang == "vi")]
    return " ".join(mine) or text


_VI_LETTERS = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)


def entry_sentences(entries: Sequence, *, measurable_only: bool = True) -> list:
    """The sentences of `analysis.report.narrative.scorecard` entries (optionally only measurable ones)."""
    return [e.sentence for e in entries if not measurable_only or e.status != "not_measurable"]


def indicator_change_sentences(changes: pd.DataFrame | None, labels: Mapping[str, str], *, table: str,
                               lang: str = "vi", only_significant: bool = True) -> list:
    """Sentences on indicator changes: shares in percentage points, counts in their unit."""
    from analysis.report import narrative

    if changes is None or changes.empty:
        return []
    rows = changes.rename(columns={"estimate": "difference"})
    if only_significant:
        rows = rows[_significant(rows)]
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


def likert_figures(protected, instrument: Instrument, *, lang: str = "vi") -> list[tuple]:
    """One diverging-bar chart per construct (`analysis.report.plots.likert_bars`) from a protected
    `item_distribution` table.

    Returns
    -------
    list of (Figure, name, title)
    """
    from analysis.report import plots

    table = getattr(protected, "table", protected)
    args = likert_args(instrument, lang)
    out = []
    for construct in instrument.constructs:
        items = [i.name for i in instrument.construct_items(construct.name) if i.name in set(table["variable"])]
        if not items:
            continue
        fig = plots.likert_bars(table[table["variable"].isin(items)], items=items, lang=lang, **args)
        title = {"vi": f"Phân bố câu trả lời: {construct.label(lang)}",
                 "en": f"Answers: {construct.label(lang)}"}[lang]
        out.append((fig, f"likert_{construct.name}", title))
    return out


def construct_names(instrument: Instrument) -> list[str]:
    """The instrument's constructs, in questionnaire order."""
    return [c.name for c in instrument.constructs]


def no_change_sentence(changes: pd.DataFrame | None, labels: Mapping[str, str], *, lang: str = "vi") -> str:
    """One sentence naming every published row without a significant change (BH-adjusted).

    Hidden rows are not named (they are neither significant nor known to be unchanged).
    """
    if changes is None:  # a report without the member survey's impact section (the unit report)
        return {"vi": "Thay đổi trong cảm nhận của đoàn viên, hội viên được trình bày trong báo cáo khảo sát "
                      "đoàn viên, hội viên cùng đợt.",
                "en": "Changes in members' views are reported in the member survey report of the same wave."}[lang]
    if changes.empty:
        return {"vi": "Chưa có so sánh với đợt đầu.", "en": "No comparison with the baseline yet."}[lang]
    shown = ~changes["suppressed"].map(lambda v: v is True or str(v).lower() == "true") \
        if "suppressed" in changes.columns else pd.Series(True, index=changes.index)
    quiet = changes[shown & ~_significant(changes)]
    if quiet.empty:
        return {"vi": "Mọi khía cạnh được so sánh đều thay đổi có ý nghĩa thống kê.",
                "en": "Every compared aspect changed significantly."}[lang]
    names = "; ".join(str(labels.get(v, v)) for v in quiet["variable"])
    return {"vi": f"Không có thay đổi có ý nghĩa thống kê (sau hiệu chỉnh Benjamini–Hochberg) ở {len(quiet)} "
                  f"khía cạnh: {names}.",
            "en": f"No statistically significant change (Benjamini–Hochberg adjusted) in {len(quiet)} "
                  f"aspect(s): {names}."}[lang]


#: At most this many names in one summary sentence (the executive summary must fit on two pages).
_MAX_NAMED = 3


def change_summary(changes: pd.DataFrame | None, labels: Mapping[str, str], *, table: str, by: str | None = None,
                   lang: str = "vi", noun: tuple[str, str] = ("khía cạnh", "aspect(s)")) -> list:
    """Short sentences counting significant increases and decreases (per *by* group if given).

    Each sentence names the rows it counts and carries its source table, so the executive
    summary stays short and every claim can be traced to the full table in the impact section.

    Returns
    -------
    list of narrative.Sentence
    """
    from analysis.report import narrative

    if changes is None or changes.empty:
        return []
    shown = changes[~changes["suppressed"].map(lambda v: v is True or str(v).lower() == "true")] \
        if "suppressed" in changes.columns else changes
    groups = [(None, shown)] if by is None else list(shown.groupby(by, sort=False))
    out = []
    for key, rows in groups:
        sig = rows[_significant(rows)]
        up = sig[sig["estimate"] > 0]["variable"].map(lambda v: str(labels.get(v, v))).tolist()
        down = sig[sig["estimate"] < 0]["variable"].map(lambda v: str(labels.get(v, v))).tolist()
        rest = len(rows) - len(up) - len(down)
        quiet = rows[~_significant(rows)]["variable"].map(lambda v: str(labels.get(v, v))).tolist()
        # a summary for the Board names a short list only: with many increases, name the few
        # rows that did not change instead (the full list is in the source table)
        many = len(up) > _MAX_NAMED
        up_names = "" if many or not up else f" ({'; '.join(up)})"
        rest_names = f" ({'; '.join(quiet)})" if many and quiet and len(quiet) <= _MAX_NAMED else ""
        who = "" if key is None else f"{labels.get(str(key), str(key))}: "
        if lang == "vi":
            text = (f"{who}{len(up)} {noun[0]} tăng có ý nghĩa thống kê{up_names}"
                    + f", {len(down)} giảm" + (f" ({'; '.join(down)})" if down else "")
                    + f", {rest} không thay đổi có ý nghĩa{rest_names}.")
        else:
            text = (f"{who}{len(up)} {noun[1]} increased significantly{up_names}"
                    + f", {len(down)} decreased" + (f" ({'; '.join(down)})" if down else "")
                    + f", {rest} without significant change{rest_names}.")
        source = table if key is None else f"{table}[{by}={key}]"
        out.append(narrative.Sentence(unicodedata.normalize("NFC", text), source, "summary", lang))
    return out
