"""Sample sizes and allocation (analysis.stats.sample_size) pinned to R's PracTools.

Golden values: tests/r_reference/sample_size_reference.json, written by
``Rscript scripts/r_reference/sample_size.R`` (each entry holds the exact R call, repeated in
the test id) — and the worked examples printed in the PracTools vignette "Sample Size
Calculation in Single-stage Sampling". No R is needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis.stats import sample_size as ss

REF = json.loads((Path(__file__).parent / "r_reference" / "sample_size_reference.json").read_text(encoding="utf-8"))
R = REF["references"]
Z = stats.norm.ppf(0.975)
#: R's seq(0.01, 0.21, 0.02): from + i * by (numpy's arange rounds 0.05 below, which ceiling() sees)
R_SEQ = 0.01 + np.arange(11) * 0.02


def value(name):
    return np.asarray(R[name]["value"], dtype=float)


# (reference name, Python call): the R call is in the JSON beside the value.
CASES = {
    "ncont_cv_inf": lambda: ss.n_for_cv(cv_pop=2, cv0=0.05),
    "ncont_cv_n500": lambda: ss.n_for_cv(cv_pop=2, cv0=0.05, n_pop=500),
    "ncont_cv_vector": lambda: ss.n_for_cv(cv_pop=2, cv0=R_SEQ),
    "ncont_v0_inf": lambda: ss.n_for_variance(0.55, (0.10 / Z) ** 2),
    "ncont_v0_n315": lambda: ss.n_for_variance(0.55, (0.10 / Z) ** 2, n_pop=315),
    "ncont_v0_deff": lambda: ss.n_for_variance(0.55, (0.10 / Z) ** 2, n_pop=1183, deff=1.37),
    "ncont_s2_ybar": lambda: ss.n_for_cv(cv_pop=np.sqrt(0.55) / 3.4, cv0=0.02, n_pop=4816),
    "ncontmoe_abs_n4816": lambda: ss.n_for_moe(0.55, 0.10, n_pop=4816),
    "ncontmoe_abs_a10": lambda: ss.n_for_moe(0.55, 0.10, n_pop=315, alpha=0.10),
    "ncontmoe_abs_vector": lambda: ss.n_for_moe(0.8, [0.05, 0.10, 0.20], n_pop=1183),
    "ncontmoe_rel": lambda: ss.n_for_moe(0.55, 0.03, n_pop=315, mean=3.4),
    "npropmoe_vector": lambda: ss.n_for_proportion(0.5, moe=np.arange(0.01, 0.0801, 0.01)),
    "npropmoe_n315": lambda: ss.n_for_proportion(0.3, moe=0.05, n_pop=315),
    "npropmoe_rel_n1183": lambda: ss.n_for_proportion(0.3, moe=0.10, n_pop=1183, relative=True),
    # nProp(V0 = (0.005/1.96)^2, pU = 0.01), the nProp help page's margin-of-error example
    "npropmoe_help_v0": lambda: ss.n_for_proportion(0.01, v0=(0.005 / 1.96) ** 2),
    # nProp(CV0 = 0.05, pU = 0.01), the nProp help page's CV example
    "npropmoe_help_cv0": lambda: ss.n_for_proportion(0.01, cv0=0.05),
    "change_n": lambda: ss.n_for_change(0.55, 0.2, var_previous=0.03**2, n_pop=1183, deff=1.2),
    "deffk_small": lambda: ss.kish_deff([1, 1, 2, 4]),
}


@pytest.mark.parametrize("name", sorted(CASES), ids=lambda n: f"{n}: {R[n]['call']}")
def test_matches_practools(name):
    np.testing.assert_allclose(CASES[name](), value(name), rtol=1e-10)


def test_practools_source_is_recorded():
    # The JSON says which PracTools code made the numbers (package or its sourced R files).
    assert "PracTools" in REF["practools"]


@pytest.mark.parametrize("example", REF["references"]["published"]["examples"], ids=lambda e: e["call"])
def test_published_vignette_examples(example):
    """The numbers printed in the PracTools vignette, Examples 1–3, from our functions."""
    call = example["call"]
    if call.startswith("nCont(CV0 = 0.05, CVpop = 2)"):
        got = np.round(ss.n_for_cv(cv_pop=2, cv0=0.05), 9)
    elif "N = 500" in call:
        got = np.round(ss.n_for_cv(cv_pop=2, cv0=0.05, n_pop=500))
    elif "seq(0.01, 0.21" in call:
        got = np.ceil(ss.n_for_cv(cv_pop=2, cv0=R_SEQ))
    else:
        got = np.ceil(ss.n_for_proportion(0.5, moe=np.arange(0.01, 0.0801, 0.01)))
    np.testing.assert_array_equal(got, np.asarray(example["printed"], dtype=float))


def test_ndep2sam():
    # nDep2sam returns ceiling(n1), ceiling(n1 / r); ours is unrounded.
    for name, kw in {
        "ndep2sam_help": dict(s2x=200, s2y=200, delta=5, overlap=0.75, ratio=1, rho=0.9, alternative="one.sided"),
        "ndep2sam_independent": dict(s2x=0.55, s2y=0.60, delta=0.2),
        "ndep2sam_ratio": dict(s2x=0.55, s2y=0.60, delta=0.2, overlap=0.5, ratio=2, rho=0.6, power=0.9),
    }.items():
        n1, n2 = ss.n_two_sample(**kw)
        assert (np.ceil(n1), np.ceil(n2)) == (R[name]["value"]["n1"], R[name]["value"]["n2"]), R[name]["call"]
    n1, _ = ss.n_two_sample(0.55, 0.60, 0.2)
    np.testing.assert_allclose(n1, R["ndep2sam_independent_n1_exact"]["value"], rtol=1e-12)


def test_change_equals_ndep2sam_when_the_previous_wave_had_the_same_size():
    # With V_prev = S2y / n and no fpc, the n solving the change formula is nDep2sam's n1 (g = 0, r = 1).
    n1 = R["ndep2sam_independent_n1_exact"]["value"]
    n = ss.n_for_change(0.55, 0.2, var_previous=0.60 / n1)
    np.testing.assert_allclose(n, n1, rtol=1e-10)
    np.testing.assert_allclose(R["change_v0"]["value"], (0.2 / (Z + stats.norm.ppf(0.8))) ** 2 - 0.03**2, rtol=1e-12)
    # and the change detectable with that n is the change asked for
    np.testing.assert_allclose(ss.detectable_change(0.55, n1, var_previous=0.60 / n1), 0.2, rtol=1e-10)


def test_change_impossible_when_the_previous_wave_alone_is_too_imprecise():
    assert ss.n_for_change(0.55, 0.2, var_previous=0.1**2) == np.inf


def test_moe_for_n_inverts_n_for_moe():
    n = ss.n_for_moe(0.55, 0.10, n_pop=315, deff=1.3)
    np.testing.assert_allclose(ss.moe_for_n(0.55, n, n_pop=315, deff=1.3), 0.10, rtol=1e-12)
    assert ss.moe_for_n(0.55, 315, n_pop=315) == 0.0  # a census has no sampling error


def test_kish_deff():
    # The weights of survey's apistrat / apiclus1 as design.R wrote them (tests/r_reference/).
    import pandas as pd

    for name, file in (("deffk_apistrat", "apistrat.csv"), ("deffk_apiclus1", "apiclus1.csv")):
        w = pd.read_csv(Path(__file__).parent / "r_reference" / file)["pw"]
        np.testing.assert_allclose(ss.kish_deff(w), value(name), rtol=1e-10, err_msg=R[name]["call"])


def test_kish_deff_equals_weight_diagnostics():
    import pandas as pd

    from analysis.stats import weighting
    from analysis.stats.design import SurveyDesign

    w = np.array([1.0, 1.5, 2.0, 2.0, 7.5, 3.0])
    d = SurveyDesign(pd.DataFrame({"w": w}), weights="w")
    np.testing.assert_allclose(ss.kish_deff(w), weighting.weight_diagnostics(d)["deff_weighting"].iloc[0], rtol=1e-12)


def test_stralloc():
    nh, sh = R["strata"]["value"]["Nh"], R["strata"]["value"]["Sh"]
    np.testing.assert_allclose(ss.allocate(100, nh, sds=sh, method="neyman"), value("stralloc_neyman"), rtol=1e-12)
    np.testing.assert_allclose(ss.allocate(100, nh), value("stralloc_prop"), rtol=1e-12)


def test_allocation_over_capacity_is_reallocated():
    # Neyman gives stratum 1 (S = 40) 60 × 400/500 = 48 > 10 of its size: it takes all 10 and the
    # other 50 go to the rest in proportion to N_h S_h (Cochran §5.8).
    got = ss.allocate(60, [10, 30, 60], sds=[40, 1, 1], method="neyman")
    np.testing.assert_allclose(got, [10, 50 / 3, 100 / 3])
    # a capacity below the size (expected respondents) binds the same way, the total is kept
    got = ss.allocate(50, [10, 30, 60], capacity=[10, 6, 60])
    np.testing.assert_allclose(got, [44 * 10 / 70, 6, 44 * 60 / 70])
    assert got.sum() == pytest.approx(50)
    # more than the strata can give: everyone at capacity
    np.testing.assert_allclose(ss.allocate(500, [10, 30, 60], capacity=[5, 20, 40]), [5, 20, 40])


def test_allocation_floor():
    got = ss.allocate(20, [3, 5, 200], minimum=2)
    np.testing.assert_allclose(got, [2, 2, 16])
    assert got.sum() == pytest.approx(20)


def test_stratified_variance_is_minimal_for_neyman():
    nh, sh = np.array([40.0, 80.0, 120.0]), np.array([0.5, 1.0, 2.0])
    prop = ss.allocate(60, nh)
    ney = ss.allocate(60, nh, sds=sh, method="neyman")
    v_prop, v_ney = ss.stratified_variance(nh, sh, prop), ss.stratified_variance(nh, sh, ney)
    # Cochran eq. 5.6 written out for proportional allocation: (1 - f) Σ W_h S_h² / n
    np.testing.assert_allclose(v_prop, (1 - 60 / 240) * np.sum(nh / 240 * sh**2) / 60, rtol=1e-12)
    # Neyman: (Σ W_h S_h)² / n - Σ W_h S_h² / N (Cochran eq. 5.26)
    np.testing.assert_allclose(v_ney, np.sum(nh / 240 * sh) ** 2 / 60 - np.sum(nh / 240 * sh**2) / 240, rtol=1e-12)
    assert v_ney < v_prop


@pytest.mark.parametrize("call, message", [
    (lambda: ss.n_for_moe(0.55, 0.0), "margin of error must be > 0"),
    (lambda: ss.n_for_moe(np.nan, 0.1), "S2 has a missing value"),
    (lambda: ss.n_for_proportion(1.2, moe=0.05), "p must be in"),
    (lambda: ss.n_for_proportion(0.3, moe=0.05, cv0=0.1), "exactly one"),
    (lambda: ss.allocate(10, [1, 2], method="neyman"), "standard deviations"),
    (lambda: ss.allocate(10, [1, 2], method="equal"), "'proportional' or 'neyman'"),
    (lambda: ss.moe_for_n(0.5, 400, n_pop=315), "exceeds the population"),
    (lambda: ss.z_value(1.5), "alpha"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
