"""The content of a unit's feedback sheet (issue #16), on the demo project with its canary.

Requirement statuses against the unit data, standing within the organization, members' scores
against the design-based estimate for the unit, the canary unit of 3 without any score, and
the whole-report attacker on all sheets with the organization totals. Open (issue #16): the
attacker weighs unit means by respondents; one that weighs them by the frame's member counts
(public) comes within a few hundredths of a pooled hidden pair, so a leak through one revealed
sheet needs that attack before sheets are published.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import CANARY_UNIT

from analysis import disclosure, instruments, study
from analysis.study import unit_sheets

pytestmark = pytest.mark.xdist_group("demo_report")

WAVE = "2025"
MEMBER_CONSTRUCTS = ["sat", "ren", "dig", "wel"]


@pytest.fixture(scope="module")
def demo(demo_report):
    processed, population = demo_report.data / "processed", demo_report.data / "population"
    unit_ins = instruments.load("unit")
    units = study.load_units("unit", [WAVE], processed_dir=processed)
    responses = study.load_responses("member", [WAVE], processed_dir=processed, population_dir=population)
    wd = study.designs_by_wave(responses, instrument="member", population_dir=population)[WAVE]
    return {"units": units, "unit_ins": unit_ins, "wd": wd, "population": population}


def test_requirements_are_the_units_own_answers(demo):
    units, ins = demo["units"], demo["unit_ins"]
    for unit in ("CDVC01", "DTN01", "HCCB01"):
        req = unit_sheets.unit_requirements(units, ins, wave=WAVE, unit=unit)
        assert len(req) > 0
        row = units[(units["wave"] == WAVE) & (units["unit"] == unit)].iloc[0]
        for _, r in req.iterrows():
            value = row[r["variable"]]
            if pd.isna(value):
                assert r["status"] == "not_concerned"
                continue
            met = value >= r["target"] if r["direction"] == "higher" else value <= r["target"]
            assert r["status"] == ("met" if met else "not_met"), (unit, r["variable"])


def test_a_unit_that_did_not_answer_is_not_reported(demo):
    req = unit_sheets.unit_requirements(demo["units"], demo["unit_ins"], wave=WAVE, unit="NOPE99")
    assert set(req["status"]) == {"no_answer"}
    assert unit_sheets.unit_suggestions(req)[0].startswith("Hoàn thành và gửi phiếu")


def test_standing_ranks_within_the_organization_only(demo):
    st = unit_sheets.unit_standing(demo["units"], demo["unit_ins"], wave=WAVE, population_dir=demo["population"])
    assert len(st) == 103 and set(st["quarter"].dropna()) <= {1, 2, 3, 4}
    for _, g in st.dropna(subset=["share"]).groupby("org"):
        best = g.loc[g["share"].idxmax()]
        assert best["quarter"] == 1
        # a better share never sits in a worse quarter
        ordered = g.sort_values("share", ascending=False)
        assert ordered["quarter"].is_monotonic_increasing


def test_scores_are_the_design_estimates_and_the_canary_has_none(demo):
    policy = disclosure.load_policy()
    pt = unit_sheets.unit_scores(demo["wd"], MEMBER_CONSTRUCTS, policy=policy, population_dir=demo["population"])
    t = pt.table
    canary = t[t["unit"] == CANARY_UNIT]
    assert len(canary) and canary["suppressed"].all() and canary["estimate"].isna().all()
    shown = t[~t["suppressed"] & t["unit"].notna()]
    assert len(shown) > 50
    direct = demo["wd"].design.mean("dig", by="unit").set_index("unit")["estimate"]
    for _, r in shown[shown["variable"] == "dig"].head(10).iterrows():
        assert r["estimate"] == pytest.approx(round(direct[r["unit"]], policy.decimals), abs=1e-9)
    assert unit_sheets.interval_words(8).startswith("Chỉ có 8 người trả lời")
    assert unit_sheets.interval_words(40) == ""


def test_all_sheets_with_the_organization_totals_reveal_nothing_to_the_attacker(demo):
    policy = disclosure.load_policy()
    pt = unit_sheets.unit_scores(demo["wd"], MEMBER_CONSTRUCTS, policy=policy, population_dir=demo["population"])
    hierarchy = study.unit_hierarchy(demo["population"])
    by = ["wave", "org", "unit"]
    assert disclosure.find_disclosures([("unit_scores", pt.table, by)], hierarchy, policy=policy).empty
