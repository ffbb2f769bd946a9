"""Instruments layer: what the study asks and of whom.

The questionnaires are code (``surveys/<name>/v<version>.yaml``); loading one gives a frozen,
checked `Instrument`. Modules, each with one job:

* `model` — the `Instrument` and its parts (`Item`, `Choice`, `Construct`, `Indicator`, …),
  `InstrumentError`, and the expression helpers (`expression_refs`, `formula_items`);
* `files` — where the instrument files are (`versions`, `instrument_path`);
* `parse` — reading one YAML file into an `Instrument`;
* `checks` — every problem in the files (`check_file`, `check_all`);
* `comparability` — which items two versions share (`comparable_items`, `ItemComparison`);
* `loading` — `load`, checked and cached per file;
* `population` — the population frame (data/population: units, margins), which also supplies
  the instruments' list of units;
* `export` — an instrument as an XLSForm, a printable questionnaire or a codebook;
* `cli` — ``python -m analysis instrument``.

Imports only `analysis.config`. The public API is re-exported here, so
``from analysis import instruments; instruments.load("member")`` is the usual call.

Examples
--------
>>> from analysis import instruments
>>> instruments.load("member").name
'member'
"""

from analysis.instruments.checks import check_all, check_file
from analysis.instruments.comparability import ItemComparison, comparable_items
from analysis.instruments.files import instrument_path, versions
from analysis.instruments.loading import load
from analysis.instruments.model import (
    ROLES,
    Choice,
    Construct,
    Group,
    Indicator,
    Instrument,
    InstrumentError,
    Item,
    Objective,
    TaskGroup,
    expression_refs,
    formula_items,
)

__all__ = [
    "ROLES",
    "InstrumentError",
    "Choice",
    "Item",
    "Group",
    "Construct",
    "Indicator",
    "TaskGroup",
    "Objective",
    "Instrument",
    "ItemComparison",
    "load",
    "versions",
    "instrument_path",
    "check_file",
    "check_all",
    "comparable_items",
    "formula_items",
    "expression_refs",
]
