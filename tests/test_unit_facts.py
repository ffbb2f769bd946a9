"""The unit survey as a census (notebook 40): counts, bounds, paired changes and units to follow up.

The outside authority is arithmetic a reader can redo with pandas: the units of the frame
(data/population/units.csv) and the unit data of the demo, counted directly; the printed levels
of a change subtracted by hand. Nothing here trusts the recipes' own columns.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import disclosure, instruments, study
from analysis.report import tables

POLICY = disclosure.load_policy(k=5)


@pytest.fixture(scope="module")
def unit():
    return instruments.load("unit")


def _targeted(unit, kind: str):
    return next(i for i in unit.indicators if i.target is not None and i.unit == kind)


@pytest.fixture
def small_frame(tmp_path: Path) -> Path:
    """Seven units in two organizations: CDVC01–04, DTN01–03."""
    folder = tmp_path / "population"
    folder.mkdir()
    rows = [("CDVC01", "CDVC", 40), ("CDVC02", "CDVC", 12), ("CDVC03", "CDVC", 30), ("CDVC04", "CDVC", 9),
            ("DTN01", "DTN", 25), ("DTN02", "DTN", 18), ("DTN03", "DTN", 50)]
    pd.DataFrame({"unit_id": [r[0] for r in rows], "org": [r[1] for r in rows],
                  "name_vi": [f"Cơ sở {r[0]}" for r in rows], "name_en": [f"Unit {r[0]}" for r in rows],
                  "members": [r[2] for r in rows], "synthetic": "true"}).to_csv(folder / "units.csv", index=False)
    return folder


def _small_units(unit) -> pd.DataFrame:
    """CDVC04 and DTN03 did not answer; DTN02 has no value of the count indicator (not concerned)."""
    yes_no, count = _targeted(unit, "yes/no"), _targeted(unit, "count")
    return pd.DataFrame({"wave": "2025", "org": ["CDVC", "CDVC", "CDVC", "DTN", "DTN"],
                         "unit": ["CDVC01", "CDVC02", "CDVC03", "DTN01", "DTN02"],
                         yes_no.name: [1.0, 0.0, 1.0, 1.0, 0.0],
                         count.name: [count.target + 1, count.target - 1, count.target, count.target - 2, np.nan]})


def _by_org(rows: pd.DataFrame) -> pd.DataFrame:
    """*rows* indexed by organization, the overall row as ``total``."""
    return rows.set_index(rows["org"].fillna("total"))


def _direct(units: pd.DataFrame, frame: pd.DataFrame, ind, org: str | None) -> dict:
    rows = units if org is None else units[units["org"] == org]
    fr = frame if org is None else frame[frame["org"] == org]
    values = rows[ind.name].dropna()
    met = int((values >= ind.target).sum() if ind.direction == "higher" else (values <= ind.target).sum())
    missing = len(fr) - rows["unit"].nunique()
    return {"n_units": len(fr), "n_responded": rows["unit"].nunique(), "n_answered": len(values), "n_met": met,
            "n_missing": missing, "low": met / (len(values) + missing),
            "high": (met + missing) / (len(values) + missing)}


def test_counts_and_bounds_equal_a_direct_computation_overall_and_by_org(unit, small_frame):
    units = _small_units(unit)
    frame = instruments.population.load_units(small_frame)
    att = study.indicator_attainment(units, unit, wave="2025", by="org", population_dir=small_frame)
    assert att["org"].isna().sum() == len([i for i in unit.indicators if i.target is not None and i.name in units])
    for ind in (_targeted(unit, "yes/no"), _targeted(unit, "count")):
        for org in (None, "CDVC", "DTN"):
            got = att[(att["variable"] == ind.name) & (att["org"].isna() if org is None else att["org"] == org)]
            assert len(got) == 1
            row, want = got.iloc[0], _direct(units, frame, ind, org)
            for c in ("n_units", "n_responded", "n_answered", "n_met", "n_missing"):
                assert row[c] == want[c], (ind.name, org, c)
            assert row["n_not_concerned"] == want["n_responded"] - want["n_answered"]
            # a unit did not answer in every group here: bounds, never a point share
            assert math.isnan(row["share"])
            assert row["share_low"] == pytest.approx(want["low"], abs=5e-5)
            assert row["share_high"] == pytest.approx(want["high"], abs=5e-5)
            assert row["share_low"] < row["share_high"]
            assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"]) and math.isnan(row["se"])
    yes_no = att[(att["variable"] == _targeted(unit, "yes/no").name) & att["org"].isna()].iloc[0]
    # the brief's formula when every responding unit has a value: [n_met / n_units, (n_met + missing) / n_units]
    assert (yes_no["n_met"], yes_no["n_units"]) == (3, 7)
    assert yes_no["share_low"] == pytest.approx(3 / 7, abs=5e-5)
    assert yes_no["share_high"] == pytest.approx(5 / 7, abs=5e-5)


def test_when_every_unit_answered_the_share_is_an_exact_count(unit, small_frame):
    units = _small_units(unit)
    units = pd.concat([units, pd.DataFrame({"wave": "2025", "org": ["CDVC", "DTN"], "unit": ["CDVC04", "DTN03"],
                                            _targeted(unit, "yes/no").name: [1.0, 1.0],
                                            _targeted(unit, "count").name: [0.0, 9.0]})], ignore_index=True)
    att = study.indicator_attainment(units, unit, wave="2025", by="org", population_dir=small_frame)
    ind = _targeted(unit, "yes/no")
    rows = _by_org(att[att["variable"] == ind.name])
    assert rows.loc["total", ["n_met", "n_answered", "n_units"]].tolist() == [5, 7, 7]
    assert rows.loc["total", "share"] == pytest.approx(5 / 7, abs=5e-5)
    assert rows.loc["CDVC", ["n_met", "n_units"]].tolist() == [3, 4]
    assert rows[["share_low", "share_high", "ci_low", "ci_high"]].isna().all().all()
    small = dataclasses.replace(POLICY, k=3)
    texts = study.attainment_texts(disclosure.protect_table(att, by=["org"], policy=small, name="a"), lang="vi").table
    t = _by_org(texts[texts["variable"] == ind.name])
    assert t.loc["total", ["attained", "share_text", "answered"]].tolist() == ["5/7", "71%", "7/7"]
    assert t.loc["CDVC", "attained"] == "3/4" and t.loc["DTN", "attained"] == "2/3"
    # with k = 5 the organizations (4 and 3 units) are withheld: the marker, no count behind it
    hidden = study.attainment_texts(disclosure.protect_table(att, by=["org"], policy=POLICY, name="a")).table
    h = _by_org(hidden[hidden["variable"] == ind.name])
    assert h.loc["CDVC", "attained"] == POLICY.primary_marker and h.loc["CDVC", "share_text"] is None
    assert h.loc[["CDVC", "DTN"], ["n_met", "n_answered", "share", "mean"]].isna().all().all()
    count = _targeted(unit, "count")
    c = texts[(texts["variable"] == count.name) & texts["org"].isna()].iloc[0]
    assert (c["attained"], c["n_not_concerned"]) == ("3/6", 1)  # DTN02 has no value: not in the denominator


def test_bounds_are_printed_as_bounds_and_never_with_equal_ends(unit, small_frame):
    att = study.indicator_attainment(_small_units(unit), unit, wave="2025", population_dir=small_frame)
    texts = study.attainment_texts(disclosure.protect_table(att, by=[], policy=POLICY, name="a"), lang="vi").table
    row = texts[texts["variable"] == _targeted(unit, "yes/no").name].iloc[0]
    assert (row["attained"], row["share_text"], row["answered"]) == ("3/5", "43%–71%", "5/7")
    assert tables.format_bounds(0.5, 0.501) == "50%" and tables.format_bounds(2.0, 2.0, 2, percent=False) == "2,00"


def test_changes_are_paired_levels_in_points_and_no_d_for_yes_no(unit):
    yes_no, count = _targeted(unit, "yes/no"), _targeted(unit, "count")
    # DTN02 has no baseline value of the yes/no indicator: it is not a pair for it
    units = pd.DataFrame({"wave": ["2023"] * 4 + ["2025"] * 4, "org": ["CDVC", "CDVC", "DTN", "DTN"] * 2,
                          "unit": ["CDVC01", "CDVC02", "DTN01", "DTN02"] * 2,
                          yes_no.name: [0.0, 0.0, 1.0, np.nan, 1.0, 1.0, 1.0, 0.0],
                          count.name: [1.0, 2.0, 0.0, 4.0, 3.0, 2.0, 1.0, 6.0]})
    raw = study.indicator_changes(units, unit, wave="2025", baseline_wave="2023")
    assert list(raw.columns) == study.CHANGE_COLUMNS
    ch = raw.set_index("variable")
    a = units[units["wave"] == "2023"].set_index("unit")
    b = units[units["wave"] == "2025"].set_index("unit")
    for ind in (yes_no, count):
        pairs = a[ind.name].notna() & b[ind.name].notna()
        row = ch.loc[ind.name]
        assert row["n_pairs"] == pairs.sum() == row["n"]
        assert row["estimate_a"] == pytest.approx(a.loc[pairs, ind.name].mean())
        assert row["estimate_b"] == pytest.approx(b.loc[pairs, ind.name].mean())
        assert row["estimate"] == pytest.approx(row["estimate_b"] - row["estimate_a"])
        assert row["n_a"] == a[ind.name].notna().sum() and row["n_b"] == b[ind.name].notna().sum()
    assert ch.loc[yes_no.name, "n_pairs"] == 3 and bool(ch.loc[yes_no.name, "points"])
    assert math.isnan(ch.loc[yes_no.name, "d"])  # no Cohen's d for a yes/no indicator
    sa, sb = a[count.name], b[count.name]
    assert ch.loc[count.name, "d"] == pytest.approx((sb - sa).mean() / np.sqrt((sa.var() + sb.var()) / 2))
    small = dataclasses.replace(POLICY, k=3)
    levels = disclosure.protect_table(study.indicator_estimates(units, unit).merge(study.indicator_units(unit)),
                                      by=["wave"], policy=small, name="levels")
    pt = disclosure.protect_table(raw.merge(study.indicator_units(unit), on="variable"),
                                  by=["wave", "baseline_wave"], policy=small, name="c",
                                  published=[("levels", levels, ["wave"])])
    texts = study.change_texts(pt, lang="vi").table.set_index("variable")
    assert texts.loc[yes_no.name, ["level_a", "level_b", "change_text"]].tolist() == ["33%", "100%", "+67 điểm %"]
    assert texts.loc[count.name, ["level_a", "level_b", "change_text"]].tolist() == ["1,75", "3,00", "+1,25"]
    en = study.change_texts(pt, lang="en").table.set_index("variable")
    assert en.loc[yes_no.name, "change_text"] == "+67 percentage points"
    # a sentence whose levels cover fewer units than the wave says over how many
    said = study.indicator_change_sentences(pt.table, study.labels_for(unit), table="c", only_significant=False)
    text = " ".join(s.text for s in said)
    assert text.count("cả hai đợt") == 1 and "; 3 cơ sở có số liệu ở cả hai đợt)" in text


def test_units_to_follow_up_are_those_missing_a_due_requirement_or_not_answering(unit, small_frame):
    units = _small_units(unit)
    out = study.units_to_follow_up(units, unit, wave="2025", population_dir=small_frame, lang="vi")
    assert list(out.columns) == study.FOLLOW_UP_COLUMNS
    frame = instruments.population.load_units(small_frame)
    due = [i for i in unit.indicators if i.target is not None and i.target_per == "unit" and i.target_year <= 2025
           and i.name in units.columns]
    want = set()
    for ind in due:
        values = units.set_index("unit")[ind.name].dropna()
        missed = values[values < ind.target] if ind.direction == "higher" else values[values > ind.target]
        want |= {(ind.name, u, "not_met") for u in missed.index}
        want |= {(ind.name, u, "no_answer") for u in set(frame["unit_id"]) - set(units["unit"])}
    assert set(zip(out["variable"], out["unit"], out["reason"])) == want
    assert "DTN02" not in set(out.loc[out["variable"] == _targeted(unit, "count").name, "unit"])  # not concerned
    names = dict(zip(frame["unit_id"], frame["name_vi"]))
    assert (out["name"] == out["unit"].map(names)).all()
    met = out[out["reason"] == "not_met"]
    assert (met["value"] == met["unit"].map(units.set_index("unit")[_targeted(unit, "count").name])).where(
        met["variable"] == _targeted(unit, "count").name, True).all()
    texts = study.follow_up_texts(disclosure.protect_table(out, by=["org", "unit"], policy=POLICY, name="f"),
                                  lang="vi").table
    row = texts[(texts["variable"] == _targeted(unit, "yes/no").name) & (texts["unit"] == "CDVC02")].iloc[0]
    assert (row["value_text"], row["target_text"], row["status"]) == ("không", "có", "Chưa đạt")


def test_change_formats_are_signed_and_in_points():
    assert tables.format_change(0.292, points=True) == "+29 điểm %"
    assert tables.format_change(-0.05, points=True, lang="en") == "\u22125 percentage points"
    assert tables.format_change(0.0) == "0,00"
    assert tables.format_change_interval(-0.08, 0.16) == "\u22120,08 đến +0,16"
    assert tables.format_change_interval(0.1, 0.1) == ""
    assert tables.format_count(1204, 6314) == "1.204/6.314"


# ------------------------------------------------------------------------------ the demo


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory) -> Path:
    """A throw-away project with the demo waves imported (the demo files reused when `make demo`
    wrote them)."""
    from analysis import config
    from analysis.synthetic import demo

    root = tmp_path_factory.mktemp("unit_facts")
    for sub in ("surveys", "config"):
        shutil.copytree(config.PROJECT_ROOT / sub, root / sub)
    (root / "notebooks").mkdir()
    shutil.copy2(config.PROJECT_ROOT / "notebooks" / "40_unit_effectiveness.ipynb", root / "notebooks")
    shutil.copytree(config.PROJECT_ROOT / "data" / "population", root / "data" / "population")
    shutil.copy2(config.PROJECT_ROOT / "study.yaml", root / "study.yaml")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    if (config.DEMO_DIR / "generated.json").is_file():
        shutil.copytree(config.DEMO_DIR, root / "data" / "demo")
    demo.prepare_demo(out_dir=root / "data" / "demo", data_dir=root / "data")
    return root


@pytest.fixture(scope="module")
def demo_units(demo_project) -> pd.DataFrame:
    return study.load_units("unit", ["2023", "2024", "2025"], processed_dir=demo_project / "data" / "processed")


@pytest.fixture(scope="module")
def notebook_40(demo_project) -> Path:
    """Notebook 40 of the unit report, 2025 against 2023, run with papermill on the demo."""
    import os

    import papermill as pm

    from analysis import config

    out = demo_project / "reports" / "unit" / "2025"
    out.mkdir(parents=True)
    previous = os.environ.get("ANALYSIS_PROJECT_ROOT")
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(demo_project)  # the kernel finds the demo project here
    try:
        pm.execute_notebook(str(demo_project / "notebooks" / "40_unit_effectiveness.ipynb"), str(out / "40.ipynb"),
                            parameters={"instrument": "unit", "wave": "2025", "baseline_wave": "2023",
                                        "waves": ["2023", "2024", "2025"], "lang": "vi", "output_dir": str(out),
                                        "min_group_size": 5},
                            kernel_name=config.KERNEL_NAME, cwd=str(demo_project / "notebooks"), progress_bar=False)
    finally:
        if previous is None:
            os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
        else:
            os.environ["ANALYSIS_PROJECT_ROOT"] = previous
    return out


def _blocks(run: Path) -> dict[str, dict]:
    nb = json.loads((run / "40.ipynb").read_text(encoding="utf-8"))
    out = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            block = (o.get("metadata") or {}).get("analysis") or {}
            if block.get("type") == "table":
                out[block["name"]] = block
    return out


def _number(text: str) -> float:
    """A printed number back to a float: ``51%`` -> 51, ``2,16`` -> 2.16, ``+29 điểm %`` -> 29."""
    m = re.search(r"[+\u2212-]?\d[\d.]*(?:,\d+)?", text)
    assert m, text
    return float(m.group(0).replace("\u2212", "-").replace(".", "").replace(",", "."))


def test_demo_attainment_counts_equal_a_direct_count_overall_and_by_org(unit, demo_units):
    att = study.indicator_attainment(demo_units, unit, wave="2025", by="org")
    frame = instruments.population.load_units()
    now = demo_units[demo_units["wave"] == "2025"]
    checked = 0
    for ind in [i for i in unit.indicators if i.target is not None and i.target_per == "unit"]:
        for org in (None, "CDVC", "DTN", "HCCB"):
            got = att[(att["variable"] == ind.name) & (att["org"].isna() if org is None else att["org"] == org)]
            want = _direct(now, frame, ind, org)
            assert got[["n_met", "n_answered", "n_units", "n_responded"]].values.tolist() == [
                [want["n_met"], want["n_answered"], want["n_units"], want["n_responded"]]], (ind.name, org)
            checked += 1
    assert checked == 10 * 4
    first = _by_org(att[att["variable"] == unit.indicators[0].name])
    assert first.loc["total", "n_units"] == 103 and first["n_units"].drop("total").sum() == 103


def test_demo_notebook_40_prints_counts_paired_changes_and_no_equal_interval(unit, demo_units, notebook_40):
    blocks = _blocks(notebook_40)
    now = demo_units[demo_units["wave"] == "2025"]
    frame = instruments.population.load_units()
    labels = study.labels_for(unit, "vi")
    # the attainment by organization prints "met/with a value" counted straight from the unit data
    by_org = blocks["attainment_by_org"]
    cols = by_org["columns"]
    per_unit = [i for i in unit.indicators if i.target is not None and i.target_per == "unit"]
    rows = {r[cols.index("Chỉ tiêu")]: r for r in by_org["rows"]}
    compared = 0
    for ind in per_unit:
        row = rows[labels[ind.name]]
        for org, header in ((None, labels[""]), *[(o, labels[o]) for o in ("CDVC", "DTN", "HCCB")]):
            want = _direct(now, frame, ind, org)
            cell = row[cols.index(header)]
            if cell in (POLICY.primary_marker, POLICY.marker_other):
                continue  # withheld: too few units with a value (disclosure control)
            assert cell == f"{want['n_met']}/{want['n_answered']}", (ind.name, org)
            compared += 1
    assert compared >= 10 * 4 - 2  # at most the two small groups of one conditional indicator withheld
    overall = blocks["attainment"]
    assert [r[overall["columns"].index("Số cơ sở đạt")] for r in overall["rows"]][:1] == [
        f"{_direct(now, frame, per_unit[0], None)['n_met']}/103"]
    # every printed change is the difference of its printed levels, within rounding
    changes = blocks["changes_indicators"]
    c = changes["columns"]
    shares = {labels[i.name] for i in unit.indicators if i.unit in ("share", "yes/no")}
    subtracted = 0
    for r in changes["rows"]:
        a, b, change = r[c.index("2023")], r[c.index("2025")], r[c.index("Thay đổi")]
        if not change or change in (POLICY.primary_marker, POLICY.marker_other):
            continue
        is_share = r[c.index("Chỉ tiêu")] in shares
        assert change.endswith("điểm %") == is_share, r
        tolerance = 1.0 if is_share else 0.01
        assert abs(_number(change) - (_number(b) - _number(a))) <= tolerance + 1e-9, r
        if is_share:
            assert r[c.index("Cohen's d")] == "", r
        assert int(r[c.index("Số cơ sở so sánh")]) > 0
        subtracted += 1
    assert subtracted == len(changes["rows"]) == len([i for i in unit.indicators])
    exported = pd.read_csv(notebook_40 / "tables" / "changes_indicators.csv", encoding="utf-8-sig")
    assert ((exported["estimate"] - (exported["estimate_b"] - exported["estimate_a"])).abs() <= 0.01 + 1e-9).all()
    assert exported.loc[exported["unit"].isin(["share", "yes/no"]), "d"].isna().all()
    assert (exported["n_pairs"] == exported["n"]).all() and (exported["n_pairs"] <= exported["n_b"]).all()
    # no interval with equal ends: in any printed cell, nor in any exported CSV
    interval = re.compile(r"([+\u2212]?[\d.,]+%?)\s*(?:–| đến | to )\s*([+\u2212]?[\d.,]+%?)")
    for name, block in blocks.items():
        for r in block["rows"]:
            for cell in r:
                for lo, hi in interval.findall(str(cell)):
                    assert lo != hi, (name, cell)
    for path in sorted((notebook_40 / "tables").glob("*.csv")):
        t = pd.read_csv(path, encoding="utf-8-sig")
        for low in [col for col in t.columns if col.endswith("_low")]:
            high = low.removesuffix("_low") + "_high"
            if high in t.columns:
                both = t[[low, high]].dropna()
                assert not (both[low] == both[high]).any(), (path.name, low)
    # the units to follow up: an appendix table and its XLSX, the units listed equal a direct listing
    assert (notebook_40 / "tables" / "units_to_follow_up.xlsx").is_file()
    follow = pd.read_csv(notebook_40 / "tables" / "units_to_follow_up.csv", encoding="utf-8-sig")
    want = set()
    for ind in [i for i in per_unit if i.target_year <= 2025]:
        values = now.set_index("unit")[ind.name].dropna()
        want |= {(ind.name, u) for u in values.index[values < ind.target]}
    assert set(zip(follow["variable"], follow["unit"])) == want
    assert len(blocks["units_to_follow_up"]["rows"]) == len(want)


def test_demo_follow_up_names_every_unit_in_the_unit_report_and_none_with_few_respondents_in_the_member_one(
        unit, demo_project, demo_units):
    processed = demo_project / "data" / "processed"
    assert study.follow_up_withheld("unit", "2025", k=5, processed_dir=processed) == []
    answers = study.load_responses("member", ["2025"], processed_dir=processed)
    counts = answers.groupby("unit").size()
    frame = instruments.population.load_units()
    few = sorted(u for u in frame["unit_id"] if counts.get(u, 0) < 5)
    assert study.follow_up_withheld("member", "2025", k=5, processed_dir=processed) == few
    # a unit with few respondents planted: it is withheld from the member report's list, and only there
    assert study.follow_up_withheld("member", "2025", k=int(counts.min()) + 1, processed_dir=processed) == sorted(
        counts.index[counts == counts.min()])
    listed = study.units_to_follow_up(demo_units, unit, wave="2025")
    some = sorted(set(listed["unit"]))[:2]
    kept = study.units_to_follow_up(demo_units, unit, wave="2025", withheld=some)
    assert not set(kept["unit"]) & set(some) and len(kept) == (~listed["unit"].isin(some)).sum()
    assert "2 cơ sở có ít hơn 5 đoàn viên" in study.follow_up_note(some, k=5)
    assert "không được nêu tên" not in study.follow_up_note([], k=5)
