"""Measurement (notebook 20): reliability of every scale by group and wave, item statistics, items to review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from analysis import project
from analysis.ingest import waves as waves_mod
from analysis.instruments import Instrument
from analysis.stats import reliability, scoring
from analysis.study.base import WAVE

__all__ = [
    "reliability_table",
    "item_statistics",
    "misbehaving_sentence",
]


def _construct_items(data: pd.DataFrame, instrument: Instrument) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Reverse-keyed numeric items of every construct present in *data*."""
    scales = {c.name: [i.name for i in instrument.construct_items(c.name) if i.name in data.columns]
              for c in instrument.constructs}
    scales = {k: v for k, v in scales.items() if len(v) >= 2}
    cols = sorted({i for v in scales.values() for i in v})
    items = scoring.recode_items(data[cols], instrument, reverse=True)
    return items, scales


def _rows_by_version(data: pd.DataFrame, instrument: Instrument, processed_dir: Path | None):
    """``(instrument version, rows)`` for each version the waves of *data* were fielded with.

    Rows without an imported wave (a caller's own frame) use *instrument*.
    """
    if WAVE not in data.columns:
        return [(instrument, data)]
    imported = set(waves_mod.list_waves(instrument.name, processed_dir=processed_dir))
    version = {w: waves_mod.load_instrument(instrument.name, w, processed_dir=processed_dir) if w in imported
               else instrument for w in pd.unique(data[WAVE])}
    groups: dict[str, tuple[Instrument, list]] = {}
    for w, ins in version.items():
        groups.setdefault(ins.version, (ins, []))[1].append(w)
    return [(ins, data[data[WAVE].isin(ws)]) for ins, ws in groups.values()]


def reliability_table(data: pd.DataFrame, instrument: Instrument, *, by: Sequence[str] | None = None,
                      n_boot: int = 200, seed: int = 20230, processed_dir: Path | None = None) -> pd.DataFrame:
    """Alpha, one-factor omega and a cluster-bootstrap interval for alpha, per construct and group.

    Parameters
    ----------
    by : sequence of str, optional
        Default: wave and the study's outermost group (``[wave, org]`` in Đề án 04).

    Returns
    -------
    DataFrame
        ``[*by, variable (construct), alpha, alpha_std, omega_total, ci_low, ci_high, n, k,
        estimate, version, group]`` (``estimate`` = alpha, for disclosure control; ``version``
        = the questionnaire version whose items were used: the wave's own; ``group`` = the
        groups and the wave as one column header, e.g. ``CDVC · 2025``). The bootstrap
        resamples the hierarchy's innermost level (units in Đề án 04); a study without a
        hierarchy gets no interval.
    """
    hierarchy = project.load_study().instrument(instrument.name).hierarchy
    by = list(by) if by is not None else [WAVE, *hierarchy[:1]]
    cluster = hierarchy[-1] if len(hierarchy) > 1 and hierarchy[-1] in data.columns else None
    parts = []
    # each wave on the items of the version it was fielded with: a later version never changes
    # the reliability already published for earlier waves
    for version, rows in _rows_by_version(data, instrument, processed_dir):
        items, scales = _construct_items(rows, version)
        frame = pd.concat([rows[by + ([cluster] if cluster else [])], items], axis=1)
        found = reliability.reliability_by(frame, scales, by=by, cluster=cluster, n_boot=n_boot, seed=seed)
        parts.append(found.assign(version=version.version))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    out = out.rename(columns={"scale": "variable"})
    out["estimate"] = out["alpha"]
    out["n"] = out["n"].astype("float64")
    if WAVE in by:  # a column header when shown wide
        out["group"] = [" · ".join(map(str, g)) for g in zip(*(out[c] for c in [*(c for c in by if c != WAVE), WAVE]))]
    return out


def item_statistics(data: pd.DataFrame, instrument: Instrument, *, lang: str = "vi") -> pd.DataFrame:
    """Item statistics of every construct (one wave): r_drop, alpha if dropped, mean, sd, flags.

    Returns
    -------
    DataFrame
        ``[variable (construct), item, question, alpha, r_drop, alpha_if_dropped, mean, sd, n,
        low_r_drop, alpha_rises, misbehaves]``: ``low_r_drop`` is ``r_drop < 0.30``;
        ``alpha_rises`` that alpha without the item is higher than with it.
    """
    items, scales = _construct_items(data, instrument)
    parts = []
    for name, cols in scales.items():
        res = reliability.cronbach_alpha(items[cols])
        t = res.items.copy()
        t.insert(0, "variable", name)
        t["alpha"] = res.alpha
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    out["question"] = out["item"].map(lambda n: instrument.item(n).label(lang))  # the report's language
    out["low_r_drop"] = out["r_drop"] < 0.30
    out["alpha_rises"] = out["alpha_if_dropped"] > out["alpha"] + 1e-9
    out["misbehaves"] = out["low_r_drop"] | out["alpha_rises"]
    return out[["variable", "item", "question", "alpha", "r_drop", "alpha_if_dropped", "mean", "sd", "n",
                "low_r_drop", "alpha_rises", "misbehaves"]]


def misbehaving_sentence(items: pd.DataFrame, labels: Mapping[str, str], *, lang: str = "vi") -> str:
    """One sentence naming the constructs whose items misbehave (or saying none do)."""
    bad = items[items["misbehaves"].fillna(False).astype(bool)]
    if bad.empty:
        return {"vi": "Không có câu hỏi nào có tương quan với phần còn lại của thang đo dưới 0,30 hoặc làm "
                      "tăng alpha khi bỏ đi.",
                "en": "No item correlates below 0.30 with the rest of its scale or raises alpha when dropped."}[lang]
    names = ", ".join(dict.fromkeys(labels.get(v, v) for v in bad["variable"]))
    return {"vi": f"{len(bad)} câu hỏi cần xem lại (tương quan với phần còn lại dưới 0,30 hoặc alpha tăng khi "
                  f"bỏ đi), thuộc các thang đo: {names}.",
            "en": f"{len(bad)} item(s) to review (correlation with the rest below 0.30, or alpha rises when "
                  f"dropped), in: {names}."}[lang]
