"""Reading an instrument file: the YAML of ``surveys/<name>/v<N>.yaml`` → an `Instrument`.

`parse_file` reads one file (and the plan's ``surveys/task_groups.yaml``) into an `Instrument`,
collecting every problem of form it meets — unreadable YAML, unknown keys, choice codes not
written as strings, a malformed target — instead of stopping at the first. Choice lists
declared ``from_frame: units`` are filled from the population frame
(`analysis.instruments.population`). Whether the parsed instrument is consistent is
`analysis.instruments.checks`; `analysis.instruments.loading` puts the two together.

Examples
--------
>>> from analysis.instruments.files import instrument_path, surveys_folder
>>> ins, problems = parse_file(instrument_path("unit"), surveys_folder(), None)
>>> ins.name, problems
('unit', [])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analysis.instruments.files import display_path
from analysis.instruments.model import (
    Choice,
    Construct,
    Group,
    Indicator,
    Instrument,
    Item,
    Objective,
    TaskGroup,
    formula_items,
)
from analysis.instruments.population import load_units

__all__ = ["parse_file"]

_ITEM_KEYS = frozenset({
    "type", "name", "label::vi", "label::en", "hint::vi", "hint::en", "required", "relevant",
    "constraint", "constraint_message::vi", "constraint_message::en", "choice_filter",
    "appearance", "construct", "reverse", "task_group", "role", "sensitive", "comparable_to",
    "replaces", "calculation", "default", "objective",
})
_GROUP_KEYS = frozenset({"type", "name", "label::vi", "label::en", "relevant", "appearance", "items"})


def parse_file(path: Path, surveys_dir: Path, population_dir: Path | None) -> tuple[Instrument | None, list[str]]:
    """The instrument in *path* (None when the file cannot be read) and every problem met.

    *surveys_dir* holds ``task_groups.yaml``; *population_dir* the population frame for lists
    read ``from_frame`` (the project's ``data/population`` when None).
    """
    problems: list[str] = []
    raw = _read_yaml(path, problems)
    if raw is None:
        return None, problems or [f"{display_path(path)}: empty file"]
    return _parse(path, raw, surveys_dir, population_dir, problems), problems


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{display_path(path)}: file not found")
        return None
    except UnicodeDecodeError as exc:
        problems.append(f"{display_path(path)}: not UTF-8 text ({exc})")
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{display_path(path)}: not valid YAML ({exc})".replace("\n", " "))
        return None


def _text(d: dict, key: str) -> str:
    v = d.get(key)
    return "" if v is None else str(v).strip()


def _task_groups(surveys_dir: Path, problems: list[str]) -> tuple[tuple[TaskGroup, ...], tuple[Objective, ...]]:
    """The plan's task groups and objectives; none when the study has no plan (no file)."""
    path = surveys_dir / "task_groups.yaml"
    if not path.exists():
        return (), ()
    raw = _read_yaml(path, problems)
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append(f"{display_path(path)}: expected a mapping with task_groups and objectives")
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
    try:
        units = load_units(population_dir)
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


#: What must reach an indicator's target: every unit, or the indicator over all units together.
TARGET_PER = ("unit", "total")


def _parse_target(raw: Any, where: str, name: str, problems: list[str]
                  ) -> tuple[float | None, int | None, str, str, str | None]:
    if raw is None:
        return None, None, "", "", None
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), (int, float)) \
            or not isinstance(raw.get("year"), int):
        problems.append(f"{where}: indicator '{name}': target needs a numeric 'value' and a 'year'")
        return None, None, "", "", None
    per = raw.get("per")
    if per not in TARGET_PER:
        problems.append(f"{where}: indicator '{name}': target needs 'per: unit' (every unit must reach it) "
                        f"or 'per: total' (the indicator over all units must), not {per!r}")
        per = None
    return float(raw["value"]), int(raw["year"]), _text(raw, "note::vi"), _text(raw, "note::en"), per


def _parse(path: Path, raw: Any, surveys_dir: Path, population_dir: Path | None,
           problems: list[str]) -> Instrument | None:
    where = display_path(path)
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
        value, year, note_vi, note_en, per = _parse_target(d.get("target"), where, name, problems)
        indicators.append(Indicator(name, _text(d, "label::vi"), _text(d, "label::en"), formula,
                                    str(d.get("unit", "")), str(d.get("direction", "")),
                                    d.get("task_group"), d.get("objective"), value, year, note_vi, note_en,
                                    formula_items(formula), per))
    settings = tuple((str(k), str(v)) for k, v in (raw.get("settings") or {}).items())
    languages = raw.get("languages", ["vi", "en"])
    if not (isinstance(languages, list) and languages and all(lang in ("vi", "en") for lang in languages)):
        problems.append(f"{where}: languages must be a list of vi and/or en (found {languages!r})")
        languages = ["vi", "en"]
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
        languages=tuple(languages),
        path=where,
    )
