"""The helpers of the pipeline benchmark: the scaled frame and the table (no timing asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.instruments import population
from analysis.synthetic.scale import scale_frame, scaled_units

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import bench_pipeline  # noqa: E402


def test_scale_one_is_the_frame(tmp_path):
    out = scale_frame(tmp_path / "pop", 1)
    pd.testing.assert_frame_equal(population.load_units(out), population.load_units())
    assert population.margins(out) == population.margins()
    assert population.education_margins(out) == population.education_margins()


def test_scaled_frame_keeps_organizations_and_margins(tmp_path):
    out = scale_frame(tmp_path / "pop", 10)
    units, real = population.load_units(out), population.load_units()
    assert len(units) == 1030 and units["unit_id"].is_unique
    assert units.groupby("org", sort=False).size().to_dict() == {"CDVC": 480, "HCCB": 200, "DTN": 350}
    assert int(units["members"].sum()) == 63_140
    # every organization's size distribution is the real one, copied
    for org in population.ORGS:
        got = sorted(units.loc[units["org"] == org, "members"])
        assert got == sorted(list(real.loc[real["org"] == org, "members"]) * 10)
    m = population.margins(out)
    assert m["org"] == {org: v * 10 for org, v in population.margins()["org"].items()}
    assert population.org_margins(out)["HCCB"] == {"sex": {"male": 3120, "female": 30}, "party": {"yes": 3030, "no": 120}}
    assert population.education_margins(out) == {k: v * 10 for k, v in population.education_margins().items()}
    assert units.loc[units["unit_id"] == "CDVC480", "name_vi"].item() == "Cơ sở CĐVC 480"


def test_scaled_units_codes_widen_and_stay_sorted():
    units = population.load_units()
    big = scaled_units(units, 100)
    assert big["unit_id"].str.len().max() == 8  # CDVC4800
    assert big.loc[big["org"] == "HCCB", "unit_id"].iloc[[0, -1]].tolist() == ["HCCB0001", "HCCB2000"]
    with pytest.raises(ValueError, match="positive integer"):
        scaled_units(units, 0)


def test_parse_scales_and_growth():
    assert bench_pipeline.parse_scales("1,10,100") == [1, 10, 100]
    assert bench_pipeline.parse_scales("none") == []
    with pytest.raises(ValueError):
        bench_pipeline.parse_scales("1,-2")
    assert bench_pipeline.growth_exponent([1, 10, 100], [1.0, 12.0, 100.0]) == pytest.approx(1.0)
    assert bench_pipeline.growth_exponent([1], [1.0]) is None
    assert bench_pipeline.growth_exponent([1, 10], [0.01, 1.0]) is None  # too short to tell


def test_format_table_has_one_column_pair_per_scale():
    t = pd.DataFrame({"scale": [1, 10, 1, 10], "stage": ["import", "import", "weighting", "weighting"],
                      "seconds": [2.0, 20.0, 1.0, 100.0], "peak_mb": [100, 900, 50, 60], "note": [""] * 4})
    text = bench_pipeline.format_table(t)
    lines = text.splitlines()
    assert lines[0].split() == ["stage", "1×", "s", "1×", "MB", "10×", "s", "10×", "MB", "exponent"]
    assert lines[1].split()[-1] == "1.00" and lines[2].split()[-1] == "2.00"


def test_peak_rss_counts_this_process():
    meter = bench_pipeline.PeakRSS(interval=0.01)
    with meter:
        pass
    assert meter.peak > 10 * 2**20
