"""The ``report`` sub-command: which reports to run, from options, a params file and study.yaml.

The work itself is `analysis.report.runner.run_report`; this module only turns the command line
into calls of it (one per instrument and wave) and prints where the reports are.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from analysis import config, project
from analysis.ingest import waves as waves_mod
from analysis.report.console import say
from analysis.report.errors import ParameterError, ReportError
from analysis.report.parameters import LANGUAGES, load_params_file, merge_parameters, parse_assignment
from analysis.report.runner import run_report

__all__ = ["register"]

_EPILOG = """\
Without --instrument/--wave: every instrument of study.yaml that has imported waves (in the
order study.yaml lists them), at its latest wave (every wave with --all-waves). When no wave is
imported at all, the synthetic demo waves are prepared first (if analysis.synthetic.demo is
available). The notebooks each instrument runs are listed in study.yaml; their order and
dependencies in notebooks/pipeline.yaml.

Parameters given to every notebook: instrument, wave, baseline_wave, waves (all imported waves up
to --wave), lang, output_dir, min_group_size, plus each -p name=value (a string, unless --params-file
gives that name a typed value: number, boolean, list; then -p must be of that type).
Precedence: params file < options < -p.

Examples:
  python -m analysis report
  python -m analysis report --instrument member --wave 2025 --lang en -p region=north
  python -m analysis report --params-file reports/params/2025.yaml --force

Results: reports/<instrument>/<wave>/<lang>/ (report.html, report.docx, html/, notebooks/, tables/,
figures/, results/, manifest.json), one folder per language: --lang en never touches the
Vietnamese report. A rerun with unchanged inputs, parameters and code reuses the report. Failed
runs are kept in reports/.failed/<instrument>/<wave>-<lang>-<time>/.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command to the project CLI (see `analysis.cli`)."""
    p = subparsers.add_parser(
        "report", help="run the pipeline notebooks and build the reports",
        description="Run the pipeline notebooks (papermill, in parallel where possible) and build "
                    "reports/<instrument>/<wave>/<lang>/ with report.html, report.docx and manifest.json.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instrument", metavar="ID", help="instrument id of study.yaml; default: every instrument with data")
    p.add_argument("--wave", metavar="WAVE", help="wave id (e.g. 2025); default: the latest imported wave")
    p.add_argument("--baseline", dest="baseline_wave", metavar="WAVE", help="baseline wave; default: the first imported wave")
    p.add_argument("--lang", choices=LANGUAGES, help="report language (default: the first language of study.yaml)")
    p.add_argument("--min-group-size", type=int, metavar="N", help=f"smallest group shown (default {config.MIN_GROUP_SIZE})")
    p.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                   help="extra notebook parameter, a string unless the params file types it (repeatable)")
    p.add_argument("--params-file", type=Path, metavar="YAML",
                   help="YAML mapping of parameters with typed values (e.g. a per-wave file)")
    p.add_argument("--all-waves", action="store_true", help="report every imported wave, not only the latest")
    p.add_argument("--force", action="store_true", help="rerun even if inputs, parameters and code are unchanged")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="notebooks run in parallel (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli)


def _targets(instrument: str | None, wave: str | None, all_waves: bool,
             processed_dir: Path) -> list[tuple[str, str]]:
    """(instrument, wave) pairs to report, in the order of study.yaml."""
    if instrument and wave:
        return [(instrument, wave)]
    instruments = [instrument] if instrument else list(project.load_study().instrument_names)
    pairs = []
    for name in instruments:
        imported = waves_mod.list_waves(name, processed_dir=processed_dir)
        chosen = [wave] if wave else (imported if all_waves else imported[-1:])
        pairs += [(name, w) for w in chosen if w in imported or instrument]
    return pairs


def _load_demo() -> Any | None:
    """The module analysis.synthetic.demo, or None when it is not installed."""
    try:
        if importlib.util.find_spec("analysis.synthetic.demo") is None:
            return None
    except (ImportError, ValueError):
        return None
    return importlib.import_module("analysis.synthetic.demo")


def _prepare_demo_if_possible() -> bool:
    """Call analysis.synthetic.demo.prepare_demo() when that module exists (it imports synthetic waves)."""
    demo = _load_demo()
    if demo is None or not hasattr(demo, "prepare_demo"):
        return False
    say("no wave imported yet: preparing the synthetic demo waves (analysis.synthetic.demo.prepare_demo)")
    demo.prepare_demo()
    return True


def _stop_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C: kernels are stopped and the run folder kept in .failed/."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        pass


def _cli(args: argparse.Namespace) -> int:
    # Ids first, before any file is read (a wave such as ../../tmp/x never becomes a path).
    for value, kind in ((args.instrument, "instrument"), (args.wave, "wave"), (args.baseline_wave, "wave")):
        if value is not None:
            config.check_id(value, kind)
    if args.jobs < 1:
        raise ParameterError("--jobs must be at least 1")
    cli_params = dict(parse_assignment(text) for text in args.params)
    file_params = load_params_file(args.params_file) if args.params_file else {}
    # The params file may name the run (a per-wave file); options and -p take precedence.
    named = {k: file_params.pop(k) for k in ("instrument", "wave", "baseline_wave", "lang", "min_group_size")
             if k in file_params}
    instrument = args.instrument or named.get("instrument")
    wave = args.wave or named.get("wave")
    baseline = args.baseline_wave or named.get("baseline_wave")
    for value, kind in ((instrument, "instrument"), (wave, "wave"), (baseline, "wave")):
        if value is not None:
            config.check_id(value, kind)
    lang = args.lang or named.get("lang")  # None: the study's first language (run_report)
    min_group = args.min_group_size if args.min_group_size is not None else named.get(
        "min_group_size", config.MIN_GROUP_SIZE)
    extra = merge_parameters(file_params, cli_params)

    processed_dir = config.PROCESSED_DIR
    targets = _targets(instrument, wave, args.all_waves, processed_dir)
    if not targets and not instrument and not wave and _prepare_demo_if_possible():
        targets = _targets(instrument, wave, args.all_waves, processed_dir)
    if not targets and wave:
        print(f"wave {wave!r} is not imported for {instrument or 'any instrument'}; "
              f"run python -m analysis add-wave --instrument {instrument or 'member'} --wave {wave} FILE…",
              file=sys.stderr)
        return 1
    if not targets:
        print("no wave imported; run python -m analysis add-wave --instrument member --wave 2025 FILE… "
              "(or python -m analysis demo for synthetic data)", file=sys.stderr)
        return 1
    _stop_on_sigterm()
    written = []
    for name, w in targets:
        try:
            result = run_report(name, w, baseline_wave=baseline, lang=lang, min_group_size=min_group,
                                extra=extra, jobs=args.jobs, force=args.force, progress=not args.no_progress)
        except ReportError as exc:  # failed cell, pipeline, kernel, lock: already explained
            print(f"error: {name} {w}: {exc}", file=sys.stderr)
            return 1
        written.append(result)
    for result in written:
        state = "reused" if result.reused else "written"
        print(f"report {state}: {result.html}")
    return 0
