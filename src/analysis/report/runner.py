"""Report runner: execute the pipeline notebooks with papermill and assemble the report.

``python -m analysis report`` runs every notebook listed in ``notebooks/pipeline.yaml`` for one
instrument and wave, in parallel where the declared ``needs`` allow it, then builds one
self-contained ``report.html`` (and one html per notebook) and a ``manifest.json``.

Guarantees (why the code is shaped as it is):

* **Atomic results.** Everything is written to ``reports/.tmp-<instrument>.<wave>.<stamp>.<pid>/``;
  the folder is renamed to ``reports/<instrument>/<wave>/`` only when every step succeeded. An
  existing report is renamed aside first, the new one renamed in, and only then is the old one
  deleted, so a killed run never leaves a half-written folder under the final name and never
  damages the previous complete report (if a run dies between the two renames, the next run
  renames the old report back).
* **Failures are kept.** A failing cell stops the run with `NotebookFailedError`, naming the
  notebook, the cell (index in the executed notebook, first source line) and the error; the
  run folder, with the executed notebook, moves to ``reports/.failed/<instrument>/<wave>-<stamp>/``.
* **Audited before it is published.** Before the final rename, the whole-report attacker
  (`analysis.disclosure.audit_report`) attacks every published table of the run folder at once
  with the run's k; a hidden value it can recover fails the run with `DisclosureAuditError`,
  naming the tables and cells (never their values), and the run goes to ``.failed/`` like any
  failure. A bad ``min_group_size`` (below the policy's k) fails before any notebook runs.
* **Reuse.** The manifest records a cache key: the sha256 of every input file (processed data of
  the waves used, population frame, instrument YAMLs, notebooks and pipeline.yaml, the source
  of ``src/analysis``), the parameters and the package versions. A rerun with the same key
  reuses the existing report in seconds; any change reruns (``--force`` always reruns).
* **Safe parameters.** Parameter names must be plain identifiers; values travel as Python
  objects through papermill's API (never its CLI, which turns ``001`` into ``1``); instrument and
  wave ids pass `analysis.config.check_id` before any file is touched, and every output path is
  checked with `analysis.config.resolve_inside`.
* **The right interpreter.** Notebooks always run in the kernel `analysis.config.KERNEL_NAME`,
  and the runner refuses to start when that kernel's interpreter is not the one running it.

``notebooks/pipeline.yaml`` format::

    instruments: [member, unit]        # default order of `report` without --instrument
    notebooks:
      - name: 10_data_quality          # notebooks/10_data_quality.ipynb
        applies_to: [member, unit]     # instruments this notebook is run for
        needs: []                      # notebooks that must finish first
      - name: 00_executive_summary
        applies_to: [member, unit]
        needs: [10_data_quality, …]
        status: planned                # not written yet: skipped with an info line while the
                                       # file is absent (without it, a missing file is an error)

Needs on notebooks that do not run for this instrument (``applies_to``) or that are planned and
absent are ignored. The assembled report orders notebooks by name, so ``00_executive_summary``
comes first, then ``10_…``, ``20_…``.

Every notebook receives ``instrument``, ``wave``, ``baseline_wave`` (first imported wave by
default), ``waves`` (imported waves up to ``wave``, a list), ``lang`` (``vi``/``en``),
``output_dir`` (the run folder, a str), ``min_group_size`` and any extra parameter.

A report folder ``reports/<instrument>/<wave>/`` holds ``report.html`` (all notebooks),
``html/<notebook>.html``, ``notebooks/<notebook>.ipynb`` (executed), ``tables/``, ``figures/``,
``results/`` (written by the notebooks) and ``manifest.json``. Next to the folders:
``.tmp-*`` (runs in progress, or killed), ``.failed/`` (failed, interrupted or abandoned runs),
``.lock-<instrument>.<wave>`` (one run per report at a time).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import html
import importlib
import importlib.metadata
import importlib.util
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import yaml

from analysis import config
from analysis.ingest import waves as waves_mod

__all__ = [
    "COMMON_PARAMETERS",
    "ReportError",
    "ParameterError",
    "PipelineError",
    "KernelMismatchError",
    "NotebookFailedError",
    "DisclosureAuditError",
    "audit_run",
    "Step",
    "Pipeline",
    "ReportResult",
    "load_pipeline",
    "check_parameter_name",
    "parse_assignment",
    "load_params_file",
    "merge_parameters",
    "build_parameters",
    "check_kernel",
    "collect_inputs",
    "compute_cache_key",
    "run_report",
    "assemble",
    "make_offline",
    "resolve_inside_reports",
    "register",
    "LANGUAGES",
]

#: Parameters every pipeline notebook receives (see CONTRIBUTING.md, "Notebooks and reports").
COMMON_PARAMETERS: tuple[str, ...] = (
    "instrument",
    "wave",
    "baseline_wave",
    "waves",
    "lang",
    "output_dir",
    "min_group_size",
)
#: Computed by the runner; a params file or ``-p`` may not set them.
_COMPUTED_PARAMETERS = ("waves", "output_dir")
LANGUAGES: tuple[str, ...] = ("vi", "en")
MANIFEST_NAME = "manifest.json"
PIPELINE_FILE = "pipeline.yaml"
#: Sub-folders of a run folder that the notebooks write into.
OUTPUT_SUBDIRS: tuple[str, ...] = ("tables", "figures", "results")
_MANIFEST_SCHEMA = 1
#: Versions recorded in the manifest and part of the cache key (a new version can change output).
_PACKAGES: tuple[str, ...] = (
    "analysis", "papermill", "nbconvert", "nbclient", "nbformat", "jupyter_client", "ipykernel",
    "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "pyarrow", "pyyaml", "jinja2",
)
_TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
#: The whole `analysis` package (its code is part of the cache key).
_SOURCE_DIR = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------- errors

class ReportError(RuntimeError):
    """A report could not be produced (the message says why and what to do)."""


class ParameterError(ValueError):
    """A notebook parameter with an unsafe name or an unsupported value."""


class PipelineError(ReportError):
    """notebooks/pipeline.yaml is malformed, or lists a notebook that does not exist."""


class KernelMismatchError(ReportError):
    """The project's Jupyter kernel is missing or runs another interpreter."""


class DisclosureAuditError(ReportError):
    """The whole-report attacker recovered hidden values from the run's published tables."""


class NotebookFailedError(ReportError):
    """A cell of a pipeline notebook raised; the executed notebook is kept for debugging.

    Attributes
    ----------
    notebook : str
        Notebook name (without ``.ipynb``).
    cell_index : int or None
        Index of the failing cell in the *executed* notebook (which includes papermill's
        injected-parameters cell).
    source_line : str
        First line of the failing cell's source.
    error : str
        ``ExceptionName: message``.
    kept_at : pathlib.Path or None
        Where the executed notebook is kept (set once the run folder moved to ``.failed``).
    """

    def __init__(self, notebook: str, cell_index: int | None, source_line: str, error: str,
                 kept_at: Path | None = None) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        self.source_line = source_line
        self.error = error
        self.kept_at = kept_at
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"cell {self.cell_index}" if self.cell_index is not None else "start-up"
        msg = f"notebook {self.notebook}.ipynb failed at {where}"
        if self.source_line:
            msg += f" ({self.source_line!r})"
        msg += f": {self.error}"
        if self.kept_at is not None:
            msg += f"\nexecuted notebook kept in {self.kept_at}"
        return msg

    def with_kept_at(self, path: Path) -> "NotebookFailedError":
        """Record where the executed notebook now lives (updates the message)."""
        self.kept_at = path
        self.args = (self._message(),)
        return self


# ------------------------------------------------------------------------------------- pipeline

@dataclasses.dataclass(frozen=True)
class Step:
    """One pipeline notebook as declared in pipeline.yaml."""

    name: str
    applies_to: tuple[str, ...]
    needs: tuple[str, ...] = ()
    status: str = "active"  # "active" or "planned"

    def path(self, notebooks_dir: Path) -> Path:
        """The notebook file, ``<notebooks_dir>/<name>.ipynb``."""
        return Path(notebooks_dir) / f"{self.name}.ipynb"


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """The notebooks of notebooks/pipeline.yaml, in execution order."""

    instruments: tuple[str, ...]
    steps: tuple[Step, ...]

    def plan(self, instrument: str, notebooks_dir: Path) -> tuple[list[Step], list[tuple[Step, str]]]:
        """Steps to run for *instrument*, and the skipped ones with the reason.

        Raises
        ------
        PipelineError
            When an active step's notebook file is missing.
        """
        run: list[Step] = []
        skipped: list[tuple[Step, str]] = []
        for step in self.steps:
            exists = step.path(notebooks_dir).is_file()
            if instrument not in step.applies_to:
                skipped.append((step, f"does not apply to instrument {instrument!r}"))
            elif not exists and step.status == "planned":
                skipped.append((step, "planned, notebook not written yet"))
            elif not exists:
                raise PipelineError(
                    f"notebook {step.name}.ipynb listed in {Path(notebooks_dir) / PIPELINE_FILE} is missing "
                    f"({step.path(notebooks_dir)}); add it, or mark the entry `status: planned`"
                )
            else:
                run.append(step)
        names = {s.name for s in run}
        # Needs on steps that do not run here (other instrument, planned) are dropped.
        run = [dataclasses.replace(s, needs=tuple(n for n in s.needs if n in names)) for s in run]
        return run, skipped


def load_pipeline(notebooks_dir: Path | str | None = None) -> Pipeline:
    """Read and check ``<notebooks_dir>/pipeline.yaml``.

    Parameters
    ----------
    notebooks_dir : path, optional
        Folder holding pipeline.yaml and the notebooks; `analysis.config.NOTEBOOKS_DIR` by default.

    Returns
    -------
    Pipeline
        Steps in file order; every ``needs`` names a listed step and there is no cycle.
    """
    path = Path(notebooks_dir or config.NOTEBOOKS_DIR) / PIPELINE_FILE
    if not path.is_file():
        raise PipelineError(f"{path} not found: it lists the pipeline notebooks (see analysis.report.runner)")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict) or not isinstance(doc.get("notebooks"), list):
        raise PipelineError(f"{path}: expected a mapping with a `notebooks:` list")
    instruments = tuple(config.check_id(i, "instrument") for i in doc.get("instruments", []))
    steps = [_parse_step(entry, path, instruments) for entry in doc["notebooks"]]
    names = [s.name for s in steps]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PipelineError(f"{path}: notebook listed twice: {', '.join(dupes)}")
    for step in steps:
        unknown = [n for n in step.needs if n not in names]
        if unknown:
            raise PipelineError(f"{path}: {step.name} needs unknown notebook(s) {', '.join(unknown)}")
    _topological_order(steps, path)
    return Pipeline(instruments=instruments or tuple(sorted({i for s in steps for i in s.applies_to})),
                    steps=tuple(steps))


def _parse_step(entry: object, path: Path, instruments: tuple[str, ...]) -> Step:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise PipelineError(f"{path}: each notebook entry needs a `name` (got {entry!r})")
    name = entry["name"]
    if not re.fullmatch(r"[0-9]{2}_[a-z0-9_]+", name):
        raise PipelineError(f"{path}: notebook name {name!r} must look like NN_section (e.g. 10_data_quality)")
    applies = tuple(config.check_id(i, "instrument") for i in entry.get("applies_to", instruments))
    needs = tuple(entry.get("needs", []) or [])
    status = entry.get("status", "active")
    if status not in ("active", "planned"):
        raise PipelineError(f"{path}: {name}: status must be 'active' or 'planned', not {status!r}")
    return Step(name=name, applies_to=applies, needs=needs, status=status)


def _topological_order(steps: Sequence[Step], path: Path | str = "pipeline") -> list[Step]:
    """Steps ordered so that every step follows what it needs (file order kept otherwise)."""
    done: list[Step] = []
    left = list(steps)
    while left:
        ready = [s for s in left if set(s.needs) <= {d.name for d in done}]
        if not ready:
            raise PipelineError(f"{path}: circular `needs` among {', '.join(s.name for s in left)}")
        done.append(ready[0])
        left.remove(ready[0])
    return done


# ----------------------------------------------------------------------------------- parameters

def check_parameter_name(name: object) -> str:
    """Return *name* if it can safely become a variable in the parameters cell.

    A name must be a Python identifier, not a keyword and not start with ``_`` (private names and
    dunders such as ``__builtins__`` could change the kernel's behaviour).

    Examples
    --------
    >>> check_parameter_name("region")
    'region'
    >>> check_parameter_name("x; import os")
    Traceback (most recent call last):
    ...
    analysis.report.runner.ParameterError: parameter name 'x; import os' is not allowed: use a Python identifier (letters, digits, '_'), not a keyword, not starting with '_'
    """
    if (not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name)
            or name.startswith("_") or not name.isascii()):
        raise ParameterError(
            f"parameter name {name!r} is not allowed: use a Python identifier (letters, digits, '_'), "
            "not a keyword, not starting with '_'"
        )
    return name


def parse_assignment(text: str) -> tuple[str, str]:
    """Split a ``-p name=value`` argument; the value stays a raw string.

    Examples
    --------
    >>> parse_assignment("code=001")
    ('code', '001')
    >>> parse_assignment("note=a=b")
    ('note', 'a=b')
    """
    name, sep, value = text.partition("=")
    if not sep:
        raise ParameterError(f"-p {text!r}: expected name=value (e.g. -p region=north)")
    name = check_parameter_name(name.strip())
    if name in COMMON_PARAMETERS:
        raise ParameterError(f"-p {name}=…: {name} has its own option (see --help) or is set by the runner")
    return name, value


def _check_value(name: str, value: object) -> object:
    """Values papermill can write as Python literals; dates become ISO strings."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_check_value(name, v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ParameterError(f"parameter {name}: mapping keys must be strings")
        return {k: _check_value(name, v) for k, v in value.items()}
    raise ParameterError(f"parameter {name}: unsupported value type {type(value).__name__} ({value!r})")


def load_params_file(path: Path | str) -> dict[str, Any]:
    """Read a YAML mapping of parameters (typed values: quote strings such as ``"001"``).

    It may set ``instrument``, ``wave``, ``baseline_wave``, ``lang``, ``min_group_size`` and any
    extra parameter; ``waves`` and ``output_dir`` are computed by the runner.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"params file {path} not found")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ParameterError(f"{path}: expected a mapping of name: value")
    out: dict[str, Any] = {}
    for name, value in doc.items():
        check_parameter_name(name)
        if name in _COMPUTED_PARAMETERS:
            raise ParameterError(f"{path}: {name} is computed by the runner and cannot be set")
        if name in ("instrument", "wave", "baseline_wave") and not isinstance(value, str):
            raise ParameterError(f"{path}: {name} must be a quoted string, e.g. {name}: \"{value}\"")
        out[name] = _check_value(name, value)
    return out


def _coerce_like(name: str, text: str, example: object) -> object:
    """Read a ``-p`` string as the type the params file gave *name* (strings stay raw)."""
    if example is None or isinstance(example, str):
        return text
    if isinstance(example, bool):
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
    elif isinstance(example, int) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        return int(text)
    elif isinstance(example, float):
        try:
            return float(text)
        except ValueError:
            pass
    else:  # list or mapping: YAML flow syntax, e.g. -p orgs=[CDVC, DTN]
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = None
        if isinstance(value, type(example)):
            return _check_value(name, value)
    raise ParameterError(f"-p {name}={text!r}: the params file gives {name} as "
                         f"{type(example).__name__} ({example!r}); give a value of that type")


def merge_parameters(file_params: Mapping[str, Any], cli_params: Mapping[str, str]) -> dict[str, Any]:
    """Extra parameters: the params file's, overridden by ``-p``.

    A ``-p`` value is a raw string, unless the params file gives that name a typed value
    (number, boolean, list…): then it is read as that type, or refused.

    Examples
    --------
    >>> merge_parameters({"count": 3, "code": "001"}, {"count": "7", "code": "002", "note": "1e3"})
    {'count': 7, 'code': '002', 'note': '1e3'}
    """
    merged = dict(file_params)
    for name, text in cli_params.items():
        merged[name] = _coerce_like(name, text, file_params.get(name))
    return merged


def build_parameters(instrument: str, wave: str, *, baseline_wave: str | None = None,
                     lang: str = "vi", min_group_size: int = config.MIN_GROUP_SIZE,
                     extra: Mapping[str, Any] | None = None,
                     processed_dir: Path | None = None) -> dict[str, Any]:
    """The parameters every notebook receives (all but ``output_dir``, added per run).

    Parameters
    ----------
    instrument, wave : str
        Checked ids; *wave* must be imported.
    baseline_wave : str, optional
        Wave compared against; the first imported wave by default.
    lang : {"vi", "en"}
    min_group_size : int
    extra : mapping, optional
        More parameters (names checked, values kept as given: strings stay strings).
    processed_dir : path, optional
        Where imported waves live (`analysis.config.PROCESSED_DIR` by default).

    Returns
    -------
    dict
        ``instrument, wave, baseline_wave, waves, lang, min_group_size`` then the extras.
    """
    config.check_id(instrument, "instrument")
    config.check_id(wave, "wave")
    if baseline_wave is not None:
        config.check_id(baseline_wave, "wave")
    if lang not in LANGUAGES:
        raise ParameterError(f"lang {lang!r} is not supported: use one of {', '.join(LANGUAGES)}")
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 1:
        raise ParameterError(f"min_group_size must be a positive integer, not {min_group_size!r}")
    from analysis import disclosure

    try:  # the notebooks call load_policy(k=min_group_size): fail here, before any of them runs
        disclosure.load_policy(k=min_group_size)
    except ValueError as exc:  # DisclosureError is a ValueError
        raise ParameterError(f"min_group_size {min_group_size}: {exc}") from None
    extras = {}
    for name, value in (extra or {}).items():  # checked before any file is read
        check_parameter_name(name)
        if name in COMMON_PARAMETERS:
            raise ParameterError(f"parameter {name} is set by the runner or its own option, not as an extra")
        extras[name] = _check_value(name, value)
    imported = waves_mod.list_waves(instrument, processed_dir=processed_dir)
    if wave not in imported:
        raise FileNotFoundError(
            f"wave {wave!r} of instrument {instrument!r} has not been imported "
            f"(imported: {', '.join(imported) or 'none'}); run python -m analysis add-wave --instrument "
            f"{instrument} --wave {wave} FILE…"
        )
    used = [w for w in imported if w <= wave]
    baseline = baseline_wave or used[0]
    if baseline not in used:
        raise ParameterError(f"baseline wave {baseline!r} is not an imported wave up to {wave!r} ({', '.join(used)})")
    params: dict[str, Any] = {
        "instrument": instrument, "wave": wave, "baseline_wave": baseline, "waves": used,
        "lang": lang, "min_group_size": min_group_size,
    }
    params.update(extras)
    return params


# --------------------------------------------------------------------------------------- kernel

def _same_interpreter(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Same file *and* same folder: a venv's python links to the system one, which is not ours."""
    a, b = Path(a), Path(b)
    return (os.path.realpath(a.parent) == os.path.realpath(b.parent)
            and os.path.realpath(a) == os.path.realpath(b))


def check_kernel(kernel_name: str = config.KERNEL_NAME) -> Path:
    """Check that the Jupyter kernel *kernel_name* runs the interpreter running this code.

    Returns
    -------
    pathlib.Path
        The kernel's interpreter.

    Raises
    ------
    KernelMismatchError
        When the kernelspec is missing or its ``argv[0]`` is another interpreter (a kernel
        registered by another venv would import another copy of the project).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise KernelMismatchError(
            f"Jupyter kernel {kernel_name!r} is not installed for {sys.executable}; run `make install`"
        ) from None
    argv0 = spec.argv[0] if spec.argv else ""
    resolved = shutil.which(argv0) if argv0 and not os.path.isabs(argv0) else argv0
    if not resolved or not _same_interpreter(resolved, sys.executable):
        raise KernelMismatchError(
            f"Jupyter kernel {kernel_name!r} ({spec.resource_dir}) runs {argv0!r}, not this interpreter "
            f"({sys.executable}); run `make install` to register the project's kernel (and delete "
            f"{spec.resource_dir} if it belongs to another environment: it would shadow it)"
        )
    return Path(resolved)


# ------------------------------------------------------------------------------ inputs and keys

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _relative(path: Path, root: Path) -> str:
    """*path* relative to its group's root: moving the checkout must not invalidate the cache."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()


def _files(folder: Path, patterns: Iterable[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    found = {p for pattern in patterns for p in folder.rglob(pattern)
             if p.is_file() and "__pycache__" not in p.parts
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)}
    return sorted(found)


def collect_inputs(instruments: Sequence[str], waves: Sequence[str], steps: Sequence[Step], *,
                   notebooks_dir: Path, processed_dir: Path, population_dir: Path,
                   surveys_dir: Path, source_dir: Path = _SOURCE_DIR) -> list[dict[str, str]]:
    """Every input of a report with its sha256, in a stable order.

    Returns
    -------
    list of dict
        ``{"role", "path", "sha256"}``, *path* relative to the role's folder; roles: ``data`` (processed files of *waves* for each of
        *instruments*: a notebook may combine instruments), ``population``, ``instrument``,
        ``notebook`` (pipeline.yaml and the notebooks run) and ``source`` (src/analysis).
    """
    groups: list[tuple[str, Path, list[Path]]] = []
    data: list[Path] = []
    for instrument in instruments:
        folder = Path(processed_dir) / config.check_id(instrument, "instrument")
        for wave in waves:
            data += sorted(folder.glob(f"{config.check_id(wave, 'wave')}.*")) if folder.is_dir() else []
    groups.append(("data", Path(processed_dir), [p for p in data if p.is_file()]))
    groups.append(("population", Path(population_dir), _files(Path(population_dir), ["*"])))
    groups.append(("instrument", Path(surveys_dir), _files(Path(surveys_dir), ["*.yaml", "*.yml"])))
    groups.append(("notebook", Path(notebooks_dir),
                   [Path(notebooks_dir) / PIPELINE_FILE] + [s.path(notebooks_dir) for s in steps]))
    groups.append(("source", Path(source_dir),
                   _files(Path(source_dir), ["*.py", "*.j2", "*.css", "*.html", "*.yaml"])))
    return [{"role": role, "path": _relative(p, root), "sha256": _sha256(p)}
            for role, root, paths in groups for p in paths]


def _package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def compute_cache_key(inputs: Sequence[Mapping[str, str]], parameters: Mapping[str, Any],
                      packages: Mapping[str, str]) -> str:
    """sha256 of the inputs' hashes, the parameters (without output_dir) and package versions."""
    payload = {
        "inputs": [[i["role"], i["path"], i["sha256"]] for i in inputs],
        "parameters": {k: v for k, v in parameters.items() if k != "output_dir"},
        "packages": dict(packages),
        "kernel": config.KERNEL_NAME,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _git_state(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


# -------------------------------------------------------------------------------------- running

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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


def _say(message: str) -> None:
    """Info lines that do not break the progress bar."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write then fsync: the manifest must be on disk before the folder is renamed."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _first_line(source: str) -> str:
    lines = [line for line in (source or "").splitlines() if line.strip()]
    return lines[0].strip()[:120] if lines else ""


_THREAD = threading.local()  # the kernel manager of the notebook this worker thread runs


def _kernel_manager_class() -> type:
    """nbclient's kernel manager, minus the SIGINT it sends an idle kernel on shutdown.

    jupyter_client's ``shutdown_kernel`` always interrupts the kernel (SIGINT) before it asks
    it to shut down. When the signal lands while the kernel is still in a message handler (it
    is publishing the last cell's idle status), ipykernel logs
    "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." on the terminal of a
    ``make report`` where nothing failed. The interrupt is skipped only when no cell is
    running (nbclient's ``on_cell_execute`` / ``on_cell_executed`` hooks, `_cell_started`,
    `_cell_finished`): a kernel stopped in the middle of a cell (Ctrl-C, timeout, killed run)
    is interrupted exactly as before, and real errors (cell errors raised by papermill, a dead
    kernel by nbclient) are unchanged.
    """
    from jupyter_client.manager import AsyncKernelManager

    class QuietShutdownKernelManager(AsyncKernelManager):
        cell_running = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            _THREAD.kernel_manager = self

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down and not self.cell_running:
                return
            await super()._async_interrupt_kernel()

    return QuietShutdownKernelManager


def _set_cell_running(running: bool) -> None:
    km = getattr(_THREAD, "kernel_manager", None)
    if km is not None:
        km.cell_running = running


def _cell_started(**_: Any) -> None:
    """nbclient hook before a cell is sent to the kernel."""
    _set_cell_running(True)


def _cell_finished(**_: Any) -> None:
    """nbclient hook after a cell's reply (ok or error): the kernel is idle again."""
    _set_cell_running(False)


def _execute_one(step: Step, notebooks_dir: Path, run_dir: Path, parameters: Mapping[str, Any]) -> dict:
    """Run one notebook into ``run_dir/notebooks/``; return its record for the manifest."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out = run_dir / "notebooks" / f"{step.name}.ipynb"
    started = _now()
    try:
        pm.execute_notebook(
            str(step.path(notebooks_dir)), str(out),
            # A dict of Python objects: papermill writes them as literals, strings stay strings.
            parameters=dict(parameters),
            kernel_name=config.KERNEL_NAME,
            progress_bar=False,
            # The kernel's working directory is the run folder, so stray relative writes land
            # there, not in notebooks/. Not papermill's `cwd=`: it calls os.chdir, which is
            # process-wide and races between the worker threads.
            resources={"metadata": {"path": str(run_dir)}},
            # Quiet the kernel's start-up warnings (local TCP transport) that would break the
            # progress bar; errors still show, and cell errors are reported by papermill.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            kernel_manager_class=_kernel_manager_class(),
            on_cell_execute=_cell_started, on_cell_executed=_cell_finished,
        )
    except PapermillExecutionError as exc:
        raise NotebookFailedError(step.name, exc.cell_index, _first_line(exc.source),
                                  f"{exc.ename}: {exc.evalue}") from exc
    except Exception as exc:  # kernel died, timeout, bad notebook file…
        raise NotebookFailedError(step.name, None, "", f"{type(exc).__name__}: {exc}") from exc
    ended = _now()
    return {"name": step.name, "status": "complete", "started_at": started.isoformat(),
            "ended_at": ended.isoformat(), "duration_s": round((ended - started).total_seconds(), 3)}


def _execute_steps(steps: Sequence[Step], notebooks_dir: Path, run_dir: Path,
                   parameters: Mapping[str, Any], records: list[dict], *, jobs: int, progress: bool,
                   label: str) -> None:
    """Run *steps* with up to *jobs* notebooks at a time, each once all it needs has finished.

    One record per finished notebook is appended to *records* (also when a later one fails, so
    the failed run's manifest shows what ran). On the first failure no new notebook starts;
    running ones finish, then the error is raised.
    """
    from tqdm import tqdm

    pending = list(_topological_order(steps))
    done: set[str] = set()
    running: dict[Future, Step] = {}
    failure: NotebookFailedError | None = None
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="notebook")
    bar = tqdm(total=len(steps), desc=label, unit="notebook", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    try:
        while pending or running:
            if failure is None:
                for step in [s for s in pending if set(s.needs) <= done]:
                    pending.remove(step)
                    running[pool.submit(_execute_one, step, notebooks_dir, run_dir, parameters)] = step
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                try:
                    records.append(future.result())
                except NotebookFailedError as exc:
                    failure = failure or exc
                    records.append({"name": step.name, "status": "failed", "error": str(exc)})
                    continue
                done.add(step.name)
                bar.set_postfix_str(step.name, refresh=False)
                bar.update(1)
    except BaseException:
        # Interrupted: kernels run in their own session and do not see the terminal's Ctrl-C,
        # so stop them, let the worker threads return, and only then leave.
        pool.shutdown(wait=False, cancel_futures=True)
        # A notebook whose kernel was still starting when the signal came would start it after
        # a single sweep and run to the end (seen under load): sweep until every worker is back.
        _kill_kernels()
        while any(not f.done() for f in running):
            wait(list(running), timeout=0.5)
            _kill_kernels()
        pool.shutdown(wait=True)
        raise
    finally:
        bar.close()
    pool.shutdown(wait=True)
    if failure is not None:
        raise failure


def _kill_kernels() -> None:
    """Kill the kernel processes this process started (its ipykernel children), nothing else."""
    import psutil  # a dependency of ipykernel

    for child in psutil.Process().children(recursive=True):
        try:
            if any("ipykernel" in part for part in child.cmdline()):
                child.kill()
        except psutil.Error:
            pass


@contextlib.contextmanager
def _run_lock(reports_root: Path, instrument: str, wave: str) -> Iterator[None]:
    """One run per instrument and wave at a time (the OS releases the lock if the process dies)."""
    import fcntl

    path = resolve_inside_reports(reports_root / f".lock-{instrument}.{wave}", reports_root)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReportError(f"another report run for {instrument} {wave} is in progress "
                              f"(lock {path}); wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _tidy_leftovers(final: Path, reports_root: Path, instrument: str, wave: str) -> None:
    """Under the lock, earlier runs of this report are dead: restore or file away their folders."""
    _recover_aside(final, reports_root, instrument, wave)
    if final.is_dir():  # a run that died after 'new in' but before deleting the old report
        for old in reports_root.glob(f".old-{instrument}.{wave}.*"):
            shutil.rmtree(old, ignore_errors=True)
    for stale in sorted(reports_root.glob(f".tmp-{instrument}.{wave}.*")):
        kept = _keep_failed(stale, reports_root, instrument, wave, stale.name.split(".")[3] + "-abandoned")
        _say(f"note: an earlier run stopped without finishing; its folder is kept in {kept}")


def _recover_aside(final: Path, reports_root: Path, instrument: str, wave: str) -> None:
    """If a run died between 'old aside' and 'new in', put the old complete report back."""
    if final.exists():
        return
    for old in sorted(reports_root.glob(f".old-{instrument}.{wave}.*"), reverse=True):
        manifest = _read_manifest(old)
        if manifest and manifest.get("status") == "complete":
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(old, final)
            _say(f"restored the previous report {final} (a run had stopped while replacing it)")
            return


def _promote(run_dir: Path, final: Path, reports_root: Path, instrument: str, wave: str) -> None:
    """Rename *run_dir* to *final*; the previous report is replaced only at this very end."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = resolve_inside_reports(reports_root / f".old-{instrument}.{wave}.{_stamp(_now())}", reports_root)
        os.rename(final, old)
    os.rename(run_dir, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def resolve_inside_reports(path: Path, reports_root: Path) -> Path:
    """`analysis.config.resolve_inside` with the reports root (every write goes through it)."""
    return config.resolve_inside(path, reports_root)


def _keep_failed(run_dir: Path, reports_root: Path, instrument: str, wave: str, stamp: str) -> Path:
    target = resolve_inside_reports(reports_root / ".failed" / instrument / f"{wave}-{stamp}", reports_root)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(run_dir, target)
    return target


def run_report(instrument: str, wave: str, *, baseline_wave: str | None = None, lang: str = "vi",
               min_group_size: int = config.MIN_GROUP_SIZE, extra: Mapping[str, Any] | None = None,
               notebooks_dir: Path | str | None = None, reports_root: Path | str | None = None,
               processed_dir: Path | str | None = None, population_dir: Path | str | None = None,
               surveys_dir: Path | str | None = None, source_dir: Path | str | None = None,
               jobs: int = 2, force: bool = False,
               progress: bool = True, check_kernel_first: bool = True) -> ReportResult:
    """Run the pipeline notebooks for one instrument and wave, then assemble the report.

    Parameters
    ----------
    instrument, wave : str
        Ids, checked with `analysis.config.check_id` before any file is read.
    baseline_wave, lang, min_group_size, extra
        See `build_parameters`.
    notebooks_dir, reports_root, processed_dir, population_dir, surveys_dir : path, optional
        Defaults from `analysis.config`; tests point them to a temporary folder.
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
        ``report_dir`` = ``<reports_root>/<instrument>/<wave>``, its manifest, whether the
        previous report was reused, and the notebooks executed.

    Raises
    ------
    NotebookFailedError
        A cell failed; the run folder is kept in ``<reports_root>/.failed/…``.
    PipelineError, KernelMismatchError, ParameterError, FileNotFoundError
    """
    config.check_id(instrument, "instrument")
    config.check_id(wave, "wave")
    if baseline_wave is not None:
        config.check_id(baseline_wave, "wave")
    notebooks_dir = Path(notebooks_dir or config.NOTEBOOKS_DIR)
    reports_root = Path(reports_root or config.REPORTS_DIR)
    processed_dir = Path(processed_dir or config.PROCESSED_DIR)
    population_dir = Path(population_dir or config.POPULATION_DIR)
    surveys_dir = Path(surveys_dir or config.SURVEYS_DIR)
    final = resolve_inside_reports(reports_root / instrument / wave, reports_root)

    params = build_parameters(instrument, wave, baseline_wave=baseline_wave, lang=lang,
                              min_group_size=min_group_size, extra=extra, processed_dir=processed_dir)
    pipeline = load_pipeline(notebooks_dir)
    steps, skipped = pipeline.plan(instrument, notebooks_dir)
    planned = [step.name for step, reason in skipped if "planned" in reason]
    if planned:
        _say(f"info: {instrument} {wave}: skipping planned notebooks not written yet: {', '.join(planned)}")
    if not steps:
        raise PipelineError(f"no notebook of {notebooks_dir / PIPELINE_FILE} runs for instrument {instrument!r}")
    if check_kernel_first:
        check_kernel()

    packages = _package_versions()
    inputs = collect_inputs(pipeline.instruments if instrument in pipeline.instruments
                            else (instrument, *pipeline.instruments), params["waves"], steps,
                            notebooks_dir=notebooks_dir, processed_dir=processed_dir,
                            population_dir=population_dir, surveys_dir=surveys_dir,
                            source_dir=Path(source_dir or _SOURCE_DIR))
    key = compute_cache_key(inputs, params, packages)

    reports_root.mkdir(parents=True, exist_ok=True)
    with _run_lock(reports_root, instrument, wave):
        _tidy_leftovers(final, reports_root, instrument, wave)
        previous = _read_manifest(final) if final.is_dir() else None
        if not force and previous and previous.get("status") == "complete" and previous.get("cache_key") == key:
            _say(f"{instrument} {wave}: inputs, parameters and code unchanged; reusing {final}")
            return ReportResult(final, previous, True, ())

        started = _now()
        run_dir = resolve_inside_reports(
            reports_root / f".tmp-{instrument}.{wave}.{_stamp(started)}.{os.getpid()}", reports_root)
        for sub in ("notebooks", *OUTPUT_SUBDIRS):
            (run_dir / sub).mkdir(parents=True)
        run_params = {**params, "output_dir": str(run_dir)}
        synthetic = _is_synthetic(instrument, wave, processed_dir)
        manifest: dict[str, Any] = {
            "schema": _MANIFEST_SCHEMA,
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
            "git": _git_state(_SOURCE_DIR),  # the code that ran, wherever the data live
            "packages": packages,
            "kernel": config.KERNEL_NAME,
            "started_at": started.isoformat(),
            "ended_at": None,
            "duration_s": None,
            "pid": os.getpid(),
        }
        _write_json(run_dir / MANIFEST_NAME, manifest)
        _say(f"{instrument} {wave}: running {len(steps)} notebook(s) in {run_dir}")
        status = "failed"
        try:
            _execute_steps(steps, notebooks_dir, run_dir, run_params, manifest["notebooks"], jobs=jobs,
                           progress=progress, label=f"{instrument} {wave}")
            assemble(run_dir, run_params, synthetic=synthetic)
            audit_run(run_dir, instrument, wave, params["min_group_size"], population_dir=population_dir)
            status = "complete"
        except DisclosureAuditError as exc:
            manifest["error"] = str(exc)
            kept = _finish_failed(run_dir, manifest, "failed", reports_root, instrument, wave, started)
            raise DisclosureAuditError(f"{exc}; the run is kept in {kept}") from None
        except NotebookFailedError as exc:
            manifest["error"] = str(exc)
            kept = _finish_failed(run_dir, manifest, "failed", reports_root, instrument, wave, started)
            raise exc.with_kept_at(kept / "notebooks" / f"{exc.notebook}.ipynb") from None
        except Exception as exc:  # assembly or file-system error: same rule, keep and explain
            manifest["error"] = f"{type(exc).__name__}: {exc}"
            kept = _finish_failed(run_dir, manifest, "failed", reports_root, instrument, wave, started)
            raise ReportError(f"{instrument} {wave}: {type(exc).__name__}: {exc}; "
                              f"the run is kept in {kept}") from exc
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: keep the evidence, never promote
            manifest["error"] = f"{type(exc).__name__}: {exc}"
            kept = _finish_failed(run_dir, manifest, "interrupted", reports_root, instrument, wave, started)
            _say(f"run stopped; partial results kept in {kept}")
            raise
        ended = _now()
        manifest.update(status=status, ended_at=ended.isoformat(),
                        duration_s=round((ended - started).total_seconds(), 3),
                        outputs=_list_outputs(run_dir))
        _write_json(run_dir / MANIFEST_NAME, manifest)
        _promote(run_dir, final, reports_root, instrument, wave)
        return ReportResult(final, manifest, False, tuple(r["name"] for r in manifest["notebooks"]))


def audit_run(run_dir: Path | str, instrument: str, wave: str, min_group_size: int, *,
              population_dir: Path | str | None = None) -> None:
    """Attack the run folder's published tables together before the report is published.

    Runs `analysis.disclosure.audit_report` on ``run_dir`` (its ``tables/`` and the block
    metadata of its executed notebooks) with the run's k and the frame's unit -> organization
    nesting.

    Raises
    ------
    DisclosureAuditError
        Naming each table and cell (group and variable) whose hidden value can be recovered;
        never the value or its n (the message lands in the manifest under ``reports/.failed``).
    """
    from analysis import disclosure
    from analysis.instruments import population

    if instrument != "member":
        # The attacker audits additive statistics about respondents (member means, answer
        # shares, respondent counts: analysis.disclosure.report_audit.FAMILIES). The unit report
        # publishes unit-survey indicators, spreads, attainment and the scorecard, about units
        # answered by their committees, which the attacker lists as out of scope: nothing to audit.
        return
    policy = disclosure.load_policy(k=min_group_size)
    if not disclosure.report_tables(run_dir, wave=wave).tables:
        return  # no audited table published (e.g. a pipeline without the member statistics)
    hierarchy = disclosure.unit_hierarchy(units=population.load_units(population_dir))
    found = disclosure.audit_report(run_dir, hierarchy, wave=wave, policy=policy)
    if len(found):
        cells = sorted({f"{r.table}: {r.by}, {r.variable}" + (f", {r.level}" if isinstance(r.level, str) and r.level else "")
                        for r in found.itertuples()})
        raise DisclosureAuditError(
            f"{instrument} {wave}: the published tables together reveal {len(cells)} hidden cell(s) "
            f"(k = {policy.k}): " + "; ".join(cells) + ". Protect the tables that publish the same "
            "groups together (the same totals and complementary cells); the report was not published")


def _finish_failed(run_dir: Path, manifest: dict, status: str, reports_root: Path, instrument: str,
                   wave: str, started: dt.datetime) -> Path:
    ended = _now()
    manifest.update(status=status, ended_at=ended.isoformat(),
                    duration_s=round((ended - started).total_seconds(), 3))
    try:
        _write_json(run_dir / MANIFEST_NAME, manifest)
    except OSError:
        pass
    return _keep_failed(run_dir, reports_root, instrument, wave, _stamp(started))


def _list_outputs(run_dir: Path) -> list[dict[str, str]]:
    return [{"path": p.relative_to(run_dir).as_posix(), "sha256": _sha256(p)}
            for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name != MANIFEST_NAME]


def _is_synthetic(instrument: str, wave: str, processed_dir: Path) -> bool:
    try:
        return waves_mod.is_synthetic(instrument, wave, processed_dir=processed_dir)
    except FileNotFoundError:
        return True


# ------------------------------------------------------------------------------------- assembly

_TITLES = {
    "vi": {"title": "BÁO CÁO KẾT QUẢ KHẢO SÁT", "plan": "Đánh giá thực hiện Đề án 04-ĐA/ĐUK (Nghệ An)",
           "wave": "Đợt khảo sát năm {wave}", "toc": "Mục lục",
           "synthetic": "DỮ LIỆU MÔ PHỎNG — synthetic data: không dùng để đánh giá thực tế"},
    "en": {"title": "SURVEY REPORT", "plan": "Assessing Plan 04-ĐA/ĐUK (Nghệ An)",
           "wave": "Survey wave {wave}", "toc": "Contents",
           "synthetic": "DỮ LIỆU MÔ PHỎNG — synthetic data: not for real assessment"},
}
_HEADING = re.compile(r"<h([1-6])(\s[^>]*)?>(.*?)</h\1>", re.S | re.I)
_ANCHOR_LINK = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)
_TAG = re.compile(r"<[^>]+>")
_EXTERNAL = r"""(?:https?:)?//"""
# Remote resources a browser would fetch when the page opens (nbconvert's templates add
# require.js, MathJax and fonts from CDNs; notebook outputs may add more).
_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc\s*=\s*['\"]?" + _EXTERNAL + r"[^>]*>.*?</script\s*>", re.S | re.I)
_LINK_HREF = re.compile(r"<link\b[^>]*\bhref\s*=\s*['\"]?" + _EXTERNAL + r"[^>]*>", re.I)
_SRC_TAG = re.compile(r"<(img|iframe|video|audio|source|embed|input|track)\b[^>]*\b(?:src|srcset|poster)\s*=\s*['\"]?"
                      + _EXTERNAL + r"[^>]*>", re.I)
_A_HREF = re.compile(r"(<a\b[^>]*?)\bhref(\s*=\s*['\"]?" + _EXTERNAL + r")", re.I)
_CSS_URL = re.compile(r"(@import\s+)?url\(\s*['\"]?" + _EXTERNAL + r"[^)]*\)\s*;?", re.I)
_CSS_IMPORT = re.compile(r"@import\s+['\"]" + _EXTERNAL + r"[^'\"]*['\"]\s*;?", re.I)


def make_offline(page: str) -> str:
    """Remove every reference to a resource on another host; keep external links as text.

    Examples
    --------
    >>> make_offline('<script src="https://cdn.x/require.js"></script><p>ok</p>')
    '<p>ok</p>'
    >>> make_offline('<a href="https://example.org">site</a>')
    '<a data-external-href="https://example.org">site</a>'
    """
    page = _SCRIPT_SRC.sub("", page)
    page = _LINK_HREF.sub("", page)
    page = _SRC_TAG.sub(lambda m: f"<span class=\"removed-resource\">[{m.group(1)}]</span>", page)
    # A link is not fetched on opening, but the report must not send readers to the web silently.
    page = _A_HREF.sub(r"\1data-external-href\2", page)
    page = _CSS_IMPORT.sub("", page)
    return _CSS_URL.sub(lambda m: "" if m.group(1) else "none", page)


def _notebook_body(path: Path, index: int, lang: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The notebook's outputs and markdown as an HTML fragment, plus its headings for the TOC.

    Cells tagged ``lang-vi`` / ``lang-en`` (a narrative written in both languages) show only in
    a report of their language.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    # Relative image links in markdown resolve against the run folder (the kernels' working
    # directory), where figures/ lives; embed_images turns them into data URIs.
    resources = {"metadata": {"path": str(path.parent.parent)}}
    notebook = nbformat.read(path, as_version=4)
    if lang in LANGUAGES:
        other = [f"lang-{x}" for x in LANGUAGES if x != lang]
        notebook.cells = [c for c in notebook.cells if not set(other) & set(c.metadata.get("tags", []))]
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    body = _ANCHOR_LINK.sub("", body)
    headings: list[dict[str, Any]] = []

    def renumber(match: re.Match) -> str:
        # Unique ids across notebooks: nbconvert derives ids from the text, which repeats.
        anchor = f"s{index}-{len(headings) + 1}"
        text = html.unescape(_TAG.sub("", match.group(3))).strip()
        headings.append({"level": int(match.group(1)), "id": anchor, "text": text})
        return f'<h{match.group(1)} id="{anchor}">{match.group(3)}</h{match.group(1)}>'

    return _HEADING.sub(renumber, body), headings


_CAPTION_NUMBER = re.compile(r"(<(caption|figcaption)\b[^>]*>\s*)(Bảng|Table|Hình|Figure) \d+(?:\.\d+)?\.")


def _number_captions(sections: Sequence[dict[str, Any]]) -> None:
    """Number tables and figures through the whole report: "Bảng 1", "Bảng 2", … "Hình 1", ….

    Each notebook numbers its own captions ("Bảng 3.2": it cannot know how many tables come
    before it, notebooks run in parallel); a reader of the assembled report expects one plain
    sequence, as in the DOCX. Captions are renumbered in reading order, in place.

    Examples
    --------
    >>> s = [{"body": '<caption>Bảng 1.1. A</caption><figcaption>Hình 1.1. F</figcaption>'},
    ...      {"body": '<caption style="x">Bảng 3.1. B</caption>'}]
    >>> _number_captions(s); [x["body"] for x in s]
    ['<caption>Bảng 1. A</caption><figcaption>Hình 1. F</figcaption>', '<caption style="x">Bảng 2. B</caption>']
    """
    counts = {"table": 0, "figure": 0}

    def renumber(match: re.Match) -> str:
        kind = "table" if match.group(3) in ("Bảng", "Table") else "figure"
        counts[kind] += 1
        return f"{match.group(1)}{match.group(3)} {counts[kind]}."

    for section in sections:
        section["body"] = _CAPTION_NUMBER.sub(renumber, unicodedata.normalize("NFC", section["body"]))


def instrument_title(instrument: str, lang: str) -> str:
    """The questionnaire's title in the report language (``title::vi`` / ``title::en``).

    Falls back to the Vietnamese title, then to the instrument id (a test fixture or an
    instrument not on disk), so a page is always titled.

    Examples
    --------
    >>> instrument_title("unit", "en")
    'Grassroots unit survey on carrying out Plan 04-ĐA/ĐUK'
    >>> instrument_title("no-such-instrument", "vi")
    'no-such-instrument'
    """
    from analysis import instruments

    try:
        ins = instruments.load(instrument)
    except Exception:  # noqa: BLE001 - any unreadable instrument: the id is still informative
        return instrument
    title = ins.title_en if lang == "en" and ins.title_en else ins.title_vi
    return unicodedata.normalize("NFC", title or instrument)


def _render_page(sections: Sequence[dict[str, Any]], params: Mapping[str, Any], synthetic: bool) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES_DIR)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             keep_trailing_newline=True)
    lang = params.get("lang", "vi") if params.get("lang") in LANGUAGES else "vi"
    wave = str(params.get("wave", ""))
    page = env.get_template("report.html.j2").render(
        lang=lang, text=_TITLES[lang], instrument=instrument_title(str(params.get("instrument", "")), lang),
        wave=wave, wave_line=_TITLES[lang]["wave"].format(wave=wave), sections=sections, synthetic=synthetic,
        toc=[h for s in sections for h in s["headings"] if h["level"] <= 3],
    )
    # Vietnamese text may arrive decomposed (NFD) from some sources; browsers and search expect NFC.
    return unicodedata.normalize("NFC", make_offline(page))


def assemble(run_dir: Path | str, params: Mapping[str, Any], *, synthetic: bool = False) -> Path:
    """Build ``report.html`` (and ``html/<notebook>.html``) from the executed notebooks.

    This is the assembly hook: DOCX output is to be added here, from the same executed
    notebooks and ``tables/``/``figures/``, so that a report folder is complete before it is
    promoted.

    Parameters
    ----------
    run_dir : path
        A run folder with ``notebooks/*.ipynb`` executed; notebooks are ordered by name, so
        ``00_executive_summary`` comes first.
    params : mapping
        The run's parameters (``instrument``, ``wave``, ``lang`` are used).
    synthetic : bool
        Show the synthetic-data banner.

    Returns
    -------
    pathlib.Path
        The written report.html: self-contained (images as data URIs, no remote resource),
        inputs and prompts hidden, ``lang`` set, a table of contents from the headings.
    """
    run_dir = Path(run_dir)
    notebooks = sorted((run_dir / "notebooks").glob("*.ipynb"))
    if not notebooks:
        raise ReportError(f"no executed notebook in {run_dir / 'notebooks'}")
    sections = []
    for index, path in enumerate(notebooks, start=1):
        body, headings = _notebook_body(path, index, params.get("lang"))
        sections.append({"name": path.stem, "id": f"nb-{path.stem}", "body": body, "headings": headings})
    _number_captions(sections)
    html_dir = run_dir / "html"
    html_dir.mkdir(exist_ok=True)
    for section in sections:
        (html_dir / f"{section['name']}.html").write_text(_render_page([section], params, synthetic),
                                                         encoding="utf-8")
    target = run_dir / "report.html"
    target.write_text(_render_page(sections, params, synthetic), encoding="utf-8")
    # The Word report for the Board, from the same executed notebooks (analysis.report.content).
    from analysis.report import content as report_content

    report_content.write_docx(run_dir, params, synthetic=synthetic)
    return target


# ------------------------------------------------------------------------------------------ CLI

_EPILOG = """\
Without --instrument/--wave: every instrument of notebooks/pipeline.yaml that has imported waves
(member first), at its latest wave (every wave with --all-waves). When no wave is imported at all,
the synthetic demo waves are prepared first (if analysis.synthetic.demo is available).

Parameters given to every notebook: instrument, wave, baseline_wave, waves (all imported waves up
to --wave), lang, output_dir, min_group_size, plus each -p name=value (a string, unless --params-file
gives that name a typed value: number, boolean, list; then -p must be of that type).
Precedence: params file < options < -p.

Examples:
  python -m analysis report
  python -m analysis report --instrument member --wave 2025 --lang en -p region=north
  python -m analysis report --params-file reports/params/2025.yaml --force

Results: reports/<instrument>/<wave>/ (report.html, html/, notebooks/, tables/, figures/,
results/, manifest.json). A rerun with unchanged inputs, parameters and code reuses the report.
Failed runs are kept in reports/.failed/<instrument>/<wave>-<time>/.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command to the project CLI (see `analysis.cli`)."""
    p = subparsers.add_parser(
        "report", help="run the pipeline notebooks and build the reports",
        description="Run the pipeline notebooks (papermill, in parallel where possible) and build "
                    "reports/<instrument>/<wave>/ with report.html and manifest.json.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instrument", metavar="ID", help="instrument id (member, unit); default: every instrument with data")
    p.add_argument("--wave", metavar="WAVE", help="wave id (e.g. 2025); default: the latest imported wave")
    p.add_argument("--baseline", dest="baseline_wave", metavar="WAVE", help="baseline wave; default: the first imported wave")
    p.add_argument("--lang", choices=LANGUAGES, help="report language (default vi)")
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
             processed_dir: Path, notebooks_dir: Path) -> list[tuple[str, str]]:
    """(instrument, wave) pairs to report, member first."""
    if instrument and wave:
        return [(instrument, wave)]
    instruments = [instrument] if instrument else list(load_pipeline(notebooks_dir).instruments)
    pairs = []
    for name in instruments:
        imported = waves_mod.list_waves(name, processed_dir=processed_dir)
        chosen = [wave] if wave else (imported if all_waves else imported[-1:])
        pairs += [(name, w) for w in chosen if w in imported or instrument]
    return pairs


def _load_demo() -> Any | None:
    """The module analysis.synthetic.demo, or None while it does not exist (it is written separately)."""
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
    _say("no wave imported yet: preparing the synthetic demo waves (analysis.synthetic.demo.prepare_demo)")
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
    lang = args.lang or named.get("lang", "vi")
    min_group = args.min_group_size if args.min_group_size is not None else named.get(
        "min_group_size", config.MIN_GROUP_SIZE)
    extra = merge_parameters(file_params, cli_params)

    processed_dir, notebooks_dir = config.PROCESSED_DIR, config.NOTEBOOKS_DIR
    targets = _targets(instrument, wave, args.all_waves, processed_dir, notebooks_dir)
    if not targets and not instrument and not wave and _prepare_demo_if_possible():
        targets = _targets(instrument, wave, args.all_waves, processed_dir, notebooks_dir)
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
