"""What a report is made from, and the cache key that says whether it must be made again.

The manifest of a report records the sha256 of every input file — processed data of the waves
used, the population frame, the instrument YAMLs, pipeline.yaml and the notebooks run,
study.yaml and the source of ``src/analysis`` — with the parameters and package versions. A
rerun with the same key reuses the report; any change reruns.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from analysis import config
from analysis.report.pipeline import PIPELINE_FILE, Step

__all__ = ["PACKAGES", "SOURCE_DIR", "sha256", "collect_inputs", "package_versions", "compute_cache_key",
           "git_state"]

#: Versions recorded in the manifest and part of the cache key (a new version can change output).
PACKAGES: tuple[str, ...] = (
    "analysis", "papermill", "nbconvert", "nbclient", "nbformat", "jupyter_client", "ipykernel",
    "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "pyarrow", "pyyaml", "jinja2",
)
#: The whole `analysis` package (its code is part of the cache key).
SOURCE_DIR = Path(__file__).resolve().parents[1]

def sha256(path: Path) -> str:
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
                   notebooks_dir: Path, processed_dir: Path, population_dir: Path | None,
                   surveys_dir: Path, study_file: Path, source_dir: Path = SOURCE_DIR) -> list[dict[str, str]]:
    """Every input of a report with its sha256, in a stable order.

    Returns
    -------
    list of dict
        ``{"role", "path", "sha256"}``, *path* relative to the role's folder; roles: ``data`` (processed files of *waves* for each of
        *instruments*: a notebook may combine instruments), ``population``, ``instrument``,
        ``notebook`` (pipeline.yaml and the notebooks run), ``study`` (study.yaml) and ``source``
        (src/analysis).
    """
    groups: list[tuple[str, Path, list[Path]]] = []
    data: list[Path] = []
    for instrument in instruments:
        folder = Path(processed_dir) / config.check_id(instrument, "instrument")
        for wave in waves:
            data += sorted(folder.glob(f"{config.check_id(wave, 'wave')}.*")) if folder.is_dir() else []
    groups.append(("data", Path(processed_dir), [p for p in data if p.is_file()]))
    if population_dir is not None:  # a study without a frame has none
        groups.append(("population", Path(population_dir), _files(Path(population_dir), ["*"])))
    groups.append(("instrument", Path(surveys_dir), _files(Path(surveys_dir), ["*.yaml", "*.yml"])))
    groups.append(("notebook", Path(notebooks_dir),
                   [Path(notebooks_dir) / PIPELINE_FILE] + [s.path(notebooks_dir) for s in steps]))
    groups.append(("study", Path(study_file).parent, [Path(study_file)]))
    groups.append(("source", Path(source_dir),
                   _files(Path(source_dir), ["*.py", "*.j2", "*.css", "*.html", "*.yaml"])))
    return [{"role": role, "path": _relative(p, root), "sha256": sha256(p)}
            for role, root, paths in groups for p in paths]


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
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


def git_state(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}
