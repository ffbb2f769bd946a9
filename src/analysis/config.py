"""Paths, identifiers and settings: one place, so nothing else hard-codes a folder.

Every path that the pipeline reads or writes is built here from a validated identifier and
checked to stay inside the project's data/ or reports/ roots (`resolve_inside`). Identifiers
(instrument, wave) follow a strict pattern before they touch the file system, so a wave id such
as ``../../tmp/x`` is rejected with a message instead of becoming a path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "PROJECT_ROOT",
    "SURVEYS_DIR",
    "NOTEBOOKS_DIR",
    "DATA_DIR",
    "RAW_DIR",
    "PROCESSED_DIR",
    "POPULATION_DIR",
    "DEMO_DIR",
    "REPORTS_DIR",
    "KERNEL_NAME",
    "MIN_GROUP_SIZE",
    "DISCLOSURE_POLICY_FILE",
    "InvalidIdentifierError",
    "check_id",
    "resolve_inside",
    "processed_path",
    "raw_dir",
    "report_dir",
]


def _find_root() -> Path:
    """The project root: $ANALYSIS_PROJECT_ROOT if set (tests use it), else the checkout."""
    env = os.environ.get("ANALYSIS_PROJECT_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "surveys").is_dir():
            return parent
    return Path.cwd().resolve()


PROJECT_ROOT: Path = _find_root()
SURVEYS_DIR: Path = PROJECT_ROOT / "surveys"
NOTEBOOKS_DIR: Path = PROJECT_ROOT / "notebooks"
DATA_DIR: Path = PROJECT_ROOT / "data"
RAW_DIR: Path = DATA_DIR / "raw"
PROCESSED_DIR: Path = DATA_DIR / "processed"
POPULATION_DIR: Path = DATA_DIR / "population"
DEMO_DIR: Path = DATA_DIR / "demo"
REPORTS_DIR: Path = PROJECT_ROOT / "reports"

#: The Jupyter kernel registered for the project's .venv (see Makefile); the report runner
#: refuses any kernel whose interpreter is not the one running the runner.
KERNEL_NAME = "analysis-venv"

#: The anonymity policy (thresholds and rules of analysis.disclosure), one file for all of them.
DISCLOSURE_POLICY_FILE: Path = PROJECT_ROOT / "config" / "disclosure.yaml"


def _policy_min_group_size() -> int:
    """k from the policy file, so the notebooks' default parameter cannot drift from it."""
    import yaml  # local: config is imported everywhere, yaml only needed here

    return int(yaml.safe_load(DISCLOSURE_POLICY_FILE.read_text(encoding="utf-8"))["min_group_size"])


#: Default minimum number of respondents behind any published statistic (see disclosure).
MIN_GROUP_SIZE: int = _policy_min_group_size()

# Lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 40 chars:
# safe as a single path component on every OS, and never '.', '..' or empty.
_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class InvalidIdentifierError(ValueError):
    """An instrument or wave id that is not a safe, simple name."""


def check_id(value: object, kind: str = "id") -> str:
    """Return *value* if it is a safe identifier, else raise `InvalidIdentifierError`.

    Examples
    --------
    >>> check_id("2025", "wave")
    '2025'
    >>> check_id("../../tmp/x", "wave")
    Traceback (most recent call last):
    ...
    analysis.config.InvalidIdentifierError: wave id '../../tmp/x' is not allowed: use 1–40 lower-case letters, digits, '-' or '_', starting with a letter or digit (e.g. 'member', '2025')
    """
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise InvalidIdentifierError(
            f"{kind} id {value!r} is not allowed: use 1–40 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit (e.g. 'member', '2025')"
        )
    return value


def resolve_inside(path: os.PathLike | str, *roots: Path) -> Path:
    """Resolve *path* and return it if it lies inside one of *roots*, else raise ValueError.

    Symbolic links are resolved first, so a link pointing outside the roots is refused too.
    """
    allowed = roots or (DATA_DIR, REPORTS_DIR)
    resolved = Path(path).resolve()
    for root in allowed:
        root = Path(root).resolve()
        if resolved == root or root in resolved.parents:
            return resolved
    names = ", ".join(str(r) for r in allowed)
    raise ValueError(f"path {str(path)!r} resolves to {resolved}, outside the allowed folders ({names})")


def processed_path(instrument: str, wave: str) -> Path:
    """data/processed/<instrument>/<wave>.parquet, with both ids checked."""
    p = PROCESSED_DIR / check_id(instrument, "instrument") / f"{check_id(wave, 'wave')}.parquet"
    return resolve_inside(p, DATA_DIR)


def raw_dir(instrument: str, wave: str) -> Path:
    """data/raw/<instrument>/<wave>/, with both ids checked."""
    p = RAW_DIR / check_id(instrument, "instrument") / check_id(wave, "wave")
    return resolve_inside(p, DATA_DIR)


def report_dir(instrument: str, wave: str, lang: str = "vi") -> Path:
    """reports/<instrument>/<wave>/<lang>/ (one folder per language), with the ids checked."""
    p = REPORTS_DIR / check_id(instrument, "instrument") / check_id(wave, "wave") / check_id(lang, "lang")
    return resolve_inside(p, REPORTS_DIR)
