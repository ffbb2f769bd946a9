"""Import survey exports: read, normalise, map to the instrument, validate, flag, store.

``python -m analysis add-wave --instrument member --wave 2026 FILE…`` and `import_wave` run
the same steps, in one direction:

0. **wave metadata** (`ingest_meta`): ``--meta wave.yaml``, else the ``wave.yaml`` beside the
   first file (the log says so), else the one stored by an earlier import of the wave; it
   must say ``synthetic: true`` or ``false`` — never assumed. A file that declares itself
   synthetic (``SYNTHETIC_DEMO`` file name, workbook title/subject) is refused in a wave said
   to be real.
1. **read** each file into strings (`read_file`; the format is recognised from the content,
   not the extension): CSV/TSV text in UTF-8, UTF-8 with BOM, UTF-16 (Excel "Unicode Text")
   or Windows-1258 (`analysis.ingest.vn_encoding.decode_bytes`); XLSX (first sheet; KoboToolbox,
   Google/Microsoft Forms or hand-typed); SPSS ``.sav`` (value labels and user-defined
   missing values kept). Everything is read as text first, so ``"001"`` stays ``"001"``.
2. **refuse** what cannot be read safely, before anything is written (exit code 2): other
   encodings, TCVN3/VNI legacy font text (column and example rows named), merged or blank
   header cells, two-row headers, unknown or missing columns, two columns for one item.
3. **normalise** text: Unicode NFC, non-breaking spaces, leading/trailing blanks; control and
   invisible characters are removed and counted (`Message` ``control_characters``).
4. **map** columns to items — by item name, by Kobo group path (``<group>/<item>``, e.g. ``grp_a/q_sat_01``) or by
   the exact question label (Vietnamese or English, NFC and whitespace-folded, optionally
   behind its group label as Kobo writes it) — never by similarity; and answers to codes —
   by code, or by choice label ignoring case, NFC/NFD and non-breaking spaces.
5. **convert** each column to its item type; every value that does not convert is a failure
   with file, sheet, row, column, value and rule (``4,5`` → ``decimal_comma``, ``1.234`` →
   ``thousands_separator``, unknown label → ``choice`` …), never a silent coercion.
6. **validate** (`analysis.ingest.validate`) and **de-duplicate**/**flag** (`analysis.ingest.quality`); rows
   with any failure go to quarantine with every reason; blank rows and exact duplicate copies
   are dropped and counted, so ``rows_read = accepted + quarantined + dropped`` always.
7. **store**: raw files read-only with their sha256 in ``data/raw/<instrument>/<wave>/``, and
   ``data/processed/<instrument>/<wave>.parquet`` (+ ``.manifest.json``, ``.quarantine.csv``,
   ``.quality.csv``), written deterministically (same answers → same bytes, whatever the format).

The expected export layout (what the synthetic generator writes) is documented in
`EXPORT_FORMAT`.

This module is the entry point: `import_wave` (metadata, idempotency, replacement, writing)
and the ``add-wave`` command. The steps live in one module each:

=====================  ==========================================================================
`ingest_messages`      `Message`, `IngestError`, how places are named
`ingest_read`          format and encoding detection, readers to string tables, text normalisation
`ingest_map`           header checks, columns to items and export metadata (`EXPORT_FORMAT`)
`ingest_convert`       labels to codes, conversion to item types, failure rules (`RULES`)
`ingest_meta`          `WaveMeta`, where ``wave.yaml`` comes from, synthetic files never as real
`ingest_prepare`       the import in memory: files to accepted rows, failures, quarantine, counts
`ingest_store`         processed layout, sha256, deterministic writes, quality table, replacement
=====================  ==========================================================================
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.ingest.convert import LOCAL_UTC_OFFSET, RULES
from analysis.ingest.header import EXPORT_FORMAT
from analysis.ingest.messages import IngestError, Message, error_message
from analysis.ingest.meta import WaveMeta, resolve_wave_meta, synthetic_marker
from analysis.ingest.prepare import prepare_wave
from analysis.ingest.read import RawTable, fold, read_file
from analysis.ingest.review import DEFAULT_REVIEW, ReviewPolicy
from analysis.ingest.spec import spec_from_instrument
from analysis.ingest.store import (
    FLAG_COLUMNS,
    INGEST_FORMAT_VERSION,
    META_COLUMNS,
    TRAILING_COLUMNS,
    atomic_write,
    file_sha256,
    import_fingerprint,
    load_resolutions,
    move_aside,
    processed_columns,
    quality_table,
    wave_paths,
    write_parquet,
)
from analysis.ingest.validate import FAILURE_COLUMNS

__all__ = [
    "EXPORT_FORMAT",
    "RULES",
    "META_COLUMNS",
    "TRAILING_COLUMNS",
    "FLAG_COLUMNS",
    "Message",
    "IngestError",
    "RawTable",
    "ImportResult",
    "WaveMeta",
    "read_file",
    "synthetic_marker",
    "fold",
    "import_wave",
    "processed_columns",
    "register",
    "main",
]


@dataclass(frozen=True)
class ImportResult:
    """What an import did. ``status``: ``imported``, ``replaced``, ``reprocessed`` or ``unchanged``.

    Counts satisfy ``rows_read == accepted + quarantined + dropped``; ``dropped`` is
    ``dropped_blank + dropped_duplicate + dropped_resolved``. ``failures`` has the columns of
    `analysis.ingest.validate.FAILURE_COLUMNS` (one line per failing cell or row rule).
    """

    instrument: str
    wave: str
    status: str
    rows_read: int
    accepted: int
    quarantined: int
    dropped: int
    dropped_blank: int
    dropped_duplicate: int
    dropped_resolved: int
    flags: Mapping[str, int]
    parquet_path: Path
    manifest_path: Path
    quarantine_path: Path
    quality_path: Path
    raw_dir: Path
    messages: tuple[Message, ...] = ()
    #: The review-status policy applied (``review:`` of wave.yaml, or the default).
    review: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_REVIEW.to_mapping())
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(FAILURE_COLUMNS)), repr=False)

    @property
    def exit_code(self) -> int:
        """0: the wave is written (quarantined rows only warn)."""
        return 0


def import_wave(instrument: str, wave: str, files: Sequence[os.PathLike | str], *,
                meta: WaveMeta | Mapping | os.PathLike | str | None = None, replace: bool = False,
                resolutions: os.PathLike | str | None = None, data_dir: os.PathLike | str | None = None) -> ImportResult:
    """Import *files* as wave *wave* of *instrument*; see the module docstring for the steps.

    Parameters
    ----------
    instrument, wave
        Ids (``member``/``unit``, ``2026``); checked by `analysis.config.check_id`.
    files
        One or more exports (CSV/TSV, XLSX, SAV), all of the same instrument and wave.
    meta
        The wave's metadata: a `WaveMeta`, a mapping, or a path to ``wave.yaml``. When None,
        the ``wave.yaml`` beside the first file is used, else the one stored by an earlier
        import of this wave; without either, `IngestError` (code ``wave_metadata``): whether
        a wave is real or synthetic is never assumed. Files that declare themselves synthetic
        (`synthetic_marker`) are refused (code ``synthetic_file``) when it says
        ``synthetic: false``.
    replace
        Needed when the wave exists with different raw files; the previous raw files and
        processed outputs are moved to ``data/raw/<instrument>/<wave>/.replaced-<UTC time>/``.
    resolutions
        CSV ``submission_id,keep`` settling conflicting duplicates; stored with the raw files
        and re-applied on every later run until another one is given.
    data_dir
        The ``data/`` folder (default `analysis.config.DATA_DIR`; tests use a temporary one).

    Returns
    -------
    ImportResult
        Counts, paths, messages and the failure table. ``status`` is ``unchanged`` when the
        same files, metadata and resolutions were imported before (nothing is written).

    Raises
    ------
    IngestError
        File-level problems (no or mismatching wave metadata, a synthetic file in a real wave,
        encoding, legacy fonts, headers, columns, resolution file): nothing is written, every
        problem of every file is listed.
    FileExistsError
        The wave exists with other files and *replace* is False.
    """
    from analysis import instruments

    instrument = config.check_id(instrument, "instrument")
    wave = config.check_id(wave, "wave")
    paths = wave_paths(instrument, wave, Path(data_dir) if data_dir is not None else None)
    raw = paths["raw"]

    sources = [Path(f) for f in files]
    if not sources:
        raise IngestError([error_message("empty", "", "no file given", "chưa chỉ định tệp nào")])
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"file(s) not found: {missing} / không tìm thấy tệp: {missing}")
    names = [p.name for p in sources]
    if len(set(names)) != len(names):
        raise IngestError([error_message("files", "", f"two files have the same name {sorted(n for n in names if names.count(n) > 1)}: rename one",
                                    "hai tệp trùng tên: hãy đổi tên một tệp")])
    for n in names:
        if n in ("files.json", "wave.yaml", "resolutions.csv") or n.startswith("."):
            raise IngestError([error_message("files", n, f"the file name {n!r} is reserved in the raw folder: rename the file",
                                        f"tên tệp {n!r} được dành riêng: hãy đổi tên tệp")])
    shas = [(n, file_sha256(p)) for n, p in zip(names, sources)]

    # --- wave metadata: given, beside the first file, or stored by an earlier import; never assumed ----------
    wave_meta, meta_notes = resolve_wave_meta(meta, instrument, wave, sources, names, raw / "wave.yaml")
    inst = instruments.load(instrument, version=wave_meta.instrument_version)
    spec = spec_from_instrument(inst)

    # --- resolutions: given now, or the stored one ----------------------------------------------------
    stored_res = raw / "resolutions.csv"
    res_path = Path(resolutions) if resolutions is not None else (stored_res if stored_res.is_file() else None)
    res_sha = file_sha256(res_path) if res_path is not None else None
    res_frame = load_resolutions(res_path) if res_path is not None else None
    # Kept in memory: the stored copy is moved aside with the rest before it is written again.
    res_bytes = res_path.read_bytes() if res_path is not None else None

    # --- idempotency and replacement --------------------------------------------------------------------
    fingerprint = import_fingerprint(shas, wave_meta, res_sha)
    previous_files: list[tuple[str, str]] | None = None
    if (raw / "files.json").is_file():
        previous_files = [(f["name"], f["sha256"]) for f in json.loads((raw / "files.json").read_text(encoding="utf-8"))["files"]]
    if paths["manifest"].is_file() and paths["parquet"].is_file():
        manifest = json.loads(paths["manifest"].read_text(encoding="utf-8"))
        if manifest.get("input_fingerprint") == fingerprint and file_sha256(paths["parquet"]) == manifest.get("parquet_sha256"):
            unchanged = _unchanged_result(instrument, wave, paths, manifest)
            return dataclasses.replace(unchanged, messages=(*meta_notes, *unchanged.messages))
    same_files = previous_files is not None and sorted(previous_files) == sorted(shas)
    if previous_files is not None and not same_files and not replace:
        raise FileExistsError(
            f"wave {wave} of {instrument} was already imported from other file(s) {[n for n, _ in previous_files]}: to import "
            f"{names} instead, run again with --replace (the previous files and outputs are kept in "
            f"data/raw/{instrument}/{wave}/.replaced-<time>/) / đợt {wave} của phiếu {instrument} đã được nhập từ tệp khác: "
            f"để thay bằng tệp mới hãy chạy lại với --replace (bản cũ được giữ trong .replaced-<thời điểm>/)")

    prepared = prepare_wave(list(zip(sources, names)), spec, wave_meta, res_frame, res_path.name if res_path else "resolutions.csv")

    # Default fieldwork dates come from the submissions themselves.
    if wave_meta.fieldwork_start is None and len(prepared.data) and prepared.data["_submitted_at"].notna().any():
        local = prepared.data["_submitted_at"].dropna().dt.tz_convert(LOCAL_UTC_OFFSET)
        wave_meta = dataclasses.replace(wave_meta, fieldwork_start=local.min().date().isoformat(),
                                        fieldwork_end=local.max().date().isoformat())
        # The stored wave.yaml holds the derived dates, so a rerun compares against them.
        fingerprint = import_fingerprint(shas, wave_meta, res_sha)

    # --- write: raw (read-only) first, then processed outputs atomically ----------------------------------
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    status = "imported"
    if previous_files is not None or paths["parquet"].exists():
        moved = move_aside(raw, [paths[k] for k in ("parquet", "manifest", "quarantine", "quality")], stamp) if raw.exists() else None
        status = "reprocessed" if same_files else "replaced"
        prepared.messages.append(Message("info", status, f"previous version kept in {moved}",
                                         f"phiên bản trước được lưu trong {moved}"))
    raw.mkdir(parents=True, exist_ok=True)
    file_records = []
    for (name, sha), src, table in zip(shas, sources, prepared.tables):
        dest = raw / name
        shutil.copyfile(src, dest)
        os.chmod(dest, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        if file_sha256(dest) != sha:
            raise OSError(f"copy of {src} to {dest} does not match its sha256")
        file_records.append({"name": name, "sha256": sha, "bytes": dest.stat().st_size, "format": table.format,
                             "encoding": table.encoding or None, "sheet": table.sheet or None, "rows": int(len(table.rows))})
    (raw / "files.json").write_text(json.dumps({"instrument": instrument, "wave": wave, "files": file_records},
                                               indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (raw / "wave.yaml").write_text(wave_meta.to_yaml(), encoding="utf-8")
    if res_bytes is not None:
        (raw / "resolutions.csv").write_bytes(res_bytes)
        os.chmod(raw / "resolutions.csv", stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)

    atomic_write(paths["parquet"], lambda p: write_parquet(prepared.data, spec, p))
    atomic_write(paths["quarantine"], lambda p: prepared.quarantine.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n"))
    atomic_write(paths["quality"], lambda p: quality_table(prepared.counts, prepared.flags, prepared.failures)
                  .to_csv(p, index=False, encoding="utf-8", lineterminator="\n"))
    manifest = {
        "instrument": instrument, "wave": wave, "instrument_version": str(inst.version),
        "synthetic": wave_meta.synthetic, **prepared.counts,
        "flags": prepared.flags,
        "files": [{"name": n, "sha256": s} for n, s in sorted(shas)],
        "imported_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "fieldwork_start": wave_meta.fieldwork_start, "fieldwork_end": wave_meta.fieldwork_end,
        "speeder_seconds": wave_meta.speeder_seconds, "source": wave_meta.source,
        "review": wave_meta.review.to_mapping(),
        "resolutions_sha256": res_sha, "input_fingerprint": fingerprint,
        "parquet_sha256": file_sha256(paths["parquet"]), "ingest_format": INGEST_FORMAT_VERSION,
    }
    atomic_write(paths["manifest"], lambda p: p.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"))

    if prepared.counts["quarantined"]:
        prepared.messages.append(Message(
            "warning", "quarantined",
            f"{prepared.counts['quarantined']} row(s) quarantined: fix them in the source file (see {paths['quarantine'].name}: file, row, "
            f"column, value, rule) and import again with --replace",
            f"{prepared.counts['quarantined']} dòng bị tạm giữ: hãy sửa trong tệp gốc (xem {paths['quarantine'].name}: tệp, dòng, cột, "
            f"giá trị, quy tắc) rồi nhập lại với --replace"))
    return ImportResult(
        instrument=instrument, wave=wave, status=status, rows_read=prepared.counts["rows_read"],
        accepted=prepared.counts["accepted"], quarantined=prepared.counts["quarantined"], dropped=prepared.counts["dropped"],
        dropped_blank=prepared.counts["dropped_blank"], dropped_duplicate=prepared.counts["dropped_duplicate"],
        dropped_resolved=prepared.counts["dropped_resolved"], flags=dict(prepared.flags),
        parquet_path=paths["parquet"], manifest_path=paths["manifest"], quarantine_path=paths["quarantine"],
        quality_path=paths["quality"], raw_dir=raw, messages=(*meta_notes, *prepared.messages),
        review=wave_meta.review.to_mapping(), failures=prepared.failures)


def _unchanged_result(instrument: str, wave: str, paths: Mapping[str, Path], manifest: Mapping) -> ImportResult:
    failures = pd.DataFrame(columns=list(FAILURE_COLUMNS))
    if paths["quarantine"].is_file() and paths["quarantine"].stat().st_size:
        q = pd.read_csv(paths["quarantine"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
        failures = q.reindex(columns=list(FAILURE_COLUMNS))
    msg = Message("info", "unchanged",
                  f"wave {wave} of {instrument} is already imported from these same files (same sha256): nothing changed",
                  f"đợt {wave} của phiếu {instrument} đã được nhập từ đúng các tệp này (cùng sha256): không có gì thay đổi")
    return ImportResult(
        instrument=instrument, wave=wave, status="unchanged", rows_read=manifest["rows_read"], accepted=manifest["accepted"],
        quarantined=manifest["quarantined"], dropped=manifest["dropped"], dropped_blank=manifest.get("dropped_blank", 0),
        dropped_duplicate=manifest.get("dropped_duplicate", 0), dropped_resolved=manifest.get("dropped_resolved", 0),
        flags=dict(manifest.get("flags", {})), parquet_path=paths["parquet"], manifest_path=paths["manifest"],
        quarantine_path=paths["quarantine"], quality_path=paths["quality"], raw_dir=paths["raw"], messages=(msg,),
        review=dict(manifest.get("review") or DEFAULT_REVIEW.to_mapping()), failures=failures)


# ============================================================================================
# Command line: python -m analysis add-wave
# ============================================================================================
def _summary(result: ImportResult) -> list[str]:
    f = result.flags
    lines = [
        f"{result.instrument} {result.wave}: {result.status}",
        f"  rows read {result.rows_read} = accepted {result.accepted} + quarantined {result.quarantined} + dropped {result.dropped}"
        f" (blank {result.dropped_blank}, duplicate copies {result.dropped_duplicate}, by resolution {result.dropped_resolved})",
        f"  số dòng đọc {result.rows_read} = chấp nhận {result.accepted} + tạm giữ {result.quarantined} + loại {result.dropped}"
        f" (dòng trống {result.dropped_blank}, bản sao trùng {result.dropped_duplicate}, theo tệp quyết định {result.dropped_resolved})",
        f"  flags / đánh dấu: speeders {f.get('_flag_speeder', 0)}, straight-liners {f.get('_flag_straightliner', 0)}, "
        f"item nonresponse {f.get('_flag_item_nonresponse', 0)}, duplicates kept {f.get('_flag_duplicate', 0)}, "
        f"review to check {f.get('_flag_review', 0)}",
        *(f"  {line}" for line in ReviewPolicy.from_mapping(result.review).describe()),
        f"  data: {result.parquet_path}",
    ]
    if result.quarantined:
        lines.append(f"  quarantine / tạm giữ: {result.quarantine_path}")
    return lines


def _run(args: argparse.Namespace) -> int:
    try:
        result = import_wave(args.instrument, args.wave, args.files, meta=args.meta, replace=args.replace,
                             resolutions=args.resolutions, data_dir=args.data_dir)
    except IngestError as exc:
        print("nothing was imported / chưa nhập gì:", file=sys.stderr)
        for p in exc.problems:
            print(str(p), file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in _summary(result):
        print(line)
    for m in result.messages:
        print(str(m), file=sys.stderr if m.level != "info" else sys.stdout)
    return result.exit_code


_ADD_WAVE_DESCRIPTION = """\
Import survey exports as one wave: read, check, store raw files read-only and write
data/processed/<instrument>/<wave>.parquet. Exit 0 when the wave is written (quarantined rows
are a warning), 2 when a file cannot be imported (nothing written).

Wave metadata (wave.yaml) is required and must say whether the wave is real or synthetic
(synthetic: false | true); it is never assumed. It is taken from --meta FILE, else from the
wave.yaml beside the first FILE (the output says so), else from the one stored when this wave
was imported before; without any, nothing is imported. A file that declares itself synthetic
(name starting with SYNTHETIC_DEMO, or "SYNTHETIC DEMO" in the workbook title or subject) is
refused when wave.yaml says synthetic: false.
"""


def register(subparsers) -> None:
    """Add the ``add-wave`` command (see `analysis.cli`)."""
    p = subparsers.add_parser(
        "add-wave", help="import a survey export as a wave (CSV, XLSX, SAV)",
        description=_ADD_WAVE_DESCRIPTION,
        epilog=EXPORT_FORMAT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instrument", required=True, help="member or unit")
    p.add_argument("--wave", required=True, help="wave id, e.g. 2026")
    p.add_argument("files", nargs="+", metavar="FILE", help="export file(s): .csv/.txt/.tsv, .xlsx, .sav")
    p.add_argument("--meta", help="wave.yaml (instrument, wave, instrument_version, synthetic: true|false, fieldwork_start/end, "
                                  "speeder_seconds, source); default: the wave.yaml beside the first FILE")
    p.add_argument("--replace", action="store_true", help="replace a wave imported from other files (the old version is kept)")
    p.add_argument("--resolutions", help="CSV submission_id,keep settling conflicting duplicates (stored, re-applied on every run)")
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.ingest.importer …`` = ``python -m analysis add-wave …``."""
    parser = argparse.ArgumentParser(prog="add-wave")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["add-wave", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
