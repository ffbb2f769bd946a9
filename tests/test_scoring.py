"""Scoring against hand-computed values (each expected number is worked out beside it)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.instruments import load
from analysis.stats import scoring

from test_instruments_helpers import AGREE5, make_surveys

NaN = float("nan")


@pytest.fixture(scope="module")
def member():
    return load("member")


@pytest.fixture(scope="module")
def unit():
    return load("unit")


def _sat(member):
    """The satisfaction items in order; the third one is the reverse-keyed item."""
    names = [i.name for i in member.construct_items("sat")]
    assert [member.item(n).reverse for n in names] == [False, False, True, False]
    assert member.construct("sat").min_items == 3
    return names


def test_recode_maps_codes_to_values_and_dont_know_to_nan(member):
    a, b, rev, d = _sat(member)
    df = pd.DataFrame({a: ["1", "5", "9", None], rev: ["1", "2", "9", pd.NA]})
    out = scoring.recode_items(df, member)
    assert out[a].tolist()[:2] == [1.0, 5.0] and np.isnan(out[a].iloc[2]) and np.isnan(out[a].iloc[3])
    # reverse-keyed: 6 − x on the 1–5 scale; "9" (Không biết) stays missing, never 6 − 9.
    assert out[rev].tolist()[:2] == [5.0, 4.0] and out[rev].iloc[2:].isna().all()
    assert scoring.recode_items(df, member, reverse=False)[rev].tolist()[:2] == [1.0, 2.0]


def test_recode_keeps_nominal_codes_and_other_columns(member):
    org = member.role_item("org").name
    df = pd.DataFrame({org: ["CDVC", "DTN"], "_submission_id": ["x1", "x2"]})
    out = scoring.recode_items(df, member)
    assert out[org].tolist() == ["CDVC", "DTN"] and out["_submission_id"].tolist() == ["x1", "x2"]


def test_recode_rejects_unknown_and_non_string_codes(member):
    a = _sat(member)[0]
    with pytest.raises(ValueError, match=rf"column '{a}', row 1: value '6' is not a code of choice list 'agree5'"):
        scoring.recode_items(pd.DataFrame({a: ["1", "6"]}), member)
    with pytest.raises(ValueError, match=rf"column '{a}', row 0: value 5 is not a choice code string"):
        scoring.recode_items(pd.DataFrame({a: [5, 4]}), member)


def test_construct_scores_hand_computed(member):
    a, b, rev, d = _sat(member)
    df = pd.DataFrame({
        a:   ["5", "9", "1", "9"],
        b:   ["4", "2", None, "9"],
        rev: ["2", "1", "5", "9"],
        d:   ["4", "9", "3", "9"],
    })
    mean = scoring.score_constructs(df, member, constructs=["sat"])["sat"]
    # row 0: 5, 4, 6−2=4, 4 → 17/4 = 4.25
    # row 1: answered 2 and 6−1=5 → only 2 items < min_items 3 → NaN
    # row 2: 1, 6−5=1, 3 → 5/3
    # row 3: all "Không biết" → NaN
    assert mean.iloc[0] == pytest.approx(4.25)
    assert math.isnan(mean.iloc[1])
    assert mean.iloc[2] == pytest.approx(5 / 3)
    assert math.isnan(mean.iloc[3])
    pct = scoring.score_constructs(df, member, scale="0-100", constructs=["sat"])["sat"]
    # (4.25 − 1) / 4 × 100 = 81.25; (5/3 − 1) / 4 × 100 = 16.666…
    assert pct.iloc[0] == pytest.approx(81.25)
    assert pct.iloc[2] == pytest.approx(50 / 3)
    assert list(mean.index) == list(df.index)


def test_score_all_constructs_of_a_full_wave(member):
    names = [i.name for c in member.constructs for i in member.construct_items(c.name)]
    df = pd.DataFrame({n: ["4", "3"] for n in names}, index=[10, 11])
    scores = scoring.score_constructs(df, member)
    assert list(scores.columns) == [c.name for c in member.constructs]
    assert list(scores.index) == [10, 11]
    # Constructs with reverse items: all "4" → positive items 4, reverse items 6 − 4 = 2.
    sat = member.construct_items("sat")
    expected = np.mean([2 if i.reverse else 4 for i in sat])  # (4 + 4 + 2 + 4) / 4 = 3.5
    assert scores.loc[10, "sat"] == pytest.approx(expected) == pytest.approx(3.5)
    assert (scores.loc[11] == 3.0).all()   # the midpoint is its own reverse


def test_score_constructs_errors(member):
    with pytest.raises(ValueError, match="scale must be 'mean' or '0-100'"):
        scoring.score_constructs(pd.DataFrame(), member, scale="z")
    with pytest.raises(ValueError, match="construct 'sat': item column"):
        scoring.score_constructs(pd.DataFrame({"x": [1]}), member, constructs=["sat"])


def test_reverse_key_is_derived_from_the_choice_list(tmp_path):
    # A 1–7 scale: the reverse of x is 8 − x, from the list, not a hard-coded 6 − x.
    agree7 = "  agree5:\n" + "".join(
        f'    - {{name: "{k}", value: {k}, label::vi: "Mức {k}"}}\n' for k in range(1, 8)
    ) + '    - {name: "99", missing: true, label::vi: "Không biết / không trả lời"}\n' + AGREE5.split("  yesno:")[1].join(["  yesno:", ""])
    surveys = make_surveys(tmp_path, choices=agree7)
    ins = load("member", surveys_dir=surveys)
    df = pd.DataFrame({"t_cx_01": ["7", "1"], "t_cx_02": ["6", "99"], "t_cx_03": ["2", "7"]})
    out = scoring.recode_items(df, ins)
    assert out["t_cx_03"].tolist() == [6.0, 1.0]
    # row 0: 7, 6, 8−2=6 → 19/3; row 1: 1, (missing), 8−7=1 → 1 (2 items ≥ min_items 2)
    scores = scoring.score_constructs(df, ins, constructs=["cx"])["cx"]
    assert scores.tolist() == pytest.approx([19 / 3, 1.0])
    # 0–100 on a 1–7 scale: (19/3 − 1) / 6 × 100 = 88.88…
    assert scoring.score_constructs(df, ins, scale="0-100", constructs=["cx"])["cx"].iloc[0] == pytest.approx(800 / 9)


@given(st.lists(st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, NaN]), min_size=1, max_size=30))
def test_reverse_keying_twice_is_the_identity_on_scale_values(values):
    s = pd.Series(values, dtype="float64")
    twice = scoring.reverse_key(scoring.reverse_key(s, 1, 5), 1, 5)
    pd.testing.assert_series_equal(twice, s)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(-5, 5), st.integers(1, 10))
def test_reverse_keying_twice_is_the_identity_on_any_range(x, low, width):
    high = low + width
    assert scoring.reverse_key(scoring.reverse_key(x, low, high), low, high) == pytest.approx(x, abs=1e-9)


@given(st.lists(st.sampled_from(["1", "2", "3", "4", "5", "9"]), min_size=1, max_size=20))
def test_recoded_reverse_item_reversed_again_equals_the_unreversed_recode(codes):
    member = load("member")
    rev = next(i for i in member.scale_items if i.reverse)
    df = pd.DataFrame({rev.name: codes})
    keyed = scoring.recode_items(df, member)[rev.name]
    plain = scoring.recode_items(df, member, reverse=False)[rev.name]
    pd.testing.assert_series_equal(scoring.reverse_key(keyed, 1, 5), plain)


# ----------------------------------------------------------------------------- indicators


def _unit_wave(unit) -> pd.DataFrame:
    """Three units, every item of the unit survey, values chosen for hand computation."""
    int64 = lambda *v: pd.array(list(v), dtype="Int64")  # noqa: E731
    data = {
        "us_id_org": ["CDVC", "HCCB", "DTN"], "us_id_unit": ["CDVC01", "HCCB01", "DTN01"],
        "us_id_resp": ["head", "deputy", "committee"], "us_id_date": ["2024-11-20", "2024-11-21", "2024-12-01"],
        "us_mem_total": int64(50, 10, 20), "us_mem_party": int64(30, 10, 5),
        "us_ldr_sessions": int64(2, 1, 3), "us_ldr_evalpub": ["yes", "no", "yes"], "us_ldr_cmte": ["yes", "yes", "no"],
        "us_adm_intro": int64(4, 0, 3), "us_adm_admitted": int64(2, 0, 3),
        "us_prg_coord": ["yes", "yes", "no"], "us_core_group": ["yes", "no", "yes"], "us_core_size": int64(5, None, 4),
        "us_emu_count": int64(4, 2, 6), "us_emu_models": int64(2, 0, 1),
        "us_dig_records": int64(50, 5, 15), "us_meet_total": int64(10, 0, 8), "us_meet_online": int64(4, 0, 2),
        "us_conf_held": ["yes", "yes", "no"], "us_conf_date": ["2024-01-15", "2024-02-02", None],
        "us_fin_public": ["yes", "no", "yes"], "us_crd_reg": ["yes", "no", "yes"],
        "us_crd_year": int64(2021, None, 2023), "us_crd_rev": ["no", None, "yes"], "us_crd_fund": ["yes", "yes", "no"],
        "us_cult_unit": ["yes", "no", "no"], "us_cad_total": int64(7, 3, 5), "us_cad_trained": int64(7, 0, 2),
        "us_ins_received": int64(1, 0, 2), "us_ins_viol": int64(2, 0, 1), "us_ins_handled": int64(1, None, 1),
        "us_rate_year": ["good", "not_rated", "completed"], "us_opn_01": ["", "", ""],
    }
    df = pd.DataFrame(data)
    assert set(df.columns) == set(unit.item_names)
    return df


def test_indicators_hand_computed(unit):
    res = scoring.compute_indicators(_unit_wave(unit), unit)
    assert list(res.columns) == [i.name for i in unit.indicators]
    expect = {
        "ui_ldr_sessions": [2, 1, 3],
        "ui_ldr_evalpub": [1, 0, 1],
        # 4 / (50 − 30) × 100 = 20; 0 / (10 − 10) → division by zero → NaN; 3 / 15 × 100 = 20
        "ui_adm_intro_rate": [20, NaN, 20],
        # 2/4, 0/0 → NaN, 3/3
        "ui_adm_admitted_share": [0.5, NaN, 1],
        # 2/50×100 = 4, 0/10×100 = 0, 1/20×100 = 5
        "ui_emu_models": [4, 0, 5],
        # 50/50, 5/10, 15/20
        "ui_dig_share": [1, 0.5, 0.75],
        # 4/10, 0/0 → NaN, 2/8
        "ui_meet_online_share": [0.4, NaN, 0.25],
        # reviewed is skipped (NaN) where there is no regulation → NaN, not 0
        "ui_crd_reviewed": [0, NaN, 1],
        "ui_cad_trained_share": [1, 0, 0.4],
        # 1/2; handled skipped (no breaches) → NaN; 1/1
        "ui_ins_handled_share": [0.5, NaN, 1],
        # good = 3 ≥ 3 → 1; not_rated is a missing code → NaN; completed = 2 → 0
        "ui_rating_good": [1, NaN, 0],
    }
    for name, values in expect.items():
        np.testing.assert_allclose(res[name].to_numpy(), np.array(values, dtype=float), err_msg=name)
    notes = res.attrs["notes"]
    assert "indicator 'ui_adm_intro_rate': division by zero (or non-finite result) in 1 row(s), set to NaN: index 1" in notes
    assert "indicator 'ui_meet_online_share': division by zero (or non-finite result) in 1 row(s), set to NaN: index 1" in notes
    assert not any("ui_ins_handled_share" in n for n in notes)   # skipped item: missing, not a division by zero


def test_compute_indicators_requires_the_items(unit):
    with pytest.raises(ValueError, match="indicator 'ui_dig_share': item column"):
        scoring.compute_indicators(pd.DataFrame({"x": [1]}), unit, indicators=["ui_dig_share"])


def test_indicator_attainment_hand_computed(unit):
    values = scoring.compute_indicators(_unit_wave(unit), unit)
    att = scoring.indicator_attainment(values, unit, wave="2024").set_index("indicator")
    # sessions: 2, 1, 3 against ≥ 2 from 2023 → 2 of 3 units
    assert att.loc["ui_ldr_sessions", ["n", "n_met"]].tolist() == [3, 2]
    assert att.loc["ui_ldr_sessions", "share_met"] == pytest.approx(2 / 3)
    assert bool(att.loc["ui_ldr_sessions", "due"])
    # digital records: 1, 0.5, 0.75 against 100 % by 2025 → 1 of 3, not yet due in 2024
    assert att.loc["ui_dig_share", ["n", "n_met"]].tolist() == [3, 1]
    assert not bool(att.loc["ui_dig_share", "due"])
    assert att.loc["ui_dig_share", "mean"] == pytest.approx(0.75)
    # no target → n_met missing
    assert pd.isna(att.loc["ui_emu_count", "n_met"]) and math.isnan(att.loc["ui_emu_count", "share_met"])
    # handled share 0.5, NaN, 1 → n = 2, met = 1
    assert att.loc["ui_ins_handled_share", ["n", "n_met"]].tolist() == [2, 1]
