"""The Board edition as a Party office reads it (#13): header rows, table columns, lists, terms,
the language of every banner, and the documents recorded in the manifest.

Two kinds of test: fast ones on a small run folder written here (published tables with the real
questionnaires' scale, target and organization names, in Vietnamese or English), and ones on the
demo report printed through LibreOffice (`demo_report`), read back with ``pdftotext -layout``.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

import docx
import pandas as pd
import pytest
from conftest import require_libreoffice
from docx.oxml.ns import qn
from test_docx_layout import _squash, layout_text, split_tokens, tables_only

from analysis import instruments
from analysis.report import assembly, board, board_docx, content, docx_report
from analysis.report.letterhead import load_letterhead

# Vietnamese letters that English text never holds (the place name and document symbols aside).
_VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]",
                         re.IGNORECASE)
_PROPER = ("Nghệ An", "NGHỆ AN", "04-ĐA/ĐUK", "04\u2011ĐA/ĐUK", "BC/ĐUK")


def _english(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    for name in _PROPER:
        text = text.replace(name, "")
    return text


# --------------------------------------------------------------------------- a small run folder

_WORDS = {
    "vi": {"partly": "Đạt một phần", "achieved": "Đạt", "targets": "0/2 chỉ tiêu đạt, 2 đạt một phần",
           "members": "1 tăng, 2 không đổi", "label": "Cấp ủy lãnh đạo việc đổi mới cách thức và nội dung hoạt động"},
    "en": {"partly": "Partly achieved", "achieved": "Achieved", "targets": "0/2 targets achieved, 2 partly achieved",
           "members": "1 up, 2 unchanged", "label": "Party committees' leadership over renewing the content"},
}


def _run_folder(root: Path, lang: str) -> Path:
    """Published tables as the member notebooks write them, for three organizations, twelve scales
    (none rose: K4 lists the three lowest, whose labels hold commas) and four unit targets."""
    member, unit = instruments.load("member"), instruments.load("unit")
    scales = [c.name for c in member.constructs]
    targets = [i.name for i in unit.indicators][:4]
    orgs = [c.name for c in unit.choice_list(unit.role_item("org").list_name)]
    results = root / "results"
    results.mkdir(parents=True)
    w = _WORDS[lang]

    def write(name: str, rows: list[dict]) -> None:
        pd.DataFrame(rows).to_csv(results / f"{name}.csv", index=False, encoding="utf-8-sig")

    write("scorecard", [{"task_group": g, "label": w["label"], "verdict": "partly" if g < 6 else "achieved",
                         "verdict_label": w["partly"] if g < 6 else w["achieved"], "targets": w["targets"],
                         "members": w["members"]} for g in range(1, 7)])
    rows = []
    for v, met in zip(targets, (40, 60, 103, 80)):
        rows.append({"org": None, "variable": v, "n_met": met, "n_with_value": 103, "suppressed": False})
        for org, n in zip(orgs, (48, 35, 20)):
            rows.append({"org": org, "variable": v, "n_met": min(n, round(met * n / 103)), "n_with_value": n,
                         "suppressed": False})
    write("scorecard_targets", rows)
    # the three lowest current scores: "voi", "tru", "cad" (labels with commas in both languages)
    low = {"voi": 3.1, "tru": 3.2, "cad": 3.3}
    write("changes_constructs_overall", [{"variable": s, "estimate": 0.02, "ci_low": -0.1, "ci_high": 0.14,
                                          "p_adjusted": 0.6, "estimate_a": 3.9, "estimate_b": low.get(s, 4.0)}
                                         for s in scales])
    write("changes_constructs_by_org", [{"org": o, "variable": s, "estimate": 0.3, "ci_low": 0.1, "ci_high": 0.5,
                                         "p_adjusted": 0.01} for o in orgs for s in scales[:4]])
    write("changes_indicators", [{"variable": v, "estimate": 0.2, "ci_low": 0.1, "ci_high": 0.3, "p_adjusted": 0.01,
                                  "estimate_a": 0.3, "estimate_b": 0.5, "z": 4.0} for v in targets[:1]]
          + [{"variable": v, "estimate": 0.0, "ci_low": -0.1, "ci_high": 0.1, "p_adjusted": 0.9, "estimate_a": 0.3,
              "estimate_b": 0.3, "z": 0.1} for v in targets[1:]])
    write("dose_response", [{"variable": s, "estimate": 0.7 if s == "ren" else 0.0, "ci_low": 0.3 if s == "ren" else -1,
                             "ci_high": 1.1 if s == "ren" else 1, "p_adjusted": 0.01 if s == "ren" else 0.9}
                            for s in scales])
    write("response_rates", [{"org": None, "unit": None, "n": 3173, "members": 6314}])
    write("unit_response", [{"wave": "2025", "n": 103, "units": 103}])
    return root


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    """The Board edition of the small run folder in each language: (document, docx path)."""
    out = {}
    head = load_letterhead()
    for lang in ("vi", "en"):
        folder = _run_folder(tmp_path_factory.mktemp(f"board_{lang}"), lang)
        params = {"instrument": "member", "wave": "2025", "baseline_wave": "2023", "lang": lang, "min_group_size": 5}
        doc = board.board_document(folder, params, head, synthetic=True, unit_instrument="unit",
                                   raw_dir=folder / "raw")
        out[lang] = (doc, board_docx.write_board_docx(doc, folder / "board.docx"))
    return out


def _all_text(path: Path) -> str:
    d = docx.Document(path)
    parts = [p.text for p in d.paragraphs]
    parts += [c.text for t in d.tables for r in t.rows for c in r.cells]
    for s in d.sections:
        parts += [p.text for part in (s.header, s.first_page_header) for p in part.paragraphs]
    return unicodedata.normalize("NFC", "\n".join(parts))


def test_join_uses_semicolons_when_an_item_holds_a_comma():
    assert board._join(["a", "b", "c"], "vi") == "a, b và c"
    assert board._join(["giám sát, phản biện xã hội", "niềm tin", "cán bộ"], "vi") == \
        "giám sát, phản biện xã hội; niềm tin; cán bộ"
    assert board._join(["x (từ 3,91 lên 4,37)", "y (từ 4,08 lên 4,49)"], "vi") == \
        "x (từ 3,91 lên 4,37); y (từ 4,08 lên 4,49)"
    assert board._join(["voice — supervision, criticism", "trust", "cadres"], "en") == \
        "voice — supervision, criticism; trust; and cadres"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_k4_lists_the_scales_with_semicolons(boards, lang):
    doc, _ = boards[lang]
    labels = board.labels_for("member", "unit", lang)
    k4 = [r for r in next(b for b in doc.blocks if b.kind == "bullets").items
          if ("Đổi mới nội dung" if lang == "vi" else "Renew the content") in r]
    assert len(k4) == 1, k4
    names = [board._lower_first(labels.scales[s]) for s in ("voi", "tru", "cad")]
    assert any("," in n for n in names)  # the case the rule is for
    listed = k4[0].split(": ", 1)[1].rstrip(".")
    expected = "; ".join(names) if lang == "vi" else "; ".join(names[:-1]) + "; and " + names[-1]
    assert listed == expected


def test_vietnamese_terms(boards):
    text = _all_text(boards["vi"][1])
    assert "khía cạnh" not in text and "mục tiêu" not in text
    assert "thang đo" in text and "chỉ tiêu" in text


def test_english_board_has_no_vietnamese(boards):
    doc, path = boards["en"]
    text = _english(_all_text(path))
    found = sorted(set(re.findall(r"\S*" + _VIETNAMESE.pattern + r"\S*", text, flags=re.IGNORECASE)))
    assert not found, found
    assert "SIMULATED DATA" in text and "DRAFT" in text and "Recipients:" in text
    # English numerals and plurals
    assert "3,173/6,314" in text and "(s)" not in text and "in 2025 1 " not in text


def test_header_puts_the_date_on_the_row_of_the_number(boards):
    for lang, (_, path) in boards.items():
        header = docx.Document(path).tables[0]
        cells = [[c.text for c in row.cells] for row in header.rows]
        number = [r for r in cells if r[0].startswith(("Số:", "No.:"))]
        assert len(number) == 1, cells
        assert number[0][1].startswith("Nghệ An, "), cells
        assert cells[0][1] in ("ĐẢNG CỘNG SẢN VIỆT NAM", "COMMUNIST PARTY OF VIETNAM")
        assert (lang == "vi") == ("ngày … tháng … năm …" in number[0][1])


def test_column_widths_keep_counts_and_verdicts_whole():
    frame = pd.DataFrame({"Nhóm": ["1", "2"], "Nhóm nhiệm vụ": [_WORDS["vi"]["label"] * 2] * 2,
                          "Đánh giá": ["Đạt một phần", "Đạt"], "Chỉ tiêu (phiếu cơ sở)": [_WORDS["vi"]["targets"]] * 2,
                          "Cảm nhận của đoàn viên, hội viên": [_WORDS["vi"]["members"]] * 2,
                          "Đoàn Thanh niên": ["103/103", "x"]})
    wrap = ("never", "words", "never", "comma", "comma", "never")
    widths = board_docx.column_widths(frame, wrap, board_docx._TEXT_WIDTH_CM)
    assert abs(sum(widths) - board_docx._TEXT_WIDTH_CM) < 1e-6
    pad = 2 * board_docx._CELL_PAD_TW / 20 + board_docx._BORDER_PT
    room = [w / 2.54 * 72 - pad for w in widths]
    for j, name in enumerate(frame.columns):
        for value in frame[name]:
            pieces = board_docx._pieces(value, wrap[j])
            assert all(docx_report.text_width_pt(p, 11) <= room[j] for p in pieces), (name, value)
        lines = board_docx.header_lines(name, room[j])
        assert len(lines) <= (3 if len(name.split()) >= 5 else 2), (name, lines)
        assert " ".join(lines) == name
    assert widths[0] < 1.6  # the group number's column is as wide as "Nhóm", no wider
    assert board_docx.header_lines("Đoàn Thanh niên", room[5]) in (["Đoàn Thanh niên"], ["Đoàn", "Thanh niên"])


def test_comma_cells_break_only_after_a_comma():
    assert board_docx._bound("0/2 chỉ tiêu đạt, 2 đạt một phần", "comma") == \
        "0/2\u00a0chỉ\u00a0tiêu\u00a0đạt, 2\u00a0đạt\u00a0một\u00a0phần"
    assert board_docx._bound("Đạt một phần", "never") == "Đạt\u00a0một\u00a0phần"
    assert board_docx._bound("Cấp ủy lãnh đạo", "words") == "Cấp ủy lãnh đạo"


# --------------------------------------------------------------------------- banners

@pytest.mark.parametrize("lang", ["vi", "en"])
def test_banners_are_in_the_report_language_only(lang):
    page = assembly._render_page([], {"lang": lang, "instrument": "member", "wave": "2025"}, True, None)
    shown = re.search(r'<div class="synthetic-banner"[^>]*>(.*?)</div>', page, re.S).group(1)
    banners = [shown, content._WORDS[lang]["banner"], docx_report.BANNERS[lang], board_docx._BANNER[lang]]
    for text in banners:
        if lang == "en":
            assert not _VIETNAMESE.search(text), text
        else:
            assert not re.search(r"synthetic|data|simulated", text, re.I), text
            assert "MÔ PHỎNG" in text


# --------------------------------------------------------------------------- the demo, printed

def test_demo_board_date_line_level_with_the_number(demo_report):
    require_libreoffice()
    first = layout_text(demo_report.report_dir / "board.pdf").split("\f")[0]
    line = next(x for x in first.splitlines() if "Số:" in x)
    assert "ngày … tháng … năm …" in line, first[:800]
    party = next(x for x in first.splitlines() if "ĐẢNG CỘNG SẢN VIỆT NAM" in x)
    assert "ĐẢNG BỘ TỈNH NGHỆ AN" in party  # the Party's name level with the parent body


@pytest.fixture(scope="module")
def board_tables(demo_report, tmp_path_factory):
    """The demo Board edition's tables alone, printed (see test_docx_layout.tables_only)."""
    require_libreoffice()
    from analysis.report import pdf

    folder = tmp_path_factory.mktemp("board_tables")
    src = folder / "board.docx"
    shutil.copy2(demo_report.report_dir / "board.docx", src)
    tables = tables_only(src, folder / "tables.docx")
    out = pdf.docx_to_pdf([tables])[0]
    return tables, layout_text(out)


def test_demo_board_tables_break_no_word_or_number(board_tables):
    path, text = board_tables
    # "Số: …‑BC/ĐUK" keeps a non-breaking hyphen, which pdftotext gives back as a plain one
    lines = [_squash(x) for x in text.splitlines()]
    broken = [b for b in split_tokens(path, text)
              if sum(x.count(b[0].replace("\u2010", "-")) for x in lines) < b[1]]
    assert not broken, broken[:10]


def test_demo_board_counts_and_verdicts_stay_on_one_line(board_tables):
    path, text = board_tables
    whole = []
    for table in docx.Document(path).tables[1:-1]:  # the header and closing blocks are not tables of data
        for row in table.rows[1:]:
            for cell in row.cells:
                if cell._tc.tcPr is not None and cell._tc.tcPr.find(qn("w:noWrap")) is not None and cell.text.strip():
                    whole.append(_squash(cell.text))
    assert any(w.startswith("Đạtmột") for w in whole) and any("/" in w for w in whole)  # verdicts and counts
    lines = [_squash(x) for x in text.splitlines()]
    for token in set(whole):
        assert sum(x.count(token) for x in lines) >= whole.count(token), token


def test_manifest_records_the_documents(demo_report):
    manifest = json.loads((demo_report.report_dir / "manifest.json").read_text(encoding="utf-8"))
    documents = json.loads((demo_report.report_dir / assembly.DOCUMENTS_FILE).read_text(encoding="utf-8"))
    assert manifest["documents"] == documents
    assert documents["board"] == "board.docx" and documents["draft"] is True
