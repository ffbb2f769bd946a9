"""``python -m analysis instrument …`` — check and export the survey instruments.

Commands::

    python -m analysis instrument check
    python -m analysis instrument export member --format xlsform --out reports/instruments
    python -m analysis instrument export unit --format codebook --version 1
    python -m analysis instrument export member --format all
    python -m analysis instrument import FORM.xlsx --name member --version 2 [--out FILE] [--force]

Outputs go to a folder the user names (default ``reports/instruments/``), which must lie inside
the project's ``data/`` or ``reports/`` folders (`analysis.config.resolve_inside`). ``import``
writes ``surveys/<name>/v<version>.yaml`` (or ``--out``) from a KoboToolbox / ODK XLSForm
(`analysis.instruments.xlsform_import`), never over an existing file without ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import config
from analysis.instruments.checks import check_all, check_file
from analysis.instruments.export import EXPORTERS
from analysis.instruments.loading import load
from analysis.instruments.model import InstrumentError
from analysis.instruments.files import versions
from analysis.instruments.xlsform_import import XLSFormError, compare_with, import_xlsform, write_instrument

__all__ = ["register", "run_check", "run_export", "run_import"]

_HELP = """\
Check the instrument files in surveys/ or export one instrument.

  check                    check every surveys/<name>/v<N>.yaml; all problems are listed at once
  export NAME --format F   write an XLSForm (xlsform), a printable Vietnamese questionnaire
                           (questionnaire, HTML for A4) or a codebook (codebook, CSV + HTML)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``instrument`` command to the top-level parser."""
    p = subparsers.add_parser("instrument", help="check or export the survey instruments (surveys/*.yaml)",
                              description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="instrument_command", metavar="ACTION")
    sub.required = True

    c = sub.add_parser("check", help="check every instrument file; exit 1 and list all problems if any",
                       description="Check every surveys/<name>/v<N>.yaml (and that the member + unit pair "
                                   "covers every task group of the plan, if the study has one). Prints every "
                                   "problem with file and item.")
    c.set_defaults(func=run_check)

    e = sub.add_parser("export", help="export one instrument as XLSForm, questionnaire or codebook",
                       description="Export one instrument. Examples:\n"
                                   "  python -m analysis instrument export member --format xlsform\n"
                                   "  python -m analysis instrument export unit --format questionnaire --out reports/instruments",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("name", help="instrument id: member or unit")
    e.add_argument("--format", "-f", required=True, choices=[*sorted(EXPORTERS), "all"], dest="fmt",
                   help="xlsform: .xlsx for ODK/Kobo (survey, choices, settings); questionnaire: printable "
                        "HTML in Vietnamese; codebook: CSV + HTML for researchers; all: the three")
    e.add_argument("--version", "-v", default=None, help="instrument version (default: the latest)")
    e.add_argument("--out", "-o", default=None,
                   help="output folder inside data/ or reports/ (default: reports/instruments/)")
    e.add_argument("--lang", default="vi", choices=["vi", "en"],
                   help="questionnaire language (default vi; only for --format questionnaire)")
    e.set_defaults(func=run_export)

    i = sub.add_parser("import", help="write an instrument YAML from a KoboToolbox/ODK XLSForm",
                       description="Read the survey, choices and settings sheets of an XLSForm (.xlsx) and write "
                                   "surveys/<name>/v<version>.yaml: groups, select_one/select_multiple with their "
                                   "lists, relevance and constraints, labels in Vietnamese and English. What an "
                                   "XLSForm cannot say (constructs, reverse keys, task groups, targets, roles, "
                                   "sensitive items) is printed as a to-do and written as comments at the top of "
                                   "the file. Example:\n"
                                   "  python -m analysis instrument import kobo_form.xlsx --name member --version 2",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("form", help="the XLSForm (.xlsx) with sheets survey, choices, settings")
    i.add_argument("--name", required=True, help="instrument id, e.g. member or unit")
    i.add_argument("--version", required=True, help="instrument version, a whole number (the file is v<N>.yaml)")
    i.add_argument("--out", "-o", default=None, help="YAML file to write (default: surveys/<name>/v<version>.yaml)")
    i.add_argument("--force", action="store_true", help="replace the output file if it exists")
    i.add_argument("--default-lang", default="vi", choices=["vi", "en"],
                   help="language of plain 'label'/'hint' columns when settings has no default_language (default vi)")
    i.add_argument("--carry-from", default=None, metavar="VERSION",
                   help="copy constructs, reverse keys, roles, sensitivity, task groups, choice values, indicators "
                        "and targets of the items unchanged since this earlier version (default: only list the "
                        "differences from the latest earlier version)")
    i.set_defaults(func=run_import)


def run_check(args: argparse.Namespace) -> int:
    """Check all instruments; print OK and the files, or every problem (exit 1)."""
    try:
        files = check_all()
    except InstrumentError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"OK: {len(files)} instrument file(s) checked: " + ", ".join(files))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export one instrument in the requested format; print the files written."""
    name = config.check_id(args.name, "instrument")
    out = config.resolve_inside(Path(args.out) if args.out else config.REPORTS_DIR / "instruments",
                                config.DATA_DIR, config.REPORTS_DIR)
    try:
        ins = load(name, version=args.version)
    except InstrumentError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    formats = sorted(EXPORTERS) if args.fmt == "all" else [args.fmt]
    for fmt in formats:
        exporter = EXPORTERS[fmt]
        written = exporter(ins, out, lang=args.lang) if fmt == "questionnaire" else exporter(ins, out)
        for path in (written if isinstance(written, tuple) else (written,)):
            print(path)
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Import an XLSForm; print the file written, what the import did and the researcher's to-do."""
    name = config.check_id(args.name, "instrument")
    version = str(args.version).strip()
    if not version.isdigit():
        print(f"error: --version {args.version!r}: a version is a whole number (files are v<N>.yaml)", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else config.SURVEYS_DIR / name / f"v{version}.yaml"
    surveys = out.parent.parent if out.parent.name == name else config.SURVEYS_DIR
    earlier = [v for v in versions(name, surveys_dir=surveys) if int(v) < int(version)] \
        if (surveys / name).is_dir() else []
    if args.carry_from is not None and str(args.carry_from) not in earlier:
        print(f"error: --carry-from {args.carry_from}: no earlier version {args.carry_from} of {name!r} in "
              f"{surveys} (earlier versions: {', '.join(earlier) or 'none'})", file=sys.stderr)
        return 2
    try:
        result = import_xlsform(args.form, name, version, default_lang=args.default_lang)
        if earlier:
            previous = load(name, version=args.carry_from or earlier[-1], surveys_dir=surveys)
            compare_with(result, previous, carry=args.carry_from is not None)
        path = write_instrument(result, out, force=args.force)
    except (XLSFormError, InstrumentError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"written: {path}")
    for line in result.notes:
        print(f"  done: {line}")
    print("TO DO (also at the top of the file):")
    for k, line in enumerate(result.todo, start=1):
        print(f"  {k}. {line}")
    if path.parent.name == name and path.name == f"v{version}.yaml":
        problems = check_file(path)
        print(f"instrument check of {path.name}: " + ("no problems" if not problems else
              f"{len(problems)} problem(s) until the to-dos are done:\n" + "\n".join(f"  - {p}" for p in problems)))
    return 0
