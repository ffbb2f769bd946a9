"""Safe parameters and paths for the report runner.

Ids are checked before any file is touched, parameter names cannot carry code, and values reach
the notebook exactly as given (papermill's CLI would turn ``001`` into ``1``; the runner passes
Python objects through papermill's API).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from papermill.translators import PythonTranslator

from analysis import cli, config
from analysis import project as study_project
from analysis.report import command
from analysis.report import runner as report

TRICKY = "a'b\"c\nd"


def _forbid_file_access(monkeypatch) -> list[str]:
    """Make every project look-up fail loudly; return the list of attempted calls."""
    calls: list[str] = []

    def refuse(name):
        def _refuse(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called before the ids were checked")
        return _refuse

    monkeypatch.setattr(report, "load_pipeline", refuse("load_pipeline"))
    monkeypatch.setattr(report.waves_mod, "list_waves", refuse("list_waves"))
    monkeypatch.setattr(command, "load_params_file", refuse("load_params_file"))
    monkeypatch.setattr(study_project, "load_study", refuse("load_study"))
    return calls


@pytest.mark.parametrize("wave", ["../../tmp/x", "/etc", "", "2025/../..", ".."])
def test_bad_wave_id_is_rejected_before_any_file_is_touched(wave, tmp_path, monkeypatch, capsys):
    calls = _forbid_file_access(monkeypatch)
    monkeypatch.setattr(config, "REPORTS_DIR", tmp_path / "reports")
    code = cli.main(["report", "--instrument", "member", "--wave", wave, "--params-file", "x.yaml"])
    assert code == 2
    assert f"wave id {wave!r} is not allowed" in capsys.readouterr().err
    assert calls == [] and list(tmp_path.iterdir()) == []
    with pytest.raises(config.InvalidIdentifierError):
        report.run_report("member", wave, reports_root=tmp_path / "reports", notebooks_dir=tmp_path / "nb")
    assert calls == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("instrument", ["", "../member", "/abs", "Member"])
def test_bad_instrument_id_is_rejected(instrument, tmp_path, monkeypatch):
    calls = _forbid_file_access(monkeypatch)
    with pytest.raises(config.InvalidIdentifierError, match="instrument id"):
        report.run_report(instrument, "2025", reports_root=tmp_path / "r")
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_output_paths_stay_inside_the_reports_folder(tmp_path):
    root = tmp_path / "reports"
    assert report.resolve_inside_reports(root / "member" / "2025", root) == (root / "member" / "2025").resolve()
    with pytest.raises(ValueError, match="outside the allowed folders"):
        report.resolve_inside_reports(root / ".." / "x", root)
    (tmp_path / "elsewhere").mkdir()
    root.mkdir()
    (root / "member").symlink_to(tmp_path / "elsewhere")  # a link pointing out is refused too
    with pytest.raises(ValueError, match="outside the allowed folders"):
        report.resolve_inside_reports(root / "member" / "2025", root)


@pytest.mark.parametrize("name", ["x; import os", "import", "_private", "__builtins__", "a-b", "1x", "",
                                  "x\nimport os", "print(1)", "class"])
def test_parameter_names_that_are_not_plain_identifiers_are_rejected(name, monkeypatch, capsys):
    with pytest.raises(report.ParameterError, match="is not allowed"):
        report.check_parameter_name(name)
    with pytest.raises(report.ParameterError):
        report.parse_assignment(f"{name}=1")
    calls = _forbid_file_access(monkeypatch)
    assert cli.main(["report", "--instrument", "member", "--wave", "2025", "-p", f"{name}=1"]) == 2
    assert "not allowed" in capsys.readouterr().err
    assert calls == []


def test_reserved_names_have_their_own_option():
    with pytest.raises(report.ParameterError, match="own option"):
        report.parse_assignment("wave=2025")
    with pytest.raises(report.ParameterError, match="output_dir"):
        report.build_parameters("member", "2025", extra={"output_dir": "/tmp"})


def test_params_file_is_typed_and_checked(tmp_path):
    good = tmp_path / "2025.yaml"
    good.write_text('wave: "2025"\ncode: "001"\ncount: 3\nratio: 0.5\nflags: [a, "002"]\nfrom_date: 2025-03-01\n')
    assert report.load_params_file(good) == {"wave": "2025", "code": "001", "count": 3, "ratio": 0.5,
                                             "flags": ["a", "002"], "from_date": "2025-03-01"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("wave: 2025\n")  # unquoted: YAML makes it a number, and 001 would become 1
    with pytest.raises(report.ParameterError, match='quoted string'):
        report.load_params_file(bad)
    bad.write_text("'x; import os': 1\n")
    with pytest.raises(report.ParameterError, match="not allowed"):
        report.load_params_file(bad)
    bad.write_text("output_dir: /tmp\n")
    with pytest.raises(report.ParameterError, match="computed by the runner"):
        report.load_params_file(bad)


def test_p_values_are_strings_unless_the_params_file_types_them():
    file_params = {"count": 3, "ratio": 0.5, "flag": False, "orgs": ["CDVC"], "code": "001"}
    merged = report.merge_parameters(file_params, {"count": "7", "ratio": "1.25", "flag": "true",
                                                   "orgs": "[CDVC, DTN]", "code": "002", "new": "007"})
    assert merged == {"count": 7, "ratio": 1.25, "flag": True, "orgs": ["CDVC", "DTN"], "code": "002", "new": "007"}
    with pytest.raises(report.ParameterError, match="gives count as int"):
        report.merge_parameters(file_params, {"count": "seven"})


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_papermill_writes_any_string_as_a_literal_that_reads_back_exactly(value):
    # What the runner relies on: papermill's API turns a str into a Python literal of that str.
    assert ast.literal_eval(PythonTranslator.translate(value)) == value


def _executed_params(notebook: Path) -> dict:
    """The parameters the notebook printed (fixture 10_alpha prints them as JSON)."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("name") == "stdout" and output["text"].lstrip().startswith("{"):
                return json.loads(output["text"])
    raise AssertionError(f"no parameters printed in {notebook}")


def test_values_round_trip_exactly_and_wave_001_stays_a_string(report_project, monkeypatch, capsys):
    project = report_project
    project.add_wave("001")
    dirs = project.dirs()
    for key, attr in (("notebooks_dir", "NOTEBOOKS_DIR"), ("reports_root", "REPORTS_DIR"),
                      ("processed_dir", "PROCESSED_DIR"), ("population_dir", "POPULATION_DIR"),
                      ("surveys_dir", "SURVEYS_DIR")):
        monkeypatch.setattr(config, attr, dirs[key])
    monkeypatch.setattr(study_project, "STUDY_FILE", dirs["study_file"])
    params_file = project.root / "params.yaml"
    params_file.write_text('typed: [1, "001", true]\ncode: "from file"\n', encoding="utf-8")

    code = cli.main(["report", "--instrument", "member", "--wave", "001", "--baseline", "001",
                     "-p", f"note={TRICKY}", "-p", "code=001", "--params-file", str(params_file),
                     "--no-progress"])

    assert code == 0, capsys.readouterr().err
    executed = project.reports / "member" / "001" / "vi" / "notebooks" / "10_alpha.ipynb"
    seen = _executed_params(executed)
    assert seen["note"] == TRICKY
    assert seen["wave"] == "001" and seen["baseline_wave"] == "001" and seen["waves"] == ["001"]
    assert seen["code"] == "001"  # -p wins over the params file, and stays a string
    assert seen["typed"] == [1, "001", True]  # typed values come from the params file
    assert seen["min_group_size"] == 5 and seen["lang"] == "vi"
    assert "report written" in capsys.readouterr().out
