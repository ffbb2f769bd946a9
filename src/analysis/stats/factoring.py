"""Exploratory factor analysis as psych's ``fa()`` computes it: minres, varimax, oblimin.

The steps of ``psych::fa(r, nfactors, fm = "minres", rotate = ...)`` (psych 2.2.9) that
``psych::omega`` builds on, on a correlation matrix in and NumPy arrays out:

* :func:`smc` — squared multiple correlations, psych's starting communalities;
* :func:`minres` — minimum-residual loadings and uniquenesses, with psych's optimiser settings;
* :func:`varimax` — ``stats::varimax`` (Kaiser-normalised, ``eps = 1e-5``);
* :func:`oblimin` — ``GPArotation::oblimin`` (``GPFoblq``, quartimin, ``eps = 1e-5``).

Why hand-written: psych's results are where *its* iterations stop, not the exact optima, and
the Schmid–Leiman omega inherits every stopping point. ``fa(fm = "minres")`` stops L-BFGS-B at
R's default ``factr = 1e7``: on bfi's 25 items its uniquenesses are up to 3.6e-5 from the exact
minres optimum, and on 5 items with 3 factors (more parameters than correlations) the optimum
is a whole set, so the answer is the point where the path from psych's start ends (1.7e-2 from
another exact optimum). ``factor_analyzer`` 0.5.1 (the Python library for minres and oblimin)
gets the oblimin step to 1e-15 but its minres differs from psych's by 3.6e-5 (25 items) and
4e-2 (5 items), and it does not run with current scikit-learn (``check_array(force_all_finite=)``
was removed). So the optimiser call is reproduced instead — same objective, gradient, start,
bounds, parameter scale, memory (5) and tolerance through SciPy's L-BFGS-B — which gives psych's
uniquenesses to 1e-10, and the two rotations are short, exact ports of the R code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = ["HeywoodWarning", "Minres", "heywood_items", "smc", "minres", "varimax", "oblimin"]

_EPS = np.finfo(float).eps
#: optim(method = "L-BFGS-B") defaults that psych's fa() leaves alone: factr, lmm, maxit.
_FACTR, _LMM, _MAXIT = 1e7, 5, 100
#: psych's fa(): control = list(parscale = rep(0.01, nvar)), lower = 0.005.
_PARSCALE, _LOWER = 0.01, 0.005


class HeywoodWarning(UserWarning):
    """An improper factor solution: a communality or a loading of 1 or more (a Heywood case)."""


@dataclass(frozen=True)
class Minres:
    """Unrotated minimum-residual solution of a correlation matrix.

    Attributes
    ----------
    loadings : numpy.ndarray
        Items x factors, each column's sum positive (psych's sign rule).
    uniquenesses : numpy.ndarray
        The optimised uniquenesses (``1 - fa()$communalities``, bounded below at 0.005).
    communality : numpy.ndarray
        ``rowSums(loadings^2)`` (psych's ``fa()$communality``); above 1 is psych's
        "ultra-Heywood case".
    converged : bool
        False when L-BFGS-B used up psych's 100 iterations. A line search that can no longer
        improve counts as converged, as R's ``optim`` reports it.
    """

    loadings: np.ndarray
    uniquenesses: np.ndarray
    communality: np.ndarray
    converged: bool


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(pinv(R))``, clipped to [0, 1] (``psych::smc``)."""
    out = 1.0 - 1.0 / np.diag(np.linalg.pinv(r))
    return np.clip(out, 0.0, 1.0)


def _top(s: np.ndarray, psi: np.ndarray, nf: int, floor: float | None) -> np.ndarray:
    """Leading ``nf`` eigenvectors of ``S - diag(psi)`` scaled by the root of their eigenvalues.

    ``floor``: psych's objective lifts eigenvalues below machine epsilon to ``100 * eps``;
    its gradient and its final loadings cut them at 0 instead (``floor=None``).
    """
    val, vec = np.linalg.eigh(s - np.diag(psi))
    val, vec = val[::-1][:nf], vec[:, ::-1][:, :nf]
    val = np.where(val < _EPS, 100 * _EPS, val) if floor is not None else np.maximum(val, 0.0)
    return vec * np.sqrt(val)


def minres(r: np.ndarray, nfactors: int) -> Minres:
    """``psych::fa(r, nfactors, fm = "minres", rotate = "none")``: loadings and uniquenesses.

    Parameters
    ----------
    r : numpy.ndarray
        A correlation matrix (finite, symmetric, unit diagonal).
    nfactors : int
        Number of factors.

    Returns
    -------
    Minres

    Notes
    -----
    psych minimises the sum of squared lower-triangle residuals ``r_ij - (LL')_ij`` over the
    uniquenesses ``psi`` (``L``: leading eigenvectors of ``R - diag(psi)``), with
    ``optim(1 - smc(R), fn, gr, method = "L-BFGS-B", lower = 0.005, upper = 1,
    control = list(parscale = rep(0.01, p)))``; its gradient ``diag(LL' + diag(psi) - R)`` is
    the unweighted-least-squares one, which vanishes at the same optimum. That call is
    reproduced here (SciPy's L-BFGS-B with R's ``factr = 1e7``, ``pgtol = 0``, ``lmm = 5``,
    ``maxit = 100``, on ``psi / 0.01``). Loadings are then those of ``R - diag(psi)``, each
    column's sign made to give a positive sum, exact zeros replaced by 1e-15, as in psych.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[1, .48, .40, .32], [.48, 1, .30, .24], [.40, .30, 1, .20], [.32, .24, .20, 1]])
    >>> np.round(minres(r, 1).loadings[:, 0], 4)   # a one-factor model with loadings .8 .6 .5 .4
    array([0.8, 0.6, 0.5, 0.4])
    """
    s = np.asarray(r, dtype=float)
    p = s.shape[0]
    low = np.tril_indices(p, -1)
    upper = max(float(smc(s).max()), 1.0)

    def fn(z: np.ndarray) -> float:
        lam = _top(s, z * _PARSCALE, nfactors, floor=100 * _EPS)
        return float(np.sum((s - lam @ lam.T)[low] ** 2))

    def gr(z: np.ndarray) -> np.ndarray:
        psi = z * _PARSCALE
        lam = _top(s, psi, nfactors, floor=None)
        return np.diag(lam @ lam.T + np.diag(psi) - s) * _PARSCALE

    start = np.diag(s) - smc(s)
    fit = optimize.minimize(fn, start / _PARSCALE, jac=gr, method="L-BFGS-B",
                            bounds=[(_LOWER / _PARSCALE, upper / _PARSCALE)] * p,
                            options={"maxcor": _LMM, "ftol": _FACTR * _EPS, "gtol": 0.0, "maxiter": _MAXIT})
    psi = fit.x * _PARSCALE
    lam = _top(s, psi, nfactors, floor=None)
    sign = np.sign(lam.sum(axis=0))
    lam = lam * np.where(sign == 0, 1.0, sign)
    lam[lam == 0] = 1e-15
    return Minres(loadings=lam, uniquenesses=psi, communality=np.sum(lam**2, axis=1),
                  converged=fit.status != 1)  # 1: iteration limit; a stalled line search is R's stop too


def heywood_items(fit: Minres, items: list[str], scale: str) -> list[str]:
    """One sentence per item whose communality is 1 or more (psych: "ultra-Heywood case")."""
    nf = fit.loadings.shape[1]
    return [f"scale {scale!r}: item {items[i]} has communality {fit.communality[i]:.4f} >= 1 in the "
            f"{nf}-factor minres solution (ultra-Heywood case; largest loading "
            f"{fit.loadings[i, np.argmax(np.abs(fit.loadings[i]))]:.4f})"
            for i in np.flatnonzero(fit.communality >= 1)]


def varimax(loadings: np.ndarray, *, normalize: bool = True, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """``stats::varimax``: rotated loadings and the rotation matrix.

    The same iteration and stopping rule as R (at most 1000 SVD steps, stop when the criterion
    grows by less than a factor ``1 + eps``), so the rotation stops where R's does.
    """
    x = np.asarray(loadings, dtype=float)
    p, nc = x.shape
    if nc < 2:
        return x.copy(), np.eye(nc)
    sc = np.sqrt(np.sum(x**2, axis=1)) if normalize else np.ones(p)
    x = x / sc[:, None]
    rot = np.eye(nc)
    d = 0.0
    for _ in range(1000):
        z = x @ rot
        b = x.T @ (z**3 - z * (np.sum(z**2, axis=0) / p))
        u, sv, vt = np.linalg.svd(b)
        rot = u @ vt
        d_past, d = d, float(np.sum(sv))
        if d < d_past * (1 + eps):
            break
    return (x @ rot) * sc[:, None], rot


def oblimin(loadings: np.ndarray, *, gam: float = 0.0, eps: float = 1e-5,
            maxit: int = 1000) -> tuple[np.ndarray, np.ndarray, bool]:
    """``GPArotation::oblimin(L)`` (``GPFoblq``, not normalised): loadings, ``Phi``, converged.

    Bernaards & Jennrich's gradient projection from the identity, step doubling and halving as
    in GPArotation 2022.10; the criterion is ``sum(L^2 * (L^2 N)) / 4`` with ``N`` ones off the
    diagonal (quartimin for ``gam = 0``). Stops when the projected gradient's norm is below
    ``eps``, as R does, so the loadings match R's to its own stopping point.

    Bernaards, C. A. & Jennrich, R. I. (2005). Gradient projection algorithms and software for
    arbitrary rotation criteria in factor analysis. *Educ. Psychol. Meas.*, 65, 676-696.
    """
    a = np.asarray(loadings, dtype=float)
    p, nc = a.shape
    if nc < 2:
        raise ValueError(f"oblimin needs at least 2 factors, got {nc}")
    off = 1.0 - np.eye(nc)
    centre = np.eye(p) - gam / p

    def crit(lam: np.ndarray) -> tuple[float, np.ndarray]:
        x = (lam**2) @ off
        if gam != 0:
            x = centre @ x
        return float(np.sum(lam**2 * x) / 4), lam * x

    t = np.eye(nc)
    lam = a @ np.linalg.inv(t).T
    f, gq = crit(lam)
    g = -(lam.T @ gq @ np.linalg.inv(t)).T
    al = 1.0
    s = np.inf
    for _ in range(maxit + 1):
        gp = g - t @ np.diag(np.sum(t * g, axis=0))
        s = float(np.sqrt(np.sum(gp**2)))
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            x = t - al * gp
            t_new = x / np.sqrt(np.sum(x**2, axis=0))
            lam = a @ np.linalg.inv(t_new).T
            f_new, gq = crit(lam)
            if f - f_new > 0.5 * s**2 * al:
                break
            al /= 2
        t, f = t_new, f_new
        g = -(lam.T @ gq @ np.linalg.inv(t_new)).T
    return lam, t.T @ t, bool(s < eps)
