"""Suppression of one published table: :func:`protect_table` and what works on its result.

:func:`protect_table` hides the cells of fewer than k respondents, the homogeneous cells of
sensitive items and the hidden wave ends, then — with the attacker
(:mod:`analysis.disclosure.audit`) on everything published together — the complementary cells
(strategy points 1, 3–5 in :mod:`analysis.disclosure`; the complementary cells of least cost
come from :mod:`analysis.disclosure.complement`). Its :class:`ProtectedTable` is drawn with
:func:`mask_for_plot` and its log kept with :func:`write_log`; :func:`protect_comparison`
protects a wave comparison with its two protected level tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.disclosure.cells import build_cells
from analysis.disclosure.complement import least_cost_pattern
from analysis.disclosure.keys import close_keys, key_tuples, normalise_hierarchy
from analysis.disclosure.policy import DisclosureError, DisclosurePolicy, load_policy
from analysis.disclosure.pooling import PooledGroups

__all__ = [
    "COUNTS",
    "LOG_COLUMNS",
    "NUMERIC_COLUMNS",
    "ProtectedTable",
    "SHARE_EXTRA_DECIMALS",
    "mask_for_plot",
    "protect_comparison",
    "protect_table",
    "write_log",
]

#: Columns emptied in a suppressed row (those present in the table).
NUMERIC_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "n", "deff")
#: Further estimate columns rounded like ``estimate`` (and emptied in a suppressed row).
ROUNDED_EXTRA_COLUMNS = ("estimate_a", "estimate_b")
#: Columns of :attr:`ProtectedTable.log` after the table's ``by`` columns.
LOG_COLUMNS = ("variable", "reason", "n", "detail")

_REASON_ORDER = {"pooled": 0, "primary": 1, "homogeneous": 2, "wave": 3, "complementary": 4}


#: What ``n`` counts in a table: the people who answered (member survey) or grassroots units
#: (unit facts: a unit survey row, an indicator over units).
COUNTS = ("respondents", "units")


def _footnote_texts(policy: DisclosurePolicy, counts: str = "respondents") -> dict[str, dict[str, str]]:
    k, m1, m2 = policy.k, policy.primary_marker, policy.marker_other
    if counts == "units":
        return {
            m1: {
                "vi": f"{m1}: không công bố vì có ít hơn {k} cơ sở, để không suy ra được số liệu của từng cơ sở.",
                "en": f"{m1}: not published because fewer than {k} units are behind it, so that no single unit's "
                      "figures can be inferred.",
            },
            m2: {
                "vi": f"{m2}: không công bố để không suy ra được số liệu của nhóm khác hoặc của từng cơ sở.",
                "en": f"{m2}: not published so that no other group's or single unit's figures can be inferred.",
            },
        }
    return {
        m1: {
            "vi": f"{m1}: không công bố vì có ít hơn {k} người trả lời, để bảo đảm bí mật cho người trả lời.",
            "en": f"{m1}: not published because fewer than {k} people answered, to protect respondents' confidentiality.",
        },
        m2: {
            "vi": f"{m2}: không công bố để bảo đảm bí mật cho người trả lời (tránh suy ra số liệu của nhóm khác hoặc của từng người).",
            "en": f"{m2}: not published to protect respondents' confidentiality (so that no other group's or person's figures can be inferred).",
        },
    }


#: Shares (0–1) are rounded to ``policy.decimals`` + this: with 2, a tenth of a percent.
SHARE_EXTRA_DECIMALS = 1


@dataclass(frozen=True)
class ProtectedTable:
    """A table that is safe to publish, and the record of what was hidden.

    Attributes
    ----------
    table : DataFrame
        The input columns plus ``suppressed`` (bool), ``note`` (the marker, or ``""``) and
        ``display`` (the rounded estimate as text, or the marker). Suppressed rows have missing
        values in every column of :data:`NUMERIC_COLUMNS`. Numbers are rounded to
        ``policy.decimals``; shares (a table with a ``level`` column) to one decimal more
        (:data:`SHARE_EXTRA_DECIMALS`), a tenth of a percent.
    log : DataFrame
        ``[*by, variable, reason, n, detail]``; one row per hidden group and variable (and per
        pooled unit). ``reason`` is ``primary``, ``complementary``, ``homogeneous``, ``wave`` or
        ``pooled``. Internal: it holds the true n and reasons; never publish it.
    by : tuple of str
    policy : DisclosurePolicy
    parents : tuple of str
        Grouping columns that are parents in the hierarchy (implied by a finer column).
    counts : str
        What ``n`` counts: ``"respondents"`` or ``"units"`` (:data:`COUNTS`); the footnotes and
        the neutral sentence of :func:`~analysis.disclosure.safe_text` speak of it.
    """

    table: pd.DataFrame
    log: pd.DataFrame
    by: tuple[str, ...]
    policy: DisclosurePolicy = field(repr=False)
    parents: tuple[str, ...] = ()
    counts: str = "respondents"
    #: Complementary cells of variables that are not sensitive, and what each protects:
    #: ``(key, variable, ((table, key, variable, fewer than k), ...))`` (see :meth:`why_hidden`).
    complements: tuple = field(default=(), repr=False)

    def why_hidden(self, lang: str = "vi", labels: Mapping[str, str] | None = None) -> list[str]:
        """One sentence per complementary cell: which hidden cell publishing it would expose.

        Only for variables that are not sensitive: there an ``x`` is never a homogeneous group,
        so saying that it protects another cell tells nothing the table does not show. A key
        shared by the cell and the cell it protects (the wave) is left out; ``labels`` maps codes
        and variable names to words (``""``: the label of the total).

        Examples
        --------
        >>> import pandas as pd
        >>> t = pd.DataFrame({"org": ["A", "B", "C", None], "variable": "s",
        ...                   "estimate": [3.0, 4.0, 2.0, 3.3], "n": [40, 20, 3, 63]})
        >>> pt = protect_table(t, by="org")
        >>> print(pt.why_hidden("en", {"": "all"})[0])
        s – B (x): with the other published figures it would reveal s – C, a group of fewer than 5 respondents.
        """
        lab = dict(labels or {})
        k = self.policy.k
        unit = {"vi": {"respondents": "người trả lời", "units": "cơ sở"},
                "en": {"respondents": "respondents", "units": "units"}}[lang][self.counts]

        def name(key: tuple, other: tuple) -> str:
            parts = [lab.get(str(v), str(v)) for d, v in key if (d, v) not in other]
            return " · ".join(parts) or lab.get("", "toàn bộ" if lang == "vi" else "all")

        out = []
        for key, var, targets in self.complements:
            for table, tkey, tvar, small in targets:
                shared = tuple(x for x in key if x in tkey)
                here = name(tuple(x for x in key if x not in shared), ())
                there = name(tuple(x for x in tkey if x not in shared), ())
                where = "" if table == "" else (f" (bảng {table})" if lang == "vi" else f" (table {table})")
                what = ((f", nhóm có ít hơn {k} {unit}" if small else ", một ô đã ẩn") if lang == "vi"
                        else (f", a group of fewer than {k} {unit}" if small else ", a hidden cell"))
                v, tv = lab.get(var, var), lab.get(tvar, tvar)
                out.append(f"{v} – {here} (x): nếu công bố, cùng với các số đã công bố khác sẽ suy ra được "
                           f"{tv} – {there}{where}{what}." if lang == "vi" else
                           f"{v} – {here} (x): with the other published figures it would reveal "
                           f"{tv} – {there}{where}{what}.")
        return out

    def footnotes(self, lang: str = "vi") -> list[str]:
        """The footnotes for the markers used in this table (Vietnamese first by default).

        Examples
        --------
        >>> import pandas as pd
        >>> t = pd.DataFrame({"sex": ["male", "female"], "variable": "s", "estimate": [3.0, 4.0], "n": [9, 4]})
        >>> protect_table(t, by="sex").footnotes("vi")[0]
        'n<5: không công bố vì có ít hơn 5 người trả lời, để bảo đảm bí mật cho người trả lời.'
        >>> protect_table(t, by="sex", counts="units").footnotes("vi")[0]
        'n<5: không công bố vì có ít hơn 5 cơ sở, để không suy ra được số liệu của từng cơ sở.'
        """
        texts = _footnote_texts(self.policy, self.counts)
        used = set(self.table["note"])
        return [texts[m][lang] for m in (self.policy.primary_marker, self.policy.marker_other) if m in used]



def _published_index(published, hier, policy: DisclosurePolicy) -> dict[tuple, bool]:
    """``(key, variable, level) -> published?`` over the published level tables."""
    idx: dict[tuple, bool] = {}
    for name, t, pby in published:
        t = getattr(t, "table", t)
        pby = [pby] if isinstance(pby, str) else list(pby)
        if policy.baseline_column in pby:
            continue
        keys = key_tuples(close_keys(t, pby, hier, table=name))
        est = pd.to_numeric(t["estimate"]).astype(float)
        n = pd.to_numeric(t["n"]).astype(float)
        shown = est.notna() & n.notna()
        if "suppressed" in t.columns:
            shown &= ~t["suppressed"].fillna(False).astype(bool)
        lev = t["level"].astype("string").fillna("") if "level" in t.columns else pd.Series("", index=t.index)
        for key, var, lv, ok in zip(keys, t["variable"].astype(str), lev, shown):
            idx[(key, var, lv)] = idx.get((key, var, lv), False) or bool(ok)
    return idx


def protect_table(
    table: pd.DataFrame,
    *,
    by: Sequence[str] | str,
    hierarchy: pd.DataFrame | None = None,
    policy: DisclosurePolicy | None = None,
    published: Iterable[tuple[str, pd.DataFrame, Sequence[str] | str]] | None = None,
    sensitive: Iterable[str] = (),
    pooling: PooledGroups | None = None,
    name: str = "table",
    complementary: bool = True,
    counts: str | None = None,
) -> ProtectedTable:
    """Make a tidy estimate table safe to publish.

    Parameters
    ----------
    table : DataFrame
        ``[*by, variable, (level,) estimate, se, ci_low, ci_high, n, deff]`` as returned by the
        statistics core; ``n`` is the unweighted number of respondents. Margins (parents) are
        rows with a missing value in a ``by`` column. A wave-difference table has both
        ``policy.wave_column`` and ``policy.baseline_column`` in ``by``.
    by : str or sequence of str
        The grouping columns.
    hierarchy : DataFrame, optional
        Nesting of grouping columns, finest first, e.g. ``units[["unit", "org"]]``: the parent
        of a unit is taken from here, never from its code.
    policy : DisclosurePolicy, optional
        Defaults to :func:`load_policy`.
    published : iterable of (name, DataFrame or ProtectedTable, by), optional
        Tables already published or published alongside (other waves, the organization table,
        earlier reports). Nothing in this table may reveal a value hidden there, and a
        difference table is checked against the level tables of both its waves.
    sensitive : iterable of str
        Variables marked sensitive in the instrument (homogeneity rule), added to the policy's.
    pooling : PooledGroups, optional
        The pooling applied to the respondent data; its rows are added to the log.
    name : str
        The table's name in messages and in the attacker's report.
    complementary : bool
        Only for tests: ``False`` skips complementary suppression, to show the attacker at work.
    counts : {"respondents", "units"}, optional
        What ``n`` counts. ``"units"`` for unit facts (rows about grassroots units, indicators
        over units): the footnotes then say "ít hơn 5 cơ sở" / "fewer than 5 units". Default:
        ``table.attrs["counts"]`` when the recipe set it, else ``"respondents"``.

    Returns
    -------
    ProtectedTable

    Raises
    ------
    ValueError
        A missing column, a proportion outside 0–1, a code missing from the hierarchy, or a
        difference whose level rows are not in ``published``.
    DisclosureError
        ``published`` already discloses a hidden value by itself.

    Notes
    -----
    Primary suppression: ``n < k``. Complementary suppression is verified and of least cost
    (module docstring): of the cells in the attacker's derivation of each exposed value, the one
    that protects it with the fewest respondents hidden, then redundant complements released,
    until the attack finds nothing (Hundepool et al. 2012, §4.2 on linked tables; the cost idea
    is that of sdcTable and tau-Argus). It is a heuristic, not an integer programme's optimum.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"sex": ["male", "female"], "variable": "s",
    ...                   "estimate": [3.123, 4.0], "n": [9, 4]})
    >>> pt = protect_table(t, by="sex")
    >>> pt.table[["sex", "estimate", "n", "suppressed", "note", "display"]].to_dict("list")
    {'sex': ['male', 'female'], 'estimate': [3.12, nan], 'n': [9.0, nan], 'suppressed': [False, True], 'note': ['', 'n<5'], 'display': ['3.12', 'n<5']}
    """
    pol = policy or load_policy()
    counts = counts or str(table.attrs.get("counts") or "respondents")
    if counts not in COUNTS:
        raise ValueError(f"{name}: counts={counts!r}; use one of {COUNTS}")
    by = [by] if isinstance(by, str) else list(by)
    for col in (*by, "variable", "estimate", "n"):
        if col not in table.columns:
            raise ValueError(f"{name}: column {col!r} is missing (table columns: {list(table.columns)})")
    for col in ("suppressed", "note", "display"):
        if col in table.columns:
            raise ValueError(f"{name}: column {col!r} already exists; pass the statistics table, not a protected one")
    hier = normalise_hierarchy(hierarchy)
    published = [(str(pn), getattr(pt, "table", pt), [pb] if isinstance(pb, str) else list(pb))
                 for pn, pt, pb in (published or [])]
    df = table.copy()
    num = [c for c in NUMERIC_COLUMNS if c in df.columns]
    for c in num:
        df[c] = pd.to_numeric(df[c], errors="raise").astype(float)
    is_prop = "level" in df.columns
    # A share (0–1) at the policy's 2 decimals is a whole percent: a rare answer's interval
    # 0.6%–1.4% would print 1%–1%. Shares keep one decimal more (a tenth of a percent).
    decimals = pol.decimals + SHARE_EXTRA_DECIMALS if is_prop else pol.decimals
    if is_prop and (df["estimate"].gt(1 + 1e-9).any() or df["estimate"].lt(-1e-9).any()):
        raise ValueError(f"{name}: proportions must be between 0 and 1 (found {df['estimate'].max()!r})")

    keys = key_tuples(close_keys(df, by, hier, table=name))
    group = pd.Series(pd.factorize(pd.Series(list(zip(keys, df["variable"].astype(str))), dtype=object))[0], index=df.index)
    reason: dict[int, str] = {}
    # complementary group -> the hidden cells it protects: (table, key, variable, fewer than k?)
    protects: dict[int, list[tuple[str, tuple, str, bool]]] = {}
    k_inf = float("inf")

    def mark(rows: pd.Series, why: str) -> None:
        for g in sorted(set(group[rows.to_numpy()])):
            reason.setdefault(int(g), why)

    # 1. primary: fewer than k respondents behind the estimate
    mark(df["n"] < pol.k, "primary")
    # 2. homogeneity on sensitive items (everyone gave the same answer)
    sens = set(map(str, sensitive)) | set(pol.sensitive_variables)
    if sens:
        on = df["variable"].astype(str).isin(sens)
        if is_prop:
            same = (df["estimate"] <= 1e-9) | (df["estimate"] >= 1 - 1e-9)
        elif "se" in df.columns:
            same = (df["se"].abs() <= 1e-12) & (df["n"] >= 2)
        else:
            same = pd.Series(False, index=df.index)
        mark(on & same, "homogeneous")
    # 3. wave differences: hidden when either end is hidden in the published level tables
    wave, base = pol.wave_column, pol.baseline_column
    if wave in by and base in by:
        idx = _published_index(published, hier, pol)
        key_by = [c for c in by if c not in (wave, base)]
        dkeys = key_tuples(close_keys(df, key_by, hier, table=name))
        lev = df["level"].astype("string").fillna("") if is_prop else pd.Series("", index=df.index)
        hidden = []
        for i, key, var, lv, w1, w0 in zip(df.index, dkeys, df["variable"].astype(str), lev, df[wave].astype(str), df[base].astype(str)):
            ends = [idx.get((tuple(sorted((*key, (wave, w)))), var, lv)) for w in (w1, w0)]
            if None in ends:
                missing = (w1, w0)[ends.index(None)]
                raise ValueError(
                    f"{name}: row {i!r}: no published level table has {dict(key)}, {var} for "
                    f"{wave} {missing}; pass the protected level tables of both waves in published="
                )
            hidden.append(not all(ends))
        mark(pd.Series(hidden, index=df.index), "wave")

    def hide(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        rows = group.isin(list(reason)).to_numpy()
        out.loc[rows, num] = np.nan
        return out

    df[[c for c in num if c != "n"]] = df[[c for c in num if c != "n"]].round(decimals)
    # The two ends of a wave difference (compare_waves' estimate_a/estimate_b) are level
    # estimates: unrounded, they would undo the rounding that the level tables' audit relies on.
    ends = [c for c in ROUNDED_EXTRA_COLUMNS if c in df.columns and pd.api.types.is_numeric_dtype(df[c])]
    df[ends] = df[ends].astype(float).round(decimals)
    _drop_flat_intervals(df)
    num = [*num, *ends]
    current = hide(df)

    # 4. complementary suppression, verified by the attacker on everything published together
    if complementary:
        tabs = [*published, (name, current, by)]
        if len({t[0] for t in tabs}) != len(tabs):
            raise ValueError(f"table name {name!r} is also used in published=; give each table its own name")
        cells = build_cells(tabs, hier, pol)
        cost = df.groupby(group.to_numpy())["n"].max().fillna(0.0).to_dict()
        best = least_cost_pattern(cells, len(tabs) - 1, group.to_numpy(), cost, reason, pol,
                                  frozenset(sens), name=name)
        reason.clear()
        reason.update(best[0])
        f = cells.frame
        n_true = df.groupby(group.to_numpy())["n"].min()
        for g, targets in best[1].items():
            for t in dict.fromkeys(targets):
                key = tuple(f.at[t, "key"])
                here = f.at[t, "ti"] == len(tabs) - 1
                small = bool(here and n_true.get(int(group.iloc[f.at[t, "pos"]]), k_inf) < pol.k)
                protects.setdefault(int(g), []).append((str(f.at[t, "table"]), key, str(f.at[t, "variable"]), small))
        current = hide(df)

    # presentation columns
    supp = group.isin(list(reason))
    primary = group.map(lambda g: reason.get(int(g)) == "primary")
    note = np.where(supp, np.where(primary, pol.primary_marker, pol.marker_other), "")
    current["suppressed"] = supp.to_numpy()
    current["note"] = note
    est_text = current["estimate"].map(lambda v: "" if pd.isna(v) else f"{v:.{decimals}f}")
    current["display"] = np.where(supp, note, est_text)
    # n stays float so that a hidden n is NaN like every other number (the contract); the
    # report layer formats it as an integer.

    log = _build_log(df, by, group, reason, pooling, protects)
    first = ~group.duplicated()
    keys_of = dict(zip(group[first], [keys[i] for i in np.flatnonzero(first.to_numpy())]))
    var_of = dict(zip(group[first], df.loc[first, "variable"].astype(str)))
    complements = tuple(
        (tuple(keys_of[g]), var_of[g],
         tuple((("" if t == name else t), tk, tv, small) for t, tk, tv, small in dict.fromkeys(ts)))
        for g, ts in sorted(protects.items()) if reason.get(g) == "complementary" and var_of[g] not in sens)
    return ProtectedTable(current, log, tuple(by), pol, tuple(p for _, p, _ in hier), counts, complements)


def _build_log(df: pd.DataFrame, by: list[str], group: pd.Series, reason: dict[int, str],
               pooling: PooledGroups | None, protects: dict[int, list[tuple]] | None = None) -> pd.DataFrame:
    first = ~group.duplicated()
    rows = df.loc[first & group.isin(list(reason)), [*by, "variable"]].copy()
    g = group[rows.index]
    rows["reason"] = g.map(lambda x: reason[int(x)]).to_numpy()
    n_by_group = df.groupby(group)["n"].min()
    rows["n"] = g.map(n_by_group).round().astype("Int64").to_numpy()
    detail = {
        "primary": "fewer than k respondents",
        "complementary": "hidden so that another hidden cell cannot be derived",
        "homogeneous": "sensitive item: all respondents in the group gave the same answer",
        "wave": "one end of the difference is hidden in a published level table",
    }
    rows["detail"] = rows["reason"].map(detail)
    for i, gx in g.items():
        if rows.at[i, "reason"] == "complementary" and (protects or {}).get(int(gx)):
            rows.at[i, "detail"] = (f"{detail['complementary']}: " + "; ".join(dict.fromkeys(
                ", ".join(f"{d}={v}" for d, v in key) or "(total)" for _, key, _, _ in (protects or {})[int(gx)])))
    parts = [rows]
    if pooling is not None and len(pooling.log):
        pl = pooling.log.rename(columns={"pooled_into": "_into"})
        if pooling.into and pooling.group_col in pl.columns:
            pl = pl.rename(columns={pooling.group_col: pooling.into})  # the unit, under the reporting column
        extra = pd.DataFrame({c: pl[c] if c in pl.columns else None for c in by})
        extra["variable"] = None
        extra["reason"] = "pooled"
        extra["n"] = pl["n"].astype("Int64").to_numpy()
        extra["detail"] = pl["detail"].to_numpy()
        parts.insert(0, extra)
    log = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else rows
    log = log.reindex(columns=[*by, *LOG_COLUMNS])
    order = log["reason"].map(_REASON_ORDER)
    return log.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


def write_log(protected: ProtectedTable | PooledGroups, path: str | Path) -> Path:
    """Write a disclosure log (true n and reasons of hidden cells) for the researcher.

    Parameters
    ----------
    protected : ProtectedTable or PooledGroups
        Its ``log`` is written (CSV, UTF-8 with BOM).
    path : str or Path
        Must lie inside the project's ``data/`` folder, e.g.
        ``data/processed/member/2025_disclosure_log_response_rates.csv``. ``reports/`` (and its
        ``results/``) is refused: everything under a report folder is distributed with it, and
        the log holds exactly what the suppression hides.

    Returns
    -------
    Path
        The resolved path written.
    """
    from analysis import config

    target = config.resolve_inside(path, config.DATA_DIR)
    target.parent.mkdir(parents=True, exist_ok=True)
    protected.log.to_csv(target, index=False, encoding="utf-8-sig")
    return target


def mask_for_plot(table: ProtectedTable | pd.DataFrame) -> pd.DataFrame:
    """The table to draw: hidden rows have no value (no bar, no data label) and a ``label``.

    Parameters
    ----------
    table : ProtectedTable or DataFrame
        Output of :func:`protect_table` (a DataFrame must have its ``suppressed`` column).

    Returns
    -------
    DataFrame
        A copy with every numeric column of hidden rows missing and ``label``: the marker for
        hidden rows (draw it instead of the bar), the displayed value otherwise. Plot code must
        embed only this frame's values (no raw data in an interactive chart).

    Raises
    ------
    DisclosureError
        The table did not go through :func:`protect_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"sex": ["male", "female"], "variable": "s", "estimate": [3.0, 4.0], "n": [9, 4]})
    >>> mask_for_plot(protect_table(t, by="sex"))[["estimate", "label"]].to_dict("list")
    {'estimate': [3.0, nan], 'label': ['3.00', 'n<5']}
    """
    df = getattr(table, "table", table)
    if "suppressed" not in df.columns:
        raise DisclosureError("mask_for_plot needs a table from protect_table (no 'suppressed' column)")
    out = df.copy()
    hidden = out["suppressed"].astype(bool).to_numpy()
    for c in out.columns:
        if c not in ("suppressed",) and pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].astype("Float64" if str(out[c].dtype) == "Int64" else out[c].dtype)
            out.loc[hidden, c] = np.nan
    out["label"] = out["display"] if "display" in out.columns else np.where(hidden, out["note"], "")
    return out


def _drop_flat_intervals(df: pd.DataFrame) -> None:
    """Empty both ends of an interval whose ends are equal once rounded (in place).

    A share of 0 or 1 (SE 0) or an SE below the rounding unit gives "1.0%–1.0%": an interval
    that says nothing and reads as certainty. The estimate stays; the interval is not printed.
    """
    if {"ci_low", "ci_high"} <= set(df.columns):
        flat = df["ci_low"].notna() & df["ci_low"].eq(df["ci_high"])
        df.loc[flat, ["ci_low", "ci_high"]] = np.nan


def protect_comparison(
    comparison: pd.DataFrame,
    *,
    by: Sequence[str] | str,
    a: ProtectedTable,
    b: ProtectedTable,
    policy: DisclosurePolicy | None = None,
) -> ProtectedTable:
    """Protect a wave comparison (``compare.compare_waves`` output) with its two level tables.

    Parameters
    ----------
    comparison : DataFrame
        ``[*by, variable, (level,) estimate_a, estimate_b, difference, se, ci_low, ci_high, z,
        p_value, p_adjusted]``.
    by : str or sequence of str
    a, b : ProtectedTable
        The protected level tables of the earlier and the later wave (same ``by``).
    policy : DisclosurePolicy, optional
        Defaults to ``a``'s.

    Returns
    -------
    ProtectedTable
        A row is published only when the group is published in *both* level tables; otherwise
        every number of the row is missing and it shows the neutral marker (``x``, whatever the
        reason, so the comparison does not tell which wave was small). A published row then
        holds nothing the level tables do not already show, so it cannot reveal a hidden end.
        ``log`` reason: ``wave``.

    Examples
    --------
    >>> import pandas as pd
    >>> lv = lambda n2: pd.DataFrame({"unit": ["U1", "U2"], "variable": "s",
    ...                               "estimate": [3.0, 4.0], "n": [9, n2]})
    >>> a, b = protect_table(lv(3), by="unit"), protect_table(lv(8), by="unit")
    >>> cmp = pd.DataFrame({"unit": ["U1", "U2"], "variable": "s", "estimate_a": [3.0, 4.0],
    ...                     "estimate_b": [3.0, 4.0], "difference": [0.0, 0.0], "se": 0.1,
    ...                     "ci_low": -0.2, "ci_high": 0.2, "z": 0.0, "p_value": 1.0, "p_adjusted": 1.0})
    >>> protect_comparison(cmp, by="unit", a=a, b=b).table[["unit", "estimate_a", "display"]].to_dict("list")
    {'unit': ['U1', 'U2'], 'estimate_a': [3.0, nan], 'display': ['0.00', 'x']}
    """
    pol = policy or a.policy
    by = [by] if isinstance(by, str) else list(by)
    keys = [*by, "variable", *(["level"] if "level" in comparison.columns else [])]

    def key_frame(t: pd.DataFrame) -> pd.DataFrame:
        return t[keys].astype("string").fillna("\0margin")

    def shown(pt: ProtectedTable) -> pd.Series:
        t = pt.table
        idx = pd.MultiIndex.from_frame(key_frame(t))
        return pd.Series(~t["suppressed"].to_numpy(), index=idx).groupby(level=list(range(len(keys)))).all()

    cidx = pd.MultiIndex.from_frame(key_frame(comparison))
    ok = shown(a).reindex(cidx, fill_value=False).to_numpy() & shown(b).reindex(cidx, fill_value=False).to_numpy()
    out = comparison.copy()
    num = [c for c in out.columns if c not in keys and pd.api.types.is_numeric_dtype(out[c])
           and not pd.api.types.is_bool_dtype(out[c])]
    out[num] = out[num].astype(float)
    out.loc[~ok, num] = np.nan
    rounded = [c for c in ("estimate_a", "estimate_b", "difference", "se", "ci_low", "ci_high") if c in out.columns]
    decimals = pol.decimals + SHARE_EXTRA_DECIMALS if "level" in comparison.columns else pol.decimals  # as the levels
    out[rounded] = out[rounded].round(decimals)
    _drop_flat_intervals(out)
    out["suppressed"] = ~ok
    out["note"] = np.where(ok, "", pol.marker_other)
    diff_text = out["difference"].map(lambda v: "" if pd.isna(v) else f"{v:.{decimals}f}") \
        if "difference" in out.columns else ""
    out["display"] = np.where(ok, diff_text, pol.marker_other)
    log = out.loc[~ok, [*by, "variable"]].drop_duplicates().copy()
    log["reason"] = "wave"
    log["n"] = pd.array([pd.NA] * len(log), dtype="Int64")
    log["detail"] = "the group is hidden (or absent) in one of the two waves"
    return ProtectedTable(out, log.reset_index(drop=True), tuple(by), pol, a.parents, a.counts)
