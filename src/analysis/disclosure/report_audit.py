"""Attack a finished report folder: every published member statistic, all tables together.

Import :func:`report_tables` and :func:`audit_report` from :mod:`analysis.disclosure`. The
notebooks protect each table with :func:`analysis.disclosure.protect_table`, often against only
the tables of the same notebook; this module re-reads what a reader actually gets
(``reports/<instrument>/<wave>/tables/*.csv``) and runs the attacker
(:func:`analysis.disclosure.find_disclosures`) on all of it at once, so that a value hidden in
one notebook and published (or derivable) in another is caught.

What is audited, and how a table's grouping (``by``) is recognised
------------------------------------------------------------------
The published CSV has the protected table's columns (minus ``display``), but not its ``by``.
`analysis.report.content.Section.table` records ``by`` and ``parents`` (the hierarchy's parent
columns the table was protected with) in the block metadata of the executed notebook; when a
table's block carries a non-empty ``by``, that is used. Otherwise (a report folder
without notebooks, an older report) ``by`` is recognised from the columns: the grouping columns
(:data:`GROUP_COLUMNS`) that come *before* ``variable`` (a ``unit`` column after ``variable`` is
an indicator's measurement unit, not a grouping). A recorded parent column that the audit's
hierarchy does not know is an error: the audit would not nest the table as its protection did.

Only additive statistics about respondents can be combined linearly, so each table is put in a
*statistic family* and its variables are prefixed with it (``mean:sat``), so that an alpha
and a mean of the same scale and group are never mistaken for one cell:

* ``mean`` — construct means by a grouping (and their wave differences, audited as difference
  tables; the two wave ends ``estimate_a``/``estimate_b`` they repeat are reported, kind
  ``wave_end``, when the same cell is hidden in a level table);
* ``share`` — answer shares of items (tables with a ``level``, by default ``item_distribution``);
* ``count`` — numbers of respondents: ``response_rates`` (the rate times the public frame size
  is the count, so the count is what is audited) and ``sample_composition`` (one grouping per
  characteristic);
* ``n`` — only the respondent counts of a non-additive statistic, per variable (``reliability``:
  alpha by organization and wave is not additive, its complete-case n is). ``reliability_latest``
  repeats the latest wave of ``reliability`` and is not audited twice.

Tables of other kinds (item-total correlations, regression
coefficients, weight diagnostics, unit-survey indicators, the scorecard) are not additive over
respondents and are listed in :attr:`ReportTables.skipped` with the reason.

Tables without a wave column are about the report's wave (from ``manifest.json``) and get it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.disclosure.audit import FINDING_COLUMNS, find_disclosures
from analysis.disclosure.policy import DisclosurePolicy, load_policy

__all__ = ["GROUP_COLUMNS", "FAMILIES", "ReportTables", "report_tables", "audit_report"]

#: Column names that group respondents in the report's tables (roles of the instrument).
GROUP_COLUMNS: tuple[str, ...] = (
    "wave", "baseline_wave", "org", "unit", "sex", "age_group", "party", "education", "position", "theory",
)

#: Published table name -> statistic family. ``constructs_by_*`` and ``changes_constructs_*``
#: are matched by prefix.
FAMILIES: dict[str, str] = {
    "constructs_by_": "mean",
    "unit_scores_": "mean",
    "trends_constructs_by_org": "mean",
    "changes_constructs_": "mean",
    "item_distribution": "share",
    "response_rates": "count",
    "sample_composition": "count",
    "reliability": "n",
}


@dataclass(frozen=True)
class ReportTables:
    """The tables of a report as the attacker sees them.

    Attributes
    ----------
    tables : list of (name, DataFrame, by)
        Ready for :func:`analysis.disclosure.find_disclosures` (variables prefixed with the
        family, every table with its wave).
    skipped : dict
        Table name -> why it is not audited.
    wave : str
        The report's wave.
    """

    tables: list[tuple[str, pd.DataFrame, list[str]]]
    skipped: dict[str, str] = field(default_factory=dict)
    wave: str = ""
    #: The published wave ends of difference tables: ``table, row, key, variable, estimate``
    #: (``key``: sorted ``((dim, value), ...)`` with the end's wave).
    ends: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Table name -> the parent columns recorded with it (only tables whose block recorded them).
    parents: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> tuple[str, pd.DataFrame, list[str]]:
        """The audited table called *name*."""
        for t in self.tables:
            if t[0] == name:
                return t
        raise KeyError(name)


def _family(name: str) -> str | None:
    for key, fam in FAMILIES.items():
        if name == key or (key.endswith("_") and name.startswith(key)):
            return fam
    return None


def _recorded_by(report_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    """``(by, parents)`` of each table from the executed notebooks' block metadata, when recorded
    there (``parents`` is empty when only ``by`` was recorded)."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for path in sorted((report_dir / "notebooks").glob("*.ipynb")):
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            for o in cell.get("outputs", []):
                block = (o.get("metadata") or {}).get("analysis") or {}
                if block.get("type") == "table" and isinstance(block.get("by"), list):
                    parents = block.get("parents") if isinstance(block.get("parents"), list) else []
                    out[str(block["name"])] = ([str(c) for c in block["by"]], [str(c) for c in parents])
    return out


def _infer_by(df: pd.DataFrame) -> list[str]:
    cols = list(df.columns)
    before = cols[: cols.index("variable")] if "variable" in cols else cols
    return [c for c in before if c in GROUP_COLUMNS]


def _read(path: Path) -> pd.DataFrame:
    dtype = {c: str for c in GROUP_COLUMNS}
    dtype.update({"level": str, "variable": str})
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=dtype, keep_default_na=False, na_values=[""])
    if "suppressed" in df.columns:
        df["suppressed"] = df["suppressed"].astype(str).str.lower().eq("true")
    return df


def report_tables(report_dir: str | Path, *, wave: str | None = None) -> ReportTables:
    """Read a report folder's published tables into the attacker's form.

    Parameters
    ----------
    report_dir : str or Path
        ``reports/<instrument>/<wave>/`` (its ``tables/*.csv`` and ``manifest.json``).
    wave : str, optional
        The report's wave; default from ``manifest.json``.

    Returns
    -------
    ReportTables
    """
    report_dir = Path(report_dir)
    if wave is None:
        manifest = json.loads((report_dir / "manifest.json").read_text(encoding="utf-8"))
        wave = str(manifest.get("wave") or manifest.get("parameters", {}).get("wave"))
    recorded = _recorded_by(report_dir)
    tables: list[tuple[str, pd.DataFrame, list[str]]] = []
    skipped: dict[str, str] = {}
    ends: list[pd.DataFrame] = []
    parents: dict[str, list[str]] = {}
    for path in sorted((report_dir / "tables").glob("*.csv")):
        name = path.stem
        fam = _family(name)
        if fam is None:
            skipped[name] = "not an additive statistic about respondents"
            continue
        df = _read(path)
        missing = [c for c in ("variable", "estimate", "n", "suppressed") if c not in df.columns]
        if missing:
            skipped[name] = f"columns {missing} missing"
            continue
        rec_by, rec_parents = recorded.get(name, ([], []))
        # an empty recorded by (one group, e.g. the item shares of the report's wave) says no more
        # than the columns do
        by = list(rec_by) or _infer_by(df)
        missing = [c for c in by if c not in df.columns]
        if missing:
            raise ValueError(f"{path.name}: the notebook recorded by={by}, but the table has no column {missing}")
        if rec_parents:
            parents[name] = list(rec_parents)
        if name == "sample_composition":
            tables.append((name, *_composition(df, wave)))
            continue
        out = df.copy()
        if "estimate_a" in out.columns and "baseline_wave" in by:
            ends.append(_ends(name, df, by, fam))
        if "estimate_a" in out.columns:
            # a wave difference: the attacker reads it as estimate(wave) - estimate(baseline);
            # its two ends repeat level cells (checked separately to be rounded)
            out = out.drop(columns=[c for c in ("estimate_a", "estimate_b") if c in out.columns])
        if fam in ("count", "n"):
            out = out.assign(estimate=1.0)
            out.loc[out["suppressed"], "estimate"] = float("nan")
            if fam == "count":
                out["variable"] = "respondents"
        if "wave" not in by:
            out["wave"] = wave
            by = ["wave", *by]
        out["variable"] = fam + ":" + out["variable"].astype(str)
        keep = [*by, "variable", *(["level"] if "level" in out.columns else []), "estimate", "n", "suppressed"]
        tables.append((name, out[keep], by))
    return ReportTables(tables, skipped, wave, pd.concat(ends, ignore_index=True) if ends else pd.DataFrame(), parents)


def _ends(name: str, df: pd.DataFrame, by: list[str], fam: str) -> pd.DataFrame:
    """The two wave means that a published difference row repeats (estimate_a, estimate_b)."""
    dims = [c for c in by if c not in ("wave", "baseline_wave")]
    rows = []
    shown = df[~df["suppressed"]]
    for i, r in shown.iterrows():
        base = tuple((d, str(r[d])) for d in dims if pd.notna(r[d]))
        for col, w in (("estimate_a", r["baseline_wave"]), ("estimate_b", r["wave"])):
            if pd.notna(r[col]):
                rows.append({"table": name, "row": i, "key": tuple(sorted((*base, ("wave", str(w))))),
                             "variable": f"{fam}:{r['variable']}", "estimate": float(r[col]), "column": col})
    return pd.DataFrame(rows)


def _end_findings(rt: ReportTables) -> pd.DataFrame:
    """Wave ends shown in a difference table whose level cell is hidden in a level table."""
    if rt.ends.empty:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    hidden: dict[tuple, str] = {}
    for name, df, by in rt.tables:
        if "baseline_wave" in by:
            continue
        for i, r in df[df["suppressed"]].iterrows():
            key = tuple(sorted((d, str(r[d])) for d in by if pd.notna(r[d])))
            hidden.setdefault((key, r["variable"]), f"{name}[{i!r}]")
    out = []
    for e in rt.ends.itertuples():
        where = hidden.get((e.key, e.variable))
        if where is None:
            continue
        out.append({"table": e.table, "row": e.row, "by": ", ".join(f"{d}={v}" for d, v in e.key),
                    "variable": e.variable, "level": None, "kind": "wave_end", "method": "exact",
                    "n": float("nan"), "estimate": round(e.estimate, 6), "low": round(e.estimate, 6),
                    "high": round(e.estimate, 6), "width": 0.0, "used": f"{e.table}[{e.row!r}].{e.column}; hidden in {where}"})
    return pd.DataFrame(out, columns=FINDING_COLUMNS)


def _composition(df: pd.DataFrame, wave: str) -> tuple[pd.DataFrame, list[str]]:
    """``sample_composition`` (one row per characteristic and level) as counts of respondents."""
    dims = [d for d in dict.fromkeys(df["variable"].astype(str)) if d in GROUP_COLUMNS]
    rows = df[df["variable"].astype(str).isin(dims)]
    out = pd.DataFrame({d: rows["level"].where(rows["variable"].astype(str) == d) for d in dims})
    out.insert(0, "wave", rows["wave"].astype(str) if "wave" in rows.columns else wave)
    out["variable"] = "count:respondents"
    out["estimate"] = 1.0
    out["n"] = rows["n"].astype(float)
    out["suppressed"] = rows["suppressed"].to_numpy()
    out.loc[out["suppressed"], ["estimate", "n"]] = float("nan")
    return out.reset_index(drop=True), ["wave", *dims]


def audit_report(
    report_dir: str | Path,
    hierarchy: pd.DataFrame | None = None,
    *,
    policy: DisclosurePolicy | None = None,
    sensitive: Sequence[str] = (),
    extra: Sequence[tuple[str, pd.DataFrame, Sequence[str]]] = (),
    replace: Mapping[str, pd.DataFrame] | None = None,
    wave: str | None = None,
    frame_sizes: pd.Series | None = None,
) -> pd.DataFrame:
    """:func:`analysis.disclosure.find_disclosures` on every audited table of a report at once.

    Parameters
    ----------
    report_dir : str or Path
    hierarchy : DataFrame, optional
        How groups nest, finest first: ``[unit, org]`` for this study
        (:func:`analysis.disclosure.unit_hierarchy`). None: no nesting (a study whose instrument
        declares fewer than two levels); then no table may have been protected with a parent.
    policy : DisclosurePolicy, optional
        Default: the report's k from its manifest, rest from ``config/disclosure.yaml``.
    sensitive : sequence of str
        Sensitive variables (without the family prefix).
    extra : sequence of (name, DataFrame, by)
        More published tables (earlier reports), already in the attacker's form.
    replace : mapping, optional
        Table name -> DataFrame replacing an audited table (tests: to plant a leak).
    wave : str, optional
        The report's wave; needed (with *policy*) when the folder has no ``manifest.json`` yet,
        e.g. a run folder audited by the runner before assembly.
    frame_sizes : Series, optional
        The frame's public member count per unit (index: unit code): the means and shares of
        groups of the frame (wave, organization, unit), weighted to the frame, are attacked
        again with these counts as weights (:func:`analysis.disclosure.find_disclosures`).

    Returns
    -------
    DataFrame
        As :func:`analysis.disclosure.find_disclosures`; empty when nothing can be recovered.
    """
    report_dir = Path(report_dir)
    rt = report_tables(report_dir, wave=wave)
    if policy is None:
        manifest_path = report_dir / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
        k = manifest.get("parameters", {}).get("min_group_size")
        policy = load_policy(k=int(k)) if k is not None else load_policy()
    if replace:
        rt = ReportTables([(n, replace.get(n, df), by) for n, df, by in rt.tables], rt.skipped, rt.wave, rt.ends,
                          rt.parents)
    known = {str(c) for c in list(hierarchy.columns)[1:]} if hierarchy is not None else set()
    unknown = {n: [p for p in ps if p not in known] for n, ps in rt.parents.items()}
    unknown = {n: ps for n, ps in unknown.items() if ps}
    if unknown:
        levels = list(hierarchy.columns) if hierarchy is not None else []
        raise ValueError(f"tables protected with parent columns the audit's hierarchy {levels} "
                         f"does not have: {unknown}; pass the hierarchy they were protected with")
    tabs = [*rt.tables, *extra]
    sens = [f"{fam}:{v}" for v in sensitive for fam in set(FAMILIES.values())]
    weighted = [n for n, df, by in tabs
                if len(df) and df["variable"].astype(str).str.startswith(("mean:", "share:")).all()]
    found = find_disclosures(tabs, hierarchy, policy=policy, sensitive=sens, frame_sizes=frame_sizes,
                             weighted=weighted)
    ends = _end_findings(rt)
    return pd.concat([found, ends], ignore_index=True) if len(ends) else found
