"""The scorecard: verdicts from counts of units (a census), both surveys in every task group.

The outside authority here is arithmetic a reader can redo: the count of units meeting each
target, taken straight from the unit data with pandas, and the planted truth of the demo (the
member scales the generator moves: ren, dig, emu, tru).
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import instruments
from analysis.report import scorecard
from analysis.study import summary


def _att(**kw):
    base = {"org": None, "variable": "i", "task_group": 1, "unit": "yes/no", "direction": "higher", "per": "unit",
            "target": 1.0, "target_year": 2023, "n_units": 10, "n_responded": 10, "n_with_value": 10, "n_met": 10,
            "mean": 1.0, "low": 1.0, "high": 1.0}
    return {**base, **kw}


@pytest.mark.parametrize(("row", "verdict"), [
    (_att(), "achieved"),
    (_att(n_met=4, mean=0.4, low=0.4, high=0.4), "partly"),
    (_att(n_met=0, mean=0.0, low=0.0, high=0.0), "not_achieved"),
    (_att(n_responded=8, n_with_value=8, n_met=8), "inconclusive"),
    (_att(n_with_value=0, n_met=0), "no_data"),
    (_att(target=float("nan")), "no_target"),
    # a target on all units together: the mean, with the missing units at 0 and 1
    (_att(per="total", target=0.75, mean=0.8, low=0.8, high=0.8), "achieved"),
    (_att(per="total", target=0.75, n_responded=8, n_with_value=8, mean=0.8, low=0.64, high=0.84), "inconclusive"),
])
def test_indicator_verdicts_follow_the_rule(row, verdict):
    assert scorecard.indicator_verdicts(pd.DataFrame([row])).tolist() == [verdict]


def test_a_lagging_indicator_does_not_erase_the_rest():
    rows = pd.DataFrame([_att(variable="a"), _att(variable="b"), _att(variable="c", n_met=3), _att(variable="d",
                                                                                                 task_group=2)])
    rows["verdict"] = scorecard.indicator_verdicts(rows)
    changes = pd.DataFrame({"task_group": [1, 1, 2], "change": ["rose", "unchanged", "fell"]})
    card = scorecard.task_group_table(rows, changes, {1: "Một", 2: "Hai"})
    assert card[["verdict_label", "targets", "members"]].values.tolist() == [
        ["Đạt một phần", "2/3 chỉ tiêu đạt, 1 đạt một phần", "1 tăng, 1 không đổi"],
        ["Đạt một phần", "1/1 chỉ tiêu đạt", "1 giảm"],  # every target met, but a member scale fell
    ]


def test_withheld_rows_keep_no_count(tmp_path):
    from analysis import disclosure

    rows = pd.DataFrame([_att(org=None, n_units=30, n_responded=30, n_with_value=30, n_met=12),
                         _att(org="A", n_units=27, n_responded=27, n_with_value=27, n_met=11),
                         _att(org="B", n_units=3, n_responded=3, n_with_value=3, n_met=1)])
    rows["verdict"] = scorecard.indicator_verdicts(rows)
    rows["attainment"] = [scorecard.attainment_text(r) for _, r in rows.iterrows()]
    rows["estimate"], rows["n"] = rows["n_met"] / rows["n_with_value"], rows["n_with_value"].astype(float)
    pt = summary.withhold_attainment(disclosure.protect_table(rows, by=["org"], policy=disclosure.load_policy(k=5),
                                                              name="t"))
    hidden = pt.table[pt.table["suppressed"]]
    assert set(hidden["org"]) == {"A", "B"}  # B has 3 units; A is its complement (total − A = B)
    assert hidden["n_met"].isna().all() and hidden["verdict"].isna().all()
    assert not hidden["attainment"].str.contains("/").any()
    # a task group whose only target is withheld gets no verdict from what remains
    card = scorecard.task_group_table(pt.table[pt.table["org"].notna()], None, {1: "Một"}, by="org")
    assert card.set_index("org")["verdict_label"].to_dict() == {"A": "Không công bố", "B": "Không công bố"}


@pytest.fixture(scope="module")
def demo_units(tmp_path_factory):
    """The demo's unit waves imported into a throw-away data folder (the demo files are reused
    when `make demo` wrote them)."""
    import shutil

    from analysis import config
    from analysis.study import data
    from analysis.synthetic import demo

    root = tmp_path_factory.mktemp("scorecard_demo")
    if (config.DEMO_DIR / "generated.json").is_file():
        shutil.copytree(config.DEMO_DIR, root / "demo")
    demo.prepare_demo(out_dir=root / "demo", data_dir=root)
    return data.load_units("unit", ["2023", "2024", "2025"], processed_dir=root / "processed")


def test_demo_counts_equal_a_direct_count_overall_and_by_organization(demo_units):
    unit = instruments.load("unit")
    att = summary.target_attainment(demo_units, unit, wave="2025")
    frame = instruments.population.load_units()
    now = demo_units[demo_units["wave"] == "2025"]
    checked = 0
    for ind in [i for i in unit.indicators if i.target is not None]:
        for org, rows in [(None, now), *now.groupby("org")]:
            values = rows[ind.name].dropna()
            met = int((values >= ind.target).sum()) if ind.direction == "higher" else int((values <= ind.target).sum())
            got = att[(att["variable"] == ind.name) & (att["org"].isna() if org is None else att["org"] == org)]
            n_units = len(frame) if org is None else int((frame["org"] == org).sum())
            assert got[["n_met", "n_with_value", "n_units"]].values.tolist() == [[met, len(values), n_units]], ind.name
            assert got["attainment"].iloc[0].startswith(f"{met}/{len(values)} ")
            checked += 1
    assert checked == 10 * 4
    sessions = att[(att["variable"] == "ui_ldr_sessions") & att["org"].isna()].iloc[0]
    assert (sessions["verdict"], sessions["attainment"]) == ("partly", f"{sessions['n_met']}/103 cơ sở")


def test_demo_planted_rises_appear_in_their_task_groups_and_nowhere_else(demo_units):
    member, unit = instruments.load("member"), instruments.load("unit")
    from analysis.synthetic import members

    moved = set(members.MOVED_CONSTRUCTS)
    groups = {c.name: c.task_group for c in member.constructs}
    # the member change table as notebook 50 publishes it: significant = BH-adjusted
    changes = pd.DataFrame({"variable": [c.name for c in member.constructs]})
    changes["estimate"] = [0.45 if v in moved else 0.01 for v in changes["variable"]]
    changes["significant"] = changes["variable"].isin(moved)
    mc = summary.member_changes(changes, member)
    assert set(mc.loc[mc["change"] == "rose", "variable"]) == moved
    card = scorecard.task_group_table(summary.target_attainment(demo_units, unit, wave="2025").query("org.isna()"),
                                      mc, {tg.number: tg.label("vi") for tg in unit.task_groups})
    rising = card.set_index("task_group")["n_rose"].to_dict()
    expected = pd.Series([groups[c] for c in moved]).value_counts().to_dict()
    assert {k: v for k, v in rising.items() if v} == expected
