"""Generalised linear models on a survey design, as R's ``survey::svyglm``, with Wald tests.

`svyglm` fits a gaussian (identity link) or quasibinomial (logit link) model to a
`SurveyDesign` (or to several independent designs, e.g. the waves of a survey) and returns a
`SvyglmResult`: coefficients, design-based standard errors and covariance, the residual
degrees of freedom, t and p values, t-based intervals and `SvyglmResult.wald_test`
(``regTermTest``). Matched to survey 4.1.1 to 1e-6 relative (tests/test_svyglm.py, R calls in
scripts/r_reference/models.R): raked designs, ``options(survey.lonely.psu = "adjust")``, zero
weights, rows with missing values, nhanes (strata and nested clusters).

What R does and this module reproduces:

* The fit is ``glm(formula, weights = w / mean(w), family)``: weighted least squares or IRLS
  with the design weights as prior weights (statsmodels' ``GLM`` with ``var_weights``; rows with
  weight zero or a missing model value are left out of the fit).
* The covariance is ``svyrecvar(estfun %*% Ainv, ...)``: the influence rows
  ``h_i = w_i (y_i - mu_i) (dmu/deta)_i / V(mu_i) x_i' A^-1`` with ``A = X'WX`` (working weights),
  zero for rows out of the fit, go through the design's own variance of linearised totals
  (`SurveyDesign.vcov`): strata, first-stage clusters, fpc, the lonely-PSU rule, and the removal
  of every calibration step (post-stratification, raking) from the influence rows first.
* Residual df: ``degf(design) + 1 - p``, where ``degf`` counts the PSUs and strata of the rows
  in the fit (positive weight, complete). t and p values and ``confint`` use it; with df < 1 the
  p values and intervals are NaN, as R's.
* ``subset=``: rows outside get weight zero but stay in the design, and the calibration keeps
  their weights, as R's ``svyglm(subset = )`` on a calibrated design (``[.survey.design2``).
* Several designs: independent samples stacked, each with its own strata, fpc and calibration;
  the covariance is the sum of each design's covariance of its rows' influence values and the
  df the sum of their ``degf``, plus 1, minus p: R's ``svyglm`` on one design of the stacked
  data with strata kept apart and every raking margin crossed with the sample (tested).

Why hand-written: statsmodels fits the GLM (used here) but has no design-based variance —
its ``cov_type="cluster"`` is a one-stage sandwich without strata, fpc, lonely-PSU rules or
calibration; the variance of a calibrated design (the projection of the influence rows on the
calibration residuals) exists only in `SurveyDesign.vcov`, which this module calls.

Differences from R kept on purpose: a rank-deficient model matrix raises (R drops aliased
columns and reports NA); a weight of zero given *before* raking is accepted (R's raking residual
then divides 0 by 0 and every SE is NaN); under ``lonely_psu="fail"`` a lonely stratum raises
even when none of its rows enter the model (R drops such a stratum from an uncalibrated subset).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from analysis.stats.columns import DesignError, row_labels
from analysis.stats.design import SurveyDesign
from analysis.stats.model_result import ASSUMPTIONS, ModelResult, check_level, complete_rows, tidy_table

__all__ = ["svyglm", "SvyglmResult", "Family"]

Family = Literal["gaussian", "quasibinomial"]
_FAMILIES = ("gaussian", "quasibinomial")


@dataclass(frozen=True)
class SvyglmResult(ModelResult):
    """A fitted `svyglm`: the `ModelResult` table plus what the Wald tests need.

    Attributes
    ----------
    table : pandas.DataFrame
        ``[term, estimate, se, statistic, df, p_value, ci_low, ci_high]`` (t on ``df_residual``;
        R's ``summary(fit)$coefficients`` and ``confint(fit)``). Terms are named as statsmodels
        formulas name them (``Intercept``, ``org[T.DTN]``, ``C(race)[T.2]``).
    cov : pandas.DataFrame
        The design-based covariance of the coefficients (R's ``vcov(fit)``).
    df_residual : int
        ``degf + 1 - p`` (R's ``fit$df.residual``).
    degf : int
        Design degrees of freedom of the rows in the fit (R's ``degf(fit$survey.design)``).
    family : str
        ``"gaussian"`` or ``"quasibinomial"``.
    term_columns : dict
        Formula term -> the coefficients it contributes (for `wald_test`).
    n_obs, n_groups
        Rows in the fit (positive weight, complete); PSUs they fall in.
    """

    cov: pd.DataFrame = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    df_residual: int = 0
    degf: int = 0
    family: str = "gaussian"
    term_columns: dict = field(default_factory=dict, repr=False, compare=False)

    def wald_test(self, terms: str | Sequence[str], *, df: float | None = None) -> pd.DataFrame:
        """Wald test that every coefficient of ``terms`` is zero (R's ``regTermTest``, method "Wald").

        Parameters
        ----------
        terms : str or sequence of str
            Formula terms, as R's ``regTermTest(fit, ~ell + meals)``: ``"ell + meals"`` (a
            leading ``~`` is allowed) or ``["ell", "meals"]``; factor terms as in the formula
            (``"org"``, ``"C(race)"``).
        df : float, optional
            Denominator degrees of freedom; default ``df_residual`` (R's default for svyglm).
            ``numpy.inf`` gives the chi-squared test.

        Returns
        -------
        pandas.DataFrame
            One row: ``terms`` (as given, joined by " + "), ``statistic`` (F = chisq / df_num, or
            chisq when ``df`` is infinite), ``chisq``, ``df_num``, ``df_den``, ``p_value``.
        """
        names = [t.strip() for t in re.sub(r"^\s*~", "", terms).split("+")] if isinstance(terms, str) else list(terms)
        unknown = [t for t in names if t not in self.term_columns]
        if unknown:
            raise ValueError(f"wald_test: term(s) {unknown} not in the model; its terms are {list(self.term_columns)}")
        cols = [c for t in names for c in self.term_columns[t]]
        beta = self.table.set_index("term").loc[cols, "estimate"].to_numpy(float)
        v = self.cov.loc[cols, cols].to_numpy(float)
        chisq = float(beta @ np.linalg.solve(v, beta))
        k = len(cols)
        ddf = float(self.df_residual if df is None else df)
        if np.isinf(ddf):
            stat, p = chisq, float(stats.chi2.sf(chisq, k))
        else:
            stat = chisq / k
            p = float(stats.f.sf(stat, k, ddf)) if ddf > 0 else np.nan
        return pd.DataFrame({"terms": [" + ".join(names)], "statistic": [stat], "chisq": [chisq], "df_num": [k],
                             "df_den": [ddf], "p_value": [p]})


def _text_as_categorical(data: pd.DataFrame) -> pd.DataFrame:
    """Text columns as pandas categoricals of the values they hold: the levels patsy would find
    (sorted), read from the codes instead of value by value (23 million checks at 963 thousand
    rows and two factors)."""
    text = [c for c in data.columns if pd.api.types.is_string_dtype(data[c]) or data[c].dtype == object]
    return data.assign(**{c: pd.Categorical(data[c]) for c in text}) if text else data


def _unboxed(formula: str, data: pd.DataFrame) -> tuple[str, list[str]]:
    """*formula* with ``C(x)`` written ``x`` where ``x`` is a categorical column, and those names.

    patsy reads a pandas categorical from its codes, but ``C()`` wraps it first and patsy then
    checks every value for NA (12 million checks a factor at 963 thousand rows): the same
    contrasts come from the bare column, and `_boxed_name` gives the terms their written names.
    """
    def bare_elsewhere(name: str) -> bool:  # then the renaming back would be ambiguous
        return re.search(rf"(?<![\w.(]){name}(?![\w.])", re.sub(rf"\bC\({name}\)", "", formula)) is not None

    boxed = [m for m in dict.fromkeys(re.findall(r"\bC\(([A-Za-z_]\w*)\)", formula))
             if m in data.columns and isinstance(data[m].dtype, pd.CategoricalDtype) and not bare_elsewhere(m)]
    for name in boxed:
        formula = re.sub(rf"\bC\({name}\)", name, formula)
    return formula, boxed


def _boxed_name(label: str, boxed: Sequence[str]) -> str:
    """A term or column label of the unboxed formula as the written formula names it
    (``org[T.b]`` → ``C(org)[T.b]``)."""
    for name in boxed:
        label = re.sub(rf"(?<![\w.(]){name}(?=\[|:|$)", f"C({name})", label)
    return label


def _subset_mask(design: SurveyDesign, subset: str | np.ndarray | pd.Series | None) -> np.ndarray:
    """True for the rows in the model's population (R's ``subset=``); NA is refused, as R."""
    n = len(design.weight_values)
    if subset is None:
        return np.ones(n, dtype=bool)
    if isinstance(subset, str):
        if subset not in design.data.columns:
            raise DesignError(f"svyglm subset: column {subset!r} is not in the data")
        values = design.data[subset]
    else:
        values = pd.Series(np.asarray(subset), index=design.data.index)
        if len(values) != n:
            raise DesignError(f"svyglm subset: {len(values)} values for {n} rows")
    if values.isna().any():
        missing = row_labels(design.data.index, values.isna().to_numpy())
        raise DesignError(f"svyglm subset: missing values in rows {missing}")
    if not pd.api.types.is_bool_dtype(values.dtype):
        raise DesignError(f"svyglm subset: must be true/false, got dtype {values.dtype}")
    return values.to_numpy(dtype=bool)


def svyglm(
    design: SurveyDesign | Sequence[SurveyDesign],
    formula: str,
    *,
    family: Family = "gaussian",
    subset: str | np.ndarray | pd.Series | None = None,
    level: float = 0.95,
    key_terms: Sequence[str] = (),
    assumptions: str | None = None,
) -> SvyglmResult:
    """Survey-weighted GLM with design-based standard errors (R's ``svyglm``).

    Parameters
    ----------
    design : SurveyDesign or sequence of SurveyDesign
        The design (its weights, strata, clusters, fpc, lonely-PSU rule and calibration steps).
        Several designs are independent samples (e.g. the waves of a survey) fitted together.
    formula : str
        statsmodels/patsy formula, e.g. ``"score ~ dose + wave + org"``; text columns become
        treatment contrasts with the first sorted level as reference (R's default).
    family : {"gaussian", "quasibinomial"}
        Identity-link linear regression, or logistic regression for an outcome in [0, 1]
        (R's ``family = quasibinomial``: the same coefficients and SEs as ``binomial`` in
        svyglm, no integer counts assumed).
    subset : str or boolean array, optional
        A boolean column of the data (for several designs: of each), or one value per row of a
        single design: the model's domain. Rows outside keep their place in the design.
    level : float
        Confidence level of ``ci_low``/``ci_high`` (t on ``df_residual``).
    key_terms : sequence of str
        Terms to flag in ``key_terms``.
    assumptions : str, optional
        Replaces the default bilingual text.

    Returns
    -------
    SvyglmResult

    Examples
    --------
    >>> df = pd.DataFrame({"unit": list("aaabbbccc"), "unit_size": [30] * 3 + [20] * 3 + [12] * 3,
    ...                    "x": [1.0, 2, 3, 1, 2, 4, 2, 3, 5], "y": [2.0, 3, 5, 1, 3, 6, 2, 4, 7]})
    >>> # R: svyglm(y ~ x, svydesign(id = ~1, strata = ~unit, fpc = ~unit_size, data = df))
    >>> fit = svyglm(SurveyDesign(df, strata="unit", fpc="unit_size"), "y ~ x")
    >>> fit.table[["term", "estimate", "se"]].round(4)
            term  estimate      se
    0  Intercept    0.0947  0.3249
    1          x    1.4509  0.1161
    >>> fit.df_residual  # degf (9 PSUs - 3 strata) + 1 - 2 coefficients
    5
    """
    check_level(level)
    if family not in _FAMILIES:
        raise ValueError(f"svyglm: family={family!r}; expected one of {_FAMILIES}")
    designs = [design] if isinstance(design, SurveyDesign) else list(design)
    if not designs or not all(isinstance(d, SurveyDesign) for d in designs):
        raise TypeError("svyglm: design must be a SurveyDesign or a non-empty sequence of them")
    if len(designs) > 1 and subset is not None and not isinstance(subset, str):
        raise DesignError("svyglm subset: with several designs give a column name")
    sizes = [len(d.weight_values) for d in designs]
    w_all = np.concatenate([d.weight_values * _subset_mask(d, subset) for d in designs])
    # The model matrix of the complete rows (patsy through statsmodels: R's treatment contrasts),
    # from the columns the formula names only: the formula machinery handles every column it is
    # given, which doubled its time on a wave's ninety columns.
    columns = dict.fromkeys(c for d in designs for c in d.data.columns)
    named = [c for c in columns if re.search(rf"(?<![\w.]){re.escape(str(c))}(?![\w.])", formula)]
    data = pd.concat([d.data[[c for c in named if c in d.data.columns]] for d in designs], ignore_index=True) \
        if len(designs) > 1 else designs[0].data[named].reset_index(drop=True)
    data = _text_as_categorical(complete_rows(data, []))
    plain, boxed = _unboxed(formula, data)
    spec = smf.ols(plain, data, missing="drop")
    rows = np.asarray(spec.data.row_labels, dtype=np.int64)
    x_all, y_all = np.asarray(spec.exog, dtype=float), np.asarray(spec.endog, dtype=float)
    names = [_boxed_name(n, boxed) for n in spec.exog_names]
    used = w_all[rows] > 0
    rows, x, y = rows[used], x_all[used], y_all[used]
    if len(rows) == 0:
        raise DesignError(f"svyglm: no row of {formula!r} has a positive weight and every model value")
    if family == "quasibinomial" and ((y < 0) | (y > 1)).any():
        bad = (y < 0) | (y > 1)
        raise DesignError(f"svyglm quasibinomial: the outcome of {formula!r} must be in [0, 1]; rows "
                          f"{row_labels(pd.Index(rows), bad)} (positions in the stacked data) have "
                          f"{sorted(set(y[bad].tolist()))[:5]}")
    w = w_all[rows] / w_all[rows].mean()  # R's rescale = TRUE: changes neither estimates nor SEs

    fam = sm.families.Gaussian() if family == "gaussian" else sm.families.Binomial()
    if family == "gaussian":
        # weighted least squares in one step (what IRLS converges to at once), rank from its SVD
        root = np.sqrt(w)
        beta, _, rank, _ = np.linalg.lstsq(x * root[:, None], y * root, rcond=None)
        converged = True
    else:
        rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        raise ValueError(f"svyglm: the model matrix of {formula!r} is rank deficient (collinear or empty terms)")
    if family != "gaussian":
        with warnings.catch_warnings():
            # a non-integer binomial outcome is what quasibinomial allows
            warnings.simplefilter("ignore", category=sm.tools.sm_exceptions.DomainWarning)
            fit = sm.GLM(y, x, family=fam, var_weights=w).fit(method="IRLS", tol=1e-13, maxiter=200)
        beta, converged = np.asarray(fit.params), bool(fit.converged)
    eta = x @ beta
    mu = fam.link.inverse(eta)
    mu_eta = fam.link.inverse_deriv(eta)
    var_mu = fam.variance(mu)
    working = w * mu_eta**2 / var_mu
    a_inv = np.linalg.inv(x.T @ (x * working[:, None]))
    # R: estfun = X * resid(working) * weights(working); influence = estfun %*% Ainv
    infl = (x * (w * (y - mu) * mu_eta / var_mu)[:, None]) @ a_inv

    cov = np.zeros((len(names), len(names)))
    degf = 0
    n_groups = 0
    start = 0
    for d, n in zip(designs, sizes, strict=True):
        mine = (rows >= start) & (rows < start + n)
        local = rows[mine] - start
        z = np.zeros((n, len(names)))
        z[local] = infl[mine]
        cov += d.vcov(z)
        in_fit = np.zeros(n, dtype=bool)
        in_fit[local] = True
        if in_fit.any():
            degf += d.degf(in_fit)
            n_groups += d.count_psus(in_fit)
        start += n
    df_residual = degf + 1 - len(names)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    table = tidy_table(names, beta, se, df_residual, level)
    if df_residual < 1:  # R: NaN p values and intervals
        table[["p_value", "ci_low", "ci_high"]] = np.nan
    info = spec.data.model_spec
    term_columns = {_boxed_name(t, boxed): tuple(names[s]) for t, s in info.term_name_slices.items()}
    return SvyglmResult(
        table=table, n_obs=len(rows), n_groups=n_groups, variance_components={}, formula=formula,
        method="svyglm", assumptions=assumptions or ASSUMPTIONS["design"], key_terms=tuple(key_terms),
        level=level, converged=converged,
        cov=pd.DataFrame(cov, index=names, columns=names), df_residual=int(df_residual), degf=int(degf),
        family=family, term_columns=term_columns,
    )

