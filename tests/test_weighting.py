"""Raking, post-stratification and trimming against R's survey 4.1.1.

Golden values: tests/r_reference/design_reference.json (``Rscript scripts/r_reference/design.R``);
the R call is beside each case. Raking in R is run to convergence with
``control = list(maxit = 200, epsilon = 1e-13)`` (R's default epsilon = 1 stops early).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.stats.design import SurveyDesign
from analysis.stats.weighting import (
    RakingError,
    margin_table,
    post_stratify,
    rake,
    trim_weights,
    weight_diagnostics,
)

REF_DIR = Path(__file__).parent / "r_reference"
REF = json.loads((REF_DIR / "design_reference.json").read_text(encoding="utf-8"))
RTOL = 1e-6

# R: pop_stype <- data.frame(stype = c('E', 'H', 'M'), Freq = c(4421, 755, 1018))
# R: pop_schwide <- data.frame(sch.wide = c('No', 'Yes'), Freq = c(1072, 5122))
# R: pop_awards <- data.frame(awards = c('No', 'Yes'), Freq = c(2027, 4167))
POP = {
    "stype": {"E": 4421, "H": 755, "M": 1018},
    "sch.wide": {"No": 1072, "Yes": 5122},
    "awards": {"No": 2027, "Yes": 4167},
}
# R: rake(dunit, list(~org, ~sex, ~party), list(data.frame(org = c('CDVC', 'DTN', 'HCCB'),
#    Freq = c(300, 200, 129)), data.frame(sex = c('female', 'male'), Freq = c(330, 299)),
#    data.frame(party = c('no', 'yes'), Freq = c(250, 379))), control = list(maxit = 200, epsilon = 1e-13))
UNIT_POP = {
    "org": {"CDVC": 300, "DTN": 200, "HCCB": 129},
    "sex": {"female": 330, "male": 299},
    "party": {"no": 250, "yes": 379},
}


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF_DIR / f"{name}.csv", dtype={"q1": "str"})


# R: dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
DCLUS1 = SurveyDesign(load("apiclus1"), weights="pw", cluster="dnum", fpc="fpc")
# R: dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
DSTRAT = SurveyDesign(load("apistrat"), weights="pw", strata="stype", fpc="fpc")
# R: dclus1r <- rake(dclus1, list(~stype, ~sch.wide, ~awards), list(pop_stype, pop_schwide, pop_awards),
#                    control = list(maxit = 200, epsilon = 1e-13))
RAKED = rake(DCLUS1, POP)
# R: options(survey.lonely.psu = 'adjust'); dunit <- svydesign(id = ~1, strata = ~unit, weights = ~w,
#    fpc = ~unit_size, data = units_df)
DUNIT = SurveyDesign(load("units"), weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust")


def value(ref_id: str) -> dict:
    return REF[ref_id]["value"]


def assert_stat(ours: pd.DataFrame, ref_id: str) -> None:
    r = value(ref_id)
    for col in ["estimate", "se", "ci_low", "ci_high", "deff"]:
        np.testing.assert_allclose(
            ours[col].to_numpy(dtype=float),
            np.ravel(np.asarray(r[col], dtype=float)),
            rtol=RTOL,
            err_msg=f"{col}: R call {REF[ref_id]['call']}",
        )


def test_raked_weights_match_r() -> None:
    # R: weights(dclus1r)
    np.testing.assert_allclose(RAKED.weights.to_numpy(), value("rake_weights"), rtol=RTOL)


@pytest.mark.parametrize(
    ("ref_id", "stat", "var"),
    [
        ("rake_mean_api00", "mean", "api00"),  # R: svymean(~api00, dclus1r, deff = TRUE)
        ("rake_total_enroll", "total", "enroll"),  # R: svytotal(~enroll, dclus1r, deff = TRUE)
        ("rake_prop_both", "proportion", "both"),  # R: svymean(~both, dclus1r, deff = TRUE)
    ],
)
def test_raked_standard_errors_match_r(ref_id: str, stat: str, var: str) -> None:
    assert_stat(getattr(RAKED, stat)(var), ref_id)


def test_raked_domains_match_r() -> None:
    # R: svyby(~api00, ~stype, dclus1r, svymean, deff = TRUE)
    assert_stat(RAKED.mean("api00", by="stype"), "rake_by_api00_stype")
    # R: svyby(~acs.k3, ~awards, dclus1r, svymean, na.rm = TRUE, deff = TRUE)
    assert_stat(RAKED.mean("acs.k3", by="awards"), "rake_by_acsk3_awards_narm")


def test_two_margin_rake_matches_r() -> None:
    # R: dclus1r2 <- rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide),
    #    control = list(maxit = 200, epsilon = 1e-13)); svymean(~api00, dclus1r2, deff = TRUE)
    two = DCLUS1.rake({"stype": POP["stype"], "sch.wide": POP["sch.wide"]})
    assert_stat(two.mean("api00"), "rake2_mean_api00")


def test_raking_changes_the_standard_error() -> None:
    # Raked weights used as if they were design weights give another (wrong) SE.
    naive = SurveyDesign(load("apiclus1").assign(w=RAKED.weights), weights="w", cluster="dnum", fpc="fpc")
    assert not np.isclose(naive.total("enroll")["se"].iloc[0], value("rake_total_enroll")["se"][0][0], rtol=1e-2)


def test_project_design_rake_matches_r() -> None:
    raked = DUNIT.rake(UNIT_POP)
    # R: weights(dunitr)
    np.testing.assert_allclose(raked.weights.to_numpy(), value("unit_rake_weights"), rtol=RTOL)
    # R: svyby(~score, ~org, dunitr, svymean, na.rm = TRUE, deff = TRUE)
    assert_stat(raked.mean("score", by="org"), "unit_rake_by_score_org")
    # R: svymean(~q1, dunitr, deff = TRUE)
    assert_stat(raked.proportion("q1"), "unit_rake_prop_q1")
    # R: svyby(~q1, ~org, dunitr, svymean, deff = TRUE)   (R's order: level-major)
    by = raked.proportion("q1", by="org").sort_values(["level", "org"], kind="stable")
    assert_stat(by, "unit_rake_by_prop_q1_org")


def test_post_stratification_matches_r() -> None:
    # R: dclus1p <- postStratify(dclus1, ~stype, pop_stype)
    ps = post_stratify(DCLUS1, "stype", POP["stype"])
    np.testing.assert_allclose(ps.weights.to_numpy(), value("ps_weights"), rtol=RTOL)  # R: weights(dclus1p)
    assert_stat(ps.mean("api00"), "ps_mean_api00")  # R: svymean(~api00, dclus1p, deff = TRUE)
    assert_stat(ps.total("enroll"), "ps_total_enroll")  # R: svytotal(~enroll, dclus1p, deff = TRUE)
    # R: svyby(~api00, ~awards, dclus1p, svymean, deff = TRUE)
    assert_stat(ps.mean("api00", by="awards"), "ps_by_api00_awards")


def test_trimming_matches_r() -> None:
    trimmed = trim_weights(DSTRAT, upper=40)
    # R: weights(trimWeights(dstrat, upper = 40))
    np.testing.assert_allclose(trimmed.weights.to_numpy(), value("strat_trim_weights"), rtol=RTOL)
    # R: svymean(~api00, trimWeights(dstrat, upper = 40), deff = TRUE)
    assert_stat(trimmed.mean("api00"), "strat_trim_mean")
    raked_trimmed = RAKED.trim_weights(upper=45)
    # R: weights(trimWeights(dclus1r, upper = 45))
    np.testing.assert_allclose(raked_trimmed.weights.to_numpy(), value("rake_trim_weights"), rtol=RTOL)
    # R: svymean(~api00, trimWeights(dclus1r, upper = 45), deff = TRUE)
    assert_stat(raked_trimmed.mean("api00"), "rake_trim_mean")
    # R: weights(trimWeights(dclus1r, upper = 42, strict = TRUE))
    strict = RAKED.trim_weights(upper=42, strict=True)
    np.testing.assert_allclose(strict.weights.to_numpy(), value("rake_trim_strict_weights"), rtol=RTOL)
    assert strict.weights.max() <= 42 + 1e-9
    np.testing.assert_allclose(strict.weights.sum(), RAKED.weights.sum(), rtol=1e-12)


def test_rake_returns_a_new_design() -> None:
    before = DCLUS1.weights.copy()
    DCLUS1.rake(POP)
    pd.testing.assert_series_equal(DCLUS1.weights, before)
    assert RAKED.weights.index.equals(DCLUS1.data.index)


@pytest.mark.parametrize(
    ("margins", "message"),
    [
        ({"stype": {"E": 4421, "H": 755}}, r"absent from the targets: 'M'"),
        ({"stype": {**POP["stype"], "X": 10}}, r"no respondents: \['X'\]"),
        ({"stype": POP["stype"], "awards": {"No": 1, "Yes": 2}}, "different totals"),
        ({"nope": {"a": 1}}, "'nope' is not in the data"),
        ({"stype": {"E": 4421, "H": 0, "M": 1018}}, "population of 0"),
    ],
)
def test_rake_errors_are_clear(margins: dict, message: str) -> None:
    with pytest.raises(RakingError, match=message):
        DCLUS1.rake(margins)


def test_rake_missing_margin_value_raises() -> None:
    df = pd.DataFrame({"w": [1.0, 1.0, 1.0], "sex": ["female", None, "male"]})
    with pytest.raises(RakingError, match="missing in rows 1"):
        rake(SurveyDesign(df, weights="w"), {"sex": {"female": 1, "male": 2}})


def test_rake_non_convergence_raises() -> None:
    with pytest.raises(RakingError, match="not reached after 1 cycles"):
        DCLUS1.rake(POP, max_iter=1)


def test_codes_are_not_coerced() -> None:
    df = pd.DataFrame({"w": [1.0, 1.0], "q": ["1", "2"]})
    with pytest.raises(RakingError, match="absent from the targets"):
        rake(SurveyDesign(df, weights="w"), {"q": {1: 5, 2: 5}})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(30, 300), spread=st.floats(0.1, 3.0))
def test_raked_margins_equal_their_targets(seed: int, n: int, spread: float) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "w": rng.uniform(0.5, 5.0, n),
            "org": rng.choice(["CDVC", "DTN", "HCCB"], n),
            "sex": rng.choice(["female", "male"], n),
            "party": rng.choice(["no", "yes"], n),
        }
    )
    # Targets are the margins under other positive weights, so a solution exists (IPF
    # converges whenever one exists with the sample's zero pattern; infeasible margins raise).
    other = df["w"] * np.exp(rng.normal(0, spread, n))
    margins = {col: other.groupby(df[col]).sum().to_dict() for col in ["org", "sex", "party"]}
    design = SurveyDesign(df, weights="w")
    raked = rake(design, margins)
    table = margin_table(design, raked, margins)
    np.testing.assert_allclose(table["after"], table["target"], rtol=1e-8)
    assert (raked.weights > 0).all()
    assert raked.weights.sum() == pytest.approx(other.sum(), rel=1e-9)


def test_diagnostics_kish() -> None:
    w = RAKED.weights.to_numpy()
    diag = weight_diagnostics(RAKED).iloc[0]
    # Kish (1965): n_eff = (sum w)^2 / sum w^2; deff_w = 1 + CV^2 (CV with divisor n)
    assert diag["n_effective"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    assert diag["deff_weighting"] == pytest.approx(1 + (w.std() / w.mean()) ** 2, rel=1e-12)
    assert diag["weight_sum"] == pytest.approx(6194, rel=1e-9)


def test_margin_table_before_and_after() -> None:
    table = margin_table(DCLUS1, RAKED, POP)
    assert list(table.columns) == [
        "variable", "level", "target", "before", "after", "target_share", "before_share", "after_share",
    ]
    np.testing.assert_allclose(table["after"], table["target"], rtol=1e-8)
    cl = load("apiclus1")
    before = cl.groupby("stype")["pw"].sum()
    np.testing.assert_allclose(table.loc[table["variable"] == "stype", "before"], before.to_numpy())


def test_chained_calibration_matches_r() -> None:
    # R: dclus1pr <- rake(postStratify(dclus1, ~stype, pop_stype), list(~sch.wide, ~awards),
    #    list(pop_schwide, pop_awards), control = list(maxit = 200, epsilon = 1e-13))
    chained = post_stratify(DCLUS1, "stype", POP["stype"]).rake(
        {"sch.wide": POP["sch.wide"], "awards": POP["awards"]}
    )
    # R: svymean(~api00, dclus1pr, deff = TRUE)
    assert_stat(chained.mean("api00"), "chain_mean_api00")
    # R: svyby(~enroll, ~stype, dclus1pr, svytotal, deff = TRUE)
    assert_stat(chained.total("enroll", by="stype"), "chain_by_enroll_stype")


@pytest.mark.parametrize("which", ["raked", "chained", "post-stratified"])
def test_fast_variance_equals_literal_r_algorithm(which: str) -> None:
    # vcov works on category sums; vcov_direct is svyrecvar's row-by-row loop.
    design = {
        "raked": RAKED,
        "chained": post_stratify(DCLUS1, "stype", POP["stype"]).rake({"awards": POP["awards"]}),
        "post-stratified": post_stratify(DCLUS1, ["stype", "awards"], {
            ("E", "No"): 1500, ("E", "Yes"): 2921, ("H", "No"): 400, ("H", "Yes"): 355,
            ("M", "No"): 500, ("M", "Yes"): 518}),
    }[which]
    rng = np.random.default_rng(7)
    x = rng.normal(size=(len(design), 3)) * design.weights.to_numpy()[:, None]
    np.testing.assert_allclose(design.vcov(x), design.vcov_direct(x), rtol=1e-10)
