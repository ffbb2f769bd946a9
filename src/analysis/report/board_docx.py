"""Lay out the Board edition (`analysis.report.board.BoardDocument`) as a DOCX.

The page of a document a Party or state body sends on (``shared/domain/REPORT_LAYOUT.md``): A4
portrait, margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm; Times New Roman (all four
``w:rFonts`` slots), body 13 pt justified with a 1.27 cm first-line indent, 6 pt after, line
spacing 1.15; page numbers at the top centre from page 2. The header block is a borderless
two-column table with one row per line (issuer on the left; the Party's name, or the state's
name and motto, on the right; the place and date on the row of "Số: …"), then the title in bold
capitals, the subject in bold and a short rule; the closing block puts "Nơi nhận:" (12 pt) on
the left and the signature on the right, never split over two pages. A draft carries "DỰ THẢO"
in a box above the header; demo data carry a banner in every page header.

Table columns are as wide as their content needs (`column_widths`, measured in the font the PDF
is set in): a count or a verdict never wraps, a list such as "0/2 chỉ tiêu đạt, 2 đạt một phần"
breaks only after a comma, a header takes at most two lines and no word is cut.

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
from docx.shared import Cm, Mm, Pt, Twips

from analysis.report.board import Block, BoardDocument
from analysis.report.docx_report import set_fonts, side_margins, text_width_pt
from analysis.report.xlsx import normalise_ooxml

__all__ = ["FONT", "column_widths", "header_lines", "write_board_docx"]

FONT = "Times New Roman"
_BODY_PT = 13
_TEXT_WIDTH_CM = 21.0 - 3.0 - 1.5
_BANNER = {"vi": "DỮ LIỆU MÔ PHỎNG: không dùng để đánh giá thực tế",
           "en": "SIMULATED DATA: not for a real assessment"}
_WORDS = {"vi": {"table": "Bảng", "source": "Nguồn", "note": "Ghi chú", "recipients": "Nơi nhận:",
                 "draft": "DỰ THẢO"},
          "en": {"table": "Table", "source": "Source", "note": "Note", "recipients": "Recipients:",
                 "draft": "DRAFT"}}


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


# --- tables: properties, widths from content --------------------------------------------------

#: Cell padding left and right (twips) of every Board table, written into each cell: LibreOffice
#: takes the table style's 1.9 mm over the table's own margins.
_CELL_PAD_TW = 85  # 1.5 mm
#: Measured widths times this (kerning, rounding in the layout engine, a substitute font's bold).
_SAFETY = 1.06
#: What a cell takes besides its margins (borders, rounding to layout units), in points.
_BORDER_PT = 1.5
_TABLE_PT = 11
_NBSP = "\u00a0"
# CT_TblPr is a sequence: LibreOffice ignores a property out of its place.
_TBL_PR_ORDER = ("tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
                 "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook")


def _table_props(table: Any, widths_cm: list[float], *, borders: bool) -> None:
    """Fixed layout at *widths_cm*, the table's width, its borders (a grid or none) and the cell
    margins, in the order the schema gives: Word and LibreOffice then keep these widths."""
    tbl_pr = table._element.tblPr
    for tag in ("tblW", "tblBorders", "tblLayout", "tblCellMar"):
        for el in tbl_pr.findall(qn(f"w:{tag}")):
            tbl_pr.remove(el)
    tw = [int(round(Cm(w).twips)) for w in widths_cm]
    tbl_w = OxmlElement("w:tblW")
    tbl_w.set(qn("w:w"), str(sum(tw)))
    tbl_w.set(qn("w:type"), "dxa")
    edges = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        for key, value in ({"val": "single", "sz": "4", "color": "000000"} if borders else {"val": "nil"}).items():
            el.set(qn(f"w:{key}"), value)
        edges.append(el)
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    margins = side_margins("w:tblCellMar", _CELL_PAD_TW)
    for el in (tbl_w, edges, layout, margins):
        tbl_pr.append(el)
    rank = {qn(f"w:{tag}"): i for i, tag in enumerate(_TBL_PR_ORDER)}
    for el in sorted(tbl_pr, key=lambda e: rank.get(e.tag, len(rank))):
        tbl_pr.remove(el)
        tbl_pr.append(el)
    table.autofit = False
    grid = table._element.find(qn("w:tblGrid"))
    for col, w in zip(grid.findall(qn("w:gridCol")), tw):
        col.set(qn("w:w"), str(w))
    for row in table.rows:
        for cell, w in zip(row.cells, tw):
            cell.width = Twips(w)


def _cell_props(cell: Any, *, no_wrap: bool) -> None:
    """The cell's own margins (and ``noWrap`` before them: CT_TcPr is a sequence too)."""
    tc_pr = cell._tc.get_or_add_tcPr()
    if no_wrap:
        tc_pr.append(OxmlElement("w:noWrap"))
    tc_pr.append(side_margins("w:tcMar", _CELL_PAD_TW))


def _pieces(text: str, wrap: str) -> list[str]:
    """The parts of a cell a line may break between: the whole cell (``never``), the parts after
    each comma (``comma``), the words (``words``)."""
    if wrap == "never":
        return [text]
    if wrap == "comma":
        parts = text.split(", ")
        return [p + ("," if i < len(parts) - 1 else "") for i, p in enumerate(parts)]
    return text.split()


def _bound(text: str, wrap: str) -> str:
    """*text* with non-breaking spaces inside each piece (`_pieces`), so it breaks only between them."""
    if wrap == "words":
        return text
    return " ".join(p.replace(" ", _NBSP) for p in _pieces(text, wrap))


def _width_pt(text: str, size: float, bold: bool = False) -> float:
    return text_width_pt(text.replace(_NBSP, " "), size, bold=bold) * _SAFETY


def _max_header_lines(words: list[str]) -> int:
    """Two lines for a header; three for a long one ("Cảm nhận của / đoàn viên, / hội viên")."""
    return 3 if len(words) >= 5 else 2


def _balanced(widths: list[float], space: float, n: int) -> tuple[float, tuple[int, ...]]:
    """The split of words (their widths) into *n* lines whose longest line is shortest:
    (that line's width, the bounds of the lines)."""
    from itertools import combinations

    best: tuple[float, tuple[int, ...]] | None = None
    for cuts in combinations(range(1, len(widths)), n - 1):
        bounds = (0, *cuts, len(widths))
        longest = max(sum(widths[i:k]) + space * (k - i - 1) for i, k in zip(bounds, bounds[1:]))
        if best is None or longest < best[0]:
            best = (longest, bounds)
    return best if best is not None else (sum(widths), (0, len(widths)))


def header_lines(header: str, room_pt: float, size: float = _TABLE_PT) -> list[str]:
    """A column header as it is set: the fewest lines (up to `_max_header_lines`) that fit
    *room_pt*, broken where the longest line is shortest ("Đoàn / Thanh niên", not "Đoàn Thanh /
    niên"); as written (left to wrap) when even that does not fit.

    Examples
    --------
    >>> header_lines("Đánh giá", 500)
    ['Đánh giá']
    >>> header_lines("Cảm nhận của đoàn viên, hội viên", 110)
    ['Cảm nhận của', 'đoàn viên, hội viên']
    """
    words = header.split()
    widths = [_width_pt(w, size, True) for w in words]
    space = text_width_pt(" ", size, bold=True)
    for n in range(1, min(_max_header_lines(words), len(words)) + 1):
        longest, bounds = _balanced(widths, space, n)
        if longest <= room_pt:
            return [" ".join(words[i:k]) for i, k in zip(bounds, bounds[1:])]
    return [header]


def _lines(widths: list[float], space: float, room: float) -> int:
    """Lines a cell takes when its pieces (widths in points) are set greedily in *room* points."""
    n, line = 1, -1.0
    for w in widths:
        if line < 0:
            line = w
        elif line + space + w <= room:
            line += space + w
        else:
            n, line = n + 1, w
    return n


def column_widths(frame: Any, wrap: tuple[str, ...], total_cm: float, size: float = _TABLE_PT) -> list[float]:
    """Column widths (cm) from what the cells hold, measured in the font the PDF is set in.

    Each column is at least as wide as its widest unbreakable piece (`_pieces`: a whole count or
    verdict, a comma part, a word) and as its header set on two lines (a long one on three), so
    that nothing is cut.
    The room left goes, step by step, where it saves the most lines of the table (rows' heights
    first, then all the cells' lines) per centimetre: a long label gets room before a short
    list does. What is left when every cell fits on one line goes to the text columns. Too
    narrow even so: the minimums scaled down (some words will break; the layout test says which).

    Examples
    --------
    >>> import pandas as pd
    >>> w = column_widths(pd.DataFrame({"Nhóm": ["1"], "Tên": ["một tên dài " * 8], "Đánh giá": ["Đạt một phần"]}),
    ...                   ("never", "words", "never"), 16.5)
    >>> round(sum(w), 2), w[0] < 1.6 < w[2] < w[1]
    (16.5, True)
    """
    pad = 2 * _CELL_PAD_TW / 20 + _BORDER_PT
    space = text_width_pt(" ", size)
    hows = [wrap[j] if j < len(wrap) else "words" for j in range(len(frame.columns))]
    # the cells, each as the widths of its pieces
    rows = [[[_width_pt(p, size) for p in _pieces("" if v is None or v != v else str(v), how)]
             for v, how in zip(r, hows)] for _, r in frame.iterrows()]
    # each header: the longest line when set on 1, 2 (, 3) lines
    bold_space = text_width_pt(" ", size, bold=True)
    heads = []
    for name in frame.columns:
        words = str(name).split()
        widths = [_width_pt(w, size, True) for w in words]
        heads.append([_balanced(widths, bold_space, n)[0] for n in range(1, min(_max_header_lines(words),
                                                                                  len(words)) + 1)])
    narrow = [max([head[-1], *(w for row in rows for w in row[j])]) + pad for j, head in enumerate(heads)]
    total = total_cm / 2.54 * 72
    if sum(narrow) > total:
        return [total_cm * n / sum(narrow) for n in narrow]
    out = list(narrow)

    def whole(j: int) -> float:  # the longest cell of column j, and its header, on one line
        return max([heads[j][0], *(sum(c[j]) + space * max(len(c[j]) - 1, 0) for c in rows)]) + pad

    def score(widths: list[float]) -> tuple[int, int]:
        head = [next((n for n, x in enumerate(h, 1) if x <= w - pad), len(h)) for h, w in zip(heads, widths)]
        lines = [head] + [[_lines(c, space, w - pad) for c, w in zip(row, widths)] for row in rows]
        return sum(max(r) for r in lines), sum(map(sum, lines))

    room = total - sum(out)
    while room > 0.5:
        now = score(out)
        best = None
        for j in range(len(out)):
            if out[j] >= whole(j):
                continue
            # the next width at which one of the column's cells loses a line
            reach = min(out[j] + room, whole(j))
            steps = {x + pad for x in heads[j] if out[j] - pad < x <= reach - pad}  # a header line fewer
            for cell in (row[j] for row in rows):
                here = _lines(cell, space, out[j] - pad)
                lo, hi = out[j], reach
                if here == 1 or _lines(cell, space, hi - pad) == here:
                    continue
                while hi - lo > 0.25:
                    mid = (lo + hi) / 2
                    lo, hi = (mid, hi) if _lines(cell, space, mid - pad) == here else (lo, mid)
                steps.add(hi)
            for hi in sorted(x for x in steps if x > out[j] + 0.01):
                trial = out[:j] + [hi] + out[j + 1:]
                gain = score(trial)
                ratio = ((now[0] - gain[0]) * 1000 + now[1] - gain[1]) / (hi - out[j])
                if ratio > 0 and (best is None or ratio > best[0]):
                    best = (ratio, j, hi)
        if best is None:
            break
        _, j, width = best
        room -= width - out[j]
        out[j] = width
    text = [j for j, how in enumerate(hows) if how == "words"] or list(range(len(out)))
    for j in text:
        out[j] += room / len(text)
    return [w / 72 * 2.54 for w in out]


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
    # One row per line, so that each line of the right block stands level with its line on the
    # left: the Party's name with the parent body, the place and date with "Số: …" (36-HD/VPTW;
    # Decree 30: the motto with the issuing body).
    left = [(head.text("parent_body", lang).upper(), {"size": 13}),
            (head.text("issuing_body", lang).upper(), {"size": 13, "bold": True})]
    if head.layout == "party":
        left.append(("*", {"size": 13}))
    left.append((head.number_line(lang), {"size": 13}))
    national = head.national_lines(lang)
    right = [(national[0], {"size": 14 if head.layout == "party" else 13, "bold": True,
                            "underline": head.layout == "party"})]
    if head.layout == "state":
        right.append((national[1], {"size": 14, "bold": True, "underline": True}))
    right += [("", {"size": 13})] * (len(left) - len(right) - 1)
    right.append((head.date_line(lang), {"size": 13, "italic": True}))
    table = doc.add_table(rows=len(left), cols=2)
    _table_props(table, _split_width([left, right]), borders=False)
    for row, pair in zip(table.rows, zip(left, right)):
        for cell, line in zip(row.cells, pair):
            _cell_props(cell, no_wrap=False)
            _cell_text(cell, [line])


def _split_width(columns: list[list[tuple[str, dict]]]) -> list[float]:
    """Widths (cm) of a two-column block from its lines: each column as wide as its longest line
    when both fit, the room left shared equally; otherwise the narrower column keeps its lines
    whole (up to 55 % of the width) and the other wraps."""
    pad = 2 * _CELL_PAD_TW / 20 + _BORDER_PT
    need = [max((_width_pt(t, st.get("size", _BODY_PT), st.get("bold", False)) for t, st in col if t), default=0)
            / 72 * 2.54 + pad / 72 * 2.54 for col in columns]
    if sum(need) <= _TEXT_WIDTH_CM:
        extra = (_TEXT_WIDTH_CM - sum(need)) / 2
        return [need[0] + extra, need[1] + extra]
    small = 0 if need[0] <= need[1] else 1
    keep = min(need[small], 0.55 * _TEXT_WIDTH_CM)
    out = [0.0, 0.0]
    out[small], out[1 - small] = keep, _TEXT_WIDTH_CM - keep
    return out


def _title(doc: Any, board: BoardDocument) -> None:
    _para(doc, board.title, size=15, bold=True, align="center", before=18, after=2, keep=True)
    _para(doc, board.subject, size=14, bold=True, align="center", after=0, keep=True)
    _para(doc, "-----", size=13, align="center", after=12)


def _table(doc: Any, block: Block, number: int, lang: str) -> None:
    words = _WORDS[lang]
    _para(doc, f"{words['table']} {number}. {block.text}", size=12, bold=True, align="center", after=4, keep=True)
    frame = block.table
    wrap = tuple(block.wrap[j] if j < len(block.wrap) else "words" for j in range(len(frame.columns)))
    table = doc.add_table(rows=1 + len(frame), cols=len(frame.columns))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = column_widths(frame, wrap, _TEXT_WIDTH_CM)
    _table_props(table, widths, borders=True)
    pad_pt = (2 * _CELL_PAD_TW / 20 + _BORDER_PT)
    for j, name in enumerate(frame.columns):
        lines = header_lines(_nfc(name), widths[j] / 2.54 * 72 - pad_pt)
        cell = table.rows[0].cells[j]
        _cell_props(cell, no_wrap=False)
        _cell_text(cell, [(line, {"size": _TABLE_PT, "bold": True, "keep": True}) for line in lines])
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    # A short table is kept on one page, with its source and note under it.
    small = len(frame) <= 12
    for i, (_, row) in enumerate(frame.iterrows(), start=1):
        tr_pr = table.rows[i]._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        for j, value in enumerate(row):
            cell = table.rows[i].cells[j]
            text = "" if value is None or (isinstance(value, float) and value != value) else _nfc(value)
            _cell_props(cell, no_wrap=wrap[j] == "never")
            _cell_text(cell, [(_bound(text, wrap[j]), {"size": _TABLE_PT, "keep": small})],
                       align="center" if wrap[j] == "never" else "left")
    notes = [(label, text) for label, text in ((words["source"], block.source), (words["note"], block.note)) if text]
    for k, (label, text) in enumerate(notes):
        p = _para(doc, "", size=11, align="left", after=2, before=2, keep=small and k < len(notes) - 1)
        _fonts(p.add_run(f"{label}: "), 11, italic=True, bold=True)
        _fonts(p.add_run(_nfc(text)), 11, italic=True)
    _para(doc, "", size=6, after=4)


def _closing(doc: Any, board: BoardDocument) -> None:
    head, lang = board.letterhead, board.lang
    # The signature never stands alone on a page: the last paragraph goes with it.
    if doc.paragraphs:
        doc.paragraphs[-1].paragraph_format.keep_with_next = True
    _para(doc, "", size=8, after=4, keep=True)
    table = doc.add_table(rows=1, cols=2)
    _table_props(table, [8.0, _TEXT_WIDTH_CM - 8.0], borders=False)
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # the block stays on one page
    for cell in table.rows[0].cells:
        _cell_props(cell, no_wrap=False)
    tight = {"line": 1.0}  # single spacing in the closing block, as on a signed document
    left = [(_WORDS[lang]["recipients"], {"size": 12, "bold": True, "italic": True, **tight})]
    left += [(line, {"size": 11, **tight}) for line in head.recipients.get(lang) or head.recipients["vi"]]
    _cell_text(table.rows[0].cells[0], left, align="left")
    right = []
    if head.text("capacity", lang):
        right.append((head.text("capacity", lang), {"size": 14, "bold": True, **tight}))
    right.append((head.text("signer_title", lang), {"size": 14, "bold": True, **tight}))
    right += [("", {"size": 14, **tight})] * 3  # room for the signature and the seal
    right.append((head.signer_name or "", {"size": 14, "bold": True, **tight}))
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
