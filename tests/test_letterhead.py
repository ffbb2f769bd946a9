"""config/report.yaml: the Board edition's header and signature come from configuration."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from analysis.report.letterhead import NB_HYPHEN, REPORT_CONFIG_FILE, LetterheadError, load_letterhead


def _write(tmp_path, **changes):
    raw = yaml.safe_load(REPORT_CONFIG_FILE.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            raw[outer][inner] = value
        else:
            raw[key] = value
    path = tmp_path / "report.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_file_leaves_number_date_and_signer_blank_and_marks_draft():
    head = load_letterhead()
    assert head.layout == "party" and head.draft
    assert head.number is None and head.date is None and head.signer_name is None
    assert head.number_line("vi") == f"Số: …{NB_HYPHEN}BC/ĐUK"
    assert head.date_line("vi") == "Nghệ An, ngày … tháng … năm …"
    assert head.national_lines("vi") == ("ĐẢNG CỘNG SẢN VIỆT NAM",)
    assert head.recipients["vi"][-1].startswith("- Lưu")
    assert f"04{NB_HYPHEN}ĐA/ĐUK ngày 24 tháng 3 năm 2023" in head.plan_reference("vi")


def test_configured_document_is_not_a_draft(tmp_path):
    head = load_letterhead(_write(tmp_path, number=15, date="2026-01-20", **{"signer.title": "PHÓ BÍ THƯ",
                                                                              "signer.name": "Nguyễn Văn A"}))
    assert not head.draft
    assert head.number_line("vi") == f"Số: 15{NB_HYPHEN}BC/ĐUK"
    assert head.date_line("vi") == "Nghệ An, ngày 20 tháng 1 năm 2026"
    assert head.date == dt.date(2026, 1, 20)


def test_state_layout_follows_decree_30(tmp_path):
    head = load_letterhead(_write(tmp_path, layout="state", symbol="BC/UBND", number=3))
    assert head.national_lines("vi") == ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
    assert head.number_line("vi") == f"Số: 3/BC{NB_HYPHEN}UBND"


@pytest.mark.parametrize("change, key, rule", [
    ({"layout": "ministry"}, "'layout'", "must be 'party'"),
    ({"date": "20/1/2026"}, "'date'", "YYYY-MM-DD"),
    ({"recipients": {"vi": []}}, "'recipients.vi'", "non-empty list"),
    ({"signer.name": ["a"]}, "'signer.name'", "must be a text"),
    ({"colour": "red"}, "'colour'", "unknown key"),
])
def test_malformed_file_names_file_key_value_and_rule(tmp_path, change, key, rule):
    path = _write(tmp_path, **change)
    with pytest.raises(LetterheadError) as info:
        load_letterhead(path)
    message = str(info.value)
    assert str(path) in message and key in message and rule in message
