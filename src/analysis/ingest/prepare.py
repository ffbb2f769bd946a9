"""The import in memory: read every file, refuse what cannot be read safely, normalise, map,
convert, validate, de-duplicate and flag — the processed frame, the failures, the quarantine
and the row counts (``rows_read = accepted + quarantined + dropped``). Nothing is written."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.ingest import quality, validate, vn_encoding
from analysis.ingest.convert import DECIMAL, LOCAL_UTC_OFFSET, RULES, convert_items, failure_rows, parse_datetimes
from analysis.ingest.header import build_lookup, check_header, frame_from_table, map_header, resolve_meta_targets
from analysis.ingest.messages import IngestError, Message, error_message, strip_file_prefix
from analysis.ingest.meta import WaveMeta
from analysis.ingest.read import RawTable, cell_codes, fold, normalise_cells, read_file, scan_legacy
from analysis.ingest.spec import InstrumentSpec
from analysis.ingest.store import FLAG_COLUMNS, processed_columns
from analysis.ingest.validate import FAILURE_COLUMNS

__all__ = ["PreparedWave", "prepare_wave"]


@dataclass
class PreparedWave:
    data: pd.DataFrame          # processed wave, final columns and order
    failures: pd.DataFrame      # FAILURE_COLUMNS
    quarantine: pd.DataFrame    # original values + reasons
    counts: dict[str, int]
    flags: dict[str, int]
    messages: list[Message]
    tables: list[RawTable]


#: Export metadata columns and what they become, for the import log.
_META_WORDS = {
    "id": ("submission id", "mã phiếu"), "time": ("submitted at", "thời điểm gửi"),
    "duration": ("duration", "thời lượng"), "review": ("review status", "trạng thái duyệt"),
}


def _places(rows: pd.DataFrame) -> str:
    """``file:row, file:row …`` of *rows* (a slice of the combined frame)."""
    return ", ".join(f"{f}:{r}" for f, r in zip(rows["_source_file"], rows["_source_row"]))


def prepare_wave(files: Sequence[tuple[Path, str]], spec: InstrumentSpec, meta: WaveMeta,
             resolutions: pd.DataFrame | None, resolutions_name: str) -> PreparedWave:
    """Everything except writing: read, refuse, normalise, map, convert, validate, flag."""
    rules = validate.compile_rules(spec)
    lookup = build_lookup(spec)
    problems: list[Message] = []
    messages: list[Message] = []
    tables: list[RawTable] = []
    frames: list[pd.DataFrame] = []
    originals: list[pd.DataFrame] = []
    sav_labels: dict[str, list[pd.Series]] = {}
    text_items = {it.name for it in spec.items if it.kind == "text"}
    offset = 0
    for path, name in files:
        try:
            table = read_file(path, name=name)
        except IngestError as exc:
            problems.extend(exc.problems)
            continue
        messages.extend(table.notes)
        codes = cell_codes(table)  # shared by the legacy-font scan and the normalisation
        legacy = scan_legacy(table, codes)
        if legacy:
            problems.extend(legacy)
            continue
        if table.encoding == "cp1258":
            try:
                texts = pd.Series(table.cells.to_numpy().ravel()).dropna().astype(str)
                vn_encoding.check_cp1258_plausible("\n".join([*table.header, *texts]), name)
            except vn_encoding.EncodingProblem as exc:
                problems.append(error_message("encoding", name, strip_file_prefix(exc.en, name), strip_file_prefix(exc.vi, name)))
                continue
        targets = resolve_meta_targets(map_header(table.header, spec, lookup))
        text_cols = {i for i, t in enumerate(targets) if t and t.kind == "item" and t.name in text_items}
        cells, notes = normalise_cells(table, text_cols, codes)
        messages.extend(notes)
        header_problems = check_header(table, cells, targets, spec, lookup)
        if not len(cells):
            header_problems.append(error_message("no_rows", name, "the file has a header row but no data rows",
                                            "tệp chỉ có dòng tiêu đề, không có dòng dữ liệu nào"))
        if header_problems:
            problems.extend(header_problems)
            continue
        used = [(_META_WORDS[t.kind], fold(table.header[i]))
                for i, t in enumerate(targets) if t and t.kind in _META_WORDS]
        if used:
            messages.append(Message(
                "info", "system_columns",
                "export metadata columns used: " + ", ".join(f"{en} ← {h!r}" for (en, _), h in used),
                "các cột siêu dữ liệu được dùng: " + ", ".join(f"{vi} ← {h!r}" for (_, vi), h in used), name))
        ignored = [fold(table.header[i]) for i, t in enumerate(targets) if t and t.kind == "ignore"]
        if ignored:
            messages.append(Message("info", "ignored_columns", f"export metadata columns not imported: {ignored}",
                                    f"các cột siêu dữ liệu không được nhập: {ignored}", name))
        tables.append(table)
        frame, labels, original, notes = frame_from_table(table, cells, targets, spec, offset)
        offset += len(frame)
        messages.extend(notes)
        for item, series in labels.items():
            sav_labels.setdefault(item, []).append(series)
        frames.append(frame)
        originals.append(original)
    if problems:
        raise IngestError(problems)
    if not frames:
        raise IngestError([error_message("empty", "", "no file to import", "không có tệp nào để nhập")])

    data = pd.concat(frames, axis=0)
    for col in ("__id", "__time", "__duration", "__time_tz", "__review"):
        if col not in data.columns:
            data[col] = None
    for it in spec.items:
        if it.name not in data.columns:
            data[it.name] = None
    data = data.astype({c: object for c in data.columns if c != "_source_row"})
    original = pd.concat(originals, axis=0, sort=False)
    rows_read = len(data)

    # --- blank rows: dropped and counted -------------------------------------------------
    answer_cols = [it.name for it in spec.items] + ["__id", "__time", "__duration"]
    blank = data[answer_cols].isna().all(axis=1)
    if blank.any():
        where = _places(data.loc[blank].head(8))
        messages.append(Message("info", "blank_rows", f"{int(blank.sum())} blank row(s) dropped ({where})",
                                f"đã bỏ {int(blank.sum())} dòng trống ({where})"))
    data = data[~blank]

    # --- types -------------------------------------------------------------------------------
    labels = {k: pd.concat(v).reindex(data.index) for k, v in sav_labels.items()}
    sav_files = {t.file for t in tables if t.format == "sav"}
    conv = convert_items(data, spec, labels, data["_source_file"].isin(sav_files))
    typed = conv.typed
    failures = list(conv.failures)

    # --- metadata columns ------------------------------------------------------------------------
    ids = data["__id"].astype("string").str.replace(r"^uuid:", "", regex=True, case=False).astype(object)
    if data["__id"].isna().all():
        unit = spec.by_role("unit")
        if not spec.anonymous and unit:
            ids = typed[unit[0].name].astype(object)
            messages.append(Message("info", "submission_id_from_unit",
                                    f"no submission id column: the unit code ({unit[0].name}) identifies each form",
                                    f"không có cột mã phiếu: dùng mã tổ chức cơ sở ({unit[0].name}) làm mã phiếu"))
        else:
            content = conv.canonical.astype(str).agg("\x1f".join, axis=1)
            # sha256 per row (stable across pandas versions, unlike hash_pandas_object).
            digest = content.map(lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest()[:16])
            occurrence = digest.groupby(digest).cumcount() + 1
            ids = "row-" + digest + "-" + occurrence.astype(str)
            messages.append(Message("warning", "submission_id_derived",
                                    "no submission id column: ids are derived from the answers, so duplicate submissions cannot be recognised",
                                    "không có cột mã phiếu: mã phiếu được tạo từ nội dung trả lời nên không phát hiện được phiếu trùng"))
    else:
        blank_id = ids.isna()
        if blank_id.any():
            failures.append(pd.DataFrame({"_row": data.index[blank_id], "column": "_submission_id", "value": "",
                                          "rule": "submission_id", "message_en": RULES["submission_id"][0],
                                          "message_vi": RULES["submission_id"][1]}))
    submitted = pd.Series(pd.NaT, index=data.index, dtype="datetime64[us, UTC]")
    for tz_name, part in data.groupby(data["__time_tz"].fillna(""), sort=True):
        tz = dt.timezone.utc if tz_name == "UTC" else LOCAL_UTC_OFFSET
        vals, bad = parse_datetimes(part["__time"], tz)
        submitted.loc[part.index] = vals
        if bad.any():
            failures.append(failure_rows(bad[bad].index, "_submitted_at", part["__time"], "datetime"))
    duration = pd.Series(np.nan, index=data.index, dtype="float64")
    dur_text = data["__duration"][data["__duration"].notna()].astype(str)
    dur_ok = dur_text.str.fullmatch(DECIMAL)
    if (~dur_ok).any():
        failures.append(failure_rows(dur_ok[~dur_ok].index, "_duration_s", data["__duration"], "duration"))
    duration.loc[dur_text[dur_ok].index] = dur_text[dur_ok].astype(float).to_numpy()
    start, end = spec.by_role("start"), spec.by_role("end")
    if start and end:
        span = (typed[end[0].name] - typed[start[0].name]).dt.total_seconds()
        duration = duration.where(duration.notna(), span)

    # --- review status set on the server: rejected → quarantine, others flagged -------------------------
    rejected, review_flag, unknown_states = meta.review.classify(data["__review"])
    if rejected.any():
        failures.append(failure_rows(rejected[rejected].index, "_review_status", data["__review"], "review"))
        where = _places(data.loc[rejected].head(8))
        messages.append(Message(
            "info", "review_rejected",
            f"{int(rejected.sum())} submission(s) rejected in the server's review quarantined ({where})",
            f"{int(rejected.sum())} phiếu bị từ chối khi duyệt trên máy chủ được tạm giữ ({where})"))
    if unknown_states:
        messages.append(Message(
            "warning", "review_state_unknown",
            f"review status value(s) {unknown_states} are neither in the review policy nor known Kobo/Central states: "
            f"those rows are kept unflagged (list them under review: reject or flag in wave.yaml)",
            f"giá trị trạng thái duyệt {unknown_states} không có trong quy định duyệt và không phải trạng thái "
            f"của Kobo/Central: các dòng này được giữ, không đánh dấu (hãy ghi vào review: reject hoặc flag "
            f"trong wave.yaml)"))

    # --- duplicates -------------------------------------------------------------------------------
    ids = ids.astype(object).where(ids.notna(), None)
    dup = quality.find_duplicates(ids, conv.canonical)
    if dup.drop_exact.any():
        where = _places(data.loc[dup.drop_exact].head(8))
        messages.append(Message("info", "exact_duplicates",
                                f"{int(dup.drop_exact.sum())} exact duplicate submission(s) kept once; extra copies dropped ({where})",
                                f"{int(dup.drop_exact.sum())} phiếu trùng hoàn toàn chỉ giữ một bản; đã bỏ các bản sao ({where})"))
    resolved_keep = pd.Series(False, index=data.index)
    resolved_drop = pd.Series(False, index=data.index)
    if resolutions is not None and len(resolutions):
        try:
            resolved_keep, resolved_drop, notes = quality.apply_resolutions(
                resolutions, ids, dup.conflict, data["_source_file"], data["_source_row"], source=resolutions_name)
        except quality.ResolutionError as exc:
            raise IngestError([error_message("resolutions", resolutions_name, str(exc), f"tệp xử lý phiếu trùng không áp dụng được: {exc}")]) from None
        for note in notes:
            messages.append(Message("warning", "resolution_unused", note, note.replace("has no conflicting duplicates in this import; line not needed",
                                                                                          "không còn phiếu trùng mâu thuẫn; dòng này không cần"), resolutions_name))
    unresolved = dup.conflict & ~resolved_keep & ~resolved_drop
    if unresolved.any():
        groups = data.loc[unresolved].groupby(ids[unresolved])
        for sid, grp in groups:
            others = _places(grp)
            failures.append(pd.DataFrame({
                "_row": grp.index, "column": "_submission_id", "value": str(sid), "rule": "duplicate_conflict",
                "message_en": f"{RULES['duplicate_conflict'][0]} (versions at {others}); add a line 'submission_id,keep' to the "
                              f"resolution file (keep = row to keep, or none) and import again with --resolutions",
                "message_vi": f"{RULES['duplicate_conflict'][1]} (các bản ở {others}); hãy thêm dòng 'submission_id,keep' vào tệp "
                              f"xử lý phiếu trùng (keep = số dòng cần giữ, hoặc none) rồi nhập lại với --resolutions",
            }))
    dropped_dup = dup.drop_exact | resolved_drop
    live = ~dropped_dup

    # --- validation (rows still in play) ----------------------------------------------------------
    val = validate.validate_answers(typed[live], spec, rules=rules, choice_attributes={
        name: {c.code: dict(c.attributes) for c in choices} for name, choices in spec.choices.items()
        if any(c.attributes for c in choices)})
    # A cell that failed conversion is blank in `typed`: its 'required' failure would repeat it.
    conv_cells = set()
    for f in failures:
        conv_cells.update(zip(f["_row"], f["column"]))
    if len(val):
        val = val[[(r, c) not in conv_cells for r, c in zip(val["_row"], val["column"])]]
    all_fail = pd.concat([f for f in [*failures, val] if len(f)], ignore_index=True) if (failures or len(val)) else \
        pd.DataFrame(columns=["_row", "column", "value", "rule", "message_en", "message_vi"])
    all_fail = all_fail[all_fail["_row"].isin(data.index[live])] if len(all_fail) else all_fail
    bad_rows = pd.Index(all_fail["_row"].unique()) if len(all_fail) else pd.Index([])
    quarantined = data.index.isin(bad_rows) & live.to_numpy()
    accepted = live.to_numpy() & ~quarantined

    # --- quality flags on accepted rows -------------------------------------------------------------
    acc = typed[accepted]
    scale = [it.name for it in spec.scale_items]
    missing_codes = {it.name: spec.missing_codes(it.list_name) for it in spec.scale_items}
    applies, _ = validate.relevance(acc, spec, rules)
    out = pd.DataFrame(index=acc.index)
    out["_submission_id"] = ids[accepted].astype("string")
    out["_submitted_at"] = submitted[accepted]
    out["_duration_s"] = duration[accepted].astype("float64")
    for it in spec.items:
        out[it.name] = acc[it.name]
    out["_source_file"] = data.loc[accepted, "_source_file"].astype("string")
    out["_source_row"] = data.loc[accepted, "_source_row"].astype("Int64")
    out["_flag_speeder"] = quality.flag_speeders(out["_duration_s"], meta.speeder_seconds)
    out["_flag_straightliner"] = quality.flag_straightliners(acc, scale, missing_codes=missing_codes,
                                                             min_items=meta.straightliner_min_items)
    out["_flag_item_nonresponse"] = quality.flag_item_nonresponse(acc, scale, missing_codes=missing_codes, applies=applies,
                                                                  threshold=meta.item_nonresponse_threshold)
    out["_flag_duplicate"] = (dup.kept_copy | resolved_keep)[accepted].astype(bool)
    out["_flag_review"] = review_flag[accepted].astype(bool)
    if meta.speeder_seconds is None:
        messages.append(Message("warning", "no_speeder_floor", "wave.yaml has no speeder_seconds: speeders are not flagged",
                                "wave.yaml không có speeder_seconds: không đánh dấu phiếu trả lời quá nhanh"))
    # Deterministic order: by submission id, then time, then where the row came from.
    out = out.sort_values(["_submission_id", "_submitted_at", "_source_file", "_source_row"], kind="stable", na_position="last")
    out = out.reset_index(drop=True)[processed_columns(spec)]

    # --- failure table with places, quarantine file ----------------------------------------------
    if len(all_fail):
        all_fail = all_fail.copy()
        all_fail["file"] = data.loc[all_fail["_row"], "_source_file"].to_numpy()
        all_fail["sheet"] = data.loc[all_fail["_row"], "_sheet"].to_numpy()
        all_fail["row"] = data.loc[all_fail["_row"], "_source_row"].astype("int64").to_numpy()
        # The value as the researcher typed it (before label mapping), where the column came from the file.
        all_fail = all_fail.sort_values(["file", "row", "column", "rule"], kind="stable")
    failures_out = all_fail.reindex(columns=[*FAILURE_COLUMNS, "_row"])
    quarantine = failures_out.merge(original, left_on="_row", right_index=True, how="left").drop(columns="_row") \
        if len(failures_out) else pd.DataFrame(columns=list(FAILURE_COLUMNS))
    failures_out = failures_out.drop(columns="_row").reset_index(drop=True)

    counts = {
        "rows_read": int(rows_read),
        "accepted": int(accepted.sum()),
        "quarantined": int(quarantined.sum()),
        "dropped_blank": int(blank.sum()),
        "dropped_duplicate": int(dup.drop_exact.sum()),
        "dropped_resolved": int(resolved_drop.sum()),
    }
    counts["dropped"] = counts["dropped_blank"] + counts["dropped_duplicate"] + counts["dropped_resolved"]
    if counts["rows_read"] != counts["accepted"] + counts["quarantined"] + counts["dropped"]:
        raise RuntimeError(f"row accounting is off: {counts}")  # a bug here, never bad data
    flags = {c: int(out[c].sum()) for c in FLAG_COLUMNS}
    return PreparedWave(out, failures_out, quarantine, counts, flags, messages, tables)
