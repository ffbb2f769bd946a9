"""Comment screening, respondent-level exports and the policy file."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.disclosure import (
    DisclosureError,
    k_anonymous_export,
    load_policy,
    policy_markdown,
    screen_comments,
    write_withheld,
)
from analysis.disclosure.policy import POLICY_PATH

HARMLESS = "Cần tổ chức sinh hoạt chuyên đề thường xuyên hơn."
IDENTIFIERS = ["CDVC07", "Cơ sở CĐVC 07", "Sở Tài chính"]


def _comments(texts: list[str], group: str = "CDVC", filler: int = 12) -> pd.DataFrame:
    """*texts* in a group padded with harmless comments to *filler* rows."""
    rows = texts + [HARMLESS] * max(0, filler - len(texts))
    return pd.DataFrame({"org": group, "comment": rows})


@pytest.mark.parametrize(
    ("text", "reason", "match"),
    [
        ("Nguyễn Văn Hùng không lắng nghe ý kiến đoàn viên.", "name", "Nguyễn Văn Hùng"),
        ("Đề nghị đồng chí Hùng công khai tài chính.", "name", "Hùng"),
        ("Chị Lan làm việc rất tốt.", "name", "Chị Lan"),
        ("Tôi thấy bà Mai chưa sát sao.", "name", "Mai"),
        ("Tran Hung khong cong bang.", "name", "Tran Hung"),  # typed without diacritics
        ("Liên hệ 0912 345 678 để biết thêm.", "phone", "0912 345 678"),
        ("Số của tôi: +84 912345678", "phone", "+84 912345678"),
        ("Gọi 0383.456.789 hoặc 0238-3844-123", "phone", "0383.456.789; 0238-3844-123"),
        ("Gửi góp ý về hung.nv@gmail.com nhé", "email", "hung.nv@gmail.com"),
        ("Ở CDVC07 họp rất ít.", "identifier", "CDVC07"),
        ("Cơ sở CĐVC 07 chưa triển khai đề án.", "identifier", "CDVC07; Cơ sở CĐVC 07"),
        ("cdvc-7 chưa triển khai", "identifier", "CDVC07"),
        ("Sở tài chính chậm triển khai.", "identifier", "Sở Tài chính"),
    ],
)
def test_identifying_comments_are_withheld(text, reason, match):
    pub, held = screen_comments(_comments([text]), group_col="org", identifiers=IDENTIFIERS)
    assert len(pub) == 11 and set(pub["comment"]) == {HARMLESS}
    assert held[["comment", "reason", "match"]].to_dict("records") == [
        {"comment": text, "reason": reason, "match": match}
    ]


def test_small_group_comment_is_not_shown_and_large_group_harmless_comment_is():
    c = pd.concat([_comments([], "CDVC", 12), _comments(["Ý kiến riêng của nhóm nhỏ."], "HCCB", 8)],
                  ignore_index=True)
    pub, held = screen_comments(c, group_col="org")
    assert pub["org"].unique().tolist() == ["CDVC"] and len(pub) == 12
    assert pub["comment"].tolist() == [HARMLESS] * 12
    assert held["org"].unique().tolist() == ["HCCB"] and len(held) == 8
    assert set(held["reason"]) == {"group_size"}


def test_group_sizes_from_the_respondent_count():
    # 8 comments, but 15 respondents in the group: quotable
    c = _comments([], "CDVC", 8)
    pub, held = screen_comments(c, group_col="org", group_sizes={"CDVC": 15})
    assert len(pub) == 8 and held.empty
    pub, held = screen_comments(c, group_col="org", group_sizes={"CDVC": 15}, min_group=20)
    assert pub.empty and len(held) == 8


def test_nfd_input_is_normalised_before_matching():
    nfd = unicodedata.normalize("NFD", "Ông Nguyễn Văn Hùng nói vậy.")
    assert nfd != unicodedata.normalize("NFC", nfd)
    pub, held = screen_comments(_comments([nfd, unicodedata.normalize("NFD", HARMLESS)]), group_col="org")
    assert held["comment"].tolist() == ["Ông Nguyễn Văn Hùng nói vậy."]  # returned in NFC
    assert held["match"].tolist() == ["Ông Nguyễn Văn Hùng"]  # a capitalised title is part of the run
    assert pub["comment"].map(lambda s: unicodedata.is_normalized("NFC", s)).all()


def test_place_names_and_lower_case_text_are_not_names():
    texts = ["Tỉnh Nghệ An cần đầu tư hơn cho Hội Cựu chiến binh.", "Mọi người đều cố gắng.",
             "Đoàn Thanh niên hoạt động tốt."]
    pub, held = screen_comments(_comments(texts), group_col="org")
    assert held.empty and len(pub) == 12


def test_empty_comments_are_dropped():
    c = _comments(["", "   ", None])  # type: ignore[list-item]
    pub, held = screen_comments(c, group_col="org", group_sizes={"CDVC": 12})
    assert len(pub) == 9 and held.empty
    # without respondent counts the 9 non-empty comments are the group size: below 10
    pub, held = screen_comments(c, group_col="org")
    assert pub.empty and held["reason"].unique().tolist() == ["group_size"]


def test_min_group_below_k_is_rejected():
    with pytest.raises(DisclosureError, match=r"min_group = 3 must be an integer of at least k = 5"):
        screen_comments(_comments([]), group_col="org", min_group=3)


def test_write_withheld_only_under_data(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "DATA_DIR", tmp_path / "data")
    _, held = screen_comments(_comments(["Gọi 0912345678"]), group_col="org")
    out = write_withheld(held, tmp_path / "data" / "processed" / "member" / "2025_withheld.csv")
    back = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert back[["comment", "reason"]].to_dict("records") == [{"comment": "Gọi 0912345678", "reason": "phone"}]
    with pytest.raises(ValueError, match="outside the allowed folders"):
        write_withheld(held, tmp_path / "reports" / "withheld.csv")


# --------------------------------------------------------------------------------------------
# exports


def _members(n_female: int) -> pd.DataFrame:
    rows = [{"_submission_id": f"s{i}", "unit": "CDVC01", "sex": "male", "q1": "1"} for i in range(6)]
    rows += [{"_submission_id": f"t{i}", "unit": "CDVC02", "sex": "female", "q1": "2"} for i in range(n_female)]
    return pd.DataFrame(rows)


def test_export_refused_with_the_smallest_class_and_columns():
    with pytest.raises(DisclosureError) as e:
        k_anonymous_export(_members(2), ["unit", "sex"], 5)
    assert str(e.value) == (
        "export refused: the smallest group of respondents sharing the same unit, sex "
        "(unit=CDVC02, sex=female) has 2 "
        "respondent(s), fewer than k = 5; generalise these columns (e.g. replace unit by org) or "
        "drop one of them"
    )


def test_export_accepted_when_k_anonymous_and_metadata_dropped():
    out = k_anonymous_export(_members(5), ["unit", "sex", "position"], 5)
    assert list(out.columns) == ["unit", "sex", "q1"]
    assert len(out) == 11


def test_export_generalises_unit_to_org_when_given_the_hierarchy():
    units = pd.DataFrame({"unit": ["CDVC01", "CDVC02"], "org": ["CDVC", "CDVC"]})
    d = _members(2)
    d["sex"] = "male"
    out = k_anonymous_export(d, ["unit", "sex"], 5, hierarchy=units)
    assert list(out.columns) == ["org", "sex", "q1"]
    assert out["org"].unique().tolist() == ["CDVC"]


def test_export_k_below_3_rejected():
    with pytest.raises(DisclosureError, match="below the allowed minimum of 3"):
        k_anonymous_export(_members(5), ["unit"], 2)


# --------------------------------------------------------------------------------------------
# policy


def test_project_policy_file_loads():
    p = load_policy()
    assert POLICY_PATH == config.PROJECT_ROOT / "config" / "disclosure.yaml"
    assert (p.k, p.min_comment_group, p.decimals, p.homogeneity_rule) == (5, 10, 2, "suppress")
    assert (p.min_width_mean, p.min_width_proportion) == (0.5, 0.10)
    assert p.pool_label_vi == "Đơn vị khác (gộp)" and p.pool_label_en == "Other units (pooled)"
    assert p.quasi_identifiers == ("unit", "sex", "age_group", "party", "position")
    assert "Nguyễn" in p.comment_surnames and "đồng chí" in p.comment_titles
    # config.MIN_GROUP_SIZE (the notebooks' default parameter) must not drift from the policy
    assert config.MIN_GROUP_SIZE == p.k


def test_policy_file_with_k2_is_rejected(tmp_path: Path):
    f = tmp_path / "disclosure.yaml"
    f.write_text("min_group_size: 2\n", encoding="utf-8")
    with pytest.raises(DisclosureError) as e:
        load_policy(f)
    assert str(e.value) == (
        f"{f}: disclosure policy: min_group_size (k) = 2 is below the allowed minimum of 3; "
        "groups this small can be re-identified by their own members"
    )


def test_missing_policy_file_is_an_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="disclosure policy .* is missing"):
        load_policy(tmp_path / "nope.yaml")


def test_policy_file_unknown_key_and_coarsen_rule_rejected(tmp_path: Path):
    f = tmp_path / "d.yaml"
    f.write_text("min_group_sise: 5\n", encoding="utf-8")
    with pytest.raises(DisclosureError, match=r"unknown policy key 'min_group_sise'"):
        load_policy(f)
    f.write_text("homogeneity:\n  rule: coarsen\n", encoding="utf-8")
    with pytest.raises(DisclosureError, match=r"homogeneity.rule 'coarsen' is not offered"):
        load_policy(f)


def test_policy_markdown_mentions_k_vietnamese_first():
    vi = policy_markdown(load_policy(), "vi")
    assert vi.startswith("### Bảo đảm bí mật cho người trả lời")
    assert "ít hơn 5 người trả lời" in vi and '"n<5"' in vi and "Đơn vị khác (gộp)" in vi
    assert "ít nhất 10 người" in vi
    en = policy_markdown(load_policy(k=6), "en")
    assert "fewer than 6 respondents" in en and '"n<6"' in en
    with pytest.raises(ValueError, match="lang must be"):
        policy_markdown(load_policy(), "fr")


def test_export_maps_quasi_identifier_roles_to_item_names():
    from analysis.instruments import load

    ins = load("member")
    unit, sex = ins.role_item("unit").name, ins.role_item("sex").name
    d = _members(2).rename(columns={"unit": unit, "sex": sex})
    # without the instrument none of the roles is a column: refused rather than passed unchecked
    with pytest.raises(DisclosureError, match=r"none of the quasi-identifiers \(unit, sex, age_group, party, position\) is a column"):
        k_anonymous_export(d)
    with pytest.raises(DisclosureError) as e:
        k_anonymous_export(d, instrument=ins)
    assert f"sharing the same {unit}, {sex} ({unit}=CDVC02, {sex}=female) has 2 respondent(s)" in str(e.value)
    assert len(k_anonymous_export(_members(5).rename(columns={"unit": unit, "sex": sex}), instrument=ins)) == 11


def test_unit_identifiers_from_the_frame_catch_unit_names():
    from analysis.disclosure import unit_identifiers

    _, held = screen_comments(_comments(["Ở Cơ sở CĐVC 12 không ai dám nói."]), group_col="org",
                              identifiers=unit_identifiers())
    assert held["match"].tolist() == ["CDVC12; Cơ sở CĐVC 12"]


def test_a_run_may_raise_k_but_never_lower_it(tmp_path: Path):
    """The notebooks take k from the run's parameter (load_policy(k=min_group_size)): stricter
    than the policy file is allowed, looser is refused, so the file stays the one place."""
    assert load_policy(k=6).k == 6
    with pytest.raises(DisclosureError) as e:
        load_policy(k=4)
    assert str(e.value) == ("disclosure policy: k = 4 is below min_group_size = 5 of disclosure.yaml; lower it in "
                            "the policy file (and the methods appendix), not in a run")
    f = tmp_path / "disclosure.yaml"
    f.write_text("min_group_size: 3\n", encoding="utf-8")
    assert load_policy(f, k=3).k == 3 and load_policy(f).k == 3


def test_identifier_index_finds_what_every_pattern_finds():
    """The indexed lookup (#15: 10,300 units) = trying every identifier's pattern on every comment."""
    from analysis.disclosure.comments import _fold, _IdentifierIndex

    idents = [f"CDVC{i:02d}" for i in range(1, 60)] + ["DTN7", "HCCB 003", "Sở Tài chính", "(UBND) tỉnh Nghệ An",
                                                        "Trường Chính trị", "Ban Dân vận", "A-B Co"]
    texts = ["Cơ sở cdvc07 và CĐVC 7 họp", "cdvc070 không phải", "xcdvc5y dtn07 hccb3", "cdvc 00012, DTN 7!",
             "Sở Tài  chính tỉnh", "sở tài chínhx", "(ubnd) tinh nghe an", "ubnd tinh nghe an", "truong chinh tri.",
             "ban dan van-", "a-b co", "ab co", "không có gì", "CDVC59CDVC1", "dtn"]
    index = _IdentifierIndex(idents)
    for t in texts:
        folded = _fold(t)
        compact = re.sub(r"[^0-9a-z]", "", folded)
        brute = [i for i, pat, on_compact, _ in index.patterns if pat.search(compact if on_compact else folded)]
        assert index.find(folded, compact) == brute, t
