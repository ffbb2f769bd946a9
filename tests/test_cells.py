"""Which notebook cells run for an instrument (analysis.report.cells), on the shipped notebooks."""

from __future__ import annotations

import nbformat
import pytest

from analysis import config, project
from analysis.report.cells import cell_needs, select_cells

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def _cell(tags):
    return nbformat.v4.new_code_cell("x = 1", metadata={"tags": tags})


def test_needs_and_without_select_cells():
    nb = nbformat.v4.new_notebook(cells=[_cell([]), _cell(["needs-frame", "needs-groups"]), _cell(["needs-frame"]),
                                         _cell(["lang-en", "without-frame"]), _cell(["needs-breakdown-sex"])])
    keep = select_cells(nb, frozenset({"frame"}))
    assert [c.metadata["tags"] for c in keep.cells] == [[], ["needs-frame"]]
    keep = select_cells(nb, frozenset({"breakdown-sex"}))
    assert [c.metadata["tags"] for c in keep.cells] == [[], ["lang-en", "without-frame"], ["needs-breakdown-sex"]]
    assert len(nb.cells) == 5  # the notebook itself is not changed


def test_an_unknown_feature_is_an_error_not_a_silently_dropped_section():
    with pytest.raises(ValueError, match="cell tag 'needs-fram': unknown feature 'fram'"):
        cell_needs(_cell(["needs-fram"]))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_tag_of_the_shipped_notebooks_is_known(path):
    for cell in nbformat.read(path, as_version=4).cells:
        cell_needs(cell)  # raises on an unknown feature


@pytest.mark.parametrize("instrument", ["member", "unit"])
def test_the_shipped_study_runs_every_section_and_no_omission_sentence(instrument):
    # Đề án 04 has a frame, raking margins, the plan, a unit survey and organizations: for its
    # instruments only the sentences about what a study lacks are left out.
    study = project.load_study()
    features = study.features(instrument)
    for name in study.instrument(instrument).notebooks:
        nb = nbformat.read(config.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
        dropped = [c for c in nb.cells if c not in select_cells(nb, features).cells]
        assert all(any(t.startswith("without-") for t in c.metadata.get("tags", [])) for c in dropped), name
