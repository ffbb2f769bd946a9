"""Which waves have been imported, and what each one is.

A wave exists once the import has written ``data/processed/<instrument>/<wave>.parquet`` and
its manifest ``<wave>.manifest.json`` (see `analysis.ingest.importer`). Wave ids sort as text, so use
years (``2023``) or zero-padded ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import config, instruments
from analysis.instruments import Instrument

__all__ = ["list_waves", "latest_wave", "wave_manifest", "load_wave", "wave_columns", "load_instrument", "is_synthetic"]


def _folder(instrument: str, processed_dir: Path | None) -> Path:
    return (processed_dir or config.PROCESSED_DIR) / config.check_id(instrument, "instrument")


def list_waves(instrument: str, *, processed_dir: Path | None = None) -> list[str]:
    """Imported waves of *instrument*, oldest first (only those with data and a manifest)."""
    folder = _folder(instrument, processed_dir)
    if not folder.is_dir():
        return []
    waves = [p.stem for p in folder.glob("*.parquet") if (folder / f"{p.stem}.manifest.json").is_file()]
    return sorted(w for w in waves if _is_id(w))


def latest_wave(instrument: str, *, processed_dir: Path | None = None) -> str | None:
    """The most recent imported wave of *instrument*, or None when there is none."""
    waves = list_waves(instrument, processed_dir=processed_dir)
    return waves[-1] if waves else None


def wave_manifest(instrument: str, wave: str, *, processed_dir: Path | None = None) -> dict:
    """The import manifest of one wave (row counts, source files and sha256, synthetic flag…)."""
    path = _folder(instrument, processed_dir) / f"{config.check_id(wave, 'wave')}.manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"wave {wave!r} of instrument {instrument!r} has not been imported ({path} missing)")
    return json.loads(path.read_text(encoding="utf-8"))


def load_wave(instrument: str, wave: str, *, processed_dir: Path | None = None,
              columns: list[str] | None = None) -> pd.DataFrame:
    """The accepted, tidy responses of one wave (only *columns*, when given)."""
    wave_manifest(instrument, wave, processed_dir=processed_dir)  # clear error if not imported
    return pd.read_parquet(_folder(instrument, processed_dir) / f"{wave}.parquet", columns=columns)


def wave_columns(instrument: str, wave: str, *, processed_dir: Path | None = None) -> list[str]:
    """The column names of one wave's processed data, read from its schema (no rows read)."""
    import pyarrow.parquet as pq

    wave_manifest(instrument, wave, processed_dir=processed_dir)  # clear error if not imported
    path = _folder(instrument, processed_dir) / f"{wave}.parquet"
    return [n for n in pq.read_schema(path).names if n != "__index_level_0__"]


def is_synthetic(instrument: str, wave: str, *, processed_dir: Path | None = None) -> bool:
    """True unless the wave's manifest says explicitly that the data are real."""
    return wave_manifest(instrument, wave, processed_dir=processed_dir).get("synthetic", True) is not False


def _is_id(value: str) -> bool:
    try:
        config.check_id(value)
    except config.InvalidIdentifierError:
        return False
    return True


def load_instrument(name: str, wave: str, *, processed_dir: Path | str | None = None,
                    surveys_dir: Path | str | None = None) -> Instrument:
    """The instrument version a processed wave was collected with (its manifest's ``instrument_version``).

    Raises
    ------
    ValueError
        When the manifest does not declare ``instrument_version`` (file named).
    FileNotFoundError
        When the wave has not been imported.
    """
    pdir = Path(processed_dir) if processed_dir is not None else None
    manifest = wave_manifest(name, wave, processed_dir=pdir)
    version = manifest.get("instrument_version")
    if version in (None, ""):
        raise ValueError(f"manifest of wave {wave!r} of {name!r} does not declare instrument_version "
                         "(rule: every wave declares the instrument version it used, in wave.yaml)")
    return instruments.load(name, str(version), surveys_dir=surveys_dir)
