"""SPSS dates, times and date-times: read as the seconds SPSS stores, converted by the importer.

SPSS keeps every date, time and date-time as a number of seconds: since 14 Oct 1582 (the first
day of the Gregorian calendar) for dates and date-times, since midnight for a TIME. The files
here are written with those numbers themselves (`SPSS_UNIX`, not pyreadstat's own date
conversion), and again from Python date objects through pyreadstat, and must import to the
Parquet a CSV of the same answers gives: date items as dates, date-time items in UTC, time
items as times of day. A missing value is blank, a user-missing code on a date variable is
blanked like any other, and a number that is no date at all (an SPSS "*****" cell) stops the
import with its file, row, column and value.

pyreadstat's own ``sample_missing.sav`` is not shipped with the installed package (its test
files are not part of the wheel), so `test_a_file_laid_out_like_pyreadstats_sample_missing`
writes one with the same variables and formats.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from test_ingest_fixtures import answers, meta_for, sav_column, write_csv

from analysis import config
from analysis.ingest.importer import IngestError, import_wave
from analysis.ingest.read import read_file
from analysis.ingest.spec import InstrumentSpec, spec_from_instrument
from analysis.instruments import load

#: Seconds from SPSS's day 0 (1582-10-14) to 1970-01-01: 141,428 days.
SPSS_UNIX = 12_219_379_200
LOCAL = dt.timezone(dt.timedelta(hours=7))

#: Items added to the member instrument for these tests (it has no date or time question).
DAY, SEEN, CLOCK = "ms_meta_day", "ms_meta_seen", "ms_meta_clock"
CLOCK_ITEMS = (f'  - {{type: date, name: {DAY}, label::vi: "Ngày sinh hoạt gần nhất", label::en: "Last meeting day"}}\n'
               f'  - {{type: datetime, name: {SEEN}, label::vi: "Thời điểm kiểm tra phiếu", '
               f'label::en: "Form checked at"}}\n'
               f'  - {{type: time, name: {CLOCK}, label::vi: "Giờ bắt đầu sinh hoạt", '
               f'label::en: "Meeting start time"}}\n')
FORMATS = {DAY: "DATE11", SEEN: "DATETIME23.2", CLOCK: "TIME8"}

# Row 1 has no date, no date-time and no time (each missing); row 2 has SPSS day 0 and midnight;
# row 3 a date before 1970 and a date-time with half a second.
DAYS = ["2026-03-10", None, "1582-10-14", "1969-12-31", "2026-02-28", "2000-02-29"]
SEENS = ["2026-03-02T09:00:00", None, "2026-03-02T23:59:59", "2026-03-03T00:00:00.500", "1999-12-31T23:00:00",
         "2026-03-02T07:00:00"]
CLOCKS = ["07:30:00", None, "00:00:00", "23:59:59", "14:05:30", "19:00:00"]


@pytest.fixture
def spec(tmp_path, monkeypatch) -> InstrumentSpec:
    """The member instrument with a date, a date-time and a time item (in a copy of surveys/)."""
    surveys = tmp_path / "surveys"
    shutil.copytree(config.SURVEYS_DIR, surveys)
    path = surveys / "member" / "v1.yaml"
    text = path.read_text(encoding="utf-8")
    end = next(line for line in text.splitlines(keepends=True) if "role: end}" in line)
    path.write_text(text.replace(end, end + CLOCK_ITEMS, 1), encoding="utf-8")
    monkeypatch.setattr(config, "SURVEYS_DIR", surveys)
    return spec_from_instrument(load("member", surveys_dir=surveys))


def clock_answers(spec: InstrumentSpec) -> pd.DataFrame:
    a = answers(spec)
    a[DAY], a[SEEN], a[CLOCK] = DAYS, SEENS, CLOCKS
    return a.astype(object).where(a.notna(), None)


def spss_seconds(value: str | None, kind: str) -> float:
    """*value* (ISO text, local time) as SPSS stores it; None → system-missing."""
    if value is None:
        return float("nan")
    if kind == "time":
        t = dt.time.fromisoformat(value)
        return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6
    t = dt.datetime.fromisoformat(value)
    if t.tzinfo:  # start/end (+07:00), submission time (Z): SPSS has no zone, local wall time
        t = t.astimezone(LOCAL).replace(tzinfo=None)
    return SPSS_UNIX + (t - dt.datetime(1970, 1, 1)).total_seconds()


def python_value(value: str | None, kind: str) -> object:
    """*value* as the Python object pyreadstat converts to SPSS seconds itself."""
    if value is None:
        return None
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "time":
        return dt.time.fromisoformat(value)
    t = dt.datetime.fromisoformat(value)
    return t.astimezone(LOCAL).replace(tzinfo=None) if t.tzinfo else t  # naive: local already


def write_sav_clock(frame: pd.DataFrame, spec: InstrumentSpec, path: Path, *, seconds: bool = True,
                    missing: dict | None = None) -> Path:
    """SPSS: answers as `sav_column` writes them; start/end/submission time as DATETIME; the
    clock items as DATE11/DATETIME23.2/TIME8. ``seconds=False``: pyreadstat converts Python
    dates and times to seconds instead of this file."""
    items = {it.name: it for it in spec.items}
    out = pd.DataFrame({"submission_id": frame["_submission_id"]})
    formats = {"submitted_at": "DATETIME20"}
    labels, ranges = {}, dict(missing or {})
    for c in ["submitted_at", *frame.columns[2:]]:
        kind = "datetime" if c == "submitted_at" else items[c].kind
        col = frame["_submitted_at" if c == "submitted_at" else c]
        if kind in ("date", "datetime", "time", "start", "end"):
            out[c] = [spss_seconds(v, kind) for v in col] if seconds else [python_value(v, kind) for v in col]
            formats[c] = FORMATS.get(c, "DATETIME20")
        else:
            out[c], value_labels, codes = sav_column(items[c], col, spec.choices.get(items[c].list_name or "", ()))
            if value_labels:
                labels[c] = value_labels
            if codes:
                ranges[c] = codes
    if not seconds:
        formats = {c: f for c, f in formats.items() if c in FORMATS}  # pyreadstat picks DATETIME for the others
    pyreadstat.write_sav(out, str(path), variable_value_labels=labels, missing_ranges=ranges,
                         variable_format=formats)
    return path


def _import(folder: Path, spec: InstrumentSpec, path: Path):
    return import_wave(spec.name, "2026", [path], meta=meta_for(spec), data_dir=folder / "data")


def _csv_reference(tmp_path: Path, spec: InstrumentSpec, a: pd.DataFrame) -> pd.DataFrame:
    folder = tmp_path / "csv"
    folder.mkdir()
    return pd.read_parquet(_import(folder, spec, write_csv(a, folder / "export")).parquet_path)


# --------------------------------------------------------------------------------------------
# Dates, date-times and times import as the CSV of the same answers does
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seconds", [True, False], ids=["spss-seconds", "pyreadstat-objects"])
def test_spss_dates_times_and_datetimes_import_like_the_csv(tmp_path, spec, seconds):
    a = clock_answers(spec)
    ref = _csv_reference(tmp_path, spec, a)
    folder = tmp_path / "sav"
    folder.mkdir()
    r = _import(folder, spec, write_sav_clock(a, spec, folder / "export", seconds=seconds))
    assert (r.rows_read, r.accepted, r.quarantined, r.dropped) == (6, 6, 0, 0), r.failures.to_dict("records")
    got = pd.read_parquet(r.parquet_path)
    pd.testing.assert_frame_equal(got, ref)

    schema = pq.read_schema(r.parquet_path)
    assert str(schema.field(DAY).type) == "timestamp[us]"
    assert str(schema.field(SEEN).type) == "timestamp[us, tz=UTC]"
    assert str(schema.field(CLOCK).type) == "time64[us]"
    assert got[DAY].tolist()[1:4] == [pd.NaT, pd.Timestamp("1582-10-14"), pd.Timestamp("1969-12-31")]
    assert got[DAY].iloc[0] == pd.Timestamp("2026-03-10")
    # Local wall time (UTC+7) stored in UTC; half a second kept.
    assert got[SEEN].iloc[0] == pd.Timestamp("2026-03-02T02:00:00Z")
    assert pd.isna(got[SEEN].iloc[1])
    assert got[SEEN].iloc[3] == pd.Timestamp("2026-03-02T17:00:00.5Z")
    assert got[CLOCK].tolist() == [dt.time(7, 30), None, dt.time(0, 0), dt.time(23, 59, 59), dt.time(14, 5, 30),
                                   dt.time(19, 0)]
    # The submission time of the file (DATETIME, local) became the wave's UTC submission time.
    assert got["_submitted_at"].min() == pd.Timestamp("2026-03-02T01:15:00Z")


def test_spss_formats_read_as_dates_times_or_numbers(tmp_path):
    """Every SPSS date format is a date; DATETIME and YMDHMS are date-times; TIME a time of day;
    elapsed-time and calendar-part formats (DTIME, MTIME, WKDAY, MONTH) stay numbers."""
    day = SPSS_UNIX + 20_000 * 86_400.0  # 2024-10-04
    at = day + 8 * 3600 + 5 * 60 + 9.25
    cases = {
        "DATE11": (day, "2024-10-04"), "ADATE10": (day, "2024-10-04"), "EDATE10": (day, "2024-10-04"),
        "SDATE10": (day, "2024-10-04"), "JDATE7": (day, "2024-10-04"), "MOYR8": (day, "2024-10-04"),
        "QYR8": (day, "2024-10-04"), "WKYR10": (day, "2024-10-04"),
        # A DATE shows the day only: a time of day in its value is not a different date.
        "DATE9": (day + 3600 * 23, "2024-10-04"),
        "DATETIME20": (day + 8 * 3600, "2024-10-04T08:00:00"), "YMDHMS19": (day + 59, "2024-10-04T00:00:59"),
        "DATETIME23.2": (at, "2024-10-04T08:05:09.250000"),
        "TIME8": (8 * 3600 + 5 * 60, "08:05:00"), "TIME11.2": (0.5, "00:00:00.500000"),
        "DTIME11": (90_000.0, "90000"), "MTIME5": (330.0, "330"), "WKDAY3": (2.0, "2"), "MONTH3": (12.0, "12"),
        "F8.2": (2.5, "2.5"),
    }
    names = {f: f"v_{f.replace('.', '_').lower()}" for f in cases}
    frame = pd.DataFrame({names[f]: [float("nan"), v] for f, (v, _) in cases.items()})
    path = tmp_path / "formats.sav"
    pyreadstat.write_sav(frame, str(path), variable_format={names[f]: f for f in cases})
    table = read_file(path)
    assert table.cells.iloc[0].isna().all()  # missing everywhere → blank, no error
    got = dict(zip(table.header, table.cells.iloc[1].tolist()))
    assert got == {names[f]: text for f, (_, text) in cases.items()}


def test_user_missing_codes_on_date_and_time_variables_are_blank(tmp_path, spec):
    """A user-missing code is declared not to be a date: blanked (with a note), never imported as
    1582-10-14 (code 0) nor refused as an impossible date (code 1e15)."""
    a = clock_answers(spec)
    folder = tmp_path / "sav"
    folder.mkdir()
    path = write_sav_clock(a, spec, folder / "export", missing={
        DAY: [0.0, {"lo": 1e15, "hi": 2e15}], CLOCK: [99_999.0]})
    df, meta = pyreadstat.read_sav(str(path), user_missing=True, disable_datetime_conversion=True)
    df.loc[0, DAY] = 0.0  # "don't remember" coded 0 (SPSS day 0)
    df.loc[3, DAY] = 1.5e15  # a missing range beyond any date
    df.loc[4, CLOCK] = 99_999.0  # 27:46:39, no time of day: but declared missing
    pyreadstat.write_sav(df, str(path), variable_value_labels=meta.variable_value_labels,
                         missing_ranges=meta.missing_ranges, variable_format=meta.original_variable_types)
    r = _import(folder, spec, path)
    assert r.accepted == 6, r.failures.to_dict("records")
    notes = sorted(m.en for m in r.messages if m.code == "user_missing")
    assert notes == [f"column {CLOCK!r}: 1 SPSS user-missing value(s) read as blank",
                     f"column {DAY!r}: 3 SPSS user-missing value(s) read as blank"]
    got = pd.read_parquet(r.parquet_path).set_index("_submission_id")
    ids = a["_submission_id"]
    assert got.loc[ids[0], DAY] is pd.NaT and got.loc[ids[3], DAY] is pd.NaT
    assert got.loc[ids[4], CLOCK] is None
    # The day 0 that is a real answer (row 3) is no longer distinguishable from the code: blank too.
    assert got.loc[ids[2], DAY] is pd.NaT
    assert got.loc[ids[5], DAY] == pd.Timestamp("2000-02-29")


# --------------------------------------------------------------------------------------------
# A value that is no date: file, row, column, value
# --------------------------------------------------------------------------------------------
def test_an_impossible_spss_date_or_time_names_file_row_column_and_value(tmp_path, spec):
    a = clock_answers(spec)
    folder = tmp_path / "sav"
    folder.mkdir()
    path = write_sav_clock(a, spec, folder / "export")
    good = pd.read_parquet(_import(folder, spec, path).parquet_path).set_index("_submission_id")
    # The row the importer gives each submission of this file (header = row 1, as everywhere).
    row = {sid: int(good.loc[sid, "_source_row"]) for sid in a["_submission_id"]}
    df, meta = pyreadstat.read_sav(str(path), user_missing=True, disable_datetime_conversion=True)
    df.loc[3, DAY] = 1.5e15  # about 47.5 million years after 1582
    df.loc[5, DAY] = -1e13
    df.loc[4, CLOCK] = 90_000.0  # 25:00:00
    bad = tmp_path / "bad.sav"
    pyreadstat.write_sav(df, str(bad), variable_value_labels=meta.variable_value_labels,
                         missing_ranges=meta.missing_ranges, variable_format=meta.original_variable_types)
    with pytest.raises(IngestError) as exc:
        _import(tmp_path / "bad", spec, bad)
    problems = {p.en.split(" ")[1]: p for p in exc.value.problems}
    assert set(problems) == {repr(DAY), repr(CLOCK)}  # every bad column at once
    ids = a["_submission_id"]
    day, clock = problems[repr(DAY)], problems[repr(CLOCK)]
    assert day.code == clock.code == "sav_value" and day.file == clock.file == "bad.sav"
    assert f"column {DAY!r} (DATE11): 2 value(s) are not a date (years 1–9999) — rows {row[ids[3]]}, {row[ids[5]]} " \
           f"(row {row[ids[3]]}: 1500000000000000, row {row[ids[5]]}: -10000000000000;" in day.en
    assert f"column {CLOCK!r} (TIME8): 1 value(s) are not a time of day (0 to 24 hours) — rows {row[ids[4]]} " \
           f"(row {row[ids[4]]}: 90000;" in clock.en
    assert f"dòng {row[ids[4]]}: 90000" in clock.vi
    # Nothing was written for the refused file.
    assert not list((tmp_path / "bad").rglob("*.parquet"))


# --------------------------------------------------------------------------------------------
# pyreadstat's sample_missing.sav, laid out again
# --------------------------------------------------------------------------------------------
def test_a_file_laid_out_like_pyreadstats_sample_missing(tmp_path):
    """pyreadstat's test file ``sample_missing.sav`` (string, number, DATE, DATETIME, labelled,
    ordinal and TIME variables, each with missing values) failed with "NaTType does not support
    time" and no file, row or column. The same layout, written here, reads with blanks."""
    path = tmp_path / "sample_missing.sav"
    frame = pd.DataFrame({
        "mychar": ["a", "", "c", "d", "e"],
        "mynum": [1.1, 1.2, float("nan"), -1.4, 1000.3],
        "mydate": [dt.date(2018, 5, 6), None, dt.date(1582, 10, 14), dt.date(2018, 5, 6), None],
        "dtime": [dt.datetime(2018, 5, 6, 10, 10, 10), None, dt.datetime(1582, 10, 14), None,
                  dt.datetime(2018, 5, 6, 11, 10, 10)],
        "mylabl": [1.0, 2.0, 1.0, float("nan"), 1.0],
        "myord": [1.0, 2.0, 3.0, 1.0, float("nan")],
        "mytime": [dt.time(10, 10, 10), dt.time(23, 10, 10), None, dt.time(0, 0, 0), None],
    })
    pyreadstat.write_sav(frame, str(path), variable_value_labels={
        "mylabl": {1.0: "Male", 2.0: "Female"}, "myord": {1.0: "low", 2.0: "medium", 3.0: "high"}},
        variable_format={"mydate": "DATE11", "dtime": "DATETIME20", "mytime": "TIME8"})
    table = read_file(path)
    assert table.header == tuple(frame.columns)
    assert table.rows.tolist() == [2, 3, 4, 5, 6]
    assert table.cells.to_numpy().tolist() == [
        ["a", "1.1", "2018-05-06", "2018-05-06T10:10:10", "1", "1", "10:10:10"],
        [None, "1.2", None, None, "2", "2", "23:10:10"],
        ["c", None, "1582-10-14", "1582-10-14T00:00:00", "1", "3", None],
        ["d", "-1.4", "2018-05-06", None, None, "1", "00:00:00"],
        ["e", "1000.3", None, "2018-05-06T11:10:10", "1", None, None],
    ]
    assert table.value_labels[4] == {"1": "Male", "2": "Female"}
