"""Shared fixtures. Keep this file small: module-specific fixtures live in their test file."""

from __future__ import annotations

import contextlib
import html
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: Debian's headless Chromium, used by the browser tests through playwright.
CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    """Skip a browser test when Chromium is missing — but fail in CI (ANALYSIS_REQUIRE_BROWSER=1)."""
    import os

    if CHROMIUM.exists():
        return
    reason = f"headless Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("ANALYSIS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; ANALYSIS_REQUIRE_BROWSER=1 requires the browser tests to run")
    pytest.skip(reason)


def require_libreoffice() -> None:
    """Skip a PDF test when LibreOffice or poppler is missing — but fail in CI (ANALYSIS_REQUIRE_BROWSER=1)."""
    import os

    missing = [exe for exe in ("soffice", "pdftotext", "pdfinfo") if shutil.which(exe) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not found (make system-deps: libreoffice-writer-nogui, poppler-utils)"
    if os.environ.get("ANALYSIS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; ANALYSIS_REQUIRE_BROWSER=1 requires the PDF tests to run")
    pytest.skip(reason)


@dataclass(frozen=True)
class ReportProject:
    """A throw-away project tree for the report runner (never the real notebooks/ or reports/)."""

    root: Path

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def dirs(self) -> dict[str, Path]:
        """Keyword arguments for `analysis.report.runner.run_report`."""
        return {
            "notebooks_dir": self.notebooks,
            "reports_root": self.reports,
            "processed_dir": self.processed,
            "population_dir": self.root / "data" / "population",
            "surveys_dir": self.root / "surveys",
            "study_file": self.root / "study.yaml",
            "source_dir": self.root / "src" / "analysis",
        }

    def add_wave(self, wave: str, rows: int = 3, instrument: str = "member") -> Path:
        """Write a tiny processed wave and its import manifest, as the import would."""
        folder = self.processed / instrument
        folder.mkdir(parents=True, exist_ok=True)
        data = pd.DataFrame({"_submission_id": [f"s{i}" for i in range(rows)], "org": ["CDVC"] * rows})
        data.to_parquet(folder / f"{wave}.parquet")
        manifest = {"instrument": instrument, "wave": wave, "instrument_version": "1", "synthetic": True,
                    "rows_read": rows, "accepted": rows, "quarantined": 0, "dropped": 0, "files": [],
                    "imported_at": "2026-01-01T00:00:00+00:00"}
        (folder / f"{wave}.manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder / f"{wave}.parquet"


def report_html_text(report_dir: Path) -> str:
    """The visible text of a report's HTML (scripts and styles left out), a tag per line break."""
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def report_docx_text(report_dir: Path) -> str:
    """The text of a report's DOCX: its paragraphs, then every table cell, a line each."""
    import docx

    document = docx.Document(str(report_dir / "report.docx"))
    lines = [p.text for p in document.paragraphs]
    lines += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def snapshot_source(project: ReportProject) -> None:
    """Copy src/analysis: the cache key hashes the code, which colleagues edit while tests run."""
    import analysis

    shutil.copytree(Path(analysis.__file__).parent, project.root / "src" / "analysis",
                    ignore=shutil.ignore_patterns("__pycache__"))


#: The fixture project's study: one instrument running the fixture notebooks (tests/fixtures/notebooks).
FIXTURE_STUDY = """\
name: fixture
title: {vi: Nghiên cứu thử, en: Fixture study}
frame: data/population
instruments:
  member:
    notebooks: [10_alpha, 20_beta, 00_summary, 30_later]
    design: {weights: equal}
"""


def make_report_project(root: Path) -> ReportProject:
    """*root* laid out like the project: fixture notebooks, a study.yaml, one imported wave
    (2025), a frame, an instrument YAML and a snapshot of src/analysis."""
    project = ReportProject(root)
    shutil.copytree(FIXTURES / "notebooks", project.notebooks, ignore=shutil.ignore_patterns("*.py"))
    (root / "data" / "population").mkdir(parents=True)
    (root / "data" / "population" / "units.csv").write_text("unit,org,size\nCDVC01,CDVC,100\n")
    (root / "surveys" / "member").mkdir(parents=True)
    (root / "surveys" / "member" / "v1.yaml").write_text("name: member\nversion: '1'\n")
    (root / "pyproject.toml").write_text("")
    (root / "study.yaml").write_text(FIXTURE_STUDY, encoding="utf-8")
    # analysis.config reads the anonymity policy of the project root ($ANALYSIS_PROJECT_ROOT)
    (root / "config").mkdir(exist_ok=True)
    shutil.copy2(Path(__file__).resolve().parent.parent / "config" / "disclosure.yaml", root / "config" / "disclosure.yaml")
    snapshot_source(project)
    project.add_wave("2025")
    return project


@pytest.fixture
def report_project(tmp_path: Path) -> ReportProject:
    """A throw-away project for the report runner (see `make_report_project`)."""
    return make_report_project(tmp_path / "project")


# ------------------------------------------------------------------------ report end to end

#: The unit whose 2025 respondents are cut to 3 and the education code they alone hold in
#: the canary test (tests/test_report_end_to_end.py): values that must appear in no output.
CANARY_UNIT = "HCCB07"
CANARY_EDUCATION = "doctorate"


@dataclass(frozen=True)
class DemoReport:
    """One full report run on the synthetic demo, shared by the end-to-end tests."""

    root: Path
    report_dir: Path
    seconds: float
    canary_construct: str

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run_dirs(self) -> dict[str, Path]:
        return {"notebooks_dir": self.root / "notebooks", "reports_root": self.root / "reports",
                "processed_dir": self.data / "processed", "population_dir": self.data / "population",
                "surveys_dir": self.root / "surveys", "study_file": self.root / "study.yaml",
                "source_dir": self.root / "src" / "analysis"}


def _plant_canary(processed: Path, construct: str) -> None:
    """Three respondents alone in a unit and alone with an education level, all answering the
    lowest code on *construct*: their group mean (1.00, no spread) and their count must never
    be published."""
    from analysis import instruments

    member = instruments.load("member")
    unit_item = member.role_item("unit").name
    edu_item = member.role_item("education").name
    items = [i.name for i in member.construct_items(construct)]
    lowest = member.valid_codes(member.construct_items(construct)[0].list_name)[0]
    path = processed / "member" / "2025.parquet"
    df = pd.read_parquet(path)
    in_unit = df.index[df[unit_item] == CANARY_UNIT]
    df = df.drop(index=in_unit[3:])
    keep = df.index[df[unit_item] == CANARY_UNIT]
    others = df[edu_item] == CANARY_EDUCATION
    df.loc[others, edu_item] = "master"
    df.loc[keep, edu_item] = CANARY_EDUCATION
    for name in items:
        reverse = member.item(name).reverse
        codes = member.valid_codes(member.item(name).list_name)
        df.loc[keep, name] = codes[-1] if reverse else lowest  # reversed items score 1 with the top code
    df.to_parquet(path)


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> DemoReport:
    """The demo waves 2023–2025 imported into a throw-away project, a canary planted in 2025,
    and the member report for 2025 (baseline 2023) run once with the project's notebooks."""
    import os
    import time

    from analysis import config
    from analysis.report import runner as report
    from analysis.synthetic import demo

    root = tmp_path_factory.mktemp("demo_project")
    src_root = config.PROJECT_ROOT
    for sub in ("surveys", "config", "notebooks"):
        shutil.copytree(src_root / sub, root / sub, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "exploratory"))
    shutil.copytree(src_root / "data" / "population", root / "data" / "population")
    shutil.copy2(src_root / "study.yaml", root / "study.yaml")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    snapshot_source(ReportProject(root))
    if (config.DEMO_DIR / "generated.json").is_file():  # `make demo` already generated the files: import only
        shutil.copytree(config.DEMO_DIR, root / "data" / "demo")
    demo.prepare_demo(out_dir=root / "data" / "demo", data_dir=root / "data")
    construct = "wel"
    _plant_canary(root / "data" / "processed", construct)
    previous = os.environ.get("ANALYSIS_PROJECT_ROOT")
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(root)  # the notebooks' kernels find the project here
    try:
        # what the runner prints during the full run goes to root/runner.log, which the canary
        # test scans with every other *.log of the project
        with open(root / "runner.log", "w", encoding="utf-8") as log, \
                contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            start = time.perf_counter()
            result = report.run_report("member", "2025", baseline_wave="2023", force=True, progress=False,
                                       **DemoReport(root, root, 0, construct).run_dirs())
            seconds = time.perf_counter() - start
    finally:
        if previous is None:
            os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
        else:
            os.environ["ANALYSIS_PROJECT_ROOT"] = previous
    return DemoReport(root, result.report_dir, seconds, construct)


@pytest.fixture(scope="session")
def demo_unit_report(demo_report: DemoReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unit report for 2025 (baseline 2023) of the same demo project: its report folder.

    Written outside the demo project: the unit report lists every unit by name (facts about
    units), so it stays out of the member report's canary scan of the project's outputs.
    """
    import os

    from analysis.report import runner as report

    out = tmp_path_factory.mktemp("demo_unit_reports")
    previous = os.environ.get("ANALYSIS_PROJECT_ROOT")
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(demo_report.root)
    try:
        with open(out / "runner.log", "w", encoding="utf-8") as log, \
                contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            result = report.run_report("unit", "2025", baseline_wave="2023", force=True, progress=False,
                                       **{**demo_report.run_dirs(), "reports_root": out / "reports"})
    finally:
        if previous is None:
            os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
        else:
            os.environ["ANALYSIS_PROJECT_ROOT"] = previous
    return result.report_dir
