"""Deterministic file writers for the synthetic generator (XLSX, YAML, JSON).

The same inputs must give byte-identical files (DESIGN.md, convention 12). openpyxl stamps a
workbook twice with the wall clock: the document properties (``created``/``modified``) and the
date of every ZIP member. Both are fixed here: the properties are set before saving and the
archive is re-packed with a constant member date, so a file's sha256 depends only on its content.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

__all__ = ["FIXED_TIME", "write_xlsx", "write_text_xlsx", "write_yaml", "write_json"]

#: The one timestamp written into workbook metadata (the plan's issue date, not the wall clock).
FIXED_TIME = dt.datetime(2023, 3, 24, 0, 0, 0)
_ZIP_TIME = (2023, 3, 24, 0, 0, 0)
_FIXED_ISO = b"2023-03-24T00:00:00Z"


def _repack(data: bytes) -> bytes:
    """Re-pack a ZIP with fixed member dates, keeping member order and compression."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps 'modified' with the wall clock while saving: put the fixed time back.
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + _FIXED_ISO + rb"\g<2>", content)
            dst.writestr(fixed, content)
    return out.getvalue()


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], *, sheet: str,
               title: str, description: str, creator: str = "analysis.synthetic.members (SYNTHETIC DEMO DATA)") -> Path:
    """Write one sheet (header row, then *rows*) to *path*, byte-for-byte reproducibly.

    Parameters
    ----------
    path : Path
        Target ``.xlsx`` file (parent folders are created).
    header, rows
        The header cells and the data rows (``None`` = empty cell).
    sheet : str
        Sheet title.
    title, description, creator : str
        Workbook properties; the generator marks them as synthetic so that a file opened on
        its own cannot be mistaken for real data.

    Returns
    -------
    Path
        *path*.
    """
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet)
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    props = wb.properties
    props.creator = creator
    props.lastModifiedBy = creator
    props.title = title
    props.subject = "SYNTHETIC DEMO DATA - not real survey data"
    props.description = description
    props.keywords = "synthetic; demo; Đề án 04-ĐA/ĐUK"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_repack(buf.getvalue()))
    return path


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _col(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


_CORE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
         'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
         'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title>'
         '<dc:subject>SYNTHETIC DEMO DATA - not real survey data</dc:subject><dc:creator>{creator}</dc:creator>'
         '<dc:description>{description}</dc:description><cp:lastModifiedBy>{creator}</cp:lastModifiedBy>'
         '<dcterms:created xsi:type="dcterms:W3CDTF">2023-03-24T00:00:00Z</dcterms:created>'
         '<dcterms:modified xsi:type="dcterms:W3CDTF">2023-03-24T00:00:00Z</dcterms:modified></cp:coreProperties>')
_PARTS = {
    "[Content_Types].xml": ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types '
                            'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                            '<Default Extension="xml" ContentType="application/xml"/>'
                            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
                            '</Types>'),
    "_rels/.rels": ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                    'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
                    '</Relationships>'),
    "xl/_rels/workbook.xml.rels": ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                                   'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                                   '</Relationships>'),
}


def write_text_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[str | None]], *, sheet: str,
                    title: str, description: str, creator: str = "analysis.synthetic.members (SYNTHETIC DEMO DATA)") -> Path:
    """A one-sheet XLSX of text cells (inline strings), written directly as OOXML — fast and reproducible.

    Survey platforms export select codes, times and ids as text; writing the sheet XML here is
    ~20× faster than cell-by-cell openpyxl for an export of 3,000 × 70 cells. Same arguments as
    `write_xlsx`; every value must be a string or None.
    """
    letters = [_col(i) for i in range(len(header))]
    parts = []
    for r, row in enumerate([list(header), *rows], start=1):
        cells = "".join(f'<c r="{letters[i]}{r}" t="inlineStr"><is><t xml:space="preserve">{_esc(v)}</t></is></c>'
                        for i, v in enumerate(row) if v is not None)
        parts.append(f'<row r="{r}">{cells}</row>')
    sheet_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                 + "".join(parts) + "</sheetData></worksheet>")
    workbook = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook '
                'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                f'<sheets><sheet name="{_esc(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>')
    members = {**_PARTS, "docProps/core.xml": _CORE.format(title=_esc(title), creator=_esc(creator), description=_esc(description)),
               "xl/workbook.xml": workbook, "xl/worksheets/sheet1.xml": sheet_xml}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, members[name].encode("utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path


def write_yaml(path: Path, data: Mapping) -> Path:
    """YAML in the given key order, UTF-8, Unix newlines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_json(path: Path, data: Mapping) -> Path:
    """Pretty JSON, keys in the given order, UTF-8, trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
