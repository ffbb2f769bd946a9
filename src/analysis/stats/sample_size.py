"""Sample sizes and allocation for a target precision: the formulas of R's PracTools.

Pure functions on numbers and arrays (vectorised over targets); nothing is read or written.
Each one names the PracTools function it equals; tests/test_sample_size.py pins them to values
computed by PracTools (scripts/r_reference/sample_size.R writes them, with the R call beside each
value) and to the worked examples printed in the PracTools vignette.

Notation: ``S2`` the unit (population) variance of y, ``N`` the population size (``inf``: no
finite population correction), ``n`` the sample size (completed interviews), ``z = z_{1-α/2}``,
``deff`` the design effect (design variance over simple random sampling without replacement,
R's ``deff = TRUE``), ``W_h = N_h / N``.

Notes
-----
* Mean, target variance ``V0`` (Cochran 1977, eq. 4.3; VDK 2018, eq. 3.5; PracTools ``nCont``):
  ``Var(ȳ) = deff (1 - n/N) S2 / n`` = ``V0`` gives ``n = deff S2 / (V0 + deff S2 / N)``. A
  target CV ``CV0`` is ``V0 = (CV0 ȳ_U)²``, i.e. ``n = CV² / (CV0² + CV²/N)`` with ``CV = S/ȳ_U``.
* Margin of error ``e`` of a mean (``nContMoe(moe.sw = 1)``): ``V0 = (e / z)²``; relative to the
  mean (``moe.sw = 2``): ``e = z CV(ȳ)``. The margin of error bought by ``n``:
  ``e = z sqrt(deff S2 (1/n - 1/N))``.
* Proportion (``nPropMoe``, ``nProp``): ``S2 = N p (1 - p) / (N - 1)`` (``p q`` when ``N`` is
  infinite), then as for a mean; relative margin ``e = z CV(p̂)``, i.e. ``V0 = (e p / z)²``.
* Difference of two means with power (``nDep2sam``; Woodward 1992): samples of ``n1`` and
  ``n2 = n1 / r`` sharing a fraction ``g`` of sample 1, unit correlation ``ρ``:
  ``n1 = (S2x + r S2y - 2 g r ρ sqrt(S2x S2y)) (z_α - z_{1-power})² / δ²`` with ``z_α`` the
  one- or two-sided quantile.
* Change against a wave already observed (its estimate has variance ``V_prev``): a change
  ``δ`` is detected with the given power when ``sqrt(V_prev + V_new) (z_α + z_power) ≤ δ``, so
  the new wave needs ``V_new = (δ / (z_α + z_power))² - V_prev`` and ``n`` follows from the mean
  formula (``nCont(V0 = V_new)``). With ``V_prev = S2y / n2`` and no fpc this is ``nDep2sam``
  with ``g = 0``. ``V_new ≤ 0``: no sample of the new wave suffices (``inf``). The change
  detectable with ``n``: ``δ = (z_α + z_power) sqrt(V_prev + V_new(n))``.
* Kish's design effect of unequal weights (Kish 1965; PracTools ``deffK``): ``1 + CV²(w)`` with
  the CV computed with divisor ``n``.
* Allocation to strata of a total ``n`` (Cochran 1977, §5.5 and §5.8; PracTools ``strAlloc``):
  proportional ``n_h = n W_h``, Neyman ``n_h = n W_h S_h / Σ W_h S_h``. A stratum whose share
  exceeds what it can give (its size, or its expected respondents) is set to that capacity and
  the rest is allocated again over the other strata, until none exceeds (Cochran §5.8: the
  over-allocation rule; ``strAlloc`` only warns). A floor per stratum (e.g. two respondents, so
  that a stratum has a variance) is taken first.
* Variance of a stratified mean (Cochran eq. 5.6): ``Σ W_h² (1 - n_h/N_h) S_h² / n_h``; the
  ratio of two allocations' variances is the gain of one over the other.

Why hand-written: each formula is a line; the Python survey packages (samplics and its
successor svy) cover a margin of error and an allocation, but neither the change against an
observed previous wave nor the capped reallocation, and would add a dependency for a few lines.
The values are pinned to PracTools instead.

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley. Kish, L. (1965). *Survey Sampling*.
Wiley. Valliant, R., Dever, J. A., Kreuter, F. (2018). *Practical Tools for Designing and
Weighting Survey Samples*, 2nd ed. Springer (chapters 3 and 4; R package PracTools). Woodward,
M. (1992). Formulas for sample size, power and minimum detectable relative risk in medical
studies. *The Statistician* 41, 185–196.

Examples
--------
>>> round(float(n_for_cv(cv_pop=2.0, cv0=0.05)), 6)            # nCont(CV0 = 0.05, CVpop = 2)
1600.0
>>> round(float(n_for_cv(cv_pop=2.0, cv0=0.05, n_pop=500)))    # nCont(..., N = 500)
381
>>> int(np.ceil(n_for_proportion(0.5, moe=0.03)))              # nPropMoe(1, e = 0.03, pU = 0.5)
1068
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats

__all__ = [
    "z_value",
    "n_for_variance",
    "n_for_cv",
    "n_for_moe",
    "n_for_proportion",
    "moe_for_n",
    "n_two_sample",
    "n_for_change",
    "detectable_change",
    "kish_deff",
    "allocate",
    "stratified_variance",
]

Alternative = Literal["two.sided", "one.sided"]


def _array(x: object, name: str, *, positive: bool = True) -> np.ndarray:
    a = np.asarray(x, dtype="float64")
    if np.isnan(a).any():
        raise ValueError(f"{name} has a missing value (NaN); a sample size needs every input")
    if positive and (a <= 0).any():
        raise ValueError(f"{name} must be > 0, got {a[a <= 0][0]!r}")
    return a


def _out(a: np.ndarray) -> np.ndarray | float:
    return float(a) if a.ndim == 0 else a


def z_value(alpha: float = 0.05, alternative: Alternative = "two.sided") -> float:
    """``z_{1-α/2}`` (two-sided) or ``z_{1-α}`` (one-sided), R's ``qnorm``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if alternative not in ("two.sided", "one.sided"):
        raise ValueError(f"alternative must be 'two.sided' or 'one.sided', got {alternative!r}")
    return float(stats.norm.ppf(1 - alpha / 2 if alternative == "two.sided" else 1 - alpha))


def n_for_variance(s2: object, v0: object, *, n_pop: object = np.inf, deff: object = 1.0) -> np.ndarray | float:
    """Sample size giving a mean the variance *v0*: PracTools ``nCont(V0, S2 = deff * s2, N)``.

    ``n = deff S2 / (V0 + deff S2 / N)``; arrays broadcast. Unrounded (``ceil`` it for a plan).
    """
    s2e = _array(s2, "S2") * _array(deff, "deff")
    v0a = _array(v0, "V0")
    return _out(s2e / (v0a + s2e / _array(n_pop, "N")))


def n_for_cv(*, cv_pop: object, cv0: object, n_pop: object = np.inf) -> np.ndarray | float:
    """Sample size for a target CV of the mean: ``nCont(CV0, CVpop, N)``, ``CVpop² / (CV0² + CVpop²/N)``."""
    c2 = _array(cv_pop, "CVpop") ** 2
    return _out(c2 / (_array(cv0, "CV0") ** 2 + c2 / _array(n_pop, "N")))


def n_for_moe(s2: object, moe: object, *, n_pop: object = np.inf, deff: object = 1.0, alpha: float = 0.05,
              mean: object | None = None) -> np.ndarray | float:
    """Sample size for a margin of error of a mean: ``nContMoe``.

    Parameters
    ----------
    s2 : float or array
        Unit variance of y.
    moe : float or array
        Half-width of the ``1 - alpha`` confidence interval; relative to the mean when *mean* is
        given (``moe.sw = 2``: the interval is ``ȳ (1 ± moe)``).
    n_pop : float or array
        Population size (``inf``: no fpc).
    deff : float or array
        Design effect (1: simple random sampling).
    alpha : float
        1 - confidence level.
    mean : float or array, optional
        The population mean, for a relative margin.

    Returns
    -------
    float or ndarray
        Unrounded completed interviews.
    """
    z = z_value(alpha)
    e = _array(moe, "margin of error")
    if mean is not None:
        e = e * _array(mean, "mean")
    return n_for_variance(s2, (e / z) ** 2, n_pop=n_pop, deff=deff)


def n_for_proportion(p: object, *, moe: object | None = None, cv0: object | None = None, v0: object | None = None,
                     n_pop: object = np.inf, deff: object = 1.0, alpha: float = 0.05,
                     relative: bool = False) -> np.ndarray | float:
    """Sample size for a proportion: ``nPropMoe`` (margin *moe*) and ``nProp`` (*cv0* or *v0*).

    ``S2 = N p q / (N - 1)`` (``p q`` for an infinite population); give exactly one of *moe*,
    *cv0*, *v0*; ``relative=True`` reads *moe* relative to *p* (``nPropMoe(moe.sw = 2)``).
    """
    pa = _array(p, "p")
    if ((pa <= 0) | (pa >= 1)).any():
        raise ValueError(f"p must be in (0, 1), got {pa[(pa <= 0) | (pa >= 1)][0]!r}")
    if sum(x is not None for x in (moe, cv0, v0)) != 1:
        raise ValueError("give exactly one of moe, cv0 and v0")
    n = _array(n_pop, "N")
    s2 = pa * (1 - pa) * np.where(np.isinf(n), 1.0, n / np.where(np.isinf(n), 1.0, n - 1))
    if moe is not None:
        e = _array(moe, "margin of error") * (pa if relative else 1.0)
        target = (e / z_value(alpha)) ** 2
    elif cv0 is not None:
        target = (_array(cv0, "CV0") * pa) ** 2
    else:
        target = _array(v0, "V0")
    return n_for_variance(s2, target, n_pop=n, deff=deff)


def moe_for_n(s2: object, n: object, *, n_pop: object = np.inf, deff: object = 1.0,
              alpha: float = 0.05) -> np.ndarray | float:
    """Margin of error of a mean from *n* completed interviews: ``z sqrt(deff S2 (1/n - 1/N))``."""
    na = _array(n, "n")
    npop = _array(n_pop, "N")
    if (na > npop).any():
        raise ValueError(f"n ({na[na > npop][0]:g}) exceeds the population size")
    var = _array(s2, "S2") * _array(deff, "deff") * (1 / na - 1 / npop)
    return _out(z_value(alpha) * np.sqrt(np.maximum(var, 0.0)))


def n_two_sample(s2x: float, s2y: float, delta: float, *, overlap: float = 0.0, ratio: float = 1.0, rho: float = 0.0,
                 alpha: float = 0.05, power: float = 0.8,
                 alternative: Alternative = "two.sided") -> tuple[float, float]:
    """Sample sizes ``(n1, n2)`` to detect a difference *delta* of two means: ``nDep2sam``.

    Unrounded (``nDep2sam`` returns ``ceiling(n1)`` and ``ceiling(n1 / r)``). *overlap* is the
    share ``g`` of sample 1 also in sample 2, *ratio* ``r = n1 / n2``, *rho* the unit-level
    correlation of the two measurements.
    """
    if not 0 <= overlap <= 1 or not 0 <= rho <= 1 or ratio <= 0 or not 0 < power < 1:
        raise ValueError(f"need 0 ≤ overlap ≤ 1, 0 ≤ rho ≤ 1, ratio > 0, 0 < power < 1; got overlap={overlap}, "
                         f"rho={rho}, ratio={ratio}, power={power}")
    za = z_value(alpha, alternative)
    zb = float(stats.norm.ppf(1 - power))
    n1 = (s2x + ratio * s2y - 2 * overlap * ratio * rho * np.sqrt(s2x * s2y)) / delta**2 * (za - zb) ** 2
    return float(n1), float(n1 / ratio)


def n_for_change(s2: object, delta: object, *, var_previous: object, n_pop: object = np.inf, deff: object = 1.0,
                 alpha: float = 0.05, power: float = 0.8,
                 alternative: Alternative = "two.sided") -> np.ndarray | float:
    """Completed interviews for a change *delta* against an observed wave to be detected with *power*.

    ``V_new = (δ / (z_α + z_power))² - V_prev``, then ``nCont(V0 = V_new, S2 = deff S2, N)``;
    ``inf`` where ``V_new ≤ 0`` (the previous wave alone is too imprecise).
    """
    za = z_value(alpha, alternative)
    zp = float(stats.norm.ppf(power))
    v_new = (_array(delta, "change") / (za + zp)) ** 2 - _array(var_previous, "previous variance", positive=False)
    ok = v_new > 0
    n = n_for_variance(s2, np.where(ok, v_new, 1.0), n_pop=n_pop, deff=deff)
    return _out(np.where(ok, n, np.inf))


def detectable_change(s2: object, n: object, *, var_previous: object, n_pop: object = np.inf, deff: object = 1.0,
                      alpha: float = 0.05, power: float = 0.8,
                      alternative: Alternative = "two.sided") -> np.ndarray | float:
    """Smallest change detectable with *power* from *n* interviews: ``(z_α + z_power) sqrt(V_prev + V_new)``."""
    za = z_value(alpha, alternative)
    zp = float(stats.norm.ppf(power))
    v_new = (moe_for_n(s2, n, n_pop=n_pop, deff=deff, alpha=0.05) / z_value(0.05)) ** 2
    return _out((za + zp) * np.sqrt(v_new + _array(var_previous, "previous variance", positive=False)))


def kish_deff(weights: object) -> float:
    """Kish's design effect of unequal weights, ``1 + CV²`` (divisor n): PracTools ``deffK``."""
    w = _array(weights, "weights")
    return float(1 + np.mean((w - w.mean()) ** 2) / w.mean() ** 2)


def allocate(n_total: float, sizes: object, *, sds: object | None = None,
             method: Literal["proportional", "neyman"] = "proportional",
             capacity: object | None = None, minimum: object = 0.0) -> np.ndarray:
    """Allocate *n_total* interviews to strata: proportional or Neyman, capped and reallocated.

    Parameters
    ----------
    n_total : float
        Interviews to allocate.
    sizes : array
        Stratum population sizes ``N_h``.
    sds : array, optional
        Stratum unit standard deviations ``S_h`` (Neyman).
    method : "proportional" or "neyman"
        ``strAlloc(alloc = "prop")`` or ``strAlloc(alloc = "neyman")``.
    capacity : array, optional
        The most a stratum can give (default ``N_h``); where the share exceeds it the stratum
        gets its capacity and the rest goes to the others (Cochran §5.8).
    minimum : float or array
        A floor per stratum (capped by the capacity), taken before the shares.

    Returns
    -------
    ndarray
        Unrounded ``n_h``; their sum is ``min(n_total, Σ capacity)``.

    Examples
    --------
    >>> allocate(10, [10, 30, 60]).round(6).tolist()
    [1.0, 3.0, 6.0]
    >>> allocate(60, [10, 30, 60], sds=[4, 1, 1], method="neyman").round(4).tolist()
    [10.0, 16.6667, 33.3333]
    """
    nh = _array(sizes, "stratum sizes")
    cap = nh.copy() if capacity is None else np.minimum(_array(capacity, "capacity", positive=False), nh)
    if method == "neyman":
        if sds is None:
            raise ValueError("Neyman allocation needs the stratum standard deviations (sds)")
        share = nh * _array(sds, "stratum standard deviations", positive=False)
        if not (share > 0).any():
            share = nh.astype("float64")  # every S_h = 0: nothing to gain, fall back to proportional
    elif method == "proportional":
        share = nh.astype("float64")
    else:
        raise ValueError(f"allocation method must be 'proportional' or 'neyman', got {method!r}")
    floor = np.minimum(np.broadcast_to(_array(minimum, "minimum", positive=False), nh.shape), cap)
    total = min(float(n_total), float(cap.sum()))
    out = np.zeros(nh.shape)
    free = np.ones(nh.shape, dtype=bool)
    # Share among the free strata; fix those above their capacity (first) or below their floor
    # at that bound and share the rest again. A fixed stratum stays fixed: at most H rounds.
    for _ in range(len(nh) + 1):
        rest = total - out[~free].sum()
        weights = np.where(free, share, 0.0)
        proposal = np.where(free, rest * weights / weights.sum() if weights.sum() > 0 else 0.0, out)
        over, under = free & (proposal > cap), free & (proposal < floor)
        if over.any():
            out, free = np.where(over, cap, out), free & ~over
        elif under.any():
            out, free = np.where(under, floor, out), free & ~under
        else:
            return proposal
    return out


def stratified_variance(sizes: object, sds: object, n: object) -> float:
    """Variance of the stratified mean, ``Σ W_h² (1 - n_h/N_h) S_h² / n_h`` (Cochran eq. 5.6).

    Strata with ``n_h = 0`` must have ``S_h = 0`` (else the mean is not estimable: ``inf``).
    """
    nh = _array(sizes, "stratum sizes")
    s2 = _array(sds, "stratum standard deviations", positive=False) ** 2
    m = _array(n, "stratum sample sizes", positive=False)
    w = nh / nh.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(m > 0, w**2 * (1 - m / nh) * s2 / np.where(m > 0, m, 1.0), np.where(s2 > 0, np.inf, 0.0))
    return float(terms.sum())
