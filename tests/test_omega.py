"""psych's default omega (Schmid–Leiman: omega_h, omega.tot) pinned to psych 2.2.9 on its `bfi` data.

Golden values: tests/r_reference/reliability_bfi.json (key "omega_hierarchical"), data:
tests/r_reference/reliability_bfi.csv (bfi's 25 items and gender, NAs kept), both written by

    Rscript scripts/r_reference/reliability.R

The R calls behind the numbers (psych 2.2.9, GPArotation 2022.10.2; psych's defaults
nfactors = 3, fm = "minres", rotate = "oblimin", flip = TRUE, no key):

    o <- psych::omega(bfi[, 1:25])
        o$omega_h = 0.436248650854365, o$omega.tot = 0.854810966145669
    psych::omega(na.omit(bfi[, 1:25]))                          # missing = "listwise"
    psych::omega(bfi[, paste0("E", 1:5)])                         # 5 items, a proper solution
        $omega_h = 0.658119721199705, $omega.tot = 0.794728491141929
    psych::omega(bfi[, paste0("N", 1:5)])                         # 5 items, g-loading at the bound
    psych::omega(bfi[, paste0(c("A", "C", "O"), 1:5)])            # each: "An ultra-Heywood case was detected"
    psych::omega(bfi[, c(paste0("A", 1:5), paste0("C", 1:5))], nfactors = 2)
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats import factoring
from analysis.stats.omega import HeywoodWarning, omega_hierarchical
from analysis.stats.reliability import item_correlation, omega_total

REF_DIR = Path(__file__).parent / "r_reference"
REF = json.loads((REF_DIR / "reliability_bfi.json").read_text(encoding="utf-8"))["omega_hierarchical"]
BFI = pd.read_csv(REF_DIR / "reliability_bfi.csv")
#: Every iteration is psych's own (analysis.stats.factoring), so R is matched to ~1e-11; the
#: issue asks for 1e-6.
TOL = 1e-8
#: Neuroticism and agreeableness: the second-order fa(Phi) puts one uniqueness on psych's
#: bound 0.005, and there R's L-BFGS-B (2.3) and SciPy's (3.0) take different last steps.
AT_BOUND = {"neuroticism", "agreeableness"}
BOUND_TOL = 2e-4
CASES = sorted(REF)


def run(case: str, **kw) -> tuple[object, list[warnings.WarningMessage]]:
    ref = REF[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = omega_hierarchical(BFI[ref["items"]], nfactors=2 if case == "two_factors" else 3,
                                 missing="listwise" if case.endswith("listwise") else "pairwise", scale=case, **kw)
    return res, [w for w in caught if issubclass(w.category, HeywoodWarning)]


def test_headline_values_written_in_this_file_match_the_json():
    assert REF["bfi25"]["omega_h"] == pytest.approx(0.436248650854365, abs=1e-14)
    assert REF["bfi25"]["omega_total"] == pytest.approx(0.854810966145669, abs=1e-14)
    assert REF["extraversion"]["omega_h"] == pytest.approx(0.658119721199705, abs=1e-14)
    res, _ = run("bfi25")
    assert res.omega_h == pytest.approx(0.436248650854365, abs=TOL)
    assert res.omega_total == pytest.approx(0.854810966145669, abs=TOL)
    assert (res.n, res.k, res.nfactors) == (2800, 25, 3)


@pytest.mark.parametrize("case", CASES)
def test_omega_matches_psych_omega_defaults(case: str):
    ref = REF[case]
    res, _ = run(case)
    tol = BOUND_TOL if case in AT_BOUND else TOL
    for name in ["omega_h", "omega_limit", "ecv"]:
        assert getattr(res, name) == pytest.approx(ref[name], abs=tol), name
    # omega_total and alpha need only the first-order solution: always psych's to 1e-10.
    assert res.omega_total == pytest.approx(ref["omega_total"], abs=TOL)
    assert res.alpha == pytest.approx(ref["alpha"], abs=TOL)
    assert res.n == ref["n_rows"]
    assert res.key.tolist() == ref["key"]  # psych's flip = TRUE: the items it reversed
    assert res.loadings.columns.tolist() == ref["sl_columns"]
    assert res.loadings.index.tolist() == ref["items"]
    np.testing.assert_allclose(res.loadings.to_numpy(), ref["sl"], rtol=0, atol=5 * tol)
    np.testing.assert_allclose(res.phi.to_numpy(), ref["phi"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.general_loadings.to_numpy(), ref["gloading"], rtol=0, atol=tol)
    group = np.array([[np.nan if v is None else v for v in ref["omega_group"][c]]
                      for c in ["total", "general", "group"]], dtype=float).T
    assert res.group.index.tolist() == ref["omega_group"]["rows"]
    np.testing.assert_allclose(res.group.to_numpy(), group, rtol=0, atol=tol)


def test_the_looser_cases_are_ones_with_a_uniqueness_on_psychs_bound():
    # Why BOUND_TOL: psych's fa(Phi) bounds each uniqueness below at 0.005, i.e. a g-loading of
    # a group factor at sqrt(0.995) = 0.9975 or more puts the optimiser on its bound; only
    # there may R's and SciPy's L-BFGS-B part (conscientiousness and openness sit there too
    # and still agree to 1e-11).
    for case in AT_BOUND:
        assert np.abs(REF[case]["gloading"]).max() > np.sqrt(0.995), case
        res, _ = run(case)
        assert abs(res.omega_h - REF[case]["omega_h"]) > TOL  # the exception is real, not stale


@pytest.mark.parametrize("case", CASES)
def test_heywood_warning_exactly_where_psych_warns(case: str):
    res, caught = run(case)
    psych_warns = any("ultra-Heywood" in w for w in REF[case]["warnings"])
    assert bool(caught) == psych_warns == bool(res.improper)
    for w in caught:
        text = str(w.message)
        assert f"scale {case!r}" in text and "improper solution" in text
        # the loading is named: which factor, and its value as psych has it
        factor = int(text.split("group factor F")[1].split()[0])
        loading = float(text.split(" loads ")[1].split()[0])
        assert abs(REF[case]["gloading"][factor - 1]) >= 1
        assert loading == pytest.approx(REF[case]["gloading"][factor - 1], abs=1e-4)


def test_warning_names_the_items_when_no_scale_is_given():
    with pytest.warns(HeywoodWarning, match=r"scale 'O1, O2, O3, O4, O5'.*F1 loads 1\.0067"):
        omega_hierarchical(BFI[REF["openness"]["items"]])


def test_reverse_keying_an_item_changes_only_its_key():
    # psych flips items that load negatively on g, so reverse-keying the input first
    # (max + min - x) must give the same omegas, with that item's key flipped back.
    items = REF["bfi25"]["items"]
    x = BFI[items].astype("float64")
    base, _ = run("bfi25")
    recoded = x.assign(A1=7 - x["A1"], C4=7 - x["C4"])
    res = omega_hierarchical(recoded)
    assert res.omega_h == pytest.approx(base.omega_h, abs=1e-9)
    assert res.omega_total == pytest.approx(base.omega_total, abs=1e-12)
    assert res.key["A1"] == 1 and res.key["C4"] == 1 and base.key["A1"] == -1 and base.key["C4"] == -1
    np.testing.assert_allclose(res.loadings["g"], base.loadings["g"], atol=1e-9)


def test_it_is_not_the_one_factor_omega():
    # psych::omega(x)$omega.tot (3 group factors) vs psych::omega(x, nfactors = 1)$omega.tot:
    # on bfi's 25 items the one-factor model leaves most of the common variance out.
    x = BFI[REF["bfi25"]["items"]]
    three, _ = run("bfi25")
    one = omega_total(x * three.key)  # the one-factor omega on the same flipped items: 0.82 vs 0.855
    assert one.omega_total < three.omega_total - 0.03
    assert three.omega_h < one.omega_total


def test_nullable_integer_items_from_processed_waves():
    res = omega_hierarchical(BFI[REF["extraversion"]["items"]].astype("Int64"))
    assert res.omega_h == pytest.approx(REF["extraversion"]["omega_h"], abs=TOL)


def test_errors_name_the_problem():
    x = BFI[REF["extraversion"]["items"]]
    with pytest.raises(ValueError, match="at least 2 group factors.*omega_total"):
        omega_hierarchical(x, nfactors=1)
    with pytest.raises(ValueError, match=r"more than 3 items, got 3: \['E1', 'E2', 'E3'\]"):
        omega_hierarchical(x[["E1", "E2", "E3"]])
    with pytest.raises(ValueError, match="non-numeric.*E2"):
        omega_hierarchical(x.assign(E2=x["E2"].astype(str)))
    with pytest.raises(ValueError, match="without variance"):
        omega_hierarchical(x.assign(E2=3.0))


# ------------------------------------------------------------------ psych's fa() steps


FA = json.loads((REF_DIR / "reliability_bfi.json").read_text(encoding="utf-8"))["factoring"]


def test_minres_stops_where_psych_stops():
    # lam <- c(.8, .7, .6, .5); r <- outer(lam, lam); diag(r) <- 1; psych::fa(r, 1)$loadings
    #   = 0.799999571991471 0.699997345682354 0.600002584072393 0.500000344558300:
    # psych's L-BFGS-B stops 3e-6 short of the exact loadings, and so does minres().
    lam = np.array([0.8, 0.7, 0.6, 0.5])
    r = np.outer(lam, lam)
    np.fill_diagonal(r, 1.0)
    fit = factoring.minres(r, 1)
    ref = FA["one_factor"]
    assert ref["loadings"][1] == pytest.approx(0.699997345682354, abs=1e-15)
    np.testing.assert_allclose(fit.loadings[:, 0], ref["loadings"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit.uniquenesses, ref["uniquenesses"], rtol=0, atol=1e-12)
    assert np.abs(fit.loadings[:, 0] - lam).max() > 1e-6 and fit.converged


def test_minres_varimax_oblimin_match_psych_fa_and_gparotation():
    # f <- psych::fa(cor(bfi[, 1:25], use = "pairwise"), 3, rotate = "varimax")
    # ob <- GPArotation::oblimin(loadings(f))
    ref = FA["bfi25"]
    r, _ = item_correlation(BFI[REF["bfi25"]["items"]])
    fit = factoring.minres(r.to_numpy(), 3)
    np.testing.assert_allclose(fit.uniquenesses, ref["uniquenesses"], rtol=0, atol=1e-10)
    vm, _ = factoring.varimax(fit.loadings)
    vm = vm * np.sign(vm.sum(axis=0))
    vm = vm[:, np.argsort(-np.sum(vm**2, axis=0))]  # fa()'s sign and order rules
    np.testing.assert_allclose(vm, ref["varimax"], rtol=0, atol=1e-10)
    pattern, phi, _ = factoring.oblimin(np.array(ref["varimax"]))
    np.testing.assert_allclose(pattern, ref["oblimin"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(phi, ref["phi"], rtol=0, atol=1e-12)


def test_rotations_preserve_the_common_part_and_oblimin_is_a_rotation():
    r, _ = item_correlation(BFI[REF["bfi25"]["items"]])
    fit = factoring.minres(r.to_numpy(), 3)
    vm, rot = factoring.varimax(fit.loadings)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(vm @ vm.T, fit.loadings @ fit.loadings.T, atol=1e-12)
    pattern, phi, converged = factoring.oblimin(vm)
    assert converged
    np.testing.assert_allclose(np.diag(phi), 1.0, atol=1e-12)
    # an oblique rotation reproduces the same common part: F Phi F' = A A'
    np.testing.assert_allclose(pattern @ phi @ pattern.T, vm @ vm.T, atol=1e-10)
    with pytest.raises(ValueError, match="at least 2 factors"):
        factoring.oblimin(vm[:, :1])
