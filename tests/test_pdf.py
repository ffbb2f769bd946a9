"""DOCX → PDF through LibreOffice: Vietnamese text intact, fonts embedded, Times New Roman's substitute named."""

from __future__ import annotations

import subprocess
import unicodedata

import docx
import pytest

from analysis.report import pdf
from tests.conftest import require_libreoffice

TEXT = ("Đảng ủy Khối các cơ quan tỉnh Nghệ An — ngày 24 tháng 3 năm 2023: "
        "Công đoàn, Đoàn Thanh niên, Hội Cựu chiến binh")


def _write(path, text):
    document = docx.Document()
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.font.name = pdf.DOCUMENT_FONT
    document.save(path)


def test_two_documents_convert_in_one_start_with_text_and_fonts_embedded(tmp_path):
    require_libreoffice()
    (tmp_path / "a").mkdir()
    first, second = tmp_path / "a" / "một.docx", tmp_path / "hai.docx"
    _write(first, TEXT)
    _write(second, "Báo cáo thứ hai")
    out = pdf.docx_to_pdf([first, second])
    assert out == [first.with_suffix(".pdf").resolve(), second.with_suffix(".pdf").resolve()]
    text = subprocess.run(["pdftotext", str(out[0]), "-"], capture_output=True, text=True, check=True).stdout
    assert unicodedata.normalize("NFC", " ".join(text.split())) == TEXT
    fonts = subprocess.run(["pdffonts", str(out[0])], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(row[-5] == "yes" for row in rows), fonts  # the "emb" column
    # One typeface: every Vietnamese letter drawn in Times New Roman's substitute (Liberation 1.x
    # lacks the precomposed letters, and LibreOffice then borrows them from DejaVu)
    used = pdf.font_substitution()["used"].replace(" ", "")
    assert {row[0].split("+")[-1].split("-")[0] for row in rows} == {used}, fonts


def test_font_substitution_names_the_font_used():
    sub = pdf.font_substitution()
    assert sub["requested"] == "Times New Roman"
    assert sub["used"]


def test_missing_docx_and_missing_libreoffice_are_clear(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no such DOCX"):
        pdf.docx_to_pdf([tmp_path / "x.docx"])
    _write(tmp_path / "y.docx", TEXT)
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    with pytest.raises(pdf.PdfUnavailableError, match="libreoffice-writer-nogui"):
        pdf.docx_to_pdf([tmp_path / "y.docx"])
