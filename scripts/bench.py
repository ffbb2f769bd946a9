"""`make bench`: time and peak memory of the statistics core (and, where present, of R's survey).

Each benchmark is a function ``(n) -> list of (step, seconds)`` in `BENCHMARKS`; every
(benchmark, size) pair runs in fresh subprocesses so the peak resident memory
(``ru_maxrss``) belongs to that run alone (three of them, the fastest reported, as timeit
does). Add a benchmark by appending a `Benchmark` to the list.

    python scripts/bench.py                       # 10k, 100k, 1M; R up to 100k if Rscript exists
    python scripts/bench.py --sizes 10000 --no-r
    python scripts/bench.py --r-max-n 1000000     # R at 1M too (about 3 minutes)
    python scripts/bench.py --scales 1,10 --no-core   # the whole pipeline at 1× and 10× the frame only

``--scales 1,10,100`` (the default) also runs the whole pipeline — import, weighting, estimation,
rendering, disclosure audit — on frames 1, 10 and 100 times the real one, and the 103 unit sheets
at 1× (`bench_pipeline`); ``--scales none`` skips it.

Synthetic data: 103 grassroots units (strata; fpc = unit size, sampling fraction about 0.6),
3 organizations, sex, party, 20 construct scores with 2% missing. The work timed: building the
design and raking on three margins (org, sex, party), then 20 construct means by organization
(3 domains) with standard errors on the raked design — the same calls in R
(``svydesign``, ``rake``, ``svyby(~c, ~org, d, svymean, na.rm = TRUE, deff = TRUE)``). Ours
estimates the 20 means in one call, ``d.mean([...], by="org")``; the per-variable form is timed
beside it for comparison. "survey regression" times a gaussian ``svyglm(y ~ x + g)`` on a raked
stratified design with fpc (no R run beside it; its numbers are pinned to R in tests/test_svyglm.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_pipeline  # noqa: E402  (beside this script)

N_CONSTRUCTS = 20
ORGS = {"CDVC": 48, "HCCB": 20, "DTN": 35}  # units per organization (103)


def synthetic(n: int, seed: int = 2026) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Respondents in 103 unit strata (fpc = unit size) and the population margins."""
    rng = np.random.default_rng(seed)
    units = [f"{org}{i:02d}" for org, k in ORGS.items() for i in range(1, k + 1)]
    unit_org = np.array([u.rstrip("0123456789") for u in units])
    share = rng.gamma(2.0, 1.0, len(units))
    sampled = np.maximum(1, rng.multinomial(n - len(units), share / share.sum()) + 1)
    size = np.ceil(sampled / 0.6).astype(np.int64)
    unit_idx = np.repeat(np.arange(len(units)), sampled)
    m = len(unit_idx)
    data = pd.DataFrame(
        {
            "unit": pd.array(np.array(units)[unit_idx], dtype="str"),
            "org": pd.array(unit_org[unit_idx], dtype="str"),
            "unit_size": size[unit_idx],
            "w": (size / sampled)[unit_idx],
            "sex": pd.array(rng.choice(["female", "male"], m, p=[0.45, 0.55]), dtype="str"),
            "party": pd.array(rng.choice(["no", "yes"], m, p=[0.3, 0.7]), dtype="str"),
        }
    )
    for j in range(1, N_CONSTRUCTS + 1):
        score = 3.0 + 0.2 * (data["org"].to_numpy() == "DTN") + rng.normal(0, 0.8, m)
        score[rng.random(m) < 0.02] = np.nan
        data[f"c{j:02d}"] = score
    total = float(size.sum())
    org_tot = pd.Series(size).groupby(unit_org).sum()
    margins = {
        "org": {k: float(v) for k, v in org_tot.items()},
        "sex": {"female": total * 0.42, "male": total * 0.58},
        "party": {"no": total * 0.25, "yes": total * 0.75},
    }
    return data, margins


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def bench_statistics_core(n: int) -> list[tuple[str, float, float]]:
    """Design + raking on three margins, then 20 construct means by organization with SEs."""
    from analysis.stats.design import SurveyDesign

    data, margins = synthetic(n)
    start = _clock()
    design = SurveyDesign(data, weights="w", strata="unit", fpc="unit_size", lonely_psu="adjust")
    raked = design.rake(margins)
    rake_t = _since(start)
    middle = _clock()
    table = raked.mean([f"c{j:02d}" for j in range(1, N_CONSTRUCTS + 1)], by="org")  # one call, one pass
    means_t = _since(middle)
    total_t = _since(start)
    out = Path(os.environ["BENCH_OUT"]) if os.environ.get("BENCH_OUT") else None
    if out is not None:
        table[["org", "variable", "estimate", "se"]].to_csv(out, index=False)
    # The same 20 means one call per variable (the form before #15), for comparison; not in the total.
    again = _clock()
    for j in range(1, N_CONSTRUCTS + 1):
        raked.mean(f"c{j:02d}", by="org")
    per_variable_t = _since(again)
    return [
        ("design + rake (3 margins)", *rake_t),
        ("20 means by org, with SEs (one call)", *means_t),
        ("  same, one call per variable (not in total)", *per_variable_t),
        ("total", *total_t),
    ]


def bench_svyglm(n: int) -> list[tuple[str, float, float]]:
    """A gaussian svyglm (``y ~ x + g``) on a raked stratified design with fpc."""
    from analysis.stats.design import SurveyDesign
    from analysis.stats.svyglm import svyglm
    from analysis.synthetic.regression import regression_sample

    df, margins = regression_sample(n)
    start = _clock()
    design = SurveyDesign(df, strata="unit", fpc="unit_size").rake(margins)
    rake_t = _since(start)
    middle = _clock()
    svyglm(design, "y ~ x + g")
    return [("design + rake (1 margin)", *rake_t), ("svyglm y ~ x + g", *_since(middle)), ("total", *_since(start))]


def bench_report(n: int) -> list[tuple[str, float, float]]:
    """The whole member report for one wave on the demo: all its notebooks, HTML and DOCX.

    *n* is not used: the demo fixes the sample (about 3,200 respondents a wave, 3 waves, 103
    units). Demo generation and import are timed apart; the report step is what `make report`
    costs for one wave (papermill kernels included; CPU time is this process's only).
    """
    root = Path(tempfile.mkdtemp(prefix="bench-report-"))
    for sub in ("surveys", "config", "notebooks"):
        shutil.copytree(ROOT / sub, root / sub, ignore=shutil.ignore_patterns("exploratory", ".ipynb_checkpoints"))
    shutil.copytree(ROOT / "data" / "population", root / "data" / "population")
    shutil.copy2(ROOT / "study.yaml", root / "study.yaml")  # every project declares its study there
    (root / "pyproject.toml").write_text("")
    os.environ["ANALYSIS_PROJECT_ROOT"] = str(root)  # before analysis.config is imported; kernels inherit it
    from analysis.report import runner as report
    from analysis.synthetic import demo

    start = _clock()
    demo.prepare_demo(out_dir=root / "data" / "demo", data_dir=root / "data")
    demo_t = _since(start)
    middle = _clock()
    report.run_report("member", "2025", baseline_wave="2023", force=True, progress=False, reports_root=root / "reports")
    report_t = _since(middle)
    shutil.rmtree(root, ignore_errors=True)
    return [
        ("demo waves (generate + import)", *demo_t),
        ("report member 2025 (all notebooks, HTML, DOCX)", *report_t),
        ("total", *_since(start)),
    ]


@dataclass(frozen=True)
class Benchmark:
    name: str
    run: Callable[[int], list[tuple[str, float, float]]]  # (step, wall s, CPU s) rows
    r_script: str | None = None  # R code doing the same work on `data.csv` (optional)
    sizes: tuple[int, ...] | None = None  # fixed sizes (the demo report has one), else --sizes
    # Fresh processes per size; the fastest is reported, as timeit does: one run's time swings
    # by a quarter with the memory the machine has just been given back (seen after the 100x run).
    repeat: int = 3


R_STATISTICS_CORE = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[1], colClasses = c(unit = "character", org = "character", sex = "character", party = "character"))
margins <- jsonlite::fromJSON(args[2])
options(survey.lonely.psu = "adjust")
pop <- lapply(names(margins), function(v) setNames(data.frame(names(margins[[v]]), unlist(margins[[v]])), c(v, "Freq")))
t0 <- proc.time()[["elapsed"]]
d <- svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = data)
d <- rake(d, lapply(names(margins), function(v) as.formula(paste0("~", v))), pop,
          control = list(maxit = 200, epsilon = 1e-10))
t1 <- proc.time()[["elapsed"]]
vars <- grep("^c[0-9]+$", names(data), value = TRUE)
res <- do.call(rbind, lapply(vars, function(v) {
  b <- svyby(as.formula(paste0("~", v)), ~org, d, svymean, na.rm = TRUE, deff = TRUE)
  data.frame(org = b$org, variable = v, estimate = coef(b), se = SE(b))
}))
t2 <- proc.time()[["elapsed"]]
write.csv(res, args[3], row.names = FALSE)
cat(jsonlite::toJSON(list(rake = t1 - t0, means = t2 - t1, total = t2 - t0), auto_unbox = TRUE))
"""

BENCHMARKS: list[Benchmark] = [
    Benchmark("statistics core", bench_statistics_core, R_STATISTICS_CORE),
    Benchmark("survey regression", bench_svyglm),
    Benchmark("whole report, one wave", bench_report, sizes=(3200,), repeat=1),
]


def _worker(name: str, n: int) -> None:
    bench = next(b for b in BENCHMARKS if b.name == name)
    steps = bench.run(n)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    print(json.dumps({"steps": steps, "peak_mb": peak_mb}))


def _run_python(bench: Benchmark, n: int, out_csv: Path | None) -> dict:
    env = dict(os.environ, BENCH_OUT=str(out_csv) if out_csv else "")
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", bench.name, "--n", str(n)],
        capture_output=True, text=True, check=True, env=env,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run_r(bench: Benchmark, n: int, tmp: Path) -> tuple[dict, pd.DataFrame]:
    data, margins = synthetic(n)
    data_csv, margins_json, out_csv = tmp / "data.csv", tmp / "margins.json", tmp / "r_out.csv"
    data.to_csv(data_csv, index=False, na_rep="NA")
    margins_json.write_text(json.dumps(margins))
    script = tmp / "bench.R"
    script.write_text(bench.r_script or "")
    start = time.perf_counter()
    proc = subprocess.run(
        ["Rscript", str(script), str(data_csv), str(margins_json), str(out_csv)],
        capture_output=True, text=True, check=True,
    )
    wall = time.perf_counter() - start
    timing = json.loads(proc.stdout.strip().splitlines()[-1])
    timing["wall_with_csv_read"] = wall
    return timing, pd.read_csv(out_csv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--r-max-n", type=int, default=100_000, help="largest size also run in R (default 100000)")
    parser.add_argument("--no-r", action="store_true", help="skip the R comparison")
    parser.add_argument("--scales", default="1,10,100",
                        help="whole pipeline at these multiples of the frame, e.g. 1,10 (default 1,10,100; none: skip)")
    parser.add_argument("--no-core", action="store_true", help="skip the statistics-core and demo-report benchmarks")
    parser.add_argument("--keep", action="store_true", help="keep the scaled projects (printed) for inspection")
    parser.add_argument("--pipeline-worker", nargs=2, metavar=("STAGE", "ROOT"), help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.n)
        return 0
    if args.pipeline_worker:
        bench_pipeline.worker(*args.pipeline_worker)
        return 0
    scales = bench_pipeline.parse_scales(args.scales)
    if not args.no_core:
        _core(args)
    if scales:
        print("\nwhole pipeline at scale (2 notebooks at a time, as `report --jobs 2`)", flush=True)
        bench_pipeline.run(scales, keep=args.keep)
    return 0


def _core(args: argparse.Namespace) -> None:
    has_r = shutil.which("Rscript") is not None and not args.no_r
    if shutil.which("Rscript") is None and not args.no_r:
        print("R not installed: R survey's times are not shown", flush=True)
    rows = []
    for bench in BENCHMARKS:
        for n in bench.sizes or args.sizes:
            with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
                tmp = Path(tmp_name)
                use_r = has_r and bench.r_script is not None and n <= args.r_max_n
                runs = [_run_python(bench, n, tmp / "py_out.csv" if use_r else None) for _ in range(bench.repeat)]
                py = min(runs, key=lambda run: dict((s, t) for s, t, _ in run["steps"])["total"])
                r_total, agree = None, None
                if use_r:
                    r_timing, r_out = _run_r(bench, n, tmp)
                    r_total = r_timing["total"]
                    ours = pd.read_csv(tmp / "py_out.csv")
                    merged = ours.merge(r_out, on=["org", "variable"], suffixes=("", "_r"))
                    agree = float((abs(merged["se"] / merged["se_r"] - 1)).max())
                for step, seconds, cpu in py["steps"]:
                    is_total = step == "total"
                    rows.append(
                        {
                            "benchmark": bench.name,
                            "n": n,
                            "step": step,
                            "python_s": round(seconds, 3),
                            "python_cpu_s": round(cpu, 3),
                            "peak_mb": round(py["peak_mb"]) if is_total else np.nan,
                            "r_s": round(r_total, 2) if is_total and r_total is not None else np.nan,
                            "r/python": round(r_total / seconds, 1) if is_total and r_total is not None else np.nan,
                            "max_rel_diff_se_vs_r": agree if is_total else np.nan,
                        }
                    )
            print(pd.DataFrame(rows[-len(py["steps"]):]).to_string(index=False, na_rep=""), flush=True)
    table = pd.DataFrame(rows)
    print("\n" + table.to_string(index=False, na_rep=""))
    print(
        "\npython_s: wall time (the fastest of 3 fresh runs, but the whole report's single run);"
        "\npython_cpu_s: CPU time of the same step (less sensitive to other load)."
        "\npeak_mb: maximum resident memory of the Python subprocess (data generation included)."
        "\nr_s: R's elapsed time for the same work (CSV read excluded); max_rel_diff_se_vs_r: largest"
        "\nrelative difference between the 60 standard errors of Python and R."
    )


if __name__ == "__main__":
    raise SystemExit(main())
