"""Property: for random hierarchies and group sizes, protect_table's output survives the attacker."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.disclosure import find_disclosures, protect_table
from test_disclosure_helpers import tidy_means

# organizations -> list of unit sizes (0 = a unit without respondents, absent from the table)
hierarchies = st.lists(st.lists(st.integers(0, 14), min_size=1, max_size=5), min_size=1, max_size=3)


def _respondents(orgs: list[list[int]], seed: int, with_sex: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows, units = [], []
    for o, sizes in enumerate(orgs):
        for u, n in enumerate(sizes):
            unit = f"O{o}U{u}"
            units.append({"unit": unit, "org": f"O{o}"})
            for _ in range(n):
                rows.append({"org": f"O{o}", "unit": unit,
                             "sex": rng.choice(["female", "male"]) if with_sex else "all",
                             "score": float(rng.integers(1, 6))})
    return pd.DataFrame(rows, columns=["org", "unit", "sex", "score"]), pd.DataFrame(units)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orgs=hierarchies, seed=st.integers(0, 10_000))
def test_unit_within_org_tables_pass_the_attacker(orgs, seed):
    resp, units = _respondents(orgs, seed, with_sex=False)
    if resp.empty:
        return
    t = tidy_means(resp, [["org", "unit"], ["org"], []], all_dims=["org", "unit"])
    pt = protect_table(t, by=["org", "unit"], hierarchy=units)
    out = pt.table
    assert find_disclosures([("t", pt, ["org", "unit"])], units).empty
    # every small group hidden and marked n<5; every shown value is the rounded input
    small = t["n"] < 5
    assert out.loc[small, "suppressed"].all()
    assert (out.loc[small, "display"] == "n<5").all()
    shown = ~out["suppressed"]
    assert np.allclose(out.loc[shown, "estimate"], t.loc[shown, "estimate"].round(2))
    assert out.loc[out["suppressed"], ["estimate", "se", "ci_low", "ci_high", "n", "deff"]].isna().all().all()
    # an attacker written independently of the module, for the one-level relations:
    # parent published -> never exactly one hidden child, and the hidden children together are
    # empty or at least k respondents; parent hidden -> not all of its children published
    hidden = out["suppressed"].to_numpy()
    for parent_rows, child_rows in _relations(t):
        if not hidden[parent_rows].any():
            h = child_rows[hidden[child_rows]]
            assert len(h) != 1
            assert t["n"].to_numpy()[h].sum() == 0 or t["n"].to_numpy()[h].sum() >= 5
        else:
            assert hidden[child_rows].any()


def _relations(t: pd.DataFrame):
    """(parent row, child rows) for grand total -> orgs and org -> units."""
    unit_na, org_na = t["unit"].isna().to_numpy(), t["org"].isna().to_numpy()
    total = np.flatnonzero(unit_na & org_na)
    orgs = np.flatnonzero(unit_na & ~org_na)
    yield total, orgs
    for o in orgs:
        yield np.array([o]), np.flatnonzero(~unit_na & (t["org"] == t.at[o, "org"]).to_numpy())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orgs=st.lists(st.lists(st.integers(0, 12), min_size=1, max_size=4), min_size=1, max_size=2),
       seed=st.integers(0, 10_000))
def test_unit_by_sex_tables_with_all_margins_pass_the_attacker(orgs, seed):
    resp, units = _respondents(orgs, seed, with_sex=True)
    if resp.empty:
        return
    by = ["org", "unit", "sex"]
    t = tidy_means(resp, [by, ["org", "unit"], ["org", "sex"], ["org"], ["sex"], []], all_dims=by)
    pt = protect_table(t, by=by, hierarchy=units)
    assert find_disclosures([("t", pt, by)], units).empty
    assert pt.table.loc[t["n"] < 5, "suppressed"].all()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.tuples(st.integers(1, 12), st.integers(1, 12)), min_size=2, max_size=5),
       seed=st.integers(0, 10_000))
def test_two_waves_and_their_differences_pass_the_attacker(sizes, seed):
    rng = np.random.default_rng(seed)
    rows = [{"org": "O0", "unit": f"O0U{u}", "wave": w, "score": float(rng.integers(1, 6))}
            for u, pair in enumerate(sizes) for w, n in zip(("2024", "2025"), pair) for _ in range(n)]
    resp = pd.DataFrame(rows)
    units = pd.DataFrame({"unit": [f"O0U{u}" for u in range(len(sizes))], "org": "O0"})
    by = ["org", "unit", "wave"]
    lv = tidy_means(resp, [by, ["org", "wave"]], all_dims=by)
    plv = protect_table(lv, by=by, hierarchy=units, name="levels")
    keyed = lv.assign(unit=lv["unit"].fillna("")).set_index(["org", "unit"])
    a, b = keyed[keyed.wave == "2024"], keyed[keyed.wave == "2025"]
    d = (b["estimate"] - a["estimate"]).round(2)
    diff = pd.DataFrame({"variable": "score", "estimate": d, "n": b["n"]}).reset_index()
    diff["unit"] = diff["unit"].replace("", None)
    diff["wave"], diff["baseline_wave"] = "2025", "2024"
    dby = ["org", "unit", "wave", "baseline_wave"]
    pdiff = protect_table(diff, by=dby, hierarchy=units, published=[("levels", plv, by)], name="diff")
    assert find_disclosures([("levels", plv, by), ("diff", pdiff, dby)], units).empty
    # a difference is shown only when both of its ends are shown
    shown = plv.table.assign(unit=plv.table["unit"].fillna("")).set_index(["org", "unit", "wave"])["suppressed"]
    for r in pdiff.table.assign(unit=pdiff.table["unit"].fillna("")).itertuples():
        if not r.suppressed:
            assert not shown[(r.org, r.unit, "2024")] and not shown[(r.org, r.unit, "2025")]
