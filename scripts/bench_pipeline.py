"""The whole pipeline at scale (`scripts/bench.py --scales 1,10,100`): import → member report.

For each scale factor N a temporary project is built (the checkout's ``surveys/``, ``config/``,
``notebooks/`` and ``study.yaml``) whose ``data/population`` is the frame N times the real one
(`analysis.synthetic.scale.scale_frame`: 103·N units, 6,314·N members, the organizations in
their proportions, unit codes unique). The demo generator writes the waves 2023–2025 of both
instruments at that scale, then the stages run as a user runs them, each in its own process
(``ANALYSIS_PROJECT_ROOT`` points at the project):

* **import** — ``python -m analysis add-wave --instrument I --wave W --meta wave.yaml FILE`` for
  the six files (member and unit, three waves), one after the other;
* **weighting** — `analysis.study.designs_by_wave` on `analysis.study.load_responses` (the call
  every notebook makes: base weights and raking of each wave to the frame), timed apart;
* **estimation**, **rendering**, **disclosure audit** — `analysis.report.runner.run_report`
  (``python -m analysis report --instrument member --wave 2025 --force``'s library entry point)
  with its three stages timed from outside: the runner does not log per-stage times (its manifest
  has one duration per notebook and one for the run), so this script wraps the runner's
  ``execute_steps`` (the notebooks under papermill: estimation, and the weighting each notebook
  repeats), ``assemble`` (HTML, DOCX, PDF: rendering) and ``audit_run`` (the whole-report
  attacker) with timers. runner.py is not changed.
* **unit sheets** (1× only: the demo's 103 units) — ``python -m analysis unit-sheets --wave 2025
  --force`` in the same project, after the member report.

Memory: a psutil thread samples the resident memory of the stage's process **and all its
descendants** (papermill kernels are child processes; notebooks run two at a time) every 0.2 s
and keeps the peak of the sum — what the machine must hold at once. ``ru_maxrss`` of
RUSAGE_CHILDREN (the largest single child) is printed beside it as a check. Wall time is
``time.perf_counter``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

WAVES = ("2023", "2024", "2025")
REPORT_WAVE, BASELINE = "2025", "2023"
STAGES = ("generate", "import", "weighting", "estimation", "rendering", "disclosure audit", "report total",
          "unit sheets")


def parse_scales(text: str) -> list[int]:
    """``"1,10,100"`` → ``[1, 10, 100]``; ``""`` or ``"none"`` → ``[]`` (the pipeline is not run).

    >>> parse_scales("1, 10,100"), parse_scales("none")
    ([1, 10, 100], [])
    """
    text = text.strip().lower()
    if text in ("", "none", "0"):
        return []
    out = []
    for part in text.split(","):
        value = int(part)
        if value < 1:
            raise ValueError(f"--scales: a scale is a positive integer, not {part!r}")
        out.append(value)
    return out


def growth_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float | None:
    """Slope of log(time) on log(size) between the smallest and the largest size: 1 is linear,
    above 1 superlinear. None without two sizes or with a time under 0.05 s (noise).

    >>> round(growth_exponent([1, 10], [2.0, 20.0]), 3), round(growth_exponent([1, 10], [1.0, 100.0]), 3)
    (1.0, 2.0)
    """
    import math

    pairs = [(s, t) for s, t in zip(sizes, seconds) if t is not None and t == t]
    if len(pairs) < 2:
        return None
    (s0, t0), (s1, t1) = min(pairs), max(pairs)
    if s1 == s0 or t0 < 0.05 or t1 < 0.05:
        return None
    return math.log(t1 / t0) / math.log(s1 / s0)


class PeakRSS:
    """Peak of the summed resident memory of a process and all its descendants (psutil, sampled)."""

    def __init__(self, pid: int | None = None, interval: float = 0.2):
        import psutil

        self._proc = psutil.Process(pid or os.getpid())
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        import psutil

        total = 0
        try:
            procs = [self._proc, *self._proc.children(recursive=True)]
        except psutil.Error:
            return 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:  # a kernel that ended between the listing and the read
                pass
        self.peak = max(self.peak, total)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _timed_run(cmd: Sequence[str], env: dict[str, str], *, label: str | None = None,
               merge_stderr: bool = True) -> tuple[float, int, str]:
    """Run *cmd*; return (wall seconds, peak summed RSS bytes of it and its descendants, stdout).
    On failure the error shows the tail of its output (of stderr alone when not merged)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE, text=True)
    meter = PeakRSS(proc.pid)
    with meter:
        out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{label or ' '.join(cmd)} failed (exit {proc.returncode}):\n"
                           f"{(out if merge_stderr else err)[-4000:]}")
    return wall, meter.peak, out


def make_project(root: Path, factor: int) -> Path:
    """A project folder with the checkout's study and the frame *factor* times the real one."""
    from analysis.synthetic.scale import scale_frame

    for sub in ("surveys", "config", "notebooks"):
        shutil.copytree(ROOT / sub, root / sub, ignore=shutil.ignore_patterns("exploratory", ".ipynb_checkpoints"))
    shutil.copy2(ROOT / "study.yaml", root / "study.yaml")
    (root / "pyproject.toml").write_text("")
    scale_frame(root / "data" / "population", factor, population_dir=ROOT / "data" / "population")
    return root


# --------------------------------------------------------------------------- worker stages (own process)


def _stage_generate(root: Path) -> dict:
    from analysis.synthetic.generate import generate_demo

    generate_demo(root / "data" / "demo", waves=WAVES)
    return {}


def _stage_weighting(root: Path) -> dict:
    from analysis import study

    start = time.perf_counter()
    responses = study.load_responses("member", list(WAVES))
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    designs = study.designs_by_wave(responses, instrument="member")
    return {"respondents": int(len(responses)), "load_s": loaded, "weighting_s": time.perf_counter() - start,
            "waves": len(designs)}


def _stage_report(root: Path) -> dict:
    from analysis.report import runner

    times: dict[str, float] = {}
    peaks: dict[str, int] = {}
    meter = PeakRSS()

    def timed(name: str, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            meter.peak = meter.sample()  # the stage's own peak starts from the memory held now
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - start
                meter.sample()
                peaks[name] = max(peaks.get(name, 0), meter.peak)
        return wrapper

    runner.execute_steps = timed("estimation", runner.execute_steps)
    runner.assemble = timed("rendering", runner.assemble)
    runner.audit_run = timed("disclosure audit", runner.audit_run)
    start = time.perf_counter()
    with meter:
        result = runner.run_report("member", REPORT_WAVE, baseline_wave=BASELINE, force=True, progress=False)
    times["report total"] = time.perf_counter() - start
    peaks["report total"] = max(peaks.values(), default=0)
    notebooks = {r["name"]: r.get("duration_s") for r in result.manifest.get("notebooks", [])}
    return {"times": times, "peaks": peaks, "notebooks": notebooks,
            "manifest_duration_s": result.manifest.get("duration_s")}


_WORKERS = {"generate": _stage_generate, "weighting": _stage_weighting, "report": _stage_report}


def worker(stage: str, root: str) -> None:
    """Run one stage in this process (``--pipeline-worker STAGE ROOT``) and print its JSON."""
    out = _WORKERS[stage](Path(root))
    out["ru_maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["ru_maxrss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out))


def _worker_cmd(stage: str, root: Path) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "bench.py"), "--pipeline-worker", stage, str(root)]


def _run_worker(stage: str, root: Path, env: dict[str, str]) -> tuple[float, int, dict]:
    wall, peak, out = _timed_run(_worker_cmd(stage, root), env, label=f"stage {stage}", merge_stderr=False)
    return wall, peak, json.loads(out.strip().splitlines()[-1])


def run_scale(factor: int, *, unit_sheets: bool = False, keep: bool = False, say: Callable = print) -> list[dict]:
    """Every stage at *factor*; rows ``{scale, stage, seconds, peak_mb, note}``."""
    from analysis.synthetic.generate import member_file_name, unit_file_name

    root = Path(tempfile.mkdtemp(prefix=f"bench-scale{factor}-"))
    rows: list[dict] = []

    def row(stage: str, seconds: float, peak: float, note: str = "") -> None:
        rows.append({"scale": factor, "stage": stage, "seconds": round(seconds, 1), "peak_mb": round(peak / 2**20),
                     "note": note})
        say(f"  {factor}× {stage}: {seconds:.1f} s, peak {peak / 2**20:.0f} MB {note}".rstrip())

    try:
        make_project(root, factor)
        env = dict(os.environ, ANALYSIS_PROJECT_ROOT=str(root), PYTHONPATH=str(SRC))
        wall, peak, _ = _run_worker("generate", root, env)
        row("generate", wall, peak, "(demo generator, not a pipeline stage)")
        total, top, members = 0.0, 0, 0
        for wave in WAVES:
            for instrument, name in (("member", member_file_name(wave)), ("unit", unit_file_name(wave))):
                folder = root / "data" / "demo" / instrument / wave
                cmd = [sys.executable, "-m", "analysis", "add-wave", "--instrument", instrument,
                       "--wave", wave, "--meta", str(folder / "wave.yaml"), str(folder / name)]
                wall, peak, _ = _timed_run(cmd, env)
                total, top = total + wall, max(top, peak)
        row("import", total, top, "(6 add-wave runs, peak of the largest)")
        wall, peak, info = _run_worker("weighting", root, env)
        members = info["respondents"]
        row("weighting", info["weighting_s"], peak,
            f"({members:,} respondents, 3 waves; loading them {info['load_s']:.1f} s more)")
        wall, peak, info = _run_worker("report", root, env)
        for stage in ("estimation", "rendering", "disclosure audit"):
            row(stage, info["times"].get(stage, float("nan")), info["peaks"].get(stage, 0))
        row("report total", info["times"]["report total"], peak, f"(process wall {wall:.1f} s)")
        # the runner's manifest times each notebook (two run at a time, so they overlap)
        say(f"  {factor}× notebooks (manifest duration_s): "
            + ", ".join(f"{name} {sec:.1f} s" for name, sec in info["notebooks"].items() if sec is not None))
        if unit_sheets:
            wall, peak, _ = _timed_run([sys.executable, "-m", "analysis", "unit-sheets", "--wave", REPORT_WAVE,
                                        "--force", "--no-progress"], env)
            row("unit sheets", wall, peak, f"({103 * factor} units, --force)")
    finally:
        if keep:
            say(f"  project kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return rows


def run(scales: Sequence[int], *, keep: bool = False) -> pd.DataFrame:
    """Run every scale and print the table (one column per scale) and each stage's growth exponent."""
    rows: list[dict] = []
    for factor in scales:
        print(f"pipeline at {factor}× the frame ({103 * factor:,} units, {6314 * factor:,} members)", flush=True)
        rows += run_scale(factor, unit_sheets=factor == 1, keep=keep, say=lambda s: print(s, flush=True))
    table = pd.DataFrame(rows)
    print("\n" + format_table(table))
    print("\nseconds: wall time of the stage; peak_mb: the largest summed resident memory of the stage's process"
          "\nand its children (papermill kernels), sampled with psutil every 0.2 s. exponent: slope of log time on"
          "\nlog scale between the smallest and the largest scale (1 = linear).")
    return table


def format_table(table: pd.DataFrame) -> str:
    """Stages as rows, ``<scale>× s`` and ``<scale>× MB`` columns, and the growth exponent.

    >>> t = pd.DataFrame({"scale": [1, 10], "stage": ["import", "import"], "seconds": [2.0, 20.0],
    ...                   "peak_mb": [100, 900], "note": ["", ""]})
    >>> print(format_table(t))
     stage  1× s  1× MB  10× s  10× MB exponent
    import   2.0    100   20.0     900     1.00
    """
    if table.empty:
        return "(no scale run)"
    scales = sorted(table["scale"].unique())
    order = [s for s in STAGES if s in set(table["stage"])]
    out = pd.DataFrame({"stage": order})
    for s in scales:
        part = table[table["scale"] == s].set_index("stage")
        out[f"{s}× s"] = out["stage"].map(part["seconds"])
        out[f"{s}× MB"] = out["stage"].map(part["peak_mb"])
    exps = []
    for stage in order:
        part = table[table["stage"] == stage]
        e = growth_exponent(part["scale"].tolist(), part["seconds"].tolist())
        exps.append("" if e is None else f"{e:.2f}")
    out["exponent"] = exps
    return out.to_string(index=False, na_rep="")
