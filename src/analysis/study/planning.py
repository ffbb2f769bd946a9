"""Planning the next wave: completed interviews per organization for a target precision, invitations per unit.

The inputs come from the project's own past waves, never from assumptions typed in: for each
organization and scale the unit variance ``S2`` (weighted, as R's ``svyvar``) and the design
effect ``deff`` of the organization's mean (design-based variance over simple random sampling
without replacement: stratification by unit, unequal weights and raking together) in the latest
imported wave, and the standard error of that mean (the previous wave a change is measured
against); for each unit the response rate of the past waves — respondents over members
invited (every member, unless a selection list of that wave says whom: ``data/planning/<wave>/
selection_manifest.json``). The formulas are those of `analysis.stats.sample_size`.

Steps, per organization (``by="org"``) or for all units together (``by="total"``):

1. completed interviews ``n`` for the target margin of error of each scale's mean
   (``nCont(V0 = (e/z)², S2 = deff S2, N)``) or for a change ``δ`` against the latest wave with
   the given power (``V_new = (δ/(z_α + z_power))² - SE_prev²``); the largest over the scales
   (and targets) is the organization's need;
2. ``n`` allocated to its units, proportional to the members or Neyman (``N_h S_h``, the unit
   standard deviation of the scale that needs most), no unit asked for more completed
   interviews than its members times its response rate — the rest goes to the other units —
   and at least two (a stratum needs two for a variance);
3. invitations ``ceil(n_h / rr_h)``, capped at the unit's members; expected completes
   ``invitations × rr_h``;
4. the precision this buys: ``e = z sqrt(deff S2 (1/n - 1/N)) sqrt(V_alloc / V_prop)`` where the
   last factor (Cochran eq. 5.6 with the unit SDs) is what the allocation actually made
   (Neyman, caps, rounding) gains or loses against proportional allocation of the same ``n``.
   When it falls short of the target, ``n`` is raised and the steps repeat; an organization
   whose members cannot give enough (every member invited) is marked not feasible.

Scales asked of only some members (a ``relevant`` filter: fewer than 90 % of respondents have a
score) are planned only when named: a domain of a dozen members would otherwise ask for a census.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis import config, project
from analysis.ingest import waves as waves_mod
from analysis.instruments import load, population
from analysis.stats import sample_size as ss
from analysis.study.base import WAVE
from analysis.study.data import construct_names, frame_dir, labels_for, load_responses
from analysis.study.designs import designs_by_wave

__all__ = [
    "WavePlan",
    "MIN_COMPLETES",
    "past_waves",
    "scale_inputs",
    "unit_response",
    "plan_wave",
    "plan_note",
    "selection_manifest_path",
]

#: Fewest completed interviews planned per unit (a stratum with one has no variance).
MIN_COMPLETES = 2
#: A scale with a score for fewer respondents than this share is asked of a subgroup only.
_FULL_SCALE_SHARE = 0.9


@dataclass(frozen=True)
class WavePlan:
    """A plan for one wave.

    Attributes
    ----------
    wave : str
    based_on : tuple of str
        The past waves the inputs come from (variances and deff: the last one).
    units : DataFrame
        ``[org, unit, members, past_invited, past_respondents, response_rate,
        response_rate_source, completes_planned, invitations, expected_completes, census]``.
    precision : DataFrame
        ``[org, variable, label, members, s2, deff, deff_kish, se_previous, target_moe,
        n_for_moe, target_change, power, n_for_change, expected_completes, expected_moe,
        expected_detectable_change, meets_target]``, one row per organization and scale.
    groups : DataFrame
        ``[org, units, members, completes_needed, invitations, expected_completes, binding_scale,
        worst_moe, target_moe, worst_detectable_change, target_change, feasible]``.
    settings : dict
        What was asked (targets, allocation, response rates, scales left out and why).
    """

    wave: str
    based_on: tuple[str, ...]
    units: pd.DataFrame
    precision: pd.DataFrame
    groups: pd.DataFrame
    settings: dict


def past_waves(instrument: str, wave: str, *, processed_dir: Path | None = None) -> list[str]:
    """Imported waves of *instrument* before *wave*, oldest first; a `StudyError` if there is none."""
    wave = config.check_id(str(wave), "wave")
    found = [w for w in waves_mod.list_waves(instrument, processed_dir=processed_dir) if w < wave]
    if not found:
        raise project.StudyError(f"plan-wave --wave {wave}: no imported {instrument} wave before {wave} to take "
                                 "variances, design effects and response rates from (import one with add-wave, or "
                                 "`python -m analysis demo` for the demo)")
    return found


def selection_manifest_path(wave: str) -> Path:
    """``data/planning/<wave>/selection_manifest.json``: whom a wave invited (see `analysis.study.selection`)."""
    return config.resolve_inside(config.DATA_DIR / "planning" / config.check_id(str(wave), "wave")
                                 / "selection_manifest.json", config.DATA_DIR)


def _group_key(df: pd.DataFrame, by: str) -> pd.Series:
    return df["org"].astype(object) if by == "org" else pd.Series("all", index=df.index, dtype=object)


def scale_inputs(responses: pd.DataFrame, wave: str, scales: Sequence[str], *, instrument: str, by: str = "org",
                 population_dir: Path | None = None) -> pd.DataFrame:
    """Per group and scale, what the latest wave says: ``S2``, ``deff``, Kish deff, SE, share scored.

    Returns
    -------
    DataFrame
        ``[org, variable, respondents, scored_share, estimate, se_previous, deff, s2, deff_kish]``
        (``org`` is ``"all"`` for ``by="total"``); ``s2`` is the weighted unit variance with
        R's ``svyvar`` divisor, ``deff`` R's ``deff = TRUE`` of the group's mean.
    """
    wd = designs_by_wave(responses[responses[WAVE] == wave], instrument=instrument,
                         population_dir=population_dir)[wave]
    data = wd.design.data.assign(_w=wd.design.weights.to_numpy(), _g=lambda d: _group_key(d, by).to_numpy())
    rows = []
    for var in scales:
        est = wd.design.mean(var, by="org") if by == "org" else wd.design.mean(var).assign(org="all")
        for _, e in est.iterrows():
            part = data[data["_g"] == e["org"]]
            y, w = part[var].to_numpy(dtype=float), part["_w"].to_numpy(dtype=float)
            ok = ~np.isnan(y)
            n = int(ok.sum())
            mean = np.sum(w[ok] * y[ok]) / np.sum(w[ok]) if n else np.nan
            s2 = np.sum(w[ok] * (y[ok] - mean) ** 2) / np.sum(w[ok]) * n / (n - 1) if n > 1 else np.nan
            rows.append({"org": e["org"], "variable": var, "respondents": len(part),
                         "scored_share": n / max(len(part), 1),
                         "estimate": e["estimate"], "se_previous": e["se"], "deff": e["deff"], "s2": s2,
                         "deff_kish": ss.kish_deff(part["_w"]) if len(part) else np.nan})
    return pd.DataFrame(rows)


def _invited_in(wave: str, sizes: pd.Series) -> pd.Series:
    """Members invited per unit in a past wave: the selection manifest if one was made, else all."""
    path = selection_manifest_path(wave)
    if not path.is_file():
        return sizes.astype(float)
    invited = json.loads(path.read_text(encoding="utf-8")).get("selected_per_unit", {})
    return sizes.index.to_series().map(invited).astype(float).fillna(0.0).set_axis(sizes.index)


def unit_response(responses: pd.DataFrame, waves: Sequence[str], units: pd.DataFrame) -> pd.DataFrame:
    """Each unit's response rate over *waves*: respondents over members invited, pooled.

    A unit nobody answered for (or nobody was invited in) takes its organization's pooled rate
    (``response_rate_source = "organization"``).

    Returns
    -------
    DataFrame
        ``[org, unit, members, past_invited, past_respondents, response_rate, response_rate_source]``.
    """
    frame = units.rename(columns={"unit_id": "unit"})[["org", "unit", "members"]].set_index("unit")
    invited = sum(_invited_in(w, frame["members"]) for w in waves)
    got = responses[responses[WAVE].isin(list(waves))].groupby("unit").size().reindex(frame.index).fillna(0)
    out = frame.assign(past_invited=invited, past_respondents=got.astype(float))
    org = out.groupby("org")[["past_respondents", "past_invited"]].transform("sum")
    own = (out["past_respondents"] > 0) & (out["past_invited"] > 0)
    out["response_rate"] = np.where(own, out["past_respondents"] / out["past_invited"].where(own, 1.0),
                                    org["past_respondents"] / org["past_invited"])
    out["response_rate"] = out["response_rate"].clip(upper=1.0)
    out["response_rate_source"] = np.where(own, "past", "organization")
    return out.reset_index()[["org", "unit", "members", "past_invited", "past_respondents", "response_rate",
                              "response_rate_source"]]


def _unit_sds(responses: pd.DataFrame, wave: str, scales: Sequence[str], units: pd.Series,
              by: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unit standard deviations of each scale (latest wave); a unit with < 2 scores takes its group's."""
    last = responses[responses[WAVE] == wave]
    sd = last.groupby("unit")[list(scales)].std(ddof=1).reindex(units.to_numpy())
    group = _group_key(last, by)
    pooled = last[list(scales)].groupby(group.to_numpy()).std(ddof=1)
    return sd, pooled


def plan_wave(wave: str, *, instrument: str = "member", moe: float | None = None,
              detect_change: float | None = None, power: float = 0.8, alpha: float = 0.05,
              by: Literal["org", "total"] = "org", response_rate: str | float = "from-past",
              allocation: Literal["proportional", "neyman"] = "proportional", scales: Sequence[str] | None = None,
              processed_dir: Path | None = None, population_dir: Path | None = None) -> WavePlan:
    """Completed interviews per organization and invitations per unit for *wave*.

    Parameters
    ----------
    wave : str
        The wave to plan (later than every wave the inputs come from).
    moe : float, optional
        Target margin of error (half-width of the 95 % interval, scale points) of every scale's
        mean per organization.
    detect_change : float, optional
        Change of a scale's mean against the latest wave to detect with *power* (two-sided
        test at *alpha*). At least one of *moe* and *detect_change*.
    by : "org" or "total"
        Targets per organization, or for all members together.
    response_rate : "from-past" or float
        Each unit's past response rate, or one rate for every unit.
    allocation : "proportional" or "neyman"
        Across the units of an organization.
    scales : sequence of str, optional
        Constructs to plan for (default: those asked of every member).

    Returns
    -------
    WavePlan
    """
    if moe is None and detect_change is None:
        raise ValueError("plan-wave: give --moe and/or --detect-change (a target precision)")
    for name, v in (("--moe", moe), ("--detect-change", detect_change)):
        if v is not None and not v > 0:
            raise ValueError(f"plan-wave {name} {v}: must be > 0 (scale points)")
    if not 0 < power < 1:
        raise ValueError(f"plan-wave --power {power}: must be in (0, 1)")
    if by not in ("org", "total"):
        raise ValueError(f"plan-wave --by {by!r}: expected 'org' or 'total'")
    if allocation not in ("proportional", "neyman"):
        raise ValueError(f"plan-wave --allocation {allocation!r}: expected 'proportional' or 'neyman'")
    fixed_rate = None
    if response_rate != "from-past":
        try:
            fixed_rate = float(response_rate)
        except (TypeError, ValueError):
            raise ValueError(f"plan-wave --response-rate {response_rate!r}: expected 'from-past' or a rate in (0, 1]")
        if not 0 < fixed_rate <= 1:
            raise ValueError(f"plan-wave --response-rate {response_rate!r}: a rate must be in (0, 1]")

    wave = config.check_id(str(wave), "wave")
    based_on = past_waves(instrument, wave, processed_dir=processed_dir)
    last = based_on[-1]
    ins = load(instrument)
    known = construct_names(ins)
    unknown = [s for s in (scales or []) if s not in known]
    if unknown:
        raise ValueError(f"plan-wave --scales: {', '.join(unknown)} not a construct of {instrument!r} "
                         f"(constructs: {', '.join(known)})")
    responses = load_responses(instrument, based_on, processed_dir=processed_dir, population_dir=population_dir)
    units = population.load_units(frame_dir(instrument, population_dir, "planning a wave"))
    inputs = scale_inputs(responses, last, scales or known, instrument=instrument, by=by,
                          population_dir=population_dir)
    left_out: list[str] = []
    if scales is None:
        share = inputs.groupby("variable")["scored_share"].min()
        partial = sorted(share[share < _FULL_SCALE_SHARE].index, key=known.index)
        left_out = [{"variable": v, "scored_share": float(share[v])} for v in partial]
        inputs = inputs[~inputs["variable"].isin(partial)]
    plan_scales = [s for s in (scales or known) if s in set(inputs["variable"])]

    resp = unit_response(responses, based_on, units)
    if fixed_rate is not None:
        resp = resp.assign(response_rate=fixed_rate, response_rate_source="given")
    resp["group"] = resp["org"] if by == "org" else "all"
    unit_sd, pooled_sd = _unit_sds(responses, last, plan_scales, resp["unit"], by)
    unit_sd = unit_sd.set_axis(resp.index)
    for g in pooled_sd.index:
        rows = resp["group"] == g
        unit_sd.loc[rows] = unit_sd.loc[rows].fillna(pooled_sd.loc[g])

    z = ss.z_value(alpha)
    zc = z + float(stats.norm.ppf(power)) if detect_change is not None else np.nan
    groups = list(dict.fromkeys(resp["group"]))
    state = {}
    for g in groups:
        part = resp[resp["group"] == g]
        inp = inputs[inputs["org"] == g].set_index("variable").loc[plan_scales]
        st = _GroupState(part=part, inp=inp, sds=unit_sd.loc[part.index, plan_scales].to_numpy(dtype=float))
        st.targets(moe, detect_change, alpha, power, z, zc)
        state[g] = st
        st.allocate(st.n_try, allocation)
    # The analytic plan assumes each group's past design effect; raking to margins shared by the
    # groups moves variance between them when their sampling fractions change, so the plan is
    # checked on the past respondents themselves (subsampled per unit to the planned completes,
    # the study's design and raking applied) and each group's n scaled until the target holds.
    last_rows = responses[responses[WAVE] == last]
    rng = np.random.default_rng(_EVAL_SEED)
    for _ in range(_EVAL_ROUNDS):
        v_sim = _replicate_variances(last_rows, state, plan_scales, instrument=instrument, by=by, rng=rng,
                                     population_dir=population_dir)
        # Grow only (the analytic n is the least each group needs): a group short of its target
        # grows; a group already inviting everyone and still short can only be helped by the
        # others (their variance reaches it through the shared margins): the thinnest grows by its shortfall.
        worst = {}
        for g, st in state.items():
            st.v_ach = v_sim[g]
            worst[g] = float(np.max(st.v_ach / st.v_req))
        full = {g: st.n_try >= st.cap.sum() - 1e-9 for g, st in state.items()}
        stuck = max([worst[g] for g in state if full[g] and worst[g] > 1 + _EVAL_TOLERANCE], default=1.0)
        # The helper is the group sampled most thinly (its heavy weights carry the most variance).
        open_groups = [g for g in state if not full[g]]
        helper = min(open_groups, key=lambda g: state[g].expected.sum() / state[g].sizes.sum(), default=None)
        done = True
        for g, st in state.items():
            factor = max(worst[g], stuck if g == helper else 1.0)
            if factor > 1 + _EVAL_TOLERANCE and not full[g]:
                done = False
                st.allocate(min(st.cap.sum(), st.n_try * factor * (1 + _EVAL_TOLERANCE / 2)), allocation)
        if done:
            break
    else:
        v_sim = _replicate_variances(last_rows, state, plan_scales, instrument=instrument, by=by, rng=rng,
                                     population_dir=population_dir)
        for g, st in state.items():
            st.v_ach = v_sim[g]

    unit_parts, precision_parts, group_rows = [], [], []
    for g, st in state.items():
        inp, n_pop, n_c = st.inp, st.sizes.sum(), float(st.expected.sum())
        exp_moe = z * np.sqrt(st.v_ach)
        se_prev = inp["se_previous"].to_numpy()
        exp_change = zc * np.sqrt(se_prev**2 + st.v_ach) if detect_change is not None else np.full(len(inp), np.nan)
        meets = st.v_ach <= st.v_req * (1 + _EVAL_TOLERANCE)
        unit_parts.append(st.part.assign(completes_planned=st.completes, invitations=st.invitations.astype("int64"),
                                         expected_completes=st.expected, census=st.invitations >= st.sizes))
        srs = inp["s2"].to_numpy() * max(1 / n_c - 1 / n_pop, 1e-300)
        precision_parts.append(pd.DataFrame({
            "org": g, "variable": plan_scales, "members": int(n_pop), "s2": inp["s2"].to_numpy(),
            "deff": st.deff, "deff_kish": inp["deff_kish"].to_numpy(), "se_previous": se_prev,
            "target_moe": moe, "n_for_moe": np.ceil(st.n_moe), "target_change": detect_change,
            "power": power if detect_change is not None else np.nan, "n_for_change": np.ceil(st.n_change),
            "expected_completes": n_c, "deff_planned": st.v_ach / srs, "expected_moe": exp_moe,
            "expected_detectable_change": exp_change, "meets_target": meets}))
        binding = int(np.argmax(st.v_ach / st.v_req))
        group_rows.append({"org": g, "units": len(st.part), "members": int(n_pop),
                           "completes_needed": float(np.ceil(st.n_try)), "invitations": int(st.invitations.sum()),
                           "expected_completes": n_c, "binding_scale": plan_scales[binding],
                           "worst_moe": float(exp_moe.max()), "target_moe": moe,
                           "worst_detectable_change": float(np.nanmax(exp_change)) if detect_change is not None
                           else np.nan, "target_change": detect_change, "feasible": bool(meets.all())})
    labels = labels_for(ins, "vi")
    precision = pd.concat(precision_parts, ignore_index=True)
    precision.insert(2, "label", precision["variable"].map(labels))
    unit_cols = ["org", "unit", "members", "past_invited", "past_respondents", "response_rate", "response_rate_source",
                 "completes_planned", "invitations", "expected_completes", "census"]
    units_out = pd.concat(unit_parts).sort_values(["org", "unit"], key=_org_order(units))[unit_cols]
    settings = {"instrument": instrument, "wave": wave, "based_on": list(based_on), "variances_from": last,
                "moe": moe, "detect_change": detect_change, "power": power, "alpha": alpha, "by": by,
                "response_rate": response_rate, "allocation": allocation, "scales": plan_scales,
                "scales_left_out": left_out, "min_completes_per_unit": MIN_COMPLETES}
    return WavePlan(wave=wave, based_on=tuple(based_on), units=units_out.reset_index(drop=True),
                    precision=precision, groups=pd.DataFrame(group_rows), settings=settings)


#: Seed of the check on past respondents (the plan is the same on every run).
_EVAL_SEED = 20260401
#: Rounds of the check, subsamples per round, and the relative tolerance on the target variance.
_EVAL_ROUNDS = 6
_EVAL_REPLICATES = 8
_EVAL_TOLERANCE = 0.02


class _GroupState:
    """One group's plan while it is adjusted: its units, inputs, targets and current allocation."""

    def __init__(self, part: pd.DataFrame, inp: pd.DataFrame, sds: np.ndarray) -> None:
        self.part, self.inp, self.sds = part, inp, sds
        self.sizes = part["members"].to_numpy(dtype=float)
        self.rr = part["response_rate"].to_numpy(dtype=float)
        self.cap = self.sizes * self.rr
        self.deff = inp["deff"].where(np.isfinite(inp["deff"]) & (inp["deff"] > 0), 1.0).to_numpy()

    def targets(self, moe, change, alpha, power, z, zc) -> None:
        """Completed interviews each scale needs (PracTools' formulas) and the variance it allows."""
        s2, n_pop, k = self.inp["s2"].to_numpy(), self.sizes.sum(), len(self.inp)
        se_prev = self.inp["se_previous"].to_numpy()
        self.v_req = np.full(k, np.inf)
        self.n_moe = self.n_change = np.full(k, np.nan)
        if moe is not None:
            self.n_moe = np.asarray(ss.n_for_moe(s2, moe, n_pop=n_pop, deff=self.deff, alpha=alpha),
                                    dtype=float).reshape(-1)
            self.v_req = np.minimum(self.v_req, (moe / z) ** 2)
        if change is not None:
            self.n_change = np.asarray(ss.n_for_change(s2, change, var_previous=se_prev**2, n_pop=n_pop,
                                                       deff=self.deff, alpha=alpha, power=power),
                                       dtype=float).reshape(-1)
            self.v_req = np.minimum(self.v_req, np.maximum((change / zc) ** 2 - se_prev**2, 1e-300))
        need = np.fmax(np.nan_to_num(self.n_moe, nan=0.0), np.nan_to_num(self.n_change, nan=0.0))
        self.binding = int(np.argmax(need))
        self.n_try = float(min(need[self.binding], self.cap.sum()))

    def allocate(self, n: float, method: str) -> None:
        """Completes per unit (capped at what a unit can give, two at least), invitations, expected completes."""
        self.n_try = n
        self.completes = ss.allocate(n, self.sizes, sds=self.sds[:, self.binding], method=method, capacity=self.cap,
                                     minimum=np.minimum(MIN_COMPLETES, self.cap))
        self.invitations = np.minimum(self.sizes, np.ceil(self.completes / self.rr - 1e-9))
        self.expected = self.invitations * self.rr


def _replicate_variances(last: pd.DataFrame, state: dict, scales: Sequence[str], *, instrument: str, by: str,
                         rng: np.random.Generator, population_dir: Path | None) -> dict:
    """Each group's variance of each scale's mean if the latest wave had had the planned completes.

    The latest wave's respondents are subsampled within each unit to the planned expected
    completes (randomly rounded, at most the unit's respondents), the study's design and raking
    applied, and the design variances averaged over `_EVAL_REPLICATES` subsamples.
    """
    expected = pd.concat([pd.Series(st.expected, index=st.part["unit"].to_numpy()) for st in state.values()])
    unit = last["unit"].to_numpy()
    k_mean = pd.Series(unit).map(expected).to_numpy(dtype=float)
    sums = {g: np.zeros(len(scales)) for g in state}
    for _ in range(_EVAL_REPLICATES):
        # Random rounding per unit keeps the expected count; never fewer than two.
        frac = rng.random(len(expected))
        k_unit = pd.Series(np.maximum(np.floor(expected.to_numpy()) + (frac < expected.to_numpy() % 1), MIN_COMPLETES),
                           index=expected.index)
        rank = pd.Series(rng.random(len(last))).groupby(unit).rank(method="first").to_numpy()
        keep = rank <= pd.Series(unit).map(k_unit).to_numpy(dtype=float)
        keep &= ~np.isnan(k_mean)
        wd = designs_by_wave(last[keep], instrument=instrument, population_dir=population_dir)
        design = next(iter(wd.values())).design
        for j, var in enumerate(scales):
            est = design.mean(var, by="org") if by == "org" else design.mean(var).assign(org="all")
            se = est.set_index("org")["se"]
            for g in state:
                sums[g][j] += float(se.get(g, np.nan)) ** 2
    return {g: v / _EVAL_REPLICATES for g, v in sums.items()}


def _org_order(units: pd.DataFrame):
    """Sort key: organizations in the frame's order, units by id."""
    order = {o: i for i, o in enumerate(dict.fromkeys(units["org"]))}

    def key(col: pd.Series) -> pd.Series:
        return col.map(order) if col.name == "org" else col
    return key


_ORG_VI = {"CDVC": "Công đoàn viên chức (CĐVC)", "HCCB": "Hội Cựu chiến binh (CCB)", "DTN": "Đoàn thanh niên (ĐTN)",
           "all": "Toàn Khối"}
_ORG_EN = {"CDVC": "Civil Servants' Trade Union", "HCCB": "Veterans' Association", "DTN": "Youth Union",
           "all": "All organizations"}


def _num(x: float, decimals: int, lang: str) -> str:
    text = f"{x:,.{decimals}f}"
    return text.replace(",", "\u0001").replace(".", ",").replace("\u0001", ".") if lang == "vi" else text


def plan_note(plan: WavePlan, lang: str = "vi") -> str:
    """A short note of what the plan buys, per organization, in Vietnamese or English (Markdown)."""
    s = plan.settings
    vi = lang == "vi"
    labels = labels_for(load(s["instrument"]), lang)
    waves = ", ".join(plan.based_on)
    if vi:
        rate = "theo các đợt trước" if s["response_rate"] == "from-past" else _num(float(s["response_rate"]), 2, "vi")
        alloc = "tỷ lệ theo số đoàn viên, hội viên" if s["allocation"] == "proportional" else "Neyman"
        lines = [f"# Kế hoạch đợt khảo sát {plan.wave}\n",
                 f"Căn cứ: phương sai và hệ số thiết kế của đợt {s['variances_from']}, tỷ lệ trả lời của các đợt "
                 f"{waves}; phân bổ {alloc}; tỷ lệ trả lời {rate}.\n"]
    else:
        rate = "from past waves" if s["response_rate"] == "from-past" else str(s["response_rate"])
        lines = [f"# Plan for survey wave {plan.wave}\n",
                 f"Based on: variances and design effects of wave {s['variances_from']}, response rates of waves "
                 f"{waves}; {s['allocation']} allocation across units; response rate {rate}.\n"]
    for _, g in plan.groups.iterrows():
        name = (_ORG_VI if vi else _ORG_EN).get(g["org"], g["org"])
        inv, exp, mem, scale = int(g["invitations"]), g["expected_completes"], int(g["members"]), \
            labels.get(g["binding_scale"], g["binding_scale"])
        parts = []
        if s["moe"] is not None:
            parts.append(f"sai số tối đa ±{_num(g['worst_moe'], 3, 'vi')} điểm (mục tiêu ±{_num(s['moe'], 2, 'vi')}) "
                         "cho trung bình mỗi thang đo" if vi else
                         f"a margin of error of at most ±{g['worst_moe']:.3f} points (target ±{s['moe']:.2f}) "
                         "for every scale's mean")
        if s["detect_change"] is not None:
            parts.append(f"phát hiện được thay đổi từ {_num(g['worst_detectable_change'], 3, 'vi')} điểm so với đợt "
                         f"{s['variances_from']}, lực kiểm định {_num(s['power'], 2, 'vi')} (mục tiêu "
                         f"{_num(s['detect_change'], 2, 'vi')})" if vi else
                         f"a change of {g['worst_detectable_change']:.3f} points against wave {s['variances_from']} "
                         f"detected with power {s['power']:.2f} (target {s['detect_change']:.2f})")
        short = "" if g["feasible"] else (
            " Không đạt mục tiêu kể cả khi mời mọi thành viên: cần tăng tỷ lệ trả lời hoặc nới mục tiêu." if vi else
            " The target is out of reach even inviting every member: raise the response rate or relax it.")
        if s["moe"] is not None and g["worst_moe"] < 0.9 * s["moe"] and g["feasible"]:
            short += (" Cỡ mẫu lớn hơn mục tiêu riêng của tổ chức cần: quyền số được hiệu chỉnh theo giới tính và đảng "
                      "viên của toàn Khối, nên mẫu mỏng ở tổ chức này làm tăng sai số của tổ chức khác." if vi else
                      " More than its own target needs: the weights are raked to the bloc's sex and party totals, so a "
                      "thin sample here would widen the other organizations' margins.")
        if vi:
            lines.append(f"- **{name}**: mời {_num(inv, 0, 'vi')}/{_num(mem, 0, 'vi')} người ở {int(g['units'])} "
                         f"cơ sở, dự kiến {_num(exp, 0, 'vi')} phiếu; {'; '.join(parts)} (thang đo quyết định: "
                         f"{scale}).{short}")
        else:
            lines.append(f"- **{name}**: invite {inv:,} of {mem:,} members in {int(g['units'])} units, about "
                         f"{exp:,.0f} completed; {'; '.join(parts)} (scale that decides: {scale}).{short}")
    if s["scales_left_out"]:
        why = [f"{labels.get(x['variable'], x['variable'])} ("
               + (f"có điểm ở {_num(100 * x['scored_share'], 0, 'vi')}% người trả lời của một tổ chức" if vi else
                  f"scored for {100 * x['scored_share']:.0f}% of an organization's respondents") + ")"
               for x in s["scales_left_out"]]
        lines.append(("\nThang đo chỉ hỏi một nhóm, không dùng để tính cỡ mẫu: " if vi else
                      "\nScales asked of a subgroup only, not used for the sample size: ") + "; ".join(why) + ".")
    lines.append("\n" + (
        "Sai số là nửa độ rộng khoảng tin cậy 95% của trung bình, có tính hệ số thiết kế (gia quyền, hiệu chỉnh "
        "raking) và hiệu chỉnh tổng thể hữu hạn, kiểm tra trên người trả lời của đợt trước; giả định tỷ lệ trả lời "
        "như các đợt trước." if vi else
        "The margin of error is the half-width of the 95% interval of a mean, with the design effect (weights, "
        "raking) and the finite population correction, checked on the previous wave's respondents; it assumes "
        "response rates as in past waves."))
    return "\n".join(lines) + "\n"
