"""The pipeline notebooks: which exist, in which order, and which run for an instrument.

Two files share the job, so that the toolkit's notebooks and one study's choices stay apart:

* ``notebooks/pipeline.yaml`` declares every pipeline notebook and what it needs (the notebooks
  that must have finished first because it reads their ``results/``);
* ``study.yaml`` (`analysis.project`) says which of them each instrument's report runs.

``notebooks/pipeline.yaml`` format::

    notebooks:
      - name: 10_data_quality          # notebooks/10_data_quality.ipynb
        needs: []                      # notebooks that must finish first
      - name: 00_executive_summary
        needs: [10_data_quality, …]
        status: planned                # not written yet: skipped with an info line while the
                                       # file is absent (without it, a missing file is an error)

Needs on notebooks that do not run for this instrument or that are planned and absent are
ignored. The assembled report orders notebooks by name, so ``00_executive_summary`` comes first.

Examples
--------
>>> from analysis import config
>>> steps, skipped = load_pipeline().plan(("40_unit_effectiveness", "00_executive_summary"), config.NOTEBOOKS_DIR)
>>> [s.name for s in steps], [s.name for s, _ in skipped][:2]
(['40_unit_effectiveness', '00_executive_summary'], ['10_data_quality', '20_measurement'])
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Sequence

import yaml

from analysis import config
from analysis.report.errors import PipelineError

__all__ = ["PIPELINE_FILE", "Step", "Pipeline", "load_pipeline", "topological_order"]

PIPELINE_FILE = "pipeline.yaml"
#: Keys of an older pipeline.yaml: which instrument runs what is now said in study.yaml.
_MOVED_TO_STUDY = ("instruments", "applies_to")


@dataclasses.dataclass(frozen=True)
class Step:
    """One pipeline notebook as declared in pipeline.yaml."""

    name: str
    needs: tuple[str, ...] = ()
    status: str = "active"  # "active" or "planned"

    def path(self, notebooks_dir: Path) -> Path:
        """The notebook file, ``<notebooks_dir>/<name>.ipynb``."""
        return Path(notebooks_dir) / f"{self.name}.ipynb"


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """The notebooks of notebooks/pipeline.yaml, in file order."""

    steps: tuple[Step, ...]
    path: Path = Path(PIPELINE_FILE)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def plan(self, notebooks: Sequence[str], notebooks_dir: Path) -> tuple[list[Step], list[tuple[Step, str]]]:
        """Steps to run for an instrument whose study lists *notebooks*, and the skipped ones
        with the reason.

        Raises
        ------
        PipelineError
            When *notebooks* names a notebook pipeline.yaml does not declare, or an active
            step's notebook file is missing.
        """
        unknown = [n for n in notebooks if n not in self.names]
        if unknown:
            raise PipelineError(f"study.yaml lists notebook(s) {', '.join(unknown)} that {self.path} does not "
                                f"declare (declared: {', '.join(self.names)}); add them there or fix the name")
        run: list[Step] = []
        skipped: list[tuple[Step, str]] = []
        for step in self.steps:
            exists = step.path(notebooks_dir).is_file()
            if step.name not in notebooks:
                skipped.append((step, "not listed for this instrument in study.yaml"))
            elif not exists and step.status == "planned":
                skipped.append((step, "planned, notebook not written yet"))
            elif not exists:
                raise PipelineError(
                    f"notebook {step.name}.ipynb listed in {self.path} is missing "
                    f"({step.path(notebooks_dir)}); add it, or mark the entry `status: planned`"
                )
            else:
                run.append(step)
        names = {s.name for s in run}
        # Needs on steps that do not run here (not listed, planned) are dropped.
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
        raise PipelineError(f"{path} not found: it lists the pipeline notebooks (see analysis.report.pipeline)")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict) or not isinstance(doc.get("notebooks"), list):
        raise PipelineError(f"{path}: expected a mapping with a `notebooks:` list")
    steps = [_parse_step(entry, path) for entry in doc["notebooks"]]
    moved = [k for k in _MOVED_TO_STUDY if k in doc or any(isinstance(e, dict) and k in e for e in doc["notebooks"])]
    if moved:
        raise PipelineError(f"{path}: `{'`, `'.join(moved)}` moved to study.yaml: each instrument lists the "
                            "notebooks its report runs under `instruments.<name>.notebooks`")
    names = [s.name for s in steps]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PipelineError(f"{path}: notebook listed twice: {', '.join(dupes)}")
    for step in steps:
        unknown = [n for n in step.needs if n not in names]
        if unknown:
            raise PipelineError(f"{path}: {step.name} needs unknown notebook(s) {', '.join(unknown)}")
    topological_order(steps, path)
    return Pipeline(steps=tuple(steps), path=path)


def _parse_step(entry: object, path: Path) -> Step:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise PipelineError(f"{path}: each notebook entry needs a `name` (got {entry!r})")
    name = entry["name"]
    if not re.fullmatch(r"[0-9]{2}_[a-z0-9_]+", name):
        raise PipelineError(f"{path}: notebook name {name!r} must look like NN_section (e.g. 10_data_quality)")
    needs = tuple(entry.get("needs", []) or [])
    status = entry.get("status", "active")
    if status not in ("active", "planned"):
        raise PipelineError(f"{path}: {name}: status must be 'active' or 'planned', not {status!r}")
    return Step(name=name, needs=needs, status=status)


def topological_order(steps: Sequence[Step], path: Path | str = "pipeline") -> list[Step]:
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
