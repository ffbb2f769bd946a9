"""An instrument from a KoboToolbox / ODK XLSForm: ``survey``, ``choices`` and ``settings`` → YAML.

`import_xlsform` reads the three sheets with openpyxl and builds the YAML of
``surveys/<name>/v<N>.yaml`` (schema: surveys/README.md): groups (``begin_group`` …
``end_group``, nested) become nested ``items:``; ``select_one`` / ``select_multiple`` keep their
list names (``select_one list or_other`` adds the ``other`` choice and the ``<name>_other`` text
item, as ODK does); ``integer``, ``decimal``, ``text``, ``date``, ``datetime``, ``time``,
``note``, ``calculate`` (with its ``calculation``), ``start``, ``end`` and ``today`` are kept;
labels, hints and constraint messages in every language of the form (``label::Vietnamese (vi)``,
``label::English (en)``, plain ``label`` in the form's default language) become ``::vi`` /
``::en`` keys.

``relevant``, ``constraint`` and ``choice_filter`` are written in the project's expression
language (`analysis.ingest.expression`), which is the XLSForm subset the exporter
(`analysis.instruments.export`) writes unchanged; the import checks each expression against that
subset and rewrites ``contains`` / ``starts-with`` / ``ends-with`` of a literal as the equivalent
``regex``. A ``relevant`` or ``choice_filter`` outside the subset is an error (the import of a
wave must evaluate skip logic); a ``constraint`` or dynamic ``required`` outside it is left out
and listed (validation is then looser, never wrong).

What an XLSForm cannot say — constructs, reverse keys, task groups, indicators and their
targets, roles, sensitive items, whether the survey is anonymous, the scoring values of choice
lists — is listed as a to-do (`XLSFormImport.todo`), printed by the command and written as
comments at the top of the YAML. Values of choice lists are proposed where the codes say them
(``"1"``…``"5"``; ``yes``/``no``) and missing codes where the label says "don't know / no
answer"; both are listed for the researcher to confirm. A choice list equal to the population
frame's units becomes ``from_frame: units``.

Every problem of the form is collected and raised at once as `XLSFormError`, each naming the
file, sheet, row, column, value and rule. This module reads the sheets itself rather than
through pyxform's parser: pyxform resolves the form into an XForm tree, losing the sheet row
and column a message must name.

Why one module: reading the sheets, translating the expressions, inferring choice values and
writing the to-do share one pass over the rows and its problem list (every message names the
sheet row it comes from); split apart, each part would have to carry the row bookkeeping across.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from analysis.instruments.model import Instrument
from analysis.instruments.population import load_units

__all__ = ["XLSFormError", "XLSFormImport", "import_xlsform", "compare_with", "write_instrument",
           "translate_expression"]


class XLSFormError(ValueError):
    """Problems that stop an XLSForm import; ``problems`` lists them all (file, sheet, row, column, value, rule)."""

    def __init__(self, problems: list[str]):
        self.problems = tuple(problems)
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the XLSForm:\n"
                         + "\n".join(f"  - {p}" for p in self.problems))


@dataclass
class XLSFormImport:
    """The imported instrument: ``data`` (the YAML mapping), ``todo`` (what the researcher must
    add or confirm), ``notes`` (what the import did on its own) and `yaml_text` (the file)."""

    source: str
    data: dict
    todo: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def yaml_text(self) -> str:
        head = [f"# {self.data['instrument']} v{self.data['version']}, imported from the XLSForm {self.source}",
                "# by `python -m analysis instrument import`. Schema: surveys/README.md.",
                "#",
                "# TO DO — only the researcher can add these; then run `python -m analysis instrument check`:"]
        for k, line in enumerate(self.todo, start=1):
            head += _wrap(f"{k}. {line}", "#   ", "#      ")
        if self.notes:
            head += ["#", "# Done by the import:"]
            for line in self.notes:
                head += _wrap(f"- {line}", "#   ", "#     ")
        order = ["instrument", "version", "title::vi", "title::en", "languages", "anonymous", "intro::vi",
                 "intro::en", "instructions::vi", "instructions::en", "settings", "constructs", "choices", "survey"]
        data = {k: self.data[k] for k in order if k in self.data} | self.data
        data["choices"] = {k: [_Flow(c) for c in v] if isinstance(v, list) else v for k, v in data["choices"].items()}
        body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110,
                         default_flow_style=False)
        return "\n".join(head) + "\n\n" + body


def _wrap(text: str, first: str, rest: str, width: int = 110) -> list[str]:
    words, lines, cur = text.split(" "), [], first
    for w in words:
        if len(cur) + len(w) > width and cur.strip("# "):
            lines.append(cur.rstrip())
            cur = rest
        cur += w + " "
    lines.append(cur.rstrip())
    return lines


class _Flow(dict):
    """A mapping written on one line (choices), as in the hand-written instrument files."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True))


# ----------------------------------------------------------------------------- reading sheets

#: Column aliases pyxform accepts, to the names used here.
_ALIASES = {"relevance": "relevant", "calculate": "calculation", "caption": "label", "list name": "list_name",
            "constraining_message": "constraint_message", "readonly": "read_only",
            "requiredmsg": "required_message"}
_TRANSLATABLE = ("label", "hint", "constraint_message", "required_message", "guidance_hint", "media", "image",
                 "audio", "video", "big-image", "form_title")
_LANG_NAMES = {"vi": "vi", "vie": "vi", "vietnamese": "vi", "tiếng việt": "vi", "tieng viet": "vi",
               "en": "en", "eng": "en", "english": "en", "tiếng anh": "en"}
_LANG_IN_BRACKETS = re.compile(r"\(([A-Za-z-]+)\)\s*$")


def _lang_code(spec: str) -> str | None:
    """``vi``/``en`` for an XLSForm language (``Vietnamese (vi)``, ``English``, ``en``), else None."""
    m = _LANG_IN_BRACKETS.search(spec)
    if m:
        return _LANG_NAMES.get(m.group(1).lower().split("-")[0])
    return _LANG_NAMES.get(unicodedata.normalize("NFC", spec).strip().lower())


@dataclass(frozen=True)
class _Col:
    header: str      # as written in the sheet
    letter: str      # A, B, …
    field: str       # label, name, relevant, …
    lang: str | None  # language part after '::' (raw), None when not translated


@dataclass
class _Row:
    number: int
    cells: dict[str, str]          # column header → text
    letters: dict[str, str]        # column header → letter


class _Sheet:
    def __init__(self, path: Path, name: str, ws):
        self.name = name
        self.path = path
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None) or ()
        self.columns: list[_Col] = []
        for idx, h in enumerate(header, start=1):
            if h is None or not str(h).strip():
                continue
            text = " ".join(str(h).split())
            base, _, lang = text.partition("::")
            key = base.strip().lower()
            key = _ALIASES.get(key, key)
            self.columns.append(_Col(text, get_column_letter(idx), key, lang.strip() if lang else None))
        index = {c.letter: c for c in self.columns}
        self.rows: list[_Row] = []
        for number, values in enumerate(rows, start=2):
            cells, letters = {}, {}
            for idx, value in enumerate(values, start=1):
                col = index.get(get_column_letter(idx))
                text = _cell_text(value)
                if col is None or text == "":
                    continue
                cells[col.header] = text
                letters[col.header] = col.letter
            if cells:
                self.rows.append(_Row(number, cells, letters))

    def col(self, field_name: str) -> _Col | None:
        """The untranslated column for *field_name* (``type``, ``name``, …)."""
        for c in self.columns:
            if c.field == field_name and c.lang is None:
                return c
        return None

    def where(self, row: _Row | int, column: str | None = None, value: str | None = None) -> str:
        number = row.number if isinstance(row, _Row) else row
        text = f"{self.path.name}: sheet '{self.name}', row {number}"
        if column is not None:
            c = next((c for c in self.columns if c.header == column or (c.field == column and c.lang is None)), None)
            text += f", column '{c.header}' ({c.letter})" if c else f", column '{column}'"
        if value is not None:
            text += f", value {value!r}"
        return text


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _get(row: _Row, sheet: _Sheet, field_name: str) -> str:
    c = sheet.col(field_name)
    return row.cells.get(c.header, "") if c else ""


# ----------------------------------------------------------------------------- expressions

_TOKEN = re.compile(r"""\s*(?:(?P<ref>\$\{[^}]*\})|(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<str>'[^']*'|"[^"]*")
                     |(?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)|(?P<dot>\.(?![\w.]))|(?P<name>[A-Za-z_][A-Za-z0-9_:-]*))""",
                    re.VERBOSE)
#: Functions `analysis.ingest.expression` evaluates.
_FUNCTIONS = frozenset({"not", "selected", "count-selected", "string-length", "regex", "number", "int", "if",
                        "true", "false"})
_WORDS = frozenset({"and", "or", "div", "mod"})
#: XLSForm string tests of a literal that ``regex`` expresses exactly.
_AS_REGEX = {"contains": ("", ""), "starts-with": ("^", ""), "ends-with": ("", "$")}
_SUPPORTED = ". ${name} numbers 'text' = != < <= > >= + - * div mod and or ( ) " + " ".join(sorted(_FUNCTIONS))


def translate_expression(source: str, *, choice_context: bool = False) -> tuple[str, tuple[str, ...]]:
    """*source* in the project's expression language and the items it names, or ValueError with the rule.

    Examples
    --------
    >>> translate_expression("${party} = 'no' and contains(${q}, 'a.b')")
    ("${party} = 'no' and regex(${q}, 'a\\\\.b')", ('party', 'q'))
    >>> translate_expression(". <= today()")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: function today() is not in the project's expression language (supported: . ${name} ...)
    """
    tokens, pos, text = [], 0, source.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read {text[pos:pos + 12]!r} (XPath paths such as ../x or /data/x are not "
                             f"supported: refer to items as ${{name}}; supported: {_SUPPORTED})")
        tokens.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
    out, refs, k, rewritten = [], [], 0, False
    while k < len(tokens):
        kind, tok = tokens[k]
        if kind == "ref":
            refs.append(tok[2:-1])
        if kind == "name" and k + 1 < len(tokens) and tokens[k + 1] == ("op", "("):
            window = tokens[k:k + 6]
            if tok in _AS_REGEX and len(window) == 6 and window[2][0] in ("ref", "dot") \
                    and window[3] == ("op", ",") and window[4][0] == "str" and window[5] == ("op", ")"):
                lead, tail = _AS_REGEX[tok]
                literal = re.escape(window[4][1][1:-1]).replace("'", "")
                if window[2][0] == "ref":
                    refs.append(window[2][1][2:-1])
                out.append(("call", f"regex({window[2][1]}, '{lead}{literal}{tail}')"))
                rewritten = True
                k += 6
                continue
            if tok not in _FUNCTIONS:
                raise ValueError(f"function {tok}() is not in the project's expression language "
                                 f"(supported: {_SUPPORTED})")
            kind = "func"
        elif kind == "name" and tok not in _WORDS and not choice_context:
            raise ValueError(f"unknown word {tok!r} (refer to items as ${{name}}; supported: {_SUPPORTED})")
        out.append((kind, tok))
        k += 1
    # Unchanged expressions keep their own spelling, so a round trip gives back the same text.
    return (_join(out) if rewritten else text), tuple(dict.fromkeys(refs))


def _join(tokens: list[tuple[str, str]]) -> str:
    """Tokens back into text with the spacing of the hand-written files: ``${a} = 'x'``, ``f(a, b)``."""
    text, prev = "", ("", "")
    for kind, tok in tokens:
        glue = (not text or prev[1] == "(" or tok in (")", ",") or (tok == "(" and prev[0] == "func")
                or (prev[1] == "-" and kind == "num" and text[:-1].rstrip()[-1:] in ("", "(", ",", "=", "<", ">")))
        text += tok if glue else " " + tok
        prev = (kind, tok)
    return text


# ----------------------------------------------------------------------------- the survey sheet

_PLAIN_TYPES = {"integer": "integer", "int": "integer", "decimal": "decimal", "text": "text", "string": "text",
                "date": "date", "datetime": "datetime", "datetime_": "datetime", "time": "time", "note": "note",
                "calculate": "calculate", "start": "start", "end": "end", "today": "today"}
_SELECTS = {"select_one": "select_one", "select one": "select_one", "select1": "select_one",
            "select_multiple": "select_multiple", "select all that apply": "select_multiple",
            "select multiple": "select_multiple"}
_GROUP_TYPES = {"begin_group": "begin", "begin group": "begin", "end_group": "end", "end group": "end"}
_METADATA = frozenset({"deviceid", "imei", "subscriberid", "simserial", "phonenumber", "username", "email",
                       "audit", "start-geopoint", "background-geopoint"})
_UNSUPPORTED = frozenset({"geopoint", "geotrace", "geoshape", "image", "photo", "audio", "video", "file",
                          "barcode", "range", "acknowledge", "rank", "hidden", "trigger", "background-audio",
                          "xml-external", "csv-external", "select_one_from_file", "select_multiple_from_file",
                          "select_one_external", "begin_repeat", "begin repeat", "end_repeat", "end repeat"})
_SUPPORTED_TYPES = ("select_one LIST [or_other], select_multiple LIST [or_other], integer, decimal, text, date, "
                    "datetime, time, note, calculate, start, end, today, begin_group, end_group")
_YES = {"yes", "true", "true()", "1"}
_NO = {"no", "false", "false()", "0", ""}
#: Columns the instrument keeps (besides translated labels); others are listed as not carried over.
_KEPT = {"type", "name", "required", "relevant", "constraint", "choice_filter", "appearance", "calculation",
         "default"}


@dataclass
class _Node:
    row: _Row
    name: str
    kind: str                      # item | group
    entry: dict
    children: list = field(default_factory=list)


class _Reader:
    """One pass over the sheets, collecting problems, to-dos and notes."""

    def __init__(self, path: Path, default_lang: str):
        self.path = path
        self.problems: list[str] = []
        self.todo: list[str] = []
        self.notes: list[str] = []
        self.default_lang = default_lang
        self.langs_seen: set[str] = set()
        self.other_langs: dict[str, set[str]] = {}
        self.not_carried: dict[str, list[str]] = {}

    # -- languages and columns
    def lang_of(self, col: _Col) -> str | None:
        if col.lang is None:
            return self.default_lang
        code = _lang_code(col.lang)
        if code is None:
            self.other_langs.setdefault(col.lang, set()).add(col.field)
        return code

    def texts(self, sheet: _Sheet, row: _Row, entry: dict, fields: tuple[str, ...]) -> None:
        """``label::vi``… from every translated column of *fields*; a language-specific column wins over plain."""
        for plain_first in (True, False):
            for col in sheet.columns:
                if col.field not in fields or (col.lang is None) != plain_first or col.header not in row.cells:
                    continue
                lang = self.lang_of(col)
                if lang is None:
                    continue
                self.langs_seen.add(lang)
                entry[f"{col.field}::{lang}"] = row.cells[col.header]
        for f in fields:
            # An English text equal to the Vietnamese is what the exporter writes for a missing one;
            # the instruments fall back to Vietnamese, so one copy says the same.
            if f"{f}::en" in entry and entry[f"{f}::en"] == entry.get(f"{f}::vi"):
                del entry[f"{f}::en"]

    def leftover(self, sheet: _Sheet, row: _Row, kept: set[str]) -> None:
        for col in sheet.columns:
            if col.header in row.cells and col.field not in kept and not col.header.startswith("$"):
                if col.field in ("label", "hint", "constraint_message") and col.lang is not None:
                    continue  # a language the instruments lack is listed once, by `lang_of`
                self.not_carried.setdefault(f"sheet '{sheet.name}', column '{col.header}' ({col.letter})",
                                            []).append(str(row.number))

    # -- survey
    def survey(self, sheet: _Sheet) -> tuple[list[_Node], dict[str, _Row], list[tuple]]:
        root: list[_Node] = []
        stack: list[_Node] = []
        names: dict[str, _Row] = {}
        selects: list[tuple] = []   # (row, list name, or_other, node)
        type_col, name_col = sheet.col("type"), sheet.col("name")
        for c, what in ((type_col, "type"), (name_col, "name")):
            if c is None:
                self.problems.append(f"{self.path.name}: sheet 'survey', row 1: no column '{what}' "
                                     "(an XLSForm survey sheet needs 'type' and 'name' columns)")
        if type_col is None or name_col is None:
            return root, names, selects
        for row in sheet.rows:
            raw_type = row.cells.get(type_col.header, "")
            name = row.cells.get(name_col.header, "")
            t = " ".join(raw_type.split())
            low = t.lower()
            if not t:
                if set(row.cells) - {c.header for c in sheet.columns if c.header.startswith("$")}:
                    self.problems.append(sheet.where(row, "type", "") + ": missing type (every row with content "
                                         "needs a type)")
                continue
            if _GROUP_TYPES.get(low) == "end":
                if not stack:
                    self.problems.append(sheet.where(row, "type", t) + ": end_group without a begin_group")
                elif name and name != stack[-1].name:
                    self.problems.append(sheet.where(row, "name", name) + f": end_group closes '{name}' but the "
                                         f"open group is '{stack[-1].name}' (begun at row {stack[-1].row.number})")
                    stack.pop()
                else:
                    stack.pop()
                continue
            if not name:
                self.problems.append(sheet.where(row, "name", "") + f": a '{t}' row needs a name")
                continue
            if name in names:
                self.problems.append(sheet.where(row, "name", name) + f": duplicate name (also row "
                                     f"{names[name].number}); names must be unique in the form")
                continue
            names[name] = row
            if _GROUP_TYPES.get(low) == "begin":
                entry: dict = {"type": "begin_group", "name": name}
                self.texts(sheet, row, entry, ("label",))
                for key in ("relevant", "appearance"):
                    if _get(row, sheet, key):
                        entry[key] = _get(row, sheet, key)
                self.leftover(sheet, row, {"type", "name", "relevant", "appearance", "label"})
                node = _Node(row, name, "group", entry)
                (stack[-1].children if stack else root).append(node)
                stack.append(node)
                continue
            base, list_name, or_other = self.item_type(sheet, row, t)
            if base is None:
                continue
            entry = {"type": f"{base} {list_name}" if list_name else base, "name": name}
            self.texts(sheet, row, entry, ("label", "hint"))
            req = _get(row, sheet, "required")
            if req.lower() in _YES:
                entry["required"] = True
            elif req.lower() not in _NO:
                self.todo.append(f"item '{name}' (survey row {row.number}): required only when {req!r}; the "
                                 "project's required is yes or no, so the item was left optional — set "
                                 "`required: true` if it must always be answered")
            for key in ("relevant", "constraint", "choice_filter", "appearance", "calculation", "default"):
                if _get(row, sheet, key):
                    entry[key] = _get(row, sheet, key)
            self.texts(sheet, row, entry, ("constraint_message",))
            if base in ("start", "end"):
                entry["role"] = base
            self.leftover(sheet, row, _KEPT | {"label", "hint", "constraint_message"})
            node = _Node(row, name, "item", entry)
            (stack[-1].children if stack else root).append(node)
            if list_name:
                selects.append((row, list_name, or_other, node, stack[-1] if stack else None))
        for node in stack:
            self.problems.append(sheet.where(node.row, "type", "begin_group") + f": group '{node.name}' is never "
                                 "closed (no end_group row)")
        return root, names, selects

    def item_type(self, sheet: _Sheet, row: _Row, t: str) -> tuple[str | None, str | None, bool]:
        low = t.lower()
        from_file = ("select_one_from_file", "select_multiple_from_file", "select one from file",
                     "select multiple from file", "select_one_external")
        for alias in () if low.startswith(from_file) else sorted(_SELECTS, key=len, reverse=True):
            if low == alias or low.startswith(alias + " "):
                rest = t[len(alias):].split()
                or_other = len(rest) == 2 and rest[1].lower() == "or_other"
                if not rest or (len(rest) > 1 and not or_other):
                    self.problems.append(sheet.where(row, "type", t) + f": '{alias}' needs one choice list name "
                                         "(optionally followed by 'or_other')")
                    return None, None, False
                return _SELECTS[alias], rest[0], or_other
        if low in _PLAIN_TYPES:
            return _PLAIN_TYPES[low], None, False
        first = low.split()[0]
        if low in _METADATA:
            self.todo.append(f"metadata '{_get(row, sheet, 'name')}' (survey row {row.number}, type {t}) was not "
                             "carried over: the project's instruments keep only start, end and today (an anonymous "
                             "survey collects nothing that identifies the device or person)")
            return None, None, False
        if low in _UNSUPPORTED or first in _UNSUPPORTED or low.startswith(from_file):
            self.problems.append(sheet.where(row, "type", t) + ": this XLSForm type is not supported by the "
                                 f"project's instruments (supported: {_SUPPORTED_TYPES})")
        else:
            self.problems.append(sheet.where(row, "type", t) + f": unknown type (supported: {_SUPPORTED_TYPES})")
        return None, None, False

    # -- choices
    def choices(self, sheet: _Sheet | None) -> dict[str, list[tuple[_Row, dict]]]:
        lists: dict[str, list[tuple[_Row, dict]]] = {}
        if sheet is None:
            return lists
        lcol, ncol = sheet.col("list_name"), sheet.col("name") or sheet.col("value")
        for c, what in ((lcol, "list_name"), (ncol, "name")):
            if c is None:
                self.problems.append(f"{self.path.name}: sheet 'choices', row 1: no column '{what}' (an XLSForm "
                                     "choices sheet needs 'list_name' and 'name' columns)")
        if lcol is None or ncol is None:
            return lists
        seen: dict[tuple[str, str], int] = {}
        skip = {lcol.header, ncol.header}
        for row in sheet.rows:
            list_name, code = row.cells.get(lcol.header, ""), row.cells.get(ncol.header, "")
            if not list_name or not code:
                missing = "list_name" if not list_name else "name"
                self.problems.append(sheet.where(row, missing, "") + ": a choice needs both a list_name and a name")
                continue
            if (list_name, code) in seen:
                self.problems.append(sheet.where(row, ncol.header, code) + f": duplicate choice name in list "
                                     f"'{list_name}' (also row {seen[list_name, code]})")
                continue
            seen[list_name, code] = row.number
            entry: dict = {"name": code}
            self.texts(sheet, row, entry, ("label",))
            for col in sheet.columns:
                if col.header in skip or col.header not in row.cells or col.header.startswith("$") \
                        or col.field == "label":
                    continue
                if col.lang is not None or col.field in _TRANSLATABLE or col.field.startswith("media"):
                    self.not_carried.setdefault(f"sheet 'choices', column '{col.header}' ({col.letter})",
                                                []).append(str(row.number))
                    continue
                entry[col.header] = row.cells[col.header]   # a choice_filter attribute (org=${…})
            lists.setdefault(list_name, []).append((row, entry))
        return lists


# ----------------------------------------------------------------------------- choice values

_MISSING_LABEL = re.compile(r"không biết|không trả lời|không rõ|từ chối|không ý kiến|don'?t know|do not know|"
                            r"no answer|prefer not|refuse|not sure", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _infer_values(list_name: str, entries: list[dict]) -> tuple[str | None, list[str]]:
    """Set ``value`` / ``missing`` where the codes or labels say them; a description of what was set."""
    missing = [e for e in entries if any(_MISSING_LABEL.search(str(v)) for k, v in e.items() if k.startswith("label"))]
    for e in missing:
        e["missing"] = True
    rest = [e for e in entries if not e.get("missing")]
    said = None
    if rest and all(_NUMBER.fullmatch(e["name"]) for e in rest):
        for e in rest:
            x = float(e["name"])
            e["value"] = int(x) if x.is_integer() else x
        vals = [e["value"] for e in rest]
        said = f"{list_name} ({min(vals):g}–{max(vals):g} from the codes)"
    elif sorted(e["name"].lower() for e in rest) == ["no", "yes"]:
        for e in rest:
            e["value"] = 1 if e["name"].lower() == "yes" else 0
        said = f"{list_name} (yes = 1, no = 0)"
    return said, [f"{list_name} '{e['name']}'" for e in missing]


def _frame_list(entries: list[dict]) -> bool:
    """True when the list is the population frame's list of units (codes, organization and names)."""
    try:
        units = load_units()
    except (FileNotFoundError, OSError):
        return False
    frame = {r.unit_id: (r.org, r.name_vi) for r in units.itertuples()}
    return len(entries) == len(frame) and all(
        e["name"] in frame and e.get("org") == frame[e["name"]][0] and e.get("label::vi") == frame[e["name"]][1]
        for e in entries)


# ----------------------------------------------------------------------------- putting it together


def import_xlsform(path: Path | str, name: str, version: str | int, *, default_lang: str = "vi") -> XLSFormImport:
    """Read the XLSForm at *path* into instrument *name* version *version*; raise `XLSFormError`.

    *default_lang* is the language of the plain ``label`` / ``hint`` columns when the settings
    sheet has no ``default_language`` (``vi`` or ``en``).
    """
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise XLSFormError([f"{path.name}: not an .xlsx workbook (save the XLSForm as .xlsx; .xls and .ods are "
                            "not read)"])
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise XLSFormError([f"{path}: file not found"]) from None
    except Exception as exc:  # noqa: BLE001 — any unreadable workbook is one problem of the file
        raise XLSFormError([f"{path.name}: cannot be read as an .xlsx workbook "
                            f"({type(exc).__name__}: {exc})"]) from None
    sheets = {ws.title.strip().lower(): ws for ws in wb.worksheets}
    if "survey" not in sheets:
        raise XLSFormError([f"{path.name}: no sheet 'survey' (sheets: {', '.join(ws.title for ws in wb.worksheets)}); "
                            "an XLSForm has the sheets survey, choices and settings"])
    survey = _Sheet(path, "survey", sheets["survey"])
    choices = _Sheet(path, "choices", sheets["choices"]) if "choices" in sheets else None
    settings = _Sheet(path, "settings", sheets["settings"]) if "settings" in sheets else None
    wb.close()

    setting: dict[str, str] = {}     # untranslated settings, by field
    titles: dict[str | None, str] = {}  # form_title by language part (None: plain)
    if settings is not None and settings.rows:
        first = settings.rows[0]
        for c in settings.columns:
            if c.header in first.cells:
                if c.field == "form_title":
                    titles[c.lang] = first.cells[c.header]
                elif c.lang is None:
                    setting[c.field] = first.cells[c.header]
    dl = setting.get("default_language", "")
    lang = _lang_code(dl) if dl else default_lang
    reader = _Reader(path, lang or default_lang)
    if dl and lang is None:
        reader.todo.append(f"settings default_language {dl!r} is neither Vietnamese nor English: the plain label "
                           f"columns were read as {default_lang} (--default-lang)")

    root, names, selects = reader.survey(survey)
    lists = reader.choices(choices)
    _check_selects(reader, survey, choices, selects, lists, names)
    _translate_all(reader, survey, root, names)
    if reader.problems:
        raise XLSFormError(reader.problems)

    data: dict[str, Any] = {"instrument": name, "version": str(version)}
    for part, text in sorted(titles.items(), key=lambda kv: kv[0] is not None):
        code = reader.default_lang if part is None else _lang_code(part)
        if code is not None:
            data[f"title::{code}"] = text
    languages = _languages(reader, root)
    data["languages"] = languages
    kept = {k: v for k, v in setting.items() if k not in ("version", "default_language")}
    if setting.get("version"):
        kept["form_version"] = setting["version"]
    kept["default_language"] = reader.default_lang
    data["settings"] = kept
    data["choices"] = _choices_yaml(reader, lists)
    data["survey"] = _survey_yaml(root)
    _todo(reader, data, languages, root)
    return XLSFormImport(path.name, data, reader.todo, reader.notes)


def _languages(reader: _Reader, root: list[_Node]) -> list[str]:
    """The form's languages, the one labelling the most items first (Vietnamese on a tie)."""
    seen = [x for x in ("vi", "en") if x in reader.langs_seen] or [reader.default_lang]
    labelled = {x: sum(f"label::{x}" in n.entry for n in _walk(root)) for x in seen}
    return sorted(seen, key=lambda x: (-labelled[x], x != "vi"))


def _check_selects(reader: _Reader, survey: _Sheet, choices: _Sheet | None, selects: list, lists: dict,
                   names: dict) -> None:
    for row, list_name, or_other, node, parent in selects:
        if list_name not in lists:
            where = survey.where(row, "type", node.entry["type"] + (" or_other" if or_other else ""))
            if choices is None:
                reader.problems.append(where + f": choice list '{list_name}' not found — the workbook has no "
                                       "sheet 'choices'")
            else:
                reader.problems.append(where + f": choice list '{list_name}' not found in sheet 'choices' "
                                       f"(lists: {', '.join(sorted(lists)) or 'none'})")
            continue
        if or_other:
            entries = [e for _, e in lists[list_name]]
            if not any(e["name"] == "other" for e in entries):
                lists[list_name].append((row, {"name": "other", "label::vi": "Khác", "label::en": "Other"}))
            other = f"{node.name}_other"
            if other in names:
                reader.problems.append(survey.where(row, "name", node.name) + f": 'or_other' adds the item "
                                       f"'{other}', but the form already has one (row {names[other].number})")
                continue
            extra = _Node(row, other, "item", {"type": "text", "name": other, "label::vi": "Ghi rõ lựa chọn khác",
                                               "label::en": "Specify other",
                                               "relevant": f"selected(${{{node.name}}}, 'other')"})
            extra.added = True  # type: ignore[attr-defined]
            node.or_other = extra  # type: ignore[attr-defined]
            names[other] = row
            reader.notes.append(f"'{node.name}' is '… or_other': added choice 'other' to list '{list_name}' and the "
                                f"text item '{other}' asked when it is chosen, as ODK does (check their labels)")


def _walk(nodes: list[_Node]):
    for n in nodes:
        yield n
        if getattr(n, "or_other", None) is not None:
            yield n.or_other  # type: ignore[attr-defined]
        yield from _walk(n.children)


def _translate_all(reader: _Reader, survey: _Sheet, root: list[_Node], names: dict) -> None:
    for node in _walk(root):
        if getattr(node, "added", False):
            continue
        for key in ("relevant", "constraint", "choice_filter"):
            src = node.entry.get(key)
            if not src:
                continue
            where = survey.where(node.row, key, src)
            try:
                text, refs = translate_expression(src, choice_context=key == "choice_filter")
            except ValueError as exc:
                if key == "constraint":
                    del node.entry[key]
                    node.entry.pop("constraint_message::vi", None)
                    node.entry.pop("constraint_message::en", None)
                    reader.todo.append(f"item '{node.name}' (survey row {node.row.number}): constraint {src!r} left "
                                       f"out — {exc}; rewrite it in that subset or accept the looser check")
                else:
                    reader.problems.append(f"{where}: {exc}")
                continue
            unknown = [r for r in refs if r not in names]
            if unknown:
                reader.problems.append(f"{where}: refers to {', '.join('${' + u + '}' for u in unknown)}, "
                                       "which is no item of the form")
                continue
            if text != src:
                reader.notes.append(f"item '{node.name}': {key} {src!r} written as {text!r}")
            node.entry[key] = text


def _choices_yaml(reader: _Reader, lists: dict) -> dict:
    out: dict[str, Any] = {}
    valued, missing, nominal = [], [], []
    for list_name, rows in lists.items():
        entries = [e for _, e in rows]
        if _frame_list(entries):
            out[list_name] = {"from_frame": "units"}
            reader.notes.append(f"choice list '{list_name}' ({len(entries)} choices) is the population frame's list "
                                "of units: written as `from_frame: units`")
            continue
        said, miss = _infer_values(list_name, entries)
        valued += [said] if said else []
        missing += miss
        if not said:
            nominal.append(list_name)
        ordered = []
        for e in entries:
            keys = ["name", "value", "missing", "label::vi", "label::en"]
            ordered.append({k: e[k] for k in keys if k in e} | {k: v for k, v in e.items() if k not in keys})
        out[list_name] = ordered
    if valued or missing:
        said = []
        if valued:
            said.append("choice values (used for scoring and indicator formulas) were proposed for "
                        + ", ".join(valued))
        if missing:
            said.append("missing codes (never averaged) for " + ", ".join(missing))
        reader.todo.append("; ".join(said) + " — check them")
    if nominal:
        reader.todo.append("lists without values (nominal unless you give each choice a `value:`): "
                           + ", ".join(nominal) + "; an ordered scale needs a value on every substantive choice "
                           "and `missing: true` on its don't-know codes")
    return out


#: Key order of a survey entry, as in the hand-written files.
_KEY_ORDER = ("type", "name", "label::vi", "label::en", "hint::vi", "hint::en", "required", "relevant", "constraint",
              "constraint_message::vi", "constraint_message::en", "choice_filter", "appearance", "calculation",
              "default", "role")


def _survey_yaml(nodes: list[_Node]) -> list[dict]:
    """Survey entries in order; a group's items under ``items:``, an or_other's text item after it."""
    out = []
    for node in nodes:
        entry = {k: node.entry[k] for k in _KEY_ORDER if k in node.entry} | node.entry
        if node.kind == "group":
            entry["items"] = _survey_yaml(node.children)
        out.append(entry)
        if getattr(node, "or_other", None) is not None:
            out.append(dict(node.or_other.entry))  # type: ignore[attr-defined]
    return out


def _todo(reader: _Reader, data: dict, languages: list[str], root: list[_Node]) -> None:
    items = [n for n in _walk(root) if n.kind == "item"]
    lists = data["choices"]
    scales = [n.name for n in items if n.entry["type"].startswith("select_one ")
              and isinstance(lists.get(n.entry["type"].split()[1]), list)
              and sum(1 for c in lists[n.entry["type"].split()[1]] if "value" in c) >= 3]
    scale_note = f" (scale items: {_few(scales)})" if scales else ""
    reader.todo[:0] = [
        "constructs: add a `constructs:` mapping (label::vi, label::en, task_group, objective, min_items) and "
        f"`construct: <name>` on each of its items{scale_note}; a construct needs at least 3 items on one list",
        "reverse keys: `reverse: true` on every reverse-keyed scale item (scored low + high − x)",
        "task groups: `task_group:` on constructs, indicators and unit items (the plan's task groups, "
        "surveys/task_groups.yaml); none in a study without a plan",
        "targets: for a unit survey, `indicators:` (formula, unit, direction, task_group, objective) with the "
        "plan's `target: {value, year, per: unit|total}`",
        "roles: `role:` on the items the code finds by role — org, unit, sex, age_group, party, education, "
        "theory, position, comment (start/end were set from the types)",
        "sensitive and anonymous: `sensitive: true` on sensitive items (party membership, views on the committee, "
        "free text), `anonymous: true` at the top for an anonymous survey; `intro::vi` and `instructions::vi` "
        "for the printed questionnaire",
    ]
    first = languages[0]
    unlabelled = [n.name for n in items if n.entry["type"] not in ("start", "end", "today")
                  and f"label::{first}" not in n.entry]
    if unlabelled:
        reader.todo.append(f"items without a {first} label (instrument check needs one): {_few(unlabelled)}")
    if f"title::{first}" not in data:
        reader.todo.append(f"title::{first}: the form has no form_title in settings")
    bad = [n.name for n in _walk(root) if not re.fullmatch(r"[a-z][a-z0-9_]*", n.name)]
    if bad:
        reader.todo.append("names instrument check refuses (lower-case letters, digits and '_' only): "
                           f"{_few(bad)} — rename them in the form too, since exports name columns by them")
    for lang, fields in sorted(reader.other_langs.items()):
        reader.todo.append(f"language {lang!r} ({', '.join(sorted(fields))}) not carried over: the instruments "
                           "have Vietnamese and English")
    for where, rows in reader.not_carried.items():
        reader.todo.append(f"{where} not carried over (rows {_few(rows)}): the instruments have no such key")


def _few(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f" … ({len(names)} in all)" if len(names) > n else "")


# ----------------------------------------------------------------------------- an earlier version

#: Keys of an item that only the researcher sets, copied from an earlier version by `compare_with`.
_CARRIED_KEYS = ("construct", "reverse", "role", "sensitive", "task_group")


def _survey_entries(survey: list[dict]):
    for d in survey:
        yield d
        yield from _survey_entries(d.get("items") or [])


def _codes(data: dict, list_name: str) -> list[tuple[str, str]] | None:
    entries = data["choices"].get(list_name)
    if isinstance(entries, dict):  # from_frame: the frame's units, as parse builds them
        try:
            return [(r.unit_id, r.name_vi) for r in load_units().itertuples()]
        except (FileNotFoundError, OSError):
            return None
    return [(c["name"], c.get("label::vi", "")) for c in entries or []]


def compare_with(result: XLSFormImport, previous: Instrument, *, carry: bool = False) -> None:
    """Add to *result*'s to-do how it differs from *previous* (an earlier version of the instrument).

    An item is unchanged when its name, type, Vietnamese wording and choice list (codes and
    Vietnamese labels) are those of *previous*. With *carry*, the unchanged items get the
    researcher's keys of *previous* (construct, reverse key, role, sensitivity, task group), their
    lists its values and missing codes, and the instrument its constructs of those items, its
    title::en, intro, instructions, ``anonymous`` and the indicators whose items are all still asked.
    """
    data, v = result.data, previous.version
    entries = [d for d in _survey_entries(data["survey"]) if d["type"] != "begin_group"]
    same, changed, added = [], [], []
    for d in entries:
        if not previous.has_item(d["name"]):
            added.append(d["name"])
            continue
        old = previous.item(d["name"])
        lst = old.list_name
        ok = d["type"] == old.type and d.get("label::vi", "") == old.label_vi and (
            lst is None or _codes(data, lst) == [(c.name, c.label_vi) for c in previous.choice_list(lst)])
        (same if ok else changed).append(d["name"])
    names = {d["name"] for d in entries}
    dropped = [n for n in previous.item_names if n not in names]
    line = f"versions: compared with v{v} — {len(same)} item(s) unchanged"
    if changed:
        line += (f"; changed under the same name: {_few(changed)} (instrument check refuses this: give each a new "
                 f"name in the form and `replaces: <old name>` here, or `comparable_to: <old name>` when the "
                 "change is harmless)")
    if added:
        line += f"; new: {_few(added)} (`replaces:` / `comparable_to:` when one takes the place of a v{v} item)"
    if dropped:
        line += f"; no longer asked: {_few(dropped)}"
    result.todo.append(line)
    if not carry:
        return
    used: set[str] = set()
    for d in entries:
        if d["name"] in same:
            old = previous.item(d["name"])
            for key in _CARRIED_KEYS:
                value = getattr(old, key)
                if value not in (None, False) and key not in d:
                    d[key] = value
            used.add(old.construct or "")
            if old.list_name and isinstance(data["choices"].get(old.list_name), list):
                by_code = {c.name: c for c in previous.choice_list(old.list_name)}
                for c in data["choices"][old.list_name]:
                    c.pop("value", None)
                    c.pop("missing", None)
                    src = by_code[c["name"]]
                    if src.value is not None:
                        c["value"] = int(src.value) if float(src.value).is_integer() else src.value
                    if src.missing:
                        c["missing"] = True
    constructs = {}
    for c in previous.constructs:
        if c.name in used:
            constructs[c.name] = {k: val for k, val in (("label::vi", c.label_vi), ("label::en", c.label_en),
                                                       ("task_group", c.task_group), ("objective", c.objective),
                                                       ("min_items", c.min_items)) if val not in (None, "")}
    if constructs:
        data["constructs"] = constructs
    for key, value in (("title::en", previous.title_en), ("intro::vi", previous.intro_vi),
                       ("intro::en", previous.intro_en), ("instructions::vi", previous.instructions_vi),
                       ("instructions::en", previous.instructions_en)):
        if value and key not in data:
            data[key] = value
    if previous.anonymous:
        data["anonymous"] = True
    indicators = []
    for ind in previous.indicators:
        if all(n in names for n in ind.items):
            d = {"name": ind.name, "label::vi": ind.label_vi, "label::en": ind.label_en, "formula": ind.formula,
                 "unit": ind.unit, "direction": ind.direction, "task_group": ind.task_group,
                 "objective": ind.objective}
            if ind.target is not None:
                d["target"] = {k: val for k, val in (("value", ind.target), ("year", ind.target_year),
                                                     ("per", ind.target_per), ("note::vi", ind.target_note_vi),
                                                     ("note::en", ind.target_note_en)) if val not in (None, "")}
            indicators.append({k: val for k, val in d.items() if val not in (None, "")})
    if indicators:
        data["indicators"] = indicators
    result.notes.append(f"carried over from v{v} for the {len(same)} unchanged item(s): their construct, reverse "
                        f"key, role, sensitivity and task group, their lists' values and missing codes, "
                        f"{len(constructs)} construct(s), {len(indicators)} indicator(s), title, intro and "
                        "anonymity — check them; the to-do above still applies to the new and changed items")


def write_instrument(result: XLSFormImport, out: Path | str, *, force: bool = False) -> Path:
    """Write *result* to *out*; an existing file is replaced only with *force* (FileExistsError otherwise)."""
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; nothing written (pass --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(result.yaml_text(), encoding="utf-8")
    tmp.replace(out)
    return out
