"""The issuer's header, title line and closing block of the Board edition, from ``config/report.yaml``.

A report that a Party or state body sends on carries its issuer's header block and signature
(Guidance 36-HD/VPTW for Party bodies, Decree 30/2020/NĐ-CP for state bodies; facts in
``shared/domain/REPORT_LAYOUT.md``). Who issues, the document symbol, place, date, signer and
recipients are the office's decisions, so they come from the configuration file and never from
code; what the office has not decided is printed blank ("Số: …-BC/ĐUK", "ngày … tháng … năm …")
and the document is marked "DỰ THẢO" (draft). A number, a date or a signer is never invented.

Document symbols keep a non-breaking hyphen (U+2011) so that "04‑ĐA/ĐUK" never breaks across
lines.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from analysis import config
from analysis.report.errors import ReportError
from analysis.report.tables import format_date

__all__ = ["REPORT_CONFIG_FILE", "LAYOUTS", "LetterheadError", "Letterhead", "load_letterhead", "no_break"]

#: The documented file of the header and signature (see its comments).
REPORT_CONFIG_FILE: Path = config.PROJECT_ROOT / "config" / "report.yaml"
#: party: Guidance 36-HD/VPTW; state: Decree 30/2020/NĐ-CP.
LAYOUTS = ("party", "state")
NB_HYPHEN = "\u2011"
_KEYS = {"layout", "parent_body", "issuing_body", "symbol", "number", "place", "date", "signer",
         "recipients", "plan"}
_SIGNER_KEYS = {"capacity", "title", "name"}
_PLAN_KEYS = {"symbol", "date", "issuer", "title"}
_BLANK = "…"


class LetterheadError(ReportError):
    """config/report.yaml is malformed: the message names the file, the key, the value and the rule."""


def no_break(symbol: str) -> str:
    """A document symbol with non-breaking hyphens, so that it never breaks across lines.

    Examples
    --------
    >>> no_break("04-ĐA/ĐUK") == "04\u2011ĐA/ĐUK"
    True
    """
    return symbol.replace("-", NB_HYPHEN)


def _nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text)).strip()


@dataclass(frozen=True)
class Letterhead:
    """The configured header and closing block; texts are ``{lang: text}``."""

    layout: str
    parent_body: Mapping[str, str]
    issuing_body: Mapping[str, str]
    symbol: str
    number: str | None
    place: str
    date: dt.date | None
    capacity: Mapping[str, str]
    signer_title: Mapping[str, str]
    signer_name: str | None
    recipients: Mapping[str, tuple[str, ...]]
    plan_symbol: str
    plan_date: dt.date
    plan_issuer: Mapping[str, str]
    plan_title: Mapping[str, str]
    path: Path | None = None

    @property
    def draft(self) -> bool:
        """True while the number, the date or the signer is missing: the page says "DỰ THẢO"."""
        return not (self.number and self.date and self.signer_name and self.signer_title)

    def text(self, field: str, lang: str) -> str:
        """A bilingual field in *lang*, falling back to Vietnamese."""
        value = getattr(self, field)
        return value.get(lang) or value.get("vi", "")

    def number_line(self, lang: str = "vi") -> str:
        """``Số: 12-BC/ĐUK`` (party) or ``Số: 12/BC-ĐUK`` (state); a blank number as "…".

        Examples
        --------
        >>> load_letterhead().number_line() == "Số: …" + NB_HYPHEN + "BC/ĐUK"
        True
        """
        number = self.number or _BLANK
        sep = NB_HYPHEN if self.layout == "party" else "/"
        symbol = no_break(self.symbol) if self.layout == "party" else no_break(self._state_symbol())
        word = "Số" if lang == "vi" else "No."
        return f"{word}: {number}{sep}{symbol}"

    def _state_symbol(self) -> str:
        # Decree 30: "Số: 12/BC-UBND": the kind, a hyphen, the issuer's abbreviation.
        return self.symbol.replace("/", "-", 1)

    def date_line(self, lang: str = "vi") -> str:
        """``Nghệ An, ngày 5 tháng 12 năm 2026``; unset: ``Nghệ An, ngày … tháng … năm …`` (English:
        ``Nghệ An, date: …``)."""
        if self.date is not None:
            return f"{self.place}, {format_date(self.date, lang=lang)}"
        if lang == "vi":
            return f"{self.place}, ngày {_BLANK} tháng {_BLANK} năm {_BLANK}"
        return f"{self.place}, date: {_BLANK}"

    def national_lines(self, lang: str = "vi") -> tuple[str, ...]:
        """The top-right heading: the Party's name, or the state's name and motto."""
        if self.layout == "party":
            return ("ĐẢNG CỘNG SẢN VIỆT NAM",) if lang == "vi" else ("COMMUNIST PARTY OF VIETNAM",)
        if lang == "vi":
            return ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
        return ("SOCIALIST REPUBLIC OF VIETNAM", "Independence - Freedom - Happiness")

    def plan_reference(self, lang: str = "vi") -> str:
        """``Đề án số 04‑ĐA/ĐUK ngày 24 tháng 3 năm 2023 của Đảng ủy Khối … về …``."""
        issuer, title = self.text("plan_issuer", lang), self.text("plan_title", lang)
        if lang == "vi":
            return (f"Đề án số {no_break(self.plan_symbol)} {format_date(self.plan_date, lang='vi')} "
                    f"của {issuer} về {title}")
        return f"Plan {no_break(self.plan_symbol)} of {format_date(self.plan_date, lang='en')} of {issuer} on {title}"


def _fail(path: Path, key: str, value: Any, rule: str) -> LetterheadError:
    return LetterheadError(f"{path}: key {key!r}: value {value!r}: {rule}")


def _texts(raw: Mapping, key: str, path: Path, *, required: bool = True) -> dict[str, str]:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise _fail(path, key, value, "is required (a text, or {vi: …, en: …})")
        return {}
    if isinstance(value, str):
        return {"vi": _nfc(value), "en": _nfc(value)}
    if isinstance(value, Mapping) and set(value) <= {"vi", "en"} and all(isinstance(v, str) for v in value.values()):
        return {k: _nfc(v) for k, v in value.items() if v}
    raise _fail(path, key, value, "must be a text or a mapping {vi: text, en: text}")


def _date(value: Any, key: str, path: Path) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _fail(path, key, value, "must be a date YYYY-MM-DD or empty") from None


def _optional_text(value: Any, key: str, path: Path) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise _fail(path, key, value, "must be a text or empty")
    return _nfc(value)


def _recipients(raw: Any, path: Path) -> dict[str, tuple[str, ...]]:
    if raw is None:
        raise _fail(path, "recipients", raw, "is required: the lines under 'Nơi nhận:', the last '- Lưu …'")
    per_lang = {"vi": raw, "en": raw} if isinstance(raw, list) else raw
    if not isinstance(per_lang, Mapping) or not set(per_lang) <= {"vi", "en"}:
        raise _fail(path, "recipients", raw, "must be a list of lines or {vi: [lines], en: [lines]}")
    out = {}
    for lang, lines in per_lang.items():
        if not isinstance(lines, list) or not lines or not all(isinstance(x, str) and x.strip() for x in lines):
            raise _fail(path, f"recipients.{lang}", lines, "must be a non-empty list of non-empty lines")
        out[lang] = tuple(_nfc(x) if _nfc(x).startswith("-") else f"- {_nfc(x)}" for x in lines)
    return out


def load_letterhead(path: Path | str | None = None) -> Letterhead:
    """Read and check ``config/report.yaml`` (or *path*).

    Raises
    ------
    LetterheadError
        An unknown key, a wrong type, a layout other than ``party`` / ``state``, a malformed
        date, a missing required field; the message names the file, key, value and rule.
    FileNotFoundError
        The file does not exist.
    """
    import yaml

    path = Path(path or REPORT_CONFIG_FILE)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LetterheadError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise _fail(path, "(top level)", raw, "must be a mapping of the keys " + ", ".join(sorted(_KEYS)))
    unknown = set(raw) - _KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise _fail(path, key, raw[key], "unknown key; the keys are " + ", ".join(sorted(_KEYS)))
    layout = raw.get("layout") or "party"
    if layout not in LAYOUTS:
        raise _fail(path, "layout", layout, "must be 'party' (Guidance 36-HD/VPTW) or 'state' (Decree 30/2020/NĐ-CP)")
    signer = raw.get("signer") or {}
    plan = raw.get("plan")
    for key, block, allowed in (("signer", signer, _SIGNER_KEYS), ("plan", plan, _PLAN_KEYS)):
        if not isinstance(block, Mapping) or set(block) - allowed:
            raise _fail(path, key, block, "must be a mapping of " + ", ".join(sorted(allowed)))
    symbol = _optional_text(raw.get("symbol"), "symbol", path)
    plan_symbol = _optional_text(plan.get("symbol"), "plan.symbol", path)
    plan_date = _date(plan.get("date"), "plan.date", path)
    if not symbol:
        raise _fail(path, "symbol", raw.get("symbol"), "is required, e.g. BC/ĐUK")
    if not plan_symbol or plan_date is None:
        raise _fail(path, "plan", plan, "needs the plan's symbol and date (YYYY-MM-DD)")
    return Letterhead(
        layout=layout,
        parent_body=_texts(raw, "parent_body", path),
        issuing_body=_texts(raw, "issuing_body", path),
        symbol=symbol,
        number=_optional_text(raw.get("number"), "number", path),
        place=_optional_text(raw.get("place"), "place", path) or _BLANK,
        date=_date(raw.get("date"), "date", path),
        capacity=_texts(signer, "capacity", path, required=False),
        signer_title=_texts(signer, "title", path, required=False),
        signer_name=_optional_text(signer.get("name"), "signer.name", path),
        recipients=_recipients(raw.get("recipients"), path),
        plan_symbol=plan_symbol,
        plan_date=plan_date,
        plan_issuer=_texts(plan, "issuer", path),
        plan_title=_texts(plan, "title", path),
        path=path,
    )
