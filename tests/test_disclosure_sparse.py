"""The attacker's sparse solve (#15, national scale): the component-wise minimum-norm solution
is the one a dense least-squares solve of the whole system gives, on both of its paths."""

import numpy as np
import pytest
from scipy import sparse

from analysis.disclosure import audit as audit_module
from analysis.disclosure.cells import _finest_projections


def _system(seed: int, blocks: int = 6):
    """Random 0/1 cells over atoms in disconnected blocks (a unit's cells, its organization's total),
    with targets that are derivable (sums of published rows) and targets that are not."""
    rng = np.random.default_rng(seed)
    parts, offset = [], 0
    for _ in range(blocks):
        atoms = int(rng.integers(2, 12))
        rows = (rng.random((int(rng.integers(1, 10)), atoms)) < 0.4).astype(np.int8)
        rows[0] = 1  # the block's total
        parts.append((offset, rows))
        offset += atoms
    A = np.zeros((sum(r.shape[0] for _, r in parts), offset), np.int8)
    i = 0
    for start, rows in parts:
        A[i:i + rows.shape[0], start:start + rows.shape[1]] = rows
        i += rows.shape[0]
    derivable = (rng.random((5, A.shape[0])) < 0.3).astype(float) @ A
    arbitrary = (rng.random((5, A.shape[1])) < 0.3).astype(float)
    return A.astype(float), np.vstack([derivable, arbitrary])


@pytest.mark.parametrize("dense_max", [audit_module.DENSE_MAX, 0], ids=["dense blocks", "lsmr blocks"])
@pytest.mark.parametrize("seed", range(6))
def test_component_solve_is_the_dense_minimum_norm_solution(seed, dense_max, monkeypatch):
    monkeypatch.setattr(audit_module, "DENSE_MAX", dense_max)
    A, Bt = _system(seed)
    sol = audit_module._solve(sparse.csr_matrix(A), sparse.csr_matrix(Bt))
    Y = np.linalg.lstsq(A.T, Bt.T, rcond=None)[0]
    exact = np.abs(A.T @ Y - Bt.T).max(axis=0) < 1e-6
    np.testing.assert_array_equal(sol.ok, exact)
    assert exact[:5].all()  # the sums of published rows are derivable
    got = sol.Y.toarray()
    np.testing.assert_allclose(got[:, exact], Y[:, exact], atol=1e-8)


def test_finest_projections_keeps_what_the_pairwise_rule_keeps():
    rng = np.random.default_rng(3)
    projs = set()
    for _ in range(300):
        org = f"o{rng.integers(3)}"
        unit = f"{org}u{rng.integers(6)}"
        sex = f"s{rng.integers(2)}"
        choice = rng.integers(4)
        projs.add(((("org", org),), (("org", org), ("unit", unit)), (("org", org), ("sex", sex)),
                   (("org", org), ("sex", sex), ("unit", unit)))[choice])
    accepted: list[dict] = []
    for proj in sorted(projs, key=lambda p: (-len(p), p)):  # the rule, pair by pair
        p = dict(proj)
        if not any(all(a.get(d) == v for d, v in p.items()) for a in accepted):
            accepted.append(p)
    assert [dict(p) for p in _finest_projections(projs)] == accepted
