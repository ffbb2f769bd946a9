"""Loading an instrument: ``load("member")`` → the checked, frozen `Instrument`, cached per file.

`load` finds the file of the requested version (`analysis.instruments.files`), reads and checks
it (`analysis.instruments.checks.read_checked`) and raises one `InstrumentError` listing every
problem. A loaded instrument is kept until its file changes (the cache key holds the file's
modification time).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from analysis.instruments.checks import read_checked
from analysis.instruments.files import instrument_path, surveys_folder
from analysis.instruments.model import Instrument, InstrumentError

__all__ = ["load"]


@lru_cache(maxsize=32)
def _load_cached(path: str, surveys_dir: str, population_dir: str | None, mtime_ns: int) -> Instrument:
    ins, problems = read_checked(Path(path), Path(surveys_dir), None if population_dir is None else Path(population_dir))
    if problems or ins is None:
        raise InstrumentError(problems)
    return ins


def load(name: str, version: str | int | None = None, *, surveys_dir: Path | str | None = None,
         population_dir: Path | str | None = None) -> Instrument:
    """Load instrument *name* (``member`` or ``unit``) at *version* (latest when None).

    The file is checked on load: any problem raises `InstrumentError` listing all of them.
    Results are cached per file (and its modification time).

    Examples
    --------
    >>> load("member", version="1") is load("member")
    True
    >>> load("unit").indicators[0].direction
    'higher'
    """
    path = instrument_path(name, version, surveys_dir=surveys_dir)
    sdir = surveys_folder(surveys_dir)
    return _load_cached(str(path.resolve()), str(sdir.resolve()),
                        None if population_dir is None else str(Path(population_dir).resolve()),
                        path.stat().st_mtime_ns)
