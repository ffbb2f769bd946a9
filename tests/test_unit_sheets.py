"""The content of a unit's feedback sheet (issue #16), on the demo project with its canary.

Requirement statuses against the unit data, standing within the organization, members' scores
against the design-based estimate for the unit, the canary unit of 3 without any score, and
the whole-report attacker on all sheets with the organization totals; then the sheets as the
``unit-sheets`` command renders them (DOCX and PDF opened with python-docx and pdftotext), the
attacker over every sheet with the member and unit reports, also with the frame's public
member counts as weights, and a planted leak it must catch.
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


def _score(label, unit, org):
    cell = {"shown": True, "estimate": unit[0], "ci_low": unit[1], "ci_high": unit[2], "n": 12}
    return {"label": label, "waves": {WAVE: {"unit": cell, "org": {"shown": True, "estimate": org, "ci_low": org,
                                                                   "ci_high": org, "n": 900}}}}


def test_suggestions_take_unmet_requirements_first_then_the_weakest_scales():
    scores = [_score("A", (3.10, 2.90, 3.30), 3.90),     # clearly below: gap 0.80
              _score("B", (3.60, 3.20, 3.95), 3.90),     # interval reaches the organization: no
              _score("C", (3.40, 3.30, 3.50), 3.60),     # clearly below: gap 0.20
              {"label": "D", "waves": {WAVE: {"unit": {"shown": False, "note": "x"}, "org": None}}}]
    low = unit_sheets.low_scales(scores, WAVE)
    assert [r["label"] for r in low] == ["A", "C"]
    req = pd.DataFrame({"status": ["met", "not_met"], "label": ["R1", "R2"], "indicator_unit": ["yes/no"] * 2,
                        "target": [1.0, 1.0], "direction": ["higher"] * 2, "target_year": [2023, 2025]})
    out = unit_sheets.unit_suggestions(req, low=low, org_label="Công đoàn viên chức")
    assert len(out) == 3
    assert out[0].startswith("Tập trung thực hiện yêu cầu “R2”")
    assert out[1] == ("Quan tâm hơn đến “A”: đoàn viên, hội viên của cơ sở đánh giá 3,10 điểm, thấp hơn rõ so "
                      "với điểm chung của Công đoàn viên chức (3,90 điểm).")
    assert "“C”" in out[2]
    # three unmet requirements leave no room for scales; nothing to say keeps the results
    three = pd.concat([req.iloc[[1]]] * 3, ignore_index=True)
    assert all("yêu cầu" in s for s in unit_sheets.unit_suggestions(three, low=low))
    none = unit_sheets.unit_suggestions(req.iloc[[0]], lang="en")
    assert none == ["Keep up the results achieved; share the practice with units of the organization."]


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


# ------------------------------------------------------------------ the rendered sheets (#16)

SHEET_UNITS = ["CDVC01", "DTN01", "HCCB01", CANARY_UNIT]


@pytest.fixture(scope="module")
def sheets(demo_report, tmp_path_factory):
    """Four sheets of 2025 (a CĐVC, a ĐTN, a Hội CCB unit and the canary) rendered by the command
    in two parallel batches, outside the demo project (sheets name units)."""
    import os

    from analysis.report import unit_sheets as command

    out = tmp_path_factory.mktemp("unit_sheets") / "reports"
    previous = os.environ.get("ANALYSIS_PROJECT_ROOT")
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(demo_report.root)
    dirs = {k: v for k, v in demo_report.run_dirs().items() if k not in ("reports_root", "source_dir")}
    try:
        folder = command.run_unit_sheets(WAVE, units=SHEET_UNITS, jobs=2, progress=False, reports_root=out, **dirs)
        again = command.run_unit_sheets(WAVE, units=SHEET_UNITS, jobs=2, progress=False, reports_root=out, **dirs)
    finally:
        if previous is None:
            os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
        else:
            os.environ["ANALYSIS_PROJECT_ROOT"] = previous
    return {"folder": folder, "again": again, "root": out}


def _docx_tables(path):
    import docx

    doc = docx.Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs)
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    return text, tables


def _pdf(path):
    import subprocess

    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return text, pages


def test_sheets_are_written_atomically_with_an_index_and_reused(sheets):
    from conftest import require_libreoffice

    require_libreoffice()
    folder = sheets["folder"]
    assert folder == sheets["root"] / "unit-sheets" / WAVE / "vi"
    for unit in SHEET_UNITS:
        assert (folder / f"{unit}.docx").is_file() and (folder / f"{unit}.pdf").is_file()
    assert not list(sheets["root"].glob(".tmp-*"))
    index = pd.read_excel(folder / "index.xlsx")
    assert sorted(index["Mã cơ sở"]) == sorted(SHEET_UNITS)
    manifest = __import__("json").loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and manifest["batches"] == 2
    assert sheets["again"] == folder  # second run: inputs unchanged, the folder is reused as it is


def test_three_sheets_show_the_units_own_statuses_and_design_estimates(sheets, demo, demo_report):
    from conftest import require_libreoffice

    require_libreoffice()
    policy = disclosure.load_policy()
    units, ins = demo["units"], demo["unit_ins"]
    direct = {v: demo["wd"].design.mean(v, by="unit").set_index("unit") for v in MEMBER_CONSTRUCTS}
    member = study.wave_instrument("member", WAVE, processed_dir=demo_report.data / "processed")
    labels = study.labels_for(member, "vi")
    for unit in ("CDVC01", "DTN01", "HCCB01"):
        text, tables = _docx_tables(sheets["folder"] / f"{unit}.docx")
        pdf_text, pages = _pdf(sheets["folder"] / f"{unit}.pdf")
        assert pages == 2, unit
        assert unit in text and unit in pdf_text
        req = unit_sheets.unit_requirements(units, ins, wave=WAVE, unit=unit)
        rows = tables[0][1:]
        assert [r[1] for r in rows] == list(req["label"])
        assert [r[5] for r in rows] == list(req["status_label"]), unit
        for label in req["status_label"]:
            assert label in pdf_text
        scores = {r[0]: r for r in tables[2][1:]}
        for var in MEMBER_CONSTRUCTS:
            est = direct[var].loc[unit, "estimate"]
            shown = f"{round(est, policy.decimals):.2f}".replace(".", ",")
            cell = scores[labels[var]][-2]
            assert cell.startswith(shown + " ("), (unit, var, cell, est)
            assert shown in " ".join(pdf_text.split())
        # the respondents of the unit: the most that answered any scale (the scales' n are published)
        d = demo["wd"].design
        n = max(int(d.mean(c, by="unit").set_index("unit").loc[unit, "n"]) for c in study.construct_names(member)
                if d.data.loc[d.data["unit"] == unit, c].notna().any())
        assert f"{n} đoàn viên, hội viên của cơ sở trả lời" in text


def test_the_canary_sheet_has_no_member_figure(sheets):
    from conftest import require_libreoffice

    require_libreoffice()
    text, tables = _docx_tables(sheets["folder"] / f"{CANARY_UNIT}.docx")
    pdf_text, pages = _pdf(sheets["folder"] / f"{CANARY_UNIT}.pdf")
    assert pages <= 2
    assert len(tables) == 2  # requirements and the trend: no table of member scores
    assert "ít hơn 5 người trả lời" in text
    assert "1,00" not in pdf_text and "Thang đo" not in pdf_text


def test_the_attacker_finds_nothing_in_all_sheets_and_the_reports_together(sheets, demo_report, demo_unit_report):
    from analysis.report import unit_sheets as command

    found = command.audit_sheets(sheets["folder"], [demo_report.report_dir, demo_unit_report],
                                 population_dir=demo_report.data / "population")
    assert found.empty, found.to_string()


def test_a_leak_across_two_sheets_and_the_organization_total_is_caught(sheets, demo_report, demo):
    """Show the scores of every hidden Hội CCB unit but the canary on their sheets: with the
    organization's published total the canary's mean (1.00 on the canary scale) follows; the
    frame-weighted attacker recovers it closer than the respondent-weighted one."""
    from analysis.disclosure import report_audit
    from analysis.report import unit_sheets as command

    folder = sheets["folder"]
    rt = report_audit.report_tables(folder, wave=WAVE)
    name, table, _ = rt.get(f"unit_scores_{WAVE}")
    var = f"mean:{demo_report.canary_construct}"
    direct = demo["wd"].design.mean(demo_report.canary_construct, by="unit").set_index("unit")
    leak = table.copy()
    others = leak["suppressed"] & (leak["org"] == "HCCB") & leak["unit"].notna() & (leak["unit"] != CANARY_UNIT) \
        & (leak["variable"] == var)
    assert others.sum() >= 1  # the canary has at least one complement, else its value would follow already
    for i in leak.index[others]:
        u = leak.at[i, "unit"]
        leak.loc[i, ["estimate", "n", "suppressed"]] = [round(direct.loc[u, "estimate"], 2), direct.loc[u, "n"], False]
    found = command.audit_sheets(folder, [demo_report.report_dir], population_dir=demo_report.data / "population",
                                 replace={name: leak}, wave=WAVE)
    hit = found[found["by"].str.contains(f"unit={CANARY_UNIT}") & (found["variable"] == var)]
    assert len(hit) >= 1, found.to_string()
    framed = hit[hit["used"].str.endswith("[frame weights]")]
    assert len(framed) >= 1
    truth = 1.0
    assert abs(framed["estimate"].iloc[0] - truth) <= abs(hit["estimate"].iloc[0] - truth) + 1e-9


def test_frame_weights_recover_a_weighted_mean_exactly():
    """An organization mean weighted by the frame (N = 10, 30, 60) of three units: the unit hidden
    is recovered exactly by frame weights, not by respondent counts."""
    t = pd.DataFrame({"org": ["O", "O", "O", "O"], "unit": ["A", "B", "C", None], "variable": "score",
                      "estimate": [float("nan"), 3.0, 4.0, (10 * 2.0 + 30 * 3.0 + 60 * 4.0) / 100],
                      "n": [float("nan"), 6, 6, 16]})
    hierarchy = pd.DataFrame({"unit": ["A", "B", "C"], "org": "O"})
    sizes = pd.Series({"A": 10.0, "B": 30.0, "C": 60.0})
    found = disclosure.find_disclosures([("t", t, ["org", "unit"])], hierarchy, frame_sizes=sizes)
    framed = found[found["used"].str.endswith("[frame weights]")]
    plain = found[~found["used"].str.endswith("[frame weights]")]
    assert framed["estimate"].iloc[0] == pytest.approx(2.0, abs=1e-9)
    assert abs(plain["estimate"].iloc[0] - 2.0) > 0.5
    assert framed["n"].iloc[0] == 4


def test_an_english_sheet(demo, demo_report, tmp_path):
    import os

    from analysis.report import unit_sheets as command

    previous = os.environ.get("ANALYSIS_PROJECT_ROOT")
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(demo_report.root)
    try:
        ctx = unit_sheets.sheet_context(WAVE, waves=["2023", "2024", WAVE], lang="en",
                                        processed_dir=demo_report.data / "processed",
                                        population_dir=demo_report.data / "population")
    finally:
        if previous is None:
            os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
        else:
            os.environ["ANALYSIS_PROJECT_ROOT"] = previous
    content = unit_sheets.sheet_content(ctx, "DTN01")
    path = command.render_docx(content, tmp_path / "DTN01.docx")
    text, tables = _docx_tables(path)
    assert "FEEDBACK SHEET" in text and tables[0][0][-1] == "Status"
    assert set(r[-1] for r in tables[0][1:]) <= {"Met", "Not met", "Does not apply", "Not reported"}


def test_a_failed_audit_publishes_nothing_and_keeps_the_previous_sheets(sheets, demo_report, monkeypatch):
    """All or nothing: when the attacker finds anything, the run goes to .failed/ and the
    published folder is the previous one, byte for byte."""
    import os

    from analysis.report import unit_sheets as command
    from analysis.report.errors import DisclosureAuditError

    folder = sheets["folder"]
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    planted = pd.DataFrame({"table": ["unit_scores_2025"], "by": [f"unit={CANARY_UNIT}"]})
    monkeypatch.setattr(command, "audit_sheets", lambda *a, **k: planted)
    monkeypatch.setenv("ANALYSIS_PROJECT_ROOT", str(demo_report.root))
    dirs = {k: v for k, v in demo_report.run_dirs().items() if k not in ("reports_root", "source_dir")}
    with pytest.raises(DisclosureAuditError, match=CANARY_UNIT):
        command.run_unit_sheets(WAVE, units=SHEET_UNITS[:2], jobs=1, progress=False, force=True,
                                reports_root=sheets["root"], **dirs)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    failed = list((sheets["root"] / ".failed" / command.INSTRUMENT).iterdir())
    assert len(failed) == 1 and (failed[0] / f"{SHEET_UNITS[0]}.docx").is_file()
    assert not list(sheets["root"].glob(".tmp-*"))
    assert os.environ["ANALYSIS_PROJECT_ROOT"] == str(demo_report.root)
