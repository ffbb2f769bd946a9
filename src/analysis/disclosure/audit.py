"""The attacker: recover hidden cells from everything that is published.

Import :func:`find_disclosures` and :func:`assert_no_disclosure` from :mod:`analysis.disclosure`;
this module also holds the linear-algebra audit (:func:`audit`) that
:func:`analysis.disclosure.protect_table` runs in its complementary-suppression loop, on the
cells of :mod:`analysis.disclosure.cells`.

How the attack works
--------------------
Every published cell (one group, one variable, one level) is a sum over *atoms*: the finest
cross-classification of all grouping columns that appear in any audited table (units nested in
organizations through the hierarchy, crossed with sex, party, wave, ...). A cell's unweighted
count ``n`` and its total ``T = n * estimate`` are both the same 0/1 combination of atom values.
A hidden cell ``s`` is determined by the published cells ``P`` exactly when its atom vector lies
in the row space of ``P``: then ``m_s = y' P`` for some ``y``, so ``n_s = y' n_P`` exactly and
``T_s = y' T_P``. With published estimates rounded to ``d`` decimals, each ``T_j`` is only known
within ``± n_j * 0.5 * 10**-d``, so the hidden mean is known within
``± sum_j |y_j| n_j 0.5 * 10**-d / n_s``. A derivation counts as a disclosure when that interval is
narrower than the policy's threshold (or, for a proportion, when it pins the hidden count within
one respondent); a hidden group of fewer than k respondents counts whenever it is derivable at
all, whatever the rounding (one respondent's integer answer within +/- 0.3 is that answer). This covers parents and children, row and column totals, several tables at once,
several waves, and organizations; it is the classic audit of linked tables (Hundepool et al.,
*Statistical Disclosure Control*, Wiley 2012, ch. 4) restricted to equality relations.

Two further checks:

* pooled remainder: when several sibling cells are hidden, their *pooled* group is derivable
  (parent minus published siblings); if it has fewer than k respondents it is a small group in
  its own right and is reported;
* wave differences: a published difference ``estimate(wave) - estimate(baseline)`` together with
  one published end reveals the other end (to within rounding).

With weighted estimates the unweighted ``n`` is used as a proxy for the weights in the recovery;
the exact weighted recovery needs the weighted totals, which are not published, so treating the
recovery as possible is the conservative choice. But where the weights are calibrated to a
public frame (every unit's member count is published), an attacker weighs the means by those
counts instead and comes within a few hundredths of the truth: with ``frame_sizes`` the tables
of groups of the frame (wave, organization, unit) are attacked a second time with each cell's
total taken as its frame count times its estimate (``T = N * estimate``; the rounding
uncertainty ``N * 0.5 * 10**-d``), and the recovered group's size for the k rule is still its
respondent count. Findings of that attack say ``[frame weights]`` in ``used``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from analysis.disclosure.cells import Cells, build_cells
from analysis.disclosure.policy import DisclosureError, DisclosurePolicy, load_policy

__all__ = ["find_disclosures", "assert_no_disclosure", "FINDING_COLUMNS", "Finding", "audit"]

#: Columns of the table returned by :func:`find_disclosures`.
FINDING_COLUMNS = [
    "table", "row", "by", "variable", "level", "kind", "method",
    "n", "estimate", "low", "high", "width", "used",
]

_TOL = 1e-6



@dataclass(frozen=True)
class Finding:
    """One disclosure (internal form; :func:`find_disclosures` returns them as a table)."""

    kind: str  # "cell", "pooled_remainder", "difference"
    targets: tuple[int, ...]
    used: tuple[int, ...]
    n: float
    estimate: float
    low: float
    high: float
    method: str


@dataclass(frozen=True)
class _Solution:
    """The min-norm derivations of a system: ``Y[:, j]`` (sparse, over the published cells) with
    ``A' Y[:, j] = b_j`` where ``ok[j]``; the connected component of each published cell
    (``cell_part``) and atom (``atom_part``), so that a target's linear programme is set up on
    its own components only."""

    Y: sparse.csc_matrix
    ok: np.ndarray
    cell_part: np.ndarray
    atom_part: np.ndarray


#: A component at most this large (published cells x atoms) is solved with a dense least-squares
#: call; a larger one (a national table: one organization's thousands of units and their total)
#: with LSMR, which from zero converges to the same minimum-norm solution without the dense
#: matrix's memory and cubic time.
DENSE_MAX = 1_500_000


def _solve(A: sparse.csr_matrix, Bt: sparse.csr_matrix) -> _Solution:
    """Min-norm ``y`` with ``A' y = b`` for each row ``b`` of *Bt*, and whether it is exact.

    The published cells and the atoms form a bipartite graph; ``A`` is block diagonal over its
    connected components (cells that share no atom, directly or through other cells, share no
    relation), so the min-norm solution is the min-norm solution of each block. The blocks are
    small for most tables (a unit's cells, one organization), which is what makes the attack
    linear in the number of units: one dense solve of the whole system was cubic.
    """
    m, p = A.shape
    t = Bt.shape[0]
    graph = sparse.bmat([[None, A], [A.T, None]], format="csr") if m and p else sparse.csr_matrix((m + p, m + p))
    _, part = connected_components(graph, directed=False)
    cell_part, atom_part = part[:m], part[m:]
    covered = np.zeros(p, bool)
    covered[A.indices] = True
    Bc = Bt.tocsr()
    Bc.eliminate_zeros()
    e_tgt = np.repeat(np.arange(t), np.diff(Bc.indptr))  # the target of each entry of Bc
    # a target that needs an atom no published cell covers cannot be derived
    ok = np.ones(t, bool)
    ok[np.unique(e_tgt[~covered[Bc.indices]])] = False
    if m == 0:
        return _Solution(sparse.csc_matrix((0, t)), ok & (np.diff(Bc.indptr) == 0), cell_part, atom_part)
    # the entries of the derivable-looking targets, grouped by the component of their atom
    live = ok[e_tgt]
    e_tgt, e_atom, e_val = e_tgt[live], Bc.indices[live], Bc.data[live].astype(float)
    # rows and atoms of the matrix ordered by component, each component a contiguous block
    cell_order, atom_order = np.argsort(cell_part, kind="stable"), np.argsort(atom_part, kind="stable")
    atom_rank = np.empty(p, np.int64)
    atom_rank[atom_order] = np.arange(p)
    n_comp = int(part.max()) + 1
    cell_start = np.searchsorted(cell_part[cell_order], np.arange(n_comp + 1))
    atom_start = np.searchsorted(atom_part[atom_order], np.arange(n_comp + 1))
    Ap = A[cell_order][:, atom_order].tocsr()
    by_comp = np.argsort(atom_part[e_atom], kind="stable")
    e_tgt, e_atom, e_val = e_tgt[by_comp], e_atom[by_comp], e_val[by_comp]
    comps, first, count = np.unique(atom_part[e_atom], return_index=True, return_counts=True)
    rows, cols, vals = [], [], []
    for comp, i0, k in zip(comps, first, count):
        c0, c1, a0, a1 = cell_start[comp], cell_start[comp + 1], atom_start[comp], atom_start[comp + 1]
        block = Ap[c0:c1, a0:a1]
        targets, local = np.unique(e_tgt[i0:i0 + k], return_inverse=True)
        at_atom, at_col, value = atom_rank[e_atom[i0:i0 + k]] - a0, local, e_val[i0:i0 + k]
        if block.shape[0] * block.shape[1] <= DENSE_MAX:
            dense = block.toarray().astype(float).T
            rhs = np.zeros((a1 - a0, len(targets)))  # atoms x targets
            rhs[at_atom, at_col] = value
            Y = np.linalg.lstsq(dense, rhs, rcond=None)[0]
            ok[targets] &= np.abs(dense @ Y - rhs).max(axis=0) < _TOL
            r, c = np.nonzero(Y)
            y = Y[r, c]
        else:
            rhs = sparse.csc_matrix((value, (at_atom, at_col)), shape=(a1 - a0, len(targets)))
            r, c, y, resid = _lsmr_columns(block.astype(float).T.tocsr(), rhs)
            ok[targets] &= resid < _TOL
        rows.append(cell_order[c0 + r])
        cols.append(targets[c])
        vals.append(y)
    Y = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, t)) \
        if rows else sparse.csc_matrix((m, t))
    Y.sort_indices()
    return _Solution(Y, ok, cell_part, atom_part)


def _lsmr_columns(At: sparse.csr_matrix, rhs: sparse.csc_matrix) -> tuple[np.ndarray, ...]:
    """LSMR's minimum-norm least-squares solution of ``At y = b`` for each column of *rhs*, as
    the nonzero entries (row, column, value) of the solutions and the largest residual of each
    column. A column whose iteration stops before the least-squares optimum raises: an
    unconverged solve must not pass for "not derivable"."""
    from scipy.sparse.linalg import lsmr

    rows, cols, vals = [], [], []
    resid = np.zeros(rhs.shape[1])
    for j in range(rhs.shape[1]):
        b = rhs[:, [j]].toarray().ravel()
        out = lsmr(At, b, atol=1e-14, btol=1e-14, conlim=1e14, maxiter=20 * min(At.shape) + 100)
        if out[1] not in (1, 2, 4, 5):  # 1/4: a solution, 2/5: the least-squares optimum; else stopped early
            raise RuntimeError(f"the disclosure attack did not converge on a system of {At.shape[1]} cells "
                               f"(LSMR stop {out[1]}); audit fewer tables together")
        resid[j] = np.abs(At @ out[0] - b).max()
        nz = np.flatnonzero(out[0])
        rows.append(nz)
        cols.append(np.full(len(nz), j))
        vals.append(out[0][nz])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), resid


def audit(cells: Cells, known: np.ndarray, policy: DisclosurePolicy, sensitive: frozenset[str] = frozenset(),
          *, tighten: bool = True, only: frozenset[tuple[str, str]] | None = None,
          weights: np.ndarray | None = None) -> list[Finding]:
    """Every disclosure given which cells are published (*known*, aligned to ``cells.frame``).

    *sensitive* variables are also checked for homogeneity of derived pooled groups.
    ``tighten=False`` skips the linear programme (faster, may miss derivations within rounding
    of groups of k or more; protect_table uses it while searching, never for its final check).
    ``only``: attack only these ``(variable, level)`` systems (each is solved on its own, so
    the findings in them are exactly those of the full audit); protect_table uses it to test
    one candidate complement.
    ``weights``: each cell's public weighted size (aligned to ``cells.frame``; default its
    respondent count ``n``): the published totals are ``weights * estimate``.
    """
    f = cells.frame
    findings: list[Finding] = []
    n_all, est_all, half_all = f["n"].to_numpy(), f["estimate"].to_numpy(), f["half"].to_numpy()
    w_all = n_all if weights is None else np.asarray(weights, dtype=float)
    level = ~f["is_diff"].to_numpy()
    derived = np.zeros(len(f), bool)
    # the same group published in another table: not a disclosure when it has k or more
    # respondents (hidden here only to protect another cell, and public anyway)
    public = set(zip(f.loc[known & level, "key"], f.loc[known & level, "variable"], f.loc[known & level, "level"]))
    for (var, lev), idx in f[level].groupby(["variable", "level"], sort=True).groups.items():
        if only is not None and (var, lev) not in only:
            continue
        idx = np.asarray(idx)
        kn, un = idx[known[idx]], idx[~known[idx]]
        if len(un) == 0 or len(kn) == 0:
            continue
        is_prop = bool(f.at[idx[0], "is_prop"])
        member = cells.member
        used_cols = np.flatnonzero(member[idx].getnnz(axis=0))
        A = member[kn][:, used_cols].tocsr()
        A.sort_indices()
        # cell targets, then pooled-remainder targets (sums of hidden siblings)
        targets: list[tuple[str, tuple[int, ...]]] = [("cell", (int(u),)) for u in un]
        targets += _remainder_groups(f, un)
        pick = sparse.csr_matrix((np.ones(sum(len(t) for _, t in targets)),
                                  (np.repeat(np.arange(len(targets)), [len(t) for _, t in targets]),
                                   np.concatenate([t for _, t in targets]))), shape=(len(targets), len(f)))
        Bt = (pick @ member.astype(np.int16))[:, used_cols].tocsr()
        Bt.eliminate_zeros()
        Bt.sort_indices()
        digest = hashlib.sha1(b"|".join(x.tobytes() for x in (
            A.indptr, A.indices, A.data.astype(np.int8), Bt.indptr, Bt.indices, Bt.data.astype(np.int16)))
            + repr((A.shape, Bt.shape)).encode()).hexdigest()
        if digest not in cells.solved:
            cells.solved[digest] = _solve(A, Bt)
        sol = cells.solved[digest]
        nP, wP = n_all[kn], w_all[kn]
        TP, hP = wP * est_all[kn], wP * half_all[kn]
        threshold = policy.min_width_proportion if is_prop else policy.min_width_mean
        for j, (kind, tgt) in enumerate(targets):
            if not sol.ok[j]:
                continue
            at = slice(sol.Y.indptr[j], sol.Y.indptr[j + 1])
            yi, y = sol.Y.indices[at], sol.Y.data[at]  # the derivation's published cells and weights
            n_s = float(y @ nP[yi])
            if n_s < 0.5:  # an empty group discloses nothing
                continue
            w_s = float(y @ wP[yi])
            if kind == "cell" and round(n_s) >= policy.k and (
                    f.at[tgt[0], "key"], f.at[tgt[0], "variable"], f.at[tgt[0], "level"]) in public:
                continue
            verdict = _verdict(kind, y, n_s, TP[yi], hP[yi], is_prop, threshold, policy,
                               f.at[tgt[0], "variable"] in sensitive, w_s)
            # (only where rounding can decide: a pool of k or more matters only when homogeneous)
            width_decides = kind == "cell" or (is_prop and f.at[tgt[0], "variable"] in sensitive)
            if tighten and verdict is None and width_decides and float(np.abs(y) @ hP[yi]) > 0:
                # the minimum-norm combination is not the narrowest: ask for the combination
                # with the smallest rounding uncertainty before concluding that rounding protects
                # (on the target's components only: cells outside them cannot take part)
                b = Bt[j]
                parts = np.unique(sol.atom_part[b.indices])
                rows = np.flatnonzero(np.isin(sol.cell_part, parts))
                atoms = np.flatnonzero(np.isin(sol.atom_part, parts))
                y_lp = _narrowest(A[rows][:, atoms], b[:, atoms].toarray().ravel().astype(float), hP[rows])
                if y_lp is not None:
                    yi, y = rows, y_lp
                    verdict = _verdict(kind, y, n_s, TP[yi], hP[yi], is_prop, threshold, policy,
                                       f.at[tgt[0], "variable"] in sensitive, w_s)
            if verdict is None:
                continue
            kind_out, est, hw = verdict
            used = tuple(int(kn[i]) for i in np.sort(yi[np.abs(y) > 1e-9]))
            if kind_out == "cell":
                derived[tgt[0]] = True
            findings.append(Finding(kind_out, tgt, used, round(n_s), est, est - hw / n_s, est + hw / n_s,
                                    "exact" if hw == 0 else "within_rounding"))
    diffs = _difference_findings(f, known, derived, policy)
    if only is not None:
        diffs = [d for d in diffs if (f.at[d.targets[0], "variable"], f.at[d.targets[0], "level"]) in only]
    return findings + diffs


def _verdict(kind: str, y: np.ndarray, n_s: float, TP: np.ndarray, hP: np.ndarray, is_prop: bool,
             threshold: float, policy: DisclosurePolicy, sensitive: bool,
             w_s: float | None = None) -> tuple[str, float, float] | None:
    """``(kind, estimate, half-width)`` when the derivation *y* discloses, else None.

    *w_s* is the target's weighted size (default *n_s*); the half-width returned is in
    respondents (``n_s`` times the half-width of the mean), as the caller divides it by *n_s*.
    """
    w_s = n_s if w_s is None or w_s <= 0 else w_s
    hw = float(np.abs(y) @ hP) * n_s / w_s
    est = float(y @ TP) / w_s
    if kind == "pooled_remainder":
        lo_c, hi_c = n_s * est - hw, n_s * est + hw  # the pooled count of a level
        # a homogeneous pool on a sensitive item: the only count left is 0 or all of them
        if is_prop and sensitive and (hi_c < 1 - 1e-9 or lo_c > n_s - 1 + 1e-9):
            return "pooled_homogeneous", est, hw
        return (kind, est, hw) if round(n_s) < policy.k else None
    # A hidden group of fewer than k must not be derivable at all: for n = 1 or 2 even a wide
    # interval pins the answers (a mean of one integer answer within +/- 0.3 is that answer).
    # Larger hidden groups (hidden to protect another cell, or for homogeneity) count when the
    # interval is narrow, or when a proportion's count is pinned to within one respondent.
    if round(n_s) < policy.k or 2 * hw / n_s < threshold or (is_prop and 2 * hw < 1):
        return kind, est, hw
    return None


def _narrowest(A: sparse.csr_matrix, b: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    """``y`` with ``A' y = b`` minimising ``sum(weights * |y|)`` (a linear programme), or None."""
    from scipy.optimize import linprog

    p = A.shape[0]
    At = sparse.csr_matrix(A, dtype=float).T
    # y = u - v with u, v >= 0; minimise w'(u + v) subject to A'(u - v) = b
    res = linprog(np.concatenate([weights, weights]), A_eq=sparse.hstack([At, -At], format="csr"), b_eq=b,
                  bounds=(0, None), method="highs")
    if not res.success:
        return None
    y = res.x[:p] - res.x[p:]
    return y if np.abs(At @ y - b).max() < _TOL else None


def _remainder_groups(f: pd.DataFrame, unknown: np.ndarray) -> list[tuple[str, tuple[int, ...]]]:
    """Sets of >= 2 hidden sibling cells (same table, same key except one dimension)."""
    out: set[tuple[int, ...]] = set()
    sub = f.loc[unknown, ["ti", "key"]]
    for ti, g in sub.groupby("ti", sort=True):
        keys = dict(zip(g.index, g["key"]))
        dims = sorted({d for k in keys.values() for d, _ in k})
        for d in dims:
            sib: dict[tuple, list[int]] = {}
            for i, k in keys.items():
                if any(dd == d for dd, _ in k):
                    sib.setdefault(tuple(x for x in k if x[0] != d), []).append(int(i))
            out.update(tuple(sorted(v)) for v in sib.values() if len(v) >= 2)
    return [("pooled_remainder", t) for t in sorted(out)]


def _difference_findings(f: pd.DataFrame, known: np.ndarray, derived: np.ndarray, policy: DisclosurePolicy) -> list[Finding]:
    diff = f[f["is_diff"].to_numpy() & known]
    if diff.empty:
        return []
    wave = policy.wave_column
    index: dict[tuple, list[int]] = {}
    for i, key, var, lev in zip(f.index, f["key"], f["variable"], f["level"]):
        if not f.at[i, "is_diff"]:
            index.setdefault((key, var, lev), []).append(int(i))
    out = []
    for i, r in diff.iterrows():
        ends = []
        for w in (r["wave"], r["baseline"]):
            k = tuple(sorted((*r["key"], (wave, w))))
            ends.append(index.get((k, r["variable"], r["level"]), []))
        state = [
            ("known", [c for c in e if known[c]]) if any(known[c] for c in e)
            else ("hidden", e) if e and not any(derived[c] for c in e) else ("other", e)
            for e in ends
        ]
        for j in (0, 1):
            (s_hid, hid), (s_pub, pub) = state[j], state[1 - j]
            if s_hid == "hidden" and s_pub == "known":
                c = pub[0]
                # d = wave - baseline: a hidden wave end is baseline + d, a hidden baseline is wave - d
                sign = 1.0 if j == 0 else -1.0
                est = f.at[c, "estimate"] + sign * r["estimate"]
                hw = f.at[c, "half"] + r["half"]
                threshold = policy.min_width_proportion if r["is_prop"] else policy.min_width_mean
                if 2 * hw < threshold:
                    out.append(Finding("difference", (int(hid[0]),), (int(c), int(i)), float("nan"),
                                       float(est), float(est - hw), float(est + hw),
                                       "exact" if hw == 0 else "within_rounding"))
    return out


# --------------------------------------------------------------------------------------------
# public


def _as_tables(tables: Iterable[Any]) -> list[tuple[str, pd.DataFrame, list[str]]]:
    out = []
    for item in tables:
        name, df, by = item
        df = getattr(df, "table", df)  # a ProtectedTable is audited as published
        if {"estimate_a", "estimate_b"} <= set(df.columns):
            # A wave comparison (compare_waves) shows a row only when protect_comparison found
            # both ends shown in their level tables: it repeats them and adds nothing to attack.
            if "suppressed" not in df.columns:
                raise ValueError(f"{name}: a wave comparison must go through protect_comparison before it is published")
            continue
        out.append((str(name), df, [by] if isinstance(by, str) else list(by)))
    return out


def _describe(cells: Cells, findings: list[Finding]) -> pd.DataFrame:
    f = cells.frame
    rows = []

    def py(v: Any) -> Any:
        return v.item() if isinstance(v, np.generic) else v

    def ref(i: int) -> str:
        return f"{f.at[i, 'table']}[{py(f.at[i, 'row'])!r}]"

    for x in findings:
        t0 = x.targets[0]
        rows.append({
            "table": f.at[t0, "table"],
            "row": py(f.at[t0, "row"]) if len(x.targets) == 1 else tuple(py(f.at[t, "row"]) for t in x.targets),
            "by": " | ".join(", ".join(f"{d}={v}" for d, v in f.at[t, "key"]) or "(total)" for t in x.targets),
            "variable": f.at[t0, "variable"],
            "level": f.at[t0, "level"] or None,
            "kind": x.kind,
            "method": x.method,
            "n": x.n,
            # rounded so that float noise of the solver does not show in reports and tests
            "estimate": round(x.estimate, 6),
            "low": round(x.low, 6),
            "high": round(x.high, 6),
            "width": round(x.high - x.low, 6),
            "used": "; ".join(ref(i) for i in x.used),
        })
    out = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    return out.sort_values(["table", "variable", "by", "kind"], kind="stable").reset_index(drop=True)


def find_disclosures(
    tables: Iterable[tuple[str, pd.DataFrame, Sequence[str] | str]],
    hierarchy: pd.DataFrame | None = None,
    *,
    policy: DisclosurePolicy | None = None,
    sensitive: Iterable[str] = (),
    frame_sizes: pd.Series | None = None,
    weighted: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Attack a set of published tables: which hidden values can be recovered?

    Parameters
    ----------
    tables : iterable of (name, DataFrame or ProtectedTable, by)
        Everything published together (this report, earlier reports, other waves). Hidden cells
        are those with a missing ``estimate`` or ``n`` or ``suppressed == True``. Margins are rows
        with a missing value in a ``by`` column. Difference tables carry both the policy's
        ``wave_column`` and ``baseline_column`` in ``by``. Wave comparisons from
        ``compare_waves`` (columns ``estimate_a, estimate_b``) must have gone through
        ``protect_comparison``; they only repeat published ends and are not attacked further.
        Tables of different waves must carry the wave (``table.assign(wave="2025")`` with
        ``"wave"`` in ``by``): without it, two waves of the same group look like one cell.
    hierarchy : DataFrame, optional
        Nesting of grouping columns, finest first, e.g. ``units[["unit", "org"]]``.
    policy : DisclosurePolicy, optional
        Supplies k, the rounding thresholds and the wave column names.
    sensitive : iterable of str
        Sensitive variables (added to the policy's): a derived pooled group whose answers must
        all be the same on one of them is reported as ``pooled_homogeneous``.
    frame_sizes : Series, optional
        The public population count of each group of the hierarchy's finest column (index: unit
        code, values: members). With it, the tables whose estimates are weighted to the frame
        are attacked again with those counts as weights (module docstring).
    weighted : iterable of str, optional
        Names of the tables weighted to the frame (default: every table grouped only by the
        wave and columns of the hierarchy, not a difference table). Only with *frame_sizes*.

    Returns
    -------
    DataFrame
        One row per disclosure: ``table, row, by, variable, level, kind`` (``cell``,
        ``pooled_remainder``, ``pooled_homogeneous`` or ``difference``), ``method`` (``exact`` or ``within_rounding``),
        the recovered ``n`` and ``estimate``, the interval ``low, high, width`` and the published
        cells ``used``. Empty when nothing can be recovered.

    Notes
    -----
    See the module docstring for the attack. A derivation's interval comes from the
    minimum-norm combination of published cells; when that interval would not count as a
    disclosure, the combination with the smallest rounding uncertainty is found by linear
    programming (scipy's HiGHS) and used instead.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"unit": ["A", "B", None], "variable": "score",
    ...                   "estimate": [float("nan"), 4.0, 3.5], "n": [float("nan"), 6, 10]})
    >>> found = find_disclosures([("t", t, ["unit"])])
    >>> found[["by", "kind", "method", "n", "estimate"]].to_dict("records")
    [{'by': 'unit=A', 'kind': 'cell', 'method': 'within_rounding', 'n': 4, 'estimate': 2.75}]
    """
    pol = policy or load_policy()
    tabs = _as_tables(tables)
    cells = build_cells(tabs, hierarchy, pol)
    sens = frozenset(sensitive) | frozenset(pol.sensitive_variables)
    findings = audit(cells, cells.frame["known"].to_numpy(), pol, sens)
    out = _describe(cells, findings)
    if frame_sizes is None or hierarchy is None:
        return out
    framed = _frame_weighted_tables(tabs, hierarchy, frame_sizes, pol, weighted)
    if not framed:
        return out
    wcells = build_cells([t for t, _ in framed], hierarchy, pol)
    w = np.concatenate([sizes for _, sizes in framed])
    extra = _describe(wcells, audit(wcells, wcells.frame["known"].to_numpy(), pol, sens, weights=w))
    extra["used"] = extra["used"] + " [frame weights]"
    return pd.concat([out, extra], ignore_index=True) if len(out) else extra


def _frame_weighted_tables(tabs: list[tuple[str, pd.DataFrame, list[str]]], hierarchy: pd.DataFrame,
                           frame_sizes: pd.Series, policy: DisclosurePolicy,
                           weighted: Iterable[str] | None) -> list[tuple[tuple, np.ndarray]]:
    """The tables of groups of the frame, each with its cells' frame counts (row order).

    A cell's count is the sum of ``frame_sizes`` over the finest groups it covers (a unit's own,
    an organization's units, every unit for a total); a table with a group the frame does not
    know (a pooled label) is left to the respondent-weighted attack.
    """
    levels = [str(c) for c in hierarchy.columns]
    finest = levels[0]
    h = hierarchy.drop_duplicates(finest).set_index(finest)
    sizes = pd.Series(frame_sizes, dtype=float)
    names = set(weighted) if weighted is not None else None
    out = []
    for name, df, by in tabs:
        if names is not None and name not in names:
            continue
        dims = [c for c in by if c != policy.wave_column]
        if policy.baseline_column in by or not set(dims) <= set(levels):
            continue
        n = np.full(len(df), float(sizes.sum()))
        ok = True
        for d in sorted(dims, key=levels.index, reverse=True):  # coarse first, finest last
            values = df[d]
            has = values.notna().to_numpy()
            if not has.any():
                continue
            if d == finest:
                got = values.map(sizes).to_numpy(dtype=float)
            else:
                got = values.map(sizes.groupby(h[d].reindex(sizes.index)).sum()).to_numpy(dtype=float)
            if np.isnan(got[has]).any():
                ok = False
                break
            n = np.where(has, got, n)
        if ok:
            out.append(((name, df, by), n))
    return out


def assert_no_disclosure(
    tables: Iterable[tuple[str, pd.DataFrame, Sequence[str] | str]],
    hierarchy: pd.DataFrame | None = None,
    *,
    policy: DisclosurePolicy | None = None,
    sensitive: Iterable[str] = (),
) -> None:
    """Raise :class:`DisclosureError` listing every recoverable hidden value (see :func:`find_disclosures`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"unit": ["A", "B", None], "variable": "score",
    ...                   "estimate": [float("nan"), 4.0, 3.5], "n": [float("nan"), 6, 10]})
    >>> assert_no_disclosure([("t", t, ["unit"])])
    Traceback (most recent call last):
    ...
    analysis.disclosure.policy.DisclosureError: 1 hidden value(s) can be recovered from the published tables:
      t: unit=A, score: cell within_rounding, n=4, estimate in [2.73, 2.77] from t[1]; t[2]
    """
    found = find_disclosures(tables, hierarchy, policy=policy, sensitive=sensitive)
    if found.empty:
        return
    lines = [
        f"  {r.table}: {r.by}, {r.variable}{'' if r.level is None else ' = ' + str(r.level)}: "
        f"{r.kind} {r.method}, n={r.n}, estimate in [{r.low:.2f}, {r.high:.2f}] from {r.used}"
        for r in found.itertuples()
    ]
    raise DisclosureError(
        f"{len(found)} hidden value(s) can be recovered from the published tables:\n" + "\n".join(lines)
    )
