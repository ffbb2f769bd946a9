"""Synthetic unit-survey waves: one form per grassroots unit per wave, driven by implementation intensity.

No item is named here. The generator reads the unit instrument:

* each **indicator** formula says what an item is: ``x`` (a yes/no or a count), ``a / b``
  (``a`` is a share of ``b``), ``a / b * 100`` and ``a / (b - c) * 100`` (a rate per 100 of
  ``b`` or of ``b − c``), ``x >= k`` (a rating); the indicator's level rises with the unit's
  intensity ``I`` from a low to a high value (`PROFILES`, by indicator name; unknown
  indicators get a default by their ``unit``);
* the **size** item is the integer item that bounds most others (``. <= ${…}``) — it is set to
  the unit's member count in the frame — and the item subtracted from it in a per-100 formula
  is the count of party members (from the synthetic population);
* **constraints** give every integer's bounds; **relevance** blanks the questions that did not
  apply (evaluated with `analysis.ingest.validate`, the import's own evaluator); items outside every
  indicator get plain defaults (dates in the fieldwork window or, when conditional, early in
  the year; years; small counts; the respondent's post; comments).

Answers are persistent across waves (the same unit keeps a yes once its intensity is high
enough: common random numbers per unit and item), so the 103 units form a credible panel. The
generated answers are validated before they are written; a generator bug raises instead of
producing a file the import would quarantine.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.ingest import validate
from analysis.ingest.spec import InstrumentSpec, spec_from_instrument, typed_answers
from analysis.instruments import Instrument, population
from analysis.synthetic.text import unit_comments
from analysis.synthetic.world import fieldwork_dates

__all__ = ["PROFILES", "DENOMINATORS", "ROUTINE_FROM_INTENSITY", "unit_wave", "parse_formula"]

#: Indicator level at intensity 0 and at intensity 1 (probability of "yes", share, count per
#: year or rate per 100). Keyed by indicator name; others get `_DEFAULT_PROFILE` by their unit.
PROFILES: Mapping[str, tuple[float, float]] = {
    "ui_ldr_sessions": (0.6, 3.6), "ui_ldr_evalpub": (0.2, 0.95), "ui_ldr_cmte": (0.55, 0.9),
    "ui_adm_intro_rate": (1.0, 7.0), "ui_adm_admitted_share": (0.4, 0.85), "ui_prg_coord": (0.05, 0.97),
    # a levels above 1 means "every unit with enough intensity does it" (the draw is u < level)
    "ui_core_group": (-0.1, 1.6), "ui_emu_count": (2.0, 7.0), "ui_emu_models": (1.0, 6.0),
    "ui_dig_share": (0.07, 1.73), "ui_meet_online_share": (0.05, 0.5), "ui_conf_held": (0.75, 0.99),
    "ui_fin_public": (0.6, 0.98), "ui_crd_reg": (0.45, 0.98), "ui_crd_reviewed": (0.2, 0.9),
    "ui_crd_fund": (0.5, 0.9), "ui_cult_unit": (0.4, 0.85), "ui_cad_trained_share": (0.2, 0.85),
    "ui_ins_received": (0.3, 2.5), "ui_ins_handled_share": (0.5, 1.0), "ui_rating_good": (0.5, 0.95),
}
#: Annual duties that become routine in every unit once the bloc's implementation is high: from
#: a wave whose mean unit intensity reaches the threshold, every unit holds the yearly cadre
#: conference, discloses its finances, has a coordination regulation, or handles every violation
#: (about 2024 for the first, 2025 for the others: mean intensity ≈ 0.2, 0.38, 0.57, 0.74 in
#: 2023–2026). Without this, a census of 103 units never shows a plan target met in full.
ROUTINE_FROM_INTENSITY: Mapping[str, float] = {
    "ui_conf_held": 0.35, "ui_fin_public": 0.5, "ui_crd_reg": 0.5, "ui_ins_handled_share": 0.5,
}
_DEFAULT_PROFILE = {"yes/no": (0.3, 0.9), "share": (0.3, 0.9), "count": (1.0, 5.0), "per 100": (1.0, 5.0)}
#: Denominators that no indicator drives: expected count ``a + b × members`` (indicator name → (a, b)).
DENOMINATORS: Mapping[str, tuple[float, float]] = {
    "ui_meet_online_share": (6.0, 1 / 12), "ui_cad_trained_share": (3.0, 1 / 25), "ui_ins_handled_share": (0.15, 0.008),
}

_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
_SHAPES = [
    ("item", re.compile(rf"^{_NAME}$")),
    ("share", re.compile(rf"^{_NAME}\s*/\s*{_NAME}$")),
    ("per100", re.compile(rf"^{_NAME}\s*/\s*{_NAME}\s*\*\s*100$")),
    ("per100_diff", re.compile(rf"^{_NAME}\s*/\s*\(\s*{_NAME}\s*-\s*{_NAME}\s*\)\s*\*\s*100$")),
    ("threshold", re.compile(rf"^{_NAME}\s*(>=|>)\s*(\d+(?:\.\d+)?)$")),
]


def parse_formula(formula: str) -> tuple[str, tuple[str, ...]]:
    """The shape of an indicator formula and its parts.

    Examples
    --------
    >>> parse_formula("xx_a / (xx_b - xx_c) * 100")
    ('per100_diff', ('xx_a', 'xx_b', 'xx_c'))
    >>> parse_formula("xx_r >= 3")
    ('threshold', ('xx_r', '>=', '3'))
    """
    text = formula.strip()
    for shape, pattern in _SHAPES:
        m = pattern.match(text)
        if m:
            return shape, m.groups()
    raise NotImplementedError(f"indicator formula {formula!r} has a shape the synthetic generator does not know; "
                              f"extend analysis.synthetic.units.parse_formula")


_LOWER = re.compile(r"\.\s*>=\s*(\d+)")
_UPPER = re.compile(r"\.\s*<=\s*(?:\$\{([A-Za-z0-9_]+)\}|(\d+))")


def _bounds(constraint: str | None) -> tuple[int, str | int | None]:
    """(lower, upper) from constraints such as ``. >= 0 and . <= ${x}`` (upper: number, item or None)."""
    if not constraint:
        return 0, None
    lo = _LOWER.search(constraint)
    up = _UPPER.search(constraint)
    upper: str | int | None = None
    if up:
        upper = up.group(1) if up.group(1) else int(up.group(2))
    return (int(lo.group(1)) if lo else 0), upper


def _roles(unit: Instrument) -> dict:
    """What every integer/select item is for, from indicator formulas and constraints."""
    ints = [it for it in unit.items if it.base_type == "integer"]
    bounded_by: dict[str, int] = {}
    for it in ints:
        _, upper = _bounds(it.constraint)
        if isinstance(upper, str):
            bounded_by[upper] = bounded_by.get(upper, 0) + 1
    size = max(sorted(bounded_by), key=lambda k: bounded_by[k]) if bounded_by else None
    drivers: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    party = None
    denominators: dict[str, str] = {}
    for ind in unit.indicators:
        shape, parts = parse_formula(ind.formula)
        target = parts[0]
        drivers.setdefault(target, (ind.name, shape, parts))
        if shape == "share":
            denominators.setdefault(parts[1], ind.name)
        if shape == "per100_diff" and parts[1] == size:
            party = parts[2]
    return {"size": size, "party": party, "drivers": drivers, "denominators": denominators}


def _level(ind_name: str, unit_kind: str, intensity: np.ndarray) -> np.ndarray:
    lo, hi = PROFILES.get(ind_name, _DEFAULT_PROFILE.get(unit_kind, (0.3, 0.9)))
    return lo + (hi - lo) * intensity


def unit_wave(cfg, unit: Instrument, pop: pd.DataFrame, intensity: pd.DataFrame, wave: str,
              population_dir: Path | None = None) -> tuple[list[str], list[list[object]], pd.DataFrame]:
    """One unit-survey wave: spreadsheet header, rows (labels and Excel dates) and the coded answers.

    Parameters
    ----------
    cfg : SyntheticConfig
        Generator settings (its ``rng`` gives the draws).
    unit : Instrument
        The unit instrument.
    pop : DataFrame
        The synthetic population (`analysis.synthetic.world.make_population`): party counts per unit.
    intensity : DataFrame
        ``unit, org, wave, intensity`` (`analysis.synthetic.world.unit_intensity`).
    wave : str

    Returns
    -------
    (header, rows, answers)
        ``answers`` has one row per unit (codes, integers, ISO dates) and the unit's intensity.
    """
    units = population.load_units(population_dir)
    h = len(units)
    persistent = cfg.rng("unit", 0)   # the same numbers every wave: panel persistence
    rng = cfg.rng("unit", wave)
    inten = intensity[intensity["wave"] == wave].set_index("unit")["intensity"].reindex(units["unit_id"]).to_numpy()
    members = units["members"].to_numpy()
    party_n = pop.groupby("unit")["party"].apply(lambda s: int((s == "yes").sum())).reindex(units["unit_id"]).to_numpy()
    roles = _roles(unit)
    spec = spec_from_instrument(unit)
    start_day, end_day = fieldwork_dates("unit", wave)

    values: dict[str, np.ndarray] = {}
    item_order = [it for it in unit.items]
    persist_u = {it.name: persistent.random(h) for it in item_order}
    wave_u = {it.name: rng.random(h) for it in item_order}
    pending = list(item_order)
    guard = 0
    while pending:
        guard += 1
        if guard > 10 * len(item_order):
            raise RuntimeError(f"unit generator: cannot order items {[i.name for i in pending]}")
        it = pending.pop(0)
        lower, upper = _bounds(it.constraint)
        deps = [upper] if isinstance(upper, str) else []
        driver = roles["drivers"].get(it.name)
        if driver and driver[1] in ("share", "per100", "per100_diff"):
            deps += list(driver[2][1:])
        if any(d not in values for d in deps if d != it.name):
            pending.append(it)
            continue
        ub = values[upper].astype(float) if isinstance(upper, str) else (np.full(h, float(upper)) if upper is not None else np.full(h, np.inf))
        u = 0.8 * persist_u[it.name] + 0.2 * wave_u[it.name]
        if it.role == "org":
            values[it.name] = units["org"].to_numpy().astype(object)
        elif it.role == "unit":
            values[it.name] = units["unit_id"].to_numpy().astype(object)
        elif it.role == "comment":
            text = unit_comments(rng, h).to_numpy()
            values[it.name] = np.where(rng.random(h) < 0.35, text, None).astype(object)
        elif it.name == roles["size"]:
            values[it.name] = members.astype(np.int64)
        elif it.name == roles["party"]:
            values[it.name] = party_n.astype(np.int64)
        elif it.base_type == "date":
            if it.relevant:  # a conditional event early in the year (e.g. a start-of-year conference)
                first, day = np.datetime64(f"{int(wave)}-01-01"), rng.integers(4, 58, h)
            else:  # the date the form was filled in
                first, day = np.datetime64(start_day.isoformat()), rng.integers(0, (end_day - start_day).days + 1, h)
            values[it.name] = np.datetime_as_string(first + day.astype("timedelta64[D]"), unit="D").astype(object)
        elif driver:
            ind_name, shape, parts = driver
            ind = unit.indicator(ind_name)
            level = _level(ind_name, ind.unit, inten)
            # every draw below is still made for a routine duty, so other items' draws do not move
            routine = float(np.mean(inten)) >= ROUTINE_FROM_INTENSITY.get(ind_name, np.inf)
            if it.base_type == "select_one":
                codes = unit.choice_values(it.list_name)
                if shape == "threshold":
                    k = float(parts[2])
                    above = sorted([c for c, v in codes.items() if v >= k], key=lambda c: -codes[c])
                    below = sorted([c for c, v in codes.items() if v < k], key=lambda c: -codes[c])
                    good = u < level
                    top = rng.random(h) < 0.25 + 0.45 * inten
                    low_pick = rng.random(h) < 0.9
                    pick = np.where(good, np.where(top, above[0], above[-1]), np.where(low_pick, below[0], below[-1]))
                    missing = unit.missing_codes(it.list_name)
                    if missing:
                        pick = np.where(rng.random(h) < 0.015, missing[0], pick)
                    values[it.name] = pick.astype(object)
                else:
                    yes = max(codes, key=codes.get)
                    no = min(codes, key=codes.get)
                    values[it.name] = np.where((u < level) | routine, yes, no).astype(object)
            else:
                if shape in ("item",):
                    x = rng.poisson(level * np.exp(rng.normal(0, 0.2, h)))
                elif shape == "share":
                    denom = values[parts[1]].astype(float)
                    kappa = 25.0
                    m = np.clip(level, 0.01, 0.995)
                    share = rng.beta(m * kappa, (1 - m) * kappa)
                    x = denom.copy() if routine else np.rint(share * denom)
                elif shape == "per100":
                    x = rng.poisson(level * values[parts[1]].astype(float) / 100.0)
                else:  # per100_diff
                    base = values[parts[1]].astype(float) - values[parts[2]].astype(float)
                    x = rng.poisson(np.maximum(level * base / 100.0, 0.0))
                values[it.name] = np.clip(x, lower, ub).astype(np.int64)
        elif it.base_type == "integer" and it.name in roles["denominators"]:
            a, b = DENOMINATORS.get(roles["denominators"][it.name], (3.0, 0.05))
            x = rng.poisson(a + b * members)
            values[it.name] = np.clip(x, max(lower, 0), ub).astype(np.int64)
        elif it.base_type == "integer":
            if lower >= 1900:  # a year: issued before the plan for most units, never after the wave
                year = 2016 + np.floor(persist_u[it.name] * 9).astype(np.int64)
                values[it.name] = np.minimum(year, int(wave)).astype(np.int64)
            else:
                x = rng.poisson(3.0 + members / 25.0)
                values[it.name] = np.clip(x, max(lower, 1 if lower >= 1 else 0), ub).astype(np.int64)
        elif it.base_type == "select_one":
            codes = unit.valid_codes(it.list_name)
            p = np.linspace(2.0, 1.0, len(codes))
            values[it.name] = rng.choice(np.asarray(codes, dtype=object), size=h, p=p / p.sum())
        else:
            values[it.name] = np.full(h, None, dtype=object)

    frame = pd.DataFrame({it.name: pd.Series(values[it.name], dtype=object) for it in spec.items})
    typed = typed_answers(frame, spec)
    applies, _ = validate.relevance(typed, spec)
    for it in spec.items:
        frame.loc[~applies[it.name].to_numpy(), it.name] = None
    typed = typed_answers(frame, spec)
    failures = validate.validate_answers(typed, spec)
    if len(failures):
        raise RuntimeError(f"unit generator produced invalid answers (a bug): {failures.head(10).to_dict('records')}")

    header, rows = _spreadsheet(unit, spec, frame, typed_dates=rng.random(h) < 0.3)
    frame.insert(0, "_intensity", inten)
    frame.insert(0, "_wave", wave)
    return header, rows, frame


def _spreadsheet(unit: Instrument, spec: InstrumentSpec, frame: pd.DataFrame,
                 typed_dates: np.ndarray) -> tuple[list[str], list[list[object]]]:
    """Hand-typed style: question texts (vi) as headers, choice labels as answers, dates as Excel
    date cells or, in the rows of *typed_dates*, typed as text ``dd/mm/yyyy`` (both happen in
    spreadsheets filled in by hand)."""
    labels = [it.label_vi or it.name for it in spec.items]
    dup = {x for x in labels if labels.count(x) > 1}
    header = [it.name if lab in dup else lab for it, lab in zip(spec.items, labels)]
    cols = []
    for it in spec.items:
        col = frame[it.name]
        if it.kind == "select_one":
            mapping = {c.name: c.label("vi") for c in unit.choice_list(it.list_name)}
            cols.append(col.map(lambda v: mapping.get(v) if v is not None else None).tolist())
        elif it.kind == "date":
            cols.append([None if not isinstance(v, str) else (dt.date.fromisoformat(v).strftime("%d/%m/%Y") if typed
                         else dt.datetime.fromisoformat(v)) for v, typed in zip(col, typed_dates)])
        elif it.kind == "integer":
            cols.append([None if v is None or pd.isna(v) else int(v) for v in col])
        else:
            cols.append(col.tolist())
    rows = [list(r) for r in zip(*cols)]
    return header, rows
