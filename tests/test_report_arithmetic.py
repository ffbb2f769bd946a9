"""What a reader of the demo reports can check with a pencil (issue #12, "Done when").

Read from the published files only, as a reader would: tables/*.csv, the HTML text and the
DOCX text of the member and the unit report of 2025. No interval whose two ends are equal, no
"Chưa đo được" for a measured indicator, no printed change that differs from its printed
levels by more than rounding, every scorecard count equal to the data's, every task-group basis
adding up, and words and tables agreeing on what is withheld.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import report_docx_text, report_html_text

pytestmark = pytest.mark.xdist_group("demo_report")


@pytest.fixture(params=["member", "unit"])
def report_dir(request, demo_report) -> Path:
    return demo_report.report_dir if request.param == "member" else request.getfixturevalue("demo_unit_report")


def _tables(report_dir: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p, encoding="utf-8-sig", dtype={"wave": str, "baseline_wave": str})
            for p in sorted((report_dir / "tables").glob("*.csv"))}


def _texts(report_dir: Path) -> dict[str, str]:
    return {"html": report_html_text(report_dir), "docx": report_docx_text(report_dir)}


def _number(text: str) -> float:
    """A number as the Vietnamese report prints it: 1.204,5 / −0,03 / 45%."""
    return float(text.rstrip("%").replace(".", "").replace(",", ".").replace("−", "-"))


def _decimals(text: str) -> int:
    return len(text.rstrip("%").split(",")[1]) if "," in text else 0


# ------------------------------------------------------------------------------ intervals


def test_no_published_interval_has_equal_ends(report_dir):
    equal = []
    for name, t in _tables(report_dir).items():
        if {"ci_low", "ci_high"} <= set(t.columns):
            both = t[["ci_low", "ci_high"]].apply(pd.to_numeric, errors="coerce").dropna()
            rows = both[both["ci_low"] == both["ci_high"]]
            equal += [f"{name} row {i}: {r.ci_low}–{r.ci_high}" for i, r in rows.iterrows()]
    assert equal == []


#: Two equal numbers joined as an interval ("1%–1%", "0,03 đến 0,03"); a minus sign before the
#: first ("−0,03 đến 0,03") makes it a real interval.
_EQUAL_ENDS = re.compile(r"(?<![\d,.−-])(\d[\d.,]*%?)\s*(?:–|đến|to)\s*\1(?![\d,.%])")


def test_no_interval_with_equal_ends_in_the_text(report_dir):
    for kind, text in _texts(report_dir).items():
        same = [m.group(0) for m in _EQUAL_ENDS.finditer(text)]
        assert same == [], kind


def test_a_measured_indicator_is_never_called_unmeasurable(report_dir):
    for kind, text in _texts(report_dir).items():
        assert "Chưa đo được" not in text, kind


# ------------------------------------------------------------------ changes and their levels


def test_every_exported_change_equals_its_exported_levels(report_dir):
    checked = 0
    for name, t in _tables(report_dir).items():
        change = "difference" if "difference" in t.columns else "estimate"
        if not {"estimate_a", "estimate_b", change} <= set(t.columns):
            continue
        unit = 0.001 if "level" in t.columns else 0.01  # shares keep a tenth of a percent
        rows = t[["estimate_a", "estimate_b", change]].apply(pd.to_numeric, errors="coerce").dropna()
        gap = (rows[change] - (rows["estimate_b"] - rows["estimate_a"])).abs()
        assert (gap <= unit + 1e-9).all(), f"{name}: {rows[gap > unit + 1e-9].head().to_dict('records')}"
        checked += len(rows)
    assert checked > 0


#: "từ 3,91 (năm 2023) lên 4,37 (năm 2025), mức chênh lệch 0,46" and
#: "giữa năm 2023 (4,05) và năm 2025 (4,05) (chênh lệch 0,00"; values may carry % or a noun.
_NUM = r"(−?\d[\d.,]*%?)"
_CHANGE_SENTENCES = (
    re.compile(rf"từ {_NUM}[^()\d]*\(năm \d{{4}}\) (?:lên|xuống) {_NUM}[^()\d]*\(năm \d{{4}}\), mức chênh lệch {_NUM}"),
    re.compile(rf"giữa năm \d{{4}} \({_NUM}[^)]*\) và năm \d{{4}} \({_NUM}[^)]*\) \(chênh lệch {_NUM}"),
    # the grouped sentences (#13): "tính hấp dẫn … (từ 3,91 lên 4,37; +0,46 điểm)"
    re.compile(rf"\(từ {_NUM} (?:lên|xuống) {_NUM}[^;()]*; [+−]{_NUM}"),
)


def test_every_printed_change_equals_its_printed_levels(report_dir):
    found = 0
    for kind, text in _texts(report_dir).items():
        for pattern in _CHANGE_SENTENCES:
            for m in pattern.finditer(text):
                a, b, change = m.groups()
                unit = 10.0 ** -max(_decimals(a), _decimals(b), _decimals(change))
                gap = abs(abs(_number(change)) - abs(_number(b) - _number(a)))
                assert gap <= unit + 1e-9, f"{kind}: {m.group(0)}"
                found += 1
    assert found > 0


# ------------------------------------------------------------------------------ scorecard


def test_each_task_group_basis_adds_up(report_dir):
    card = _tables(report_dir)["scorecard"]
    for _, r in card.iterrows():
        shown = re.match(r"(\d+)/(\d+) chỉ tiêu đạt", str(r["targets"]))
        if shown:
            assert (int(shown[1]), int(shown[2])) == (r["n_achieved"], r["n_targeted"]), r["label"]
        counted = sum(int(n) for n in re.findall(r"(\d+) (?:tăng|giảm|không đổi)", str(r["members"])))
        assert counted == r["n_scales"], r["label"]


def test_scorecard_counts_equal_the_units_data(demo_report, report_dir):
    from analysis.study import data

    targets = _tables(report_dir)["scorecard_targets"]
    units = data.load_units("unit", ["2025"], processed_dir=demo_report.data / "processed")
    for _, r in targets[targets["org"].isna()].iterrows():
        values = units[r["variable"]].dropna()
        met = (values >= r["target"]) if r["direction"] == "higher" else (values <= r["target"])
        assert str(r["attainment"]).startswith(f"{int(met.sum())}/{len(values)} "), r["variable"]


# -------------------------------------------------------------- withheld: words and tables


def _sentence_rows(report_dir: Path) -> list[tuple[str, dict[str, str], bool, str]]:
    """(table, keys, withheld?, text) of every generated sentence of the HTML."""
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r'<li data-source="([^"]*)" data-withheld="(true|false)">(.*?)</li>', page, flags=re.S):
        src = html.unescape(m[1])
        table, keys = re.fullmatch(r"([^\[]+)(?:\[(.*)\])?", src).groups()
        pairs = dict(p.split("=", 1) for p in (keys or "").split(", ") if "=" in p)
        out.append((table, pairs, m[2] == "true", html.unescape(re.sub(r"<[^>]+>", "", m[3]))))
    return out


def _rows(t: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    mask = pd.Series(True, index=t.index)
    for k, v in keys.items():
        if k in t.columns:
            mask &= t[k].astype(str).isin(v.split(","))  # a grouped sentence names several rows
    return t[mask]


def test_a_sentence_and_its_table_agree_on_what_is_withheld(report_dir):
    tables = _tables(report_dir)
    checked = 0
    for table, keys, withheld, text in _sentence_rows(report_dir):
        if table not in tables or "suppressed" not in tables[table].columns:
            continue  # a sentence about a saved result that is not itself a published table
        rows = _rows(tables[table], keys)
        if not keys or rows.empty:  # a sentence about a whole table (a summary) names no row
            continue
        hidden = rows["suppressed"].astype(bool)
        if withheld:  # "không được công bố": the table must not print it either
            assert hidden.any(), f"withheld in words, printed in {table}: {keys}"
        else:  # a published sentence with numbers is about a row the table prints
            assert not hidden.all(), f"printed in words, hidden in {table}: {keys}: {text[:120]}"
        checked += 1
    assert checked > 0


def test_a_group_hidden_in_one_table_is_hidden_in_every_table_of_the_same_wave(report_dir):
    # the level tables by organization (scores, their trend, the changes' own levels) show the
    # same (wave, org, variable) cells: one must not print what another hides
    status: dict[tuple, dict[str, bool]] = {}
    for name, t in _tables(report_dir).items():
        if not {"wave", "org", "variable", "suppressed"} <= set(t.columns) or "baseline_wave" in t.columns \
                or "level" in t.columns or not {"estimate", "n"} <= set(t.columns):
            continue
        other = [c for c in t.columns if c in ("sex", "age_group", "party", "education", "unit", "task_group")]
        if other or "alpha" in t.columns:  # another grouping, or another statistic (reliability)
            continue
        for _, r in t.iterrows():
            status.setdefault((r["wave"], str(r["org"]), r["variable"]), {})[name] = bool(r["suppressed"])
    disagree = {k: v for k, v in status.items() if len(set(v.values())) > 1}
    assert disagree == {}


def test_the_planted_rises_and_only_they_reach_their_task_groups(demo_report):
    # the synthetic truth raises ren, emu, tru and dig (analysis.synthetic): each appears as a
    # rise in its task group's members column, and no other scale is called changed
    from analysis import instruments

    tables = _tables(demo_report.report_dir)
    changes = tables["changes_constructs_overall"]
    called = set(changes.loc[changes["significant"].astype(bool), "variable"])
    assert called == {"ren", "emu", "tru", "dig"}
    card = tables["scorecard"].set_index("task_group")
    groups = pd.Series({c.name: c.task_group for c in instruments.load("member").constructs})
    expected = groups[sorted(called)].value_counts()
    for group, row in card.iterrows():
        assert row["n_rose"] == expected.get(group, 0), group
        assert row["n_fell"] == 0, group
