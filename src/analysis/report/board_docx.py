"""Lay out the Board edition (`analysis.report.board.BoardDocument`) as a DOCX.

The page of a document a Party or state body sends on (``shared/domain/REPORT_LAYOUT.md``): A4
portrait, margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm; Times New Roman (all four
``w:rFonts`` slots), body 13 pt justified with a 1.27 cm first-line indent, 6 pt after, line
spacing 1.15; page numbers at the top centre from page 2. The header block is a borderless
two-column table (issuer on the left; the Party's name, or the state's name and motto, and the
place and date on the right), then the title in bold capitals, the subject in bold and a short
rule; the closing block puts "Nơi nhận:" (12 pt) on the left and the signature on the right.
A draft carries "DỰ THẢO" in a box above the header; demo data carry a banner in every page
header. Table cells holding counts never wrap (``w:noWrap``).

Kept apart from `analysis.report.docx_report` (the technical report's renderer): the Board
edition is a different document — a letter with a header and signature, not a long report.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from analysis.report.board import Block, BoardDocument
from analysis.report.docx_report import set_fonts
from analysis.report.tables import normalise_ooxml

__all__ = ["FONT", "write_board_docx"]

FONT = "Times New Roman"
_BODY_PT = 13
_TEXT_WIDTH_CM = 21.0 - 3.0 - 1.5
_BANNER = {"vi": "DỮ LIỆU MÔ PHỎNG: không dùng để đánh giá thực tế",
           "en": "SIMULATED DATA: not for a real assessment"}
_WORDS = {"vi": {"table": "Bảng", "source": "Nguồn", "note": "Ghi chú", "recipients": "Nơi nhận:", "draft": "DỰ THẢO"},
          "en": {"table": "Table", "source": "Source", "note": "Note", "recipients": "Recipients:", "draft": "DRAFT"}}


def _nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text))


def _fonts(run: Any, size: float | None = None, *, bold: bool = False, italic: bool = False,
           underline: bool = False) -> None:
    set_fonts(run._element, FONT)
    if size:
        run.font.size = Pt(size)
    run.bold, run.italic, run.underline = bold or None, italic or None, underline or None


def _para(container: Any, text: str = "", *, size: float = _BODY_PT, bold: bool = False, italic: bool = False,
          underline: bool = False, align: str = "justify", indent: bool = False, after: float = 6,
          before: float = 0, keep: bool = False, line: float = 1.15) -> Any:
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                     "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT}[align]
    fmt.space_after, fmt.space_before, fmt.line_spacing = Pt(after), Pt(before), line
    fmt.first_line_indent = Cm(1.27) if indent else Cm(0)
    fmt.keep_with_next = keep
    if text:
        _fonts(p.add_run(_nfc(text)), size, bold=bold, italic=italic, underline=underline)
    return p


def _borders(table: Any, **attrs: str) -> None:
    """Every edge of *table* with the same border attributes (``val="nil"``: none)."""
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        for key, value in attrs.items():
            el.set(qn(f"w:{key}"), value)
        borders.append(el)
    table._element.tblPr.append(borders)


def _no_borders(table: Any) -> None:
    _borders(table, val="nil")


def _grid(table: Any) -> None:
    _borders(table, val="single", sz="4", color="000000")


def _widths(table: Any, widths_cm: list[float]) -> None:
    table.autofit = False
    grid = table._element.find(qn("w:tblGrid"))
    for col, w in zip(grid.findall(qn("w:gridCol")), widths_cm):
        col.set(qn("w:w"), str(int(Cm(w).twips)))
    for row in table.rows:
        for cell, w in zip(row.cells, widths_cm):
            cell.width = Cm(w)


def _cell_text(cell: Any, lines: list[tuple[str, dict]], align: str = "center") -> None:
    cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
    for text, style in lines:
        _para(cell, text, align=align, after=0, **style)


def _field(paragraph: Any, instruction: str) -> None:
    for kind, text in (("begin", None), (None, instruction), ("separate", None), (None, "2"), ("end", None)):
        run = paragraph.add_run()
        _fonts(run, _BODY_PT)
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._element.append(el)
        elif text == instruction:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instruction} "
            run._element.append(el)
        else:
            run.text = text


def _page_setup(doc: Any, board: BoardDocument) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    section.different_first_page_header_footer = True
    first, rest = section.first_page_header, section.header
    for header, number in ((first, False), (rest, True)):
        p = header.paragraphs[0]
        p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if number:
            _field(p, "PAGE")
        if board.synthetic:
            q = p if not number else header.add_paragraph()
            q.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _fonts(q.add_run(_BANNER[board.lang]), 9, italic=True)


def _header_block(doc: Any, board: BoardDocument) -> None:
    head, lang = board.letterhead, board.lang
    if head.draft:
        p = _para(doc, _WORDS[lang]["draft"], size=12, bold=True, align="left", after=4)
        ppr = p._element.get_or_add_pPr()
        border = OxmlElement("w:pBdr")
        for edge in ("top", "left", "bottom", "right"):
            el = OxmlElement(f"w:{edge}")
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), "6")
            el.set(qn("w:space"), "2")
            border.append(el)
        ppr.append(border)
        p.paragraph_format.right_indent = Cm(_TEXT_WIDTH_CM - 2.6)
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, [9.0, _TEXT_WIDTH_CM - 9.0])
    left = [(head.text("parent_body", lang).upper(), {"size": 13}),
            (head.text("issuing_body", lang).upper(), {"size": 13, "bold": True}),
            ("*" if head.layout == "party" else "", {"size": 13}),
            (head.number_line(lang), {"size": 13})]
    national = head.national_lines(lang)
    if head.layout == "party":
        right = [(national[0], {"size": 14, "bold": True, "underline": True}), ("", {"size": 8})]
    else:
        right = [(national[0], {"size": 13, "bold": True}), (national[1], {"size": 14, "bold": True, "underline": True}),
                 ("", {"size": 8})]
    right.append((head.date_line(lang), {"size": 13, "italic": True}))
    _cell_text(table.rows[0].cells[0], [x for x in left if x[0] or x[1].get("size") != 13])
    _cell_text(table.rows[0].cells[1], right)


def _title(doc: Any, board: BoardDocument) -> None:
    _para(doc, board.title, size=15, bold=True, align="center", before=18, after=2, keep=True)
    _para(doc, board.subject, size=14, bold=True, align="center", after=0, keep=True)
    _para(doc, "-----", size=13, align="center", after=12)


def _table(doc: Any, block: Block, number: int, lang: str) -> None:
    words = _WORDS[lang]
    _para(doc, f"{words['table']} {number}. {block.text}", size=12, bold=True, align="center", after=4, keep=True)
    frame = block.table
    table = doc.add_table(rows=1 + len(frame), cols=len(frame.columns))
    _grid(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    weights = list(block.widths) or [1.0] * len(frame.columns)
    total = sum(weights)
    _widths(table, [_TEXT_WIDTH_CM * w / total for w in weights])
    for j, name in enumerate(frame.columns):
        _cell_text(table.rows[0].cells[j], [(str(name), {"size": 11, "bold": True, "keep": True})])
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    small = len(frame) <= 12  # a short table is kept on one page
    for i, (_, row) in enumerate(frame.iterrows(), start=1):
        tr_pr = table.rows[i]._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        for j, value in enumerate(row):
            cell = table.rows[i].cells[j]
            text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
            short = len(text) <= 12 and j > 0  # a count or a verdict word: never wrapped
            _cell_text(cell, [(text, {"size": 11, "keep": small and i < len(frame)})],
                       align="center" if short else "left")
            if short:
                no_wrap = OxmlElement("w:noWrap")
                cell._tc.get_or_add_tcPr().append(no_wrap)
    for label, text in ((words["source"], block.source), (words["note"], block.note)):
        if text:
            p = _para(doc, "", size=11, align="left", after=2, before=2)
            _fonts(p.add_run(f"{label}: "), 11, italic=True, bold=True)
            _fonts(p.add_run(_nfc(text)), 11, italic=True)
    _para(doc, "", size=6, after=4)


def _closing(doc: Any, board: BoardDocument) -> None:
    head, lang = board.letterhead, board.lang
    _para(doc, "", after=6)
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, [8.0, _TEXT_WIDTH_CM - 8.0])
    left = [(_WORDS[lang]["recipients"], {"size": 12, "bold": True, "italic": True})]
    left += [(line, {"size": 11}) for line in head.recipients.get(lang) or head.recipients["vi"]]
    _cell_text(table.rows[0].cells[0], left, align="left")
    right = []
    if head.text("capacity", lang):
        right.append((head.text("capacity", lang), {"size": 14, "bold": True}))
    right.append((head.text("signer_title", lang), {"size": 14, "bold": True}))
    right += [("", {"size": 14})] * 3
    right.append((head.signer_name or "", {"size": 14, "bold": True}))
    _cell_text(table.rows[0].cells[1], right)


def write_board_docx(board: BoardDocument, target: Path | str) -> Path:
    """Write *board* to *target* (deterministic bytes: fixed zip times and core properties)."""
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(_BODY_PT)
    normal.element.get_or_add_rPr()
    _page_setup(doc, board)
    body = doc.paragraphs[0]._element if doc.paragraphs else None
    if body is not None:
        body.getparent().remove(body)
    _header_block(doc, board)
    _title(doc, board)
    n_table = 0
    for block in board.blocks:
        if block.kind == "heading":
            _para(doc, block.text, bold=True, align="left", before=6, after=6, keep=True)
        elif block.kind == "paragraph":
            _para(doc, block.text, indent=True)
        elif block.kind == "bullets":
            for item in block.items:
                _para(doc, f"- {item}", indent=True)
        elif block.kind == "table" and block.table is not None and len(block.table):
            n_table += 1
            _table(doc, block, n_table, board.lang)
    _closing(doc, board)
    props = doc.core_properties
    props.title = _nfc(board.subject.replace("\u2011", "-"))
    props.author = props.last_modified_by = ""
    props.language = board.lang
    buf = io.BytesIO()
    doc.save(buf)
    target = Path(target)
    target.write_bytes(normalise_ooxml(buf.getvalue()))
    return target
