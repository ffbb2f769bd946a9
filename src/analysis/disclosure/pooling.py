"""Pooling of small groups in the respondent data, before estimation.

:func:`pool_small_groups` merges the units of an organization that have fewer than k
respondents into one group, so that the unit table stays complete (strategy point 2 in
:mod:`analysis.disclosure`); its :class:`PooledGroups` log goes into the protected table's log
(``protect_table(..., pooling=)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.disclosure.policy import DisclosureError, DisclosurePolicy, load_policy

__all__ = ["PooledGroups", "pool_small_groups"]


@dataclass(frozen=True)
class PooledGroups:
    """Respondent data with small groups pooled (:func:`pool_small_groups`).

    Attributes
    ----------
    data : DataFrame
        The respondents, with ``group_col`` replaced by the pool label for pooled groups.
    log : DataFrame
        ``[parent_col, group_col, n, pooled_into, detail]``: one row per pooled group.
    """

    data: pd.DataFrame
    log: pd.DataFrame
    group_col: str = ""
    into: str | None = None


def pool_small_groups(
    df_respondents: pd.DataFrame,
    group_col: str,
    k: int | None = None,
    parent_col: str | None = None,
    *,
    policy: DisclosurePolicy | None = None,
    label: str | None = None,
    force: Iterable[str] = (),
    into: str | None = None,
) -> PooledGroups:
    """Pool the small groups of each parent into one group of at least k respondents.

    Parameters
    ----------
    df_respondents : DataFrame
        One row per respondent (before estimation).
    group_col : str
        The group to pool (e.g. ``"unit"``).
    k : int, optional
        Minimum size; defaults to the policy's k (never below 3).
    parent_col : str, optional
        Pool within each value of this column (e.g. ``"org"``); without it, pool overall.
    policy : DisclosurePolicy, optional
    label : str, optional
        The pooled group's value; defaults to ``policy.pool_label_vi`` ("Đơn vị khác (gộp)").
    force : iterable of str
        Groups pooled whatever their size (those pooled in another wave, so that the pooled
        group means the same units in every wave).
    into : str, optional
        Write the pooled grouping to this new column and leave *group_col* as it is. Use it
        with the stratified design (``strata="unit", fpc="unit_size"``): the strata and their
        fpc must stay the real units, only the reporting group is pooled.

    Returns
    -------
    PooledGroups
        ``data`` with ``group_col`` replaced by *label* for the pooled groups, and ``log``.

    Notes
    -----
    Within each parent, groups with fewer than k respondents (and forced ones) are pooled; while
    the pool is still below k the next smallest group (ties by code) joins it. If the whole
    parent is below k, the pool is the whole parent and is suppressed later as a small group.
    Every published group then has at least k respondents, so parent minus the other groups
    gives the pool, which is itself published: nothing is hidden, nothing can be derived. The
    pooled group needs ``parent_col`` in the estimate's ``by`` (the label is the same in every
    organization).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"org": ["CDVC"] * 17,
    ...                   "unit": ["CDVC01"] * 10 + ["CDVC02"] * 3 + ["CDVC03"] * 4})
    >>> p = pool_small_groups(r, "unit", 5, "org")
    >>> p.data["unit"].value_counts().to_dict()
    {'CDVC01': 10, 'Đơn vị khác (gộp)': 7}
    >>> p.log[["org", "unit", "n"]].to_dict("list")
    {'org': ['CDVC', 'CDVC'], 'unit': ['CDVC02', 'CDVC03'], 'n': [3, 4]}
    """
    pol = policy or load_policy()
    k = pol.k if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 3:
        raise DisclosureError(f"pool_small_groups: k = {k!r} is below the allowed minimum of 3")
    label = label or pol.pool_label_vi
    forced = {str(x) for x in force}
    data = df_respondents.copy()
    g = data[group_col].astype("string")
    parent = data[parent_col].astype("string") if parent_col else pd.Series("", index=data.index, dtype="string")
    counts = pd.DataFrame({"p": parent, "g": g}).dropna().groupby(["p", "g"], sort=True).size().rename("n").reset_index()
    counts = counts.sort_values(["p", "n", "g"], kind="stable")
    pooled_rows = []
    for p, c in counts.groupby("p", sort=True):
        small = (c["n"] < k) | c["g"].isin(forced)
        if not small.any():
            continue
        take = small.copy()
        # grow the pool with the next smallest group until it reaches k (or the whole parent)
        for i in c.index[~small]:
            if c.loc[take, "n"].sum() >= k:
                break
            take[i] = True
        total = int(c.loc[take, "n"].sum())
        for _, r in c[take].iterrows():
            pooled_rows.append({
                "p": p, "g": r["g"], "n": int(r["n"]), "pooled_into": label,
                "detail": f"pooled with {int(take.sum()) - 1} other group(s): {total} respondents"
                + ("" if total >= k else f" (still fewer than {k}: suppressed as a small group)"),
            })
    log = pd.DataFrame(pooled_rows, columns=["p", "g", "n", "pooled_into", "detail"])
    target = into or group_col
    if into is not None:
        if into in data.columns:
            raise ValueError(f"pool_small_groups: column {into!r} already exists")
        data[into] = data[group_col]
    if len(log):
        hit = pd.MultiIndex.from_arrays([parent.fillna(""), g.fillna("")]).isin(
            pd.MultiIndex.from_arrays([log["p"], log["g"]]))
        data[target] = data[target].astype(object)
        data.loc[hit, target] = label
    log = log.rename(columns={"p": parent_col or "_parent", "g": group_col})
    if not parent_col:
        log = log.drop(columns="_parent")
    return PooledGroups(data, log.reset_index(drop=True), group_col, into)
