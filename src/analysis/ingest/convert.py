"""Conversion: answers to choice codes (by code or label) and every item column to its type;
each value that does not convert is a failure row with its rule (`RULES`), never a silent
coercion."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.ingest.read import choice_key, choice_keys
from analysis.ingest.spec import InstrumentSpec, ItemSpec

__all__ = ["RULES", "LOCAL_UTC_OFFSET", "DECIMAL", "choice_lookup", "failure_rows", "convert_items", "parse_datetimes",
           "parse_times", "utc_text"]


#: The time zone of fieldwork: naive times in exports (Excel cells, Forms timestamps, Kobo
#: ``start``/``end`` without offset) are read as Vietnam time; Kobo's ``_submission_time`` is UTC.
LOCAL_UTC_OFFSET = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")


# ============================================================================================
# Conversion to item types (every failure recorded)
# ============================================================================================
_INT = re.compile(r"[+-]?\d+")
DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")
_DEC_COMMA = re.compile(r"[+-]?\d+,\d+")
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(?:[.,]\d{3})+")
_THOUSANDS_DOT = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?")
_DATE_VN = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?")

#: Rules a conversion or validation failure can carry, with what the researcher should do.
RULES: dict[str, tuple[str, str]] = {
    "choice": ("not a code or label of the item's choice list", "không phải mã hoặc nhãn của danh sách lựa chọn"),
    "integer": ("not a whole number", "không phải số nguyên"),
    "decimal": ("not a number", "không phải số"),
    "decimal_comma": ("decimal comma: write the number with a dot (4.5), or a whole number",
                      "dấu phẩy thập phân: hãy ghi số với dấu chấm (4.5) hoặc số nguyên"),
    "thousands_separator": ("thousands separator: write digits only (1234)", "dấu phân cách hàng nghìn: chỉ ghi chữ số (1234)"),
    "date": ("not a date (YYYY-MM-DD or dd/mm/yyyy)", "không phải ngày (YYYY-MM-DD hoặc dd/mm/yyyy)"),
    "datetime": ("not an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS); day/month order cannot be guessed — download the "
                 "responses as .xlsx (real date cells) or format the column as YYYY-MM-DD HH:MM:SS",
                 "không phải thời điểm theo ISO 8601 (YYYY-MM-DDTHH:MM:SS); không thể đoán thứ tự ngày/tháng — hãy tải kết "
                 "quả dạng .xlsx (ô ngày giờ thực) hoặc định dạng cột theo YYYY-MM-DD HH:MM:SS"),
    "time": ("not a time of day (HH:MM or HH:MM:SS, optionally with an offset such as +07:00)",
             "không phải giờ trong ngày (HH:MM hoặc HH:MM:SS, có thể kèm múi giờ như +07:00)"),
    "duration": ("not a duration in whole or decimal seconds", "không phải thời lượng tính bằng giây"),
    "submission_id": ("the submission id is blank", "mã phiếu bị bỏ trống"),
    "required": ("required answer is blank", "câu bắt buộc bị bỏ trống"),
    "not_relevant": ("answered although the question did not apply", "có trả lời dù câu hỏi không áp dụng"),
    "constraint": ("breaks the item's constraint", "không thỏa điều kiện của câu hỏi"),
    "choice_filter": ("does not belong to the answer it depends on", "không thuộc lựa chọn của câu trước"),
    "duplicate_conflict": ("same submission id as another row with different answers",
                           "trùng mã phiếu với dòng khác nhưng khác câu trả lời"),
    "review": ("rejected in the review on the data-collection server (KoboToolbox validation status, ODK Central "
               "review state); wave.yaml 'review:' says which states are rejected",
               "bị từ chối khi duyệt trên máy chủ thu thập (trạng thái duyệt của KoboToolbox/ODK Central); "
               "mục 'review:' trong wave.yaml quy định trạng thái nào bị từ chối"),
}


def choice_lookup(spec: InstrumentSpec, list_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(exact codes, folded-key → code) for one list; keys shared by two codes are left out."""
    choices = spec.choices.get(list_name, ())
    exact = {c.code: c.code for c in choices}
    keyed: dict[str, str | None] = {}

    def add(key: str, code: str) -> None:
        if key:
            keyed[key] = code if keyed.get(key, code) == code else None

    for c in choices:
        add(choice_key(c.code), c.code)
        for label in (c.label_vi, c.label_en):
            if label:
                add(choice_key(label), c.code)
                # "Không biết / không trả lời": either half means the same missing code.
                if c.missing and " / " in label:
                    for part in label.split(" / "):
                        add(choice_key(part), c.code)
    return exact, {k: v for k, v in keyed.items() if v is not None}


@dataclass
class _Converted:
    typed: pd.DataFrame
    canonical: pd.DataFrame
    failures: list[pd.DataFrame]


def failure_rows(rows: pd.Index, column: str, values: pd.Series, rule: str, detail_en: str = "", detail_vi: str = "") -> pd.DataFrame:
    en, vi = RULES[rule]
    return pd.DataFrame({
        "_row": rows, "column": column, "value": values.loc[rows].astype(str).to_numpy(), "rule": rule,
        "message_en": f"{en}{detail_en}", "message_vi": f"{vi}{detail_vi}",
    })


def _numeric_values(spec: InstrumentSpec, list_name: str) -> dict[str, str]:
    """``{"1": "yes", "0": "no"}`` from the choices' ``value``; empty when two codes share a value."""
    values = {str(int(c.value)) if float(c.value).is_integer() else str(c.value): c.code
              for c in spec.choices.get(list_name, ()) if c.value is not None}
    return values if len(values) == len({c.code for c in spec.choices.get(list_name, ()) if c.value is not None}) else {}


def _select_codes(frame: pd.DataFrame, items: Sequence[ItemSpec], spec: InstrumentSpec,
                  sav_labels: Mapping[str, pd.Series], sav_rows: pd.Series) -> tuple[dict[str, pd.Series], pd.DataFrame | None]:
    """Codes for every select_one column at once (one dictionary look-up per distinct value).

    Order of evidence: the exact code; the folded code or label (vi/en, case, NFC and spaces
    ignored); for SPSS rows, the value label of the stored number wins, and a number with no
    label stands for the choice whose ``value`` it is (SPSS cannot store codes such as "yes").
    Returns ``{item: codes}`` and the ``choice`` failures (None when there are none).
    """
    names = [it.name for it in items]
    idx = frame.index
    arr = frame[names].to_numpy(dtype=object)
    n_cols = arr.shape[1]
    # Row after row in one flat array (blank: -1): the order the failures are listed in.
    value_id, distinct_values = pd.factorize(arr.ravel())
    present = value_id >= 0
    if not present.any():
        return {n: pd.Series(None, index=idx, dtype="string") for n in names}, None
    lists = np.array([it.list_name or "" for it in items], dtype=object)
    exact_map, key_map, value_map = {}, {}, {}
    for ln in dict.fromkeys(lists):
        exact, keyed = choice_lookup(spec, ln)
        exact_map.update({f"{ln}\x1f{k}": v for k, v in exact.items()})
        key_map.update({f"{ln}\x1f{k}": v for k, v in keyed.items()})
        value_map.update({f"{ln}\x1f{k}": v for k, v in _numeric_values(spec, ln).items()})
    # Each distinct (choice list, value) is looked up once: millions of cells, a few thousand pairs.
    list_id, list_names = pd.factorize(lists)
    n_lists = len(list_names)
    key = (value_id.reshape(arr.shape).astype(np.int64) * n_lists + list_id).ravel()  # list by column: broadcast
    # The pairs that occur, in key order (no hashing). A blank's key is negative (-n_lists to -1):
    # it indexes the n_lists entries at the end, so no pass picks the present cells out.
    n_keys = len(distinct_values) * n_lists
    seen = np.zeros(n_keys + n_lists, dtype=bool)
    seen[key] = True
    pairs = np.flatnonzero(seen[:n_keys])
    which = np.append(np.cumsum(seen[:n_keys]) - 1, np.full(n_lists, -1))[key]  # a cell's pair; blank: -1
    pair_prefix = pd.Series(np.asarray(list_names, dtype=object)[pairs % n_lists], dtype="string") + "\x1f"
    pair_values = pd.Series(np.asarray(distinct_values, dtype=object)[pairs // n_lists], dtype="string")
    pair_codes = (pair_prefix + pair_values).map(exact_map).astype(object)
    pair_codes = pair_codes.where(pair_codes.notna(), (pair_prefix + choice_keys(pair_values)).map(key_map).astype(object))
    # Each column is a gather from the few distinct codes (-1: blank or not a choice).
    if not sav_labels and not sav_rows.any():  # every cell's code is its pair's: no per-cell objects
        pair_code_id, distinct_codes = pd.factorize(pair_codes)
        position = np.append(pair_code_id, -1)[which]  # blank (-1) takes the -1 at the end
    else:
        cells = np.flatnonzero(present)
        code_id, distinct_codes = pd.factorize(_sav_codes(pair_codes, pair_values, pair_prefix, which[cells], arr.shape,
                                                          present.reshape(arr.shape), cells // n_cols, names,
                                                          sav_labels, sav_rows, key_map, value_map))
        position = np.full(len(value_id), -1, dtype=np.intp)
        position[cells] = code_id
    failed = np.flatnonzero(present & (position < 0))
    position = position.reshape(arr.shape)
    choices = pd.array(np.asarray(distinct_codes, dtype=object), dtype="string")
    result = {n: pd.Series(choices.take(position[:, k], allow_fill=True), index=idx) for k, n in enumerate(names)}
    if not len(failed):
        return result, None
    en, vi = RULES["choice"]
    detail = {ln: ", ".join(ch.code for ch in spec.choices.get(ln, ())[:12]) for ln in dict.fromkeys(lists)}
    r, c = np.divmod(failed, n_cols)
    fail_lists = lists[c]
    failures = pd.DataFrame({
        "_row": idx[r], "column": np.array(names, dtype=object)[c],
        "value": pair_values.to_numpy(dtype=object)[which[failed]], "rule": "choice",
        "message_en": [f"{en} '{ln}' (codes: {detail[ln]})" for ln in fail_lists],
        "message_vi": [f"{vi} '{ln}' (mã: {detail[ln]})" for ln in fail_lists],
    })
    return result, failures


def _sav_codes(pair_codes: pd.Series, pair_values: pd.Series, pair_prefix: pd.Series, which: np.ndarray,
               shape: tuple[int, int], present: np.ndarray, r: np.ndarray, names: list[str],
               sav_labels: Mapping[str, pd.Series], sav_rows: pd.Series, key_map: dict, value_map: dict) -> pd.Series:
    """Per present cell, the code of `_select_codes` when SPSS rows are among them: a value
    label's choice wins, then the exact or folded code, then the choice whose value it is."""
    codes = pd.Series(pair_codes.to_numpy(dtype=object)[which], dtype=object)
    vals = pd.Series(pair_values.to_numpy(dtype=object)[which], dtype="string")
    prefix = pd.Series(pair_prefix.to_numpy(dtype=object)[which], dtype="string")
    if sav_labels:
        labels = np.full(shape, None, dtype=object)
        for k, n in enumerate(names):
            if n in sav_labels:
                labels[:, k] = sav_labels[n].to_numpy(dtype=object)
        lab = pd.Series(labels[present], dtype="string")
        via_label = (prefix + choice_keys(lab)).map(key_map).astype(object)
        codes = via_label.where(via_label.notna(), codes)
    if sav_rows.any():
        in_sav = sav_rows.to_numpy(dtype=bool)[r]
        via_value = (prefix + vals).map(value_map).astype(object).where(in_sav, None)
        codes = codes.where(codes.notna(), via_value)
    return codes


def convert_items(frame: pd.DataFrame, spec: InstrumentSpec, sav_labels: Mapping[str, pd.Series],
             sav_rows: pd.Series) -> _Converted:
    """Type every item column of *frame* (strings, None = blank); collect failures."""
    typed: dict[str, pd.Series] = {}
    canon: dict[str, pd.Series] = {}
    failures: list[pd.DataFrame] = []
    idx = frame.index
    selects, select_failures = _select_codes(frame, [it for it in spec.items if it.kind == "select_one"], spec,
                                             sav_labels, sav_rows)
    if select_failures is not None:
        failures.append(select_failures)
    for it in spec.items:
        raw = frame[it.name] if it.name in frame.columns else pd.Series(None, index=idx, dtype=object)
        present = raw.notna()
        kind = it.kind
        if kind == "select_one":
            typed[it.name] = selects[it.name]
            codes = typed[it.name]
        elif kind == "select_multiple":
            # Space-separated codes (Kobo) or labels; every token must map. Not used by the
            # current instruments, kept so a new instrument version does not need new code.
            exact, keyed = choice_lookup(spec, it.list_name or "")
            tokens = raw.dropna().astype(str).str.split().explode()
            mapped = tokens.map(exact).astype(object)
            mapped = mapped.where(mapped.notna(), choice_keys(tokens).map(keyed).astype(object))
            ok_rows = mapped.notna().groupby(level=0).all()
            joined = mapped.groupby(level=0).agg(lambda p: " ".join(p.astype(str)))
            codes = pd.Series(None, index=idx, dtype=object)
            good_rows = ok_rows[ok_rows].index
            codes.loc[good_rows] = joined.loc[good_rows]
            failed = present & codes.isna()
            if failed.any():
                listed = ", ".join(c.code for c in spec.choices.get(it.list_name or "", ())[:12])
                failures.append(failure_rows(idx[failed], it.name, raw, "choice",
                                            f" '{it.list_name}' (codes: {listed})", f" '{it.list_name}' (mã: {listed})"))
            typed[it.name] = codes.astype("string")
        elif kind in ("integer", "decimal", "range"):
            text = raw[present].astype(str)
            good = text.str.fullmatch(_INT if kind == "integer" else DECIMAL)
            # Vietnamese writes 1.234 for one thousand two hundred and thirty-four and 4,5 for four
            # and a half: a dot- or comma-grouped number is refused even where it would parse as a
            # decimal ("1.234"), because its meaning depends on who typed it.
            thousands = text.str.fullmatch(_THOUSANDS)
            comma = text.str.fullmatch(_DEC_COMMA) & ~thousands
            bad = ~good | thousands
            other = bad & ~thousands & ~comma
            for rule, mask in (("thousands_separator", thousands), ("decimal_comma", comma),
                               ("integer" if kind == "integer" else "decimal", other)):
                if mask.any():
                    failures.append(failure_rows(mask[mask].index, it.name, raw, rule))
            ok = text[~bad]
            if kind == "integer":
                col = pd.Series(pd.NA, index=idx, dtype="Int64")
                col.loc[ok.index] = ok.astype("int64").to_numpy()
            else:
                col = pd.Series(np.nan, index=idx, dtype="float64")
                col.loc[ok.index] = ok.astype(float).to_numpy()
            typed[it.name] = col
            codes = col.astype("string")
        elif kind in ("date", "today"):
            text = raw[present].astype(str)
            # One strict parse per distinct value (a wave has few distinct dates).
            parsed = {v: _parse_date(v) for v in text.unique()}
            stamp = text.map(parsed)
            bad = stamp.isna()
            if bad.any():
                failures.append(failure_rows(bad[bad].index, it.name, raw, "date"))
            col = pd.Series(pd.NaT, index=idx, dtype="datetime64[us]")
            good = stamp[~bad]
            if len(good):
                col.loc[good.index] = pd.to_datetime(good.astype(str), format="%Y-%m-%d").astype("datetime64[us]").to_numpy()
            typed[it.name] = col
            codes = col.dt.strftime("%Y-%m-%d").astype("string")
        elif kind in ("start", "end", "datetime"):
            col, bad = parse_datetimes(raw, LOCAL_UTC_OFFSET)
            if bad.any():
                failures.append(failure_rows(bad[bad].index, it.name, raw, "datetime"))
            typed[it.name] = col
            codes = utc_text(col)
        elif kind == "time":
            col, bad = parse_times(raw, LOCAL_UTC_OFFSET)
            if bad.any():
                failures.append(failure_rows(bad[bad].index, it.name, raw, "time"))
            typed[it.name] = col
            codes = col.map(lambda t: t.isoformat(), na_action="ignore").astype("string")
        else:  # text, calculate, anything else: text as received (normalised)
            typed[it.name] = raw.astype("string")
            codes = typed[it.name]
        # Canonical text for duplicate detection: the converted value, or the raw text marked
        # as unconverted, so two rows differing only in an invalid cell are not "the same".
        canonical = codes.to_numpy(dtype=object, na_value="")
        unconverted = present.to_numpy(dtype=bool) & codes.isna().to_numpy(dtype=bool)
        if unconverted.any():
            canonical[unconverted] = ("\x00" + raw[unconverted].astype("string")).to_numpy(dtype=object)
        canon[it.name] = pd.Series(canonical, index=idx, dtype=object)
    return _Converted(pd.DataFrame(typed, index=idx), pd.DataFrame(canon, index=idx), failures)


def _parse_date(text: str) -> str | None:
    """``YYYY-MM-DD`` (optionally at midnight, as Excel date cells come) or ``dd/mm/yyyy``; None if not a real date."""
    m = _DATE_ISO.fullmatch(text)
    if m:
        y, mo, d = m.groups()
    else:
        m = _DATE_VN.fullmatch(text)
        if not m:
            return None
        d, mo, y = m.groups()
    try:
        return dt.date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def parse_datetimes(raw: pd.Series, naive_tz: dt.tzinfo) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 strings → UTC timestamps (µs); naive values are in *naive_tz*. (values, failed)."""
    present = raw.notna()
    text = raw[present].astype(str)
    ok = text.str.fullmatch(_DATETIME)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    good = text[ok]
    if len(good):
        aware = good.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$")
        if aware.any():
            zoned = pd.to_datetime(good[aware], format="ISO8601", utc=True)
            out.loc[good[aware].index] = zoned.astype("datetime64[us, UTC]").array
        if (~aware).any():
            local = pd.to_datetime(good[~aware], format="ISO8601").dt.tz_localize(naive_tz).dt.tz_convert("UTC")
            # .array, not .to_numpy(): a zoned column as NumPy is one Timestamp object per value.
            out.loc[good[~aware].index] = local.astype("datetime64[us, UTC]").array
    failed = pd.Series(False, index=raw.index)
    failed.loc[text[~ok].index] = True
    return out, failed


def utc_text(col: pd.Series) -> pd.Series:
    """``col.astype("string")`` of UTC timestamps (µs), from numpy's formatter when every value
    is a whole second (pandas formats each timestamp in Python: 0.9 s per 320-thousand-row column)."""
    stamps = col.array._ndarray if str(col.dtype) == "datetime64[us, UTC]" else None
    if stamps is None or (stamps[~np.isnat(stamps)].view("int64") % 1_000_000).any():
        return col.astype("string")
    text = pd.Series(np.datetime_as_string(stamps, unit="s").astype(object), index=col.index, dtype="string")
    return (text.str.replace("T", " ", regex=False) + "+00:00").where(col.notna())


def parse_times(raw: pd.Series, local_tz: dt.tzinfo) -> tuple[pd.Series, pd.Series]:
    """Times of day (``HH:MM[:SS[.fff]]``, optional offset as ODK writes it) → `datetime.time`
    in *local_tz* (an offset is converted to local time, then dropped). (values, failed)."""
    present = raw.notna()
    text = raw[present].astype(str)
    ok = text.str.fullmatch(_TIME)
    out = pd.Series(None, index=raw.index, dtype=object)
    good = text[ok]
    failed = pd.Series(False, index=raw.index)
    failed.loc[text[~ok].index] = True
    if len(good):
        # On a fixed day, so the clock can be checked (25:00 fails) and offsets converted.
        stamp = "2000-01-03T" + good.str.replace(r"^(\d):", r"0\1:", regex=True)
        aware = good.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$")
        for mask in (aware, ~aware):
            if not mask.any():
                continue
            parsed = pd.to_datetime(stamp[mask], format="ISO8601", errors="coerce", utc=bool(mask is aware))
            if mask is aware:
                parsed = parsed.dt.tz_convert(local_tz)
            bad = parsed.isna()
            failed.loc[parsed[bad].index] = True
            out.loc[parsed[~bad].index] = parsed[~bad].dt.time.to_numpy(dtype=object)
    return out, failed
