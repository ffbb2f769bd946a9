"""Group keys of table rows: grouping columns as text, with parents filled in from the hierarchy.

A row's key is the set of ``(column, value)`` it is about (a missing value is a margin: "all").
:func:`normalise_hierarchy` reads the nesting of grouping columns (unit in organization),
:func:`close_keys` fills in the parents a finer column implies (a unit's organization), and
:func:`key_tuples` gives each row its key. The attacker, :func:`analysis.disclosure.protect_table`
and the export check compare rows by these keys.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["close_keys", "key_tuples", "normalise_hierarchy"]


def normalise_hierarchy(hierarchy: pd.DataFrame | None) -> list[tuple[str, str, dict[str, str]]]:
    """``[(child_col, parent_col, {child: parent})]`` from a DataFrame ordered fine -> coarse.

    A DataFrame with columns ``[unit, org]`` says units nest in organizations; more columns
    (``[unit, org, province]``) give a longer chain. Codes are compared as strings.
    """
    if hierarchy is None:
        return []
    if not isinstance(hierarchy, pd.DataFrame) or hierarchy.shape[1] < 2:
        raise ValueError("hierarchy must be a DataFrame with at least two columns, finest first (e.g. unit, org)")
    pairs = []
    cols = list(hierarchy.columns)
    for child, parent in zip(cols[:-1], cols[1:]):
        m = hierarchy[[child, parent]].dropna().astype(str).drop_duplicates()
        dup = m[m[child].duplicated(keep=False)]
        if len(dup):
            first = dup.iloc[0][child]
            parents = sorted(dup.loc[dup[child] == first, parent])
            raise ValueError(f"hierarchy: {child} {first!r} belongs to more than one {parent}: {parents}")
        pairs.append((str(child), str(parent), dict(zip(m[child], m[parent]))))
    return pairs


def close_keys(df: pd.DataFrame, by: Sequence[str], hier, *, table: str = "table") -> pd.DataFrame:
    """The grouping columns of *df* as strings, with parents filled in from the hierarchy.

    Returns a DataFrame (same index) with one column per dimension (``by`` plus implied
    parents); missing values mean "all" (a margin).
    """
    keys = pd.DataFrame(index=df.index)
    for col in by:
        s = df[col]
        keys[col] = s.astype("string").where(s.notna())
    for child, parent, mapping in hier:
        if child not in keys.columns:
            continue
        implied = keys[child].map(mapping).astype("string")
        if parent in keys.columns:
            clash = keys[parent].notna() & implied.notna() & (keys[parent] != implied)
            if clash.any():
                i = clash.idxmax()
                raise ValueError(
                    f"{table}: row {i!r}: {child} {keys.at[i, child]!r} belongs to {parent} "
                    f"{implied.at[i]!r} in the hierarchy, but the row says {keys.at[i, parent]!r}"
                )
            keys[parent] = keys[parent].fillna(implied)
        else:
            keys[parent] = implied
        orphan = keys[child].notna() & keys[parent].isna()
        if orphan.any():
            i = orphan.idxmax()
            raise ValueError(
                f"{table}: row {i!r}: {child} {keys.at[i, child]!r} is not in the hierarchy; "
                f"put {parent!r} in `by` (pooled groups need their parent column)"
            )
    return keys


def key_tuples(keys: pd.DataFrame) -> list[tuple[tuple[str, str], ...]]:
    """One sorted ``((dim, value), ...)`` tuple per row, margins (missing values) left out."""
    cols = sorted(keys.columns)
    vals = keys[cols].astype(object).where(keys[cols].notna(), None).to_numpy()
    return [tuple((c, v) for c, v in zip(cols, row) if v is not None) for row in vals]
