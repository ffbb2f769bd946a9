"""The synthetic world: the generator's settings, the members of the frame and the units' implementation
of the plan, the fieldwork calendar (SYNTHETIC DATA).

All draws come from ``numpy.random.Generator`` seeded from one integer (`SyntheticConfig.rng`:
one independent stream per part and wave).

Population: the 6,314 members of the frame (`analysis.instruments.population`), unit by unit, with sex and
party membership matching the published org × sex and org × party margins *exactly*, education
matching the published qualification counts exactly (the unpublished remainder is
``below_university``), exactly 647 with advanced political theory, ages by organization
(veterans old, youth-union members young), positions ranked within each unit.

Units: one implementation intensity ``I ∈ (0, 1)`` per unit and wave, rising from 2023 with
unit-level heterogeneity (`unit_intensity`); the unit survey's answers follow it through the
instrument's indicators (`analysis.synthetic.units`).

Nothing here names an item: items are found by role, construct, type and indicator formula.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.instruments import Instrument, load, population

__all__ = ["DEFAULT_SEED", "DEFAULT_WAVES", "SyntheticConfig", "make_population", "unit_intensity", "fieldwork_dates"]

#: The seed of the shipped demo (the plan's issue date, 24 March 2023).
DEFAULT_SEED = 20230324
#: Waves written by default; the last one is written but not imported by `analysis.synthetic.demo`.
DEFAULT_WAVES: tuple[str, ...] = ("2023", "2024", "2025", "2026")

_WAVE_SALT = {"population": 0, "member": 1, "unit": 2, "intensity": 3}


@dataclass(frozen=True)
class SyntheticConfig:
    """Settings of the generator (all defaults are the shipped demo).

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same seed gives byte-identical files.
    response_base : float
        Baseline response probability before the org/sex/party/unit factors.
    speeder_seconds : float
        The speeder floor written to the member ``wave.yaml``.
    defects : mapping
        ``{kind: (low, high)}``: how many of each planted defect per wave (drawn in the range).
    comment_rate : tuple of float
        Share of respondents who write in the first and the second open question.
    dk_rate : tuple of float
        Range of the per-item "don't know" rate (sensitive items get twice the rate).
    """

    seed: int = DEFAULT_SEED
    response_base: float = 0.56
    speeder_seconds: float = 240.0
    defects: Mapping[str, tuple[int, int]] = field(default_factory=lambda: {
        "speeders": (8, 15), "straightliners": (5, 10), "item_nonresponse": (3, 6),
        "exact_duplicates": (4, 8), "conflicting_duplicates": (2, 4),
        "pii_name": (2, 4), "pii_phone": (1, 3), "pii_email": (1, 2)})
    comment_rate: tuple[float, float] = (0.28, 0.12)
    dk_rate: tuple[float, float] = (0.008, 0.025)

    def rng(self, part: str, wave: str | int = 0) -> np.random.Generator:
        """An independent generator for one part and wave (so a wave does not depend on others)."""
        return np.random.default_rng([int(self.seed), _WAVE_SALT[part], int(wave)])


# ============================================================================================
# Population
# ============================================================================================
# Age distribution by organization, over the instrument's age bands in their order (youngest
# first): youth-union members are under 35 in agencies, veterans are mostly over 50.
_AGE_PROBS = {"CDVC": (0.12, 0.34, 0.30, 0.22, 0.02), "HCCB": (0.0, 0.0, 0.06, 0.52, 0.42),
              "DTN": (0.60, 0.40, 0.0, 0.0, 0.0)}


def _top_k_within(groups: np.ndarray, score: np.ndarray, k_by_group: Mapping[object, int]) -> np.ndarray:
    """True for the *k* highest scores within each group (exact counts; vectorised ranking)."""
    frame = pd.DataFrame({"g": groups, "s": score})
    rank = frame.groupby("g", sort=True)["s"].rank(method="first", ascending=False).to_numpy()
    k = pd.Series(groups).map(k_by_group).to_numpy(dtype=float)
    return rank <= k


def make_population(cfg: SyntheticConfig, member: Instrument | None = None,
                    population_dir: Path | None = None) -> pd.DataFrame:
    """The synthetic population: one row per member of the frame, with demographics as codes.

    Returns
    -------
    pandas.DataFrame
        Columns ``person`` (0…N−1), ``unit``, ``org``, ``unit_size``, ``sex``, ``age_group``,
        ``party``, ``education``, ``theory``, ``position`` (choice codes of the member
        instrument's role lists). Org × sex and org × party counts equal the published margins;
        education and advanced-theory counts equal ``qualifications.csv``.
    """
    member = member or load("member")
    rng = cfg.rng("population")
    units = population.load_units(population_dir)
    sizes = units["members"].to_numpy()
    unit = np.repeat(units["unit_id"].to_numpy(), sizes)
    org = np.repeat(units["org"].to_numpy(), sizes)
    n = len(unit)
    pop = pd.DataFrame({"person": np.arange(n), "unit": unit, "org": org,
                        "unit_size": np.repeat(sizes, sizes).astype(np.int64)})

    lists = {role: member.role_item(role).list_name for role in ("sex", "age_group", "party", "education", "theory", "position")}
    age_codes = member.valid_codes(lists["age_group"])
    age_idx = np.zeros(n, dtype=np.int64)
    for o, probs in _AGE_PROBS.items():
        m = org == o
        age_idx[m] = rng.choice(len(age_codes), size=int(m.sum()), p=np.asarray(probs) / sum(probs))
    pop["age_group"] = np.asarray(age_codes, dtype=object)[age_idx]

    per_org = population.org_margins(population_dir)
    # Party: exact count per organization, older members more likely (ranked noisy score).
    party_score = 0.45 * age_idx + rng.logistic(size=n)
    is_party = _top_k_within(org, party_score, {o: per_org[o]["party"]["yes"] for o in per_org})
    pop["party"] = np.where(is_party, "yes", "no").astype(object)
    # Sex: exact count per organization; men slightly more often party members (ranked score).
    male = _top_k_within(org, 0.3 * is_party + rng.logistic(size=n), {o: per_org[o]["sex"]["male"] for o in per_org})
    pop["sex"] = np.where(male, "male", "female").astype(object)

    # Education: the published counts, exactly; higher for older and party members, lower for veterans.
    edu = population.education_margins(population_dir)
    edu_codes = member.valid_codes(lists["education"])  # lowest first
    edu_score = 0.25 * age_idx + 0.4 * is_party - 1.2 * (org == "HCCB") + rng.logistic(size=n)
    order = np.argsort(-edu_score, kind="stable")
    ranked = np.empty(n, dtype=object)
    start = 0
    for code in reversed(edu_codes):  # highest degree to the highest scores
        ranked[start:start + edu[code]] = code
        start += edu[code]
    education = np.empty(n, dtype=object)
    education[order] = ranked
    pop["education"] = education

    # Political theory: exactly the published number with advanced training; the rest by party.
    theory_codes = member.valid_codes(lists["theory"])  # none, elementary, intermediate, advanced
    q = population.qualifications(population_dir)
    n_adv = int(q.loc[(q["variable"] == "theory") & (q["level"] == theory_codes[-1]), "count"].iloc[0])
    edu_rank = pd.Series(education).map({c: i for i, c in enumerate(edu_codes)}).to_numpy()
    adv_score = 1.5 * is_party + 0.3 * age_idx + 0.5 * edu_rank + rng.logistic(size=n)
    advanced = _top_k_within(np.zeros(n, dtype=np.int64), adv_score, {0: n_adv})
    u = rng.random(n)
    cuts_party, cuts_non = np.array([0.08, 0.50]), np.array([0.65, 0.92])
    cuts = np.where(is_party[:, None], cuts_party, cuts_non)
    lower = (u[:, None] >= cuts).sum(axis=1)  # 0 none, 1 elementary, 2 intermediate
    pop["theory"] = np.where(advanced, theory_codes[-1], np.asarray(theory_codes[:3], dtype=object)[lower]).astype(object)

    # Positions: per unit, heads (2; 1 in units under 8), committee members (~8%), group leaders (~10%).
    pos_codes = member.valid_codes(lists["position"])  # member, group_leader, committee, head
    size = pop["unit_size"].to_numpy()
    n_head = np.where(size >= 8, 2, 1)
    n_cmte = np.clip(np.rint(size * 0.08), 1, 13).astype(int)
    n_grp = np.rint(size * 0.10).astype(int)
    pos_score = 1.0 * is_party + 0.3 * age_idx + rng.logistic(size=n)
    rank = pd.Series(pos_score).groupby(unit).rank(method="first", ascending=False).to_numpy()
    pos = np.where(rank <= n_head, 3, np.where(rank <= n_head + n_cmte, 2, np.where(rank <= n_head + n_cmte + n_grp, 1, 0)))
    pop["position"] = np.asarray(pos_codes, dtype=object)[pos]
    return pop


# ============================================================================================
# Unit implementation intensity
# ============================================================================================
def unit_intensity(cfg: SyntheticConfig, waves: Sequence[str], population_dir: Path | None = None) -> pd.DataFrame:
    """Plan-implementation intensity per unit and wave, in (0, 1).

    ``I = logistic(−1.4 + org_h + a_h + s_h · (wave − 2023) + e_hw)`` with unit level ``a_h ~
    N(0, 0.6²)``, unit slope ``s_h ~ N(0.85, 0.3²)`` per year and a small wave shock — on average
    about 0.2 in 2023, 0.38 in 2024, 0.57 in 2025, 0.74 in 2026.

    Returns
    -------
    pandas.DataFrame
        ``unit, org, wave, intensity``, sorted by unit and wave.
    """
    units = population.load_units(population_dir)
    rng = cfg.rng("intensity")
    h = len(units)
    level = rng.normal(0.0, 0.6, h)
    slope = rng.normal(0.85, 0.3, h)
    org_shift = units["org"].map({"CDVC": 0.1, "HCCB": -0.2, "DTN": 0.0}).to_numpy()
    rows = []
    for wave in sorted(waves):
        shock = cfg.rng("intensity", wave).normal(0.0, 0.15, h)
        eta = -1.4 + org_shift + level + slope * (int(wave) - 2023) + shock
        rows.append(pd.DataFrame({"unit": units["unit_id"], "org": units["org"], "wave": wave,
                                  "intensity": 1.0 / (1.0 + np.exp(-eta))}))
    return pd.concat(rows).sort_values(["unit", "wave"]).reset_index(drop=True)


_FIELDWORK = {"member": ((4, 10), 26), "unit": ((12, 1), 19)}  # (month, day) of start, length in days


def fieldwork_dates(instrument: str, wave: str) -> tuple[dt.date, dt.date]:
    """Member baseline 2023 in April–May (just after the plan); later member waves in November;
    unit forms each December (they report the whole year)."""
    (month, day), days = _FIELDWORK[instrument]
    if instrument == "member" and wave != "2023":
        month, day = 11, 3
    start = dt.date(int(wave), month, day)
    return start, start + dt.timedelta(days=days)
