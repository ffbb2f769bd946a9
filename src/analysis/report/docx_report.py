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
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor, Twips

from analysis.report.tables import FIXED_TIMESTAMP, format_number, normalise_ooxml

__all__ = [
    "BANNER",
    "Appendix",
    "Block",
    "Bullets",
    "Figure",
    "Heading",
    "LAYOUT",
    "PageBreak",
    "Paragraph",
    "Table",
    "blocks_from_json",
    "build_docx",
]

#: The banner on every page of a report built from synthetic data (both languages on purpose:
#: the file may be forwarded to a reader of the other language).
BANNER = "DỮ LIỆU MÔ PHỎNG — synthetic data"


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
    landscape: bool = False


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


Block = Union[Heading, Paragraph, Bullets, Table, Figure, PageBreak, Appendix]


# ------------------------------------------------------------------------------------------
# low-level formatting


def _set_fonts(rpr_owner: Any, font: str, size_pt: float | None = None, lang: str | None = None) -> None:
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
    _set_fonts(st.element, LAYOUT.font, size, lang_tag)
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
        _set_fonts(run._r, LAYOUT.font, LAYOUT.body_pt)
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
    _set_fonts(cached._r, LAYOUT.font, LAYOUT.body_pt)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _banner(paragraph: Any) -> None:
    run = paragraph.add_run(BANNER)
    run.bold = True
    run.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
    _set_fonts(run._r, LAYOUT.font, LAYOUT.note_pt)


def _headers(section: Any, *, synthetic: bool, first_page_differs: bool) -> None:
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
        _banner(bp)
    if first_page_differs:
        first = section.first_page_header
        first.is_linked_to_previous = False
        fp = first.paragraphs[0]
        fp.text = ""
        fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if synthetic:
            _banner(fp)


def _text_width_cm(section: Any) -> float:
    return (section.page_width - section.left_margin - section.right_margin) / 360000


def _text_height_cm(section: Any) -> float:
    return (section.page_height - section.top_margin - section.bottom_margin) / 360000


# ------------------------------------------------------------------------------------------
# blocks


def _paragraph(doc: Any, text: str, *, style: str | None = None, indent: bool = True, align: str = "justify",
               italic: bool = False, bold: bool = False, size: float | None = None) -> Any:
    p = doc.add_paragraph(style=style)
    run = p.add_run(_nfc(text))
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
            p.paragraph_format.keep_with_next = False


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
    return _nfc(v), False


def _repeat_header(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _table(doc: Any, block: Table, number: int, lang: str) -> None:
    words = _WORDS[lang]
    cap = doc.add_paragraph(style="Caption")
    cap.add_run(f"{words['table']} {number}. {_nfc(block.caption)}")
    cap.paragraph_format.keep_with_next = True
    df = block.data
    t = doc.add_table(rows=1, cols=len(df.columns))
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns}
    for cell, col in zip(t.rows[0].cells, df.columns):
        cell.text = ""
        p = cell.paragraphs[0]
        p.style = doc.styles["No Spacing"]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.add_run(_nfc(block.column_labels.get(col, col))).bold = True
    _repeat_header(t.rows[0])
    _column_widths(t, df, block, lang, _text_width_cm(doc.sections[-1]))
    for row in df.itertuples(index=False, name=None):
        cells = t.add_row().cells
        for cell, col, v in zip(cells, df.columns, row):
            d = block.decimals.get(col) if isinstance(block.decimals, Mapping) else block.decimals
            text, is_num = _cell_text(v, d, lang)
            p = cell.paragraphs[0]
            p.style = doc.styles["No Spacing"]
            p.add_run(text)
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT if (is_num or numeric[col]) else WD_ALIGN_PARAGRAPH.LEFT
    _source_note(doc, block.source, block.note, words)


def _column_widths(t: Any, df: pd.DataFrame, block: Table, lang: str, width_cm: float) -> None:
    """Share the text width by content: a long label column gets room, codes and numbers less.

    Without this, Word and LibreOffice give every column the same width, which squeezes a
    sentence column (the scorecard's basis) into a narrow strip and pushes wide tables off the
    page. Each column's weight is its longest cell (header words count less: they wrap),
    between 4 and 40 characters.
    """
    weights = []
    for col in df.columns:
        header = max((len(w) for w in str(block.column_labels.get(col, col)).split()), default=1)
        cells = [len(_cell_text(v, None, lang)[0]) for v in df[col]]
        weights.append(min(max([header + 3, *cells, 5]), 40))
    total = float(sum(weights)) or 1.0
    t.autofit = False
    for j, column in enumerate(t.columns):
        w = Cm(width_cm * weights[j] / total)
        column.width = w
        for cell in column.cells:
            cell.width = w


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
    cap.add_run(f"{words['figure']} {number}. {_nfc(block.caption)}")
    _source_note(doc, block.source, block.note, words)


def _new_section(doc: Any, *, landscape: bool, synthetic: bool) -> None:
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    _page(section, landscape=landscape)
    # add_section copies the title-page flag; only the report's first page has no number
    section.different_first_page_header_footer = False
    section.header.is_linked_to_previous = True


def build_docx(
    blocks: Sequence[Block],
    path: str | Path,
    *,
    title: str,
    synthetic: bool,
    lang: str = "vi",
    subtitle: str | None = None,
    place_date: str | None = None,
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
    _headers(first, synthetic=synthetic, first_page_differs=True)
    if place_date:
        _paragraph(doc, place_date, indent=False, align="right", italic=True)
    doc.add_paragraph(_nfc(title).upper(), style="Title")
    if subtitle:
        _paragraph(doc, subtitle, indent=False, align="center", bold=True)
    n_table = n_figure = 0
    landscape_open = False
    for block in blocks:
        wants_landscape = isinstance(block, Table) and block.landscape
        if wants_landscape != landscape_open:
            _new_section(doc, landscape=wants_landscape, synthetic=synthetic)
            landscape_open = wants_landscape
        if isinstance(block, Heading):
            if not 1 <= block.level <= 3:
                raise ValueError(f"build_docx: heading level {block.level} for {block.text!r}; use 1–3")
            doc.add_paragraph(_nfc(block.text), style=f"Heading {block.level}")
        elif isinstance(block, Paragraph):
            _paragraph(doc, block.text, indent=block.indent, align=block.align, italic=block.italic, bold=block.bold)
        elif isinstance(block, Bullets):
            for item in block.items:
                _paragraph(doc, f"- {item}")
        elif isinstance(block, Table):
            n_table += 1
            _table(doc, block, n_table, lang)
        elif isinstance(block, Figure):
            n_figure += 1
            _figure(doc, block, n_figure, lang, _text_width_cm(doc.sections[-1]), _text_height_cm(doc.sections[-1]) - 3)
        elif isinstance(block, PageBreak):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        elif isinstance(block, Appendix):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            doc.add_paragraph(_nfc(block.title), style="Heading 1")
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
                             el.get("column_labels", {}), bool(el.get("landscape", False))))
        elif kind == "figure":
            out.append(Figure(base / el["path"], el["caption"], el.get("source"), el.get("note")))
        elif kind == "page_break":
            out.append(PageBreak())
        elif kind == "appendix":
            out.append(Appendix(el["title"], tuple(el["paragraphs"])))
        else:
            raise ValueError(f"blocks_from_json: element {i} has unknown type {kind!r}")
    return out



