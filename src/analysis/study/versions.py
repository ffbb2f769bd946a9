"""Questionnaire versions across waves: which wave was fielded with which version, and where a
construct's series breaks because its items changed.

A construct is one *series* over the waves as long as each wave's items are comparable with
the previous wave's (`analysis.instruments.comparable_items`: same wording and scale, or a
researcher's ``comparable_to``). A wave whose version changed a construct's items starts a new
series: trend lines are drawn apart, the tables say so in a note, and no change or join is
computed across the break. Scores, reliability and answer shares of a wave always use the
version that wave was fielded with (`wave_instrument`), so adding a wave under a new version
never changes what was published about earlier waves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from analysis.disclosure import ProtectedTable
from analysis.ingest import waves as waves_mod
from analysis.instruments import Instrument, comparable_items
from analysis.study.base import WAVE

__all__ = ["wave_instrument", "construct_series", "trend_series", "version_note", "SERIES_SEPARATOR"]

#: A later series of a construct is drawn as its own line, keyed ``<construct>@<series>``.
SERIES_SEPARATOR = "@"


def wave_instrument(instrument: str, wave: str, *, processed_dir: Path | None = None) -> Instrument:
    """The version of *instrument* that *wave* was fielded with (its import manifest says which).

    A report about a wave describes that wave with its own questionnaire, even when a later
    version exists.
    """
    return waves_mod.load_instrument(instrument, wave, processed_dir=processed_dir)


def construct_series(instrument: str, waves: Sequence[str], *, processed_dir: Path | None = None) -> pd.DataFrame:
    """Each construct's series in each wave: a new series where its items changed.

    Returns
    -------
    DataFrame
        ``[wave, version, variable, series, changed]``: one row per wave and construct of that
        wave's version, oldest wave first; ``series`` starts at 0 and grows by one at each wave
        whose items are not comparable with the previous wave's (or where the construct
        reappears); ``changed`` counts, at a break, the items replaced, dropped and added
        (``{"replaced": 1, "dropped": 0, "added": 1}``), else None.

    Examples
    --------
    >>> from analysis.ingest import waves
    >>> series = construct_series("member", waves.list_waves("member"))  # doctest: +SKIP
    """
    rows = []
    previous: Instrument | None = None
    current: dict[str, int] = {}
    for wave in waves:
        ins = wave_instrument(instrument, wave, processed_dir=processed_dir)
        cmp = comparable_items(previous, ins) if previous is not None and previous.version != ins.version else None
        same = set(cmp.constructs) if cmp is not None else {c.name for c in ins.constructs}
        for c in ins.constructs:
            changed = None
            if c.name not in current:
                current[c.name] = 0
            elif c.name not in same or c.name not in _names(previous):
                current[c.name] += 1
                changed = _item_changes(previous, ins, c.name)
            rows.append({WAVE: wave, "version": ins.version, "variable": c.name, "series": current[c.name],
                         "changed": changed})
        previous = ins
    return pd.DataFrame(rows, columns=[WAVE, "version", "variable", "series", "changed"])


def _names(ins: Instrument | None) -> set[str]:
    return {c.name for c in ins.constructs} if ins is not None else set()


def _item_changes(a: Instrument, b: Instrument, construct: str) -> dict[str, int]:
    """How the construct's items differ from version *a* to *b*: replaced, dropped, added."""
    items_a = set(a.construct(construct).items) if construct in _names(a) else set()
    items_b = set(b.construct(construct).items)
    replaced = {b.item(n).replaces for n in items_b - items_a if b.item(n).replaces in items_a}
    reworded = {n for n in items_a & items_b if a.item(n).label_vi != b.item(n).label_vi}
    return {"replaced": len(replaced) + len(reworded), "dropped": len(items_a - items_b - replaced),
            "added": len(items_b - items_a) - len(replaced)}


def trend_series(table: pd.DataFrame | ProtectedTable, series: pd.DataFrame, labels: Mapping[str, str], *,
                 lang: str = "vi") -> tuple[pd.DataFrame | ProtectedTable, dict[str, str]]:
    """A trend table whose later series are separate variables, and their labels.

    Rows of a construct's series 1, 2, … get the variable ``<construct>@<series>`` and the label
    "<label> (từ đợt W, phiếu phiên bản V)", so a chart draws them as a new panel and a table as
    a new row: neither joins the old series. Rows of series 0 are unchanged. A protected table
    comes back protected (the same cells hidden; only the variable of later series renamed).
    """
    if isinstance(table, ProtectedTable):
        rows, names = trend_series(table.table, series, labels, lang=lang)
        return dataclasses.replace(table, table=rows), names
    key = series.set_index([WAVE, "variable"])["series"]
    idx = pd.MultiIndex.from_arrays([table[WAVE].astype(str), table["variable"].astype(str)])
    number = key.reindex(idx).fillna(0).astype(int).to_numpy()
    out = table.copy()
    later = number > 0
    renamed = zip(out.loc[later, "variable"], number[later])
    out.loc[later, "variable"] = [f"{v}{SERIES_SEPARATOR}{s}" for v, s in renamed]
    first = series[series["series"] > 0].drop_duplicates(["variable", "series"])
    names = dict(labels)
    for _, r in first.iterrows():
        base = labels.get(r["variable"], r["variable"])
        names[f"{r['variable']}{SERIES_SEPARATOR}{r['series']}"] = (
            f"{base} (từ đợt {r[WAVE]}, phiếu phiên bản {r['version']})" if lang == "vi"
            else f"{base} (from {r[WAVE]}, questionnaire version {r['version']})")
    return out, names


def version_note(series: pd.DataFrame, labels: Mapping[str, str], *, lang: str = "vi") -> str:
    """One sentence per break: which construct's items changed, from which wave and version.

    Empty when every construct is one series over the waves.
    """
    parts = []
    for _, r in series[series["series"] > 0].drop_duplicates(["variable", "series"]).iterrows():
        ch = r["changed"] or {}
        what = [(ch.get("replaced", 0), "đổi", "changed"), (ch.get("dropped", 0), "bỏ", "dropped"),
                (ch.get("added", 0), "thêm", "added")]
        name = labels.get(r["variable"], r["variable"])
        if lang == "vi":
            detail = ", ".join(f"{word} {n} câu" for n, word, _ in what if n)
            parts.append(f"Thang đo “{name}” {detail or 'đổi câu hỏi'} từ đợt {r[WAVE]} (phiếu phiên bản "
                         f"{r['version']}): điểm từ đợt này không nối và không so sánh với các đợt trước.")
        else:
            detail = ", ".join(f"{n} item(s) {word}" for n, _, word in what if n)
            parts.append(f"Scale “{name}”: {detail or 'items changed'} from {r[WAVE]} (questionnaire version "
                         f"{r['version']}); its scores from then on are neither joined to nor compared with "
                         "earlier waves.")
    return " ".join(parts)
