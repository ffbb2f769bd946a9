"""Import: formats, encodings, normalisation, headers, conversion, storage, CLI.

Fixtures are built here from one small answer set generated from the instrument
(`test_ingest_fixtures.answers`), then saved in each format or spoiled in one way.
"""

from __future__ import annotations

import hashlib
import json
import stat
import unicodedata
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_ingest_fixtures import answers, meta_for, spec_of, write_csv, write_forms_xlsx, write_kobo_xlsx, write_sav

from analysis.ingest import importer as ingest
from analysis.ingest.importer import IngestError, import_wave
from analysis.ingest.messages import column_letter

MEMBER = spec_of("member")
UNIT = spec_of("unit")


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _run(tmp_path: Path, files, spec=MEMBER, wave="2026", **kw):
    meta = kw.pop("meta", meta_for(spec, wave))
    return import_wave(spec.name, wave, files, meta=meta, data_dir=tmp_path / "data", **kw)


def _problems(exc: pytest.ExceptionInfo) -> list[tuple[str, str]]:
    return [(p.code, p.en) for p in exc.value.problems]


def _scale(spec=MEMBER, k=0) -> str:
    return spec.scale_items[k].name


def _comment(spec=MEMBER) -> str:
    return spec.by_role("comment")[0].name


# --------------------------------------------------------------------------------------------
# The same answers in every format and encoding give the same bytes
# --------------------------------------------------------------------------------------------
WRITERS = {
    "csv-utf8": lambda a, s, p: write_csv(a, p, "utf-8"),
    "csv-utf8-bom": lambda a, s, p: write_csv(a, p, "utf-8-sig"),
    "csv-semicolon": lambda a, s, p: write_csv(a, p, "utf-8", delimiter=";"),
    "txt-utf16-tab": lambda a, s, p: write_csv(a, p, "utf-16"),
    "csv-cp1258": lambda a, s, p: write_csv(a, p, "cp1258"),
    "xlsx-kobo": lambda a, s, p: write_kobo_xlsx(a, s, p),
    "xlsx-kobo-labels": lambda a, s, p: write_kobo_xlsx(a, s, p, labels=True),
    "xlsx-forms-labels": lambda a, s, p: write_forms_xlsx(a, s, p),
    "sav": lambda a, s, p: write_sav(a, s, p),
}


@pytest.mark.parametrize("spec", [MEMBER, UNIT], ids=["member", "unit"])
def test_same_answers_in_every_format_give_byte_identical_parquet(tmp_path, spec):
    a = answers(spec)
    digests, frames = {}, {}
    for fmt, writer in WRITERS.items():
        folder = tmp_path / fmt
        folder.mkdir()
        # Same file name everywhere (the format is recognised from the content), because the
        # file name is part of the data (_source_file).
        path = writer(a, spec, folder / "export")
        result = import_wave(spec.name, "2026", [path], meta=meta_for(spec), data_dir=folder / "data")
        assert (result.rows_read, result.accepted, result.quarantined, result.dropped) == (6, 6, 0, 0), fmt
        digests[fmt] = _sha(result.parquet_path)
        frames[fmt] = pd.read_parquet(result.parquet_path)
    assert len(set(digests.values())) == 1, digests
    data = frames["csv-utf8"]
    # The answers are the generated codes, exactly (labels in the Forms file mapped back).
    for it in spec.items:
        expected = a[it.name]
        if it.kind in ("select_one", "text"):
            assert data[it.name].astype(object).where(data[it.name].notna(), None).tolist() == expected.tolist(), it.name
        elif it.kind == "integer":
            got = data[it.name].astype(object).where(data[it.name].notna(), None).tolist()
            assert got == [None if v is None else int(v) for v in expected], it.name
    assert data["_submission_id"].tolist() == a["_submission_id"].tolist()
    assert str(data["_submitted_at"].dtype) == "datetime64[us, UTC]"
    assert data["_submitted_at"].iloc[0] == pd.Timestamp("2026-03-02T01:15:00Z")
    assert data["_source_row"].tolist() == [2, 3, 4, 5, 6, 7]
    assert list(data.columns) == ingest.processed_columns(spec)


def test_processed_dtypes_follow_the_contract(tmp_path):
    a = answers(UNIT)
    r = _run(tmp_path, [write_csv(a, tmp_path / "u.csv")], spec=UNIT)
    data = pd.read_parquet(r.parquet_path)
    kinds = {it.name: it.kind for it in UNIT.items}
    assert {str(data[n].dtype) for n, k in kinds.items() if k == "integer"} == {"Int64"}
    assert {str(data[n].dtype) for n, k in kinds.items() if k == "select_one"} == {"string"}
    assert {str(data[n].dtype) for n, k in kinds.items() if k == "date"} == {"datetime64[us]"}
    assert str(data["_source_row"].dtype) == "Int64"
    assert {str(data[c].dtype) for c in ingest.FLAG_COLUMNS} == {"bool"}


def test_kobo_duration_comes_from_start_and_end_items(tmp_path):
    a = answers(MEMBER)
    r = _run(tmp_path, [write_kobo_xlsx(a, MEMBER, tmp_path / "kobo.xlsx")])
    data = pd.read_parquet(r.parquet_path)
    # The generator gives row j an interview of 600 + 60 j seconds.
    assert data["_duration_s"].tolist() == [600.0 + 60 * j for j in range(6)]


def test_without_an_id_column_the_unit_code_identifies_a_unit_form(tmp_path):
    a = answers(UNIT, n=3).drop(columns=["_submission_id"])
    r = _run(tmp_path, [write_csv(a, tmp_path / "units.csv")], spec=UNIT)
    unit = UNIT.by_role("unit")[0].name
    data = pd.read_parquet(r.parquet_path)
    assert data["_submission_id"].tolist() == data[unit].tolist() == sorted(a[unit])
    assert [m.code for m in r.messages if m.code.startswith("submission_id")] == ["submission_id_from_unit"]


def test_without_an_id_column_member_ids_are_derived_from_the_answers(tmp_path):
    a = answers(MEMBER, n=3).drop(columns=["_submission_id"])
    r1 = _run(tmp_path / "1", [write_csv(a, tmp_path / "m.csv")])
    r2 = _run(tmp_path / "2", [write_kobo_xlsx(a.assign(_submission_id=None), MEMBER, tmp_path / "m.xlsx")])
    ids = pd.read_parquet(r1.parquet_path)["_submission_id"].tolist()
    assert all(i.startswith("row-") and i.endswith("-1") and len(i) == 22 for i in ids)
    assert sorted(pd.read_parquet(r2.parquet_path)["_submission_id"]) == sorted(ids)  # same answers, same ids
    assert [m.code for m in r1.messages if m.code.startswith("submission_id")] == ["submission_id_derived"]


def test_kobo_group_prefixes_map_whatever_the_group_names(tmp_path):
    a = answers(MEMBER, n=2)
    base = _run(tmp_path / "a", [write_csv(a, tmp_path / "a.csv")])
    renamed = a.rename(columns={it.name: f"grp_a/sub/{it.name}" for it in MEMBER.items[:5]})
    other = _run(tmp_path / "b", [write_csv(renamed, tmp_path / "a.csv")])
    assert _sha(base.parquet_path) == _sha(other.parquet_path)


def test_spss_user_missing_values_are_blank_unless_labelled_as_a_missing_choice(tmp_path):
    a = answers(UNIT, n=3)
    count = next(it for it in UNIT.items if it.kind == "integer" and not it.relevant and "${" not in (it.constraint or ""))
    a.loc[1, count.name] = "-9"
    path = write_sav(a, UNIT, tmp_path / "u.sav")
    import pyreadstat
    df, meta = pyreadstat.read_sav(str(path), user_missing=True)
    pyreadstat.write_sav(df, str(path), variable_value_labels=meta.variable_value_labels,
                         missing_ranges={**{k: v for k, v in (meta.missing_ranges or {}).items()}, count.name: [-9.0]})
    r = _run(tmp_path, [path], spec=UNIT)
    assert [m.en for m in r.messages if m.code == "user_missing"] == [
        f"column {count.name!r}: 1 SPSS user-missing value(s) read as blank"]
    # Blank where the answer is required: reported as such, not as the number -9.
    assert r.failures[["row", "column", "value", "rule"]].to_dict("records") == [
        {"row": 3, "column": count.name, "value": "", "rule": "required"}]


def test_identifiers_stay_text(tmp_path):
    a = answers(MEMBER, n=2)
    a["_submission_id"] = ["001", "1"]
    r = _run(tmp_path, [write_csv(a, tmp_path / "ids.csv")])
    assert sorted(pd.read_parquet(r.parquet_path)["_submission_id"]) == ["001", "1"]


# --------------------------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------------------------
def test_shift_jis_is_refused_with_a_message(tmp_path):
    a = answers(MEMBER, n=2)
    path = tmp_path / "sjis.csv"
    text = write_csv(a, tmp_path / "tmp.csv").read_text(encoding="utf-8")
    path.write_bytes(text.replace("Cần đổi mới", "日本語のテキスト").encode("shift_jis", errors="replace"))
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    (code, en), = _problems(exc)
    assert code == "encoding"
    assert exc.value.problems[0].file == "sjis.csv"
    assert en.startswith("the text encoding is not supported (tried strictly: utf-8, cp1258;") or \
        "contains characters that do not occur in Vietnamese" in en
    assert not (tmp_path / "data").exists()  # nothing written


def test_random_bytes_and_nul_bytes_are_refused(tmp_path):
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    assert _problems(exc)[0][0] == "encoding"
    assert "NUL bytes but no UTF-16 byte-order mark" in _problems(exc)[0][1]


def test_cp1258_text_that_is_not_vietnamese_is_refused(tmp_path):
    path = tmp_path / "cyrillic.csv"
    path.write_bytes("a,b\nПривет,мир\n".encode("cp1251"))
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    (code, en), = _problems(exc)
    assert code == "encoding" and "read as Windows-1258 it contains characters that do not occur in Vietnamese" in en


# Our own TCVN3 and VNI encodings of a handful of letters (independent of the detector's tables).
TCVN3 = {"à": "µ", "ộ": "é", "ệ": "Ö", "ả": "¶", "Đ": "§", "ô": "«", "đ": "®", "ố": "è", "ư": "\xad", "ờ": "ê",
         "ơ": "¬", "ế": "Õ", "ị": "Þ", "ê": "ª", "ổ": "æ", "ớ": "í", "á": "¸", "ã": "·", "ủ": "ñ", "ĩ": "Ü",
         "ạ": "¹", "ể": "Ó", "ă": "¨", "ố": "è", "ồ": "å", "ơ": "¬"}
VNI = {"à": "aø", "ộ": "oä", "ệ": "eä", "ả": "aû", "Đ": "Ñ", "ô": "oâ", "đ": "ñ", "ố": "oá", "ư": "ö", "ờ": "ôø",
       "ơ": "ô", "ế": "eá", "ị": "ò", "ê": "eâ", "ổ": "oå", "á": "aù", "ã": "aõ", "ủ": "uû", "ĩ": "ó", "ớ": "ôù",
       "ạ": "aï", "ể": "eå", "ă": "aê", "ố": "oá", "ồ": "oà"}


def _legacy(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFC", text))


@pytest.mark.parametrize("scheme,table", [("TCVN3", TCVN3), ("VNI", VNI)])
def test_legacy_font_text_is_refused_naming_file_column_and_rows(tmp_path, scheme, table):
    a = answers(MEMBER, n=4)
    comment = _comment()
    a.loc[1, comment] = _legacy("Đổi mới hoạt động đoàn thể", table)
    a.loc[3, comment] = _legacy("Tăng cường đối thoại", table)
    path = write_csv(a, tmp_path / "legacy.csv")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    (code, en), = _problems(exc)
    assert code == "legacy_encoding"
    assert exc.value.problems[0].file == "legacy.csv"
    assert en.startswith(f"column {comment!r}: 2 cell(s) are {scheme} legacy-font text, e.g. row 3: ")
    assert "(= 'Đổi mới hoạt động đoàn thể')" in en and "row 5:" in en
    assert f"source {scheme}" in en


def test_tcvn3_bytes_read_as_cp1258_are_recognised(tmp_path):
    # A CSV saved by an old office PC: the bytes themselves are TCVN3 (invalid UTF-8).
    a = answers(MEMBER, n=2)
    comment = _comment()
    text = write_csv(a, tmp_path / "tmp.csv").read_text(encoding="utf-8")
    text = text.replace("Cần đổi mới hình thức sinh hoạt", _legacy("Hà Nội và Nghệ An", TCVN3))
    (tmp_path / "tcvn.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [tmp_path / "tcvn.csv"])
    code, en = _problems(exc)[0]
    assert {c for c, _ in _problems(exc)} == {"legacy_encoding"}
    assert en.startswith(f"column {comment!r}: 1 cell(s) are TCVN3 legacy-font text, e.g. row 2: 'Hµ Néi vµ NghÖ An' "
                         "(= 'Hà Nội và Nghệ An')")


def test_legacy_text_in_xlsx_is_refused(tmp_path):
    a = answers(MEMBER, n=3)
    a.loc[0, _comment()] = _legacy("Cộng đồng đoàn viên", VNI)
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [write_kobo_xlsx(a, MEMBER, tmp_path / "kobo.xlsx")])
    assert _problems(exc)[0][0] == "legacy_encoding" and "row 2: " in _problems(exc)[0][1]


# --------------------------------------------------------------------------------------------
# Normalisation and label mapping
# --------------------------------------------------------------------------------------------
def test_nfd_text_labels_case_and_nbsp_map_to_the_same_codes(tmp_path):
    a = answers(MEMBER, n=3)
    base = _run(tmp_path / "a", [write_csv(a, tmp_path / "a.csv")])
    b = a.copy()
    scale = _scale()
    choices = {c.code: c for c in MEMBER.choices[MEMBER.item(scale).list_name]}
    # Row 0: the Vietnamese label in NFD; row 1: the English label upper case; row 2: NBSP inside the label.
    b.loc[0, scale] = unicodedata.normalize("NFD", choices[b.loc[0, scale]].label_vi)
    b.loc[1, scale] = choices[b.loc[1, scale]].label_en.upper()
    b.loc[2, scale] = choices[b.loc[2, scale]].label_vi.replace(" ", "\u00a0", 1)
    b.loc[0, _comment()] = unicodedata.normalize("NFD", b.loc[0, _comment()])
    other = _run(tmp_path / "b", [write_csv(b, tmp_path / "a.csv")])
    assert _sha(base.parquet_path) == _sha(other.parquet_path)
    assert pd.read_parquet(other.parquet_path)[_comment()].iloc[0] == "Cần đổi mới hình thức sinh hoạt"


def test_khong_biet_maps_to_the_missing_code(tmp_path):
    a = answers(MEMBER, n=2)
    scale = _scale()
    dk = [c for c in MEMBER.choices[MEMBER.item(scale).list_name] if c.missing][0]
    a.loc[0, scale] = "Không biết"
    a.loc[1, scale] = dk.label_vi
    r = _run(tmp_path, [write_csv(a, tmp_path / "dk.csv")])
    assert pd.read_parquet(r.parquet_path)[scale].tolist() == [dk.code, dk.code]


def test_unknown_label_quarantines_the_row_with_the_label(tmp_path):
    a = answers(MEMBER, n=3)
    scale = _scale()
    a.loc[1, scale] = "Rất đồng ý"
    r = _run(tmp_path, [write_csv(a, tmp_path / "labels.csv")])
    assert (r.accepted, r.quarantined, r.dropped) == (2, 1, 0)
    f = r.failures
    assert f[["file", "row", "column", "value", "rule"]].to_dict("records") == [
        {"file": "labels.csv", "row": 3, "column": scale, "value": "Rất đồng ý", "rule": "choice"}]
    assert f["message_en"].iloc[0].startswith("not a code or label of the item's choice list 'agree5' (codes: 1, 2, 3, 4, 5, 9)")
    q = pd.read_csv(r.quarantine_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert q.loc[0, "rule"] == "choice" and q.loc[0, scale] == "Rất đồng ý" and q.loc[0, "row"] == "3"


def test_decimal_comma_and_thousands_dot_are_errors_not_conversions(tmp_path):
    a = answers(UNIT, n=4)
    counts = [it.name for it in UNIT.items if it.kind == "integer" and not it.relevant][1:3]
    a.loc[0, counts[0]] = "4,5"
    a.loc[2, counts[1]] = "1.234"
    a.loc[3, counts[1]] = "4.5"
    r = _run(tmp_path, [write_csv(a, tmp_path / "numbers.csv")], spec=UNIT)
    got = r.failures[["row", "column", "value", "rule"]].to_dict("records")
    assert {"row": 2, "column": counts[0], "value": "4,5", "rule": "decimal_comma"} in got
    assert {"row": 4, "column": counts[1], "value": "1.234", "rule": "thousands_separator"} in got
    assert {"row": 5, "column": counts[1], "value": "4.5", "rule": "integer"} in got
    assert r.quarantined == 3 and r.accepted == 1


def test_control_characters_are_removed_and_logged(tmp_path):
    a = answers(MEMBER, n=2)
    a.loc[0, _comment()] = "Cần\x07 đổi\u200b mới"
    r = _run(tmp_path, [write_csv(a, tmp_path / "ctl.csv")])
    assert pd.read_parquet(r.parquet_path)[_comment()].iloc[0] == "Cần đổi mới"
    logged = [m for m in r.messages if m.code == "control_characters"]
    assert [m.en for m in logged] == [f"column {_comment()!r}: control or invisible characters removed in 1 cell(s) (rows 2)"]


# --------------------------------------------------------------------------------------------
# Headers and rows
# --------------------------------------------------------------------------------------------
def test_unknown_and_missing_columns_are_file_level_errors(tmp_path):
    a = answers(MEMBER, n=2)
    gone = _scale(k=3)
    a = a.drop(columns=[gone]).assign(**{"Ghi chú thêm": ["x", "y"]})
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [write_csv(a, tmp_path / "cols.csv")])
    problems = dict(_problems(exc))
    assert set(problems) == {"unknown_column", "missing_column"}
    assert problems["unknown_column"].startswith(
        "1 column(s) match no item of instrument member v1 by name, group path or exact question text: "
        f"{column_letter(len(a.columns) - 1)} 'Ghi chú thêm' — rename them")
    assert problems["missing_column"].startswith(f"1 item(s) of instrument member v1 have no column: {gone} — export")
    assert not (tmp_path / "data").exists()


def test_two_row_header_is_refused(tmp_path):
    a = answers(MEMBER, n=2)
    path = write_csv(a, tmp_path / "two.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    titles = ",".join(["Phần I"] + [""] * (len(a.columns) - 1))
    path.write_text("\n".join([titles, *lines]) + "\n", encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    codes = [c for c, _ in _problems(exc)]
    assert codes[0] == "header" and "have data but no header in row 1 (a two-row or merged header?)" in _problems(exc)[0][1]


def test_two_row_header_with_group_titles_everywhere_is_named(tmp_path):
    a = answers(MEMBER, n=2)
    path = write_csv(a, tmp_path / "two.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    titles = ",".join(f"Nhóm {i}" for i in range(len(a.columns)))
    path.write_text("\n".join([titles, *lines]) + "\n", encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    assert [c for c, _ in _problems(exc)] == ["two_row_header", "missing_column"]
    assert "the file has a two-row header — delete row 1" in _problems(exc)[0][1]


def test_merged_header_cells_are_refused(tmp_path):
    a = answers(MEMBER, n=2)
    path = write_kobo_xlsx(a, MEMBER, tmp_path / "merged.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active.insert_rows(1)
    wb.active["A1"] = "Phần I"
    wb.active.merge_cells("A1:C1")
    wb.save(path)
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    (code, en), = _problems(exc)
    assert code == "merged_header"
    assert en == ("sheet 'data': merged header cells A1:C1: the header must be one row of one name per column — unmerge "
                  "the cells and delete the group-title row")


def test_blank_and_whitespace_rows_are_dropped_and_counted(tmp_path):
    a = answers(MEMBER, n=3)
    blank = pd.DataFrame([[None] * len(a.columns), ["  "] * len(a.columns)], columns=a.columns)
    b = pd.concat([a.iloc[:1], blank, a.iloc[1:], pd.DataFrame([[None] * len(a.columns)] * 2, columns=a.columns)],
                  ignore_index=True)
    r = _run(tmp_path, [write_csv(b, tmp_path / "blank.csv")])
    # Trailing blank rows are not rows; the two inside are read and dropped.
    assert (r.rows_read, r.accepted, r.quarantined, r.dropped, r.dropped_blank) == (5, 3, 0, 2, 2)
    assert [m.en for m in r.messages if m.code == "blank_rows"] == ["2 blank row(s) dropped (blank.csv:3, blank.csv:4)"]
    assert pd.read_parquet(r.parquet_path)["_source_row"].tolist() == [2, 5, 6]


# --------------------------------------------------------------------------------------------
# Validation reaches the researcher with file, row, column, value, rule
# --------------------------------------------------------------------------------------------
def test_out_of_range_constraint_required_and_skip_logic_in_one_pass(tmp_path):
    a = answers(UNIT, n=4)
    bounded = next(it for it in UNIT.items if it.constraint and "${" in it.constraint and not it.relevant)
    total = bounded.constraint.split("${")[1].split("}")[0]
    gated = next(it for it in UNIT.items if it.relevant)
    required = next(it for it in UNIT.items if it.required and not it.relevant and it.kind == "select_one" and not it.role)
    a.loc[0, bounded.name] = str(int(a.loc[0, total]) + 5)
    a.loc[1, required.name] = None
    parent = gated.relevant.split("${")[1].split("}")[0]
    a.loc[2, parent] = "no" if "yes" in gated.relevant else a.loc[2, parent]
    a.loc[2, gated.name] = a.loc[2, gated.name] or "3"
    r = _run(tmp_path, [write_csv(a, tmp_path / "rules.csv")], spec=UNIT)
    got = r.failures[["row", "column", "rule"]].to_dict("records")
    assert {"row": 2, "column": bounded.name, "rule": "constraint"} in got
    assert {"row": 3, "column": required.name, "rule": "required"} in got
    assert {"row": 4, "column": gated.name, "rule": "not_relevant"} in got
    assert r.quarantined == 3 and r.accepted == 1
    assert r.rows_read == r.accepted + r.quarantined + r.dropped


def test_unit_must_belong_to_its_organization(tmp_path):
    a = answers(MEMBER, n=3)
    unit = MEMBER.by_role("unit")[0].name
    a.loc[0, unit] = a.loc[1, unit]  # a unit of another organization
    r = _run(tmp_path, [write_csv(a, tmp_path / "cf.csv")])
    assert r.failures[["row", "column", "rule"]].to_dict("records") == [{"row": 2, "column": unit, "rule": "choice_filter"}]


def test_out_of_range_code_is_a_choice_failure(tmp_path):
    a = answers(MEMBER, n=2)
    a.loc[0, _scale()] = "7"
    r = _run(tmp_path, [write_csv(a, tmp_path / "range.csv")])
    assert r.failures[["row", "column", "value", "rule"]].to_dict("records") == [
        {"row": 2, "column": _scale(), "value": "7", "rule": "choice"}]


# --------------------------------------------------------------------------------------------
# Storage, provenance, idempotency, replacement
# --------------------------------------------------------------------------------------------
def test_raw_files_are_stored_read_only_with_sha256_and_metadata(tmp_path):
    path = write_csv(answers(MEMBER), tmp_path / "export.csv")
    r = _run(tmp_path, [path])
    stored = r.raw_dir / "export.csv"
    assert stored.read_bytes() == path.read_bytes()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444
    files = json.loads((r.raw_dir / "files.json").read_text(encoding="utf-8"))["files"]
    assert [(f["name"], f["sha256"], f["encoding"], f["rows"]) for f in files] == [("export.csv", _sha(path), "utf-8", 6)]
    wave = (r.raw_dir / "wave.yaml").read_text(encoding="utf-8")
    assert "synthetic: true" in wave and "speeder_seconds: 300.0" in wave and "fieldwork_start: '2026-03-02'" in wave
    manifest = json.loads(r.manifest_path.read_text(encoding="utf-8"))
    assert {k: manifest[k] for k in ("instrument", "wave", "instrument_version", "synthetic", "rows_read", "accepted",
                                     "quarantined", "dropped")} == {
        "instrument": "member", "wave": "2026", "instrument_version": "1", "synthetic": True, "rows_read": 6,
        "accepted": 6, "quarantined": 0, "dropped": 0}
    assert manifest["files"] == [{"name": "export.csv", "sha256": _sha(path)}]
    quality = pd.read_csv(r.quality_path)
    assert quality.set_index("metric").loc[["rows_read", "accepted", "quarantined", "dropped"], "value"].tolist() == [6, 6, 0, 0]


def test_importing_the_same_file_again_changes_nothing(tmp_path):
    path = write_csv(answers(MEMBER), tmp_path / "export.csv")
    first = _run(tmp_path, [path])
    before = {p: (p.stat().st_mtime_ns, _sha(p)) for p in first.parquet_path.parent.iterdir()}
    again = _run(tmp_path, [path])
    assert again.status == "unchanged"
    # Also without --meta (the stored wave.yaml, with its derived fieldwork dates, is reused).
    assert import_wave("member", "2026", [path], data_dir=tmp_path / "data").status == "unchanged"
    assert [m.en for m in again.messages] == [
        "wave 2026 of member is already imported from these same files (same sha256): nothing changed"]
    assert {p: (p.stat().st_mtime_ns, _sha(p)) for p in first.parquet_path.parent.iterdir()} == before


def test_a_different_file_needs_replace_and_the_old_version_is_kept(tmp_path):
    a = answers(MEMBER)
    first = _run(tmp_path, [write_csv(a, tmp_path / "v1.csv")])
    old_sha = _sha(first.parquet_path)
    second_file = write_csv(a.iloc[:4], tmp_path / "v2.csv")
    with pytest.raises(FileExistsError, match="run again with --replace"):
        _run(tmp_path, [second_file])
    second = _run(tmp_path, [second_file], replace=True)
    assert second.status == "replaced" and second.accepted == 4
    kept = [p for p in first.raw_dir.iterdir() if p.name.startswith(".replaced-")]
    assert len(kept) == 1
    assert sorted(p.name for p in kept[0].iterdir()) == ["files.json", "processed", "v1.csv", "wave.yaml"]
    assert _sha(kept[0] / "processed" / "2026.parquet") == old_sha
    assert not (first.raw_dir / "v1.csv").exists()


def test_file_level_error_writes_nothing_and_lists_every_file(tmp_path):
    a = answers(MEMBER, n=2)
    good = write_csv(a, tmp_path / "good.csv")
    bad1 = tmp_path / "bad.csv"
    bad1.write_bytes(b"\x81\x82\x00")
    bad2 = write_csv(a.drop(columns=[_scale()]), tmp_path / "short.csv")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [good, bad1, bad2])
    assert [(p.file, p.code) for p in exc.value.problems] == [("bad.csv", "encoding"), ("short.csv", "missing_column")]
    assert not (tmp_path / "data").exists()


def test_ambiguous_timestamps_are_reported_not_guessed(tmp_path):
    a = answers(MEMBER, n=2).rename(columns={"_submitted_at": "Timestamp"})
    a.loc[0, "Timestamp"] = "3/5/2026 9:00:12"
    a.loc[1, "Timestamp"] = "2026-03-02 09:15:00"
    r = _run(tmp_path, [write_csv(a, tmp_path / "forms.csv")])
    assert r.failures[["row", "column", "value", "rule"]].to_dict("records") == [
        {"row": 2, "column": "_submitted_at", "value": "3/5/2026 9:00:12", "rule": "datetime"}]
    assert "day/month order cannot be guessed" in r.failures["message_en"].iloc[0]
    # A naive Forms timestamp is Vietnam time (UTC+7).
    assert pd.read_parquet(r.parquet_path)["_submitted_at"].iloc[0] == pd.Timestamp("2026-03-02T02:15:00Z")


def test_a_header_without_rows_is_a_file_level_error(tmp_path):
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [write_csv(answers(MEMBER).iloc[:0], tmp_path / "header.csv")])
    assert _problems(exc) == [("no_rows", "the file has a header row but no data rows")]


def test_several_files_make_one_wave(tmp_path):
    a = answers(MEMBER)
    r = _run(tmp_path, [write_csv(a.iloc[:3], tmp_path / "a.csv"), write_kobo_xlsx(a.iloc[3:], MEMBER, tmp_path / "b.xlsx")])
    data = pd.read_parquet(r.parquet_path)
    assert r.accepted == 6
    assert list(zip(data["_source_file"], data["_source_row"])) == [("a.csv", 2), ("a.csv", 3), ("a.csv", 4),
                                                                   ("b.xlsx", 2), ("b.xlsx", 3), ("b.xlsx", 4)]


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def test_cli_exit_codes_and_bilingual_summary(tmp_path, capsys):
    from analysis.cli import main

    a = answers(MEMBER, n=3)
    a.loc[0, _scale()] = "Rất đồng ý"
    path = write_csv(a, tmp_path / "export.csv")
    meta = tmp_path / "wave.yaml"
    import yaml
    meta.write_text(yaml.safe_dump(meta_for(MEMBER)), encoding="utf-8")
    code = main(["add-wave", "--instrument", "member", "--wave", "2026", str(path), "--meta", str(meta),
                 "--data-dir", str(tmp_path / "data")])
    out, err = capsys.readouterr()
    assert code == 0
    assert "rows read 3 = accepted 2 + quarantined 1 + dropped 0" in out
    assert "số dòng đọc 3 = chấp nhận 2 + tạm giữ 1 + loại 0" in out
    assert "1 row(s) quarantined: fix them in the source file" in err and "1 dòng bị tạm giữ" in err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\x00\x81")
    meta.write_text(yaml.safe_dump(meta_for(MEMBER, "2027")), encoding="utf-8")
    code = main(["add-wave", "--instrument", "member", "--wave", "2027", str(bad), "--meta", str(meta),
                 "--data-dir", str(tmp_path / "data")])
    out, err = capsys.readouterr()
    assert code == 2 and "nothing was imported / chưa nhập gì" in err and "[error] bad.csv:" in err
    assert not (tmp_path / "data" / "processed" / "member" / "2027.parquet").exists()


def test_wave_metadata_must_match_the_command(tmp_path):
    path = write_csv(answers(MEMBER, n=2), tmp_path / "e.csv")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path], meta=meta_for(MEMBER, "2025"))
    assert _problems(exc) == [("wave_metadata", "wave.yaml is for member 2025, not member 2026 (the wave metadata given)")]
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path], meta={**meta_for(MEMBER), "speeders": 3})
    (code, en), = _problems(exc)
    assert code == "wave_metadata" and en.startswith("the wave metadata given: unknown key(s) ['speeders']; allowed:")
    assert not (tmp_path / "data").exists()


# --------------------------------------------------------------------------------------------
# Wave metadata: a wave is real or synthetic because wave.yaml says so, never by default
# --------------------------------------------------------------------------------------------
def _write_meta(folder: Path, **meta) -> Path:
    import yaml

    path = folder / "wave.yaml"
    path.write_text(yaml.safe_dump(meta), encoding="utf-8")
    return path


def test_without_any_wave_metadata_nothing_is_imported(tmp_path):
    path = write_csv(answers(MEMBER, n=2), tmp_path / "export.csv")
    with pytest.raises(IngestError) as exc:
        import_wave("member", "2026", [path], data_dir=tmp_path / "data")
    assert [(p.file, p.code, p.en) for p in exc.value.problems] == [(
        "export.csv", "wave_metadata",
        f"no wave metadata: give --meta wave.yaml, or put a wave.yaml beside the file (in {tmp_path}), with instrument: "
        "member, wave: '2026', instrument_version: '1' and synthetic: false for a real survey or synthetic: true for demo "
        "or test data — the import never assumes that data is real")]
    assert not (tmp_path / "data").exists()


def test_wave_yaml_must_say_whether_the_wave_is_synthetic(tmp_path):
    path = write_csv(answers(MEMBER, n=2), tmp_path / "export.csv")
    meta = {k: v for k, v in meta_for(MEMBER).items() if k != "synthetic"}
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path], meta=_write_meta(tmp_path, **meta))
    assert _problems(exc) == [("wave_metadata", f"{tmp_path / 'wave.yaml'}: missing 'synthetic': write 'synthetic: false' for "
                                                "a real survey or 'synthetic: true' for demo or test data (it is never assumed)")]


def test_the_wave_yaml_beside_the_first_file_is_used_and_named(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    path = write_csv(answers(MEMBER, n=2), folder / "export.csv")
    meta = _write_meta(folder, **meta_for(MEMBER, speeder_seconds=123))
    r = import_wave("member", "2026", [path], data_dir=tmp_path / "data")
    assert [m.en for m in r.messages if m.code == "wave_metadata"] == [
        f"wave metadata read from {meta} (beside export.csv; no --meta given)"]
    manifest = json.loads(r.manifest_path.read_text(encoding="utf-8"))
    assert (manifest["synthetic"], manifest["speeder_seconds"]) == (True, 123.0)
    # The same import again is unchanged, and still says where its metadata came from.
    again = import_wave("member", "2026", [path], data_dir=tmp_path / "data")
    assert again.status == "unchanged"
    assert [m.code for m in again.messages] == ["wave_metadata", "unchanged"]


def test_a_file_named_synthetic_is_refused_as_a_real_wave(tmp_path):
    path = write_csv(answers(MEMBER, n=2), tmp_path / "SYNTHETIC_DEMO_member_2026.csv")
    meta = _write_meta(tmp_path, **meta_for(MEMBER, synthetic=False))
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path], meta=meta)
    assert [(p.file, p.code, p.en) for p in exc.value.problems] == [(
        "SYNTHETIC_DEMO_member_2026.csv", "synthetic_file",
        f"the file declares itself synthetic demo data (the file name starts with 'SYNTHETIC_DEMO') but the wave metadata "
        f"({meta}) says synthetic: false: a synthetic file is never imported as a real wave — for demo or test data set "
        "'synthetic: true' in wave.yaml; for a real export remove the marker (rename the file, clear the workbook title and "
        "subject) and import again")]
    assert exc.value.problems[0].vi == (
        f"tệp tự ghi là dữ liệu mô phỏng (tên tệp bắt đầu bằng 'SYNTHETIC_DEMO') nhưng siêu dữ liệu đợt ({meta}) ghi "
        "synthetic: false: tệp mô phỏng không bao giờ được nhập như một đợt thật — nếu là dữ liệu mẫu hoặc thử nghiệm hãy "
        "ghi 'synthetic: true' trong wave.yaml; nếu là dữ liệu thật hãy bỏ dấu hiệu (đổi tên tệp, xóa tiêu đề và chủ đề "
        "của sổ Excel) rồi nhập lại")
    assert not (tmp_path / "data").exists()
    # Declared synthetic, it is imported.
    assert _run(tmp_path, [path], meta=meta_for(MEMBER, synthetic=True)).accepted == 2


def test_a_workbook_whose_properties_say_synthetic_is_refused_as_a_real_wave(tmp_path):
    from analysis.synthetic.io import write_text_xlsx

    a = answers(MEMBER, n=2)
    rows = [[None if v is None else str(v) for v in rec] for rec in a.itertuples(index=False)]
    # The demo's own writer and properties, under an innocent file name.
    path = write_text_xlsx(tmp_path / "export.xlsx", list(a.columns), rows, sheet="data",
                           title="SYNTHETIC DEMO — member survey 2026 (KoboToolbox-style export)", description="demo")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path], meta=meta_for(MEMBER, synthetic=False))
    assert _problems(exc) == [(
        "synthetic_file",
        "the file declares itself synthetic demo data (the workbook title is 'SYNTHETIC DEMO — member survey 2026 "
        "(KoboToolbox-style export)'; the workbook subject is 'SYNTHETIC DEMO DATA - not real survey data') but the wave "
        "metadata (the wave metadata given) says synthetic: false: a synthetic file is never imported as a real wave — for "
        "demo or test data set 'synthetic: true' in wave.yaml; for a real export remove the marker (rename the file, clear "
        "the workbook title and subject) and import again")]
    assert exc.value.problems[0].vi.startswith(
        "tệp tự ghi là dữ liệu mô phỏng (tiêu đề của sổ Excel là 'SYNTHETIC DEMO — member survey 2026 (KoboToolbox-style "
        "export)'; chủ đề của sổ Excel là 'SYNTHETIC DEMO DATA - not real survey data') nhưng")
    assert ingest.synthetic_marker(write_kobo_xlsx(a, MEMBER, tmp_path / "real.xlsx")) == ""


def test_cli_without_meta_uses_the_wave_yaml_beside_the_file_or_refuses(tmp_path, capsys):
    from analysis.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    path = write_csv(answers(MEMBER, n=2), folder / "export.csv")
    args = ["add-wave", "--instrument", "member", "--wave", "2026", str(path), "--data-dir", str(tmp_path / "data")]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert "nothing was imported / chưa nhập gì" in err and "[error] export.csv: no wave metadata: give --meta wave.yaml" in err
    meta = _write_meta(folder, **meta_for(MEMBER))
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert f"[info] wave metadata read from {meta} (beside export.csv; no --meta given)" in out


# --------------------------------------------------------------------------------------------
# Issue checklist: blank rows, merged or two-row headers, control characters — exact messages
# --------------------------------------------------------------------------------------------
def test_blank_header_cells_above_data_name_every_column(tmp_path):
    a = answers(MEMBER, n=2)
    path = write_csv(a, tmp_path / "two.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([",".join(["Phần I"] + [""] * (len(a.columns) - 1)), *lines]) + "\n", encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    problems = exc.value.problems
    cols = ", ".join(column_letter(i) for i in range(1, len(a.columns)))
    assert (problems[0].code, problems[0].en, problems[0].vi) == (
        "header",
        f"column(s) {cols} have data but no header in row 1 (a two-row or merged header?): the header must be row 1, one "
        "item name or question per column",
        f"cột {cols} có dữ liệu nhưng không có tiêu đề ở dòng 1 (tiêu đề hai dòng hoặc ô gộp?): tiêu đề phải nằm ở dòng 1, "
        "mỗi cột một tên câu hỏi")
    assert not (tmp_path / "data").exists()


def test_two_row_header_message_counts_the_columns(tmp_path):
    a = answers(MEMBER, n=2)
    path = write_csv(a, tmp_path / "two.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([",".join(f"Nhóm {i}" for i in range(len(a.columns))), *lines]) + "\n", encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    n, items = len(a.columns), len(MEMBER.items)
    assert (exc.value.problems[0].code, exc.value.problems[0].en) == (
        "two_row_header",
        f"row 2 holds the item names/questions ({items} of {n} unknown columns): the file has a two-row header — delete "
        "row 1 so the header is one row")


def test_merged_cells_in_the_data_are_refused(tmp_path):
    path = write_kobo_xlsx(answers(MEMBER, n=3), MEMBER, tmp_path / "merged.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.active.merge_cells("B3:B4")
    wb.save(path)
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, [path])
    assert [(p.code, p.en, p.vi) for p in exc.value.problems] == [(
        "merged_cells",
        "sheet 'data': merged cells B3:B4 in the data: only the first cell keeps its value — unmerge and fill every cell",
        "trang 'data': ô bị gộp B3:B4 trong vùng dữ liệu: chỉ ô đầu giữ giá trị — hãy bỏ gộp và điền đủ từng ô")]
    assert not (tmp_path / "data").exists()


def test_rows_of_invisible_characters_are_blank_rows_dropped_and_counted(tmp_path):
    a = answers(MEMBER, n=2)
    invisible = pd.DataFrame([["\u00a0"] * len(a.columns)], columns=a.columns)
    invisible.iloc[0, 2] = "\u200b \t"
    r = _run(tmp_path, [write_csv(pd.concat([a.iloc[:1], invisible, a.iloc[1:]], ignore_index=True), tmp_path / "ws.csv")])
    assert (r.rows_read, r.accepted, r.quarantined, r.dropped, r.dropped_blank) == (3, 2, 0, 1, 1)
    assert [(m.en, m.vi) for m in r.messages if m.code == "blank_rows"] == [
        ("1 blank row(s) dropped (ws.csv:3)", "đã bỏ 1 dòng trống (ws.csv:3)")]
    assert [m.en for m in r.messages if m.code == "control_characters"] == [
        f"column {a.columns[2]!r}: control or invisible characters removed in 1 cell(s) (rows 3)"]
    quality = pd.read_csv(r.quality_path).set_index("metric")["value"]
    assert (quality["dropped_blank"], quality["dropped"]) == (1, 1)


def test_control_characters_are_counted_per_column_with_rows(tmp_path):
    a = answers(MEMBER, n=4)
    comment = _comment()
    a.loc[0, comment] = "Tốt\x1b"
    a.loc[2, comment] = "\u202eKhá\u200d"
    r = _run(tmp_path, [write_csv(a, tmp_path / "ctl.csv")])
    data = pd.read_parquet(r.parquet_path).set_index("_source_row")
    assert (data.loc[2, comment], data.loc[4, comment]) == ("Tốt", "Khá")
    assert [(m.level, m.file, m.en, m.vi) for m in r.messages if m.code == "control_characters"] == [(
        "warning", "ctl.csv",
        f"column {comment!r}: control or invisible characters removed in 2 cell(s) (rows 2, 4)",
        f"cột {comment!r}: đã xóa ký tự điều khiển hoặc ký tự ẩn trong 2 ô (dòng 2, 4)")]
