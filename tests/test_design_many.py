"""`SurveyDesign.mean` with a list of variables: one pass, the same rows as one call per variable.

The many-variable path (`SurveyDesign._means`, `Design.block_variance`) computes the variance
from sums instead of PSU totals; these tests hold it to the per-variable path to 1e-12 and, on
the R-pinned designs of tests/r_reference/design_reference.json (``Rscript
scripts/r_reference/design.R``), to R's values.
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
REF = json.loads((REF_DIR / "design_reference.json").read_text(encoding="utf-8"))


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF_DIR / f"{name}.csv", dtype={"q1": "str"})


def same(many: pd.DataFrame, one: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(many, one, check_exact=False, rtol=1e-12, atol=1e-15)


def per_variable(d: SurveyDesign, variables: list[str], by) -> pd.DataFrame:
    return pd.concat([d.mean(v, by=by) for v in variables], ignore_index=True)


def r_check(ours: pd.DataFrame, ref_id: str) -> None:
    r = REF[ref_id]["value"]
    for col in ["estimate", "se", "deff"]:
        np.testing.assert_allclose(
            ours[col].to_numpy(dtype=float), np.ravel(np.asarray(r[col], dtype=float)), rtol=1e-6,
            err_msg=f"{col}: R call {REF[ref_id]['call']}",
        )


# R: dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
# R: dclus1r <- rake(dclus1, list(~stype, ~sch.wide, ~awards), list(pop_stype, pop_schwide, pop_awards),
#                    control = list(maxit = 200, epsilon = 1e-13))
POP = {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122},
       "awards": {"No": 2027, "Yes": 4167}}
DCLUS1 = SurveyDesign(load("apiclus1"), weights="pw", cluster="dnum", fpc="fpc")
RAKED = DCLUS1.rake(POP)
# R: options(survey.lonely.psu = 'adjust'); dunit <- svydesign(id = ~1, strata = ~unit, weights = ~w,
#    fpc = ~unit_size, data = units_df); dunitr <- rake(dunit, list(~org, ~sex, ~party), ...)
UNIT_POP = {"org": {"CDVC": 300, "DTN": 200, "HCCB": 129}, "sex": {"female": 330, "male": 299},
            "party": {"no": 250, "yes": 379}}
DUNIT = SurveyDesign(load("units"), weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust")


def test_raked_clusters_match_r_and_the_per_variable_call() -> None:
    many = RAKED.mean(["api00", "acs.k3", "enroll"], by="stype")
    same(many, per_variable(RAKED, ["api00", "acs.k3", "enroll"], "stype"))
    # R: svyby(~api00, ~stype, dclus1r, svymean, deff = TRUE)
    r_check(many[many["variable"] == "api00"], "rake_by_api00_stype")
    # R: svyby(~acs.k3, ~awards, dclus1r, svymean, na.rm = TRUE, deff = TRUE)
    r_check(RAKED.mean(["api00", "acs.k3"], by="awards").query("variable == 'acs.k3'"), "rake_by_acsk3_awards_narm")


def test_project_design_raked_matches_r_and_the_per_variable_call() -> None:
    raked = DUNIT.rake(UNIT_POP)
    data = raked.data
    extra = raked.replace(data=data.assign(score2=data["score"] ** 2 - 3, flag=data["score"] > 3))
    variables = ["score", "score2", "flag"]
    for by in ["org", None, ["org", "sex"], "unit"]:
        same(extra.mean(variables, by=by), per_variable(extra, variables, by))
    # R: svyby(~score, ~org, dunitr, svymean, na.rm = TRUE, deff = TRUE)
    r_check(extra.mean(variables, by="org").query("variable == 'score'"), "unit_rake_by_score_org")


@pytest.mark.parametrize("rule", ["adjust", "certainty", "remove", "average"])
def test_lonely_psu_rules_uncalibrated(rule: str) -> None:
    d = DUNIT.with_lonely_psu(rule)
    data = d.data
    d = d.replace(data=data.assign(half=data["score"].where(data["org"] != "CDVC")))
    for by in ["org", None]:
        same(d.mean(["score", "half"], by=by), per_variable(d, ["score", "half"], by))
    if rule != "average":
        # R: options(survey.lonely.psu = rule); svyby(~score, ~org, dunit, svymean, na.rm = TRUE, deff = TRUE)
        r_check(d.mean(["score", "half"], by="org").query("variable == 'score'"), f"unit_{rule}_by_score_org")


def test_lonely_fail_as_the_per_variable_call() -> None:
    d = DUNIT.with_lonely_psu("fail")
    data = d.data
    d = d.replace(data=data.assign(half=data["score"].where(data["org"] != "CDVC")))
    same(d.mean(["half"]), d.mean("half"))  # the lonely CDVC unit has no value: no error
    with pytest.raises(DesignError, match="only one PSU"):
        d.mean(["half", "score"], by="org")


def test_project_shape_at_scale_and_calibration_that_explains_everything() -> None:
    rng = np.random.default_rng(7)
    n = 30_000
    unit = rng.integers(0, 40, n)
    size = np.bincount(unit) * 2
    df = pd.DataFrame({"unit": unit, "N": size[unit], "w": 2.0, "org": np.where(unit < 25, "A", "B"),
                       "sex": rng.choice(["f", "m"], n)})
    df["y"] = rng.normal(3, 1, n)
    df.loc[rng.random(n) < 0.05, "y"] = np.nan
    df["female"] = (df["sex"] == "f").astype(float)  # a raking margin: variance ~ 0 after raking
    d = SurveyDesign(df, weights="w", strata="unit", fpc="N", lonely_psu="adjust")
    total = float(size.sum())
    raked = d.rake({"org": {"A": float(size[:25].sum()), "B": float(size[25:].sum())},
                    "sex": {"f": total * 0.4, "m": total * 0.6}})
    for by in ["org", "unit", None]:
        many = raked.mean(["y", "female"], by=by)
        one = per_variable(raked, ["y", "female"], by)
        spread = ["se", "ci_low", "ci_high", "deff"]
        same(many.drop(columns=spread), one.drop(columns=spread))
        np.testing.assert_allclose(many["se"], one["se"], rtol=1e-10, atol=1e-13)


def test_bad_lists() -> None:
    with pytest.raises(DesignError, match="no variables"):
        DUNIT.mean([])
    with pytest.raises(DesignError, match="repeat"):
        DUNIT.mean(["score", "score"])
    with pytest.raises(DesignError, match="not in the data"):
        DUNIT.mean(["score", "nope"])


def test_one_variable_by_many_domains_takes_the_one_pass_form(monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.stats.design as design_module

    raked = DUNIT.rake(UNIT_POP)
    before = raked.mean("score", by="unit")
    monkeypatch.setattr(design_module, "_MAX_CELLS", 10)  # every domain set counts as "many"
    after = raked.mean("score", by="unit")
    same(after, before)


def test_rows_outside_every_domain_and_zero_weights_as_the_per_variable_call() -> None:
    # the one-pass form skips its masks when every row is in a domain with a positive weight;
    # here some rows are in no domain (a missing by value) and some weigh 0
    rng = np.random.default_rng(11)
    n = 4_000
    unit = rng.integers(0, 30, n)
    size = np.bincount(unit) * 3
    df = pd.DataFrame({"unit": unit, "N": size[unit], "w": rng.uniform(1, 4, n),
                       "org": pd.array(np.where(unit < 18, "A", "B"), dtype="str"), "sex": rng.choice(["f", "m"], n),
                       "y": rng.normal(3, 1, n), "z": rng.normal(0, 2, n)})
    df.loc[rng.random(n) < 0.05, "org"] = None
    df.loc[rng.random(n) < 0.03, "w"] = 0.0
    d = SurveyDesign(df, weights="w", strata="unit", fpc="N", lonely_psu="adjust")
    raked = d.rake({"sex": {"f": float(size.sum()) * 0.4, "m": float(size.sum()) * 0.6}})
    for design in (d, raked):
        for by in ["org", None]:
            many = design.mean(["y", "z"], by=by)
            one = per_variable(design, ["y", "z"], by)
            spread = ["se", "ci_low", "ci_high", "deff"]
            same(many.drop(columns=spread), one.drop(columns=spread))
            np.testing.assert_allclose(many["se"], one["se"], rtol=1e-10, atol=1e-13)
