"""Narrative rules: exact sentences, never more than the numbers say (the scorecard: test_scorecard.py)."""

from __future__ import annotations

import unicodedata

import pytest

from analysis.report import narrative
from analysis.report.narrative import cohen_label, describe_change, describe_estimate
from analysis.report.tables import MINUS

LABEL = "sự hài lòng với hoạt động của tổ chức"
KW = {"label": LABEL, "wave_a": "2023", "wave_b": "2025", "table": "member_change", "keys": ["org", "variable"]}


def _row(a, b, lo, hi, p, **extra):
    return {"org": "CDVC", "variable": "sat", "estimate_a": a, "estimate_b": b, "difference": b - a,
            "ci_low": lo, "ci_high": hi, "p_value": p, "p_adjusted": p, **extra}


def test_significant_increase_vi_and_en():
    s = describe_change(_row(3.41, 3.68, 0.15, 0.39, 0.001), **KW)
    assert s.kind == "increase"
    assert s.source == "member_change[org=CDVC, variable=sat]"
    assert s.text == (
        "Điểm trung bình về sự hài lòng với hoạt động của tổ chức tăng có ý nghĩa thống kê từ 3,41 "
        "(năm 2023) lên 3,68 (năm 2025), mức chênh lệch 0,27 điểm (khoảng tin cậy 95%: 0,15–0,39; "
        "p hiệu chỉnh = 0,001).")
    en = describe_change(_row(3.41, 3.68, 0.15, 0.39, 0.001), **{**KW, "label": "satisfaction"}, lang="en")
    assert en.text == ("The mean score for satisfaction rose significantly from 3.41 (2023) to 3.68 (2025), "
                       "a difference of 0.27 points (95% CI: 0.15–0.39; adjusted p = 0.001).")


def test_significant_decrease_with_effect_size():
    s = describe_change(_row(3.68, 3.41, -0.39, -0.15, 0.0004, effect_size=-0.31), **KW)
    assert s.kind == "decrease"
    assert s.text == (
        f"Điểm trung bình về {LABEL} giảm có ý nghĩa thống kê từ 3,68 (năm 2023) xuống 3,41 (năm 2025), "
        f"mức chênh lệch 0,27 điểm (khoảng tin cậy 95%: {MINUS}0,39 đến {MINUS}0,15; p hiệu chỉnh < 0,001), "
        "mức độ khác biệt nhỏ (d của Cohen = −0,31).")


def test_not_significant_by_p():
    s = describe_change(_row(3.41, 3.45, -0.08, 0.16, 0.52, effect_size=0.9), **KW)
    assert s.kind == "no_difference"
    assert s.text == (
        f"Điểm trung bình về {LABEL} không có khác biệt có ý nghĩa thống kê giữa năm 2023 (3,41) và năm "
        f"2025 (3,45) (chênh lệch 0,04 điểm; khoảng tin cậy 95%: {MINUS}0,08 đến 0,16; p hiệu chỉnh = 0,520).")
    assert "lớn" not in s.text  # no effect-size word for a non-significant change


def test_interval_crossing_zero_with_small_p_is_not_significant():
    s = describe_change(_row(3.41, 3.51, -0.01, 0.21, 0.01), **KW)
    assert s.kind == "no_difference"
    assert "không có khác biệt có ý nghĩa thống kê" in s.text
    assert "tăng" not in s.text
    en = describe_change(_row(3.41, 3.51, -0.01, 0.21, 0.01), **KW, lang="en")
    assert en.text.startswith("There is no statistically significant difference")
    for word in ("rose", "improved", "increase"):
        assert word not in en.text


def test_p_at_alpha_is_not_significant_and_p_just_below_shows_four_decimals():
    assert describe_change(_row(3.4, 3.6, 0.05, 0.35, 0.05), **KW).kind == "no_difference"
    s = describe_change(_row(3.4, 3.6, 0.05, 0.35, 0.0496), **KW)
    assert s.kind == "increase" and "p hiệu chỉnh = 0,0496" in s.text


def test_proportion_in_percentage_points():
    s = describe_change(_row(0.45, 0.523, 0.021, 0.125, 0.012), **{**KW, "label": "đoàn viên tham gia"},
                        measure="proportion")
    assert s.text == (
        "Tỷ lệ đoàn viên tham gia tăng có ý nghĩa thống kê từ 45,0% (năm 2023) lên 52,3% (năm 2025), mức "
        "chênh lệch 7,3 điểm phần trăm (khoảng tin cậy 95%: 2,1–12,5; p hiệu chỉnh = 0,012).")


def test_missing_row_gives_no_numbers():
    s = describe_change(_row(float("nan"), 3.5, float("nan"), float("nan"), float("nan")), **KW)
    assert s.kind == "no_data"
    assert not any(ch.isdigit() for ch in s.text.replace("2023", "").replace("2025", ""))


def test_estimate_sentence_and_nfc():
    decomposed = unicodedata.normalize("NFD", LABEL)
    s = describe_estimate({"variable": "sat", "estimate": 3.62, "ci_low": 3.5, "ci_high": 3.74, "n": 4816},
                          label=decomposed, wave="2025", table="t")
    assert s.text == f"Điểm trung bình về {LABEL} năm 2025 là 3,62 (khoảng tin cậy 95%: 3,50–3,74; n = 4.816)."
    assert unicodedata.is_normalized("NFC", s.text)


@pytest.mark.parametrize(("d", "vi", "en"), [(0.19, "không đáng kể", "negligible"), (0.2, "nhỏ", "small"),
                                              (-0.5, "trung bình", "medium"), (1.2, "lớn", "large")])
def test_cohen_words(d, vi, en):
    assert cohen_label(d) == vi and cohen_label(d, lang="en") == en


_COUNT_ROW = {"variable": "x", "estimate_a": 1.5, "estimate_b": 2.16, "difference": 0.66, "ci_low": 0.41,
              "ci_high": 0.9, "p_adjusted": 0.0001}


def test_count_indicator_is_worded_per_unit_in_its_own_noun():
    label = "Số buổi cấp ủy làm việc với ban chấp hành trong năm"
    s = narrative.describe_change(_COUNT_ROW, label=label, wave_a="2023", wave_b="2025", table="t",
                                  measure=narrative.measure_for_unit("count"),
                                  count_noun=narrative.count_noun_from_label(label))
    assert s.text == ("Số buổi cấp ủy làm việc với ban chấp hành trong năm bình quân mỗi cơ sở tăng có ý nghĩa "
                      "thống kê từ 1,50 buổi (năm 2023) lên 2,16 buổi (năm 2025), mức chênh lệch 0,66 buổi "
                      "(khoảng tin cậy 95%: 0,41–0,90; p hiệu chỉnh < 0,001).")
    en = narrative.describe_change(_COUNT_ROW, label="Party committee working sessions per year", wave_a="2023",
                                   wave_b="2025", table="t", measure="count", lang="en")
    assert en.text == ("Party committee working sessions per year, mean per unit, rose significantly from 1.50 "
                       "(2023) to 2.16 (2025), a difference of 0.66 (95% CI: 0.41–0.90; adjusted p < 0.001).")


def test_share_indicator_is_worded_as_a_percentage_with_points():
    row = {"estimate_a": 0.52, "estimate_b": 0.93, "difference": 0.41, "ci_low": 0.3, "ci_high": 0.52,
           "p_adjusted": 0.0001}
    s = narrative.describe_change(row, label="cơ sở có công khai tài chính", wave_a="2023", wave_b="2025",
                                  table="t", measure=narrative.measure_for_unit("yes/no"))
    # shares published to 2 decimals read as whole percents (not a made-up 52,0%)
    assert s.text == ("Tỷ lệ cơ sở có công khai tài chính tăng có ý nghĩa thống kê từ 52% (năm 2023) lên 93% "
                      "(năm 2025), mức chênh lệch 41 điểm phần trăm (khoảng tin cậy 95%: 30–52; "
                      "p hiệu chỉnh < 0,001).")
    finer = narrative.describe_change({**row, "estimate_a": 0.524, "estimate_b": 0.931, "difference": 0.407},
                                      label="x", wave_a="2023", wave_b="2025", table="t", measure="proportion")
    assert "từ 52,4% (năm 2023) lên 93,1%" in finer.text and "40,7 điểm phần trăm" in finer.text


def test_measure_and_noun_follow_the_instrument():
    assert [narrative.measure_for_unit(u) for u in ("share", "yes/no", "count", "per 100", None)] == \
        ["proportion", "proportion", "count", "count", "mean"]
    assert narrative.count_noun_from_label("Số cuộc kiểm tra, giám sát đối với tổ chức cơ sở trong năm") == "cuộc"
    assert narrative.count_noun_from_label("Có quy chế phối hợp") is None
    with pytest.raises(ValueError, match="measure must be one of"):
        narrative.describe_change(_COUNT_ROW, label="x", wave_a="2023", wave_b="2025", table="t", measure="total")
