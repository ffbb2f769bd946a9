"""Quality flags and duplicates, through the import (answers generated from the instrument)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.ingest import quality
from analysis.ingest.importer import IngestError, import_wave

from test_ingest_fixtures import answers, meta_for, spec_of, write_csv

MEMBER = spec_of("member")


def _run(tmp_path, frame, name="export.csv", **kw):
    meta = kw.pop("meta", meta_for(MEMBER))
    path = write_csv(frame, tmp_path / name)
    return import_wave("member", "2026", [path], meta=meta, data_dir=tmp_path / "data", **kw)


def _with_duplicates() -> pd.DataFrame:
    """Rows 2–5 = four submissions; row 6 = exact copy of row 2; row 7 = row 3's id, other answers."""
    a = answers(MEMBER, n=4)
    scale = MEMBER.scale_items[0].name
    exact = a.iloc[[0]]
    conflict = a.iloc[[1]].copy()
    conflict[scale] = "5" if conflict[scale].iloc[0] != "5" else "4"
    return pd.concat([a, exact, conflict], ignore_index=True)


def test_exact_duplicates_are_kept_once_and_conflicts_are_held_out(tmp_path):
    frame = _with_duplicates()
    r = _run(tmp_path, frame)
    assert (r.rows_read, r.accepted, r.quarantined, r.dropped, r.dropped_duplicate) == (6, 3, 2, 1, 1)
    data = pd.read_parquet(r.parquet_path)
    assert data.loc[data["_flag_duplicate"], "_source_row"].tolist() == [2]
    conflicts = r.failures[r.failures["rule"] == "duplicate_conflict"]
    assert conflicts[["row", "column", "value"]].to_dict("records") == [
        {"row": 3, "column": "_submission_id", "value": frame.loc[1, "_submission_id"]},
        {"row": 7, "column": "_submission_id", "value": frame.loc[1, "_submission_id"]}]
    assert "versions at export.csv:3, export.csv:7" in conflicts["message_en"].iloc[0]
    assert [m.en for m in r.messages if m.code == "exact_duplicates"] == [
        "1 exact duplicate submission(s) kept once; extra copies dropped (export.csv:6)"]


def test_resolution_file_decides_and_is_reapplied_on_every_run(tmp_path):
    frame = _with_duplicates()
    sid = frame.loc[1, "_submission_id"]
    res = tmp_path / "resolutions.csv"
    res.write_text(f"submission_id,keep\n{sid},7\n", encoding="utf-8")
    r = _run(tmp_path, frame, resolutions=res)
    assert (r.accepted, r.quarantined, r.dropped, r.dropped_resolved) == (4, 0, 2, 1)
    data = pd.read_parquet(r.parquet_path)
    assert data.loc[data["_submission_id"] == sid, "_source_row"].tolist() == [7]
    assert data.loc[data["_flag_duplicate"], "_source_row"].tolist() == [2, 7]
    stored = r.raw_dir / "resolutions.csv"
    assert stored.read_text(encoding="utf-8") == res.read_text(encoding="utf-8")
    # Rerun without --resolutions (new metadata, so it is reprocessed): the stored file still applies.
    again = _run(tmp_path, frame, meta=meta_for(MEMBER, speeder_seconds=100))
    assert again.status == "reprocessed" and (again.accepted, again.quarantined, again.dropped_resolved) == (4, 0, 1)
    assert json.loads(again.manifest_path.read_text())["resolutions_sha256"] is not None
    assert (again.raw_dir / "resolutions.csv").read_text(encoding="utf-8") == res.read_text(encoding="utf-8")
    third = _run(tmp_path, frame, meta=meta_for(MEMBER, speeder_seconds=200))
    assert (third.accepted, third.quarantined, third.dropped_resolved) == (4, 0, 1)


def test_resolution_none_drops_every_version(tmp_path):
    frame = _with_duplicates()
    res = tmp_path / "res.csv"
    res.write_text(f"submission_id,keep\n{frame.loc[1, '_submission_id']},none\n", encoding="utf-8")
    r = _run(tmp_path, frame, resolutions=res)
    assert (r.rows_read, r.accepted, r.quarantined, r.dropped, r.dropped_resolved) == (6, 3, 0, 3, 2)


def test_resolution_naming_a_wrong_row_is_refused(tmp_path):
    frame = _with_duplicates()
    sid = frame.loc[1, "_submission_id"]
    res = tmp_path / "res.csv"
    res.write_text(f"submission_id,keep\n{sid},4\n", encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        _run(tmp_path, frame, resolutions=res)
    assert exc.value.problems[0].en == (f"res.csv row 2: keep='4' for submission {sid!r} is not one of its rows; "
                                        "its versions are at export.csv:3, export.csv:7")
    assert not (tmp_path / "data").exists()


def test_speeders_straightliners_and_item_nonresponse_are_flagged_not_dropped(tmp_path):
    a = answers(MEMBER, n=4)
    scale = [it for it in MEMBER.scale_items if not it.relevant]
    dk = {it.name: sorted(MEMBER.missing_codes(it.list_name))[0] for it in scale}
    start = MEMBER.by_role("start")[0].name
    end = MEMBER.by_role("end")[0].name
    a.loc[0, end] = (pd.Timestamp(a.loc[0, start]) + pd.Timedelta(seconds=120)).isoformat()   # 120 s < 300 s
    for it in scale:
        a.loc[1, it.name] = "4"                                                             # straight-liner
        a.loc[2, it.name] = dk[it.name]                                                     # all "don't know"
    r = _run(tmp_path, a)
    data = pd.read_parquet(r.parquet_path).set_index("_source_row")
    assert r.accepted == 4 and r.quarantined == 0
    assert data["_flag_speeder"].tolist() == [True, False, False, False]
    assert data.loc[2, "_duration_s"] == 120.0
    assert data["_flag_straightliner"].tolist() == [False, True, False, False]
    assert data["_flag_item_nonresponse"].tolist() == [False, False, True, False]
    quality_table = pd.read_csv(r.quality_path).set_index("metric")["value"]
    assert quality_table[["_flag_speeder", "_flag_straightliner", "_flag_item_nonresponse"]].tolist() == [1, 1, 1]


def test_nonresponse_counts_only_questions_that_applied():
    d = pd.DataFrame({"a": ["4", "4"], "b": [None, None], "c": ["4", "9"]}, dtype="string")
    applies = pd.DataFrame({"a": [True, True], "b": [False, True], "c": [True, True]})
    got = quality.flag_item_nonresponse(d, ["a", "b", "c"], missing_codes={"c": frozenset({"9"})}, applies=applies,
                                        threshold=0.5)
    # Row 0: b did not apply → 0 of 2 missing; row 1: b and c missing → 2 of 3 > 0.5.
    assert got.tolist() == [False, True]


def test_find_duplicates_ignores_blank_ids():
    ids = pd.Series(["x", None, None, "x"])
    content = pd.DataFrame({"q": ["1", "1", "1", "1"]})
    d = quality.find_duplicates(ids, content)
    assert d.drop_exact.tolist() == [False, False, False, True]
    assert d.conflict.tolist() == [False] * 4
