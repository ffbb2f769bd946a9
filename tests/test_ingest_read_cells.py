"""read_file's cells are None or text, straight from the readers (no NaN-to-None pass over the frame)."""

from __future__ import annotations

import openpyxl

from analysis.ingest import read


def _kinds(table) -> set[type]:
    return {type(v) for v in table.cells.to_numpy().ravel()}


def test_csv_cells_are_none_or_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,, x \n,NaN,Đoàn\n,,\n", encoding="utf-8")
    table = read.read_file(path)
    assert _kinds(table) <= {str, type(None)}
    assert table.cells.to_numpy().tolist() == [["1", None, " x "], [None, "NaN", "Đoàn"]]


def test_xlsx_cells_are_none_or_text(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b", "c"])
    ws.append([1.0, None, float("nan")])
    ws.append(["", True, " y "])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    table = read.read_file(path)
    assert _kinds(table) <= {str, type(None)}
    assert table.cells.to_numpy().tolist()[0][:2] == ["1", None]
