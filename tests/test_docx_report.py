"""DOCX layout read back with python-docx against the Decree 30/2020/NĐ-CP ranges."""

from __future__ import annotations

import json
import unicodedata
import zipfile

import docx
import numpy as np
import pandas as pd
import pytest
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from matplotlib.figure import Figure as MplFigure

from analysis.report.docx_report import (
    BANNER,
    Appendix,
    Bullets,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    Table,
    blocks_from_json,
    build_docx,
)

NFD_TEXT = unicodedata.normalize("NFD", "Đoàn viên, hội viên đánh giá cao việc đổi mới nội dung sinh hoạt.")


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    path = tmp_path_factory.mktemp("fig") / "chart.png"
    fig = MplFigure(figsize=(4, 3))
    fig.add_subplot().plot([1, 2, 3])
    fig.savefig(path, dpi=150)
    return path


def _blocks(png):
    wide = pd.DataFrame({f"c{i}": np.arange(3) * 1000.5 for i in range(12)})
    return [
        Heading("I. Kết quả chính"),
        Paragraph(NFD_TEXT),
        Bullets(("Công đoàn viên chức: 4.816 đoàn viên.",)),
        Table(pd.DataFrame({"Tổ chức": ["CDVC", "HCCB"], "n": [4816, 315], "Điểm": [3.6249, np.nan]}),
              caption="Số người trả lời", source="Khảo sát năm 2025", note="n<5: không công bố",
              decimals={"Điểm": 2}),
        Figure(png, caption="Xu hướng theo tổ chức", source="Khảo sát 2023–2025"),
        Table(wide, caption="Bảng rộng", landscape=True, decimals=1),
        Heading("1. Mục nhỏ", level=2),
        Paragraph("Sau bảng rộng."),
        PageBreak(),
        Paragraph("Trang mới."),
        Appendix("Phụ lục: Phương pháp", ("Thiết kế mẫu phân tầng theo đơn vị.",)),
    ]


@pytest.fixture(scope="module")
def report(tmp_path_factory, png):
    path = tmp_path_factory.mktemp("docx") / "report.docx"
    build_docx(_blocks(png), path, title="Báo cáo kết quả khảo sát năm 2025", synthetic=True,
               place_date="Nghệ An, ngày 1 tháng 12 năm 2025")
    return path


def test_page_a4_portrait_margins_in_range(report):
    d = docx.Document(report)
    first = d.sections[0]
    # stored in twips: A4 is 11906 x 16838 twips, within 0.05 mm of 210 x 297
    assert (first.page_width.mm, first.page_height.mm) == (pytest.approx(210, abs=0.05), pytest.approx(297, abs=0.05))
    assert first.orientation == WD_ORIENT.PORTRAIT
    assert 20 <= first.top_margin.mm <= 25 and 20 <= first.bottom_margin.mm <= 25
    assert 30 <= first.left_margin.mm <= 35 and 15 <= first.right_margin.mm <= 20
    landscape = [s for s in d.sections if s.orientation == WD_ORIENT.LANDSCAPE]
    assert len(landscape) == 1
    assert (landscape[0].page_width.mm, landscape[0].page_height.mm) == (pytest.approx(297, abs=0.05),
                                                                          pytest.approx(210, abs=0.05))
    assert d.sections[-1].orientation == WD_ORIENT.PORTRAIT  # back to portrait after the wide table


def test_body_font_size_indent_spacing_justified(report):
    d = docx.Document(report)
    normal = d.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert 13 <= normal.font.size.pt <= 14
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert {fonts.get(qn(f"w:{s}")) for s in ("ascii", "hAnsi", "cs", "eastAsia")} == {"Times New Roman"}
    pf = normal.paragraph_format
    assert 1.0 <= pf.first_line_indent.cm <= 1.27 + 1e-9
    assert pf.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert pf.space_after.pt >= 6
    assert 1.0 <= pf.line_spacing <= 1.5
    body = next(p for p in d.paragraphs if p.text.startswith("Đoàn viên"))
    assert body.style.name == "Normal"
    assert body.alignment in (None, WD_ALIGN_PARAGRAPH.JUSTIFY)
    assert all(r.font.name in (None, "Times New Roman") for r in body.runs)


def test_title_capitals_bold_centred_and_headings_bold(report):
    d = docx.Document(report)
    title = next(p for p in d.paragraphs if p.style.name == "Title")
    assert title.text == "BÁO CÁO KẾT QUẢ KHẢO SÁT NĂM 2025"
    assert title.style.font.bold and title.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert title.style.font.name == "Times New Roman"
    heads = [p for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert [p.text for p in heads] == ["I. Kết quả chính", "1. Mục nhỏ", "Phụ lục: Phương pháp"]
    assert all(p.style.font.bold for p in heads)
    assert all(p.style.font.name == "Times New Roman" for p in heads)


def _header_xml(part) -> str:
    return part._element.xml


def test_banner_on_every_page_and_page_number_from_page_two(report):
    d = docx.Document(report)
    first = d.sections[0]
    assert first.different_first_page_header_footer
    assert BANNER in [p.text for p in first.first_page_header.paragraphs]
    assert BANNER in [p.text for p in first.header.paragraphs]
    assert "PAGE" not in _header_xml(first.first_page_header)
    xml = _header_xml(first.header)
    assert "<w:instrText" in xml and " PAGE " in xml and 'w:fldCharType="begin"' in xml
    number = first.header.paragraphs[0]
    assert number.alignment == WD_ALIGN_PARAGRAPH.CENTER
    for s in d.sections[1:]:
        assert not s.different_first_page_header_footer  # numbered from its first page
        assert s.header.is_linked_to_previous  # same banner + number


def test_no_banner_when_not_synthetic(tmp_path):
    out = build_docx([Paragraph("Văn bản.")], tmp_path / "r.docx", title="Báo cáo", synthetic=False)
    with zipfile.ZipFile(out) as z:
        headers = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("word/header"))
    assert "MÔ PHỎNG" not in headers and "PAGE" in headers


def test_captions_numbered_with_source_and_note(report):
    texts = [p.text for p in docx.Document(report).paragraphs]
    assert "Bảng 1. Số người trả lời" in texts and "Bảng 2. Bảng rộng" in texts
    assert "Hình 1. Xu hướng theo tổ chức" in texts
    assert "Nguồn: Khảo sát năm 2025" in texts and "Ghi chú: n<5: không công bố" in texts
    i = texts.index("Hình 1. Xu hướng theo tổ chức")
    assert texts[i + 1] == "Nguồn: Khảo sát 2023–2025"  # source under the caption


def test_table_numbers_in_vietnamese_convention(report):
    t = docx.Document(report).tables[0]
    rows = [[c.text for c in r.cells] for r in t.rows]
    assert rows == [["Tổ chức", "n", "Điểm"], ["CDVC", "4.816", "3,62"], ["HCCB", "315", ""]]
    assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


def test_english_words(tmp_path, png):
    out = build_docx([Table(pd.DataFrame({"n": [4816]}), caption="Respondents", source="Survey"),
                      Figure(png, caption="Trend")], tmp_path / "en.docx", title="Report", synthetic=True, lang="en")
    texts = [p.text for p in docx.Document(out).paragraphs]
    assert "Table 1. Respondents" in texts and "Figure 1. Trend" in texts and "Source: Survey" in texts
    assert [c.text for c in docx.Document(out).tables[0].rows[1].cells] == ["4,816"]


def test_all_text_nfc(report):
    with zipfile.ZipFile(report) as z:
        parts = [z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")]
    assert all(unicodedata.is_normalized("NFC", x) for x in parts)
    assert any("Đoàn viên, hội viên đánh giá cao" in x for x in parts)


def test_deterministic(tmp_path, png):
    a = build_docx(_blocks(png), tmp_path / "a.docx", title="T", synthetic=True).read_bytes()
    b = build_docx(_blocks(png), tmp_path / "b.docx", title="T", synthetic=True).read_bytes()
    assert a == b


def test_errors_name_the_block(tmp_path):
    with pytest.raises(FileNotFoundError, match="figure 1 .*'Xu hướng'"):
        build_docx([Figure(tmp_path / "none.png", caption="Xu hướng")], tmp_path / "r.docx", title="T", synthetic=False)
    with pytest.raises(ValueError, match="heading level 5"):
        build_docx([Heading("x", level=5)], tmp_path / "r.docx", title="T", synthetic=False)
    with pytest.raises(ValueError, match="lang"):
        build_docx([], tmp_path / "r.docx", title="T", synthetic=False, lang="fr")


def test_blocks_from_json_file(tmp_path, png):
    (tmp_path / "t.csv").write_bytes("\ufeffTổ chức,n\nCDVC,4816\n".encode("utf-8"))
    spec = [{"type": "heading", "text": "Kết quả", "level": 2},
            {"type": "paragraph", "text": "Đoạn."},
            {"type": "table", "caption": "Bảng từ CSV", "csv": "t.csv", "source": "Khảo sát"},
            {"type": "figure", "path": str(png), "caption": "Hình"},
            {"type": "page_break"},
            {"type": "appendix", "title": "Phụ lục", "paragraphs": ["Phương pháp."]}]
    (tmp_path / "report.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    blocks = blocks_from_json(tmp_path / "report.json")
    assert [type(b).__name__ for b in blocks] == ["Heading", "Paragraph", "Table", "Figure", "PageBreak", "Appendix"]
    assert blocks[2].data.to_dict("list") == {"Tổ chức": ["CDVC"], "n": [4816]}
    out = build_docx(blocks, tmp_path / "r.docx", title="T", synthetic=False)
    assert [c.text for c in docx.Document(out).tables[0].rows[1].cells] == ["CDVC", "4.816"]
    with pytest.raises(ValueError, match="unknown type 'chart'"):
        blocks_from_json([{"type": "chart"}])


def test_tall_figure_is_scaled_to_fit_the_page(tmp_path):
    tall = tmp_path / "tall.png"
    fig = MplFigure(figsize=(4, 20))
    fig.add_subplot().plot([1, 2])
    fig.savefig(tall, dpi=150)
    out = build_docx([Figure(tall, caption="Cao")], tmp_path / "r.docx", title="T", synthetic=False)
    d = docx.Document(out)
    shape = d.inline_shapes[0]
    s = d.sections[0]
    assert shape.height <= s.page_height - s.top_margin - s.bottom_margin
    assert shape.width / shape.height == pytest.approx(4 / 20, rel=1e-3)


def test_long_table_is_written_in_parts_with_the_header_and_every_row_in_order(tmp_path):
    from analysis.report import docx_report

    n = docx_report.TABLE_PART_ROWS * 2 + 7
    df = pd.DataFrame({"Mã cơ sở": [f"U{i:05d}" for i in range(n)], "n": np.arange(n)})
    out = build_docx([Table(df, caption="Dài", source="Nguồn")], tmp_path / "r.docx", title="T", synthetic=False)
    tables = docx.Document(out).tables
    assert [len(t.rows) for t in tables] == [docx_report.TABLE_PART_ROWS + 1] * 2 + [8]
    assert all(t.rows[0].cells[0].text == "Mã cơ sở" for t in tables)
    assert [r.cells[0].text for t in tables for r in t.rows[1:]] == list(df["Mã cơ sở"])
    # only the very last row goes with the source line
    last = [r._tr for t in tables for r in t.rows[1:]]
    assert [i for i, tr in enumerate(last) if tr.findall(f".//{qn('w:keepNext')}")] == [n - 1]
