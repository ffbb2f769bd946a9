"""Member sentiment (notebook 30): answer distributions, Likert charts, screened comments.
"""

from __future__ import annotations

import pandas as pd

from analysis.instruments import Instrument
from analysis.stats.design import SurveyDesign
from analysis.study.base import STAT_COLUMNS, wave_rows

__all__ = [
    "item_distribution",
    "likert_args",
    "comments",
    "comment_sample",
    "likert_figures",
]


def item_distribution(design: SurveyDesign, instrument: Instrument, *, lang: str = "vi") -> pd.DataFrame:
    """Weighted answer distribution of every scale item (missing codes left out).

    Returns
    -------
    DataFrame
        ``[construct, variable (item), question, level (code), label, value, estimate, se,
        ci_low, ci_high, n, deff]``, levels in scale order; codes are the instrument's. Every
        declared (non-missing) answer has a row: one nobody chose is 0 with SE 0, as R's
        ``svymean`` on ``factor(x, levels = ...)``.
    """
    parts = []
    for item in instrument.scale_items:
        if item.name not in design.data.columns or design.data[item.name].isna().all():
            continue
        missing = set(instrument.missing_codes(item.list_name))
        valid = design.data[item.name].where(~design.data[item.name].isin(missing))
        # same weights and calibration, the item's "don't know" codes as missing
        sub = design.replace(data=design.data.assign(**{item.name: valid}))
        # every declared answer, so an answer nobody gave is a 0 (and its drop shows in a change)
        est = sub.proportion(item.name, levels=instrument.valid_codes(item.list_name))
        values = instrument.choice_values(item.list_name)
        est["value"] = est["level"].map(values)
        est["label"] = est["level"].map(lambda c, ln=item.list_name: instrument.choice_label(ln, c, lang))
        est["construct"] = item.construct
        est["question"] = item.label(lang)
        parts.append(est.sort_values("value"))
    cols = ["construct", "variable", "question", "level", "label", "value", *STAT_COLUMNS]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def likert_args(instrument: Instrument, lang: str = "vi") -> dict:
    """Levels, level labels and item labels of the instrument's scale for `analysis.report.plots.likert_bars`."""
    lists = [i.list_name for i in instrument.scale_items]
    main = max(set(lists), key=lists.count)
    return {"levels": list(instrument.valid_codes(main)),
            "level_labels": {c.name: c.label(lang) for c in instrument.choice_list(main)},
            "item_labels": {i.name: i.label(lang) for i in instrument.scale_items}}


def comments(members: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.DataFrame:
    """Free-text answers of *wave*, one row per comment: ``[org, question, comment]``."""
    sub = wave_rows(members, wave)
    parts = []
    for item in instrument.by_role("comment"):
        if item.name in sub.columns:
            texts = sub[item.name].astype("string").str.strip()
            keep = texts.notna() & (texts != "")
            parts.append(pd.DataFrame({"org": sub.loc[keep, "org"], "question": item.label(),
                                       "comment": texts[keep].astype(str)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["org", "question", "comment"])


def comment_sample(publishable: pd.DataFrame, *, per_group: int = 8, seed: int = 20230324) -> pd.DataFrame:
    """A reproducible random sample of screened comments per organization (never in submission order)."""
    if publishable.empty:
        return publishable
    shuffled = publishable.sample(frac=1.0, random_state=seed)
    picked = shuffled.groupby("org", sort=True).head(per_group)
    return picked.sort_values(["org", "comment"]).reset_index(drop=True)


def likert_figures(protected, instrument: Instrument, *, lang: str = "vi") -> list[tuple]:
    """One diverging-bar chart per construct (`analysis.report.plots.likert_bars`) from a protected
    `item_distribution` table.

    Returns
    -------
    list of (Figure, name, title)
    """
    from analysis.report import plots

    table = getattr(protected, "table", protected)
    args = likert_args(instrument, lang)
    out = []
    for construct in instrument.constructs:
        items = [i.name for i in instrument.construct_items(construct.name) if i.name in set(table["variable"])]
        if not items:
            continue
        fig = plots.likert_bars(table[table["variable"].isin(items)], items=items, lang=lang, **args)
        title = {"vi": f"Phân bố câu trả lời: {construct.label(lang)}",
                 "en": f"Answers: {construct.label(lang)}"}[lang]
        out.append((fig, f"likert_{construct.name}", title))
    return out
