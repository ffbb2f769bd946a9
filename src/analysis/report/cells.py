"""Which cells of a pipeline notebook run for an instrument: the sections its study offers.

A notebook is written once for every instrument. A section that needs something a study or an
instrument may lack — a population frame, raking margins, the plan, a unit survey, groups,
a breakdown by a role — carries that need as a cell tag, and the runner leaves the section out
before papermill executes the notebook, so it neither crashes nor prints an empty table:

* ``needs-<feature>``: the cell runs only when the study offers *feature*
  (`analysis.project.Study.features`: ``frame``, ``rake``, ``plan``, ``unit-survey``,
  ``groups``, ``breakdown-<role>``);
* ``without-<feature>``: the cell runs only when it does not — the sentence that says what was
  left out and why.

Untagged cells always run. A tag naming a feature the toolkit does not know is an error (a typo
would otherwise drop a section silently).

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("a"),
...     nbformat.v4.new_code_cell("b", metadata={"tags": ["needs-frame"]}),
...     nbformat.v4.new_markdown_cell("c", metadata={"tags": ["lang-en", "without-frame"]})])
>>> [c.source for c in select_cells(nb, frozenset({"frame"})).cells]
['a', 'b']
>>> [c.source for c in select_cells(nb, frozenset()).cells]
['a', 'c']
"""

from __future__ import annotations

import copy
import re
from typing import Any

__all__ = ["KNOWN_FEATURES", "select_cells", "cell_needs"]

#: Features a study can offer (`analysis.project.Study.features`); ``breakdown-<role>`` besides.
KNOWN_FEATURES = frozenset({"frame", "rake", "plan", "unit-survey", "groups"})
_TAG = re.compile(r"(needs|without)-(.+)")


def cell_needs(cell: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The features a cell needs and the ones whose absence it describes (from its tags).

    Raises
    ------
    ValueError
        A ``needs-``/``without-`` tag with an unknown feature (the tag is named).
    """
    needs, without = set(), set()
    for tag in cell.get("metadata", {}).get("tags", []):
        m = _TAG.fullmatch(tag)
        if not m:
            continue
        feature = m.group(2)
        if feature not in KNOWN_FEATURES and not feature.startswith("breakdown-"):
            raise ValueError(f"cell tag {tag!r}: unknown feature {feature!r} "
                             f"(known: {', '.join(sorted(KNOWN_FEATURES))}, breakdown-<role>)")
        (needs if m.group(1) == "needs" else without).add(feature)
    return frozenset(needs), frozenset(without)


def select_cells(notebook: Any, features: frozenset[str]) -> Any:
    """A copy of *notebook* with only the cells the *features* allow (see the module docstring)."""
    out = copy.deepcopy(notebook)
    kept = []
    for cell in out.cells:
        needs, without = cell_needs(cell)
        if needs <= features and not (without & features):
            kept.append(cell)
    out.cells = kept
    return out
