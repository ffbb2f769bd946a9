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
    "grouped_change_sentences",
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
    # each wave's model design with its units' implementation, looked up once for all outcomes
    wave_designs = [_with_implementation(model_design(wd), exposure) for wd in designs.values()] \
        if designs is not None else []
    rows = []
    for var in outcomes:
        if designs is None:
            sub = members.merge(index, on=[WAVE, "unit"], how="inner")
            sub = sub[[var, "implementation", "unit", WAVE, "org"]].dropna().rename(columns={var: "outcome"})
            fitted, data = sub, sub
        else:
            parts = [_with_outcome(d, var) for d in wave_designs]
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


def _with_implementation(design, exposure: pd.Series):
    """The wave's design with its units' ``implementation`` (missing for a unit without one)."""
    data = design.data
    keys = pd.MultiIndex.from_arrays([data[WAVE], data["unit"]])
    return design.replace(data=data.assign(implementation=exposure.reindex(keys).to_numpy()))


def _with_outcome(design, var: str):
    """The wave's design (`_with_implementation`) with ``outcome`` = *var*.

    None when no row of the wave has both (a construct not asked, a wave without the unit
    survey): such a wave would only add an empty wave column to the model.
    """
    data = design.data
    if var not in data.columns:
        return None
    added = data.assign(outcome=data[var])
    if not (added["outcome"].notna() & added["implementation"].notna()).any():
        return None
    return design.replace(data=added)


def _complete(design) -> pd.DataFrame:
    """The units and implementation values of the rows the model uses: positive weight and
    every model value present."""
    data = design.data
    keep = (design.weight_values > 0) & data[["outcome", "implementation", WAVE, "org"]].notna().all(axis=1).to_numpy()
    return data.loc[keep, ["unit", "implementation"]]


def change_sentences(changes: pd.DataFrame, labels: Mapping[str, str], *, table: str, lang: str = "vi",
                     keys: Sequence[str] = ("variable",), only_significant: bool = False,
                     measure: str = "mean") -> list:
    """A few sentences on a (protected) change table: what rose, what fell, what did not move.

    One group of sentences per value of the key columns before the last (e.g. per organization
    when *keys* is ``("org", "variable")``), each led by that group's label. The rows that rose
    are listed in one sentence with their two levels and the change, those that fell in another,
    and the rows without a significant change (BH-adjusted flag of the table) are named with
    their two levels; hidden rows are named as "not enough data". With *only_significant*
    the unchanged and hidden rows are left to `no_change_sentence`.
    """
    if changes is None:  # the notebook that makes the table did not run for this report
        return []
    keys = list(keys)
    groups = [(None, changes)] if len(keys) == 1 else list(changes.groupby(keys[:-1], sort=False))
    out = []
    for key, rows in groups:
        who = None
        if key is not None:
            parts = key if isinstance(key, tuple) else (key,)
            who = " – ".join(str(labels.get(str(k), k)) for k in parts)
        out += grouped_change_sentences(rows, labels, table=table, lang=lang, measure=measure, group=who,
                                        key=keys[-1], only_significant=only_significant,
                                        who=("đoàn viên, hội viên", "members") if measure == "mean" else None)
    return out


#: The noun of a compared row, singular Vietnamese and English (plural adds "s").
SCALE_NOUN = ("thang đo", "scale")
INDICATOR_NOUN = ("chỉ tiêu cơ sở", "unit indicator")


def _list_label(label: str) -> str:
    """A label inside a list: lower-case first letter unless it starts with an abbreviation."""
    return label[0].lower() + label[1:] if len(label) > 1 and label[0].isupper() and label[1].islower() else label


def _hidden(rows: pd.DataFrame) -> pd.Series:
    if "suppressed" not in rows.columns:
        return pd.Series(False, index=rows.index)
    return rows["suppressed"].map(lambda v: v is True or str(v).lower() == "true")


def grouped_change_sentences(rows: pd.DataFrame, labels: Mapping[str, str], *, table: str, lang: str = "vi",
                             measure: str | Mapping[str, str] = "mean", group: str | None = None,
                             key: str = "variable", only_significant: bool = False,
                             noun: tuple[str, str] = SCALE_NOUN, who: tuple[str, str] | None = None,
                             count_nouns: Mapping[str, str | None] | None = None,
                             pairs_note: Mapping[str, int] | None = None) -> list:
    """The grouped sentences of one set of change rows (see `change_sentences`).

    *measure* may map each row's variable to its measure (indicators mix shares and counts);
    *who* is the subject that "rated higher" (members) — without it the rows themselves rise;
    *count_nouns* the counted thing of count rows; *pairs_note* the number of units compared
    for rows whose levels are those of the units with a value in both waves.
    Every number is read from the row: both levels and the change as published.
    """
    from analysis.report import narrative

    if rows is None or rows.empty:
        return []
    rows = rows.rename(columns={"estimate": "difference"})
    hidden = _hidden(rows)
    sig = significant_rows(rows)
    diff = pd.to_numeric(rows["difference"], errors="coerce")
    vi = lang == "vi"
    wave_a = str(rows["baseline_wave"].iloc[0])
    names = {"vi": noun[0], "en": noun[1]}

    def n_noun(n: int) -> str:
        return f"{n} {noun[0]}" if vi else f"{n} {noun[1]}{'' if n == 1 else 's'}"

    def item(r: pd.Series, moved: bool) -> str:
        var = str(r[key])
        m = measure.get(var, "mean") if isinstance(measure, Mapping) else measure
        pct = m == "proportion"
        a, b, d = (narrative.number_in(r, k) for k in ("estimate_a", "estimate_b", "difference"))
        dec = narrative.percent_decimals(a, b) if pct else 2
        cnoun = (count_nouns or {}).get(var) if m == "count" else None
        unit = narrative.difference_unit(m, cnoun, lang)
        end = f" {cnoun}" if cnoun and vi else ""
        fa, fb = narrative.format_value(a, dec, lang, pct), narrative.format_value(b, dec, lang, pct) + end
        label = _list_label(str(labels.get(var, var)))
        extra = ""
        if pairs_note and var in pairs_note:
            extra = (f"; {pairs_note[var]} cơ sở có số liệu ở cả hai đợt" if vi else
                     f"; the {pairs_note[var]} units with a value in both waves")
        if moved:
            fd = narrative.format_number(abs(d) * (100 if pct else 1), dec, lang=lang)
            sign = "+" if d > 0 else "−"
            way = ("lên" if d > 0 else "xuống") if vi else "to"
            return (f"{label} (từ {fa} {way} {fb}; {sign}{fd}{unit}{extra})" if vi else
                    f"{label} (from {fa} {way} {fb}; {sign}{fd}{unit}{extra})")
        return f"{label} ({fa} và {fb}{extra})" if vi else f"{label} ({fa} and {fb}{extra})"

    def listed(part: pd.DataFrame, moved: bool) -> str:
        return "; ".join(item(r, moved) for _, r in part.iterrows())

    def source(part: pd.DataFrame) -> str:
        return f"{table}[{key}={','.join(str(v) for v in part[key])}]"

    up, down = rows[sig & (diff > 0)], rows[sig & (diff < 0)]
    quiet, gone = rows[~sig & ~hidden], rows[hidden]
    lead_vi = f"{group}: so với năm {wave_a}" if group else f"So với năm {wave_a}"
    lead_en = f"{group}: compared with {wave_a}" if group else f"Compared with {wave_a}"
    out = []
    # what rose
    if not up.empty:
        if who:
            text = (f"{lead_vi}, {who[0]} đánh giá cao hơn ở {n_noun(len(up))}: {listed(up, True)}." if vi else
                    f"{lead_en}, {who[1]} rated {n_noun(len(up))} higher: {listed(up, True)}.")
        else:
            text = (f"{lead_vi}, {n_noun(len(up))} tăng: {listed(up, True)}." if vi else
                    f"{lead_en}, {n_noun(len(up))} rose: {listed(up, True)}.")
        out.append(narrative.Sentence(unicodedata.normalize("NFC", text), source(up), "increase", lang))
    else:
        text = (f"{lead_vi}, không {names['vi']} nào tăng." if vi else f"{lead_en}, no {names['en']} rose.")
        out.append(narrative.Sentence(text, f"{table}[]", "no_difference", lang))
    # what fell, and what did not move
    if not down.empty:
        fell = (f"{n_noun(len(down))} giảm: {listed(down, True)}" if vi else
                f"{n_noun(len(down))} fell: {listed(down, True)}")
    else:
        fell = f"không {names['vi']} nào giảm" if vi else f"no {names['en']} fell"
    fell = fell[0].upper() + fell[1:]
    if only_significant or quiet.empty:
        text, part = fell + ".", down
    else:
        still = (f"{n_noun(len(quiet))} chưa có thay đổi rõ (năm {wave_a} và năm {rows[WAVE].iloc[0]}): "
                 f"{listed(quiet, False)}" if vi else
                 f"{n_noun(len(quiet))} showed no clear change ({wave_a} and {rows[WAVE].iloc[0]}): "
                 f"{listed(quiet, False)}")
        text, part = f"{fell}; {still}.", pd.concat([down, quiet])
    out.append(narrative.Sentence(unicodedata.normalize("NFC", text), source(part),
                                  "decrease" if not down.empty else "no_difference", lang))
    if not gone.empty and not only_significant:
        named = "; ".join(_list_label(str(labels.get(str(v), v))) for v in gone[key])
        text = (f"Không đủ dữ liệu để so sánh {n_noun(len(gone))}: {named}." if vi else
                f"There are not enough data to compare {n_noun(len(gone))}: {named}.")
        out.append(narrative.Sentence(unicodedata.normalize("NFC", text), source(gone), "no_data", lang))
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
    quiet = changes[~_hidden(changes) & ~significant_rows(changes)]
    if quiet.empty:
        return {"vi": "Mọi thang đo được so sánh đều có thay đổi rõ.",
                "en": "Every compared scale changed clearly."}[lang]
    names = "; ".join(_list_label(str(labels.get(v, v))) for v in quiet["variable"])
    n = len(quiet)
    return {"vi": f"{n} thang đo chưa có thay đổi rõ: {names}.",
            "en": f"{n} scale{'' if n == 1 else 's'} showed no clear change: {names}."}[lang]


#: At most this many names in one summary sentence (the executive summary must fit on two pages).
_MAX_NAMED = 3


def change_summary(changes: pd.DataFrame | None, labels: Mapping[str, str], *, table: str, by: str | None = None,
                   lang: str = "vi", noun: tuple[str, str] = SCALE_NOUN) -> list:
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
        # "không … nào giảm", never "0 giảm"
        noun = (noun[0], noun[1].removesuffix("(s)"))
        if lang == "vi":
            rose = f"{len(up)} {noun[0]} tăng{up_names}" if up else f"không {noun[0]} nào tăng"
            fell = f"{len(down)} giảm ({'; '.join(down)})" if down else f"không {noun[0]} nào giảm"
            still = f"{rest} chưa có thay đổi rõ{rest_names}" if rest else ""
        else:
            plural = lambda n: noun[1] if n == 1 else noun[1] + "s"  # noqa: E731
            rose = f"{len(up)} {plural(len(up))} rose{up_names}" if up else f"no {noun[1]} rose"
            fell = f"{len(down)} fell ({'; '.join(down)})" if down else f"no {noun[1]} fell"
            still = f"{rest} showed no clear change{rest_names}" if rest else ""
        text = ", ".join(x for x in (rose, fell, still) if x) + "."
        text = who + (text if who else text[0].upper() + text[1:])
        source = table if key is None else f"{table}[{by}={key}]"
        out.append(narrative.Sentence(unicodedata.normalize("NFC", text), source, "summary", lang))
    return out
