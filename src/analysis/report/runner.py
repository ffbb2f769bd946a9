"""Report runner: run the notebooks of one instrument and wave, audit them, publish the report.

``python -m analysis report`` (`analysis.report.command`) calls `run_report` once per
instrument and wave. The study file (``study.yaml``, `analysis.project`) says which notebooks an
instrument runs and what the study offers them (frame, raking, plan, groups, unit survey: cells
tagged ``needs-…`` run only when it does); ``notebooks/pipeline.yaml`` (`analysis.report.pipeline`)
gives their order and dependencies. Independent notebooks run in parallel
(`analysis.report.execute`), then one self-contained ``report.html`` (and one html per notebook),
``report.docx`` (`analysis.report.assembly`) and a ``manifest.json`` are written.

Guarantees, each kept by one module:

* **Atomic results** (`analysis.report.publish`): everything is written to
  ``reports/.tmp-<instrument>.<wave>.<lang>.<stamp>.<pid>/`` and renamed to
  ``reports/<instrument>/<wave>/<lang>/`` only when every step succeeded; the previous complete
  report is never damaged.
* **One folder per language**: the Vietnamese and the English report of a wave are two reports
  (own folder, lock, cache key and leftovers); a run in one language never touches the other.
* **Failures are kept**: a failing cell stops the run with `NotebookFailedError` (notebook, cell,
  error); the run folder moves to ``reports/.failed/<instrument>/<wave>-<lang>-<stamp>/``.
* **Audited before it is published** (`audit_run`): the whole-report attacker
  (`analysis.disclosure.audit_report`) attacks every published table of the run at once with the
  run's k; a hidden value it can recover fails the run with `DisclosureAuditError`.
* **Reuse** (`analysis.report.inputs`): the manifest records a cache key, the sha256 of every
  input (processed waves, frame, instruments, notebooks, pipeline.yaml, study.yaml, the code of
  ``src/analysis``), the parameters and the package versions; a rerun with the same key reuses
  the report (``--force`` always reruns).
* **Safe parameters** (`analysis.report.parameters`): plain identifiers, values passed as Python
  objects through papermill's API, ids checked before any file is touched, every output path
  checked with `analysis.config.resolve_inside`.
* **The right interpreter** (`analysis.report.execute.check_kernel`).

Every notebook receives ``instrument``, ``wave``, ``baseline_wave`` (first imported wave by
default), ``waves`` (imported waves up to ``wave``), ``lang``, ``output_dir`` (the run folder),
``min_group_size`` and any extra parameter.

A report folder ``reports/<instrument>/<wave>/<lang>/`` holds ``report.html``, ``report.docx``,
``html/<notebook>.html``, ``notebooks/<notebook>.ipynb`` (executed), ``tables/``, ``figures/``,
``results/`` (written by the notebooks) and ``manifest.json``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Mapping

from analysis import config, project
from analysis.ingest import waves as waves_mod
from analysis.report.assembly import assemble, make_offline
from analysis.report.console import say
from analysis.report.errors import (
    DisclosureAuditError,
    KernelMismatchError,
    NotebookFailedError,
    ParameterError,
    PipelineError,
    ReportError,
)
from analysis.report.execute import check_kernel, execute_steps
from analysis.report.inputs import SOURCE_DIR, collect_inputs, compute_cache_key, git_state, package_versions
from analysis.report.manifest import MANIFEST_NAME, MANIFEST_SCHEMA, list_outputs, now, read_manifest, stamp, write_json
from analysis.report.parameters import (
    COMMON_PARAMETERS,
    LANGUAGES,
    build_parameters,
    check_parameter_name,
    load_params_file,
    merge_parameters,
    parse_assignment,
)
from analysis.report.pipeline import PIPELINE_FILE, Pipeline, Step, load_pipeline
from analysis.report.publish import finish_failed, promote, resolve_inside_reports, run_lock, tidy_leftovers

# The runner's names plus the pieces it is built from, so that `from analysis.report import runner`
# reaches the whole API of the report in one place.
__all__ = [
    "COMMON_PARAMETERS", "LANGUAGES", "MANIFEST_NAME", "PIPELINE_FILE", "OUTPUT_SUBDIRS",
    "ReportError", "ParameterError", "PipelineError", "KernelMismatchError", "NotebookFailedError",
    "DisclosureAuditError", "Step", "Pipeline", "ReportResult", "load_pipeline", "check_parameter_name",
    "parse_assignment", "load_params_file", "merge_parameters", "build_parameters", "check_kernel",
    "collect_inputs", "compute_cache_key", "run_report", "audit_run", "assemble", "make_offline",
    "resolve_inside_reports",
]

#: Sub-folders of a run folder that the notebooks write into.
OUTPUT_SUBDIRS: tuple[str, ...] = ("tables", "figures", "results")


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """Outcome of `run_report`."""

    report_dir: Path
    manifest: dict
    reused: bool
    executed: tuple[str, ...]

    @property
    def html(self) -> Path:
        """The assembled report.html."""
        return self.report_dir / "report.html"


def run_report(instrument: str, wave: str, *, baseline_wave: str | None = None, lang: str | None = None,
               min_group_size: int = config.MIN_GROUP_SIZE, extra: Mapping[str, Any] | None = None,
               notebooks_dir: Path | str | None = None, reports_root: Path | str | None = None,
               processed_dir: Path | str | None = None, population_dir: Path | str | None = None,
               surveys_dir: Path | str | None = None, study_file: Path | str | None = None,
               source_dir: Path | str | None = None, jobs: int = 2, force: bool = False,
               progress: bool = True, check_kernel_first: bool = True) -> ReportResult:
    """Run the notebooks study.yaml lists for one instrument and wave, then assemble the report.

    Parameters
    ----------
    instrument, wave : str
        Ids, checked with `analysis.config.check_id` before any file is read; *instrument* must
        be declared in the study file.
    baseline_wave, min_group_size, extra
        See `analysis.report.parameters.build_parameters`.
    lang : str, optional
        A language of the study file (``languages:``); its first language by default.
    notebooks_dir, reports_root, processed_dir, population_dir, surveys_dir : path, optional
        Defaults from `analysis.config` (the frame: the study's ``frame``); tests point them to a
        temporary folder.
    study_file : path, optional
        The study file; `analysis.project.STUDY_FILE` by default.
    source_dir : path, optional
        Code whose hash enters the cache key; this package's folder by default (tests pass a
        snapshot so that colleagues editing src/analysis do not invalidate their reports).
    jobs : int
        Notebooks run at the same time (independent ones only).
    force : bool
        Rerun even when the existing report has the same cache key.
    progress : bool
        Show a tqdm progress bar on stderr.
    check_kernel_first : bool
        Verify the kernel's interpreter (`check_kernel`); leave True outside tests.

    Returns
    -------
    ReportResult
        ``report_dir`` = ``<reports_root>/<instrument>/<wave>/<lang>``, its manifest, whether the
        previous report was reused, and the notebooks executed.

    Raises
    ------
    NotebookFailedError
        A cell failed; the run folder is kept in ``<reports_root>/.failed/…``.
    DisclosureAuditError
        The published tables together reveal a hidden cell; the run is kept likewise.
    PipelineError, KernelMismatchError, ParameterError, analysis.project.StudyError, FileNotFoundError
    """
    config.check_id(instrument, "instrument")
    config.check_id(wave, "wave")
    if baseline_wave is not None:
        config.check_id(baseline_wave, "wave")
    study = project.load_study(study_file)
    spec = study.instrument(instrument)
    lang = lang or study.languages[0]
    if lang not in study.languages:
        raise ParameterError(f"lang {lang!r} is not a language of {study.path.name} "
                             f"(languages: {', '.join(study.languages)})")
    notebooks_dir = Path(notebooks_dir or config.NOTEBOOKS_DIR)
    reports_root = Path(reports_root or config.REPORTS_DIR)
    processed_dir = Path(processed_dir or config.PROCESSED_DIR)
    frame_dir = Path(population_dir) if population_dir else study.frame  # None: a study without a frame
    surveys_dir = Path(surveys_dir or config.SURVEYS_DIR)
    final = resolve_inside_reports(reports_root / instrument / wave / lang, reports_root)

    params = build_parameters(instrument, wave, baseline_wave=baseline_wave, lang=lang,
                              min_group_size=min_group_size, extra=extra, processed_dir=processed_dir)
    pipeline = load_pipeline(notebooks_dir)
    steps, skipped = pipeline.plan(spec.notebooks, notebooks_dir)
    planned = [step.name for step, reason in skipped if "planned" in reason]
    if planned:
        say(f"info: {instrument} {wave}: skipping planned notebooks not written yet: {', '.join(planned)}")
    if not steps:
        raise PipelineError(f"no notebook runs for instrument {instrument!r}: {study.path.name} lists "
                            f"{', '.join(spec.notebooks) or 'none'}")
    if check_kernel_first:
        check_kernel()

    packages = package_versions()
    # Every instrument's waves: a notebook may combine them (the member report reads the unit survey).
    inputs = collect_inputs(study.instrument_names, params["waves"], steps,
                            notebooks_dir=notebooks_dir, processed_dir=processed_dir,
                            population_dir=frame_dir, surveys_dir=surveys_dir,
                            study_file=study.path, source_dir=Path(source_dir or SOURCE_DIR))
    key = compute_cache_key(inputs, params, packages)

    reports_root.mkdir(parents=True, exist_ok=True)
    with run_lock(reports_root, instrument, wave, lang):
        tidy_leftovers(final, reports_root, instrument, wave, lang)
        _move_single_language_layout(final.parent, reports_root, instrument, wave)
        previous = read_manifest(final) if final.is_dir() else None
        if not force and previous and previous.get("status") == "complete" and previous.get("cache_key") == key:
            say(f"{instrument} {wave}: inputs, parameters and code unchanged; reusing {final}")
            return ReportResult(final, previous, True, ())

        started = now()
        run_dir = resolve_inside_reports(
            reports_root / f".tmp-{instrument}.{wave}.{lang}.{stamp(started)}.{os.getpid()}", reports_root)
        for sub in ("notebooks", *OUTPUT_SUBDIRS):
            (run_dir / sub).mkdir(parents=True)
        run_params = {**params, "output_dir": str(run_dir)}
        synthetic = _is_synthetic(instrument, wave, processed_dir)
        manifest: dict[str, Any] = {
            "schema": MANIFEST_SCHEMA,
            "instrument": instrument,
            "wave": wave,
            "status": "running",
            "cache_key": key,
            "synthetic": synthetic,
            # output_dir was the run's temporary folder, renamed to this one at the end.
            "parameters": params,
            "notebooks": [],
            "skipped": [{"name": s.name, "reason": r} for s, r in skipped],
            "inputs": inputs,
            "git": git_state(SOURCE_DIR),  # the code that ran, wherever the data live
            "packages": packages,
            "kernel": config.KERNEL_NAME,
            "started_at": started.isoformat(),
            "ended_at": None,
            "duration_s": None,
            "pid": os.getpid(),
        }
        write_json(run_dir / MANIFEST_NAME, manifest)
        say(f"{instrument} {wave}: running {len(steps)} notebook(s) in {run_dir}")
        status = "failed"
        try:
            execute_steps(steps, notebooks_dir, run_dir, run_params, manifest["notebooks"], jobs=jobs,
                          progress=progress, label=f"{instrument} {wave}", features=study.features(instrument))
            assemble(run_dir, run_params, synthetic=synthetic, study_title=study.title.get(lang))
            manifest["documents"] = _documents(run_dir)
            audit_run(run_dir, instrument, wave, params["min_group_size"], population_dir=frame_dir,
                      study=study)
            status = "complete"
        except DisclosureAuditError as exc:
            manifest["error"] = str(exc)
            kept = finish_failed(run_dir, manifest, "failed", reports_root, instrument, wave, lang, started)
            raise DisclosureAuditError(f"{exc}; the run is kept in {kept}") from None
        except NotebookFailedError as exc:
            manifest["error"] = str(exc)
            kept = finish_failed(run_dir, manifest, "failed", reports_root, instrument, wave, lang, started)
            raise exc.with_kept_at(kept / "notebooks" / f"{exc.notebook}.ipynb") from None
        except Exception as exc:  # assembly or file-system error: same rule, keep and explain
            manifest["error"] = f"{type(exc).__name__}: {exc}"
            kept = finish_failed(run_dir, manifest, "failed", reports_root, instrument, wave, lang, started)
            raise ReportError(f"{instrument} {wave}: {type(exc).__name__}: {exc}; "
                              f"the run is kept in {kept}") from exc
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: keep the evidence, never promote
            manifest["error"] = f"{type(exc).__name__}: {exc}"
            kept = finish_failed(run_dir, manifest, "interrupted", reports_root, instrument, wave, lang, started)
            say(f"run stopped; partial results kept in {kept}")
            raise
        ended = now()
        manifest.update(status=status, ended_at=ended.isoformat(),
                        duration_s=round((ended - started).total_seconds(), 3),
                        outputs=list_outputs(run_dir))
        write_json(run_dir / MANIFEST_NAME, manifest)
        promote(run_dir, final, reports_root, instrument, wave, lang)
        return ReportResult(final, manifest, False, tuple(r["name"] for r in manifest["notebooks"]))


def audit_run(run_dir: Path | str, instrument: str, wave: str, min_group_size: int, *,
              population_dir: Path | str | None = None, study: project.Study | None = None) -> None:
    """Attack the run folder's published tables together before the report is published.

    Runs `analysis.disclosure.audit_report` on ``run_dir`` (its ``tables/`` and the block
    metadata of its executed notebooks) with the run's k. Groups nest as the study declares
    (``hierarchy: [org, unit]``: the frame's unit -> organization links, so that a unit hidden
    inside a published organization is attacked through it), a second time with the frame's
    public member counts as the weights of means weighted to the frame (``frame_sizes``, the way a
    reader would recombine them); an instrument with fewer than two
    levels, or a study without a frame, is audited without nesting.

    Raises
    ------
    DisclosureAuditError
        Naming each table and cell (group and variable) whose hidden value can be recovered;
        never the value or its n (the message lands in the manifest under ``reports/.failed``).
    """
    from analysis import disclosure
    from analysis.instruments import population

    study = study or project.load_study()
    spec = study.instrument(instrument)
    if spec.unit_survey == instrument:
        # The attacker audits additive statistics about respondents (member means, answer
        # shares, respondent counts: analysis.disclosure.report_audit.FAMILIES). A unit survey
        # publishes indicators, spreads, attainment and the scorecard, about units answered by
        # their committees, which the attacker lists as out of scope: nothing to audit.
        return
    policy = disclosure.load_policy(k=min_group_size)
    if not disclosure.report_tables(run_dir, wave=wave).tables:
        return  # no audited table published (e.g. a pipeline without the member statistics)
    frame = population_dir or study.frame
    units = population.load_units(frame) if len(spec.hierarchy) >= 2 and frame is not None else None
    hierarchy = disclosure.unit_hierarchy(units=units) if units is not None else None
    # The means are weighted to the frame, whose member counts are public: attacked with them too.
    sizes = units.set_index("unit_id")["members"] if units is not None and "members" in units else None
    found = disclosure.audit_report(run_dir, hierarchy, wave=wave, policy=policy, frame_sizes=sizes)
    if len(found):
        cells = sorted({f"{r.table}: {r.by}, {r.variable}"
                        + (f", {r.level}" if isinstance(r.level, str) and r.level else "")
                        for r in found.itertuples()})
        raise DisclosureAuditError(
            f"{instrument} {wave}: the published tables together reveal {len(cells)} hidden cell(s) "
            f"(k = {policy.k}): " + "; ".join(cells) + ". Protect the tables that publish the same "
            "groups together (the same totals and complementary cells); the report was not published")


def _move_single_language_layout(wave_dir: Path, reports_root: Path, instrument: str, wave: str) -> None:
    """A report written before reports had one folder per language (``<instrument>/<wave>/report.html``
    beside the language folders) is moved whole to ``.failed/<instrument>/<wave>-single-language/``
    rather than left to be mistaken for the current one; nothing is deleted."""
    if not (wave_dir / MANIFEST_NAME).is_file():
        return
    target = resolve_inside_reports(reports_root / ".failed" / instrument / f"{wave}-single-language", reports_root)
    target.mkdir(parents=True, exist_ok=True)
    for entry in wave_dir.iterdir():
        if not (entry.is_dir() and (entry / MANIFEST_NAME).is_file()):  # keep the language folders
            os.rename(entry, target / entry.name)
    say(f"note: the report in {wave_dir} (one folder for all languages) was moved to {target}")


def _documents(run_dir: Path) -> dict | None:
    """What the assembly made besides the HTML (`analysis.report.assembly.DOCUMENTS_FILE`: the
    Board edition, whether it is a draft, the PDFs made and missing, the font they are set in),
    for the manifest; None when the assembly wrote no such record."""
    import json

    from analysis.report.assembly import DOCUMENTS_FILE

    try:
        return json.loads((run_dir / DOCUMENTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_synthetic(instrument: str, wave: str, processed_dir: Path) -> bool:
    try:
        return waves_mod.is_synthetic(instrument, wave, processed_dir=processed_dir)
    except FileNotFoundError:
        return True
