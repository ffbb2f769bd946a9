"""Quality flags on accepted submissions: flagged, never dropped.

Each function takes the typed answers (one row per submission) and returns a boolean Series
aligned to the rows, so the import can store them as ``_flag_*`` columns and the report can
count them. Duplicates are different: they decide which rows are kept, so `find_duplicates`
returns the decision, and `apply_resolutions` applies the researcher's resolution file.

==========================  ===========================================================
flag                        rule
==========================  ===========================================================
``_flag_speeder``           ``_duration_s`` below the wave's ``speeder_seconds``
``_flag_straightliner``     at least ``min_items`` scale items answered (missing codes not
                            counted) and every one of them has the same code
``_flag_item_nonresponse``  share of the *applicable* scale items left blank or answered
                            with a missing code ("Không biết / không trả lời") above
                            ``threshold``
``_flag_duplicate``         the row kept from a group of submissions with the same id
                            (exact copies, or a conflict settled by the resolution file)
==========================  ===========================================================

Scale items are the instrument's construct items answered on an ordered scale
(`analysis.instruments.Instrument.scale_items`); an instrument without them (the unit survey)
gets no straight-lining or item-nonresponse flags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_STRAIGHTLINER_MIN_ITEMS",
    "DEFAULT_ITEM_NONRESPONSE_THRESHOLD",
    "DuplicateDecision",
    "flag_speeders",
    "flag_straightliners",
    "flag_item_nonresponse",
    "find_duplicates",
    "apply_resolutions",
    "ResolutionError",
]

#: A respondent is a straight-liner only if at least this many scale items were answered.
DEFAULT_STRAIGHTLINER_MIN_ITEMS = 10
#: Flag a respondent when more than this share of applicable scale items is blank or "don't know".
DEFAULT_ITEM_NONRESPONSE_THRESHOLD = 0.5


def flag_speeders(duration_s: pd.Series, floor_seconds: float | None) -> pd.Series:
    """True where the interview took less than *floor_seconds*; False when unknown.

    Examples
    --------
    >>> flag_speeders(pd.Series([100.0, 700.0, float("nan")]), 300).tolist()
    [True, False, False]
    >>> flag_speeders(pd.Series([100.0]), None).tolist()
    [False]
    """
    if floor_seconds is None:
        return pd.Series(False, index=duration_s.index, dtype=bool)
    d = pd.to_numeric(duration_s.astype("Float64"), errors="raise")
    return (d < float(floor_seconds)).fillna(False).astype(bool)


def _answered(data: pd.DataFrame, items: Sequence[str], missing_codes: Mapping[str, frozenset[str]]) -> pd.DataFrame:
    cols = {}
    for name in items:
        col = data[name]
        cols[name] = col.notna() & ~col.isin(list(missing_codes.get(name, frozenset())))
    return pd.DataFrame(cols, index=data.index)


def flag_straightliners(data: pd.DataFrame, items: Sequence[str], *, missing_codes: Mapping[str, frozenset[str]],
                        min_items: int = DEFAULT_STRAIGHTLINER_MIN_ITEMS) -> pd.Series:
    """True where ≥ *min_items* scale items are answered and all answers are the same code.

    Examples
    --------
    >>> d = pd.DataFrame({"a": ["4", "4", "4"], "b": ["4", "2", "9"], "c": ["4", "4", "4"]}, dtype="string")
    >>> flag_straightliners(d, ["a", "b", "c"], missing_codes={"b": frozenset({"9"})}, min_items=3).tolist()
    [True, False, False]
    """
    if not items:
        return pd.Series(False, index=data.index, dtype=bool)
    answered = _answered(data, items, missing_codes).to_numpy(dtype=bool)
    # One code per distinct answer over the whole table; a row is one answer throughout when
    # its smallest and largest code among the answered items agree. Coded column by column (no
    # object copy of every answer): a column's few distinct answers get their table-wide code.
    code_of: dict[object, int] = {}
    codes = np.empty(answered.shape, dtype=np.intp, order="F")  # filled column by column
    for k, name in enumerate(items):
        local, uniques = pd.factorize(data[name])
        table_wide = np.array([code_of.setdefault(u, len(code_of)) for u in uniques] + [-1], dtype=np.intp)
        codes[:, k] = table_wide[local]  # -1 (blank) takes the last entry
    lowest = np.where(answered, codes, np.iinfo(codes.dtype).max).min(axis=1)
    highest = np.where(answered, codes, -1).max(axis=1)
    same = (answered.sum(axis=1) >= min_items) & (lowest == highest)
    return pd.Series(same, index=data.index, dtype=bool)


def flag_item_nonresponse(data: pd.DataFrame, items: Sequence[str], *, missing_codes: Mapping[str, frozenset[str]],
                          applies: pd.DataFrame | None = None,
                          threshold: float = DEFAULT_ITEM_NONRESPONSE_THRESHOLD) -> pd.Series:
    """True where the share of applicable scale items not answered exceeds *threshold*.

    A blank item that did not apply (skip logic, *applies* False) is not nonresponse.

    Examples
    --------
    >>> d = pd.DataFrame({"a": ["9", "4"], "b": [None, "9"], "c": ["4", "4"]}, dtype="string")
    >>> flag_item_nonresponse(d, ["a", "b", "c"], missing_codes={"a": frozenset({"9"}), "b": frozenset({"9"})}).tolist()
    [True, False]
    """
    if not items:
        return pd.Series(False, index=data.index, dtype=bool)
    answered = _answered(data, items, missing_codes)
    asked = applies[list(items)] if applies is not None else pd.DataFrame(True, index=data.index, columns=list(items))
    n_asked = asked.sum(axis=1)
    n_missing = (asked & ~answered).sum(axis=1)
    share = n_missing / n_asked.where(n_asked > 0)
    return (share > threshold).fillna(False).astype(bool)


@dataclass(frozen=True)
class DuplicateDecision:
    """What to do with rows sharing a submission id.

    ``drop_exact``: extra copies identical to an earlier row (dropped, logged);
    ``conflict``: rows whose id occurs with different content (held out until resolved);
    ``kept_copy``: rows kept from a group of exact copies (``_flag_duplicate``).
    All three are boolean Series aligned to the input rows.
    """

    drop_exact: pd.Series
    conflict: pd.Series
    kept_copy: pd.Series


def find_duplicates(ids: pd.Series, content: pd.DataFrame) -> DuplicateDecision:
    """Exact and conflicting duplicates by submission id, in the input's row order.

    Parameters
    ----------
    ids
        Submission ids (blank ids never match each other).
    content
        The answers that define "same content" (item columns as canonical strings); metadata
        such as file, row or submission time is deliberately left out, so the same submission
        exported twice is an exact duplicate.

    Examples
    --------
    >>> ids = pd.Series(["a", "a", "b", "b", "c"])
    >>> content = pd.DataFrame({"q": ["1", "1", "1", "2", "1"]})
    >>> d = find_duplicates(ids, content)
    >>> d.drop_exact.tolist(), d.conflict.tolist(), d.kept_copy.tolist()
    ([False, True, False, False, False], [False, False, True, True, False], [True, False, False, False, False])
    """
    has_id = ids.notna() & (ids.astype(str) != "")
    key = ids.astype(object).astype(str)
    # Rows are compared with their id: only rows whose id occurs more than once can be copies
    # or versions, so the whole-row comparison runs on those few rows, not on every answer.
    shared = key.duplicated(keep=False).to_numpy(dtype=bool)
    frame = content[shared].astype(str)
    frame.insert(0, "\x00id", key[shared])
    # DataFrame.duplicated compares whole rows (vectorised hashing of every column).
    repeat, copied = np.zeros(len(key), dtype=bool), np.zeros(len(key), dtype=bool)
    repeat[shared] = frame.duplicated(keep="first").to_numpy(dtype=bool)
    copied[shared] = frame.duplicated(keep=False).to_numpy(dtype=bool)
    exact_repeat = pd.Series(repeat, index=ids.index) & has_id
    first_of_exact = pd.Series(copied, index=ids.index) & has_id & ~exact_repeat
    versions = key[~exact_repeat & has_id].value_counts()
    conflicting_ids = versions[versions > 1].index
    conflict = has_id & ~exact_repeat & key.isin(conflicting_ids)
    return DuplicateDecision(exact_repeat.astype(bool), conflict.astype(bool), (first_of_exact & ~conflict).astype(bool))


class ResolutionError(ValueError):
    """A duplicate-resolution file that cannot be applied (named file, row and reason)."""


def apply_resolutions(resolutions: pd.DataFrame, ids: pd.Series, conflict: pd.Series, files: pd.Series,
                      rows: pd.Series, *, source: str = "resolutions.csv") -> tuple[pd.Series, pd.Series, list[str]]:
    """Settle conflicting duplicates with the researcher's resolution file.

    Parameters
    ----------
    resolutions
        Columns ``submission_id`` and ``keep`` (strings). ``keep`` is the row number of the
        version to keep as the user sees it in the file (header = row 1), ``<file>:<row>``
        when several files are imported, or ``none`` to drop every version.
    ids, conflict, files, rows
        Aligned to the imported rows: submission id, conflict mask (`find_duplicates`),
        source file name and source row.

    Returns
    -------
    (keep, drop, notes)
        ``keep``: conflicting rows chosen to be kept; ``drop``: conflicting rows dropped by
        the file; ``notes``: resolution lines that matched no conflict (reported, harmless).

    Raises
    ------
    ResolutionError
        Missing columns, or a ``keep`` that names no row of that submission id.
    """
    missing = {"submission_id", "keep"} - set(resolutions.columns)
    if missing:
        raise ResolutionError(f"{source}: columns {sorted(missing)} are missing (expected: submission_id, keep)")
    keep = pd.Series(False, index=ids.index)
    drop = pd.Series(False, index=ids.index)
    notes: list[str] = []
    ids_s = ids.astype(object)
    for line, (sid, choice) in enumerate(zip(resolutions["submission_id"], resolutions["keep"]), start=2):
        sid, choice = str(sid).strip(), str(choice).strip()
        group = conflict & (ids_s == sid)
        if not group.any():
            notes.append(f"{source} row {line}: submission {sid!r} has no conflicting duplicates in this import; line not needed")
            continue
        if choice.lower() == "none":
            drop |= group
            continue
        target_file, _, target_row = choice.rpartition(":")
        if not target_row.isdigit():
            raise ResolutionError(f"{source} row {line}: keep={choice!r} for submission {sid!r} is not a row number, "
                                  f"'<file>:<row>' or 'none'")
        match = group & (rows.astype("Int64") == int(target_row))
        if target_file:
            match &= files.astype(str) == target_file
        if match.sum() != 1:
            options = ", ".join(f"{f}:{r}" for f, r in zip(files[group], rows[group]))
            why = "matches several rows (add the file name)" if match.sum() > 1 else "is not one of its rows"
            raise ResolutionError(f"{source} row {line}: keep={choice!r} for submission {sid!r} {why}; "
                                  f"its versions are at {options}")
        keep |= match
        drop |= group & ~match
    return keep.astype(bool), drop.astype(bool), notes
