"""The population frame: the published figures the samples are weighted to, and the unit list.

Files (``data/population/``, committed; written by ``scripts/make_population_frame.py``):

* ``margins.csv`` — ``org, variable, level, count``: units and members per organization, and
  the org × sex and org × party margins **as published** (the full org × sex × party table is
  not published, so it is not invented here).
* ``qualifications.csv`` — ``variable, level, count``: education and political-theory figures
  for the three organizations together (published).
* ``units.csv`` — ``unit_id, org, name_vi, name_en, members, synthetic``: the 103 grassroots
  units. The list and the sizes are **synthetic** (only the number of units per organization is
  published); sizes add up exactly to the organization totals. This file is the one list of
  units: the instruments' ``unit`` choice list is built from it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis import config

__all__ = [
    "ORGS",
    "load_units",
    "load_margins",
    "margins",
    "org_margins",
    "unit_sizes",
    "qualifications",
    "education_margins",
]

#: Organization codes in their canonical order (CONTRIBUTING.md).
ORGS: tuple[str, ...] = ("CDVC", "HCCB", "DTN")


def _dir(population_dir: Path | str | None) -> Path:
    return Path(population_dir) if population_dir is not None else config.POPULATION_DIR


@lru_cache(maxsize=8)
def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"population frame file {path} is missing (run scripts/make_population_frame.py)")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def load_units(population_dir: Path | str | None = None) -> pd.DataFrame:
    """The grassroots units: one row per unit, sorted by organization and unit id.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id`` (str, e.g. ``CDVC07``), ``org`` (str), ``name_vi``, ``name_en``,
        ``members`` (int64: the unit's member count, the design's fpc), ``synthetic`` (bool).

    Examples
    --------
    >>> units = load_units()
    >>> len(units), int(units["members"].sum())
    (103, 6314)
    >>> units.groupby("org", sort=False)["unit_id"].count().to_dict()
    {'CDVC': 48, 'HCCB': 20, 'DTN': 35}
    """
    df = _read(_dir(population_dir) / "units.csv").copy()
    df["members"] = df["members"].astype("int64")
    df["synthetic"] = df["synthetic"].str.lower().eq("true")
    order = {org: i for i, org in enumerate(ORGS)}
    df = df.sort_values(["org", "unit_id"], key=lambda s: s.map(order) if s.name == "org" else s)
    return df.reset_index(drop=True)


def unit_sizes(population_dir: Path | str | None = None) -> dict[str, int]:
    """Members per unit, ``{unit_id: members}`` — the fpc of the stratified design.

    Examples
    --------
    >>> unit_sizes()["HCCB01"] > 0
    True
    """
    units = load_units(population_dir)
    return dict(zip(units["unit_id"], units["members"].astype(int)))


def load_margins(population_dir: Path | str | None = None) -> pd.DataFrame:
    """``margins.csv`` as published: ``org, variable, level, count`` (count int64)."""
    df = _read(_dir(population_dir) / "margins.csv").copy()
    df["count"] = df["count"].astype("int64")
    return df


def org_margins(population_dir: Path | str | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """Published margins per organization: ``{org: {"sex": {...}, "party": {...}}}``.

    Use these to rake within an organization (the org × sex and org × party margins are the
    finest published cross-tabulations).

    Examples
    --------
    >>> org_margins()["HCCB"]
    {'sex': {'male': 312, 'female': 3}, 'party': {'yes': 303, 'no': 12}}
    """
    df = load_margins(population_dir)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for org in ORGS:
        rows = df[df["org"] == org]
        out[org] = {
            var: {lvl: int(c) for lvl, c in zip(g["level"], g["count"])}
            for var in ("sex", "party")
            for g in [rows[rows["variable"] == var]]
        }
    return out


def margins(population_dir: Path | str | None = None) -> dict[str, dict[str, int]]:
    """Population margins for raking: ``{"org": {...}, "sex": {...}, "party": {...}}``.

    Notes
    -----
    ``sex`` and ``party`` are summed over the three organizations; each set of margins adds up
    to the 6,314 members.

    Examples
    --------
    >>> m = margins()
    >>> m["org"]
    {'CDVC': 4816, 'HCCB': 315, 'DTN': 1183}
    >>> m["sex"], m["party"]
    ({'male': 3038, 'female': 3276}, {'yes': 4320, 'no': 1994})
    """
    df = load_margins(population_dir)
    members = df[df["variable"] == "members"].set_index("org")["count"]
    out: dict[str, dict[str, int]] = {"org": {org: int(members[org]) for org in ORGS}}
    per_org = org_margins(population_dir)
    for var in ("sex", "party"):
        levels = list(per_org[ORGS[0]][var])
        out[var] = {lvl: sum(per_org[org][var][lvl] for org in ORGS) for lvl in levels}
    return out


def qualifications(population_dir: Path | str | None = None) -> pd.DataFrame:
    """Published qualifications of all members: ``variable, level, count``.

    Examples
    --------
    >>> qualifications().set_index("level")["count"].to_dict()
    {'doctorate': 31, 'master': 1396, 'university': 4408, 'advanced': 647}
    """
    df = _read(_dir(population_dir) / "qualifications.csv").copy()
    df["count"] = df["count"].astype("int64")
    return df


def education_margins(population_dir: Path | str | None = None) -> dict[str, int]:
    """Education margin with the unpublished remainder as ``below_university``.

    Notes
    -----
    The published figures (doctorate, master's, university) are read as highest degree; the
    members not covered (6,314 − 5,835 = 479) are assumed to hold a lower qualification. This
    is an assumption, not a published figure — say so when weighting on it.

    Examples
    --------
    >>> education_margins()
    {'below_university': 479, 'university': 4408, 'master': 1396, 'doctorate': 31}
    """
    q = qualifications(population_dir)
    edu = dict(zip(q.loc[q["variable"] == "education", "level"], q.loc[q["variable"] == "education", "count"]))
    total = sum(margins(population_dir)["org"].values())
    out = {"below_university": total - int(sum(edu.values()))}
    out.update({k: int(edu[k]) for k in ("university", "master", "doctorate")})
    return out
