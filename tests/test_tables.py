"""Number formatting (Decree 30/2020 conventions), CSV/XLSX export, HTML escaping."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis.report import tables, xlsx
from analysis.report.tables import (
    MINUS,
    format_date,
    format_interval,
    format_number,
    format_percent,
    format_pvalue,
    render_html_table,
    write_csv,
)
from analysis.report.xlsx import export_table, write_xlsx

INJECTIONS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\tTAB", "\rCR", '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize(
    ("value", "decimals", "lang", "expected"),
    [
        (4816, None, "vi", "4.816"),
        (4816, None, "en", "4,816"),
        (3.6249, 2, "vi", "3,62"),
        (3.62, 2, "en", "3.62"),
        (3.625, 2, "vi", "3,63"),  # half up on the decimal value, not banker's rounding
        (6314, None, "vi", "6.314"),
        (1234567.891, 1, "vi", "1.234.567,9"),
        (-0.27, 2, "vi", MINUS + "0,27"),
        (-0.001, 2, "vi", "0,00"),
        (np.int64(315), None, "vi", "315"),
        (np.float64(0.5), 1, "vi", "0,5"),
    ],
)
def test_format_number(value, decimals, lang, expected):
    assert format_number(value, decimals, lang=lang) == expected


def test_format_number_missing_and_bad_lang():
    assert format_number(None) == ""
    assert format_number(pd.NA, missing="–") == "–"
    with pytest.raises(ValueError, match="lang"):
        format_number(1, lang="fr")


def test_format_date_percent_interval_p():
    assert format_date(dt.date(2023, 3, 24)) == "ngày 24 tháng 3 năm 2023"
    assert format_date(dt.date(2025, 12, 1), lang="en") == "1 December 2025"
    assert format_percent(0.625) == "62,5%"
    assert format_percent(0.625, lang="en") == "62.5%"
    assert format_interval(0.15, 0.39) == "0,15–0,39"
    assert format_interval(-0.08, 0.16) == f"{MINUS}0,08 đến 0,16"
    assert format_pvalue(0.001) == "= 0,001"
    assert format_pvalue(0.00049) == "< 0,001"
    assert format_pvalue(0.0496) == "= 0,0496"


def _sheet_xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_xlsx_formula_like_text_is_text_and_numbers_stay_numbers(tmp_path):
    df = pd.DataFrame({"comment": INJECTIONS, "estimate": np.arange(len(INJECTIONS)) + 0.5,
                       "n": np.arange(len(INJECTIONS), dtype="int64")})
    path = write_xlsx(df, tmp_path / "t.xlsx")
    xml = _sheet_xml(path)
    assert "<f>" not in xml and "<f " not in xml
    ws = openpyxl.load_workbook(path).active
    for i, text in enumerate(INJECTIONS, start=2):
        cell = ws.cell(row=i, column=1)
        assert cell.data_type == "s"
        assert cell.value == text
        assert cell.quotePrefix
        assert ws.cell(row=i, column=2).data_type == "n"
        assert ws.cell(row=i, column=2).value == pytest.approx(i - 2 + 0.5)
        assert isinstance(ws.cell(row=i, column=3).value, int)


def test_xlsx_missing_is_empty_and_vietnamese_kept(tmp_path):
    df = pd.DataFrame({"đơn vị": ["Hội Cựu chiến binh", None], "estimate": [3.5, np.nan]})
    ws = openpyxl.load_workbook(write_xlsx(df, tmp_path / "t.xlsx")).active
    assert ws["A1"].value == "đơn vị"
    assert ws["A2"].value == "Hội Cựu chiến binh"
    assert ws["A3"].value is None and ws["B3"].value is None


def test_xlsx_sheet_built_as_text_is_what_openpyxl_writes_cell_by_cell(tmp_path, monkeypatch):
    # the fast path (sheet XML built as text) must give the same bytes as openpyxl's own cells
    df = pd.DataFrame({"org": ["CDVC", "=1+1", " sp ", "a&b<c>", "x\ry", "", "Đoàn", "😀", "l1\nl2", "+1"],
                       "estimate": [0.1, np.nan, np.inf, -0.0, 1e-300, 2.5, 1e20, 3.0, 0.7, 1 / 3],
                       "n": pd.array([1, None, 3, 4, 5, 6, 7, 8, 9, 2**60], dtype="Int64"),
                       "flag": [True, False] * 5, "=head": None, "mixed": ["a", 1.5, None, 2, "b"] * 2})
    sheets = {"a": df, "=b": df.head(3), "c": df.head(0), "d": pd.DataFrame()}
    fast = write_xlsx(sheets, tmp_path / "fast.xlsx").read_bytes()

    def refuse(*args):
        raise TypeError("cell by cell")

    monkeypatch.setattr(xlsx, "_sheet_data", refuse)
    assert write_xlsx(sheets, tmp_path / "slow.xlsx").read_bytes() == fast


def test_xlsx_and_csv_are_deterministic(tmp_path):
    df = pd.DataFrame({"a": ["x", "=y"], "b": [1.5, 2.0]})
    one = write_xlsx(df, tmp_path / "1.xlsx").read_bytes()
    two = write_xlsx(df, tmp_path / "2.xlsx").read_bytes()
    assert one == two
    assert write_csv(df, tmp_path / "1.csv").read_bytes() == write_csv(df, tmp_path / "2.csv").read_bytes()
    core = zipfile.ZipFile(tmp_path / "1.xlsx").read("docProps/core.xml").decode()
    assert re.findall(r"<dcterms:modified[^>]*>([^<]*)<", core) == ["2023-03-24T00:00:00Z"]


def test_csv_has_bom_nfc_and_escapes_formulas(tmp_path):
    decomposed = "Nghe\u0302\u0323 An"  # "Nghệ An" in NFD
    df = pd.DataFrame({"name": [decomposed, "=1+1"], "n": [4816, 315]})
    raw = write_csv(df, tmp_path / "t.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text == "name,n\nNghệ An,4816\n'=1+1,315\n"
    plain = write_csv(df, tmp_path / "p.csv", excel_safe=False).read_bytes().decode("utf-8-sig")
    assert "\n=1+1,315\n" in plain


def test_export_table_writes_both(tmp_path):
    paths = export_table(pd.DataFrame({"a": [1]}), tmp_path / "tables", "t1")
    assert sorted(p.name for p in paths.values()) == ["t1.csv", "t1.xlsx"]
    with pytest.raises(ValueError, match="unknown format"):
        export_table(pd.DataFrame({"a": [1]}), tmp_path, "t", formats=("pdf",))


def test_html_escapes_every_string_and_formats_numbers():
    df = pd.DataFrame({"<b>col</b>": ["<script>alert(1)</script>", 'a "quote" & b'],
                       "estimate": [3.6249, np.nan], "n": [4816, 5]})
    out = render_html_table(df, caption="Bảng <1>", decimals={"estimate": 2})
    assert "<script>" not in out and "<b>col" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "a &quot;quote&quot; &amp; b" in out
    assert "<caption>Bảng &lt;1&gt;</caption>" in out
    assert '<td class="num">3,62</td>' in out
    assert '<td class="num">4.816</td>' in out
    assert "3.62" not in render_html_table(df, lang="vi", decimals=2)
    assert '<td class="num">3.62</td>' in render_html_table(df, lang="en", decimals={"estimate": 2})


def test_export_writes_counts_as_integers_and_drops_a_census_deff(tmp_path):
    # a unit census: n = 103 units, deff = inf (zero SRS variance); disclosure made n a float
    t = pd.DataFrame({"variable": ["a", "b"], "estimate": [2.16, 1.0], "n": [103.0, float("nan")],
                      "deff": [float("inf"), float("inf")], "task_group": [1.0, 3.0]})
    paths = xlsx.export_table(t, tmp_path, "t")
    text = paths["csv"].read_text(encoding="utf-8-sig")
    assert text.splitlines() == ["variable,estimate,n,task_group", "a,2.16,103,1", "b,1.0,,3"]
    mixed = tables.tidy_for_export(pd.DataFrame({"deff": [1.5, float("inf")]}))
    assert mixed["deff"].isna().tolist() == [False, True]


def test_non_finite_numbers_show_as_a_dash():
    assert tables.format_number(float("inf"), 2, lang="vi") == "—"
    assert tables.format_percent(float("-inf"), lang="en") == "—"
