"""The population frame against the figures published with Đề án 04-ĐA/ĐUK (PLAN_BRIEF.md)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from analysis import config
from analysis.instruments import population

# Published figures (the seed text, PLAN_BRIEF.md): units, members, male, female, party members.
PUBLISHED = {"CDVC": (48, 4816, 2360, 2456, 3534), "HCCB": (20, 315, 312, 3, 303), "DTN": (35, 1183, 366, 817, 483)}


def test_margins_for_raking_match_the_published_totals():
    assert population.margins() == {
        "org": {"CDVC": 4816, "HCCB": 315, "DTN": 1183},
        "sex": {"male": 3038, "female": 3276},
        "party": {"yes": 4320, "no": 1994},
    }
    for margin in population.margins().values():
        assert sum(margin.values()) == 6314


def test_org_margins_as_published():
    per_org = population.org_margins()
    for org, (_, members, male, female, party) in PUBLISHED.items():
        assert per_org[org]["sex"] == {"male": male, "female": female}
        assert per_org[org]["party"] == {"yes": party, "no": members - party}


def test_only_the_published_margins_are_stored():
    df = population.load_margins()
    assert set(df["variable"]) == {"units", "members", "sex", "party"}
    assert list(df.columns) == ["org", "variable", "level", "count"]


def test_units_sum_exactly_to_the_organization_totals():
    units = population.load_units()
    assert len(units) == 103
    assert units["unit_id"].is_unique
    for org, (n_units, members, *_rest) in PUBLISHED.items():
        mine = units[units["org"] == org]
        assert len(mine) == n_units
        assert int(mine["members"].sum()) == members
        assert mine["unit_id"].tolist() == [f"{org}{i:02d}" for i in range(1, n_units + 1)]


def test_unit_sizes_have_a_realistic_spread():
    units = population.load_units()
    size = units.groupby("org")["members"]
    assert size.min().to_dict() == pytest.approx({"CDVC": 32, "DTN": 10, "HCCB": 8}, abs=5)
    assert units.loc[units["org"] == "HCCB", "members"].between(8, 30).all()
    assert units.loc[units["org"] == "CDVC", "members"].between(30, 250).all()
    assert units.loc[units["org"] == "DTN", "members"].between(10, 80).all()
    assert size.std().min() > 5          # not all equal
    assert units["synthetic"].all()
    assert all(re.fullmatch(r"Cơ sở (CĐVC|HCCB|ĐTN) \d\d", n) for n in units["name_vi"])


def test_unit_sizes_mapping():
    sizes = population.unit_sizes()
    assert len(sizes) == 103 and sum(sizes.values()) == 6314


def test_qualifications_as_published():
    q = population.qualifications()
    assert dict(zip(q["level"], q["count"])) == {"doctorate": 31, "master": 1396, "university": 4408, "advanced": 647}
    edu = population.education_margins()
    assert sum(edu.values()) == 6314 and edu["below_university"] == 479


def test_generator_script_reproduces_the_committed_files(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_population_frame",
                                                  config.PROJECT_ROOT / "scripts" / "make_population_frame.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.main()
    for name in ("units.csv", "margins.csv", "qualifications.csv"):
        assert (tmp_path / name).read_bytes() == (config.POPULATION_DIR / name).read_bytes(), name


def test_missing_frame_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="units.csv is missing"):
        population.load_units(tmp_path)
