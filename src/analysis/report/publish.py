"""Atomic publishing: a report folder appears complete under its final name, or not at all.

Everything is written to ``reports/.tmp-<instrument>.<wave>.<lang>.<stamp>.<pid>/``; the folder is
renamed to ``reports/<instrument>/<wave>/<lang>/`` only when every step succeeded. An existing report
is renamed aside first, the new one renamed in, and only then is the old one deleted, so a
killed run never leaves a half-written folder under the final name and never damages the
previous complete report (if a run dies between the two renames, the next run renames the old
report back). Failed, interrupted or abandoned runs move to ``reports/.failed/``; one run per
report at a time holds ``reports/.lock-<instrument>.<wave>.<lang>``. Each language is a report of
its own: a run in one language never touches the other's folder, lock or leftovers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Iterator

from analysis import config
from analysis.report.console import say
from analysis.report.errors import ReportError
from analysis.report.manifest import MANIFEST_NAME, now, read_manifest, stamp, write_json

__all__ = ["run_lock", "tidy_leftovers", "promote", "resolve_inside_reports", "keep_failed", "finish_failed"]


@contextlib.contextmanager
def run_lock(reports_root: Path, instrument: str, wave: str, lang: str) -> Iterator[None]:
    """One run per instrument, wave and language at a time (the OS releases the lock if the process dies)."""
    import fcntl

    path = resolve_inside_reports(reports_root / f".lock-{instrument}.{wave}.{lang}", reports_root)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReportError(f"another report run for {instrument} {wave} ({lang}) is in progress "
                              f"(lock {path}); wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def tidy_leftovers(final: Path, reports_root: Path, instrument: str, wave: str, lang: str) -> None:
    """Under the lock, earlier runs of this report are dead: restore or file away their folders."""
    _recover_aside(final, reports_root, instrument, wave, lang)
    if final.is_dir():  # a run that died after 'new in' but before deleting the old report
        for old in reports_root.glob(f".old-{instrument}.{wave}.{lang}.*"):
            shutil.rmtree(old, ignore_errors=True)
    for stale in sorted(reports_root.glob(f".tmp-{instrument}.{wave}.{lang}.*")):
        run_stamp = stale.name.split(".")[4]  # .tmp-<instrument>.<wave>.<lang>.<stamp>.<pid>
        kept = keep_failed(stale, reports_root, instrument, wave, lang, run_stamp + "-abandoned")
        say(f"note: an earlier run stopped without finishing; its folder is kept in {kept}")


def _recover_aside(final: Path, reports_root: Path, instrument: str, wave: str, lang: str) -> None:
    """If a run died between 'old aside' and 'new in', put the old complete report back."""
    if final.exists():
        return
    for old in sorted(reports_root.glob(f".old-{instrument}.{wave}.{lang}.*"), reverse=True):
        manifest = read_manifest(old)
        if manifest and manifest.get("status") == "complete":
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(old, final)
            say(f"restored the previous report {final} (a run had stopped while replacing it)")
            return


def promote(run_dir: Path, final: Path, reports_root: Path, instrument: str, wave: str, lang: str) -> None:
    """Rename *run_dir* to *final*; the previous report is replaced only at this very end."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = resolve_inside_reports(reports_root / f".old-{instrument}.{wave}.{lang}.{stamp(now())}", reports_root)
        os.rename(final, old)
    os.rename(run_dir, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def resolve_inside_reports(path: Path, reports_root: Path) -> Path:
    """`analysis.config.resolve_inside` with the reports root (every write goes through it)."""
    return config.resolve_inside(path, reports_root)


def keep_failed(run_dir: Path, reports_root: Path, instrument: str, wave: str, lang: str, suffix: str) -> Path:
    """Move *run_dir* to ``.failed/<instrument>/<wave>-<lang>-<suffix>/`` and return where it went."""
    target = resolve_inside_reports(reports_root / ".failed" / instrument / f"{wave}-{lang}-{suffix}", reports_root)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(run_dir, target)
    return target


def finish_failed(run_dir: Path, manifest: dict, status: str, reports_root: Path, instrument: str,
                  wave: str, lang: str, started: dt.datetime) -> Path:
    """Record *status* and the end time in the manifest, then move the run to ``.failed/``."""
    ended = now()
    manifest.update(status=status, ended_at=ended.isoformat(),
                    duration_s=round((ended - started).total_seconds(), 3))
    try:
        write_json(run_dir / MANIFEST_NAME, manifest)
    except OSError:
        pass
    return keep_failed(run_dir, reports_root, instrument, wave, lang, stamp(started))
