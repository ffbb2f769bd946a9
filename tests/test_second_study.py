"""A second study in a project folder of its own: the toolkit knows nothing of Đề án 04.

The data have the shape of psych's ``bfi`` (25 six-point personality items, five scales of five
items with bfi's reverse keys, gender and age), generated here from a seeded one-factor model
per scale: no units, no population frame, no plan, English only, equal weights. The study is
imported with ``add-wave`` and reported with ``report`` through the command line, exactly as a
researcher would, and its numbers are checked against the library's direct calls.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis import config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("second_study")]

#: bfi's scales (agreeableness, conscientiousness, extraversion, neuroticism, openness) and
#: reverse-keyed items (A1, C4, C5, E1, E2, O2, O5 in psych::bfi.keys).
SCALES = {"agr": "Agreeableness", "con": "Conscientiousness", "ext": "Extraversion", "neu": "Neuroticism",
          "ope": "Openness"}
REVERSED = {"agr_1", "con_4", "con_5", "ext_1", "ext_2", "ope_2", "ope_5"}
WAVES = ("2024", "2025")
N = 240


def _instrument() -> dict:
    items = [{"type": "select_one gender", "name": "gender", "role": "sex", "required": True, "label::en": "Gender"},
             {"type": "integer", "name": "age", "required": True, "label::en": "Age in years",
              "constraint": ". >= 16 and . <= 90"}]
    for scale, label in SCALES.items():
        for k in range(1, 6):
            item = {"type": "select_one six", "name": f"{scale}_{k}", "construct": scale, "required": True,
                    "label::en": f"{label}, statement {k}"}
            if f"{scale}_{k}" in REVERSED:
                item["reverse"] = True
            items.append(item)
    return {
        "instrument": "bfi", "version": "1", "languages": ["en"],
        "title::en": "Big Five Inventory (25 items)",
        "constructs": {s: {"label::en": label, "min_items": 3} for s, label in SCALES.items()},
        "choices": {
            "six": [{"name": str(v), "value": v, "label::en": f"level {v}"} for v in range(1, 7)],
            "gender": [{"name": "male", "label::en": "Male"}, {"name": "female", "label::en": "Female"}],
        },
        "survey": items,
    }


def _answers(wave: str) -> pd.DataFrame:
    """Seeded one-factor answers; in 2025 extraversion is 0.4 SD higher (a planted change)."""
    rng = np.random.default_rng(int(wave))
    out = {"_submission_id": [f"{wave}-{i:04d}" for i in range(N)],
           "gender": rng.choice(["male", "female"], size=N), "age": rng.integers(18, 75, size=N)}
    for scale in SCALES:
        trait = rng.normal(0.4 if (scale == "ext" and wave == "2025") else 0.0, 1.0, size=N)
        for k in range(1, 6):
            sign = -1.0 if f"{scale}_{k}" in REVERSED else 1.0
            latent = 3.5 + 1.1 * sign * trait + rng.normal(0, 0.9, size=N)
            out[f"{scale}_{k}"] = np.clip(np.rint(latent), 1, 6).astype(int)
    return pd.DataFrame(out)


STUDY = {
    "name": "bfi-demo",
    "title": {"en": "Big Five, a second study"},
    "languages": ["en"],
    "instruments": {"bfi": {
        "notebooks": ["10_data_quality", "20_measurement", "30_member_sentiment", "50_plan_impact",
                      "00_executive_summary"],
        "design": {"weights": "equal"},
        "breakdowns": ["sex"],
        "quasi_identifiers": ["gender", "age"],
    }},
}


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANALYSIS_PROJECT_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bfi_project")
    (root / "surveys" / "bfi").mkdir(parents=True)
    (root / "surveys" / "bfi" / "v1.yaml").write_text(yaml.safe_dump(_instrument(), allow_unicode=True, sort_keys=False),
                                                      encoding="utf-8")
    (root / "study.yaml").write_text(yaml.safe_dump(STUDY, sort_keys=False), encoding="utf-8")
    shutil.copytree(config.PROJECT_ROOT / "config", root / "config")
    shutil.copytree(config.NOTEBOOKS_DIR, root / "notebooks", ignore=shutil.ignore_patterns("exploratory", ".*"))
    for wave in WAVES:
        folder = root / "exports" / wave
        folder.mkdir(parents=True)
        _answers(wave).to_csv(folder / "bfi.csv", index=False)
        (folder / "wave.yaml").write_text(yaml.safe_dump({
            "instrument": "bfi", "wave": wave, "instrument_version": "1", "synthetic": True,
            "fieldwork_start": f"{wave}-03-01", "fieldwork_end": f"{wave}-03-31", "source": "test_second_study"}),
            encoding="utf-8")
        done = _run(root, "add-wave", "--instrument", "bfi", "--wave", wave, str(folder / "bfi.csv"))
        assert done.returncode == 0, done.stdout + done.stderr
    done = _run(root, "report", "--instrument", "bfi", "--wave", "2025", "--lang", "en")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def _recoded(wave: str) -> pd.DataFrame:
    """The wave's items as numbers, reverse keys applied (7 − x), straight from the generator."""
    df = _answers(wave)
    for item in REVERSED:
        df[item] = 7 - df[item]
    return df


def test_the_report_is_written_in_html_and_docx(project):
    folder = project / "reports" / "bfi" / "2025" / "en"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert (folder / "report.docx").stat().st_size > 10_000
    assert "Big Five Inventory (25 items)" in html and "Extraversion" in html
    # Sections the study cannot have are left out with a sentence, not a crash and not an empty table.
    assert "no population frame" in html and "declares no raking margins" in html
    assert "Scores by organization" not in html and "Đánh giá sáu nhóm nhiệm vụ" not in html
    tables = {p.stem for p in (folder / "tables").glob("*.csv")}
    assert {"import_counts", "weight_diagnostics", "quality_effect", "reliability", "item_statistics",
            "constructs_by_sex", "item_distribution", "changes_constructs_overall"} <= tables
    assert not {"response_rates", "sample_composition", "scorecard", "dose_response", "constructs_by_org"} & tables


def test_alpha_equals_the_library(project):
    from analysis.stats import reliability

    table = pd.read_csv(project / "reports" / "bfi" / "2025" / "en" / "tables" / "reliability.csv",
                        encoding="utf-8-sig", dtype={"wave": str})
    for wave in WAVES:
        data = _recoded(wave)
        for scale in SCALES:
            direct = reliability.cronbach_alpha(data[[f"{scale}_{k}" for k in range(1, 6)]])
            row = table[(table["wave"] == wave) & (table["variable"] == scale)]
            assert len(row) == 1
            assert row["alpha"].iloc[0] == pytest.approx(direct.alpha, rel=1e-12)


def test_means_and_changes_equal_the_library(project):
    from analysis.stats.design import SurveyDesign

    table = pd.read_csv(project / "reports" / "bfi" / "2025" / "en" / "tables" / "changes_constructs_overall.csv",
                        encoding="utf-8-sig")
    designs = {}
    for wave in WAVES:
        data = _recoded(wave)
        for scale in SCALES:
            data[scale] = data[[f"{scale}_{k}" for k in range(1, 6)]].mean(axis=1)
        designs[wave] = SurveyDesign(data.assign(w=1.0), weights="w")
    for scale in SCALES:
        row = table[table["variable"] == scale].iloc[0]
        a, b = (designs[w].mean(scale).iloc[0] for w in WAVES)
        # Published levels are rounded to 2 decimals (disclosure control); z and p are not.
        assert row["estimate_a"] == pytest.approx(a["estimate"], abs=0.005 + 1e-12)
        assert row["estimate_b"] == pytest.approx(b["estimate"], abs=0.005 + 1e-12)
        assert row["z"] == pytest.approx((b["estimate"] - a["estimate"]) / np.hypot(a["se"], b["se"]), rel=1e-9)
        assert row["n"] == N  # the smaller of the two waves
    # The planted change is found, and only it.
    assert list(table.loc[table["p_adjusted"] < 0.05, "variable"]) == ["ext"]
