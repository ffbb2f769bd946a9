"""The study in one file: ``study.yaml`` at the project root says what this project measures.

Everything that belongs to one study rather than to the toolkit is declared there, so that the
code in ``src/`` knows no instrument, margin or unit of its own: the instruments and the
notebooks each one runs, the population frame, the sampling design of each instrument, the
raking margins, the plan (task groups and objectives, optional), the disclosure roles
(hierarchy, quasi-identifiers) and the report languages. The shipped ``study.yaml`` declares
Đề án 04-ĐA/ĐUK; another survey gets its own project folder with its own ``study.yaml``.

Schema (every key but ``instruments`` is optional)::

    name: de-an-04                    # short id of the study
    title: {vi: …, en: …}             # shown on reports
    languages: [vi, en]               # report languages; the first is the default
    plan: surveys/task_groups.yaml    # task groups and objectives; leave out if there is no plan
    frame: data/population            # the population frame (units.csv, margins.csv); leave out if none
    instruments:                      # in the order `report` runs them
      member:
        notebooks: [10_data_quality, …, 00_executive_summary]   # notebooks/pipeline.yaml names
        design:
          weights: frame              # equal | frame (unit's members / its respondents) | a column
          strata: unit                # a role column, or leave out
          cluster: null               # a role column, or leave out
          fpc: unit_size              # unit_size (the unit's members in the frame), a column, or leave out
          lonely_psu: adjust          # as R's options(survey.lonely.psu=)
          rake: [org, sex, party]     # role columns raked to the frame's margins (margins.csv)
        breakdowns: [org, sex, age_group, party, education]   # groups of the score tables
        hierarchy: [org, unit]        # nesting of the groups (outer first), for disclosure control
        quasi_identifiers: [unit, sex, age_group, party, position]   # roles or item names; export-responses
        unit_survey: unit             # the instrument answered per unit (unit sections, dose-response)
    total_label: {vi: Toàn Khối, en: All organizations}   # the label of a table's total row

A design that needs the frame (``weights: frame``, ``fpc: unit_size``, ``rake``) needs a
``frame`` and a ``unit`` role in the instrument; `load_study` says which key to add or change.

Examples
--------
>>> s = load_study()
>>> s.languages, [i.name for i in s.instruments]
(('vi', 'en'), ['member', 'unit'])
>>> s.instrument("member").design.strata, s.instrument("member").design.rake
('unit', ('org', 'sex', 'party'))
>>> sorted(s.features("unit"))
['breakdown-org', 'frame', 'groups', 'plan', 'unit-survey']
>>> s.instrument("bfi")
Traceback (most recent call last):
...
analysis.project.StudyError: study.yaml: no instrument 'bfi' (declared: member, unit); add it under `instruments:`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from analysis import config

__all__ = ["STUDY_FILE", "StudyError", "Design", "StudyInstrument", "Study", "load_study"]

#: The study file of the project (``$ANALYSIS_PROJECT_ROOT/study.yaml``).
STUDY_FILE: Path = config.PROJECT_ROOT / "study.yaml"

_LANGUAGES = ("vi", "en")
_LONELY = ("fail", "adjust", "certainty", "remove", "average")
#: Values of `Design.weights` and `Design.fpc` that are computed from the frame, not read.
FRAME_WEIGHTS = "frame"
FRAME_FPC = "unit_size"


class StudyError(ValueError):
    """study.yaml is missing, malformed, or asks for something the study lacks (key and rule named)."""


@dataclass(frozen=True)
class Design:
    """How one instrument's respondents were selected, and what they are weighted to."""

    weights: str = "equal"
    strata: str | None = None
    cluster: str | None = None
    fpc: str | None = None
    lonely_psu: str = "adjust"
    rake: tuple[str, ...] = ()

    @property
    def needs_frame(self) -> bool:
        """True when the base weights, the fpc or the raking margins come from the frame."""
        return self.weights == FRAME_WEIGHTS or self.fpc == FRAME_FPC or bool(self.rake)


@dataclass(frozen=True)
class StudyInstrument:
    """One instrument of the study: its notebooks, design and disclosure roles."""

    name: str
    notebooks: tuple[str, ...]
    design: Design = field(default_factory=Design)
    breakdowns: tuple[str, ...] = ()
    hierarchy: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    unit_survey: str | None = None

    @property
    def group(self) -> str | None:
        """The outermost group of the hierarchy (``org`` in Đề án 04), or None."""
        return self.hierarchy[0] if self.hierarchy else None


@dataclass(frozen=True)
class Study:
    """The parsed study file. Paths are absolute."""

    path: Path
    name: str
    title: Mapping[str, str]
    languages: tuple[str, ...]
    plan: Path | None
    frame: Path | None
    instruments: tuple[StudyInstrument, ...]
    total_label: Mapping[str, str] = field(default_factory=dict)

    @property
    def instrument_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.instruments)

    def instrument(self, name: str) -> StudyInstrument:
        """The instrument *name*, or a `StudyError` naming the declared ones."""
        for ins in self.instruments:
            if ins.name == name:
                return ins
        raise StudyError(f"{self.path.name}: no instrument {name!r} (declared: {', '.join(self.instrument_names)}); "
                         "add it under `instruments:`")

    def features(self, instrument: str) -> frozenset[str]:
        """What the study offers the report of *instrument*; notebook cells tagged ``needs-<feature>``
        run only when it is here (``frame``, ``rake``, ``plan``, ``unit-survey``, ``groups``,
        ``breakdown-<role>``)."""
        spec = self.instrument(instrument)
        have = {f"breakdown-{role}" for role in spec.breakdowns}
        have |= {name for name, present in (("frame", self.frame is not None), ("rake", bool(spec.design.rake)),
                                             ("plan", self.plan is not None), ("unit-survey", spec.unit_survey is not None),
                                             ("groups", bool(spec.hierarchy))) if present}
        return frozenset(have)

    def title_in(self, lang: str) -> str:
        """The study's title in *lang*, else in its first language, else its name."""
        return self.title.get(lang) or self.title.get(self.languages[0]) or self.name

    def require_frame(self, instrument: str, why: str) -> Path:
        """The frame folder, or a `StudyError` saying which key of study.yaml needs it."""
        if self.frame is None:
            raise StudyError(f"{self.path.name}: instruments.{instrument}: {why} needs a population frame, "
                             "but the study declares none; add `frame: <folder with units.csv and margins.csv>` "
                             "or change the design")
        return self.frame


def _tuple(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}: expected a list of names, found {value!r}")
        return ()
    return tuple(value)


def _optional(value: Any, where: str, problems: list[str]) -> str | None:
    if value is None or isinstance(value, str) and value:
        return value
    problems.append(f"{where}: expected a name or nothing, found {value!r}")
    return None


def _design(raw: Any, where: str, problems: list[str]) -> Design:
    if raw is None:
        return Design()
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping (weights, strata, cluster, fpc, lonely_psu, rake), found {raw!r}")
        return Design()
    unknown = sorted(set(raw) - {"weights", "strata", "cluster", "fpc", "lonely_psu", "rake"})
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (known: weights, strata, cluster, fpc, "
                        "lonely_psu, rake)")
    lonely = raw.get("lonely_psu", "adjust")
    if lonely not in _LONELY:
        problems.append(f"{where}.lonely_psu: {lonely!r} is not one of {', '.join(_LONELY)}")
    weights = raw.get("weights", "equal")
    if not isinstance(weights, str) or not weights:
        problems.append(f"{where}.weights: expected equal, frame or a column name, found {weights!r}")
        weights = "equal"
    return Design(weights=weights, strata=_optional(raw.get("strata"), f"{where}.strata", problems),
                  cluster=_optional(raw.get("cluster"), f"{where}.cluster", problems),
                  fpc=_optional(raw.get("fpc"), f"{where}.fpc", problems), lonely_psu=str(lonely),
                  rake=_tuple(raw.get("rake"), f"{where}.rake", problems))


def _instrument(name: str, raw: Any, problems: list[str]) -> StudyInstrument:
    where = f"instruments.{name}"
    try:
        config.check_id(name, "instrument")
    except config.InvalidIdentifierError as exc:
        problems.append(f"{where}: {exc}")
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping with notebooks, design, …, found {raw!r}")
        raw = {}
    known = {"notebooks", "design", "breakdowns", "hierarchy", "quasi_identifiers", "unit_survey"}
    unknown = sorted(set(raw) - known)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    notebooks = _tuple(raw.get("notebooks"), f"{where}.notebooks", problems)
    if not notebooks:
        problems.append(f"{where}.notebooks: list the notebooks (notebooks/pipeline.yaml) this instrument's report runs")
    return StudyInstrument(name=name, notebooks=notebooks, design=_design(raw.get("design"), f"{where}.design", problems),
                           breakdowns=_tuple(raw.get("breakdowns"), f"{where}.breakdowns", problems),
                           hierarchy=_tuple(raw.get("hierarchy"), f"{where}.hierarchy", problems),
                           quasi_identifiers=_tuple(raw.get("quasi_identifiers"), f"{where}.quasi_identifiers",
                                                    problems),
                           unit_survey=_optional(raw.get("unit_survey"), f"{where}.unit_survey", problems))


def _texts(value: Any, key: str, problems: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(f"{key}: expected a mapping of language to text ({{vi: …, en: …}}), found {value!r}")
        return {}
    return {str(k): v for k, v in value.items()}


def _path(value: Any, key: str, root: Path, problems: list[str]) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.append(f"{key}: expected a path relative to the project folder, found {value!r}")
        return None
    path = (root / value).resolve()
    if not path.exists():
        problems.append(f"{key}: {value} does not exist (relative to {root})")
    return path


def parse_study(raw: Any, path: Path) -> Study:
    """A `Study` from the parsed YAML of *path*; one `StudyError` lists every problem."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise StudyError(f"{path}: expected a mapping with at least `instruments:`")
    known = {"name", "title", "languages", "plan", "frame", "instruments", "total_label"}
    unknown = sorted(set(raw) - known)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    languages = _tuple(raw.get("languages", ["vi", "en"]), "languages", problems)
    bad = [lang for lang in languages if lang not in _LANGUAGES]
    if bad or not languages:
        problems.append(f"languages: {list(languages)!r}: use one or more of {', '.join(_LANGUAGES)}")
    title, total = (_texts(raw.get(key), key, problems) for key in ("title", "total_label"))
    instruments = raw.get("instruments")
    if not isinstance(instruments, dict) or not instruments:
        problems.append("instruments: declare at least one instrument (its notebooks and design)")
        instruments = {}
    root = path.parent
    study = Study(path=path, name=str(raw.get("name") or root.name), title=title, total_label=total,
                  languages=languages or ("vi",), plan=_path(raw.get("plan"), "plan", root, problems),
                  frame=_path(raw.get("frame"), "frame", root, problems),
                  instruments=tuple(_instrument(str(n), r, problems) for n, r in instruments.items()))
    for ins in study.instruments:
        if ins.unit_survey is not None and ins.unit_survey not in study.instrument_names:
            problems.append(f"instruments.{ins.name}.unit_survey: {ins.unit_survey!r} is not an instrument of the study")
        if ins.design.needs_frame and study.frame is None:
            problems.append(f"instruments.{ins.name}.design: weights: frame, fpc: unit_size and rake need "
                            "`frame:` (the population frame folder); add it or use weights: equal")
    if problems:
        raise StudyError(f"{path}:\n  " + "\n  ".join(problems))
    return study


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> Study:
    import yaml  # local: config-level module, yaml only needed here

    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise StudyError(f"{p}: not valid YAML ({exc})") from None
    return parse_study(raw, p)


def load_study(path: Path | str | None = None) -> Study:
    """The study declared in *path* (default: `STUDY_FILE`), checked; cached until the file changes.

    Raises
    ------
    StudyError
        The file is missing (what to write is said) or lists problems, one per line.
    """
    p = Path(path) if path is not None else STUDY_FILE
    if not p.is_file():
        raise StudyError(f"{p}: no study file; every project declares its study in study.yaml at its root "
                         "(instruments, their notebooks and design; see analysis.project)")
    return _load(str(p.resolve()), p.stat().st_mtime_ns)
