"""`analysis.disclosure.audit_report` on a small hand-made report folder (no notebooks run).

The real report is attacked in tests/test_report_disclosure.py; here the two ways tables of
different notebooks undo each other's protection are built by hand, with the numbers worked out:
organization totals n-weighted over CDVC (n=40), DTN (n=20) and HCCB (n=3).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import disclosure

UNITS = pd.DataFrame({"unit": ["CDVC01", "DTN01", "HCCB01"], "org": ["CDVC", "DTN", "HCCB"]})


def _write(folder: Path, name: str, df: pd.DataFrame) -> None:
    (folder / "tables").mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "tables" / f"{name}.csv", index=False, encoding="utf-8-sig")


def _by_org(with_total: bool, dtn_hidden: bool) -> pd.DataFrame:
    # total: (40*3.50 + 20*4.00 + 3*1.00) / 63 = 223/63 = 3.54
    rows = [("2025", None, 3.54, 63.0)] if with_total else []
    rows += [("2025", "CDVC", 3.50, 40.0), ("2025", "DTN", 4.00, 20.0), ("2025", "HCCB", None, None)]
    df = pd.DataFrame(rows, columns=["wave", "org", "estimate", "n"])
    df.insert(2, "variable", "sat")
    df["suppressed"] = df["org"].eq("HCCB") | (df["org"].eq("DTN") & dtn_hidden)
    df.loc[df["suppressed"], ["estimate", "n"]] = None
    df["note"] = df["suppressed"].map({True: "x", False: ""})
    return df


def _report(tmp_path: Path, trend_dtn_hidden: bool, changes: bool = False) -> Path:
    folder = tmp_path / "reports" / "member" / "2025"
    _write(folder, "constructs_by_org", _by_org(with_total=True, dtn_hidden=True))
    _write(folder, "trends_constructs_by_org", _by_org(with_total=False, dtn_hidden=trend_dtn_hidden))
    if changes:
        _write(folder, "changes_constructs_by_org", pd.DataFrame({
            "wave": ["2025"], "baseline_wave": ["2023"], "org": ["DTN"], "variable": ["sat"],
            "estimate_a": [3.9], "estimate_b": [4.0], "estimate": [0.1], "se": [0.05], "n": [20.0],
            "suppressed": [False], "note": [""]}))
    (folder / "manifest.json").write_text(json.dumps({"wave": "2025", "parameters": {"min_group_size": 5}}))
    return folder


def test_consistent_tables_disclose_nothing(tmp_path):
    folder = _report(tmp_path, trend_dtn_hidden=True)
    assert disclosure.audit_report(folder, UNITS).empty
    rt = disclosure.report_tables(folder)
    assert [(n, by) for n, _, by in rt.tables] == [("constructs_by_org", ["wave", "org"]),
                                                  ("trends_constructs_by_org", ["wave", "org"])]


def test_a_complement_published_by_another_notebook_reveals_the_small_group(tmp_path):
    found = disclosure.audit_report(_report(tmp_path, trend_dtn_hidden=False), UNITS)
    # HCCB = total - CDVC - DTN: n = 63 - 40 - 20 = 3 exactly
    assert found[["table", "by", "variable", "kind", "n"]].to_dict("records") == [
        {"table": "constructs_by_org", "by": "org=HCCB, wave=2025", "variable": "mean:sat", "kind": "cell", "n": 3},
        {"table": "trends_constructs_by_org", "by": "org=HCCB, wave=2025", "variable": "mean:sat", "kind": "cell", "n": 3},
    ]


def test_a_difference_repeating_a_hidden_level_is_reported(tmp_path):
    found = disclosure.audit_report(_report(tmp_path, trend_dtn_hidden=True, changes=True), UNITS)
    assert found[["table", "by", "kind", "estimate"]].to_dict("records") == [
        {"table": "changes_constructs_by_org", "by": "org=DTN, wave=2025", "kind": "wave_end", "estimate": 4.0}]
    assert found.loc[0, "used"] == ("changes_constructs_by_org[0].estimate_b; hidden in constructs_by_org[2]")


def test_by_recorded_in_the_notebook_metadata_wins_over_the_columns(tmp_path):
    folder = _report(tmp_path, trend_dtn_hidden=True)
    (folder / "notebooks").mkdir()
    block = {"type": "table", "name": "trends_constructs_by_org", "by": ["org"]}
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "metadata": {"analysis": block}}]}]}
    (folder / "notebooks" / "50_plan_impact.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    rt = disclosure.report_tables(folder)
    assert rt.get("trends_constructs_by_org")[2] == ["wave", "org"]  # the wave column is kept
    assert disclosure.report_tables(folder).get("constructs_by_org")[2] == ["wave", "org"]


def test_parents_recorded_in_the_metadata_must_be_known_to_the_audit(tmp_path):
    folder = _report(tmp_path, trend_dtn_hidden=True)
    (folder / "notebooks").mkdir()
    block = {"type": "table", "name": "trends_constructs_by_org", "by": ["wave", "org"], "parents": ["org"]}
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "metadata": {"analysis": block}}]}]}
    (folder / "notebooks" / "50_plan_impact.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    rt = disclosure.report_tables(folder)
    assert rt.parents == {"trends_constructs_by_org": ["org"]}
    assert disclosure.audit_report(folder, UNITS).empty  # org is the parent in [unit, org]
    wider = pd.DataFrame({"unit": ["CDVC01"], "province": ["NA"]})
    with pytest.raises(ValueError, match=r"parent columns .*'trends_constructs_by_org': \['org'\]"):
        disclosure.audit_report(folder, wider)
    # a recorded grouping column the published table lacks is refused, not silently dropped
    block["by"] = ["wave", "sex"]
    (folder / "notebooks" / "50_plan_impact.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(ValueError, match=r"trends_constructs_by_org.csv: the notebook recorded by=\['wave', 'sex'\]"):
        disclosure.report_tables(folder)


def test_run_folder_without_manifest_is_audited_with_the_given_wave(tmp_path):
    folder = _report(tmp_path, trend_dtn_hidden=False)
    (folder / "manifest.json").unlink()
    assert len(disclosure.audit_report(folder, UNITS, wave="2025")) == 2
