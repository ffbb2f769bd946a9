"""A population frame N times the real one, for benchmarks of the whole pipeline at scale (SYNTHETIC DATA).

`scale_frame` writes ``units.csv``, ``margins.csv`` and ``qualifications.csv`` for a frame of
*factor* copies of every unit: the organizations keep their proportions (48 : 20 : 35 units,
each copy as large as the unit it copies), every published count (units, members, sex, party,
qualifications) is multiplied by *factor*, and the unit codes are renumbered within each
organization so that they stay unique (``CDVC0001`` … ``CDVC4800`` at 100×). Factor 1 writes
the frame unchanged. The generator (`analysis.synthetic.generate.generate_demo`) and the import
read the scaled frame like the real one (``population_dir``, or a project whose
``data/population`` holds it), so `scripts/bench.py` runs the ordinary commands on it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from analysis.instruments import population

__all__ = ["scaled_units", "scale_frame"]

_COUNTED = ("units", "members", "sex", "party")  # margins.csv variables that scale with the frame


def scaled_units(units: pd.DataFrame, factor: int) -> pd.DataFrame:
    """*factor* copies of every unit, renumbered within each organization (codes unique).

    Copy ``r`` (0-based) of the ``i``-th unit of an organization with ``k`` units becomes its
    unit number ``r·k + i``; names keep their text and take the new number. With *factor* 1 the
    frame is returned unchanged.

    Examples
    --------
    >>> u = pd.DataFrame({"unit_id": ["A01", "A02", "B01"], "org": ["A", "A", "B"],
    ...                   "name_vi": ["Cơ sở A 01", "Cơ sở A 02", "Cơ sở B 01"],
    ...                   "name_en": ["A unit 01", "A unit 02", "B unit 01"], "members": [10, 20, 5],
    ...                   "synthetic": [True, True, True]})
    >>> s = scaled_units(u, 2)
    >>> s["unit_id"].tolist(), s["members"].tolist()
    (['A01', 'A02', 'A03', 'A04', 'B01', 'B02'], [10, 20, 10, 20, 5, 5])
    >>> s["name_vi"].iloc[3], s["name_en"].iloc[5]
    ('Cơ sở A 04', 'B unit 02')
    """
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"scale factor must be a positive integer, not {factor}")
    if factor == 1:
        return units.reset_index(drop=True).copy()
    parts = []
    for org, group in units.groupby("org", sort=False):
        k = len(group)
        width = max(2, len(str(k * factor)))
        copies = pd.concat([group] * factor, ignore_index=True)
        number = pd.Series(range(1, k * factor + 1)).astype(str).str.zfill(width)
        copies["unit_id"] = str(org) + number
        for col in ("name_vi", "name_en"):
            copies[col] = copies[col].str.replace(r"\s*\d+$", "", regex=True) + " " + number
        parts.append(copies)
    return pd.concat(parts, ignore_index=True)


def scale_frame(out_dir: Path | str, factor: int, population_dir: Path | str | None = None) -> Path:
    """Write the frame of *population_dir* (default the project's) scaled by *factor* to *out_dir*.

    Returns
    -------
    pathlib.Path
        *out_dir*, holding ``units.csv``, ``margins.csv`` and ``qualifications.csv`` in the
        formats of `analysis.instruments.population`; every count is *factor* times the
        original, so the scaled frame's margins add up as the real ones do.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    units = scaled_units(population.load_units(population_dir), factor)
    units["synthetic"] = units["synthetic"].map({True: "true", False: "false"})
    units.to_csv(out / "units.csv", index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL, encoding="utf-8")
    margins = population.load_margins(population_dir)
    margins["count"] = margins["count"].where(~margins["variable"].isin(_COUNTED), margins["count"] * factor)
    margins.to_csv(out / "margins.csv", index=False, lineterminator="\n", encoding="utf-8")
    qual = population.qualifications(population_dir).copy()
    qual["count"] = qual["count"].astype("int64") * factor
    qual.to_csv(out / "qualifications.csv", index=False, lineterminator="\n", encoding="utf-8")
    return out
