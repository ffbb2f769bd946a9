"""Every declared level: `SurveyDesign.proportion(levels=)` against R's survey (version in the JSON).

Golden values: tests/r_reference/estimators_reference.json, written by
``Rscript scripts/r_reference/estimators.R`` (each entry holds the exact R call; it is repeated
beside each case). R's ``svymean(~factor(x, levels = ...), design)`` reports a level nobody chose
as 0 with SE 0 (deff 0/0 = NaN); so must we, and a wave comparison must then show an answer that
vanished as its drop. Tolerance: 1e-9 relative (R's algorithm is deterministic; zeros exactly).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import instruments, study
from analysis.stats.columns import DesignError
from analysis.stats.compare import compare_waves
from analysis.stats.design import SurveyDesign

REF_DIR = Path(__file__).parent / "r_reference"
REF = json.loads((REF_DIR / "estimators_reference.json").read_text(encoding="utf-8"))
RTOL = 1e-9
STATS = ["estimate", "se", "ci_low", "ci_high"]


def values(key: str, field: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.ravel(REF[key]["value"][field])], dtype=float)


def assert_matches(out: pd.DataFrame, key: str, fields: list[str]) -> None:
    for field in fields:
        np.testing.assert_allclose(out[field].to_numpy(dtype=float), values(key, field), rtol=RTOL, atol=0,
                                   err_msg=f"{key}: {field}")


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF_DIR / f"{name}.csv", dtype={"q1": "str", "wave": "str"})


# R: dunit <- svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = units_df)
#    with options(survey.lonely.psu = 'adjust')
DUNIT = SurveyDesign(load("units"), weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust")
# R: dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
DCLUS1 = SurveyDesign(load("estimators_apiclus1"), weights="pw", cluster="dnum", fpc="fpc")
WAVES = load("estimators_waves")
LEVELS5 = ["1", "2", "3", "4", "5"]
LEVELS4 = ["1", "2", "3", "4"]


def wave_design(wave: str) -> SurveyDesign:
    # R: dwave24/dwave25 <- svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size,
    #    data = subset(waves, wave == '2024'/'2025'))
    rows = WAVES[WAVES["wave"] == wave].reset_index(drop=True)
    return SurveyDesign(rows, weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust")


def test_declared_levels_nobody_chose_are_zero_with_se_zero():
    # R: svymean(~factor(q1, levels = c('1', '2', '3', '4', '5')), dunit, deff = TRUE)
    out = DUNIT.proportion("q1", levels=LEVELS5)
    assert out["level"].tolist() == LEVELS5
    assert_matches(out, "levels_unit_q1", [*STATS, "deff"])
    assert (out.loc[out["level"].isin(["4", "5"]), ["estimate", "se", "ci_low", "ci_high"]] == 0).all().all()
    assert out["n"].tolist() == [len(DUNIT)] * 5


def test_declared_levels_by_domain():
    # R: svyby(~factor(q1, levels = c('1', '2', '3', '4', '5')), ~org, dunit, svymean, deff = TRUE)
    # (R's order: level-major, domains within; ours: domain-major)
    out = DUNIT.proportion("q1", by="org", levels=LEVELS5).sort_values(["level", "org"], kind="stable")
    assert_matches(out, "levels_unit_by_q1_org", [*STATS, "deff"])


def test_declared_level_on_a_cluster_design_overall_and_by_domain():
    # R: svymean(~factor(stype, levels = c('E', 'H', 'M', 'X')), dclus1, deff = TRUE)
    out = DCLUS1.proportion("stype", levels=["E", "H", "M", "X"])
    assert_matches(out, "levels_clus1_stype", [*STATS, "deff"])
    # R: svyby(~factor(stype, levels = c('E', 'H', 'M', 'X')), ~awards, dclus1, svymean, deff = TRUE)
    by = DCLUS1.proportion("stype", by="awards", levels=["E", "H", "M", "X"])
    assert_matches(by.sort_values(["level", "awards"], kind="stable"), "levels_clus1_by_stype_awards",
                   [*STATS, "deff"])


def test_a_categorical_column_reports_its_categories_in_category_order():
    data = load("units").assign(q1=lambda d: pd.Categorical(d["q1"], categories=LEVELS5))
    cat = SurveyDesign(data, weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust").proportion("q1")
    assert cat["level"].tolist() == LEVELS5
    assert_matches(cat, "levels_unit_q1", STATS)
    # without levels or categories: only the levels that occur, sorted by code (as before)
    assert DUNIT.proportion("q1")["level"].tolist() == ["1", "2", "3"]


def test_a_level_that_vanished_in_one_wave_reports_its_drop():
    a = wave_design("2024").proportion("q1", levels=LEVELS4)
    b = wave_design("2025").proportion("q1", levels=LEVELS4)
    # R: svymean(~factor(q1, levels = c('1', '2', '3', '4')), dwave24) and ... dwave25
    assert_matches(a, "levels_wave24_q1", STATS)
    assert_matches(b, "levels_wave25_q1", STATS)
    # R: svyby(~factor(q1, levels = c('1', '2', '3', '4')), ~wave, dwaves, svymean) with dwaves <-
    #    svydesign(id = ~1, strata = ~interaction(wave, unit), weights = ~w, fpc = ~unit_size, data = waves)
    both = pd.concat([a.assign(wave="2024"), b.assign(wave="2025")]).sort_values(["level", "wave"], kind="stable")
    assert_matches(both, "levels_waves_by", STATS)
    # R: svycontrast(svyby(..., ~wave, dwaves, svymean, covmat = TRUE), <2025 minus 2024 for each level>)
    change = compare_waves(a, b)
    np.testing.assert_allclose(change["difference"], values("levels_waves_change", "estimate"), rtol=RTOL)
    np.testing.assert_allclose(change["se"], values("levels_waves_change", "se"), rtol=RTOL)
    np.testing.assert_allclose(change["ci_low"], values("levels_waves_change", "ci_low"), rtol=RTOL)
    vanished = change.set_index("level").loc["3"]
    assert vanished["estimate_b"] == 0.0 and vanished["difference"] == pytest.approx(-0.397845590662226, rel=RTOL)
    never = change.set_index("level").loc["4"]  # declared, chosen in neither wave: 0, no test possible
    assert never["difference"] == 0.0 and never["se"] == 0.0


def test_a_value_outside_the_declared_levels_is_an_error_naming_rows_and_value():
    data = pd.DataFrame({"w": [1.0, 1.0, 2.0], "q": ["1", "7", "2"]}, index=[10, 11, 12])
    with pytest.raises(DesignError, match=r"column 'q' has values '7' that are not among the declared levels.*rows 11"):
        SurveyDesign(data, weights="w").proportion("q", levels=["1", "2", "3"])
    with pytest.raises(DesignError, match="repeat"):
        SurveyDesign(data, weights="w").proportion("q", levels=["1", "1", "7", "2"])


def test_item_distribution_reports_every_declared_answer_and_the_change_of_a_vanished_one():
    member = instruments.load("member")
    item = member.scale_items[0]
    codes = list(member.valid_codes(item.list_name))
    dont_know = member.missing_codes(item.list_name)[0]
    # two waves of 8 respondents in two strata; the top answer is given in 2024 only
    answers = {"2024": [codes[0], codes[1], codes[1], codes[-1], codes[0], codes[-1], dont_know, codes[1]],
               "2025": [codes[0], codes[1], codes[1], codes[1], codes[0], codes[0], codes[1], dont_know]}
    dist = {}
    for wave, ans in answers.items():
        data = pd.DataFrame({"unit": ["a"] * 4 + ["b"] * 4, "size": [40.0] * 4 + [20.0] * 4, item.name: ans})
        dist[wave] = study.item_distribution(SurveyDesign(data, strata="unit", fpc="size"), member, lang="en")
        assert dist[wave]["level"].tolist() == codes  # every declared answer, in scale order, not "9"
    top_24 = dist["2024"].set_index("level").loc[codes[-1]]
    assert top_24["estimate"] == pytest.approx((40 / 4 + 20 / 4) / (4 * 40 / 4 + 3 * 20 / 4))  # "9" left out
    assert (dist["2025"].set_index("level").loc[codes[-1], ["estimate", "se"]] == 0).all()
    change = compare_waves(dist["2024"], dist["2025"]).set_index("level")
    assert change.loc[codes[-1], "difference"] == pytest.approx(-top_24["estimate"])
    assert change.loc[codes[-1], "se"] == pytest.approx(top_24["se"])
    assert change["difference"].notna().all()


def test_calibrated_overall_proportions_equal_the_per_level_form():
    # without domains on a calibrated design every level comes from one covariance of the
    # level indicators; with one domain (a constant column) each level is its own pass
    rng = np.random.default_rng(3)
    n = 3_000
    unit = rng.integers(0, 25, n)
    df = pd.DataFrame({"unit": unit, "N": (np.bincount(unit) * 4)[unit], "w": rng.uniform(1, 3, n),
                       "sex": rng.choice(["f", "m"], n), "all": "x",
                       "q": pd.array(rng.choice(["1", "2", "3", None], n, p=[0.3, 0.4, 0.2, 0.1]), dtype="str")})
    df.loc[rng.random(n) < 0.02, "w"] = 0.0
    total = float((np.bincount(unit) * 4).sum())
    d = SurveyDesign(df, weights="w", strata="unit", fpc="N", lonely_psu="adjust")
    raked = d.rake({"sex": {"f": total * 0.45, "m": total * 0.55}})
    for deff in (True, "replace"):
        overall = raked.proportion("q", levels=["1", "2", "3", "4"], deff=deff)
        per_level = raked.proportion("q", by="all", levels=["1", "2", "3", "4"], deff=deff).drop(columns="all")
        pd.testing.assert_frame_equal(overall.drop(columns=["estimate", "se", "ci_low", "ci_high", "deff"]),
                                      per_level.drop(columns=["estimate", "se", "ci_low", "ci_high", "deff"]))
        for col in ["estimate", "se", "ci_low", "ci_high", "deff"]:
            np.testing.assert_allclose(overall[col], per_level[col], rtol=1e-10, atol=1e-15)
        assert overall.loc[3, "estimate"] == 0 and overall.loc[3, "se"] == 0  # "4": declared, never chosen
