"""Command line: ``python -m analysis <command> …`` (also installed as ``analysis``).

Each command lives with the module that does the work; that module exposes
``register(subparsers)``, which adds its sub-parser and sets ``func`` (a callable taking the
parsed arguments and returning an exit code). This file only lists the modules, so adding a
command is one line here and nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "build_parser"]

#: Modules that contribute a sub-command, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "analysis.report.command",
    "analysis.instruments.cli",
    "analysis.ingest.importer",
    "analysis.synthetic.demo",
    "analysis.disclosure.export",
    "analysis.study.plan_command",
    "analysis.report.unit_sheets",
)

_DESCRIPTION = """\
Đề án 04-ĐA/ĐUK — survey analysis toolkit.

Typical use:
  python -m analysis demo                       write the synthetic demo waves
  python -m analysis add-wave --instrument member --wave 2026 FILE…
  python -m analysis report                     reports for the latest wave, trends over all waves
  python -m analysis plan-wave --wave 2026 --moe 0.10   sample per unit for the next wave
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, PermissionError) as exc:
        # Errors at the boundary carry their own place and rule; print them plainly.
        print(f"error: {exc}", file=sys.stderr)
        return 2
