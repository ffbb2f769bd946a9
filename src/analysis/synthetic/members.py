"""Synthetic member answers with planted effects, who responds, and the planted truth (SYNTHETIC DATA).

The members are those of `analysis.synthetic.world`; the files are written by
`analysis.synthetic.generate`.

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

Nothing here names an item: items are found by role, construct, type and indicator formula.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from analysis.ingest.spec import spec_from_instrument
from analysis.instruments import Instrument, load
from analysis.stats import scoring
from analysis.synthetic.text import PII_KINDS, add_pii, member_comments
from analysis.synthetic.world import SyntheticConfig, fieldwork_dates, make_population, unit_intensity

__all__ = ["MOVED_CONSTRUCTS", "build_model", "population_answers", "draw_respondents", "population_scores",
           "member_wave", "truth_document"]

#: Constructs the plan moves: latent shift per unit of implementation intensity (θ units).
#: The resulting change in scale points per wave is computed from the population and written
#: to the truth file (``planted_effects``).
MOVED_CONSTRUCTS: Mapping[str, float] = {"ren": 2.4, "dig": 2.8, "emu": 2.5, "tru": 2.4}


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


def build_model(cfg: SyntheticConfig, member: Instrument, pop: pd.DataFrame) -> _Model:
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
    model = build_model(cfg, member, pop)
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


def member_wave(cfg: SyntheticConfig, member: Instrument, pop: pd.DataFrame, model: _Model,
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


def truth_document(cfg: SyntheticConfig, waves: Sequence[str], intensity: pd.DataFrame, means: pd.DataFrame,
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
