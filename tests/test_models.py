"""Models pinned to lme4 1.1-31, survey 4.1-1 and sandwich 3.0-2 on data shipped with them.

Golden values: tests/r_reference/models_reference.json; data: tests/r_reference/models_*.csv;
both written by

    Rscript scripts/r_reference/models.R

The R calls (each JSON entry also stores its call):

    lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy, REML = TRUE)
        fixef 251.405104848484, 10.467285959596; SE 9.74671626920939, 0.80422142894524;
        VarCorr: Subject 1378.17851380905, Residual 960.456578560467; REMLcrit 1786.46508539492
    lmer(Yield ~ 1 + (1 | Batch), data = Dyestuff, REML = TRUE)
    lmer(Yield ~ 1 + (1 | Batch), data = Dyestuff2, REML = TRUE)      # singular: Batch variance 0
    lmer(angle ~ recipe + temp + (1 | replicate), data = cake, REML = TRUE)
    lmer(score ~ intensity + wave + stype + (1 | dnum), data = long, REML = TRUE)   # dose-response
    lmer(score ~ high * wave + (1 | dnum), data = long, REML = TRUE)                 # DiD
    lmer(Reaction ~ wave + (1 | Subject), data = panel, REML = TRUE)                 # unit panel
    confint(fit, method = "Wald", parm = "beta_")          # ci_low/ci_high with df_method="wald"
    summary(lmerTest::lmer(<same>))$coefficients[, c("df", "Pr(>|t|)")]   # default df_method
    des <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
    svyglm(api00 ~ ell + meals, design = des)
        coef 1.73788708e+03... see JSON; summary() df 12; confint(fit, ddf = fit$df.residual)
    svydesign(id = ~dnum, weights = ~pw, data = apiclus1); svyglm(api00 ~ ell + meals + stype)
    svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat); svyglm(...)
    svyglm(score ~ intensity + wave + stype, des_long); svyglm(score ~ high * wave, des_long)
    sandwich::vcovCL(lm(Reaction ~ wave + factor(Subject), panel), cluster = ~Subject, type = "HC1")

`long` is apiclus1 reshaped to two waves (api99 -> "1999", api00 -> "2000"), `high` = district
mean of ell above the median district's, `intensity` = district mean of meals / 100; `panel` is sleepstudy on days 0, 3, 6, 9.

Tolerance: 1e-6 relative everywhere (lmerTest's df come from a numerical Hessian; ours is
analytic; they agree to ~1e-7). Our REML optimum is exact (profiled criterion, 1-D);
lme4's bobyqa stops within ~2e-7 relative of it in the variance components (its REML
criterion agrees with ours to 1e-11), so 1e-6 holds with room; svyglm agrees to ~1e-13.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.design import SurveyDesign
from analysis.stats.mixed import fit_mixed
from analysis.stats.model_result import TABLE_COLUMNS
from analysis.stats.models import estimate_did, fit_dose_response, fit_unit_panel
from analysis.stats.svyglm import svyglm

REF_DIR = Path(__file__).parent / "r_reference"
REF = json.loads((REF_DIR / "models_reference.json").read_text(encoding="utf-8"))
RTOL = 1e-6


def load(name: str) -> pd.DataFrame:
    df = pd.read_csv(REF_DIR / f"models_{name}.csv")
    # waves are text everywhere in the project (CONTRIBUTING.md)
    return df.assign(wave=df["wave"].astype(str)) if "wave" in df else df


def r_term(term: str, factors: tuple[str, ...]) -> str:
    """R's coefficient name -> ours: (Intercept) -> Intercept, recipeB -> recipe[T.B], a:b -> a:b."""
    if term == "(Intercept)":
        return "Intercept"
    parts = []
    for part in term.split(":"):
        f = next((f for f in factors if part.startswith(f) and part != f), None)
        parts.append(f"{f}[T.{part[len(f):]}]" if f else part)
    return ":".join(parts)


def as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def check_table(table: pd.DataFrame, ref: dict, factors: tuple[str, ...], cols: dict[str, str]) -> None:
    """Every R value in `cols` (ours -> R key) matches, row matched by term name."""
    assert table.columns.tolist() == TABLE_COLUMNS
    terms = [r_term(t, factors) for t in as_list(ref["term"])]
    assert sorted(table["term"]) == sorted(terms)
    ours = table.set_index("term").loc[terms]
    for col, key in cols.items():
        got, want = ours[col].to_numpy(float), np.array(as_list(ref[key]), float)
        if col == "p_value":
            # Far-tail p-values (1e-27) magnify the last digits of df and t: compare them on the
            # log scale (1e-6 relative on log p); ordinary p-values still to 1e-6 relative.
            ok = np.isclose(got, want, rtol=RTOL, atol=0) | np.isclose(np.log(got), np.log(want), rtol=RTOL, atol=0)
            assert ok.all(), f"p_value: {got} vs {want}"
            continue
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=0, err_msg=col)


LMER_CASES = {
    # case: (data, formula, group, factors)
    "sleepstudy": ("sleepstudy", "Reaction ~ Days", "Subject", ()),
    "dyestuff": ("dyestuff", "Yield ~ 1", "Batch", ()),
    "cake": ("cake", "angle ~ recipe + temp", "replicate", ("recipe",)),
    "did": ("apiclus1_long", "score ~ high * wave", "dnum", ("wave",)),
    "panel": ("panel", "Reaction ~ wave", "Subject", ("wave",)),
    "dose": ("apiclus1_long", "score ~ intensity + wave + stype", "dnum", ("wave", "stype")),
}
WALD = {"estimate": "estimate", "se": "se", "statistic": "statistic", "ci_low": "ci_low", "ci_high": "ci_high"}
MIXED = {"estimate": "estimate", "se": "se", "statistic": "statistic"}


def check_mixed(res, ref: dict, factors: tuple[str, ...], group: str) -> None:
    """Default fit (Satterthwaite df): lme4 estimates/SEs/variances, lmerTest df and p-values."""
    check_table(res.table, ref, factors, MIXED)
    check_table(res.table, {**ref, **ref["satterthwaite"]}, factors, {"df": "df", "p_value": "p_value"})
    assert res.n_obs == ref["n_obs"] and res.n_groups == ref["n_groups"]
    vc = ref["variance"]
    assert res.variance_components[f"{group} (Intercept)"] == pytest.approx(vc[f"{group} (Intercept)"], rel=RTOL)
    assert res.variance_components["Residual"] == pytest.approx(vc["Residual"], rel=RTOL)
    assert res.reml_criterion == pytest.approx(ref["reml_criterion"], rel=1e-10)
    assert res.converged


def test_sleepstudy_values_in_this_file():
    # lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy, REML = TRUE)
    res = fit_mixed(load("sleepstudy"), "Reaction ~ Days", group="Subject")
    t = res.table.set_index("term")
    assert t.loc["Days", "estimate"] == pytest.approx(10.467285959596, rel=RTOL)
    assert t.loc["Days", "se"] == pytest.approx(0.80422142894524, rel=RTOL)
    assert res.variance_components["Subject (Intercept)"] == pytest.approx(1378.17851380905, rel=RTOL)
    assert res.variance_components["Residual"] == pytest.approx(960.456578560467, rel=RTOL)
    assert res.formula == "Reaction ~ Days + (1 | Subject)"


@pytest.mark.parametrize("case", sorted(LMER_CASES))
def test_fit_mixed_matches_lmer_and_lmertest(case: str):
    data, formula, group, factors = LMER_CASES[case]
    check_mixed(fit_mixed(load(data), formula, group=group), REF["lmer"][case], factors, group)


@pytest.mark.parametrize("case", sorted(LMER_CASES))
def test_fit_mixed_wald_matches_lme4_confint_wald(case: str):
    data, formula, group, factors = LMER_CASES[case]
    res = fit_mixed(load(data), formula, group=group, df_method="wald")
    check_table(res.table, REF["lmer"][case], factors, WALD)
    assert res.table["df"].isna().all()  # lme4 gives no df: normal reference


def test_satterthwaite_interval_uses_t_on_its_df():
    res = fit_mixed(load("sleepstudy"), "Reaction ~ Days", group="Subject")
    from scipy import stats

    row = res.table.iloc[0]  # (Intercept): lmerTest df 22.8101989552553
    assert row["df"] == pytest.approx(22.8101989552553, rel=RTOL)
    half = stats.t.ppf(0.975, row["df"]) * row["se"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((row["estimate"] - half, row["estimate"] + half), rel=1e-12)


def test_singular_fit_matches_lmer_boundary():
    # lmer(Yield ~ 1 + (1 | Batch), data = Dyestuff2): "boundary (singular) fit", Batch variance 0.
    ref = REF["lmer"]["dyestuff2"]
    res = fit_mixed(load("dyestuff2"), "Yield ~ 1", group="Batch")
    assert res.variance_components["Batch (Intercept)"] == 0.0 == ref["variance"]["Batch (Intercept)"]
    check_mixed(res, ref, (), "Batch")


def test_statsmodels_mixedlm_with_tight_tolerance_agrees():
    # Cross-check with statsmodels' own REML fit (BFGS, gtol 1e-12) on a non-singular case.
    import statsmodels.formula.api as smf

    d = load("cake")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = smf.mixedlm("angle ~ recipe + temp", d, groups=d["replicate"]).fit(reml=True, method="bfgs", gtol=1e-12)
    res = fit_mixed(d, "angle ~ recipe + temp", group="replicate")
    np.testing.assert_allclose(res.table["estimate"], sm.fe_params.to_numpy(), rtol=1e-8)
    assert res.variance_components["Residual"] == pytest.approx(sm.scale, rel=1e-6)
    assert res.variance_components["replicate (Intercept)"] == pytest.approx(float(sm.cov_re.iloc[0, 0]), rel=1e-6)


SVY_CASES = {
    # case: (data, formula, design kwargs, factors)
    "apiclus1": ("apiclus1", "api00 ~ ell + meals", {"cluster": "dnum", "weights": "pw", "fpc": "fpc"}, ()),
    "apiclus1_nofpc": ("apiclus1", "api00 ~ ell + meals + stype", {"cluster": "dnum", "weights": "pw"}, ("stype",)),
    "apistrat": ("apistrat", "api00 ~ ell + meals + stype",
                 {"cluster": None, "strata": "stype", "weights": "pw", "fpc": "fpc"}, ("stype",)),
    "did": ("apiclus1_long", "score ~ high * wave", {"cluster": "dnum", "weights": "pw", "fpc": "fpc"}, ("wave",)),
    "dose": ("apiclus1_long", "score ~ intensity + wave + stype", {"cluster": "dnum", "weights": "pw", "fpc": "fpc"},
             ("wave", "stype")),
}
SVY_COLS = {"estimate": "estimate", "se": "se", "statistic": "statistic", "p_value": "p_value",
            "ci_low": "ci_low", "ci_high": "ci_high"}


@pytest.mark.parametrize("case", sorted(SVY_CASES))
def test_svyglm_on_a_plain_design_matches_r(case: str):
    data, formula, design, factors = SVY_CASES[case]
    ref = REF["svyglm"][case]
    res = svyglm(SurveyDesign(load(data), **design), formula)
    check_table(res.table, ref, factors, SVY_COLS)
    assert (res.table["df"] == ref["df"]).all()
    assert res.n_obs == ref["n_obs"]
    assert res.n_groups == (ref["n_obs"] if design["cluster"] is None else ref["n_clusters"])


def test_weights_are_not_frequencies():
    # Doubling every weight changes nothing (sampling weights); a frequency reading would shrink SEs.
    d = load("apiclus1")
    a = svyglm(SurveyDesign(d, cluster="dnum", weights="pw", fpc="fpc"), "api00 ~ ell + meals")
    b = svyglm(SurveyDesign(d.assign(pw=2 * d["pw"]), cluster="dnum", weights="pw", fpc="fpc"), "api00 ~ ell + meals")
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-12)


def test_design_errors_name_the_problem():
    d = load("apistrat")
    with pytest.raises(ValueError, match="columns not in data"):
        fit_dose_response(d.assign(wave="2000"), outcome="api00", exposure="ell", unit="district", wave="wave")
    with pytest.raises(TypeError, match="DataFrame .mixed model. or a SurveyDesign"):
        fit_dose_response([d], outcome="api00", exposure="ell", unit="dnum", wave="stype")


# ----------------------------------------------------------------------- the project's questions


def test_dose_response_is_the_r_validated_model_with_both_methods():
    d = load("apiclus1_long")
    kw = dict(outcome="score", exposure="intensity", unit="dnum", wave="wave", org="stype")
    mixed = fit_dose_response(d, **kw)
    assert mixed.formula == "score ~ intensity + wave + C(stype) + (1 | dnum)"
    assert mixed.key_terms == ("intensity",)
    ref = REF["lmer"]["dose"]
    factors = ("wave", "C(stype)")
    ref_terms = {**ref, "term": [t.replace("stype", "C(stype)") for t in ref["term"]]}
    check_table(mixed.table, ref_terms, factors, MIXED)
    check_table(mixed.table, {**ref_terms, **ref["satterthwaite"]}, factors, {"df": "df", "p_value": "p_value"})
    assert mixed.variance_components["dnum (Intercept)"] == pytest.approx(ref["variance"]["dnum (Intercept)"], rel=RTOL)
    robust = fit_dose_response(SurveyDesign(d, cluster="dnum", weights="pw", fpc="fpc"), **kw)
    ref = REF["svyglm"]["dose"]
    check_table(robust.table, {**ref, "term": ref_terms["term"]}, factors, SVY_COLS)
    assert robust.key_table()["term"].tolist() == ["intensity"]
    for res in (mixed, robust):
        assert "không phải nhân quả" in res.assumptions and "not causation" in res.assumptions


@pytest.mark.parametrize("method", ["mixed", "svyglm"])
def test_did_matches_r_and_names_the_contrast(method: str):
    d = load("apiclus1_long")
    data = d if method == "mixed" else SurveyDesign(d, cluster="dnum", weights="pw", fpc="fpc")
    res = estimate_did(data, outcome="score", unit="dnum", wave="wave", high="high")
    ref = REF["lmer" if method == "mixed" else "svyglm"]["did"]
    check_table(res.table, ref, ("wave",), MIXED if method == "mixed" else SVY_COLS)
    if method == "mixed":
        check_table(res.table, {**ref, **ref["satterthwaite"]}, ("wave",), {"df": "df", "p_value": "p_value"})
    assert res.key_terms == ("high:wave[T.2000]",)
    # lmer: coefficient high:wave2000, the DiD contrast (an association, not an effect)
    assert res.key_table()["estimate"].iloc[0] == pytest.approx(as_list(ref["estimate"])[3], rel=RTOL)
    assert "xu hướng song song" in res.assumptions and "parallel trends" in res.assumptions


def test_did_baseline_wave_and_input_checks():
    d = load("apiclus1_long")
    flipped = estimate_did(d, outcome="score", unit="dnum", wave="wave", high="high", baseline_wave="2000")
    base = estimate_did(d, outcome="score", unit="dnum", wave="wave", high="high")
    # Reversing the reference wave flips the sign of the contrast.
    assert flipped.key_terms == ("high:wave[T.1999]",)
    assert flipped.key_table()["estimate"].iloc[0] == pytest.approx(-base.key_table()["estimate"].iloc[0], rel=1e-9)
    with pytest.raises(ValueError, match="must hold 0 and 1"):
        estimate_did(d.assign(high=d["high"] * 2), outcome="score", unit="dnum", wave="wave", high="high")
    with pytest.raises(ValueError, match="changes within unit"):
        estimate_did(d.assign(high=(d["wave"] == "2000").astype(int)), outcome="score", unit="snum",
                     wave="wave", high="high")
    with pytest.raises(ValueError, match="baseline"):
        estimate_did(d, outcome="score", unit="dnum", wave="wave", high="high", baseline_wave="2030")


def test_unit_panel_random_matches_lmer():
    res = fit_unit_panel(load("panel"), indicator="Reaction", unit="Subject", wave="wave", effects="random")
    check_mixed(res, REF["lmer"]["panel"], ("wave",), "Subject")
    assert res.key_terms == ("wave[T.d3]", "wave[T.d6]", "wave[T.d9]")


def test_unit_panel_fixed_effects_matches_lm_and_vcovcl_hc1():
    ref = REF["fixed_effects"]["panel"]
    res = fit_unit_panel(load("panel"), indicator="Reaction", unit="Subject", wave="wave", effects="fixed")
    t = res.table.set_index("term")
    terms = [r_term(x, ("wave",)) for x in ref["term"][1:]]  # intercept and unit dummies are not reported
    assert t.index.tolist() == terms
    np.testing.assert_allclose(t["estimate"], ref["estimate"][1:], rtol=RTOL)
    np.testing.assert_allclose(t["se"], ref["se_cluster"][1:], rtol=RTOL)
    assert (t["df"] == res.n_groups - 1).all() and res.n_groups == 18 and res.n_obs == 72
    assert res.method == "fixed_effects"


def test_unit_panel_rejects_duplicate_unit_waves():
    d = load("panel")
    with pytest.raises(ValueError, match="more than one row"):
        fit_unit_panel(pd.concat([d, d.iloc[:1]]), indicator="Reaction", unit="Subject", wave="wave")


def test_rows_with_missing_values_are_dropped_and_counted():
    d = load("sleepstudy")
    d.loc[[0, 5], "Reaction"] = np.nan
    res = fit_mixed(d, "Reaction ~ Days", group="Subject")
    assert res.n_obs == 178
    full = fit_mixed(d.dropna(), "Reaction ~ Days", group="Subject")
    pd.testing.assert_frame_equal(res.table, full.table)


def test_column_names_that_are_not_identifiers_are_quoted():
    d = load("apiclus1_long").rename(columns={"score": "điểm tb", "intensity": "mức độ"})
    res = fit_dose_response(d, outcome="điểm tb", exposure="mức độ", unit="dnum", wave="wave")
    plain = fit_dose_response(load("apiclus1_long"), outcome="score", exposure="intensity", unit="dnum", wave="wave")
    np.testing.assert_allclose(res.table["estimate"], plain.table["estimate"], rtol=1e-12)
    assert any(re.search(r"mức độ", t) for t in res.table["term"])


def test_processed_wave_dtypes_nullable_int_and_string_work():
    # Processed waves hold integers as nullable Int64 and codes as strings (CONTRIBUTING.md).
    d = load("sleepstudy")
    plain = d.assign(Reaction=d["Reaction"].round()).drop(index=3)
    nullable = d.assign(Reaction=d["Reaction"].round().astype("Int64"), Subject=d["Subject"].astype("string"))
    nullable.loc[3, "Reaction"] = pd.NA
    for fit in (lambda x: fit_mixed(x, "Reaction ~ Days", group="Subject"),
                lambda x: svyglm(SurveyDesign(x.assign(w=1.0), cluster="Subject", weights="w"), "Reaction ~ Days")):
        a, b = fit(nullable), fit(plain)
        assert a.n_obs == 179
        pd.testing.assert_frame_equal(a.table, b.table)


def test_project_design_units_as_strata_in_the_dose_response():
    # DESIGN.md: every unit surveyed, members sampled within units -> strata = unit, fpc = unit
    # size. Then members are the PSUs inside each unit stratum (no cluster term).
    d = load("apiclus1_long").assign(unit_size=lambda x: x.groupby("dnum")["snum"].transform("size") * 3)
    kw = dict(outcome="score", exposure="intensity", unit="dnum", wave="wave")
    design = SurveyDesign(d, weights="pw", strata="dnum", fpc="unit_size")
    res = fit_dose_response(design, **kw)
    direct = svyglm(design, "score ~ intensity + wave")
    pd.testing.assert_frame_equal(res.table, direct.table)
    assert res.n_groups == res.n_obs  # each member is its own PSU
    with pytest.raises(ValueError, match="fpc"):
        SurveyDesign(d.assign(unit_size=np.arange(len(d)) + 100), strata="dnum", fpc="unit_size")


def test_rank_deficient_designs_are_refused():
    d = load("apiclus1").assign(ell2=lambda x: 2 * x["ell"])
    with pytest.raises(ValueError, match="rank deficient"):
        svyglm(SurveyDesign(d, cluster="dnum", weights="pw"), "api00 ~ ell + ell2")
    with pytest.raises(ValueError, match="rank deficient"):
        fit_mixed(d, "api00 ~ ell + ell2", group="dnum")


def test_mixed_model_on_a_wave_sized_sample():
    rng = np.random.default_rng(0)
    unit = np.repeat(np.arange(100), 60)
    wave = np.tile(["2024", "2025"], 3000)
    dose = rng.uniform(0, 1, 100)[unit]
    d = pd.DataFrame({"u": unit, "w": wave, "org": np.where(unit < 50, "CDVC", "DTN"), "dose": dose,
                      "y": 3 + 0.4 * dose + rng.normal(0, 0.3, 100)[unit] + rng.normal(0, 0.7, 6000)})
    res = fit_dose_response(d, outcome="y", exposure="dose", unit="u", wave="w", org="org")
    row = res.key_table().iloc[0]
    assert row["ci_low"] < 0.4 < row["ci_high"]  # the planted slope is recovered
    assert 60 < row["df"] < 120  # unit-level exposure: df near the number of units, not 6000


def test_did_accepts_a_boolean_high_column():
    d = load("apiclus1_long")
    a = estimate_did(d.assign(high=d["high"].astype(bool)), outcome="score", unit="dnum", wave="wave", high="high")
    b = estimate_did(d, outcome="score", unit="dnum", wave="wave", high="high")
    pd.testing.assert_frame_equal(a.table, b.table)
