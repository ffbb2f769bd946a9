"""The demo report's DOCX as LibreOffice prints it: no table cell breaks a word or a number, and
no page is left mostly empty except the last page of a section.

How the split check works (and why it fails on "kh/ôn/g" or "0,7/6"): the DOCX is copied, every
paragraph outside the tables and the page headers are emptied, and the copy is converted to PDF
with LibreOffice (the tables keep their widths, fonts and pages). Each token of each cell (the
text between spaces) must then occur, whole, on one line of ``pdftotext -layout`` at least as
many times as the cells hold it. Spaces are removed from each line before counting, because
pdftotext inserts spurious spaces inside Vietnamese words; a token cut over two lines is on
neither line whole, so its count falls short. Only the tables are left in the copy, so running
text cannot make up the missing occurrence. `test_check_catches_a_split_word` builds a table
whose columns are too narrow and checks that the same function reports the split tokens.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from collections import Counter
from pathlib import Path

import docx
import pytest
from conftest import require_libreoffice
from docx.oxml.ns import qn
from docx.shared import Cm


def _squash(text: str) -> str:
    # the word joiner (U+2060) that keeps a range such as 2023–2027 together has no glyph
    return "".join(unicodedata.normalize("NFKC", text).replace("\u2060", "").split())


def split_tokens(docx_path: Path, pdf_text: str) -> list[tuple[str, int, int]]:
    """Tokens of the DOCX's table cells that the PDF text does not hold whole as often as the
    cells do: ``(token, expected, found)``."""
    d = docx.Document(docx_path)
    expected: Counter[str] = Counter()
    for table in d.tables:
        for row in table.rows:
            seen = set()
            for cell in row.cells:
                if id(cell._tc) in seen:  # a merged cell is listed once per grid column
                    continue
                seen.add(id(cell._tc))
                for token in cell.text.split():
                    token = _squash(token)
                    if len(token) >= 2:
                        expected[token] += 1
    lines = [_squash(line) for line in pdf_text.splitlines()]
    out = []
    for token, n in sorted(expected.items()):
        found = sum(line.count(token) for line in lines)
        if found < n:
            out.append((token, n, found))
    return out


def tables_only(src: Path, dst: Path) -> Path:
    """A copy of *src* with every body paragraph outside the tables emptied (section breaks
    kept) and the page headers cleared."""
    d = docx.Document(src)
    body = d.element.body
    for p in body.findall(qn("w:p")):
        for child in list(p):
            if child.tag != qn("w:pPr"):
                p.remove(child)
    for section in d.sections:
        for part in (section.header, section.first_page_header):
            for p in part.paragraphs:
                for child in list(p._p):
                    if child.tag != qn("w:pPr"):
                        p._p.remove(child)
    d.save(dst)
    return dst


def layout_text(pdf: Path) -> str:
    """The PDF's text as ``pdftotext -layout`` prints it (pages separated by form feeds)."""
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _pdf(docx_path: Path) -> tuple[Path, str]:
    from analysis.report import pdf

    out = pdf.docx_to_pdf([docx_path])[0]
    return out, layout_text(out)


@pytest.fixture(scope="module")
def report_pdf(demo_report, tmp_path_factory):
    require_libreoffice()
    folder = tmp_path_factory.mktemp("docx_layout")
    src = folder / "report.docx"
    shutil.copy2(demo_report.report_dir / "report.docx", src)
    tables = tables_only(src, folder / "tables.docx")
    from analysis.report import pdf

    both = pdf.docx_to_pdf([src, tables])
    text = {p.stem: layout_text(p) for p in both}
    return {"docx": src, "tables_docx": tables, "pdf": both[0], "text": text["report"], "tables_text": text["tables"]}


def test_check_catches_a_split_word(tmp_path):
    """The check itself: columns far too narrow for "không" and "0,76" are reported."""
    require_libreoffice()
    d = docx.Document()
    t = d.add_table(rows=2, cols=2)
    t.style = d.styles["Table Grid"]
    t.cell(0, 0).text, t.cell(0, 1).text = "không", "0,76"
    t.cell(1, 0).text, t.cell(1, 1).text = "Trung bình", "−0,04"
    t.autofit = False
    layout = t._tbl.tblPr.makeelement(qn("w:tblLayout"), {qn("w:type"): "fixed"})
    t._tbl.tblPr.append(layout)
    for column in t.columns:
        column.width = Cm(0.55)
        for cell in column.cells:
            cell.width = Cm(0.55)
    path = tmp_path / "narrow.docx"
    d.save(path)
    _, text = _pdf(path)
    broken = {tok for tok, _, _ in split_tokens(path, text)}
    assert {"không", "0,76", "−0,04"} <= broken, (broken, text)


def test_no_table_cell_breaks_a_word_or_a_number(report_pdf):
    d = docx.Document(report_pdf["tables_docx"])
    assert len(d.tables) > 20  # the report's tables are all there
    broken = split_tokens(report_pdf["tables_docx"], report_pdf["tables_text"])
    assert not broken, f"{len(broken)} table tokens split across lines, e.g. {broken[:10]}"


def _ink_fraction(png: Path) -> float:
    """How far down the text area the page's last ink reaches (0 empty, 1 full); the top 30 mm
    (page number and banner) are not counted."""
    from PIL import Image

    im = Image.open(png).convert("L")
    w, h = im.size
    page_h_mm = 297 if h > w else 210
    px_per_mm = h / page_h_mm
    top, bottom = int(30 * px_per_mm), int((page_h_mm - 20) * px_per_mm)
    px = im.load()
    last = top
    for y in range(top, bottom):
        if any(px[x, y] < 160 for x in range(0, w, 1)):
            last = y
    return (last - top) / (bottom - top)


def test_no_page_two_thirds_empty_except_a_sections_last(report_pdf, tmp_path):
    d = docx.Document(report_pdf["docx"])
    chapters = [_squash(p.text) for p in d.paragraphs if p.style.name == "Heading 1" and p.text.strip()]
    subprocess.run(["pdftoppm", "-r", "20", "-gray", "-png", str(report_pdf["pdf"]), str(tmp_path / "p")], check=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    pages = report_pdf["text"].split("\f")[:len(pngs)]
    from analysis.report.docx_report import BANNERS

    banner = {_squash(b) for b in BANNERS.values()}

    def starts_chapter(page: str) -> bool:
        lines = [_squash(x) for x in page.splitlines()]
        body = [x for x in lines if x and not x.isdigit() and x not in banner]
        head = "".join(body[:3])
        return any(head.startswith(c) for c in chapters)

    starts = [starts_chapter(p) for p in pages]
    empty = []
    for i, png in enumerate(pngs):
        last_of_section = i == len(pngs) - 1 or starts[i + 1]
        fill = _ink_fraction(png)
        if fill < 1 / 3 and not last_of_section:
            empty.append((i + 1, round(fill, 2), " ".join(pages[i].split())[:80]))
    assert not empty, f"pages more than two-thirds empty (page, filled, text): {empty}"
