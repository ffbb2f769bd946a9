"""psych's default omega: omega hierarchical and omega total from the Schmid–Leiman solution.

:func:`omega_hierarchical` reproduces ``psych::omega(x)`` with its defaults (psych 2.2.9:
``nfactors = 3, fm = "minres", rotate = "oblimin", flip = TRUE``): ``omega_h``, ``omega.tot``,
``omega.lim``, ``alpha``, ``ECV``, the Schmid–Leiman loadings (``$schmid$sl``) and the group
omegas (``$omega.group``). The one-factor omega, psych's ``omega(x, nfactors = 1)``, stays
:func:`analysis.stats.reliability.omega_total`.

Hand-written because psych's numbers are where its iterations stop (see
:mod:`analysis.stats.factoring`, which reproduces them); the Schmid–Leiman algebra below is
psych's ``schmid()`` and ``omegah()`` line by line. Pure: nothing is read, written or printed;
an improper solution raises a :class:`HeywoodWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.stats import factoring
from analysis.stats.factoring import HeywoodWarning
from analysis.stats.reliability import Missing, item_correlation

__all__ = ["HeywoodWarning", "OmegaHierarchical", "omega_hierarchical"]


@dataclass(frozen=True)
class OmegaHierarchical:
    """psych's ``omega()`` of one scale.

    Attributes
    ----------
    omega_h : float
        Omega hierarchical, ``(sum g)^2 / sum(R)`` (psych's ``omega_h``).
    omega_total : float
        ``(sum(R) - sum(u2)) / sum(R)`` with the communalities of ``nfactors`` factors
        (psych's ``omega.tot``); differs from the one-factor omega.
    omega_limit : float
        ``(sum g)^2 / (sum(R) - sum(u2))`` (psych's ``omega.lim``).
    alpha : float
        Standardised alpha of the flipped items (psych's ``alpha`` in ``omega()``).
    ecv : float
        Explained common variance of the general factor (psych's ``ECV``).
    loadings : pandas.DataFrame
        psych's ``$schmid$sl`` after flipping, indexed by item: ``g``, ``F1*`` … ``Fk*``, ``h2``,
        ``u2``, ``p2``.
    key : pandas.Series
        ``+1`` / ``-1`` by item: ``-1`` for an item psych reversed because it loads negatively
        on the general factor (``flip = TRUE``; psych's ``$key``, shown as ``A1-`` in its print).
    phi : pandas.DataFrame
        Correlations of the oblimin factors (``$schmid$phi``).
    general_loadings : pandas.Series
        Loadings of the group factors on the general factor (``$schmid$gloading``).
    group : pandas.DataFrame
        psych's ``$omega.group``: rows ``g``, ``F1*`` …, columns ``total``, ``general``, ``group``.
    improper : tuple of str
        One sentence per Heywood case or non-converged step (also raised as warnings).
    n, k, nfactors : int
        Respondents used, items, group factors.
    """

    omega_h: float
    omega_total: float
    omega_limit: float
    alpha: float
    ecv: float
    loadings: pd.DataFrame = field(repr=False, compare=False)
    key: pd.Series = field(repr=False, compare=False)
    phi: pd.DataFrame = field(repr=False, compare=False)
    general_loadings: pd.Series = field(repr=False, compare=False)
    group: pd.DataFrame = field(repr=False, compare=False)
    improper: tuple[str, ...]
    n: int
    k: int
    nfactors: int


def _varimax_solution(r: np.ndarray, nfactors: int) -> tuple[np.ndarray, factoring.Minres]:
    """``fa(r, nfactors, fm = "minres", rotate = "varimax")$loadings`` with psych's signs and order."""
    fit = factoring.minres(r, nfactors)
    lam, _ = factoring.varimax(fit.loadings)
    sign = np.sign(lam.sum(axis=0))
    lam = lam * np.where(sign == 0, 1.0, sign)
    # fa() orders the rotated factors by their sums of squares, ties in their order (R's order()).
    return lam[:, np.argsort(-np.sum(lam**2, axis=0), kind="stable")], fit


def _general_loadings(phi: np.ndarray, nfactors: int) -> tuple[np.ndarray, factoring.Minres | None]:
    """Loadings of the group factors on g: ``fa(phi, fm = "minres")``, or psych's two-factor rule."""
    if nfactors > 2:
        d = np.sqrt(np.diag(phi))
        fit = factoring.minres(phi / np.outer(d, d), 1)  # fa() takes cov2cor() of a correlation input
        return fit.loadings[:, 0], fit
    # Two group factors do not identify g; psych (option = "equal") splits their correlation.
    r12 = phi[0, 1]
    return np.array([np.sqrt(abs(r12)), np.sign(r12) * np.sqrt(abs(r12))]), None


def _improper(scale: str, items: list[str], first: factoring.Minres, second: factoring.Minres | None,
              g: np.ndarray, gload: np.ndarray, rotated: bool) -> list[str]:
    """Sentences naming each Heywood case (communality or loading >= 1) and each stalled step."""
    out = factoring.heywood_items(first, items, scale)
    out += [f"scale {scale!r}: item {items[i]} loads {g[i]:.4f} on the general factor (|loading| >= 1)"
            for i in np.flatnonzero(np.abs(g) >= 1)]
    out += [f"scale {scale!r}: group factor F{j + 1} loads {gload[j]:.4f} on the general factor "
            f"(|loading| >= 1, communality {gload[j] ** 2:.4f}); its group loadings are set to 0, as psych does"
            for j in np.flatnonzero(np.abs(gload) >= 1)]
    if not first.converged or (second is not None and not second.converged):
        out.append(f"scale {scale!r}: the minres fit stopped at psych's 100 iterations without converging")
    if not rotated:
        out.append(f"scale {scale!r}: oblimin did not converge in 1000 iterations (GPArotation warns too)")
    return out


def omega_hierarchical(items: pd.DataFrame, *, nfactors: int = 3, missing: Missing = "pairwise",
                       scale: str | None = None) -> OmegaHierarchical:
    """Omega hierarchical and omega total from a Schmid–Leiman solution, as ``psych::omega(x)``.

    Parameters
    ----------
    items : pandas.DataFrame
        Numeric items, one row per respondent; NaN/NA for a missing answer. Reverse-keying is
        not needed: items that load negatively on the general factor are flipped, as psych does.
    nfactors : int
        Group factors (psych's default 3). Two are not identified; psych's ``option = "equal"``
        rule is used then.
    missing : {"pairwise", "listwise"}
        The correlation matrix (:func:`analysis.stats.reliability.item_correlation`); psych
        uses ``cor(x, use = "pairwise")``.
    scale : str, optional
        The scale's name, used in warnings (default: the item names).

    Returns
    -------
    OmegaHierarchical

    Raises
    ------
    ValueError
        ``nfactors`` below 2, no more items than ``nfactors``, a non-numeric item or an
        undefined correlation.

    Warns
    -----
    HeywoodWarning
        An improper solution: an item communality of 1 or more in the ``nfactors``-factor
        solution (psych: "An ultra-Heywood case was detected"), an item loading 1 or more on
        g, a group factor loading 1 or more on g (psych warns from the second-order ``fa``),
        or an optimiser that stopped without converging. The warning names the scale, the
        item or factor and the loading; the estimates are still psych's.

    Notes
    -----
    With ``R = cor(x, use = "pairwise")`` (psych ``schmid()``, ``omegah()``):

    1. ``fa(R, nfactors, fm = "minres", rotate = "varimax")`` gives orthogonal loadings ``A``,
       communalities ``h2 = rowSums(A^2)`` and ``u2 = 1 - h2``;
    2. ``GPArotation::oblimin(A)`` gives pattern loadings ``F`` and factor correlations ``Phi``;
    3. ``fa(Phi, 1, fm = "minres")`` gives the loadings ``gamma`` of the factors on g;
    4. general loadings ``g = F gamma``; group loadings ``sign(F) sqrt(max(F^2 (1 - gamma^2), 0))``;
    5. flip: items with ``g < 0`` are reversed (``R`` becomes ``DRD``, ``D = diag(sign g)``);
    6. ``omega_h = (sum g)^2 / 1'R1``, ``omega_total = (1'R1 - sum u2) / 1'R1``.

    Every iterative step is psych's own (:mod:`analysis.stats.factoring`), so proper solutions
    agree with psych to about 1e-10. In a Heywood case where an optimiser stops on its
    bound, R's L-BFGS-B (version 2.3) and SciPy's (3.0) can take different last steps, and
    the results then agree to about 1e-4 (the warning says so by naming the case).

    Revelle, W. & Zinbarg, R. E. (2009). Coefficients alpha, beta, omega, and the glb.
    *Psychometrika*, 74, 145-154. Schmid, J. & Leiman, J. M. (1957). *Psychometrika*, 22, 53-61.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> g, f = rng.normal(size=(500, 1)), rng.normal(size=(500, 3))
    >>> x = pd.DataFrame(0.6 * g + 0.5 * np.repeat(f, 3, axis=1) + 0.6 * rng.normal(size=(500, 9)),
    ...                  columns=[f"q{i}" for i in range(9)])
    >>> res = omega_hierarchical(x)
    >>> bool(0 < res.omega_h < res.omega_total < 1), res.loadings.columns.tolist()
    (True, ['g', 'F1*', 'F2*', 'F3*', 'h2', 'u2', 'p2'])
    """
    if nfactors < 2:
        raise ValueError(f"omega hierarchical needs at least 2 group factors, got nfactors={nfactors}; "
                         "the one-factor omega is analysis.stats.reliability.omega_total")
    r_df, n = item_correlation(items, missing=missing)
    names = list(r_df.index)
    if len(names) <= nfactors:
        raise ValueError(f"omega hierarchical with {nfactors} group factors needs more than {nfactors} items, "
                         f"got {len(names)}: {names}")
    r = r_df.to_numpy()
    orth, first = _varimax_solution(r, nfactors)
    pattern, phi, rotated = factoring.oblimin(orth)
    gload, second = _general_loadings(phi, nfactors)
    g = pattern @ gload
    h2 = np.sum(orth**2, axis=1)
    u2 = np.diag(r) - h2
    group_sq = pattern**2 * (1.0 - gload**2)
    group = np.sign(pattern) * np.sqrt(np.maximum(group_sq, 0.0))

    key = np.where(np.sign(g) == 0, 1.0, np.sign(g))
    rf = r * np.outer(key, key)
    g_f, group_f = g * key, group * key[:, None]
    vt = rf.sum()
    k = len(names)
    oblique = [f"F{j + 1}" for j in range(nfactors)]
    factors = [f"{f}*" for f in oblique]  # psych's names for the residualised group factors
    sl = pd.DataFrame(np.column_stack([g_f, group_f, h2, u2, g**2 / h2]), index=pd.Index(names, name="item"),
                      columns=["g", *factors, "h2", "u2", "p2"])
    ev = np.sum(np.column_stack([g_f, group_f]) ** 2, axis=0)

    problems = _improper(scale or ", ".join(names), names, first, second, g, gload, rotated)
    for text in problems:
        warnings.warn(f"omega_hierarchical: improper solution: {text}", HeywoodWarning, stacklevel=2)
    return OmegaHierarchical(
        omega_h=float(g_f.sum() ** 2 / vt),
        omega_total=float((vt - u2.sum()) / vt),
        omega_limit=float(g_f.sum() ** 2 / (vt - u2.sum())),
        alpha=float((vt - np.trace(rf)) / vt * k / (k - 1)),
        ecv=float(ev[0] / ev.sum()),
        loadings=sl,
        key=pd.Series(key.astype(int), index=sl.index, name="key"),
        phi=pd.DataFrame(phi, index=oblique, columns=oblique),
        general_loadings=pd.Series(gload, index=oblique, name="g"),
        group=_omega_group(rf, sl, factors, (vt - u2.sum()) / vt),
        improper=tuple(problems),
        n=n, k=k, nfactors=nfactors,
    )


def _omega_group(rf: np.ndarray, sl: pd.DataFrame, factors: list[str], omega_tot: float) -> pd.DataFrame:
    """psych's ``$omega.group``: each item goes to its largest group loading.

    Rows ``g`` and each group factor; columns ``total`` ((sum group + sum g)^2 over the
    factor's items' variance, ``omega_total`` for g), ``general`` (g's share) and ``group``.
    NaN for a factor that is no item's largest.
    """
    gl = sl[factors].to_numpy()
    gen = sl["g"].to_numpy()
    best = np.argmax(np.abs(gl), axis=1)
    rows = {"g": {"total": omega_tot, "general": gen.sum() ** 2 / rf.sum(), "group": np.nan}}
    grs = 0.0
    for j, name in enumerate(factors):  # a handful of factors, not respondents
        idx = np.flatnonzero(best == j)
        if len(idx) == 0:
            rows[name] = {"total": np.nan, "general": np.nan, "group": np.nan}
            continue
        v = rf[np.ix_(idx, idx)].sum()
        gr, gg = gl[idx, j].sum(), gen[idx].sum()
        grs += gr**2
        rows[name] = {"total": (gr**2 + gg**2) / v, "general": gg**2 / v, "group": gr**2 / v}
    rows["g"]["group"] = grs / rf.sum()
    return pd.DataFrame.from_dict(rows, orient="index")[["total", "general", "group"]]
