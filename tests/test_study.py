"""analysis.study: the project's design and the report's tidy tables, against hand computations.

The statistics themselves are pinned to R in test_design/test_weighting/test_compare; here the
numbers come from the definitions (base weight = unit size / respondents; raked margins equal
the frame's; a paired panel difference; BH within one declared family), computed by hand on
small frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import instruments, study
from analysis.instruments import population
from analysis.stats import compare


def _respondents(seed: int = 0, wave: str = "2025") -> pd.DataFrame:
    """About 8% of every unit's members, with sex/party drawn per organization; y ~ N(3.5, 0.8)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _, unit in population.load_units().iterrows():
        k = max(2, int(unit["members"] * 0.08))
        for _ in range(k):
            rows.append({"wave": wave, "org": unit["org"], "unit": unit["unit_id"], "unit_size": float(unit["members"]),
                         "sex": "male" if rng.random() < (0.9 if unit["org"] == "HCCB" else 0.45) else "female",
                         "party": "yes" if rng.random() < 0.7 else "no", "flagged": bool(rng.random() < 0.05),
                         "y": float(rng.normal(3.5, 0.8))})
    return pd.DataFrame(rows)


def test_role_columns_are_named_by_role_and_drop_missing_codes():
    member = instruments.load("member")
    sex, party = member.role_item("sex"), member.role_item("party")
    raw = pd.DataFrame({sex.name: ["male", None], party.name: ["yes", "no"]})
    roles = study.role_columns(raw, member)
    assert list(roles.columns) == ["sex", "party"]
    assert roles["sex"].tolist() == ["male", None] and roles["party"].tolist() == ["yes", "no"]


def test_base_weights_are_unit_size_over_respondents_and_raking_hits_the_frame():
    data = _respondents()
    wd = study.wave_design(data, instrument="member")
    base = wd.base.weights.to_numpy()
    expected = (data["unit_size"] / data.groupby("unit")["unit"].transform("size")).to_numpy()
    np.testing.assert_allclose(base, expected)
    # base weights add up to each unit's size, hence to the 6,314 members
    assert base.sum() == pytest.approx(6314)
    raked = wd.design.weights
    frame = population.margins()
    for column in ("org", "sex", "party"):
        got = raked.groupby(data[column].to_numpy()).sum().to_dict()
        for level, target in frame[column].items():
            assert got[level] == pytest.approx(target, rel=1e-8), (column, level)
    assert wd.notes == ()


def test_a_margin_with_missing_answers_is_not_raked_and_the_note_says_so():
    data = _respondents()
    data.loc[data.index[:3], "party"] = None
    wd = study.wave_design(data, instrument="member")
    assert set(wd.margins) == {"org", "sex"}
    assert wd.notes and wd.notes[0].startswith("party: not raked (3 missing")


def test_flagged_rows_are_left_out_on_request_and_weights_recomputed():
    data = _respondents()
    wd = study.wave_design(data, instrument="member", exclude_flagged=True)
    assert len(wd.base.data) == int((~data["flagged"]).sum())
    assert wd.base.weights.sum() == pytest.approx(data.loc[~data["flagged"], "unit"].map(
        dict(zip(data["unit"], data["unit_size"]))).groupby(data["unit"]).first().sum())


def test_changes_since_baseline_difference_bh_and_status():
    a, b = _respondents(1, "2023"), _respondents(2, "2025")
    b["y"] += 0.4
    b["z"] = b["y"] * 0 + np.random.default_rng(3).normal(3, 1, len(b))
    a["z"] = np.random.default_rng(4).normal(3, 1, len(a))
    designs = study.designs_by_wave(pd.concat([a, b], ignore_index=True), instrument="member")
    ch = study.changes_since_baseline(designs, ["y", "z"], wave="2025", baseline_wave="2023", lang="en")
    est = study.estimate_means(designs, ["y", "z"])
    for var in ("y", "z"):
        row = ch[ch["variable"] == var].iloc[0]
        ea = est[(est["wave"] == "2023") & (est["variable"] == var)].iloc[0]
        eb = est[(est["wave"] == "2025") & (est["variable"] == var)].iloc[0]
        assert row["estimate"] == pytest.approx(eb["estimate"] - ea["estimate"])
        assert row["se"] == pytest.approx(np.hypot(ea["se"], eb["se"]))
        assert row["n"] == min(ea["n"], eb["n"])
    np.testing.assert_allclose(ch["p_adjusted"], compare.adjust_bh(ch["p_value"].to_numpy()))
    assert ch.set_index("variable").loc["y", "status"] == "significant increase"
    assert ch["family"].unique().tolist() == ["constructs"]


def test_indicator_changes_are_paired_within_units():
    unit = instruments.load("unit")
    ind = unit.indicators[0].name
    units = pd.DataFrame({"wave": ["2023"] * 4 + ["2025"] * 4, "org": ["CDVC", "CDVC", "DTN", "DTN"] * 2,
                          "unit": ["CDVC01", "CDVC02", "DTN01", "DTN02"] * 2,
                          ind: [1.0, 2.0, 0.0, 4.0, 3.0, 2.0, 1.0, 6.0]})
    ch = study.indicator_changes(units, unit, wave="2025", baseline_wave="2023")
    row = ch[ch["variable"] == ind].iloc[0]
    # paired differences 2, 0, 1, 2: mean 1.25 (equal unit weights)
    assert row["estimate"] == pytest.approx(1.25)
    assert row["estimate_a"] == pytest.approx(1.75) and row["estimate_b"] == pytest.approx(3.0)
    assert row["n"] == 4


def test_unit_task_matrix_is_the_share_of_targeted_indicators_met():
    unit = instruments.load("unit")
    targeted = [i for i in unit.indicators if i.target is not None and i.task_group == 1]
    assert len(targeted) >= 2
    a, b = targeted[:2]
    data = pd.DataFrame({"wave": "2025", "org": "CDVC", "unit": ["CDVC01", "CDVC02"],
                         a.name: [a.target, a.target - 1], b.name: [b.target, np.nan]})
    m = study.unit_task_matrix(data, unit, wave="2025")
    tg1 = m[m["task_group"] == 1].set_index("unit")
    assert tg1.loc["CDVC01", "estimate"] == 1.0 and tg1.loc["CDVC01", "n"] == 2
    assert tg1.loc["CDVC02", "estimate"] == 0.0 and tg1.loc["CDVC02", "n"] == 1
    assert m[m["task_group"] == 6]["estimate"].isna().all()  # no value: not measurable, not zero


def test_response_rates_by_org_and_unit():
    data = _respondents()
    rates = study.response_rates(data, "2025")
    total = rates[rates["org"].isna() & rates["unit"].isna()].iloc[0]
    assert total["n"] == len(data) and total["members"] == 6314
    cdvc = rates[(rates["org"] == "CDVC") & rates["unit"].isna()].iloc[0]
    assert cdvc["estimate"] == pytest.approx((data["org"] == "CDVC").sum() / 4816)
    assert len(rates) == 1 + 3 + 103


def test_comment_sample_is_reproducible_and_bounded():
    comments = pd.DataFrame({"org": ["CDVC"] * 20 + ["DTN"] * 3, "comment": [f"ý kiến {i}" for i in range(23)]})
    first = study.comment_sample(comments, per_group=5)
    assert first.equals(study.comment_sample(comments, per_group=5))
    assert first.groupby("org").size().to_dict() == {"CDVC": 5, "DTN": 3}


def test_significance_words():
    assert study.significance_label(0.01, 0.3) == "tăng có ý nghĩa"
    assert study.significance_label(0.01, -0.3, lang="en") == "significant decrease"
    assert study.significance_label(0.2, 0.3) == "không thay đổi có ý nghĩa"
    assert study.significance_label(float("nan"), 0.3, lang="en") == "not comparable"


# ------------------------------------------------------------------ report_content (publishing)


def _capture(section, monkeypatch):
    shown = []
    monkeypatch.setattr(type(section), "_show", lambda self, html_text, block: shown.append((html_text, block)))
    return shown


def test_published_table_escapes_text_formats_numbers_and_exports(tmp_path, monkeypatch):
    from analysis import disclosure
    from analysis.report import content as rc

    sec = rc.Section(tmp_path, "30_member_sentiment", "vi")
    shown = _capture(sec, monkeypatch)
    est = pd.DataFrame({"sex": ["male", "female"], "variable": "<script>alert(1)</script>",
                        "estimate": [3.6249, 4.0], "se": 0.1, "ci_low": [3.4, 3.8], "ci_high": [3.8, 4.2], "n": [4816, 4]})
    pt = disclosure.protect_table(est, by="sex")
    sec.table(pt, name="t", title="Thử", source="nguồn", columns=[
        rc.ColumnSpec("variable", "Biến"), rc.ColumnSpec("sex", "Giới"), rc.ColumnSpec("estimate", "Điểm", "mean_ci"),
        rc.ColumnSpec("n", "n", "int")])
    html_text, block = shown[0]
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text
    assert "3,62 (3,40–3,80)" in html_text and "4.816" in html_text  # decimal comma, thousands dot
    assert block["caption"] == "Bảng 3.1. Thử" and block["rows"][1][2] == "n<5"
    exported = pd.read_csv(tmp_path / "tables" / "t.csv", encoding="utf-8-sig")
    assert exported.loc[1, ["estimate", "se", "ci_low", "ci_high", "n"]].isna().all()
    assert (tmp_path / "tables" / "t.xlsx").is_file()
    # the grouping travels with the block, for the whole-report attacker (disclosure.report_tables)
    assert (block["by"], block["parents"]) == (["sex"], [])
    units = pd.DataFrame({"unit": ["U1", "U2"], "org": ["A", "A"]})
    nested = pd.DataFrame({"org": "A", "unit": ["U1", "U2"], "variable": "s", "estimate": [3.0, 4.0], "n": [9, 8]})
    sec.table(disclosure.protect_table(nested, by=["org", "unit"], hierarchy=units), name="u", title="U", source="s",
              columns=[rc.ColumnSpec("unit", "Cơ sở")])
    assert (shown[1][1]["by"], shown[1][1]["parents"]) == (["org", "unit"], ["org"])


def test_a_table_too_long_to_print_is_named_with_its_file(tmp_path, monkeypatch):
    """Over DOCUMENT_MAX_ROWS rows: exported in full, and the page and the DOCX give its caption,
    its number of rows and the file instead of thousands of rows."""
    from docx import Document

    from analysis import disclosure
    from analysis.report import content as rc
    from analysis.report import docx_report

    monkeypatch.setattr(rc, "DOCUMENT_MAX_ROWS", 3)
    sec = rc.Section(tmp_path, "10_data_quality", "vi")
    shown = _capture(sec, monkeypatch)
    est = pd.DataFrame({"unit": [f"U{i}" for i in range(1200)], "variable": "rate", "estimate": 0.5, "n": 9})
    sec.table(disclosure.protect_table(est, by="unit"), name="rates", title="Tỷ lệ phản hồi", source="nguồn",
              columns=[rc.ColumnSpec("unit", "Cơ sở"), rc.ColumnSpec("estimate", "Tỷ lệ", "pct")])
    html_text, block = shown[0]
    assert "<table" not in html_text and 'id="table-rates"' in html_text
    assert "Bảng gồm 1.200 dòng" in html_text and "tables/rates.xlsx" in html_text
    assert block["rows"] == [] and block["in_file"]["rows"] == 1200 and block["by"] == ["unit"]
    assert len(pd.read_csv(tmp_path / "tables" / "rates.csv")) == 1200
    model = rc._to_docx_model([block, {**block, "in_file": None, "columns": ["a"], "rows": [["1"]]}], docx_report)
    assert isinstance(model[0], docx_report.TableInFile)
    docx_report.build_docx(model, tmp_path / "r.docx", title="T", synthetic=False)
    texts = [p.text for p in Document(tmp_path / "r.docx").paragraphs]
    caption = texts.index("Bảng 1. Tỷ lệ phản hồi")
    assert texts[caption + 1].startswith("Bảng gồm 1.200 dòng, quá dài để in trong báo cáo")
    assert "Bảng 2. Tỷ lệ phản hồi" in texts  # the printed table after it takes the next number


def test_only_protected_tables_are_published(tmp_path):
    from analysis.report import content as rc

    sec = rc.Section(tmp_path, "10_data_quality", "en")
    with pytest.raises(TypeError, match="ProtectedTable"):
        sec.table(pd.DataFrame({"estimate": [1.0]}), name="raw", title="x", source="y", columns=[])


def test_comments_are_escaped(tmp_path, monkeypatch):
    from analysis.report import content as rc

    sec = rc.Section(tmp_path, "30_member_sentiment", "vi")
    shown = _capture(sec, monkeypatch)
    sec.comments(pd.DataFrame({"org": ["CDVC"], "comment": ["<img src=x onerror=alert(1)>"]}), labels={"CDVC": "Công đoàn"})
    html_text, block = shown[0]
    assert "<img" not in html_text and "&lt;img src=x" in html_text
    assert block["type"] == "bullets"


def test_markdown_and_docx_blocks_in_order(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from analysis.report import content as rc
    from analysis.report import docx_report

    nb = new_notebook()
    en = new_markdown_cell("# Title\n\nEnglish text.")
    en.metadata["tags"] = ["lang-en"]
    vi = new_markdown_cell("# Tiêu đề\n\nĐoạn **văn**.")
    vi.metadata["tags"] = ["lang-vi"]
    code = new_code_cell("x")
    code.outputs = [new_output("display_data", data={"text/html": "<p>t</p>"},
                               metadata={"analysis": {"type": "table", "caption": "Bảng 1.1. T", "title": "T",
                                                      "source": "s", "note": None, "columns": ["a"], "rows": [["1"]]}}),
                    new_output("display_data", data={"text/plain": "raw"})]
    nb.cells = [vi, en, code]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "10_x.ipynb")
    blocks = rc.docx_blocks(tmp_path, "vi")
    assert [b["type"] for b in blocks] == ["heading", "paragraph", "table"]
    assert blocks[1]["text"] == "Đoạn văn."
    model = rc._to_docx_model(blocks, docx_report)
    assert isinstance(model[2], docx_report.Table) and model[2].caption == "T"


def test_model_assumptions_keep_only_the_report_language():
    from analysis.stats import model_result

    fits = pd.DataFrame({"assumptions": [model_result.ASSUMPTIONS["design"] + " " + model_result.ASSOCIATION]})
    en = study.model_assumptions(fits, lang="en")
    vi = study.model_assumptions(fits, lang="vi")
    assert en.startswith("Survey-weighted regression") and en.endswith("there is no control group.")
    assert "Hồi quy" not in en and "nhân quả" not in en
    assert vi.startswith("Hồi quy có trọng số") and "Association" not in vi


def test_change_summary_names_a_short_list_only():
    rows = pd.DataFrame({"variable": list("abcdef"), "estimate": [0.3, 0.2, 0.4, 0.1, 0.2, 0.01],
                         "ci_low": [0.1, 0.1, 0.2, 0.05, 0.1, -0.1], "ci_high": [0.5, 0.3, 0.6, 0.2, 0.3, 0.1],
                         "p_adjusted": [0.001] * 5 + [0.6], "significant": [True] * 5 + [False],
                         "suppressed": [False] * 6})
    labels = {v: v.upper() for v in "abcdef"}
    many = study.change_summary(rows, labels, table="t", noun=("chỉ tiêu cơ sở", "unit indicator(s)"))
    assert [s.text for s in many] == ["5 chỉ tiêu cơ sở tăng, không chỉ tiêu cơ sở nào giảm, "
                                      "1 chưa có thay đổi rõ (F)."]
    few = study.change_summary(rows.iloc[4:], labels, table="t", lang="en")
    assert [s.text for s in few] == ["1 scale rose (E), no scale fell, 1 showed no clear change."]
