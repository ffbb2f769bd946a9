"""What one grassroots unit's feedback sheet says (issue #16): its own requirements, where it
stands in its organization, and its members' scores only where they are safe together.

* `unit_requirements` — the unit's answer to each per-unit requirement of the plan that is due:
  met, not met, does not apply, or no answer (facts its committee reported, as in the list of
  units to follow up).
* `unit_standing` — every unit's share of due requirements met and its quarter within its
  organization (1 = the best quarter); a sheet shows its own quarter, never another unit.
* `unit_scores` — members' scores by unit next to their organization's, protected as **one**
  table over every unit of the wave together with the organization totals already published:
  a unit of fewer than k respondents shows no score, and further units are hidden until the
  attacker recovers none (`analysis.disclosure.protect_table` with the frame's hierarchy).
  Sheets read their rows from it, so every sheet is cut from the same table. The command audits
  the union of the sheets with the reports also with the frame's public member counts as
  weights (`analysis.disclosure.find_disclosures` ``frame_sizes``): a pooled pair of hidden
  units stays a pool of k or more, and no single hidden unit follows.
* `sheet_context` / `sheet_content` — what every sheet of a wave is cut from (computed once per
  batch of sheets) and what one sheet prints, as plain values (`analysis.report.unit_sheets`
  lays it out). Scores are direct design-based estimates, not shrunk towards the organization
  (no empirical Bayes: the sheet says so).
* `interval_words`, `low_scales` and `unit_suggestions` — the words a small unit's wide interval
  needs, and up to three suggestions by a documented rule: unmet requirements first, then the
  scales on which the unit is clearly below its organization.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import disclosure
from analysis.instruments import Instrument, population
from analysis.report.tables import format_number
from analysis.study.base import WAVE
from analysis.study.data import unit_hierarchy
from analysis.study.designs import WaveDesign
from analysis.study.units import meets_target, target_due

__all__ = ["REQUIREMENT_STATUS", "unit_requirements", "unit_standing", "unit_scores", "interval_words",
           "unit_suggestions", "low_scales", "SheetContext", "sheet_context", "sheet_content", "sheet_contents"]

#: A requirement's status on a sheet, in words.
REQUIREMENT_STATUS = {
    "met": ("Đạt", "Met"),
    "not_met": ("Chưa đạt", "Not met"),
    "not_concerned": ("Không thuộc diện", "Does not apply"),
    "no_answer": ("Chưa báo cáo", "Not reported"),
}


def _per_unit_targets(instrument: Instrument, wave: str) -> list:
    return [ind for ind in instrument.indicators
            if ind.target is not None and (ind.target_per or "unit") == "unit" and target_due(ind, wave)]


def unit_requirements(units: pd.DataFrame, instrument: Instrument, *, wave: str, unit: str,
                      lang: str = "vi") -> pd.DataFrame:
    """The unit's status on every per-unit requirement due by *wave*.

    Returns
    -------
    DataFrame
        ``[task_group, variable, label, indicator_unit, target, direction, target_year, value,
        status, status_label]`` in instrument order; ``status`` is a key of
        `REQUIREMENT_STATUS`: ``no_answer`` when the unit did not answer the unit survey,
        ``not_concerned`` when it answered without a value (the requirement does not apply).
    """
    row = units[(units[WAVE] == wave) & (units["unit"] == unit)]
    out = []
    for ind in _per_unit_targets(instrument, wave):
        answered = len(row) and ind.name in row.columns and pd.notna(row[ind.name].iloc[0])
        value = float(row[ind.name].iloc[0]) if answered else np.nan
        if row.empty:
            status = "no_answer"
        elif np.isnan(value):
            status = "not_concerned"
        else:
            status = "met" if meets_target(pd.Series([value]), ind).iloc[0] == 1.0 else "not_met"
        out.append({"task_group": ind.task_group, "variable": ind.name, "label": ind.label(lang),
                    "indicator_unit": ind.unit, "target": ind.target, "direction": ind.direction,
                    "target_year": ind.target_year, "value": value, "status": status,
                    "status_label": REQUIREMENT_STATUS[status][0 if lang == "vi" else 1]})
    return pd.DataFrame(out, columns=["task_group", "variable", "label", "indicator_unit", "target", "direction",
                                      "target_year", "value", "status", "status_label"])


def unit_standing(units: pd.DataFrame, instrument: Instrument, *, wave: str,
                  population_dir: Path | None = None) -> pd.DataFrame:
    """Each unit's share of due requirements met and its quarter within its organization.

    Returns
    -------
    DataFrame
        ``[unit, org, n_due, n_met, share, quarter, n_units_org]``: ``n_due`` requirements
        that apply to the unit (a value reported), ``share = n_met / n_due``; ``quarter`` 1–4
        within the organization by ``share`` (1 = the best quarter; ties share the better
        quarter); a unit that did not answer has no share and no quarter.
    """
    frame = population.load_units(population_dir)[["unit_id", "org"]].rename(columns={"unit_id": "unit"})
    sub = units[units[WAVE] == wave].set_index("unit")
    targets = [ind for ind in _per_unit_targets(instrument, wave) if ind.name in sub.columns]
    met = pd.DataFrame({ind.name: meets_target(sub[ind.name].astype("float64"), ind) for ind in targets},
                       index=sub.index)
    counts = pd.DataFrame({"n_due": met.notna().sum(axis=1), "n_met": met.sum(axis=1)})
    out = frame.merge(counts, left_on="unit", right_index=True, how="left")
    out["share"] = (out["n_met"] / out["n_due"]).where(out["n_due"] > 0)
    pct = out.groupby("org")["share"].rank(method="min", ascending=False, pct=True)
    out["quarter"] = np.ceil(pct * 4).astype("Int64")
    out["n_units_org"] = out.groupby("org")["unit"].transform("size")
    return out[["unit", "org", "n_due", "n_met", "share", "quarter", "n_units_org"]]


def unit_scores(wd: WaveDesign, constructs: Sequence[str], *, policy: disclosure.DisclosurePolicy,
                published: Sequence[tuple[str, object, Sequence[str]]] = (),
                population_dir: Path | None = None) -> disclosure.ProtectedTable:
    """Members' scores of every unit of the wave, with their organization's, protected together.

    Parameters
    ----------
    wd : WaveDesign
        The wave's raked design (`designs_by_wave`).
    constructs : sequence of str
    policy : DisclosurePolicy
    published : sequence of (name, table, by)
        What the reports of the wave already publish about the same scales (the scores by
        organization): the attacker sees them with the sheets.

    Returns
    -------
    ProtectedTable
        ``by = [wave, org, unit]``; organization rows have ``unit`` missing. Design-based means
        with their 95% intervals; hidden: every unit of fewer than k respondents and the
        complements that keep it hidden against the organization totals and every other sheet.
    """
    d = wd.design
    parts = []
    for var in constructs:
        if var not in d.data.columns or d.data[var].isna().all():
            continue
        parts.append(d.mean(var, by=["org", "unit"]))
        parts.append(d.mean(var, by="org").assign(unit=None))
    table = pd.concat(parts, ignore_index=True).assign(**{WAVE: wd.wave})
    table = table[[WAVE, "org", "unit", *[c for c in table.columns if c not in (WAVE, "org", "unit")]]]
    return disclosure.protect_table(table, by=[WAVE, "org", "unit"], hierarchy=unit_hierarchy(population_dir),
                                    policy=policy, name="unit_scores", published=list(published))


def interval_words(n: float, *, lang: str = "vi") -> str:
    """A plain warning for a score from few respondents (fewer than 30), else ``""``."""
    if pd.isna(n) or n >= 30:
        return ""
    n = int(n)
    return (f"Chỉ có {n} người trả lời nên khoảng tin cậy rộng: điểm của cơ sở chỉ nên đọc như một "
            "dấu hiệu, không dùng để xếp hạng." if lang == "vi" else
            f"Only {n} members answered, so the interval is wide: read the unit's score as a sign, "
            "not as a ranking.")


def low_scales(scores: Sequence[Mapping], wave: str) -> list[dict]:
    """Scales on which the unit is clearly below its organization in *wave*: both cells shown and
    the unit's whole 95% interval under the organization's estimate. Largest gap first."""
    out = []
    for s in scores:
        cells = s["waves"].get(wave, {})
        unit, org = cells.get("unit"), cells.get("org")
        if unit and org and unit["shown"] and org["shown"] and unit["ci_high"] < org["estimate"]:
            out.append({"label": s["label"], "unit": unit["estimate"], "org": org["estimate"]})
    return sorted(out, key=lambda r: r["unit"] - r["org"])


def unit_suggestions(requirements: pd.DataFrame, *, lang: str = "vi", limit: int = 3,
                     low: Sequence[Mapping] = (), org_label: str = "") -> list[str]:
    """Up to *limit* suggestions: the unit's unmet requirements first, then its weakest scales.

    Rule: each unmet requirement (``not_met``) gives one suggestion naming it and its target, in
    the plan's task-group order; a requirement not reported (``no_answer``) gives one suggestion
    to report; the places left go to the scales of *low* (`low_scales`: the unit's interval below
    its organization's score), largest gap first; nothing at all gives one sentence to keep the
    results.
    """
    unmet = requirements[requirements["status"] == "not_met"]
    out = []
    for _, r in unmet.head(limit).iterrows():
        target = _target_text(r, lang)
        out.append(f"Tập trung thực hiện yêu cầu “{r['label']}” ({target}, hạn năm {r['target_year']})."
                   if lang == "vi" else
                   f"Work on the requirement “{r['label']}” ({target}, due {r['target_year']}).")
    if (requirements["status"] == "no_answer").any() and len(out) < limit:
        out.append("Hoàn thành và gửi phiếu khảo sát cơ sở để kết quả của cơ sở được ghi nhận."
                   if lang == "vi" else "Complete and return the unit survey so the unit's results are recorded.")
    for r in list(low)[:max(limit - len(out), 0)]:
        unit, org = format_number(r["unit"], 2, lang=lang), format_number(r["org"], 2, lang=lang)
        out.append(f"Quan tâm hơn đến “{r['label']}”: đoàn viên, hội viên của cơ sở đánh giá {unit} điểm, "
                   f"thấp hơn rõ so với điểm chung của {org_label} ({org} điểm)." if lang == "vi" else
                   f"Give more attention to “{r['label']}”: the unit's members rate it {unit}, clearly below "
                   f"{org_label} as a whole ({org}).")
    if not out:
        out.append("Duy trì các kết quả đã đạt; chia sẻ cách làm với các cơ sở cùng tổ chức." if lang == "vi"
                   else "Keep up the results achieved; share the practice with units of the organization.")
    return out


def _target_text(r: Mapping, lang: str) -> str:
    if r["indicator_unit"] in ("yes/no",):
        return "yêu cầu: có" if lang == "vi" else "required: yes"
    value = float(r["target"])
    shown = f"{value:g}".replace(".", ",") if lang == "vi" else f"{value:g}"
    if r["indicator_unit"] == "share":
        shown = f"{value * 100:g}%".replace(".", ",") if lang == "vi" else f"{value * 100:g}%"
    word = ("tối thiểu" if r["direction"] == "higher" else "tối đa") if lang == "vi" else \
        ("at least" if r["direction"] == "higher" else "at most")
    return f"{'chỉ tiêu' if lang == 'vi' else 'target'} {word} {shown}"


# ------------------------------------------------------------------ one sheet's content


@dataclass(frozen=True)
class SheetContext:
    """What every sheet of a wave is cut from, computed once (`sheet_context`).

    ``scores`` holds one `unit_scores` table per wave (each protected with that wave's
    organization totals), so a sheet's trend shows only cells that are safe together with every
    other sheet and report of the same wave.
    """

    wave: str
    waves: tuple[str, ...]
    lang: str
    k: int
    synthetic: bool
    frame: pd.DataFrame  # unit, org, name (in lang)
    unit_data: pd.DataFrame
    unit_instruments: Mapping[str, Instrument]
    labels: Mapping[str, str]  # member scales and organizations
    constructs: tuple[str, ...]
    standing: Mapping[str, pd.DataFrame]  # wave -> unit_standing
    scores: Mapping[str, disclosure.ProtectedTable]  # wave -> unit_scores
    cells: Mapping[tuple, dict]  # (wave, variable, org, unit or "") -> a sheet's score cell


def sheet_context(wave: str, *, waves: Sequence[str], lang: str = "vi", min_group_size: int | None = None,
                  instrument: str = "member", processed_dir: Path | None = None,
                  population_dir: Path | None = None) -> SheetContext:
    """Load the waves up to *wave* and compute what every unit sheet needs.

    The member scores of each wave are protected as one table over all units together with the
    organization and Bloc totals the member report publishes (`unit_scores` with ``published``).
    """
    from analysis.ingest import waves as waves_mod
    from analysis.study.data import labels_for, load_responses, load_units, unit_survey
    from analysis.study.designs import designs_by_wave, estimate_with_total
    from analysis.study.versions import wave_instrument

    waves = tuple(w for w in waves if w <= wave) if wave in waves else (*[w for w in waves if w < wave], wave)
    policy = disclosure.load_policy(k=min_group_size) if min_group_size is not None else disclosure.load_policy()
    member = wave_instrument(instrument, wave, processed_dir=processed_dir)
    responses = load_responses(instrument, list(waves), processed_dir=processed_dir, population_dir=population_dir)
    designs = designs_by_wave(responses, instrument=instrument, population_dir=population_dir)
    scores = {}
    for w in waves:
        if w not in designs:
            continue
        names = [c.name for c in wave_instrument(instrument, w, processed_dir=processed_dir).constructs]
        org = disclosure.protect_table(estimate_with_total({w: designs[w]}, names, by="org"), by=[WAVE, "org"],
                                       policy=policy, name="constructs_by_org")
        scores[w] = unit_scores(designs[w], names, policy=policy, population_dir=population_dir,
                                published=[("constructs_by_org", org, [WAVE, "org"])])
    survey = unit_survey(instrument)
    unit_data = load_units(survey, list(waves), processed_dir=processed_dir)
    unit_ins = {w: wave_instrument(survey, w, processed_dir=processed_dir) for w in waves
                if w in set(unit_data[WAVE])}
    standing = {w: unit_standing(unit_data, ins, wave=w, population_dir=population_dir) for w, ins in unit_ins.items()}
    units = population.load_units(population_dir)
    frame = pd.DataFrame({"unit": units["unit_id"], "org": units["org"],
                          "name": units["name_vi" if lang == "vi" else "name_en"]})
    labels = dict(labels_for(member, lang))
    cells = {key: cell for w, pt in scores.items() for key, cell in _score_cells(pt.table, w).items()}
    synthetic = waves_mod.is_synthetic(instrument, wave, processed_dir=processed_dir)
    return SheetContext(wave, waves, lang, policy.k, synthetic, frame, unit_data, unit_ins, labels,
                        tuple(c.name for c in member.constructs), standing, scores, cells)


def _fmt(x: float, decimals: int, lang: str) -> str:
    text = f"{x:.{decimals}f}"
    return text.replace(".", ",") if lang == "vi" else text


def _value_text(r: Mapping, lang: str) -> str:
    """A requirement's value as the unit reported it."""
    v = r["value"]
    if pd.isna(v):
        return "—"
    if r["indicator_unit"] == "yes/no":
        return ("Có" if v >= 0.5 else "Không") if lang == "vi" else ("Yes" if v >= 0.5 else "No")
    if r["indicator_unit"] == "share":
        return _fmt(100 * float(v), 0, lang) + "%"
    return f"{float(v):g}".replace(".", ",") if lang == "vi" else f"{float(v):g}"


def _score_cells(table: pd.DataFrame, wave: str) -> dict[tuple, dict]:
    """``(wave, variable, org, unit or "")`` -> the cell as a sheet prints it: shown with its
    rounded estimate, interval and n, or hidden with its marker."""
    out = {}
    for r in table.itertuples(index=False):
        key = (wave, r.variable, r.org, "" if pd.isna(r.unit) else r.unit)
        out[key] = ({"shown": False, "note": str(r.note)} if bool(r.suppressed) else
                    {"shown": True, "estimate": float(r.estimate), "ci_low": float(r.ci_low),
                     "ci_high": float(r.ci_high), "n": int(r.n)})
    return out


def sheet_content(ctx: SheetContext, unit: str) -> dict:
    """Everything one unit's sheet prints, as plain JSON-able values (the renderer adds only layout).

    Returns
    -------
    dict
        ``unit, name, org, org_label, wave, waves, lang, k, synthetic``; ``requirements`` (one
        dict per due requirement: task group, label, target text, year, the unit's value,
        status and its words); ``standing`` (met/due, quarter, units of the organization; no
        other unit); ``trend`` (per wave: met/due and quarter); ``scores`` (per scale: the
        unit's and the organization's shown cells per wave, or why hidden), ``scores_shown``,
        ``respondents`` (only when shown), ``interval_words``, ``suggestions``.
    """
    lang = ctx.lang
    row = ctx.frame[ctx.frame["unit"] == unit]
    if row.empty:
        raise ValueError(f"unit {unit!r} is not in the population frame (data/population/units.csv)")
    org, name = str(row["org"].iloc[0]), str(row["name"].iloc[0])
    req = unit_requirements(ctx.unit_data, ctx.unit_instruments[ctx.wave], wave=ctx.wave, unit=unit, lang=lang) \
        if ctx.wave in ctx.unit_instruments else pd.DataFrame(columns=["status"])
    requirements = [{"task_group": int(r["task_group"]), "variable": r["variable"], "label": r["label"],
                     "target_text": _target_text(r, lang), "target_year": int(r["target_year"]),
                     "value_text": _value_text(r, lang), "status": r["status"], "status_label": r["status_label"]}
                    for _, r in req.iterrows()]

    def stand(w: str) -> dict:
        st = ctx.standing.get(w)
        s = st[st["unit"] == unit] if st is not None else pd.DataFrame()
        if s.empty or pd.isna(s["share"].iloc[0]):
            return {"wave": w, "n_met": None, "n_due": None, "quarter": None,
                    "n_units_org": int(s["n_units_org"].iloc[0]) if len(s) else None}
        s0 = s.iloc[0]
        return {"wave": w, "n_met": int(s0["n_met"]), "n_due": int(s0["n_due"]), "quarter": int(s0["quarter"]),
                "n_units_org": int(s0["n_units_org"])}

    scores = []
    for var in ctx.constructs:
        by_wave = {w: {"unit": ctx.cells.get((w, var, org, unit)), "org": ctx.cells.get((w, var, org, ""))}
                   for w in ctx.scores}
        scores.append({"variable": var, "label": ctx.labels.get(var, var), "waves": by_wave})
    latest = [s["waves"].get(ctx.wave, {}).get("unit") for s in scores]
    shown = [c for c in latest if c and c["shown"]]
    respondents = max(c["n"] for c in shown) if shown else None
    content = {
        "unit": unit, "name": name, "org": org, "org_label": ctx.labels.get(org, org), "wave": ctx.wave,
        "waves": list(ctx.waves), "lang": lang, "k": ctx.k, "synthetic": ctx.synthetic,
        "requirements": requirements, "standing": stand(ctx.wave), "trend": [stand(w) for w in ctx.waves],
        "scores": scores, "scores_shown": bool(shown), "respondents": respondents,
        "scores_hidden_reason": None if shown else _hidden_reason(latest, ctx.k, lang),
        "interval_words": interval_words(respondents, lang=lang) if shown else "",
        "suggestions": unit_suggestions(req if len(req) else pd.DataFrame({"status": ["no_answer"]}), lang=lang,
                                        low=low_scales(scores, ctx.wave), org_label=ctx.labels.get(org, org)),
    }
    return content


def sheet_contents(ctx: SheetContext, units: Sequence[str]) -> list[dict]:
    """`sheet_content` of each of *units*, in order (what the sheets notebook renders)."""
    return [sheet_content(ctx, u) for u in units]


def _hidden_reason(cells: Sequence[dict | None], k: int, lang: str) -> str:
    notes = {c["note"] for c in cells if c}
    if not notes:
        return ("Không có phiếu trả lời của đoàn viên, hội viên cơ sở trong đợt này." if lang == "vi"
                else "No member of the unit answered in this wave.")
    if any(n.startswith("n<") for n in notes):
        return (f"Cơ sở có ít hơn {k} người trả lời nên điểm của đoàn viên, hội viên không được công bố, "
                "để bảo vệ người trả lời." if lang == "vi" else
                f"Fewer than {k} members answered, so no member score is published, to protect them.")
    return ("Điểm của đoàn viên, hội viên cơ sở được ẩn để không thể suy ra điểm của một cơ sở nhỏ "
            "cùng tổ chức từ các phiếu phản hồi khác." if lang == "vi" else
            "The unit's member scores are withheld so that a small unit's scores cannot be derived "
            "from the other sheets.")
