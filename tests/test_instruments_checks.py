"""Broken instrument files give exact messages naming file and item — all problems at once."""

from __future__ import annotations

import pytest

from analysis import instruments as I
from test_instruments_helpers import AGREE5, make_surveys


def _problems(surveys, name="member"):
    """The problems load() reports for surveys/<name>/v1.yaml."""
    with pytest.raises(I.InstrumentError) as info:
        I.load(name, surveys_dir=surveys)
    return info.value.problems


def _f(surveys, name="member"):
    return str(surveys / name / "v1.yaml")


def test_minimal_pair_is_valid(tmp_path):
    surveys = make_surveys(tmp_path)
    assert len(I.check_all(surveys_dir=surveys)) == 2


def test_unknown_choice_list(tmp_path):
    s = make_surveys(tmp_path, member_extra='- {type: select_one agree7, name: t_x, label::vi: "X"}')
    assert _problems(s) == (f"{_f(s)}: item 't_x': unknown choice list 'agree7'",)


def test_duplicate_name(tmp_path):
    s = make_surveys(tmp_path, member_extra='- {type: text, name: t_cx_01, label::vi: "Lặp"}')
    assert _problems(s) == (f"{_f(s)}: item 't_cx_01': duplicate name",)


def test_construct_with_fewer_than_three_items(tmp_path):
    s = make_surveys(tmp_path)
    path = s / "member" / "v1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'name: t_cy_03, construct: cy', 'name: t_cy_03'), encoding="utf-8")
    assert _problems(s) == (f"{_f(s)}: construct 'cy': has 2 items, needs at least 3",)


def test_reverse_key_on_a_non_scale_item(tmp_path):
    s = make_surveys(tmp_path, member_extra="""
        - {type: text, name: t_txt, reverse: true, label::vi: "Ý kiến"}
        - {type: select_one yesno, name: t_yn, reverse: true, label::vi: "Có hay không"}
    """)
    assert _problems(s) == (
        f"{_f(s)}: item 't_txt': reverse key on a non-scale item (type 'text')",
        f"{_f(s)}: item 't_yn': reverse key on a non-scale item (type 'select_one yesno')",
    )


def test_missing_vietnamese_label(tmp_path):
    s = make_surveys(tmp_path, member_extra='- {type: integer, name: t_n, label::en: "Only English"}')
    assert _problems(s) == (f"{_f(s)}: item 't_n': missing Vietnamese label (label::vi)",)


def test_label_not_nfc(tmp_path):
    decomposed = "Đồng y\u0301"  # 'ý' written as y + combining acute: looks right, compares wrong
    s = make_surveys(tmp_path, member_extra=f'- {{type: integer, name: t_n, label::vi: "{decomposed}"}}')
    assert _problems(s) == (f"{_f(s)}: item 't_n': label::vi is not in Unicode NFC form",)


def test_relevant_and_constraint_referencing_unknown_items(tmp_path):
    s = make_surveys(tmp_path, member_extra="""
        - {type: integer, name: t_n, label::vi: "Số", relevant: "${t_nope} = 'yes'", constraint: ". <= ${t_max}"}
    """)
    assert _problems(s) == (
        f"{_f(s)}: item 't_n': relevant references unknown item 't_nope'",
        f"{_f(s)}: item 't_n': constraint references unknown item 't_max'",
    )


def test_formula_referencing_unknown_items(tmp_path):
    s = make_surveys(tmp_path)
    path = s / "unit" / "v1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('formula: "u_done / u_total"',
                                                             'formula: "u_done / u_totl"'), encoding="utf-8")
    assert _problems(s, "unit") == (f"{_f(s, 'unit')}: indicator 'i_share': formula references unknown item 'u_totl'",)


def test_formula_that_cannot_be_evaluated(tmp_path):
    s = make_surveys(tmp_path)
    path = s / "unit" / "v1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('formula: "u_done / u_total"',
                                                             'formula: "u_done u_total"'), encoding="utf-8")
    (problem,) = _problems(s, "unit")
    assert problem.startswith(f"{_f(s, 'unit')}: indicator 'i_share': formula cannot be evaluated (SyntaxError")


def test_task_group_without_any_measure(tmp_path):
    s = make_surveys(tmp_path)
    path = s / "unit" / "v1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("task_group: 4", "task_group: 3"), encoding="utf-8")
    with pytest.raises(I.InstrumentError) as info:
        I.check_all(surveys_dir=s)
    assert info.value.problems == (
        f"{_f(s)} + {_f(s, 'unit')}: task group 4 has no measure (no member construct or unit indicator)",)


def test_all_problems_are_reported_at_once(tmp_path):
    s = make_surveys(tmp_path, member_extra="""
        - {type: select_one agree7, name: t_a, label::vi: "A"}
        - {type: text, name: t_b, reverse: true}
        - {type: integer, name: t_c, lable::vi: "C"}
        - {type: integer, name: t_d, role: gender, label::vi: "D"}
        - {type: select_one agree5, name: t_e, construct: nope, label::vi: "E"}
    """)
    f = _f(s)
    problems = _problems(s)
    assert problems == (
        f"{f}: item 't_c': unknown key 'lable::vi'",
        f"{f}: item 't_a': unknown choice list 'agree7'",
        f"{f}: item 't_b': missing Vietnamese label (label::vi)",
        f"{f}: item 't_b': reverse key on a non-scale item (type 'text')",
        f"{f}: item 't_c': missing Vietnamese label (label::vi)",
        f"{f}: item 't_d': unknown role 'gender' (roles: {', '.join(I.ROLES)})",
        f"{f}: item 't_e': unknown construct 'nope'",
    )
    message = str(I.InstrumentError(problems))
    assert message.startswith("7 problems in instrument files:\n  - ")
    assert all(p in message for p in problems)


def test_check_all_collects_problems_of_every_file(tmp_path):
    s = make_surveys(tmp_path, member_extra='- {type: select_one agree7, name: t_a, label::vi: "A"}',
                     unit_extra='- {type: integer, name: u_x, label::vi: "X", relevant: "${u_gone} > 0"}')
    with pytest.raises(I.InstrumentError) as info:
        I.check_all(surveys_dir=s)
    assert info.value.problems == (
        f"{_f(s)}: item 't_a': unknown choice list 'agree7'",
        f"{_f(s, 'unit')}: item 'u_x': relevant references unknown item 'u_gone'",
    )


def test_unquoted_and_duplicate_choice_codes(tmp_path):
    choices = AGREE5.replace('{name: "2", value: 2', '{name: 2, value: 2').replace('{name: "4", value: 4',
                                                                                  '{name: "3", value: 4')
    s = make_surveys(tmp_path, choices=choices)
    assert _problems(s) == (
        f"{_f(s)}: choice list 'agree5', choice 2: code must be a quoted string (\"2\")",
        f"{_f(s)}: choice list 'agree5', choice '3': duplicate code",
    )


def test_role_used_twice_and_construct_on_non_scale(tmp_path):
    s = make_surveys(tmp_path, member_extra="""
        - {type: select_one yesno, name: t_p2, role: party, construct: cx, label::vi: "Đảng viên lần hai"}
    """)
    assert _problems(s) == (
        f"{_f(s)}: item 't_p2': construct item is not a scale item (type 'select_one yesno')",
        f"{_f(s)}: role 'party' is used by more than one item (t_party, t_p2)",
        f"{_f(s)}: construct 'cx': items use different choice lists (agree5, yesno)",
    )


def test_file_name_and_declared_version_must_agree(tmp_path):
    s = make_surveys(tmp_path)
    path = s / "member" / "v1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('version: "1"', 'version: "2"'), encoding="utf-8")
    assert _problems(s) == (
        f"{_f(s)}: declares instrument 'member' version '2' but the file name says 'member' version '1'",)


def test_invalid_yaml_is_reported_with_the_file(tmp_path):
    s = make_surveys(tmp_path, member_text="instrument: member\nsurvey: [unclosed\n")
    (problem,) = _problems(s)
    assert problem.startswith(f"{_f(s)}: not valid YAML")


def test_check_file_returns_problems_without_raising(tmp_path):
    s = make_surveys(tmp_path, member_extra='- {type: select_one agree7, name: t_a, label::vi: "A"}')
    assert I.check_file(s / "member" / "v1.yaml") == (f"{_f(s)}: item 't_a': unknown choice list 'agree7'",)
    assert I.check_file(s / "unit" / "v1.yaml") == ()


def test_an_english_questionnaire_of_a_study_without_a_plan_checks_clean(tmp_path):
    # No surveys/task_groups.yaml (no plan), `languages: [en]`: no task group, objective or
    # Vietnamese label is asked for; an English label and title are.
    import yaml

    doc = {"instrument": "bfi", "version": "1", "languages": ["en"], "title::en": "Big Five",
           "constructs": {"ext": {"label::en": "Extraversion"}},
           "choices": {"six": [{"name": str(v), "value": v, "label::en": f"level {v}"} for v in range(1, 7)]},
           "survey": [{"type": "select_one six", "name": f"ext_{k}", "construct": "ext", "label::en": f"E{k}"}
                      for k in range(1, 4)]}
    path = tmp_path / "bfi" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert I.check_file(path) == ()
    assert I.load("bfi", surveys_dir=tmp_path).languages == ("en",)
    doc["survey"][0].pop("label::en")
    doc["constructs"]["ext"]["task_group"] = 2
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert I.check_file(path) == (
        f"{path}: item 'ext_1': missing English label (label::en)",
        f"{path}: construct 'ext': task_group 2, but the study has no plan (surveys/task_groups.yaml); "
        "remove it or add the plan")
