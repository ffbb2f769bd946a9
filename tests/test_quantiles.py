"""`SurveyDesign.quantile` against R's ``svyquantile`` default of survey 4.1.1 (version in the JSON).

survey >= 4 defaults: ``qrule = "math"``, ``interval.type = "mean"`` (Woodruff), the interval on
the design df, ``se`` = interval width / (2 qt(0.975, df)). Golden values:
tests/r_reference/estimators_reference.json (``Rscript scripts/r_reference/estimators.R``); the R
call is beside each case. The estimates and interval ends are data values (compared exactly);
the SEs to 1e-9 relative (R's algorithm is deterministic). NaN where R gives NaN (an interval
end below 0 or above 1, a domain with design df 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.columns import DesignError
from analysis.stats.design import SurveyDesign
from analysis.stats.quantiles import qrule_math

REF_DIR = Path(__file__).parent / "r_reference"
REF = json.loads((REF_DIR / "estimators_reference.json").read_text(encoding="utf-8"))
RTOL = 1e-9
Q3 = [0.25, 0.5, 0.75]


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF_DIR / f"{name}.csv", dtype={"q1": "str"})


# R: dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
DCLUS1 = SurveyDesign(load("estimators_apiclus1"), weights="pw", cluster="dnum", fpc="fpc")
# R: dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
DSTRAT = SurveyDesign(load("estimators_apistrat"), weights="pw", strata="stype", fpc="fpc")
# R: dclus1r <- rake(dclus1, list(~stype, ~sch.wide, ~awards), list(pop_stype, pop_schwide, pop_awards),
#    control = list(maxit = 200, epsilon = 1e-13))
RAKED = DCLUS1.rake({"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122},
                     "awards": {"No": 2027, "Yes": 4167}})
# R: options(survey.lonely.psu = 'adjust');
#    dunit <- svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = units_df)
DUNIT = SurveyDesign(load("units"), weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust")
DESIGNS = {"clus1": DCLUS1, "strat": DSTRAT, "rake": RAKED, "unit": DUNIT}


def r_values(key: str, field: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.ravel(REF[key]["value"][field])], dtype=float)


def assert_quantiles(out: pd.DataFrame, key: str) -> None:
    call = REF[key]["call"]
    for field in ["estimate", "ci_low", "ci_high"]:  # data values: exactly R's
        np.testing.assert_array_equal(out[field].to_numpy(dtype=float), r_values(key, field),
                                      err_msg=f"{field}: {call}")
    np.testing.assert_allclose(out["se"].to_numpy(dtype=float), r_values(key, "se"), rtol=RTOL, atol=0,
                               err_msg=f"se: {call}")


@pytest.mark.parametrize(
    ("key", "design", "var", "probs", "alpha"),
    [
        ("quantile_clus1", "clus1", "api00", Q3, 0.05),  # R: svyquantile(~api00, dclus1, c(0.25, 0.5, 0.75), ci = TRUE)
        # R: svyquantile(~api00, dclus1, c(0.01, 0.1, 0.9, 0.99), ci = TRUE)  (interval ends outside [0, 1]: NaN)
        ("quantile_clus1_tails", "clus1", "api00", [0.01, 0.1, 0.9, 0.99], 0.05),
        ("quantile_clus1_alpha10", "clus1", "api00", [0.5], 0.1),  # R: svyquantile(..., c(0.5), ci = TRUE, alpha = 0.1)
        ("quantile_clus1_enroll", "clus1", "enroll", Q3, 0.05),  # R: svyquantile(~enroll, dclus1, ..., ci = TRUE)
        ("quantile_strat", "strat", "api00", Q3, 0.05),  # R: svyquantile(~api00, dstrat, c(0.25, 0.5, 0.75), ci = TRUE)
        # R: svyquantile(~acs.k3, dstrat, c(0.25, 0.5, 0.75), ci = TRUE, na.rm = TRUE)
        ("quantile_strat_narm", "strat", "acs.k3", Q3, 0.05),
        ("quantile_rake", "rake", "api00", Q3, 0.05),  # R: svyquantile(~api00, dclus1r, c(0.25, 0.5, 0.75), ci = TRUE)
        # R: svyquantile(~score, dunit, c(0.25, 0.5, 0.75), ci = TRUE, na.rm = TRUE)
        ("quantile_unit_adjust", "unit", "score", Q3, 0.05),
    ],
)
def test_quantile_matches_svyquantile(key, design, var, probs, alpha):
    out = DESIGNS[design].quantile(var, probs, alpha=alpha)
    assert list(out.columns) == ["variable", "quantile", "estimate", "se", "ci_low", "ci_high", "n", "deff"]
    assert out["quantile"].tolist() == probs
    assert_quantiles(out, key)


@pytest.mark.parametrize(
    ("key", "design", "var", "by"),
    [
        # R: svyby(~api00, ~stype, dclus1, svyquantile, quantiles = c(0.25, 0.5, 0.75), ci = TRUE,
        #    vartype = c('se', 'ci'))  -- H has design df 0 in some ends: NaN, as R
        ("quantile_clus1_by_stype", "clus1", "api00", "stype"),
        # R: svyby(~api00, ~awards, dstrat, svyquantile, quantiles = c(0.25, 0.5, 0.75), ci = TRUE, vartype = ...)
        ("quantile_strat_by_awards", "strat", "api00", "awards"),
        # R: svyby(~api00, ~stype, dclus1r, svyquantile, quantiles = c(0.25, 0.5, 0.75), ci = TRUE, vartype = ...)
        ("quantile_rake_by_stype", "rake", "api00", "stype"),
        # R: svyby(~score, ~org, dunit, svyquantile, quantiles = c(0.25, 0.5, 0.75), ci = TRUE, na.rm = TRUE,
        #    vartype = c('se', 'ci'))
        ("quantile_unit_by_org", "unit", "score", "org"),
    ],
)
def test_quantile_by_domain_matches_svyby(key, design, var, by):
    out = DESIGNS[design].quantile(var, Q3, by=by)
    # R's order is probability-major, domains within; ours domain-major
    out = out.sort_values(["quantile", by], kind="stable")
    assert out[by].tolist() == REF[key]["value"]["by"][by]
    assert_quantiles(out, key)


def test_qrule_math_follows_r_below_the_first_weight_share_and_at_exact_shares():
    x = np.array([10.0, 20.0, 30.0, 40.0])
    cumw = np.array([1.0, 2.0, 3.0, 4.0])
    # p * W below the first cumulative weight: R's last() is 1, so x[2] (not x[1])
    # p * W equal to a cumulative weight: x[pos]; strictly between: the next value
    assert qrule_math(x, cumw, 4.0, np.array([0.1, 0.25, 0.3, 0.5, 1.0])).tolist() == [20.0, 10.0, 20.0, 20.0, 40.0]


def test_quantile_refuses_bad_probabilities_and_text():
    with pytest.raises(DesignError, match=r"quantiles must lie in \[0, 1\]"):
        DCLUS1.quantile("api00", [0.5, 1.5])
    with pytest.raises(DesignError, match="quantile: column 'stype' has dtype"):
        DCLUS1.quantile("stype", [0.5])
