"""Where the instrument files are: ``surveys/<name>/v<N>.yaml`` and how messages name them.

`versions` lists the versions of an instrument, `instrument_path` gives the file of one version,
`instrument_files` every instrument file of a surveys folder. `surveys_folder` and
`display_path` are the folder and path helpers the parser, the checks and the loader share.

Examples
--------
>>> versions("member")[0]
'1'
>>> display_path(instrument_path("member", 1))
'surveys/member/v1.yaml'
"""

from __future__ import annotations

import re
from pathlib import Path

from analysis import config

__all__ = ["surveys_folder", "display_path", "versions", "instrument_path", "instrument_files"]

_VERSION_STEM = re.compile(r"v\d+")


def surveys_folder(surveys_dir: Path | str | None = None) -> Path:
    """*surveys_dir* as a path; the project's ``surveys/`` (`config.SURVEYS_DIR`) when None."""
    return Path(surveys_dir) if surveys_dir is not None else config.SURVEYS_DIR


def display_path(path: Path) -> str:
    """A path for messages: relative to the project when inside it, else as given."""
    try:
        return str(path.resolve().relative_to(config.PROJECT_ROOT))
    except ValueError:
        return str(path)


def versions(name: str, *, surveys_dir: Path | str | None = None) -> tuple[str, ...]:
    """Versions of instrument *name* present as ``surveys/<name>/v<N>.yaml``, oldest first.

    Examples
    --------
    >>> versions("member")[0]
    '1'
    """
    folder = surveys_folder(surveys_dir) / config.check_id(name, "instrument")
    found = []
    for p in folder.glob("v*.yaml"):
        if _VERSION_STEM.fullmatch(p.stem):
            found.append(p.stem[1:])
    return tuple(sorted(found, key=int))


def instrument_path(name: str, version: str | int | None = None, *,
                    surveys_dir: Path | str | None = None) -> Path:
    """The YAML file of *name* at *version* (the latest when None)."""
    available = versions(name, surveys_dir=surveys_dir)
    if not available:
        raise FileNotFoundError(f"no instrument {name!r}: no file {surveys_folder(surveys_dir) / name}/v<N>.yaml")
    version = available[-1] if version is None else str(version)
    if version not in available:
        raise FileNotFoundError(
            f"instrument {name!r} has no version {version!r} (available: {', '.join(available)})")
    return surveys_folder(surveys_dir) / name / f"v{version}.yaml"


def instrument_files(surveys_dir: Path | str | None = None) -> list[Path]:
    """Every instrument file ``<name>/v<N>.yaml`` under *surveys_dir*, sorted by path."""
    return sorted(p for p in surveys_folder(surveys_dir).glob("*/v*.yaml") if _VERSION_STEM.fullmatch(p.stem))
