"""The manifest of a report folder (``manifest.json``): written durably, read forgivingly.

It records what ran (status, notebooks, times), from what (inputs and their hashes, the cache
key, parameters, package versions, git commit) and what it wrote (outputs and their hashes).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Mapping

from analysis.report.inputs import sha256

__all__ = ["MANIFEST_NAME", "MANIFEST_SCHEMA", "now", "stamp", "write_json", "read_manifest", "list_outputs"]

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = 1


def now() -> dt.datetime:
    """The current time in UTC (manifest times)."""
    return dt.datetime.now(dt.timezone.utc)


def stamp(moment: dt.datetime) -> str:
    """*moment* as a folder-name stamp, e.g. ``20261205T210352690Z`` (milliseconds, sortable)."""
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write then fsync: the manifest must be on disk before the folder is renamed."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_manifest(folder: Path) -> dict | None:
    """The manifest of *folder*, or None when it is missing or unreadable."""
    try:
        return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def list_outputs(run_dir: Path) -> list[dict[str, str]]:
    """Every file of *run_dir* but the manifest, with its sha256."""
    return [{"path": p.relative_to(run_dir).as_posix(), "sha256": sha256(p)}
            for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name != MANIFEST_NAME]
