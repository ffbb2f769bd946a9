"""Regression models of member outcomes on plan implementation: mixed, cluster-robust, DiD, panel.

Four questions, one result shape. Every function returns a frozen :class:`ModelResult` whose
``table`` has the fixed columns ``[term, estimate, se, statistic, df, p_value, ci_low,
ci_high]`` and which carries ``n_obs``, ``n_groups``, ``variance_components``, ``formula``,
``method`` and a bilingual ``assumptions`` text. Results are associations: the plan reached
every unit, so there is no untreated comparison group.

* :func:`fit_mixed` - Gaussian random-intercept model by REML; matches ``lme4::lmer``
  (estimates, SEs, variance components, REML criterion) and ``lmerTest`` (Satterthwaite df).
* :func:`fit_cluster_robust` - survey-weighted least squares with design-based sandwich
  standard errors; matches ``survey::svyglm``.
* :func:`fit_dose_response` - outcome ~ implementation intensity + wave (+ org, controls),
  with either of the two fits above.
* :func:`estimate_did` - the wave x high/low implementation interaction (difference in
  differences); matches ``lmer`` / ``svyglm`` with ``y ~ high * wave``.
* :func:`fit_unit_panel` - unit indicators over waves with unit random intercepts (``lmer``)
  or unit fixed effects with clustered SEs (``lm`` + ``sandwich::vcovCL``).

Formulas use statsmodels' formula syntax (``y ~ x + C(g)``); text columns become treatment
contrasts with the first sorted level as reference, as in R. Rows with a missing value in any
model variable are dropped (R's ``na.omit``), and ``n_obs`` says how many were used.
Functions are pure: nothing is read, written or printed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import optimize, stats

__all__ = [
    "TABLE_COLUMNS",
    "ModelResult",
    "fit_mixed",
    "fit_cluster_robust",
    "fit_dose_response",
    "estimate_did",
    "fit_unit_panel",
]

TABLE_COLUMNS = ["term", "estimate", "se", "statistic", "df", "p_value", "ci_low", "ci_high"]
Method = Literal["mixed", "cluster_robust"]

_ASSOCIATION = (
    "Quan hệ liên quan, không phải nhân quả: không có nhóm đối chứng. "
    "Association, not causation: there is no control group."
)
ASSUMPTIONS = {
    "mixed": (
        "Mô hình tuyến tính hỗn hợp (REML) với hệ số chặn ngẫu nhiên theo đơn vị cơ sở; kiểm định "
        "t với bậc tự do Satterthwaite; không dùng trọng số khảo sát. "
        "Linear mixed model (REML) with a random intercept per grassroots unit; t tests on "
        "Satterthwaite degrees of freedom; survey weights are not used."
    ),
    "mixed_wald": (
        "Mô hình tuyến tính hỗn hợp (REML) với hệ số chặn ngẫu nhiên theo đơn vị cơ sở; khoảng tin "
        "cậy Wald (phân phối chuẩn); không dùng trọng số khảo sát. "
        "Linear mixed model (REML) with a random intercept per grassroots unit; Wald (normal) "
        "tests and intervals; survey weights are not used."
    ),
    "cluster_robust": (
        "Hồi quy có trọng số khảo sát; sai số chuẩn theo thiết kế (sandwich), cho phép các "
        "thành viên cùng đơn vị tương quan; kiểm định t với bậc tự do của thiết kế. "
        "Survey-weighted regression; design-based (sandwich) standard errors that allow members "
        "of one unit to be correlated; t tests on the design degrees of freedom."
    ),
    "did": (
        "Khác biệt kép: giả định xu hướng song song giữa đơn vị thực hiện cao và thấp nếu không "
        "có khác biệt thực hiện; nhóm 'thấp' vẫn chịu tác động của đề án. "
        "Difference-in-differences: assumes parallel trends of high- and low-implementation "
        "units absent the difference in implementation; the 'low' group was also exposed to the plan."
    ),
    "fixed": (
        "Hiệu ứng cố định theo đơn vị: chỉ dùng biến động trong từng đơn vị qua các đợt; sai số "
        "chuẩn vững theo cụm đơn vị (CR1), bậc tự do = số đơn vị - 1. "
        "Unit fixed effects: only within-unit change across waves is used; unit-clustered robust "
        "standard errors (CR1) with (units - 1) degrees of freedom."
    ),
    "random": (
        "Hệ số chặn ngẫu nhiên theo đơn vị: giả định hiệu ứng đơn vị không tương quan với các biến "
        "giải thích. Unit random intercept: assumes the unit effect is uncorrelated with the "
        "covariates."
    ),
}


@dataclass(frozen=True)
class ModelResult:
    """A fitted model, tidy.

    Attributes
    ----------
    table : pandas.DataFrame
        ``[term, estimate, se, statistic, df, p_value, ci_low, ci_high]``, one row per
        coefficient; ``df`` is None for normal-theory (Wald z) rows.
    n_obs : int
        Rows used after dropping missing values.
    n_groups : int or None
        Grassroots units (random-effect groups or clusters).
    variance_components : dict
        ``{"<unit> (Intercept)": var, "Residual": var}`` for mixed models, empty otherwise.
    formula : str
        The fitted formula (random part written lme4-style for mixed models).
    method : str
        ``"mixed"``, ``"cluster_robust"`` or ``"fixed_effects"``.
    assumptions : str
        Short bilingual (vi/en) statement of what the estimates mean and assume.
    key_terms : tuple of str
        The rows the calling function is about (e.g. the DiD interaction), in table order.
    level : float
        Confidence level of ``ci_low``/``ci_high``.
    converged : bool
        Whether the optimiser reported convergence (always True for closed-form fits).
    reml_criterion : float or None
        lme4's ``REMLcrit()`` (-2 x restricted log-likelihood) for mixed models.
    """

    table: pd.DataFrame = field(repr=False, compare=False)
    n_obs: int
    n_groups: int | None
    variance_components: dict = field(compare=False)
    formula: str
    method: str
    assumptions: str = field(repr=False)
    key_terms: tuple[str, ...] = ()
    level: float = 0.95
    converged: bool = True
    reml_criterion: float | None = None

    def key_table(self) -> pd.DataFrame:
        """The rows of ``table`` named in ``key_terms``."""
        return self.table[self.table["term"].isin(self.key_terms)].reset_index(drop=True)


# --------------------------------------------------------------------------- helpers


def _tidy(terms: Sequence[str], est: np.ndarray, se: np.ndarray, df, level: float) -> pd.DataFrame:
    """The fixed-column table; t(df) if df is given (scalar or one per row), else normal (Wald z)."""
    est, se = np.asarray(est, float), np.asarray(se, float)
    stat = est / se
    if df is None:
        q, p = stats.norm.ppf((1 + level) / 2), 2 * stats.norm.sf(np.abs(stat))
        df_col = pd.Series([None] * len(est), dtype=object)
    else:
        dfs = np.broadcast_to(np.asarray(df, float), est.shape)
        q, p = stats.t.ppf((1 + level) / 2, dfs), 2 * stats.t.sf(np.abs(stat), dfs)
        df_col = pd.Series(dfs if np.ndim(df) else [df] * len(est), dtype=float if np.ndim(df) else object)
    return pd.DataFrame({
        "term": list(terms), "estimate": est, "se": se, "statistic": stat, "df": df_col,
        "p_value": p, "ci_low": est - q * se, "ci_high": est + q * se,
    }, columns=TABLE_COLUMNS)


def _check_columns(data: pd.DataFrame, cols: Sequence[str | None]) -> None:
    missing = [c for c in cols if c is not None and c not in data.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}")


def _q(name: str) -> str:
    """A column name usable in a formula (quoted unless it is a plain identifier)."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f'Q("{name}")'


def _complete_rows(data: pd.DataFrame, extra: Sequence[str | None]) -> pd.DataFrame:
    """Rows complete in the design columns, with nullable numbers as float for the formula.

    The formula machinery (patsy) cannot test ``pd.NA`` for missingness, so the processed
    waves' nullable ``Int64``/``Float64``/``boolean`` columns become float64 with NaN: the
    same numbers, and missing stays missing (then dropped like R's ``na.omit``).
    """
    cols = [c for c in extra if c is not None]
    sub = data.dropna(subset=cols) if cols else data
    if sub.empty:
        raise ValueError("no complete rows for the model")
    nullable = [c for c in sub.columns
                if isinstance(sub[c].dtype, pd.api.extensions.ExtensionDtype)
                and (pd.api.types.is_numeric_dtype(sub[c].dtype) or pd.api.types.is_bool_dtype(sub[c].dtype))]
    if nullable:
        sub = sub.assign(**{c: sub[c].astype("float64") for c in nullable})
    return sub


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _as_categorical(data: pd.DataFrame, col: str, baseline: str | None) -> pd.DataFrame:
    """Make ``col`` categorical with ``baseline`` (default: first sorted level) as reference."""
    levels = sorted(pd.unique(data[col].dropna()), key=str)
    if baseline is not None:
        if baseline not in levels:
            raise ValueError(f"baseline {baseline!r} is not a value of column {col!r}: {levels}")
        levels = [baseline] + [v for v in levels if v != baseline]
    return data.assign(**{col: pd.Categorical(data[col], categories=levels)})


# --------------------------------------------------------------------------- (a) mixed


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
    _check_level(level)
    _check_columns(data, [group])
    data = _complete_rows(data, [group])
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
    table = _tidy(design.exog_names, fit["beta"], np.sqrt(np.diag(cov)), df, level)
    return ModelResult(
        table=table, n_obs=len(y), n_groups=len(np.unique(g)),
        variance_components={f"{group} (Intercept)": tau2, "Residual": fit["sigma2"]},
        formula=f"{formula} + (1 | {group})", method="mixed",
        assumptions=assumptions or f"{_ASSOCIATION} {ASSUMPTIONS['mixed' if df is not None else 'mixed_wald']}",
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


# --------------------------------------------------------------------------- (b) design-based


def fit_cluster_robust(
    data: pd.DataFrame,
    formula: str,
    *,
    cluster: str | None,
    weights: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    level: float = 0.95,
    key_terms: Sequence[str] = (),
    assumptions: str | None = None,
) -> ModelResult:
    """Survey-weighted least squares with design-based (linearisation) standard errors.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    formula : str
        statsmodels formula, e.g. ``"score ~ intensity + C(wave) + C(org)"``.
    cluster : str or None
        Primary sampling unit / cluster column (grassroots unit). None: each row is its own
        cluster (R's ``id = ~1``).
    weights : str, optional
        Sampling weight column (inverse inclusion probability); default equal weights.
    strata : str, optional
        First-stage strata column.
    fpc : str, optional
        Finite population correction as in R's ``svydesign(fpc =)``: the population number
        of clusters in the row's stratum (or, if every value is at most 1, the sampling fraction).
    level : float
        Confidence level (t quantile on the design df).
    key_terms : sequence of str
        Terms to flag in ``ModelResult.key_terms``.
    assumptions : str, optional
        Replaces the default bilingual text.

    Returns
    -------
    ModelResult
        ``df`` = clusters - strata + 1 - number of coefficients (svyglm's residual df),
        ``n_groups`` = clusters.

    Notes
    -----
    Point estimates :math:`\\hat\\beta = (X'WX)^{-1}X'Wy`. With influence rows
    :math:`h_i = w_i e_i x_i'(X'WX)^{-1}` summed to cluster totals :math:`z_{hc}`,

    .. math:: \\widehat V = \\sum_h (1 - f_h)\\frac{n_h}{n_h - 1}
              \\sum_c (z_{hc} - \\bar z_h)(z_{hc} - \\bar z_h)'

    (Binder 1983), exactly what ``survey::svyglm`` computes for a one-stage design
    (``svydesign(id = ~cluster, strata = ~strata, weights = ~w, fpc = ~fpc)``).
    Matches svyglm coefficients, SEs, t, p and ``confint(fit, ddf = fit$df.residual)`` to
    1e-6 relative (tests: apiclus1 with and without fpc, apistrat). Without fpc and strata
    this is the CR1-type sandwich with G/(G-1). A stratum with one cluster raises, as
    survey's default ``options(survey.lonely.psu = "fail")``. Weights are sampling weights,
    never frequencies (DESIGN.md rule 11).

    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 5.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"y": [3.0, 4, 5, 4, 6, 7, 5, 6, 9, 8], "x": [1, 2, 3, 1, 3, 4, 2, 2, 5, 4],
    ...                   "unit": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"]})
    >>> res = fit_cluster_robust(d, "y ~ x", cluster="unit")  # R: svyglm(y ~ x, svydesign(id = ~unit, data = d))
    >>> [(t, round(b, 6), df) for t, b, df in res.table[["term", "estimate", "df"]].itertuples(index=False)]
    [('Intercept', 2.161491, 3), ('x', 1.310559, 3)]
    """
    _check_level(level)
    _check_columns(data, [cluster, weights, strata, fpc])
    data = _complete_rows(data, [cluster, weights, strata, fpc])
    model = smf.ols(formula, data, missing="drop")
    rows = data.loc[model.data.row_labels]
    x, y = np.asarray(model.exog), np.asarray(model.endog)
    w = np.ones(len(y)) if weights is None else rows[weights].to_numpy(float)
    if (w <= 0).any() or not np.isfinite(w).all():
        raise ValueError(f"weights column {weights!r} must be positive and finite")
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError(f"the design matrix of {formula!r} is rank deficient (collinear or empty terms)")
    a = x.T @ (x * w[:, None])
    beta = np.linalg.solve(a, x.T @ (w * y))
    infl = (x * (w * (y - x @ beta))[:, None]) @ np.linalg.inv(a)
    psu = np.arange(len(y)) if cluster is None else rows[cluster].to_numpy()
    st = np.zeros(len(y)) if strata is None else rows[strata].to_numpy()
    cov, n_psu, n_strata = _stratified_cluster_cov(infl, psu, st, None if fpc is None else rows[fpc].to_numpy(float))
    df = n_psu - n_strata + 1 - x.shape[1]
    if df < 1:
        raise ValueError(f"design degrees of freedom {df} < 1: too few clusters for {x.shape[1]} coefficients")
    table = _tidy(model.exog_names, beta, np.sqrt(np.diag(cov)), df, level)
    return ModelResult(
        table=table, n_obs=len(y), n_groups=n_psu, variance_components={},
        formula=formula, method="cluster_robust",
        assumptions=assumptions or f"{_ASSOCIATION} {ASSUMPTIONS['cluster_robust']}",
        key_terms=tuple(key_terms), level=level,
    )


def _stratified_cluster_cov(infl: np.ndarray, psu: np.ndarray, strata: np.ndarray,
                            fpc: np.ndarray | None) -> tuple[np.ndarray, int, int]:
    """survey's one-stage ``svyrecvar``: between-cluster variance of totals within strata."""
    frame = pd.DataFrame(infl).assign(_h=strata, _c=psu)
    totals = frame.groupby(["_h", "_c"], sort=True).sum()
    h = totals.index.get_level_values("_h")
    n_h = pd.Series(h).groupby(h).transform("size").to_numpy()
    if (n_h < 2).any():
        lonely = sorted(set(h[n_h < 2]), key=str)
        raise ValueError(f"strata with a single cluster (no variance estimate): {lonely}")
    z = totals.to_numpy()
    centred = z - totals.groupby(level="_h").transform("mean").to_numpy()
    scale = n_h / (n_h - 1)
    if fpc is not None:
        per_stratum = pd.Series(fpc).groupby(strata).nunique()
        if (per_stratum > 1).any():
            raise ValueError(f"fpc differs within stratum {per_stratum.index[per_stratum > 1][0]!r}; "
                             "it is the stratum's population size")
        pop = pd.Series(fpc).groupby([strata, psu]).first().to_numpy()
        # svydesign: fpc <= 1 is a sampling fraction, otherwise a population count of clusters.
        frac = np.where(pop <= 1, pop, n_h / pop)
        if (frac > 1 + 1e-12).any():
            raise ValueError("fpc smaller than the number of sampled clusters in a stratum")
        scale = scale * (1 - frac)
    cov = (centred * scale[:, None]).T @ centred
    return cov, len(z), len(np.unique(h))


# --------------------------------------------------------------------------- (a) dose-response


def fit_dose_response(
    data: pd.DataFrame,
    *,
    outcome: str,
    exposure: str,
    unit: str,
    wave: str,
    org: str | None = None,
    controls: Sequence[str] = (),
    method: Method = "mixed",
    weights: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    baseline_wave: str | None = None,
    level: float = 0.95,
) -> ModelResult:
    """Dose-response: member outcome on the unit's implementation intensity, by wave.

    Parameters
    ----------
    data : pandas.DataFrame
        Member-level rows with the outcome (construct score), the unit-level exposure for the
        member's unit and wave, and the unit, wave (and org) columns.
    outcome, exposure, unit, wave : str
        Column names: construct score, implementation intensity (numeric), grassroots unit,
        wave.
    org : str, optional
        Organisation column, entered as fixed effects.
    controls : sequence of str
        Further covariates, entered as written (``"C(sex)"`` for a factor).
    method : {"mixed", "cluster_robust"}
        Unit random intercepts (:func:`fit_mixed`) or survey-weighted regression with
        unit-clustered SEs (:func:`fit_cluster_robust`, ``cluster = unit``).
    weights, strata, fpc : str, optional
        Design columns, ``method="cluster_robust"`` only.
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
    u_j + e_{ijt}` (mixed) or the same without :math:`u_j` with SEs clustered by unit.
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
    _check_columns(data, [outcome, exposure, unit, wave, org])
    data = _as_categorical(data, wave, baseline_wave)
    rhs = [_q(exposure), _q(wave)] + ([f"C({_q(org)})"] if org else []) + list(controls)
    formula = f"{_q(outcome)} ~ " + " + ".join(rhs)
    return _fit(data, formula, method=method, unit=unit, weights=weights, strata=strata, fpc=fpc,
                level=level, key_terms=(exposure,), extra_assumption="")


def _fit(data: pd.DataFrame, formula: str, *, method: str, unit: str, weights: str | None, strata: str | None,
         fpc: str | None, level: float, key_terms: Sequence[str], extra_assumption: str) -> ModelResult:
    """Dispatch to the mixed or the design-based fit with the right assumptions text."""
    if method == "mixed":
        if weights or strata or fpc:
            raise ValueError("weights/strata/fpc apply to method='cluster_robust'; the mixed model is unweighted")
        text = " ".join(t for t in [_ASSOCIATION, ASSUMPTIONS["mixed"], extra_assumption] if t)
        return fit_mixed(data, formula, group=unit, level=level, key_terms=key_terms, assumptions=text)
    if method == "cluster_robust":
        text = " ".join(t for t in [_ASSOCIATION, ASSUMPTIONS["cluster_robust"], extra_assumption] if t)
        # Units inside strata: clusters are units; with strata=unit itself there is no
        # between-unit term left (members are then the PSUs within each unit stratum).
        cluster = None if strata == unit else unit
        return fit_cluster_robust(data, formula, cluster=cluster, weights=weights, strata=strata, fpc=fpc,
                                  level=level, key_terms=key_terms, assumptions=text)
    raise ValueError(f"method must be 'mixed' or 'cluster_robust', got {method!r}")


# --------------------------------------------------------------------------- (c) DiD


def estimate_did(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    wave: str,
    high: str,
    baseline_wave: str | None = None,
    controls: Sequence[str] = (),
    method: Method = "mixed",
    weights: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    level: float = 0.95,
) -> ModelResult:
    """Difference-in-differences: change since baseline, high- vs low-implementation units.

    Parameters
    ----------
    data : pandas.DataFrame
        Member-level rows over two or more waves.
    outcome, unit, wave : str
        Columns: construct score, grassroots unit, wave.
    high : str
        0/1 column, 1 for units classed as high implementation; constant within a unit.
    baseline_wave : str, optional
        Reference wave (default: the first sorted wave).
    controls : sequence of str
        Further covariates in formula syntax.
    method : {"mixed", "cluster_robust"}
        As in :func:`fit_dose_response`.
    weights, strata, fpc : str, optional
        Design columns for ``method="cluster_robust"``.
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
    :func:`fit_mixed` / :func:`fit_cluster_robust` (formula ``outcome ~ high * wave``),
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
    _check_columns(data, [outcome, unit, wave, high])
    values = set(pd.unique(data[high].dropna()))
    if not values <= {0, 1} or len(values) < 2:
        raise ValueError(f"column {high!r} must hold 0 and 1 (high/low implementation); "
                         f"found {sorted(values, key=str)}")
    varying = data.groupby(unit, observed=True)[high].nunique()
    if (varying > 1).any():
        units = sorted(varying.index[varying > 1], key=str)[:5]
        raise ValueError(f"column {high!r} changes within unit(s) {units}; the high/low class must be fixed per unit")
    # As a number, so the formula names the term after the column (a bool would become high[T.True]).
    data = _as_categorical(data.assign(**{high: data[high].astype("float64")}), wave, baseline_wave)
    levels = list(data[wave].cat.categories)
    if len(levels) < 2:
        raise ValueError(f"column {wave!r} needs at least two waves")
    formula = f"{_q(outcome)} ~ {_q(high)} * {_q(wave)}" + "".join(f" + {c}" for c in controls)
    key = tuple(f"{high}:{wave}[T.{w}]" for w in levels[1:])
    return _fit(data, formula, method=method, unit=unit, weights=weights, strata=strata, fpc=fpc,
                level=level, key_terms=key, extra_assumption=ASSUMPTIONS["did"])


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
    _check_columns(data, [indicator, unit, wave])
    dup = data.duplicated([unit, wave])
    if dup.any():
        raise ValueError(f"more than one row per {unit!r} and {wave!r}, e.g. row {data.index[dup][0]!r}")
    data = _as_categorical(data, wave, baseline_wave)
    levels = list(data[wave].cat.categories)
    rhs = " + ".join([_q(wave)] + list(controls))
    key = tuple(f"{wave}[T.{w}]" for w in levels[1:])
    if effects == "random":
        text = f"{_ASSOCIATION} {ASSUMPTIONS['mixed']} {ASSUMPTIONS['random']}"
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
    table = _tidy([names[i] for i in keep], np.asarray(fit.params)[keep], np.sqrt(np.diag(cov))[keep], g - 1, level)
    return ModelResult(
        table=table, n_obs=n, n_groups=g, variance_components={}, formula=formula, method="fixed_effects",
        assumptions=f"{_ASSOCIATION} {ASSUMPTIONS['fixed']}", key_terms=key, level=level,
    )
