"""The attacker's unknowns: every published cell as a 0/1 combination of atoms.

:func:`build_cells` flattens the audited tables into one frame of cells (group, variable,
level, n, estimate, published or hidden, rounding) and their membership of the *atoms*, the
finest cross-classification of all grouping columns; :mod:`analysis.disclosure.audit` solves
for the hidden cells (its docstring explains the attack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from analysis.disclosure.keys import close_keys, key_tuples, normalise_hierarchy
from analysis.disclosure.policy import DisclosureError, DisclosurePolicy

__all__ = ["Cells", "build_cells"]

_REST = "\u2217rest"  # atom filler for a parent whose children are never published


def _decimals_of(values: np.ndarray, floor: int) -> float:
    """Half the rounding unit of *values* (0 when they carry more than 6 decimals).

    The inferred number of decimals is never taken below the policy's: values that happen to be
    whole numbers are not assumed to be rounded to units (that would overstate the uncertainty).
    """
    v = values[np.isfinite(values)]
    for d in range(0, 7):
        if np.all(np.abs(v - np.round(v, d)) < 1e-9):
            return 0.5 * 10.0 ** (-max(d, floor))
    return 0.0


@dataclass
class Cells:
    """All audited cells, flattened over tables, and their atoms (:func:`build_cells`)."""

    frame: pd.DataFrame  # table, row, pos, key, variable, level, n, estimate, known, half, is_prop, is_diff, wave, baseline
    # cells x atoms, int8 CSR (entries 0/1, or -1/0/1 in the star form; rows of difference cells
    # are empty): sparse, because at national scale (10,300 units) the dense matrix of a unit
    # table would not fit in memory
    member: sparse.csr_matrix
    # solutions by system structure: variables with the same cells and the same hidden pattern
    # (the usual case) share one least-squares solve
    solved: dict = field(default_factory=dict)


def _table_cells(ti: int, name: str, df: pd.DataFrame, by: Sequence[str], hier, policy: DisclosurePolicy) -> pd.DataFrame:
    for col in (*by, "variable", "estimate", "n"):
        if col not in df.columns:
            raise ValueError(f"{name}: column {col!r} is missing (table columns: {list(df.columns)})")
    wave, base = policy.wave_column, policy.baseline_column
    is_diff = wave in by and base in by
    key_by = [c for c in by if c not in (wave, base)] if is_diff else list(by)
    keys = close_keys(df, key_by, hier, table=name)
    est = pd.to_numeric(df["estimate"], errors="raise").astype(float).to_numpy()
    n = pd.to_numeric(df["n"], errors="raise").astype(float).to_numpy()
    known = np.isfinite(est) & np.isfinite(n)
    if "suppressed" in df.columns:
        known &= ~df["suppressed"].fillna(False).astype(bool).to_numpy()
    level = df["level"].astype("string").fillna("").to_numpy(dtype=object) if "level" in df.columns else np.full(len(df), "", dtype=object)
    out = pd.DataFrame({
        "table": name,
        "ti": ti,
        "row": [r.item() if isinstance(r, np.generic) else r for r in df.index],
        "pos": np.arange(len(df)),
        "key": key_tuples(keys),
        "variable": df["variable"].astype(str).to_numpy(),
        "level": level,
        "n": n,
        "estimate": est,
        "known": known,
        "half": _decimals_of(est[known], policy.decimals),
        "is_prop": "level" in df.columns,
        "is_diff": is_diff,
        "wave": df[wave].astype(str).to_numpy() if is_diff else None,
        "baseline": df[base].astype(str).to_numpy() if is_diff else None,
        "finest": keys[key_by].notna().all(axis=1).to_numpy() if key_by else np.ones(len(df), bool),
    })
    out["dims"] = [tuple(d for d, _ in k) for k in out["key"]]
    return out


def _components(dims: list[str], hier) -> list[list[str]]:
    """Dimensions grouped by hierarchy chains (union-find), each listed finest first."""
    parent_of = {c: p for c, p, _ in hier}
    comp: dict[str, str] = {d: d for d in dims}

    def find(x: str) -> str:
        while comp[x] != x:
            x = comp[x]
        return x

    for c, p, _ in hier:
        if c in comp and p in comp:
            comp[find(c)] = find(p)
    groups: dict[str, list[str]] = {}
    for d in dims:
        groups.setdefault(find(d), []).append(d)

    def depth(d: str) -> int:
        k = 0
        while d in parent_of:
            d = parent_of[d]
            k += 1
        return -k

    return [sorted(g, key=lambda d: (depth(d), d)) for _, g in sorted(groups.items())]


def _star_row(key: tuple, waves: list[str], wave: str, group_of: dict[str, int], index: list[_AtomIndex],
              layout: list[dict], rank: list[dict]) -> tuple[np.ndarray, np.ndarray] | None:
    """One cell's row in the star form (`_star_member`) as (columns, values); None when it
    cannot be written there."""
    kw = [v for d, v in key if d == wave]
    in_groups = {group_of[d] for d, _ in key if d in group_of}
    if len(in_groups) > 1:
        return None
    g = in_groups.pop() if in_groups else None
    found = False
    cols_out: list[np.ndarray] = []
    vals_out: list[np.ndarray] = []
    for wi, w in enumerate(waves):
        if kw and kw[0] != w:
            continue
        if g is None:  # no component named: the wave's total
            cols_out.append(np.array([wi]))
            vals_out.append(np.array([1]))
            found = True
            continue
        ranks = rank[g][w][index[g](tuple((d, v) for d, v in key if d != wave))]
        ranks = ranks[ranks >= 0]  # the key's atoms among the wave's kept ones (0 = the reference)
        if len(ranks) == 0:
            continue
        found = True
        _, cols = layout[g][w]
        if 0 in ranks:  # inside the reference: 1 on the total, -1 on every other atom not inside
            rest = np.ones(len(cols), bool)
            rest[ranks[ranks > 0] - 1] = False
            cols_out += [np.array([wi]), cols[rest]]
            vals_out += [np.array([1]), np.full(int(rest.sum()), -1)]
        else:
            cols_out.append(cols[np.sort(ranks) - 1])
            vals_out.append(np.ones(len(ranks)))
    if not found:  # no kept atom: `_atoms` keeps its unpruned atoms instead
        return None
    return np.concatenate(cols_out), np.concatenate(vals_out)


def _cross_size(cells: pd.DataFrame, hier) -> int:
    """An upper bound of the size of `_atoms`' cross-classification (product of the components' values)."""
    level_cells = cells[~cells["is_diff"]]
    dims = sorted({d for ds in level_cells["dims"] for d in ds})
    size = 1
    for comp in _components(dims, hier):
        projs = {tuple((d, v) for d, v in key if d in comp) for key in level_cells["key"]}
        size *= max(1, len(projs))
    return size


def _finest_projections(projs: set[tuple]) -> list[tuple]:
    """The projections that are not a coarser view of a longer one, longest first.

    A projection (a key restricted to one component) is dropped when an accepted longer one
    agrees with it on all its dimensions (a parent whose child is published). Equal-length
    projections never cover each other, so each length is checked only against the longer
    ones, grouped by their dimensions: linear in the projections, where comparing every pair
    was quadratic (10,300 units at national scale).

    >>> _finest_projections({(("org", "A"),), (("org", "A"), ("unit", "A1")), (("org", "B"),)})
    [(('org', 'A'), ('unit', 'A1')), (('org', 'B'),)]
    """
    accepted: list[tuple] = []
    by_dims: dict[tuple, list[tuple]] = {}  # accepted values, by their dimensions
    seen: dict[tuple, set[tuple]] = {}  # (longer dims, dims) -> the longer ones' values on dims
    for proj in sorted(projs, key=lambda p: (-len(p), p)):
        dims, values = tuple(d for d, _ in proj), tuple(v for _, v in proj)
        covered = False
        for longer, rows in by_dims.items():
            if len(longer) <= len(dims) or not set(dims) <= set(longer):
                continue
            if (longer, dims) not in seen:
                at = [longer.index(d) for d in dims]
                seen[(longer, dims)] = {tuple(r[i] for i in at) for r in rows}
            if values in seen[(longer, dims)]:
                covered = True
                break
        if not covered:
            accepted.append(proj)
            by_dims.setdefault(dims, []).append(values)
    return accepted


class _AtomIndex:
    """The atoms (rows of an atom frame) inside a cell's key, looked up by grouping once per
    set of dimensions instead of comparing every atom with every key."""

    def __init__(self, atoms: pd.DataFrame):
        self._atoms = atoms
        self._groups: dict[tuple, dict] = {}
        self._all = np.arange(len(atoms))
        self._none = np.zeros(0, np.int64)

    def __call__(self, key: tuple) -> np.ndarray:
        if not key:
            return self._all
        dims = tuple(d for d, _ in key)
        if dims not in self._groups:
            if not set(dims) <= set(self._atoms.columns):
                self._groups[dims] = {}
            else:
                found = self._atoms.groupby(list(dims), sort=False, dropna=False).indices
                self._groups[dims] = {(k if isinstance(k, tuple) else (k,)): v for k, v in found.items()}
        return self._groups[dims].get(tuple(v for _, v in key), self._none)


def _csr(rows: Sequence[tuple[np.ndarray, np.ndarray] | None], n_cols: int) -> sparse.csr_matrix:
    """A CSR matrix from each row's (columns, values); None is an empty row."""
    cols = [np.zeros(0, np.int64) if r is None else np.asarray(r[0], np.int64) for r in rows]
    vals = [np.zeros(0, np.int8) if r is None else np.asarray(r[1], np.int8) for r in rows]
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int64)
    out = sparse.csr_matrix((np.concatenate(vals) if vals else np.zeros(0, np.int8),
                             np.concatenate(cols) if cols else np.zeros(0, np.int64), indptr),
                            shape=(len(rows), n_cols), dtype=np.int8)
    out.sort_indices()
    return out


def _atoms(cells: pd.DataFrame, hier, policy: DisclosurePolicy) -> pd.DataFrame:
    """The finest cross-classification implied by all cells (see :mod:`analysis.disclosure.audit`)."""
    level_cells = cells[~cells["is_diff"]]
    dims = sorted({d for ds in level_cells["dims"] for d in ds})
    atoms = pd.DataFrame(index=[0])
    for comp in _components(dims, hier):
        projs = {tuple((d, v) for d, v in key if d in comp) for key in level_cells["key"]}
        projs.discard(())
        accepted = [{d: p.get(d, _REST) for d in comp} for p in map(dict, _finest_projections(projs))]
        if not accepted:
            continue
        atoms = atoms.merge(pd.DataFrame(accepted), how="cross")
    if len(atoms) > 200_000:
        raise DisclosureError(
            f"the audited tables cross {len(atoms)} finest groups; audit fewer tables together"
        )
    # Zero-respondent groups: a tidy table lists only groups with respondents, so an atom absent
    # from a table that covers it (same wave) is known to be empty; keeping it as a free unknown
    # would hide real derivations (e.g. a unit with no women: men = unit total).
    keep = np.ones(len(atoms), bool)
    wave = policy.wave_column
    for _, t in level_cells[level_cells["finest"]].groupby("ti", sort=True):
        tdims = sorted({d for ds in t["dims"] for d in ds})
        if not tdims or not set(tdims) <= set(atoms.columns):
            continue
        sub = atoms[tdims]
        covered = ~sub.isin([_REST]).any(axis=1).to_numpy()
        if wave in tdims:
            covered &= sub[wave].isin(set(v for k in t["key"] for d, v in k if d == wave)).to_numpy()
        present = pd.MultiIndex.from_frame(pd.DataFrame([dict(k) for k in t["key"]])[tdims])
        inside = pd.MultiIndex.from_frame(sub).isin(present)
        keep &= ~(covered & ~inside)
    atoms["_keep"] = keep
    return atoms


#: Above this many atoms of the full cross-classification, `build_cells` uses the star form (`_star_member`).
STAR_ABOVE = 20_000


def _groups(level_cells: pd.DataFrame, comps: list[list[str]], wave: str) -> list[list[str]] | None:
    """The non-wave components merged wherever one cell's key names two of them (union-find);
    None when no wave column is among the dimensions (the star form needs one)."""
    names = [c for c in comps if c != [wave]]
    if len(names) == len(comps):
        return None
    of = {d: i for i, comp in enumerate(names) for d in comp}
    parent = list(range(len(names)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for dims in set(level_cells["dims"]):
        ids = sorted({find(of[d]) for d in dims if d in of})
        for i in ids[1:]:
            parent[find(i)] = find(ids[0])
    merged: dict[int, list[str]] = {}
    for i, comp in enumerate(names):
        merged.setdefault(find(i), []).extend(comp)
    return list(merged.values())


def _star_member(cells: pd.DataFrame, hier, policy: DisclosurePolicy) -> sparse.csr_matrix | None:
    """Atom membership in the star form, exact for tables that cross components only with the wave.

    When no table crosses two components other than the wave (units with sex, say), every cell
    is ``wave part ⊗ one component's vector ⊗ all ones``, and in each wave the only linear
    relation between the components' cells is through the all-ones vector (all of them sum to
    the wave's total). The star form keeps exactly those relations with far fewer columns: per
    wave, one shared column (the total) plus, for each group of crossed components, its kept
    atoms but one (a vector ``v`` of the group maps to ``v − v_r`` on the others and ``v_r`` on
    the shared column). The map is injective on the span of the cells, so every derivation (its
    coefficients, hence the audit's findings) is the same as with the full cross-classification
    of `_atoms`, whose size is the product of the components' (103·N units × sex × age × ...).
    Returns None (use `_atoms`) when its conditions do not hold. Entries are −1, 0 or 1 (int8).
    """
    wave = policy.wave_column
    level_cells = cells[~cells["is_diff"]]
    dims = sorted({d for ds in level_cells["dims"] for d in ds})
    comps = _components(dims, hier)
    groups = _groups(level_cells, comps, wave)
    if groups is None:
        return None
    waves = sorted({v for k in level_cells["key"] for d, v in k if d == wave})
    # each group's atoms, and which are kept (non-empty) in each wave
    blocks = []
    for group in groups:
        gcells = level_cells.assign(key=[tuple((d, v) for d, v in k if d in group or d == wave)
                                         for k in level_cells["key"]])
        gcells = gcells.assign(dims=[tuple(d for d, _ in k) for k in gcells["key"]])
        atoms = _atoms(gcells, hier, policy)
        if wave not in atoms.columns:
            return None
        blocks.append(atoms)
    # columns: per wave, the shared total, then each group's kept atoms but its first (the reference)
    layout: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []  # per group: {wave: (kept positions, columns)}
    n_cols = len(waves)
    for atoms in blocks:
        per_wave = {}
        for w in waves:
            pos = np.flatnonzero((atoms[wave].to_numpy() == w) & atoms["_keep"].to_numpy())
            if len(pos) == 0:
                return None
            per_wave[w] = (pos, np.arange(n_cols, n_cols + len(pos) - 1))
            n_cols += len(pos) - 1
        layout.append(per_wave)
    index = [_AtomIndex(atoms.drop(columns=[wave, "_keep"])) for atoms in blocks]
    # rank[g][w][atom]: the atom's place among the wave's kept atoms of the group, -1 if not kept
    rank = []
    for atoms, per_wave in zip(blocks, layout):
        rank.append({})
        for w, (pos, _) in per_wave.items():
            r = np.full(len(atoms), -1, np.int64)
            r[pos] = np.arange(len(pos))
            rank[-1][w] = r
    group_of = {d: g for g, group in enumerate(groups) for d in group}
    cache: dict[tuple, tuple | None] = {}
    rows = []
    for key, is_diff in zip(cells["key"], cells["is_diff"]):
        if is_diff:
            rows.append(None)
            continue
        if key not in cache:
            cache[key] = _star_row(key, waves, wave, group_of, index, layout, rank)
        if cache[key] is None:
            return None
        rows.append(cache[key])
    return _csr(rows, n_cols)


def build_cells(tables: Sequence[tuple[str, pd.DataFrame, Sequence[str]]], hierarchy, policy: DisclosurePolicy) -> Cells:
    """Flatten the tables into cells and their atom membership (for :func:`~analysis.disclosure.audit.audit`)."""
    hier = normalise_hierarchy(hierarchy) if not isinstance(hierarchy, list) else hierarchy
    parts = []
    names = [name for name, _, _ in tables]
    if len(set(names)) != len(names):
        raise ValueError(f"table names must be unique, got {names}")
    wave_in = {name: policy.wave_column in by for name, _, by in tables}
    if len(set(wave_in.values())) > 1:
        raise ValueError(
            f"some tables have a {policy.wave_column!r} column in `by` and others do not "
            f"({sorted(k for k, v in wave_in.items() if not v)}): give every table its wave, "
            f"e.g. table.assign({policy.wave_column}='2025'), so waves are not mistaken for each other"
        )
    for ti, (name, df, by) in enumerate(tables):
        parts.append(_table_cells(ti, name, df, list(by), hier, policy))
    cells = pd.concat(parts, ignore_index=True)
    member = _star_member(cells, hier, policy) if _cross_size(cells, hier) > STAR_ABOVE else None
    if member is not None:
        return Cells(cells, member)
    atoms = _atoms(cells, hier, policy)
    keep = atoms.pop("_keep").to_numpy()
    index = _AtomIndex(atoms)
    cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    rows = []
    for key, is_diff in zip(cells["key"], cells["is_diff"]):
        if is_diff:
            rows.append(None)
            continue
        if key not in cache:
            inside = index(key)
            pruned = inside[keep[inside]]  # the empty atoms out, unless nothing else is left
            inside = np.sort(pruned if len(pruned) else inside)
            cache[key] = (inside, np.ones(len(inside), np.int8))
        rows.append(cache[key])
    return Cells(cells, _csr(rows, len(atoms)))
