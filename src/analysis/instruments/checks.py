"""Checking the instrument files: every problem found, with the file and the item named.

`check_file` checks one ``surveys/<name>/v<N>.yaml``; `check_all` checks every file of a
surveys folder and, across files, that each member + unit pair covers the plan's task groups
and that an item whose wording or scale changed between versions carries a new name.
`read_checked` reads and checks one file for `analysis.instruments.loading`.

The checks of one instrument are one function per part, run in this order: `_check_names`,
`_check_groups`, `_check_choice_labels`, `_check_items`, `_check_roles`, `_check_constructs`,
`_check_indicators`, `_check_title`, `_check_task_group_list`. The Vietnamese labels are
checked by `_check_label` (in the questionnaire's first language, Vietnamese unless its
``languages`` say otherwise), task group numbers by `_check_task_group` (and the
coverage of the plan's task groups by `_coverage_problems`), objectives by `_check_objective`.

Examples
--------
>>> from analysis.instruments import instrument_path
>>> check_file(instrument_path("member"))
()
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import project
from analysis.instruments.comparability import comparable_items
from analysis.instruments.files import display_path, instrument_files, surveys_folder
from analysis.instruments.model import (
    ITEM_TYPES,
    META_TYPES,
    ROLES,
    SELECT_TYPES,
    SHARED_ROLES,
    Instrument,
    InstrumentError,
    expression_refs,
)
from analysis.instruments.parse import parse_file

__all__ = ["check_file", "check_all", "read_checked"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_LANGUAGE_NAMES = {"vi": "Vietnamese", "en": "English"}
_DIRECTIONS = ("higher", "lower")


def _check_instrument(ins: Instrument, problems: list[str]) -> None:
    """Every consistency problem of one parsed instrument, in the order of the parts below."""
    _check_names(ins, problems)
    _check_groups(ins, problems)
    _check_choice_labels(ins, problems)
    _check_items(ins, problems)
    _check_roles(ins, problems)
    _check_constructs(ins, problems)
    _check_indicators(ins, problems)
    _check_title(ins, problems)
    _check_task_group_list(ins, problems)


# -- shared by the parts


def _check_label(ins: Instrument, where: str, what: str, label_vi: str, label_en: str,
                 problems: list[str]) -> None:
    """A label in the questionnaire's first language (Vietnamese unless ``languages`` says
    otherwise), in Unicode NFC."""
    lang, text = ("vi", label_vi) if ins.languages[0] == "vi" else ("en", label_en)
    if not text:
        problems.append(f"{where}: {what}: missing {_LANGUAGE_NAMES[lang]} label (label::{lang})")
    elif unicodedata.normalize("NFC", text) != text:
        problems.append(f"{where}: {what}: label::{lang} is not in Unicode NFC form")


def _check_task_group(ins: Instrument, where: str, what: str, number: object, problems: list[str]) -> None:
    """A plan's task group number; without a plan (no surveys/task_groups.yaml) no task group."""
    numbers = [tg.number for tg in ins.task_groups]
    if not numbers:
        if number is not None:
            problems.append(f"{where}: {what}: task_group {number!r}, but the study has no plan "
                            "(surveys/task_groups.yaml); remove it or add the plan")
    elif number not in numbers:
        problems.append(f"{where}: {what}: task_group {number!r} is not one of {min(numbers)}–{max(numbers)}")


def _check_objective(ins: Instrument, what: str, code: str | None, problems: list[str]) -> None:
    objective_codes = {o.code for o in ins.objectives}
    if objective_codes and code not in objective_codes:
        problems.append(f"{ins.path}: {what}: unknown objective {code!r}")


# -- the parts


def _check_names(ins: Instrument, problems: list[str]) -> None:
    """Item and group names: unique, lower-case identifiers."""
    where = ins.path
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


def _check_groups(ins: Instrument, problems: list[str]) -> None:
    """Groups: a Vietnamese label, and a skip condition naming known items."""
    where = ins.path
    for g in ins.groups:
        _check_label(ins, where, f"group '{g.name}'", g.label_vi, g.label_en, problems)
        for ref in expression_refs(g.relevant):
            if not ins.has_item(ref):
                problems.append(f"{where}: group '{g.name}': relevant references unknown item '{ref}'")


def _check_choice_labels(ins: Instrument, problems: list[str]) -> None:
    """Every choice has a Vietnamese label."""
    for c in ins.choices:
        _check_label(ins, ins.path, f"choice list '{c.list_name}', choice '{c.name}'", c.label_vi, c.label_en, problems)


def _check_items(ins: Instrument, problems: list[str]) -> None:
    """Items: type and choice list, Vietnamese label, reverse key and construct on scale items,
    role, task group, the items their expressions name, the choice filter's column."""
    where = ins.path
    lists = set(ins.list_names)
    construct_names = {c.name for c in ins.constructs}
    for it in ins.items:
        what = f"item '{it.name}'"
        base = it.base_type
        if base not in ITEM_TYPES:
            problems.append(f"{where}: {what}: unknown type '{it.type}'")
        if base in SELECT_TYPES:
            if it.list_name is None:
                problems.append(f"{where}: {what}: type '{it.type}' needs a choice list name")
            elif it.list_name not in lists:
                problems.append(f"{where}: {what}: unknown choice list '{it.list_name}'")
        if base not in META_TYPES:
            _check_label(ins, where, what, it.label_vi, it.label_en, problems)
        if it.reverse and not (it.list_name in lists and ins.is_scale(it)):
            problems.append(f"{where}: {what}: reverse key on a non-scale item (type '{it.type}')")
        if it.construct is not None:
            if it.construct not in construct_names:
                problems.append(f"{where}: {what}: unknown construct '{it.construct}'")
            if not (it.list_name in lists and ins.is_scale(it)):
                problems.append(f"{where}: {what}: construct item is not a scale item (type '{it.type}')")
        if it.role is not None and it.role not in ROLES:
            problems.append(f"{where}: {what}: unknown role '{it.role}' (roles: {', '.join(ROLES)})")
        if it.task_group is not None:
            _check_task_group(ins, where, what, it.task_group, problems)
        for key, expr in (("relevant", it.relevant), ("constraint", it.constraint),
                          ("choice_filter", it.choice_filter)):
            for ref in expression_refs(expr):
                if not ins.has_item(ref):
                    problems.append(f"{where}: {what}: {key} references unknown item '{ref}'")
        if it.choice_filter and it.list_name in lists:
            column = it.choice_filter.split("=")[0].strip()
            if not all(column in dict(c.filters) for c in ins.choice_list(it.list_name)):
                problems.append(f"{where}: {what}: choice_filter column '{column}' is missing "
                                f"from choice list '{it.list_name}'")


def _check_roles(ins: Instrument, problems: list[str]) -> None:
    """A role other than the `SHARED_ROLES` is played by one item at most."""
    holders_of: dict[str, list[str]] = {}
    for it in ins.items:
        if it.role is not None:
            holders_of.setdefault(it.role, []).append(it.name)
    for role, holders in holders_of.items():
        if role not in SHARED_ROLES and len(holders) > 1:
            problems.append(f"{ins.path}: role '{role}' is used by more than one item ({', '.join(holders)})")


def _check_constructs(ins: Instrument, problems: list[str]) -> None:
    """Constructs: a Vietnamese label, at least 3 items on one choice list, a feasible
    ``min_items``, a task group and an objective of the plan."""
    where = ins.path
    for c in ins.constructs:
        what = f"construct '{c.name}'"
        _check_label(ins, where, what, c.label_vi, c.label_en, problems)
        if len(c.items) < 3:
            problems.append(f"{where}: {what}: has {len(c.items)} item{'s' if len(c.items) != 1 else ''}, "
                            "needs at least 3")
        if not 1 <= c.min_items <= max(len(c.items), 1):
            problems.append(f"{where}: {what}: min_items must be between 1 and its {len(c.items)} items")
        _check_task_group(ins, where, what, c.task_group, problems)
        _check_objective(ins, what, c.objective, problems)
        item_lists = sorted({i.list_name or "" for i in ins.items if i.construct == c.name})
        if len(item_lists) > 1:
            problems.append(f"{where}: {what}: items use different choice lists ({', '.join(item_lists)})")


def _check_indicators(ins: Instrument, problems: list[str]) -> None:
    """Indicators: a Vietnamese label, a formula over known items that evaluates, a direction,
    a task group and an objective of the plan, a unit."""
    where = ins.path
    probe = None
    for ind in ins.indicators:
        what = f"indicator '{ind.name}'"
        _check_label(ins, where, what, ind.label_vi, ind.label_en, problems)
        if not ind.formula:
            problems.append(f"{where}: {what}: missing formula")
            continue
        unknown = [n for n in ind.items if not ins.has_item(n)]
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
        _check_task_group(ins, where, what, ind.task_group, problems)
        _check_objective(ins, what, ind.objective, problems)
        if not ind.unit:
            problems.append(f"{where}: {what}: missing unit")


def _check_title(ins: Instrument, problems: list[str]) -> None:
    """The instrument has a title in its first language."""
    lang = ins.languages[0]
    if not (ins.title_vi if lang == "vi" else ins.title_en):
        problems.append(f"{ins.path}: missing {_LANGUAGE_NAMES[lang]} title (title::{lang})")


def _check_task_group_list(ins: Instrument, problems: list[str]) -> None:
    """``task_groups.yaml``, when it lists any, numbers them 1, 2, … without gaps."""
    numbers = sorted({tg.number for tg in ins.task_groups})
    if numbers and numbers != list(range(1, len(ins.task_groups) + 1)):
        problems.append(f"{ins.path}: task_groups.yaml must number its task groups 1–{len(ins.task_groups)} "
                        "without gaps or repeats")


def read_checked(path: Path, surveys_dir: Path, population_dir: Path | None) -> tuple[Instrument | None, list[str]]:
    """The instrument in *path* and every problem in it: form, consistency, and the file name.

    The file must be ``<name>/v<version>.yaml`` for the instrument and version it declares.
    """
    ins, problems = parse_file(path, surveys_dir, population_dir)
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
    _, problems = read_checked(path, sdir, None if population_dir is None else Path(population_dir))
    return tuple(problems)


def _coverage_problems(member: Instrument, unit: Instrument) -> list[str]:
    """Every task group of the plan is measured by a construct of *member* or an indicator of
    *unit* (the instrument and its unit survey in study.yaml)."""
    covered = {c.task_group for c in member.constructs} | {i.task_group for i in unit.indicators}
    return [f"{member.path} + {unit.path}: task group {n} has no measure "
            "(no member construct or unit indicator)"
            for n in sorted({tg.number for tg in member.task_groups}) if n not in covered]


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


def _unit_survey_pairs() -> list[tuple[str, str]]:
    """(instrument, its unit survey) of the study (study.yaml ``unit_survey``), none without a study."""
    try:
        study = project.load_study()
    except project.StudyError:
        return []
    return [(i.name, i.unit_survey) for i in study.instruments if i.unit_survey and i.unit_survey != i.name]


def check_all(*, surveys_dir: Path | str | None = None,
              population_dir: Path | str | None = None) -> tuple[str, ...]:
    """Check every instrument file under *surveys_dir*; raise one `InstrumentError` listing all problems.

    Besides the per-file checks, every pairing of a version of an instrument with a version of
    its unit survey (study.yaml) must cover all the plan's task groups, and across versions of one instrument an item whose wording or
    scale changed must carry a new name. Returns the files checked.

    Examples
    --------
    >>> sorted(check_all())[:1]
    ['surveys/member/v1.yaml']
    """
    sdir = surveys_folder(surveys_dir)
    pdir = None if population_dir is None else Path(population_dir)
    problems: list[str] = []
    loaded: dict[str, list[Instrument]] = {}
    files = instrument_files(sdir)
    if not files:
        problems.append(f"{display_path(sdir)}: no instrument files (<name>/v<N>.yaml)")
    for path in files:
        ins, found = read_checked(path, sdir, pdir)
        problems.extend(found)
        if ins is not None and not found:
            loaded.setdefault(path.parent.name, []).append(ins)
    for name, unit_survey in _unit_survey_pairs():
        for m in loaded.get(name, []):
            for u in loaded.get(unit_survey, []):
                problems.extend(_coverage_problems(m, u))
    for series in loaded.values():
        problems.extend(_version_problems(sorted(series, key=lambda i: int(i.version))))
    if problems:
        raise InstrumentError(problems)
    return tuple(display_path(p) for p in files)

