"""``python -m analysis instrument …`` — check and export the survey instruments.

Commands::

    python -m analysis instrument check
    python -m analysis instrument export member --format xlsform --out reports/instruments
    python -m analysis instrument export unit --format codebook --version 1
    python -m analysis instrument export member --format all

Outputs go to a folder the user names (default ``reports/instruments/``), which must lie inside
the project's ``data/`` or ``reports/`` folders (`analysis.config.resolve_inside`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import config
from analysis.instruments.checks import check_all
from analysis.instruments.export import EXPORTERS
from analysis.instruments.loading import load
from analysis.instruments.model import InstrumentError

__all__ = ["register", "run_check", "run_export"]

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
