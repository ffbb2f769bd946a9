"""A new questionnaire version never changes what was published (issue #14, "Done when").

The scenario of the issue: member questionnaire v2 rewords one satisfaction item under a new
name (``replaces:``), drops one renewal item and adds one digital item. A copy of the demo
project gets v2 and a 2026 wave fielded with it (the demo's 2026 export, its columns changed
to match), and the 2026 report is run. Then: trend lines of the three changed scales break at
2026 and the note says so; the changes since 2023 leave them out; each wave's reliability uses
its own items; and every row about 2023–2025 of every table equals the 2025 report's row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.xdist_group("demo_report")

CHANGED = {"sat", "ren", "dig"}
EARLIER = {"2023", "2024", "2025"}


def _v2_yaml(v1: str) -> str:
    """v1 with ms_sat_02 reworded as ms_sat_05 (replaces), ms_ren_04 dropped, ms_dig_05 added."""
    reworded = v1.replace('version: "1"', 'version: "2"').replace(
        "name: ms_sat_02, construct: sat, required: true,\n"
        '         label::vi: "Hoạt động của tổ chức đáp ứng được nhu cầu, nguyện vọng chính đáng của tôi.",',
        "name: ms_sat_05, construct: sat, replaces: ms_sat_02, required: true,\n"
        '         label::vi: "Hoạt động của tổ chức đáp ứng nhu cầu chính đáng của tôi trong công tác.",')
    start = reworded.index("      - {type: select_one agree5, name: ms_ren_04")
    end = reworded.index("      - {type:", start + 10)
    dropped = reworded[:start] + reworded[end:]
    anchor = '         label::en: "I find the organization\'s digital applications hard to use."}\n'
    added = ('      - {type: select_one agree5, name: ms_dig_05, construct: dig, required: true,\n'
             '         label::vi: "Tôi được hướng dẫn sử dụng các ứng dụng số của tổ chức.",\n'
             '         label::en: "I was shown how to use the organization\'s digital applications."}\n')
    assert reworded != v1 and dropped != reworded and anchor in dropped
    return dropped.replace(anchor, anchor + added)


def _v2_export(src: Path, out: Path) -> None:
    """The demo 2026 Kobo export with the v2 columns (same answers for the items kept)."""
    df = pd.read_excel(src, dtype=str)
    col = {c.split("/")[-1]: c for c in df.columns}
    df = df.rename(columns={col["ms_sat_02"]: col["ms_sat_02"].replace("ms_sat_02", "ms_sat_05")})
    df = df.drop(columns=[col["ms_ren_04"]])
    at = list(df.columns).index(col["ms_dig_04"]) + 1
    df.insert(at, col["ms_dig_04"].replace("ms_dig_04", "ms_dig_05"), df[col["ms_dig_01"]])
    df.to_excel(out, index=False)


def _run(root: Path, *args: str) -> None:
    env = {**os.environ, "ANALYSIS_PROJECT_ROOT": str(root)}
    done = subprocess.run([sys.executable, "-m", "analysis", *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def v2_report(demo_report, tmp_path_factory):
    from conftest import DemoReport

    from analysis.report import runner as report

    root = tmp_path_factory.mktemp("v2_project") / "project"
    shutil.copytree(demo_report.root, root, ignore=shutil.ignore_patterns("reports", "*.log"))
    v1 = (root / "surveys" / "member" / "v1.yaml").read_text(encoding="utf-8")
    (root / "surveys" / "member" / "v2.yaml").write_text(_v2_yaml(v1), encoding="utf-8")
    _run(root, "instrument", "check")
    demo = demo_report.data / "demo" / "member" / "2026"
    export = root / "v2_export" / "SYNTHETIC_DEMO_member_2026_kobo_export.xlsx"
    export.parent.mkdir()
    _v2_export(next(demo.glob("*.xlsx")), export)
    meta = (demo / "wave.yaml").read_text(encoding="utf-8")
    meta = meta.replace("instrument_version: '1'", "instrument_version: '2'")
    assert "instrument_version: '2'" in meta
    (export.parent / "wave.yaml").write_text(meta, encoding="utf-8")
    replace = ["--replace"] if (root / "data" / "processed" / "member" / "2026.parquet").is_file() else []
    _run(root, "add-wave", "--instrument", "member", "--wave", "2026", str(export), *replace)
    if not (root / "data" / "processed" / "unit" / "2026.parquet").is_file():  # the unit survey's 2026, unchanged
        units = demo_report.data / "demo" / "unit" / "2026"
        files = sorted(str(p) for p in units.iterdir() if p.suffix in (".xlsx", ".csv", ".sav"))
        _run(root, "add-wave", "--instrument", "unit", "--wave", "2026", *files)
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(root)
    try:
        result = report.run_report("member", "2026", baseline_wave="2023", force=True, progress=False,
                                   **DemoReport(root, root, 0, demo_report.canary_construct).run_dirs())
    finally:
        os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
    return result.report_dir


def _table(report_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(report_dir / "tables" / f"{name}.csv", encoding="utf-8-sig",
                       dtype={"wave": str, "baseline_wave": str, "version": str})


def test_trend_lines_break_where_the_items_changed(v2_report):
    trend = _table(v2_report, "trends_constructs_by_org")
    later = trend[trend["wave"] == "2026"]
    assert {f"{c}@1" for c in CHANGED} <= set(later["variable"])
    assert not CHANGED & set(later["variable"])  # the 2026 scores do not continue the old lines
    assert CHANGED <= set(trend.loc[trend["wave"].isin(EARLIER), "variable"])
    page = (v2_report / "report.html").read_text(encoding="utf-8")
    assert "từ đợt 2026 (phiếu phiên bản 2)" in page and "không nối và không so sánh" in page


def test_changes_are_computed_only_on_comparable_scales(v2_report):
    for name in ("changes_constructs_overall", "changes_constructs_by_org"):
        changes = _table(v2_report, name)
        assert not CHANGED & set(changes["variable"]), name
        assert {"emu", "tru"} <= set(changes["variable"]), name


def test_each_wave_is_checked_for_reliability_on_its_own_items(v2_report, demo_report):
    rel = _table(v2_report, "reliability")
    k = rel.drop_duplicates(["wave", "variable"]).set_index(["wave", "variable"])["k"]
    assert (k["2025", "ren"], k["2026", "ren"]) == (4, 3)  # v2 asks 3 renewal items
    assert (k["2025", "dig"], k["2026", "dig"]) == (4, 5)
    assert set(rel.loc[rel["wave"] == "2026", "version"]) == {"2"}
    assert set(rel.loc[rel["wave"].isin(EARLIER), "version"]) == {"1"}


def test_no_row_about_an_earlier_wave_changes(v2_report, demo_report):
    before_dir = demo_report.report_dir / "tables"
    compared = 0
    for path in sorted(before_dir.glob("*.csv")):
        after_path = v2_report / "tables" / path.name
        before = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        if "wave" not in before.columns or "baseline_wave" in before.columns or not after_path.is_file():
            continue
        after = pd.read_csv(after_path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        shared = [c for c in before.columns if c in after.columns]
        waves = EARLIER & set(after["wave"])  # a table of the report's own wave has no earlier rows
        old = before[before["wave"].isin(waves)][shared].reset_index(drop=True)
        new = after[after["wave"].isin(waves)][shared].reset_index(drop=True)
        pd.testing.assert_frame_equal(old, new, obj=path.name)
        compared += len(old)
    assert compared > 100


def test_the_exploratory_notebook_compares_only_comparable_scales(v2_report):
    import papermill

    from analysis import config

    root = v2_report.parents[3]  # <root>/reports/member/<wave>/<lang>
    out = root / "start_here.ipynb"
    notebook = config.PROJECT_ROOT / "notebooks" / "exploratory" / "01_start_here.ipynb"  # not in the demo copy
    env_before = os.environ.get("ANALYSIS_PROJECT_ROOT")
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(root)  # the kernel finds the v2 project
    try:
        papermill.execute_notebook(str(notebook), str(out), cwd=str(root), progress_bar=False,
                                   kernel_name=config.KERNEL_NAME)
    finally:
        if env_before is None:
            os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
        else:
            os.environ["ANALYSIS_PROJECT_ROOT"] = env_before
    cells = json.loads(out.read_text(encoding="utf-8"))["cells"]
    compare = next(c for c in cells if "changes_since_baseline" in "".join(c["source"]))
    shown = "".join("".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", ""))
                    for o in compare["outputs"])
    table_rows = [line.split()[1] for line in shown.splitlines() if line[:1].isdigit() and len(line.split()) > 1]
    assert table_rows and not CHANGED & set(table_rows)
    assert "sat" in shown  # named among the scales not compared
    chart = next(c for c in cells if "trend_plot" in "".join(c["source"]))
    assert any("image/png" in o.get("data", {}) for o in chart["outputs"])  # the chart itself, not its repr
