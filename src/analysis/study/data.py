"""Loading the waves of an instrument: respondents with their role columns and scores, units with their indicators; labels and the frame's unit list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from analysis import project
from analysis.ingest import waves as waves_mod
from analysis.instruments import Instrument, population
from analysis.stats import scoring
from analysis.study.base import FLAGGED, ROLE_COLUMNS, WAVE

__all__ = [
    "role_columns",
    "require_roles",
    "frame_dir",
    "unit_survey",
    "groups",
    "load_responses",
    "respondents_by_unit",
    "load_units",
    "import_counts",
    "labels_for",
    "unit_hierarchy",
    "unit_identifiers",
    "construct_names",
]


def role_columns(df: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """The respondent's role columns (org, unit, sex…), missing codes as missing.

    Parameters
    ----------
    df : DataFrame
        A processed wave (item columns hold choice codes as strings).
    instrument : Instrument
        The version the wave was collected with.

    Returns
    -------
    DataFrame
        One object column per role in `ROLE_COLUMNS` that the instrument has, aligned to *df*.
    """
    out = pd.DataFrame(index=df.index)
    for role in ROLE_COLUMNS:
        item = instrument.role_item(role)
        if item is None or item.name not in df.columns:
            continue
        codes = df[item.name].astype(object).where(df[item.name].notna(), None)
        if item.list_name:
            # "Don't know" is not a sex or a party: it must not become a raking category.
            codes = codes.where(~codes.isin(instrument.missing_codes(item.list_name)), None)
        out[role] = codes
    return out


def _flags(df: pd.DataFrame) -> pd.Series:
    cols = [c for c in df.columns if str(c).startswith("_flag_")]
    if not cols:
        return pd.Series(False, index=df.index)
    return df[cols].fillna(False).astype(bool).any(axis=1)


def require_roles(instrument: Instrument, roles: Sequence[str], why: str) -> None:
    """Raise a `StudyError` naming every role of *roles* that *instrument* has no item for.

    The message says which instrument, which role, what needs it (*why*) and what to add: an
    item with ``role: <role>`` in the questionnaire, or a study.yaml without that need.
    """
    missing = [r for r in roles if instrument.role_item(r) is None]
    if missing:
        raise project.StudyError(
            f"instrument {instrument.name!r} (v{instrument.version}) has no item with role "
            f"{', '.join(repr(r) for r in missing)}, which {why} needs; add `role: {missing[0]}` to the item in "
            f"surveys/{instrument.name}/v{instrument.version}.yaml, or change study.yaml")


def unit_survey(instrument: str) -> str | None:
    """The instrument answered per unit that describes *instrument*'s units (study.yaml
    ``unit_survey``), or None: the sections about units are then left out."""
    return project.load_study().instrument(instrument).unit_survey


def groups(instrument: str) -> list[str]:
    """The outermost group of *instrument*'s hierarchy as a list (``["org"]`` in Đề án 04), or
    ``[]``: tables by group become tables of the whole population."""
    return list(project.load_study().instrument(instrument).hierarchy[:1])


def frame_dir(instrument: str, population_dir: Path | None, why: str) -> Path:
    """The population frame folder for *instrument*: *population_dir* if given, else the study's."""
    if population_dir is not None:
        return Path(population_dir)
    return project.load_study().require_frame(instrument, why)


def load_responses(instrument: str, waves: Sequence[str], *, processed_dir: Path | None = None,
                   population_dir: Path | None = None) -> pd.DataFrame:
    """Every respondent of *instrument* in *waves*, with roles, construct scores and, where the
    study's design needs it, the frame's unit size.

    Parameters
    ----------
    instrument : str
        An instrument of the study (study.yaml).
    waves : sequence of str
        Imported waves, oldest first (waves not imported are skipped).
    processed_dir, population_dir : path, optional
        Defaults from `analysis.config` and the study file.

    Returns
    -------
    DataFrame
        ``wave``, the role columns, ``flagged`` (any ``_flag_*``), one float column per construct
        of the latest version (NaN in a wave whose version lacks it), ``unit_size`` (the unit's
        members in the frame, when the design uses ``weights: frame`` or ``fpc: unit_size``), and
        the wave's item columns (item names; other code reads them through the instrument only).

    Raises
    ------
    StudyError
        The design needs a ``unit`` role the instrument lacks, or a frame the study lacks.
    ValueError
        A respondent's unit is not in the population frame (the unit is named).
    """
    design = project.load_study().instrument(instrument).design
    needs_sizes = design.weights == project.FRAME_WEIGHTS or design.fpc == project.FRAME_FPC
    sizes = population.unit_sizes(frame_dir(instrument, population_dir, "the design's unit sizes")) \
        if needs_sizes else {}
    imported = set(waves_mod.list_waves(instrument, processed_dir=processed_dir))
    frames = []
    for wave in [w for w in waves if w in imported]:  # a unit report may run before a member wave exists
        raw = waves_mod.load_wave(instrument, wave, processed_dir=processed_dir)
        ins = waves_mod.load_instrument(instrument, wave, processed_dir=processed_dir)
        roles = role_columns(raw, ins)
        scores = scoring.score_constructs(raw, ins)
        meta = pd.DataFrame({WAVE: wave, FLAGGED: _flags(raw)}, index=raw.index)
        frame = pd.concat([meta, roles, scores, raw.drop(columns=[c for c in scores.columns if c in raw.columns])],
                          axis=1)
        if needs_sizes:
            require_roles(ins, ["unit"], f"study.yaml's design of {instrument!r} (weights: frame, fpc: unit_size)")
            unknown = sorted(set(frame["unit"].dropna()) - set(sizes))
            if unknown:
                raise ValueError(f"{instrument} wave {wave}: unit(s) {', '.join(unknown)} not in the population "
                                 "frame (data/population/units.csv)")
            frame["unit_size"] = frame["unit"].map(sizes).astype("float64")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def respondents_by_unit(instrument: str, wave: str, *, processed_dir: Path | None = None) -> pd.Series:
    """Respondents of *instrument* in *wave* per unit (the ``unit`` role; a missing code is no
    unit), counted as in `load_responses` from the one column: empty when the wave is not
    imported or the instrument has no unit role."""
    if wave not in waves_mod.list_waves(instrument, processed_dir=processed_dir):
        return pd.Series(dtype="int64")
    ins = waves_mod.load_instrument(instrument, wave, processed_dir=processed_dir)
    item = ins.role_item("unit")
    if item is None:
        return pd.Series(dtype="int64")
    raw = waves_mod.load_wave(instrument, wave, processed_dir=processed_dir, columns=[item.name])
    units = role_columns(raw, ins)["unit"]
    return units.groupby(units).size()


def load_units(instrument: str, waves: Sequence[str], *, processed_dir: Path | None = None) -> pd.DataFrame:
    """Every unit's answers and indicator values in *waves* (the unit panel).

    Returns
    -------
    DataFrame
        ``wave, org, unit`` then one float column per indicator (named as the indicator), and
        the items. Waves not imported are skipped (the member report may run before any unit
        wave exists).
    """
    imported = set(waves_mod.list_waves(instrument, processed_dir=processed_dir))
    frames = []
    for wave in [w for w in waves if w in imported]:
        raw = waves_mod.load_wave(instrument, wave, processed_dir=processed_dir)
        ins = waves_mod.load_instrument(instrument, wave, processed_dir=processed_dir)
        require_roles(ins, ["org", "unit"], "the unit survey (one row per unit of an organization)")
        roles = role_columns(raw, ins)[["org", "unit"]]
        values = scoring.compute_indicators(raw, ins)
        frames.append(pd.concat([pd.DataFrame({WAVE: wave}, index=raw.index), roles, values,
                                 raw.drop(columns=[c for c in values.columns if c in raw.columns])], axis=1))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[WAVE, "org", "unit"])


def import_counts(instrument: str, waves: Sequence[str], *, processed_dir: Path | None = None) -> pd.DataFrame:
    """Rows read, accepted, quarantined and dropped, and flags, per wave (from the import files).

    Returns
    -------
    DataFrame
        ``[wave, rows_read, accepted, quarantined, dropped, balanced, flag columns…,
        synthetic, instrument_version]``; ``balanced`` checks read = accepted + quarantined
        + dropped. Flag counts come from the processed data (``_flag_*`` columns).
    """
    rows = []
    imported = set(waves_mod.list_waves(instrument, processed_dir=processed_dir))
    for wave in [w for w in waves if w in imported]:
        m = waves_mod.wave_manifest(instrument, wave, processed_dir=processed_dir)
        row = {WAVE: wave, **{k: m.get(k) for k in ("rows_read", "accepted", "quarantined", "dropped")}}
        row["balanced"] = (row["rows_read"] == sum(int(row[k] or 0) for k in ("accepted", "quarantined", "dropped")))
        flags = sorted(c for c in waves_mod.wave_columns(instrument, wave, processed_dir=processed_dir)
                       if str(c).startswith("_flag_"))
        data = waves_mod.load_wave(instrument, wave, processed_dir=processed_dir, columns=flags)  # only these
        for col in flags:
            row[col.removeprefix("_")] = int(data[col].fillna(False).astype(bool).sum())
        row["synthetic"] = m.get("synthetic", True) is not False
        row["instrument_version"] = str(m.get("instrument_version", ""))
        rows.append(row)
    return pd.DataFrame(rows)


_ROLE_WORDS = {
    "org": ("Tổ chức", "Organization"), "unit": ("Cơ sở", "Unit"), "sex": ("Giới tính", "Sex"),
    "age_group": ("Nhóm tuổi", "Age group"), "party": ("Đảng viên", "Party member"),
    "education": ("Trình độ chuyên môn", "Education"), "theory": ("Lý luận chính trị", "Political theory"),
    "position": ("Chức vụ", "Position"), "": ("Tất cả", "All"),
    "base": ("Trọng số cơ sở", "Base weights"), "raked": ("Sau hiệu chỉnh (raking)", "Raked"),
    "all": ("Tất cả phiếu", "All rows"), "unflagged": ("Bỏ phiếu bị đánh dấu", "Without flagged rows"),
}


def labels_for(instrument: Instrument, lang: str = "vi") -> dict[str, str]:
    """Display labels: constructs, indicators, task groups (``tg1``…), roles and role codes.

    Returns
    -------
    dict
        ``{code: label}`` in *lang* (falls back to Vietnamese); ``""`` (a margin row) is the
        study's ``total_label`` (study.yaml), else "Tất cả" / "All".
    """
    out = {k: v[0 if lang == "vi" else 1] for k, v in _ROLE_WORDS.items()}
    out[""] = project.load_study().total_label.get(lang, out[""])
    out.update({c.name: c.label(lang) for c in instrument.constructs})
    out.update({i.name: i.label(lang) for i in instrument.indicators})
    out.update({f"tg{tg.number}": tg.label(lang) for tg in instrument.task_groups})
    for role in ROLE_COLUMNS:
        item = instrument.role_item(role)
        if item is not None and item.list_name and role != "unit":
            out.update({c.name: c.label(lang) for c in instrument.choice_list(item.list_name) if c.name not in out})
    return out


def unit_hierarchy(population_dir: Path | None = None) -> pd.DataFrame:
    """``[unit, org]`` from the frame: the nesting `analysis.disclosure` needs."""
    units = population.load_units(population_dir or project.load_study().frame)
    return units[["unit_id", "org"]].rename(columns={"unit_id": "unit"})


def unit_identifiers(population_dir: Path | None = None) -> list[str]:
    """Unit codes and names (vi, en) from the frame: a comment naming one is withheld (none
    without a frame)."""
    folder = population_dir or project.load_study().frame
    if folder is None:
        return []
    units = population.load_units(folder)
    return sorted(set(units["unit_id"]) | set(units["name_vi"]) | set(units["name_en"]))


def construct_names(instrument: Instrument) -> list[str]:
    """The instrument's constructs, in questionnaire order."""
    return [c.name for c in instrument.constructs]
