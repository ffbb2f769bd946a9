"""Weighting to the population frame: raking, post-stratification, trimming, diagnostics.

Every function takes a `SurveyDesign` and returns a *new* one (the input is unchanged); the
calibration step is recorded in the new design so that its standard errors account for it, as
R's ``rake()`` and ``postStratify()`` do (matched to 1e-6 relative, survey 4.1.1; see
tests/test_weighting.py and scripts/r_reference/design.R).

Margins are given as ``{column: {category: population count}}``; categories are compared to
the data's values exactly (choice codes are strings: ``"1"`` is not ``1``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

from analysis.stats.calibration import Calibration
from analysis.stats.columns import DesignError, row_labels
from analysis.stats.linearisation import Design

__all__ = [
    "RakingError",
    "rake",
    "post_stratify",
    "trim_weights",
    "weight_diagnostics",
    "margin_table",
]

#: The class of the design given (`SurveyDesign`), kept by the functions that return a new one.
_D = TypeVar("_D", bound=Design)


class RakingError(DesignError):
    """Raking could not reach the targets (inconsistent margins, empty cells, no convergence)."""


def _margin_codes(
    design: Design, by: str | Sequence[str], targets: Mapping[Hashable, float], role: str
) -> tuple[np.ndarray, np.ndarray, list[Hashable]]:
    """Codes of each row in the margin's categories, the target vector and the categories.

    Raises with the column, category and rule when the data and the targets disagree, as R's
    ``postStratify`` does ("Some strata absent from sample", "Strata in sample absent from
    population"), before any weight changes.
    """
    data = design.data
    names = [by] if isinstance(by, str) else list(by)
    for name in names:
        if name not in data.columns:
            raise RakingError(f"{role}: column {name!r} is not in the data")
    if len(names) == 1:
        values = pd.Index(data[names[0]])
        missing = np.asarray(data[names[0]].isna())
    else:
        values = pd.MultiIndex.from_frame(data[names])
        missing = np.asarray(data[names].isna().any(axis=1))
    label = names[0] if len(names) == 1 else tuple(names)
    if missing.any():
        raise RakingError(
            f"{role}: column {label!r} is missing in rows {row_labels(data.index, missing)}; "
            "impute or drop them before weighting"
        )
    categories = list(targets.keys())
    target = np.asarray([float(targets[c]) for c in categories])
    if (~np.isfinite(target) | (target < 0)).any():
        raise RakingError(f"{role}: targets for {label!r} must be finite and >= 0")
    if len(names) == 1:  # match the distinct values only (at 1M text rows, 10x faster)
        row_codes, uniques = pd.factorize(data[names[0]])
        codes = pd.Index(categories).get_indexer(pd.Index(uniques))[row_codes]
    else:
        codes = pd.Index(categories, tupleize_cols=True).get_indexer(values)
    unknown = codes < 0
    if unknown.any():
        absent = sorted({repr(v) for v in values[unknown]})
        raise RakingError(
            f"{role}: column {label!r} has categories absent from the targets: "
            f"{', '.join(absent)} (rows {row_labels(data.index, unknown)}); targets have "
            f"{categories!r}"
        )
    positive = design.weight_values > 0
    # every weight positive (the usual case): no masked copy of the codes
    counts = np.bincount(codes if positive.all() else codes[positive], minlength=len(categories))
    empty = (counts == 0) & (target > 0)
    if empty.any():
        raise RakingError(
            f"{role}: target categories of {label!r} with no respondents: "
            f"{[categories[i] for i in np.flatnonzero(empty)]!r}; merge categories or drop the target"
        )
    zero = (counts > 0) & (target == 0)
    if zero.any():
        raise RakingError(
            f"{role}: categories of {label!r} have respondents but a population of 0: "
            f"{[categories[i] for i in np.flatnonzero(zero)]!r}"
        )
    return codes.astype(np.int64), target, categories


def post_stratify(
    design: _D, by: str | Sequence[str], population: Mapping[Hashable, float]
) -> _D:
    """Post-stratify: scale weights so the weighted count of each post-stratum is its population.

    Parameters
    ----------
    design : SurveyDesign
    by : str or list of str
        Post-stratum column(s); with several columns the keys of ``population`` are tuples.
    population : mapping
        Population count of every post-stratum.

    Returns
    -------
    SurveyDesign
        A new design, ``w_i * N_g / sum_{j in g} w_j``, whose standard errors remove the
        post-stratum means (R's ``postStratify``).

    Notes
    -----
    Variance: linearised values ``x`` are replaced by ``x - w g_mean(x / w)`` with old-weight
    means within post-strata (R's ``svyrecvar``). Matches ``postStratify(d, ~by, pop)``.

    Examples
    --------
    >>> from analysis.stats.design import SurveyDesign
    >>> df = pd.DataFrame({"w": [1.0, 1.0, 2.0], "sex": ["female", "male", "male"]})
    >>> d = SurveyDesign(df, weights="w")
    >>> post_stratify(d, "sex", {"female": 10, "male": 30}).weights.tolist()
    [10.0, 10.0, 20.0]
    """
    codes, target, _ = _margin_codes(design, by, population, "post_stratify")
    old = design.weight_values
    current = np.bincount(codes, weights=old, minlength=len(target))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(current > 0, target / current, 0.0)
    new = old * factor[codes]
    step = Calibration("poststratify", (codes,), (len(target),), new.copy(), old.copy())
    return design.replace(weights=new, calibrations=(*design.calibrations, step))


def rake(
    design: _D,
    margins: Mapping[str, Mapping[Hashable, float]],
    *,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> _D:
    """Rake (iterative proportional fitting) the weights to population margins.

    Parameters
    ----------
    design : SurveyDesign
    margins : mapping
        ``{column: {category: population count}}``; every margin must have the same total.
        Every category in the data must have a target, and every target > 0 respondents.
    max_iter : int
        Maximum number of full cycles over the margins.
    tol : float
        Convergence: every raked margin within ``tol * total`` of its target.

    Returns
    -------
    SurveyDesign
        A new design with the raked weights; its standard errors account for the raking.

    Raises
    ------
    RakingError
        Inconsistent totals, a category without respondents or without a target, a missing
        margin value, or no convergence in ``max_iter`` cycles.

    Notes
    -----
    Each cycle post-stratifies on every margin in turn, ``w <- w * N_mk / sum_{i in k} w_i``
    (Deming & Stephan 1940), like R's ``rake()``; R stops when the joint table changes by less
    than ``epsilon`` (default 1 unit), this function when the margins equal the targets to
    ``tol`` (the R references use ``epsilon = 1e-13``). For the variance, R residualises the
    linearised variable with ten backfitting sweeps ``x <- x - psw * ave(x / psw, margin)``
    over the margins; this is reproduced exactly, with ``psw`` the final weights (R uses the
    weights after each margin's last post-stratification, equal at convergence).

    Examples
    --------
    >>> from analysis.stats.design import SurveyDesign
    >>> df = pd.DataFrame({"w": [1.0] * 4, "sex": ["female", "female", "male", "male"],
    ...                    "party": ["yes", "no", "yes", "yes"]})
    >>> d = rake(SurveyDesign(df, weights="w"), {"sex": {"female": 50, "male": 50},
    ...                                          "party": {"yes": 70, "no": 30}})
    >>> d.weights.round(2).tolist()
    [20.0, 30.0, 25.0, 25.0]
    """
    if not margins:
        raise RakingError("rake: no margins given")
    coded = [_margin_codes(design, col, tg, f"rake margin {col!r}") for col, tg in margins.items()]
    totals = np.array([target.sum() for _, target, _ in coded])
    if not np.allclose(totals, totals[0], rtol=1e-9, atol=0):
        listed = ", ".join(f"{col}={t:g}" for col, t in zip(margins, totals, strict=True))
        raise RakingError(f"rake: margins have different totals ({listed}); raking cannot converge")
    w = design.weight_values.copy()
    converged = False
    worst = np.inf
    for _ in range(max_iter):
        for codes, target, _ in coded:
            current = np.bincount(codes, weights=w, minlength=len(target))
            with np.errstate(divide="ignore", invalid="ignore"):
                w = w * np.where(current > 0, target / current, 0.0)[codes]
        worst = max(
            float(np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) - t))) for c, t, _ in coded
        )
        if worst <= tol * totals[0]:
            converged = True
            break
    if not converged:
        raise RakingError(
            f"rake: margins not reached after {max_iter} cycles (largest gap {worst:.3g}, "
            f"tolerance {tol * totals[0]:.3g}); check for sparse or conflicting margins"
        )
    step = Calibration(
        "raking",
        tuple(c for c, _, _ in coded),
        tuple(len(t) for _, t, _ in coded),
        w.copy(),
    )
    return design.replace(weights=w, calibrations=(*design.calibrations, step))


def trim_weights(
    design: _D, *, upper: float = np.inf, lower: float = -np.inf, strict: bool = False
) -> _D:
    """Trim weights to ``[lower, upper]`` and spread the trimmed amount over the others.

    Parameters
    ----------
    design : SurveyDesign
    upper, lower : float
        Bounds for the weights.
    strict : bool
        Repeat until no weight is outside the bounds (the redistribution can push weights
        over ``upper`` again), as R's ``strict=TRUE``.

    Returns
    -------
    SurveyDesign
        A new design with the same weight total. Earlier calibration steps are kept unchanged
        for the variance, as in R.

    Notes
    -----
    R's ``trimWeights``: ``w' = min(upper, max(lower, w))``; the total trimmed,
    ``sum(w - w')``, is added *equally* to each weight that was inside the bounds.

    Examples
    --------
    >>> from analysis.stats.design import SurveyDesign
    >>> df = pd.DataFrame({"w": [1.0, 2.0, 9.0]})
    >>> trim_weights(SurveyDesign(df, weights="w"), upper=6).weights.tolist()
    [2.5, 3.5, 6.0]
    """
    w = design.weight_values.copy()
    for _ in range(len(w) + 1):  # each strict round fixes at least one more weight
        outside = (w < lower) | (w > upper)
        if not outside.any():
            break
        if outside.all():
            raise DesignError(f"trim_weights: every weight is outside [{lower}, {upper}]")
        trimmed = np.clip(w, lower, upper)
        trimmed[~outside] += (w - trimmed).sum() / (~outside).sum()
        w = trimmed
        if not strict:
            break
    return design.replace(weights=w)


def weight_diagnostics(design: Design) -> pd.DataFrame:
    """Summary of the weights: spread, Kish effective sample size, design effect of weighting.

    Returns
    -------
    pandas.DataFrame
        One row: ``n, weight_sum, weight_min, weight_max, weight_mean, weight_cv, n_effective,
        deff_weighting``.

    Notes
    -----
    Kish (1965): ``n_eff = (sum w)^2 / sum w^2`` and ``deff_w = n / n_eff = 1 + CV^2`` with the
    coefficient of variation of the weights computed with divisor ``n``.

    Examples
    --------
    >>> from analysis.stats.design import SurveyDesign
    >>> d = SurveyDesign(pd.DataFrame({"w": [1.0, 1.0, 2.0, 4.0]}), weights="w")
    >>> weight_diagnostics(d)[["n", "n_effective", "deff_weighting"]]
       n  n_effective  deff_weighting
    0  4     2.909091           1.375
    """
    w = design.weight_values
    n = len(w)
    mean = w.mean()
    cv = w.std(ddof=0) / mean
    n_eff = w.sum() ** 2 / (w**2).sum()
    return pd.DataFrame(
        {
            "n": [n],
            "weight_sum": [w.sum()],
            "weight_min": [w.min()],
            "weight_max": [w.max()],
            "weight_mean": [mean],
            "weight_cv": [cv],
            "n_effective": [n_eff],
            "deff_weighting": [n / n_eff],
        }
    )


def margin_table(
    before: Design,
    after: Design,
    margins: Mapping[str, Mapping[Hashable, float]],
) -> pd.DataFrame:
    """Weighted margins before and after weighting, next to their targets (tidy).

    Returns
    -------
    pandas.DataFrame
        ``[variable, level, target, before, after, target_share, before_share, after_share]``,
        one row per margin category in the order given.

    Examples
    --------
    >>> from analysis.stats.design import SurveyDesign
    >>> df = pd.DataFrame({"w": [1.0, 1.0, 1.0], "sex": ["female", "male", "male"]})
    >>> d = SurveyDesign(df, weights="w")
    >>> m = {"sex": {"female": 50, "male": 50}}
    >>> margin_table(d, rake(d, m), m)[["level", "target", "before", "after"]]
        level  target  before  after
    0  female    50.0     1.0   50.0
    1    male    50.0     2.0   50.0
    """
    rows = []
    for column, targets in margins.items():
        codes, target, categories = _margin_codes(after, column, targets, "margin_table")
        b = np.bincount(codes, weights=before.weight_values, minlength=len(target))
        a = np.bincount(codes, weights=after.weight_values, minlength=len(target))
        for k, level in enumerate(categories):
            rows.append(
                {
                    "variable": column,
                    "level": level,
                    "target": target[k],
                    "before": b[k],
                    "after": a[k],
                    "target_share": target[k] / target.sum(),
                    "before_share": b[k] / b.sum(),
                    "after_share": a[k] / a.sum(),
                }
            )
    return pd.DataFrame(rows)
