"""The two XLSX readers give one grid (analysis.ingest.xlsx): each case is read with calamine and
with openpyxl (the reference); what calamine would read otherwise sends the file to openpyxl."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from analysis.ingest import read, xlsx
from analysis.ingest.messages import IngestError

ROOT = Path(__file__).resolve().parents[1]
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def both(path: Path) -> tuple[list, list]:
    """(calamine grid, openpyxl grid) with their sheet titles and notes, trimmed as `read_grid` does."""
    data = path.read_bytes()
    fast = xlsx._calamine_grid(data, path.name)
    ref = xlsx._openpyxl_grid(data, path.name)
    return ([xlsx._trim(fast[0]), *fast[1:]], [xlsx._trim(ref[0]), *ref[1:]])


_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def raw_workbook(tmp_path: Path, sheet_xml: str, *, shared: str | None = None, name: str = "t.xlsx") -> Path:
    """A one-sheet workbook written as raw XML, for what openpyxl cannot write: cached formula
    values, rich text, phonetic runs, error cells."""
    pkg = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{pkg}/content-types">'
                               f'<Default Extension="rels" '
                               f'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                               f'<Default Extension="xml" ContentType="application/xml"/>'
                               f'<Override PartName="/xl/workbook.xml" ContentType="{_MAIN}.sheet.main+xml"/>'
                               f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_MAIN}.worksheet+xml"/>'
                               f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_MAIN}.sharedStrings+xml"/>'
                               f'<Override PartName="/xl/styles.xml" ContentType="{_MAIN}.styles+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="rId1" '
                       f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {NS} xmlns:r="{_REL}"><sheets><sheet name="data" sheetId="1" r:id="rId1"/>'
                           f'</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{pkg}/relationships">'
                                      f'<Relationship Id="rId1" Type="{_REL}/worksheet" '
                                      f'Target="worksheets/sheet1.xml"/>'
                                      f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" '
                                      f'Target="sharedStrings.xml"/>'
                                      f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/>'
                                      f'</Relationships>',
        "xl/worksheets/sheet1.xml": f"<worksheet {NS}><sheetData>{sheet_xml}</sheetData></worksheet>",
        "xl/sharedStrings.xml": f"<sst {NS}>{shared or ''}</sst>",
    }
    path = tmp_path / name
    openpyxl.Workbook().save(path)  # for its styles part (one default cell style)
    with zipfile.ZipFile(path) as zf:
        styles = zf.read("xl/styles.xml")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, body in parts.items():
            zf.writestr(part, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body)
        zf.writestr("xl/styles.xml", styles)
    return path


def test_plain_values_read_alike(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Phiếu"
    ws.append(["mã", "điểm", "tỉ lệ", "đồng ý", "ghi chú"])
    ws.append(["Nghệ An", 1, 1.5, True, "  hai  khoảng  "])
    ws.append(["", None, 0.1, False, "dòng\nmới"])
    ws.append([None, None, None, None, None])  # a blank row inside the data
    ws.append(["x", -3, 1e-7, None, 1e20])
    ws.append(["y", 123456789012345, -0.5, None, "=không phải công thức"[1:]])
    ws["C7"] = 2.25
    ws["C7"].number_format = "0.00"  # a number format that is not a date
    ws["H9"].number_format = "0.00"  # a formatted empty cell widens only openpyxl's sheet
    wb.create_sheet("trống")["B2"].number_format = "0.00"  # formatting only: not a sheet with data
    wb.create_sheet("lặp")["C3"] = "nhóm lặp"
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    assert xlsx.reference_reader_reason(path.read_bytes()) is None
    fast, ref = both(path)
    assert fast == ref
    grid, title, notes = fast
    assert title == "Phiếu"
    assert grid[1] == ["Nghệ An", "1", "1.5", "TRUE", "  hai  khoảng  "]
    assert grid[2] == [None, None, "0.1", "FALSE", "dòng\nmới"]
    assert grid[3] == [None] * 5
    assert grid[4] == ["x", "-3", "1e-07", None, "1e+20"]
    assert grid[5] == ["y", "123456789012345", "-0.5", None, "không phải công thức"]
    assert grid[6] == [None, None, "2.25", None, None]
    assert len(grid) == 7  # H9's row: formatting, no value → no trailing row kept, no extra columns
    assert [n.code for n in notes] == ["other_sheets"] and "['lặp']" in notes[0].en


def test_raw_xml_cases_read_alike(tmp_path):
    """Cached formula values, inline and rich-text strings (phonetic runs are not text), a sheet
    that starts at B3, cells without a value."""
    shared = ('<si><t>mã</t></si><si><r><t xml:space="preserve">Đoàn </t></r><r><rPr><b/></rPr><t>Thanh niên</t></r>'
              '<rPh sb="0" eb="1"><t>PHONETIC</t></rPh></si><si><t xml:space="preserve"> cách </t></si>')
    sheet = ('<row r="3"><c r="B3" t="s"><v>0</v></c><c r="C3" t="inlineStr"><is><t>điểm</t></is></c></row>'
             '<row r="4"><c r="B4" t="s"><v>1</v></c><c r="C4"><f>1+1</f><v>2</v></c>'
             '<c r="D4" t="str"><f>"a"</f><v>a</v></c></row>'
             '<row r="5"><c r="B5" t="s"><v>2</v></c><c r="C5" t="b"><v>1</v></c><c r="D5"/><c r="E5" s="0"/></row>')
    path = raw_workbook(tmp_path, sheet, shared=shared)
    assert xlsx.reference_reader_reason(path.read_bytes()) is None
    fast, ref = both(path)
    assert fast == ref
    assert fast[0] == [[None] * 4, [None] * 4, [None, "mã", "điểm", None], [None, "Đoàn Thanh niên", "2", "a"],
                       [None, " cách ", "TRUE", None]]


@pytest.mark.parametrize(("sheet", "shared", "reason"), [
    ('<row r="1"><c r="A1" t="e"><v>#N/A</v></c></row>', None, "an error or ISO-date cell"),
    ('<row r="1"><c r="A1" t="d"><v>2024-03-05T00:00:00</v></c></row>', None, "an error or ISO-date cell"),
    ('<row r="1"><c r="A1"><v>12345678901234567</v></c></row>', None, "an integer of 16 digits or more"),
    ('<row r="1"><c r="A1" t="inlineStr"><is><t>a_x000D_b</t></is></c></row>', None, "an _xHHHH_ escape"),
    ('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', "<si><t>a_x000D_b</t></si>", "an _xHHHH_ escape"),
    ('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', "<si><r><t>Đoàn </t></r><r><t>Thanh niên</t></r></si>",
     "text with spaces at its ends and no xml:space"),
    ('<row r="1"><c r="A1" t="inlineStr"><is><t> a</t></is></c></row>', None,
     "text with spaces at its ends and no xml:space"),
])
def test_what_calamine_reads_otherwise_goes_to_openpyxl(tmp_path, sheet, shared, reason):
    path = raw_workbook(tmp_path, sheet, shared=shared)
    found = xlsx.reference_reader_reason(path.read_bytes())
    assert found is not None and found.endswith(reason)
    reference = xlsx._trim(xlsx._openpyxl_grid(path.read_bytes(), path.name)[0])
    assert xlsx.read_grid(path, path.name) == (reference, "data", [])


def test_a_long_text_across_two_scan_chunks_is_still_seen(tmp_path, monkeypatch):
    """A text longer than the overlap kept between chunks, with its trailing space in the next one."""
    text = "Đoàn Thanh niên " * 20 + " "
    path = raw_workbook(tmp_path, '<row r="1"><c r="A1" t="s"><v>0</v></c></row>', shared=f"<si><t>{text}</t></si>")
    for chunk in (7, 64, 100, 333):
        monkeypatch.setattr(xlsx, "_CHUNK", chunk)
        assert xlsx.reference_reader_reason(path.read_bytes()).endswith("no xml:space"), chunk
    closed = raw_workbook(tmp_path, '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                          shared=f"<si><t>{text.strip()}</t></si>", name="closed.xlsx")
    assert xlsx.reference_reader_reason(closed.read_bytes()) is None


def test_dates_and_merged_cells_go_to_openpyxl(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ngày", "giờ"])
    ws.append([dt.datetime(2024, 3, 5), dt.time(8, 30)])
    ws["A3"] = -5
    ws["A3"].number_format = "yyyy-mm-dd"  # openpyxl: 1899-12-25; calamine would read a time
    path = tmp_path / "dates.xlsx"
    wb.save(path)
    assert xlsx.reference_reader_reason(path.read_bytes()).endswith("a date- or time-formatted cell")
    grid, _, _ = xlsx.read_grid(path, path.name)
    assert grid[1:] == [["2024-03-05", "08:30:00"], ["1899-12-25", None]]

    ws.merge_cells("A4:B4")
    wb.save(path)
    assert xlsx.reference_reader_reason(path.read_bytes()).endswith("merged cells")
    with pytest.raises(IngestError) as exc:
        xlsx.read_grid(path, path.name)
    assert [m.code for m in exc.value.problems] == ["merged_cells"]


def test_a_date_calamine_finds_is_not_taken_as_text():
    """calamine's own date rules: a date it returns (where openpyxl's styles saw none) is refused,
    and `read_grid` then reads the file with openpyxl."""
    with pytest.raises(xlsx._TypedValue):
        xlsx._number_cell(dt.date(2024, 1, 1))
    assert xlsx._number_cell(3.0) == "3" and xlsx._number_cell(2.0**53) == "9007199254740992.0"


def test_unreadable_workbook_gets_the_reference_message(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert xlsx.reference_reader_reason(path.read_bytes()).startswith("not a readable workbook")
    with pytest.raises(IngestError) as exc:
        read.read_file(path)
    assert exc.value.problems[0].code == "format"


def test_the_demo_writer_s_export_reads_alike(tmp_path):
    """An export as the demo generator writes it (text cells, inline strings, as survey platforms
    export codes): the same table both ways, read with calamine."""
    from analysis.synthetic.io import write_text_xlsx

    rows = [[f"U{i:03d}", str(i % 5 + 1), None if i % 7 else "Ý kiến: họp thường xuyên hơn", "2025-10-01T08:00:00"]
            for i in range(300)]
    path = write_text_xlsx(tmp_path / "export.xlsx", ["unit", "q1", "comment", "start"], rows, sheet="data",
                           title="SYNTHETIC DEMO", description="test")
    assert xlsx.reference_reader_reason(path.read_bytes()) is None
    fast, ref = both(path)
    assert fast == ref
    assert len(fast[0]) == 301 and fast[0][1] == ["U000", "1", "Ý kiến: họp thường xuyên hơn", "2025-10-01T08:00:00"]
