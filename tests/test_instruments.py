"""The shipped instruments and the loader API (analysis.instruments)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata

import pytest
from test_instruments_helpers import make_surveys

from analysis import config
from analysis import instruments as I
from analysis.ingest import waves
from analysis.instruments.population import load_units

DEMOGRAPHIC_ROLES = ("org", "unit", "sex", "age_group", "party", "education", "theory", "position")
LIKERT_VI = ("Hoàn toàn không đồng ý", "Không đồng ý", "Phân vân", "Đồng ý", "Hoàn toàn đồng ý")


@pytest.fixture(scope="module")
def member() -> I.Instrument:
    return I.load("member")


@pytest.fixture(scope="module")
def unit() -> I.Instrument:
    return I.load("unit")


def test_shipped_instruments_pass_every_check():
    assert I.check_all() == ("surveys/member/v1.yaml", "surveys/unit/v1.yaml")


def test_load_returns_frozen_dataclasses_with_tuples(member):
    assert (member.name, member.version) == ("member", "1")
    assert member.title_vi.startswith("Phiếu khảo sát")
    with pytest.raises(dataclasses.FrozenInstanceError):
        member.name = "x"  # type: ignore[misc]
    for field in ("items", "choices", "constructs", "indicators", "task_groups", "groups"):
        assert isinstance(getattr(member, field), tuple), field
    assert all(isinstance(i, I.Item) for i in member.items)
    assert all(isinstance(c, I.Choice) for c in member.choices)
    assert all(isinstance(c, I.Construct) and isinstance(c.items, tuple) for c in member.constructs)
    assert all(isinstance(t, I.TaskGroup) for t in member.task_groups)
    assert [t.number for t in member.task_groups] == [1, 2, 3, 4, 5, 6]


def test_load_is_cached_and_version_selectable(member):
    assert I.load("member") is member
    assert I.load("member", version="1") is member
    assert I.load("member", version=1) is member
    assert I.versions("member") == ("1",)
    with pytest.raises(FileNotFoundError, match="has no version '7'"):
        I.load("member", version="7")
    with pytest.raises(config.InvalidIdentifierError):
        I.load("../etc")


def test_member_has_every_demographic_role_once(member):
    for role in DEMOGRAPHIC_ROLES:
        assert len(member.by_role(role)) == 1, role
    assert len(member.by_role("comment")) in (1, 2)
    assert member.role_item("party").list_name == "yesno"
    with pytest.raises(ValueError, match="unknown role 'gender'"):
        member.by_role("gender")


def test_member_has_eight_or_more_constructs_of_three_or_more_items(member):
    assert len(member.constructs) >= 8
    for c in member.constructs:
        items = member.construct_items(c.name)
        assert len(items) >= 3, c.name
        assert 1 <= c.min_items <= len(items)
        assert all(member.is_scale(i) and i.list_name == "agree5" for i in items)
    reverse = [i for i in member.scale_items if i.reverse]
    assert len(reverse) >= 8
    # Most constructs mix positive and reverse-keyed wording (acquiescence check).
    assert sum(any(i.reverse for i in member.construct_items(c.name)) for c in member.constructs) >= 8


def test_likert_anchors_and_dont_know_code(member, unit):
    labels = [c.label_vi for c in member.choice_list("agree5") if not c.missing]
    assert tuple(labels) == LIKERT_VI
    assert all(unicodedata.is_normalized("NFC", s) for s in labels)
    assert member.missing_codes("agree5") == ("9",)
    assert member.choice_label("agree5", "9", "vi") == "Không biết / không trả lời"
    assert member.choice_label("agree5", "1", "en") == "Strongly disagree"
    assert member.valid_codes("agree5") == ("1", "2", "3", "4", "5")
    assert member.scale_range("agree5") == (1.0, 5.0)
    with pytest.raises(KeyError, match="no code '6'"):
        member.choice_label("agree5", "6")


def test_codes_follow_contributing(member, unit):
    assert member.valid_codes("org") == ("CDVC", "HCCB", "DTN")
    assert member.valid_codes("sex") == ("male", "female")
    assert member.valid_codes("yesno") == ("yes", "no")
    assert all(isinstance(c.name, str) for c in member.choices + unit.choices)


def test_unit_choice_list_is_the_population_frame(member, unit):
    units = load_units()
    for ins in (member, unit):
        choices = ins.choice_list(ins.role_item("unit").list_name)
        assert [c.name for c in choices] == units["unit_id"].tolist()
        assert [dict(c.filters)["org"] for c in choices] == units["org"].tolist()
        assert [c.label_vi for c in choices] == units["name_vi"].tolist()
    assert member.role_item("unit").choice_filter == "org=${" + member.role_item("org").name + "}"


def test_party_admission_block_only_for_non_party_members(member):
    party = member.role_item("party").name
    adm_groups = {member.item(i.name).group for i in member.construct_items("adm")}
    assert len(adm_groups) == 1
    assert member.group(adm_groups.pop()).relevant == "${" + party + "} = 'no'"


def test_item_names_follow_prefix_construct_number(member, unit):
    for c in member.constructs:
        for i in member.construct_items(c.name):
            assert re.fullmatch(rf"ms_{c.name}_\d\d", i.name), i.name
    assert all(i.name.startswith("ms_") for i in member.items)
    assert all(i.name.startswith("us_") for i in unit.items)


def test_every_vietnamese_text_is_nfc_and_present(member, unit):
    for ins in (member, unit):
        texts = [ins.title_vi, ins.intro_vi] + [i.label_vi for i in ins.items if i.base_type not in ("start", "end")]
        texts += [c.label_vi for c in ins.choices] + [g.label_vi for g in ins.groups]
        assert all(texts)
        assert all(unicodedata.is_normalized("NFC", t) for t in texts)


def test_every_task_group_is_covered_by_the_pair(member, unit):
    covered = {c.task_group for c in member.constructs} | {i.task_group for i in unit.indicators}
    assert covered == {1, 2, 3, 4, 5, 6}
    # The unit survey alone also covers all six (one panel measure per group at least).
    assert {i.task_group for i in unit.indicators} == {1, 2, 3, 4, 5, 6}


def test_unit_indicators_have_formula_direction_and_plan_targets(unit):
    assert len(unit.indicators) >= 15
    for ind in unit.indicators:
        assert ind.items and all(unit.has_item(n) for n in ind.items), ind.name
        assert ind.direction in ("higher", "lower")
        assert ind.unit
    sessions = unit.indicator("ui_ldr_sessions")
    assert (sessions.target, sessions.target_year) == (2.0, 2023)   # every 6 months → ≥ 2 a year
    digital = unit.indicator("ui_dig_share")
    assert (digital.target, digital.target_year, digital.unit) == (1.0, 2025, "share")
    assert digital.formula == "us_dig_records / us_mem_total"
    # The plan's targets are requirements on every grassroots unit (a session every six months …).
    assert {i.target_per for i in unit.indicators if i.target is not None} == {"unit"}


def test_a_target_must_say_what_reaches_it(tmp_path):
    surveys = make_surveys(tmp_path)
    path = surveys / "unit" / "v1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("per: unit", "per: units"), encoding="utf-8")
    with pytest.raises(I.InstrumentError) as info:
        I.check_all(surveys_dir=surveys)
    assert info.value.problems == (
        f"{path}: indicator 'i_share': target needs 'per: unit' (every unit must reach it) or 'per: total' "
        "(the indicator over all units must), not 'units'",)


def test_unit_survey_measures_what_the_brief_lists(unit):
    # One item per requested measure, found by a word of its Vietnamese label.
    for words in ("làm việc với ban chấp hành", "quy chế phối hợp", "Năm ban hành", "đánh giá, sơ kết",
                  "chương trình phối hợp", "nhóm cốt cán", "phong trào thi đua", "hệ thống quản lý điện tử",
                  "trực tuyến", "hội nghị cán bộ", "công khai tài chính", "đào tạo, bồi dưỡng",
                  "kiểm tra, giám sát", "vi phạm", "giới thiệu", "kết nạp", "văn hóa", "xếp loại"):
        assert any(words in i.label_vi for i in unit.items), words
    assert {i.base_type for i in unit.items} >= {"integer", "select_one", "date", "text"}


def test_item_lookup_errors_name_the_instrument(member):
    with pytest.raises(KeyError, match="member.*no item 'zz'"):
        member.item("zz")
    with pytest.raises(KeyError, match="no construct 'zz'"):
        member.construct_items("zz")


def test_formula_and_expression_helpers():
    assert I.formula_items("a_b / (c - d) * 100 >= 2 and e == 'x_y'") == ("a_b", "c", "d", "e")
    assert I.expression_refs("${a} = 'no' and ${b} > 0 or ${a} = 'x'") == ("a", "b")


# ----------------------------------------------------------------------------- versions


def _write_v2(surveys, text):
    (surveys / "member" / "v2.yaml").write_text(text, encoding="utf-8")


def test_comparable_items_across_versions(tmp_path):
    surveys = make_surveys(tmp_path)
    v1 = (surveys / "member" / "v1.yaml").read_text(encoding="utf-8")
    v2 = (v1.replace('version: "1"', 'version: "2"')
            # reworded → new item that replaces the old one: not comparable
            .replace('name: t_cx_02, construct: cx, label::vi: "Câu hai"',
                     'name: t_cx_04, construct: cx, replaces: t_cx_02, label::vi: "Câu hai, viết lại"')
            # small edit judged harmless → comparable_to
            .replace('name: t_cy_03, construct: cy, label::vi: "Câu sáu"',
                     'name: t_cy_04, construct: cy, comparable_to: t_cy_03, label::vi: "Câu sáu."')
            # same name, changed wording: an editing error the comparison must flag
            .replace('label::vi: "Đảng viên?"', 'label::vi: "Là đảng viên?"'))
    _write_v2(surveys, v2)
    assert I.versions("member", surveys_dir=surveys) == ("1", "2")
    a = I.load("member", "1", surveys_dir=surveys)
    b = I.load("member", surveys_dir=surveys)
    assert b.version == "2"
    cmp = I.comparable_items(a, b)
    assert cmp.comparable == (("t_cx_01", "t_cx_01"), ("t_cx_03", "t_cx_03"), ("t_cy_01", "t_cy_01"),
                              ("t_cy_02", "t_cy_02"), ("t_cy_03", "t_cy_04"))
    reasons = dict(cmp.not_comparable)
    assert reasons["t_party"].startswith("wording or scale changed between v1 and v2 under the same name")
    assert reasons["t_cx_04"] == "replaces t_cx_02 of v1 with a changed wording or scale"
    assert reasons["t_cx_02"] == "replaced by t_cx_04 in v2; not comparable"
    assert cmp.constructs == ("cy",)
    assert dict(cmp.not_comparable_constructs)["cx"].startswith("its items are not all comparable: t_cx_04")


def test_comparable_items_detects_a_changed_scale(tmp_path):
    surveys = make_surveys(tmp_path)
    v1 = (surveys / "member" / "v1.yaml").read_text(encoding="utf-8")
    _write_v2(surveys, v1.replace('version: "1"', 'version: "2"').replace('"Phân vân"', '"Bình thường"'))
    cmp = I.comparable_items(I.load("member", "1", surveys_dir=surveys), I.load("member", "2", surveys_dir=surveys))
    assert [n for n, _ in cmp.comparable] == ["t_party"]
    assert cmp.constructs == ()


def test_comparable_items_refuses_different_instruments(member, unit):
    with pytest.raises(ValueError, match="different instruments"):
        I.comparable_items(member, unit)


def test_check_all_flags_a_changed_item_that_kept_its_name(tmp_path):
    surveys = make_surveys(tmp_path)
    v1 = (surveys / "member" / "v1.yaml").read_text(encoding="utf-8")
    _write_v2(surveys, v1.replace('version: "1"', 'version: "2"')
              .replace('label::vi: "Câu một"', 'label::vi: "Câu một, sửa lời"')
              .replace('name: t_cy_03, construct: cy', 'name: t_cy_04, comparable_to: t_gone, construct: cy'))
    with pytest.raises(I.InstrumentError) as info:
        I.check_all(surveys_dir=surveys)
    f = surveys / "member" / "v2.yaml"
    assert info.value.problems == (
        f"{f}: item 't_cy_04': comparable_to names 't_gone', which is not an item of an earlier version",
        f"{f}: item 't_cx_01': wording or scale differs from v1 under the same name; a changed item needs a new name",
    )


def test_load_instrument_of_a_wave_uses_the_manifest_version(tmp_path):
    import json

    folder = tmp_path / "processed" / "member"
    folder.mkdir(parents=True)
    (folder / "2024.parquet").write_bytes(b"")
    (folder / "2024.manifest.json").write_text(json.dumps({"instrument": "member", "wave": "2024",
                                                           "instrument_version": "1"}), encoding="utf-8")
    assert waves.load_instrument("member", "2024", processed_dir=tmp_path / "processed") is I.load("member", "1")
    (folder / "2024.manifest.json").write_text(json.dumps({"instrument": "member", "wave": "2024"}), encoding="utf-8")
    with pytest.raises(ValueError, match="does not declare instrument_version"):
        waves.load_instrument("member", "2024", processed_dir=tmp_path / "processed")


def test_instrument_is_hashable_and_sensitive_items_exclude_quasi_identifiers(member):
    assert hash(member) == hash(I.load("member"))
    sensitive = member.sensitive_items
    assert member.role_item("party") in sensitive
    assert all(member.role_item(r) not in sensitive for r in ("unit", "sex", "age_group", "position"))
    assert set(member.by_role("comment")) <= set(sensitive)
