"""The report's dose-response comes from the design-based model (issue #15, "Done when").

The published table (tables/dose_response.csv of the demo member report) must equal
`analysis.stats.svyglm.svyglm` fitted here on the same data: every wave's respondents with
their unit's implementation index, units as clusters, raked to the frame
(`study.model_design`). The coefficient and its SE are compared at the published rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import instruments, study
from analysis.stats.svyglm import svyglm

pytestmark = pytest.mark.xdist_group("demo_report")

WAVES = ["2023", "2024", "2025"]


def _wave_designs(demo_report):
    processed, population = demo_report.data / "processed", demo_report.data / "population"
    responses = study.load_responses("member", WAVES, processed_dir=processed, population_dir=population)
    designs = study.designs_by_wave(responses, instrument="member", population_dir=population)
    unit_ins = instruments.load(study.unit_survey("member"))
    index = study.implementation_index(study.load_units(unit_ins.name, WAVES, processed_dir=processed), unit_ins)
    return designs, index


def test_model_design_has_the_wave_designs_weights_with_units_as_clusters(demo_report):
    designs, _ = _wave_designs(demo_report)
    for wd in designs.values():
        md = study.model_design(wd)
        np.testing.assert_allclose(md.weight_values, wd.design.weight_values, rtol=1e-9)
        assert md.n_psu == wd.design.data["unit"].nunique()  # one PSU per unit, not per member
        assert len(md.calibrations) == len(wd.design.calibrations) > 0  # the raking enters the SEs


def test_published_dose_response_is_svyglm_on_the_designs(demo_report):
    published = pd.read_csv(demo_report.report_dir / "tables" / "dose_response.csv", encoding="utf-8-sig")
    assert set(published["method"]) == {"svyglm"}
    designs, index = _wave_designs(demo_report)
    exposure = index.set_index(["wave", "unit"])["implementation"]
    checked = 0
    for _, row in published[~published["suppressed"].astype(bool)].iterrows():
        var = row["variable"]
        parts = []
        for wd in designs.values():
            d = study.model_design(wd)
            data = d.data
            impl = exposure.reindex(pd.MultiIndex.from_arrays([data["wave"], data["unit"]])).to_numpy()
            parts.append(d.replace(data=data.assign(y=data[var], dose=impl)))
        fit = svyglm(parts, "y ~ dose + wave + C(org)").table.set_index("term").loc["dose"]
        decimals = 2  # the anonymity policy's rounding of published estimates
        assert row["estimate"] == pytest.approx(round(fit["estimate"], decimals), abs=1e-9), var
        assert row["se"] == pytest.approx(round(fit["se"], decimals), abs=1e-9), var
        assert row["df"] == fit["df"], var
        checked += 1
    assert checked >= 10  # every comparable scale with enough units
