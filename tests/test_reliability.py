"""Reliability statistics pinned to psych 2.2.9 on its public `bfi` data.

Golden values: tests/r_reference/reliability_bfi.json, data: tests/r_reference/reliability_bfi.csv
(bfi columns A1-A5, C1-C5, gender, NAs kept), both written by

    Rscript scripts/r_reference/reliability.R

The R calls behind the numbers (x = bfi[, items]; psych's bfi keys):

    psych::alpha(bfi[, paste0("A", 1:5)], keys = c("A1"), use = "pairwise")
        $total$raw_alpha = 0.703018446057304, $total$std.alpha = 0.713028578671272
    psych::alpha(bfi[, paste0("C", 1:5)], keys = c("C4", "C5"), use = "pairwise")
    psych::alpha(na.omit(x), keys = ...)                        # missing = "listwise"
    psych::omega(x, nfactors = 1, key = c(-1, 1, 1, 1, 1))$omega.tot = 0.722943136474929
    psych::omega(bfi[, c("E1", "N3", "N4")], nfactors = 1)    # warns: an ultra-Heywood case
    lapply(split(x, bfi$gender), psych::alpha, keys = ...)      # reliability_by(by="gender")

psych's keys= flips an item as max + min - x (max and min over all items), which is what the
tests do in Python before calling (the caller passes recoded items).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats.factoring import HeywoodWarning
from analysis.stats.reliability import (
    _draw_cluster_counts,
    bootstrap_alpha_ci,
    cronbach_alpha,
    omega_total,
    reliability_by,
)

REF_DIR = Path(__file__).parent / "r_reference"
REF = json.loads((REF_DIR / "reliability_bfi.json").read_text(encoding="utf-8"))
BFI = pd.read_csv(REF_DIR / "reliability_bfi.csv")
ALPHA_TOL = 1e-8
# The one-factor loadings come from the same L-BFGS-B call as psych's fa(fm = "minres")
# (analysis.stats.factoring.minres), so they agree to ~1e-14, not just to the optimiser's tolerance.
OMEGA_TOL = 1e-10
SCALES = sorted(REF["scales"])


def keyed(scale: str, data: pd.DataFrame = BFI) -> pd.DataFrame:
    """The scale's items with psych's reverse keys applied (max + min - x over all items)."""
    spec = REF["scales"][scale]
    x = data[spec["items"]].astype("float64")
    reverse = spec["reverse"] if isinstance(spec["reverse"], list) else [spec["reverse"]]
    lo, hi = np.nanmin(BFI[spec["items"]].to_numpy()), np.nanmax(BFI[spec["items"]].to_numpy())
    return x.assign(**{c: hi + lo - x[c] for c in reverse})


def test_headline_values_written_in_this_file_match_the_json():
    # psych::alpha(bfi[, paste0("A", 1:5)], keys = c("A1"))$total
    pw = REF["scales"]["agreeableness"]["pairwise"]
    assert pw["alpha"] == pytest.approx(0.703018446057304, abs=1e-14)
    assert pw["alpha_std"] == pytest.approx(0.713028578671272, abs=1e-14)
    res = cronbach_alpha(keyed("agreeableness"))
    assert res.alpha == pytest.approx(0.703018446057304, abs=ALPHA_TOL)
    assert res.alpha_std == pytest.approx(0.713028578671272, abs=ALPHA_TOL)


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
@pytest.mark.parametrize("scale", SCALES)
def test_alpha_matches_psych(scale: str, missing: str):
    ref = REF["scales"][scale][missing]
    res = cronbach_alpha(keyed(scale), missing=missing)
    assert res.alpha == pytest.approx(ref["alpha"], abs=ALPHA_TOL)
    assert res.alpha_std == pytest.approx(ref["alpha_std"], abs=ALPHA_TOL)
    assert res.n == ref["n_rows"]  # bfi has no all-missing row, so psych's nsub == ours
    assert res.k == len(ref["items"]["item"])
    items = res.items
    assert items["item"].tolist() == ref["items"]["item"]
    for col in ["r_drop", "alpha_if_dropped", "std_alpha_if_dropped", "mean", "sd"]:
        np.testing.assert_allclose(items[col], ref["items"][col], rtol=0, atol=ALPHA_TOL, err_msg=col)
    assert items["n"].tolist() == ref["items"]["n"]


def test_pairwise_and_listwise_differ_when_answers_are_missing():
    # The bfi scales have NAs, so the two rules must not silently coincide.
    pw = cronbach_alpha(keyed("conscientiousness"), missing="pairwise")
    lw = cronbach_alpha(keyed("conscientiousness"), missing="listwise")
    assert abs(pw.alpha - lw.alpha) > 1e-4
    assert lw.n < pw.n


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
@pytest.mark.parametrize("scale", SCALES)
def test_omega_total_matches_psych_omega_one_factor(scale: str, missing: str):
    ref = REF["scales"][scale][f"omega_{missing}"]
    res = omega_total(keyed(scale), missing=missing)
    assert res.omega_total == pytest.approx(ref["omega_total"], abs=OMEGA_TOL)
    np.testing.assert_allclose(res.loadings.to_numpy(), ref["loadings"], atol=OMEGA_TOL)


def test_reliability_by_gender_matches_psych_per_group():
    items = {s: REF["scales"][s]["items"] for s in SCALES}
    data = pd.concat([keyed(s) for s in SCALES], axis=1).assign(gender=BFI["gender"])
    table = reliability_by(data, items, by="gender")
    assert table.columns.tolist() == ["gender", "scale", "alpha", "alpha_std", "omega_total",
                                      "ci_low", "ci_high", "n", "k"]
    assert table[["gender", "scale"]].to_numpy().tolist() == [[g, s] for g in (1, 2) for s in SCALES]
    for row in table.itertuples():
        ref = REF["scales"][row.scale]["by_gender"][str(row.gender)]
        assert row.alpha == pytest.approx(ref["alpha"], abs=ALPHA_TOL)
        assert row.alpha_std == pytest.approx(ref["alpha_std"], abs=ALPHA_TOL)
        assert row.omega_total == pytest.approx(ref["omega_total"], abs=OMEGA_TOL)
        assert row.n == ref["n_rows"] and row.k == 5
    assert table["ci_low"].isna().all()  # no cluster given: the interval is absent, not made up


def test_reliability_by_without_groups_and_with_a_plain_item_list():
    table = reliability_by(keyed("agreeableness"), REF["scales"]["agreeableness"]["items"])
    assert table["scale"].tolist() == ["scale"]
    assert table["alpha"].iloc[0] == pytest.approx(REF["scales"]["agreeableness"]["pairwise"]["alpha"], abs=ALPHA_TOL)


def test_reliability_by_reports_nan_for_a_group_where_alpha_is_undefined():
    df = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
                       "q1": [1, 2, 3, 4, 3, 3, 3, 3], "q2": [1, 2, 4, 4, 1, 2, 3, 4]})
    table = reliability_by(df, {"s": ["q1", "q2"]}, by="g")
    assert np.isfinite(table.loc[0, "alpha"])
    assert np.isnan(table.loc[1, "alpha"]) and table.loc[1, "n"] == 4


# ----------------------------------------------------------------------- input errors


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="at least 2 items"):
        cronbach_alpha(pd.DataFrame({"q1": [1, 2, 3]}))
    with pytest.raises(ValueError, match="without variance.*q2"):
        cronbach_alpha(pd.DataFrame({"q1": [1, 2, 3], "q2": [2, 2, 2]}))
    with pytest.raises(ValueError, match="non-numeric.*q2"):
        cronbach_alpha(pd.DataFrame({"q1": [1, 2, 3], "q2": ["1", "2", "3"]}))
    with pytest.raises(ValueError, match="missing must be"):
        cronbach_alpha(pd.DataFrame({"q1": [1, 2, 3], "q2": [1, 3, 2]}), missing="pairs")


def test_two_items_have_no_alpha_if_dropped():
    res = cronbach_alpha(pd.DataFrame({"q1": [1, 2, 3, 5], "q2": [1, 3, 2, 5]}))
    assert res.items["alpha_if_dropped"].isna().all()
    # two items: alpha = 2 * cov / (var1 + var2 + 2 cov) (Spearman-Brown form)
    c = np.cov([[1, 2, 3, 5], [1, 3, 2, 5]])
    assert res.alpha == pytest.approx(4 * c[0, 1] / c.sum(), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.lists(st.integers(1, 5), min_size=4, max_size=4), min_size=8, max_size=40),
    shift=st.integers(-3, 3),
)
def test_alpha_properties_without_missing_answers(data, shift):
    df = pd.DataFrame(data, columns=["a", "b", "c", "d"], dtype="float64")
    if (df.var() == 0).any():
        return
    pw, lw = cronbach_alpha(df), cronbach_alpha(df, missing="listwise")
    # Without missing answers the two rules are the same computation.
    assert pw.alpha == pytest.approx(lw.alpha, abs=1e-12)
    # Alpha is a function of the covariance matrix: a shift of every answer changes nothing.
    assert cronbach_alpha(df + shift).alpha == pytest.approx(pw.alpha, abs=1e-9)
    # Textbook formula from the variance of the sum score.
    k = 4
    expected = k / (k - 1) * (1 - df.var(ddof=1).sum() / df.sum(axis=1).var(ddof=1))
    assert pw.alpha == pytest.approx(expected, abs=1e-9)


# ----------------------------------------------------------------------- cluster bootstrap


def clustered_likert(n_units: int = 100, per_unit: int = 60, k: int = 5,
                     seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Likert items with a unit-level component, so the unit really is the sampling unit."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), per_unit)
    trait = rng.normal(size=unit.size) + 0.7 * rng.normal(size=n_units)[unit]
    items = {f"q{i}": np.clip(np.round(3 + 0.8 * trait + rng.normal(size=unit.size)), 1, 5) for i in range(k)}
    df = pd.DataFrame(items)
    df = df.mask(rng.random(df.shape) < 0.03)  # some missing answers: pairwise path
    return df, unit


def test_bootstrap_replicates_are_alpha_on_the_resampled_clusters():
    # Rebuild two replicates row by row and recompute alpha directly: checks the
    # block-sum shortcut against the plain definition.
    df, unit = clustered_likert(n_units=12, per_unit=15)
    ci = bootstrap_alpha_ci(df, unit, n_boot=3, seed=11)
    counts = _draw_cluster_counts(3, np.unique(unit), None, np.random.default_rng(11))
    for b in range(2):
        rows = np.concatenate([np.flatnonzero(unit == u) for u in range(12) for _ in range(int(counts[b, u]))])
        assert ci.replicates[b] == pytest.approx(cronbach_alpha(df.iloc[rows]).alpha, abs=1e-10)


def test_bootstrap_ci_contains_estimate_is_seeded_and_widens_with_fewer_clusters():
    df, unit = clustered_likert()
    ci = bootstrap_alpha_ci(df, unit, n_boot=1000, seed=2024)
    assert ci.estimate == pytest.approx(cronbach_alpha(df).alpha, abs=1e-15)
    assert ci.ci_low < ci.estimate < ci.ci_high
    assert ci.n_clusters == 100 and ci.n_valid == 1000
    again = bootstrap_alpha_ci(df, unit, n_boot=1000, seed=2024)
    assert (again.ci_low, again.ci_high) == (ci.ci_low, ci.ci_high)
    np.testing.assert_array_equal(again.replicates, ci.replicates)
    other = bootstrap_alpha_ci(df, unit, n_boot=1000, seed=2025)
    assert (other.ci_low, other.ci_high) != (ci.ci_low, ci.ci_high)
    few = unit < 12
    small = bootstrap_alpha_ci(df[few], unit[few], n_boot=1000, seed=2024)
    assert small.n_clusters == 12
    assert small.ci_high - small.ci_low > 1.5 * (ci.ci_high - ci.ci_low)


def test_bootstrap_strata_keep_clusters_within_their_stratum():
    df, unit = clustered_likert(n_units=20, per_unit=10)
    org = np.where(unit < 5, "HCCB", "CDVC")
    counts = _draw_cluster_counts(50, np.arange(20), np.where(np.arange(20) < 5, "HCCB", "CDVC"),
                                  np.random.default_rng(0))
    assert (counts[:, :5].sum(axis=1) == 5).all() and (counts[:, 5:].sum(axis=1) == 15).all()
    ci = bootstrap_alpha_ci(df, unit, strata=org, n_boot=200, seed=1)
    assert ci.ci_low < ci.estimate < ci.ci_high
    with pytest.raises(ValueError, match="more than one stratum"):
        bootstrap_alpha_ci(df, unit, strata=np.arange(len(unit)) % 2, n_boot=10)


def test_bootstrap_is_fast_on_a_wave_sized_sample():
    # 6000 respondents x 5 items, 100 units, 1000 replicates: the brief asks for a couple of seconds.
    df, unit = clustered_likert(n_units=100, per_unit=60)
    start = time.perf_counter()
    bootstrap_alpha_ci(df, unit, n_boot=1000, seed=1)
    assert time.perf_counter() - start < 2.0


def test_reliability_by_with_cluster_gives_the_bootstrap_interval():
    df, unit = clustered_likert(n_units=30, per_unit=20)
    df = df.assign(unit=unit, org=np.where(unit < 10, "DTN", "CDVC"))
    table = reliability_by(df, {"s": [f"q{i}" for i in range(5)]}, by="org", cluster="unit", n_boot=300, seed=5)
    assert table["org"].tolist() == ["CDVC", "DTN"]
    for row in table.itertuples():
        sub = df[df["org"] == row.org]
        ci = bootstrap_alpha_ci(sub[[f"q{i}" for i in range(5)]], sub["unit"].to_numpy(), n_boot=300, seed=5)
        assert (row.ci_low, row.ci_high) == (ci.ci_low, ci.ci_high)
        assert row.ci_low < row.alpha < row.ci_high


def test_nullable_int_items_from_processed_waves():
    # Processed waves store Likert answers as nullable Int64 with pd.NA (CONTRIBUTING.md).
    x = keyed("conscientiousness")
    res = cronbach_alpha(x.astype("Int64"))
    assert res.alpha == pytest.approx(REF["scales"]["conscientiousness"]["pairwise"]["alpha"], abs=ALPHA_TOL)
    assert omega_total(x.astype("Int64")).omega_total == pytest.approx(
        REF["scales"]["conscientiousness"]["omega_pairwise"]["omega_total"], abs=OMEGA_TOL)


def test_omega_needs_three_items():
    with pytest.raises(ValueError, match="at least 3 items"):
        omega_total(keyed("agreeableness")[["A2", "A3"]])
    table = reliability_by(keyed("agreeableness"), {"pair": ["A2", "A3"]})
    assert np.isfinite(table.loc[0, "alpha"]) and np.isnan(table.loc[0, "omega_total"])


def test_omega_total_warns_on_an_ultra_heywood_case_as_psych_does():
    # psych::omega(bfi[, c("E1", "N3", "N4")], nfactors = 1)$omega.tot = 0.631407236459747, with
    # "An ultra-Heywood case was detected" (fa()'s communality of N4: 1.00573142931554).
    ref = REF["omega_one_factor_heywood"]
    assert ref["omega_total"] == pytest.approx(0.631407236459747, abs=1e-14)
    assert any("ultra-Heywood" in w for w in ref["warnings"])
    with pytest.warns(HeywoodWarning, match=r"scale 'awkward'.*item N4 has communality 1\.00\d+ >= 1.*loading 1\.00"):
        res = omega_total(BFI[ref["items"]], scale="awkward")
    # N4's uniqueness sits on psych's bound (0.005), where R's L-BFGS-B (2.3) and SciPy's (3.0)
    # take different last steps: omega agrees to 1e-3 and loadings to 3e-3 here, not 1e-10.
    assert res.omega_total == pytest.approx(ref["omega_total"], abs=1e-3)
    np.testing.assert_allclose(res.loadings.to_numpy(), ref["loadings"], atol=3e-3)


def test_reliability_by_names_scale_and_group_in_the_heywood_warning():
    data = BFI[REF["omega_one_factor_heywood"]["items"]].assign(all="bfi")
    with pytest.warns(HeywoodWarning, match=r"scale 'awkward \(all=bfi\)'.*item N4"):
        table = reliability_by(data, {"awkward": ["E1", "N3", "N4"]}, by="all")
    assert np.isfinite(table.loc[0, "omega_total"])  # still reported, as psych does, with the warning


def test_proper_solutions_raise_no_heywood_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", HeywoodWarning)
        for scale in SCALES:
            omega_total(keyed(scale), scale=scale)
