"""Charts: exact Vietnamese text, nothing drawn for hidden rows, documented palettes, B/W-readable."""

from __future__ import annotations

import unicodedata

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.patches import Rectangle

from analysis.disclosure import protect_table
from analysis.report import plots

mpl.use("Agg")

LEVELS = ["1", "2", "3", "4", "5"]
LEVEL_LABELS = {"1": "Hoàn toàn không đồng ý", "2": "Không đồng ý", "3": "Phân vân", "4": "Đồng ý",
                "5": "Hoàn toàn đồng ý", "9": "Không biết / không trả lời"}
# NFD on purpose: the chart must show NFC whatever the caller passes
ITEM_LABELS = {"a": unicodedata.normalize("NFD", "Tôi hài lòng với hoạt động của tổ chức"),
               "b": "Nội dung sinh hoạt được đổi mới", "c": "Ý kiến của tôi được lắng nghe"}
ORG_LABELS = {"CDVC": "Công đoàn viên chức", "HCCB": "Hội Cựu chiến binh", "DTN": "Đoàn Thanh niên"}


def _texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.findobj(mpl.text.Text)]
    fig.canvas.draw()  # tick labels exist only after a draw
    out += [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
    return [t for t in out if t]


def _likert_props(hidden_item: str | None = "c") -> pd.DataFrame:
    shares = {"a": [0.05, 0.1, 0.2, 0.4, 0.2, 0.05], "b": [0.1, 0.2, 0.3, 0.2, 0.1, 0.1],
              "c": [0.1, 0.1, 0.2, 0.3, 0.2, 0.1]}
    rows = [{"variable": it, "level": code, "estimate": v, "se": 0.02, "ci_low": v - 0.04, "ci_high": v + 0.04,
             "n": 3 if it == hidden_item else 40, "deff": 1.0}
            for it, vals in shares.items() for code, v in zip([*LEVELS, "9"], vals)]
    return pd.DataFrame(rows)


def _protected_likert() -> pd.DataFrame:
    return protect_table(_likert_props(), by=["variable", "level"]).table


def test_likert_palette_and_hatches_are_the_documented_ones():
    assert plots.likert_palette(5) == ("#ca0020", "#f4a582", "#f7f7f7", "#92c5de", "#0571b0")  # ColorBrewer RdBu-5
    assert plots.OKABE_ITO[:7] == ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442")
    assert plots.SEQUENTIAL_CMAP == "cividis"
    for k in range(2, 8):
        hatches = [plots._hatch(j, k) for j in range(k)]
        non_neutral = [h for j, h in enumerate(hatches) if not (k % 2 and j == k // 2)]
        assert len(set(non_neutral)) == len(non_neutral), k  # levels differ without colour
    with pytest.raises(ValueError, match="2 to 7"):
        plots.likert_palette(9)


def test_likert_text_and_no_artist_for_hidden_item():
    props = _protected_likert()
    assert props.loc[props["variable"] == "c", "suppressed"].all()
    fig = plots.likert_bars(props, levels=LEVELS, level_labels=LEVEL_LABELS, item_labels=ITEM_LABELS,
                            dont_know=["9"], title="Mức độ hài lòng")
    texts = _texts(fig)
    assert "Tôi hài lòng với hoạt động của tổ chức" in texts  # NFC
    assert all(unicodedata.is_normalized("NFC", t) for t in texts)
    for label in ("Hoàn toàn không đồng ý", "Phân vân", "Hoàn toàn đồng ý", "Tỷ lệ (%)", "Mức độ hài lòng"):
        assert label in texts
    assert texts.count("n<5") == 2  # main panel and "don't know" panel
    bars = [p for ax in fig.axes for p in ax.patches if p.get_gid()]
    assert {p.get_gid().split("|")[0] for p in bars} == {"a", "b"}
    assert len([p for p in bars if p.get_gid().endswith("dont_know")]) == 2
    ends = next(p for p in bars if p.get_gid() == "a|1")
    assert ends.get_hatch() == "xx" and mpl.colors.to_hex(ends.get_hatchcolor()) == "#ffffff"  # visible in print
    # neutral centred: item a's "Phân vân" bar straddles zero symmetrically
    mid = next(p for p in bars if p.get_gid() == "a|3")
    assert mid.get_x() == pytest.approx(-mid.get_width() / 2)


def test_likert_hidden_values_never_reach_the_figure():
    props = _likert_props()
    props.loc[props["variable"] == "c", "estimate"] = 0.123456  # would be a unique label "12"
    props["suppressed"] = props["variable"].eq("c")  # marked but not emptied: must still draw nothing
    props["display"] = np.where(props["suppressed"], "n<5", "")
    fig = plots.likert_bars(props, levels=LEVELS, level_labels=LEVEL_LABELS, item_labels=ITEM_LABELS,
                            dont_know=["9"])
    assert "12" not in _texts(fig)
    assert not [p for ax in fig.axes for p in ax.patches if (p.get_gid() or "").startswith("c|")]


def test_likert_exclude_dont_know_note_english():
    fig = plots.likert_bars(_likert_props(hidden_item=None), levels=LEVELS,
                            level_labels={"9": "Don't know / no answer"}, item_labels=ITEM_LABELS,
                            dont_know=["9"], dont_know_mode="exclude", lang="en")
    texts = _texts(fig)
    assert "Note: “Don't know / no answer” (5–10% of respondents) is left out of the bars." in texts
    widths = {}
    for p in fig.axes[0].patches:
        if p.get_gid():
            widths.setdefault(p.get_gid().split("|")[0], 0.0)
            widths[p.get_gid().split("|")[0]] += p.get_width()
    assert widths == pytest.approx({"a": 100.0, "b": 100.0, "c": 100.0})
    assert len(fig.axes) == 1


def _trend() -> pd.DataFrame:
    rows = []
    for o_i, org in enumerate(["CDVC", "HCCB", "DTN"]):
        for k, wave in enumerate(["2023", "2024", "2025"]):
            e = 3.2 + 0.1 * k + 0.05 * o_i
            rows.append({"wave": wave, "org": org, "variable": "sat", "estimate": e, "se": 0.05,
                         "ci_low": e - 0.1, "ci_high": e + 0.1, "n": 3 if (org == "HCCB" and wave == "2024") else 50,
                         "deff": 1.0})
    return pd.DataFrame(rows)


def test_trend_words_styles_and_hidden_point():
    est = protect_table(_trend(), by=["wave", "org"]).table
    fig = plots.trend_plot(est, series_labels=ORG_LABELS, variable_labels={"sat": "Sự hài lòng"})
    texts = _texts(fig)
    for s in ("Đợt khảo sát", "Điểm trung bình (thang 1–5)", "Sự hài lòng", "Hội Cựu chiến binh",
              "Khoảng tin cậy 95%", "HCCB: n<5", "3,0"):
        assert s in texts
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.lines}
    styles = [(lines[f"line|{o}"].get_linestyle(), lines[f"line|{o}"].get_marker()) for o in ORG_LABELS]
    assert len(set(s[0] for s in styles)) == 3 and len(set(s[1] for s in styles)) == 3  # not colour alone
    y = lines["line|HCCB"].get_ydata()
    assert np.isnan(y[1]) and not np.isnan(y[0]) and not np.isnan(y[2])
    whiskers = next(c for c in ax.collections if c.get_gid() == "ci|HCCB")
    assert isinstance(whiskers, LineCollection)
    drawn = [seg for seg in whiskers.get_segments() if len(seg) and not np.isnan(seg).any()]
    assert len(drawn) == 2  # no whisker at the hidden wave


def test_protected_table_object_is_accepted():
    fig = plots.trend_plot(protect_table(_trend(), by=["wave", "org"]), series_labels=ORG_LABELS)
    assert "HCCB: n<5" in _texts(fig)


def test_trend_english_axis():
    fig = plots.trend_plot(_trend(), series_labels=ORG_LABELS, lang="en")
    texts = _texts(fig)
    assert "Survey wave" in texts and "Mean score (1–5 scale)" in texts and "3.0" in texts


def _heat() -> pd.DataFrame:
    rows = [{"unit": u, "task_group": t, "variable": "att", "estimate": 10.0 * t + i, "n": 3 if (u == "DTN02" and t == 2) else 9}
            for i, u in enumerate(["CDVC01", "CDVC02", "DTN01", "DTN02"]) for t in range(1, 4)]
    return pd.DataFrame(rows)


def test_heatmap_hidden_and_missing_cells_hatched_without_value():
    data = _heat()
    data = data[~((data["unit"] == "CDVC02") & (data["task_group"] == 3))]  # missing cell
    prot = protect_table(data, by=["unit", "task_group"]).table
    prot.loc[(prot["unit"] == "DTN02") & (prot["task_group"] == 2), "estimate"] = np.nan
    fig = plots.heatmap(prot, col_labels={1: "NV1", 2: "NV2", 3: "NV3"}, title="Mức đạt theo đơn vị")
    ax = fig.axes[0]
    rects = {p.get_gid(): p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid()}
    assert rects["hidden|DTN02|2"].get_hatch() == plots.MISSING_HATCH
    assert rects["hidden|CDVC02|3"].get_hatch() == plots.MISSING_HATCH
    assert "cell|DTN02|2" not in rects
    assert sum(g.startswith("cell|") for g in rects) == 10
    texts = _texts(fig)
    assert "23" not in texts  # DTN02 × NV2 = 10*2 + 3 would be 23
    assert "n<5" in texts and "NV2" in texts and "Mức đạt (0–100)" in texts
    assert "Ô gạch chéo: không có số liệu hoặc không công bố (n<5, x)" in texts


def test_heatmap_and_fallback_markers_follow_the_k_in_force():
    from analysis.disclosure import load_policy

    policy = load_policy(k=7)
    data = _heat().assign(n=lambda d: d["n"].where(d["n"] != 9, 12))
    prot = protect_table(data, by=["unit", "task_group"], policy=policy).table
    texts = _texts(plots.heatmap(prot, primary_marker=policy.primary_marker))
    assert "Ô gạch chéo: không có số liệu hoặc không công bố (n<7, x)" in texts and "n<7" in texts
    assert not any("n<5" in t for t in texts)
    # no caller marker: read from the hidden rows' note
    en = _texts(plots.heatmap(prot, lang="en"))
    assert "Hatched cell: no data or not published (n<7, x)" in en
    # a hidden row whose label is not a marker falls back to the k in force, never to n<5
    odd = prot.assign(display=prot["display"].where(~prot["suppressed"], "?"))
    assert "n<7" in _texts(plots.heatmap(odd, primary_marker="n<7"))


def _big_org(n_units: int = plots.HEATMAP_PAGE_ROWS + 11) -> pd.DataFrame:
    """One organization too large for a grid, one small one; values in every band, some hidden
    (n<5), one missing cell, one unit without a row for task group 3."""
    rng = np.random.default_rng(7)
    rows = []
    for org, n in (("CDVC", n_units), ("HCCB", 4)):
        for i in range(n):
            for t in (1, 2, 3):
                if org == "CDVC" and i == 0 and t == 3:
                    continue  # no row at all
                v = rng.choice([0.0, 100.0, 12.5, 50.0, 75.0, 99.9, 0.4])
                rows.append({"org": org, "unit": f"{org}{i:04d}", "task_group": t, "variable": "att", "estimate": v,
                             "n": 3 if (i % 9 == 4 and t != 1) else 9})
    data = pd.DataFrame(rows)
    data.loc[(data["unit"] == "CDVC0002") & (data["task_group"] == 2), "estimate"] = np.nan  # missing value
    return data


def _expected_bands(data: pd.DataFrame) -> pd.DataFrame:
    units = data["unit"].unique()
    grid = data[data["n"] >= 5].pivot(index="unit", columns="task_group", values="estimate").reindex(units)
    out = {t: {"full": (v == 100).sum(), "high": ((v >= 50) & (v < 100)).sum(), "low": ((v > 0) & (v < 50)).sum(),
               "zero": (v == 0).sum(), "hidden": v.isna().sum()} for t, v in grid.items()}
    return pd.DataFrame(out).T[list(plots.BANDS)]


def test_heatmap_figures_small_org_keeps_the_grid_large_org_gets_band_counts():
    data = _big_org()
    prot = protect_table(data, by=["org", "unit", "task_group"]).table
    figs = plots.heatmap_figures(prot, name="h", title="Tỷ lệ chỉ tiêu đạt", row="unit", col="task_group",
                                 col_labels={1: "NV1", 2: "NV2", 3: "NV3"}, group_labels=ORG_LABELS)
    (big, big_name, big_title), (small, small_name, small_title) = figs
    assert (big_name, small_name) == ("h_cdvc", "h_hccb")
    assert small_title == "Tỷ lệ chỉ tiêu đạt — Hội Cựu chiến binh"
    # the small organization: today's grid, one Rectangle per cell
    gids = {p.get_gid() for p in small.axes[0].patches if p.get_gid()}
    assert len(gids) == 12 and all(g.split("|")[0] in ("cell", "hidden") for g in gids)
    # the large one: per task group, the units in each band; a hidden value is in no value band
    assert big_title == "Tỷ lệ chỉ tiêu đạt — Công đoàn viên chức: số cơ sở theo mức đạt"
    bars = {p.get_gid(): p.get_width() for p in big.axes[0].patches if (p.get_gid() or "").startswith("band|")}
    got = pd.DataFrame({t: {b: bars[f"band|{t}|{b}"] for b in plots.BANDS} for t in (1, 2, 3)}).T
    expected = _expected_bands(data[data["org"] == "CDVC"])
    pd.testing.assert_frame_equal(got.astype(int), expected.astype(int), check_names=False)
    assert (got.sum(axis=1) == plots.HEATMAP_PAGE_ROWS + 11).all()  # a census of the units
    hidden = data[(data["org"] == "CDVC") & (data["n"] < 5)]
    assert len(hidden) and got["hidden"].sum() >= len(hidden)
    assert not any(p.get_gid() and p.get_gid().startswith("cell|") for p in big.axes[0].patches)
    texts = _texts(big)
    assert all(t == unicodedata.normalize("NFC", t) for t in texts)
    assert {"100%", "50% đến dưới 100%", "trên 0% đến dưới 50%", "0%", "ẩn/không có số liệu", "Số cơ sở"} <= set(texts)
    assert any("phiếu kết quả của cơ sở" in t and "61 cơ sở" in t for t in (" ".join(x.split()) for x in texts))
    assert not any("CDVC00" in t for t in texts)  # no unit is named: its values are in its sheet


def test_band_counts_match_the_input_and_english_labels():
    data = _big_org(70)
    prot = protect_table(data, by=["org", "unit", "task_group"]).table
    part = prot[prot["org"] == "CDVC"]
    counts = plots.band_counts(part)
    pd.testing.assert_frame_equal(counts, _expected_bands(data[data["org"] == "CDVC"]).astype(int),
                                  check_names=False, check_dtype=False)
    texts = _texts(plots.heatmap_bands(part, lang="en", title="Targets met"))
    assert {"100%", "50% to under 100%", "over 0% to under 50%", "0%", "hidden/no data",
            "Number of units"} <= set(texts)
    assert any("unit sheet" in t and "follow-up list" in t for t in (" ".join(x.split()) for x in texts))


def _cmp() -> pd.DataFrame:
    return pd.DataFrame({
        "variable": ["a", "b", "c", "d"],
        "estimate_a": [3.4, 3.5, 3.3, 3.6], "estimate_b": [3.7, 3.55, 3.2, np.nan],
        "difference": [0.3, 0.05, -0.1, np.nan], "se": [0.05, 0.05, 0.05, np.nan],
        "ci_low": [0.2, -0.05, -0.2, np.nan], "ci_high": [0.4, 0.15, 0.0001, np.nan],
        "p_value": [0.001, 0.3, 0.04, np.nan], "p_adjusted": [0.003, 0.3, 0.04, np.nan],
        "suppressed": [False, False, False, True], "display": ["", "", "", "x"],
    })


def test_forest_sorted_filled_only_when_significant_and_hidden_row_marker():
    fig = plots.forest_plot(_cmp(), labels={"a": "Sự hài lòng", "b": "Đổi mới", "c": "Tham gia", "d": "Niềm tin"},
                            title="Thay đổi so với năm 2023")
    ax = fig.axes[0]
    markers = {ln.get_gid(): ln for ln in ax.lines if ln.get_gid() and "|" in ln.get_gid()
               and not ln.get_gid().startswith("ci|")}
    assert set(markers) == {"sig|Sự hài lòng", "nonsig|Đổi mới", "nonsig|Tham gia"}  # c: CI crosses 0
    assert markers["sig|Sự hài lòng"].get_markerfacecolor() != "white"
    assert markers["nonsig|Tham gia"].get_markerfacecolor() == "white"
    fig.canvas.draw()
    order = [t.get_text() for t in ax.get_yticklabels()]
    assert order == ["Sự hài lòng", "Đổi mới", "Tham gia", "Niềm tin"]  # top to bottom: hidden last
    texts = _texts(fig)
    assert "x" in texts and "Chênh lệch so với năm gốc" in texts
    assert "Có ý nghĩa thống kê (p hiệu chỉnh BH < 0,05)" in texts
    assert not [ln for ln in ax.lines if (ln.get_gid() or "").endswith("Niềm tin")]


def test_save_figure_deterministic_png_and_dpi(tmp_path):
    fig = plots.forest_plot(_cmp(), labels={})
    a = plots.save_figure(fig, tmp_path / "a.png").read_bytes()
    b = plots.save_figure(plots.forest_plot(_cmp(), labels={}), tmp_path / "b.png", dpi=150).read_bytes()
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b
    assert b"Matplotlib" not in a
    with pytest.raises(ValueError, match="dpi"):
        plots.save_figure(fig, tmp_path / "c.png", dpi=72)


def test_bad_lang_is_refused():
    with pytest.raises(ValueError, match="lang"):
        plots.trend_plot(_trend(), lang="fr")


def test_band_is_drawn_per_series():
    fig = plots.trend_plot(_trend(), series_labels=ORG_LABELS)
    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection) and (c.get_gid() or "").startswith("band|")]
    assert len(bands) == 3
