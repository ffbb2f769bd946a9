"""Columns of a design's data: lookup, numeric values, combined level codes, row lists.

Shared by the design (`linearisation`, `design`), `weighting` and `compare`, with the error
they raise, `DesignError`: a missing column, text where numbers are needed, or the rows that
break a rule, named in the message.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["DesignError", "row_labels", "data_column", "numeric_column", "level_codes", "dense_rank"]


class DesignError(ValueError):
    """Invalid design specification or data (names the column, rows and rule)."""


def row_labels(index: pd.Index, mask: np.ndarray, limit: int = 5) -> str:
    """The first ``limit`` index labels where ``mask`` is true, and how many more, for messages.

    >>> row_labels(pd.Index([10, 11, 12]), np.array([True, False, True]), limit=1)
    '10 and 1 more'
    """
    labels = [repr(x) for x in index[mask][:limit]]
    more = int(mask.sum()) - len(labels)
    return ", ".join(labels) + (f" and {more} more" if more > 0 else "")


def data_column(data: pd.DataFrame, name: str, role: str) -> pd.Series:
    """The column ``name``; a `DesignError` naming the ``role`` when it is not in the data."""
    if name not in data.columns:
        raise DesignError(f"{role}: column {name!r} is not in the data")
    return data[name]


def numeric_column(data: pd.DataFrame, name: str, role: str) -> np.ndarray:
    """A numeric column as float64 (NaN for missing); refuses text rather than coercing it."""
    col = data_column(data, name, role)
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype="float64", na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(col.dtype):
        raise DesignError(f"{role}: column {name!r} has dtype {col.dtype}; a numeric column is needed")
    return col.to_numpy(dtype="float64", na_value=np.nan)


def dense_rank(keys: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct ``keys`` (integers in ``0..space-1``) and each key's position among
    them, as ``np.unique(keys, return_inverse=True)``; a bitmap instead of a sort when the key
    space is small (at 1M rows the sort is 90 ms, the bitmap 5).

    >>> dense_rank(np.array([5, 2, 5]), 8)
    (array([2, 5]), array([1, 0, 1]))
    """
    if space > 4 * len(keys) + 1024:
        return np.unique(keys, return_inverse=True)
    seen = np.zeros(space, dtype=bool)
    seen[keys] = True
    rank = np.cumsum(seen) - 1
    return np.flatnonzero(seen), rank[keys]


def level_codes(data: pd.DataFrame, names: Sequence[str], role: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer codes (sorted by the columns' values, -1 where any is missing) and the levels."""
    parts = []
    for name in names:
        codes, uniques = pd.factorize(data_column(data, name, role), sort=True)
        parts.append((codes, uniques))
    if len(parts) == 1:  # factorize's sorted codes are already the levels' ranks (-1: missing)
        codes, uniques = parts[0]
        return codes.astype(np.int64, copy=False), pd.DataFrame({names[0]: uniques})
    combined = np.zeros(len(data), dtype=np.int64)
    missing = np.zeros(len(data), dtype=bool)
    for codes, uniques in parts:
        combined = combined * max(len(uniques), 1) + codes
        missing |= codes < 0
    combined[missing] = -1
    present, inverse = dense_rank(combined[~missing], int(np.prod([max(len(u), 1) for _, u in parts])))
    out = np.full(len(data), -1, dtype=np.int64)
    out[~missing] = inverse
    levels = {}
    rest = present
    for name, (_, uniques) in reversed(list(zip(names, parts, strict=True))):
        size = max(len(uniques), 1)
        levels[name] = uniques.take(rest % size)
        rest = rest // size
    frame = pd.DataFrame({name: levels[name] for name in names})
    return out, frame
