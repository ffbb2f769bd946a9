"""Text encodings of received files: strict decoding and legacy Vietnamese font encodings.

Two separate jobs live here because both are about "which bytes mean which letters":

1. `decode_bytes` turns the bytes of a text export into ``str`` with *strict* decoders tried
   in a fixed, documented order (no statistical guessing, no third-party detector):

   ===================  ==========================================================
   bytes start with     decoded as
   ===================  ==========================================================
   ``EF BB BF``         UTF-8 with BOM (Excel "CSV UTF-8")
   ``FF FE``/``FE FF``  UTF-16 (Excel "Unicode Text", tab-separated)
   UTF-32 BOM           rejected (no survey tool writes it)
   anything with NUL    rejected (binary, or UTF-16 without BOM)
   otherwise            UTF-8 if it decodes strictly, else Windows-1258 (``cp1258``)
   ===================  ==========================================================

   A strict UTF-8 decode almost never succeeds on text in another 8-bit encoding, so that
   order is safe. ``cp1258`` decodes most byte strings, so its result is only accepted when it
   reads as Vietnamese (`implausible_characters` is empty after NFC): Shift-JIS, random bytes
   or Cyrillic code pages then fail with a message instead of turning into mojibake.

2. `legacy_reading` recognises text typed with the pre-Unicode Vietnamese *font* encodings
   that are still common in provincial offices: **TCVN3 (ABC, fonts ``.VnTime``)** and
   **VNI-Windows (fonts ``VNI-Times``)**. Such text decodes without any error (it is just
   Latin-1 letters, e.g. ``"Hµ Néi"`` or ``"Haø Noäi"`` for *Hà Nội*), so it has to be
   recognised by what it says, not by decoding errors.

Notes
-----
The legacy detector is a round-trip test, not a list of suspicious characters. A string *s*
is reported as TCVN3 (or VNI) when all of these hold:

a. *s* is not Vietnamese as it stands: it contains a character that never occurs in Unicode
   Vietnamese text (a Latin-1 letter or symbol outside the Vietnamese alphabet such as
   ``µ ¶ · § ¬ ª Õ Þ`` for TCVN3 or ``ø û ï ä ö ñ`` for VNI), or a non-ASCII word that is not
   a Vietnamese syllable (VNI ``"Khoâng bieát"`` uses only letters Vietnamese also has);
b. *s* re-encodes to single bytes (cp1252, cp1258 or Latin-1 — whichever code page the file
   was read with) and those bytes, read with the TCVN3 table (one byte per letter) or the VNI
   table (base letter + one diacritic byte), give text with no such foreign character;
c. at least half (and at least one) of the words that changed are well-formed Vietnamese
   syllables (onset + 1–3 vowels + coda; `is_vietnamese_syllable`).

Condition (b) is why real Unicode Vietnamese is never flagged: any string containing ``ơ ư đ
ă`` or a toned letter outside Latin-1 (``ả ạ ệ …``) cannot be re-encoded to one byte per
character. Condition (c) keeps foreign words such as *naïve* or *Müller* from being reported.
The byte tables are the standard TCVN 5712:1993 (VN3) lowercase block plus its seven capital
letters, and the VNI-Windows composition table (xvnkb's ``tcvn.h`` and ``vni.h`` were used to
cross-check them); TCVN3 capitals with tone marks (control-range bytes, rarely used — capitals
are usually typed with the ``.VnTimeH`` font on lowercase codes) are not mapped.

Examples
--------
>>> legacy_reading("Hµ Néi")
('TCVN3', 'Hà Nội')
>>> legacy_reading("Haø Noäi")
('VNI', 'Hà Nội')
>>> legacy_reading("Hà Nội") is None, legacy_reading("naïve") is None
(True, True)
>>> decode_bytes("Nghệ An".encode("utf-8-sig"))
('Nghệ An', 'utf-8-sig')
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "SUPPORTED_ENCODINGS",
    "EncodingProblem",
    "decode_bytes",
    "to_cp1258",
    "implausible_characters",
    "legacy_reading",
    "is_vietnamese_syllable",
    "VIETNAMESE_LETTERS",
    "TCVN3_TABLE",
    "VNI_TABLE",
]

#: The encodings accepted for text exports, in the order they are tried.
SUPPORTED_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "utf-16", "utf-8", "cp1258")

_TONES = {"": "", "grave": "\u0300", "acute": "\u0301", "hook": "\u0309", "tilde": "\u0303", "dot": "\u0323"}
_BASE_VOWELS = "aăâeêioôơuưy"


def _compose(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + _TONES[tone])


def _alphabet() -> frozenset[str]:
    letters = set("abcdefghijklmnopqrstuvwxyzđ")
    for v in _BASE_VOWELS:
        for tone in _TONES:
            letters.add(_compose(v, tone))
    return frozenset(letters | {c.upper() for c in letters})


#: Every letter of the Vietnamese alphabet (NFC), lower and upper case, plus the Latin letters
#: f, j, w, z used in loanwords and names.
VIETNAMESE_LETTERS: frozenset[str] = _alphabet()

# Punctuation and symbols that genuinely occur in Vietnamese office text. Deliberately NOT
# included: the Latin-1 symbols TCVN3 uses for letters (µ ¶ · ¸ ¹ § ¨ © ª « ¬ ® » ¼ ½ ¾ × ÷ …).
_SAFE_SYMBOLS = frozenset("\u00a0°“”‘’–—…•€₫№")

# --- TCVN3 (ABC): one byte per letter ---------------------------------------------------------
_TCVN3_SPEC = {
    # base: (no tone, grave, acute, hook, tilde, dot) bytes
    "a": (None, 0xB5, 0xB8, 0xB6, 0xB7, 0xB9),
    "ă": (0xA8, 0xBB, 0xBE, 0xBC, 0xBD, 0xC6),
    "â": (0xA9, 0xC7, 0xCA, 0xC8, 0xC9, 0xCB),
    "e": (None, 0xCC, 0xD0, 0xCE, 0xCF, 0xD1),
    "ê": (0xAA, 0xD2, 0xD5, 0xD3, 0xD4, 0xD6),
    "i": (None, 0xD7, 0xDD, 0xD8, 0xDC, 0xDE),
    "o": (None, 0xDF, 0xE3, 0xE1, 0xE2, 0xE4),
    "ô": (0xAB, 0xE5, 0xE8, 0xE6, 0xE7, 0xE9),
    "ơ": (0xAC, 0xEA, 0xED, 0xEB, 0xEC, 0xEE),
    "u": (None, 0xEF, 0xF3, 0xF1, 0xF2, 0xF4),
    "ư": (0xAD, 0xF5, 0xF8, 0xF6, 0xF7, 0xF9),
    "y": (None, 0xFA, 0xFD, 0xFB, 0xFC, 0xFE),
}


def _tcvn3_table() -> dict[int, str]:
    table: dict[int, str] = {0xAE: "đ", 0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ"}
    for base, codes in _TCVN3_SPEC.items():
        for tone, code in zip(_TONES, codes):
            if code is not None:
                table[code] = _compose(base, tone)
    return table


#: TCVN3 byte -> Unicode letter (bytes < 0x80 are ASCII).
TCVN3_TABLE: dict[int, str] = _tcvn3_table()

# --- VNI-Windows: base letter + diacritic byte -------------------------------------------------
# Diacritic bytes (lower case; the upper-case font uses the upper-case Latin-1 glyph, same marks).
_VNI_MARKS_LOWER = {
    "ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323",
    "â": "\u0302", "á": "\u0302\u0301", "à": "\u0302\u0300", "å": "\u0302\u0309", "ã": "\u0302\u0303", "ä": "\u0302\u0323",
    "ê": "\u0306", "é": "\u0306\u0301", "è": "\u0306\u0300", "ú": "\u0306\u0309", "ü": "\u0306\u0303", "ë": "\u0306\u0323",
}
# Letters that are a single byte in VNI (ơ, ư, đ and i/y with tones).
_VNI_SINGLE_LOWER = {"ô": "ơ", "ö": "ư", "ñ": "đ", "í": "í", "ì": "ì", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ"}

#: VNI diacritic glyph -> combining marks, and single-glyph letters, both cases.
VNI_TABLE: dict[str, str] = {
    **_VNI_MARKS_LOWER,
    **{k.upper(): v for k, v in _VNI_MARKS_LOWER.items()},
}
_VNI_SINGLE: dict[str, str] = {**_VNI_SINGLE_LOWER, **{k.upper(): v.upper() for k, v in _VNI_SINGLE_LOWER.items()}}
_VNI_VOWEL_BASES = frozenset("aeiouyAEIOUYơưƠƯ")


def _vni_decode(text: str) -> str:
    """Read *text* (VNI glyphs as Latin-1 letters) as VNI-Windows and return Unicode (NFC)."""
    out: list[str] = []
    for ch in text:
        prev = out[-1] if out else ""
        # A mark glyph only acts as a mark right after a vowel; a single-glyph letter otherwise.
        if ch in VNI_TABLE and prev and prev[-1] in _VNI_VOWEL_BASES:
            out[-1] = prev + VNI_TABLE[ch]
        elif ch in _VNI_SINGLE:
            out.append(_VNI_SINGLE[ch])
        else:
            out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _tcvn3_decode(data: bytes) -> str:
    return "".join(TCVN3_TABLE.get(b, chr(b)) for b in data)


# --- plausibility ----------------------------------------------------------------------------
def _foreign(ch: str) -> bool:
    """True for a character that does not occur in Unicode Vietnamese office text."""
    if ch.isascii():
        return not (ch.isprintable() or ch in "\t\r\n")
    if ch in VIETNAMESE_LETTERS or ch in _SAFE_SYMBOLS:
        return False
    return True


# `_foreign` as one character class: a search over a whole text, not a call per character.
_FOREIGN_CHAR = re.compile("[^\t\r\n\x20-\x7e" + "".join(
    re.escape(c) for c in sorted(VIETNAMESE_LETTERS | _SAFE_SYMBOLS) if len(c) == 1 and not c.isascii()) + "]")


def implausible_characters(text: str) -> list[str]:
    """Characters of *text* (NFC) that do not belong in Vietnamese text, sorted, unique.

    Used only to accept or refuse a Windows-1258 decoding; free text in UTF-8 may contain
    anything.

    Examples
    --------
    >>> implausible_characters("Đảng viên, 5 năm")
    []
    >>> implausible_characters("ƒ‚Œ")
    ['Œ', 'ƒ', '‚']
    """
    return sorted({ch for ch in unicodedata.normalize("NFC", text) if _foreign(ch)})


# Vowel nuclei of Vietnamese syllables, without tone marks (a syllable carries at most one tone).
_NUCLEI = (
    "a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ "
    "uy ưa ưi ươ ưu yê iêu yêu uôi ươi ươu uya uyê uyu oai oay oao oeo uây"
).split()
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x)?"
    rf"(?:{'|'.join(sorted(_NUCLEI, key=len, reverse=True))})"
    r"(?:ch|ng|nh|c|m|n|p|t)?"
)
_TONE_MARKS = frozenset(_TONES.values()) - {""}
_WORD = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=1 << 16)  # a vocabulary, checked once per word rather than per cell
def is_vietnamese_syllable(word: str) -> bool:
    """True if *word* has the shape of a Vietnamese syllable (onset, 1–3 vowels, coda).

    Examples
    --------
    >>> [is_vietnamese_syllable(w) for w in ("Nghệ", "khuyến", "Müller", "naùve")]
    [True, True, False, False]
    """
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(ch in _TONE_MARKS for ch in decomposed) > 1:
        return False
    toneless = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    return bool(_SYLLABLE.fullmatch(toneless))


def _to_single_bytes(text: str) -> bytes | None:
    # The code page the cell was read with is unknown here (XLSX strings are cp1252 glyphs,
    # a CSV read as cp1258 gives cp1258 glyphs): try the three, strictly.
    for enc in ("cp1252", "cp1258", "latin-1"):
        try:
            return text.encode(enc)
        except UnicodeEncodeError:
            continue
    return None


def _score(original_words: Iterable[str], reading: str) -> tuple[int, int]:
    changed = [w for w in _WORD.findall(reading) if w not in original_words and not w.isascii()]
    return sum(is_vietnamese_syllable(w) for w in changed), len(changed)


def legacy_reading(text: str) -> tuple[str, str] | None:
    """Recognise TCVN3 or VNI text; return ``(scheme, unicode_reading)`` or None.

    See the module notes for the three conditions. When both readings qualify, the one with
    more well-formed syllables wins (TCVN3 on a tie).

    Examples
    --------
    >>> legacy_reading("C«ng ®oµn")
    ('TCVN3', 'Công đoàn')
    >>> legacy_reading("Ñaûng vieân")
    ('VNI', 'Đảng viên')
    >>> legacy_reading("Müller") is None
    True
    """
    if not isinstance(text, str) or text.isascii():
        return None
    nfc = unicodedata.normalize("NFC", text)
    # Condition (a): something in the text is not Vietnamese as it stands — a foreign character,
    # or a non-ASCII word that is no Vietnamese syllable (VNI's "Khoâng" uses only letters that
    # also exist in Vietnamese, so the character test alone would miss it).
    if not _FOREIGN_CHAR.search(nfc) and all(
        w.isascii() or is_vietnamese_syllable(w) for w in _WORD.findall(nfc)
    ):
        return None
    data = _to_single_bytes(text)
    if data is None:
        return None
    words = set(_WORD.findall(text))
    best: tuple[int, str, str] | None = None
    for scheme, reading in (("TCVN3", unicodedata.normalize("NFC", _tcvn3_decode(data))),
                            ("VNI", _vni_decode(data.decode("latin-1")))):
        if _FOREIGN_CHAR.search(reading):
            continue
        good, changed = _score(words, reading)
        if changed and good >= 1 and 2 * good >= changed and (best is None or good > best[0]):
            best = (good, scheme, reading)
    return None if best is None else (best[1], best[2])


# --- decoding --------------------------------------------------------------------------------
class EncodingProblem(ValueError):
    """A text file whose bytes are not in a supported encoding (message in English and Vietnamese)."""

    def __init__(self, en: str, vi: str):
        super().__init__(f"{en} / {vi}")
        self.en = en
        self.vi = vi


_HOW_TO_FIX_EN = ("save it from Excel as 'CSV UTF-8 (Comma delimited)' or as an .xlsx workbook, "
                  "or export it again from the survey tool")
_HOW_TO_FIX_VI = ("hãy lưu lại từ Excel dưới dạng 'CSV UTF-8 (Comma delimited)' hoặc tệp .xlsx, "
                  "hoặc xuất lại từ công cụ khảo sát")


def decode_bytes(data: bytes, name: str = "file") -> tuple[str, str]:
    """Decode the bytes of a text export; return ``(text, encoding)``.

    The order of strict attempts is given in the module docstring. The text is returned as
    decoded (not yet NFC): the caller runs `legacy_reading` on cells first, which needs the
    original code points, then normalises. A ``cp1258`` result must also pass
    `implausible_characters` — the caller does that after the legacy check so that TCVN3/VNI
    files get the more specific message.

    Raises
    ------
    EncodingProblem
        UTF-32, NUL bytes without a UTF-16 BOM, or bytes that no supported decoder accepts.

    Examples
    --------
    >>> decode_bytes("a\\tb".encode("utf-16"))
    ('a\\tb', 'utf-16')
    >>> decode_bytes(to_cp1258("Nghệ An"))[1]
    'cp1258'
    >>> decode_bytes(b"\\x81\\x00abc")
    Traceback (most recent call last):
    ...
    analysis.ingest.vn_encoding.EncodingProblem: file: the file contains NUL bytes but no UTF-16 byte-order mark: it is binary, or UTF-16 without BOM (not supported); save it from Excel as 'CSV UTF-8 (Comma delimited)' or as an .xlsx workbook, or export it again from the survey tool / file: tệp chứa byte NUL nhưng không có dấu BOM UTF-16: đây là tệp nhị phân hoặc UTF-16 không BOM (không hỗ trợ); hãy lưu lại từ Excel dưới dạng 'CSV UTF-8 (Comma delimited)' hoặc tệp .xlsx, hoặc xuất lại từ công cụ khảo sát
    """
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise EncodingProblem(f"{name}: UTF-32 text is not supported; {_HOW_TO_FIX_EN}",
                              f"{name}: không hỗ trợ mã UTF-32; {_HOW_TO_FIX_VI}")
    attempts: list[tuple[bytes, str]] = []
    if data.startswith(codecs.BOM_UTF8):
        attempts = [(data[len(codecs.BOM_UTF8):], "utf-8-sig")]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        attempts = [(data, "utf-16")]
    elif b"\x00" in data:
        raise EncodingProblem(
            f"{name}: the file contains NUL bytes but no UTF-16 byte-order mark: it is binary, or UTF-16 "
            f"without BOM (not supported); {_HOW_TO_FIX_EN}",
            f"{name}: tệp chứa byte NUL nhưng không có dấu BOM UTF-16: đây là tệp nhị phân hoặc UTF-16 "
            f"không BOM (không hỗ trợ); {_HOW_TO_FIX_VI}",
        )
    else:
        attempts = [(data, "utf-8"), (data, "cp1258")]
    for payload, enc in attempts:
        try:
            codec = "utf-8" if enc == "utf-8-sig" else enc
            return payload.decode(codec, errors="strict"), enc
        except UnicodeDecodeError:
            continue
    tried = ", ".join(e for _, e in attempts)
    raise EncodingProblem(
        f"{name}: the text encoding is not supported (tried strictly: {tried}; accepted are UTF-8, UTF-8 with BOM, "
        f"UTF-16 and Windows-1258); {_HOW_TO_FIX_EN}",
        f"{name}: bảng mã của tệp không được hỗ trợ (đã thử: {tried}; chỉ nhận UTF-8, UTF-8 có BOM, UTF-16 và "
        f"Windows-1258); {_HOW_TO_FIX_VI}",
    )


def check_cp1258_plausible(text: str, name: str = "file") -> None:
    """Refuse a Windows-1258 decoding that does not read as Vietnamese (see `decode_bytes`)."""
    bad = implausible_characters(text)
    if bad:
        sample = " ".join(repr(c) for c in bad[:8])
        raise EncodingProblem(
            f"{name}: the file is not UTF-8, and read as Windows-1258 it contains characters that do not occur in "
            f"Vietnamese ({sample}): the encoding is not supported (e.g. Shift-JIS, a Cyrillic code page or a binary "
            f"file); {_HOW_TO_FIX_EN}",
            f"{name}: tệp không phải UTF-8, và nếu đọc theo Windows-1258 thì có ký tự không thuộc tiếng Việt ({sample}): "
            f"bảng mã không được hỗ trợ; {_HOW_TO_FIX_VI}",
        )


__all__ += ["check_cp1258_plausible"]

_CP1258_TONES = frozenset(_TONES.values()) - {""}


def to_cp1258(text: str) -> bytes:
    """Encode Vietnamese *text* as Windows-1258 bytes (how Excel writes "CSV" on a vi-VN PC).

    Windows-1258 has the letters ``ă â ê ô ơ ư đ`` but writes tones as combining marks, which
    Python's ``cp1258`` codec does not do by itself; this splits the tone off each letter that
    has no single-byte form. Used by the tests and the synthetic generator.

    Examples
    --------
    >>> to_cp1258("Việt")
    b'Vi\\xea\\xf2t'
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            tones = "".join(p for p in parts if p in _CP1258_TONES)
            base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _CP1258_TONES))
            out += (base + tones).encode("cp1258")
    return bytes(out)
