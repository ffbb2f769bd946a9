"""Synthetic demo population and survey waves with planted effects (SYNTHETIC DATA, not real).

`generate_demo` writes, for each wave, the files exactly as real ones arrive:

* ``member/<wave>/SYNTHETIC_DEMO_member_<wave>_kobo.xlsx`` — a KoboToolbox-style XLSX export
  (group-path headers ``<group>/<item>``, ``start``/``end`` items, ``meta/instanceID``, ``_id``,
  ``_uuid``, ``_submission_time`` in UTC, ``_index`` …; select answers as XML codes);
* ``unit/<wave>/SYNTHETIC_DEMO_unit_<wave>_spreadsheet.xlsx`` — the unit survey as a hand-typed
  spreadsheet (question texts as headers, choice labels as answers, Excel dates);
* ``<instrument>/<wave>/wave.yaml`` (``synthetic: true``) and ``truth.json`` (the planted truth).

The files go through the ordinary import (`analysis.ingest.importer.import_wave`); see `analysis.synthetic.demo`.

The model (all draws from ``numpy.random.Generator`` seeded from one integer)
----------------------------------------------------------------------------
Population: the 6,314 members of the frame (`analysis.instruments.population`), unit by unit, with sex and
party membership matching the published org × sex and org × party margins *exactly*, education
matching the published qualification counts exactly (the unpublished remainder is
``below_university``), exactly 647 with advanced political theory, ages by organization
(veterans old, youth-union members young), positions ranked within each unit.

Member answers: a latent trait per construct ``θ = μ_c + org + party + age + position + sex +
u_unit,c + plan_c · I_unit,wave + ε``, with ``ε`` correlated across constructs through the
Cholesky factor of a correlation matrix (0.35–0.6), split into a stable person part and a
wave part (centred, so a construct the plan does not move keeps its population mean), and unit random effects (observed unit ICC 0.05–0.09; higher for the constructs the
plan moves, as implementation varies by unit). Items follow Samejima's graded response model
``P(Y ≥ k) = logistic(a_j (θ − b_jk))`` with item discriminations ``a_j`` and thresholds
``b_jk`` (a member's response noise persists across waves, r = 0.8); reverse-keyed items are
written as ``low + high − y``. The construct means of the
*whole* population (every member's answers, before sampling and before "don't know") are
scored with `analysis.stats.scoring.score_constructs` and stored as the truth.

Sampling: every unit is surveyed; member *i* answers with probability ``base × f_org × f_sex ×
f_party × f_unit`` (party members, veterans and women more, young-union men less), at least two
per unit — so unweighted means over-represent party members and are biased, raking to the
org/sex/party margins corrects it. Then "don't know" answers, straight-liners, speeders, item
non-responders, exact and conflicting duplicate submissions and comments (a few with a name,
phone number or e-mail address) are planted and counted in the truth file.

Units: one implementation intensity ``I ∈ (0, 1)`` per unit and wave, rising from 2023 with
unit-level heterogeneity (`unit_intensity`); the unit survey's answers follow it through the
instrument's indicators (`analysis.synthetic.units`).

Nothing here names an item: items are found by role, construct, type and indicator formula.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from analysis import config
from analysis.ingest.spec import spec_from_instrument
from analysis.instruments import Instrument, load, population
from analysis.stats import scoring
from analysis.synthetic.io import write_json, write_text_xlsx, write_xlsx, write_yaml
from analysis.synthetic.text import PII_KINDS, add_pii, member_comments

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_WAVES",
    "SyntheticConfig",
    "MOVED_CONSTRUCTS",
    "make_population",
    "unit_intensity",
    "population_answers",
    "generate_demo",
    "population_scores",
    "draw_respondents",
    "member_file_name",
    "unit_file_name",
    "fieldwork_dates",
    "file_sha256",
]

#: The seed of the shipped demo (the plan's issue date, 24 March 2023).
DEFAULT_SEED = 20230324
#: Waves written by default; the last one is written but not imported by `analysis.synthetic.demo`.
DEFAULT_WAVES: tuple[str, ...] = ("2023", "2024", "2025", "2026")
#: Constructs the plan moves: latent shift per unit of implementation intensity (θ units).
#: The resulting change in scale points per wave is computed from the population and written
#: to the truth file (``planted_effects``).
MOVED_CONSTRUCTS: Mapping[str, float] = {"ren": 2.4, "dig": 2.8, "emu": 2.5, "tru": 2.4}

_SYNTHETIC_TAG = "SYNTHETIC_DEMO"
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


# ============================================================================================
# Latent traits and graded-response answers
# ============================================================================================
# Per-construct model (θ units). Constructs not listed get the defaults (`_DEFAULT`).
_DEFAULT = {"mu": 0.3, "party": 0.5, "hccb": 0.4, "dtn": -0.3, "age": 0.0, "pos": 0.3, "female": 0.0}
_CONSTRUCT = {
    "sat": {"mu": 0.45, "party": 0.55},
    "ren": {"mu": 0.05, "party": 0.45, "dtn": -0.45},
    "par": {"mu": 0.35, "party": 0.65, "pos": 0.55, "age": 0.08},
    "emu": {"mu": 0.0, "party": 0.7},
    "inf": {"mu": 0.55, "party": 0.8, "age": 0.06},
    "voi": {"mu": 0.1, "party": 0.75, "pos": 0.45},
    "tru": {"mu": 0.05, "party": 0.85, "hccb": 0.6},
    "cad": {"mu": 0.45, "party": 0.45},
    "dig": {"mu": -0.2, "party": 0.3, "age": -0.2, "hccb": -0.3, "dtn": 0.2},
    "wel": {"mu": 0.3, "party": 0.45, "female": 0.1},
    "eth": {"mu": 0.5, "party": 0.7},
    "adm": {"mu": 0.2, "party": 0.0, "hccb": 0.0, "dtn": 0.35, "age": -0.25, "pos": 0.4},
}
#: Correlation of a member's response noise between waves (probit scale).
_NOISE_PERSISTENCE = 0.8
#: Weight of each post (instrument order: ordinary member … head) in the position effect.
_POSITION_WEIGHT = (0.0, 0.5, 1.0, 1.2)
_ICC_SD = 0.25          # unit random-effect SD (θ units): ICC ≈ 0.05 on the latent scale (0.05–0.09 observed)
_STABLE_SHARE = 0.7     # share of the residual variance that is a stable person trait
_THRESHOLDS = np.array([-2.1, -1.1, 0.0, 1.5])  # base GRM thresholds b_k (1|2, 2|3, 3|4, 4|5)


def _correlation(names: Sequence[str], rng: np.random.Generator) -> np.ndarray:
    """Latent correlation matrix: 0.45 ± 0.1 off the diagonal, a few stronger pairs; PD by construction."""
    k = len(names)
    # A one-factor structure plus a little noise keeps the matrix positive definite.
    load_ = rng.uniform(0.6, 0.77, k)
    r = np.outer(load_, load_)
    strong = {("sat", "ren"): 0.62, ("tru", "voi"): 0.58, ("sat", "tru"): 0.55, ("cad", "tru"): 0.57}
    for (a, b), v in strong.items():
        if a in names and b in names:
            i, j = names.index(a), names.index(b)
            r[i, j] = r[j, i] = v
    np.fill_diagonal(r, 1.0)
    w, v = np.linalg.eigh(r)
    if w.min() < 1e-6:  # never expected with these numbers; keep the guarantee anyway
        r = v @ np.diag(np.maximum(w, 1e-3)) @ v.T
        d = np.sqrt(np.diag(r))
        r = r / np.outer(d, d)
    return r


@dataclass(frozen=True)
class _Model:
    constructs: tuple[str, ...]
    corr: np.ndarray
    chol: np.ndarray
    unit_effects: pd.DataFrame      # index unit, columns constructs
    stable: np.ndarray              # n × C stable person residual
    item_a: Mapping[str, float]
    item_b: Mapping[str, np.ndarray]
    age_codes: tuple[str, ...]
    position_codes: tuple[str, ...]


def _build_model(cfg: SyntheticConfig, member: Instrument, pop: pd.DataFrame) -> _Model:
    rng = cfg.rng("population", 1)
    names = tuple(c.name for c in member.constructs)
    corr = _correlation(list(names), rng)
    chol = np.linalg.cholesky(corr)
    units = np.unique(pop["unit"].to_numpy())
    common = rng.normal(size=(len(units), 1))
    specific = rng.normal(size=(len(units), len(names)))
    ue = _ICC_SD * (0.7 * common + np.sqrt(1 - 0.49) * specific)
    unit_effects = pd.DataFrame(ue, index=units, columns=list(names))
    stable = rng.normal(size=(len(pop), len(names))) @ chol.T * np.sqrt(_STABLE_SHARE)
    item_a, item_b = {}, {}
    for it in member.scale_items:  # instrument order: reproducible
        item_a[it.name] = float(rng.uniform(1.3, 2.3))
        item_b[it.name] = _THRESHOLDS + float(rng.uniform(-0.25, 0.25)) + rng.normal(0, 0.08, len(_THRESHOLDS))
    return _Model(names, corr, chol, unit_effects, stable, item_a, item_b,
                  tuple(member.valid_codes(member.role_item("age_group").list_name)),
                  tuple(member.valid_codes(member.role_item("position").list_name)))


def _latent(model: _Model, pop: pd.DataFrame, intensity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """θ (n × C) for one wave; *intensity* is the unit's intensity for every member."""
    org = pop["org"].to_numpy()
    party = (pop["party"] == "yes").to_numpy(dtype=float)
    female = (pop["sex"] == "female").to_numpy(dtype=float)
    # Bands and posts in the instrument's order (youngest first; ordinary member first).
    age = pop["age_group"].map({c: float(i) for i, c in enumerate(model.age_codes)}).to_numpy()
    pos = pop["position"].map(dict(zip(model.position_codes, _POSITION_WEIGHT))).fillna(0.0).to_numpy()
    theta = np.empty((len(pop), len(model.constructs)))
    ue = model.unit_effects.loc[pop["unit"].to_numpy()].to_numpy()
    transient = rng.normal(size=theta.shape) @ model.chol.T * np.sqrt(1 - _STABLE_SHARE)
    # The wave part changes people, not the population: centred, so a construct the plan does
    # not move keeps its population mean from wave to wave (up to the answers' own noise).
    transient -= transient.mean(axis=0, keepdims=True)
    for j, c in enumerate(model.constructs):
        p = {**_DEFAULT, **_CONSTRUCT.get(c, {})}
        theta[:, j] = (p["mu"] + p["party"] * party + p["hccb"] * (org == "HCCB") + p["dtn"] * (org == "DTN")
                       + p["age"] * (age - 2.0) + p["pos"] * pos + p["female"] * female
                       + MOVED_CONSTRUCTS.get(c, 0.0) * intensity)
    return theta + ue + model.stable + transient


def _grm(theta: np.ndarray, a: float, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Graded response draws 1…K+1 for one item: count of thresholds passed, P(Y ≥ k) = σ(a(θ − b_k))."""
    p_ge = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b[None, :])))
    return 1 + (u[:, None] < p_ge).sum(axis=1)


def population_answers(cfg: SyntheticConfig, member: Instrument, pop: pd.DataFrame, model: _Model,
                       intensity: np.ndarray, wave: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Every member's answers to every scale item for one wave (codes as strings; skip logic applied).

    Returns the answers (one column per scale item, plus the non-scale yes/no items of the
    skip-logic section) and θ.
    """
    rng = cfg.rng("member", wave)
    theta = _latent(model, pop, intensity, rng)
    col = {c: j for j, c in enumerate(model.constructs)}
    out = {}
    applies = _applies(member, pop)
    # Response noise is mostly a person's own (the same draw every wave, correlation 0.8): a
    # member answers an item much as last year unless the trait moved.
    persistent = cfg.rng("population", 2).normal(size=(len(pop), len(member.scale_items)))
    for j, it in enumerate(member.scale_items):
        low, high = member.scale_range(it.list_name)
        codes = {v: k for k, v in member.choice_values(it.list_name).items()}
        u = special.ndtr(_NOISE_PERSISTENCE * persistent[:, j] + np.sqrt(1 - _NOISE_PERSISTENCE ** 2) * rng.normal(size=len(pop)))
        y = _grm(theta[:, col[it.construct]], model.item_a[it.name], model.item_b[it.name], u)
        y = low + (y - 1)
        if it.reverse:
            y = low + high - y
        values = pd.Series(y.astype(float)).map(codes).astype(object)
        out[it.name] = values.where(applies[it.name], None)
    # Other select items in the skip-logic section (yes/no/don't know): answered from the
    # section's construct trait and the unit's intensity.
    for it in member.items:
        if it.base_type == "select_one" and not member.is_scale(it) and it.role is None and it.name in applies:
            codes = member.valid_codes(it.list_name)
            section = [c for c in model.constructs if any(i.group == it.group for i in member.construct_items(c))]
            t = theta[:, col[section[0]]] if section else np.zeros(len(pop))
            p_first = 1.0 / (1.0 + np.exp(-(-1.2 + 0.8 * t + 1.5 * intensity)))
            pick = np.where(rng.random(len(pop)) < p_first, codes[0], codes[-1]).astype(object)
            out[it.name] = pd.Series(pick).where(applies[it.name], None)
    return pd.DataFrame(out), theta


def _applies(member: Instrument, pop: pd.DataFrame) -> dict[str, pd.Series]:
    """Whether each data item was asked of each member (group relevance on the party item)."""
    from analysis.ingest import validate

    spec = spec_from_instrument(member)
    frame = pd.DataFrame({it.name: pd.Series([None] * len(pop), dtype=object) for it in spec.items})
    roles = {"org": "org", "unit": "unit", "sex": "sex", "age_group": "age_group", "party": "party",
             "education": "education", "theory": "theory", "position": "position"}
    for role, column in roles.items():
        item = member.role_item(role)
        if item is not None:
            frame[item.name] = pop[column].to_numpy()
    applies, _ = validate.relevance(frame.astype({c: "string" for c in frame.columns}), spec)
    return {name: applies[name].reset_index(drop=True) for name in applies.columns}


# ============================================================================================
# Truth
# ============================================================================================
def _construct_truth(member: Instrument, pop: pd.DataFrame, answers: pd.DataFrame, wave: str) -> pd.DataFrame:
    """Population construct means by organization and overall (``org = 'ALL'``)."""
    scores = scoring.score_constructs(answers, member)
    scores["org"] = pop["org"].to_numpy()
    long = scores.melt(id_vars="org", var_name="construct", value_name="score").dropna()
    by_org = long.groupby(["org", "construct"], sort=True)["score"].agg(["mean", "count"]).reset_index()
    overall = long.groupby("construct", sort=True)["score"].agg(["mean", "count"]).reset_index()
    overall.insert(0, "org", "ALL")
    out = pd.concat([overall, by_org], ignore_index=True).rename(columns={"count": "n"})
    icc = {c: _icc(scores[c], pop["unit"]) for c in scores.columns if c != "org"}
    out["unit_icc"] = out["construct"].map(icc).where(out["org"] == "ALL")
    out.insert(0, "wave", wave)
    return out


def _icc(score: pd.Series, unit: pd.Series) -> float:
    """One-way ANOVA intraclass correlation of *score* within units (unequal sizes, n0 correction)."""
    x = pd.DataFrame({"u": unit.to_numpy(), "y": score.to_numpy()}).dropna()
    g = x.groupby("u")["y"]
    k, n, a = g.size(), len(x), g.ngroups
    msb = float((k * (g.mean() - x["y"].mean()) ** 2).sum() / (a - 1))
    msw = float(((x["y"] - g.transform("mean")) ** 2).sum() / (n - a))
    n0 = (n - float((k ** 2).sum()) / n) / (a - 1)
    return (msb - msw) / (msb + (n0 - 1) * msw)


# ============================================================================================
# Sampling and planted defects
# ============================================================================================
_RESP_ORG = {"CDVC": 1.0, "HCCB": 1.12, "DTN": 0.85}
_RESP_SEX = {"female": 1.0, "male": 0.86}
_RESP_PARTY = {"yes": 1.12, "no": 0.68}


def _respond(cfg: SyntheticConfig, pop: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Who answers: multiplicative propensities (org, sex, party, unit), at least two per unit."""
    units = pd.factorize(pop["unit"], sort=True)[0]
    unit_factor = np.exp(rng.normal(0.0, 0.15, units.max() + 1))[units]
    p = (cfg.response_base * pop["org"].map(_RESP_ORG).to_numpy() * pop["sex"].map(_RESP_SEX).to_numpy()
         * pop["party"].map(_RESP_PARTY).to_numpy() * unit_factor)
    u = rng.random(len(pop))
    resp = u < np.clip(p, 0.02, 0.95)
    # Every unit surveyed with ≥ 2 answers: the two members with the smallest u/p answer anyway.
    ratio = pd.Series(u / p)
    rank = ratio.groupby(units).rank(method="first").to_numpy()
    return resp | (rank <= 2)


def draw_respondents(cfg: SyntheticConfig, pop: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of the members who answer (the generator's response model; see `generate_demo`)."""
    return _respond(cfg, pop, rng)


def population_scores(cfg: SyntheticConfig | None = None, wave: str = "2025",
                      population_dir: Path | None = None) -> pd.DataFrame:
    """The synthetic population of one wave with every member's construct scores (no files written).

    The scores are those behind ``truth.json`` (all items answered, no sampling): use it to
    study estimators by repeated sampling with `draw_respondents` (e.g. the coverage
    simulation in ``scripts/coverage_simulation.py``).

    Returns
    -------
    pandas.DataFrame
        `make_population` columns plus one float column per construct.
    """
    cfg = cfg or SyntheticConfig()
    member = load("member")
    pop = make_population(cfg, member, population_dir)
    model = _build_model(cfg, member, pop)
    intensity = unit_intensity(cfg, sorted({wave, "2023"}), population_dir)
    inten = intensity[intensity["wave"] == wave].set_index("unit")["intensity"]
    answers, _ = population_answers(cfg, member, pop, model, inten.loc[pop["unit"]].to_numpy(), wave)
    scores = scoring.score_constructs(answers, member)
    return pd.concat([pop, scores.set_axis(pop.index)], axis=1)


def _uuid4(rng: np.random.Generator, n: int) -> pd.Series:
    """*n* random version-4 UUID strings, vectorised (no loop over rows)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = pd.Series(np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype="S32").astype(str))
    return hexed.str[0:8] + "-" + hexed.str[8:12] + "-" + hexed.str[12:16] + "-" + hexed.str[16:20] + "-" + hexed.str[20:32]


def _disjoint(rng: np.random.Generator, pool: np.ndarray, sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Disjoint random subsets of *pool* (row positions), one per kind."""
    chosen = rng.permutation(pool)
    out, start = {}, 0
    for kind, k in sizes.items():
        out[kind] = np.sort(chosen[start:start + k])
        start += k
    return out


_FIELDWORK = {"member": ((4, 10), 26), "unit": ((12, 1), 19)}  # (month, day) of start, length in days


def fieldwork_dates(instrument: str, wave: str) -> tuple[dt.date, dt.date]:
    """Member baseline 2023 in April–May (just after the plan); later member waves in November;
    unit forms each December (they report the whole year)."""
    (month, day), days = _FIELDWORK[instrument]
    if instrument == "member" and wave != "2023":
        month, day = 11, 3
    start = dt.date(int(wave), month, day)
    return start, start + dt.timedelta(days=days)


def _member_wave(cfg: SyntheticConfig, member: Instrument, pop: pd.DataFrame, model: _Model,
                 intensity: pd.DataFrame, wave: str) -> tuple[list[str], list[list[object]], dict, pd.DataFrame]:
    """One member wave: (header, rows, defect counts, truth table)."""

    rng = cfg.rng("member", 10_000 + int(wave))
    inten = intensity[intensity["wave"] == wave].set_index("unit")["intensity"]
    person_int = inten.loc[pop["unit"]].to_numpy()
    answers, _ = population_answers(cfg, member, pop, model, person_int, wave)
    truth = _construct_truth(member, pop, answers, wave)

    resp = np.flatnonzero(_respond(cfg, pop, rng))
    sample = pop.iloc[resp].reset_index(drop=True)
    data = answers.iloc[resp].reset_index(drop=True)
    n = len(sample)
    spec = spec_from_instrument(member)
    scale = [it.name for it in member.scale_items]
    dk_code = {it.name: member.missing_codes(it.list_name)[0] for it in member.scale_items if member.missing_codes(it.list_name)}
    other_select = [c for c in data.columns if c not in scale]

    # --- planted defects, on disjoint respondents -------------------------------------------------
    sizes = {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in cfg.defects.items()}
    sets = _disjoint(rng, np.arange(n), sizes)

    # "Don't know": item rate in dk_rate (×2 for sensitive items), respondent propensity lognormal.
    item_rate = {it.name: rng.uniform(*cfg.dk_rate) * (2.0 if it.sensitive else 1.0) for it in member.scale_items}
    person = np.exp(rng.normal(-0.3, 0.8, n))
    person[np.concatenate([sets["straightliners"], sets["item_nonresponse"]])] = 0.0
    for name in scale:
        if name not in dk_code:
            continue
        hit = (rng.random(n) < np.clip(item_rate[name] * person, 0, 0.6)) & data[name].notna().to_numpy()
        data.loc[hit, name] = dk_code[name]
    for name in other_select:
        it = member.item(name)
        missing = member.missing_codes(it.list_name)
        if missing:
            hit = (rng.random(n) < 0.05) & data[name].notna().to_numpy()
            data.loc[hit, name] = missing[0]
    # Straight-liners: one code on every scale item asked (skip logic kept).
    sl = sets["straightliners"]
    valid = member.valid_codes(member.scale_items[0].list_name)
    sl_code = np.asarray(valid, dtype=object)[rng.choice([2, 3, 4], size=len(sl)) % len(valid)]
    for name in scale:
        asked = data.loc[sl, name].notna().to_numpy()
        data.loc[sl[asked], name] = sl_code[asked]
    # Item non-responders: "don't know" on ~70% of the scale items asked.
    nr = sets["item_nonresponse"]
    for name in scale:
        asked = data.loc[nr, name].notna().to_numpy() & (rng.random(len(nr)) < 0.72)
        if name in dk_code:
            data.loc[nr[asked], name] = dk_code[name]

    # --- demographics, times, ids ---------------------------------------------------------------
    for role in ("org", "unit", "sex", "age_group", "party", "education", "theory", "position"):
        item = member.role_item(role)
        if item is not None:
            data[item.name] = sample[role if role in sample.columns else role].to_numpy()
    start_day, end_day = fieldwork_dates("member", wave)
    days = (end_day - start_day).days
    day = rng.integers(0, days + 1, n)
    seconds = rng.integers(7 * 3600 + 30 * 60, 17 * 3600, n)  # office hours, local time
    local_start = pd.Timestamp(start_day) + pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s")
    duration = np.clip(np.rint(np.exp(rng.normal(np.log(700), 0.35, n))), cfg.speeder_seconds + 60, 3600)
    duration[sets["speeders"]] = rng.integers(60, int(cfg.speeder_seconds) - 20, len(sets["speeders"]))
    local_end = local_start + pd.to_timedelta(duration, unit="s")
    upload = local_end + pd.to_timedelta(rng.integers(2, 600, n), unit="s")
    start_item, end_item = member.role_item("start"), member.role_item("end")
    data[start_item.name] = local_start.strftime("%Y-%m-%dT%H:%M:%S.000+07:00")
    data[end_item.name] = local_end.strftime("%Y-%m-%dT%H:%M:%S.000+07:00")
    submitted = (upload - pd.Timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S")  # Kobo: UTC, no offset
    uuid = _uuid4(rng, n)

    # --- comments ---------------------------------------------------------------------------------
    comment_items = [it.name for it in member.by_role("comment")]
    for k, name in enumerate(comment_items):
        rate = cfg.comment_rate[min(k, len(cfg.comment_rate) - 1)]
        has = rng.random(n) < rate
        text = member_comments(rng, n)
        data[name] = pd.Series(text).where(has, None)
    pii_rows, pii_kinds = [], []
    for kind in PII_KINDS:
        rows = sets[f"pii_{kind}"]
        pii_rows.append(rows)
        pii_kinds += [kind] * len(rows)
    pii_rows_a = np.concatenate(pii_rows)
    if comment_items and len(pii_rows_a):
        target = comment_items[-1]
        data.loc[pii_rows_a, target] = add_pii(rng, np.asarray(pii_kinds)).to_numpy()

    frame = pd.DataFrame({"_uuid": uuid, "_submission_time": submitted, "_order": upload})
    body = pd.concat([data, frame], axis=1)

    # --- duplicate submissions -----------------------------------------------------------------
    exact = body.iloc[sets["exact_duplicates"]].copy()
    exact["_submission_time"] = (exact["_order"] + pd.Timedelta(minutes=47) - pd.Timedelta(hours=7)).dt.strftime("%Y-%m-%dT%H:%M:%S")
    exact["_order"] = exact["_order"] + pd.Timedelta(minutes=47)
    conflict = body.iloc[sets["conflicting_duplicates"]].copy()
    # A corrected re-send: three scale answers changed to a different valid code.
    for j in range(3):
        name = scale[(7 * j + 3) % len(scale)]
        cur = conflict[name]
        alt = np.where(cur.astype(object).isin([valid[0], valid[1]]), valid[3], valid[1])
        conflict[name] = np.where(cur.notna(), alt, None)
    conflict["_order"] = conflict["_order"] + pd.Timedelta(hours=5)
    conflict["_submission_time"] = (conflict["_order"] - pd.Timedelta(hours=7)).dt.strftime("%Y-%m-%dT%H:%M:%S")
    body = pd.concat([body, exact, conflict], ignore_index=True).sort_values("_order", kind="stable").reset_index(drop=True)

    # --- the Kobo layout ----------------------------------------------------------------------------
    header, columns = [], []
    for it in spec.items:
        if it.kind in ("start", "end"):
            header.append(it.name)
        else:
            header.append("/".join([*it.group_path, it.name]))
        columns.append(it.name)
    body["meta/instanceID"] = "uuid:" + body["_uuid"]
    body["_id"] = (np.arange(len(body)) + 180_000_000 + 1_000_000 * (int(wave) - 2023)).astype(str)
    body["_validation_status"] = None
    body["_notes"] = None
    body["_status"] = "submitted_via_web"
    body["_submitted_by"] = None
    body["__version__"] = "vSynthDemo" + wave
    body["_tags"] = None
    body["_index"] = (np.arange(len(body)) + 1).astype(str)
    meta_cols = ["meta/instanceID", "_id", "_uuid", "_submission_time", "_validation_status", "_notes",
                 "_status", "_submitted_by", "__version__", "_tags", "_index"]
    header += meta_cols
    columns += meta_cols
    out = body[columns].astype(object).where(body[columns].notna(), None)
    rows = out.to_numpy().tolist()

    defects = _count_defects(member, data, sets, sizes, pii_kinds, duration, cfg)
    defects["respondents"] = int(n)
    defects["rows_written"] = int(len(rows))
    return header, rows, defects, truth


def _count_defects(member: Instrument, data: pd.DataFrame, sets: Mapping[str, np.ndarray], sizes: Mapping[str, int],
                   pii_kinds: Sequence[str], duration: np.ndarray, cfg: SyntheticConfig) -> dict:
    """Defect counts as the import should find them (rules re-computed on the written answers)."""
    from analysis.ingest import quality

    scale = [it.name for it in member.scale_items]
    missing = {it.name: frozenset(member.missing_codes(it.list_name)) for it in member.scale_items}
    keep = ~np.isin(np.arange(len(data)), sets["conflicting_duplicates"])
    acc = data[keep]
    sl = quality.flag_straightliners(acc, scale, missing_codes=missing)
    asked = acc[scale].notna()
    answered = asked & ~acc[scale].isin(sorted(set().union(*missing.values())))
    share = (asked & ~answered).sum(axis=1) / asked.sum(axis=1)
    dup_exact = set(sets["exact_duplicates"].tolist())
    return {
        "speeders": int((duration[keep] < cfg.speeder_seconds).sum()),
        "straightliners": int(sl.sum()),
        "item_nonresponse": int((share > quality.DEFAULT_ITEM_NONRESPONSE_THRESHOLD).sum()),
        "exact_duplicates": int(len(dup_exact)),
        "conflicting_duplicates": int(sizes["conflicting_duplicates"]),
        "conflicting_rows": int(2 * sizes["conflicting_duplicates"]),
        "pii_comments": {k: int(sum(1 for x in pii_kinds if x == k)) for k in PII_KINDS},
        "planted": {k: int(v) for k, v in sizes.items()},
    }


# ============================================================================================
# Files
# ============================================================================================
def member_file_name(wave: str) -> str:
    """File name of the member export of *wave* (marked synthetic in the name)."""
    return f"{_SYNTHETIC_TAG}_member_{wave}_kobo_export.xlsx"


def unit_file_name(wave: str) -> str:
    """File name of the unit spreadsheet of *wave* (marked synthetic in the name)."""
    return f"{_SYNTHETIC_TAG}_unit_{wave}_spreadsheet.xlsx"


def _wave_yaml(instrument: str, wave: str, version: str, cfg: SyntheticConfig, file_name: str) -> dict:
    start, end = fieldwork_dates(instrument, wave)
    return {
        "instrument": instrument, "wave": wave, "instrument_version": version, "synthetic": True,
        "fieldwork_start": start.isoformat(), "fieldwork_end": end.isoformat(),
        "speeder_seconds": float(cfg.speeder_seconds) if instrument == "member" else None,
        "source": f"SYNTHETIC DEMO DATA generated by analysis.synthetic.members (seed {cfg.seed}); file {file_name}; not real survey data",
    }


def generate_demo(out_dir: Path | str | None = None, *, waves: Sequence[str] = DEFAULT_WAVES,
                  cfg: SyntheticConfig | None = None, population_dir: Path | None = None) -> dict:
    """Write the synthetic waves and the truth file to *out_dir* (default ``data/demo``).

    Parameters
    ----------
    out_dir : path, optional
        Output folder; ``member/<wave>/`` and ``unit/<wave>/`` and ``truth.json`` are written.
    waves : sequence of str
        Wave ids (years).
    cfg : SyntheticConfig, optional
        Generator settings (seed …); default the shipped demo.
    population_dir : path, optional
        Population frame folder (default ``data/population``).

    Returns
    -------
    dict
        The truth (as written to ``truth.json``) plus ``files``: ``{instrument: {wave: [paths]}}``.
    """
    from analysis.synthetic.units import unit_wave

    cfg = cfg or SyntheticConfig()
    out = Path(out_dir) if out_dir is not None else config.DEMO_DIR
    waves = sorted({config.check_id(str(w), "wave") for w in waves})
    not_years = [w for w in waves if not (w.isdigit() and len(w) == 4 and int(w) >= 2023)]
    if not_years:
        raise ValueError(f"synthetic waves are years from 2023 (the plan's baseline), not {not_years}")
    member, unit = load("member"), load("unit")
    pop = make_population(cfg, member, population_dir)
    model = _build_model(cfg, member, pop)
    intensity = unit_intensity(cfg, sorted(set(waves) | {"2023"}), population_dir)
    files: dict[str, dict[str, list[str]]] = {"member": {}, "unit": {}}
    truths, defects, unit_rows = [], {}, []
    for wave in waves:
        header, rows, found, truth = _member_wave(cfg, member, pop, model, intensity, wave)
        name = member_file_name(wave)
        folder = out / "member" / wave
        write_text_xlsx(folder / name, header, rows, sheet="SYNTHETIC DEMO",
                   title=f"SYNTHETIC DEMO — member survey {wave} (KoboToolbox-style export)",
                   description="Synthetic demonstration data generated by analysis.synthetic.members; not real survey data.")
        write_yaml(folder / "wave.yaml", _wave_yaml("member", wave, member.version, cfg, name))
        files["member"][wave] = [str(folder / name)]
        truths.append(truth)
        defects[wave] = found

        uheader, urows, udata = unit_wave(cfg, unit, pop, intensity, wave, population_dir)
        uname = unit_file_name(wave)
        ufolder = out / "unit" / wave
        write_xlsx(ufolder / uname, uheader, urows, sheet="Phieu to chuc co so",
                   title=f"SYNTHETIC DEMO — unit survey {wave} (spreadsheet)",
                   description="Synthetic demonstration data generated by analysis.synthetic.members; not real survey data.")
        write_yaml(ufolder / "wave.yaml", _wave_yaml("unit", wave, unit.version, cfg, uname))
        files["unit"][wave] = [str(ufolder / uname)]
        unit_rows.append(udata)

    truth_means = pd.concat(truths, ignore_index=True)
    result = _truth_document(cfg, waves, intensity, truth_means, defects, member)
    write_json(out / "truth.json", result)
    result = dict(result)
    result["files"] = files
    return result


def _truth_document(cfg: SyntheticConfig, waves: Sequence[str], intensity: pd.DataFrame, means: pd.DataFrame,
                    defects: Mapping[str, dict], member: Instrument) -> dict:
    overall = means[means["org"] == "ALL"].pivot(index="construct", columns="wave", values="mean")
    first = min(waves)
    per_year = {}
    for c in overall.index:
        span = int(max(waves)) - int(first)
        per_year[c] = round(float((overall.loc[c, max(waves)] - overall.loc[c, first]) / span), 4) if span else 0.0
    change = {c: {w: round(float(overall.loc[c, w] - overall.loc[c, first]), 4) for w in waves} for c in overall.index}
    moved = {c: {"latent_shift_per_unit_intensity": v, "population_change_per_year": per_year.get(c),
                 "population_change_from_first_wave": change.get(c)} for c, v in MOVED_CONSTRUCTS.items()}
    names = [c.name for c in member.constructs]
    party_corr = sorted(c for c in names if {**_DEFAULT, **_CONSTRUCT.get(c, {})}["party"] >= 0.55)
    inten = intensity[intensity["wave"].isin(waves)]
    mean_i = inten.groupby("wave")["intensity"].mean().round(4).to_dict()
    return {
        "synthetic": True,
        "note": "SYNTHETIC DEMO DATA — the planted truth of analysis.synthetic.members; not real survey data.",
        "generator": "analysis.synthetic.members",
        "seed": int(cfg.seed),
        "config": {k: (list(v) if isinstance(v, tuple) else ({kk: list(vv) for kk, vv in v.items()} if isinstance(v, Mapping) else v))
                   for k, v in asdict(cfg).items()},
        "waves": list(waves),
        "scoring": "analysis.stats.scoring.score_constructs (mean of answered items after reverse keys, min_items) on the "
                   "answers of all members of the population, before sampling, 'don't know' and planted defects",
        "planted_effects": {
            "moved_constructs": moved,
            "unchanged_constructs": sorted(c for c in names if c not in MOVED_CONSTRUCTS),
            "unchanged_population_change_from_first_wave": {c: change[c] for c in sorted(change) if c not in MOVED_CONSTRUCTS},
            "party_correlated_constructs": party_corr,
            "mean_intensity_by_wave": mean_i,
            "model": {
                "latent": "theta = mu_c + org + party + age + position + sex + u_unit,c + shift_c * intensity_unit,wave + eps",
                "unit_random_effect_sd": _ICC_SD,
                "unit_icc_note": "latent ICC of the random effect about 0.05; unit_icc gives the observed ICC of each "
                                 "construct score (org composition and, for moved constructs, intensity add to it)",
                "residual_correlation": "one-factor, 0.36-0.62 (Cholesky)",
                "items": "graded response model, a ~ U(1.3, 2.3), thresholds (-2.1, -1.1, 0.0, 1.5) + item shift",
                "response_propensity": {"base": cfg.response_base, "org": _RESP_ORG, "sex": _RESP_SEX, "party": _RESP_PARTY,
                                        "unit_factor_sd_log": 0.15, "min_per_unit": 2},
                "construct_effects": {c: {**_DEFAULT, **_CONSTRUCT.get(c, {})} for c in names},
            },
        },
        "construct_means": [
            {"wave": r.wave, "org": r.org, "construct": r.construct, "mean": round(float(r.mean), 10), "n": int(r.n)}
            for r in means.sort_values(["wave", "org", "construct"]).itertuples()
        ],
        "unit_icc": [
            {"wave": r.wave, "construct": r.construct, "icc": round(float(r.unit_icc), 4)}
            for r in means[means["org"] == "ALL"].sort_values(["wave", "construct"]).itertuples()
        ],
        "unit_intensity": [
            {"unit": r.unit, "org": r.org, "wave": r.wave, "intensity": round(float(r.intensity), 6)}
            for r in inten.sort_values(["unit", "wave"]).itertuples()
        ],
        "defects": {w: defects[w] for w in sorted(defects)},
    }


def file_sha256(path: Path) -> str:
    """sha256 of a file (used by the tests and the README's determinism note)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
