"""The report runner: parallel steps, reuse, reruns, failures and interrupted runs.

Every test works in a copy of a small project under tmp_path (fixture notebooks from
tests/fixtures/notebooks/, a tiny processed wave), never in the real notebooks/ or reports/.
One complete run is made once per module and copied, so each test pays at most one more run
(~3-4 s: kernel start-up dominates).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import cli, config
from analysis import project as study_project
from analysis.report import command, execute
from analysis.report import runner as report

from conftest import ReportProject, make_report_project

WAVE = "2025"


@pytest.fixture(scope="module")
def completed(tmp_path_factory) -> tuple[ReportProject, report.ReportResult]:
    """One complete run of the fixture pipeline (member, 2025)."""
    project = make_report_project(tmp_path_factory.mktemp("completed") / "project")
    cwd = os.getcwd()
    result = report.run_report("member", WAVE, progress=False, **project.dirs())
    # Notebooks run in the run folder, but the runner's own working directory never changes.
    assert os.getcwd() == cwd
    return project, result


@pytest.fixture
def project(completed, tmp_path) -> ReportProject:
    """A private copy of the completed project (its report included), free to modify."""
    source, _ = completed
    return ReportProject(Path(shutil.copytree(source.root, tmp_path / "project", symlinks=True)))


def _final(project: ReportProject) -> Path:
    return project.reports / "member" / WAVE / "vi"


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_independent_notebooks_run_in_parallel_and_the_summary_waits_for_both(completed):
    project, result = completed
    final = _final(project)
    assert result.report_dir == final and not result.reused
    manifest = json.loads((final / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete"
    runs = {r["name"]: r for r in manifest["notebooks"]}
    assert set(runs) == {"10_alpha", "20_beta", "00_summary"}
    alpha, beta, summary = runs["10_alpha"], runs["20_beta"], runs["00_summary"]
    # Two workers: the independent notebooks overlap in time...
    assert _when(alpha["started_at"]) < _when(beta["ended_at"])
    assert _when(beta["started_at"]) < _when(alpha["ended_at"])
    # ...and the one that needs them starts after both ended (it also reads their results).
    assert _when(summary["started_at"]) >= max(_when(alpha["ended_at"]), _when(beta["ended_at"]))
    summary_record = json.loads((final / "results" / "00_summary.json").read_text(encoding="utf-8"))
    assert summary_record["params"]["output_dir"].startswith(str(project.reports / ".tmp-member.2025.vi."))
    assert summary_record["cwd"] == summary_record["params"]["output_dir"]  # kernels run in the run folder
    # The planned, absent notebook is skipped and recorded, not an error.
    assert manifest["skipped"] == [{"name": "30_later", "reason": "planned, notebook not written yet"}]
    # Common parameters as documented: baseline = first imported wave, waves as a list.
    assert manifest["parameters"] == {"instrument": "member", "wave": WAVE, "baseline_wave": WAVE,
                                      "waves": [WAVE], "lang": "vi", "min_group_size": 5}
    data = project.processed / "member" / f"{WAVE}.parquet"
    inputs = {(i["role"], i["path"]): i["sha256"] for i in manifest["inputs"]}
    assert inputs[("data", f"member/{WAVE}.parquet")] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert ("population", "units.csv") in inputs and ("instrument", "member/v1.yaml") in inputs
    assert ("notebook", "pipeline.yaml") in inputs and ("source", "report/runner.py") in inputs
    assert ("study", "study.yaml") in inputs
    assert manifest["packages"]["papermill"] and manifest["started_at"] < manifest["ended_at"]
    for name in ("report.html", "html/00_summary.html", "notebooks/10_alpha.ipynb", "figures/fixture.png"):
        assert (final / name).is_file(), name
    assert not list(project.reports.glob(".tmp-*"))


def test_rerun_with_unchanged_inputs_reuses_the_report_without_executing(project):
    final = _final(project)
    before = _snapshot(final)
    t0 = time.monotonic()
    result = report.run_report("member", WAVE, progress=False, **project.dirs())
    elapsed = time.monotonic() - t0
    assert result.reused and result.executed == ()
    assert elapsed < 5.0, f"reuse took {elapsed:.1f} s"
    assert _snapshot(final) == before  # same manifest (same start time): nothing was executed


def test_changed_parameter_or_input_reruns_while_an_unrelated_new_wave_does_not(project):
    final = _final(project)
    started = json.loads((final / "manifest.json").read_text())["started_at"]

    changed = report.run_report("member", WAVE, extra={"region": "north"}, progress=False, **project.dirs())
    assert not changed.reused and set(changed.executed) == {"10_alpha", "20_beta", "00_summary"}
    second = json.loads((final / "manifest.json").read_text())
    assert second["started_at"] != started and second["parameters"]["region"] == "north"

    project.add_wave(WAVE, rows=4)  # a corrected import of the same wave: the data changed
    rerun = report.run_report("member", WAVE, extra={"region": "north"}, progress=False, **project.dirs())
    assert not rerun.reused

    project.add_wave("2026")  # a later wave is not an input of the 2025 report
    assert report.run_report("member", WAVE, extra={"region": "north"}, progress=False,
                             **project.dirs()).reused


def _point_config_at(monkeypatch, project: ReportProject) -> None:
    """Make the CLI's defaults (read from analysis.config at call time) use the test project."""
    dirs = project.dirs()
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", dirs["notebooks_dir"])
    monkeypatch.setattr(config, "REPORTS_DIR", dirs["reports_root"])
    monkeypatch.setattr(config, "PROCESSED_DIR", dirs["processed_dir"])
    monkeypatch.setattr(config, "POPULATION_DIR", dirs["population_dir"])
    monkeypatch.setattr(config, "SURVEYS_DIR", dirs["surveys_dir"])
    monkeypatch.setattr(study_project, "STUDY_FILE", dirs["study_file"])


def test_failing_cell_names_notebook_and_cell_keeps_it_and_leaves_previous_report_intact(
        project, monkeypatch, capsys):
    final = _final(project)
    before = _snapshot(final)
    _point_config_at(monkeypatch, project)

    code = cli.main(["report", "--instrument", "member", "--wave", WAVE, "-p", "fail_in=20_beta", "--no-progress"])

    assert code == 1
    err = capsys.readouterr().err
    assert "20_beta.ipynb" in err and "cell 5" in err  # cell 0 markdown, 1 parameters, 2 injected…
    assert "if fail_in == NAME:" in err and "RuntimeError: planned failure in 20_beta" in err
    kept = list((project.reports / ".failed" / "member").glob(f"{WAVE}-vi-*/notebooks/20_beta.ipynb"))
    assert len(kept) == 1 and str(kept[0]) in err
    failed_manifest = json.loads((kept[0].parents[1] / "manifest.json").read_text())
    assert failed_manifest["status"] == "failed" and "20_beta" in failed_manifest["error"]
    assert {r["name"]: r["status"] for r in failed_manifest["notebooks"]} == {
        "10_alpha": "complete", "20_beta": "failed"}
    assert "planned failure" in kept[0].read_text(encoding="utf-8")  # the executed notebook, with the error
    assert _snapshot(final) == before  # previous complete report byte-identical
    assert not list(project.reports.glob(".tmp-*")) and not list(project.reports.glob(".old-*"))


def test_failure_on_first_run_creates_no_final_report(tmp_path):
    project = make_report_project(tmp_path / "project")
    with pytest.raises(report.NotebookFailedError) as info:
        report.run_report("member", WAVE, extra={"fail_in": "10_alpha"}, progress=False, **project.dirs())
    assert info.value.notebook == "10_alpha" and info.value.cell_index == 5
    assert info.value.kept_at is not None and info.value.kept_at.is_file()
    assert not _final(project).exists()
    # The summary needs the failed notebook, so it never started.
    assert not (info.value.kept_at.parent / "00_summary.ipynb").exists()


def test_killed_run_leaves_no_complete_looking_report_and_previous_intact(project):
    final = _final(project)
    before = _snapshot(final)
    proc = _start_slow_cli(project)
    proc.send_signal(signal.SIGKILL)  # only the process this test started
    proc.communicate(timeout=10)
    # Its kernels notice their parent died (ipykernel's parent poller) and exit by themselves.
    assert _snapshot(final) == before
    leftovers = list(project.reports.glob(".tmp-*"))
    assert len(leftovers) == 1
    assert json.loads((leftovers[0] / "manifest.json").read_text())["status"] == "running"
    assert not (leftovers[0] / "report.html").exists()
    assert {p.name for p in (project.reports / "member").iterdir()} == {WAVE}
    assert {p.name for p in (project.reports / "member" / WAVE).iterdir()} == {"vi"}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_slow_cli(project: ReportProject) -> subprocess.Popen:
    """The CLI in a subprocess, on the test project; 20_beta sleeps 30 s, 10_alpha is quick."""
    env = {**os.environ, "ANALYSIS_PROJECT_ROOT": str(project.root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis", "report", "--instrument", "member", "--wave", WAVE,
         "-p", "slow=20_beta", "--no-progress"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # As a terminal's foreground job: a suite started in the background by a shell without job
        # control (CI's `bash .ci/run &`) inherits an ignored SIGINT, and Ctrl-C would be lost.
        preexec_fn=_default_sigint)
    deadline = time.monotonic() + 30
    while not list(project.reports.glob(".tmp-*/results/10_alpha.json")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"first notebook did not finish: {proc.communicate()[1]}")
        time.sleep(0.1)
    return proc


def test_interrupted_run_stops_kernels_keeps_the_run_in_failed_and_previous_intact(project):
    final = _final(project)
    before = _snapshot(final)
    proc = _start_slow_cli(project)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = proc.communicate(timeout=40)
    assert proc.returncode == 130, err
    # the sleeping kernel (30 s) was stopped, not waited for; the margin allows for the other
    # test worker loading both cores (the stop took over 20 s once in a full CI run)
    assert time.monotonic() - t0 < 25
    assert _snapshot(final) == before
    assert not list(project.reports.glob(".tmp-*"))
    kept = list((project.reports / ".failed" / "member").glob(f"{WAVE}-vi-*/manifest.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["status"] == "interrupted"


def test_stop_between_renames_restores_the_previous_report(project):
    final = _final(project)
    before = _snapshot(final)
    os.rename(final, project.reports / f".old-member.{WAVE}.vi.20260101T000000000Z")  # as if killed there
    (project.reports / f".old-member.{WAVE}.vi.20250101T000000000Z").mkdir()  # died before deleting the old
    stale = project.reports / f".tmp-member.{WAVE}.vi.20260101T000001000Z.999999"  # a SIGKILLed run's folder
    (stale / "notebooks").mkdir(parents=True)
    result = report.run_report("member", WAVE, progress=False, **project.dirs())
    assert result.reused and _snapshot(final) == before
    assert not stale.exists() and not list(project.reports.glob(".old-*"))
    assert (project.reports / ".failed" / "member" / f"{WAVE}-vi-20260101T000001000Z-abandoned" / "notebooks").is_dir()


def test_an_assembly_error_is_a_report_error_and_keeps_the_run(project, monkeypatch):
    final = _final(project)
    before = _snapshot(final)

    def broken(run_dir, params, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "assemble", broken)
    with pytest.raises(report.ReportError, match="disk full.*kept in"):
        report.run_report("member", WAVE, force=True, progress=False, **project.dirs())
    assert _snapshot(final) == before and not list(project.reports.glob(".tmp-*"))
    kept = list((project.reports / ".failed" / "member").glob(f"{WAVE}-vi-*/manifest.json"))
    assert [json.loads(k.read_text())["status"] for k in kept] == ["failed"]


def test_a_leak_across_published_tables_fails_the_run_and_keeps_the_previous_report(project, monkeypatch):
    """Plant two tables whose hidden cell is derivable (HCCB = total - CDVC - DTN, n = 63 - 40 - 20
    = 3): the whole-report attacker runs before the final rename, and the run goes to .failed."""
    import pandas as pd

    final = _final(project)
    before = _snapshot(final)
    shutil.copy2(config.POPULATION_DIR / "units.csv", project.root / "data" / "population" / "units.csv")
    real_assemble = report.assemble

    def planting(run_dir, params, **kwargs):
        rows = [("2025", None, 3.54, 63.0, False), ("2025", "CDVC", 3.50, 40.0, False),
                ("2025", "DTN", 4.00, 20.0, False), ("2025", "HCCB", None, None, True)]
        table = pd.DataFrame(rows, columns=["wave", "org", "estimate", "n", "suppressed"])
        table.insert(2, "variable", "sat")
        table["note"] = table["suppressed"].map({True: "n<5", False: ""})
        table.to_csv(Path(run_dir) / "tables" / "constructs_by_org.csv", index=False, encoding="utf-8-sig")
        return real_assemble(run_dir, params, **kwargs)

    monkeypatch.setattr(report, "assemble", planting)
    with pytest.raises(report.DisclosureAuditError, match=r"reveal 1 hidden cell\(s\) \(k = 5\): "
                                                         r"constructs_by_org: org=HCCB, wave=2025, mean:sat\. .*kept in"):
        report.run_report("member", WAVE, force=True, progress=False, **project.dirs())
    assert _snapshot(final) == before and not list(project.reports.glob(".tmp-*"))
    kept = list((project.reports / ".failed" / "member").glob(f"{WAVE}-vi-*/manifest.json"))
    assert len(kept) == 1
    failed = json.loads(kept[0].read_text())
    assert failed["status"] == "failed" and "constructs_by_org: org=HCCB" in failed["error"]
    assert "3.0" not in failed["error"] and "n = 3" not in failed["error"]  # names cells, never values


def test_a_min_group_size_below_the_policy_fails_before_any_notebook_runs(project):
    with pytest.raises(report.ParameterError, match="min_group_size 4: .*k = 4 is below min_group_size = 5"):
        report.run_report("member", WAVE, min_group_size=4, force=True, progress=False, **project.dirs())
    assert not list(project.reports.glob(".tmp-*")) and not (project.reports / ".failed").exists()


def test_a_second_run_of_the_same_report_waits_for_none_and_says_why(project):
    import fcntl

    with open(project.reports / f".lock-member.{WAVE}.vi", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as if another run were in progress
        with pytest.raises(report.ReportError, match="in progress"):
            report.run_report("member", WAVE, progress=False, **project.dirs())


def test_missing_active_notebook_is_an_error_naming_it(project):
    pipeline = project.notebooks / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("    status: planned\n", ""))
    with pytest.raises(report.PipelineError, match=r"30_later\.ipynb .* is missing"):
        report.run_report("member", WAVE, progress=False, **project.dirs())


def test_circular_needs_are_rejected(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        "notebooks:\n  - {name: 10_a, needs: [20_b]}\n"
        "  - {name: 20_b, needs: [10_a]}\n")
    with pytest.raises(report.PipelineError, match="circular"):
        report.load_pipeline(tmp_path)


def test_no_wave_at_all_prepares_the_demo_if_available(report_project, monkeypatch, capsys):
    project = report_project
    shutil.rmtree(project.processed)
    _point_config_at(monkeypatch, project)
    monkeypatch.setattr(command, "_load_demo", lambda: None)  # before analysis.synthetic.demo exists
    assert cli.main(["report", "--no-progress"]) == 1
    assert "no wave imported; run python -m analysis add-wave" in capsys.readouterr().err

    class FakeDemo:  # stands in for analysis.synthetic.demo: imports a synthetic wave
        @staticmethod
        def prepare_demo() -> None:
            project.add_wave(WAVE)

    monkeypatch.setattr(command, "_load_demo", lambda: FakeDemo)
    monkeypatch.setattr(command, "run_report", lambda i, w, **kw: report.ReportResult(
        project.reports / i / w / "vi", {}, False, ("stub",)))  # the run itself is tested above
    assert cli.main(["report", "--no-progress"]) == 0
    assert f"report written: {project.reports / 'member' / WAVE / 'vi' / 'report.html'}" in capsys.readouterr().out


def test_real_pipeline_declares_the_report_notebooks():
    pipeline = report.load_pipeline(config.NOTEBOOKS_DIR)
    names = [s.name for s in pipeline.steps]
    assert set(names) == {"10_data_quality", "20_measurement", "30_member_sentiment",
                          "40_unit_effectiveness", "50_plan_impact", "00_executive_summary"}
    summary = next(s for s in pipeline.steps if s.name == "00_executive_summary")
    # 00 reads the changes saved by 40 and 50 (results/); the others are independent
    assert set(summary.needs) == {"40_unit_effectiveness", "50_plan_impact"}
    assert all(not s.needs for s in pipeline.steps if s.name != "00_executive_summary")
    study = study_project.load_study()
    assert study.instrument_names[0] == "member"  # `report` runs the member report first
    for spec in study.instruments:  # every notebook a study instrument runs is declared
        assert set(spec.notebooks) <= set(names), spec.name
    for step in pipeline.steps:  # every active step exists; planned ones may not yet
        assert step.status == "planned" or step.path(config.NOTEBOOKS_DIR).is_file()


def test_kernel_check_accepts_this_interpreter_and_refuses_another(tmp_path, monkeypatch):
    assert execute.same_interpreter(report.check_kernel(), sys.executable)
    spec = tmp_path / "kernels" / config.KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "other", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))  # searched before the venv's own kernels
    with pytest.raises(report.KernelMismatchError, match="make install"):
        report.check_kernel()


def test_kernel_shutdown_sends_no_interrupt():
    # jupyter_client interrupts (SIGINT) a kernel before shutting it down, which made ipykernel
    # print "KeyboardInterrupt caught in kernel." during `make report`; an interrupt asked for
    # while not shutting down still goes through (here: no kernel, so jupyter_client refuses).
    import asyncio

    from analysis.report import execute as report_module

    km = report_module._kernel_manager_class()()
    km.shutting_down = True
    assert asyncio.run(km._async_interrupt_kernel()) is None  # idle kernel: no SIGINT
    report_module._cell_started(cell=None, cell_index=0)  # a cell is running: interrupt as before
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(km._async_interrupt_kernel())
    report_module._cell_finished(cell=None, cell_index=0, execute_reply={})
    assert asyncio.run(km._async_interrupt_kernel()) is None
    km.shutting_down = False
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(km._async_interrupt_kernel())


@pytest.mark.parametrize("jobs", [1, 2])
def test_kernels_share_the_cores_out_for_blas(tmp_path, monkeypatch, jobs):
    # Two kernels whose OpenBLAS each spins a thread per core slowed a 2.9 s table to 28 s at
    # 100x; each kernel gets cores // jobs BLAS threads, and a value the user set is kept.
    import nbformat

    from analysis.report.pipeline import Step

    for name in execute.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "7")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\nprint([os.environ.get(v) for v in "
        "('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')])")]
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "probe.ipynb")
    (tmp_path / "run" / "notebooks").mkdir(parents=True)
    execute.execute_notebook(Step("probe"), tmp_path / "nb", tmp_path / "run", {}, jobs=jobs)
    out = nbformat.read(tmp_path / "run" / "notebooks" / "probe.ipynb", as_version=4)
    n = str(max(1, (os.cpu_count() or 1) // jobs))
    assert out.cells[0].outputs[0]["text"].strip() == str([n, n, "7"])


def test_each_language_is_a_report_of_its_own(project):
    """--lang en after the Vietnamese report: its own folder, lock and cache; vi byte-identical."""
    vi = _final(project)
    before = _snapshot(vi)
    import fcntl

    with open(project.reports / f".lock-member.{WAVE}.vi", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a Vietnamese run in progress does not block English
        en = report.run_report("member", WAVE, lang="en", progress=False, **project.dirs())
    assert en.report_dir == project.reports / "member" / WAVE / "en" and not en.reused
    assert en.manifest["parameters"]["lang"] == "en" and (en.report_dir / "report.html").is_file()
    assert _snapshot(vi) == before
    again = report.run_report("member", WAVE, lang="vi", progress=False, **project.dirs())
    assert again.reused and _snapshot(vi) == before  # reuse works per language


def test_a_report_of_the_single_language_layout_is_moved_aside_not_mixed_in(project):
    wave_dir = project.reports / "member" / WAVE
    shutil.copy2(_final(project) / "manifest.json", wave_dir / "manifest.json")  # as written before
    (wave_dir / "report.html").write_text("old", encoding="utf-8")
    report.run_report("member", WAVE, lang="en", progress=False, **project.dirs())
    assert {p.name for p in wave_dir.iterdir()} == {"vi", "en"}
    moved = project.reports / ".failed" / "member" / f"{WAVE}-single-language"
    assert (moved / "report.html").read_text(encoding="utf-8") == "old"
