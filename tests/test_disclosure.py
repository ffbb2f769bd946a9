"""Disclosure control of estimate tables: primary, complementary, rounding, waves, pooling,
homogeneity, and the attacker that checks them.

The numbers are hand-made so that every parent is exactly the n-weighted mean of its children,
which is what a real attacker exploits; expected values are worked out in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.disclosure import (
    DisclosureError,
    DisclosurePolicy,
    assert_no_disclosure,
    check_sentence,
    find_disclosures,
    load_policy,
    mask_for_plot,
    pool_small_groups,
    protect_comparison,
    protect_table,
    safe_text,
)

from test_disclosure_helpers import respondents, tidy_means

UNITS = pd.DataFrame({
    "unit": ["CDVC01", "CDVC02", "CDVC03", "HCCB01", "HCCB02"],
    "org": ["CDVC", "CDVC", "CDVC", "HCCB", "HCCB"],
})
BY = ["org", "unit"]


def mean_table(rows: list[tuple], by=BY, variable: str = "score") -> pd.DataFrame:
    """rows: (*by values, estimate, n)."""
    df = pd.DataFrame(rows, columns=[*by, "estimate", "n"])
    df.insert(len(by), "variable", variable)
    df["se"] = 0.2
    df["ci_low"] = df["estimate"] - 0.39
    df["ci_high"] = df["estimate"] + 0.39
    df["deff"] = 1.0
    return df


# CDVC: 12 * 3.25 + 10 * 3.40 + 3 * (14/3) = 39 + 34 + 14 = 87 = 25 * 3.48
PLANTED = 14 / 3
ORG3 = mean_table([
    ("CDVC", "CDVC01", 3.25, 12),
    ("CDVC", "CDVC02", 3.40, 10),
    ("CDVC", "CDVC03", PLANTED, 3),
    ("CDVC", None, 3.48, 25),
])


# --------------------------------------------------------------------------------------------
# primary suppression and k


def test_primary_suppression_k5_hides_n4_and_shows_n5():
    t = mean_table([("CDVC", "CDVC01", 3.256, 5), ("CDVC", "CDVC02", 4.1, 4)])
    pt = protect_table(t, by=BY, hierarchy=UNITS)
    out = pt.table.set_index("unit")
    assert out.loc["CDVC01", "estimate"] == 3.26  # rounded to the policy's 2 decimals
    assert out.loc["CDVC01", "n"] == 5
    assert out.loc["CDVC01", "display"] == "3.26"
    assert not out.loc["CDVC01", "suppressed"]
    hidden = out.loc["CDVC02"]
    assert bool(hidden["suppressed"]) and hidden["display"] == "n<5" and hidden["note"] == "n<5"
    assert all(np.isnan(hidden[c]) for c in ["estimate", "se", "ci_low", "ci_high", "n", "deff"])
    assert pt.log[["unit", "reason", "n"]].to_dict("records") == [{"unit": "CDVC02", "reason": "primary", "n": 4}]
    assert pt.footnotes("vi") == [
        "n<5: không công bố vì có ít hơn 5 người trả lời, để bảo đảm bí mật cho người trả lời."
    ]
    assert pt.footnotes("en") == [
        "n<5: not published because fewer than 5 people answered, to protect respondents' confidentiality."
    ]


def test_k_is_configurable_and_marker_follows():
    t = mean_table([("CDVC", "CDVC01", 3.0, 6), ("CDVC", "CDVC02", 4.0, 7)])
    pt = protect_table(t, by=BY, hierarchy=UNITS, policy=load_policy(k=7))
    assert pt.table["display"].tolist() == ["n<7", "4.00"]


@pytest.mark.parametrize("k", [2, 1, 0])
def test_k_below_3_is_rejected(k):
    msg = (f"disclosure policy: min_group_size (k) = {k} is below the allowed minimum of 3; "
           "groups this small can be re-identified by their own members")
    with pytest.raises(DisclosureError) as e:
        load_policy(k=k)
    assert str(e.value) == msg
    with pytest.raises(DisclosureError):
        DisclosurePolicy(k=k)
    with pytest.raises(DisclosureError):
        load_policy().replace(k=k)


# --------------------------------------------------------------------------------------------
# complementary suppression and the attacker


def test_complementary_suppression_leaves_nothing_to_recover():
    pt = protect_table(ORG3, by=BY, hierarchy=UNITS)
    assert pt.table["display"].tolist() == ["3.25", "x", "n<5", "3.48"]
    assert pt.log[["unit", "reason", "n"]].to_dict("records") == [
        {"unit": "CDVC03", "reason": "primary", "n": 3},
        {"unit": "CDVC02", "reason": "complementary", "n": 10},  # the smallest sibling
    ]
    found = find_disclosures([("units", pt, BY)], UNITS)
    assert found.empty
    assert_no_disclosure([("units", pt, BY)], UNITS)


def test_without_complementary_the_attacker_recovers_the_planted_value():
    pt = protect_table(ORG3, by=BY, hierarchy=UNITS, complementary=False)
    found = find_disclosures([("units", pt, BY)], UNITS)
    assert len(found) == 1
    f = found.iloc[0]
    assert (f["by"], f["kind"], f["method"], f["n"]) == ("org=CDVC, unit=CDVC03", "cell", "within_rounding", 3)
    # T = 25*3.48 - 12*3.25 - 10*3.40 = 14 -> 14/3; half-width 0.005*(25+12+10)/3 = 0.078333
    assert f["estimate"] == pytest.approx(PLANTED, abs=1e-6)
    assert f["low"] == pytest.approx(PLANTED - 0.0783333, abs=1e-6)
    assert f["high"] == pytest.approx(PLANTED + 0.0783333, abs=1e-6)
    assert f["low"] <= PLANTED <= f["high"]
    with pytest.raises(DisclosureError, match=r"1 hidden value\(s\) can be recovered"):
        assert_no_disclosure([("units", pt, BY)], UNITS)


def test_unrounded_values_give_an_exact_recovery():
    raw = ORG3.copy()
    raw.loc[2, ["estimate", "n"]] = np.nan
    raw["estimate"] = raw["estimate"] + 1e-7 * np.array([1, 0, 0, 0]) * 0  # keep exact
    raw.loc[0, "estimate"] = 3.25 + 1.23e-8  # more than 6 decimals: treated as unrounded
    raw.loc[3, "estimate"] = (39 + 12 * 1.23e-8 + 34 + 14) / 25
    f = find_disclosures([("raw", raw, BY)], UNITS).iloc[0]
    assert f["method"] == "exact"
    assert f["estimate"] == pytest.approx(PLANTED, abs=1e-6)


def test_two_organizations_and_grand_total():
    t = pd.concat([ORG3, mean_table([
        ("HCCB", "HCCB01", 2.5, 6), ("HCCB", "HCCB02", 3.0, 7), ("HCCB", None, 2.77, 13),
        (None, None, 3.24, 38),
    ])], ignore_index=True)
    pt = protect_table(t, by=BY, hierarchy=UNITS)
    assert pt.table.loc[pt.table["suppressed"], "unit"].tolist() == ["CDVC02", "CDVC03"]
    assert find_disclosures([("t", pt, BY)], UNITS).empty


def test_hierarchy_comes_from_the_mapping_not_the_code_prefix():
    # a unit whose code does not start with its organization's code
    units = pd.DataFrame({"unit": ["A1", "A2", "ZZ9"], "org": ["CDVC"] * 3})
    t = mean_table([("CDVC", "A1", 3.25, 12), ("CDVC", "A2", 3.40, 10), ("CDVC", "ZZ9", PLANTED, 3)])
    org = mean_table([("CDVC", 3.48, 25)], by=["org"])
    pt = protect_table(t, by=BY, hierarchy=units, published=[("orgs", org, ["org"])])
    assert pt.table["suppressed"].tolist() == [False, True, True]
    assert find_disclosures([("orgs", org, ["org"]), ("units", pt, BY)], units).empty


def test_unit_table_without_org_column_uses_the_hierarchy():
    t = mean_table([("CDVC01", 3.25, 12), ("CDVC02", 3.40, 10), ("CDVC03", PLANTED, 3)], by=["unit"])
    org = mean_table([("CDVC", 3.48, 25)], by=["org"])
    leak = protect_table(t, by="unit", complementary=False)
    found = find_disclosures([("orgs", org, "org"), ("units", leak, "unit")], UNITS)
    assert found["by"].tolist() == ["org=CDVC, unit=CDVC03"]
    pt = protect_table(t, by="unit", hierarchy=UNITS, published=[("orgs", org, "org")])
    assert pt.table["suppressed"].tolist() == [False, True, True]


def test_pooled_remainder_below_k_is_a_disclosure():
    # two hidden units of 2 respondents each: org minus the published unit gives a group of 4
    t = mean_table([
        ("CDVC", "CDVC01", 3.0, 12), ("CDVC", "CDVC02", 4.0, 2), ("CDVC", "CDVC03", 6.0, 2),
        ("CDVC", None, 3.5, 16),
    ])
    leak = protect_table(t, by=BY, hierarchy=UNITS, complementary=False)
    found = find_disclosures([("t", leak, BY)], UNITS)
    assert found[["kind", "n"]].to_dict("records") == [{"kind": "pooled_remainder", "n": 4}]
    assert found.iloc[0]["estimate"] == pytest.approx(5.0, abs=1e-6)  # (16*3.5 - 12*3) / 4
    pt = protect_table(t, by=BY, hierarchy=UNITS)
    assert pt.table["suppressed"].tolist() == [True, True, True, False]
    assert pt.log["reason"].tolist() == ["primary", "primary", "complementary"]
    assert find_disclosures([("t", pt, BY)], UNITS).empty


def test_cross_classified_unit_by_sex_hides_a_rectangle():
    sizes = {("U1", "male"): 6, ("U1", "female"): 7, ("U2", "male"): 8, ("U2", "female"): 2,
             ("U3", "male"): 5, ("U3", "female"): 9}
    rng = np.random.default_rng(3)
    resp = pd.DataFrame([{"unit": u, "sex": s, "score": float(rng.integers(1, 6))}
                         for (u, s), n in sizes.items() for _ in range(n)])
    t = tidy_means(resp, [["unit", "sex"], ["unit"], ["sex"], []])
    pt = protect_table(t, by=["unit", "sex"])
    hidden = pt.table[pt.table["suppressed"]][["unit", "sex"]].to_dict("records")
    assert hidden == [
        {"unit": "U1", "sex": "female"}, {"unit": "U1", "sex": "male"},
        {"unit": "U2", "sex": "female"}, {"unit": "U2", "sex": "male"},
    ]
    assert pt.log.set_index(["unit", "sex"])["reason"].to_dict() == {
        ("U2", "female"): "primary", ("U1", "female"): "complementary",
        ("U1", "male"): "complementary", ("U2", "male"): "complementary",
    }
    assert find_disclosures([("t", pt, ["unit", "sex"])]).empty
    leak = protect_table(t, by=["unit", "sex"], complementary=False)
    found = find_disclosures([("t", leak, ["unit", "sex"])])
    assert found["by"].tolist() == ["sex=female, unit=U2"]
    true = resp[(resp.unit == "U2") & (resp.sex == "female")]["score"].mean()
    assert found.iloc[0]["low"] <= true <= found.iloc[0]["high"]


def test_published_tables_that_already_disclose_are_refused():
    leak = protect_table(ORG3, by=BY, hierarchy=UNITS, complementary=False)
    other = mean_table([("HCCB", "HCCB01", 2.5, 6)])
    with pytest.raises(DisclosureError, match=r"the published tables alone already reveal units"):
        protect_table(other, by=BY, hierarchy=UNITS, published=[("units", leak, BY)], name="hccb")


# --------------------------------------------------------------------------------------------
# rounding


def _prop_table(rows, by=BY, variable="q"):
    """rows: (*by, p_yes, n); levels yes/no."""
    out = []
    for *keys, p, n in rows:
        for level, est in (("yes", p), ("no", None if p is None else round(1 - p, 10))):
            out.append((*keys, variable, level, est, 0.05, 0.0, 1.0, n, 1.0))
    return pd.DataFrame(out, columns=[*by, "variable", "level", "estimate", "se", "ci_low", "ci_high", "n", "deff"])


def test_rounding_alone_does_not_protect_a_proportion():
    # true counts: 12/20, 9/17, 2/3 (hidden); org 23/40. Published rounded to 2 decimals.
    t = _prop_table([("CDVC", "CDVC01", 0.60, 20), ("CDVC", "CDVC02", 0.53, 17),
                     ("CDVC", "CDVC03", None, None), ("CDVC", None, 0.58, 40)])
    found = find_disclosures([("p", t, BY)], UNITS)
    f = found[found["level"] == "yes"].iloc[0]
    # count = 40*0.58 - 20*0.60 - 17*0.53 = 2.19 +/- 0.005*(40+20+17) = 0.385 -> [1.805, 2.575]:
    # the interval in proportion points (0.257) is wider than 0.10, but it holds one integer
    # count, 2: the hidden unit's answers are known exactly (2 of 3 said yes).
    assert (f["method"], f["n"]) == ("within_rounding", 3)
    assert f["estimate"] == pytest.approx(0.73, abs=1e-6)
    assert (f["low"], f["high"]) == (pytest.approx(1.805 / 3, abs=1e-6), pytest.approx(2.575 / 3, abs=1e-6))
    counts = np.arange(0, 4)
    assert counts[(counts >= f["low"] * 3) & (counts <= f["high"] * 3)].tolist() == [2]


def test_coarser_rounding_still_reports_a_small_hidden_group():
    # same table published to 1 decimal: count interval 2.3 +/- 3.85 holds many counts, and
    # the proportion interval is 2.57 wide; rounding would protect a larger group ...
    t = _prop_table([("CDVC", "CDVC01", 0.6, 20), ("CDVC", "CDVC02", 0.5, 17),
                     ("CDVC", "CDVC03", None, None), ("CDVC", None, 0.6, 40)])
    # ... except that a hidden group of fewer than k (here 3) is never allowed to be derivable:
    found = find_disclosures([("p", t, BY)], UNITS, policy=load_policy(decimals=1))
    assert found["n"].tolist() == [3, 3]
    # a hidden group of 8 under the same rounding: count 6.5 +/- 0.05*(45+20+17) = 4.1 -> not reported
    t8 = _prop_table([("CDVC", "CDVC01", 0.6, 20), ("CDVC", "CDVC02", 0.5, 17),
                      ("CDVC", "CDVC03", None, None), ("CDVC", None, 0.6, 45)])
    assert find_disclosures([("p", t8, BY)], UNITS, policy=load_policy(decimals=1)).empty


def test_rounding_threshold_for_larger_hidden_groups():
    # a hidden group of 6 (e.g. hidden for homogeneity): 28*3 - 12*3 - 10*3 = 18 -> 3.0
    means = mean_table([("CDVC", "CDVC01", 3.0, 12), ("CDVC", "CDVC02", 3.0, 10),
                        ("CDVC", "CDVC03", np.nan, np.nan), ("CDVC", None, 3.0, 28)])
    # whole numbers: +/- 0.5*(28+12+10)/6 -> width 8.33 >= 0.5: rounding protects, not reported
    assert find_disclosures([("m", means, BY)], UNITS, policy=load_policy(decimals=0)).empty
    # two decimals: width 2*0.005*50/6 = 0.083333 < 0.5: derivable within rounding, reported
    found = find_disclosures([("m", means, BY)], UNITS, policy=load_policy(decimals=2))
    assert found[["n", "estimate", "method"]].to_dict("records") == [
        {"n": 6, "estimate": 3.0, "method": "within_rounding"}]
    assert found["width"].round(6).tolist() == [0.083333]
    # a hidden group of 3 is reported whatever the rounding
    small = mean_table([("CDVC", "CDVC01", 3.0, 12), ("CDVC", "CDVC02", 3.0, 10),
                        ("CDVC", "CDVC03", np.nan, np.nan), ("CDVC", None, 3.0, 25)])
    found = find_disclosures([("m", small, BY)], UNITS, policy=load_policy(decimals=0))
    assert found[["n", "width"]].round(6).to_dict("records") == [{"n": 3, "width": 15.666667}]


# --------------------------------------------------------------------------------------------
# waves


WAVES = ["org", "unit", "wave"]
# 2024: CDVC03 has 3 respondents (hidden); 2025: 8 (shown).
# 2025 totals: 11*3.5 + 9*3.0 + 8*4.0 = 38.5 + 27 + 32 = 97.5 = 28 * 3.482142857
LEVELS = mean_table([
    ("CDVC", "CDVC01", "2024", 3.25, 12), ("CDVC", "CDVC02", "2024", 3.40, 10),
    ("CDVC", "CDVC03", "2024", PLANTED, 3), ("CDVC", None, "2024", 3.48, 25),
    ("CDVC", "CDVC01", "2025", 3.5, 11), ("CDVC", "CDVC02", "2025", 3.0, 9),
    ("CDVC", "CDVC03", "2025", 4.0, 8), ("CDVC", None, "2025", 97.5 / 28, 28),
], by=WAVES)


def _diff_table(levels: pd.DataFrame) -> pd.DataFrame:
    keyed = levels.assign(unit=levels["unit"].fillna("")).set_index(["org", "unit"])
    a, b = keyed[keyed.wave == "2025"], keyed[keyed.wave == "2024"]
    d = (a["estimate"] - b["estimate"]).round(2)
    out = pd.DataFrame({"variable": "score", "estimate": d, "se": 0.3, "ci_low": d - 0.6,
                        "ci_high": d + 0.6, "n": a["n"], "deff": 1.0}).reset_index()
    out["unit"] = out["unit"].replace("", None)
    out.insert(2, "wave", "2025")
    out.insert(3, "baseline_wave", "2024")
    return out


DIFF_BY = ["org", "unit", "wave", "baseline_wave"]


def test_wave_difference_does_not_reveal_a_group_hidden_in_one_wave():
    lv = protect_table(LEVELS, by=WAVES, hierarchy=UNITS, name="levels")
    assert lv.table.loc[lv.table["suppressed"], ["unit", "wave"]].to_dict("records") == [
        {"unit": "CDVC02", "wave": "2024"}, {"unit": "CDVC03", "wave": "2024"},
    ]
    diff = _diff_table(LEVELS)
    pd_ = protect_table(diff, by=DIFF_BY, hierarchy=UNITS, published=[("levels", lv, WAVES)], name="diff")
    assert pd_.table["display"].tolist() == ["0.25", "x", "x", "0.00"]
    assert pd_.log[["unit", "reason"]].to_dict("records") == [
        {"unit": "CDVC02", "reason": "wave"}, {"unit": "CDVC03", "reason": "wave"},
    ]
    assert find_disclosures([("levels", lv, WAVES), ("diff", pd_, DIFF_BY)], UNITS).empty


def test_unprotected_difference_reveals_the_hidden_wave():
    lv = protect_table(LEVELS, by=WAVES, hierarchy=UNITS, name="levels")
    found = find_disclosures([("levels", lv, WAVES), ("diff", _diff_table(LEVELS), DIFF_BY)], UNITS)
    got = found.set_index("by")[["kind", "estimate", "width"]].round(6).to_dict("index")
    # CDVC03 2024 = 4.00 - (4.00 - 4.67) = 4.67; CDVC02 2024 = 3.00 - (-0.40) = 3.40
    assert got == {
        "org=CDVC, unit=CDVC02, wave=2024": {"kind": "difference", "estimate": 3.4, "width": 0.02},
        "org=CDVC, unit=CDVC03, wave=2024": {"kind": "difference", "estimate": 4.67, "width": 0.02},
    }


def test_difference_needs_both_waves_published():
    with pytest.raises(ValueError, match=r"no published level table has .* for wave 2025"):
        protect_table(_diff_table(LEVELS), by=DIFF_BY, hierarchy=UNITS, name="diff")


def test_tables_of_different_waves_must_carry_the_wave():
    lv = protect_table(LEVELS, by=WAVES, hierarchy=UNITS, name="levels")
    with pytest.raises(ValueError, match=r"give every table its wave"):
        protect_table(ORG3, by=BY, hierarchy=UNITS, published=[("levels", lv, WAVES)])


# --------------------------------------------------------------------------------------------
# pooling


def test_small_units_are_pooled_within_their_organization():
    resp = respondents({("CDVC", "CDVC01"): 10, ("CDVC", "CDVC02"): 3, ("CDVC", "CDVC03"): 4,
                        ("CDVC", "CDVC04"): 12, ("HCCB", "HCCB01"): 2, ("HCCB", "HCCB02"): 8})
    pool = pool_small_groups(resp, "unit", 5, "org")
    counts = pool.data.groupby(["org", "unit"]).size().to_dict()
    assert counts == {("CDVC", "CDVC01"): 10, ("CDVC", "CDVC04"): 12, ("CDVC", "Đơn vị khác (gộp)"): 7,
                      ("HCCB", "Đơn vị khác (gộp)"): 10}
    assert pool.log[["org", "unit", "n"]].to_dict("records") == [
        {"org": "CDVC", "unit": "CDVC02", "n": 3}, {"org": "CDVC", "unit": "CDVC03", "n": 4},
        {"org": "HCCB", "unit": "HCCB01", "n": 2},
        {"org": "HCCB", "unit": "HCCB02", "n": 8},  # joined because the pool alone had 2 < 5
    ]
    assert pool.log["detail"].tolist()[2] == "pooled with 1 other group(s): 10 respondents"
    # estimate on the pooled data: every group has >= k, nothing needs hiding
    est = tidy_means(pool.data, [["org", "unit"], ["org"]])
    pt = protect_table(est, by=BY, hierarchy=UNITS, pooling=pool)
    assert not pt.table["suppressed"].any()
    assert pt.log[["unit", "reason"]].to_dict("records") == [
        {"unit": u, "reason": "pooled"} for u in ["CDVC02", "CDVC03", "HCCB01", "HCCB02"]
    ]
    assert find_disclosures([("t", pt, BY)], UNITS).empty


def test_forced_pooling_keeps_the_pool_stable_across_waves():
    resp = respondents({("CDVC", "CDVC01"): 10, ("CDVC", "CDVC02"): 6, ("CDVC", "CDVC03"): 9})
    pool = pool_small_groups(resp, "unit", 5, "org", force=["CDVC02"])
    assert pool.log["unit"].tolist() == ["CDVC02"]
    assert sorted(pool.data["unit"].unique()) == ["CDVC01", "CDVC03", "Đơn vị khác (gộp)"]


def test_pooled_label_without_parent_in_by_is_an_error():
    t = mean_table([("Đơn vị khác (gộp)", 3.0, 7)], by=["unit"])
    with pytest.raises(ValueError, match=r"is not in the hierarchy; put 'org' in `by`"):
        protect_table(t, by="unit", hierarchy=UNITS)


# --------------------------------------------------------------------------------------------
# group attribute disclosure


def test_homogeneous_group_on_a_sensitive_item_is_suppressed():
    rows = [("CDVC", "CDVC01", 1.0, 8), ("CDVC", "CDVC02", 0.6, 10), ("CDVC", "CDVC03", 0.5, 12),
            ("CDVC", None, 0.67, 30)]
    t = pd.concat([_prop_table(rows, variable="s_sens"), _prop_table(rows, variable="s_plain")], ignore_index=True)
    pt = protect_table(t, by=BY, hierarchy=UNITS, sensitive=["s_sens"])
    out = pt.table
    hidden = out[out["suppressed"]][["variable", "unit", "level", "display"]].to_dict("records")
    assert hidden == [
        {"variable": "s_sens", "unit": "CDVC01", "level": "yes", "display": "x"},
        {"variable": "s_sens", "unit": "CDVC01", "level": "no", "display": "x"},
        {"variable": "s_sens", "unit": "CDVC02", "level": "yes", "display": "x"},
        {"variable": "s_sens", "unit": "CDVC02", "level": "no", "display": "x"},
    ]
    assert pt.log[["unit", "variable", "reason", "n"]].to_dict("records") == [
        {"unit": "CDVC01", "variable": "s_sens", "reason": "homogeneous", "n": 8},
        {"unit": "CDVC02", "variable": "s_sens", "reason": "complementary", "n": 10},
    ]
    # the non-sensitive item with the same answers is published as is
    plain = out[(out["variable"] == "s_plain") & (out["unit"] == "CDVC01")]
    assert plain["display"].tolist() == ["1.000", "0.000"]  # shares: one decimal more than the policy
    assert find_disclosures([("t", pt, BY)], UNITS).empty


def test_homogeneous_mean_on_a_sensitive_item_is_suppressed():
    t = mean_table([("CDVC", "CDVC01", 5.0, 9), ("CDVC", "CDVC04", 3.0, 9)])
    t.loc[0, "se"] = 0.0  # every respondent gave 5
    pt = protect_table(t, by=BY, hierarchy=pd.DataFrame({"unit": ["CDVC01", "CDVC04"], "org": "CDVC"}),
                       sensitive=["score"])
    assert pt.table["display"].tolist() == ["x", "3.00"]
    assert pt.log["reason"].tolist() == ["homogeneous"]


def test_sensitive_variables_from_the_policy_apply_too():
    t = mean_table([("CDVC", "CDVC01", 5.0, 9), ("CDVC", "CDVC04", 3.0, 9)])
    t.loc[0, "se"] = 0.0
    pol = load_policy(sensitive_variables=("score",))
    pt = protect_table(t, by=BY, policy=pol)
    assert pt.table["suppressed"].tolist() == [True, False]


# --------------------------------------------------------------------------------------------
# plots and sentences


def test_mask_for_plot_removes_values_and_labels_hidden_bars():
    pt = protect_table(ORG3, by=BY, hierarchy=UNITS)
    m = mask_for_plot(pt)
    assert m["label"].tolist() == ["3.25", "x", "n<5", "3.48"]
    assert m[["estimate", "ci_low", "ci_high", "n"]].iloc[1:3].isna().all().all()
    with pytest.raises(DisclosureError, match="needs a table from protect_table"):
        mask_for_plot(ORG3)


def test_sentences_about_hidden_groups_are_replaced():
    pt = protect_table(ORG3, by=BY, hierarchy=UNITS)
    assert check_sentence("Cơ sở CDVC03 có điểm trung bình 4,67.", pt) == [
        "names a hidden group (org=CDVC, unit=CDVC03) and gives a number"
    ]
    labels = {"CDVC02": "Cơ sở Hai"}
    assert check_sentence("Điểm của cơ sở Hai là 3,4.", pt, labels=labels) == [
        "names a hidden group (org=CDVC, unit=CDVC02) and gives a number"
    ]
    assert check_sentence("Điểm trung bình của CDVC là 3,48.", pt) == []
    assert check_sentence("100% người trả lời ở CDVC01 đồng ý.", pt) == [
        "states a homogeneous result (everyone / nobody / 0% / 100%)"
    ]
    assert safe_text("Cơ sở CDVC03 đạt 4,67.", pt, lang="en") == (
        "This group's result is not published, to protect respondents' confidentiality."
    )
    assert safe_text("Cơ sở CDVC01 đạt 3,25.", pt) == "Cơ sở CDVC01 đạt 3,25."


# --------------------------------------------------------------------------------------------
# comparisons from compare.compare_waves


def test_compare_waves_output_is_protected_with_both_level_tables():
    from analysis.stats.compare import compare_waves

    lv = {w: LEVELS[LEVELS.wave == w].drop(columns="wave").reset_index(drop=True) for w in ("2024", "2025")}
    a = protect_table(lv["2024"], by=BY, hierarchy=UNITS)
    b = protect_table(lv["2025"], by=BY, hierarchy=UNITS)
    cmp = compare_waves(lv["2024"], lv["2025"])  # computed on the unprotected estimates
    # compare_waves repeats both ends: unprotected, it prints the hidden 2024 value of CDVC03
    assert cmp.loc[cmp["unit"] == "CDVC03", "estimate_a"].round(4).tolist() == [round(PLANTED, 4)]
    pc = protect_comparison(cmp, by=BY, a=a, b=b)
    out = pc.table.set_index(cmp["unit"].fillna("(org)"))
    assert out["display"].to_dict() == {"CDVC01": "0.25", "CDVC02": "x", "CDVC03": "x", "(org)": "0.00"}
    hidden = out.loc[["CDVC02", "CDVC03"]]
    assert hidden[["estimate_a", "estimate_b", "difference", "se", "ci_low", "ci_high", "z", "p_value"]].isna().all().all()
    assert pc.log[["unit", "reason"]].to_dict("records") == [
        {"unit": "CDVC02", "reason": "wave"}, {"unit": "CDVC03", "reason": "wave"}]
    # the whole report audited together; an unprotected comparison is refused
    # (level tables of different waves carry their wave, or they would look like one table)
    audited = [("a", a.table.assign(wave="2024"), [*BY, "wave"]),
               ("b", b.table.assign(wave="2025"), [*BY, "wave"]), ("cmp", pc, BY)]
    assert find_disclosures(audited, UNITS).empty
    with pytest.raises(ValueError, match="must go through protect_comparison"):
        find_disclosures([("cmp", cmp, BY)], UNITS)


def test_unit_hierarchy_uses_the_instruments_item_names():
    from analysis.disclosure import unit_hierarchy
    from analysis.instruments import load

    ins = load("member")
    h = unit_hierarchy(ins)
    assert list(h.columns) == [ins.role_item("unit").name, ins.role_item("org").name]
    assert h.groupby(h.columns[1]).size().to_dict() == {"CDVC": 48, "DTN": 35, "HCCB": 20}


def test_org_rows_repeated_from_a_published_org_table_are_consistent():
    org = protect_table(mean_table([("CDVC", 3.48, 25)], by=["org"]), by="org", name="orgs")
    pt = protect_table(ORG3, by=BY, hierarchy=UNITS, published=[("orgs", org, "org")], name="units")
    assert pt.table["display"].tolist() == ["3.25", "x", "n<5", "3.48"]
    assert find_disclosures([("orgs", org, "org"), ("units", pt, BY)], UNITS).empty


def test_total_only_and_single_group_tables():
    total = mean_table([(3.1, 4)], by=[])
    assert protect_table(total, by=[]).table["display"].tolist() == ["n<5"]
    one = mean_table([("CDVC", 3.1, 40)], by=["org"])
    assert protect_table(one, by="org").table["display"].tolist() == ["3.10"]


def test_a_derived_pool_that_is_homogeneous_on_a_sensitive_item_is_caught():
    # CDVC01 (n=3, primary) and CDVC02 (n=10, complementary) are hidden, but their pool of 13 is
    # org minus CDVC03: 0.76*25 - 0.50*12 = 13 of 13 said yes -> everyone's answer in both units
    rows = [("CDVC", "CDVC01", 1.0, 3), ("CDVC", "CDVC02", 1.0, 10), ("CDVC", "CDVC03", 0.5, 12),
            ("CDVC", None, 0.76, 25)]
    t = _prop_table(rows, variable="s_sens")
    leak = protect_table(t, by=BY, hierarchy=UNITS)  # sensitive not declared
    assert leak.table.loc[leak.table["suppressed"], "unit"].unique().tolist() == ["CDVC01", "CDVC02"]
    assert find_disclosures([("t", leak, BY)], UNITS).empty  # the generic attacker is satisfied
    found = find_disclosures([("t", leak, BY)], UNITS, sensitive=["s_sens"])
    assert found[["kind", "level", "n"]].to_dict("records") == [
        {"kind": "pooled_homogeneous", "level": "no", "n": 13},
        {"kind": "pooled_homogeneous", "level": "yes", "n": 13},
    ]
    pt = protect_table(t, by=BY, hierarchy=UNITS, sensitive=["s_sens"])
    assert pt.table.groupby("unit", dropna=False)["suppressed"].all().to_dict() == {
        "CDVC01": True, "CDVC02": True, "CDVC03": True, np.nan: False}
    assert find_disclosures([("t", pt, BY)], UNITS, sensitive=["s_sens"]).empty


def test_pooling_into_a_reporting_column_keeps_the_strata():
    resp = respondents({("CDVC", "CDVC01"): 10, ("CDVC", "CDVC02"): 3, ("CDVC", "CDVC03"): 4})
    pool = pool_small_groups(resp, "unit", 5, "org", into="unit_reported")
    assert pool.data["unit"].tolist() == resp["unit"].tolist()  # strata untouched
    assert pool.data.groupby("unit_reported").size().to_dict() == {"CDVC01": 10, "Đơn vị khác (gộp)": 7}
    est = tidy_means(pool.data, [["org", "unit_reported"], ["org"]])
    hier = UNITS.rename(columns={"unit": "unit_reported"})
    pt = protect_table(est, by=["org", "unit_reported"], hierarchy=hier, pooling=pool)
    assert not pt.table["suppressed"].any()
    assert pt.log[["unit_reported", "reason", "n"]].to_dict("records") == [
        {"unit_reported": "CDVC02", "reason": "pooled", "n": 3},
        {"unit_reported": "CDVC03", "reason": "pooled", "n": 4}]


def test_the_attacker_finds_the_narrowest_derivation(monkeypatch):
    # The hidden unit U2 (6 respondents) is org A minus U1, or total minus org B minus U1. The
    # minimum-norm combination mixes both routes (coefficients 2/3 on A, 1/3 on the total and
    # -1/3 on B): half-width 0.005*(620/3 + 2*20/3 + 600/3 + 14) = 2.17, width 0.72 >= 0.5. The
    # narrowest, A - U1, gives 0.005*(20 + 14) = 0.17, width 0.056667 < 0.5: disclosed.
    units = pd.DataFrame({"unit": ["U1", "U2"], "org": ["A", "A"]})
    t = mean_table([("A", "U1", 3.0, 14), ("A", "U2", np.nan, np.nan), ("A", None, 3.3, 20),
                    ("B", None, 3.5, 600), (None, None, 3.49, 620)])
    found = find_disclosures([("t", t, BY)], units)
    assert found[["by", "n", "estimate", "width", "used"]].round(6).to_dict("records") == [
        {"by": "org=A, unit=U2", "n": 6, "estimate": 4.0, "width": 0.056667, "used": "t[0]; t[2]"}]
    # with the minimum-norm combination only, rounding would wrongly look protective
    from analysis.disclosure import audit as disclosure_audit

    monkeypatch.setattr(disclosure_audit, "_narrowest", lambda *args: None)
    assert find_disclosures([("t", t, BY)], units).empty


def test_difference_table_rounds_and_hides_its_two_wave_ends():
    """A difference protected with protect_table carries the two wave means (estimate_a/_b):
    they are rounded like the estimate (unrounded, they would undo the level tables' rounding)
    and emptied with the row when it is hidden."""
    levels = pd.concat([mean_table([("CDVC", "CDVC01", 3.25, 12), ("CDVC", "CDVC02", 3.4, 3)]).assign(wave=w)
                        for w in ("2023", "2025")], ignore_index=True)
    lv = protect_table(levels, by=["wave", *BY], hierarchy=UNITS, name="levels")
    diff = pd.DataFrame({"wave": "2025", "baseline_wave": "2023", "org": "CDVC", "unit": ["CDVC01", "CDVC02"],
                         "variable": "score", "estimate_a": [3.254321, 3.41234], "estimate_b": [3.261234, 3.4],
                         "estimate": [0.006913, -0.01234], "se": 0.1, "n": [12, 3]})
    pt = protect_table(diff, by=["wave", "baseline_wave", *BY], hierarchy=UNITS, name="changes",
                       published=[("levels", lv, ["wave", *BY])])
    assert pt.table.loc[0, ["estimate_a", "estimate_b", "estimate"]].tolist() == [3.25, 3.26, 0.01]
    assert pt.table.loc[1, ["estimate_a", "estimate_b", "estimate"]].isna().all()
    assert pt.table["display"].tolist() == ["0.01", "n<5"]


def test_a_homogeneous_result_about_units_is_a_fact_not_a_risk():
    # "every unit held its conference" is published in the follow-up list anyway; the same words
    # about respondents ("100% agree") would expose each member of the group
    from analysis.disclosure import check_sentence

    t = pd.DataFrame({"org": ["A", "B"], "variable": "s", "estimate": [1.0, 0.8], "n": [12, 20]})
    text = "Tỷ lệ cơ sở tổ chức đại hội tăng từ 88% lên 100%."
    assert check_sentence(text, protect_table(t, by="org", counts="units")) == []
    assert check_sentence(text, protect_table(t, by="org")) != []
