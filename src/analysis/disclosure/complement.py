"""Complementary suppression of least cost: which further cells to hide, and why those.

:func:`least_cost_pattern` is the search that :func:`analysis.disclosure.protect_table` runs
after the primary suppression, with the attacker (:func:`analysis.disclosure.audit.audit`) on
the table together with everything published alongside.

Which complementary cells: the cheapest that protect
----------------------------------------------------
Statistical offices choose complementary cells at minimum cost: R's sdcTable (and tau-Argus)
give every cell a cost, by default its frequency, and look for the suppression pattern of least
total cost that leaves each sensitive cell non-derivable. Here the cost of a cell is the number
of respondents it hides (its ``n``), and the search is a simple, verified heuristic instead of an
integer programme:

1. The attacker (:func:`~analysis.disclosure.audit.audit`, on this table together with
   ``published=``) lists every hidden value it can recover and the published cells it used.
2. For each one, the candidates are the cells of this table in that derivation, cheapest first
   (a cell that another published table also shows protects nothing and comes last). The first
   candidate whose hiding alone makes the value non-derivable — exactly and within rounding,
   against every relation the attacker sees — is hidden. When no single cell does (a cross-
   classification with margins needs a rectangle of four), the cheapest sibling of the hidden
   cell is hidden and the attack is repeated.
3. When the attack finds nothing, each complementary cell is released again, largest first, if
   the attacker still finds nothing without it.
4. The same search is run with the older rule (siblings first, then the smallest ``n``), and
   the pattern that hides fewer respondents is kept, so the result is never worse than before.

So a cell of 3 is never protected by hiding a cell of 233 when hiding a smaller one would
protect it as well; it still is when every cheaper choice leaves it derivable (e.g. a total and
one organization published elsewhere, with only two other organizations to choose from). The
result is not guaranteed to be the global optimum an integer programme finds. Pooling small
units (:func:`~analysis.disclosure.pooling.pool_small_groups`, before estimation) is the
policy's first choice for units, so a unit table rarely needs a complement at all. The log's
``detail`` names, for each complementary cell, the hidden group it protects.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.disclosure.audit import audit
from analysis.disclosure.cells import Cells
from analysis.disclosure.policy import DisclosureError, DisclosurePolicy

__all__ = ["least_cost_pattern"]


def least_cost_pattern(cells: Cells, table: int, group: np.ndarray, cost: dict[int, float], hidden: dict[int, str],
                       policy: DisclosurePolicy, sensitive: frozenset[str], *,
                       name: str = "table") -> tuple[dict[int, str], dict[int, list[int]]]:
    """The groups to hide so that the attacker recovers nothing, at least cost.

    Parameters
    ----------
    cells : Cells
        Every audited table (:func:`~analysis.disclosure.cells.build_cells`), the one being
        protected included, with its already hidden cells not known.
    table : int
        Index (``ti``) of the table being protected among the audited tables.
    group : ndarray of int
        For each row of that table, its group (one group and variable: the unit that is hidden
        together, every level of a proportion).
    cost : dict
        Group -> respondents it hides (its ``n``).
    hidden : dict
        Group -> reason, for the groups already hidden (primary, homogeneous, wave).
    policy : DisclosurePolicy
    sensitive : frozenset of str
    name : str
        The table's name in messages.

    Returns
    -------
    (dict, dict)
        Every hidden group with its reason (``hidden`` plus the ``complementary`` ones), and for
        each complementary group the hidden cells it protects (rows of ``cells.frame``).

    Raises
    ------
    DisclosureError
        The other tables alone already reveal a hidden value.
    """
    pol, sens, reason, gpos = policy, sensitive, hidden, group
    f = cells.frame
    cur = (f["ti"] == table).to_numpy()
    pos = f["pos"].to_numpy()
    known = f["known"].to_numpy().copy()
    # cells also published by another table: hiding them here would protect nothing
    ident = list(zip(f["key"], f["variable"], f["level"]))
    elsewhere = {x for x, kn, c in zip(ident, known, cur) if kn and not c}
    # each group's cells of this table, and the (variable, level) systems they are in
    cur_idx = np.flatnonzero(cur)
    cur_group = np.asarray(gpos)[pos[cur_idx]]
    cells_of = {int(g): cur_idx[i] for g, i in pd.Series(cur_group).groupby(cur_group).indices.items()}
    for g in np.unique(gpos):  # a group without cells in the audit (every row dropped) has none
        cells_of.setdefault(int(g), np.zeros(0, np.int64))
    pairs = pd.DataFrame({"g": cur_group, "variable": f["variable"].to_numpy()[cur_idx],
                          "level": f["level"].to_numpy()[cur_idx]}).drop_duplicates()
    systems: dict[int, set] = {g: set() for g in cells_of}
    for g, var, lev in zip(pairs["g"].tolist(), pairs["variable"].tolist(), pairs["level"].tolist()):
        systems[g].add((var, lev))
    systems_of = {g: frozenset(v) for g, v in systems.items()}

    def known_without(hidden: Iterable[int], base: np.ndarray) -> np.ndarray:
        out = base.copy()
        for g in hidden:
            out[cells_of[g]] = False
        return out

    def exposed(kn: np.ndarray, targets: tuple[int, ...], systems: frozenset, tight: bool) -> bool:
        return any(set(targets) & set(x.targets) for x in audit(cells, kn, pol, sens,
                                                                 tighten=tight, only=systems))

    base = dict(reason)

    def search(alone_first: bool) -> tuple[dict[int, str], dict[int, list[int]]]:
        """One suppression pattern: the rule below (``alone_first``) or the sibling rule."""
        rs, prot = dict(base), {}
        known = f["known"].to_numpy().copy()
        tighten = False  # fast search first; the loop only ends on a full (tightened) audit
        while True:
            findings = audit(cells, known, pol, sens, tighten=tighten)
            if not findings and tighten:
                break
            if not findings:
                tighten = True
                continue
            chosen: set[int] = set()
            for fd in findings:
                cand = [c for c in fd.used if cur[c] and known[c]]
                if not cand:
                    what = ", ".join(f"{d}={v}" for d, v in f.at[fd.targets[0], "key"])
                    raise DisclosureError(
                        f"{name}: the published tables alone already reveal {f.at[fd.targets[0], 'table']} "
                        f"({what}, {f.at[fd.targets[0], 'variable']}); fix those tables first"
                    )
                tkeys = [set(f.at[t, "key"]) for t in fd.targets]

                def shape(c: int, tkeys: list[set] = tkeys) -> tuple:
                    # a sibling (same dimensions, one value different) breaks the derivation
                    # at its source; hiding an ancestor (a total) loses more and helps less
                    ck = set(f.at[c, "key"])
                    ancestor = any(ck <= tk for tk in tkeys)
                    sibling = any(len(ck) == len(tk) and len(ck - tk) == 1
                                  and {d for d, _ in ck} == {d for d, _ in tk} for tk in tkeys)
                    return ancestor, not sibling

                def cheapest(c: int) -> tuple:
                    # a cell also published elsewhere protects nothing; then the respondents
                    # hidden (the frequency cost), the shape on a tie
                    return (ident[c] in elsewhere, cost[int(gpos[pos[c]])], *shape(c), str(f.at[c, "key"]), c)

                def progress(c: int) -> tuple:
                    return (ident[c] in elsewhere, *shape(c), cost[int(gpos[pos[c]])], str(f.at[c, "key"]), c)

                groups = list(dict.fromkeys(int(gpos[pos[c]]) for c in sorted(cand, key=cheapest)))
                if alone_first and chosen & set(groups):
                    continue  # this round already breaks the derivation; the next audit checks
                systems = frozenset((f.at[t, "variable"], f.at[t, "level"]) for t in fd.targets)
                fallback = int(gpos[pos[min(cand, key=progress)]])
                pick = next((g for g in groups
                             if not exposed(known_without([g], known), fd.targets, systems, tighten)),
                            fallback) if alone_first else fallback
                chosen.add(pick)
                prot.setdefault(pick, []).extend(int(t) for t in fd.targets)
            for g in sorted(chosen):
                rs.setdefault(g, "complementary")
            hidden_pos = np.isin(gpos, list(rs))
            known[cur] = known[cur] & ~hidden_pos[pos[cur]]
        # release what the pattern does not need, largest first (a complement chosen early
        # can become redundant once later ones are hidden)
        for g in sorted((g for g, r in rs.items() if r == "complementary"), key=lambda g: (-cost[g], g)):
            trial = known.copy()
            trial[cells_of[g]] = f["known"].to_numpy()[cells_of[g]]
            if not audit(cells, trial, pol, sens, tighten=True, only=systems_of[g]):
                known = trial
                del rs[g]
                prot.pop(g, None)
        return rs, prot

    def loss(pattern: tuple[dict[int, str], dict[int, list[int]]]) -> tuple[float, int]:
        extra = [g for g, r in pattern[0].items() if r == "complementary"]
        return sum(cost[g] for g in extra), len(extra)

    first = search(True)
    best = min([first, search(False)], key=loss) if loss(first)[1] > 1 else first

    return best
