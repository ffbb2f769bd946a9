"""`python -m analysis export-responses`: respondent-level CSV only when k-anonymous.

A small processed member wave is written into a throw-away project (data/, reports/); the
command is run through the real command line (`analysis.cli.main`) and its exact messages are
checked. Items are found by their role in the member instrument, never by name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import cli, config, instruments
from analysis.disclosure.export import export_columns, export_responses
from analysis.disclosure.policy import DisclosureError

MEMBER = instruments.load("member")


def _col(role: str) -> str:
    return MEMBER.role_item(role).name


def _rows(unit: str, org: str, n: int, *, sex="female", age="a30_39", party="no", pos="member", comment="") -> list[dict]:
    likert = [i.name for i in MEMBER.items if i.construct][:3]
    out = []
    for i in range(n):
        r = {"_submission_id": f"{unit}-{sex}-{i}", "_submitted_at": "2025-10-01T08:00:00",
             "_source_row": i + 2, "_flag_speeder": False,
             _col("start"): "2025-10-01T07:50:00", _col("end"): "2025-10-01T08:00:00",
             _col("org"): org, _col("unit"): unit, _col("sex"): sex, _col("age_group"): age,
             _col("party"): party, _col("position"): pos, _col("education"): "university"}
        r.update({name: str(1 + (i % 5)) for name in likert})
        for item in MEMBER.by_role("comment"):
            r[item.name] = comment or None
        out.append(r)
    return out


@pytest.fixture
def project(tmp_path, monkeypatch):
    """data/ and reports/ of a throw-away project; *write(rows)* imports them as member 2025."""
    data, reports = tmp_path / "data", tmp_path / "reports"
    monkeypatch.setattr(config, "DATA_DIR", data)
    monkeypatch.setattr(config, "PROCESSED_DIR", data / "processed")
    monkeypatch.setattr(config, "REPORTS_DIR", reports)
    folder = data / "processed" / "member"
    folder.mkdir(parents=True)
    reports.mkdir()

    def write(rows: list[dict]) -> None:
        pd.DataFrame(rows).to_parquet(folder / "2025.parquet")
        (folder / "2025.manifest.json").write_text(json.dumps({
            "instrument": "member", "wave": "2025", "instrument_version": MEMBER.version, "synthetic": True,
            "rows_read": len(rows), "accepted": len(rows), "quarantined": 0, "dropped": 0, "files": []}),
            encoding="utf-8")

    return tmp_path, write


def _qi_text(org_instead_of_unit: bool = False) -> str:
    first = _col("org") if org_instead_of_unit else _col("unit")
    return ", ".join([first, _col("sex"), _col("age_group"), _col("party"), _col("position")])


def test_k_anonymous_export_is_written_without_metadata_or_free_text(project, capsys):
    root, write = project
    write(_rows("CDVC01", "CDVC", 6, comment="Gọi anh Hùng 0912 345 678") + _rows("CDVC02", "CDVC", 5, sex="male"))
    out = root / "data" / "exports" / "member_2025.csv"
    code = cli.main(["export-responses", "--instrument", "member", "--wave", "2025", "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().out == (
        f"wrote {out}: 11 respondents, {len(pd.read_csv(out, encoding='utf-8-sig').columns)} columns; "
        f"k-anonymous with k = 5 on {_qi_text()}\n")
    back = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert len(back) == 11
    assert not [c for c in back.columns if c.startswith("_")]
    dropped = {i.name for i in MEMBER.by_role("comment")} | {_col("start"), _col("end")}
    assert not dropped & set(back.columns)
    assert "Hùng" not in out.read_text(encoding="utf-8-sig") and "0912" not in out.read_text(encoding="utf-8-sig")
    # exactly the instrument's exportable items, in the instrument's order
    assert list(back.columns) == [i.name for i in MEMBER.items if i.name in back.columns]
    assert {_col("unit"), _col("sex"), _col("education")} <= set(back.columns)


def test_export_refused_names_the_smallest_class_and_columns(project, capsys):
    root, write = project
    write(_rows("CDVC01", "CDVC", 6) + _rows("CDVC02", "CDVC", 2, sex="male"))
    out = root / "data" / "m.csv"
    code = cli.main(["export-responses", "--instrument", "member", "--wave", "2025", "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: export refused: the smallest group of respondents sharing the same {_qi_text()} "
        f"({_col('unit')}=CDVC02, {_col('sex')}=male, {_col('age_group')}=a30_39, {_col('party')}=no, "
        f"{_col('position')}=member) has 2 respondent(s), fewer than k = 5; generalise these columns "
        "(e.g. replace unit by org) or drop one of them\n")
    assert not out.exists() and not list(out.parent.glob(".*.part"))


def test_generalise_replaces_unit_by_org(project, capsys):
    root, write = project
    # two units of 3 women each: 6 women in CDVC once the unit is generalised
    write(_rows("CDVC01", "CDVC", 3) + _rows("CDVC02", "CDVC", 3) + _rows("HCCB01", "HCCB", 5, sex="male"))
    out = root / "reports" / "member_2025.csv"
    code = cli.main(["export-responses", "--instrument", "member", "--wave", "2025", "--out", str(out), "--generalise"])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.endswith(f"k-anonymous with k = 5 on {_qi_text(True)} (unit generalised to organization)\n")
    back = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert _col("unit") not in back.columns
    assert back[_col("org")].value_counts().to_dict() == {"CDVC": 6, "HCCB": 5}


def test_generalise_still_refused_says_so(project, capsys):
    root, write = project
    write(_rows("CDVC01", "CDVC", 3) + _rows("CDVC02", "CDVC", 1) + _rows("HCCB01", "HCCB", 5, sex="male"))
    code = cli.main(["export-responses", "--instrument", "member", "--wave", "2025",
                     "--out", str(root / "data" / "m.csv"), "--generalise"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: export refused: even with {_col('unit')} generalised to {_col('org')}, the smallest group of "
        f"respondents sharing the same {_qi_text(True)} ({_col('org')}=CDVC, {_col('sex')}=female, "
        f"{_col('age_group')}=a30_39, {_col('party')}=no, {_col('position')}=member) has 4 respondent(s), "
        "fewer than k = 5; generalise these columns (e.g. replace unit by org) or drop one of them\n")


def test_extra_quasi_identifier_is_checked_too(project, capsys):
    root, write = project
    rows = _rows("CDVC01", "CDVC", 6)
    rows[0][_col("education")] = "doctorate"
    write(rows)
    code = cli.main(["export-responses", "--instrument", "member", "--wave", "2025",
                     "--out", str(root / "data" / "m.csv"), "--quasi-identifiers", "education"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"sharing the same {_qi_text()}, {_col('education')} (" in err
    assert f"{_col('education')}=doctorate) has 1 respondent(s), fewer than k = 5" in err


def test_refusals_of_path_k_and_unknown_column(project, capsys):
    root, write = project
    write(_rows("CDVC01", "CDVC", 6))
    base = ["export-responses", "--instrument", "member", "--wave", "2025"]
    assert cli.main([*base, "--out", "/tmp/outside.csv"]) == 2
    assert capsys.readouterr().err == (
        f"error: path '/tmp/outside.csv' resolves to {Path('/tmp/outside.csv').resolve()}, outside the allowed "
        f"folders ({root / 'data'}, {root / 'reports'})\n")
    assert cli.main([*base, "--out", str(root / "data" / "m.csv"), "--k", "3"]) == 2
    assert capsys.readouterr().err == (
        "error: export refused: k = 3 is below the policy's k = 5 (config/disclosure.yaml)\n")
    assert cli.main([*base, "--out", str(root / "data" / "m.csv"), "--quasi-identifiers", "shoe_size"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: quasi-identifier 'shoe_size' is neither a role of the member instrument (")
    assert cli.main([*base, "--out", str(root / "data" / "m.xlsx")]) == 2
    assert capsys.readouterr().err == f"error: --out '{root / 'data' / 'm.xlsx'}': the export is a .csv file\n"
    assert not list((root / "data").glob("m.*"))


def test_higher_k_is_allowed_and_refuses_more(project):
    root, write = project
    write(_rows("CDVC01", "CDVC", 6))
    res = export_responses("member", "2025", root / "data" / "m.csv", k=6)
    assert (res.rows, res.k, res.generalised) == (6, 6, False)
    from analysis.disclosure import DisclosureError

    with pytest.raises(DisclosureError, match=r"has 6 respondent\(s\), fewer than k = 7"):
        export_responses("member", "2025", root / "data" / "m2.csv", k=7)


def test_export_columns_never_include_free_text():
    df = pd.DataFrame(columns=[i.name for i in MEMBER.items] + ["_submission_id"])
    cols = export_columns(df, MEMBER)
    assert all(MEMBER.item(c).base_type != "text" for c in cols)
    assert not {i.name for i in MEMBER.by_role("comment")} & set(cols)
    assert "_submission_id" not in cols


# ---------------------------------------------------------------- quasi-identifiers of the study

def _age_study(tmp_path: Path, monkeypatch, quasi: list[str]) -> None:
    """A project whose one instrument has no role at all: an exact age, a gender item, a scale."""
    import yaml

    surveys = tmp_path / "surveys" / "ages"
    surveys.mkdir(parents=True)
    survey = [{"type": "integer", "name": "age", "required": True, "label::en": "Age in years"},
              {"type": "select_one gender", "name": "gender", "required": True, "label::en": "Gender"}]
    survey += [{"type": "select_one five", "name": f"sat_{k}", "construct": "sat", "required": True,
                "label::en": f"Satisfaction {k}"} for k in (1, 2, 3)]
    (surveys / "v1.yaml").write_text(yaml.safe_dump({
        "instrument": "ages", "version": "1", "languages": ["en"], "title::en": "Ages",
        "constructs": {"sat": {"label::en": "Satisfaction", "min_items": 2}},
        "choices": {"five": [{"name": str(v), "value": v, "label::en": f"level {v}"} for v in range(1, 6)],
                    "gender": [{"name": "m", "label::en": "Male"}, {"name": "f", "label::en": "Female"}]},
        "survey": survey}), encoding="utf-8")
    (tmp_path / "study.yaml").write_text(yaml.safe_dump({
        "name": "ages", "languages": ["en"],
        "instruments": {"ages": {"notebooks": ["10_data_quality"], "quasi_identifiers": quasi}}}), encoding="utf-8")
    monkeypatch.setattr(config, "SURVEYS_DIR", tmp_path / "surveys")
    folder = tmp_path / "data" / "processed" / "ages"
    folder.mkdir(parents=True)
    # 12 respondents, every age different: exact age identifies each of them
    rows = [{"_submission_id": f"s{i}", "age": 20 + i, "gender": "mf"[i % 2],
             **{f"sat_{k}": 1 + (i + k) % 5 for k in (1, 2, 3)}} for i in range(12)]
    pd.DataFrame(rows).to_parquet(folder / "2025.parquet")
    (folder / "2025.manifest.json").write_text(json.dumps({
        "instrument": "ages", "wave": "2025", "instrument_version": "1", "synthetic": True,
        "rows_read": 12, "accepted": 12, "quarantined": 0, "dropped": 0, "files": []}), encoding="utf-8")


def _study(tmp_path: Path):
    from analysis import project as study_project

    return study_project.load_study(tmp_path / "study.yaml")


def test_an_export_with_no_quasi_identifier_at_all_is_refused(project, monkeypatch):
    root, _ = project
    _age_study(root, monkeypatch, quasi=[])  # none of the policy's roles exists in this instrument
    with pytest.raises(DisclosureError, match=r"none of the quasi-identifiers .* is a column of the ages export; "
                                              r"declare .* instruments\.ages\.quasi_identifiers in study\.yaml"):
        export_responses("ages", "2025", root / "data" / "a.csv", study=_study(root))
    assert not (root / "data" / "a.csv").exists()


def test_the_study_declares_item_names_as_quasi_identifiers(project, monkeypatch):
    root, _ = project
    _age_study(root, monkeypatch, quasi=["age"])
    with pytest.raises(DisclosureError, match=r"age=20.* has 1 respondent\(s\)"):
        export_responses("ages", "2025", root / "data" / "a.csv", study=_study(root))
    (root / "study.yaml").write_text((root / "study.yaml").read_text().replace("- age", "- gender"))
    done = export_responses("ages", "2025", root / "data" / "a.csv", study=_study(root))
    assert done.quasi_identifiers == ("gender",) and done.rows == 12  # 6 and 6


def test_a_misspelt_quasi_identifier_of_the_study_is_an_error(project, monkeypatch):
    root, _ = project
    _age_study(root, monkeypatch, quasi=["agee"])
    with pytest.raises(ValueError, match="quasi-identifier 'agee' is neither a role of the ages instrument"):
        export_responses("ages", "2025", root / "data" / "a.csv", study=_study(root))
