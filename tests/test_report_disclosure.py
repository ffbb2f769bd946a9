"""Disclosure control of the REAL report: every published table attacked together, and the
canary of conftest.py looked for in every output, logs and results/ included.

Reuses the session report (``demo_report`` in conftest.py): the demo waves 2023–2025, a canary
planted in 2025 (unit HCCB07 cut to 3 respondents who alone hold the education code
``doctorate`` and all answer the lowest code of one scale), and the member report for 2025.

``results/`` counts as output: it lives inside the report folder, which is what gets copied,
zipped and forwarded. Disclosure logs (true n of hidden cells) belong under ``data/``
(``analysis.disclosure.write_log`` refuses ``reports/``).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from analysis import disclosure

from conftest import CANARY_EDUCATION, CANARY_UNIT

# Same group as the other users of the session report: with `pytest -n 2 --dist loadgroup` the
# demo report is then built once, not once per worker (plain `-n 2` ignores the mark).
pytestmark = pytest.mark.xdist_group("demo_report")

# Leaks that the attacker finds in the current report and that need a change outside
# src/analysis/disclosure*.py. Each entry: (table, group, variable). Remove an entry when fixed.
# (Fixed: HCCB's party-admission scale, 3 respondents in 2025, was derivable as total - CDVC - DTN
# because notebook 50 protected the trend by organization without the totals; it now protects it
# with them, study.estimate_with_total, and hides the same complementary cells as notebook 30.)
KNOWN_LEAKS: set[tuple[str, str, str]] = set()


def _audit(demo_report, **kw) -> pd.DataFrame:
    return disclosure.audit_report(demo_report.report_dir, disclosure.unit_hierarchy(), **kw)


# ------------------------------------------------------------------------------- attacker


def test_every_member_statistic_table_is_audited(demo_report):
    rt = disclosure.report_tables(demo_report.report_dir)
    names = {n: by for n, _, by in rt.tables}
    expected = {
        "constructs_by_org": ["wave", "org"], "constructs_by_sex": ["wave", "sex"],
        "constructs_by_age": ["wave", "age_group"], "constructs_by_party": ["wave", "party"],
        "constructs_by_education": ["wave", "education"], "trends_constructs_by_org": ["wave", "org"],
        "changes_constructs_overall": ["wave", "baseline_wave"],
        "changes_constructs_by_org": ["wave", "baseline_wave", "org"],
        "item_distribution": ["wave"], "response_rates": ["wave", "org", "unit"],
        "reliability": ["wave", "org"],
    }
    for name, by in expected.items():
        assert names.get(name) == by, f"{name}: audited with {names.get(name)}, expected {by}"
    assert names["sample_composition"][0] == "wave"
    # everything else is said to be out of scope, with the reason
    published = {p.stem for p in (demo_report.report_dir / "tables").glob("*.csv")}
    assert published == set(names) | set(rt.skipped)


def test_attacker_recovers_nothing_from_all_published_tables_together(demo_report):
    found = _audit(demo_report)
    keys = {(r.table, r.by, r.variable) for r in found.itertuples()}
    new = keys - KNOWN_LEAKS
    assert not new, "hidden values recoverable from the published report:\n" + found.to_string()
    if keys:
        pytest.xfail("known cross-notebook leak, fix needed in notebooks/50_plan_impact.ipynb "
                     "(see KNOWN_LEAKS): " + "; ".join(f"{t} {b} {v}" for t, b, v in sorted(keys)))
    assert not KNOWN_LEAKS, "the known leaks are fixed: empty KNOWN_LEAKS in this file"


def test_attacker_catches_a_dropped_complementary_cell_in_the_real_report(demo_report):
    """Publish the complementary cell of the canary's education group: the canary (n = 3)
    becomes derivable from the total and the other levels, and the attacker must say so."""
    rt = disclosure.report_tables(demo_report.report_dir)
    _, edu, _ = rt.get("constructs_by_education")
    var = f"mean:{demo_report.canary_construct}"
    rows = edu[edu["variable"] == var]
    total = rows[rows["education"].isna()].iloc[0]
    comp = rows[rows["suppressed"] & (rows["education"] != CANARY_EDUCATION)]
    assert len(comp) == 1, "the canary's education group has one complementary cell"
    shown_n = rows.loc[~rows["suppressed"] & rows["education"].notna(), "n"].sum()
    planted = edu.copy()
    i = comp.index[0]
    planted.loc[i, ["suppressed", "n", "estimate"]] = [False, total["n"] - shown_n - 3, total["estimate"]]
    found = _audit(demo_report, replace={"constructs_by_education": planted})
    hit = found[(found["table"] == "constructs_by_education") & (found["variable"] == var)]
    assert hit[["by", "kind", "n"]].to_dict("records") == [
        {"by": f"education={CANARY_EDUCATION}, wave=2025", "kind": "cell", "n": 3}]


def test_attacker_catches_unhidden_sibling_units_in_the_real_report(demo_report):
    """Show the other hidden units of the canary's organization in the response rates: the
    canary unit's count is then the organization total minus the rest."""
    rt = disclosure.report_tables(demo_report.report_dir)
    _, rates, _ = rt.get("response_rates")
    org = rates.loc[rates["unit"] == CANARY_UNIT, "org"].iloc[0]
    in_org = rates[(rates["org"] == org) & rates["unit"].notna()]
    org_n = rates.loc[(rates["org"] == org) & rates["unit"].isna(), "n"].iloc[0]
    others = in_org[in_org["suppressed"] & (in_org["unit"] != CANARY_UNIT)]
    assert len(others) >= 1
    rest = org_n - in_org.loc[~in_org["suppressed"], "n"].sum() - 3  # what the other hidden units hold
    planted = rates.copy()
    share = [rest // len(others)] * len(others)
    share[0] += rest - sum(share)
    for i, n in zip(others.index, share):
        planted.loc[i, ["suppressed", "n", "estimate"]] = [False, float(n), 1.0]
    found = _audit(demo_report, replace={"response_rates": planted})
    hit = found[found["table"] == "response_rates"]
    # (the count is recovered exactly; "method" speaks of the rate's rounding)
    assert hit[["by", "kind", "n"]].to_dict("records") == [
        {"by": f"org={org}, unit={CANARY_UNIT}, wave=2025", "kind": "cell", "n": 3}]


def test_wave_difference_tables_publish_rounded_ends(demo_report):
    """estimate_a / estimate_b are the two wave means: unrounded, they undo the rounding that
    protects the level tables (protect_table rounds them since this test)."""
    decimals = disclosure.load_policy().decimals
    for path in sorted((demo_report.report_dir / "tables").glob("changes_*.csv")):
        df = pd.read_csv(path, encoding="utf-8-sig")
        for col in ("estimate_a", "estimate_b", "estimate", "se", "ci_low", "ci_high"):
            v = df[col].dropna()
            assert (v - v.round(decimals)).abs().max() < 1e-9, f"{path.name}: {col} has more than {decimals} decimals"


def test_hidden_rows_carry_no_number_in_tables_and_results(demo_report):
    for folder in ("tables", "results"):
        for path in sorted((demo_report.report_dir / folder).glob("*.csv")):
            df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
            if "suppressed" not in df.columns:
                continue
            hidden = df[df["suppressed"] == "True"]
            keys = {"wave", "baseline_wave", "org", "unit", "sex", "age_group", "party", "education",
                    "variable", "level", "construct", "question", "label", "task_group", "family",
                    "group", "term", "item", "rows", "weights", "suppressed", "note", "value", "method",
                    "assumptions", "k", "version"}
            for col in [c for c in df.columns if c not in keys]:
                leaked = hidden[hidden[col].str.match(r"^-?\d")]
                assert leaked.empty, f"{folder}/{path.name}: hidden row keeps {col}: {leaked.iloc[0].to_dict()}"


def test_results_folder_holds_no_disclosure_log(demo_report, tmp_path, monkeypatch):
    for path in sorted((demo_report.report_dir / "results").glob("*")):
        head = path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
        assert not {"reason", "detail"} <= set(head), f"{path.name} looks like a disclosure log"
    # and a log cannot be written there
    from analysis import config

    monkeypatch.setattr(config, "DATA_DIR", tmp_path / "data")
    t = pd.DataFrame({"sex": ["male", "female"], "variable": "s", "estimate": [3.0, 4.0], "n": [9, 3]})
    pt = disclosure.protect_table(t, by="sex")
    with pytest.raises(ValueError, match="outside the allowed folders"):
        disclosure.write_log(pt, demo_report.report_dir / "results" / "log.csv")
    out = disclosure.write_log(pt, tmp_path / "data" / "processed" / "member" / "2025_disclosure_log.csv")
    assert pd.read_csv(out, encoding="utf-8-sig")[["sex", "reason", "n"]].to_dict("records") == [
        {"sex": "female", "reason": "primary", "n": 3}]


# --------------------------------------------------------------------------------- canary


def _texts(paths) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in paths:
        if path.suffix == ".xlsx":  # the cells, row by row (the XML keeps strings apart from rows)
            sheets = pd.read_excel(path, sheet_name=None, dtype=str, header=None)
            out[str(path)] = "\n".join(df.fillna("").to_csv(index=False, header=False) for df in sheets.values())
        elif path.suffix == ".docx":
            with zipfile.ZipFile(path) as z:
                out[str(path)] = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
        elif path.suffix in (".html", ".csv", ".ipynb", ".json", ".log", ".txt", ".md", ".yaml", ".out", ".err", ""):
            out[str(path)] = path.read_text(encoding="utf-8-sig", errors="replace")
    return out


def _canary_labels(construct: str) -> list[str]:
    from analysis import instruments, study

    member = instruments.load("member")
    return [study.labels_for(member, lang).get(construct, construct) for lang in ("vi", "en")]


def _canary_problems(name: str, text: str, k: int, construct_labels: list[str], construct: str) -> list[str]:
    problems = []
    for pattern in (rf"{CANARY_EDUCATION}[^\n]*,1\.0,0\.0,", rf"{CANARY_UNIT},response_rate,[0-9.]+,3\.0"):
        if re.search(pattern, text):
            problems.append(f"{name}: {pattern!r}")
    for record in re.split(r"</tr>|</w:tr>|\n", text):
        # the canary's mean (1.00, no spread) in a row of its scale (a unit indicator of 100% is
        # about units, not respondents, and may show 1,00 (1,00–1,00))
        if any(lab in record for lab in construct_labels) or re.search(rf"(^|,){construct}(,|$)", record):
            if re.search(r"1[.,]00 \(1[.,]00[–-]1[.,]00\)", record):
                problems.append(f"{name}: the canary mean in a row of its scale: {record[:200]!r}")
        # every row (CSV line, HTML or DOCX table row) that names the canary unit shows no number
        if CANARY_UNIT not in record:
            continue
        plain = re.sub(r"<[^>]*>", " ", record)
        plain = plain.replace(CANARY_UNIT, " ").replace(f"n&lt;{k}", " ").replace(f"n<{k}", " ")
        if re.search(r"(?<![A-Za-z_])\d", plain):
            problems.append(f"{name}: a row naming {CANARY_UNIT} shows a number: {plain.strip()[:200]!r}")
    return problems


def test_canary_is_in_no_output_logs_manifest_or_results(demo_report, capfd):
    """Everything under reports/ (report folder, results/, manifest, *.log, leftovers of failed or
    interrupted runs) plus every *.log of the project, and what the runner prints."""
    from analysis.report import runner as report

    k = disclosure.load_policy().k
    reports_root = demo_report.root / "reports"
    files = [p for p in sorted(reports_root.rglob("*")) if p.is_file()]
    # (data/ is private by design: raw exports, withheld comments and disclosure logs live there)
    files += [p for p in sorted(demo_report.root.rglob("*.log"))
              if p.is_file() and reports_root not in p.parents and demo_report.data not in p.parents]
    assert any(p.parent.name == "results" for p in files) and any(p.name == "manifest.json" for p in files)
    # the full run's stdout/stderr (conftest.py's demo_report writes it there)
    runner_log = demo_report.root / "runner.log"
    assert runner_log in files and "running" in runner_log.read_text(encoding="utf-8")
    texts = _texts(files)
    # the runner's stdout/stderr (a rerun with the same inputs: reuses the report)
    import os

    os.environ["ANALYSIS_PROJECT_ROOT"] = str(demo_report.root)
    try:
        capfd.readouterr()
        result = report.run_report("member", "2025", baseline_wave="2023", progress=True, **demo_report.run_dirs())
    finally:
        os.environ.pop("ANALYSIS_PROJECT_ROOT", None)
    captured = capfd.readouterr()
    assert result.reused, "the rerun should reuse the session report"
    texts["runner stdout"], texts["runner stderr"] = captured.out, captured.err
    labels = _canary_labels(demo_report.canary_construct)
    problems = [p for name, text in texts.items()
                for p in _canary_problems(name, text, k, labels, demo_report.canary_construct)]
    assert not problems, "\n".join(problems)
    # the manifest records parameters and hashes, never a group statistic
    manifest = json.loads((demo_report.report_dir / "manifest.json").read_text(encoding="utf-8"))
    assert CANARY_UNIT not in json.dumps(manifest, ensure_ascii=False)


# --------------------------------------------------------------------------------- policy


def test_methods_appendix_prints_the_policy_that_was_applied(demo_report):
    """The report's k comes from the policy file, and the appendix is policy_markdown of it."""
    manifest = json.loads((demo_report.report_dir / "manifest.json").read_text(encoding="utf-8"))
    policy = disclosure.load_policy()
    assert manifest["parameters"]["min_group_size"] == policy.k
    lang = manifest["parameters"]["lang"]
    expected = disclosure.policy_markdown(disclosure.load_policy(k=manifest["parameters"]["min_group_size"]), lang)
    texts = []
    for path in (demo_report.report_dir / "notebooks").glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            for o in cell.get("outputs", []):
                block = (o.get("metadata") or {}).get("analysis") or {}
                if block.get("type") == "markdown":
                    texts.append(block["text"])
    assert expected in texts
    docx = zipfile.ZipFile(demo_report.report_dir / "report.docx").read("word/document.xml").decode("utf-8")
    assert f"ít hơn {policy.k} người trả lời" in docx if lang == "vi" else f"fewer than {policy.k}" in docx
