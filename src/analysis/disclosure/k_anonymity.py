"""The k-anonymity check of a respondent-level export: the frame as it may be written, or a refusal.

:func:`k_anonymous_export` drops the metadata columns and refuses an export in which a
combination of quasi-identifiers is shared by fewer than k respondents, after trying the unit
generalised to its organization (strategy point 7 in :mod:`analysis.disclosure`). The command
that writes the file is :mod:`analysis.disclosure.export`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.disclosure.frame import role_column
from analysis.disclosure.keys import normalise_hierarchy
from analysis.disclosure.policy import DisclosureError, DisclosurePolicy, load_policy

__all__ = ["k_anonymous_export"]


def k_anonymous_export(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[str] | None = None,
    k: int | None = None,
    *,
    policy: DisclosurePolicy | None = None,
    hierarchy: pd.DataFrame | None = None,
    instrument: object | None = None,
) -> pd.DataFrame:
    """Return a respondent-level export if it is k-anonymous, else refuse.

    Parameters
    ----------
    df : DataFrame
        One row per respondent.
    quasi_identifiers : sequence of str, optional
        Columns an insider could know about a colleague; defaults to the policy's list. Only
        those present in *df* are checked.
    k : int, optional
        Defaults to the policy's k; never below 3.
    policy : DisclosurePolicy, optional
    hierarchy : DataFrame, optional
        ``[child, parent]`` (e.g. ``[unit, org]``, see :func:`unit_hierarchy`): when given and
        the export is not k-anonymous, the child column is replaced by its parent
        (generalisation) and checked again.
    instrument : Instrument, optional
        Maps the quasi-identifier *roles* (``unit``, ``sex``, …) to the instrument's item names,
        which is how the processed data name their columns. Without it the names are used as
        given, and an export in which none of them is a column is refused (it would otherwise
        pass unchecked because its columns are item names).

    Returns
    -------
    DataFrame
        The export without metadata columns (names starting with ``policy.export_drop_prefixes``).

    Raises
    ------
    DisclosureError
        Naming the smallest equivalence class size, k and the columns.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"_submission_id": range(6), "sex": ["male"] * 5 + ["female"], "q": 1})
    >>> k_anonymous_export(d, ["sex"], 5)
    Traceback (most recent call last):
    ...
    analysis.disclosure.policy.DisclosureError: export refused: the smallest group of respondents sharing the same sex (sex=female) has 1 respondent(s), fewer than k = 5; generalise these columns (e.g. replace unit by org) or drop one of them
    >>> list(k_anonymous_export(d.iloc[:5], ["sex"], 5).columns)
    ['sex', 'q']
    """
    pol = policy or load_policy()
    k = pol.k if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 3:
        raise DisclosureError(f"k_anonymous_export: k = {k!r} is below the allowed minimum of 3")
    drop = [c for c in df.columns if any(str(c).startswith(p) for p in pol.export_drop_prefixes)]
    out = df.drop(columns=drop)
    wanted = list(quasi_identifiers if quasi_identifiers is not None else pol.quasi_identifiers)
    if instrument is not None:
        wanted = [role_column(instrument, c) for c in wanted]
    qi = [c for c in wanted if c in out.columns]
    if wanted and not qi and instrument is None:
        raise DisclosureError(
            f"export refused: none of the quasi-identifiers ({', '.join(wanted)}) is a column; pass "
            "instrument= so that roles map to item names, or quasi_identifiers=[] if the export "
            "really has none"
        )

    def smallest(frame: pd.DataFrame, cols: list[str]) -> tuple[int, str]:
        """Size of the smallest class and its values (``col=value, ...``; ties: first in order)."""
        if not cols or not len(frame):
            return len(frame), ""
        sizes = frame[cols].astype("string").fillna("<missing>").groupby(cols, sort=True).size()
        key = sizes.idxmin()
        key = key if isinstance(key, tuple) else (key,)
        return int(sizes.min()), ", ".join(f"{c}={v}" for c, v in zip(cols, key))

    size, where = smallest(out, qi)
    if not qi or size >= k:
        return out.reset_index(drop=True)
    tried = ""
    if hierarchy is not None:
        for child, parent, mapping in normalise_hierarchy(hierarchy):
            if child in qi:
                gen = out.drop(columns=child)
                if parent not in gen.columns:
                    gen.insert(list(out.columns).index(child), parent, out[child].astype("string").map(mapping))
                cols = [parent if c == child else c for c in qi]
                cols = list(dict.fromkeys(cols))
                gsize, gwhere = smallest(gen, cols)
                if gsize >= k:
                    return gen.reset_index(drop=True)
                qi, size, where = cols, gsize, gwhere
                tried = f" even with {child} generalised to {parent},"
    raise DisclosureError(
        f"export refused:{tried} the smallest group of respondents sharing the same {', '.join(qi)} "
        f"({where}) has {size} respondent(s), fewer than k = {k}; generalise these columns (e.g. "
        "replace unit by org) or drop one of them"
    )
