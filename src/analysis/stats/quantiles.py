"""Design-based quantiles with Woodruff intervals, as R's ``svyquantile`` (survey 4.1.1 default).

What is matched: ``svyquantile(~y, d, quantiles, ci = TRUE)`` and ``svyby(~y, ~by, d,
svyquantile, quantiles = ..., ci = TRUE)`` with survey >= 4's defaults, checked on survey
4.1.1 (tests/test_quantiles.py; scripts/r_reference/estimators.R):

* ``qrule = "math"`` (R's ``qrule_math``): order the values, ``cumw`` the cumulative weights,
  ``pos`` the last position with ``cumw <= p * sum(w)`` (1 when there is none); the quantile is
  ``x[pos]`` when ``cumw[pos] / sum(w) == p`` exactly, else ``x[pos + 1]``. So a ``p`` below the
  smallest value's weight share gives the *second* smallest value, as R does. R accumulates the
  sums in long double; so does this module (``numpy.longdouble``), because the ``==`` above is
  exact and decides between two data values.
* ``interval.type = "mean"`` (Woodruff 1952): the design-based mean ``p_hat`` of ``y <= q_hat``
  in the domain, its interval ``p_hat +- t(1 - alpha/2, df) se(p_hat)`` on the design degrees of
  freedom of the domain's respondents (R's ``degf`` of the subset design), and the interval's
  ends turned back into values by the same rule; an end below 0 or above 1 (or an undefined
  one, e.g. a domain with df 0) is NaN. ``se = (upper - lower) / (2 t(1 - alpha/2, df))``, R's
  ``SE()`` of the result.

The standard error of ``p_hat`` is the design's (`analysis.stats.linearisation.Design.vcov`:
strata, clusters, fpc, lonely-PSU rule, calibration removed), so quantiles of raked designs
match R's. No design effect is defined (``deff`` is NaN). Hand-written: no Python survey
package reproduces R's rule and interval (see `analysis.stats.design` on ``svy``/``samplics``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats.calibration import DomainColumns
from analysis.stats.columns import DesignError, numeric_column
from analysis.stats.linearisation import Design

__all__ = ["quantile", "qrule_math"]


def qrule_math(x_sorted: np.ndarray, cumw: np.ndarray, total: float, p: np.ndarray) -> np.ndarray:
    """R's ``qrule_math`` for probabilities ``p`` on sorted values and their cumulative weights.

    ``cumw`` and ``total`` are float64 values of long-double sums (R's ``cumsum`` and ``sum``).

    >>> qrule_math(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 4.0]), 4.0,
    ...            np.array([0.1, 0.25, 0.5, 0.6]))
    array([2., 1., 2., 3.])
    """
    p = np.asarray(p, dtype=np.float64)
    pos = np.searchsorted(cumw, p * total, side="right")  # how many cumw <= p * total
    pos = np.maximum(pos, 1) - 1  # R's last(): 1 when there is none (0-based here)
    nxt = np.minimum(pos + 1, len(x_sorted) - 1)
    exact = (p - cumw[pos] / total) == 0
    return np.where(exact, x_sorted[pos], x_sorted[nxt])


def _sorted_sums(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    order = np.argsort(x, kind="stable")  # R's order() is stable too
    cumw = np.cumsum(w[order].astype(np.longdouble)).astype(np.float64)
    total = float(np.cumsum(w.astype(np.longdouble))[-1])  # R's sum(w), in row order
    return x[order], cumw, total


def quantile(
    design: Design,
    var: str,
    quantiles: float | Sequence[float] = (0.25, 0.5, 0.75),
    *,
    by: str | Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Weighted quantiles of a numeric column with Woodruff intervals (R's ``svyquantile``).

    Parameters
    ----------
    design : Design
        The survey design (a `analysis.stats.design.SurveyDesign`).
    var : str
        Numeric column; missing values are dropped (``na.rm = TRUE``).
    quantiles : float or sequence of float
        Probabilities in [0, 1].
    by : str or list of str, optional
        Domain column(s), as ``svyby(..., svyquantile)``; out-of-domain rows keep their place.
    alpha : float
        One minus the interval's level (R's ``alpha``).

    Returns
    -------
    pandas.DataFrame
        ``[*by, variable, quantile, estimate, se, ci_low, ci_high, n, deff]``, one row per
        domain and probability (domains sorted by code, probabilities as given); ``deff`` is
        NaN. ``ci_low``/``ci_high`` are the Woodruff interval (not ``estimate +- z se``).

    Notes
    -----
    See the module docstring for the rule and the interval (Woodruff 1952; Lumley 2010,
    sec. 2.4.1).

    Examples
    --------
    >>> df = pd.DataFrame({"w": [1.0, 1.0, 1.0, 1.0, 2.0], "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> from analysis.stats.design import SurveyDesign
    >>> quantile(SurveyDesign(df, weights="w"), "y", [0.5, 0.6])[["quantile", "estimate", "n"]]
       quantile  estimate  n
    0       0.5       3.0  5
    1       0.6       4.0  5
    """
    probs = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    if probs.ndim != 1 or not np.all((probs >= 0) & (probs <= 1)):
        raise DesignError(f"quantile: quantiles must lie in [0, 1]; got {quantiles!r}")
    if not 0 < alpha < 1:
        raise DesignError(f"quantile: alpha must lie in (0, 1); got {alpha!r}")
    names, domain, domains = design.domains(by)
    y = numeric_column(design.data, var, "quantile")
    w = design.weight_values
    valid = ~np.isnan(y) & (domain >= 0) & (w > 0)
    k, m = len(domains), len(probs)
    est = np.full((k, m), np.nan)
    low, high = est.copy(), est.copy()
    n = np.bincount(domain[valid], minlength=k)
    masks = [valid & (domain == d) for d in range(k)]  # a loop over domains, not respondents
    sums = [_sorted_sums(y[mask], w[mask]) if mask.any() else None for mask in masks]
    for d, s in enumerate(sums):
        if s is not None:
            est[d] = qrule_math(*s, probs)
    rows = np.flatnonzero(valid)
    dv, wv = domain[rows], w[rows]
    wsum = np.bincount(dv, weights=wv, minlength=k)
    # R's degf() of the domain's subset design: its PSUs minus its strata
    df = np.array([design.degf(mask) for mask in masks], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        t_lo, t_hi = stats.t.ppf(alpha / 2, df), stats.t.ppf(1 - alpha / 2, df)
    for j in range(m):  # Woodruff: the design-based CDF at the estimate, one pass per probability
        below = (y[rows] <= est[dv, j]).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_hat = np.bincount(dv, weights=wv * below, minlength=k) / wsum
            z = wv * (below - p_hat[dv]) / wsum[dv]
        se_p = np.sqrt(np.maximum(np.diag(design.vcov(DomainColumns(rows, dv, z, k))), 0.0))
        p_lo, p_hi = p_hat + t_lo * se_p, p_hat + t_hi * se_p
        for d, s in enumerate(sums):
            if s is None:
                continue
            if not (np.isnan(p_lo[d]) or p_lo[d] < 0):
                low[d, j] = qrule_math(*s, p_lo[d : d + 1])[0]
            if not (np.isnan(p_hi[d]) or p_hi[d] > 1):
                high[d, j] = qrule_math(*s, p_hi[d : d + 1])[0]
    with np.errstate(invalid="ignore"):
        se = (high - low) / (2 * t_hi[:, None])
    out = domains[names].loc[np.repeat(np.arange(k), m)].reset_index(drop=True) if names else pd.DataFrame(
        index=range(k * m))
    out["variable"] = var
    out["quantile"] = np.tile(probs, k)
    out["estimate"] = est.ravel()
    out["se"] = se.ravel()
    out["ci_low"] = low.ravel()
    out["ci_high"] = high.ravel()
    out["n"] = np.repeat(n, m).astype(np.int64)
    out["deff"] = np.nan
    return out
