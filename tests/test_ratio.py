"""`SurveyDesign.ratio` against R's ``svyratio`` (survey version in the JSON).

Golden values: tests/r_reference/estimators_reference.json, written by
``Rscript scripts/r_reference/estimators.R``; the R call is beside each case. Designs: apiclus1
(one-stage clusters with fpc), apistrat (strata with fpc), apiclus1 raked and post-stratified
(SEs after calibration), and the project-shaped units design with lonely strata ("adjust").
Tolerance: 1e-9 relative (R's algorithm is deterministic).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.columns import DesignError
from analysis.stats.design import SurveyDesign

REF_DIR = Path(__file__).parent / "r_reference"
REF = json.loads((REF_DIR / "estimators_reference.json").read_text(encoding="utf-8"))
RTOL = 1e-9


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF_DIR / f"{name}.csv", dtype={"q1": "str"})


# R: dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
DCLUS1 = SurveyDesign(load("estimators_apiclus1"), weights="pw", cluster="dnum", fpc="fpc")
# R: dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
DSTRAT = SurveyDesign(load("estimators_apistrat"), weights="pw", strata="stype", fpc="fpc")
# R: dclus1r <- rake(dclus1, list(~stype, ~sch.wide, ~awards), list(pop_stype, pop_schwide, pop_awards),
#    control = list(maxit = 200, epsilon = 1e-13)) with pop_stype = (E 4421, H 755, M 1018),
#    pop_schwide = (No 1072, Yes 5122), pop_awards = (No 2027, Yes 4167)
POP = {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122},
       "awards": {"No": 2027, "Yes": 4167}}
RAKED = DCLUS1.rake(POP)
# R: dclus1p <- postStratify(dclus1, ~stype, pop_stype)
POSTSTRAT = DCLUS1.post_stratify("stype", POP["stype"])
# R: options(survey.lonely.psu = 'adjust');
#    dunit <- svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = units_df)
DUNIT = SurveyDesign(load("units"), weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust")


def assert_ratio(out: pd.DataFrame, key: str, design: SurveyDesign | None = None) -> None:
    r = REF[key]["value"]
    fields = ["estimate", "se", "ci_low", "ci_high", "deff"]
    for field in fields:
        np.testing.assert_allclose(out[field].to_numpy(dtype=float), np.ravel(r[field]), rtol=RTOL, atol=0,
                                   err_msg=f"{field}: R call {REF[key]['call']}")
    if design is not None:  # confint(x, df = degf(d)): t quantiles on the design df
        assert design.degrees_of_freedom == r["degf"]
        on_df = design.ratio(out["variable"].iloc[0], out["denominator"].iloc[0], df=design.degrees_of_freedom)
        np.testing.assert_allclose(on_df["ci_low"], r["ci_low_df"], rtol=RTOL)
        np.testing.assert_allclose(on_df["ci_high"], r["ci_high_df"], rtol=RTOL)


@pytest.mark.parametrize(
    ("key", "design", "numerator", "denominator"),
    [
        ("ratio_clus1", "clus1", "api.stu", "enroll"),  # R: svyratio(~api.stu, ~enroll, dclus1, deff = TRUE)
        ("ratio_strat", "strat", "api.stu", "enroll"),  # R: svyratio(~api.stu, ~enroll, dstrat, deff = TRUE)
        # R: svyratio(~api.stu, ~acs.k3, dstrat, na.rm = TRUE, deff = TRUE)
        ("ratio_strat_narm", "strat", "api.stu", "acs.k3"),
        ("ratio_rake", "rake", "api.stu", "enroll"),  # R: svyratio(~api.stu, ~enroll, dclus1r, deff = TRUE)
        ("ratio_ps", "ps", "api.stu", "enroll"),  # R: svyratio(~api.stu, ~enroll, dclus1p, deff = TRUE)
        ("ratio_unit_adjust", "unit", "score", "w"),  # R: svyratio(~score, ~w, dunit, na.rm = TRUE, deff = TRUE)
    ],
)
def test_ratio_matches_svyratio(key, design, numerator, denominator):
    d = {"clus1": DCLUS1, "strat": DSTRAT, "rake": RAKED, "ps": POSTSTRAT, "unit": DUNIT}[design]
    out = d.ratio(numerator, denominator)
    assert list(out.columns) == ["variable", "denominator", "estimate", "se", "ci_low", "ci_high", "n", "deff"]
    assert_ratio(out, key, d)


@pytest.mark.parametrize(
    ("key", "design", "by"),
    [
        # R: svyby(~api.stu, ~stype, denominator = ~enroll, design = dclus1, FUN = svyratio, deff = TRUE)
        ("ratio_clus1_by_stype", "clus1", "stype"),
        # R: svyby(~api.stu, ~awards, denominator = ~enroll, design = dstrat, FUN = svyratio, deff = TRUE)
        ("ratio_strat_by_awards", "strat", "awards"),
        # R: svyby(~api.stu, ~stype, denominator = ~enroll, design = dclus1r, FUN = svyratio, deff = TRUE)
        ("ratio_rake_by_stype", "rake", "stype"),
    ],
)
def test_ratio_by_domain_matches_svyby(key, design, by):
    d = {"clus1": DCLUS1, "strat": DSTRAT, "rake": RAKED}[design]
    out = d.ratio("api.stu", "enroll", by=by)
    assert out[by].tolist() == REF[key]["value"]["by"][by]
    assert_ratio(out, key)
    # out-of-domain rows keep their place: n is the domain's respondents
    assert out["n"].tolist() == d.data[by].value_counts().sort_index().tolist()


def test_ratio_of_a_column_to_itself_is_one_with_se_zero_and_text_is_refused():
    out = DSTRAT.ratio("enroll", "enroll")
    assert out["estimate"].iloc[0] == pytest.approx(1.0, rel=1e-15)
    assert out["se"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(DesignError, match="ratio denominator: column 'stype' has dtype"):
        DSTRAT.ratio("api.stu", "stype")
