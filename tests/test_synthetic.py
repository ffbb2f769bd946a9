"""The synthetic demo generator: determinism, the import accepts its files, planted truth is recovered.

The "outside authority" here is the planted truth: `analysis.synthetic` writes the population
values (construct means of all 6,314 members, scored with `analysis.stats.scoring`) and the counts of
the defects it planted to ``truth.json``; these tests check that the ordinary import finds
exactly those defects, that unweighted means miss the truth by more than 2 SE where the
outcome is tied to party membership, and that raking to the published margins brings every
construct within 2.5 SE.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.ingest import importer as ingest
from analysis.ingest import waves
from analysis.instruments import load, population
from analysis.stats import scoring
from analysis.stats.design import SurveyDesign
from analysis.synthetic import demo, generate, members, world

FAST_WAVES = ("2023", "2025")


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> dict:
    """The shipped seed, waves 2023 and 2025 (each wave's files do not depend on the others), imported."""
    root = tmp_path_factory.mktemp("synthetic")
    out, data = root / "demo", root / "data"
    truth = generate.generate_demo(out, waves=FAST_WAVES)
    results = {}
    for wave in FAST_WAVES:
        for instrument, name in (("member", generate.member_file_name(wave)), ("unit", generate.unit_file_name(wave))):
            folder = out / instrument / wave
            results[(instrument, wave)] = ingest.import_wave(instrument, wave, [folder / name], meta=folder / "wave.yaml",
                                                             data_dir=data)
    return {"out": out, "data": data, "truth": truth, "results": results}


# --------------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    cfg = world.SyntheticConfig(seed=7)
    generate.generate_demo(tmp_path / "a", waves=["2024"], cfg=cfg)
    generate.generate_demo(tmp_path / "b", waves=["2024"], cfg=cfg)
    generate.generate_demo(tmp_path / "c", waves=["2024"], cfg=world.SyntheticConfig(seed=8))
    a, b, c = (_hashes(tmp_path / x) for x in "abc")
    assert sorted(a) == sorted(c) and len(a) == 5  # 2 xlsx + 2 wave.yaml + truth.json
    assert a == b
    for name in a:
        if name.endswith(".xlsx") or name == "truth.json":
            assert a[name] != c[name], name


def test_workbooks_carry_no_wall_clock_and_say_synthetic(shipped):
    for path in sorted(shipped["out"].rglob("*.xlsx")):
        assert "SYNTHETIC" in path.name
        with zipfile.ZipFile(path) as zf:
            assert {i.date_time for i in zf.infolist()} == {(2023, 3, 24, 0, 0, 0)}
            core = zf.read("docProps/core.xml").decode("utf-8")
        assert "SYNTHETIC" in core and "2023-03-24T00:00:00Z" in core


# --------------------------------------------------------------------------------------------
# Import: the files pass, the defects found are the defects planted
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("wave", FAST_WAVES)
def test_member_import_finds_exactly_the_planted_defects(shipped, wave):
    r = shipped["results"][("member", wave)]
    d = shipped["truth"]["defects"][wave]
    assert r.rows_read == d["rows_written"]
    assert r.dropped_duplicate == d["exact_duplicates"] and r.dropped_blank == 0
    assert r.quarantined == d["conflicting_rows"] == 2 * d["conflicting_duplicates"]
    assert set(r.failures["rule"]) == {"duplicate_conflict"}
    assert r.accepted == d["respondents"] - d["conflicting_duplicates"]
    assert dict(r.flags) == {"_flag_speeder": d["speeders"], "_flag_straightliner": d["straightliners"],
                             "_flag_item_nonresponse": d["item_nonresponse"], "_flag_duplicate": d["exact_duplicates"],
                             "_flag_review": 0}
    # The counts are what was planted, not an accident of the rules.
    assert {k: d[k] for k in ("speeders", "straightliners", "item_nonresponse", "exact_duplicates")} == \
        {k: d["planted"][k] for k in ("speeders", "straightliners", "item_nonresponse", "exact_duplicates")}
    assert 2500 <= r.accepted <= 3500


@pytest.mark.parametrize("wave", FAST_WAVES)
def test_manifests_say_synthetic(shipped, wave):
    for instrument in ("member", "unit"):
        manifest = waves.wave_manifest(instrument, wave, processed_dir=shipped["data"] / "processed")
        assert manifest["synthetic"] is True
        assert "SYNTHETIC" in manifest["source"]
        assert waves.is_synthetic(instrument, wave, processed_dir=shipped["data"] / "processed")


def test_every_unit_answers_the_unit_survey_and_half_its_members_respond(shipped):
    member = load("member")
    sizes = population.unit_sizes()
    for wave in FAST_WAVES:
        r = shipped["results"][("unit", wave)]
        assert (r.accepted, r.quarantined, r.dropped) == (103, 0, 0)
        df = waves.load_wave("member", wave, processed_dir=shipped["data"] / "processed")
        per_unit = df[member.role_item("unit").name].value_counts()
        assert set(per_unit.index) == set(sizes)
        rate = per_unit / pd.Series(sizes)
        assert 0.35 <= rate.median() <= 0.65 and per_unit.min() >= 2


def test_comments_with_personal_data_are_the_planted_ones(shipped):
    from analysis.disclosure import screen_comments

    member = load("member")
    comment_items = [i.name for i in member.by_role("comment")]
    for wave in FAST_WAVES:
        df = waves.load_wave("member", wave, processed_dir=shipped["data"] / "processed")
        stacked = pd.concat([pd.DataFrame({"org": df[member.role_item("org").name], "comment": df[c]}) for c in comment_items])
        _, held = screen_comments(stacked, group_col="org", min_group=5)
        reasons = held["reason"].str.split(";")
        found = {kind: int(reasons.map(lambda r, k=kind: k in r).sum()) for kind in ("name", "phone", "email")}
        assert found == shipped["truth"]["defects"][wave]["pii_comments"]
        texts = stacked["comment"].dropna()
        assert texts.nunique() > 200  # varied, not a handful of templates
        assert texts.map(lambda t: t == __import__("unicodedata").normalize("NFC", t)).all()


def test_unit_answers_follow_the_planted_intensity(shipped):
    unit = load("unit")
    truth = pd.DataFrame(shipped["truth"]["unit_intensity"])
    frames = []
    for wave in FAST_WAVES:
        df = waves.load_wave("unit", wave, processed_dir=shipped["data"] / "processed")
        ind = scoring.compute_indicators(df, unit).astype(float)
        ind["intensity"] = truth[truth["wave"] == wave].set_index("unit")["intensity"] \
            .reindex(df[unit.role_item("unit").name]).to_numpy()
        ind["wave"] = wave
        frames.append(ind)
    both = pd.concat(frames, ignore_index=True)
    names = [i.name for i in unit.indicators]
    # Every indicator is oriented "higher is better" in the instrument, so a plain average of
    # standardised indicators is an implementation score.
    assert {i.direction for i in unit.indicators} == {"higher"}
    z = (both[names] - both[names].mean()) / both[names].std()
    composite = z.mean(axis=1)
    for wave in FAST_WAVES:
        m = both["wave"] == wave
        rho = composite[m].corr(both.loc[m, "intensity"], method="spearman")
        assert rho > 0.6, (wave, rho)
    yesno = [i.name for i in unit.indicators if i.unit == "yes/no"]
    by_wave = both.groupby("wave")[yesno].mean().mean(axis=1)
    assert by_wave[FAST_WAVES[-1]] > by_wave[FAST_WAVES[0]] + 0.1  # implementation rises from the 2023 baseline


# --------------------------------------------------------------------------------------------
# Estimates against the planted population truth
# --------------------------------------------------------------------------------------------
def _raked(data_dir: Path, wave: str) -> tuple[SurveyDesign, pd.DataFrame]:
    """The raked design (strata=unit, fpc=unit size, margins org, sex, party) and the construct scores."""
    member = load("member")
    df = waves.load_wave("member", wave, processed_dir=data_dir / "processed")
    scores = scoring.score_constructs(df, member)
    frame = pd.DataFrame({role: df[member.role_item(role).name].astype(str).to_numpy()
                          for role in ("org", "unit", "sex", "party")}, index=df.index)
    frame["unit_size"] = frame["unit"].map(population.unit_sizes()).astype(float)
    frame = pd.concat([frame, scores], axis=1)
    return SurveyDesign(frame, strata="unit", fpc="unit_size", lonely_psu="adjust").rake(population.margins()), scores


def _estimates(data_dir: Path, wave: str) -> pd.DataFrame:
    """Unweighted (simple mean, SRS SE) and raked (strata=unit, fpc=unit size) construct means."""
    design, scores = _raked(data_dir, wave)
    rows = []
    for c in scores.columns:
        x = scores[c].dropna()
        w = design.mean(c).iloc[0]
        rows.append({"construct": c, "unweighted": x.mean(), "se_unweighted": x.std(ddof=1) / np.sqrt(len(x)),
                     "weighted": w["estimate"], "se_weighted": w["se"]})
    return pd.DataFrame(rows).set_index("construct")


def _truth_overall(truth: dict, wave: str) -> pd.Series:
    t = pd.DataFrame(truth["construct_means"])
    return t[(t["wave"] == wave) & (t["org"] == "ALL")].set_index("construct")["mean"]


@pytest.mark.parametrize("wave", FAST_WAVES)
def test_unweighted_means_are_biased_and_raking_removes_the_bias(shipped, wave):
    est = _estimates(shipped["data"], wave)
    truth = _truth_overall(shipped["truth"], wave).reindex(est.index)
    z_unweighted = (est["unweighted"] - truth) / est["se_unweighted"]
    z_weighted = (est["weighted"] - truth) / est["se_weighted"]
    party_related = shipped["truth"]["planted_effects"]["party_correlated_constructs"]
    assert len(party_related) >= 5
    assert (z_unweighted[party_related].abs() > 2).all(), z_unweighted.round(2).to_dict()
    assert (z_weighted.abs() < 2.5).all(), z_weighted.round(2).to_dict()


def test_truth_schema_and_planted_effects(shipped):
    t = shipped["truth"]
    assert t["synthetic"] is True and t["seed"] == world.DEFAULT_SEED
    member = load("member")
    constructs = {c.name for c in member.constructs}
    means = pd.DataFrame(t["construct_means"])
    assert set(means["org"]) == {"ALL", *population.ORGS} and set(means["construct"]) == constructs
    # The overall truth is all members (adm: non-party members only, the section's skip logic).
    n_all = means[(means["org"] == "ALL")].set_index(["wave", "construct"])["n"]
    assert (n_all.drop("adm", level="construct") == 6314).all()
    assert (n_all.xs("adm", level="construct") == population.margins()["party"]["no"]).all()
    moved = t["planted_effects"]["moved_constructs"]
    assert set(moved) == set(members.MOVED_CONSTRUCTS) and 3 <= len(moved) <= 4
    for c, eff in moved.items():
        per_year = eff["population_change_from_first_wave"]["2025"] / 2
        assert 0.15 <= per_year <= 0.30, (c, per_year)
    for c, change in t["planted_effects"]["unchanged_population_change_from_first_wave"].items():
        assert abs(change["2025"]) < 0.05, (c, change)
    inten = pd.DataFrame(t["unit_intensity"])
    assert len(inten) == 103 * len(FAST_WAVES) and inten["intensity"].between(0, 1).all()


def test_demo_command_writes_files_without_importing(tmp_path, capsys):
    from analysis import cli

    code = cli.main(["demo", "--no-import", "--out", str(tmp_path / "demo"), "--waves", "2024", "--seed", "11",
                     "--data-dir", str(tmp_path / "data")])
    assert code == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    written = _hashes(tmp_path / "demo")
    assert {"truth.json", "generated.json", "member/2024/wave.yaml", "unit/2024/wave.yaml",
            f"member/2024/{generate.member_file_name('2024')}", f"unit/2024/{generate.unit_file_name('2024')}"} == set(written)
    assert not (tmp_path / "data").exists()
    assert json.loads((tmp_path / "demo" / "truth.json").read_text(encoding="utf-8"))["seed"] == 11


def test_population_matches_the_frame_margins():
    pop = world.make_population(world.SyntheticConfig())
    margins = population.org_margins()
    for org, m in margins.items():
        sub = pop[pop["org"] == org]
        assert sub["sex"].value_counts().to_dict() == {k: v for k, v in m["sex"].items() if v}
        assert sub["party"].value_counts().to_dict() == {k: v for k, v in m["party"].items() if v}
    assert pop["education"].value_counts().to_dict() == {k: v for k, v in population.education_margins().items() if v}
    assert int((pop["theory"] == "advanced").sum()) == 647
    assert pop.groupby("unit").size().to_dict() == population.unit_sizes()


# --------------------------------------------------------------------------------------------
# The shipped demo, end to end (slow: four waves written, six imports)
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_prepare_demo_shipped_default_is_idempotent(tmp_path):
    out, data = tmp_path / "demo", tmp_path / "data"
    t0 = time.perf_counter()
    first = demo.prepare_demo(out_dir=out, data_dir=data)
    elapsed = time.perf_counter() - t0
    assert first["generated"] and sorted((i["instrument"], i["wave"]) for i in first["imports"]) == \
        sorted((i, w) for i in ("member", "unit") for w in demo.IMPORTED_WAVES)
    assert {i["status"] for i in first["imports"]} == {"imported"}
    assert (out / "member" / "2026" / generate.member_file_name("2026")).is_file()
    assert not (data / "processed" / "member" / "2026.parquet").exists()
    hashes = _hashes(out)
    second = demo.prepare_demo(out_dir=out, data_dir=data)
    assert not second["generated"] and {i["status"] for i in second["imports"]} == {"unchanged"}
    assert _hashes(out) == hashes
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    means = pd.DataFrame(truth["construct_means"])
    for wave in demo.IMPORTED_WAVES:
        est = _estimates(data, wave)
        z = (est["weighted"] - _truth_overall(truth, wave).reindex(est.index)) / est["se_weighted"]
        assert (z.abs() < 2.5).all(), (wave, z.round(2).to_dict())
        # by organization too (domains of the raked design)
        design, scores = _raked(data, wave)
        for c in scores.columns:
            e = design.mean(c, by="org").set_index("org")
            t = means[(means["wave"] == wave) & (means["construct"] == c)].set_index("org")["mean"].reindex(e.index)
            z_org = (e["estimate"] - t) / e["se"]
            assert (z_org.abs() < 3).all(), (wave, c, z_org.round(2).to_dict())
    # The 2026 files are added as a new wave exactly as real files would be.
    folder = out / "member" / "2026"
    r = ingest.import_wave("member", "2026", [folder / generate.member_file_name("2026")], meta=folder / "wave.yaml",
                           data_dir=data)
    assert r.accepted == truth["defects"]["2026"]["respondents"] - truth["defects"]["2026"]["conflicting_duplicates"]
    print(f"prepare_demo (4 waves written, 6 imports): {elapsed:.1f} s")


@pytest.mark.slow
def test_coverage_simulation_few_replicates():
    """scripts/coverage_simulation.py with 40 replicates: nominal 95% intervals cover the truth."""
    import importlib.util

    from analysis import config

    spec = importlib.util.spec_from_file_location("coverage_simulation", config.PROJECT_ROOT / "scripts" / "coverage_simulation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.simulate(40, wave="2025")
    assert len(table) == len(load("member").constructs)
    # 40 replicates: binomial noise ±3.4 points per construct; the average over constructs is tighter.
    assert 0.88 <= table["coverage"].mean() <= 0.99, table
    assert table["coverage"].min() >= 0.8, table
    # Unweighted intervals miss the truth far more often for the party-related constructs.
    assert table["coverage_unweighted"].mean() < table["coverage"].mean() - 0.3
