"""The design object under `SurveyDesign`: its specification and the variance of linearised totals.

`Design` checks and holds the data, weights, strata, first-stage clusters (PSUs), finite
population corrections, lonely-PSU rule and calibration steps, and computes the covariance of
the totals of linearised values (`Design.vcov`): R's one-stage "ultimate cluster" variance
(``svyrecvar``/``onestrat``) after the calibration steps are removed
(`analysis.stats.calibration`), plus R's ``multistage`` second-stage term for a two-stage
design (`_second_stage`; the many-means block form is one-stage only, so a two-stage design
estimates one variable at a time). `SurveyDesign` (`analysis.stats.design`) adds the estimates;
`analysis.stats.weighting` and `analysis.stats.compare` take a design through the public
attributes here (``weight_values``, ``vcov``, ``degf``, ``cell_vcov``, ``replace`` ...).

Why one module: the variance formulas (`vcov`, `block_variance`, `cell_variance`) read the
design's private arrays and caches (strata, PSUs, lonely flags, calibration plan, Gram
matrices); a second module would need them as an API no other code should use.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Literal, Self

import numpy as np
import pandas as pd
from scipy import sparse

from analysis.stats.calibration import (
    BlockCells,
    BlockColumns,
    Calibration,
    CalibrationPlan,
    DomainColumns,
    group_rows,
    indicator_matrix,
    poststratify_residual,
    raking_residual,
)
from analysis.stats.columns import (
    DesignError,
    data_column,
    dense_rank,
    level_codes,
    numeric_column,
    row_labels,
)

__all__ = ["Design", "LonelyPSU"]


LonelyPSU = Literal["fail", "adjust", "certainty", "remove", "average"]
_LONELY_OPTIONS = ("fail", "adjust", "certainty", "remove", "average")


class Design:
    """Data and design of a survey, and the variance of linearised totals.

    The parameters and the variance formula are `SurveyDesign`'s (use that class: it adds
    ``mean``, ``total``, ``proportion`` and the weighting and test methods).
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        weights: str | None = None,
        strata: str | None = None,
        cluster: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        lonely_psu: LonelyPSU = "fail",
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
        if lonely_psu not in _LONELY_OPTIONS:
            raise DesignError(f"lonely_psu={lonely_psu!r}; expected one of {_LONELY_OPTIONS}")
        if len(data) == 0:
            raise DesignError("data has no rows")
        self._data = data.copy(deep=False)
        self._spec = {"weights": weights, "strata": strata, "cluster": cluster, "fpc": fpc}
        self._lonely_psu: LonelyPSU = lonely_psu
        self._calibrations: tuple[Calibration, ...] = ()
        # The calibration plan ("plan") and the gram ("gram"), built when first needed. One dict
        # for every copy with the same weights, calibrations and lonely rule (`replace` of the
        # data only), so what one copy builds the others use.
        self._variance_cache: dict[str, object] = {}
        self._domain_cache: dict[tuple[str, ...], tuple[np.ndarray, pd.DataFrame]] = {}
        self._code_cache: dict[tuple[str, ...], tuple[np.ndarray, pd.DataFrame]] = {}
        n = len(data)
        index = data.index
        clusters = [cluster] if isinstance(cluster, str) else list(cluster or [])
        fpcs = [fpc] if isinstance(fpc, str) else list(fpc or [])
        if len(clusters) > 2 or len(fpcs) > 2 or (len(clusters) == 2) != (len(fpcs) == 2):
            raise DesignError(
                f"cluster={cluster!r}, fpc={fpc!r}: a two-stage design names both stages in both, "
                "cluster=[first, second] and fpc=[first, second] (without the second fpc R's variance is "
                "the first stage's alone: give cluster=<first-stage column>); more stages are not supported"
            )
        cluster, fpc = (clusters[0] if clusters else None), (fpcs[0] if fpcs else None)

        stratum = self._labels(strata, "strata") if strata else np.zeros(n, dtype=np.int64)
        n_strata = int(stratum.max()) + 1
        if cluster:
            cl = self._labels(cluster, "cluster")
            # PSUs are (stratum, cluster) pairs: clusters nested in strata, as nest=TRUE.
            psu = np.unique(stratum * (int(cl.max()) + 1) + cl, return_inverse=True)[1]
        else:
            psu = np.arange(n, dtype=np.int64)
        n_psu = int(psu.max()) + 1
        psu_stratum = np.zeros(n_psu, dtype=np.int64)
        psu_stratum[psu] = stratum
        psu_per_stratum = np.bincount(psu_stratum, minlength=n_strata).astype(np.float64)

        if fpc:
            popsize = self._popsize(fpc, stratum, n_strata, psu_per_stratum)
        else:
            popsize = np.full(n_strata, np.inf)
        stage2 = self._second_stage(clusters[1], fpcs[1], psu, n_psu, psu_stratum, psu_per_stratum / popsize) \
            if len(clusters) == 2 else None

        if weights:
            w = numeric_column(data, weights, "weights")
            bad = ~np.isfinite(w) | (w < 0)
            if bad.any():
                raise DesignError(
                    f"weights: column {weights!r} must be finite and >= 0; rows {row_labels(index, bad)}"
                )
            if not (w > 0).any():
                raise DesignError(f"weights: column {weights!r} is zero in every row")
        elif fpc:
            w = (popsize / psu_per_stratum)[stratum]
            if stage2 is not None:  # times M_i / m_i, the second stage's inverse fraction
                w = w * stage2["inverse_fraction"][psu]
        else:
            raise DesignError(
                "no weights: pass weights= (a column of sampling weights) or fpc= "
                "(weights N_h/n_h); equal weights are never assumed silently"
            )
        self._w = np.ascontiguousarray(w, dtype=np.float64)
        self._w.flags.writeable = False
        self._stratum = stratum
        self._psu = psu
        self._psu_stratum = psu_stratum
        self._psu_per_stratum = psu_per_stratum
        self._popsize = popsize
        self._n_psu = n_psu
        self._rows_are_psus = not cluster
        # Second stage (None: one stage): each row's SSU, each SSU's PSU, and per PSU the factor
        # of its within-PSU sum of squares (see `_second_stage`).
        self._stage2 = stage2
        # onestrat's scale per stratum: fpc factor (N - n)/N times n/(n - 1) (f alone if n = 1);
        # strata with a sampling fraction of 1 (f < 1e-7) contribute nothing, as in R.
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(np.isinf(popsize), 1.0, (popsize - psu_per_stratum) / popsize)
            scale = np.where(psu_per_stratum > 1, f * psu_per_stratum / (psu_per_stratum - 1), f)
        self._scale = np.where(f < 1e-7, 0.0, scale)
        self._psu_scale = self._scale[psu_stratum]
        self._lonely = (psu_per_stratum == 1) & (self._scale > 0)
        if fpc and not (self._scale > 0).any():
            # E.g. units given as clusters with the number of units as fpc: every standard
            # error would silently be zero (see DESIGN.md, statistical contract).
            warnings.warn(
                f"fpc={fpc!r} makes every first-stage stratum a census (sampling fraction 1): all "
                "standard errors will be 0. For members sampled within units use strata='unit', "
                "fpc='unit_size'.",
                UserWarning,
                stacklevel=2,
            )

    # ------------------------------------------------------------------ construction helpers
    def _second_stage(self, column: str, fpc: str, psu: np.ndarray, n_psu: int, psu_stratum: np.ndarray,
                      first_fraction: np.ndarray) -> dict[str, np.ndarray]:
        """The second stage of a two-stage design: SSUs of *column* within PSUs, their
        population counts *fpc* (constant within a PSU, or sampling fractions), and per PSU
        R's ``multistage`` factor ``n_h/N_h (1 - m_i/M_i) m_i/(m_i - 1)`` (*first_fraction* is
        n_h/N_h by stratum). A PSU with one sampled SSU adds nothing, as in R's ``onestrat``
        (which warns under ``lonely.psu = "fail"``; so does this)."""
        labels = self._labels(column, "cluster")
        ssu = np.unique(psu * (int(labels.max()) + 1) + labels, return_inverse=True)[1]  # nested in PSUs
        n_ssu = int(ssu.max()) + 1
        ssu_psu = np.zeros(n_ssu, dtype=np.int64)
        ssu_psu[ssu] = psu
        sampled = np.bincount(ssu_psu, minlength=n_psu).astype(np.float64)
        population = self._popsize(fpc, psu, n_psu, sampled, group="first-stage cluster", units="SSUs")
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (population - sampled) / population
            factor = np.where(sampled > 1, f * sampled / (sampled - 1), 0.0)
        factor = np.where(f < 1e-7, 0.0, factor) * first_fraction[psu_stratum]
        lonely = (sampled == 1) & (f >= 1e-7)
        if lonely.any() and self._lonely_psu == "fail":
            warnings.warn(f"{int(lonely.sum())} first-stage cluster(s) have only one SSU at stage 2: they add "
                          "nothing to the second-stage variance (as R)", UserWarning, stacklevel=3)
        return {"ssu": ssu, "n_ssu": np.int64(n_ssu), "ssu_psu": ssu_psu, "sampled": sampled,
                "factor": factor, "inverse_fraction": population / sampled}

    def _labels(self, name: str, role: str) -> np.ndarray:
        codes, _ = pd.factorize(data_column(self._data, name, role), sort=True)
        if (codes < 0).any():
            raise DesignError(
                f"{role}: column {name!r} is missing in rows {row_labels(self._data.index, codes < 0)}"
            )
        return codes.astype(np.int64)

    def _popsize(
        self, name: str, stratum: np.ndarray, n_strata: int, psu_per_stratum: np.ndarray, *,
        group: str = "stratum", units: str = "PSUs",
    ) -> np.ndarray:
        values = numeric_column(self._data, name, "fpc")
        index = self._data.index
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            raise DesignError(f"fpc: column {name!r} must be finite and > 0; rows {row_labels(index, bad)}")
        first = np.full(n_strata, np.nan)
        first[stratum[::-1]] = values[::-1]  # the first value seen in each stratum
        varies = values != first[stratum]
        if varies.any():
            raise DesignError(
                f"fpc: column {name!r} must be constant within each {group}; rows {row_labels(index, varies)}"
            )
        if (values <= 1).all():  # sampling fractions, as R
            popsize = psu_per_stratum / first
        else:
            popsize = first
        over = popsize < psu_per_stratum - 1e-9
        if over.any():
            raise DesignError(
                f"fpc: column {name!r} is smaller than the number of sampled {units} in "
                f"{int(over.sum())} {group}(s) (more than 100% sampling)"
            )
        return popsize

    def replace(
        self,
        *,
        data: pd.DataFrame | None = None,
        weights: np.ndarray | None = None,
        calibrations: tuple[Calibration, ...] | None = None,
        lonely_psu: LonelyPSU | None = None,
    ) -> Self:
        """A shallow copy with the given parts replaced (arrays are never mutated).

        Nothing is checked: ``data`` must have the design's rows in the same order (e.g. the
        design's data with a column added) and ``weights`` one float per row; ``calibrations``
        is the full tuple of steps (`analysis.stats.weighting` appends to `calibrations`).
        """
        new = copy.copy(self)
        if weights is not None or calibrations is not None or lonely_psu is not None:
            # the plan depends on weights and calibrations, the gram also on the lonely rule, the
            # domains on which weights are positive; none of them on the data's other columns
            new._variance_cache = {}
            new._domain_cache = {}
        if data is not None:
            new._data = data
            new._code_cache = {}  # the old data's by columns: new data may code them otherwise
            new._domain_cache = {}
        if weights is not None:
            new._w = np.ascontiguousarray(weights, dtype=np.float64)
            new._w.flags.writeable = False
        if calibrations is not None:
            new._calibrations = calibrations
        if lonely_psu is not None:
            new._lonely_psu = lonely_psu
        return new

    @cached_property
    def _psu_sum(self) -> sparse.csr_matrix:
        """PSUs x rows indicator (built when first used: the many-means path never needs it)."""
        return indicator_matrix(self._psu, self._n_psu, len(self._psu))

    @cached_property
    def _stratum_sum(self) -> sparse.csr_matrix:
        """Strata x PSUs indicator."""
        return indicator_matrix(self._psu_stratum, len(self._psu_per_stratum), self._n_psu)

    # ------------------------------------------------------------------ public attributes
    @property
    def data(self) -> pd.DataFrame:
        """The design's data (a copy-on-write view; changing it does not change the design)."""
        return self._data.copy(deep=False)

    @property
    def weights(self) -> pd.Series:
        """Current weights, aligned to ``data.index``."""
        return pd.Series(self._w.copy(), index=self._data.index, name="weight")

    @property
    def lonely_psu(self) -> LonelyPSU:
        """The lonely-PSU rule in force."""
        return self._lonely_psu

    @property
    def degrees_of_freedom(self) -> int:
        """Design degrees of freedom: PSUs with a nonzero weight minus their strata (R's degf)."""
        return self.degf(self._w > 0)

    @property
    def weight_values(self) -> np.ndarray:
        """Current weights as a read-only float64 array (not a copy), in the order of ``data``."""
        return self._w

    @property
    def calibrations(self) -> tuple[Calibration, ...]:
        """The calibration steps so far, oldest first (removed from the linearised values)."""
        return self._calibrations

    @property
    def n_psu(self) -> int:
        """Number of first-stage clusters (PSUs), zero-weight ones included."""
        return self._n_psu

    @property
    def n_strata(self) -> int:
        """Number of first-stage strata."""
        return len(self._psu_per_stratum)

    def degf(self, rows: np.ndarray) -> int:
        """Design degrees of freedom of the rows where ``rows`` is true: their PSUs minus strata."""
        return len(np.unique(self._psu[rows])) - len(np.unique(self._stratum[rows]))

    def count_psus(self, rows: np.ndarray) -> int:
        """Number of first-stage clusters (PSUs) holding a row where ``rows`` is true."""
        return len(np.unique(self._psu[rows]))

    def __repr__(self) -> str:
        spec = ", ".join(f"{k}={v!r}" for k, v in self._spec.items() if v)
        cal = f", calibrations={len(self._calibrations)}" if self._calibrations else ""
        return f"{type(self).__name__}(n={len(self._data)}, {spec}{cal}, lonely_psu={self._lonely_psu!r})"

    def __len__(self) -> int:
        return len(self._data)

    def with_lonely_psu(self, rule: LonelyPSU) -> Self:
        """The same design with another lonely-PSU rule."""
        if rule not in _LONELY_OPTIONS:
            raise DesignError(f"lonely_psu={rule!r}; expected one of {_LONELY_OPTIONS}")
        return self.replace(lonely_psu=rule)

    # ------------------------------------------------------------------ variance machinery
    def _plan(self) -> CalibrationPlan:
        """Calibration terms and their PSU-by-category weight sums, built once per design."""
        if "plan" not in self._variance_cache:
            self._variance_cache["plan"] = CalibrationPlan.build(self._calibrations, self._psu, self._n_psu)
        return self._variance_cache["plan"]

    def vcov(self, x: np.ndarray | DomainColumns) -> np.ndarray:
        """Covariance matrix of the totals of linearised values (n x k dense, or by domain).

        Same numbers as R's ``svyrecvar`` (`vcov_direct` is its literal translation), but
        each calibration step subtracts ``psw * c[category]`` from the linearised values, so
        only category sums and PSU totals are formed: no n x k residual matrix.
        """
        lin = x if isinstance(x, DomainColumns) else DomainColumns.dense(x)
        plan = self._plan()
        shifts = plan.shifts(lin)
        totals = lin.psu_totals(None if self._rows_are_psus else self._psu, self._n_psu)
        if shifts:  # one sparse product for all calibration terms
            totals -= (plan.psu_by_category @ np.vstack(shifts)).T
        present = None
        if lin.full is None and not self._calibrations:
            # R subsets an uncalibrated design to the domain's rows: a lonely stratum with no
            # domain member is not in the subset and does not make "fail" raise (nor count
            # under "average"). One row of strata per domain column.
            present = np.zeros((lin.width, len(self._psu_per_stratum)), dtype=bool)
            present[lin.col, self._stratum[lin.rows]] = True
        v = self._stratified_vcov(totals, present)
        if self._stage2 is not None:
            v += self._second_stage_vcov(lin, plan, shifts)
        return v

    def _second_stage_vcov(self, lin: DomainColumns, plan: CalibrationPlan, shifts: list[np.ndarray]) -> np.ndarray:
        """R's ``multistage`` term: per PSU, its factor (`_second_stage`) times the sum of squares
        of its SSU totals (of the calibrated linearised values) about their mean."""
        s2 = self._stage2
        ssu, n_ssu, ssu_psu = s2["ssu"], int(s2["n_ssu"]), s2["ssu_psu"]
        totals = lin.psu_totals(ssu, n_ssu)  # width x SSUs
        if shifts:
            if "ssu_by_category" not in self._variance_cache:
                self._variance_cache["ssu_by_category"] = plan.category_sums(ssu, n_ssu)
            totals -= (self._variance_cache["ssu_by_category"] @ np.vstack(shifts)).T
        by_psu = np.asarray(indicator_matrix(ssu_psu, self._n_psu, n_ssu) @ totals.T).T  # width x PSUs
        centred = totals - (by_psu / s2["sampled"])[:, ssu_psu]
        return (centred * s2["factor"][ssu_psu]) @ centred.T

    def _stratum_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Per stratum, the weight of a PSU's squared total (``s1``) and of the squared stratum
        total (``s2``) in the variance: ``V = sum_h s1_h sum_p T_p^2 - s2_h (sum_p T_p)^2``, with
        the lonely-PSU rule (a lonely PSU: centred at 0 under "adjust", else nothing)."""
        lonely, scale = self._lonely, self._scale
        s1 = np.where(lonely & (self._lonely_psu != "adjust"), 0.0, scale)
        s2 = np.where(lonely, 0.0, scale / self._psu_per_stratum)
        return s1, s2

    def _gram(self) -> tuple[sparse.csr_matrix, sparse.csr_matrix, sparse.csr_matrix]:
        """``W_h`` (strata x categories: the strata's psw sums by category, ``W`` the plan's PSU
        sums), ``Q1 = sum_p s1_h W_p' W_p`` and ``Q2 = sum_h s2_h W_h' W_h``; cached."""
        if "gram" not in self._variance_cache:
            plan = self._plan()
            s1, s2 = self._stratum_weights()
            if self._rows_are_psus and sum(plan.sizes) ** 2 <= 4_000_000:
                # One W entry per term and row: bincounts, without the rows x categories matrix.
                stratum_w = sparse.hstack(
                    [sparse.csr_matrix(np.bincount(self._stratum * k + c, weights=p, minlength=self.n_strata * k)
                                       .reshape(self.n_strata, k))
                     for c, k, p in zip(plan.codes, plan.sizes, plan.psw, strict=True)]
                    or [sparse.csr_matrix((self.n_strata, 0))]
                ).tocsr()
                q1 = sparse.csr_matrix(plan.pair_sums(s1[self._stratum]))
            else:
                w = plan.psu_by_category
                stratum_w = (self._stratum_sum @ w).tocsr()
                q1 = (w.T @ sparse.diags(s1[self._psu_stratum]) @ w).tocsr()
            q2 = (stratum_w.T @ sparse.diags(s2) @ stratum_w).tocsr()
            self._variance_cache["gram"] = (stratum_w, q1, q2)
        return self._variance_cache["gram"]

    def block_cells(self, domain: np.ndarray, n_domains: int) -> BlockCells:
        """The cells (stratum, domain, category of every calibration term) of `block_variance`.

        Built once per set of domains; used when rows are PSUs (no ``cluster``), where every
        sum `block_variance` needs is a sum over these cells.
        """
        plan = self._plan()
        kept = domain >= 0
        every = kept.all()  # every row in a domain (the usual case): no fancy-indexed copies
        rows = slice(None) if every else np.flatnonzero(kept)
        key = self._stratum[rows] * n_domains + domain[rows]
        sizes = [self.n_strata, n_domains, *plan.sizes]
        for codes, k in zip(plan.codes, plan.sizes, strict=True):
            key *= k
            key += codes[rows]
        space = float(np.prod(np.asarray(sizes, dtype=np.float64)))
        if space >= 2.0**62:
            raise DesignError("block_cells: too many strata x domains x calibration categories")
        cells, cell_of_row = dense_rank(key, int(space))
        parts = []
        rest = cells
        for k in reversed(sizes):
            parts.append(rest % k)
            rest = rest // k
        parts.reverse()
        indptr = np.arange(len(domain) + 1) if every else np.concatenate([[0], np.cumsum(kept)])
        to_cell = sparse.csc_matrix(
            (np.ones(len(cell_of_row)), cell_of_row, indptr), shape=(len(cells), len(domain))
        )
        return BlockCells(to_cell, parts[0], parts[1], tuple(parts[2:]), n_domains)

    def block_variance(
        self,
        z: np.ndarray,
        domain: np.ndarray,
        n_domains: int,
        valid: np.ndarray,
        cells: BlockCells | None = None,
        *,
        exact_above: float = 64.0,
        scratch: np.ndarray | None = None,
    ) -> np.ndarray:
        """Variance of the total of every column of a `BlockColumns` (``V * n_domains``).

        ``z`` (n x V) is the linearised value of each row for each variable, in the column of the
        row's ``domain`` (-1: none, and ``z`` 0); ``valid`` (n x V) marks the rows that have a
        value, for the lonely-PSU rules that look at a domain's strata. The numbers are those
        of ``np.diag(vcov(...))`` column by column, from sums instead of PSU totals: with the
        PSU totals ``T_p = Z_p - W_p S`` (``Z`` the PSU totals of the values, ``W`` the PSUs'
        psw sums by category, ``S`` the calibration shifts) and `_stratum_weights`,
        ``V = sum_p s1_h (Z_p^2 - 2 Z_p W_p S) + S'Q1 S - sum_h s2_h (A_h^2 - 2 A_h W_h S) - S'Q2 S``
        where ``A_h`` is the stratum total of ``Z`` (`_gram` has ``W_h``, ``Q1``, ``Q2``). Only
        the (stratum, domain) pairs that hold rows enter, so neither a PSU-by-column nor a
        stratum-by-column matrix is formed (at 1M respondents and 60 columns the first would take
        480 MB; with domains = units, 10,300 of them, the second would not fit at all). When rows
        are PSUs every sum over rows is a sum over the `block_cells`.

        Expanding the square cancels digits when the calibration explains nearly all of a
        column's variance: a column whose variance is below ``1 / exact_above`` of the size of
        its terms is computed again the direct way (`vcov` on that column alone).
        """
        n_dom = n_domains

        def exact(v: int, d: int) -> tuple[np.ndarray, np.ndarray]:  # rows and z of variable v in domain d
            rows = np.flatnonzero(valid[:, v] & (domain == d))
            return rows, z[rows, v]

        if self._rows_are_psus:
            cells = cells if cells is not None else self.block_cells(domain, n_dom)
            # ``scratch`` (n x V, optional) takes the products of z, to spare allocations.
            tmp = scratch if scratch is not None and scratch.shape == z.shape else np.empty_like(z)
            u_z = np.asarray(cells.to_cell @ z)
            u_sq = np.asarray(cells.to_cell @ np.multiply(z, z, out=tmp))
            by_vector: dict[int, np.ndarray] = {}
            for vec in self.cell_weight_vectors():
                by_vector[id(vec)] = np.asarray(cells.to_cell @ np.multiply(z, vec[:, None], out=tmp))
            counts = np.asarray(cells.to_cell @ valid.astype(np.float64)) if self._needs_presence() else None

            return self.cell_variance(cells, u_z, u_sq, by_vector, counts, exact, exact_above=exact_above)
        plan = self._plan()
        n_var = z.shape[1]
        shifts = plan.shifts(BlockColumns(z, domain, n_dom))
        rows = np.flatnonzero(domain >= 0)
        keys, inverse = np.unique(self._psu[rows] * n_dom + domain[rows], return_inverse=True)
        to_entry = sparse.csr_matrix((np.ones(len(rows)), (inverse, rows)), shape=(len(keys), len(domain)))
        e_psu, u_d = keys // n_dom, keys % n_dom
        u_h = self._psu_stratum[e_psu]
        u_z = np.asarray(to_entry @ z)
        terms = None
        if shifts:
            w_entry = plan.psu_by_category[e_psu].tocoo()
            terms = (w_entry.row, w_entry.col, w_entry.data[:, None] * u_z[w_entry.row])
        presence = None
        if self._needs_presence():
            keys, inverse = np.unique(self._stratum[rows] * n_dom + domain[rows], return_inverse=True)
            present = group_rows(inverse, len(keys), valid[rows].astype(np.float64)) > 0
            presence = (keys // n_dom, keys % n_dom, present)

        return self._unit_variance(
            u_h, u_d, u_z, u_z * u_z, shifts, terms, n_dom, n_var, presence, exact, exact_above
        )

    def _needs_presence(self) -> bool:
        """Whether the lonely-PSU rule looks at which (stratum, domain) pairs hold values."""
        return not self._calibrations and self._lonely_psu in ("fail", "average")

    def cell_weight_vectors(self) -> list[np.ndarray]:
        """The distinct row vectors (``a`` and ``psw`` of each calibration step) whose products
        with the linearised values `cell_variance` needs summed by cell."""
        plan = self._plan()
        out: dict[int, np.ndarray] = {}
        for vec in (*plan.term_weights(), *plan.psw):
            out.setdefault(id(vec), vec)
        return list(out.values()) if plan.codes else []

    def cell_variance(
        self,
        cells: BlockCells,
        u_z: np.ndarray,
        u_sq: np.ndarray,
        by_vector: dict[int, np.ndarray],
        counts: np.ndarray | None,
        exact: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
        *,
        exact_above: float = 64.0,
    ) -> np.ndarray:
        """`block_variance` from the cells' sums (rows are PSUs): ``u_z`` and ``u_sq`` the sums of
        the linearised values z and of z^2 (cells x V), ``by_vector[id(vec)]`` that of ``vec * z``
        for each of `cell_weight_vectors`, ``counts`` the rows with a value (cells x V; only
        when `_needs_presence`), and ``exact(v, d)`` the rows and z of variable v in domain d
        (for the cancellation check)."""
        plan = self._plan()
        n_dom = cells.n_domains
        n_var = u_z.shape[1]
        u_h, u_d = cells.stratum, cells.domain
        shifts: list[np.ndarray] = []
        terms = None
        if plan.codes:
            weights = plan.term_weights()
            group_sums = [
                group_rows(cells.categories[j] * n_dom + u_d, k * n_dom, by_vector[id(weights[j])])
                .reshape(k, n_dom, n_var).transpose(0, 2, 1).reshape(k, n_var * n_dom)
                for j, k in enumerate(plan.sizes)
            ]
            shifts = plan.shifts_from(group_sums)
            offsets = plan.offsets
            t_unit = np.tile(np.arange(len(u_h)), len(plan.codes))
            t_cat = np.concatenate([offsets[j] + cells.categories[j] for j in range(len(plan.codes))])
            terms = (t_unit, t_cat, np.vstack([by_vector[id(vec)] for vec in plan.psw]))
        presence = None
        if counts is not None:
            keys, inverse = np.unique(u_h * n_dom + u_d, return_inverse=True)
            presence = (keys // n_dom, keys % n_dom, group_rows(inverse, len(keys), counts) > 0)
        return self._unit_variance(u_h, u_d, u_z, u_sq, shifts, terms, n_dom, n_var, presence, exact, exact_above)

    def _unit_variance(
        self,
        u_h: np.ndarray,
        u_d: np.ndarray,
        u_z: np.ndarray,
        u_sq: np.ndarray,
        shifts: list[np.ndarray],
        terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        n_dom: int,
        n_var: int,
        presence: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        exact: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
        exact_above: float,
    ) -> np.ndarray:
        """The formula of `block_variance` on "units" (cells, or (PSU, domain) entries) with their
        stratum, domain, sums of z and of squared PSU totals, and the (unit, category, value)
        ``terms`` of ``Z_p W_p``; ``presence`` the (stratum, domain, holds-values) pairs."""
        s1, s2 = self._stratum_weights()

        def by_domain(keys_d: np.ndarray, x: np.ndarray) -> np.ndarray:  # summed by domain -> width (v-major)
            return group_rows(keys_d, n_dom, x).T.ravel()

        # Stratum-by-domain totals A_h of the (stratum, domain) pairs that occur.
        hd, hd_of_unit = np.unique(u_h * n_dom + u_d, return_inverse=True)
        hd_h, hd_d = hd // n_dom, hd % n_dom
        a_hd = group_rows(hd_of_unit, len(hd), u_z)
        square = by_domain(u_d, s1[u_h][:, None] * u_sq)
        centre = by_domain(hd_d, s2[hd_h][:, None] * a_hd * a_hd)
        size = square.copy()  # the terms' magnitude, for the cancellation check
        variance = square - centre
        if shifts and terms is not None:
            t_unit, t_cat, t_val = terms
            s = np.vstack(shifts)  # categories x width

            def shift_at(cat: np.ndarray, dom: np.ndarray) -> np.ndarray:  # S[cat, v * n_dom + dom] for every v
                return s[cat[:, None], np.arange(n_var)[None, :] * n_dom + dom[:, None]]

            cross = by_domain(u_d[t_unit], s1[u_h[t_unit]][:, None] * t_val * shift_at(t_cat, u_d[t_unit]))
            stratum_w, q1, q2 = self._gram()
            sw = stratum_w[hd_h].tocoo()
            ws_hd = group_rows(sw.row, len(hd), sw.data[:, None] * shift_at(sw.col, hd_d[sw.row]))
            centre_cross = by_domain(hd_d, s2[hd_h][:, None] * a_hd * ws_hd)
            quad1 = np.einsum("kc,kc->c", np.asarray(q1 @ s), s)
            quad2 = np.einsum("kc,kc->c", np.asarray(q2 @ s), s)
            variance = variance - 2.0 * cross + quad1 + 2.0 * centre_cross - quad2
            size += quad1

        lonely = self._lonely
        if self._lonely_psu == "fail" and (
            lonely.any() if presence is None else (lonely[presence[0]][:, None] & presence[2]).any()
        ):
            raise DesignError(
                f"{int(lonely.sum())} stratum/strata have only one PSU (lonely PSU) and a sampling "
                "fraction below 1; choose lonely_psu='adjust', 'certainty' or 'remove'"
            )
        if self._lonely_psu == "average":
            with np.errstate(divide="ignore", invalid="ignore"):
                if presence is None:
                    variance = variance * (len(lonely) / (~lonely).sum())
                else:
                    p_h, p_d, present = presence
                    counted = by_domain(p_d, present.astype(np.float64))
                    kept = by_domain(p_d, (present & ~lonely[p_h][:, None]).astype(np.float64))
                    variance = variance * (counted / kept)
        for c in np.flatnonzero(size > exact_above * np.abs(variance)):
            v, d = divmod(int(c), n_dom)
            rows, values = exact(v, d)
            one = DomainColumns(rows, np.zeros(len(rows), dtype=np.int64), values, 1)
            variance[c] = self.vcov(one)[0, 0]
        return variance

    def vcov_direct(self, x: np.ndarray) -> np.ndarray:
        """R's algorithm row by row (residualise n x k values, then PSU totals); for tests."""
        for cal in self._calibrations:
            x = poststratify_residual(cal, x) if cal.kind == "poststratify" else raking_residual(cal, x)
        return self._stratified_vcov(np.ascontiguousarray(np.asarray(self._psu_sum @ x).T))

    def _stratified_vcov(self, totals: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        """``sum_h scale_h sum_i (z_hi - mean_h)(z_hi - mean_h)'`` over PSU totals (onestrat).

        ``totals`` is k x n_psu (one contiguous row per linearised variable: fast gathers);
        ``present`` (k x strata, optional) marks the strata holding each column's rows.
        """
        n_h = self._psu_per_stratum
        lonely = self._lonely
        if self._lonely_psu == "fail" and (lonely if present is None else lonely & present).any():
            raise DesignError(
                f"{int(lonely.sum())} stratum/strata have only one PSU (lonely PSU) and a sampling "
                "fraction below 1; choose lonely_psu='adjust', 'certainty' or 'remove'"
            )
        strata = self._psu_stratum
        stratum_means = np.vstack(
            [np.bincount(strata, weights=row, minlength=len(n_h)) for row in totals]
        ) / n_h[None, :]
        if self._lonely_psu == "adjust":
            stratum_means[:, lonely] = 0.0  # R does not centre a lonely PSU under "adjust"
        centred = totals - stratum_means[:, strata]
        vcov = (centred * self._psu_scale[None, :]) @ centred.T
        if self._lonely_psu == "average":
            # R's multistage: a lonely stratum's variance is NA, the others' sum is scaled by
            # (strata in the estimate) / (those without a lonely PSU). A lonely PSU's centred
            # total is 0 here already, so only the scale is applied (per domain column; the
            # off-diagonal by the geometric mean of the two columns' scales).
            if present is None:
                present = np.ones((1, len(n_h)), dtype=bool)
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = present.sum(axis=1) / (present & ~lonely).sum(axis=1)
            factor = np.sqrt(np.broadcast_to(factor, (vcov.shape[0],)))
            vcov = vcov * factor[:, None] * factor[None, :]
        return vcov

    # ------------------------------------------------------------------ domains and cells
    def domains(self, by: str | Sequence[str] | None) -> tuple[list[str], np.ndarray, pd.DataFrame]:
        """The ``by`` column names, each row's domain code (-1: missing) and the domains' levels.

        Domains are sorted by the columns' values; those without a positive weight are dropped.
        """
        if by is None:
            return [], np.zeros(len(self._data), dtype=np.int64), pd.DataFrame(index=[0])
        names = [by] if isinstance(by, str) else list(by)
        if not names:
            return self.domains(None)
        key = tuple(names)
        if key not in self._code_cache:  # factorising text columns is the slow part at 1M rows
            self._code_cache[key] = level_codes(self._data, names, "by")
        codes, levels = self._code_cache[key]
        # Domains with no positive weight are dropped, as svyby(drop.empty.groups=TRUE).
        if key not in self._domain_cache:  # depends on which weights are positive
            counts = np.bincount(codes[(codes >= 0) & (self._w > 0)], minlength=len(levels))
            keep = np.flatnonzero(counts)
            remap = np.full(len(levels), -1, dtype=np.int64)
            remap[keep] = np.arange(len(keep))
            self._domain_cache[key] = (
                codes if len(keep) == len(levels) else np.where(codes >= 0, remap[np.maximum(codes, 0)], -1),
                levels.iloc[keep].reset_index(drop=True),
            )
        domain, kept = self._domain_cache[key]
        return names, domain, kept

    def cell_vcov(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Proportions of codes 0..k-1 (over rows with code >= 0), their covariance, rows used."""
        w = self._w
        valid = (codes >= 0) & (w > 0)
        wsum = w[valid].sum()
        p = np.bincount(codes[valid], weights=w[valid], minlength=k) / wsum
        rows = np.flatnonzero(valid)
        share = np.zeros(len(w))
        share[rows] = w[rows] / wsum
        # the linearised indicators share * (1[code = j] - p_j), formed in place
        x = share[:, None] * -p[None, :]
        x[rows, codes[rows]] += share[rows]
        return p, self.vcov(x), int(valid.sum())
