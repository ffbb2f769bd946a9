"""Exports: XLSForm through pyxform, the printable questionnaire in Chromium, the codebook, the CLI."""

from __future__ import annotations

import argparse
import csv
import unicodedata

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from analysis import config
from analysis.instruments import cli as instrument_cli
from analysis.instruments import export as X
from analysis.instruments import load

from conftest import CHROMIUM, require_chromium

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.parametrize("name", ["member", "unit"])
def test_xlsform_converts_with_pyxform_without_warnings(name, tmp_path):
    ins = load(name)
    path = X.export_xlsform(ins, tmp_path)
    assert path.name == f"{name}_v1.xlsx"
    warnings: list[str] = []
    result = convert(xlsform=str(path), warnings=warnings)
    assert warnings == []
    xml = result.xform
    # Every item reaches the form, with its Vietnamese label, and skip logic survives.
    for item in ins.items:
        assert f"/{item.name}" in xml, item.name
    assert "Hoàn toàn không đồng ý" in xml if name == "member" else "Tổng số đoàn viên" in xml
    assert "relevant=" in xml
    wb = load_workbook(path)
    assert wb.sheetnames == ["survey", "choices", "settings"]
    header = [c.value for c in wb["survey"][1]]
    assert header[:4] == ["type", "name", "label::Tiếng Việt (vi)", "label::English (en)"]
    settings = {k.value: v.value for k, v in zip(wb["settings"][1], wb["settings"][2])}
    assert settings["version"] == "1" and settings["default_language"] == "Tiếng Việt (vi)"
    choice_rows = list(wb["choices"].iter_rows(min_row=2, values_only=True))
    assert sum(r[0] == "unit" for r in choice_rows) == 103
    begin = sum(r[0].value == "begin_group" for r in wb["survey"].iter_rows(min_row=2, max_col=1))
    end = sum(r[0].value == "end_group" for r in wb["survey"].iter_rows(min_row=2, max_col=1))
    assert begin == end == len(ins.groups)


def test_codebook_lists_every_item_with_codes_and_analysis_keys(tmp_path):
    ins = load("member")
    csv_path, html_path = X.export_codebook(ins, tmp_path)
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["item"] for r in rows] == list(ins.item_names)
    assert tuple(rows[0]) == X.CODEBOOK_COLUMNS
    first_reverse = next(i for i in ins.items if i.reverse)
    row = next(r for r in rows if r["item"] == first_reverse.name)
    assert row["reverse"] == "yes" and row["construct"] == first_reverse.construct
    assert row["missing_codes"] == "9"
    assert row["choices"].startswith("1=Hoàn toàn không đồng ý [1] | 2=Không đồng ý [2]")
    assert row["choices"].endswith("9=Không biết / không trả lời (missing)")
    assert row["task_group"] == str(ins.construct(first_reverse.construct).task_group)
    html = html_path.read_text(encoding="utf-8")
    assert "Hoàn toàn không đồng ý" in html and "<h2>Constructs</h2>" in html


def test_unit_codebook_has_indicator_table(tmp_path):
    ins = load("unit")
    paths = X.export_codebook(ins, tmp_path)
    assert [p.name for p in paths] == ["unit_v1_codebook.csv", "unit_v1_codebook.html", "unit_v1_indicators.csv"]
    with open(paths[2], encoding="utf-8-sig", newline="") as fh:
        rows = {r["indicator"]: r for r in csv.DictReader(fh)}
    assert len(rows) == len(ins.indicators)
    assert rows["ui_dig_share"]["target"] == "1" and rows["ui_dig_share"]["target_year"] == "2025"


def test_questionnaire_html_has_anonymity_grid_and_skips_in_words(tmp_path):
    ins = load("member")
    html = X.export_questionnaire(ins, tmp_path).read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", html)
    assert "@page { size: A4" in html
    assert "Phiếu ẩn danh" in html and "không ghi họ tên" in html
    assert html.count('<table class="grid">') >= 4
    assert "Hoàn toàn không đồng ý" in html and "Không biết / không trả lời" in html
    party_no = ins.choice_label(ins.role_item("party").list_name, "no")
    assert f"Chỉ trả lời nếu câu 5 là «{party_no}»." in html   # party is question 5
    assert "${" not in html                                      # no raw XLSForm syntax on paper


def test_unit_questionnaire_skips_in_words(tmp_path):
    html = X.export_questionnaire(load("unit"), tmp_path).read_text(encoding="utf-8")
    assert "Chỉ trả lời nếu câu" in html and "lớn hơn 0" in html
    assert '<table class="grid">' not in html          # a lone rating item is a question, not a grid
    assert "Hoàn thành tốt nhiệm vụ" in html
    assert "${" not in html


@pytest.mark.browser
def test_questionnaire_renders_in_chromium_with_vietnamese_text(tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    path = X.export_questionnaire(load("member"), tmp_path)
    shot = tmp_path / "questionnaire.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1200})
            page.goto(path.as_uri())
            text = page.inner_text("body")
            page.screenshot(path=str(shot), full_page=True)
            pdf = page.pdf(format="A4")
        finally:
            browser.close()
    for expected in ("Hoàn toàn không đồng ý", "Phân vân", "Không biết / không trả lời", "Thông tin chung",
                     "đoàn viên, hội viên"):
        assert unicodedata.normalize("NFC", expected) in text
    assert shot.stat().st_size > 50_000            # a full page of text, not a blank image
    assert pdf[:4] == b"%PDF" and len(pdf) > 20_000


# ----------------------------------------------------------------------------- CLI


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis")
    instrument_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_check_ok(capsys):
    assert _run(["instrument", "check"]) == 0
    assert capsys.readouterr().out.startswith("OK: 2 instrument file(s) checked: surveys/member/v1.yaml")


@pytest.mark.parametrize("fmt, files", [
    ("xlsform", ["member_v1.xlsx"]),
    ("questionnaire", ["member_v1_questionnaire.html"]),
    ("codebook", ["member_v1_codebook.csv", "member_v1_codebook.html"]),
    ("all", ["member_v1_codebook.csv", "member_v1_codebook.html", "member_v1_questionnaire.html", "member_v1.xlsx"]),
])
def test_cli_export_writes_into_the_given_folder(fmt, files, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "REPORTS_DIR", tmp_path / "reports")
    out = tmp_path / "reports" / "instruments"
    assert _run(["instrument", "export", "member", "--format", fmt, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    assert capsys.readouterr().out.splitlines() == [str(out / f) for f in files]


def test_cli_export_refuses_a_folder_outside_the_project(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "REPORTS_DIR", tmp_path / "reports")
    monkeypatch.setattr(config, "DATA_DIR", tmp_path / "data")
    with pytest.raises(ValueError, match="outside the allowed folders"):
        _run(["instrument", "export", "member", "--format", "xlsform", "--out", str(tmp_path / "elsewhere")])


def test_cli_help_lists_formats(capsys):
    with pytest.raises(SystemExit):
        _run(["instrument", "export", "--help"])
    out = capsys.readouterr().out
    assert "xlsform" in out and "questionnaire" in out and "codebook" in out and "reports/instruments" in out
