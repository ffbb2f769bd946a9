"""Exports of an `Instrument`: XLSForm (.xlsx), printable questionnaire (HTML), codebook (CSV, HTML).

* XLSForm — sheets ``survey``, ``choices``, ``settings``, for ODK / KoboToolbox; converts with
  pyxform without errors or warnings (tested). Analysis keys (construct, reverse…) are not
  part of XLSForm and go to the codebook instead.
* Questionnaire — Vietnamese, A4 print CSS, anonymity statement and instructions, Likert
  items as a grid, skip instructions written out in words.
* Codebook — one row per item for researchers: labels vi/en, type, codes with labels, missing
  codes, construct, reverse key, task group, role, sensitivity, comparability; plus an
  indicator table for the unit survey.

File names: ``<instrument>_v<version>.xlsx``, ``<instrument>_v<version>_questionnaire.html``,
``<instrument>_v<version>_codebook.csv`` / ``.html`` (and ``_indicators.csv``).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import jinja2
from openpyxl import Workbook

from analysis.instruments.model import Instrument, Item

__all__ = [
    "XLSFORM_LANGS",
    "export_xlsform",
    "export_questionnaire",
    "export_codebook",
    "skip_text",
    "codebook_rows",
    "indicator_rows",
    "CODEBOOK_COLUMNS",
    "INDICATOR_COLUMNS",
    "EXPORTERS",
]

#: XLSForm language column names: a machine-readable code in brackets keeps pyxform quiet.
XLSFORM_LANGS = {"vi": "Tiếng Việt (vi)", "en": "English (en)"}
_TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Lists longer than this are printed as a write-in line, not as boxes.
_MAX_PRINTED_CHOICES = 20


def _stem(ins: Instrument) -> str:
    return f"{ins.name}_v{ins.version}"


# ----------------------------------------------------------------------------- XLSForm


def _rows(ins: Instrument) -> list[dict[str, str]]:
    """XLSForm survey rows in order, with begin/end group rows around each group's items."""
    rows: list[dict[str, str]] = []
    open_group: str | None = None
    groups = {g.name: g for g in ins.groups}

    def item_row(it: Item) -> dict[str, str]:
        row = {"type": it.type, "name": it.name}
        for lang, col in XLSFORM_LANGS.items():
            row[f"label::{col}"] = it.label(lang) if it.label_vi else ""
            row[f"hint::{col}"] = it.hint(lang) if it.hint_vi else ""
            msg = it.constraint_message_en if lang == "en" else it.constraint_message_vi
            row[f"constraint_message::{col}"] = msg or (it.constraint_message_vi if it.constraint_message_vi else "")
        row["required"] = "yes" if it.required else ""
        row["relevant"] = it.relevant or ""
        row["constraint"] = it.constraint or ""
        row["choice_filter"] = it.choice_filter or ""
        row["appearance"] = it.appearance or ""
        return row

    def group_row(kind: str, name: str) -> dict[str, str]:
        g = groups[name]
        row = {"type": kind, "name": name}
        if kind == "begin_group":
            for lang, col in XLSFORM_LANGS.items():
                row[f"label::{col}"] = g.label(lang)
            row["relevant"] = g.relevant or ""
            row["appearance"] = g.appearance or ""
        return row

    for it in ins.items:
        if it.group != open_group:
            if open_group is not None:
                rows.append(group_row("end_group", open_group))
            if it.group is not None:
                rows.append(group_row("begin_group", it.group))
            open_group = it.group
        rows.append(item_row(it))
    if open_group is not None:
        rows.append(group_row("end_group", open_group))
    return rows


def export_xlsform(ins: Instrument, out_dir: Path | str) -> Path:
    """Write ``<name>_v<version>.xlsx`` (sheets survey, choices, settings) into *out_dir*.

    Returns the path written. Nested groups are flattened to one level (the instruments use
    one level).

    Examples
    --------
    >>> import tempfile
    >>> from pyxform.xls2xform import convert
    >>> from analysis.instruments import load
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = export_xlsform(load("unit"), tmp)
    ...     warnings = []
    ...     _ = convert(xlsform=str(path), warnings=warnings)
    >>> path.name, warnings
    ('unit_v1.xlsx', [])
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    cols = ["type", "name"]
    for kind in ("label", "hint"):
        cols += [f"{kind}::{c}" for c in XLSFORM_LANGS.values()]
    cols += ["required", "relevant", "constraint"]
    cols += [f"constraint_message::{c}" for c in XLSFORM_LANGS.values()]
    cols += ["choice_filter", "appearance"]
    survey.append(cols)
    for row in _rows(ins):
        survey.append([row.get(c, "") or None for c in cols])

    choices = wb.create_sheet("choices")
    filter_cols = list(dict.fromkeys(k for c in ins.choices for k, _ in c.filters))
    ccols = ["list_name", "name"] + [f"label::{c}" for c in XLSFORM_LANGS.values()] + filter_cols
    choices.append(ccols)
    for c in ins.choices:
        extra = dict(c.filters)
        choices.append([c.list_name, c.name, c.label("vi"), c.label("en")] + [extra.get(k) for k in filter_cols])

    settings = wb.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append([ins.title_vi, ins.setting("form_id", f"{ins.name}_v{ins.version}"), ins.version,
                     XLSFORM_LANGS["vi"]])
    path = out / f"{_stem(ins)}.xlsx"
    wb.save(path)
    return path


# ----------------------------------------------------------------------------- skip logic in words

_CMP = re.compile(r"^\s*\$\{([a-z0-9_]+)\}\s*(=|!=|>|>=|<|<=)\s*(?:'([^']*)'|(-?\d+(?:\.\d+)?))\s*$")
_OPS_VI = {"=": "là", "!=": "không phải là", ">": "lớn hơn", ">=": "từ", "<": "nhỏ hơn", "<=": "không quá"}
_OPS_EN = {"=": "is", "!=": "is not", ">": "is more than", ">=": "is at least", "<": "is less than",
           "<=": "is at most"}


def skip_text(ins: Instrument, expression: str | None, numbers: dict[str, str], lang: str = "vi") -> str:
    """A ``relevant`` expression in words, e.g. "Chỉ trả lời nếu câu 5 là «Không»".

    Handles comparisons of one item with a code or number joined by ``and``/``or``; anything
    else is shown as the expression itself so nothing is silently lost.

    Examples
    --------
    >>> from analysis.instruments import load
    >>> m = load("member")
    >>> party = m.role_item("party").name
    >>> skip_text(m, "${" + party + "} = 'no'", {party: "5"})
    'Chỉ trả lời nếu câu 5 là «Không».'
    """
    if not expression:
        return ""
    parts = re.split(r"\s+(and|or)\s+", expression.strip())
    words = []
    for k, part in enumerate(parts):
        if k % 2 == 1:
            words.append({"and": "và", "or": "hoặc"}[part] if lang == "vi" else part)
            continue
        m = _CMP.match(part)
        if not m or not ins.has_item(m.group(1)):
            return (f"Điều kiện trả lời: {expression}" if lang == "vi" else f"Answer if: {expression}")
        name, op, code, number = m.groups()
        item = ins.item(name)
        q = numbers.get(name, name)
        if code is not None and item.list_name:
            value = "«" + ins.choice_label(item.list_name, code, lang) + "»"
        else:
            value = code if code is not None else number
        ops = _OPS_VI if lang == "vi" else _OPS_EN
        words.append(f"câu {q} {ops[op]} {value}" if lang == "vi" else f"question {q} {ops[op]} {value}")
    lead = "Chỉ trả lời nếu " if lang == "vi" else "Answer only if "
    return lead + " ".join(words) + "."


# ----------------------------------------------------------------------------- questionnaire


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
                              autoescape=jinja2.select_autoescape(["html", "j2"]),
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _blocks(ins: Instrument, lang: str) -> tuple[list[dict], dict[str, str]]:
    """Questionnaire sections: each group becomes a section of grids (consecutive items on one
    scale list) and single questions. Returns the sections and the question numbers."""
    numbers: dict[str, str] = {}
    n = 0
    for it in ins.items:
        if it.base_type in ("start", "end", "today"):
            continue
        n += 1
        numbers[it.name] = str(n)
    sections = []
    order = [g.name for g in ins.groups]
    for gname in order + [None]:
        items = [i for i in ins.items if i.group == gname and i.name in numbers]
        if not items:
            continue
        g = ins.group(gname) if gname else None
        blocks: list[dict] = []
        for it in items:
            entry = {"number": numbers[it.name], "label": it.label(lang), "hint": it.hint(lang) if it.hint_vi else "",
                     "skip": skip_text(ins, it.relevant, numbers, lang), "type": it.base_type}
            if it.list_name and ins.is_scale(it) and it.base_type == "select_one" \
                    and len(ins.choice_list(it.list_name)) >= 5:
                if blocks and blocks[-1]["kind"] == "grid" and blocks[-1]["list"] == it.list_name:
                    blocks[-1]["rows"].append(entry)
                else:
                    blocks.append({"kind": "grid", "list": it.list_name,
                                   "columns": [c.label(lang) for c in ins.choice_list(it.list_name)],
                                   "codes": [c.name for c in ins.choice_list(it.list_name)],
                                   "rows": [entry]})
                continue
            if it.list_name and len(ins.choice_list(it.list_name)) > _MAX_PRINTED_CHOICES:
                # A long list (the 103 units) is a write-in on paper; the data-entry clerk codes it.
                entry["write_in"] = True
            elif it.list_name:
                choices = [c for c in ins.choice_list(it.list_name)]
                entry["choices"] = [{"code": c.name, "label": c.label(lang),
                                     "filter": " / ".join(v for _, v in c.filters)} for c in choices]
                entry["grouped"] = it.choice_filter is not None
            blocks.append({"kind": "question", "q": entry})
        blocks = [_ungrid(b) for b in blocks]
        sections.append({"title": g.label(lang) if g else "", "skip": skip_text(ins, g.relevant if g else None,
                                                                                  numbers, lang),
                         "blocks": blocks})
    return sections, numbers


def _ungrid(block: dict) -> dict:
    """A grid of one row reads badly on paper: print it as an ordinary question."""
    if block["kind"] != "grid" or len(block["rows"]) > 1:
        return block
    entry = dict(block["rows"][0])
    entry["choices"] = [{"code": code, "label": label, "filter": ""}
                        for code, label in zip(block["codes"], block["columns"])]
    return {"kind": "question", "q": entry}


def export_questionnaire(ins: Instrument, out_dir: Path | str, *, lang: str = "vi") -> Path:
    """Write the printable questionnaire ``<name>_v<version>_questionnaire.html`` (A4).

    *lang* ``en`` writes an English version (``…_questionnaire_en.html``) for reviewers.

    Examples
    --------
    >>> import tempfile
    >>> from analysis.instruments import load
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     html = export_questionnaire(load("member"), tmp).read_text(encoding="utf-8")
    >>> "Hoàn toàn không đồng ý" in html, "@page { size: A4" in html
    (True, True)
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sections, _ = _blocks(ins, lang)
    page = _env().get_template("questionnaire.html.j2").render(
        ins=ins, lang=lang, sections=sections,
        title=ins.title_vi if lang == "vi" else (ins.title_en or ins.title_vi),
        intro=(ins.intro_en if lang == "en" and ins.intro_en else ins.intro_vi).splitlines(),
        instructions=(ins.instructions_en if lang == "en" and ins.instructions_en else ins.instructions_vi).splitlines(),
    )
    suffix = "" if lang == "vi" else f"_{lang}"
    path = out / f"{_stem(ins)}_questionnaire{suffix}.html"
    path.write_text(page, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- codebook

CODEBOOK_COLUMNS = (
    "instrument", "version", "position", "item", "group", "type", "list_name", "label_vi", "label_en",
    "choices", "missing_codes", "required", "relevant", "constraint", "role", "construct", "reverse",
    "task_group", "objective", "sensitive", "comparable_to", "replaces",
)
INDICATOR_COLUMNS = (
    "instrument", "version", "indicator", "label_vi", "label_en", "formula", "items", "unit", "direction",
    "target", "target_year", "target_note_vi", "task_group", "objective",
)


def codebook_rows(ins: Instrument) -> list[dict[str, str]]:
    """One dict per item with the `CODEBOOK_COLUMNS` (strings; empty when not applicable).

    Examples
    --------
    >>> from analysis.instruments import load
    >>> member = load("member")
    >>> row = [r for r in codebook_rows(member) if r["reverse"] == "yes"][0]
    >>> row["missing_codes"], row["choices"].split(" | ")[0]
    ('9', '1=Hoàn toàn không đồng ý [1]')
    """
    constructs = {c.name: c for c in ins.constructs}
    rows = []
    for pos, it in enumerate(ins.items, start=1):
        choices = ins.choice_list(it.list_name) if it.list_name else ()
        if it.list_name == "unit" or len(choices) > 20:
            listed = f"{len(choices)} codes, see the choice list '{it.list_name}'"
        else:
            listed = " | ".join(f"{c.name}={c.label_vi}" + (f" [{c.value:g}]" if c.value is not None else "")
                                + (" (missing)" if c.missing else "") for c in choices)
        c = constructs.get(it.construct or "")
        rows.append({
            "instrument": ins.name, "version": ins.version, "position": str(pos), "item": it.name,
            "group": it.group or "", "type": it.type, "list_name": it.list_name or "",
            "label_vi": it.label_vi, "label_en": it.label_en, "choices": listed,
            "missing_codes": " ".join(ins.missing_codes(it.list_name)) if it.list_name else "",
            "required": "yes" if it.required else "", "relevant": it.relevant or "",
            "constraint": it.constraint or "", "role": it.role or "", "construct": it.construct or "",
            "reverse": "yes" if it.reverse else "",
            "task_group": str(c.task_group if c else (it.task_group or "")),
            "objective": (c.objective if c else "") or "",
            "sensitive": "yes" if it.sensitive else "", "comparable_to": it.comparable_to or "",
            "replaces": it.replaces or "",
        })
    return rows


def indicator_rows(ins: Instrument) -> list[dict[str, str]]:
    """One dict per indicator with the `INDICATOR_COLUMNS`."""
    return [{
        "instrument": ins.name, "version": ins.version, "indicator": i.name, "label_vi": i.label_vi,
        "label_en": i.label_en, "formula": i.formula, "items": " ".join(i.items), "unit": i.unit,
        "direction": i.direction, "target": "" if i.target is None else f"{i.target:g}",
        "target_year": "" if i.target_year is None else str(i.target_year), "target_note_vi": i.target_note_vi,
        "task_group": str(i.task_group), "objective": i.objective or "",
    } for i in ins.indicators]


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    # utf-8-sig so that Excel on Vietnamese Windows opens the diacritics correctly.
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def export_codebook(ins: Instrument, out_dir: Path | str) -> tuple[Path, ...]:
    """Write the codebook: ``_codebook.csv``, ``_codebook.html`` and, with indicators, ``_indicators.csv``.

    The CSV files are UTF-8 with a byte-order mark so that Excel shows the diacritics.

    Examples
    --------
    >>> import tempfile
    >>> from analysis.instruments import load
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     names = [p.name for p in export_codebook(load("unit"), tmp)]
    >>> names
    ['unit_v1_codebook.csv', 'unit_v1_codebook.html', 'unit_v1_indicators.csv']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = codebook_rows(ins)
    ind_rows = indicator_rows(ins)
    written = [out / f"{_stem(ins)}_codebook.csv", out / f"{_stem(ins)}_codebook.html"]
    _write_csv(written[0], CODEBOOK_COLUMNS, rows)
    written[1].write_text(_env().get_template("codebook.html.j2").render(
        ins=ins, rows=rows, columns=CODEBOOK_COLUMNS, indicators=ind_rows, indicator_columns=INDICATOR_COLUMNS,
        choice_lists=[(name, ins.choice_list(name)) for name in ins.list_names if name != "unit"],
        constructs=ins.constructs,
    ), encoding="utf-8")
    if ind_rows:
        written.append(out / f"{_stem(ins)}_indicators.csv")
        _write_csv(written[2], INDICATOR_COLUMNS, ind_rows)
    return tuple(written)


#: Format name → exporter (used by the CLI).
EXPORTERS = {
    "xlsform": export_xlsform,
    "questionnaire": export_questionnaire,
    "codebook": export_codebook,
}
