"""The instrument data model: a frozen `Instrument` and its parts, as `analysis.instruments.load` returns them.

`Instrument` holds its `Item`, `Choice`, `Group`, `Construct` and `Indicator` entries (and the
plan's `TaskGroup` and `Objective` lists) as tuples in questionnaire order, with look-ups by
name, role and construct; code finds items by their *role* or *construct*, never by name.
`InstrumentError` lists every problem found in the instrument files. `expression_refs` and
`formula_items` read the item names out of an XLSForm expression and an indicator formula.

Reading the YAML is `analysis.instruments.parse`, checking it `analysis.instruments.checks`.

Examples
--------
>>> from analysis.instruments import load
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
from dataclasses import dataclass, field
from typing import Iterable

__all__ = [
    "ROLES",
    "SHARED_ROLES",
    "ITEM_TYPES",
    "SELECT_TYPES",
    "META_TYPES",
    "InstrumentError",
    "Choice",
    "Item",
    "Group",
    "Construct",
    "Indicator",
    "TaskGroup",
    "Objective",
    "Instrument",
    "expression_refs",
    "formula_items",
]

#: Roles an item can play; code finds demographic and comment items through these.
ROLES: tuple[str, ...] = (
    "org", "unit", "sex", "age_group", "party", "education", "theory", "position", "comment",
    "start", "end",
)
#: Roles that several items may share (all other roles: at most one item per instrument).
SHARED_ROLES = frozenset({"comment"})
#: The item types an instrument may use (the first word of an XLSForm ``type``).
ITEM_TYPES = frozenset({
    "select_one", "select_multiple", "integer", "decimal", "text", "date", "datetime", "time",
    "note", "calculate", "start", "end", "today",
})
#: Types whose second word names a choice list.
SELECT_TYPES = frozenset({"select_one", "select_multiple"})
#: Metadata types carry no question text, so they need no label.
META_TYPES = frozenset({"start", "end", "today"})

_REF = re.compile(r"\$\{([^}]*)\}")
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# Words a pandas-eval formula may use that are not item names.
_FORMULA_WORDS = frozenset({"and", "or", "not", "in", "True", "False"})


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
        return parts[1] if len(parts) > 1 and parts[0] in SELECT_TYPES else None

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
    from 2023); ``direction`` says whether a higher or a lower value is better. ``target_per``
    says what must reach it: ``"unit"`` — every grassroots unit (a requirement on each unit,
    such as a working session every six months: attainment is the number of units that meet
    it) — or ``"total"`` — the indicator over all units together (one aggregate figure).
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
    target_per: str | None = None

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
    #: The languages the questionnaire is written in; labels are required in the first one.
    languages: tuple[str, ...] = ("vi", "en")
    path: str = ""
    _index: dict = field(default=None, repr=False, compare=False, hash=False)  # type: ignore[assignment]
    _lists: dict = field(default=None, repr=False, compare=False, hash=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        # Name → Item and list name → its choices, built once (scoring a national wave asks for
        # choice lists tens of thousands of times); the dicts never leave the object.
        object.__setattr__(self, "_index", {i.name: i for i in self.items})
        lists: dict[str, list[Choice]] = {}
        for c in self.choices:
            lists.setdefault(c.list_name, []).append(c)
        object.__setattr__(self, "_lists", {k: tuple(v) for k, v in lists.items()})

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
        >>> from analysis.instruments import load
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
        >>> from analysis.instruments import load
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
        >>> from analysis.instruments import load
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
        found = self._lists.get(list_name, ())
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
        >>> from analysis.instruments import load
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
        """Task group *number* of the plan (Đề án 04 has six)."""
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
