"""Disclosure layer: respondent anonymity in every output.

Members answer questions about their own organization's leaders in grassroots units of about a
dozen people; if an answer can be traced back, honest answers stop. Every published number,
chart, sentence, comment and export goes through this package.

Strategy (also in ``config/disclosure.yaml`` and, for readers, :func:`policy_markdown`)
----------------------------------------------------------------------------------------
1. **Minimum group size k** (default 5, never below 3), counted on *unweighted* respondents
   (the ``n`` column). A group below k shows the marker ``n<5`` with a footnote, and no value.
2. **Unit-level member statistics: pooling.** Before estimation, :func:`pool_small_groups`
   merges the units of an organization that have fewer than k respondents into one group
   ``"Đơn vị khác (gộp)"`` (adding the next smallest unit while the pool is still below k).
   Why: a hierarchy unit -> organization with one hidden unit needs a second, otherwise
   publishable, unit hidden; pooling keeps every respondent in a published group and the
   unit table stays complete. Keep the same units pooled in every wave (``force=``), so that a
   wave difference compares like with like.
3. **Cross-classified breakdowns (unit x sex, org x party, proportions' levels, waves):
   primary + complementary suppression.** :func:`protect_table` hides small cells, then runs the
   attacker (:func:`find_disclosures`) on this table together with everything already published
   (``published=``: other waves, earlier reports, the parent tables) and hides, for every hidden
   value that can be recovered exactly or within rounding, the complement that protects it with
   the fewest respondents hidden (the frequency cost of sdcTable / tau-Argus), until nothing can;
   complements that turn out redundant are released (:mod:`analysis.disclosure.protect`). All levels of a
   proportion are hidden together (a level is otherwise 1 minus the others).
4. **Wave differences**: a difference is hidden when either end is hidden in the published
   level tables, and the attacker checks ``end = other end ± difference``.
5. **Sensitive items, group attribute disclosure**: a group of at least k whose answers are all
   the same (a level at 0% or 100%, or a mean with zero standard error) is *suppressed*, not
   coarsened, and shown with the neutral marker ``x`` (a dedicated footnote would announce the
   homogeneity).
6. **Comments** (:func:`screen_comments`): only for groups of at least 10; anything with a
   name, phone number, e-mail or unit identifier is withheld for manual review
   (:func:`write_withheld`, under data/), never printed.
7. **Exports** (:func:`k_anonymous_export`; command ``python -m analysis export-responses``,
   :mod:`analysis.disclosure.export`): k-anonymous on the quasi-identifiers or refused, naming the
   smallest class.
8. **The whole report** (:func:`audit_report`, :func:`report_tables`): every published table of a
   report folder attacked together, across notebooks, breakdowns, organizations and waves.
   Everything under ``reports/<instrument>/<wave>/<lang>/`` is published, ``results/`` included; logs
   with the true n of hidden cells go under ``data/`` (:func:`write_log`).

Markers: ``n<5`` marks a small group; ``x`` marks every other hidden cell (complementary,
homogeneous, wave) — one neutral marker, so the reason, which can itself be informative, is
never shown. The reasons are in :attr:`ProtectedTable.log`, which is for the researcher only.

How notebooks call it
---------------------
``policy = load_policy(k=min_group_size)``; ``hier = unit_hierarchy(ins)``;
``sens = [i.name for i in ins.sensitive_items]``. Pool units on the respondent data
(``pool_small_groups(data, unit_col, policy.k, org_col, into="unit_reported", force=...)``),
estimate, put the parent rows in the same table (``pd.concat`` of ``by=[org, unit]``,
``by=org`` and overall) or pass them in ``published=``, then
``protect_table(est, by=..., hierarchy=..., policy=policy, sensitive=sens, published=[...],
name=...)``. Write ``pt.table`` (with ``pt.footnotes("vi")``/``("en")`` under it), draw
``mask_for_plot(pt)``, keep ``pt.log`` with ``write_log`` under data/ (never in reports/, whose
results/ folder is distributed with the report). Wave comparisons:
``protect_comparison(compare_waves(a, b), by=..., a=pt_a, b=pt_b)``. Sentences:
``safe_text(sentence, pt)``. Comments: ``screen_comments(..., identifiers=unit_identifiers())``
then ``write_withheld(withheld, "data/processed/<instrument>/<wave>_withheld_comments.csv")``.
Exports: ``k_anonymous_export(df, instrument=ins, hierarchy=hier)`` (command line:
``python -m analysis export-responses``, :mod:`analysis.disclosure.export`). Before assembly, the report
runner should call :func:`audit_report` on the run folder: every published table together.

Known gaps
----------
* Equality relations only: bounds (a hidden mean cannot leave the scale, counts are
  non-negative) are not used, except that a derived pool of a *sensitive proportion* that must
  be 0% or 100% is reported; a derived pool of a mean at the scale end is not.
* Rounding intervals are the narrowest *linear combination* of published cells (a linear
  programme); intersecting several combinations, or using bounds, could narrow them further.
  It matters only for hidden groups of k or more (a hidden group of fewer than k is reported
  whenever it is derivable at all).
* Weighted estimates: the unweighted n stands in for the weights in the recovery.
* Variables are attacked separately; n shared across variables is not combined.
* Complementary suppression is a least-cost heuristic, not an integer programme's optimum.
* Consistency with earlier reports holds only for the tables passed in ``published=``.

Modules
-------
* `policy` — the policy (``config/disclosure.yaml``): k, markers, thresholds, `DisclosureError`;
* `frame` — the unit hierarchy and the unit identifiers, from the population frame;
* `pooling` — small groups pooled in the respondent data (:func:`pool_small_groups`);
* `protect` — one table made safe to publish (:func:`protect_table`, :func:`mask_for_plot`,
  :func:`write_log`, :func:`protect_comparison`);
* `complement` — the complementary cells of least cost (:func:`least_cost_pattern`, run by
  `protect_table`; the rule is in its docstring);
* `keys` — group keys of table rows, parents filled in from the hierarchy;
* `cells` — the published cells as combinations of the finest groups (the attacker's unknowns);
* `audit` — the attacker (:func:`find_disclosures`, :func:`assert_no_disclosure`);
* `report_audit` — the whole report attacked at once (:func:`audit_report`);
* `sentences` — generated sentences checked (:func:`check_sentence`, :func:`safe_text`);
* `comments` — free-text screening (:func:`screen_comments`, :func:`write_withheld`);
* `k_anonymity` — the k-anonymity check of a respondent export (:func:`k_anonymous_export`);
* `export` — ``python -m analysis export-responses`` (writes a k-anonymous respondent file).

Imports `analysis.config`, `analysis.instruments` (the frame, instrument roles) and
`analysis.ingest.waves` (stored waves, for the export). The public names are re-exported here,
each from the module that defines it: ``disclosure.protect_table(…)``.

Example
-------
>>> import pandas as pd
>>> est = pd.DataFrame({"org": ["CDVC", "CDVC", "CDVC", "CDVC"],
...                     "unit": ["CDVC01", "CDVC02", "CDVC03", None],
...                     "variable": "score", "estimate": [3.1, 3.4, 4.9, 3.5],
...                     "se": 0.2, "ci_low": 2.9, "ci_high": 4.1, "n": [12, 10, 3, 25], "deff": 1.0})
>>> units = pd.DataFrame({"unit": ["CDVC01", "CDVC02", "CDVC03"], "org": "CDVC"})
>>> pt = protect_table(est, by=["org", "unit"], hierarchy=units)
>>> pt.table[["unit", "display", "suppressed"]].to_dict("list")
{'unit': ['CDVC01', 'CDVC02', 'CDVC03', nan], 'display': ['3.10', 'x', 'n<5', '3.50'], 'suppressed': [False, True, True, False]}
>>> pt.log[["unit", "reason", "n"]].to_dict("list")
{'unit': ['CDVC03', 'CDVC02'], 'reason': ['primary', 'complementary'], 'n': [3, 10]}
>>> find_disclosures([("units", pt, ["org", "unit"])], units).empty
True
"""

from analysis.disclosure.audit import assert_no_disclosure, find_disclosures
from analysis.disclosure.comments import screen_comments, write_withheld
from analysis.disclosure.frame import unit_hierarchy, unit_identifiers
from analysis.disclosure.policy import DisclosureError, DisclosurePolicy, load_policy, policy_markdown
from analysis.disclosure.k_anonymity import k_anonymous_export
from analysis.disclosure.pooling import PooledGroups, pool_small_groups
from analysis.disclosure.protect import (
    LOG_COLUMNS,
    NUMERIC_COLUMNS,
    ProtectedTable,
    mask_for_plot,
    protect_comparison,
    protect_table,
    write_log,
)
from analysis.disclosure.report_audit import audit_report, report_tables
from analysis.disclosure.sentences import check_sentence, safe_text

__all__ = [
    "DisclosureError",
    "DisclosurePolicy",
    "LOG_COLUMNS",
    "NUMERIC_COLUMNS",
    "PooledGroups",
    "ProtectedTable",
    "assert_no_disclosure",
    "audit_report",
    "check_sentence",
    "find_disclosures",
    "k_anonymous_export",
    "load_policy",
    "mask_for_plot",
    "policy_markdown",
    "pool_small_groups",
    "protect_comparison",
    "protect_table",
    "report_tables",
    "safe_text",
    "screen_comments",
    "unit_hierarchy",
    "unit_identifiers",
    "write_log",
    "write_withheld",
]
