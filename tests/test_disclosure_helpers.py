"""Builders of small, internally consistent estimate tables for the disclosure tests (no tests here).

Means are plain (unweighted) group means of respondent data, so every parent is exactly the
n-weighted mean of its children — the relation the attacker exploits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

TIDY = ["variable", "estimate", "se", "ci_low", "ci_high", "n", "deff"]


def tidy_means(resp: pd.DataFrame, groupings: Sequence[Sequence[str]], value: str = "score",
               all_dims: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per group of every grouping (``[]`` is the grand total), margins as NaN."""
    dims = list(all_dims or dict.fromkeys(d for g in groupings for d in g))
    parts = []
    for g in groupings:
        if g:
            agg = resp.groupby(list(g), sort=True)[value].agg(["mean", "std", "size"]).reset_index()
        else:
            v = resp[value]
            agg = pd.DataFrame({"mean": [v.mean()], "std": [v.std()], "size": [len(v)]})
        for d in dims:
            if d not in agg.columns:
                agg[d] = None
        se = (agg["std"] / np.sqrt(agg["size"])).fillna(0.0)
        parts.append(pd.DataFrame({
            **{d: agg[d].astype(object) for d in dims},
            "variable": value,
            "estimate": agg["mean"],
            "se": se,
            "ci_low": agg["mean"] - 1.96 * se,
            "ci_high": agg["mean"] + 1.96 * se,
            "n": agg["size"].astype(int),
            "deff": 1.0,
        }))
    out = pd.concat(parts, ignore_index=True)
    return out[[*dims, *TIDY]]


def respondents(sizes: dict[tuple[str, str], int], seed: int = 1, extra: dict | None = None) -> pd.DataFrame:
    """Respondents per (org, unit) with a 1–5 score drawn from a seeded generator."""
    rng = np.random.default_rng(seed)
    rows = []
    for (org, unit), n in sorted(sizes.items()):
        for _ in range(n):
            rows.append({"org": org, "unit": unit, "score": float(rng.integers(1, 6))})
    df = pd.DataFrame(rows)
    for col, values in (extra or {}).items():
        df[col] = [values[i % len(values)] for i in range(len(df))]
    return df
