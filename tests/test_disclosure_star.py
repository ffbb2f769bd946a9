"""The star form of the attacker's atoms (cells._star_member) finds exactly what the full cross finds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis.disclosure.cells as cells_mod
from analysis.disclosure import find_disclosures, load_policy


def _tables(rng: np.random.Generator, hide: float) -> list:
    units = pd.DataFrame({"unit": [f"U{i:02d}" for i in range(12)], "org": ["A"] * 5 + ["B"] * 4 + ["C"] * 3})
    tabs = []
    for wave in ("2023", "2025"):
        n_unit = rng.integers(1, 30, len(units))
        by_unit = pd.DataFrame({"wave": wave, "org": units["org"], "unit": units["unit"], "variable": "count:r",
                                "estimate": 1.0, "n": n_unit.astype(float)})
        orgs = by_unit.groupby("org", as_index=False)["n"].sum().assign(wave=wave, unit=None, variable="count:r",
                                                                        estimate=1.0)
        total = pd.DataFrame({"wave": [wave], "org": [None], "unit": [None], "variable": "count:r", "estimate": 1.0,
                              "n": [float(n_unit.sum())]})
        t = pd.concat([by_unit, orgs, total], ignore_index=True)
        split = rng.integers(0, int(n_unit.sum()) + 1)
        sex = pd.DataFrame({"wave": wave, "sex": ["f", "m", None], "variable": "count:r", "estimate": 1.0,
                            "n": [float(split), float(n_unit.sum() - split), float(n_unit.sum())]})
        means = pd.DataFrame({"wave": wave, "sex": ["f", "m", None], "variable": "mean:s",
                              "estimate": np.round(rng.uniform(2, 4, 3), 2), "n": sex["n"]})
        for name, df, by in ((f"units_{wave}", t, ["wave", "org", "unit"]), (f"sex_{wave}", sex, ["wave", "sex"]),
                             (f"means_{wave}", means, ["wave", "sex"])):
            df = df.copy()
            df["suppressed"] = rng.random(len(df)) < hide
            df.loc[df["suppressed"], ["estimate", "n"]] = np.nan
            tabs.append((name, df, by))
    return tabs, units[["unit", "org"]]


@pytest.mark.parametrize("seed", range(8))
def test_star_form_gives_the_same_findings(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    tabs, hierarchy = _tables(rng, hide=0.25)
    policy = load_policy(k=5)
    monkeypatch.setattr(cells_mod, "STAR_ABOVE", 10**12)
    full = find_disclosures(tabs, hierarchy, policy=policy)
    monkeypatch.setattr(cells_mod, "STAR_ABOVE", 0)
    used = []
    real = cells_mod._star_member
    monkeypatch.setattr(cells_mod, "_star_member", lambda *a: used.append(real(*a)) or used[-1])
    star = find_disclosures(tabs, hierarchy, policy=policy)
    assert used and used[0] is not None  # the star form was used
    pd.testing.assert_frame_equal(star, full)


def test_star_form_is_small():
    rng = np.random.default_rng(1)
    tabs, hierarchy = _tables(rng, hide=0.0)
    policy = load_policy(k=5)
    from analysis.disclosure.keys import normalise_hierarchy

    cells = pd.concat([cells_mod._table_cells(i, n, df, by, normalise_hierarchy(hierarchy), policy)
                       for i, (n, df, by) in enumerate(tabs)], ignore_index=True)
    member = cells_mod._star_member(cells, normalise_hierarchy(hierarchy), policy)
    # per wave: the total, then units+orgs (the chain's atoms: 12 units) and sex (2) less one reference each
    assert member.shape[1] == 2 * (1 + 11 + 1)
    assert cells_mod._cross_size(cells, normalise_hierarchy(hierarchy)) > member.shape[1]
