"""Respondent-level exports: written only when k-anonymous, refused otherwise.

``python -m analysis export-responses --instrument member --wave 2025 --out data/exports/m.csv``

The export holds one row per accepted respondent and one column per *item* of the instrument
(item codes as column names, choice codes as values). It never holds:

* metadata columns (names starting with the policy's ``export_drop_prefixes``, ``_`` by default:
  submission id, timestamps, source file and row, quality flags);
* free text: items of type ``text`` and items with the role ``comment`` (names, phone numbers
  and unit details live there; comments are screened for the report, never exported);
* form metadata (``start``/``end``/``today``: the time of an answer can identify who gave it).

It is written only if every combination of the quasi-identifiers present in it is shared by at
least k respondents (``min_group_size`` of ``config/disclosure.yaml``). The quasi-identifiers are
those the study declares for the instrument (``study.yaml``: ``instruments.<id>.quasi_identifiers``,
roles or item names, e.g. ``age`` in a study without age groups), plus the roles of the policy
(``quasi_identifiers`` of ``config/disclosure.yaml``: ``unit, sex, age_group, party, position``)
that the instrument has, plus ``--quasi-identifiers``. An export in which none of them is a column
is refused: "k-anonymous" on nothing would publish exact ages and places unchecked. Otherwise
nothing is written and the command exits with 2, naming the smallest class and the columns. ``--generalise`` first
tries the export with the unit replaced by its organization. The output must lie inside
``data/`` or ``reports/`` (`analysis.config.resolve_inside`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import config, project
from analysis.disclosure.frame import unit_hierarchy
from analysis.disclosure.k_anonymity import k_anonymous_export
from analysis.disclosure.policy import DisclosureError, load_policy

__all__ = ["ExportResult", "export_columns", "export_responses", "register", "DROPPED_TYPES"]

#: Item types never exported: free text and form metadata.
DROPPED_TYPES = frozenset({"text", "start", "end", "today", "note"})
#: Item roles never exported (free-text comments, answer times).
DROPPED_ROLES = frozenset({"comment", "start", "end"})


@dataclass(frozen=True)
class ExportResult:
    """What was written: the path, the rows, the columns and the checked quasi-identifiers."""

    path: Path
    rows: int
    columns: tuple[str, ...]
    quasi_identifiers: tuple[str, ...]
    k: int
    generalised: bool


def export_columns(data: pd.DataFrame, instrument) -> list[str]:
    """The columns of *data* that may be exported: the instrument's items, minus free text,
    comments and form metadata, in the instrument's order."""
    out = []
    for item in instrument.items:
        if item.name not in data.columns:
            continue
        if item.base_type in DROPPED_TYPES or item.role in DROPPED_ROLES:
            continue
        out.append(item.name)
    return out


def _qi_columns(names: Sequence[str], instrument, columns: Sequence[str]) -> list[str]:
    """Quasi-identifier roles (or item names) -> the export's column names.

    A role the instrument does not have, or an item that is not exported (free text), has
    nothing to check; a name that is neither a role nor an item is an error (a typo in
    study.yaml or on the command line must not pass as "checked").
    """
    from analysis import instruments

    items = {item.name for item in instrument.items}
    out = []
    for name in names:
        if name in instruments.ROLES:
            item = instrument.role_item(name)
            if item is None:  # the instrument has no such question: nothing to check
                continue
            out.append(item.name)
        elif name in columns:
            out.append(name)
        elif name in items:
            continue  # an item never exported (free text, form metadata)
        else:
            raise ValueError(
                f"quasi-identifier {name!r} is neither a role of the {instrument.name} instrument "
                f"({', '.join(instruments.ROLES)}) nor a column of the export"
            )
    return list(dict.fromkeys(out))


def export_responses(
    instrument: str,
    wave: str,
    out: str | os.PathLike,
    *,
    quasi_identifiers: Sequence[str] = (),
    k: int | None = None,
    generalise: bool = False,
    processed_dir: Path | None = None,
    policy=None,
    study: project.Study | None = None,
) -> ExportResult:
    """Write the respondent-level CSV of one wave if it is k-anonymous.

    Parameters
    ----------
    instrument, wave : str
        An imported wave (``data/processed/<instrument>/<wave>.parquet``).
    out : path
        The CSV to write (UTF-8 with BOM); inside ``data/`` or ``reports/``.
    quasi_identifiers : sequence of str
        Roles (``unit``, ``sex``, …) or item names checked *in addition to* the study's and the
        policy's (which cannot be removed: drop the column instead).
    k : int, optional
        Minimum class size; default and floor: the policy's k.
    generalise : bool
        When the export is not k-anonymous, try again with unit replaced by organization.
    processed_dir : Path, optional
        Default ``data/processed``.
    policy : DisclosurePolicy, optional
    study : analysis.project.Study, optional
        Default: `analysis.project.load_study`; the instrument must be one of its instruments.

    Returns
    -------
    ExportResult

    Raises
    ------
    analysis.disclosure.DisclosureError
        Not k-anonymous (the message names the smallest class, its size, k and the columns), no
        quasi-identifier is a column of the export, or k below the policy's. Nothing is written.
    ValueError
        An output path outside ``data/`` and ``reports/``, not ending in ``.csv``, or an unknown
        quasi-identifier.
    """
    from analysis import instruments
    from analysis.ingest import waves

    pol = policy or load_policy()
    k = pol.k if k is None else k
    if isinstance(k, bool) or not isinstance(k, int) or k < pol.k:
        raise DisclosureError(
            f"export refused: k = {k!r} is below the policy's k = {pol.k} (config/disclosure.yaml)")
    target = config.resolve_inside(out, config.DATA_DIR, config.REPORTS_DIR)
    if target.suffix.lower() != ".csv":
        raise ValueError(f"--out {str(out)!r}: the export is a .csv file")
    manifest = waves.wave_manifest(instrument, wave, processed_dir=processed_dir)
    data = waves.load_wave(instrument, wave, processed_dir=processed_dir)
    ins = instruments.load(instrument, manifest.get("instrument_version"))
    cols = export_columns(data, ins)
    frame = data[cols].copy()
    declared = (study or project.load_study()).instrument(instrument).quasi_identifiers
    wanted = list(dict.fromkeys([*declared, *pol.quasi_identifiers, *quasi_identifiers]))
    qi = _qi_columns(wanted, ins, cols)
    if not qi:
        raise DisclosureError(
            f"export refused: none of the quasi-identifiers ({', '.join(wanted)}) is a column of the "
            f"{instrument} export; declare the items that could identify a respondent (age, place, "
            f"position, …) under instruments.{instrument}.quasi_identifiers in study.yaml, or pass "
            "--quasi-identifiers")
    hierarchy = unit_hierarchy(ins) if generalise else None
    safe = k_anonymous_export(frame, qi, k, policy=pol, hierarchy=hierarchy)
    generalised = list(safe.columns) != list(frame.columns)
    checked = [c for c in qi if c in safe.columns]
    if generalised:
        org = unit_hierarchy(ins).columns[1]
        checked = list(dict.fromkeys([org if c not in safe.columns else c for c in qi]))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    safe.to_csv(tmp, index=False, encoding="utf-8-sig")
    os.replace(tmp, target)
    return ExportResult(target, len(safe), tuple(safe.columns), tuple(checked), k, generalised)


def _run(args: argparse.Namespace) -> int:
    try:
        res = export_responses(args.instrument, args.wave, args.out, quasi_identifiers=args.quasi_identifiers or (),
                               k=args.k, generalise=args.generalise)
    except (DisclosureError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    note = " (unit generalised to organization)" if res.generalised else ""
    print(f"wrote {res.path}: {res.rows} respondents, {len(res.columns)} columns; k-anonymous with k = {res.k} "
          f"on {', '.join(res.quasi_identifiers)}{note}")
    return 0


def register(subparsers) -> None:
    """Add the ``export-responses`` command (see `analysis.cli`)."""
    p = subparsers.add_parser(
        "export-responses", help="write a respondent-level CSV of one wave, only if k-anonymous",
        description="Write one row per respondent (item codes; no metadata columns, no free-text comments) "
                    "only if every combination of the quasi-identifiers (those of the instrument in "
                    "study.yaml, and the policy's roles unit, sex, age group, party membership, position) is "
                    "shared by at least k respondents; otherwise write nothing, name the smallest class and "
                    "exit with 2. An export with no quasi-identifier at all is refused.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m analysis export-responses --instrument member --wave 2025 "
               "--out data/exports/member_2025.csv --generalise")
    p.add_argument("--instrument", required=True, help="instrument id, e.g. member")
    p.add_argument("--wave", required=True, help="imported wave, e.g. 2025")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="output CSV inside data/ or reports/")
    p.add_argument("--quasi-identifiers", nargs="+", metavar="ROLE", default=None,
                   help="roles or item names checked in addition to study.yaml's and the policy's")
    p.add_argument("--k", type=int, default=None, help="minimum class size (default and minimum: the policy's k)")
    p.add_argument("--generalise", action="store_true", help="if needed, replace unit by organization and check again")
    p.set_defaults(func=_run)
