"""What every model fit shares: the result (`ModelResult`, its ``table`` columns), the
bilingual assumptions texts, the tidy coefficient table and the checks of the input.

Used by `analysis.stats.mixed` (`fit_mixed`), `analysis.stats.svyglm` (`svyglm`) and
`analysis.stats.models` (dose-response, DiD, unit panel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "TABLE_COLUMNS",
    "ModelResult",
    "ASSOCIATION",
    "ASSUMPTIONS",
    "tidy_table",
    "check_columns",
    "complete_rows",
    "check_level",
]

TABLE_COLUMNS = ["term", "estimate", "se", "statistic", "df", "p_value", "ci_low", "ci_high"]

#: Said first in every assumptions text.
ASSOCIATION = (
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
    "design": (
        "Hồi quy có trọng số khảo sát trên thiết kế mẫu (tầng, cụm, hệ số hiệu chỉnh quần thể hữu "
        "hạn, trọng số đã hiệu chỉnh theo khung mẫu); sai số chuẩn theo thiết kế (tuyến tính hoá "
        "Taylor), có tính đến việc hiệu chỉnh trọng số; kiểm định t với bậc tự do của thiết kế. "
        "Survey-weighted regression on the sample design (strata, clusters, finite population "
        "correction, weights calibrated to the frame); design-based (Taylor linearisation) standard "
        "errors that account for the calibration; t tests on the design degrees of freedom."
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
        ``"mixed"``, ``"svyglm"`` or ``"fixed_effects"``.
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


def tidy_table(terms: Sequence[str], est: np.ndarray, se: np.ndarray, df, level: float) -> pd.DataFrame:
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


def check_columns(data: pd.DataFrame, cols: Sequence[str | None]) -> None:
    """A ValueError naming the columns (None: not used) that are not in ``data``."""
    missing = [c for c in cols if c is not None and c not in data.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}")


def complete_rows(data: pd.DataFrame, extra: Sequence[str | None]) -> pd.DataFrame:
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


def check_level(level: float) -> None:
    """A ValueError unless the confidence level is strictly between 0 and 1."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
