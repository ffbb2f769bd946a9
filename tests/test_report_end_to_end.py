"""The whole report on the synthetic demo: findings, formats, anonymity, a new wave.

One report run is shared by these tests (``demo_report`` in conftest.py): demo waves
2023–2025 imported into a throw-away project, a canary planted in 2025 (three respondents alone
in a unit and alone with an education level, all answering the lowest code on one scale), and
``run_report("member", "2025", baseline_wave="2023")`` with the project's own notebooks.

The outside authority for the findings is the demo's truth file (``data/demo/truth.json``,
written by the generator): the constructs with a planted effect, and those without.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import CANARY_EDUCATION, CANARY_UNIT

# One worker runs every test that uses the session's demo report, so it is built once (make test
# uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group("demo_report")

# ------------------------------------------------------------------------------ findings


def _truth(demo_report) -> dict:
    return json.loads((demo_report.data / "demo" / "truth.json").read_text(encoding="utf-8"))


def _table(demo_report, name: str) -> pd.DataFrame:
    return pd.read_csv(demo_report.report_dir / "tables" / f"{name}.csv", encoding="utf-8-sig",
                       dtype={"wave": str, "baseline_wave": str})


def test_significant_changes_are_exactly_the_planted_effects(demo_report):
    planted = _truth(demo_report)["planted_effects"]
    moved = set(planted["moved_constructs"])
    unchanged = set(planted["unchanged_constructs"])
    changes = _table(demo_report, "changes_constructs_overall")
    assert set(changes["wave"]) == {"2025"} and set(changes["baseline_wave"]) == {"2023"}
    significant = set(changes.loc[changes["significant"].astype(str) == "True", "variable"])
    assert significant == moved
    quiet = changes[changes["variable"].isin(unchanged)]
    assert set(quiet["variable"]) == unchanged
    assert (quiet["status"] == "không thay đổi có ý nghĩa").all()
    # planted effects are increases, and BH-adjusted p-values are what decides
    assert (changes.loc[changes["variable"].isin(moved), "estimate"] > 0).all()
    assert (changes.loc[changes["variable"].isin(moved), "p_adjusted"] < 0.05).all()


def test_html_report_is_offline_ordered_and_escapes_comments(demo_report):
    page = (demo_report.report_dir / "report.html").read_text(encoding="utf-8")
    assert "DỮ LIỆU MÔ PHỎNG — không phải kết quả khảo sát thật" in page and "synthetic data" not in page
    # executive summary first, then the sections in order
    positions = [page.index(f'data-notebook="{n}"') for n in
                 ("00_executive_summary", "10_data_quality", "20_measurement", "30_member_sentiment", "50_plan_impact")]
    assert positions == sorted(positions)
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert "<script>alert" not in page  # a comment's markup is text, never code
    assert unicodedata.is_normalized("NFC", page)


def test_withheld_comments_are_written_under_data_for_review_and_only_counted_in_the_report(demo_report):
    path = demo_report.data / "processed" / "member" / "2025_withheld_comments.csv"
    withheld = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert {"org", "comment", "reason", "match"} <= set(withheld.columns)
    assert len(withheld) > 0, "the demo plants comments with names, phones and e-mails"
    page = (demo_report.report_dir / "report.html").read_text(encoding="utf-8")
    assert f"{len(withheld)} ý kiến được giữ lại để rà soát thủ công" in page
    assert "data/processed/member/ĐỢT_withheld_comments.csv" in page  # where the researcher finds them
    shown = [c for c in withheld["comment"] if c.strip() and (c in page or html.escape(c) in page)]
    assert not shown, f"a withheld comment is in the report: {shown[0]!r}"
    assert not list((demo_report.root / "reports").rglob("*withheld*"))


def test_every_table_is_exported_as_csv_and_xlsx(demo_report):
    tables = demo_report.report_dir / "tables"
    csv = {p.stem for p in tables.glob("*.csv")}
    xlsx = {p.stem for p in tables.glob("*.xlsx")}
    assert csv and csv == xlsx
    for path in tables.glob("*.xlsx"):
        with zipfile.ZipFile(path) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
            assert not any("<f>" in z.read(n).decode("utf-8") for n in sheets), f"{path.name} holds a formula"


# ---------------------------------------------------------------------------------- DOCX


def test_docx_layout_decree_30(demo_report):
    import docx
    from docx.shared import Mm

    path = demo_report.report_dir / "report.docx"
    document = docx.Document(str(path))
    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)
    assert Mm(20) - Mm(0.5) <= section.top_margin <= Mm(25) + Mm(0.5)
    assert Mm(20) - Mm(0.5) <= section.bottom_margin <= Mm(25) + Mm(0.5)
    assert Mm(30) - Mm(0.5) <= section.left_margin <= Mm(35) + Mm(0.5)
    assert Mm(15) - Mm(0.5) <= section.right_margin <= Mm(20) + Mm(0.5)
    normal = document.styles["Normal"].font
    assert normal.name == "Times New Roman" and 13 <= normal.size.pt <= 14
    with zipfile.ZipFile(path) as z:
        body = z.read("word/document.xml").decode("utf-8")
        headers = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("word/header")]
    assert unicodedata.is_normalized("NFC", body)
    assert any("DỮ LIỆU MÔ PHỎNG" in h for h in headers)  # the banner in the report's language (docx_report.BANNERS)
    texts = [p.text for p in document.paragraphs]
    assert any(t.startswith("Bảng 1.") for t in texts) and any(t.startswith("Hình 1.") for t in texts)
    assert "TÓM TẮT KẾT QUẢ" in texts


# ------------------------------------------------------------------------------ anonymity


def _all_output_text(report_dir: Path) -> dict[str, str]:
    """Every text a reader (or a forwarded file) could see: HTML, DOCX XML, CSV, XLSX XML,
    executed notebooks, manifest and logs."""
    out: dict[str, str] = {}
    for path in sorted(report_dir.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix in (".docx", ".xlsx"):
            with zipfile.ZipFile(path) as z:
                out[str(path)] = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
        elif path.suffix in (".html", ".csv", ".ipynb", ".json", ".log", ".txt", ".md"):
            out[str(path)] = path.read_text(encoding="utf-8-sig", errors="replace")
    return out


def test_canary_group_values_appear_in_no_output(demo_report):
    report_dir = demo_report.report_dir
    # the planted group is hidden where it would be shown
    by_edu = _table(demo_report, "constructs_by_education")
    canary = by_edu[by_edu["education"] == CANARY_EDUCATION]
    assert len(canary) and canary["estimate"].isna().all() and canary["n"].isna().all()
    assert set(canary["note"]) == {"n<5"}
    rates = _table(demo_report, "response_rates")
    unit_row = rates[rates["unit"] == CANARY_UNIT]
    assert unit_row["estimate"].isna().all() and unit_row["n"].isna().all()
    # and its distinctive values (a mean of exactly 1 with no spread) are nowhere
    texts = _all_output_text(report_dir)
    assert texts
    patterns = [r"1,00 \(1,00[–-]1,00\)", r"1\.00 \(1\.00[–-]1\.00\)",
                rf"{CANARY_EDUCATION}[^\n]*,1\.0,0\.0,", rf"{CANARY_UNIT},response_rate,[0-9.]+,3\.0"]
    for path, text in texts.items():
        for pattern in patterns:
            assert not re.search(pattern, text), f"canary value {pattern!r} found in {path}"


def test_executed_notebooks_publish_only_protected_blocks(demo_report):
    """A raw DataFrame left as a cell's last line would print unprotected numbers: every rich
    output of an executed pipeline notebook must be a block published through report_content."""
    import nbformat

    for path in sorted((demo_report.report_dir / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") in ("display_data", "execute_result"):
                    assert "analysis" in (out.get("metadata") or {}), f"{path.name} cell {index}: unpublished output"
                assert out.get("output_type") != "error", f"{path.name} cell {index} failed"


# ------------------------------------------------------------------------------ new wave


@pytest.mark.slow
def test_adding_wave_2026_extends_every_trend(demo_report):
    """Import the demo's 2026 files as a new wave and report it: every trend gains 2026."""
    import os

    from analysis.ingest import importer as ingest
    from analysis.report import runner as report

    demo_dir = demo_report.data / "demo"
    for instrument in ("member", "unit"):
        folder = demo_dir / instrument / "2026"
        files = sorted(p for p in folder.iterdir() if p.suffix in (".xlsx", ".csv", ".sav"))
        ingest.import_wave(instrument, "2026", files, meta=folder / "wave.yaml", data_dir=demo_report.data)
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(demo_report.root)
    try:
        result = report.run_report("member", "2026", baseline_wave="2023", force=True, progress=False,
                                   **demo_report.run_dirs())
    finally:
        os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
    assert result.manifest["status"] == "complete"
    assert result.manifest["parameters"]["waves"] == ["2023", "2024", "2025", "2026"]
    for name in ("trends_constructs_by_org", "trends_indicators"):
        trend = pd.read_csv(result.report_dir / "tables" / f"{name}.csv", encoding="utf-8-sig", dtype={"wave": str})
        assert sorted(set(trend["wave"])) == ["2023", "2024", "2025", "2026"], name
    changes = pd.read_csv(result.report_dir / "tables" / "changes_constructs_overall.csv", encoding="utf-8-sig",
                          dtype={"wave": str})
    assert set(changes["wave"]) == {"2026"}
