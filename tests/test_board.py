"""The Board edition (board.docx, board.pdf) and the PDF of every DOCX of a report run (#13)."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from tests.conftest import require_libreoffice


def _text(pdf):
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _pages(pdf):
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


@pytest.mark.parametrize("which", ["member", "unit"])
def test_board_edition_and_pdfs(which, request):
    require_libreoffice()
    folder = request.getfixturevalue("demo_report").report_dir if which == "member" \
        else request.getfixturevalue("demo_unit_report")
    for name in ("board.docx", "board.pdf", "report.pdf"):
        assert (folder / name).is_file(), name
    pdf = folder / "board.pdf"
    assert _pages(pdf) <= 12
    text = _text(pdf)
    flat = " ".join(text.split())
    assert "ĐẢNG ỦY KHỐI CÁC CƠ QUAN TỈNH" in flat and "ĐẢNG CỘNG SẢN VIỆT NAM" in flat and "Số:" in flat
    assert "ngày … tháng … năm …" in flat and "Nơi nhận" in flat and "DỰ THẢO" in flat
    for bad in ("[", "p hiệu chỉnh", "Cohen", "data/", "_"):
        assert bad not in text, bad
    units = pd.read_csv(folder / "tables" / "unit_response.csv", dtype={"wave": str})
    now = units[units["wave"] == "2025"]
    assert f"{int(now['n'].sum())}/{int(now['units'].sum())}" in flat
    if which == "member":
        rates = pd.read_csv(folder / "tables" / "response_rates.csv", dtype={"org": str, "unit": str})
        total = rates[rates["org"].isna() & rates["unit"].isna()].iloc[0]
        answered = f"{int(total['n']):,}".replace(",", ".")
        members = f"{int(total['members']):,}".replace(",", ".")
        assert f"{answered}/{members}" in flat
