"""Storing a wave: paths, sha256, the processed layout (columns, Parquet schema), atomic and
deterministic writes, the quality table, the input fingerprint, moving a replaced version
aside, and reading the duplicate-resolution file kept with the raw files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import config
from analysis.ingest import vn_encoding
from analysis.ingest.convert import RULES
from analysis.ingest.messages import IngestError, error_message
from analysis.ingest.meta import WaveMeta
from analysis.ingest.read import fold
from analysis.ingest.spec import InstrumentSpec, ItemSpec

__all__ = [
    "META_COLUMNS", "TRAILING_COLUMNS", "FLAG_COLUMNS", "INGEST_FORMAT_VERSION", "processed_columns",
    "wave_paths", "file_sha256", "write_parquet", "atomic_write", "quality_table", "import_fingerprint",
    "move_aside", "load_resolutions",
]


#: Version of the processed-wave layout written here (stored in the manifest).
INGEST_FORMAT_VERSION = "2"  # 2: _flag_review; time items as time of day

#: Metadata columns of a processed wave, in order, before the items.
META_COLUMNS: tuple[str, ...] = ("_submission_id", "_submitted_at", "_duration_s")
#: Provenance and flag columns, in order, after the items.
TRAILING_COLUMNS: tuple[str, ...] = ("_source_file", "_source_row")
FLAG_COLUMNS: tuple[str, ...] = ("_flag_speeder", "_flag_straightliner", "_flag_item_nonresponse", "_flag_duplicate",
                                 "_flag_review")


def wave_paths(instrument: str, wave: str, data_dir: Path | None) -> dict[str, Path]:
    root = Path(data_dir).resolve() if data_dir is not None else config.DATA_DIR
    raw = config.resolve_inside(root / "raw" / config.check_id(instrument, "instrument") / config.check_id(wave, "wave"), root)
    proc_dir = config.resolve_inside(root / "processed" / instrument, root)
    return {
        "root": root, "raw": raw, "processed_dir": proc_dir,
        "parquet": proc_dir / f"{wave}.parquet", "manifest": proc_dir / f"{wave}.manifest.json",
        "quarantine": proc_dir / f"{wave}.quarantine.csv", "quality": proc_dir / f"{wave}.quality.csv",
    }


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def processed_columns(spec: InstrumentSpec) -> list[str]:
    """Column order of a processed wave: metadata, items in instrument order, provenance, flags."""
    return [*META_COLUMNS, *(it.name for it in spec.items), *TRAILING_COLUMNS, *FLAG_COLUMNS]


# --------------------------------------------------------------------------------------------
# Writing (deterministic)
# --------------------------------------------------------------------------------------------
def _arrow_type(spec_item: ItemSpec | None, column: str) -> pa.DataType:
    if column == "_submitted_at":
        return pa.timestamp("us", tz="UTC")
    if column == "_duration_s":
        return pa.float64()
    if column == "_source_row":
        return pa.int64()
    if column.startswith("_flag_"):
        return pa.bool_()
    if spec_item is None:
        return pa.string()
    kind = spec_item.kind
    if kind == "integer":
        return pa.int64()
    if kind in ("decimal", "range"):
        return pa.float64()
    if kind in ("date", "today"):
        return pa.timestamp("us")
    if kind in ("start", "end", "datetime"):
        return pa.timestamp("us", tz="UTC")
    if kind == "time":
        return pa.time64("us")
    return pa.string()


def write_parquet(frame: pd.DataFrame, spec: InstrumentSpec, path: Path) -> None:
    """Parquet with a fixed schema, no index, no timestamps in the metadata: same data → same bytes."""
    items = {it.name: it for it in spec.items}
    schema = pa.schema([pa.field(c, _arrow_type(items.get(c), c)) for c in frame.columns])
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    # The pandas metadata (dtypes for a faithful read-back: Int64, string) holds versions, no
    # clock; it is kept. Nothing else is added.
    pq.write_table(table, path, compression="zstd", write_statistics=True, use_dictionary=True)


def atomic_write(path: Path, writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def quality_table(counts: Mapping[str, int], flags: Mapping[str, int], failures: pd.DataFrame) -> pd.DataFrame:
    labels = {
        "rows_read": ("Rows read", "Số dòng đọc được"),
        "accepted": ("Accepted", "Chấp nhận"),
        "quarantined": ("Quarantined (held for checking)", "Tạm giữ để kiểm tra"),
        "dropped": ("Dropped", "Loại bỏ"),
        "dropped_blank": ("Dropped: blank rows", "Loại bỏ: dòng trống"),
        "dropped_duplicate": ("Dropped: exact duplicate copies", "Loại bỏ: bản sao trùng hoàn toàn"),
        "dropped_resolved": ("Dropped: duplicates settled by the resolution file", "Loại bỏ: phiếu trùng đã xử lý theo tệp quyết định"),
        "_flag_speeder": ("Flagged: answered too fast", "Đánh dấu: trả lời quá nhanh"),
        "_flag_straightliner": ("Flagged: same answer to every scale item", "Đánh dấu: chọn cùng một mức cho mọi câu thang đo"),
        "_flag_item_nonresponse": ("Flagged: many items unanswered", "Đánh dấu: bỏ trống nhiều câu"),
        "_flag_duplicate": ("Flagged: kept from duplicate submissions", "Đánh dấu: giữ lại từ các phiếu trùng"),
        "_flag_review": ("Flagged: review status to check (e.g. on hold, has issues)",
                         "Đánh dấu: trạng thái duyệt cần xem lại (ví dụ tạm hoãn, có vấn đề)"),
    }
    rows = [(k, counts[k]) for k in ("rows_read", "accepted", "quarantined", "dropped", "dropped_blank",
                                      "dropped_duplicate", "dropped_resolved")]
    rows += [(k, flags[k]) for k in FLAG_COLUMNS]
    per_rule = failures.groupby("rule").size() if len(failures) else pd.Series(dtype=int)
    out = [{"metric": k, "value": int(v), "label_en": labels[k][0], "label_vi": labels[k][1]} for k, v in rows]
    for rule, (en, vi) in RULES.items():
        out.append({"metric": f"failures_{rule}", "value": int(per_rule.get(rule, 0)),
                    "label_en": f"Failures: {en}", "label_vi": f"Lỗi: {vi}"})
    return pd.DataFrame(out, columns=["metric", "value", "label_en", "label_vi"])


def import_fingerprint(files: Sequence[tuple[str, str]], meta: WaveMeta, resolutions_sha: str | None) -> str:
    blob = json.dumps({"files": sorted(files), "meta": meta.to_mapping(), "resolutions": resolutions_sha,
                       "format": INGEST_FORMAT_VERSION}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def move_aside(raw: Path, processed: Sequence[Path], stamp: str) -> Path:
    """Move the current raw files and processed outputs to raw/.replaced-<stamp>/ (kept, not deleted)."""
    target = raw / f".replaced-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = raw / f".replaced-{stamp}-{n}"
    target.mkdir(parents=True)
    for p in sorted(raw.iterdir()):
        if p.name.startswith(".replaced-"):
            continue
        os.replace(p, target / p.name)
    (target / "processed").mkdir()
    for p in processed:
        if p.exists():
            os.replace(p, target / "processed" / p.name)
    return target


def load_resolutions(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    try:
        text, _ = vn_encoding.decode_bytes(data, path.name)
    except vn_encoding.EncodingProblem as exc:
        raise IngestError([error_message("resolutions", path.name, exc.en, exc.vi)]) from None
    frame = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), dtype=str, keep_default_na=False)
    frame.columns = [fold(c).lower() for c in frame.columns]
    return frame
