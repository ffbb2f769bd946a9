"""Change since the baseline (notebook 50): comparable scales, wave differences with BH-adjusted p-values, dose-response, and their sentences.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from analysis import instruments
from analysis.ingest import waves as waves_mod
from analysis.stats import compare
from analysis.study.base import ALPHA, WAVE, by_columns, in_vietnamese, significance_label, significant_rows
from analysis.study.designs import WaveDesign, estimate_means, model_design

__all__ = [
    "changes_since_baseline",
    "comparable_constructs",
    "dose_response",
    "change_sentences",
    "comparability_text",
    "model_assumptions",
    "no_change_sentence",
    "change_summary",
]


def comparable_constructs(instrument: str, wave: str, baseline_wave: str, *,
                          processed_dir: Path | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Constructs whose items are all comparable between the two waves' instrument versions.

    Returns
    -------
    (comparable, not_comparable)
        Construct names, and ``(construct, reason)`` for the others.
    """
    a = waves_mod.load_instrument(instrument, baseline_wave, processed_dir=processed_dir)
    b = waves_mod.load_instrument(instrument, wave, processed_dir=processed_dir)
    cmp = instruments.comparable_items(a, b)
    return list(cmp.constructs), list(cmp.not_comparable_constructs)


def changes_since_baseline(designs: Mapping[str, WaveDesign], variables: Sequence[str], *, wave: str,
                           baseline_wave: str, by: str | Sequence[str] | None = None,
                           family: str = "constructs", lang: str = "vi") -> pd.DataFrame:
    """Change of each variable from the baseline to *wave*, with interval, effect size and BH.

    Parameters
    ----------
    designs : mapping
        `designs_by_wave` output holding both waves.
    variables : sequence of str
        Only comparable variables (see `comparable_constructs`).
    by : str or sequence, optional
        Domains (e.g. ``"org"``).
    family : str
        The declared family: all rows of this table form one Benjamini–Hochberg family.

    Returns
    -------
    DataFrame
        ``[wave, baseline_wave, *by, variable, estimate_a, estimate_b, estimate (the
        difference), se, ci_low, ci_high, n (the smaller wave's n), z, p_value, p_adjusted,
        d, family, significant, status]``.

    Notes
    -----
    Independent cross-sections: ``se = sqrt(se_a² + se_b²)`` (`analysis.stats.compare.compare_waves`);
    Cohen's d with the weighted pooled SD (`analysis.stats.compare.cohens_d_waves`).
    """
    names = by_columns(by)
    est = estimate_means({w: designs[w] for w in (baseline_wave, wave)}, variables, by=by)
    a = est[est[WAVE] == baseline_wave].drop(columns=WAVE)
    b = est[est[WAVE] == wave].drop(columns=WAVE)
    diff = compare.compare_waves(a, b)
    diff["p_adjusted"] = compare.adjust_bh(diff["p_value"].to_numpy())  # one declared family
    n = pd.merge(a[[*names, "variable", "n"]], b[[*names, "variable", "n"]], on=[*names, "variable"],
                 suffixes=("_a", "_b"))
    n["n"] = n[["n_a", "n_b"]].min(axis=1)
    diff = diff.merge(n[[*names, "variable", "n"]], on=[*names, "variable"], how="left")
    ds = pd.concat([compare.cohens_d_waves(designs[baseline_wave].design, designs[wave].design, v, by=by)
                    for v in variables], ignore_index=True)
    diff = diff.merge(ds[[*names, "variable", "d"]], on=[*names, "variable"], how="left")
    diff = diff.rename(columns={"difference": "estimate"})
    diff.insert(0, "baseline_wave", baseline_wave)
    diff.insert(0, WAVE, wave)
    diff["family"] = family
    diff["significant"] = diff["p_adjusted"] < ALPHA
    diff["status"] = [significance_label(p, e, lang=lang) for p, e in zip(diff["p_adjusted"], diff["estimate"])]
    order = {v: i for i, v in enumerate(variables)}
    diff = diff.sort_values([*names, "variable"], key=lambda s: s.map(order) if s.name == "variable" else s)
    return diff.reset_index(drop=True)[[WAVE, "baseline_wave", *names, "variable", "estimate_a", "estimate_b",
                                        "estimate", "se", "ci_low", "ci_high", "n", "z", "p_value", "p_adjusted",
                                        "d", "family", "significant", "status"]]


def dose_response(members: pd.DataFrame, index: pd.DataFrame, outcomes: Sequence[str], *,
                  designs: Mapping[str, WaveDesign] | None = None) -> pd.DataFrame:
    """Member outcomes on their unit's implementation index: on the wave designs, or mixed.

    Parameters
    ----------
    members : DataFrame
        `load_member` output (all waves).
    index : DataFrame
        `implementation_index` output (one row per wave and unit).
    outcomes : sequence of str
        Construct columns.
    designs : mapping, optional
        `designs_by_wave` output. Given, each construct is fitted by survey-weighted regression
        on every wave's `model_design` (`analysis.stats.svyglm.svyglm`: the waves as
        independent samples, units as clusters, the raking in the standard errors); without
        it, by a mixed model with unit random intercepts (unweighted).

    Returns
    -------
    DataFrame
        ``[variable, term, estimate, se, statistic, df, p_value, ci_low, ci_high, n_obs,
        n_groups, p_adjusted, method, assumptions, n]``: the exposure's coefficient, the change
        in the construct score for a unit meeting all its targets rather than none, same wave
        and organization; ``n_groups`` counts the units in the fit. BH within this family.
        A construct with fewer than 5 units or one implementation value is left out.
    """
    from analysis.stats import models  # heavy import, only here

    exposure = index.set_index([WAVE, "unit"])["implementation"]
    wave_designs = [model_design(wd) for wd in designs.values()] if designs is not None else []
    rows = []
    for var in outcomes:
        if designs is None:
            sub = members.merge(index, on=[WAVE, "unit"], how="inner")
            sub = sub[[var, "implementation", "unit", WAVE, "org"]].dropna().rename(columns={var: "outcome"})
            fitted, data = sub, sub
        else:
            parts = [_with_exposure(d, var, exposure) for d in wave_designs]
            data = [d for d in parts if d is not None]
            fitted = pd.concat([_complete(d) for d in data]) if data else pd.DataFrame(columns=["unit"])
        if fitted["unit"].nunique() < 5 or fitted["implementation"].nunique() < 2:
            continue
        res = models.fit_dose_response(data, outcome="outcome", exposure="implementation", unit="unit", wave=WAVE,
                                       org="org")
        row = res.key_table().iloc[0].to_dict()
        row.update(variable=var, n_obs=res.n_obs, n_groups=int(fitted["unit"].nunique()), method=res.method,
                   assumptions=res.assumptions)
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out["p_adjusted"] = compare.adjust_bh(out["p_value"].to_numpy())
        out["n"] = out["n_obs"].astype("float64")
    return out


def _with_exposure(design, var: str, exposure: pd.Series):
    """The wave's design with ``outcome`` (= *var*) and its units' ``implementation`` added.

    None when no row of the wave has both (a construct not asked, a wave without the unit
    survey): such a wave would only add an empty wave column to the model.
    """
    data = design.data
    if var not in data.columns:
        return None
    keys = pd.MultiIndex.from_arrays([data[WAVE], data["unit"]])
    added = data.assign(outcome=data[var], implementation=exposure.reindex(keys).to_numpy())
    if not (added["outcome"].notna() & added["implementation"].notna()).any():
        return None
    return design.replace(data=added)


def _complete(design) -> pd.DataFrame:
    """The rows the model uses: positive weight and every model value present."""
    data = design.data
    keep = (design.weight_values > 0) & data[["outcome", "implementation", WAVE, "org"]].notna().all(axis=1).to_numpy()
    return data[keep]


def change_sentences(changes: pd.DataFrame, labels: Mapping[str, str], *, table: str, lang: str = "vi",
                     keys: Sequence[str] = ("variable",), only_significant: bool = False,
                     measure: str = "mean") -> list:
    """`analysis.report.narrative.describe_change` for every row of a (protected) change table.

    Hidden rows (suppressed) get the "not enough data" sentence of narrative; labels of the
    key columns are joined (e.g. organization · construct).
    """
    from analysis.report import narrative

    if changes is None:  # the notebook that makes the table did not run for this report
        return []
    rows = changes.rename(columns={"estimate": "difference"})
    if only_significant:
        rows = rows[significant_rows(rows)]
    out = []
    for _, row in rows.iterrows():
        label = " – ".join(labels.get(str(row[k]), str(row[k])) for k in reversed(list(keys)) if pd.notna(row[k]))
        out.append(narrative.describe_change(row, label=label, wave_a=str(row["baseline_wave"]),
                                             wave_b=str(row[WAVE]), table=table, keys=list(keys), lang=lang,
                                             measure=measure))
    return out


def comparability_text(comparable: Sequence[str], not_comparable: Sequence[tuple[str, str]],
                       labels: Mapping[str, str], *, wave: str, baseline_wave: str, lang: str = "vi") -> str:
    """Which constructs are compared across the two waves' instrument versions, and which not."""
    if not not_comparable:
        return {"vi": f"Tất cả {len(comparable)} thang đo dùng cùng câu hỏi ở đợt {baseline_wave} và đợt {wave}, "
                      "nên được so sánh trực tiếp.",
                "en": f"All {len(comparable)} scales use the same questions in {baseline_wave} and {wave}, "
                      "so they are compared directly."}[lang]
    names = "; ".join(f"{labels.get(c, c)} ({why})" for c, why in not_comparable)
    return {"vi": f"Chỉ so sánh {len(comparable)} thang đo có câu hỏi giống nhau giữa hai phiên bản phiếu. "
                  f"Không so sánh: {names}.",
            "en": f"Only the {len(comparable)} scales with the same questions in both versions are compared. "
                  f"Not compared: {names}."}[lang]


def model_assumptions(fits: pd.DataFrame, *, lang: str = "vi") -> str:
    """The models' statement of what the estimates mean (one language of the bilingual text)."""
    if fits is None or fits.empty or "assumptions" not in fits.columns:
        return {"vi": "Chưa đủ dữ liệu để ước lượng mô hình.", "en": "Not enough data to fit the model."}[lang]
    text = str(fits["assumptions"].iloc[0])
    if " / " in text:
        parts = [p.strip() for p in text.split(" / ")]
        return parts[0] if lang == "vi" or len(parts) == 1 else parts[1]
    # analysis.stats.models writes each statement as Vietnamese sentences followed by English ones:
    # keep the sentences of the report's language (Vietnamese ones carry Vietnamese letters)
    sentences = [x.strip() for x in re.split(r"(?<=\.)\s+", text) if x.strip()]
    mine = [x for x in sentences if in_vietnamese(x) == (lang == "vi")]
    return " ".join(mine) or text


def no_change_sentence(changes: pd.DataFrame | None, labels: Mapping[str, str], *, lang: str = "vi") -> str:
    """One sentence naming every published row without a significant change (BH-adjusted).

    Hidden rows are not named (they are neither significant nor known to be unchanged).
    """
    if changes is None:  # a report without the member survey's impact section (the unit report)
        return {"vi": "Thay đổi trong cảm nhận của đoàn viên, hội viên được trình bày trong báo cáo khảo sát "
                      "đoàn viên, hội viên cùng đợt.",
                "en": "Changes in members' views are reported in the member survey report of the same wave."}[lang]
    if changes.empty:
        return {"vi": "Chưa có so sánh với đợt đầu.", "en": "No comparison with the baseline yet."}[lang]
    shown = ~changes["suppressed"].map(lambda v: v is True or str(v).lower() == "true") \
        if "suppressed" in changes.columns else pd.Series(True, index=changes.index)
    quiet = changes[shown & ~significant_rows(changes)]
    if quiet.empty:
        return {"vi": "Mọi khía cạnh được so sánh đều thay đổi có ý nghĩa thống kê.",
                "en": "Every compared aspect changed significantly."}[lang]
    names = "; ".join(str(labels.get(v, v)) for v in quiet["variable"])
    return {"vi": f"Không có thay đổi có ý nghĩa thống kê (sau hiệu chỉnh Benjamini–Hochberg) ở {len(quiet)} "
                  f"khía cạnh: {names}.",
            "en": f"No statistically significant change (Benjamini–Hochberg adjusted) in {len(quiet)} "
                  f"aspect(s): {names}."}[lang]


#: At most this many names in one summary sentence (the executive summary must fit on two pages).
_MAX_NAMED = 3


def change_summary(changes: pd.DataFrame | None, labels: Mapping[str, str], *, table: str, by: str | None = None,
                   lang: str = "vi", noun: tuple[str, str] = ("khía cạnh", "aspect(s)")) -> list:
    """Short sentences counting significant increases and decreases (per *by* group if given).

    Each sentence names the rows it counts and carries its source table, so the executive
    summary stays short and every claim can be traced to the full table in the impact section.

    Returns
    -------
    list of narrative.Sentence
    """
    from analysis.report import narrative

    if changes is None or changes.empty:
        return []
    shown = changes[~changes["suppressed"].map(lambda v: v is True or str(v).lower() == "true")] \
        if "suppressed" in changes.columns else changes
    groups = [(None, shown)] if by is None else list(shown.groupby(by, sort=False))
    out = []
    for key, rows in groups:
        sig = rows[significant_rows(rows)]
        up = sig[sig["estimate"] > 0]["variable"].map(lambda v: str(labels.get(v, v))).tolist()
        down = sig[sig["estimate"] < 0]["variable"].map(lambda v: str(labels.get(v, v))).tolist()
        rest = len(rows) - len(up) - len(down)
        quiet = rows[~significant_rows(rows)]["variable"].map(lambda v: str(labels.get(v, v))).tolist()
        # a summary for the Board names a short list only: with many increases, name the few
        # rows that did not change instead (the full list is in the source table)
        many = len(up) > _MAX_NAMED
        up_names = "" if many or not up else f" ({'; '.join(up)})"
        rest_names = f" ({'; '.join(quiet)})" if many and quiet and len(quiet) <= _MAX_NAMED else ""
        who = "" if key is None else f"{labels.get(str(key), str(key))}: "
        if lang == "vi":
            text = (f"{who}{len(up)} {noun[0]} tăng có ý nghĩa thống kê{up_names}"
                    + f", {len(down)} giảm" + (f" ({'; '.join(down)})" if down else "")
                    + f", {rest} không thay đổi có ý nghĩa{rest_names}.")
        else:
            text = (f"{who}{len(up)} {noun[1]} increased significantly{up_names}"
                    + f", {len(down)} decreased" + (f" ({'; '.join(down)})" if down else "")
                    + f", {rest} without significant change{rest_names}.")
        source = table if key is None else f"{table}[{by}={key}]"
        out.append(narrative.Sentence(unicodedata.normalize("NFC", text), source, "summary", lang))
    return out
