"""Shared fixtures. Keep this file small: module-specific fixtures live in their test file."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
        """Keyword arguments for `analysis.report.run_report`."""
        return {
            "notebooks_dir": self.notebooks,
            "reports_root": self.reports,
            "processed_dir": self.processed,
            "population_dir": self.root / "data" / "population",
            "surveys_dir": self.root / "surveys",
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


def snapshot_source(project: ReportProject) -> None:
    """Copy src/analysis: the cache key hashes the code, which colleagues edit while tests run."""
    import analysis

    shutil.copytree(Path(analysis.__file__).parent, project.root / "src" / "analysis",
                    ignore=shutil.ignore_patterns("__pycache__"))


def make_report_project(root: Path) -> ReportProject:
    """*root* laid out like the project: fixture notebooks, one imported wave (2025), a frame,
    an instrument YAML and a snapshot of src/analysis."""
    project = ReportProject(root)
    shutil.copytree(FIXTURES / "notebooks", project.notebooks, ignore=shutil.ignore_patterns("*.py"))
    (root / "data" / "population").mkdir(parents=True)
    (root / "data" / "population" / "units.csv").write_text("unit,org,size\nCDVC01,CDVC,100\n")
    (root / "surveys" / "member").mkdir(parents=True)
    (root / "surveys" / "member" / "v1.yaml").write_text("name: member\nversion: '1'\n")
    (root / "pyproject.toml").write_text("")
    snapshot_source(project)
    project.add_wave("2025")
    return project


@pytest.fixture
def report_project(tmp_path: Path) -> ReportProject:
    """A throw-away project for the report runner (see `make_report_project`)."""
    return make_report_project(tmp_path / "project")
