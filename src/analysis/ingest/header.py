"""Column mapping: which column of an export is which item (by name, Kobo group path or exact
question label) or export metadata; the header checks (blank, duplicate, unknown, missing
columns, two-row headers); one file's cells as item columns. `EXPORT_FORMAT` documents it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from analysis.ingest.convert import LOCAL_UTC_OFFSET, choice_lookup
from analysis.ingest.messages import Message, column_letter, error_message
from analysis.ingest.read import RawTable, choice_keys, fold
from analysis.ingest.spec import InstrumentSpec

__all__ = ["EXPORT_FORMAT", "build_lookup", "map_header", "resolve_meta_targets", "check_header", "frame_from_table"]


EXPORT_FORMAT = """\
What the import accepts (the synthetic generator writes exactly this)
--------------------------------------------------------------------
Header: one row, row 1; no merged cells; no blank header above a column with data.
Item columns, one per data item of the instrument (note items have none), any order, named by
  - the item name                        q_sat_01
  - or its Kobo group path               grp_a/q_sat_01   (separator '/'; any group names)
  - or its ODK Central group path        grp_a-q_sat_01   (separator '-'; "remove group names"
                                         exports use the bare item name)
  - or its exact label, vi or en         Nhìn chung, tôi hài lòng với … (NFC, spaces folded)
  - or Kobo "group label/item label"     Phần II. Hoạt động …/Nhìn chung, tôi hài lòng …
Answers: choice codes (1…5, 9, yes, CDVC01 …) or choice labels (vi or en; case, NFC/NFD and
  non-breaking spaces ignored; for a missing code such as "Không biết / không trả lời" each part
  between ' / ' is accepted too); integers as digits (no '1.234', no '4,5'); decimals with a
  dot; dates as YYYY-MM-DD or dd/mm/yyyy (or Excel date cells); times ISO 8601
  (YYYY-MM-DDTHH:MM:SS[.fff][+07:00]; without offset = Vietnam time).
Metadata columns (case-insensitive):
  submission id   _submission_id | _uuid | KEY (Central) | meta/instanceID | meta-instanceID |
                  instanceID ('uuid:' prefix dropped) | ID
                  (SPSS: submission_id or uuid — SPSS names cannot start with '_').
                  Without one: the unit survey uses the unit code; the member survey gets
                  'row-<sha256 of the answers>-<n>' (then duplicates cannot be recognised).
  submitted at    _submitted_at | _submission_time (UTC, Kobo) | SubmissionDate (UTC, Central) |
                  submission_time | Timestamp |
                  Dấu thời gian | Completion time | Thời gian hoàn thành
  duration        _duration_s | _duration | duration_s | duration (seconds, digits) — else
                  end − start from the items with role start/end (Kobo 'start'/'end' columns
                  named after those items, or simply 'start'/'end').
  review status   _validation_status (Kobo) | ReviewState (Central): by default not approved /
                  rejected rows are quarantined (rule 'review'), on hold / hasIssues rows are
                  kept with _flag_review; wave.yaml 'review: {reject: [...], flag: [...]}'.
  ignored         Kobo _id, _index, _status, _submitted_by, __version__, _notes, _tags,
                  _attachments, _geolocation, formhub/uuid, meta/*, deviceid, today, username…;
                  Central SubmitterID, SubmitterName, AttachmentsPresent, AttachmentsExpected,
                  Status, DeviceID, Edits, FormVersion, meta-*; Forms Email, Name, Last modified
                  time (all listed in the log).
Rows: one per submission from row 2; a fully blank row between data rows is dropped and
  counted; trailing blank rows are not rows.
CSV: comma, semicolon or tab separated (the header line decides, outside quotes); UTF-8 (BOM
  or not), UTF-16 with BOM (tab), or Windows-1258. XLSX: the first sheet. ZIP (ODK Central's
  download): the main table's CSV; repeat tables (PARENT_KEY) and media are not imported
  (listed in the log). SAV: variables named as above; value labels map to choices;
  user-missing values are blank unless labelled as a missing choice; date, time and datetime
  variables may have missing values; SPSS row n is reported as row n + 1 (as if the variable
  names were row 1).
"""


# ============================================================================================
# Column mapping
# ============================================================================================
# Central's KEY is the submission's id and stays the same when the submission is edited
# (meta-instanceID then holds the id of the edited version), so it comes before instanceID.
_ID_ALIASES = ("_submission_id", "submission_id", "_uuid", "uuid", "key", "meta/instanceid", "meta-instanceid",
               "instanceid", "id")
_TIME_ALIASES = {
    "_submitted_at": LOCAL_UTC_OFFSET, "submitted_at": LOCAL_UTC_OFFSET,
    "_submission_time": dt.timezone.utc, "submission_time": dt.timezone.utc, "submissiondate": dt.timezone.utc,
    "timestamp": LOCAL_UTC_OFFSET, "dấu thời gian": LOCAL_UTC_OFFSET,
    "completion time": LOCAL_UTC_OFFSET, "thời gian hoàn thành": LOCAL_UTC_OFFSET,
}
_DURATION_ALIASES = ("_duration_s", "duration_s", "_duration", "duration")
_START_ALIASES = ("start", "start time", "thời gian bắt đầu")
_END_ALIASES = ("end",)
#: Review status set on the server (Kobo, Central); what it means is `analysis.ingest.review`.
_REVIEW_ALIASES = ("_validation_status", "reviewstate")
_IGNORED = frozenset({
    "_id", "_index", "_parent_index", "_parent_table_name", "_status", "_submitted_by",
    "__version__", "_version_", "_version", "_notes", "_tags", "_attachments", "_geolocation", "_xform_id_string",
    "_xform_id", "formhub/uuid", "meta/instancename", "meta/deprecatedid", "meta/rootuuid", "meta/audit", "deviceid",
    "today", "username", "simserial", "subscriberid", "phonenumber", "audit", "email", "email address",
    "địa chỉ email", "name", "tên", "last modified time", "thời gian sửa đổi lần cuối", "_source_file", "_source_row",
    # ODK Central's own columns (and the bare meta names of its "remove group names" export).
    "submitterid", "submittername", "attachmentspresent", "attachmentsexpected", "status", "edits", "formversion",
    "instancename", "deprecatedid",
})


@dataclass(frozen=True)
class _Target:
    kind: str  # item | id | time | duration | start | end | review | ignore
    name: str  # item name, alias, or reason
    tz: dt.tzinfo | None = None


@dataclass(frozen=True)
class _Lookup:
    names: Mapping[str, str]
    labels: Mapping[str, str | None]  # None = ambiguous label


def build_lookup(spec: InstrumentSpec) -> _Lookup:
    names: dict[str, str] = {}
    labels: dict[str, str | None] = {}
    for it in spec.items:
        names[it.name] = it.name
        if it.group_path:
            names["/".join((*it.group_path, it.name))] = it.name
        for label, groups in ((it.label_vi, it.group_labels_vi), (it.label_en, it.group_labels_en)):
            if not label:
                continue
            for key in {fold(label), fold("/".join((*groups, label))) if groups else fold(label)}:
                labels[key] = it.name if labels.get(key, it.name) == it.name else None
    return _Lookup(names, labels)


_GROUP_PATH = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_.-]*/)+)([A-Za-z_][A-Za-z0-9_.-]*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _central_item(h: str, names: Mapping[str, str]) -> str | None:
    """The item of an ODK Central header ``<group>-<group>-<item>`` (groups joined by '-').

    XLSForm names may themselves hold '-', so the longest item name that ends the header
    behind whole group names wins; None when no split gives an item.
    """
    parts = h.split("-")
    for k in range(1, len(parts)):
        rest = "-".join(parts[k:])
        if rest in names and all(_NAME.fullmatch(p) for p in parts[:k]):
            return rest
    return None


def map_header(header: Sequence[str], spec: InstrumentSpec, lookup: _Lookup) -> list[_Target | None]:
    """Target of every column (None = unknown). Exact rules only; see the module docstring."""
    start = spec.by_role("start")
    end = spec.by_role("end")
    out: list[_Target | None] = []
    for raw in header:
        h = fold(raw)
        low = h.casefold()
        # Kobo writes "<group>/<item>"; the group names of a deployed form may differ from the
        # instrument's (renamed groups, nested groups), but the item name is exact and unique.
        grouped = _GROUP_PATH.fullmatch(h)
        if grouped and grouped.group(2) in lookup.names and h not in lookup.names:
            h = grouped.group(2)
        elif "-" in h and h not in lookup.names and (central := _central_item(h, lookup.names)):
            h = central
        if h in lookup.names:
            item = lookup.names[h]
            role = spec.item(item).role
            out.append(_Target(role if role in ("start", "end") else "item", item))
        elif h in lookup.labels and lookup.labels[h] is not None:
            out.append(_Target("item", lookup.labels[h]))
        elif low in _ID_ALIASES:
            out.append(_Target("id", low))
        elif low in _TIME_ALIASES:
            out.append(_Target("time", low, _TIME_ALIASES[low]))
        elif low in _DURATION_ALIASES:
            out.append(_Target("duration", low))
        elif low in _START_ALIASES and start:
            out.append(_Target("start", start[0].name))
        elif low in _END_ALIASES and end:
            out.append(_Target("end", end[0].name))
        elif low in _REVIEW_ALIASES:
            out.append(_Target("review", low))
        elif low in _IGNORED or low.startswith(("meta/", "meta-")):
            out.append(_Target("ignore", h))
        elif h in lookup.labels:
            out.append(_Target("ambiguous", h))
        else:
            out.append(None)
    return out


def resolve_meta_targets(targets: list[_Target | None]) -> list[_Target | None]:
    """Several id/time columns (Kobo has _uuid and meta/instanceID): keep the preferred one."""
    targets = list(targets)
    for kind, order in (("id", _ID_ALIASES), ("time", tuple(_TIME_ALIASES)), ("duration", _DURATION_ALIASES),
                        ("review", _REVIEW_ALIASES)):
        found = [(order.index(t.name), i) for i, t in enumerate(targets) if t and t.kind == kind]
        for _, i in sorted(found)[1:]:
            targets[i] = _Target("ignore", targets[i].name)
    return targets


def check_header(table: RawTable, cells: pd.DataFrame, targets: list[_Target | None], spec: InstrumentSpec,
                  lookup: _Lookup) -> list[Message]:
    problems: list[Message] = []
    name = table.file
    has_data = cells.notna().any(axis=0)
    # Blank header cells above data: a two-row header (group titles merged in Excel) or a
    # forgotten title. Blank header above an empty column is trailing formatting: ignored.
    blank = [i for i, h in enumerate(table.header) if not fold(h) and bool(has_data.get(i, False))]
    if blank:
        cols = ", ".join(column_letter(i) for i in blank)
        problems.append(error_message("header", name,
                                 f"column(s) {cols} have data but no header in row 1 (a two-row or merged header?): the header must be "
                                 f"row 1, one item name or question per column",
                                 f"cột {cols} có dữ liệu nhưng không có tiêu đề ở dòng 1 (tiêu đề hai dòng hoặc ô gộp?): tiêu đề phải "
                                 f"nằm ở dòng 1, mỗi cột một tên câu hỏi"))
    folded = [fold(h) for h in table.header]
    seen: dict[str, int] = {}
    for i, h in enumerate(folded):
        if h and h in seen:
            problems.append(error_message("header", name, f"header {h!r} appears twice (columns {column_letter(seen[h])} and {column_letter(i)})",
                                     f"tiêu đề {h!r} xuất hiện hai lần (cột {column_letter(seen[h])} và {column_letter(i)})"))
        seen.setdefault(h, i)
    by_target: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(targets):
        if t and t.kind in ("item", "start", "end"):
            by_target.setdefault((t.kind, t.name), []).append(i)
    for (_, item), cols in by_target.items():
        if len(cols) > 1:
            shown = ", ".join(f"{column_letter(c)} {folded[c]!r}" for c in cols)
            problems.append(error_message("header", name, f"item {item!r} has {len(cols)} columns ({shown}): keep one",
                                     f"câu {item!r} có {len(cols)} cột ({shown}): chỉ giữ một cột"))
    ambiguous = [folded[i] for i, t in enumerate(targets) if t and t.kind == "ambiguous"]
    if ambiguous:
        problems.append(error_message("header", name,
                                 f"header(s) {ambiguous} are the label of several items: use the item names as headers",
                                 f"tiêu đề {ambiguous} trùng nội dung của nhiều câu hỏi: hãy dùng mã câu hỏi làm tiêu đề"))
    unknown = [i for i, t in enumerate(targets) if t is None and folded[i]]
    if unknown:
        # A two-row header: row 2 holds item names/labels under the unknown row-1 titles.
        second = [cells.iloc[0, i] if len(cells) else None for i in unknown]
        looks_like_header = sum(bool(isinstance(v, str) and (fold(v) in lookup.names or lookup.labels.get(fold(v)))) for v in second)
        listed = ", ".join(f"{column_letter(i)} {folded[i]!r}" for i in unknown[:12]) + (" …" if len(unknown) > 12 else "")
        if looks_like_header and looks_like_header >= len(unknown) / 2:
            problems.append(error_message("two_row_header", name,
                                     f"row 2 holds the item names/questions ({looks_like_header} of {len(unknown)} unknown columns): the file "
                                     f"has a two-row header — delete row 1 so the header is one row",
                                     f"dòng 2 chứa mã/nội dung câu hỏi ({looks_like_header}/{len(unknown)} cột không nhận ra): tệp có tiêu đề "
                                     f"hai dòng — hãy xóa dòng 1 để tiêu đề chỉ còn một dòng"))
        else:
            problems.append(error_message("unknown_column", name,
                                     f"{len(unknown)} column(s) match no item of instrument {spec.name} v{spec.version} by name, group path or "
                                     f"exact question text: {listed} — rename them to the item names (see the codebook) or delete them",
                                     f"{len(unknown)} cột không khớp câu hỏi nào của phiếu {spec.name} v{spec.version} theo mã, đường dẫn nhóm "
                                     f"hoặc nguyên văn câu hỏi: {listed} — hãy đổi tên theo mã câu hỏi (xem sổ mã) hoặc xóa cột"))
    mapped = {t.name for t in targets if t and t.kind in ("item", "start", "end")}
    optional_kinds = {"start", "end", "calculate", "today", "time"}
    missing = [it.name for it in spec.items if it.name not in mapped and it.kind not in optional_kinds]
    if missing:
        problems.append(error_message("missing_column", name,
                                 f"{len(missing)} item(s) of instrument {spec.name} v{spec.version} have no column: "
                                 f"{', '.join(missing[:15])}{' …' if len(missing) > 15 else ''} — export every question, or check that the "
                                 f"file belongs to this instrument and version",
                                 f"{len(missing)} câu hỏi của phiếu {spec.name} v{spec.version} không có cột: "
                                 f"{', '.join(missing[:15])}{' …' if len(missing) > 15 else ''} — hãy xuất đủ mọi câu hỏi, hoặc kiểm tra tệp có "
                                 f"đúng phiếu và phiên bản không"))
    return problems


def frame_from_table(table: RawTable, cells: pd.DataFrame, targets: Sequence[_Target | None], spec: InstrumentSpec,
                      offset: int) -> tuple[pd.DataFrame, dict[str, pd.Series], pd.DataFrame, list[Message]]:
    """One file's cells as item columns (text) + metadata columns, indexed from *offset*.

    Returns the frame, SPSS value labels per item, the original cells (for the quarantine
    file, headers as in the file) and notes.
    """
    notes: list[Message] = []
    labels: dict[str, pd.Series] = {}
    index = pd.RangeIndex(offset, offset + len(cells))
    frame = pd.DataFrame(index=index)
    for i, t in enumerate(targets):
        if t is None or t.kind in ("ignore", "ambiguous"):
            continue
        col = pd.Series(cells[i].to_numpy(), index=index, dtype=object)
        if t.kind not in ("item", "start", "end"):
            frame[f"__{t.kind}"] = col
            if t.kind == "time":
                frame["__time_tz"] = str(t.tz)
            continue
        if i in table.user_missing:
            # SPSS user-missing: blank unless its value label names a missing choice of the item.
            item = spec.item(t.name)
            user_missing = col.isin(list(table.user_missing[i]))
            _, keyed = choice_lookup(spec, item.list_name) if item.list_name else ({}, {})
            label_codes = choice_keys(col.map(table.value_labels.get(i, {}))).map(keyed)
            keeps = label_codes.isin(list(spec.missing_codes(item.list_name)))
            blanked = user_missing & ~keeps
            if blanked.any():
                notes.append(Message("info", "user_missing",
                                     f"column {t.name!r}: {int(blanked.sum())} SPSS user-missing value(s) read as blank",
                                     f"cột {t.name!r}: {int(blanked.sum())} giá trị thiếu do người dùng khai báo (SPSS) được coi là để trống",
                                     table.file))
            col = col.where(~blanked, None)
        frame[t.name] = col
        if i in table.value_labels:
            labels[t.name] = pd.Series(col.map(table.value_labels[i]).to_numpy(), index=index)
    frame["_source_file"] = table.file
    frame["_sheet"] = table.sheet
    frame["_source_row"] = table.rows
    original = cells.copy()
    original.columns = [fold(h) or f"column {column_letter(i)}" for i, h in enumerate(table.header)]
    original.index = index
    return frame, labels, original, notes
