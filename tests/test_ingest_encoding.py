"""Strict decoding order and the TCVN3/VNI legacy-font detector (`analysis.ingest.vn_encoding`).

The legacy texts are encoded here with our own small tables (a handful of letters), not with
the detector's tables, so a wrong entry in either shows up.
"""

from __future__ import annotations

import codecs
import unicodedata

import pytest

from analysis.ingest import vn_encoding
from analysis.ingest.vn_encoding import EncodingProblem, decode_bytes, legacy_reading

# TCVN3 (ABC, .VnTime): one byte per letter, shown as the cp1252 glyph of that byte.
TCVN3 = {"à": "\xb5", "ộ": "\xe9", "ệ": "\xd6", "ả": "\xb6", "Đ": "\xa7", "ô": "\xab", "đ": "\xae", "ư": "\xad",
         "ờ": "\xea", "ế": "\xd5", "ị": "\xde", "ê": "\xaa", "ổ": "\xe6", "ớ": "\xed", "á": "\xb8", "ã": "\xb7",
         "ủ": "\xf1", "ĩ": "\xdc", "ạ": "\xb9", "ể": "\xd3", "ă": "\xa8", "ố": "\xe8", "ồ": "\xe5", "ơ": "\xac",
         "ấ": "\xca", "ò": "\xdf", "ý": "\xfd", "ọ": "\xe4", "ứ": "\xf8", "â": "\xa9"}
# VNI-Windows: base letter + a diacritic glyph (ơ, ư, đ and toned i are single glyphs).
VNI = {"à": "aø", "ộ": "oä", "ệ": "eä", "ả": "aû", "Đ": "Ñ", "ô": "oâ", "đ": "ñ", "ư": "ö", "ờ": "ôø", "ế": "eá",
       "ị": "ò", "ê": "eâ", "ổ": "oå", "ớ": "ôù", "á": "aù", "ã": "aõ", "ủ": "uû", "ĩ": "ó", "ạ": "aï", "ể": "eå",
       "ă": "aê", "ố": "oá", "ồ": "oà", "ơ": "ô", "ấ": "aá", "ò": "oø", "ý": "yù", "ọ": "oï", "ứ": "öù", "â": "aâ"}

SENTENCES = ["Hà Nội", "Đảng viên", "Công đoàn viên chức", "Không biết", "Đồng ý", "Tăng cường đối thoại",
             "Hoàn toàn đồng ý", "Đổi mới hoạt động", "Cấp ủy quan tâm", "Không đồng ý"]


def _encode(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFC", text))


@pytest.mark.parametrize("text", SENTENCES)
@pytest.mark.parametrize("scheme,table", [("TCVN3", TCVN3), ("VNI", VNI)])
def test_legacy_text_is_recognised_and_read_back(text, scheme, table):
    legacy = _encode(text, table)
    assert legacy_reading(legacy) == (scheme, text)


@pytest.mark.parametrize("text", SENTENCES + ["Nguyễn Thị Hương", "café", "Müller", "naïve", "OK 100%", "Thuý Kiều",
                                              "Quản lý", "giữ gìn", "Khuyến khích", "e-mail: a@b.vn"])
def test_unicode_and_foreign_text_is_not_flagged(text):
    assert legacy_reading(text) is None
    assert legacy_reading(unicodedata.normalize("NFD", text)) is None


def test_tcvn3_read_through_cp1258_is_recognised():
    # The bytes of a TCVN3 CSV decoded as Windows-1258 give other code points than cp1252.
    data = _encode("Đổi mới hoạt động", TCVN3).encode("latin-1")
    text = data.decode("cp1258")
    assert legacy_reading(text) == ("TCVN3", "Đổi mới hoạt động")


@pytest.mark.parametrize("data,encoding", [
    ("Nghệ An".encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + "Nghệ An".encode("utf-8"), "utf-8-sig"),
    ("Nghệ\tAn".encode("utf-16"), "utf-16"),
    ("Nghệ\tAn".encode("utf-16-be").join([codecs.BOM_UTF16_BE, b""]), "utf-16"),
    (vn_encoding.to_cp1258("Nghệ An"), "cp1258"),
])
def test_supported_encodings_decode_strictly(data, encoding):
    text, got = decode_bytes(data)
    assert got == encoding
    assert unicodedata.normalize("NFC", text).replace("\t", " ") == "Nghệ An"


def test_cp1258_splits_tones_as_excel_does():
    assert vn_encoding.to_cp1258("Việt") == b"Vi\xea\xf2t"
    assert vn_encoding.to_cp1258("ờ") == b"\xf5\xcc"


@pytest.mark.parametrize("data,fragment", [
    (codecs.BOM_UTF32_LE + "a".encode("utf-32-le"), "UTF-32 text is not supported"),
    (b"a,b\x00c", "NUL bytes but no UTF-16 byte-order mark"),
    ("日本語、テキスト".encode("shift_jis"), "the text encoding is not supported (tried strictly: utf-8, cp1258;"),
    (b"\xef\xbb\xbf\xff\xfe", "the text encoding is not supported (tried strictly: utf-8-sig;"),
])
def test_unsupported_bytes_are_refused(data, fragment):
    with pytest.raises(EncodingProblem) as exc:
        decode_bytes(data, "x.csv")
    assert exc.value.en.startswith("x.csv: ") and fragment in exc.value.en
    assert exc.value.vi.startswith("x.csv: ")


@pytest.mark.parametrize("data", ["Привет".encode("cp1251"), "日本語のテキスト".encode("shift_jis")])
def test_cp1258_mojibake_is_refused_by_plausibility(data):
    text, encoding = decode_bytes(data)  # Windows-1258 accepts almost any byte …
    assert encoding == "cp1258"
    with pytest.raises(EncodingProblem, match="contains characters that do not occur in Vietnamese"):
        vn_encoding.check_cp1258_plausible(text, "x.csv")
    vn_encoding.check_cp1258_plausible(vn_encoding.to_cp1258("Đảng viên, 5 năm").decode("cp1258"), "x.csv")


def test_the_foreign_character_class_is_the_per_character_rule():
    # legacy_reading searches one character class (_FOREIGN_CHAR) instead of calling _foreign
    # per character; both must say the same of every code point of the Basic Multilingual Plane
    from analysis.ingest.vn_encoding import _FOREIGN_CHAR, _foreign

    differ = [hex(i) for i in range(0x10000) if 0xD800 > i or i > 0xDFFF
              if bool(_FOREIGN_CHAR.search(chr(i))) != _foreign(chr(i))]
    assert differ == []
