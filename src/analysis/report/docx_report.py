"""The DOCX report for the Board, laid out as a Vietnamese administrative document.

The report is built from a small document model — a list of blocks — so notebooks and the
runner can assemble it from results JSON without touching python-docx:

=============  ==============================================================================
block          renders as
=============  ==============================================================================
``Heading``    bold heading, level 1–3 (no indent, kept with the next paragraph)
``Paragraph``  body text: justified, first-line indent, Times New Roman 13 pt
``Bullets``    one paragraph per item, with a leading dash (Vietnamese style, no list numbering)
``Table``      "Bảng n. caption" above, the DataFrame (header repeated on each page, numbers
               in the reader's convention), "Nguồn: …" and "Ghi chú: …" below; a wide table
               can get its own landscape section
``Figure``     the PNG centred, "Hình n. caption" below, then source and note
``PageBreak``  a new page
``Appendix``   a new page, a heading, and its paragraphs (e.g. the methods appendix)
=============  ==============================================================================

Page layout follows Decree 30/2020/NĐ-CP (see ``shared/domain/REPORT_LAYOUT.md``): A4 portrait,
margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm; Times New Roman 13 pt body (all four
``w:rFonts`` slots, so Vietnamese text never falls back to another font), line spacing 1.15,
6 pt after paragraphs, first-line indent 1.27 cm, justified; the title in capitals, bold,
centred; page numbers at the top centre from page 2 (a ``PAGE`` field, different first page).
With ``synthetic=True`` every page header carries "DỮ LIỆU MÔ PHỎNG — synthetic data". All text
is NFC. The file is deterministic (fixed core properties and zip timestamps).

Why one module: the document model (the blocks) and its python-docx renderer change together
— a new block needs both — and the page layout of Decree 30/2020 is kept in one place
(`Layout`); what a notebook puts in the blocks is `analysis.report.content`.

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> blocks = [Heading("Kết quả chính"), Paragraph("Điểm trung bình là 3,62."),
...           Table(pd.DataFrame({"Tổ chức": ["CDVC"], "n": [4816]}), caption="Số người trả lời",
...                 source="Khảo sát đoàn viên, hội viên năm 2025")]
>>> out = build_docx(blocks, pathlib.Path(tempfile.mkdtemp()) / "r.docx", title="Báo cáo", synthetic=True)
>>> import docx
>>> [p.text for p in docx.Document(out).paragraphs][:3]
['BÁO CÁO', 'Kết quả chính', 'Điểm trung bình là 3,62.']
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union
from xml.sax.saxutils import escape as xml_escape

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor, Twips

from analysis.report.tables import FIXED_TIMESTAMP, format_number
from analysis.report.xlsx import normalise_ooxml

__all__ = [
    "BANNER",
    "BANNERS",
    "Appendix",
    "Block",
    "Bullets",
    "Figure",
    "Heading",
    "LAYOUT",
    "PageBreak",
    "Paragraph",
    "Table",
    "TableInFile",
    "blocks_from_json",
    "build_docx",
    "protect_symbols",
    "text_width_pt",
]

#: The banner on every page of a report built from synthetic data, in the report's language
#: (a Vietnamese reader should not meet English words in a Vietnamese document's header).
BANNERS = {"vi": "DỮ LIỆU MÔ PHỎNG — không phải kết quả khảo sát thật",
           "en": "SYNTHETIC DATA — not real survey results"}
#: The Vietnamese banner (the default report language).
BANNER = BANNERS["vi"]


@dataclass(frozen=True)
class Layout:
    """Page and text settings (Decree 30/2020/NĐ-CP ranges in the comments)."""

    page_width_mm: float = 210
    page_height_mm: float = 297
    margin_top_mm: float = 20        # 20–25
    margin_bottom_mm: float = 20     # 20–25
    margin_left_mm: float = 30       # 30–35
    margin_right_mm: float = 15      # 15–20
    header_distance_mm: float = 10
    font: str = "Times New Roman"
    body_pt: float = 13              # 13–14
    table_pt: float = 11             # tables may be smaller than body text
    caption_pt: float = 13
    note_pt: float = 12
    title_pt: float = 14
    line_spacing: float = 1.15       # single–1.5
    space_after_pt: float = 6        # at least 6
    first_line_indent_cm: float = 1.27  # 1–1.27


LAYOUT = Layout()

_WORDS = {
    "vi": {"table": "Bảng", "figure": "Hình", "source": "Nguồn", "note": "Ghi chú"},
    "en": {"table": "Table", "figure": "Figure", "source": "Source", "note": "Note"},
}


def _nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text))


@dataclass(frozen=True)
class Heading:
    """A section heading; ``level`` 1–3."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    """Body text. ``indent=False`` drops the first-line indent (e.g. a signature line)."""

    text: str
    indent: bool = True
    align: str = "justify"  # justify | center | left | right
    italic: bool = False
    bold: bool = False


@dataclass(frozen=True)
class Bullets:
    """Items written "- item" as separate body paragraphs."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A numbered table with caption above and source / note below.

    ``decimals`` is the number of digits after the separator for all numeric columns or per
    column; ``column_labels`` maps column names to display headers.
    """

    data: pd.DataFrame
    caption: str
    source: str | None = None
    note: str | None = None
    decimals: int | Mapping[str, int] | None = None
    column_labels: Mapping[str, str] = field(default_factory=dict)
    #: None: a landscape page only when no portrait font size fits the cells (`plan_table`)
    landscape: bool | None = None


@dataclass(frozen=True)
class TableInFile:
    """A numbered table too long to print: its caption, then *text* (how many rows, which file
    holds them), then source and note. It takes a table number like a printed one."""

    caption: str
    text: str
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Figure:
    """A numbered PNG figure with caption, source and note below."""

    path: str | Path
    caption: str
    source: str | None = None
    note: str | None = None
    width_cm: float = 15.5


@dataclass(frozen=True)
class PageBreak:
    """Start a new page."""


@dataclass(frozen=True)
class Appendix:
    """A new page with a heading and paragraphs (methods, disclosure policy, …)."""

    title: str
    paragraphs: tuple[str, ...]


Block = Union[Heading, Paragraph, Bullets, Table, TableInFile, Figure, PageBreak, Appendix]


# ------------------------------------------------------------------------------------------
# low-level formatting


def set_fonts(rpr_owner: Any, font: str, size_pt: float | None = None, lang: str | None = None) -> None:
    """Set every w:rFonts slot (ascii, hAnsi, cs, eastAsia): Word picks the slot per character,
    and a missing one sends Vietnamese combining marks to a fallback font."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(slot), font)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(theme), None)
    if size_pt is not None:
        for tag in ("w:sz", "w:szCs"):
            el = rpr.find(qn(tag))
            if el is None:
                el = OxmlElement(tag)
                rpr.append(el)
            el.set(qn("w:val"), str(int(round(size_pt * 2))))
    if lang is not None:
        el = rpr.find(qn("w:lang"))
        if el is None:
            el = OxmlElement("w:lang")
            rpr.append(el)
        el.set(qn("w:val"), lang)


def _style(doc: Any, name: str, *, size: float, bold: bool = False, italic: bool = False,
           align: Any = None, indent_cm: float | None = 0.0, before: float = 0, after: float | None = None,
           keep_next: bool = False, lang_tag: str = "vi-VN") -> Any:
    st = doc.styles[name]
    st.font.name = LAYOUT.font
    st.font.size = Pt(size)
    st.font.bold = bold
    st.font.italic = italic
    st.font.color.rgb = RGBColor(0, 0, 0)
    set_fonts(st.element, LAYOUT.font, size, lang_tag)
    pf = st.paragraph_format
    if align is not None:
        pf.alignment = align
    if indent_cm is not None:
        pf.first_line_indent = Cm(indent_cm)
        pf.left_indent = Cm(0)
    pf.space_before = Pt(before)
    pf.space_after = Pt(LAYOUT.space_after_pt if after is None else after)
    pf.line_spacing = LAYOUT.line_spacing
    pf.keep_with_next = keep_next
    return st


def _setup_styles(doc: Any, lang: str) -> None:
    tag = "vi-VN" if lang == "vi" else "en-GB"
    _style(doc, "Normal", size=LAYOUT.body_pt, align=WD_ALIGN_PARAGRAPH.JUSTIFY,
           indent_cm=LAYOUT.first_line_indent_cm, lang_tag=tag)
    _style(doc, "Title", size=LAYOUT.title_pt, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=12, lang_tag=tag)
    for level in (1, 2, 3):
        _style(doc, f"Heading {level}", size=LAYOUT.body_pt, bold=True, italic=level == 3,
               align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=12 if level == 1 else 6, keep_next=True, lang_tag=tag)
    _style(doc, "Caption", size=LAYOUT.caption_pt, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, lang_tag=tag)
    _style(doc, "Header", size=LAYOUT.body_pt, align=WD_ALIGN_PARAGRAPH.CENTER, after=0, lang_tag=tag)
    _style(doc, "Footer", size=LAYOUT.note_pt, align=WD_ALIGN_PARAGRAPH.CENTER, after=0, lang_tag=tag)
    _style(doc, "No Spacing", size=LAYOUT.table_pt, indent_cm=0, after=0, lang_tag=tag)
    # Title's default template draws a coloured rule under it; an administrative report has none
    ppr = doc.styles["Title"].element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)


def _twips_at_least(mm: float) -> Twips:
    """*mm* as whole twips (how DOCX stores margins), rounded up: 15 mm is 850.4 twips, and
    rounding to 850 would give 14.99 mm, outside the decree's 15–20 mm."""
    return Twips(math.ceil(mm * 1440 / 25.4 - 1e-9))


def _page(section: Any, *, landscape: bool = False) -> None:
    w, h = Mm(LAYOUT.page_width_mm), Mm(LAYOUT.page_height_mm)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (h, w) if landscape else (w, h)
    section.top_margin = _twips_at_least(LAYOUT.margin_top_mm)
    section.bottom_margin = _twips_at_least(LAYOUT.margin_bottom_mm)
    section.left_margin = _twips_at_least(LAYOUT.margin_left_mm)
    section.right_margin = _twips_at_least(LAYOUT.margin_right_mm)
    section.header_distance = Mm(LAYOUT.header_distance_mm)
    section.footer_distance = Mm(LAYOUT.header_distance_mm)


def _add_field(paragraph: Any, instruction: str, placeholder: str) -> None:
    """A complex field (begin / instrText / separate / cached result / end), as Word writes it."""
    def run_with(child: Any) -> None:
        run = paragraph.add_run()
        set_fonts(run._r, LAYOUT.font, LAYOUT.body_pt)
        run._r.append(child)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    cached = paragraph.add_run(placeholder)
    set_fonts(cached._r, LAYOUT.font, LAYOUT.body_pt)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _banner(paragraph: Any, lang: str) -> None:
    run = paragraph.add_run(BANNERS[lang])
    run.bold = True
    run.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
    set_fonts(run._r, LAYOUT.font, LAYOUT.note_pt)


def _headers(section: Any, *, synthetic: bool, first_page_differs: bool, lang: str = "vi") -> None:
    """Page number at the top centre from page 2; the banner on every page when synthetic."""
    section.different_first_page_header_footer = first_page_differs
    section.header.is_linked_to_previous = False
    header = section.header
    header.paragraphs[0].text = ""
    p = header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_field(p, "PAGE", "2")
    if synthetic:
        # style "Header", not the Normal default: Normal is justified with a first-line indent
        bp = header.add_paragraph(style="Header")
        bp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _banner(bp, lang)
    if first_page_differs:
        first = section.first_page_header
        first.is_linked_to_previous = False
        fp = first.paragraphs[0]
        fp.text = ""
        fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if synthetic:
            _banner(fp, lang)


def _text_width_cm(section: Any) -> float:
    return (section.page_width - section.left_margin - section.right_margin) / 360000


def _text_height_cm(section: Any) -> float:
    return (section.page_height - section.top_margin - section.bottom_margin) / 360000


# ------------------------------------------------------------------------------------------
# blocks


def _paragraph(doc: Any, text: str, *, style: str | None = None, indent: bool = True, align: str = "justify",
               italic: bool = False, bold: bool = False, size: float | None = None) -> Any:
    p = doc.add_paragraph(style=style)
    run = p.add_run(protect_symbols(_nfc(text)))
    run.italic = italic or None
    run.bold = bold or None
    if size is not None:
        run.font.size = Pt(size)
    if not indent:
        p.paragraph_format.first_line_indent = Cm(0)
    p.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                   "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT}[align]
    return p


def _source_note(doc: Any, source: str | None, note: str | None, words: Mapping[str, str]) -> None:
    for key, text in (("source", source), ("note", note)):
        if text:
            p = doc.add_paragraph()
            label = p.add_run(f"{words[key]}: ")
            label.italic = True
            label.bold = True
            body = p.add_run(_nfc(text))
            body.italic = True
            for r in (label, body):
                r.font.size = Pt(LAYOUT.note_pt)
            p.paragraph_format.first_line_indent = Cm(0)
            p.paragraph_format.space_before = Pt(3)  # air between the table's last row and "Nguồn:"
            # "Nguồn:" stays with "Ghi chú:" under it
            p.paragraph_format.keep_with_next = key == "source" and bool(note)


def _cell_text(v: Any, decimals: int | None, lang: str) -> tuple[str, bool]:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "", False
    if isinstance(v, bool):
        return str(v), False
    if isinstance(v, (int, float)) or hasattr(v, "dtype"):
        try:
            return format_number(v, decimals, lang=lang), True
        except TypeError:
            pass
    return _join_ranges(_nfc(v)), False


#: A range of numbers ("2023–2027"): the line may break after an en dash, so a word joiner
#: (U+2060, invisible) follows it and the range stays on one line like any number.
_RANGE = re.compile(r"(?<=\d)–(?=\d)")


def _join_ranges(text: str) -> str:
    """*text* with every en dash between two digits followed by a word joiner (no break there).

    >>> _join_ranges("chương trình 2023–2027") == "chương trình 2023–⁠2027"
    True
    """
    return _RANGE.sub("–⁠", text)


def _repeat_header(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


# ------------------------------------------------------------------------------------------
# table layout: column widths from the text the cells really hold


#: Cell padding left and right (twips), written into every table so the widths below hold.
_CELL_MARGIN_TW = 57  # 1 mm
#: Font sizes a table may be set in, largest first; a table too wide at the smallest portrait
#: size goes onto a landscape page (the only reason for one).
_PORTRAIT_SIZES = (11.0, 10.0, 9.0)
_LANDSCAPE_SIZES = (10.0, 9.0, 8.0)
#: Measured widths are multiplied by this (rounding in the layout engine, kerning, bold glyphs
#: of a substitute font): a column exactly as wide as its longest word may still break it.
_SAFETY = 1.06
#: What LibreOffice takes from a cell besides its margins (borders, rounding to its layout units).
_BORDER_PT = 1.5
_NUMBER_CELL = re.compile(r"[\s\d.,:;%/()+\-\u2212\u2013\u2014<>=≤≥x]*(?:\s(?:đến|to)\s[\s\d.,%()+\-\u2212]*)?")
_FONT_CACHE: dict[bool, Any] = {}


def _fc_file(pattern: str) -> str:
    exe = shutil.which("fc-match")
    if not exe:
        return ""
    try:
        out = subprocess.run([exe, "-f", "%{file}", pattern], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _font(bold: bool) -> Any:
    """``(font, its characters, fallback font)`` as LibreOffice will set a table: fontconfig's
    match for the layout font (Times New Roman, or its metric twin Liberation Serif), and the
    font fontconfig substitutes for the characters it lacks (Liberation Serif 1.x has no
    precomposed Vietnamese letters such as "ợ": LibreOffice sets them in DejaVu Serif, which is
    wider). None without fontconfig or Pillow."""
    if bold not in _FONT_CACHE:
        weight = "bold" if bold else "regular"
        found = None
        try:
            from fontTools.ttLib import TTFont
            from PIL import ImageFont

            main = _fc_file(f"{LAYOUT.font}:{weight}")
            spare = _fc_file(f"{LAYOUT.font}:{weight}:charset=1ee3")  # a font with "ợ"
            if main:
                chars = frozenset(TTFont(main, lazy=True).getBestCmap())
                found = (ImageFont.truetype(main, 1000), chars,
                         ImageFont.truetype(spare, 1000) if spare else None)
        except (OSError, ImportError):
            found = None
        _FONT_CACHE[bold] = found
    return _FONT_CACHE[bold]


def text_width_pt(text: str, size_pt: float, *, bold: bool = False) -> float:
    """Width of *text* set in the layout font at *size_pt* (points), each character in the font
    that will really draw it (`_font`).

    Without fontconfig, a conservative 0.6 em per character (Times averages about 0.45 em).

    Examples
    --------
    >>> 0 < text_width_pt("3,62", 11) < text_width_pt("3,62 (3,50–3,74)", 11)
    True
    """
    found = _font(bold)
    if found is None:
        return 0.6 * size_pt * len(text)
    main, chars, spare = found
    total, run, run_main = 0.0, "", True
    for ch in text:
        here = ord(ch) in chars or spare is None
        if run and here != run_main:
            total += (main if run_main else spare).getlength(run)
            run = ""
        run, run_main = run + ch, here
    if run:
        total += (main if run_main else spare).getlength(run)
    return total * size_pt / 1000.0


def _is_number_cell(text: str) -> bool:
    """A cell that reads as one number (``3,62 (3,50–3,74)``, ``54/103``, ``−0,08 đến 0,16``):
    it must never wrap, so its whole text is one unbreakable token for the column width."""
    return bool(text) and any(ch.isdigit() for ch in text) and _NUMBER_CELL.fullmatch(text) is not None


def _tokens(text: str) -> list[str]:
    """The pieces a line may break between: words (split at spaces), a number cell whole."""
    if _is_number_cell(text):
        return [text]
    return text.split()


@dataclass(frozen=True)
class _TablePlan:
    landscape: bool
    size_pt: float
    widths_pt: tuple[float, ...]


def _column_need(texts: Sequence[str], header: str, size: float) -> tuple[float, float]:
    """(narrowest width that breaks no word, width that sets the longest cell on one line), in
    points, padding included."""
    pad = 2 * _CELL_MARGIN_TW / 20 + _BORDER_PT
    words = [text_width_pt(t, size) for cell in texts for t in _tokens(cell)]
    head = [text_width_pt(t, size, bold=True) for t in header.split()]
    narrow = max([*words, *head, size]) * _SAFETY + pad
    whole = max([text_width_pt(c, size) for c in texts] + [text_width_pt(header, size, bold=True) / 2, size])
    return narrow, max(narrow, whole * _SAFETY + pad)


def _plan_table(cells: Sequence[Sequence[str]], headers: Sequence[str], *, portrait_pt: float,
                landscape_pt: float, landscape: bool | None) -> _TablePlan:
    """Font size, orientation and column widths of a table.

    Each column is at least as wide as its longest unbreakable token (a word, a header word, a
    whole number cell) in the size used, so no cell breaks a word or a number; the room left is
    shared in proportion to what each column would need to set its longest cell on one line.
    The largest size that fits portrait wins; only a table that fits no portrait size goes
    landscape (``landscape=True`` forces it, ``False`` forbids it).
    """
    options = ([] if landscape is True else [(False, s) for s in _PORTRAIT_SIZES]) + \
              ([] if landscape is False else [(True, s) for s in _LANDSCAPE_SIZES])
    columns = list(zip(*cells)) if cells else [() for _ in headers]
    for is_land, size in options:
        width = landscape_pt if is_land else portrait_pt
        needs = [_column_need(col, head, size) for col, head in zip(columns, headers)]
        narrow = [n for n, _ in needs]
        if sum(narrow) <= width:
            return _TablePlan(is_land, size, _share(needs, width))
    # too wide even so: the smallest size, columns cut in proportion (some words will break)
    is_land, size = options[-1]
    width = landscape_pt if is_land else portrait_pt
    needs = [_column_need(col, head, size) for col, head in zip(columns, headers)]
    total = sum(n for n, _ in needs)
    return _TablePlan(is_land, size, tuple(n * width / total for n, _ in needs))


def _share(needs: Sequence[tuple[float, float]], width: float) -> tuple[float, ...]:
    """Widths: each column its narrow width, the rest of *width* towards its one-line width."""
    narrow = [n for n, _ in needs]
    extra = [w - n for n, w in needs]
    room = width - sum(narrow)
    if sum(extra) <= room:  # every cell on one line: the table is only as wide as that
        return tuple(w for _, w in needs)
    return tuple(n + room * e / sum(extra) for n, e in zip(narrow, extra))


def _set_table_xml(t: Any, widths_pt: Sequence[float]) -> None:
    """Fixed layout, the table's width, its grid and cell margins: LibreOffice and Word then use
    these widths instead of re-computing their own."""
    tbl_pr = t._tbl.tblPr
    for tag in ("w:tblLayout", "w:tblCellMar", "w:tblW"):
        for el in tbl_pr.findall(qn(tag)):
            tbl_pr.remove(el)
    tw = [int(round(w * 20)) for w in widths_pt]
    tbl_w = OxmlElement("w:tblW")
    tbl_w.set(qn("w:w"), str(sum(tw)))
    tbl_w.set(qn("w:type"), "dxa")
    tbl_pr.append(tbl_w)
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    mar = OxmlElement("w:tblCellMar")
    for side, value in (("top", 0), ("left", _CELL_MARGIN_TW), ("bottom", 0), ("right", _CELL_MARGIN_TW)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(value))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    tbl_pr.append(mar)
    # CT_TblPr is a sequence: LibreOffice ignores a property out of its place
    order = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW",
             "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook"]
    rank = {qn(f"w:{tag}"): i for i, tag in enumerate(order)}
    children = sorted(tbl_pr, key=lambda el: rank.get(el.tag, len(order)))
    for el in children:
        tbl_pr.remove(el)
    for el in children:
        tbl_pr.append(el)
    t.autofit = False
    for column, w in zip(t.columns, tw):
        column.width = Twips(w)
        for cell in column.cells:
            cell.width = Twips(w)
            _cell_margins(cell)


def side_margins(tag: str, twips: int) -> Any:
    """A margins element (``w:tcMar`` of a cell, ``w:tblCellMar`` of a table) with its left and
    right margins of *twips*."""
    mar = OxmlElement(tag)
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(twips))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    return mar


def _cell_margins(cell: Any) -> None:
    """The cell's own left and right margins: LibreOffice takes the table style's (1.9 mm)
    over the table's ``tblCellMar``, and the widths above count on 1 mm."""
    tc_pr = cell._tc.get_or_add_tcPr()
    mar = side_margins("w:tcMar", _CELL_MARGIN_TW)
    # CT_TcPr: tcW, gridSpan, vMerge, tcBorders, shd, noWrap, tcMar, ...: after tcW is its place here
    tc_pr.append(mar)


def _cant_split(row: Any) -> None:
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def _table_texts(block: Table, lang: str) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    df = block.data
    headers = [_nfc(block.column_labels.get(c, c)) for c in df.columns]
    rows = []
    for row in df.itertuples(index=False, name=None):
        out = []
        for col, v in zip(df.columns, row):
            d = block.decimals.get(col) if isinstance(block.decimals, Mapping) else block.decimals
            out.append(_cell_text(v, d, lang))
        rows.append(out)
    return headers, rows


def plan_table(block: Table, lang: str = "vi") -> _TablePlan:
    """Orientation, font size and column widths (points) the DOCX will use for *block*."""
    headers, rows = _table_texts(block, lang)
    portrait = (LAYOUT.page_width_mm - LAYOUT.margin_left_mm - LAYOUT.margin_right_mm) / 25.4 * 72
    landscape = (LAYOUT.page_height_mm - LAYOUT.margin_left_mm - LAYOUT.margin_right_mm) / 25.4 * 72
    return _plan_table([[t for t, _ in r] for r in rows], headers, portrait_pt=portrait, landscape_pt=landscape,
                       landscape=block.landscape)


def _table(doc: Any, block: Table, number: int, lang: str, plan: _TablePlan) -> None:
    words = _WORDS[lang]
    cap = doc.add_paragraph(style="Caption")
    cap.add_run(f"{words['table']} {number}. {protect_symbols(_nfc(block.caption))}")
    cap.paragraph_format.keep_with_next = True
    df = block.data
    headers, rows = _table_texts(block, lang)
    t = doc.add_table(rows=1, cols=len(df.columns))
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    size = Pt(plan.size_pt) if plan.size_pt != LAYOUT.table_pt else None
    no_spacing = doc.styles["No Spacing"]
    for cell, head in zip(t.rows[0].cells, headers):
        cell.text = ""
        p = cell.paragraphs[0]
        p.style = no_spacing
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(head)
        run.bold = True
        if size is not None:
            run.font.size = size
    _repeat_header(t.rows[0])
    _cant_split(t.rows[0])
    _set_table_xml(t, plan.widths_pt)
    keep = bool(block.source or block.note)
    if rows:
        # the body rows in one pass (python-docx's per-cell API is quadratic in the rows)
        body = _body_rows(rows, numeric, plan.widths_pt, no_spacing.style_id, size, keep)
        t._tbl.extend(body[:TABLE_PART_ROWS])
        _continue_table(t._tbl, body[TABLE_PART_ROWS:])
    elif keep:
        for cell in t.rows[0].cells:  # only the header: it goes with the source and note
            for p in cell.paragraphs:
                p.paragraph_format.keep_with_next = True
    _source_note(doc, block.source, block.note, words)


def _table_in_file(doc: Any, block: TableInFile, number: int, lang: str) -> None:
    words = _WORDS[lang]
    cap = doc.add_paragraph(style="Caption")
    cap.add_run(f"{words['table']} {number}. {protect_symbols(_nfc(block.caption))}")
    cap.paragraph_format.keep_with_next = True
    p = _paragraph(doc, block.text, italic=True)
    p.paragraph_format.keep_with_next = bool(block.source or block.note)
    _source_note(doc, block.source, block.note, words)


#: Body rows of one ``w:tbl``: LibreOffice lays a table out in time quadratic in its rows (1,000
#: rows 2.6 s, 4,000 rows 27 s, 8,000 rows 127 s), so a longer table is written as consecutive
#: tables of this many rows, each with the header row, a 1-pt paragraph between (`_hairline`).
TABLE_PART_ROWS = 500


def _hairline() -> Any:
    """A 1-pt empty paragraph kept with the next: between two parts of a table (adjacent tables
    are joined again by LibreOffice, and the joined table is as slow as the whole)."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    return parse_xml(f'<w:p {nsdecls("w")}><w:pPr><w:keepNext/><w:spacing w:before="0" w:after="0" w:line="20" '
                     'w:lineRule="exact"/><w:ind w:firstLine="0"/><w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>')


def _continue_table(tbl: Any, rest: Sequence[Any]) -> None:
    """*rest* of a table's body rows as tables right after *tbl*, each with *tbl*'s properties,
    grid and header row (repeated at the top of each page anyway)."""
    import copy

    head = [el for el in tbl if el.tag in (qn("w:tblPr"), qn("w:tblGrid"))] + [tbl.findall(qn("w:tr"))[0]]
    anchor = tbl
    for start in range(0, len(rest), TABLE_PART_ROWS):
        part = OxmlElement("w:tbl")
        part.extend([copy.deepcopy(el) for el in head])
        part.extend(rest[start:start + TABLE_PART_ROWS])
        anchor.addnext(gap := _hairline())
        gap.addnext(part)
        anchor = part


_RUN_BREAKS = re.compile(r"([\t\r\n])")


def _run_xml(text: str, rpr: str) -> str:
    """``<w:r>`` of *text* as python-docx's ``add_run`` writes it: a tab is ``<w:tab/>``, a line
    end ``<w:br/>``, a ``<w:t>`` keeps leading or trailing spaces (``xml:space``)."""
    parts = []
    for piece in _RUN_BREAKS.split(text):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            parts.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            parts.append(f"<w:t{space}>{xml_escape(piece)}</w:t>")
    inner = rpr + "".join(parts)
    return f"<w:r>{inner}</w:r>" if inner else "<w:r/>"


def _body_rows(rows: Sequence[Sequence[tuple[str, bool]]], numeric: Sequence[bool], widths_pt: Sequence[float],
               style_id: str, size: Any, keep_last: bool) -> list[Any]:
    """The table's body rows (``w:tr``), the XML `_table` wrote cell by cell with python-docx:
    rows that never split, cells of the plan's width with 1 mm side margins, "No Spacing"
    paragraphs, numbers right-aligned; the last row kept with the source and note below."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    tw = [int(round(w * 20)) for w in widths_pt]
    rpr = "" if size is None else f'<w:rPr><w:sz w:val="{int(size.pt * 2)}"/></w:rPr>'
    mar = (f'<w:tcMar><w:left w:w="{_CELL_MARGIN_TW}" w:type="dxa"/>'
           f'<w:right w:w="{_CELL_MARGIN_TW}" w:type="dxa"/></w:tcMar>')
    heads = [f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{w}"/>{mar}</w:tcPr><w:p><w:pPr><w:pStyle w:val="{style_id}"/>'
             for w in tw]
    out = []
    for i, row in enumerate(rows):
        keep = "<w:keepNext/>" if keep_last and i == len(rows) - 1 else ""
        cells = "".join(
            f'{head}{keep}<w:jc w:val="{"right" if (is_num or num) else "left"}"/></w:pPr>'
            f"{_run_xml(text, rpr)}</w:p></w:tc>"
            for head, num, (text, is_num) in zip(heads, numeric, row))
        out.append(f'<w:trPr><w:cantSplit w:val="true"/></w:trPr>{cells}')
    body = parse_xml(f"<w:tbl {nsdecls('w')}><w:tr>" + "</w:tr><w:tr>".join(out) + "</w:tr></w:tbl>")
    return list(body)


def _png_size(path: Path) -> tuple[int, int]:
    """Pixel width and height from a PNG's IHDR chunk (0, 0 for another format)."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _figure(doc: Any, block: Figure, number: int, lang: str, max_width_cm: float, max_height_cm: float) -> None:
    words = _WORDS[lang]
    path = Path(block.path)
    if not path.is_file():
        raise FileNotFoundError(f"build_docx: figure {number} ({block.caption!r}): no file {path}")
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Cm(0)
    p.paragraph_format.keep_with_next = True
    width_cm = min(block.width_cm, max_width_cm)
    px_w, px_h = _png_size(path)
    if px_w and width_cm * px_h / px_w > max_height_cm:
        width_cm = max_height_cm * px_w / px_h  # a tall chart (e.g. 103 units) must fit on one page
    p.add_run().add_picture(str(path), width=Cm(width_cm))
    cap = doc.add_paragraph(style="Caption")
    cap.add_run(f"{words['figure']} {number}. {protect_symbols(_nfc(block.caption))}")
    _source_note(doc, block.source, block.note, words)


def _new_section(doc: Any, *, landscape: bool, synthetic: bool) -> None:
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    _page(section, landscape=landscape)
    # add_section copies the title-page flag; only the report's first page has no number
    section.different_first_page_header_footer = False
    section.header.is_linked_to_previous = True


#: Heading levels listed in the table of contents.
_TOC_LEVELS = 2
_TOC_WORDS = {"vi": "MỤC LỤC", "en": "CONTENTS"}
#: Hyphens inside a document symbol ("04-ĐA/ĐUK", "30/2020/NĐ-CP", "36-HD/VPTW"): a line must not
#: break there, so they become non-breaking hyphens (U+2011; Times and Liberation Serif have it).
_SYMBOL = re.compile(r"(?<![\w/])\d+(?:/\d{4})?[-/][A-ZĐ]{1,6}(?:[-/][A-ZĐ]{1,8})+(?![\w-])")


def protect_symbols(text: str) -> str:
    """*text* with the hyphens of document symbols made non-breaking (U+2011).

    Examples
    --------
    >>> protect_symbols("Đề án 04-ĐA/ĐUK; Nghị định 30/2020/NĐ-CP; Hướng dẫn 36-HD/VPTW") == (
    ...     "Đề án 04\u2011ĐA/ĐUK; Nghị định 30/2020/NĐ\u2011CP; Hướng dẫn 36\u2011HD/VPTW")
    True
    >>> protect_symbols("2023-2025, đoàn viên - hội viên")
    '2023-2025, đoàn viên - hội viên'
    """
    return _SYMBOL.sub(lambda m: m.group(0).replace("-", "\u2011"), text)


def _toc_entries(blocks: Sequence[Block]) -> list[tuple[int, str, str]]:
    """(level, text, bookmark) of every heading the table of contents lists, in order."""
    out = []
    for block in blocks:
        if isinstance(block, Heading) and block.level <= _TOC_LEVELS:
            out.append((block.level, protect_symbols(_nfc(block.text))))
        elif isinstance(block, Appendix):
            out.append((1, protect_symbols(_nfc(block.title))))
    return [(level, text, f"_Toc{i + 1:06d}") for i, (level, text) in enumerate(out)]


def _bookmark(paragraph: Any, name: str) -> None:
    number = name.removeprefix("_Toc").lstrip("0") or "0"
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), number)
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), number)
    paragraph._p.insert(1 if paragraph._p.pPr is not None else 0, start)
    paragraph._p.append(end)


def _fld(paragraph: Any, kind: str, instruction: str | None = None, size: float | None = None) -> None:
    run = paragraph.add_run()
    set_fonts(run._r, LAYOUT.font, size)
    if instruction is not None:
        el = OxmlElement("w:instrText")
        el.set(qn("xml:space"), "preserve")
        el.text = f" {instruction} "
    else:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
    run._r.append(el)


def _toc_styles(doc: Any, lang: str) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_TAB_ALIGNMENT, WD_TAB_LEADER

    width = Mm(LAYOUT.page_width_mm - LAYOUT.margin_left_mm - LAYOUT.margin_right_mm - 1)
    for level in range(1, _TOC_LEVELS + 1):
        name = f"toc {level}"
        st = doc.styles[name] if name in [s.name for s in doc.styles] else \
            doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.base_style = doc.styles["Normal"]
        # 12 pt, single-spaced: the contents of a long report fit on the title page
        _style(doc, name, size=LAYOUT.note_pt, bold=level == 1, align=WD_ALIGN_PARAGRAPH.LEFT, indent_cm=0,
               after=0, lang_tag="vi-VN" if lang == "vi" else "en-GB")
        st.paragraph_format.line_spacing = 1.0
        st.paragraph_format.left_indent = Cm(0.8 * (level - 1))
        st.paragraph_format.tab_stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)


def _toc(doc: Any, entries: Sequence[tuple[int, str, str]], lang: str) -> None:
    """"MỤC LỤC" and one line per heading, its page number a ``PAGEREF`` field to the heading's
    bookmark.

    Why not a Word ``TOC`` field: LibreOffice's headless PDF export never updates one, and it
    drops the page-number fields inside a stored TOC result (tried: entries without numbers).
    Written out here, the entries come from the same headings, and the page numbers are left
    to ``PAGEREF`` fields, which LibreOffice computes at layout time and Word updates on
    opening (``w:updateFields`` in the settings, `_update_fields_on_open`).
    """
    if not entries:
        return
    _toc_styles(doc, lang)
    head = _paragraph(doc, _TOC_WORDS[lang], indent=False, align="center", bold=True)
    head.paragraph_format.keep_with_next = True
    head.paragraph_format.space_before = Pt(12)
    for level, text, mark in entries:
        p = doc.add_paragraph(style=f"toc {level}")
        r = p.add_run(text)
        set_fonts(r._r, LAYOUT.font)
        p.add_run("\t")
        _fld(p, "begin")
        _fld(p, "", f"PAGEREF {mark} \\h")
        _fld(p, "separate")
        p.add_run("")
        _fld(p, "end")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _update_fields_on_open(doc: Any) -> None:
    """Ask Word to update the fields (the contents' page numbers) when the file is opened."""
    settings = doc.settings.element
    for el in settings.findall(qn("w:updateFields")):
        settings.remove(el)
    el = OxmlElement("w:updateFields")
    el.set(qn("w:val"), "true")
    # its place in CT_Settings' sequence: before these (Word rejects elements out of order)
    after = {qn(f"w:{t}") for t in ("hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids",
                                   "attachedSchema", "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats",
                                   "doNotAutoCompressPictures", "forceUpgrade", "captions", "readModeInkLockDown",
                                   "smartTagType", "schemaLibrary", "shapeDefaults", "doNotEmbedSmartTags",
                                   "decimalSymbol", "listSeparator")}
    after.add("{http://schemas.openxmlformats.org/officeDocument/2006/math}mathPr")
    later = next((child for child in settings if child.tag in after), None)
    if later is None:
        settings.append(el)
    else:
        later.addprevious(el)


def build_docx(
    blocks: Sequence[Block],
    path: str | Path,
    *,
    title: str,
    synthetic: bool,
    lang: str = "vi",
    subtitle: str | None = None,
    place_date: str | None = None,
    toc: bool = False,
) -> Path:
    """Write the report as DOCX.

    Parameters
    ----------
    blocks : list of Block
        The document model (module docstring).
    path : str or Path
        Output file.
    title : str
        Written in capitals, bold, centred at the top of page 1.
    synthetic : bool
        Put :data:`BANNER` in the header of every page.
    lang : {"vi", "en"}
        Fixed words ("Bảng", "Hình", "Nguồn", "Ghi chú") and the number format in tables.
    subtitle, place_date : str, optional
        A line under the title, and a right-aligned italic line such as
        "Nghệ An, ngày 24 tháng 3 năm 2025" (see :func:`analysis.report.tables.format_date`).
    toc : bool
        A table of contents after the title block (`_toc`): the headings of levels 1–2 (and the
        appendices), each with a ``PAGEREF`` field for its page number, so the numbers are right
        in LibreOffice's PDF and in Word.

    Returns
    -------
    pathlib.Path
    """
    if lang not in _WORDS:
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    path = Path(path)
    doc = Document()
    _setup_styles(doc, lang)
    first = doc.sections[0]
    _page(first)
    _headers(first, synthetic=synthetic, first_page_differs=True, lang=lang)
    if place_date:
        _paragraph(doc, place_date, indent=False, align="right", italic=True)
    doc.add_paragraph(protect_symbols(_nfc(title).upper()), style="Title")
    if subtitle:
        _paragraph(doc, subtitle, indent=False, align="center", bold=True)
    headings = _toc_entries(blocks)
    if toc:
        _update_fields_on_open(doc)
    toc_pending = toc  # after the title lines, before the first heading
    marks = iter(headings)
    n_table = n_figure = 0
    landscape_open = False
    for block in blocks:
        plan = plan_table(block, lang) if isinstance(block, Table) else None
        wants_landscape = bool(plan and plan.landscape)
        if toc_pending and isinstance(block, (Heading, Appendix)):
            _toc(doc, headings, lang)
            toc_pending = False
        if wants_landscape != landscape_open:
            _new_section(doc, landscape=wants_landscape, synthetic=synthetic)
            landscape_open = wants_landscape
        if isinstance(block, Heading):
            if not 1 <= block.level <= 3:
                raise ValueError(f"build_docx: heading level {block.level} for {block.text!r}; use 1–3")
            p = doc.add_paragraph(protect_symbols(_nfc(block.text)), style=f"Heading {block.level}")
            if block.level <= _TOC_LEVELS:
                _bookmark(p, next(marks)[2])
        elif isinstance(block, Paragraph):
            _paragraph(doc, block.text, indent=block.indent, align=block.align, italic=block.italic, bold=block.bold)
        elif isinstance(block, Bullets):
            for item in block.items:
                _paragraph(doc, f"- {item}")
        elif isinstance(block, Table):
            n_table += 1
            _table(doc, block, n_table, lang, plan)
        elif isinstance(block, TableInFile):
            n_table += 1
            _table_in_file(doc, block, n_table, lang)
        elif isinstance(block, Figure):
            n_figure += 1
            _figure(doc, block, n_figure, lang, _text_width_cm(doc.sections[-1]), _text_height_cm(doc.sections[-1]) - 3)
        elif isinstance(block, PageBreak):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        elif isinstance(block, Appendix):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            p = doc.add_paragraph(protect_symbols(_nfc(block.title)), style="Heading 1")
            _bookmark(p, next(marks)[2])
            for text in block.paragraphs:
                _paragraph(doc, text)
        else:
            raise TypeError(f"build_docx: not a block: {block!r}")
    props = doc.core_properties
    props.title = _nfc(title)
    props.author = "analysis"
    props.last_modified_by = "analysis"
    props.created = props.modified = FIXED_TIMESTAMP
    props.revision = 1
    props.language = "vi-VN" if lang == "vi" else "en-GB"
    buf = io.BytesIO()
    doc.save(buf)
    path.write_bytes(normalise_ooxml(buf.getvalue()))
    return path


def blocks_from_json(spec: Iterable[Mapping[str, Any]] | str | Path, *, base_dir: str | Path | None = None) -> list[Block]:
    """Blocks from a JSON list (or a file holding one), for the runner and the notebooks.

    Each element has ``type`` — ``heading`` (``text``, ``level``), ``paragraph`` (``text``),
    ``bullets`` (``items``), ``table`` (``caption``, ``records`` or ``csv``, ``source``,
    ``note``, ``decimals``, ``column_labels``, ``landscape``), ``figure`` (``path``,
    ``caption``, ``source``, ``note``), ``page_break``, ``appendix`` (``title``,
    ``paragraphs``). Relative ``csv`` and ``path`` are read from *base_dir* (the JSON file's
    folder by default).

    Examples
    --------
    >>> blocks_from_json([{"type": "heading", "text": "Kết quả"},
    ...                   {"type": "table", "caption": "Số mẫu", "records": [{"n": 5}]}])[0]
    Heading(text='Kết quả', level=1)
    """
    if isinstance(spec, (str, Path)):
        p = Path(spec)
        base_dir = p.parent if base_dir is None else base_dir
        spec = json.loads(p.read_text(encoding="utf-8"))
    base = Path(base_dir) if base_dir is not None else Path(".")
    out: list[Block] = []
    for i, el in enumerate(spec):
        kind = el.get("type")
        if kind == "heading":
            out.append(Heading(el["text"], int(el.get("level", 1))))
        elif kind == "paragraph":
            out.append(Paragraph(el["text"], indent=bool(el.get("indent", True)), align=el.get("align", "justify")))
        elif kind == "bullets":
            out.append(Bullets(tuple(el["items"])))
        elif kind == "table":
            if "records" in el:
                data = pd.DataFrame.from_records(el["records"], columns=el.get("columns"))
            elif "csv" in el:
                data = pd.read_csv(base / el["csv"], encoding="utf-8-sig", dtype_backend="numpy_nullable")
            else:
                raise ValueError(f"blocks_from_json: element {i} (table {el.get('caption')!r}) needs 'records' or 'csv'")
            out.append(Table(data, el["caption"], el.get("source"), el.get("note"), el.get("decimals"),
                             el.get("column_labels", {}), el.get("landscape")))
        elif kind == "figure":
            out.append(Figure(base / el["path"], el["caption"], el.get("source"), el.get("note")))
        elif kind == "page_break":
            out.append(PageBreak())
        elif kind == "appendix":
            out.append(Appendix(el["title"], tuple(el["paragraphs"])))
        else:
            raise ValueError(f"blocks_from_json: element {i} has unknown type {kind!r}")
    return out



