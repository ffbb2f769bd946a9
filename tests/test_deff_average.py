"""``deff="replace"`` and the ``"average"`` lonely-PSU rule against R's survey (version in the JSON).

Golden values: tests/r_reference/estimators_reference.json (``Rscript
scripts/r_reference/estimators.R``); the R call is beside each case. ``deff = "replace"``: the
design variance over ``s2 / n`` (times ``N_hat^2`` for totals). ``options(survey.lonely.psu =
"average")``: a stratum with one PSU contributes nothing and the others' sum is scaled by (strata
in the estimate) / (strata without a lonely PSU). Tolerance: 1e-9 relative (deterministic).
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
#    control = list(maxit = 200, epsilon = 1e-13))
RAKED = DCLUS1.rake({"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122},
                     "awards": {"No": 2027, "Yes": 4167}})
# R: dunit <- svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = units_df)
#    (U13 has one respondent of 12: a lonely stratum; U12 and U14 are censuses)
DUNIT = SurveyDesign(load("units"), weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust")
AVERAGE = DUNIT.with_lonely_psu("average")
# R: dunitr <- rake(dunit, list(~org, ~sex, ~party), list(data.frame(org = c('CDVC', 'DTN', 'HCCB'),
#    Freq = c(300, 200, 129)), data.frame(sex = c('female', 'male'), Freq = c(330, 299)),
#    data.frame(party = c('no', 'yes'), Freq = c(250, 379))), control = list(maxit = 200, epsilon = 1e-13))
AVERAGE_RAKED = AVERAGE.rake({"org": {"CDVC": 300, "DTN": 200, "HCCB": 129}, "sex": {"female": 330, "male": 299},
                              "party": {"no": 250, "yes": 379}})


def assert_ref(out: pd.DataFrame, key: str, fields=("estimate", "se", "ci_low", "ci_high", "deff")) -> None:
    r = REF[key]["value"]
    for field in fields:
        np.testing.assert_allclose(out[field].to_numpy(dtype=float), np.ravel(r[field]), rtol=RTOL, atol=0,
                                   err_msg=f"{field}: R call {REF[key]['call']}")


@pytest.mark.parametrize(
    ("key", "compute"),
    [
        # R: svymean(~api00, dclus1, deff = 'replace')
        ("replace_clus1_mean", lambda: DCLUS1.mean("api00", deff="replace")),
        ("replace_strat_total", lambda: DSTRAT.total("enroll", deff="replace")),  # R: svytotal(~enroll, dstrat, ...)
        ("replace_clus1_prop", lambda: DCLUS1.proportion("stype", deff="replace")),  # R: svymean(~stype, dclus1, ...)
        # R: svyby(~api00, ~stype, dclus1r, svymean, deff = 'replace')
        ("replace_rake_by_mean", lambda: RAKED.mean("api00", by="stype", deff="replace")),
        # R: svyby(~enroll, ~awards, dstrat, svytotal, deff = 'replace')
        ("replace_strat_by_total", lambda: DSTRAT.total("enroll", by="awards", deff="replace")),
        # R: options(survey.lonely.psu = 'adjust'); svymean(~score, dunit, na.rm = TRUE, deff = 'replace')
        ("replace_unit_mean", lambda: DUNIT.mean("score", deff="replace")),
    ],
)
def test_deff_replace_matches_r(key, compute):
    assert_ref(compute(), key)


def test_ratio_deff_replace_matches_r():
    # R: svyratio(~api.stu, ~enroll, dclus1, deff = 'replace')
    assert_ref(DCLUS1.ratio("api.stu", "enroll", deff="replace"), "replace_clus1_ratio", ("estimate", "se", "deff"))


def test_deff_replace_is_the_srswor_deff_times_the_fpc_of_n_from_n_hat():
    wor, wr = DSTRAT.mean("api00"), DSTRAT.mean("api00", deff="replace")
    n, n_hat = wor["n"].iloc[0], DSTRAT.weights.sum()
    assert wr["deff"].iloc[0] == pytest.approx(wor["deff"].iloc[0] * (n_hat - n) / n_hat, rel=1e-12)
    with pytest.raises(DesignError, match="deff='with'"):
        DSTRAT.mean("api00", deff="with")


@pytest.mark.parametrize(
    ("key", "compute"),
    [
        # R: options(survey.lonely.psu = 'average'); svymean(~score, dunit, na.rm = TRUE, deff = TRUE)
        ("average_unit_mean", lambda: AVERAGE.mean("score")),
        ("average_unit_total", lambda: AVERAGE.total("score")),  # R: svytotal(~score, dunit, na.rm = TRUE, ...)
        ("average_unit_prop", lambda: AVERAGE.proportion("q1")),  # R: svymean(~q1, dunit, deff = TRUE)
        # R: svyby(~score, ~org, dunit, svymean, na.rm = TRUE, deff = TRUE)  (U13, the lonely stratum, is in CDVC only)
        ("average_unit_by_org", lambda: AVERAGE.mean("score", by="org")),
        # R: svyby(~score, ~org, dunit, svytotal, na.rm = TRUE, deff = TRUE)
        ("average_unit_by_total_org", lambda: AVERAGE.total("score", by="org")),
        # R: svyby(~score, ~org, dunitr, svymean, na.rm = TRUE, deff = TRUE) on the raked design
        ("average_unit_rake_by_org", lambda: AVERAGE_RAKED.mean("score", by="org")),
        ("average_unit_rake_prop", lambda: AVERAGE_RAKED.proportion("q1")),  # R: svymean(~q1, dunitr, deff = TRUE)
    ],
)
def test_lonely_average_matches_r(key, compute):
    assert_ref(compute(), key)


def test_lonely_average_ratio_matches_r_and_differs_from_remove():
    # R: options(survey.lonely.psu = 'average'); svyratio(~score, ~w, dunit, na.rm = TRUE)
    out = AVERAGE.ratio("score", "w")
    assert_ref(out, "average_unit_ratio", ("estimate", "se", "ci_low", "ci_high"))
    removed = DUNIT.with_lonely_psu("remove").ratio("score", "w")["se"].iloc[0]
    assert out["se"].iloc[0] > removed  # the lonely stratum's share is replaced by the average, not dropped
