"""``instrument import``: an instrument YAML from a KoboToolbox / ODK XLSForm.

(a) the project's own exported XLSForms come back as the same instrument (items, types, choices,
labels in both languages, skip logic) and, with the researcher's to-dos copied from the
original, pass the checks — pyxform turns the re-exported form into the same XForm;
(b) a form written in pyxform's own test-suite style (markdown tables: nested groups,
select_multiple, or_other, relevance, two languages) imports, its expressions compile with the
ingest's evaluator, and after the listed to-dos it passes the checks;
(c) broken forms give errors naming file, sheet, row, column, value and rule.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook
from pyxform.xls2json_backends import md_table_to_workbook
from pyxform.xls2xform import convert

from analysis import config
from analysis.cli import main
from analysis.ingest.expression import compile_expression
from analysis.instruments import check_file, load
from analysis.instruments import export as X
from analysis.instruments.checks import read_checked
from analysis.instruments.xlsform_import import XLSFormError, import_xlsform, translate_expression

#: What an XLSForm cannot carry: copied from the original to stand for the researcher's to-dos.
ITEM_KEYS = ("construct", "reverse", "role", "sensitive", "task_group", "comparable_to", "replaces")
TOP_KEYS = ("constructs", "indicators", "anonymous", "intro::vi", "intro::en", "instructions::vi",
            "instructions::en", "title::en")


def _surveys(tmp_path: Path) -> Path:
    surveys = tmp_path / "surveys"
    surveys.mkdir()
    shutil.copy(config.SURVEYS_DIR / "task_groups.yaml", surveys / "task_groups.yaml")
    return surveys


def _entries(survey: list[dict]):
    for d in survey:
        yield d
        yield from _entries(d.get("items") or [])


def _fill_from_original(imported: dict, original: dict) -> dict:
    """The imported YAML with the to-do parts (analysis keys, scoring values) of the original."""
    out = dict(imported)
    for key in TOP_KEYS:
        if key in original:
            out[key] = original[key]
    by_name = {d["name"]: d for d in _entries(original["survey"])}
    for d in _entries(out["survey"]):
        for key in ITEM_KEYS:
            if key in by_name[d["name"]]:
                d[key] = by_name[d["name"]][key]
    for list_name, entries in out["choices"].items():
        if isinstance(entries, list):
            orig = {c["name"]: c for c in original["choices"][list_name]}
            for c in entries:
                for key in ("value", "missing"):
                    c.pop(key, None)
                    if key in orig[c["name"]]:
                        c[key] = orig[c["name"]][key]
    return out


def _write(surveys: Path, data: dict, name: str, version: str = "1") -> Path:
    path = surveys / name / f"v{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- (a) round trip


@pytest.mark.parametrize("name", ["member", "unit"])
def test_exported_xlsform_imports_back_to_the_same_instrument(name, tmp_path):
    original = load(name)
    form = X.export_xlsform(original, tmp_path / "export")
    result = import_xlsform(form, name, "1")
    surveys = _surveys(tmp_path)

    # As imported: every item, type, label (vi, en), hint, skip rule and choice, nothing else yet.
    bare, problems = read_checked(_write(surveys, result.data, name), surveys, None)
    assert problems == [] and bare is not None
    assert bare.item_names == original.item_names
    for a, b in zip(bare.items, original.items):
        assert (a.type, a.group, a.required, a.relevant, a.constraint, a.choice_filter, a.appearance) == \
               (b.type, b.group, b.required, b.relevant, b.constraint, b.choice_filter, b.appearance), a.name
        for lang in ("vi", "en"):
            assert (a.label(lang), a.hint(lang)) == (b.label(lang), b.hint(lang)), (a.name, lang)
        assert a.construct is None and not a.reverse and a.role in (None, "start", "end")
    assert [(c.list_name, c.name, c.label("vi"), c.label("en"), c.filters) for c in bare.choices] == \
           [(c.list_name, c.name, c.label("vi"), c.label("en"), c.filters) for c in original.choices]
    assert [(g.name, g.label_vi, g.label_en, g.relevant, g.items) for g in bare.groups] == \
           [(g.name, g.label_vi, g.label_en, g.relevant, g.items) for g in original.groups]
    assert bare.title_vi == original.title_vi and bare.languages == ("vi", "en")
    # The to-do names what only the researcher can add.
    todo = " ".join(result.todo)
    for word in ("constructs", "reverse", "task_group", "target", "role:"):
        assert word in todo
    assert "from_frame: units" in " ".join(result.notes)

    # With the to-do parts copied from the original: the same instrument, and the checks pass.
    raw = yaml.safe_load(Path(original.path if Path(original.path).is_absolute()
                              else config.PROJECT_ROOT / original.path).read_text(encoding="utf-8"))
    path = _write(surveys, _fill_from_original(result.data, raw), name)
    assert check_file(path) == ()
    filled, problems = read_checked(path, surveys, None)
    assert problems == []
    assert filled.items == original.items
    assert filled.choices == original.choices
    assert filled.groups == original.groups and filled.constructs == original.constructs
    assert filled.indicators == original.indicators

    # Relevance and constraints mean the same: pyxform builds the same XForm from both.
    again = X.export_xlsform(filled, tmp_path / "again")
    assert convert(xlsform=str(again)).xform == convert(xlsform=str(form)).xform


def test_command_writes_the_file_prints_the_todo_and_never_overwrites(tmp_path, capsys):
    form = X.export_xlsform(load("member"), tmp_path)
    surveys = _surveys(tmp_path)
    out = surveys / "member" / "v2.yaml"
    args = ["instrument", "import", str(form), "--name", "member", "--version", "2", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "TO DO" in printed and "1. constructs" in printed and "instrument check of v2.yaml: no problems" in printed
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# member v2, imported from the XLSForm member_v1.xlsx")
    assert "#   1. constructs:" in text and "#   5. roles:" in text
    assert yaml.safe_load(text)["version"] == "2"
    before = out.read_bytes()
    assert main(args) == 1
    assert "exists; nothing written (pass --force to replace it)" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(args + ["--force"]) == 0


# ----------------------------------------------------------------------------- (b) pyxform-style form

#: A Kobo-style household form as pyxform's test suite writes them (markdown tables).
PYXFORM_STYLE_MD = """
| survey |
| | type | name | label::Vietnamese (vi) | label::English (en) | relevant | constraint | required | calculation |
| | start | start | | | | | | |
| | begin_group | hh | Hộ gia đình | Household | | | | |
| | select_one org or_other | hh_org | Tổ chức | Organization | | | yes | |
| | integer | hh_size | Số người trong hộ | Household size | | . >= 1 and . <= 30 | yes | |
| | select_multiple activity | hh_act | Các hoạt động | Activities | | count-selected(.) <= 3 | | |
| | begin_group | hh_more | Chi tiết | Details | selected(${hh_act}, 'meet') | | | |
| | select_one agree5 | hh_q1 | Buổi họp bổ ích | Meetings are useful | | | yes | |
| | select_one agree5 | hh_q2 | Nội dung thiết thực | Content is practical | | | yes | |
| | select_one agree5 | hh_q3 | Hình thức hấp dẫn | Forms are attractive | | | yes | |
| | text | hh_where | Họp ở đâu | Where do you meet | contains(${hh_org}, 'CD') | | | |
| | end_group | hh_more | | | | | | |
| | date | hh_date | Ngày họp gần nhất | Date of the last meeting | ${hh_size} > 1 | . <= today() | | |
| | end_group | | | | | | | |
| | calculate | hh_score | | | | | | ${hh_q1} + ${hh_q2} |
| | note | hh_thanks | Cảm ơn | Thank you | | | | |
| | end | end | | | | | | |
| choices |
| | list_name | name | label::Vietnamese (vi) | label::English (en) |
| | org | CDVC | Công đoàn viên chức | Trade Union |
| | org | DTN | Đoàn Thanh niên | Youth Union |
| | activity | meet | Họp | Meetings |
| | activity | vol | Tình nguyện | Volunteering |
| | activity | sport | Thể thao | Sport |
| | agree5 | 1 | Hoàn toàn không đồng ý | Strongly disagree |
| | agree5 | 2 | Không đồng ý | Disagree |
| | agree5 | 3 | Phân vân | Undecided |
| | agree5 | 4 | Đồng ý | Agree |
| | agree5 | 5 | Hoàn toàn đồng ý | Strongly agree |
| | agree5 | 9 | Không biết / không trả lời | Don't know |
| settings |
| | form_title | form_id | version | default_language |
| | Khảo sát hộ gia đình | hh_2026 | 2026050101 | Vietnamese (vi) |
"""


def _md_form(tmp_path: Path, md: str, name: str = "form.xlsx") -> Path:
    path = tmp_path / name
    md_table_to_workbook(md).save(path)
    return path


def test_pyxform_style_form_imports_and_passes_check_after_the_todo(tmp_path):
    form = _md_form(tmp_path, PYXFORM_STYLE_MD)
    warnings: list[str] = []
    assert "<h:title>Khảo sát hộ gia đình</h:title>" in convert(xlsform=str(form), warnings=warnings).xform

    result = import_xlsform(form, "member", "2")
    data = result.data
    assert data["languages"] == ["vi", "en"] and data["title::vi"] == "Khảo sát hộ gia đình"
    assert data["settings"] == {"form_id": "hh_2026", "form_version": "2026050101", "default_language": "vi"}
    entries = {d["name"]: d for d in _entries(data["survey"])}
    outer = data["survey"][1]
    assert outer["name"] == "hh" and outer["label::en"] == "Household"
    inner = next(d for d in outer["items"] if d["name"] == "hh_more")
    assert inner["relevant"] == "selected(${hh_act}, 'meet')"
    assert [d["name"] for d in inner["items"]] == ["hh_q1", "hh_q2", "hh_q3", "hh_where"]
    assert [d["name"] for d in outer["items"]][:2] == ["hh_org", "hh_org_other"]
    assert entries["hh_act"]["type"] == "select_multiple activity"
    assert entries["hh_org"]["type"] == "select_one org"
    assert entries["hh_org_other"] == {"type": "text", "name": "hh_org_other", "label::vi": "Ghi rõ lựa chọn khác",
                                       "label::en": "Specify other", "relevant": "selected(${hh_org}, 'other')"}
    assert entries["hh_size"]["required"] is True and entries["hh_size"]["constraint"] == ". >= 1 and . <= 30"
    assert entries["hh_where"]["relevant"] == "regex(${hh_org}, 'CD')"
    assert "constraint" not in entries["hh_date"]          # today() is outside the subset: listed, not kept
    assert entries["hh_score"]["calculation"] == "${hh_q1} + ${hh_q2}"
    assert entries["start"]["role"] == "start" and entries["end"]["role"] == "end"
    assert [c["name"] for c in data["choices"]["org"]] == ["CDVC", "DTN", "other"]
    assert data["choices"]["agree5"][5] == {"name": "9", "missing": True, "label::vi": "Không biết / không trả lời",
                                            "label::en": "Don't know"}
    todo = "\n".join(result.todo)
    assert "constraint '. <= today()' left out" in todo
    assert "items without a vi label (instrument check needs one): hh_score" in todo

    # Every expression kept is one the ingest evaluates.
    for d in entries.values():
        for key in ("relevant", "constraint", "choice_filter"):
            if d.get(key):
                compile_expression(d[key], where=d["name"])

    surveys = _surveys(tmp_path)
    path = _write(surveys, data, "member", "2")
    assert any("hh_score" in p and "missing Vietnamese label" in p for p in check_file(path))

    # The researcher's to-dos: a label for the calculate, a construct, a reverse key, roles, task group.
    entries["hh_score"]["label::vi"] = "Điểm tạm tính"
    data["constructs"] = {"mtg": {"label::vi": "Sinh hoạt", "label::en": "Meetings", "task_group": 2,
                                  "objective": "O1", "min_items": 2}}
    for n in ("hh_q1", "hh_q2", "hh_q3"):
        entries[n]["construct"] = "mtg"
    entries["hh_q3"]["reverse"] = True
    entries["hh_org"]["role"] = "org"
    data["anonymous"] = True
    path = _write(surveys, data, "member", "2")
    assert check_file(path) == ()
    ins = load("member", surveys_dir=surveys)
    assert ins.construct_items("mtg")[0].name == "hh_q1" and ins.role_item("org").name == "hh_org"
    assert ins.choice_values("agree5") == {str(k): float(k) for k in range(1, 6)}
    assert ins.missing_codes("agree5") == ("9",)


def test_plain_label_column_is_the_default_language(tmp_path):
    md = """
| survey |
|        | type    | name | label        | label::English (en) | hint         | constraint | constraint_message |
|        | text    | q1   | Câu hỏi một  | Question one        | Gợi ý        |            |                    |
|        | integer | q2   | Câu hỏi hai  |                     |              | . >= 0     | Không âm           |
| settings |
|          | form_title | default_language |
|          | Khảo sát   | vi               |
"""
    data = import_xlsform(_md_form(tmp_path, md), "unit", "1").data
    assert data["survey"][0] == {"type": "text", "name": "q1", "label::vi": "Câu hỏi một", "label::en": "Question one",
                                 "hint::vi": "Gợi ý"}
    assert data["survey"][1] == {"type": "integer", "name": "q2", "label::vi": "Câu hỏi hai", "constraint": ". >= 0",
                                 "constraint_message::vi": "Không âm"}
    assert data["choices"] == {} and data["languages"] == ["vi", "en"]


def test_translate_expression_keeps_the_subset_and_refuses_the_rest():
    assert translate_expression("${a} = 'x' or not(selected(${b}, 'y'))") == \
        ("${a} = 'x' or not(selected(${b}, 'y'))", ("a", "b"))
    assert translate_expression("starts-with(., 'VN') and ends-with(${c}, '.x')") == \
        (r"regex(., '^VN') and regex(${c}, '\.x$')", ("c",))
    assert translate_expression("org=${ms_org}", choice_context=True) == ("org=${ms_org}", ("ms_org",))
    for bad, why in (("jr:choice-name(${a}, '${a}')", "function jr:choice-name()"),
                     ("../a = 1", "XPath paths"), ("a = 1", "unknown word 'a'")):
        with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
            translate_expression(bad)


# ----------------------------------------------------------------------------- (c) broken forms


def _problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(XLSFormError) as info:
        import_xlsform(path, "member", "1")
    return info.value.problems


def test_missing_survey_sheet(tmp_path):
    wb = Workbook()
    wb.active.title = "choices"
    wb.create_sheet("settings")
    wb.save(tmp_path / "f.xlsx")
    assert _problems(tmp_path / "f.xlsx") == (
        "f.xlsx: no sheet 'survey' (sheets: choices, settings); an XLSForm has the sheets survey, choices and "
        "settings",)


def test_unknown_type_missing_list_and_duplicate_name_are_named_by_sheet_row_column(tmp_path):
    md = """
| survey |
|        | type              | name | label::Vietnamese (vi) |
|        | slect_one yesno   | q1   | Một                    |
|        | select_one agree7 | q2   | Hai                    |
|        | text              | q1   | Ba                     |
|        | geopoint          | q4   | Bốn                    |
|        | begin_group       | g1   | Nhóm                   |
|        | text              | q5   | Năm                    |
| choices |
|         | list_name | name | label::Vietnamese (vi) |
|         | yesno     | yes  | Có                     |
|         | yesno     | yes  | Không                  |
"""
    problems = _problems(_md_form(tmp_path, md))
    assert problems[0].startswith("form.xlsx: sheet 'survey', row 2, column 'type' (A), value 'slect_one yesno': "
                                  "unknown type (supported: select_one LIST [or_other]")
    assert problems[1] == "form.xlsx: sheet 'survey', row 4, column 'name' (B), value 'q1': duplicate name " \
                          "(also row 2); names must be unique in the form"
    assert problems[2].startswith("form.xlsx: sheet 'survey', row 5, column 'type' (A), value 'geopoint': this "
                                  "XLSForm type is not supported by the project's instruments")
    assert problems[3] == "form.xlsx: sheet 'survey', row 6, column 'type' (A), value 'begin_group': group 'g1' " \
                          "is never closed (no end_group row)"
    assert problems[4] == "form.xlsx: sheet 'choices', row 3, column 'name' (B), value 'yes': duplicate choice " \
                          "name in list 'yesno' (also row 2)"
    assert problems[5] == "form.xlsx: sheet 'survey', row 3, column 'type' (A), value 'select_one agree7': " \
                          "choice list 'agree7' not found in sheet 'choices' (lists: yesno)"
    assert len(problems) == 6


def test_missing_choices_sheet_and_bad_skip_logic(tmp_path):
    md = """
| survey |
|        | type             | name | label::Vietnamese (vi) | relevant             |
|        | select_one yesno | q1   | Một                    |                      |
|        | text             | q2   | Hai                    | ${q9} = 'yes'        |
|        | text             | q3   | Ba                     | today() > ${q1}      |
"""
    problems = _problems(_md_form(tmp_path, md))
    assert problems == (
        "form.xlsx: sheet 'survey', row 2, column 'type' (A), value 'select_one yesno': choice list 'yesno' not "
        "found — the workbook has no sheet 'choices'",
        "form.xlsx: sheet 'survey', row 3, column 'relevant' (D), value \"${q9} = 'yes'\": refers to ${q9}, which "
        "is no item of the form",
        "form.xlsx: sheet 'survey', row 4, column 'relevant' (D), value 'today() > ${q1}': function today() is not "
        "in the project's expression language (supported: . ${name} numbers 'text' = != < <= > >= + - * div mod "
        "and or ( ) count-selected false if int not number regex selected string-length true)",
    )


def test_not_an_xlsx_and_missing_columns(tmp_path):
    (tmp_path / "form.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert _problems(tmp_path / "form.xls") == (
        "form.xls: not an .xlsx workbook (save the XLSForm as .xlsx; .xls and .ods are not read)",)
    md = """
| survey |
|        | kind | name |
|        | text | q1   |
"""
    assert _problems(_md_form(tmp_path, md)) == (
        "form.xlsx: sheet 'survey', row 1: no column 'type' (an XLSForm survey sheet needs 'type' and 'name' "
        "columns)",)


# ----------------------------------------------------------------------------- a new version


def test_v2_form_is_compared_with_v1_and_carries_the_unchanged_items_keys(tmp_path, capsys):
    """The v2 scenario of issue #14: one item reworded under a new name, one dropped, one added."""
    from openpyxl import load_workbook

    from analysis.instruments import check_all

    form = X.export_xlsform(load("member"), tmp_path)
    wb = load_workbook(form)
    ws = wb["survey"]
    header = [c.value for c in ws[1]]
    col = {h: k + 1 for k, h in enumerate(header)}
    rows = {ws.cell(r, col["name"]).value: r for r in range(2, ws.max_row + 1)}
    ws.cell(rows["ms_sat_03"], col["name"]).value = "ms_sat_05"
    ws.cell(rows["ms_sat_03"], col["label::Tiếng Việt (vi)"]).value = "Sinh hoạt của tổ chức ít mang lại lợi ích."
    ws.insert_rows(rows["ms_dig_04"] + 1)
    for key, value in (("type", "select_one agree5"), ("name", "ms_dig_05"), ("required", "yes"),
                       ("label::Tiếng Việt (vi)", "Tôi dùng ứng dụng của tổ chức hằng tuần.")):
        ws.cell(rows["ms_dig_04"] + 1, col[key]).value = value
    ws.delete_rows(rows["ms_ren_04"])
    wb.save(form)

    surveys = _surveys(tmp_path)
    for name in ("member", "unit"):
        (surveys / name).mkdir()
        shutil.copy(config.SURVEYS_DIR / name / "v1.yaml", surveys / name / "v1.yaml")
    out = surveys / "member" / "v2.yaml"
    assert main(["instrument", "import", str(form), "--name", "member", "--version", "2", "--out", str(out),
                 "--carry-from", "1"]) == 0
    printed = capsys.readouterr().out
    kept = len(load("member").items) - 2
    assert (f"versions: compared with v1 — {kept} item(s) unchanged; new: ms_sat_05, ms_dig_05 (`replaces:` / "
            "`comparable_to:` when one takes the place of a v1 item); no longer asked: ms_sat_03, ms_ren_04") in printed
    assert f"carried over from v1 for the {kept} unchanged item(s)" in printed

    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    entries = {d["name"]: d for d in _entries(data["survey"])}
    v1 = load("member")
    assert entries["ms_sat_01"]["construct"] == "sat" and entries["ms_ren_03"]["reverse"] is True
    assert entries["ms_dem_party"]["role"] == "party" and entries["ms_dem_party"]["sensitive"] is True
    assert "construct" not in entries["ms_sat_05"] and data["anonymous"] is True
    assert set(data["constructs"]) == {c.name for c in v1.constructs}

    # The researcher's part for the two new items; then every check passes, across versions too.
    entries["ms_sat_05"].update({"construct": "sat", "reverse": True, "replaces": "ms_sat_03"})
    entries["ms_dig_05"]["construct"] = "dig"
    _write(surveys, data, "member", "2")
    assert len(check_all(surveys_dir=surveys)) == 3
    v2 = load("member", version="2", surveys_dir=surveys)
    assert v2.construct_items("ren") == tuple(i for i in v1.construct_items("ren") if i.name != "ms_ren_04")
    assert [c.name for c in v2.choices if c.missing] == [c.name for c in v1.choices if c.missing]
