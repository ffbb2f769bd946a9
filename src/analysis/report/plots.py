"""Charts for the report: tidy estimates in, :class:`matplotlib.figure.Figure` out.

Functions here are pure — they build a figure and return it; only :func:`save_figure` writes a
file. Conventions every chart follows:

- **Words**: titles, item, construct, unit and task-group labels come from the caller (the
  instrument), never from this module; only the fixed words (axis names, legend notes) are
  here, in Vietnamese and English (``lang=``). All text is NFC and set in DejaVu Sans, which
  has every Vietnamese glyph, so diacritics render the same on every machine.
- **Colour**: Okabe & Ito (2008) for series and ColorBrewer "RdBu" for Likert scales — both
  safe for the common colour-vision deficiencies — and never colour alone: series also differ
  by line style and marker, Likert levels by hatching, significance by filled vs open markers.
- **Disclosure**: a table that went through :mod:`analysis.disclosure` (it has a
  ``suppressed`` column) is masked with :func:`analysis.disclosure.mask_for_plot`; a hidden row
  gets no bar, no point, no value label — only its marker (``n<5`` or ``x``).
- **Numbers** are formatted by :mod:`analysis.report.tables` (decimal comma in Vietnamese).

Why one module: the four charts (Likert bars, trend lines, heatmap, forest plot) share one set
of private conventions — font, palettes, line styles and hatches, disclosure masking — that
every chart must follow and no caller should bypass; each chart is one public function found by
its name, and the shared helpers are short.

Examples
--------
>>> import pandas as pd
>>> est = pd.DataFrame({"wave": ["2023", "2024", "2025"], "org": "CDVC", "variable": "sat",
...                     "estimate": [3.4, 3.5, 3.7], "ci_low": [3.3, 3.4, 3.6],
...                     "ci_high": [3.5, 3.6, 3.8]})
>>> fig = trend_plot(est, series_labels={"CDVC": "Công đoàn viên chức"}, title="Sự hài lòng")
>>> fig.axes[0].get_xlabel()
'Đợt khảo sát'
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from analysis.report.tables import format_number

__all__ = [
    "FONT_FAMILY",
    "HATCHES",
    "LIKERT_PALETTES",
    "LINESTYLES",
    "MARKERS",
    "OKABE_ITO",
    "SEQUENTIAL_CMAP",
    "forest_plot",
    "BANDS",
    "HEATMAP_PAGE_ROWS",
    "heatmap",
    "band_counts",
    "heatmap_bands",
    "heatmap_figures",
    "likert_bars",
    "likert_palette",
    "save_figure",
    "trend_plot",
]

FONT_FAMILY = "DejaVu Sans"
#: Okabe & Ito (2008), "Color Universal Design": black first is left out (reserved for text).
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000")
#: ColorBrewer RdBu (Brewer 2002), diverging, colour-blind safe for 3–7 classes; red = disagree.
LIKERT_PALETTES: dict[int, tuple[str, ...]] = {
    2: ("#ef8a62", "#67a9cf"),
    3: ("#ef8a62", "#f7f7f7", "#67a9cf"),
    4: ("#ca0020", "#f4a582", "#92c5de", "#0571b0"),
    5: ("#ca0020", "#f4a582", "#f7f7f7", "#92c5de", "#0571b0"),
    6: ("#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac"),
    7: ("#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"),
}
#: Colour of the "don't know" bar: neutral grey, outside the diverging scale.
DONT_KNOW_COLOUR = "#bdbdbd"
#: Sequential colour map for 0–100 heatmaps (cividis: designed for colour-vision deficiency).
SEQUENTIAL_CMAP = "cividis"
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 1, 1, 1, 1, 1, 1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Hatches of a 5-level scale (dense at the ends, none in the neutral middle) so levels read in
#: black and white; other scale lengths follow the same pattern (:func:`_hatch`).
HATCHES = ("xx", "//", "", "\\\\", "..", "++", "oo")
MISSING_HATCH = "////"
_DARK = frozenset({"#ca0020", "#0571b0", "#b2182b", "#2166ac"})
MISSING_FACE = "#f0f0f0"
#: Unit rows a `heatmap` may have in `heatmap_figures`: a 0.22-inch row, shrunk with the chart to
#: the A4 portrait text area the DOCX gives a figure (16.5 × 22.7 cm), is about 4 mm tall and its
#: 6-pt labels about 4.5 pt — the smallest still read in print. The demo's largest organization
#: (48 units) fits; a larger one gets `heatmap_bands` (at 4,800 rows the grid would be ~1,000
#: inches tall, past the pixel limit of matplotlib's Agg renderer).
HEATMAP_PAGE_ROWS = 50
#: Attainment bands of `heatmap_bands`, left to right, with the point of the colour map each is
#: drawn in and its hatch (bands differ without colour); "hidden" takes hidden and missing cells.
BANDS = ("full", "high", "low", "zero", "hidden")
_BAND_SHADE = {"full": 1.0, "high": 0.75, "low": 0.25, "zero": 0.0}
_BAND_HATCH = {"full": "", "high": "..", "low": "//", "zero": "xx", "hidden": "////"}
_EDGE = "#404040"

_WORDS = {
    "vi": {
        "mean_axis": "Điểm trung bình (thang 1–5)",
        "wave": "Đợt khảo sát",
        "diff": "Chênh lệch so với năm gốc",
        "share": "Tỷ lệ (%)",
        "dont_know": "Không biết",
        "dk_excluded": "Ghi chú: không tính “{label}” ({share} người trả lời) trong các thanh.",
        "sig": "Có ý nghĩa thống kê (p hiệu chỉnh BH < {alpha})",
        "nonsig": "Không có ý nghĩa thống kê",
        "ci": "Khoảng tin cậy 95%",
        "hidden": "Ô gạch chéo: không có số liệu hoặc không công bố ({primary}, {other})",
        "attainment": "Mức đạt (0–100)",
        "units": "Số cơ sở",
        "band_full": "{hi}%",
        "band_high": "{mid}% đến dưới {hi}%",
        "band_low": "trên {lo}% đến dưới {mid}%",
        "band_zero": "{lo}%",
        "band_hidden": "ẩn/không có số liệu",
        "bands_caption": "số cơ sở theo mức đạt",
        "bands_note": "{n} cơ sở, mỗi nhóm nhiệm vụ một thanh chia theo mức đạt; giá trị của từng cơ sở: "
                      "phiếu kết quả của cơ sở và danh sách các cơ sở cần theo dõi, đôn đốc.",
    },
    "en": {
        "mean_axis": "Mean score (1–5 scale)",
        "wave": "Survey wave",
        "diff": "Change since baseline",
        "share": "Share (%)",
        "dont_know": "Don't know",
        "dk_excluded": "Note: “{label}” ({share} of respondents) is left out of the bars.",
        "sig": "Significant (BH-adjusted p < {alpha})",
        "nonsig": "Not significant",
        "ci": "95% confidence interval",
        "hidden": "Hatched cell: no data or not published ({primary}, {other})",
        "attainment": "Attainment (0–100)",
        "units": "Number of units",
        "band_full": "{hi}%",
        "band_high": "{mid}% to under {hi}%",
        "band_low": "over {lo}% to under {mid}%",
        "band_zero": "{lo}%",
        "band_hidden": "hidden/no data",
        "bands_caption": "units by attainment band",
        "bands_note": "{n} units, one bar per task group split by attainment band; each unit's values: "
                      "its unit sheet and the follow-up list of units.",
    },
}


def _words(lang: str) -> dict[str, str]:
    if lang not in _WORDS:
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    return _WORDS[lang]


def _nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text))


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(_nfc(text), width)) or _nfc(text)


def _rc() -> Any:
    """Style for building a figure: the font with Vietnamese glyphs, hatch lines visible in print."""
    return mpl.rc_context({
        "font.family": FONT_FAMILY,
        "font.size": 9,
        "hatch.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "analysis",
    })


def _new_figure(width: float, height: float) -> Figure:
    # matplotlib.figure.Figure, not pyplot: no global figure registry, nothing to close
    return Figure(figsize=(width, height), layout="constrained")


def _font_ticks(ax: Any) -> None:
    # tick labels are created lazily at draw time, outside rc_context: pin the family here
    ax.tick_params(labelfontfamily=FONT_FAMILY)


def likert_palette(k: int) -> tuple[str, ...]:
    """The documented ColorBrewer RdBu palette for a *k*-level scale (2–7).

    Examples
    --------
    >>> likert_palette(5)
    ('#ca0020', '#f4a582', '#f7f7f7', '#92c5de', '#0571b0')
    """
    if k not in LIKERT_PALETTES:
        raise ValueError(f"likert_palette: {k} levels; 2 to 7 are supported")
    return LIKERT_PALETTES[k]


#: Columns that hold statistics; every other column is a key and keeps its value when hidden.
_STAT_COLUMNS = frozenset({"estimate", "se", "ci_low", "ci_high", "n", "deff", "estimate_a", "estimate_b",
                           "difference", "z", "p_value", "p_adjusted", "effect_size", "d", "value"})


def _markers(df: Any, primary_marker: str | None = None) -> tuple[str, str]:
    """The small-group and the other marker of the k in force.

    From *primary_marker* (the caller's ``policy.primary_marker``), else the policy of a
    ProtectedTable, else the small-group marker the table's hidden rows carry (``note``,
    ``display`` or ``label``), else the policy file's (a run may raise k, never lower it).
    """
    from analysis.disclosure import load_policy

    policy = getattr(df, "policy", None) or load_policy()
    if primary_marker is None and getattr(df, "policy", None) is None:
        table = getattr(df, "table", df)
        for col in ("note", "display", "label"):
            if isinstance(table, pd.DataFrame) and col in table.columns:
                found = table[col].astype(str)
                found = found[found.str.fullmatch(r"n<\d+")]
                if len(found):
                    primary_marker = str(found.iloc[0])
                    break
    return primary_marker or policy.primary_marker, policy.marker_other


def _mask(df: Any, keys: Sequence[str] = (), primary_marker: str | None = None) -> pd.DataFrame:
    """Numeric values of hidden rows removed and a ``_marker`` column (None when shown).

    ``mask_for_plot`` empties *every* numeric column of a hidden row, numeric keys too (a task
    group number, an integer wave); the keys are put back so the hidden cell keeps its place.
    """
    primary, other = _markers(df, primary_marker)
    df = getattr(df, "table", df)  # a ProtectedTable is drawn from its table
    if "suppressed" in df.columns:
        from analysis.disclosure import mask_for_plot

        out = mask_for_plot(df) if "label" not in df.columns else df.copy()
        for c in keys:
            if c in df.columns and c not in _STAT_COLUMNS:
                out[c] = df[c]
        hidden = out["suppressed"].astype(bool)
        stats = [c for c in out.columns if c in _STAT_COLUMNS]
        out.loc[hidden, stats] = np.nan  # a table marked suppressed but not emptied still draws nothing
        # Keep disclosure's own marker ("n<k" for the policy's k, or "x"); anything else falls
        # back to the small-group marker of the k in force rather than leaking a value.
        label = out["label"].astype(object)
        ok = label.astype(str).str.fullmatch(r"n<\d+|x") | label.astype(str).isin([primary, other])
        labels = label.where(ok, primary)
        out["_marker"] = labels.where(hidden, None)
    else:
        out = df.copy()
        out["_marker"] = None
    return out


def _hidden(df: pd.DataFrame) -> pd.Series:
    return df["_marker"].notna()


def _title(fig: Figure, title: str | None) -> None:
    if title:
        fig.suptitle(_nfc(title), fontweight="bold", fontsize=11)


def likert_bars(
    props: pd.DataFrame,
    *,
    levels: Sequence[str],
    level_labels: Mapping[str, str],
    item_labels: Mapping[str, str],
    items: Sequence[str] | None = None,
    dont_know: Sequence[str] = (),
    dont_know_mode: str = "separate",
    title: str | None = None,
    lang: str = "vi",
    item_col: str = "variable",
) -> Figure:
    """Diverging stacked bars of the answer distribution of Likert items, neutral centred.

    Parameters
    ----------
    props : DataFrame
        ``proportion`` output ``[variable, level, estimate, ...]`` (shares 0–1 of all answers,
        "don't know" included); may carry ``suppressed`` from :mod:`analysis.disclosure`.
    levels : list of str
        Substantive choice codes from most negative to most positive (instrument order).
    level_labels, item_labels : mapping
        Choice labels and item labels from the instrument.
    items : list of str, optional
        Items to draw, top to bottom; all items in *props* in order of appearance by default.
    dont_know : list of str
        Codes of "don't know / no answer" (``Instrument.missing_codes``).
    dont_know_mode : {"separate", "exclude"}
        ``separate``: bars are shares of all answers and "don't know" is a grey bar in its own
        panel at the right; ``exclude``: bars are rescaled to the substantive answers and a note
        under the chart says how many answered "don't know".

    Returns
    -------
    Figure
        One bar per (item, level); an item with any hidden level shows only its marker (all
        levels of a proportion are hidden together, a level being 1 minus the others).
    """
    w = _words(lang)
    if dont_know_mode not in ("separate", "exclude"):
        raise ValueError(f"dont_know_mode must be 'separate' or 'exclude', not {dont_know_mode!r}")
    palette = likert_palette(len(levels))
    data = _mask(props, keys=(item_col, "level"))
    data["level"] = data["level"].astype(str)
    items = list(dict.fromkeys(data[item_col])) if items is None else list(items)
    hidden_items = set(data.loc[_hidden(data), item_col])
    table = data.pivot_table(index=item_col, columns="level", values="estimate", aggfunc="first", dropna=False)
    table = table.reindex(index=items, columns=[*levels, *dont_know])
    dk_share = table[list(dont_know)].sum(axis=1, min_count=1) if dont_know else pd.Series(np.nan, index=items)
    subst = table[list(levels)]
    if dont_know_mode == "exclude":
        subst = subst.div(subst.sum(axis=1), axis=0)
    pct = subst * 100
    k = len(levels)
    neg = k // 2  # levels strictly left of centre; an odd middle level is split across zero
    show_dk = dont_know_mode == "separate" and bool(dont_know)
    with _rc():
        fig = _new_figure(8.0, 1.6 + 0.6 * len(items))
        if show_dk:
            gs = fig.add_gridspec(1, 2, width_ratios=[5, 1])
            ax, ax_dk = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
        else:
            ax, ax_dk = fig.add_subplot(), None
        y = np.arange(len(items))[::-1]
        for i, item in enumerate(items):
            if item in hidden_items:
                marker = data.loc[(data[item_col] == item) & _hidden(data), "_marker"].iloc[0]
                ax.text(0, y[i], marker, ha="center", va="center", fontsize=9, fontstyle="italic",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1}, zorder=3)
                if ax_dk is not None:
                    ax_dk.text(0.5, y[i], marker, ha="center", va="center", fontsize=9,
                               fontstyle="italic", transform=ax_dk.get_yaxis_transform())
                continue
            row = pct.loc[item].to_numpy(dtype=float)
            mid = row[neg] / 2 if k % 2 else 0.0
            left = -(row[:neg].sum() + mid)
            for j in range(k):
                width = row[j]
                if np.isnan(width) or width <= 0:
                    left += 0 if np.isnan(width) else width
                    continue
                dark = palette[j] in _DARK
                # white hatch on the dark ends: a dark hatch on a dark fill vanishes in print
                ax.barh(y[i], width, left=left, height=0.7, color=palette[j], edgecolor=_EDGE,
                        linewidth=0.5, hatch=_hatch(j, k), hatchcolor="white" if dark else _EDGE,
                        gid=f"{item}|{levels[j]}")
                if width >= 8:
                    ax.text(left + width / 2, y[i], format_number(width, 0, lang=lang), ha="center",
                            va="center", fontsize=7, color="white" if dark else "black",
                            bbox={"facecolor": palette[j], "edgecolor": "none", "pad": 0.5})
                left += width
            if show_dk and not np.isnan(dk_share.loc[item]):
                share = dk_share.loc[item] * 100
                ax_dk.barh(y[i], share, height=0.7, color=DONT_KNOW_COLOUR, edgecolor=_EDGE, linewidth=0.5,
                           gid=f"{item}|dont_know")
                ax_dk.text(share + 1, y[i], format_number(share, 0, lang=lang), va="center", fontsize=7)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, [_wrap(item_labels.get(it, it), 45) for it in items])
        extent = _likert_extent(pct, neg, k)
        ax.set_xlim(-extent, extent)
        ticks = np.arange(-extent, extent + 1, 25)
        ax.set_xticks(ticks, [format_number(abs(t), 0, lang=lang) for t in ticks])
        ax.set_xlabel(w["share"])
        _font_ticks(ax)
        handles = [Patch(facecolor=palette[j], edgecolor=_EDGE, hatch=_hatch(j, k),
                         hatchcolor="white" if palette[j] in _DARK else _EDGE,
                         label=_nfc(level_labels.get(levels[j], levels[j]))) for j in range(k)]
        if show_dk:
            ax_dk.set_xlim(0, 50)
            ax_dk.set_ylim(ax.get_ylim())
            ax_dk.set_yticks([])
            ax_dk.set_xticks([0, 25, 50], [format_number(t, 0, lang=lang) for t in (0, 25, 50)])
            ax_dk.set_title(_wrap(_dk_label(level_labels, dont_know, w), 12), fontsize=8)
            _font_ticks(ax_dk)
            handles.append(Patch(facecolor=DONT_KNOW_COLOUR, edgecolor=_EDGE,
                                 label=_nfc(_dk_label(level_labels, dont_know, w))))
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3), frameon=False,
                   fontsize=8)
        if dont_know_mode == "exclude" and dont_know:
            overall = dk_share.drop(index=list(hidden_items), errors="ignore").mean()
            note = w["dk_excluded"].format(label=_dk_label(level_labels, dont_know, w),
                                            share=_share_range(dk_share.drop(index=list(hidden_items), errors="ignore"), lang))
            if not np.isnan(overall):
                # an axes annotation (not fig.text): constrained layout makes room for it above
                # the legend
                ax.annotate(_nfc(note), (0, 0), xycoords="axes fraction", xytext=(0, -34),
                            textcoords="offset points", ha="left", va="top", fontsize=7)
        _title(fig, title)
    return fig


def _likert_extent(pct: pd.DataFrame, neg: int, k: int) -> int:
    """Symmetric axis half-width: the longest side rounded up to 25, at least 50."""
    vals = pct.fillna(0).to_numpy(dtype=float)
    if vals.size == 0:
        return 100
    mid = vals[:, neg] / 2 if k % 2 else 0
    left = vals[:, :neg].sum(axis=1) + mid
    right = vals[:, k - neg:].sum(axis=1) + mid
    longest = float(max(left.max(), right.max()))
    return int(min(100, max(50, np.ceil(longest / 25) * 25)))


def _hatch(j: int, k: int) -> str:
    """Hatch of level *j* of *k*: dense to sparse towards the centre, none in the middle."""
    neg = k // 2
    if k % 2 and j == neg:
        return ""
    left = ("xx", "//", "/")
    right = ("..", "\\\\", "\\")
    if j < neg:
        return left[min(j, 2)]
    return right[min(k - 1 - j, 2)]


def _dk_label(level_labels: Mapping[str, str], codes: Sequence[str], w: Mapping[str, str]) -> str:
    return _nfc(level_labels.get(codes[0], w["dont_know"])) if codes else w["dont_know"]


def _share_range(shares: pd.Series, lang: str) -> str:
    s = shares.dropna() * 100
    if s.empty:
        return ""
    lo, hi = format_number(s.min(), 0, lang=lang), format_number(s.max(), 0, lang=lang)
    return f"{lo}%" if lo == hi else f"{lo}–{hi}%"


def _series_style(i: int) -> dict[str, Any]:
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)]}


def trend_plot(
    est: pd.DataFrame,
    *,
    series: str = "org",
    series_labels: Mapping[str, str] | None = None,
    wave_col: str = "wave",
    variable_labels: Mapping[str, str] | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    ylim: tuple[float, float] | None = (1, 5),
    lang: str = "vi",
) -> Figure:
    """Estimates across all waves with their 95% interval as a band, one line per series.

    Parameters
    ----------
    est : DataFrame
        ``[wave, <series>, variable, estimate, ci_low, ci_high, ...]`` stacked over waves; one
        panel per ``variable`` (label from *variable_labels*).
    series : str
        Column that defines the lines (e.g. ``org``); lines differ by colour, style and marker.
    ylabel : str, optional
        Default "Điểm trung bình (thang 1–5)" / "Mean score (1–5 scale)".

    Returns
    -------
    Figure
        A hidden point is a gap in its line and its marker above the wave.
    """
    w = _words(lang)
    series_labels = series_labels or {}
    variable_labels = variable_labels or {}
    data = _mask(est, keys=(wave_col, series, "variable"))
    data[wave_col] = data[wave_col].astype(str)
    waves = sorted(data[wave_col].unique())
    xpos = {wv: i for i, wv in enumerate(waves)}
    variables = list(dict.fromkeys(data["variable"])) if "variable" in data.columns else [None]
    keys = list(dict.fromkeys(data[series])) if series in data.columns else [None]
    ncols = min(3, len(variables))
    nrows = int(np.ceil(len(variables) / ncols))
    with _rc():
        fig = _new_figure(max(6.5, 3.2 * ncols + 1.5), 2.8 * nrows + 1.4)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
        for ax, var in zip(axes, variables):
            sub = data if var is None else data[data["variable"] == var]
            for s_i, key in enumerate(keys):
                part = sub if key is None else sub[sub[series] == key]
                # dodge series sideways a little so overlapping intervals stay readable
                dodge = (s_i - (len(keys) - 1) / 2) * 0.06
                part = part.assign(_x=part[wave_col].map(xpos) + dodge).sort_values("_x")
                style = _series_style(s_i)
                x, yv = part["_x"].to_numpy(float), part["estimate"].to_numpy(float)
                ax.fill_between(x, part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float),
                                color=style["color"], alpha=0.18, linewidth=0, gid=f"band|{key}")
                ax.plot(x, yv, label=_nfc(series_labels.get(key, key)) if key is not None else None,
                        markersize=5, linewidth=1.6, gid=f"line|{key}", **style)
                # whiskers as well as the band: a point between two hidden waves has no band
                ax.vlines(x, part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float),
                          color=style["color"], linewidth=0.9, gid=f"ci|{key}")
                for _, r in part[_hidden(part)].iterrows():
                    text = r["_marker"] if key is None or len(keys) == 1 else f"{key}: {r['_marker']}"
                    ax.annotate(text, (r["_x"] - dodge, 1.0), xycoords=("data", "axes fraction"),
                                xytext=(0, -10 - 9 * s_i), textcoords="offset points", ha="center",
                                fontsize=7, fontstyle="italic", color="black")
            ax.set_xticks(range(len(waves)), waves)
            ax.set_xlim(-0.3, len(waves) - 0.7)
            if ylim is not None:
                ax.set_ylim(*ylim)
            ax.yaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _p: format_number(v, 1, lang=lang)))
            ax.grid(axis="y", color="#dddddd", linewidth=0.5)
            ax.set_xlabel(w["wave"])
            if var is not None and len(variables) > 1:
                ax.set_title(_wrap(variable_labels.get(var, var), 40), fontsize=9)
            _font_ticks(ax)
        for ax in axes[len(variables):]:
            ax.set_visible(False)
        for ax in axes[::ncols]:
            ax.set_ylabel(_nfc(ylabel) if ylabel else w["mean_axis"])
        handles = [Line2D([], [], markersize=5, label=_nfc(series_labels.get(k, k)), **_series_style(i))
                   for i, k in enumerate(keys) if k is not None]
        handles.append(Patch(facecolor="#999999", alpha=0.3, label=w["ci"]))
        # a single panel is narrow: two legend columns keep long organization names inside the figure
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 2 if ncols == 1 else 4),
                   frameon=False, fontsize=8)
        if title is None and len(variables) == 1 and variables[0] is not None:
            title = variable_labels.get(variables[0])
        _title(fig, title)
    return fig


def _grid_axes(data: pd.DataFrame, row: str, col: str) -> tuple[list, list]:
    """A unit × task-group grid's rows (order of first appearance) and columns (sorted), shared
    by `heatmap` and `band_counts` so the band chart lists task groups as the grid does."""
    return list(dict.fromkeys(data[row])), sorted(dict.fromkeys(data[col]), key=lambda c: (str(type(c)), c))


def heatmap(
    values: pd.DataFrame,
    *,
    row: str = "unit",
    col: str = "task_group",
    value: str = "estimate",
    row_labels: Mapping[Any, str] | None = None,
    col_labels: Mapping[Any, str] | None = None,
    title: str | None = None,
    vmin: float = 0,
    vmax: float = 100,
    lang: str = "vi",
    annotate: bool = True,
    primary_marker: str | None = None,
) -> Figure:
    """A unit × task-group grid of attainment (0–100); missing and hidden cells are hatched.

    Parameters
    ----------
    values : DataFrame
        One row per (row, col) with *value*; may carry ``suppressed``.
    row_labels, col_labels : mapping, optional
        Labels for units and task groups (e.g. "NV1" or the instrument's label).
    primary_marker : str, optional
        The small-group marker of the k in force (``policy.primary_marker``), named in the
        legend; default: the marker the hidden cells carry, else the policy file's.

    Returns
    -------
    Figure
        Each cell is one :class:`~matplotlib.patches.Rectangle` (``gid`` ``cell|row|col``,
        ``hidden|row|col`` for hidden or missing cells, which are grey and hatched and carry
        no value).
    """
    w = _words(lang)
    row_labels, col_labels = row_labels or {}, col_labels or {}
    primary, other = _markers(values, primary_marker)
    data = _mask(values, keys=(row, col), primary_marker=primary)
    rows, cols = _grid_axes(data, row, col)
    cmap = mpl.colormaps[SEQUENTIAL_CMAP]
    norm = mpl.colors.Normalize(vmin=vmin, vmax=vmax)
    index = {(r_key, c_key): {value: v, "_marker": m}
             for r_key, c_key, v, m in zip(data[row], data[col], data[value], data["_marker"])}
    with _rc():
        fig = _new_figure(1.6 + 0.9 * len(cols) + 1.2, 1.4 + 0.22 * len(rows))
        ax = fig.add_subplot()
        for i, r_key in enumerate(rows):
            for j, c_key in enumerate(cols):
                rec = index.get((r_key, c_key))
                v = np.nan if rec is None else float(rec[value]) if pd.notna(rec[value]) else np.nan
                marker = None if rec is None else rec["_marker"]
                if np.isnan(v):
                    ax.add_patch(Rectangle((j, i), 1, 1, facecolor=MISSING_FACE, edgecolor="#9a9a9a",
                                           hatch=MISSING_HATCH, linewidth=0.3, gid=f"hidden|{r_key}|{c_key}"))
                    if marker:
                        ax.text(j + 0.5, i + 0.5, marker, ha="center", va="center", fontsize=6, fontstyle="italic")
                    continue
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor=cmap(norm(v)), edgecolor="white", linewidth=0.5,
                                       gid=f"cell|{r_key}|{c_key}"))
                if annotate:
                    ax.text(j + 0.5, i + 0.5, format_number(v, 0, lang=lang), ha="center", va="center", fontsize=6,
                            color="white" if norm(v) < 0.55 else "black")
        ax.set_xlim(0, len(cols))
        ax.set_ylim(len(rows), 0)
        ax.set_xticks(np.arange(len(cols)) + 0.5, [_wrap(col_labels.get(c, c), 14) for c in cols])
        ax.set_yticks(np.arange(len(rows)) + 0.5, [_nfc(row_labels.get(r, r)) for r in rows])
        ax.tick_params(length=0)
        ax.xaxis.tick_top()
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        _font_ticks(ax)
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        cbar = fig.colorbar(sm, ax=ax, shrink=min(1.0, 6 / max(len(rows), 1) + 0.3), aspect=25)
        cbar.set_label(w["attainment"])
        cbar.ax.tick_params(labelfontfamily=FONT_FAMILY)
        fig.legend(handles=[Patch(facecolor=MISSING_FACE, edgecolor="#9a9a9a", hatch=MISSING_HATCH,
                                 label=w["hidden"].format(primary=primary, other=other))],
                   loc="outside lower center", frameon=False, fontsize=7)
        _title(fig, title)
    return fig


def band_counts(
    values: pd.DataFrame,
    *,
    row: str = "unit",
    col: str = "task_group",
    value: str = "estimate",
    vmin: float = 0,
    vmax: float = 100,
    primary_marker: str | None = None,
) -> pd.DataFrame:
    """How many *row* values (units) fall in each attainment band, per *col* (task group).

    One row per *col* (sorted as `heatmap` sorts its columns), one column per band of `BANDS`:
    ``full`` (= *vmax*), ``high`` (half-way to below *vmax*), ``low`` (above *vmin* to below
    half-way), ``zero`` (≤ *vmin*) and ``hidden`` — a hidden (suppressed) or missing cell, or a
    unit with no row for that task group: a hidden value is counted in no band of values. Each
    row adds up to the number of units.

    Examples
    --------
    >>> v = pd.DataFrame({"unit": ["a", "b", "c", "a"], "task_group": [1, 1, 1, 2],
    ...                   "estimate": [100, 60, 0, 10]})
    >>> band_counts(v).loc[1].to_dict()
    {'full': 1, 'high': 1, 'low': 0, 'zero': 1, 'hidden': 0}
    >>> band_counts(v).loc[2].to_dict()  # units b and c have no row for task group 2
    {'full': 0, 'high': 0, 'low': 1, 'zero': 0, 'hidden': 2}
    """
    data = _mask(values, keys=(row, col), primary_marker=primary_marker)
    rows, cols = _grid_axes(data, row, col)
    shown = data[~_hidden(data)]
    grid = (shown.assign(_v=pd.to_numeric(shown[value], errors="coerce"))
            .pivot_table(index=row, columns=col, values="_v", aggfunc="last", dropna=False)
            .reindex(index=rows, columns=cols))
    v = grid.to_numpy(dtype=float)
    mid = vmin + (vmax - vmin) / 2
    with np.errstate(invalid="ignore"):
        bands = {"full": v >= vmax, "high": (v >= mid) & (v < vmax), "low": (v > vmin) & (v < mid),
                 "zero": v <= vmin}
    bands["hidden"] = np.isnan(v)
    out = pd.DataFrame({b: m.sum(axis=0) for b, m in bands.items()}, index=pd.Index(cols, name=col))
    return out.astype(int)[list(BANDS)]


def heatmap_bands(
    values: pd.DataFrame,
    *,
    row: str = "unit",
    col: str = "task_group",
    value: str = "estimate",
    col_labels: Mapping[Any, str] | None = None,
    title: str | None = None,
    vmin: float = 0,
    vmax: float = 100,
    lang: str = "vi",
    primary_marker: str | None = None,
    **_heatmap_only: Any,
) -> Figure:
    """For an organization with too many units for a `heatmap`: per task group, how many units
    reach each attainment band (`band_counts`), as horizontal stacked bars with their counts.

    Bands are drawn left to right in the heatmap's colour map (100% in its top colour, 0% in its
    bottom one) and hatched, hidden and missing cells grey and hatched as in the heatmap; a
    segment is labelled with its count when the label fits (every count is in its ``gid``
    ``band|<col>|<band>`` bar's width). The note under the title says where each unit's values
    are (its unit sheet, the follow-up list): this chart names no unit.
    """
    w = _words(lang)
    col_labels = col_labels or {}
    counts = band_counts(values, row=row, col=col, value=value, vmin=vmin, vmax=vmax, primary_marker=primary_marker)
    n_units = int(counts.iloc[0].sum()) if len(counts) else 0
    cmap = mpl.colormaps[SEQUENTIAL_CMAP]
    num = {"lo": format_number(vmin, 0, lang=lang), "mid": format_number(vmin + (vmax - vmin) / 2, 0, lang=lang),
           "hi": format_number(vmax, 0, lang=lang)}
    labels = {b: w[f"band_{b}"].format(**num) for b in BANDS}
    y = np.arange(len(counts))[::-1]
    with _rc():
        fig = _new_figure(8.0, 2.0 + 0.45 * len(counts))
        ax = fig.add_subplot()
        left = np.zeros(len(counts))
        for band in BANDS:
            width = counts[band].to_numpy(dtype=float)
            face = cmap(_BAND_SHADE[band]) if band in _BAND_SHADE else MISSING_FACE
            edge = "#9a9a9a" if band == "hidden" else _EDGE
            dark = band in _BAND_SHADE and _BAND_SHADE[band] < 0.55
            # white hatch on the dark bands: a dark hatch on a dark fill vanishes in print
            bars = ax.barh(y, width, left=left, height=0.7, color=face, edgecolor=edge, linewidth=0.5,
                           hatch=_BAND_HATCH[band], hatchcolor="white" if dark else edge, label=labels[band])
            for bar, c_key, x0, n in zip(bars.patches, counts.index, left, width):
                bar.set_gid(f"band|{c_key}|{band}")
                if n and n >= 0.05 * max(n_units, 1):
                    ax.text(x0 + n / 2, bar.get_y() + bar.get_height() / 2, format_number(n, 0, lang=lang),
                            ha="center", va="center", fontsize=7, color="white" if dark else "black",
                            bbox={"facecolor": face, "edgecolor": "none", "pad": 0.5})
            left = left + width
        ax.set_yticks(y, [_wrap(col_labels.get(c, c), 30) for c in counts.index])
        ax.set_xlim(0, max(n_units, 1))
        ax.set_xlabel(w["units"])
        ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _p: format_number(v, 0, lang=lang)))
        ax.tick_params(axis="y", length=0)
        _font_ticks(ax)
        note = _nfc(w["bands_note"].format(n=format_number(n_units, 0, lang=lang)))
        ax.set_title("\n".join(textwrap.wrap(note, 110, break_on_hyphens=False)), fontsize=8, loc="left")
        fig.legend(loc="outside lower center", ncol=len(BANDS), frameon=False, fontsize=7)
        _title(fig, _wrap(title, 80) if title else None)
    return fig


def heatmap_figures(
    values: pd.DataFrame,
    *,
    by: str = "org",
    name: str,
    title: str,
    group_labels: Mapping[Any, str] | None = None,
    row_labels: Mapping[Any, str] | None = None,
    max_rows: int = HEATMAP_PAGE_ROWS,
    **options: Any,
) -> list[tuple[Figure, str, str]]:
    """One `heatmap` per value of *by* (an organization's units), for a grid too tall to read
    on one A4 page (103 units): ``[(figure, name_<group>, "<title> — <group label>")]``, the
    shape `analysis.report.content.Section.figures` takes.

    Each unit row is labelled with its code and its name (``row_labels``, e.g. the unit
    instrument's choice labels: "CDVC01 · Cơ sở CĐVC 01"), so no reader needs a key to the codes.
    An organization with more than *max_rows* units (`HEATMAP_PAGE_ROWS`: a page) gets
    `heatmap_bands` instead, titled "<title> — <group label>: <units by attainment band>".
    Rows without a group (totals) are left out; groups keep their order of first appearance.
    """
    group_labels, row_labels = group_labels or {}, row_labels or {}
    row = options.get("row", "unit")
    lang = options.get("lang", "vi")
    out = []
    data = values[values[by].notna()]
    for group in dict.fromkeys(data[by]):
        part = data[data[by] == group]
        label = _nfc(group_labels.get(group, group))
        units = list(dict.fromkeys(part[row]))
        if len(units) > max_rows:
            caption = f"{title} — {label}: {_words(lang)['bands_caption']}"
            fig = heatmap_bands(part, title=caption, **options)
        else:
            named = {code: row_labels.get(code) for code in units}
            labels = {code: f"{code} · {lab}" if lab and lab != code else str(code) for code, lab in named.items()}
            caption = f"{title} — {label}"
            fig = heatmap(part, row_labels=labels, title=caption, **options)
        out.append((fig, f"{name}_{str(group).lower()}", caption))
    return out


def forest_plot(
    comparisons: pd.DataFrame,
    *,
    label_cols: Sequence[str] = ("variable",),
    labels: Mapping[Any, str] | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    alpha: float = 0.05,
    sort: bool = True,
    lang: str = "vi",
) -> Figure:
    """Changes since the baseline with their 95% intervals; significant ones filled.

    Parameters
    ----------
    comparisons : DataFrame
        ``compare.compare_waves`` output: ``[*keys, difference, ci_low, ci_high, p_adjusted]``.
    label_cols : list of str
        Key columns whose labels (from *labels*) name a row, joined with " · ".
    alpha : float
        Filled marker when ``p_adjusted < alpha`` and the interval excludes zero on the side of
        the difference (the same rule as :mod:`analysis.report.narrative`); open otherwise.
    sort : bool
        Rows by difference, largest at the top; hidden rows last.

    Returns
    -------
    Figure
    """
    from analysis.report.narrative import is_significant

    w = _words(lang)
    labels = labels or {}
    data = _mask(comparisons, keys=label_cols)
    data["_label"] = [" · ".join(_nfc(labels.get(r[c], r[c])) for c in label_cols) for _, r in data.iterrows()]
    if sort:
        data = data.assign(_h=_hidden(data)).sort_values(["_h", "difference"], ascending=[True, False],
                                                         kind="stable", na_position="last")
    n = len(data)
    y = np.arange(n)[::-1]
    with _rc():
        fig = _new_figure(7.5, 1.2 + 0.32 * n)
        ax = fig.add_subplot()
        ax.axvline(0, color="black", linewidth=0.8, linestyle="--")
        for yi, (_, r) in zip(y, data.iterrows()):
            if r["_marker"] is not None or pd.isna(r["difference"]):
                if r["_marker"] is not None:
                    ax.annotate(r["_marker"], (0, yi), xytext=(6, 0), textcoords="offset points",
                                va="center", fontsize=8, fontstyle="italic")
                continue
            sig = is_significant(r["difference"], r["ci_low"], r["ci_high"], r["p_adjusted"], alpha=alpha)
            ax.plot([r["ci_low"], r["ci_high"]], [yi, yi], color=OKABE_ITO[3], linewidth=1.4, gid=f"ci|{r['_label']}")
            ax.plot([r["difference"]], [yi], marker="o", markersize=6, linestyle="none", color=OKABE_ITO[3],
                    markerfacecolor=OKABE_ITO[3] if sig else "white", markeredgewidth=1.4,
                    gid=f"{'sig' if sig else 'nonsig'}|{r['_label']}")
        ax.set_yticks(y, [_wrap(t, 60) for t in data["_label"]])
        ax.set_ylim(-0.7, n - 0.3)
        ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _p: format_number(v, 2, lang=lang)))
        ax.set_xlabel(_nfc(xlabel) if xlabel else w["diff"])
        ax.grid(axis="x", color="#dddddd", linewidth=0.5)
        _font_ticks(ax)
        alpha_text = format_number(alpha, 2, lang=lang)
        handles = [
            Line2D([], [], marker="o", linestyle="-", color=OKABE_ITO[3], markerfacecolor=OKABE_ITO[3],
                   label=w["sig"].format(alpha=alpha_text)),
            Line2D([], [], marker="o", linestyle="-", color=OKABE_ITO[3], markerfacecolor="white", label=w["nonsig"]),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=8)
        _title(fig, title)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write *fig* as PNG at 150–200 dpi with fixed metadata, so the bytes are reproducible.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> fig = Figure(); _ = fig.add_subplot().plot([0, 1])
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> save_figure(fig, d / "a.png").read_bytes() == save_figure(fig, d / "b.png").read_bytes()
    True
    """
    if not 150 <= dpi <= 200:
        raise ValueError(f"save_figure: dpi must be 150–200 for the report, not {dpi}")
    path = Path(path)
    # "Software" would carry the matplotlib version: fixed text keeps files identical across upgrades
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": "analysis.report.plots"}, facecolor="white")
    return path

