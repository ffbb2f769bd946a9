"""Pipeline notebooks hold narrative and calls, not logic (DESIGN.md, convention 5).

Checked statically, without running anything: one tagged ``parameters`` cell of typed,
commented literals naming exactly the parameters the runner passes; no ``def``, ``class``,
loop or comprehension in any code cell; outputs stripped in git; every pipeline notebook is
declared active in pipeline.yaml and publishes through `analysis.report.content`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from analysis import config
from analysis.report import runner as report

NOTEBOOKS = config.PROJECT_ROOT / "notebooks"
PIPELINE = report.load_pipeline(NOTEBOOKS)
PIPELINE_NOTEBOOKS = [step.path(NOTEBOOKS) for step in PIPELINE.steps]
EXPLORATORY = sorted((NOTEBOOKS / "exploratory").glob("*.ipynb"))
#: Statement and expression types that carry logic a notebook must not hold.
FORBIDDEN = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.AsyncFor, ast.While,
             ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)


def _code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_every_declared_notebook_exists_and_is_active():
    assert PIPELINE_NOTEBOOKS
    for step in PIPELINE.steps:
        assert step.path(NOTEBOOKS).is_file(), step.name
        assert step.status == "active", f"{step.name} exists: remove `status: planned` in pipeline.yaml"


@pytest.mark.parametrize("path", PIPELINE_NOTEBOOKS, ids=lambda p: p.stem)
def test_no_def_class_loop_or_comprehension(path):
    for index, cell in enumerate(_code_cells(path)):
        tree = ast.parse(cell.source)
        found = [type(node).__name__ for node in ast.walk(tree) if isinstance(node, FORBIDDEN)]
        assert not found, f"{path.name} code cell {index}: {', '.join(found)} (move the logic to src/analysis)"


@pytest.mark.parametrize("path", PIPELINE_NOTEBOOKS + EXPLORATORY, ids=lambda p: p.stem)
def test_outputs_are_stripped(path):
    for index, cell in enumerate(_code_cells(path)):
        assert not cell.get("outputs") and cell.get("execution_count") is None, f"{path.name} cell {index}"


@pytest.mark.parametrize("path", PIPELINE_NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_of_commented_literals(path):
    cells = _code_cells(path)
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged parameters"
    source = tagged[0].source
    tree = ast.parse(source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, f"{path.name}: only assignments"
        names.append(node.targets[0].id)
        ast.literal_eval(node.value)  # a literal, nothing computed (papermill would not recompute it)
    assert tuple(names) == report.COMMON_PARAMETERS
    for line in source.splitlines():
        assert "#" in line, f"{path.name}: parameter line without a comment: {line!r}"
    # typed as the runner passes them
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body}
    assert all(isinstance(values[k], str) for k in ("instrument", "wave", "baseline_wave", "lang", "output_dir"))
    assert isinstance(values["waves"], list) and isinstance(values["min_group_size"], int)
    assert cells.index(tagged[0]) == 0, f"{path.name}: the parameters cell comes first among code cells"


@pytest.mark.parametrize("path", PIPELINE_NOTEBOOKS, ids=lambda p: p.stem)
def test_narrative_first_and_publishing_through_report_content(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), \
        f"{path.name}: starts with its Vietnamese title (the report's table of contents)"
    code = "\n".join(c.source for c in _code_cells(path))
    assert "analysis.report import content" in code and "disclosure.load_policy(k=min_group_size)" in code
    # numbers reach the reader only as protected tables: no bare display of data
    assert "display(" not in code and ".to_csv(" not in code and "print(" not in code
