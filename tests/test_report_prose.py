"""The report's prose reads as an analyst writes it (issue #13, item 4).

Change sections group their rows into a few sentences (what rose, what fell, what did not
move) instead of one sentence a row; one term per concept ("thang đo"); no code, variable
names, p-values or "0 giảm" in the text; the disclosure paragraph names characteristics in
words. Unit tests of the sentence functions on small hand-made tables, and checks on the
demo reports' HTML and DOCX text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import report_docx_text, report_html_text

from analysis import study

LABELS = {"ren": "Tính hấp dẫn của hoạt động", "tru": "Niềm tin vào ban chấp hành", "sat": "Mức độ hài lòng",
          "par": "Mức độ tham gia", "sh": "Tỷ lệ có công khai tài chính", "ss": "Số buổi làm việc trong năm"}


def _row(var, a, b, sig, suppressed=False, unit=None, **extra):
    return {"variable": var, "wave": "2025", "baseline_wave": "2023", "estimate_a": a, "estimate_b": b,
            "estimate": round(b - a, 4), "ci_low": b - a - 0.05, "ci_high": b - a + 0.05, "p_adjusted": 0.001 if sig
            else 0.5, "significant": sig, "suppressed": suppressed, "unit": unit, **extra}


def _texts(sentences):
    return [getattr(s, "text", s) for s in sentences]


# ------------------------------------------------------------------ sentence functions


def test_rose_flat_fell_grouped_vi():
    t = pd.DataFrame([_row("ren", 3.91, 4.37, True), _row("tru", 4.19, 4.55, True), _row("sat", 3.93, 3.92, False),
                      _row("par", 3.90, 3.70, True)])
    said = _texts(study.change_sentences(t, LABELS, table="c", lang="vi"))
    assert len(said) == 2
    assert said[0] == ("So với năm 2023, đoàn viên, hội viên đánh giá cao hơn ở 2 thang đo: tính hấp dẫn của hoạt "
                       "động (từ 3,91 lên 4,37; +0,46 điểm); niềm tin vào ban chấp hành (từ 4,19 lên 4,55; "
                       "+0,36 điểm).")
    assert said[1] == ("1 thang đo giảm: mức độ tham gia (từ 3,90 xuống 3,70; −0,20 điểm); 1 thang đo chưa có thay "
                       "đổi rõ (năm 2023 và năm 2025): mức độ hài lòng (3,93 và 3,92).")


def test_none_rose_none_fell_vi_and_en():
    t = pd.DataFrame([_row("sat", 3.93, 3.92, False), _row("par", 3.90, 3.91, False), _row("ren", 3, 3, False, True)])
    vi = _texts(study.change_sentences(t, LABELS, table="c", lang="vi"))
    assert vi[0] == "So với năm 2023, không thang đo nào tăng."
    assert vi[1].startswith("Không thang đo nào giảm; 2 thang đo chưa có thay đổi rõ")
    assert vi[2] == "Không đủ dữ liệu để so sánh 1 thang đo: tính hấp dẫn của hoạt động."
    en = _texts(study.change_sentences(t, LABELS, table="c", lang="en"))
    assert en[0] == "Compared with 2023, no scale rose."
    assert en[1].startswith("No scale fell; 2 scales showed no clear change (2023 and 2025): ")
    assert "(3.93 and 3.92)" in en[1]


def test_rose_en_and_only_significant():
    t = pd.DataFrame([_row("ren", 3.91, 4.37, True), _row("sat", 3.93, 3.92, False)])
    en = _texts(study.change_sentences(t, LABELS, table="c", lang="en", only_significant=True))
    assert en == ["Compared with 2023, members rated 1 scale higher: tính hấp dẫn của hoạt động "
                  "(from 3.91 to 4.37; +0.46 points).", "No scale fell."]


def test_by_organization_one_group_each():
    t = pd.DataFrame([dict(_row("ren", 3.9, 4.4, True), org="cd"), dict(_row("ren", 3.9, 3.9, False), org="dtn")])
    said = _texts(study.change_sentences(t, {**LABELS, "cd": "Công đoàn", "dtn": "Đoàn Thanh niên"}, table="c",
                                         keys=("org", "variable")))
    assert said[0].startswith("Công đoàn: so với năm 2023, đoàn viên, hội viên đánh giá cao hơn ở 1 thang đo")
    assert said[2] == "Đoàn Thanh niên: so với năm 2023, không thang đo nào tăng."


def test_indicators_shares_counts_and_pairs():
    t = pd.DataFrame([_row("sh", 0.75, 1.0, True, unit="yes/no", n_pairs=50, n_b=60),
                      _row("ss", 1.5, 2.16, True, unit="count"), _row("par", 0.3, 0.31, False, unit="share")])
    vi = _texts(study.indicator_change_sentences(t, LABELS, table="c", lang="vi", only_significant=False))
    assert vi[0] == ("So với năm 2023, 2 chỉ tiêu cơ sở tăng: tỷ lệ có công khai tài chính (từ 75% lên 100%; "
                     "+25 điểm phần trăm; 50 cơ sở có số liệu ở cả hai đợt); số buổi làm việc trong năm "
                     "(từ 1,50 lên 2,16 buổi; +0,66 buổi).")
    assert vi[1].startswith("Không chỉ tiêu cơ sở nào giảm; 1 chỉ tiêu cơ sở chưa có thay đổi rõ")
    en = _texts(study.indicator_change_sentences(t, LABELS, table="c", lang="en"))
    assert en[0].startswith("Compared with 2023, 2 unit indicators rose: ")
    assert en[1] == "No unit indicator fell."


def test_summary_counts_never_say_zero():
    t = pd.DataFrame([_row("ren", 3.91, 4.37, True), _row("sat", 3.93, 3.92, False)])
    vi = _texts(study.change_summary(t, LABELS, table="c", lang="vi"))
    assert vi == ["1 thang đo tăng (Tính hấp dẫn của hoạt động), không thang đo nào giảm, 1 chưa có thay đổi rõ."]
    en = _texts(study.change_summary(t, LABELS, table="c", lang="en", noun=("chỉ tiêu cơ sở", "unit indicator(s)")))
    assert en == ["1 unit indicator rose (Tính hấp dẫn của hoạt động), no unit indicator fell, "
                  "1 showed no clear change."]
    assert study.no_change_sentence(t, LABELS, lang="vi") == "1 thang đo chưa có thay đổi rõ: mức độ hài lòng."


def test_disclosure_names_characteristics_in_words():
    from analysis.disclosure import policy

    vi, en = policy.policy_markdown(lang="vi"), policy.policy_markdown(lang="en")
    assert "giới tính" in vi and "age_group" not in vi and "sex," not in vi
    assert "age group" in en and "age_group" not in en


# ------------------------------------------------------------------ the demo reports

pytestmark = pytest.mark.xdist_group("demo_report")


@pytest.fixture(params=["member", "unit"])
def report_dir(request, demo_report) -> Path:
    return demo_report.report_dir if request.param == "member" else request.getfixturevalue("demo_unit_report")


def _codes() -> set[str]:
    from analysis import instruments

    out = set()
    for name in ("member", "unit"):
        inst = instruments.load(name)
        out |= {c.name for c in inst.constructs}
        out |= {q.name for q in inst.questions} if hasattr(inst, "questions") else set()
    return {c for c in out if len(c) > 2}


def test_words_of_the_report(report_dir):
    for kind, text in {"html": report_html_text(report_dir), "docx": report_docx_text(report_dir)}.items():
        assert not re.search(r"khía cạnh", text, re.I), kind
        assert not re.search(r"\b0 (giảm|tăng)\b", text), kind
        prose = [line for line in text.split("\n") if len(line) > 80]  # sentences, not table cells
        used = {c for c in _codes() for line in prose if re.search(rf"\b{re.escape(c)}\b", line)}
        assert used == set(), (kind, sorted(used)[:10])


def _change_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n")
            if re.match(r"^(\S+ )?(So với năm \d{4}|[^:]{2,60}: so với năm \d{4})", line.strip())]


def test_change_section_has_few_sentences_and_names_every_rise(demo_report):
    text = report_html_text(demo_report.report_dir)
    tables = {p.stem: pd.read_csv(p, encoding="utf-8-sig") for p in (demo_report.report_dir / "tables").glob("*.csv")}
    changes = tables["changes_constructs_overall"]
    lines = _change_lines(text)
    # a few sentences a section (overall, executive summary), not one a scale
    assert 0 < len(lines) <= 6, lines
    rose = changes[changes["significant"].astype(str).str.lower() == "true"]
    from analysis import instruments

    labels = {c.name: c.label("vi") for c in instruments.load("member").constructs}
    rise_lines = [line for line in lines if "đánh giá cao hơn" in line]
    assert rise_lines
    for var in rose["variable"]:
        name = labels[var]
        assert any(name[0].lower() + name[1:] in line for line in rise_lines), var
    # the per-row sentences are gone from the scale comparison
    assert text.count("Điểm trung bình về") <= 2


_GROUPED = re.compile(r"\(từ (−?\d[\d.,]*%?) (?:lên|xuống) (−?\d[\d.,]*%?)[^;()]*; [+−](\d[\d.,]*)")


def test_grouped_changes_equal_their_levels(report_dir):
    def num(s):
        return float(s.rstrip("%").replace(".", "").replace(",", ".").replace("−", "-"))

    def dec(s):
        return len(s.rstrip("%").split(",")[1]) if "," in s else 0

    found = 0
    for text in (report_html_text(report_dir), report_docx_text(report_dir)):
        for m in _GROUPED.finditer(text):
            a, b, d = m.groups()
            unit = 10.0 ** -max(dec(a), dec(b), dec(d))
            assert abs(num(d) - abs(num(b) - num(a))) <= unit + 1e-9, m.group(0)
            found += 1
    assert found > 0


def test_disclosure_paragraph_in_words(demo_report):
    text = report_html_text(demo_report.report_dir)
    line = next(line for line in text.split("\n") if "Dữ liệu cấp cá nhân chỉ được xuất" in line)
    assert not re.search(r"\b(unit|sex|age_group|party|position)\b", line), line
    assert "giới tính" in line
