"""Gaussian random-intercept model by REML, matched to ``lme4::lmer`` and ``lmerTest``.

`fit_mixed` profiles lme4's REML criterion in its one parameter ``theta = tau / sigma`` and
minimises it exactly (boundary fits included); the fixed-effect covariance is lme4's
``vcov()`` and the degrees of freedom lmerTest's Satterthwaite ones, with analytic
derivatives. Used by `analysis.stats.models` (dose-response, DiD and the unit panel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import optimize

from analysis.stats.model_result import (
    ASSOCIATION,
    ASSUMPTIONS,
    ModelResult,
    check_columns,
    check_level,
    complete_rows,
    tidy_table,
)

__all__ = ["fit_mixed"]


def fit_mixed(
    data: pd.DataFrame,
    formula: str,
    *,
    group: str,
    df_method: Literal["satterthwaite", "wald"] = "satterthwaite",
    level: float = 0.95,
    key_terms: Sequence[str] = (),
    assumptions: str | None = None,
) -> ModelResult:
    """Linear mixed model with a random intercept per group, fitted by REML.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation (member or unit-wave).
    formula : str
        Fixed part, statsmodels formula syntax, e.g. ``"score ~ intensity + C(wave)"``.
    group : str
        Column with the grouping unit (grassroots unit); one random intercept per value.
    df_method : {"satterthwaite", "wald"}
        ``"satterthwaite"`` (default): t tests and intervals on Satterthwaite degrees of
        freedom, as ``lmerTest``'s ``summary()``; these matter for unit-level terms when an
        organisation has 20-50 units. ``"wald"``: normal reference and ``df`` None, as
        ``confint(fit, method = "Wald")`` in lme4.
    level : float
        Confidence level.
    key_terms : sequence of str
        Terms to flag in ``ModelResult.key_terms``.
    assumptions : str, optional
        Replaces the default bilingual assumptions text.

    Returns
    -------
    ModelResult
        ``table`` with Satterthwaite ``df`` (or None for ``"wald"``),
        ``variance_components`` ``{"<group> (Intercept)": tau2, "Residual": sigma2}``,
        ``reml_criterion`` (lme4's ``REMLcrit``).

    Notes
    -----
    Model: :math:`y_{ij} = x_{ij}'\\beta + u_j + e_{ij}`, :math:`u_j \\sim N(0, \\tau^2)`,
    :math:`e_{ij} \\sim N(0, \\sigma^2)`. The REML criterion is profiled as in lme4 (Bates et
    al. 2015, sec. 3.4) and, having one parameter :math:`\\theta = \\tau/\\sigma \\ge 0`,
    minimised exactly (grid bracket, then bounded Brent); :math:`\\hat\\beta` and
    :math:`\\hat\\sigma^2` follow in closed form. statsmodels ``MixedLM`` fits the same model
    but its default optimiser stops about 1e-4 (relative) short in the variance components
    and fails on boundary fits (:math:`\\tau^2 = 0`, lme4's "singular fit"), which this
    handles; a test cross-checks the two with MixedLM's BFGS at ``gtol = 1e-12``.
    Fixed-effect covariance is lme4's ``vcov()``:
    :math:`\\hat\\sigma^2 (X'H^{-1}X)^{-1}` with :math:`H = I + (\\hat\\tau^2/\\hat\\sigma^2) ZZ'`
    (computed per group by the Woodbury identity), not statsmodels' observed-information
    matrix, which also involves the variance parameters. Matches
    ``lme4::lmer(y ~ x + (1 | group), REML = TRUE)`` to 1e-6 relative (tests: sleepstudy,
    Dyestuff, Dyestuff2, cake). Satterthwaite:
    :math:`\\nu_j = 2 f_j^2 / (\\nabla f_j' A \\nabla f_j)` with
    :math:`f_j = \\operatorname{Var}(\\hat\\beta_j)` as a function of
    :math:`\\psi = (\\theta, \\sigma)` and :math:`A = 2 K^{-1}`, :math:`K` the Hessian of
    the REML deviance in :math:`\\psi` (lmerTest's parametrisation, so boundary fits agree
    too); gradient and Hessian are analytic here, numerical in lmerTest, which agrees to
    1e-6 (Kuznetsova, Brockhoff & Christensen 2017, *J. Stat. Softw.* 82(13)).

    Bates, D., Maechler, M., Bolker, B., Walker, S. (2015). Fitting linear mixed-effects
    models using lme4. *Journal of Statistical Software*, 67(1).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"y": [1.0, 2.1, 2.9, 4.2, 2.0, 2.8, 4.1, 5.0, 0.5, 1.4, 2.6, 3.2],
    ...                   "x": [0, 1, 2, 3] * 3, "g": ["a"] * 4 + ["b"] * 4 + ["c"] * 4})
    >>> res = fit_mixed(d, "y ~ x", group="g")
    >>> [(t, round(b, 6), round(se, 6)) for t, b, se in res.table[["term", "estimate", "se"]].itertuples(index=False)]
    [('Intercept', 1.15, 0.454067), ('x', 1.0, 0.039264)]
    >>> res.n_obs, res.n_groups  # lme4: fixef 1.15, 1.00; sqrt(diag(vcov)) 0.4540673, 0.0392641
    (12, 3)
    """
    check_level(level)
    check_columns(data, [group])
    data = complete_rows(data, [group])
    # The formula machinery of statsmodels builds X and y (and drops incomplete rows).
    design = smf.ols(formula, data, missing="drop")
    x, y = np.asarray(design.exog), np.asarray(design.endog)
    g = data.loc[design.data.row_labels, group].to_numpy()
    fit = _reml_random_intercept(x, y, g)
    tau2 = fit["sigma2"] * fit["theta"] ** 2
    cov = fit["sigma2"] * np.linalg.inv(_xt_hinv_x(x, g, fit["theta"] ** 2))
    if df_method == "satterthwaite":
        df = _satterthwaite_df(x, y, g, fit["beta"], tau2, fit["sigma2"], cov)
    elif df_method == "wald":
        df = None
    else:
        raise ValueError(f"df_method must be 'satterthwaite' or 'wald', got {df_method!r}")
    table = tidy_table(design.exog_names, fit["beta"], np.sqrt(np.diag(cov)), df, level)
    return ModelResult(
        table=table, n_obs=len(y), n_groups=len(np.unique(g)),
        variance_components={f"{group} (Intercept)": tau2, "Residual": fit["sigma2"]},
        formula=f"{formula} + (1 | {group})", method="mixed",
        assumptions=assumptions or f"{ASSOCIATION} {ASSUMPTIONS['mixed' if df is not None else 'mixed_wald']}",
        key_terms=tuple(key_terms), level=level, converged=fit["converged"],
        reml_criterion=fit["reml_criterion"],
    )


def _satterthwaite_df(x: np.ndarray, y: np.ndarray, g: np.ndarray, beta: np.ndarray,
                      tau2: float, sigma2: float, cov: np.ndarray) -> np.ndarray:
    """Satterthwaite df for each coefficient, in lmerTest's (theta, sigma) parametrisation.

    Derivatives of the REML deviance d = log|V| + log|X'V^-1X| + y'Py (V = sigma2 I + tau2 J,
    J = ZZ', P = V^-1 - V^-1 X cov X' V^-1) in phi = (tau2, sigma2) are analytic:
    d_k = tr(P V_k) - y'P V_k P y and H_kl = -tr(P V_k P V_l) + 2 y'P V_k P V_l P y, all from
    per-group sums because V^-1 = (I - c_g J_g) / sigma2 on group g. They are then carried to
    psi = (theta, sigma) with the chain rule (including the d_k term, which is not zero at a
    boundary fit).
    """
    _, inv, n_g = np.unique(g, return_inverse=True, return_counts=True)
    n_groups = len(n_g)

    def gsum(m: np.ndarray) -> np.ndarray:
        out = np.zeros((n_groups,) + m.shape[1:])
        np.add.at(out, inv, m)
        return out

    a = 1.0 / sigma2
    gamma = tau2 / sigma2
    c = gamma / (1.0 + gamma * n_g)
    one_m = 1.0 - c * n_g
    q = a * (x - (c[:, None] * gsum(x))[inv])  # V^-1 X
    r = y - x @ beta
    e = a * (r - (c * gsum(r))[inv])  # P y
    sq, se = gsum(q), gsum(e)
    qvq = [sq.T @ sq, q.T @ q]  # X'V^-1 V_k V^-1 X for k = tau2 (J), sigma2 (I)
    tr_w = [a * np.sum(n_g * one_m), a * np.sum(n_g * (1 - c))]
    e_ve = [np.sum(se**2), e @ e]
    d = np.array([tr_w[k] - np.trace(qvq[k] @ cov) - e_ve[k] for k in range(2)])
    # Per group, V_l W V_k = alpha I + beta J (W = V^-1); tr(W V_k W V_l) in closed form.
    coef = {(0, 0): (np.zeros(n_groups), a * one_m * n_g), (1, 1): (np.full(n_groups, a), -a * c),
            (0, 1): (np.zeros(n_groups), a * one_m)}
    tr_wvwv = {(0, 0): np.sum(a**2 * one_m**2 * n_g**2), (1, 1): np.sum(a**2 * n_g * (1 - 2 * c + c**2 * n_g)),
               (0, 1): np.sum(a**2 * one_m**2 * n_g)}
    v_e = [se[inv], e]
    h = np.zeros((2, 2))
    for k, l in [(0, 0), (0, 1), (1, 1)]:
        alpha, beta_ = coef[(k, l)]
        m = (q * alpha[inv][:, None]).T @ q + (sq * beta_[:, None]).T @ sq
        tr_pvpv = tr_wvwv[(k, l)] - 2 * np.trace(m @ cov) + np.trace(cov @ qvq[k] @ cov @ qvq[l])
        u, v = v_e[k], v_e[l]
        quad = a * (u @ v - np.sum(c * gsum(u) * gsum(v))) - (q.T @ u) @ cov @ (q.T @ v)
        h[k, l] = h[l, k] = -tr_pvpv + 2 * quad
    theta, sigma = np.sqrt(gamma), np.sqrt(sigma2)
    jac = np.array([[2 * theta * sigma2, 2 * theta**2 * sigma], [0.0, 2 * sigma]])  # d phi / d psi
    h_psi = (jac.T @ h @ jac + d[0] * np.array([[2 * sigma2, 4 * theta * sigma], [4 * theta * sigma, 2 * theta**2]])
             + d[1] * np.array([[0.0, 0.0], [0.0, 2.0]]))
    a_psi = 2 * np.linalg.inv(h_psi)
    grad = jac.T @ np.stack([np.diag(cov @ qvq[k] @ cov) for k in range(2)])  # 2 x p
    return 2 * np.diag(cov) ** 2 / np.einsum("kp,kl,lp->p", grad, a_psi, grad)


def _reml_deviance(theta: float, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> tuple[float, np.ndarray, float]:
    """lme4's profiled REML criterion for y = X b + Z u + e, u ~ N(0, (theta sigma)^2 I).

    Returns (criterion, beta_hat, penalised RSS). With gamma = theta^2 and
    H = I + gamma Z Z' (block diagonal, one block per group):
    d(theta) = sum_g log(1 + gamma n_g) + log|X'H^-1X| + (n - p)(1 + log(2 pi r2 / (n - p))),
    r2 = (y - X b)' H^-1 (y - X b)  (Bates et al. 2015, eq. 42, random intercepts).
    """
    n, p = x.shape
    gamma = theta * theta
    _, inv, n_g = np.unique(g, return_inverse=True, return_counts=True)
    xhx = _xt_hinv_x(x, g, gamma)
    c = gamma / (1.0 + gamma * n_g)
    sx = np.zeros((len(n_g), p))
    np.add.at(sx, inv, x)
    sy = np.bincount(inv, weights=y)
    beta = np.linalg.solve(xhx, x.T @ y - (sx * (c * sy)[:, None]).sum(axis=0))
    r = y - x @ beta
    sr = np.bincount(inv, weights=r)
    r2 = r @ r - np.sum(c * sr * sr)
    _, logdet = np.linalg.slogdet(xhx)
    dev = np.sum(np.log1p(gamma * n_g)) + logdet + (n - p) * (1 + np.log(2 * np.pi * r2 / (n - p)))
    return float(dev), beta, float(r2)


def _reml_random_intercept(x: np.ndarray, y: np.ndarray, g: np.ndarray) -> dict:
    """Minimise the profiled REML criterion over theta = tau / sigma >= 0.

    One parameter, so a log-spaced grid brackets the minimum (including theta = 0, the
    singular fit lme4 also reports) and bounded Brent refines it to ~1e-12.
    """
    n, p = x.shape
    if n - p < 1:
        raise ValueError(f"{n} observations for {p} coefficients: no residual degrees of freedom")
    if np.linalg.matrix_rank(x) < p:
        raise ValueError("the fixed-effects design is rank deficient (collinear terms)")
    grid = np.concatenate([[0.0], np.logspace(-4, 3, 57)])
    devs = np.array([_reml_deviance(t, x, y, g)[0] for t in grid])
    i = int(np.argmin(devs))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    opt = optimize.minimize_scalar(lambda t: _reml_deviance(t, x, y, g)[0], bounds=(lo, hi),
                                   method="bounded", options={"xatol": 1e-12 * max(hi, 1e-3), "maxiter": 500})
    theta = float(opt.x) if opt.fun <= devs[i] else float(grid[i])
    if _reml_deviance(0.0, x, y, g)[0] <= min(opt.fun, devs[i]):
        theta = 0.0  # boundary: no between-group variance (lme4: "boundary (singular) fit")
    dev, beta, r2 = _reml_deviance(theta, x, y, g)
    return {"theta": theta, "beta": beta, "sigma2": r2 / (n - p), "reml_criterion": dev,
            "converged": bool(opt.success) and i < len(grid) - 1}


def _xt_hinv_x(x: np.ndarray, g: np.ndarray, gamma: float) -> np.ndarray:
    """X' H^-1 X for H = I + gamma Z Z' (random intercepts), without forming H.

    Per group, (I + gamma 11')^-1 = I - c 11' with c = gamma / (1 + gamma n_g), so
    X'H^-1X = X'X - sum_g c_g s_g s_g' with s_g the column sums of X in group g.
    """
    _, inv, n_g = np.unique(g, return_inverse=True, return_counts=True)
    s = np.zeros((len(n_g), x.shape[1]))
    np.add.at(s, inv, x)
    c = gamma / (1.0 + gamma * n_g)
    return x.T @ x - (s * c[:, None]).T @ s
