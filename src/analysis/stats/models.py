"""Regression models of member outcomes on plan implementation: mixed or on the design, DiD, panel.

Four questions, one result shape. Every function returns a frozen
:class:`~analysis.stats.model_result.ModelResult` whose
``table`` has the fixed columns ``[term, estimate, se, statistic, df, p_value, ci_low,
ci_high]`` and which carries ``n_obs``, ``n_groups``, ``variance_components``, ``formula``,
``method`` and a bilingual ``assumptions`` text. Results are associations: the plan reached
every unit, so there is no untreated comparison group.

* :func:`~analysis.stats.mixed.fit_mixed` - Gaussian random-intercept model by REML; matches
  ``lme4::lmer`` (estimates, SEs, variance components, REML criterion) and ``lmerTest``
  (Satterthwaite df).
* :func:`~analysis.stats.svyglm.svyglm` - survey-weighted regression on a `SurveyDesign`
  (strata, clusters, fpc, lonely-PSU rule, calibration); matches ``survey::svyglm``.
* :func:`fit_dose_response` - outcome ~ implementation intensity + wave (+ org, controls),
  with either of the two fits above: a DataFrame gets the mixed model, a design (or one design
  per wave) the design-based one.
* :func:`estimate_did` - the wave x high/low implementation interaction (difference in
  differences); matches ``lmer`` / ``svyglm`` with ``y ~ high * wave``.
* :func:`fit_unit_panel` - unit indicators over waves with unit random intercepts (``lmer``)
  or unit fixed effects with clustered SEs (``lm`` + ``sandwich::vcovCL``).

Formulas use statsmodels' formula syntax (``y ~ x + C(g)``); text columns become treatment
contrasts with the first sorted level as reference, as in R. Rows with a missing value in any
model variable are dropped (R's ``na.omit``), and ``n_obs`` says how many were used.
Functions are pure: nothing is read, written or printed.

Layout: the two fits are in `analysis.stats.mixed` and `analysis.stats.svyglm`, what
every fit shares (`ModelResult`, ``TABLE_COLUMNS``, the assumptions texts) in
`analysis.stats.model_result`; this module asks the three questions with them (dose-response,
DiD, unit panel).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from analysis.stats.design import SurveyDesign
from analysis.stats.mixed import fit_mixed
from analysis.stats.model_result import (
    ASSOCIATION,
    ASSUMPTIONS,
    ModelResult,
    check_columns,
    tidy_table,
)
from analysis.stats.svyglm import svyglm

__all__ = [
    "fit_dose_response",
    "estimate_did",
    "fit_unit_panel",
]

Data = pd.DataFrame | SurveyDesign | Sequence[SurveyDesign]


def _q(name: str) -> str:
    """A column name usable in a formula (quoted unless it is a plain identifier)."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f'Q("{name}")'


def _designs(data: Data) -> list[SurveyDesign] | None:
    """The design(s) of a design-based fit, or None for a DataFrame (the mixed model)."""
    if isinstance(data, pd.DataFrame):
        return None
    designs = [data] if isinstance(data, SurveyDesign) else list(data)
    if not designs or not all(isinstance(d, SurveyDesign) for d in designs):
        raise TypeError("data must be a DataFrame (mixed model) or a SurveyDesign / sequence of them (svyglm)")
    return designs


def _frame(data: Data, columns: Sequence[str | None]) -> pd.DataFrame:
    """The rows of the model in *columns* (those present): the DataFrame's, or the designs'
    stacked (only these columns: a wave has ninety, and a national wave 321 thousand rows)."""
    wanted = list(dict.fromkeys(c for c in columns if c is not None))
    designs = _designs(data)
    if designs is None:
        return data[[c for c in wanted if c in data.columns]]
    return pd.concat([d.data[[c for c in wanted if c in d.data.columns]] for d in designs], ignore_index=True)


def _frames(data: Data) -> list[pd.DataFrame]:
    """The DataFrame, or each design's data."""
    designs = _designs(data)
    return [data] if designs is None else [d.data for d in designs]


def _columns(data: Data) -> pd.DataFrame:
    """An empty frame with the columns of the DataFrame or of any of the designs (for
    `check_columns`, without stacking the rows)."""
    return pd.DataFrame(columns=list(dict.fromkeys(c for f in _frames(data) for c in f.columns)))


def _map_frames(data: Data, fn) -> Data:
    """*fn* applied to the DataFrame, or to each design's data (rows kept in order)."""
    designs = _designs(data)
    return fn(data) if designs is None else [d.replace(data=fn(d.data)) for d in designs]


def _as_categorical(data: Data, col: str, baseline: str | None) -> Data:
    """Make ``col`` categorical with ``baseline`` (default: first sorted level) as reference.

    For several designs the levels are those of all of them, so every wave's data codes the
    factor alike (the stacked model matrix needs one set of columns).
    """
    # the distinct values of each frame, not of the stacked rows
    levels = sorted(set().union(*(pd.unique(f[col].dropna()) for f in _frames(data) if col in f.columns)), key=str)
    if baseline is not None:
        if baseline not in levels:
            raise ValueError(f"baseline {baseline!r} is not a value of column {col!r}: {levels}")
        levels = [baseline] + [v for v in levels if v != baseline]
    return _map_frames(data, lambda f: f.assign(**{col: pd.Categorical(f[col], categories=levels)}))


# --------------------------------------------------------------------------- (a) dose-response


def fit_dose_response(
    data: Data,
    *,
    outcome: str,
    exposure: str,
    unit: str,
    wave: str,
    org: str | None = None,
    controls: Sequence[str] = (),
    baseline_wave: str | None = None,
    level: float = 0.95,
) -> ModelResult:
    """Dose-response: member outcome on the unit's implementation intensity, by wave.

    Parameters
    ----------
    data : pandas.DataFrame, SurveyDesign or sequence of SurveyDesign
        Member-level rows with the outcome (construct score), the unit-level exposure for the
        member's unit and wave, and the unit, wave (and org) columns. A DataFrame is fitted
        with unit random intercepts (:func:`fit_mixed`, unweighted); a design, or one design
        per wave (independent samples), by survey-weighted regression on the design
        (:func:`~analysis.stats.svyglm.svyglm`: its strata, clusters, fpc, lonely-PSU rule and
        raking enter the standard errors).
    outcome, exposure, unit, wave : str
        Column names: construct score, implementation intensity (numeric), grassroots unit,
        wave.
    org : str, optional
        Organisation column, entered as fixed effects.
    controls : sequence of str
        Further covariates, entered as written (``"C(sex)"`` for a factor).
    baseline_wave : str, optional
        Reference wave (default: the first sorted).
    level : float
        Confidence level.

    Returns
    -------
    ModelResult
        ``key_terms`` is the exposure term: the difference in outcome per unit of exposure,
        at the same wave (and org), averaged over units.

    Notes
    -----
    :math:`y_{ijt} = \\beta_0 + \\beta_1 \\text{exposure}_{jt} + \\gamma_t + \\delta_{org} +
    u_j + e_{ijt}` (mixed) or the same without :math:`u_j` with design-based SEs (with this
    study's design, units as strata, the interval describes the members of the units surveyed).
    Exposure varies between units, so unit fixed effects would absorb it between-unit; the
    random intercept keeps the between-unit comparison and must be uncorrelated with it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> unit = np.repeat(np.arange(12), 10); wave = np.tile(["2024", "2025"], 60)
    >>> dose = rng.uniform(0, 1, 12)[unit] + (wave == "2025") * 0.2
    >>> d = pd.DataFrame({"u": unit, "w": wave, "dose": dose,
    ...                   "score": 3 + 0.5 * dose + rng.normal(0, 0.3, 12)[unit] + rng.normal(0, 0.5, 120)})
    >>> res = fit_dose_response(d, outcome="score", exposure="dose", unit="u", wave="w")
    >>> res.key_terms, res.formula
    (('dose',), 'score ~ dose + w + (1 | u)')
    """
    check_columns(_columns(data), [outcome, exposure, unit, wave, org])
    data = _as_categorical(data, wave, baseline_wave)
    rhs = [_q(exposure), _q(wave)] + ([f"C({_q(org)})"] if org else []) + list(controls)
    formula = f"{_q(outcome)} ~ " + " + ".join(rhs)
    return _fit(data, formula, unit=unit, level=level, key_terms=(exposure,), extra_assumption="")


def _fit(data: Data, formula: str, *, unit: str, level: float, key_terms: Sequence[str],
         extra_assumption: str) -> ModelResult:
    """The mixed fit of a DataFrame or the design-based fit of design(s), with the assumptions text."""
    designs = _designs(data)
    if designs is None:
        text = " ".join(t for t in [ASSOCIATION, ASSUMPTIONS["mixed"], extra_assumption] if t)
        return fit_mixed(data, formula, group=unit, level=level, key_terms=key_terms, assumptions=text)
    text = " ".join(t for t in [ASSOCIATION, ASSUMPTIONS["design"], extra_assumption] if t)
    return svyglm(designs, formula, level=level, key_terms=key_terms, assumptions=text)


# --------------------------------------------------------------------------- (c) DiD


def estimate_did(
    data: Data,
    *,
    outcome: str,
    unit: str,
    wave: str,
    high: str,
    baseline_wave: str | None = None,
    controls: Sequence[str] = (),
    level: float = 0.95,
) -> ModelResult:
    """Difference-in-differences: change since baseline, high- vs low-implementation units.

    Parameters
    ----------
    data : pandas.DataFrame, SurveyDesign or sequence of SurveyDesign
        Member-level rows over two or more waves: a DataFrame (mixed model) or the design(s)
        (design-based), as in :func:`fit_dose_response`.
    outcome, unit, wave : str
        Columns: construct score, grassroots unit, wave.
    high : str
        0/1 column, 1 for units classed as high implementation; constant within a unit.
    baseline_wave : str, optional
        Reference wave (default: the first sorted wave).
    controls : sequence of str
        Further covariates in formula syntax.
    level : float
        Confidence level.

    Returns
    -------
    ModelResult
        ``key_terms`` are the interactions ``"<high>:<wave>[T.<w>]"``, one per non-baseline
        wave: the change from baseline to wave w among high-implementation units minus the
        same change among low-implementation units.

    Notes
    -----
    :math:`y_{ijt} = \\beta_0 + \\beta_1 \\text{high}_j + \\gamma_t + \\delta_t\\,\\text{high}_j
    (+ u_j) + e_{ijt}`; :math:`\\delta_t` is the DiD contrast. It is a special case of
    :func:`fit_mixed` / :func:`~analysis.stats.svyglm.svyglm` (formula ``outcome ~ high * wave``),
    checked against ``lme4::lmer(score ~ high * wave + (1 | dnum))`` and
    ``survey::svyglm(score ~ high * wave, design)`` on a two-wave reshaping of apiclus1.
    Reading it as an effect needs parallel trends and no anticipation; the low group is not
    an untreated control here.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> unit = np.repeat(np.arange(10), 20); wave = np.tile(["2023", "2025"], 100)
    >>> hi = (unit < 5).astype(int)
    >>> y = 3 + 0.2 * (wave == "2025") + 0.3 * hi * (wave == "2025") + rng.normal(0, .5, 200)
    >>> d = pd.DataFrame({"u": unit, "w": wave, "hi": hi, "y": y})
    >>> estimate_did(d, outcome="y", unit="u", wave="w", high="hi").key_terms
    ('hi:w[T.2025]',)
    """
    rows = _frame(data, [outcome, unit, wave, high])
    check_columns(rows, [outcome, unit, wave, high])
    values = set(pd.unique(rows[high].dropna()))
    if not values <= {0, 1} or len(values) < 2:
        raise ValueError(f"column {high!r} must hold 0 and 1 (high/low implementation); "
                         f"found {sorted(values, key=str)}")
    varying = rows.groupby(unit, observed=True)[high].nunique()
    if (varying > 1).any():
        units = sorted(varying.index[varying > 1], key=str)[:5]
        raise ValueError(f"column {high!r} changes within unit(s) {units}; the high/low class must be fixed per unit")
    # As a number, so the formula names the term after the column (a bool would become high[T.True]).
    data = _as_categorical(_map_frames(data, lambda f: f.assign(**{high: f[high].astype("float64")})),
                           wave, baseline_wave)
    levels = list(_frame(data, [wave])[wave].cat.categories)
    if len(levels) < 2:
        raise ValueError(f"column {wave!r} needs at least two waves")
    formula = f"{_q(outcome)} ~ {_q(high)} * {_q(wave)}" + "".join(f" + {c}" for c in controls)
    key = tuple(f"{high}:{wave}[T.{w}]" for w in levels[1:])
    return _fit(data, formula, unit=unit, level=level, key_terms=key, extra_assumption=ASSUMPTIONS["did"])


# --------------------------------------------------------------------------- (d) unit panel


def fit_unit_panel(
    data: pd.DataFrame,
    *,
    indicator: str,
    unit: str,
    wave: str,
    effects: Literal["random", "fixed"] = "random",
    controls: Sequence[str] = (),
    baseline_wave: str | None = None,
    level: float = 0.95,
) -> ModelResult:
    """Unit-level panel: an implementation indicator across waves, within units.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and wave.
    indicator, unit, wave : str
        Columns: the unit's indicator (numeric), unit id, wave.
    effects : {"random", "fixed"}
        ``"random"``: unit random intercept, REML (:func:`fit_mixed`). ``"fixed"``: unit
        dummies by OLS with unit-clustered CR1 standard errors and t(units - 1) reference.
    controls : sequence of str
        Time-varying unit covariates in formula syntax.
    baseline_wave : str, optional
        Reference wave (default: the first sorted).
    level : float
        Confidence level.

    Returns
    -------
    ModelResult
        ``key_terms`` are the wave terms ``"<wave>[T.<w>]"``: mean change since baseline.
        For fixed effects the table omits the intercept and unit dummies.

    Notes
    -----
    Random: :math:`y_{jt} = \\mu + \\gamma_t + u_j + e_{jt}`, assumes :math:`u_j` independent
    of the covariates (matched to ``lmer(y ~ wave + (1 | unit))``). Fixed:
    :math:`y_{jt} = \\alpha_j + \\gamma_t + e_{jt}`, no such assumption, only within-unit
    change identifies :math:`\\gamma_t`; covariance is
    ``sandwich::vcovCL(lm(y ~ wave + factor(unit)), cluster = ~unit, type = "HC1")``:
    :math:`\\frac{G}{G-1}\\frac{n-1}{n-p}(X'X)^{-1}\\sum_g X_g'e_ge_g'X_g(X'X)^{-1}`.
    Both assume errors independent across units; with few waves, serial correlation within
    a unit is absorbed by the clustered SEs (fixed) but not modelled (random).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"unit": list("aabbccdd"), "wave": ["2023", "2025"] * 4,
    ...                   "share": [0.4, 0.6, 0.5, 0.6, 0.2, 0.5, 0.7, 0.8]})
    >>> res = fit_unit_panel(d, indicator="share", unit="unit", wave="wave", effects="fixed")
    >>> res.key_terms, round(float(res.table["estimate"].iloc[0]), 6)  # R: lm(share ~ wave + factor(unit))
    (('wave[T.2025]',), 0.175)
    """
    check_columns(data, [indicator, unit, wave])
    dup = data.duplicated([unit, wave])
    if dup.any():
        raise ValueError(f"more than one row per {unit!r} and {wave!r}, e.g. row {data.index[dup][0]!r}")
    data = _as_categorical(data, wave, baseline_wave)
    levels = list(data[wave].cat.categories)
    rhs = " + ".join([_q(wave)] + list(controls))
    key = tuple(f"{wave}[T.{w}]" for w in levels[1:])
    if effects == "random":
        text = f"{ASSOCIATION} {ASSUMPTIONS['mixed']} {ASSUMPTIONS['random']}"
        return fit_mixed(data, f"{_q(indicator)} ~ {rhs}", group=unit, level=level, key_terms=key, assumptions=text)
    if effects == "fixed":
        return _fit_fixed_effects(data, indicator, unit, rhs, level, key)
    raise ValueError(f"effects must be 'random' or 'fixed', got {effects!r}")


def _fit_fixed_effects(data: pd.DataFrame, indicator: str, unit: str, rhs: str, level: float,
                       key: tuple[str, ...]) -> ModelResult:
    """OLS with unit dummies and CR1 (vcovCL HC1) covariance; unit rows dropped from the table."""
    data = data.dropna(subset=[unit])
    formula = f"{_q(indicator)} ~ {rhs} + C({_q(unit)})"
    model = smf.ols(formula, data, missing="drop")
    fit = model.fit()
    x, e = np.asarray(model.exog), np.asarray(fit.resid)
    groups = data.loc[model.data.row_labels, unit].to_numpy()
    bread = np.linalg.inv(x.T @ x)
    scores = pd.DataFrame(x * e[:, None]).groupby(groups).sum().to_numpy()
    n, p, g = x.shape[0], x.shape[1], scores.shape[0]
    cov = g / (g - 1) * (n - 1) / (n - p) * bread @ (scores.T @ scores) @ bread
    names = model.exog_names
    keep = [i for i, t in enumerate(names) if t != "Intercept" and not t.startswith(f"C({_q(unit)})")]
    table = tidy_table([names[i] for i in keep], np.asarray(fit.params)[keep], np.sqrt(np.diag(cov))[keep], g - 1, level)
    return ModelResult(
        table=table, n_obs=n, n_groups=g, variance_components={}, formula=formula, method="fixed_effects",
        assumptions=f"{ASSOCIATION} {ASSUMPTIONS['fixed']}", key_terms=key, level=level,
    )
