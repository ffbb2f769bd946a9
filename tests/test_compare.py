"""Comparisons against R: svyttest, svychisq (Rao–Scott F), p.adjust(method = "BH"), Cohen's d.

Golden values: tests/r_reference/design_reference.json (``Rscript scripts/r_reference/design.R``);
the R call is beside each case.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.stats.columns import DesignError
from analysis.stats.compare import (
    adjust_bh,
    chisq,
    cohens_d,
    cohens_d_waves,
    compare_waves,
    ttest,
)
from analysis.stats.design import SurveyDesign

REF_DIR = Path(__file__).parent / "r_reference"
REF = json.loads((REF_DIR / "design_reference.json").read_text(encoding="utf-8"))
RTOL = 1e-6


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF_DIR / f"{name}.csv", dtype={"q1": "str"})


# R: dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
DSTRAT = SurveyDesign(load("apistrat"), weights="pw", strata="stype", fpc="fpc")
# R: dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
DCLUS1 = SurveyDesign(load("apiclus1"), weights="pw", cluster="dnum", fpc="fpc")
# R: dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = nhanes)
DNH = SurveyDesign(load("nhanes"), weights="WTMEC2YR", strata="SDMVSTRA", cluster="SDMVPSU")
# R: dclus1r <- rake(dclus1, list(~stype, ~sch.wide, ~awards), list(pop_stype, pop_schwide, pop_awards),
#                    control = list(maxit = 200, epsilon = 1e-13))
RAKED = DCLUS1.rake(
    {
        "stype": {"E": 4421, "H": 755, "M": 1018},
        "sch.wide": {"No": 1072, "Yes": 5122},
        "awards": {"No": 2027, "Yes": 4167},
    }
)
# R: options(survey.lonely.psu = 'adjust'); dunitr <- rake(dunit, list(~org, ~sex, ~party), ...)
DUNITR = SurveyDesign(load("units"), weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust").rake(
    {
        "org": {"CDVC": 300, "DTN": 200, "HCCB": 129},
        "sex": {"female": 330, "male": 299},
        "party": {"no": 250, "yes": 379},
    }
)
DESIGNS = {"dstrat": DSTRAT, "dclus1": DCLUS1, "dnh": DNH, "dclus1r": RAKED, "dunitr": DUNITR}

TTESTS = [
    ("strat_ttest_api00_awards", "dstrat", "api00", "awards"),  # R: svyttest(api00 ~ awards, dstrat)
    ("clus1_ttest_api00_schwide", "dclus1", "api00", "sch.wide"),  # R: svyttest(api00 ~ sch.wide, dclus1)
    ("rake_ttest_api00_schwide", "dclus1r", "api00", "sch.wide"),  # R: svyttest(api00 ~ sch.wide, dclus1r)
    ("nh_ttest_hichol_sex", "dnh", "HI_CHOL", "RIAGENDR"),  # R: svyttest(HI_CHOL ~ RIAGENDR, dnh)
    ("unit_rake_ttest_score_sex", "dunitr", "score", "sex"),  # R: svyttest(score ~ sex, dunitr)
]


@pytest.mark.parametrize(("ref_id", "design", "var", "group"), TTESTS, ids=[t[0] for t in TTESTS])
def test_ttest_matches_r(ref_id: str, design: str, var: str, group: str) -> None:
    r = REF[ref_id]["value"]
    out = ttest(DESIGNS[design], var, group=group).iloc[0]
    msg = f"R call {REF[ref_id]['call']}"
    assert out["difference"] == pytest.approx(r["estimate"], rel=RTOL), msg
    assert out["t"] == pytest.approx(r["statistic"], rel=RTOL), msg
    assert out["df"] == r["parameter"]["df"], msg
    assert out["p_value"] == pytest.approx(r["p_value"], rel=RTOL), msg
    assert out["se"] == pytest.approx(r["estimate"] / r["statistic"], rel=RTOL), msg


CHISQ = [
    ("strat_chisq_schwide_stype", "dstrat", "sch.wide", "stype"),  # R: svychisq(~sch.wide + stype, dstrat)
    ("strat_chisq_awards_both", "dstrat", "awards", "both"),  # R: svychisq(~awards + both, dstrat)
    ("clus1_chisq_schwide_stype", "dclus1", "sch.wide", "stype"),  # R: svychisq(~sch.wide + stype, dclus1)
    ("rake_chisq_both_stype", "dclus1r", "both", "stype"),  # R: svychisq(~both + stype, dclus1r)
    ("nh_chisq_hichol_race", "dnh", "HI_CHOL", "race"),  # R: svychisq(~HI_CHOL + race, dnh)  (NA in HI_CHOL)
    ("unit_rake_chisq_q1_org", "dunitr", "q1", "org"),  # R: svychisq(~q1 + org, dunitr)
]


@pytest.mark.parametrize(("ref_id", "design", "a", "b"), CHISQ, ids=[c[0] for c in CHISQ])
def test_chisq_matches_r(ref_id: str, design: str, a: str, b: str) -> None:
    r = REF[ref_id]["value"]
    out = DESIGNS[design].chisq(a, b).iloc[0]
    msg = f"R call {REF[ref_id]['call']}"
    assert out["statistic"] == pytest.approx(r["statistic"], rel=RTOL), msg
    assert out["ndf"] == pytest.approx(r["parameter"]["ndf"], rel=RTOL), msg
    assert out["ddf"] == pytest.approx(r["parameter"]["ddf"], rel=RTOL), msg
    assert out["p_value"] == pytest.approx(r["p_value"], rel=RTOL), msg


def test_ttest_and_chisq_columns() -> None:
    assert list(DSTRAT.ttest("api00", group="awards").columns) == [
        "variable", "group", "level_a", "level_b", "difference", "se", "t", "df", "p_value",
    ]
    assert list(chisq(DSTRAT, "awards", "stype").columns) == [
        "variable_a", "variable_b", "chisq", "statistic", "ndf", "ddf", "p_value",
    ]


def test_ttest_needs_two_groups() -> None:
    with pytest.raises(DesignError, match="exactly two levels"):
        DSTRAT.ttest("api00", group="stype")


def test_adjust_bh_matches_r() -> None:
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2, NA, 0.04, 0.5), method = 'BH')
    p = [0.01, 0.04, 0.03, 0.005, 0.2, np.nan, 0.04, 0.5]
    expected = np.array([np.nan if v is None else v for v in REF["p_adjust_bh"]["value"]], dtype=float)
    np.testing.assert_allclose(adjust_bh(p), expected, rtol=1e-12)


def test_adjust_bh_within_families() -> None:
    p = pd.Series([0.01, 0.04, 0.03, 0.005, 0.2, 0.5], index=list("abcdef"))
    family = ["x", "x", "x", "y", "y", "y"]
    out = adjust_bh(p, family=family)
    assert isinstance(out, pd.Series) and out.index.equals(p.index)
    # R: p.adjust(c(0.01, 0.04, 0.03), "BH") = 0.03 0.04 0.04; p.adjust(c(0.005, 0.2, 0.5), "BH") = 0.015 0.3 0.5
    np.testing.assert_allclose(out.to_numpy(), [0.03, 0.04, 0.04, 0.015, 0.3, 0.5], rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_adjust_bh_properties(p: list[float]) -> None:
    adj = adjust_bh(p)
    arr = np.asarray(p)
    assert (adj >= arr - 1e-15).all() and (adj <= 1).all()
    order = np.argsort(arr, kind="stable")
    assert (np.diff(adj[order]) >= -1e-15).all()  # monotone in p


def test_cohens_d_matches_r_formula() -> None:
    # R: with(list(m = coef(svyby(~api00, ~awards, dstrat, svymean)),
    #      v = coef(svyby(~api00, ~awards, dstrat, svyvar)), n = as.vector(table(apistrat$awards))),
    #      unname((m[2] - m[1]) / sqrt(((n[1] - 1) * v[1] + (n[2] - 1) * v[2]) / (sum(n) - 2))))
    out = cohens_d(DSTRAT, "api00", group="awards").iloc[0]
    assert out["d"] == pytest.approx(REF["strat_cohens_d_api00_awards"]["value"], rel=RTOL)


def test_cohens_d_waves_by_domain() -> None:
    # The same data as two "waves" split by awards gives the group d in every domain.
    st_ = load("apistrat")
    a = SurveyDesign(st_[st_["awards"] == "No"], weights="pw")
    b = SurveyDesign(st_[st_["awards"] == "Yes"], weights="pw")
    out = cohens_d_waves(a, b, "api00")
    assert out["d"].iloc[0] == pytest.approx(REF["strat_cohens_d_api00_awards"]["value"], rel=RTOL)
    by = cohens_d_waves(a, b, "api00", by="stype")
    assert list(by.columns) == ["stype", "variable", "difference", "pooled_sd", "d"]
    assert by["stype"].tolist() == ["E", "H", "M"]


def test_compare_waves() -> None:
    a = DSTRAT.mean("api00", by="stype")
    b = RAKED.mean("api00", by="stype")
    out = compare_waves(a, b, family="variable")
    assert list(out.columns) == [
        "stype", "variable", "estimate_a", "estimate_b", "difference", "se", "ci_low", "ci_high",
        "z", "p_value", "p_adjusted",
    ]
    se = np.sqrt(a["se"].to_numpy() ** 2 + b["se"].to_numpy() ** 2)
    diff = b["estimate"].to_numpy() - a["estimate"].to_numpy()
    np.testing.assert_allclose(out["se"], se, rtol=1e-12)
    np.testing.assert_allclose(out["difference"], diff, rtol=1e-12)
    np.testing.assert_allclose(out["ci_low"], diff - stats.norm.ppf(0.975) * se, rtol=1e-12)
    np.testing.assert_allclose(out["p_value"], 2 * stats.norm.sf(np.abs(diff / se)), rtol=1e-12)
    np.testing.assert_allclose(out["p_adjusted"], adjust_bh(out["p_value"].to_numpy()), rtol=1e-12)
    props = compare_waves(DSTRAT.proportion("awards"), RAKED.proportion("awards"))
    assert props["level"].tolist() == ["No", "Yes"]
