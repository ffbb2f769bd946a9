"""Fixtures for the import tests, built from the instrument (no item name typed here).

`answers(spec)` makes a few valid submissions from the instrument itself: choice codes taken
in turn, integers chosen to satisfy each constraint, skip logic applied with the same
evaluator as validation. The writers then save those same answers in every supported
format: CSV (UTF-8, UTF-8 with BOM, UTF-16 tab, Windows-1258), a KoboToolbox XLSX (group
paths, `_uuid`, `_submission_time` in UTC), a Forms XLSX (question texts as headers, choice
labels as answers, local timestamps) and an SPSS file (numeric codes with value labels, the
"don't know" code declared user-missing).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat

from analysis.ingest import validate, vn_encoding
from analysis.ingest.spec import InstrumentSpec, spec_from_instrument, typed_answers
from analysis.instruments import load

__all__ = ["spec_of", "answers", "write_csv", "write_kobo_xlsx", "write_forms_xlsx", "write_sav", "meta_for"]

BASE_TIME = dt.datetime(2026, 3, 2, 1, 0, 0, tzinfo=dt.timezone.utc)


def spec_of(name: str) -> InstrumentSpec:
    return spec_from_instrument(load(name))


def _integer_for(item, row: dict, spec: InstrumentSpec, rules, j: int) -> str:
    """The first small candidate that satisfies the item's constraint given the row so far."""
    candidates = [str(v) for v in (j % 4 + 2, 1, 0, 3, 10, 40, 2024)]
    rule = rules[item.name].constraint
    if rule is None:
        return candidates[0]
    for c in candidates:
        trial = dict(row, **{item.name: c})
        frame = pd.DataFrame([trial]).reindex(columns=[it.name for it in spec.items])
        frame = typed_answers(frame, spec)
        if bool(rule.evaluate(frame, {it.name: it for it in spec.items}, current=item.name).iloc[0]):
            return c
    raise AssertionError(f"no candidate satisfies {item.constraint}")


def answers(spec: InstrumentSpec, n: int = 6) -> pd.DataFrame:
    """*n* valid submissions as text (codes), with `_submission_id`, `_submitted_at` (UTC) and times.

    Columns: ``_submission_id``, ``_submitted_at`` (ISO, UTC), then one column per item (text,
    None = blank). Start/end items hold ISO times with a +07:00 offset.
    """
    rules = validate.compile_rules(spec)
    rows = []
    org_item = spec.by_role("org")[0]
    for j in range(n):
        row: dict[str, str | None] = {}
        org = spec.choices[org_item.list_name][j % len(spec.choices[org_item.list_name])].code
        start = BASE_TIME + dt.timedelta(hours=j)
        for k, it in enumerate(spec.items):
            choices = spec.choices.get(it.list_name or "", ())
            if it.kind == "select_one":
                if it.role == "org":
                    row[it.name] = org
                elif it.choice_filter:
                    row[it.name] = [c for c in choices if dict(c.attributes).get("org") == org][j].code
                elif it.role == "party":
                    row[it.name] = ["no", "yes"][j % 2]
                else:
                    valid = [c for c in choices if not c.missing] or list(choices)
                    # Every 5th answer of row 1 is the missing code ("Không biết").
                    missing = [c for c in choices if c.missing]
                    if missing and j == 1 and k % 5 == 0:
                        row[it.name] = missing[0].code
                    else:
                        row[it.name] = valid[(j + k) % len(valid)].code
            elif it.kind == "integer":
                row[it.name] = _integer_for(it, row, spec, rules, j)
            elif it.kind == "decimal":
                row[it.name] = "2.5"
            elif it.kind == "date":
                row[it.name] = f"2026-03-{10 + j:02d}"
            elif it.kind == "start":
                row[it.name] = (start.astimezone(dt.timezone(dt.timedelta(hours=7)))).isoformat(timespec="seconds")
            elif it.kind == "end":
                end = start + dt.timedelta(seconds=600 + 60 * j)
                row[it.name] = end.astimezone(dt.timezone(dt.timedelta(hours=7))).isoformat(timespec="seconds")
            elif it.kind == "text":
                row[it.name] = ["Cần đổi mới hình thức sinh hoạt", None, "Tăng cường chuyển đổi số", "Không có ý kiến",
                                "Ổn định", None][j % 6]
            else:
                row[it.name] = None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[it.name for it in spec.items], dtype=object)
    applies, _ = validate.relevance(typed_answers(frame, spec), spec, rules)
    frame = frame.where(applies.to_numpy(), None)
    ids = [f"uuid-{spec.name}-{j:03d}" for j in range(n)]
    submitted = [(BASE_TIME + dt.timedelta(hours=j, minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ") for j in range(n)]
    frame.insert(0, "_submitted_at", submitted)
    frame.insert(0, "_submission_id", ids)
    return frame.astype(object).where(frame.notna(), None)


def meta_for(spec: InstrumentSpec, wave: str = "2026", **extra) -> dict:
    return {"instrument": spec.name, "wave": wave, "instrument_version": spec.version, "synthetic": True,
            "speeder_seconds": 300, "source": "tests", **extra}


def _grid(frame: pd.DataFrame) -> list[list[str]]:
    return [list(frame.columns)] + [["" if v is None or pd.isna(v) else str(v) for v in row] for row in frame.itertuples(index=False)]


def write_csv(frame: pd.DataFrame, path: Path, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """CSV in *encoding* (``utf-8``, ``utf-8-sig``, ``utf-16`` (tab), ``cp1258``); quotes where needed."""
    import csv
    import io

    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter="\t" if encoding == "utf-16" else delimiter, lineterminator="\r\n")
    writer.writerows(_grid(frame))
    text = buf.getvalue()
    data = vn_encoding.to_cp1258(text) if encoding == "cp1258" else text.encode(encoding)
    path.write_bytes(data)
    return path


def _save_xlsx(header: list[str], rows: list[list[object]], path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_kobo_xlsx(frame: pd.DataFrame, spec: InstrumentSpec, path: Path, *, labels: bool = False) -> Path:
    """A KoboToolbox export: group paths, _uuid, _submission_time (UTC, naive).

    ``labels=True`` is Kobo's "Labels" export: headers "group label/question label", answers
    as choice labels (start/end keep their names, they have no label).
    """
    items = {it.name: it for it in spec.items}
    header, cols = [], []
    for c in frame.columns:
        if c == "_submission_id":
            continue
        if c == "_submitted_at":
            continue
        it = items[c]
        if labels and it.label_vi:
            header.append("/".join((*it.group_labels_vi, it.label_vi)))
        else:
            header.append("/".join((*it.group_path, it.name)))
        cols.append(c)
    header += ["_id", "_uuid", "_submission_time", "_validation_status", "_index"]
    rows = []
    for i, rec in enumerate(frame.to_dict("records")):
        values: list[object] = [rec[c] for c in cols]
        # Kobo writes integers as numbers.
        values = [int(v) if v is not None and items[c].kind == "integer" else v for c, v in zip(cols, values)]
        if labels:
            values = [next(ch.label_vi for ch in spec.choices[items[c].list_name] if ch.code == v)
                      if v is not None and items[c].kind == "select_one" else v for c, v in zip(cols, values)]
        submitted = dt.datetime.strptime(rec["_submitted_at"], "%Y-%m-%dT%H:%M:%SZ").strftime("%Y-%m-%dT%H:%M:%S")
        rows.append(values + [1000 + i, rec["_submission_id"], submitted, None, i + 1])
    return _save_xlsx(header, rows, path)


def write_forms_xlsx(frame: pd.DataFrame, spec: InstrumentSpec, path: Path) -> Path:
    """A Google/Microsoft Forms export: question texts as headers, Vietnamese labels as answers."""
    items = {it.name: it for it in spec.items}
    header = ["ID", "Dấu thời gian"]
    cols = []
    for c in frame.columns[2:]:
        it = items[c]
        header.append(it.label_vi if it.label_vi else ("start" if it.kind == "start" else "end"))
        cols.append(c)
    rows = []
    for rec in frame.to_dict("records"):
        local = dt.datetime.strptime(rec["_submitted_at"], "%Y-%m-%dT%H:%M:%SZ") + dt.timedelta(hours=7)
        out: list[object] = [rec["_submission_id"], local]  # an Excel date-time cell, local time
        for c in cols:
            it, v = items[c], rec[c]
            if v is not None and it.kind == "select_one":
                v = next(ch.label_vi for ch in spec.choices[it.list_name] if ch.code == v)
            elif v is not None and it.kind == "integer":
                v = int(v)
            out.append(v)
        rows.append(out)
    return _save_xlsx(header, rows, path)


def sav_column(item, col, choices) -> tuple[list, dict | None, list]:
    """One answer column as SPSS stores it: (values, value labels or None, user-missing codes)."""
    if item.kind == "select_one" and choices and all(ch.code.isdigit() for ch in choices):
        return ([float(v) if v is not None else float("nan") for v in col],
                {float(ch.code): ch.label_vi for ch in choices}, [float(ch.code) for ch in choices if ch.missing])
    if item.kind == "select_one" and choices and all(ch.value is not None for ch in choices) \
            and not any(ch.missing for ch in choices):
        value = {ch.code: float(ch.value) for ch in choices}
        return ([value[v] if v is not None else float("nan") for v in col],
                {float(ch.value): ch.label_vi for ch in choices}, [])
    if item.kind == "integer":
        return [float(v) if v is not None else float("nan") for v in col], None, []
    return ["" if v is None else v for v in col], None, []


def write_sav(frame: pd.DataFrame, spec: InstrumentSpec, path: Path) -> Path:
    """SPSS: numeric codes with value labels where codes are numbers, 'yes/no' as 1/0 with labels."""
    items = {it.name: it for it in spec.items}
    out = pd.DataFrame({"submission_id": frame["_submission_id"], "submitted_at": frame["_submitted_at"]})
    labels, missing = {}, {}
    for c in frame.columns[2:]:
        out[c], value_labels, codes = sav_column(items[c], frame[c], spec.choices.get(items[c].list_name or "", ()))
        if value_labels:
            labels[c] = value_labels
        if codes:
            missing[c] = codes
    pyreadstat.write_sav(out, str(path), variable_value_labels=labels, missing_ranges=missing)
    return path
