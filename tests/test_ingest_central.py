"""KoboToolbox and ODK Central exports, and SPSS with a missing date-time, import to the same data.

The writers here follow each tool's own export conventions (not simplified layouts):

- **Kobo XLSX**: form order, group paths joined by '/', start/end with millisecond and offset
  (``2026-03-02T08:00:00.000+07:00``), integers as numbers, then ``meta/instanceID``
  (``uuid:``…), ``_id``, ``_uuid``, ``_submission_time`` (UTC, no offset), ``_validation_status``
  (its label, as the XLSX export shows it), ``_notes``, ``_status``, ``_submitted_by``,
  ``__version__``, ``_tags``, ``_index``.
- **Kobo CSV**: the same columns, ``;`` separated, every field quoted, ``_validation_status``
  as its uid (``validation_status_approved`` …).
- **ODK Central CSV**: ``SubmissionDate`` (UTC, ``…T01:15:00.000Z``) first, the fields in form
  order with groups joined by '-', ``meta-instanceID`` (the meta group comes last in a form
  built by pyxform), then ``KEY``, ``SubmitterID``, ``SubmitterName``, ``AttachmentsPresent``,
  ``AttachmentsExpected``, ``Status``, ``ReviewState``, ``DeviceID``, ``Edits``, ``FormVersion``;
  newest submission first; quoted only where needed; ``\\n`` line ends. The "remove group
  names" variant has bare names (``instanceID``).
- **ODK Central ZIP**: ``<formId>.csv``, a repeat table ``<formId>-<repeat>.csv`` (``PARENT_KEY``,
  ``KEY``) and ``media/`` attachments.
- **SPSS**: numeric codes with value labels, start/end/submission time as SPSS DATETIME
  (local time, no zone), one start missing.

Every format is imported and the processed frames are compared with the plain CSV's. Central
lists the newest submission first, so ``_source_row`` (where a row came from) is compared
through the submission id; everything else must be equal.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest
from test_ingest_fixtures import answers, meta_for, sav_column, spec_of, write_csv

from analysis.ingest.importer import IngestError, _summary, import_wave
from analysis.ingest.spec import InstrumentSpec

MEMBER = spec_of("member")
UNIT = spec_of("unit")
LOCAL = dt.timezone(dt.timedelta(hours=7))

KOBO_STATUS_LABEL = {"validation_status_approved": "Approved", "validation_status_not_approved": "Not Approved",
                     "validation_status_on_hold": "On Hold"}
CENTRAL_SYSTEM = ["KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status",
                  "ReviewState", "DeviceID", "Edits", "FormVersion"]


def base_answers(spec: InstrumentSpec) -> pd.DataFrame:
    """The fixtures' answers; for an instrument with a start item, row 2's start is missing."""
    a = answers(spec)
    start = spec.by_role("start")
    if start:
        a.loc[1, start[0].name] = None
    return a.astype(object).where(a.notna(), None)


def _odk_time(value: str | None) -> str | None:
    """ISO time as ODK clients write it: milliseconds and offset (2026-03-02T08:00:00.000+07:00)."""
    if value is None:
        return None
    t = dt.datetime.fromisoformat(value).astimezone(LOCAL)
    offset = t.strftime("%z")
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}{offset[:3]}:{offset[3:]}"


def _utc(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def _item_columns(spec: InstrumentSpec, sep: str | None) -> list[tuple[str, str]]:
    """(header, item) in form order; groups joined by *sep* (None = bare names)."""
    out = []
    for it in spec.items:
        path = it.group_path if sep and it.kind not in ("start", "end") else ()
        out.append(((sep or "/").join((*path, it.name)), it.name))
    return out


def _item_values(frame: pd.DataFrame, spec: InstrumentSpec, numbers: bool) -> pd.DataFrame:
    """Answers as the tools write them: ODK times; integers as numbers in a workbook."""
    out = frame.copy()
    for it in spec.items:
        if it.kind in ("start", "end", "datetime"):
            out[it.name] = [_odk_time(v) for v in frame[it.name]]
        elif it.kind == "integer" and numbers:
            out[it.name] = pd.Series([None if v is None else int(v) for v in frame[it.name]], index=out.index,
                                     dtype=object)
    # A list with None assigned to a column becomes NaN; the writers need None for blank.
    return out.astype(object).where(out.notna(), None)


# --------------------------------------------------------------------------------------------
# KoboToolbox
# --------------------------------------------------------------------------------------------
def _kobo_rows(frame: pd.DataFrame, spec: InstrumentSpec, review, *, xlsx: bool) -> tuple[list[str], list[list]]:
    cols = _item_columns(spec, "/")
    values = _item_values(frame, spec, numbers=xlsx)
    header = [h for h, _ in cols] + ["meta/instanceID", "_id", "_uuid", "_submission_time", "_validation_status",
                                     "_notes", "_status", "_submitted_by", "__version__", "_tags", "_index"]
    rows = []
    for i, rec in enumerate(values.to_dict("records")):
        status = (review or {}).get(i)
        if status and xlsx:
            status = KOBO_STATUS_LABEL[status]
        submitted = _utc(rec["_submitted_at"]).strftime("%Y-%m-%dT%H:%M:%S")
        rows.append([rec[n] for _, n in cols] + [
            f"uuid:{rec['_submission_id']}", 180_000_000 + i if xlsx else str(180_000_000 + i), rec["_submission_id"],
            submitted, status, None, "submitted_via_web", None, "vKoboTest2026", None, i + 1 if xlsx else str(i + 1)])
    return header, rows


def write_kobo_xlsx(frame, spec, path: Path, review: dict[int, str] | None = None) -> Path:
    header, rows = _kobo_rows(frame, spec, review, xlsx=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = spec.name[:31]
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_kobo_csv(frame, spec, path: Path, review: dict[int, str] | None = None) -> Path:
    header, rows = _kobo_rows(frame, spec, review, xlsx=False)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow(header)
    w.writerows([["" if v is None else v for v in r] for r in rows])
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return path


# --------------------------------------------------------------------------------------------
# ODK Central
# --------------------------------------------------------------------------------------------
def central_csv_text(frame, spec, *, group_names: bool = True, review: dict[int, str] | None = None) -> str:
    cols = _item_columns(spec, "-" if group_names else None)
    values = _item_values(frame, spec, numbers=False)
    instance_id = "meta-instanceID" if group_names else "instanceID"
    header = ["SubmissionDate", *(h for h, _ in cols), instance_id, *CENTRAL_SYSTEM]
    rows = []
    for i, rec in enumerate(values.to_dict("records")):
        submitted = _utc(rec["_submitted_at"]).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        key = f"uuid:{rec['_submission_id']}"
        rows.append([submitted, *(rec[n] for _, n in cols), key, key, "5", "Điều tra viên Nghi Lộc", "0", "0", "",
                     (review or {}).get(i, ""), f"collect:Xz{i:04d}", "0", "2026.1"])
    rows.reverse()  # Central lists the newest submission first
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([["" if v is None else v for v in r] for r in rows])
    return buf.getvalue()


def write_central_csv(frame, spec, path: Path, *, group_names: bool = True,
                      review: dict[int, str] | None = None) -> Path:
    path.write_bytes(central_csv_text(frame, spec, group_names=group_names, review=review).encode("utf-8"))
    return path


def write_central_zip(frame, spec, path: Path, review: dict[int, str] | None = None) -> Path:
    form_id = f"{spec.name}_2026"
    first = f"uuid:{frame['_submission_id'].iloc[0]}"
    repeat = f"note,PARENT_KEY,KEY\nthêm ghi chú,{first},{first}/household[1]\n"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{form_id}.csv", central_csv_text(frame, spec, review=review))
        zf.writestr(f"{form_id}-household.csv", repeat)
        zf.writestr("media/1712345678901.jpg", b"\xff\xd8\xff\xe0 not really a photo")
    return path


# --------------------------------------------------------------------------------------------
# SPSS with SPSS date, time and datetime variables
# --------------------------------------------------------------------------------------------
def write_sav_datetimes(frame, spec, path: Path) -> Path:
    """Codes as numbers with value labels; start/end/submitted_at as SPSS DATETIME (local, naive)."""
    items = {it.name: it for it in spec.items}
    local = [_utc(v).astimezone(LOCAL).replace(tzinfo=None) for v in frame["_submitted_at"]]
    out = pd.DataFrame({"submission_id": frame["_submission_id"], "submitted_at": local})
    labels, missing = {}, {}
    for c in frame.columns[2:]:
        it, col = items[c], frame[c]
        choices = spec.choices.get(it.list_name or "", ())
        if it.kind in ("start", "end", "datetime"):
            out[c] = [None if v is None else dt.datetime.fromisoformat(v).astimezone(LOCAL).replace(tzinfo=None)
                      for v in col]
        elif it.kind == "date":
            out[c] = [None if v is None else dt.date.fromisoformat(v) for v in col]
        else:
            out[c], value_labels, codes = sav_column(it, col, choices)
            if value_labels:
                labels[c] = value_labels
            if codes:
                missing[c] = codes
    pyreadstat.write_sav(out, str(path), variable_value_labels=labels, missing_ranges=missing)
    return path


WRITERS = {
    "kobo-xlsx": lambda a, s, p: write_kobo_xlsx(a, s, p),
    "kobo-csv-semicolon-quoted": lambda a, s, p: write_kobo_csv(a, s, p),
    "central-csv": lambda a, s, p: write_central_csv(a, s, p),
    "central-csv-no-group-names": lambda a, s, p: write_central_csv(a, s, p, group_names=False),
    "central-zip": lambda a, s, p: write_central_zip(a, s, p),
    "sav-datetimes": lambda a, s, p: write_sav_datetimes(a, s, p),
}


def _import(folder: Path, spec, path: Path, **meta):
    return import_wave(spec.name, "2026", [path], meta=meta_for(spec, **meta), data_dir=folder / "data")


@pytest.mark.parametrize("spec", [MEMBER, UNIT], ids=["member", "unit"])
def test_kobo_central_and_spss_exports_import_to_the_same_data(tmp_path, spec):
    a = base_answers(spec)
    (tmp_path / "csv").mkdir()
    ref = pd.read_parquet(_import(tmp_path / "csv", spec, write_csv(a, tmp_path / "csv" / "export")).parquet_path)
    assert len(ref) == 6
    if spec is MEMBER:
        assert ref[spec.by_role("start")[0].name].isna().sum() == 1  # the missing date-time
    for fmt, writer in WRITERS.items():
        folder = tmp_path / fmt
        folder.mkdir()
        # One file name everywhere: the file name is part of the data (_source_file).
        r = _import(folder, spec, writer(a, spec, folder / "export"))
        assert (r.rows_read, r.accepted, r.quarantined, r.dropped) == (6, 6, 0, 0), (fmt, r.failures.to_dict("records"))
        got = pd.read_parquet(r.parquet_path)
        pd.testing.assert_frame_equal(got.drop(columns="_source_row"), ref.drop(columns="_source_row"), obj=fmt)
        rows = dict(zip(got["_submission_id"], got["_source_row"]))
        expected = {sid: (7 - i if fmt.startswith("central") else 2 + i) for i, sid in enumerate(a["_submission_id"])}
        assert rows == expected, fmt


def test_central_system_columns_are_used_or_listed(tmp_path, capsys):
    a = base_answers(MEMBER)
    r = _import(tmp_path, MEMBER, write_central_csv(a, MEMBER, tmp_path / "central.csv"))
    used = next(m for m in r.messages if m.code == "system_columns")
    assert "submission id ← 'KEY'" in used.en and "submitted at ← 'SubmissionDate'" in used.en
    assert "review status ← 'ReviewState'" in used.en
    ignored = next(m for m in r.messages if m.code == "ignored_columns")
    for col in ("meta-instanceID", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
                "Status", "DeviceID", "Edits", "FormVersion"):
        assert repr(col) in ignored.en, col
    data = pd.read_parquet(r.parquet_path)
    assert data["_submission_id"].tolist() == sorted(a["_submission_id"])  # 'uuid:' dropped
    assert data["_submitted_at"].min() == pd.Timestamp("2026-03-02T01:15:00Z")
    # The summary says which review policy was applied.
    text = "\n".join(_summary(r))
    assert "quarantined if rejected, validation_status_not_approved" in text
    assert "flagged (_flag_review) if hasIssues, validation_status_on_hold" in text


def test_central_zip_imports_the_main_table_and_lists_the_rest(tmp_path):
    a = base_answers(MEMBER)
    r = _import(tmp_path, MEMBER, write_central_zip(a, MEMBER, tmp_path / "central.zip"))
    note = next(m for m in r.messages if m.code == "other_sheets")
    assert "'member_2026.csv'" in note.en and "member_2026-household.csv" in note.en and "1 other file" in note.en
    assert r.accepted == 6


def test_central_item_names_with_dashes_and_nested_groups(tmp_path):
    a = base_answers(MEMBER)
    text = central_csv_text(a, MEMBER)
    item = next(it for it in MEMBER.items if it.group_path)
    # A nested group ("outer-inner-item") maps by the item name, as Kobo's group paths do.
    nested = text.replace(f"{item.group_path[-1]}-{item.name},", f"phan_2-{item.group_path[-1]}-{item.name},", 1)
    assert nested != text
    path = tmp_path / "nested.csv"
    path.write_text(nested, encoding="utf-8")
    assert _import(tmp_path, MEMBER, path).accepted == 6


def test_a_zip_without_one_main_table_is_refused(tmp_path):
    path = tmp_path / "odd.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.csv", "x\n1\n")
        zf.writestr("b.csv", "y\n2\n")
    with pytest.raises(IngestError) as exc:
        _import(tmp_path, MEMBER, path)
    assert any(p.code == "format" and "a.csv, b.csv" in p.en for p in exc.value.problems)
