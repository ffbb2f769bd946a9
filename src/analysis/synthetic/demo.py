"""The shipped demo: synthetic waves written like real exports and imported like real data.

``python -m analysis demo [--seed 20230324] [--out data/demo] [--waves 2023 2024 2025 2026]
[--import/--no-import]`` writes the synthetic files (`analysis.synthetic.generate.generate_demo`) and
imports the waves 2023–2025 of both instruments through `analysis.ingest.importer.import_wave` — the
same path, validation and quality checks as real data. The 2026 files are written but not
imported: they show how a new wave is added::

    python -m analysis add-wave --instrument member --wave 2026 \\
        --meta data/demo/member/2026/wave.yaml data/demo/member/2026/SYNTHETIC_DEMO_member_2026_kobo_export.xlsx

Every demo wave is marked ``synthetic: true`` in its ``wave.yaml`` and therefore in the
import manifest; the report runner calls `prepare_demo` when no wave has been imported yet.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis import config
from analysis.ingest.store import file_sha256
from analysis.synthetic.generate import generate_demo, member_file_name, unit_file_name
from analysis.synthetic.world import DEFAULT_SEED, DEFAULT_WAVES, SyntheticConfig

__all__ = ["IMPORTED_WAVES", "prepare_demo", "register", "main"]

#: Waves imported by default (the 2026 files are left for `add-wave`).
IMPORTED_WAVES: tuple[str, ...] = ("2023", "2024", "2025")
_STAMP = "generated.json"


def _stamp(out: Path, cfg: SyntheticConfig, waves: Sequence[str]) -> dict:
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name not in (_STAMP, "README.md", ".gitignore"))
    return {"seed": cfg.seed, "waves": sorted(waves), "config": repr(cfg), "inputs": _inputs_fingerprint(),
            "files": {str(p.relative_to(out)): file_sha256(p) for p in files}}


def _inputs_fingerprint() -> str:
    """sha256 over what the files depend on besides the seed: the generator's code, the
    instruments and the population frame — so a changed generator or frame regenerates the demo."""
    import hashlib

    from analysis.instruments import load

    here = Path(__file__).parent
    paths = sorted(here.glob("*.py"))
    paths += [Path(load(name).path) for name in ("member", "unit")]
    paths += sorted(config.POPULATION_DIR.glob("*.csv"))
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode("utf-8") + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _up_to_date(out: Path, cfg: SyntheticConfig, waves: Sequence[str]) -> bool:
    """True when *out* holds exactly what this seed and these waves generate (checked by sha256)."""
    path = out / _STAMP
    if not path.is_file():
        return False
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    if (stored.get("seed") != cfg.seed or stored.get("waves") != sorted(waves) or stored.get("config") != repr(cfg)
            or stored.get("inputs") != _inputs_fingerprint()):
        return False
    return stored == _stamp(out, cfg, waves)


def prepare_demo(*, seed: int = DEFAULT_SEED, out_dir: Path | str | None = None,
                 waves: Sequence[str] = DEFAULT_WAVES, import_waves: Sequence[str] | None = IMPORTED_WAVES,
                 data_dir: Path | str | None = None, workers: int | None = None, verbose: bool = False) -> dict:
    """Generate the demo files (if not already there) and import the demo waves. Idempotent.

    Parameters
    ----------
    seed : int
        Generator seed (the shipped demo uses 20230324).
    out_dir : path, optional
        Where the files go (default ``data/demo``).
    waves : sequence of str
        Waves to write.
    import_waves : sequence of str or None
        Waves to import (both instruments); None or empty imports nothing.
    data_dir : path, optional
        The ``data/`` folder the import writes to (default `analysis.config.DATA_DIR`).
    workers : int, optional
        Imports run in this many processes (default: the number of CPUs; 1 = in this process).
    verbose : bool
        Print one line per step.

    Returns
    -------
    dict
        ``{"out_dir", "generated" (bool), "imports": [{"instrument", "wave", "status", "accepted",
        "quarantined", "dropped"} …], "skipped": [...]}``.

    Notes
    -----
    A wave already imported from *real* files (manifest ``synthetic: false``) is never
    replaced: it is listed under ``skipped``. A synthetic wave imported from other files
    (another seed) is replaced; the previous version is kept by the import.
    """
    cfg = SyntheticConfig(seed=int(seed))
    out = Path(out_dir) if out_dir is not None else config.DEMO_DIR
    waves = sorted({config.check_id(str(w), "wave") for w in waves})
    generated = False
    if not _up_to_date(out, cfg, waves):
        generate_demo(out, waves=waves, cfg=cfg)
        (out / _STAMP).write_text(json.dumps(_stamp(out, cfg, waves), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        generated = True
    if verbose:
        print(f"demo files {'written to' if generated else 'up to date in'} {out}")
    imports, skipped, tasks = [], [], []
    root = Path(data_dir) if data_dir is not None else config.DATA_DIR
    for wave in sorted(set(import_waves or ()) & set(waves)):
        for instrument, name in (("member", member_file_name(wave)), ("unit", unit_file_name(wave))):
            folder = out / instrument / wave
            manifest = root / "processed" / instrument / f"{wave}.manifest.json"
            if manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("synthetic") is False:
                skipped.append({"instrument": instrument, "wave": wave, "reason": "real data already imported"})
                if verbose:
                    print(f"  {instrument} {wave}: real data already imported, demo not imported")
                continue
            tasks.append((instrument, wave, str(folder / name), str(folder / "wave.yaml"), str(root)))
    n_workers = min(len(tasks), workers if workers is not None else (os.cpu_count() or 1))
    if n_workers > 1 and not all(_unchanged(root, t) for t in tasks):
        # Each wave is imported independently (its own raw folder and processed files), so the
        # imports run side by side; spawn, not fork: the caller may be a threaded kernel.
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
            done = list(pool.map(_import_one, tasks))
    else:
        done = [_import_one(t) for t in tasks]
    for row in done:
        imports.append(row)
        if verbose:
            print(f"  {row['instrument']} {row['wave']}: {row['status']}, {row['accepted']} accepted, "
                  f"{row['quarantined']} quarantined, {row['dropped']} dropped")
    return {"out_dir": str(out), "generated": generated, "imports": imports, "skipped": skipped}


def _unchanged(root: Path, task: tuple[str, str, str, str, str]) -> bool:
    """True when the wave was imported from this very file (the import would only say 'unchanged')."""
    instrument, wave, path, _, _ = task
    manifest = root / "processed" / instrument / f"{wave}.manifest.json"
    if not manifest.is_file():
        return False
    files = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
    return [f.get("sha256") for f in files] == [file_sha256(Path(path))]


def _import_one(task: tuple[str, str, str, str, str]) -> dict:
    """Import one demo file (top-level so that a worker process can run it)."""
    from analysis.ingest import importer as ingest

    instrument, wave, path, meta, root = task
    result = ingest.import_wave(instrument, wave, [Path(path)], meta=Path(meta), replace=True, data_dir=Path(root))
    return {"instrument": instrument, "wave": wave, "status": result.status, "accepted": result.accepted,
            "quarantined": result.quarantined, "dropped": result.dropped}


def _run(args: argparse.Namespace) -> int:
    import_waves = args.import_waves if args.do_import else []
    summary = prepare_demo(seed=args.seed, out_dir=args.out, waves=args.waves, import_waves=import_waves,
                           data_dir=args.data_dir, verbose=True)
    if args.do_import and not summary["imports"] and not summary["skipped"]:
        print("no wave imported (none of --import-waves is among --waves)", file=sys.stderr)
    print("SYNTHETIC DEMO DATA — not real survey data. Truth: " + str(Path(summary["out_dir"]) / "truth.json"))
    return 0


def register(subparsers) -> None:
    """Add the ``demo`` command (see `analysis.cli`)."""
    p = subparsers.add_parser(
        "demo", help="write the synthetic demo waves (SYNTHETIC DATA) and import 2023–2025",
        description="Write synthetic member (KoboToolbox-style XLSX) and unit (spreadsheet) waves with a known truth "
                    "(truth.json), then import them through the ordinary import. Same seed, same bytes.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Add the 2026 demo wave afterwards, as a real new wave would be added:\n"
               "  python -m analysis add-wave --instrument member --wave 2026 --meta data/demo/member/2026/wave.yaml \\\n"
               "      data/demo/member/2026/SYNTHETIC_DEMO_member_2026_kobo_export.xlsx")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})")
    p.add_argument("--out", default=None, help="output folder (default data/demo)")
    p.add_argument("--waves", nargs="+", default=list(DEFAULT_WAVES), help="waves to write (default 2023 2024 2025 2026)")
    p.add_argument("--import-waves", nargs="*", default=list(IMPORTED_WAVES),
                   help="waves to import into data/processed (default 2023 2024 2025)")
    p.add_argument("--import", dest="do_import", action=argparse.BooleanOptionalAction, default=True,
                   help="import the waves after writing them (default: --import)")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.synthetic.demo …`` = ``python -m analysis demo …``."""
    parser = argparse.ArgumentParser(prog="python -m analysis.synthetic.demo")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["demo", *(argv if argv is not None else sys.argv[1:])])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
