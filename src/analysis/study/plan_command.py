"""The ``plan-wave`` command: the next wave's sample per unit for a target precision (`analysis.study.planning`).

Writes ``reports/planning/<wave>/``: ``plan.xlsx`` (sheets groups, precision, units, settings),
the same tables as CSV, and ``note_vi.md`` / ``note_en.md`` saying what precision the plan
buys. With ``--selection-list REGISTER.csv`` it also draws the members to invite
(`analysis.study.selection`) into ``data/planning/<wave>/`` — never ``reports/``: the list names
people. Tables are written with the report layer's deterministic writers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.instruments import population
from analysis.report.tables import write_csv
from analysis.report.xlsx import write_xlsx
from analysis.study import planning, selection
from analysis.study.data import frame_dir

__all__ = ["register", "run_plan"]

#: Seed of the selection list unless --seed is given (the plan's issue date).
DEFAULT_SEED = 20230324


def run_plan(*, wave: str, instrument: str = "member", moe: float | None = None, detect_change: float | None = None,
             power: float = 0.8, by: str = "org", response_rate: str = "from-past", allocation: str = "proportional",
             scales: list[str] | None = None, selection_list: str | None = None, seed: int = DEFAULT_SEED,
             out_dir: Path | None = None, selection_dir: Path | None = None,
             processed_dir: Path | None = None) -> dict:
    """Make the plan, write its files; returns ``{"plan": WavePlan, "files": [...], "manifest": dict|None}``."""
    plan = planning.plan_wave(wave, instrument=instrument, moe=moe, detect_change=detect_change, power=power, by=by,
                              response_rate=response_rate, allocation=allocation, scales=scales,
                              processed_dir=processed_dir)
    register = None
    if selection_list is not None:
        # Read the register before anything is written: a bad register leaves no partial output.
        units = population.load_units(frame_dir(instrument, None, "a selection list"))
        register = selection.read_register(selection_list, units)
    folder = out_dir or config.resolve_inside(config.REPORTS_DIR / "planning" / config.check_id(plan.wave, "wave"),
                                              config.REPORTS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    settings = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                for k, v in plan.settings.items()}
    sheets = {"groups": plan.groups, "precision": plan.precision, "units": plan.units,
              "settings": pd.DataFrame({"setting": list(settings), "value": [str(v) for v in settings.values()]})}
    files = [write_xlsx(sheets, folder / "plan.xlsx")]
    files += [write_csv(df, folder / f"{name}.csv") for name, df in sheets.items()]
    for lang in ("vi", "en"):
        path = folder / f"note_{lang}.md"
        path.write_text(planning.plan_note(plan, lang), encoding="utf-8")
        files.append(path)
    manifest = None
    if register is not None:
        inv = plan.units.set_index("unit")["invitations"]
        chosen = selection.draw_selection(register, inv, seed=seed, wave=plan.wave)
        manifest = selection.write_selection(chosen, selection_list, register, inv, seed=seed, wave=plan.wave,
                                             out_dir=selection_dir)
    return {"plan": plan, "files": files, "manifest": manifest, "out_dir": folder}


def _run(args: argparse.Namespace) -> int:
    result = run_plan(wave=args.wave, instrument=args.instrument, moe=args.moe, detect_change=args.detect_change,
                      power=args.power, by=args.by, response_rate=args.response_rate, allocation=args.allocation,
                      scales=args.scales, selection_list=args.selection_list, seed=args.seed)
    print(planning.plan_note(result["plan"], "vi"))
    print(planning.plan_note(result["plan"], "en"))
    print(f"written: {result['out_dir']}")
    if result["manifest"] is not None:
        m = result["manifest"]
        print(f"selection list: {m['selected']} members, data/planning/{m['wave']}/selection.csv (seed {m['seed']}, "
              f"register sha256 {m['register_sha256'][:12]}…)")
        if m["units_listing_fewer_than_planned"]:
            print("units whose register lists fewer members than the plan invites (all listed are selected): "
                  + ", ".join(m["units_listing_fewer_than_planned"]))
    return 0


def register(subparsers) -> None:
    """Add the ``plan-wave`` command (see `analysis.cli`)."""
    p = subparsers.add_parser(
        "plan-wave", help="sample sizes per organization and invitations per unit for a target precision",
        description="From the past waves (variances, design effects, response rates per unit) compute the completed "
                    "interviews each organization needs for a margin of error of every scale's mean (--moe) or to "
                    "detect a change against the latest wave (--detect-change, --power), and the members to invite "
                    "per unit. Writes reports/planning/<wave>/ (XLSX, CSV, a vi/en note); --selection-list draws "
                    "the members from a register into data/planning/<wave>/.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m analysis plan-wave --wave 2026 --moe 0.10\n"
               "  python -m analysis plan-wave --wave 2026 --detect-change 0.20 --power 0.8 --allocation neyman\n"
               "  python -m analysis plan-wave --wave 2026 --moe 0.10 --selection-list data/register.csv")
    p.add_argument("--wave", required=True, help="the wave to plan, e.g. 2026")
    p.add_argument("--instrument", default="member", help="instrument (default member)")
    p.add_argument("--moe", type=float, default=None, help="target margin of error of a mean, scale points (95%%)")
    p.add_argument("--detect-change", type=float, default=None, help="change against the latest wave to detect")
    p.add_argument("--power", type=float, default=0.8, help="power for --detect-change (default 0.8)")
    p.add_argument("--by", choices=("org", "total"), default="org", help="targets per organization (default) or total")
    p.add_argument("--response-rate", default="from-past", help="'from-past' (default) or one rate, e.g. 0.5")
    p.add_argument("--allocation", choices=("proportional", "neyman"), default="proportional",
                   help="allocation across the units of an organization")
    p.add_argument("--scales", nargs="+", default=None, metavar="CONSTRUCT",
                   help="constructs to plan for (default: those asked of every member)")
    p.add_argument("--selection-list", default=None, metavar="REGISTER.csv",
                   help="membership register (columns unit, member_id; never commit it): draw the members to invite")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the selection (default {DEFAULT_SEED})")
    p.set_defaults(func=_run)
