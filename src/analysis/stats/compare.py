"""Group and wave comparisons: design-based t-test, Rao–Scott chi-square, wave differences,
effect sizes and Benjamini–Hochberg adjustment.

Matched to R (survey 4.1.1, stats) to 1e-6 relative; the R calls are beside the golden values in
tests/test_compare.py and scripts/r_reference/design.R. Every function returns a tidy DataFrame
with fixed column names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats.columns import DesignError, data_column, level_codes, numeric_column
from analysis.stats.linearisation import Design

__all__ = [
    "ttest",
    "chisq",
    "compare_waves",
    "adjust_bh",
    "cohens_d",
    "cohens_d_waves",
]

_STAT_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "n", "deff")
_Z975 = float(stats.norm.ppf(0.975))


def _two_groups(design: Design, var: str, group: str) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Values of ``var``, group codes (0/1, -1 when unusable) and the two sorted levels."""
    y = numeric_column(design.data, var, "ttest")
    codes, levels = pd.factorize(data_column(design.data, group, "group"), sort=True)
    usable = (codes >= 0) & ~np.isnan(y) & (design.weight_values > 0)
    present = np.unique(codes[usable])
    if len(present) != 2:
        raise DesignError(
            f"group column {group!r} must have exactly two levels among rows with {var!r}; "
            f"found {list(levels.take(present))!r}"
        )
    remap = np.full(len(levels), -1)
    remap[present] = [0, 1]
    codes = np.where(usable, remap[np.maximum(codes, 0)], -1)
    return y, codes, levels.take(present)


def ttest(design: Design, var: str, *, group: str) -> pd.DataFrame:
    """Design-based t-test of the difference in means between two groups (R's ``svyttest``).

    Parameters
    ----------
    design : SurveyDesign
    var : str
        Numeric outcome; rows with a missing outcome or group are left out (as ``svyglm``).
    group : str
        Column with exactly two levels (sorted by code; the first is the reference).

    Returns
    -------
    pandas.DataFrame
        One row: ``[variable, group, level_a, level_b, difference, se, t, df, p_value]`` with
        ``difference = mean(level_b) - mean(level_a)``.

    Notes
    -----
    ``svyttest(y ~ g, d)`` is the coefficient of ``g`` in ``svyglm``: the difference of the two
    domain means, with linearised value ``z_i = w_i (y_i - ybar_b) 1_b / W_b - w_i (y_i -
    ybar_a) 1_a / W_a``. ``df`` = design degrees of freedom of the rows used (PSUs minus strata)
    minus 1; ``p_value`` is two-sided from Student's t with ``df``.

    Examples
    --------
    >>> from analysis.stats.design import SurveyDesign
    >>> df = pd.DataFrame({"w": [1.0] * 6, "g": ["a", "a", "a", "b", "b", "b"],
    ...                    "y": [1.0, 2, 3, 3, 4, 5]})
    >>> ttest(SurveyDesign(df, weights="w"), "y", group="g")[["difference", "df"]]
       difference  df
    0         2.0   4
    """
    y, codes, levels = _two_groups(design, var, group)
    w = design.weight_values
    used = codes >= 0
    wsum = np.bincount(codes[used], weights=w[used], minlength=2)
    means = np.bincount(codes[used], weights=(w * y)[used], minlength=2) / wsum
    x = np.zeros((len(y), 1))
    sign = np.where(codes == 1, 1.0, -1.0)
    x[used, 0] = (sign * w * (y - means[np.maximum(codes, 0)]) / wsum[np.maximum(codes, 0)])[used]
    se = float(np.sqrt(design.vcov(x)[0, 0]))
    difference = float(means[1] - means[0])
    df = design.degf(used) - 1
    t = difference / se
    return pd.DataFrame(
        {
            "variable": [var],
            "group": [group],
            "level_a": [levels[0]],
            "level_b": [levels[1]],
            "difference": [difference],
            "se": [se],
            "t": [t],
            "df": [df],
            "p_value": [float(2 * stats.t.sf(abs(t), df))],
        }
    )


def chisq(design: Design, a: str, b: str) -> pd.DataFrame:
    """Rao–Scott second-order corrected test of association of two categorical columns.

    Parameters
    ----------
    design : SurveyDesign
    a, b : str
        Row and column variables; rows with either missing are left out of the table.

    Returns
    -------
    pandas.DataFrame
        One row: ``[variable_a, variable_b, chisq, statistic, ndf, ddf, p_value]``: Pearson's
        X² of the weighted table scaled to the number of rows, the F statistic, its numerator
        and denominator degrees of freedom and the p-value.

    Notes
    -----
    R's ``svychisq(~a + b, d)`` default (``statistic="F"``; Rao & Scott 1984): with ``p`` the
    estimated cell proportions, ``V`` their design covariance, ``C`` the interaction contrasts
    orthogonalised to the main effects and ``D = diag(1/p)``,
    ``Delta = (C' D C / N)^{-1} C' D V D C``; ``F = X² / tr(Delta)``,
    ``ndf = tr(Delta)^2 / tr(Delta^2)``, ``ddf = ndf * (PSUs - strata)``.

    Examples
    --------
    >>> from analysis.stats.design import SurveyDesign
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"w": rng.uniform(1, 3, 200), "a": rng.choice(["x", "y"], 200),
    ...                    "b": rng.choice(["p", "q", "r"], 200)})
    >>> out = chisq(SurveyDesign(df, weights="w"), "a", "b")
    >>> list(out.columns)
    ['variable_a', 'variable_b', 'chisq', 'statistic', 'ndf', 'ddf', 'p_value']
    """
    data = design.data
    ra, la = pd.factorize(data_column(data, a, "chisq"), sort=True)
    rb, lb = pd.factorize(data_column(data, b, "chisq"), sort=True)
    nr, nc = len(la), len(lb)
    if nr < 2 or nc < 2:
        raise DesignError(f"chisq: {a!r} and {b!r} need at least two levels each (found {nr} and {nc})")
    cells = np.where((ra >= 0) & (rb >= 0), ra + nr * rb, -1)  # rows vary fastest, as R
    p, v, _ = design.cell_vcov(cells, nr * nc)
    n_rows = len(data)
    # Pearson X² on the weighted table scaled to the number of rows (svytable(Ntotal = N)).
    table = p.reshape(nc, nr).T * n_rows
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n_rows
    pearson = float(((table - expected) ** 2 / expected).sum())
    contrasts = _interaction_contrasts(nr, nc)
    inv_p = np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p))
    denom = contrasts.T @ (inv_p[:, None] * contrasts) / n_rows
    numer = contrasts.T @ (inv_p[:, None] * v * inv_p[None, :]) @ contrasts
    delta = np.linalg.solve(denom, numer)
    trace = float(np.trace(delta))
    ndf = trace**2 / float(np.trace(delta @ delta))
    nu = design.n_psu - design.n_strata
    statistic = pearson / trace
    return pd.DataFrame(
        {
            "variable_a": [a],
            "variable_b": [b],
            "chisq": [pearson],
            "statistic": [statistic],
            "ndf": [ndf],
            "ddf": [ndf * nu],
            "p_value": [float(stats.f.sf(statistic, ndf, ndf * nu))],
        }
    )


def _interaction_contrasts(nr: int, nc: int) -> np.ndarray:
    """R: ``qr.resid(qr(X1), X12[, -(1:(nr + nc - 1))])`` on ``expand.grid(rows, cols)``."""
    rows = np.tile(np.arange(nr), nc)
    cols = np.repeat(np.arange(nc), nr)
    row_dummies = (rows[:, None] == np.arange(1, nr)[None, :]).astype(float)
    col_dummies = (cols[:, None] == np.arange(1, nc)[None, :]).astype(float)
    main = np.column_stack([np.ones(nr * nc), row_dummies, col_dummies])
    inter = (row_dummies[:, :, None] * col_dummies[:, None, :]).reshape(nr * nc, -1)
    coef, *_ = np.linalg.lstsq(main, inter, rcond=None)
    return inter - main @ coef


def adjust_bh(
    p: Sequence[float] | np.ndarray | pd.Series, *, family: Sequence[object] | None = None
) -> np.ndarray | pd.Series:
    """Benjamini–Hochberg adjusted p-values, within each declared family.

    Parameters
    ----------
    p : array-like or Series
        p-values; NaN stays NaN and does not count in the family size (as R).
    family : array-like, optional
        Family label of each p-value; the adjustment is done separately in each family. One
        family when omitted.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Adjusted p-values (a Series with the same index when ``p`` is a Series).

    Notes
    -----
    R's ``p.adjust(p, method = "BH")``: ``min(1, cummin_{from largest} (m / i) p_(i))``.

    Examples
    --------
    >>> adjust_bh([0.01, 0.04, 0.03, 0.005]).round(4).tolist()
    [0.02, 0.04, 0.04, 0.02]
    """
    values = np.asarray(p, dtype=np.float64)
    labels = np.zeros(len(values), dtype=np.int64) if family is None else pd.factorize(np.asarray(family))[0]
    if len(labels) != len(values):
        raise ValueError(f"adjust_bh: family has {len(labels)} labels for {len(values)} p-values")
    out = np.full(len(values), np.nan)
    for label in np.unique(labels):  # loop over families, not over p-values
        idx = np.flatnonzero((labels == label) & ~np.isnan(values))
        m = len(idx)
        if m == 0:
            continue
        order = np.argsort(values[idx], kind="stable")[::-1]
        ranks = np.arange(m, 0, -1)
        adjusted = np.minimum.accumulate(m / ranks * values[idx][order])
        out[idx[order]] = np.minimum(1.0, adjusted)
    if isinstance(p, pd.Series):
        return pd.Series(out, index=p.index, name=p.name)
    return out


def compare_waves(
    est_a: pd.DataFrame, est_b: pd.DataFrame, *, family: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Differences between two independent cross-sections' estimates (wave b minus wave a).

    Parameters
    ----------
    est_a, est_b : pandas.DataFrame
        Tidy estimate tables (from ``mean``/``proportion``/``total``) of the earlier and later
        wave; rows are matched on every column other than the statistics.
    family : str or list of str, optional
        Column(s) declaring the families for the Benjamini–Hochberg adjustment (e.g.
        ``"variable"``); the whole table is one family when omitted.

    Returns
    -------
    pandas.DataFrame
        ``[*keys, estimate_a, estimate_b, difference, se, ci_low, ci_high, z, p_value,
        p_adjusted]``; rows present in one wave only have NaN differences.

    Notes
    -----
    Independent samples: ``se = sqrt(se_a^2 + se_b^2)``, normal 95% interval, ``z = d / se``,
    two-sided normal p-value, BH within each family.

    Examples
    --------
    >>> a = pd.DataFrame({"variable": ["y"], "estimate": [3.0], "se": [0.3], "ci_low": [0.0],
    ...                   "ci_high": [0.0], "n": [100], "deff": [1.0]})
    >>> b = a.assign(estimate=3.5, se=0.4)
    >>> compare_waves(a, b)[["variable", "difference", "se"]]
      variable  difference   se
    0        y         0.5  0.5
    """
    keys = [c for c in est_a.columns if c not in _STAT_COLUMNS]
    keys_b = [c for c in est_b.columns if c not in _STAT_COLUMNS]
    if keys != keys_b:
        raise ValueError(f"compare_waves: key columns differ: {keys!r} vs {keys_b!r}")
    merged = pd.merge(
        est_a[[*keys, "estimate", "se"]],
        est_b[[*keys, "estimate", "se"]],
        on=keys,
        how="outer",
        suffixes=("_a", "_b"),
        sort=True,
    )
    diff = merged["estimate_b"] - merged["estimate_a"]
    se = np.sqrt(merged["se_a"] ** 2 + merged["se_b"] ** 2)
    z = diff / se
    out = merged[[*keys, "estimate_a", "estimate_b"]].copy()
    out["difference"] = diff
    out["se"] = se
    out["ci_low"] = diff - _Z975 * se
    out["ci_high"] = diff + _Z975 * se
    out["z"] = z
    out["p_value"] = 2 * stats.norm.sf(np.abs(z))
    fam = None
    if family is not None:
        cols = [family] if isinstance(family, str) else list(family)
        fam = pd.MultiIndex.from_frame(out[cols]).to_flat_index() if len(cols) > 1 else out[cols[0]]
    out["p_adjusted"] = adjust_bh(out["p_value"].to_numpy(), family=None if fam is None else np.asarray(fam))
    return out


def _group_moments(design: Design, var: str, codes: np.ndarray, k: int) -> pd.DataFrame:
    """Per group: n, weighted mean, weighted variance with R's svyvar divisor n/(n-1)."""
    y = numeric_column(design.data, var, "cohens_d")
    w = design.weight_values
    use = (codes >= 0) & ~np.isnan(y) & (w > 0)
    c, wv, yv = codes[use], w[use], y[use]
    n = np.bincount(c, minlength=k)
    wsum = np.bincount(c, weights=wv, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(c, weights=wv * yv, minlength=k) / wsum
        var_ = n / (n - 1) * np.bincount(c, weights=wv * (yv - mean[c]) ** 2, minlength=k) / wsum
    return pd.DataFrame({"n": n, "mean": mean, "var": var_})


def _pooled_d(m_a: pd.DataFrame, m_b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    na, nb = m_a["n"].to_numpy(), m_b["n"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.sqrt(((na - 1) * m_a["var"].to_numpy() + (nb - 1) * m_b["var"].to_numpy()) / (na + nb - 2))
        diff = m_b["mean"].to_numpy() - m_a["mean"].to_numpy()
        return diff, pooled, diff / pooled


def cohens_d(design: Design, var: str, *, group: str) -> pd.DataFrame:
    """Standardised difference in means between two groups (Cohen's d, weighted pooled SD).

    Returns
    -------
    pandas.DataFrame
        ``[variable, group, level_a, level_b, difference, pooled_sd, d]`` with
        ``d = (mean_b - mean_a) / pooled_sd``.

    Notes
    -----
    Weighted means; group variances ``s_g^2 = n_g/(n_g - 1) sum w (y - ybar_g)^2 / sum w``
    (R's ``svyvar`` in the domain); ``pooled_sd = sqrt(((n_a - 1) s_a^2 + (n_b - 1) s_b^2) /
    (n_a + n_b - 2))`` with unweighted group sizes (Cohen 1988, eq. 2.5.2, with weighted
    moments). A descriptive effect size: no standard error is given.

    Examples
    --------
    >>> from analysis.stats.design import SurveyDesign
    >>> df = pd.DataFrame({"w": [1.0] * 6, "g": ["a"] * 3 + ["b"] * 3, "y": [1.0, 2, 3, 3, 4, 5]})
    >>> cohens_d(SurveyDesign(df, weights="w"), "y", group="g")[["difference", "pooled_sd", "d"]]
       difference  pooled_sd    d
    0         2.0        1.0  2.0
    """
    y, codes, levels = _two_groups(design, var, group)
    m = _group_moments(design, var, codes, 2)
    diff, pooled, d = _pooled_d(m.iloc[[0]].reset_index(drop=True), m.iloc[[1]].reset_index(drop=True))
    return pd.DataFrame(
        {
            "variable": [var],
            "group": [group],
            "level_a": [levels[0]],
            "level_b": [levels[1]],
            "difference": diff,
            "pooled_sd": pooled,
            "d": d,
        }
    )


def cohens_d_waves(
    design_a: Design, design_b: Design, var: str, *, by: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Cohen's d between two waves (b minus a), overall or in each domain.

    Returns
    -------
    pandas.DataFrame
        ``[*by, variable, difference, pooled_sd, d]``, domains present in both waves, sorted
        by code.

    Notes
    -----
    As `cohens_d`, with each wave's weighted moments in the domain.
    """
    names = [] if by is None else ([by] if isinstance(by, str) else list(by))
    frames = []
    for design in (design_a, design_b):
        if names:
            codes, levels = level_codes(design.data, names, "by")
        else:
            codes, levels = np.zeros(len(design), dtype=np.int64), pd.DataFrame(index=[0])
        frames.append(pd.concat([levels.reset_index(drop=True), _group_moments(design, var, codes, len(levels))], axis=1))
    if names:
        merged = pd.merge(frames[0], frames[1], on=names, suffixes=("_a", "_b"), sort=True)
    else:
        merged = frames[0].add_suffix("_a").join(frames[1].add_suffix("_b"))
    ma = merged[["n_a", "mean_a", "var_a"]].set_axis(["n", "mean", "var"], axis=1)
    mb = merged[["n_b", "mean_b", "var_b"]].set_axis(["n", "mean", "var"], axis=1)
    diff, pooled, d = _pooled_d(ma, mb)
    out = merged[names].copy() if names else pd.DataFrame(index=range(len(merged)))
    out["variable"] = var
    out["difference"] = diff
    out["pooled_sd"] = pooled
    out["d"] = d
    return out.reset_index(drop=True)
