"""The field team's selection list: a seeded simple random sample of members per unit from a membership register.

The register is a CSV of member ids by unit (columns ``unit`` and ``member_id``; more columns
are kept but not read). It holds personal data: it is never committed and the list drawn from it
is written under ``data/planning/<wave>/`` only (never under ``reports/``), with a manifest of
the seed, the register's SHA-256 and the number drawn per unit, so that a rerun gives the same
list and anyone can check that the list came from that register.

Selection: within each unit, the register's rows are sorted by member id (so the register's row
order does not matter), each gets a uniform draw from ``numpy.random.default_rng([seed,
wave])`` and the ``k_h`` smallest draws are selected — simple random sampling without
replacement of ``k_h`` from ``N_h`` (every subset equally likely), vectorised over units.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config

__all__ = ["REGISTER_COLUMNS", "read_register", "draw_selection", "write_selection"]

#: Columns a register must have.
REGISTER_COLUMNS = ("unit", "member_id")


def read_register(path: Path | str, units: pd.DataFrame) -> pd.DataFrame:
    """Read and check a membership register.

    Parameters
    ----------
    path : path
        CSV (UTF-8, with or without BOM) with columns ``unit`` and ``member_id``.
    units : DataFrame
        The frame's units (``unit_id``).

    Returns
    -------
    DataFrame
        ``[unit, member_id, _row]`` as text; ``_row`` is the file's line number (header = 1).

    Raises
    ------
    ValueError
        Every problem at once, each naming the file, row, column, value and rule: a missing
        column, an empty id, a unit not in the frame, a member id twice in a unit.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: membership register not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in REGISTER_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: row 1 (header): column(s) {', '.join(missing)} missing; a register needs "
                         f"columns {', '.join(REGISTER_COLUMNS)} (found: {', '.join(df.columns) or 'none'})")
    out = pd.DataFrame({"unit": df["unit"].str.strip(), "member_id": df["member_id"].str.strip(),
                        "_row": np.arange(2, len(df) + 2)})
    known = set(units["unit_id"])
    problems = []
    for col in REGISTER_COLUMNS:
        for row in out.loc[out[col] == "", "_row"]:
            problems.append(f"{path}: row {row}, column {col}: empty value; every member needs a {col}")
    bad = out[(out["unit"] != "") & ~out["unit"].isin(known)]
    problems += [f"{path}: row {r.Row}, column unit: value {r.unit!r} is not a unit of the population frame "
                 "(data/population/units.csv)" for r in bad.rename(columns={"_row": "Row"}).itertuples()]
    dup = out[(out["member_id"] != "") & out.duplicated(["unit", "member_id"], keep="first")]
    problems += [f"{path}: row {r.Row}, column member_id: value {r.member_id!r} appears twice in unit {r.unit}; "
                 "a member is listed once" for r in dup.rename(columns={"_row": "Row"}).itertuples()]
    if problems:
        shown = problems[:20] + ([f"… and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise ValueError("membership register rejected:\n" + "\n".join(shown))
    return out


def draw_selection(register: pd.DataFrame, invitations: pd.Series, *, seed: int, wave: str) -> pd.DataFrame:
    """Members to invite: ``invitations[unit]`` drawn at random in each unit (all if fewer are listed).

    Returns
    -------
    DataFrame
        ``[unit, member_id, order]`` sorted by unit and ``order`` (the draw's rank: the field
        team can invite in this order, or use the last ones as replacements if the plan allows).
    """
    reg = register.sort_values(["unit", "member_id"], kind="stable").reset_index(drop=True)
    rng = np.random.default_rng([int(seed), int(wave) if str(wave).isdigit() else 0])
    u = rng.random(len(reg))
    rank = pd.Series(u).groupby(reg["unit"].to_numpy()).rank(method="first").to_numpy()
    k = reg["unit"].map(invitations).fillna(0).to_numpy(dtype=float)
    out = reg.assign(order=rank.astype("int64"))[rank <= k][["unit", "member_id", "order"]]
    return out.sort_values(["unit", "order"]).reset_index(drop=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_selection(selection: pd.DataFrame, register_path: Path | str, register: pd.DataFrame,
                    invitations: pd.Series, *, seed: int, wave: str, out_dir: Path | None = None) -> dict:
    """Write ``selection.csv`` and ``selection_manifest.json`` under ``data/planning/<wave>/``.

    The manifest holds the seed, the register's file name and SHA-256, members listed and
    selected per unit, and the units whose register lists fewer members than the plan invites.
    Returns the manifest.
    """
    # The command always writes under data/ (out_dir is for tests writing to a temporary folder).
    folder = Path(out_dir) if out_dir is not None else config.resolve_inside(
        config.DATA_DIR / "planning" / config.check_id(str(wave), "wave"), config.DATA_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    listed = register.groupby("unit").size()
    chosen = selection.groupby("unit").size()
    short = sorted(u for u, k in invitations.items() if k > listed.get(u, 0))
    manifest = {
        "wave": str(wave), "seed": int(seed), "register_file": Path(register_path).name,
        "register_sha256": _sha256(Path(register_path)), "register_rows": int(len(register)),
        "selected": int(len(selection)),
        "selected_per_unit": {u: int(chosen.get(u, 0)) for u in sorted(invitations.index)},
        "listed_per_unit": {u: int(listed.get(u, 0)) for u in sorted(invitations.index)},
        "units_listing_fewer_than_planned": short,
        "method": "simple random sample without replacement per unit (numpy default_rng([seed, wave]))",
    }
    tmp = folder / "selection.csv.tmp"
    tmp.write_text(selection.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    tmp.replace(folder / "selection.csv")
    (folder / "selection_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                                   encoding="utf-8")
    return manifest
