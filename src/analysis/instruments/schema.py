"""Survey instruments as code: ``surveys/<name>/v<version>.yaml`` → a frozen `Instrument`.

The YAML files are the single source of truth for items, labels, scales, constructs and the
unit-survey indicators (schema: ``surveys/README.md``). Everything downstream — import,
validation, scoring, reports — asks this module, and finds items by their *role* or
*construct*, never by name.

Loading checks the file and raises one `InstrumentError` listing every problem found (file and
item named in each line); `check_all` also checks that the member + unit pair covers every task
group of the plan. Exports (XLSForm, printable questionnaire, codebook) live in
`analysis.instruments.export`.

Examples
--------
>>> member = load("member")
>>> member.name, member.version
('member', '1')
>>> [i.list_name for i in member.by_role("org")]
['org']
>>> member.missing_codes("agree5")
('9',)
>>> member.choice_label("agree5", "1", "vi")
'Hoàn toàn không đồng ý'
>>> len(load("unit").task_groups)
6
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import yaml

from analysis import config

__all__ = [
    "ROLES",
    "InstrumentError",
    "Choice",
    "Item",
    "Group",
    "Construct",
    "Indicator",
    "TaskGroup",
    "Objective",
    "Instrument",
    "ItemComparison",
    "load",
    "versions",
    "instrument_path",
    "check_file",
    "check_all",
    "comparable_items",
    "formula_items",
    "expression_refs",
]

#: Roles an item can play; code finds demographic and comment items through these.
ROLES: tuple[str, ...] = (
    "org", "unit", "sex", "age_group", "party", "education", "theory", "position", "comment",
    "start", "end",
)
#: Roles that several items may share (all other roles: at most one item per instrument).
_MULTI_ROLES = frozenset({"comment"})
_BASE_TYPES = frozenset({
    "select_one", "select_multiple", "integer", "decimal", "text", "date", "datetime", "time",
    "note", "calculate", "start", "end", "today",
})
_SELECT_TYPES = frozenset({"select_one", "select_multiple"})
#: Metadata types carry no question text, so they need no label.
_META_TYPES = frozenset({"start", "end", "today"})
_ITEM_KEYS = frozenset({
    "type", "name", "label::vi", "label::en", "hint::vi", "hint::en", "required", "relevant",
    "constraint", "constraint_message::vi", "constraint_message::en", "choice_filter",
    "appearance", "construct", "reverse", "task_group", "role", "sensitive", "comparable_to",
    "replaces", "calculation", "default", "objective",
})
_GROUP_KEYS = frozenset({"type", "name", "label::vi", "label::en", "relevant", "appearance", "items"})
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_REF = re.compile(r"\$\{([^}]*)\}")
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# Words a pandas-eval formula may use that are not item names.
_FORMULA_WORDS = frozenset({"and", "or", "not", "in", "True", "False"})
_DIRECTIONS = ("higher", "lower")
TASK_GROUP_NUMBERS = (1, 2, 3, 4, 5, 6)


class InstrumentError(ValueError):
    """One or more problems in instrument files; ``problems`` lists them all.

    Each problem starts with the file and names the item, construct, choice list or
    indicator concerned.
    """

    def __init__(self, problems: Iterable[str]):
        self.problems: tuple[str, ...] = tuple(problems)
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in instrument files:\n"
                         + "\n".join(f"  - {p}" for p in self.problems))


# ----------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class Choice:
    """One answer option of a choice list (a row of the XLSForm ``choices`` sheet).

    ``name`` is the code stored in data (always a string); ``value`` the number it stands for
    in scoring and indicator formulas (None for nominal lists); ``missing`` marks codes such as
    "Không biết / không trả lời" that become NaN and are never averaged. ``filters`` holds extra
    columns used by ``choice_filter`` (e.g. ``(("org", "CDVC"),)`` for units).
    """

    list_name: str
    name: str
    label_vi: str
    label_en: str = ""
    value: float | None = None
    missing: bool = False
    filters: tuple[tuple[str, str], ...] = ()

    def label(self, lang: str = "vi") -> str:
        """The label in *lang* (``vi`` or ``en``), falling back to Vietnamese."""
        return (self.label_en if lang == "en" else "") or self.label_vi


@dataclass(frozen=True)
class Item:
    """One question (or metadata field) of an instrument, XLSForm ``survey`` row plus analysis keys."""

    name: str
    type: str
    label_vi: str = ""
    label_en: str = ""
    hint_vi: str = ""
    hint_en: str = ""
    required: bool = False
    relevant: str | None = None
    constraint: str | None = None
    constraint_message_vi: str = ""
    constraint_message_en: str = ""
    choice_filter: str | None = None
    appearance: str | None = None
    group: str | None = None
    construct: str | None = None
    reverse: bool = False
    task_group: int | None = None
    role: str | None = None
    sensitive: bool = False
    comparable_to: str | None = None
    replaces: str | None = None

    @property
    def base_type(self) -> str:
        """``select_one`` for ``select_one agree5``; the type itself otherwise."""
        return self.type.split()[0] if self.type else ""

    @property
    def list_name(self) -> str | None:
        """The choice list of a select item, else None."""
        parts = self.type.split()
        return parts[1] if len(parts) > 1 and parts[0] in _SELECT_TYPES else None

    def label(self, lang: str = "vi") -> str:
        """The label in *lang*, falling back to Vietnamese."""
        return (self.label_en if lang == "en" else "") or self.label_vi

    def hint(self, lang: str = "vi") -> str:
        """The hint in *lang*, falling back to Vietnamese."""
        return (self.hint_en if lang == "en" else "") or self.hint_vi


@dataclass(frozen=True)
class Group:
    """A block of items (XLSForm begin_group … end_group), with its own skip condition."""

    name: str
    label_vi: str = ""
    label_en: str = ""
    relevant: str | None = None
    appearance: str | None = None
    items: tuple[str, ...] = ()

    def label(self, lang: str = "vi") -> str:
        return (self.label_en if lang == "en" else "") or self.label_vi


@dataclass(frozen=True)
class Construct:
    """A multi-item scale: scored as the mean of answered items when ``min_items`` are answered."""

    name: str
    label_vi: str
    label_en: str = ""
    task_group: int | None = None
    objective: str | None = None
    min_items: int = 1
    items: tuple[str, ...] = ()

    def label(self, lang: str = "vi") -> str:
        return (self.label_en if lang == "en" else "") or self.label_vi


@dataclass(frozen=True)
class Indicator:
    """A unit-survey indicator: ``formula`` (pandas-eval over item names) with the plan's target.

    ``target`` applies from ``target_year`` on (a deadline such as "by 2025" or a yearly duty
    from 2023); ``direction`` says whether a higher or a lower value is better.
    """

    name: str
    label_vi: str
    label_en: str
    formula: str
    unit: str
    direction: str
    task_group: int | None = None
    objective: str | None = None
    target: float | None = None
    target_year: int | None = None
    target_note_vi: str = ""
    target_note_en: str = ""
    items: tuple[str, ...] = ()

    def label(self, lang: str = "vi") -> str:
        return (self.label_en if lang == "en" else "") or self.label_vi


@dataclass(frozen=True)
class TaskGroup:
    """One of the plan's six groups of tasks and solutions."""

    number: int
    label_vi: str
    label_en: str = ""

    def label(self, lang: str = "vi") -> str:
        return (self.label_en if lang == "en" else "") or self.label_vi


@dataclass(frozen=True)
class Objective:
    """One of the plan's objectives (``O1`` … ``O5``)."""

    code: str
    label_vi: str
    label_en: str = ""


@dataclass(frozen=True)
class Instrument:
    """A loaded, checked instrument. All collections are tuples, in questionnaire order."""

    name: str
    version: str
    title_vi: str
    title_en: str
    items: tuple[Item, ...]
    choices: tuple[Choice, ...]
    constructs: tuple[Construct, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    task_groups: tuple[TaskGroup, ...] = ()
    objectives: tuple[Objective, ...] = ()
    groups: tuple[Group, ...] = ()
    intro_vi: str = ""
    intro_en: str = ""
    instructions_vi: str = ""
    instructions_en: str = ""
    anonymous: bool = False
    settings: tuple[tuple[str, str], ...] = ()
    path: str = ""
    _index: dict = field(default=None, repr=False, compare=False, hash=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        # A name → Item look-up built once; the dict never leaves the object.
        object.__setattr__(self, "_index", {i.name: i for i in self.items})

    # -- look-ups ------------------------------------------------------------------------
    def item(self, name: str) -> Item:
        """The item called *name*; KeyError names the instrument when there is none."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"instrument {self.name!r} v{self.version} has no item {name!r}") from None

    def has_item(self, name: str) -> bool:
        """True when *name* is an item of this instrument."""
        return name in self._index

    @property
    def item_names(self) -> tuple[str, ...]:
        """Names of all items, in order (groups excluded)."""
        return tuple(i.name for i in self.items)

    def by_role(self, role: str) -> tuple[Item, ...]:
        """Items playing *role* (see `ROLES`); empty when none does.

        Examples
        --------
        >>> [i.type for i in load("member").by_role("sex")]
        ['select_one sex']
        """
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        return tuple(i for i in self.items if i.role == role)

    def role_item(self, role: str) -> Item | None:
        """The single item playing *role*, or None."""
        found = self.by_role(role)
        return found[0] if found else None

    def construct(self, name: str) -> Construct:
        """The construct called *name*."""
        for c in self.constructs:
            if c.name == name:
                return c
        raise KeyError(f"instrument {self.name!r} v{self.version} has no construct {name!r}")

    def construct_items(self, construct: str) -> tuple[Item, ...]:
        """Items of *construct*, in questionnaire order.

        Examples
        --------
        >>> items = load("member").construct_items("sat")
        >>> len(items) >= 3, any(i.reverse for i in items)
        (True, True)
        """
        self.construct(construct)
        return tuple(i for i in self.items if i.construct == construct)

    def indicator(self, name: str) -> Indicator:
        """The indicator called *name*."""
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise KeyError(f"instrument {self.name!r} v{self.version} has no indicator {name!r}")

    @property
    def scale_items(self) -> tuple[Item, ...]:
        """Items answered on an ordered numeric scale (select_one on a list with ≥3 values)."""
        return tuple(i for i in self.items if self.is_scale(i))

    @property
    def sensitive_items(self) -> tuple[Item, ...]:
        """Items marked ``sensitive`` (disclosure applies the homogeneity rule to them).

        Examples
        --------
        >>> any(i.role == "comment" for i in load("member").sensitive_items)
        True
        """
        return tuple(i for i in self.items if i.sensitive)

    def is_scale(self, item: Item) -> bool:
        """True for a select_one whose list has at least 3 non-missing choices, all with a value."""
        if item.base_type != "select_one" or item.list_name is None:
            return False
        valid = [c for c in self.choice_list(item.list_name) if not c.missing]
        return len(valid) >= 3 and all(c.value is not None for c in valid)

    def choice_list(self, list_name: str) -> tuple[Choice, ...]:
        """All choices of *list_name*, in order (missing codes included)."""
        found = tuple(c for c in self.choices if c.list_name == list_name)
        if not found:
            raise KeyError(f"instrument {self.name!r} v{self.version} has no choice list {list_name!r}")
        return found

    @property
    def list_names(self) -> tuple[str, ...]:
        """Names of the choice lists, in order of first appearance."""
        return tuple(dict.fromkeys(c.list_name for c in self.choices))

    def missing_codes(self, list_name: str) -> tuple[str, ...]:
        """Codes of *list_name* marked ``missing: true`` (never averaged)."""
        return tuple(c.name for c in self.choice_list(list_name) if c.missing)

    def valid_codes(self, list_name: str) -> tuple[str, ...]:
        """Codes of *list_name* that are substantive answers (not missing codes)."""
        return tuple(c.name for c in self.choice_list(list_name) if not c.missing)

    def choice_values(self, list_name: str) -> dict[str, float]:
        """``{code: value}`` for the non-missing choices of *list_name* that have a value."""
        return {c.name: float(c.value) for c in self.choice_list(list_name)
                if not c.missing and c.value is not None}

    def scale_range(self, list_name: str) -> tuple[float, float]:
        """Lowest and highest value of a scale list (``(1.0, 5.0)`` for agree5).

        Examples
        --------
        >>> load("member").scale_range("agree5")
        (1.0, 5.0)
        """
        values = list(self.choice_values(list_name).values())
        if not values:
            raise ValueError(f"choice list {list_name!r} of {self.name!r} has no numeric values")
        return (min(values), max(values))

    def choice_label(self, list_name: str, code: str, lang: str = "vi") -> str:
        """Label of *code* in *list_name*; KeyError names list and code when unknown."""
        for c in self.choice_list(list_name):
            if c.name == code:
                return c.label(lang)
        raise KeyError(f"choice list {list_name!r} of {self.name!r} has no code {code!r}")

    def group(self, name: str) -> Group:
        """The group called *name*."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f"instrument {self.name!r} v{self.version} has no group {name!r}")

    def task_group(self, number: int) -> TaskGroup:
        """Task group *number* (1–6)."""
        for tg in self.task_groups:
            if tg.number == number:
                return tg
        raise KeyError(f"no task group {number!r}")

    def setting(self, key: str, default: str | None = None) -> str | None:
        return dict(self.settings).get(key, default)


# ----------------------------------------------------------------------------- expressions


def expression_refs(expression: str | None) -> tuple[str, ...]:
    """Item names referenced as ``${name}`` in an XLSForm expression, in order, no repeats.

    Examples
    --------
    >>> expression_refs(". >= 0 and . <= ${total}")
    ('total',)
    """
    if not expression:
        return ()
    return tuple(dict.fromkeys(_REF.findall(str(expression))))


def formula_items(formula: str) -> tuple[str, ...]:
    """Names a pandas-eval formula uses (quoted strings and operators such as ``and`` skipped).

    Examples
    --------
    >>> formula_items("done / (total - other) * 100")
    ('done', 'total', 'other')
    """
    bare = _QUOTED.sub("", str(formula))
    return tuple(dict.fromkeys(w for w in _IDENT.findall(bare)
                               if w not in _FORMULA_WORDS and not w[0].isdigit()))


# ----------------------------------------------------------------------------- paths


def _surveys_dir(surveys_dir: Path | str | None) -> Path:
    return Path(surveys_dir) if surveys_dir is not None else config.SURVEYS_DIR


def _display(path: Path) -> str:
    """A path for messages: relative to the project when inside it, else as given."""
    try:
        return str(path.resolve().relative_to(config.PROJECT_ROOT))
    except ValueError:
        return str(path)


def versions(name: str, *, surveys_dir: Path | str | None = None) -> tuple[str, ...]:
    """Versions of instrument *name* present as ``surveys/<name>/v<N>.yaml``, oldest first.

    Examples
    --------
    >>> versions("member")[0]
    '1'
    """
    folder = _surveys_dir(surveys_dir) / config.check_id(name, "instrument")
    found = []
    for p in folder.glob("v*.yaml"):
        if re.fullmatch(r"v\d+", p.stem):
            found.append(p.stem[1:])
    return tuple(sorted(found, key=int))


def instrument_path(name: str, version: str | int | None = None, *,
                    surveys_dir: Path | str | None = None) -> Path:
    """The YAML file of *name* at *version* (the latest when None)."""
    available = versions(name, surveys_dir=surveys_dir)
    if not available:
        raise FileNotFoundError(f"no instrument {name!r}: no file {_surveys_dir(surveys_dir) / name}/v<N>.yaml")
    version = available[-1] if version is None else str(version)
    if version not in available:
        raise FileNotFoundError(
            f"instrument {name!r} has no version {version!r} (available: {', '.join(available)})")
    return _surveys_dir(surveys_dir) / name / f"v{version}.yaml"


# ----------------------------------------------------------------------------- parsing


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{_display(path)}: file not found")
        return None
    except UnicodeDecodeError as exc:
        problems.append(f"{_display(path)}: not UTF-8 text ({exc})")
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{_display(path)}: not valid YAML ({exc})".replace("\n", " "))
        return None


def _text(d: dict, key: str) -> str:
    v = d.get(key)
    return "" if v is None else str(v).strip()


def _task_groups(surveys_dir: Path, problems: list[str]) -> tuple[tuple[TaskGroup, ...], tuple[Objective, ...]]:
    path = surveys_dir / "task_groups.yaml"
    raw = _read_yaml(path, problems)
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append(f"{_display(path)}: expected a mapping with task_groups and objectives")
        return (), ()
    groups = tuple(TaskGroup(int(g["number"]), _text(g, "label::vi"), _text(g, "label::en"))
                   for g in raw.get("task_groups") or ())
    objectives = tuple(Objective(str(code), _text(o, "label::vi"), _text(o, "label::en"))
                       for code, o in (raw.get("objectives") or {}).items())
    return groups, objectives


def _frame_choices(list_name: str, source: str, population_dir: Path | None, where: str,
                   problems: list[str]) -> list[Choice]:
    if source != "units":
        problems.append(f"{where}: choice list '{list_name}': unknown from_frame '{source}' (known: units)")
        return []
    from analysis.instruments import population  # local import: population is only needed for this list

    try:
        units = population.load_units(population_dir)
    except FileNotFoundError as exc:
        problems.append(f"{where}: choice list '{list_name}': {exc}")
        return []
    return [Choice(list_name, str(r.unit_id), str(r.name_vi), str(r.name_en), None, False,
                   (("org", str(r.org)),)) for r in units.itertuples(index=False)]


def _parse_choices(raw: Any, where: str, population_dir: Path | None, problems: list[str]) -> list[Choice]:
    out: list[Choice] = []
    if not isinstance(raw, dict):
        problems.append(f"{where}: 'choices' must be a mapping of list name → choices")
        return out
    for list_name, entries in raw.items():
        if isinstance(entries, dict) and "from_frame" in entries:
            out.extend(_frame_choices(str(list_name), str(entries["from_frame"]), population_dir, where, problems))
            continue
        if not isinstance(entries, list) or not entries:
            problems.append(f"{where}: choice list '{list_name}': needs a list of choices or 'from_frame'")
            continue
        seen: set[str] = set()
        for entry in entries:
            if not isinstance(entry, dict) or "name" not in entry:
                problems.append(f"{where}: choice list '{list_name}': every choice needs a 'name'")
                continue
            code = entry["name"]
            if not isinstance(code, str):
                # "001" is not "1": codes must be written as strings so YAML cannot change them.
                problems.append(f"{where}: choice list '{list_name}', choice {code!r}: "
                                f"code must be a quoted string (\"{code}\")")
                code = str(code)
            if code in seen:
                problems.append(f"{where}: choice list '{list_name}', choice '{code}': duplicate code")
            seen.add(code)
            value = entry.get("value")
            if value is not None and not isinstance(value, (int, float)):
                problems.append(f"{where}: choice list '{list_name}', choice '{code}': value must be a number")
                value = None
            extra = tuple((str(k), str(v)) for k, v in entry.items()
                          if k not in {"name", "value", "missing", "label::vi", "label::en"})
            out.append(Choice(str(list_name), code, _text(entry, "label::vi"), _text(entry, "label::en"),
                              None if value is None else float(value), bool(entry.get("missing", False)),
                              extra))
    return out


def _parse_item(d: dict, group: str | None, where: str, problems: list[str]) -> Item:
    name = str(d.get("name", ""))
    unknown = sorted(set(d) - _ITEM_KEYS)
    for key in unknown:
        problems.append(f"{where}: item '{name}': unknown key '{key}'")
    tg = d.get("task_group")
    return Item(
        name=name,
        type=" ".join(str(d.get("type", "")).split()),
        label_vi=_text(d, "label::vi"),
        label_en=_text(d, "label::en"),
        hint_vi=_text(d, "hint::vi"),
        hint_en=_text(d, "hint::en"),
        required=bool(d.get("required", False)),
        relevant=d.get("relevant") or None,
        constraint=d.get("constraint") or None,
        constraint_message_vi=_text(d, "constraint_message::vi"),
        constraint_message_en=_text(d, "constraint_message::en"),
        choice_filter=d.get("choice_filter") or None,
        appearance=d.get("appearance") or None,
        group=group,
        construct=d.get("construct") or None,
        reverse=bool(d.get("reverse", False)),
        task_group=int(tg) if isinstance(tg, int) else tg,
        role=d.get("role") or None,
        sensitive=bool(d.get("sensitive", False)),
        comparable_to=d.get("comparable_to") or None,
        replaces=d.get("replaces") or None,
    )


def _parse_survey(rows: Any, where: str, problems: list[str], group: str | None = None,
                  items: list[Item] | None = None, groups: list[Group] | None = None
                  ) -> tuple[list[Item], list[Group]]:
    items = [] if items is None else items
    groups = [] if groups is None else groups
    if not isinstance(rows, list):
        problems.append(f"{where}: 'survey' must be a list of items and groups")
        return items, groups
    for d in rows:
        if not isinstance(d, dict):
            problems.append(f"{where}: survey entry {d!r} is not a mapping")
            continue
        if d.get("type") == "begin_group":
            name = str(d.get("name", ""))
            for key in sorted(set(d) - _GROUP_KEYS):
                problems.append(f"{where}: group '{name}': unknown key '{key}'")
            start = len(items)
            _parse_survey(d.get("items") or [], where, problems, name, items, groups)
            groups.append(Group(name, _text(d, "label::vi"), _text(d, "label::en"),
                                d.get("relevant") or None, d.get("appearance") or None,
                                tuple(i.name for i in items[start:] if i.group == name)))
        elif d.get("type") == "end_group":
            problems.append(f"{where}: 'end_group' is not used: a group's items go under its 'items' key")
        else:
            items.append(_parse_item(d, group, where, problems))
    return items, groups


def _parse_target(raw: Any, where: str, name: str, problems: list[str]) -> tuple[float | None, int | None, str, str]:
    if raw is None:
        return None, None, "", ""
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), (int, float)) \
            or not isinstance(raw.get("year"), int):
        problems.append(f"{where}: indicator '{name}': target needs a numeric 'value' and a 'year'")
        return None, None, "", ""
    return float(raw["value"]), int(raw["year"]), _text(raw, "note::vi"), _text(raw, "note::en")


def _parse(path: Path, raw: Any, surveys_dir: Path, population_dir: Path | None,
           problems: list[str]) -> Instrument | None:
    where = _display(path)
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping at the top level")
        return None
    for key in ("instrument", "version", "survey", "choices"):
        if key not in raw:
            problems.append(f"{where}: missing top-level key '{key}'")
    task_groups, objectives = _task_groups(surveys_dir, problems)
    choices = _parse_choices(raw.get("choices") or {}, where, population_dir, problems)
    items, groups = _parse_survey(raw.get("survey") or [], where, problems)
    item_construct = {}
    for i in items:
        item_construct.setdefault(i.construct, []).append(i.name)
    constructs = []
    for cname, c in (raw.get("constructs") or {}).items():
        c = c or {}
        constructs.append(Construct(str(cname), _text(c, "label::vi"), _text(c, "label::en"),
                                    c.get("task_group"), c.get("objective"),
                                    int(c.get("min_items", 1)) if isinstance(c.get("min_items", 1), int) else -1,
                                    tuple(item_construct.get(str(cname), ()))))
    indicators = []
    for d in raw.get("indicators") or []:
        name = str(d.get("name", ""))
        formula = str(d.get("formula", "")).strip()
        value, year, note_vi, note_en = _parse_target(d.get("target"), where, name, problems)
        indicators.append(Indicator(name, _text(d, "label::vi"), _text(d, "label::en"), formula,
                                    str(d.get("unit", "")), str(d.get("direction", "")),
                                    d.get("task_group"), d.get("objective"), value, year, note_vi, note_en,
                                    formula_items(formula)))
    settings = tuple((str(k), str(v)) for k, v in (raw.get("settings") or {}).items())
    return Instrument(
        name=str(raw.get("instrument", "")),
        version=str(raw.get("version", "")),
        title_vi=_text(raw, "title::vi"),
        title_en=_text(raw, "title::en"),
        items=tuple(items),
        choices=tuple(choices),
        constructs=tuple(constructs),
        indicators=tuple(indicators),
        task_groups=task_groups,
        objectives=objectives,
        groups=tuple(groups),
        intro_vi=_text(raw, "intro::vi"),
        intro_en=_text(raw, "intro::en"),
        instructions_vi=_text(raw, "instructions::vi"),
        instructions_en=_text(raw, "instructions::en"),
        anonymous=bool(raw.get("anonymous", False)),
        settings=settings,
        path=where,
    )


# ----------------------------------------------------------------------------- checks


def _check_vi(where: str, what: str, text: str, problems: list[str]) -> None:
    if not text:
        problems.append(f"{where}: {what}: missing Vietnamese label (label::vi)")
    elif unicodedata.normalize("NFC", text) != text:
        problems.append(f"{where}: {what}: label::vi is not in Unicode NFC form")


def _check_instrument(ins: Instrument, problems: list[str]) -> None:
    where = ins.path
    lists = set(ins.list_names)
    names = set()
    all_names = [i.name for i in ins.items] + [g.name for g in ins.groups]
    for name in all_names:
        if name in names:
            problems.append(f"{where}: item '{name}': duplicate name")
        names.add(name)
    for name in dict.fromkeys(all_names):
        if not _NAME.fullmatch(name):
            problems.append(f"{where}: item '{name}': name must be lower-case letters, digits and '_', "
                            "starting with a letter")
    tg_numbers = {tg.number for tg in ins.task_groups}
    objective_codes = {o.code for o in ins.objectives}
    construct_names = {c.name for c in ins.constructs}
    roles_seen: dict[str, list[str]] = {}

    for g in ins.groups:
        _check_vi(where, f"group '{g.name}'", g.label_vi, problems)
        for ref in expression_refs(g.relevant):
            if ref not in ins._index:
                problems.append(f"{where}: group '{g.name}': relevant references unknown item '{ref}'")

    for c in ins.choices:
        _check_vi(where, f"choice list '{c.list_name}', choice '{c.name}'", c.label_vi, problems)

    for it in ins.items:
        what = f"item '{it.name}'"
        base = it.base_type
        if base not in _BASE_TYPES:
            problems.append(f"{where}: {what}: unknown type '{it.type}'")
        if base in _SELECT_TYPES:
            if it.list_name is None:
                problems.append(f"{where}: {what}: type '{it.type}' needs a choice list name")
            elif it.list_name not in lists:
                problems.append(f"{where}: {what}: unknown choice list '{it.list_name}'")
        if base not in _META_TYPES:
            _check_vi(where, what, it.label_vi, problems)
        if it.reverse and not (it.list_name in lists and ins.is_scale(it)):
            problems.append(f"{where}: {what}: reverse key on a non-scale item (type '{it.type}')")
        if it.construct is not None:
            if it.construct not in construct_names:
                problems.append(f"{where}: {what}: unknown construct '{it.construct}'")
            if not (it.list_name in lists and ins.is_scale(it)):
                problems.append(f"{where}: {what}: construct item is not a scale item (type '{it.type}')")
        if it.role is not None:
            if it.role not in ROLES:
                problems.append(f"{where}: {what}: unknown role '{it.role}' (roles: {', '.join(ROLES)})")
            roles_seen.setdefault(it.role, []).append(it.name)
        if it.task_group is not None and it.task_group not in TASK_GROUP_NUMBERS:
            problems.append(f"{where}: {what}: task_group {it.task_group!r} is not one of 1–6")
        for key, expr in (("relevant", it.relevant), ("constraint", it.constraint),
                          ("choice_filter", it.choice_filter)):
            for ref in expression_refs(expr):
                if ref not in ins._index:
                    problems.append(f"{where}: {what}: {key} references unknown item '{ref}'")
        if it.choice_filter and it.list_name in lists:
            column = it.choice_filter.split("=")[0].strip()
            if not all(column in dict(c.filters) for c in ins.choice_list(it.list_name)):
                problems.append(f"{where}: {what}: choice_filter column '{column}' is missing "
                                f"from choice list '{it.list_name}'")

    for role, holders in roles_seen.items():
        if role not in _MULTI_ROLES and len(holders) > 1:
            problems.append(f"{where}: role '{role}' is used by more than one item ({', '.join(holders)})")

    for c in ins.constructs:
        what = f"construct '{c.name}'"
        _check_vi(where, what, c.label_vi, problems)
        if len(c.items) < 3:
            problems.append(f"{where}: {what}: has {len(c.items)} item{'s' if len(c.items) != 1 else ''}, "
                            "needs at least 3")
        if not 1 <= c.min_items <= max(len(c.items), 1):
            problems.append(f"{where}: {what}: min_items must be between 1 and its {len(c.items)} items")
        if c.task_group not in TASK_GROUP_NUMBERS:
            problems.append(f"{where}: {what}: task_group {c.task_group!r} is not one of 1–6")
        if objective_codes and c.objective not in objective_codes:
            problems.append(f"{where}: {what}: unknown objective {c.objective!r}")
        item_lists = sorted({i.list_name or "" for i in ins.items if i.construct == c.name})
        if len(item_lists) > 1:
            problems.append(f"{where}: {what}: items use different choice lists ({', '.join(item_lists)})")

    probe = None
    for ind in ins.indicators:
        what = f"indicator '{ind.name}'"
        _check_vi(where, what, ind.label_vi, problems)
        if not ind.formula:
            problems.append(f"{where}: {what}: missing formula")
            continue
        unknown = [n for n in ind.items if n not in ins._index]
        for n in unknown:
            problems.append(f"{where}: {what}: formula references unknown item '{n}'")
        if not unknown:
            if probe is None:  # one row, every item = 1.0: enough to catch syntax errors
                probe = pd.DataFrame({n: [1.0] for n in ins.item_names})
            try:
                with np.errstate(all="ignore"):
                    probe.eval(ind.formula, engine="python")
            except Exception as exc:  # noqa: BLE001 — any eval failure is a problem in the file
                problems.append(f"{where}: {what}: formula cannot be evaluated ({type(exc).__name__}: {exc})")
        if ind.direction not in _DIRECTIONS:
            problems.append(f"{where}: {what}: direction must be 'higher' or 'lower', not '{ind.direction}'")
        if ind.task_group not in TASK_GROUP_NUMBERS:
            problems.append(f"{where}: {what}: task_group {ind.task_group!r} is not one of 1–6")
        if objective_codes and ind.objective not in objective_codes:
            problems.append(f"{where}: {what}: unknown objective {ind.objective!r}")
        if not ind.unit:
            problems.append(f"{where}: {what}: missing unit")

    for key, text in (("title::vi", ins.title_vi),):
        if not text:
            problems.append(f"{where}: missing Vietnamese title ({key})")
    if sorted(tg_numbers) != list(TASK_GROUP_NUMBERS) and ins.task_groups:
        problems.append(f"{where}: task_groups.yaml must list task groups 1–6")


def _load_checked(path: Path, surveys_dir: Path, population_dir: Path | None) -> tuple[Instrument | None, list[str]]:
    problems: list[str] = []
    raw = _read_yaml(path, problems)
    if raw is None:
        return None, problems or [f"{_display(path)}: empty file"]
    ins = _parse(path, raw, surveys_dir, population_dir, problems)
    if ins is not None:
        _check_instrument(ins, problems)
        expected = (path.parent.name, path.stem[1:] if path.stem.startswith("v") else path.stem)
        if (ins.name, ins.version) != expected:
            problems.append(f"{ins.path}: declares instrument '{ins.name}' version '{ins.version}' but the "
                            f"file name says '{expected[0]}' version '{expected[1]}'")
    return ins, problems


def check_file(path: Path | str, *, surveys_dir: Path | str | None = None,
               population_dir: Path | str | None = None) -> tuple[str, ...]:
    """Every problem in one instrument file (empty tuple when it is clean).

    *surveys_dir* (where ``task_groups.yaml`` lives) defaults to the parent of the file's
    folder.
    """
    path = Path(path)
    sdir = Path(surveys_dir) if surveys_dir is not None else path.parent.parent
    _, problems = _load_checked(path, sdir, None if population_dir is None else Path(population_dir))
    return tuple(problems)


def _coverage_problems(member: Instrument, unit: Instrument) -> list[str]:
    covered = {c.task_group for c in member.constructs} | {i.task_group for i in unit.indicators}
    return [f"{member.path} + {unit.path}: task group {n} has no measure "
            "(no member construct or unit indicator)"
            for n in TASK_GROUP_NUMBERS if n not in covered]


def _version_problems(series: list[Instrument]) -> list[str]:
    """Across the versions of one instrument: a changed item must have a new name, and
    ``comparable_to`` / ``replaces`` must name an item of an earlier version."""
    problems: list[str] = []
    for k, newer in enumerate(series):
        earlier = series[:k]
        for it in newer.items:
            for key, ref in (("comparable_to", it.comparable_to), ("replaces", it.replaces)):
                if ref and not any(old.has_item(ref) for old in earlier):
                    problems.append(f"{newer.path}: item '{it.name}': {key} names '{ref}', which is not an item "
                                    "of an earlier version")
        if earlier:
            cmp = comparable_items(earlier[-1], newer)
            for name, reason in cmp.not_comparable:
                if reason.startswith("wording or scale changed"):
                    problems.append(f"{newer.path}: item '{name}': wording or scale differs from "
                                    f"v{earlier[-1].version} under the same name; a changed item needs a new name")
    return problems


def check_all(*, surveys_dir: Path | str | None = None,
              population_dir: Path | str | None = None) -> tuple[str, ...]:
    """Check every instrument file under *surveys_dir*; raise one `InstrumentError` listing all problems.

    Besides the per-file checks, every pairing of a member version with a unit version must
    cover all six task groups, and across versions of one instrument an item whose wording or
    scale changed must carry a new name. Returns the files checked.

    Examples
    --------
    >>> sorted(check_all())[:1]
    ['surveys/member/v1.yaml']
    """
    sdir = _surveys_dir(surveys_dir)
    pdir = None if population_dir is None else Path(population_dir)
    problems: list[str] = []
    loaded: dict[str, list[Instrument]] = {}
    files = sorted(p for p in sdir.glob("*/v*.yaml") if re.fullmatch(r"v\d+", p.stem))
    if not files:
        problems.append(f"{_display(sdir)}: no instrument files (<name>/v<N>.yaml)")
    for path in files:
        ins, found = _load_checked(path, sdir, pdir)
        problems.extend(found)
        if ins is not None and not found:
            loaded.setdefault(path.parent.name, []).append(ins)
    for m in loaded.get("member", []):
        for u in loaded.get("unit", []):
            problems.extend(_coverage_problems(m, u))
    for series in loaded.values():
        problems.extend(_version_problems(sorted(series, key=lambda i: int(i.version))))
    if problems:
        raise InstrumentError(problems)
    return tuple(_display(p) for p in files)


# ----------------------------------------------------------------------------- loading


@lru_cache(maxsize=32)
def _load_cached(path: str, surveys_dir: str, population_dir: str | None, mtime_ns: int) -> Instrument:
    ins, problems = _load_checked(Path(path), Path(surveys_dir), None if population_dir is None else Path(population_dir))
    if problems or ins is None:
        raise InstrumentError(problems)
    return ins


def load(name: str, version: str | int | None = None, *, surveys_dir: Path | str | None = None,
         population_dir: Path | str | None = None) -> Instrument:
    """Load instrument *name* (``member`` or ``unit``) at *version* (latest when None).

    The file is checked on load: any problem raises `InstrumentError` listing all of them.
    Results are cached per file (and its modification time).

    Examples
    --------
    >>> load("member", version="1") is load("member")
    True
    >>> load("unit").indicators[0].direction
    'higher'
    """
    path = instrument_path(name, version, surveys_dir=surveys_dir)
    sdir = _surveys_dir(surveys_dir)
    return _load_cached(str(path.resolve()), str(sdir.resolve()),
                        None if population_dir is None else str(Path(population_dir).resolve()),
                        path.stat().st_mtime_ns)


# ----------------------------------------------------------------------------- comparability


@dataclass(frozen=True)
class ItemComparison:
    """Which items (and constructs) of two instrument versions can be compared.

    ``comparable`` pairs ``(name in a, name in b)``; ``not_comparable`` pairs
    ``(name, reason)`` for items of either version with no comparable partner.
    ``constructs`` lists constructs whose items are all comparable; ``not_comparable_constructs``
    gives ``(construct, reason)`` for the others.
    """

    a: str
    b: str
    comparable: tuple[tuple[str, str], ...]
    not_comparable: tuple[tuple[str, str], ...]
    constructs: tuple[str, ...]
    not_comparable_constructs: tuple[tuple[str, str], ...]

    def names_a(self) -> tuple[str, ...]:
        return tuple(x for x, _ in self.comparable)

    def names_b(self) -> tuple[str, ...]:
        return tuple(y for _, y in self.comparable)


def _same_scale(a: Instrument, ia: Item, b: Instrument, ib: Item) -> bool:
    if ia.type != ib.type:
        return False
    if ia.list_name is None:
        return True
    key = lambda ins, it: tuple((c.name, c.label_vi, c.value, c.missing) for c in ins.choice_list(it.list_name))
    return key(a, ia) == key(b, ib)


def comparable_items(instrument_a: Instrument, instrument_b: Instrument) -> ItemComparison:
    """Match the items of two versions of one instrument for cross-wave comparison.

    Rules: an item with the same name, type, Vietnamese wording and choice list in both
    versions is comparable; an item of one version that declares ``comparable_to: <name>`` of
    the other is comparable with it (a researcher's judgement that a small edit kept the
    meaning); everything else is not comparable, with the reason. Metadata items are skipped.

    Examples
    --------
    >>> m = load("member")
    >>> cmp = comparable_items(m, m)
    >>> len(cmp.not_comparable), len(cmp.comparable) == len(m.items) - 2
    (0, True)
    """
    a, b = instrument_a, instrument_b
    if a.name != b.name:
        raise ValueError(f"cannot compare items of different instruments ({a.name!r}, {b.name!r})")
    la, lb = f"v{a.version}", f"v{b.version}"
    items_a = [i for i in a.items if i.base_type not in _META_TYPES]
    items_b = [i for i in b.items if i.base_type not in _META_TYPES]
    pairs: list[tuple[str, str]] = []
    not_comp: list[tuple[str, str]] = []
    matched_a: set[str] = set()
    for ib in items_b:
        partner = None
        if a.has_item(ib.name):
            ia = a.item(ib.name)
            if ia.label_vi == ib.label_vi and _same_scale(a, ia, b, ib):
                partner = ia.name
            else:
                matched_a.add(ia.name)
                reason = (f"wording or scale changed between {la} and {lb} under the same name "
                          "(a changed item needs a new name)")
                not_comp.append((ib.name, reason))
                continue
        else:
            for candidate in (ib.comparable_to,):
                if candidate and a.has_item(candidate):
                    partner = candidate
            if partner is None:
                back = [ia.name for ia in items_a if ia.comparable_to == ib.name]
                partner = back[0] if back else None
        if partner is not None:
            pairs.append((partner, ib.name))
            matched_a.add(partner)
        elif ib.replaces and a.has_item(ib.replaces):
            not_comp.append((ib.name, f"replaces {ib.replaces} of {la} with a changed wording or scale"))
            matched_a.add(ib.replaces)
            not_comp.append((ib.replaces, f"replaced by {ib.name} in {lb}; not comparable"))
        else:
            not_comp.append((ib.name, f"only in {lb}"))
    for ia in items_a:
        if ia.name not in matched_a:
            not_comp.append((ia.name, f"only in {la}"))
    pair_b = {y: x for x, y in pairs}
    ok_constructs, bad_constructs = [], []
    names_a_construct = {c.name for c in a.constructs}
    for c in b.constructs:
        if c.name not in names_a_construct:
            bad_constructs.append((c.name, f"only in {lb}"))
            continue
        in_a = set(a.construct(c.name).items)
        mapped = {pair_b.get(n) for n in c.items}
        if None in mapped or mapped != in_a:
            bad_constructs.append((c.name, "its items are not all comparable: " + ", ".join(
                sorted(n for n in c.items if n not in pair_b) + sorted(in_a - mapped - {None}))))
        else:
            ok_constructs.append(c.name)
    for c in a.constructs:
        if c.name not in {x.name for x in b.constructs}:
            bad_constructs.append((c.name, f"only in {la}"))
    return ItemComparison(a=f"{a.name} {la}", b=f"{b.name} {lb}", comparable=tuple(pairs),
                          not_comparable=tuple(not_comp), constructs=tuple(ok_constructs),
                          not_comparable_constructs=tuple(bad_constructs))
