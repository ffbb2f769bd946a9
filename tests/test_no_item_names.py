"""No item name of any instrument appears in src/ or notebooks/ (CONTRIBUTING.md).

Code finds items through the instrument (role, construct, indicator formula), so renaming or
re-versioning an item never breaks analysis code silently. surveys/ (where names are defined)
and tests/ (which may pin names) are not scanned.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import config
from analysis.instruments import load, versions

SCANNED = ("src", "notebooks")
SUFFIXES = {".py", ".ipynb", ".j2", ".html", ".md", ".yaml", ".yml", ".txt", ".json", ".cfg", ".toml", ".R", ".csv"}
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", "analysis.egg-info"}


def _item_names() -> set[str]:
    names: set[str] = set()
    for instrument in ("member", "unit"):
        for version in versions(instrument):
            ins = load(instrument, version)
            names.update(ins.item_names)
            names.update(g.name for g in ins.groups)
    return names


def _files() -> list[Path]:
    out = []
    for top in SCANNED:
        root = config.PROJECT_ROOT / top
        if root.is_dir():
            out += [p for p in sorted(root.rglob("*"))
                    if p.is_file() and p.suffix in SUFFIXES and not SKIP_PARTS & set(p.parts)]
    return out


def test_item_names_are_distinctive():
    # Every name carries its survey prefix, so a hit is never an ordinary word.
    names = _item_names()
    assert names and all(re.fullmatch(r"(ms|us)_[a-z0-9_]+", n) for n in names)


def test_no_item_name_in_src_or_notebooks():
    names = _item_names()
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True))
                         + r")(?![A-Za-z0-9_])")
    hits = []
    for path in _files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for lineno, line in enumerate(text.splitlines(), start=1):
            for m in pattern.finditer(line):
                hits.append(f"{path.relative_to(config.PROJECT_ROOT)}:{lineno}: {m.group(1)}")
    if hits:
        pytest.fail("item names hard-coded outside surveys/ (find items by role, construct or indicator "
                    "instead; in docstrings and help text use an invented name such as 'xx_abc_01'):\n"
                    + "\n".join(hits))
