"""Calibration steps and their removal from linearised values, as R's ``svyrecvar`` does.

A calibrated design (post-stratified or raked, `analysis.stats.weighting`) keeps each step as a
`Calibration` record. Its standard errors remove the steps from the linearised variable first:
post-stratification by residuals from the post-stratum means, raking by R's ten backfitting
sweeps of ``x - psw * ave(x / psw, margin)`` over the margins (see `analysis.stats.design`).

`CalibrationPlan` does this on sums: every step subtracts ``psw * c[category]`` from the
linearised values, so only the per-category constants ``c`` (from category sums and small
cross tables) and PSU totals are formed, on `DomainColumns` (linearised values with at most one
nonzero column per row). `poststratify_residual` and `raking_residual` are R's algorithm row by
row, which the tests compare against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from scipy import sparse

__all__ = [
    "Calibration",
    "CalibrationPlan",
    "BlockCells",
    "BlockColumns",
    "DomainColumns",
    "group_rows",
    "indicator_matrix",
    "poststratify_residual",
    "raking_residual",
]


@dataclass(frozen=True, eq=False)
class Calibration:
    """One calibration step, kept to remove it from the linearised variable like R's svyrecvar.

    ``kind`` is ``"poststratify"`` (one margin; ``old_weights`` are the weights before the
    step) or ``"raking"`` (one code vector per margin; ``weights`` are the final raked
    weights).
    """

    kind: Literal["poststratify", "raking"]
    codes: tuple[np.ndarray, ...]
    n_categories: tuple[int, ...]
    weights: np.ndarray
    old_weights: np.ndarray | None = None

    def indicators(self) -> list[sparse.csr_matrix]:
        n = self.weights.shape[0]
        return [indicator_matrix(c, k, n) for c, k in zip(self.codes, self.n_categories, strict=True)]


def indicator_matrix(codes: np.ndarray, k: int, n: int) -> sparse.csr_matrix:
    """Sparse (k x n) matrix with a one at (codes[i], i): ``M @ X`` sums rows of X by code."""
    return sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(k, n))


def group_rows(keys: np.ndarray, n_keys: int, x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` summed by ``keys`` (0..n_keys-1): ``indicator_matrix(keys) @ x``, dense."""
    return np.asarray(indicator_matrix(keys, n_keys, len(keys)) @ x)


@dataclass(frozen=True, eq=False)
class DomainColumns:
    """Linearised values with at most one nonzero column per row (one column per domain)."""

    rows: np.ndarray
    col: np.ndarray
    z: np.ndarray
    width: int
    full: np.ndarray | None = None  # dense n x k values when not of the one-column form

    @classmethod
    def dense(cls, x: np.ndarray) -> DomainColumns:
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, np.zeros(0), x.shape[1], full=x)

    def group_sum(self, codes: np.ndarray, k: int, a: np.ndarray) -> np.ndarray:
        """``sum_i a_i x_i`` by category: (k x width)."""
        if self.full is not None:
            return np.asarray(indicator_matrix(codes, k, len(codes)) @ (self.full * a[:, None]))
        flat = np.bincount(
            codes[self.rows] * self.width + self.col, weights=a[self.rows] * self.z, minlength=k * self.width
        )
        return flat.reshape(k, self.width)

    def psu_totals(self, psu: np.ndarray | None, n_psu: int) -> np.ndarray:
        """PSU totals, width x n_psu (a fresh array); ``psu=None``: every row is its own PSU."""
        if self.full is not None:
            full = self.full if psu is None else np.asarray(indicator_matrix(psu, n_psu, len(psu)) @ self.full)
            return np.array(full.T, order="C")
        if psu is None:
            out = np.zeros((self.width, n_psu))
            out[self.col, self.rows] = self.z
            return out
        flat = np.bincount(self.col * n_psu + psu[self.rows], weights=self.z, minlength=n_psu * self.width)
        return flat.reshape(self.width, n_psu)


@dataclass(frozen=True, eq=False)
class BlockColumns:
    """Linearised values of many variables by domain: column ``v * n_domains + d`` holds
    ``values[i, v]`` for the rows ``i`` of domain ``d`` (``domain[i]``; -1: no column).

    The form of many means by the same domains (`analysis.stats.design.SurveyDesign.mean` with a
    list): one dense ``n x V`` block instead of ``V`` separate `DomainColumns`, so the
    calibration shifts of every variable come from one sparse product per term.
    """

    values: np.ndarray  # n x V, 0 where a row adds nothing
    domain: np.ndarray  # n, -1 for rows in no domain (their values must be 0)
    n_domains: int

    @property
    def width(self) -> int:
        return self.values.shape[1] * self.n_domains

    def by_key(self, key: np.ndarray, k: int, a: np.ndarray | None = None) -> np.ndarray:
        """``sum_i a_i values[i]`` by (``key[i]``, domain): (k x n_domains x V); ``a=None``: ones."""
        rows = np.flatnonzero(self.domain >= 0)
        data = np.ones(len(rows)) if a is None else a[rows]
        ind = sparse.csr_matrix(
            (data, (key[rows] * self.n_domains + self.domain[rows], rows)),
            shape=(k * self.n_domains, len(self.domain)),
        )
        return np.asarray(ind @ self.values).reshape(k, self.n_domains, -1)

    def group_sum(self, codes: np.ndarray, k: int, a: np.ndarray) -> np.ndarray:
        """``sum_i a_i x_i`` by category: (k x width), as `DomainColumns.group_sum`."""
        return self.by_key(codes, k, a).transpose(0, 2, 1).reshape(k, self.width)


@dataclass(frozen=True, eq=False)
class BlockCells:
    """Rows grouped by (stratum, domain, category of each calibration term), for designs whose
    rows are PSUs: ``to_cell`` (cells x rows, CSC: one pass over the rows) sums rows into cells,
    and each cell's stratum, domain and categories say which of the variance's sums it enters."""

    to_cell: sparse.csc_matrix
    stratum: np.ndarray
    domain: np.ndarray
    categories: tuple[np.ndarray, ...]
    n_domains: int


@dataclass(frozen=True, eq=False)
class CalibrationPlan:
    """Calibration steps as terms ``psw_j * shift_j[codes_j]`` subtracted from the linearised
    values, with the small cross tables the shifts need (R's svyrecvar, done on sums)."""

    codes: tuple[np.ndarray, ...]
    sizes: tuple[int, ...]
    psw: tuple[np.ndarray, ...]
    steps: tuple[tuple[str, tuple[int, ...], np.ndarray, tuple[np.ndarray, ...]], ...]
    psu: np.ndarray  # each row's PSU
    n_psu: int
    cross: dict[tuple[int, int], np.ndarray]
    pair_tables: dict[tuple[int, int], np.ndarray | None] = field(default_factory=dict)

    @cached_property
    def offsets(self) -> np.ndarray:
        """Where each term's categories start in the (sum of sizes) category axis, and the end."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    @cached_property
    def psu_by_category(self) -> sparse.csr_matrix:
        """n_psu x (sum of category counts): psw sums by PSU and category (built when first used:
        at 1M rows it is the plan's slowest part, and `Design.block_variance` rarely needs it)."""
        offsets = self.offsets
        codes = self.codes
        n = len(self.psu)
        if codes and self.n_psu == n and np.array_equal(self.psu, np.arange(n)):
            # Rows are PSUs: one entry per term and row, columns already in order (no sort).
            k = len(codes)
            return sparse.csr_matrix(
                (
                    np.column_stack(self.psw).ravel(),
                    np.column_stack([c + o for c, o in zip(codes, offsets, strict=False)]).ravel(),
                    np.arange(0, k * n + 1, k),
                ),
                shape=(n, int(offsets[-1])),
            )
        return self.category_sums(self.psu, self.n_psu)

    def category_sums(self, unit: np.ndarray, n_units: int) -> sparse.csr_matrix:
        """n_units x (sum of category counts): psw sums by (unit of each row, category), for the
        PSUs (`psu_by_category`) or a two-stage design's SSUs."""
        offsets = self.offsets
        codes = self.codes
        n_categories = int(offsets[-1])
        if codes and n_units * n_categories <= 8_000_000:
            # each term's sums by (unit, category) with one bincount, into a small dense table
            # (a COO matrix of every row's entries took 0.4 s at 321k rows)
            table = np.zeros((n_units, n_categories))
            for c, k, o, p in zip(codes, self.sizes, offsets, self.psw, strict=False):
                sums = np.bincount(unit * k + c, weights=p, minlength=n_units * k)
                table[:, o : o + k] = sums.reshape(-1, k)
            return sparse.csr_matrix(table)
        return sparse.csr_matrix(
            (
                np.concatenate(self.psw) if self.psw else np.zeros(0),
                (
                    np.tile(unit, len(codes)),
                    np.concatenate([c + o for c, o in zip(codes, offsets, strict=False)]) if codes else np.zeros(0),
                ),
            ),
            shape=(n_units, n_categories),
        )

    @classmethod
    def build(cls, calibrations: tuple[Calibration, ...], psu: np.ndarray, n_psu: int) -> CalibrationPlan:
        """The plan of a design's calibration steps; ``psu`` is each row's PSU (0..n_psu-1)."""
        codes: list[np.ndarray] = []
        sizes: list[int] = []
        psw: list[np.ndarray] = []
        steps = []
        for cal in calibrations:
            idx = []
            for c, k in zip(cal.codes, cal.n_categories, strict=True):
                idx.append(len(codes))
                codes.append(c)
                sizes.append(k)
                psw.append(cal.weights)
            positive = cal.weights > 0
            every = positive.all()  # the usual case: no masked copies
            safe = cal.weights if every else np.where(positive, cal.weights, 1.0)
            if cal.kind == "poststratify":
                old = cal.old_weights if cal.old_weights is not None else np.ones_like(cal.weights)
                a = old / safe if every else np.where(positive, old / safe, 0.0)
                denom: tuple[np.ndarray, ...] = (
                    np.bincount(cal.codes[0], weights=old, minlength=cal.n_categories[0]),
                )
            else:
                a = 1.0 / safe if every else np.where(positive, 1.0 / safe, 0.0)
                denom = tuple(
                    np.bincount(c, minlength=k).astype(float)
                    for c, k in zip(cal.codes, cal.n_categories, strict=True)
                )
            steps.append((cal.kind, tuple(idx), a, denom))
        return cls(tuple(codes), tuple(sizes), tuple(psw), tuple(steps), psu, n_psu, {})

    def _cross(self, j: int, r: int, a: np.ndarray) -> np.ndarray:
        """``sum a_i psw_r,i`` by (category of term j, category of term r); cached."""
        if (j, r) not in self.cross:
            ids = (id(a), id(self.psw[r]))  # both held by the plan, so their ids stay theirs
            if ids not in self.pair_tables:
                self.pair_tables[ids] = self._pair_table(a * self.psw[r])
            table = self.pair_tables[ids]
            if table is not None:
                offsets = self.offsets
                self.cross[(j, r)] = table[offsets[j] : offsets[j + 1], offsets[r] : offsets[r + 1]]
            else:
                self.cross[(j, r)] = self._cross_table(j, r, a * self.psw[r])
        return self.cross[(j, r)]

    def _cross_table(self, j: int, r: int, weights: np.ndarray) -> np.ndarray:
        """``sum_i weights_i`` by (category of term j, category of term r), one bincount (the
        form without `_pair_table`'s joint table)."""
        flat = np.bincount(self.codes[j] * self.sizes[r] + self.codes[r], weights=weights,
                           minlength=self.sizes[j] * self.sizes[r])
        return flat.reshape(self.sizes[j], self.sizes[r])

    def _pair_table(self, weights: np.ndarray) -> np.ndarray | None:
        """``sum_i weights_i`` at (category of term j, category of term r) for every pair of terms
        (the (sum of sizes)^2 matrix), from one bincount over the rows' joint categories; None
        when the joint categories are too many for one table.

        Why: a raking step's margins share their row vectors, so the 9 cross tables of three
        margins (each a bincount over every row: 0.1-0.2 s at 1M rows) are margins of one table.
        """
        space = int(np.prod(self.sizes))
        n = len(self.psu)
        if not self.codes or space > 4 * n + 1024:
            return None
        joint = np.zeros(n, dtype=np.int64)
        for c, k in zip(self.codes, self.sizes, strict=True):
            joint = joint * k + c
        table = np.bincount(joint, weights=weights, minlength=space).reshape(self.sizes)
        offsets = self.offsets
        out = np.zeros((offsets[-1], offsets[-1]))
        n_terms = len(self.codes)
        for j in range(n_terms):
            for r in range(n_terms):
                margin = table.sum(axis=tuple(t for t in range(n_terms) if t not in (j, r)))
                block = np.diag(margin) if j == r else (margin if j < r else margin.T)
                out[offsets[j] : offsets[j + 1], offsets[r] : offsets[r + 1]] = block
        return out

    def pair_sums(self, row_weight: np.ndarray) -> np.ndarray:
        """``sum_i row_weight_i psw_j,i psw_r,i`` at (category of term j, category of term r) for
        every pair of terms: the (sum of sizes)^2 matrix ``W'diag(row_weight)W`` when rows are PSUs
        (one joint table when all terms share one ``psw``, as one raking step's margins do)."""
        same = all(p is self.psw[0] for p in self.psw)
        table = self._pair_table(row_weight * self.psw[0] * self.psw[0]) if same else None
        if table is not None:
            return table
        n_cat = sum(self.sizes)
        offsets = self.offsets
        out = np.zeros((n_cat, n_cat))
        for j in range(len(self.codes)):
            for r in range(len(self.codes)):
                out[offsets[j]:offsets[j + 1], offsets[r]:offsets[r + 1]] = \
                    self._cross_table(j, r, row_weight * self.psw[j] * self.psw[r])
        return out

    def term_weights(self) -> list[np.ndarray]:
        """Per term, the row weights ``a`` of its step (the sums `shifts` starts from are of ``a x``)."""
        out: list[np.ndarray] = [np.zeros(0)] * len(self.codes)
        for _, idx, a, _ in self.steps:
            for j in idx:
                out[j] = a
        return out

    def shifts(self, lin: DomainColumns | BlockColumns) -> list[np.ndarray]:
        """Per term, the per-category constants R's svyrecvar subtracts (times ``psw``)."""
        if isinstance(lin, DomainColumns) and lin.full is not None:  # dense: a model's influence functions
            return self.shifts_from([np.asarray(m @ lin.full) for m in self.term_matrices])
        weights = self.term_weights()
        return self.shifts_from(
            [lin.group_sum(c, k, a) for c, k, a in zip(self.codes, self.sizes, weights, strict=True)]
        )

    @cached_property
    def term_matrices(self) -> list[sparse.csc_matrix]:
        """Per term, the categories x rows matrix with the step's ``a`` at (code of row i, i):
        ``M @ x`` is the term's ``sum a x`` by category of dense values x, built once per plan
        (a survey regression's variance on each design of each outcome needs them)."""
        n = len(self.psu)
        return [sparse.csc_matrix((a, c, np.arange(n + 1)), shape=(k, n))
                for c, k, a in zip(self.codes, self.sizes, self.term_weights(), strict=True)]

    def shifts_from(self, sums: list[np.ndarray]) -> list[np.ndarray]:
        """`shifts` given each term's ``sum_i a_i x_i`` by category (k x width)."""
        shifts: list[np.ndarray] = []
        for kind, idx, a, denom in self.steps:
            earlier = len(shifts)
            base = []
            for j in idx:
                s = sums[j]
                for r in range(earlier):
                    s = s - self._cross(j, r, a) @ shifts[r]
                base.append(s)
            inv = [np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)[:, None] for d in denom]
            if kind == "poststratify":
                shifts.append(base[0] * inv[0])
                continue
            own = [np.zeros_like(b) for b in base]
            for _ in range(10):  # R's ten backfitting sweeps over the raking margins
                for m, j in enumerate(idx):
                    current = base[m] - sum(self._cross(j, r, a) @ own[i] for i, r in enumerate(idx))
                    own[m] = own[m] + current * inv[m]
            shifts.extend(own)
        return shifts


def poststratify_residual(cal: Calibration, x: np.ndarray) -> np.ndarray:
    """R: ``x - psw * rowsum(x * oldw / psw, ps) / rowsum(oldw, ps)``."""
    (ind,) = cal.indicators()
    psw = cal.weights
    oldw = cal.old_weights if cal.old_weights is not None else np.ones_like(psw)
    sums = ind @ (x * (oldw / psw)[:, None])
    means = sums / (ind @ oldw)[:, None]
    return x - psw[:, None] * means[cal.codes[0]]


def raking_residual(cal: Calibration, x: np.ndarray, sweeps: int = 10) -> np.ndarray:
    """R's raking residual: ten sweeps of ``x <- x - psw * ave(x / psw, margin)``.

    Each sweep subtracts a per-category constant from ``u = x / psw``, so the sweeps are run
    on category sums (cross-tabulated counts between margins) instead of on the rows: the
    result is the same as R's loop, at the cost of one pass over the rows per margin.
    """
    psw = cal.weights
    u = x / psw[:, None]
    inds = cal.indicators()
    sums = [ind @ u for ind in inds]
    counts = [np.asarray(ind.sum(axis=1)).ravel() for ind in inds]
    cross = [[(a @ b.T).toarray() for b in inds] for a in inds]
    shift = [np.zeros_like(s) for s in sums]
    for _ in range(sweeps):
        for m in range(len(inds)):
            current = sums[m] - sum(cross[m][j] @ shift[j] for j in range(len(inds)))
            with np.errstate(divide="ignore", invalid="ignore"):
                shift[m] = shift[m] + np.where(counts[m][:, None] > 0, current / counts[m][:, None], 0.0)
    for codes, s in zip(cal.codes, shift, strict=True):
        u = u - s[codes]
    return u * psw[:, None]
