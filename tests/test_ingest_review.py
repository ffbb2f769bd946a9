"""Review status set on the data-collection server, honoured on import.

KoboToolbox's ``_validation_status`` and ODK Central's ``ReviewState``, in the exports written by
`test_ingest_central`'s writers (Kobo XLSX with the status labels, Kobo CSV with the status uids,
Central CSV newest-first): a rejected submission is quarantined (rule ``review``) with its file,
row, column and value; one on hold / with issues is kept and flagged ``_flag_review``; the
policy in wave.yaml (``review: {reject: [...], flag: [...]}``) changes both; a state neither
known nor in the policy is kept and warned about; rows read = accepted + quarantined + dropped
throughout; the policy is printed in the import summary and stored in the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_ingest_central import base_answers, write_central_csv, write_kobo_csv, write_kobo_xlsx
from test_ingest_fixtures import meta_for, spec_of

from analysis.ingest import importer
from analysis.ingest.importer import IngestError, _summary, import_wave

MEMBER = spec_of("member")
ANSWERS = base_answers(MEMBER)
IDS = ANSWERS["_submission_id"].tolist()

#: Row of answer *i* in each export (header = row 1; Central lists the newest first).
KOBO_ROW = {i: i + 2 for i in range(6)}
CENTRAL_ROW = {i: 7 - i for i in range(6)}


def _import(folder: Path, path: Path, **meta):
    return import_wave("member", "2026", [path], meta=meta_for(MEMBER, **meta), data_dir=folder / "data")


def _counts(r) -> tuple[int, int, int, int]:
    assert r.rows_read == r.accepted + r.quarantined + r.dropped
    return r.rows_read, r.accepted, r.quarantined, r.dropped


def _review_failures(r) -> list[dict]:
    f = r.failures
    return f[f["rule"] == "review"][["file", "row", "column", "value", "rule"]].to_dict("records")


def _flagged(r) -> list[str]:
    data = pd.read_parquet(r.parquet_path)
    return sorted(data.loc[data["_flag_review"], "_submission_id"])


# --------------------------------------------------------------------------------------------
# Default policy: not approved / rejected → quarantine; on hold / has issues → kept, flagged
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["kobo-xlsx", "kobo-csv"])
def test_kobo_not_approved_is_quarantined_and_on_hold_flagged(tmp_path, fmt):
    review = {1: "validation_status_not_approved", 2: "validation_status_on_hold", 3: "validation_status_approved"}
    name = "kobo.xlsx" if fmt == "kobo-xlsx" else "kobo.csv"
    writer = write_kobo_xlsx if fmt == "kobo-xlsx" else write_kobo_csv
    r = _import(tmp_path, writer(ANSWERS, MEMBER, tmp_path / name, review=review))
    assert _counts(r) == (6, 5, 1, 0)
    # The XLSX export shows the status label, the CSV its uid: the value is named as the file has it.
    value = "Not Approved" if fmt == "kobo-xlsx" else "validation_status_not_approved"
    assert _review_failures(r) == [
        {"file": name, "row": KOBO_ROW[1], "column": "_review_status", "value": value, "rule": "review"}]
    reason = r.failures.loc[r.failures["rule"] == "review", "message_en"].iloc[0]
    assert "rejected in the review on the data-collection server" in reason and "wave.yaml 'review:'" in reason
    note = next(m for m in r.messages if m.code == "review_rejected")
    assert f"1 submission(s) rejected in the server's review quarantined ({name}:{KOBO_ROW[1]})" in note.en
    # On hold: kept with _flag_review; approved and unreviewed rows: kept, not flagged.
    data = pd.read_parquet(r.parquet_path)
    assert IDS[1] not in set(data["_submission_id"])
    assert _flagged(r) == [IDS[2]]
    assert r.flags["_flag_review"] == 1
    # The quarantine file holds the submission as received, with the reason.
    q = pd.read_csv(r.quarantine_path, dtype=str, keep_default_na=False)
    assert q[["row", "column", "value", "rule"]].to_dict("records") == [
        {"row": str(KOBO_ROW[1]), "column": "_review_status", "value": value, "rule": "review"}]
    assert q["_uuid"].tolist() == [IDS[1]]
    assert not any(m.code == "review_state_unknown" for m in r.messages)


def test_central_rejected_is_quarantined_and_has_issues_flagged(tmp_path):
    review = {0: "rejected", 3: "hasIssues", 4: "edited", 5: "approved"}  # rows 1, 2: received (blank)
    r = _import(tmp_path, write_central_csv(ANSWERS, MEMBER, tmp_path / "central.csv", review=review))
    assert _counts(r) == (6, 5, 1, 0)
    assert _review_failures(r) == [
        {"file": "central.csv", "row": CENTRAL_ROW[0], "column": "_review_status", "value": "rejected",
         "rule": "review"}]
    assert _flagged(r) == [IDS[3]]
    assert not any(m.code == "review_state_unknown" for m in r.messages)


def test_a_rejected_submission_is_quarantined_even_when_its_answers_are_valid_and_counted_once(tmp_path):
    """A rejected row that also fails validation is one quarantined row (with both reasons)."""
    a = ANSWERS.copy()
    scale = MEMBER.scale_items[0]
    a.loc[0, scale.name] = "99"  # not a choice
    r = _import(tmp_path, write_central_csv(a, MEMBER, tmp_path / "central.csv", review={0: "rejected", 1: "rejected"}))
    assert _counts(r) == (6, 4, 2, 0)
    rules = r.failures.groupby("row")["rule"].apply(sorted).to_dict()
    assert rules == {CENTRAL_ROW[0]: ["choice", "review"], CENTRAL_ROW[1]: ["review"]}


# --------------------------------------------------------------------------------------------
# The policy in wave.yaml
# --------------------------------------------------------------------------------------------
def test_a_wave_yaml_policy_changes_what_is_quarantined_and_flagged(tmp_path):
    review = {0: "rejected", 3: "hasIssues"}
    path = write_central_csv(ANSWERS, MEMBER, tmp_path / "central.csv", review=review)
    default = _import(tmp_path / "default", path)
    assert _counts(default) == (6, 5, 1, 0) and _flagged(default) == [IDS[3]]

    # Stricter: "has issues" is rejected too.
    strict = _import(tmp_path / "strict", path, review={"reject": ["rejected", "hasIssues"], "flag": []})
    assert _counts(strict) == (6, 4, 2, 0)
    assert sorted(f["row"] for f in _review_failures(strict)) == sorted([CENTRAL_ROW[0], CENTRAL_ROW[3]])
    assert _flagged(strict) == []

    # Lenient: nothing is rejected, a rejected submission is kept and flagged for a second look.
    lenient = _import(tmp_path / "lenient", path, review={"reject": [], "flag": ["Rejected", "has issues"]})
    assert _counts(lenient) == (6, 6, 0, 0)
    assert _flagged(lenient) == sorted([IDS[0], IDS[3]])  # matched without case or spaces

    # The policy applied is in the manifest and in the summary.
    manifest = json.loads(strict.manifest_path.read_text(encoding="utf-8"))
    assert manifest["review"] == {"reject": ["rejected", "hasIssues"], "flag": []}
    text = "\n".join(_summary(strict))
    assert "review status: quarantined if rejected, hasIssues; kept and flagged (_flag_review) if none" in text
    assert "trạng thái duyệt: tạm giữ nếu rejected, hasIssues; giữ lại và đánh dấu (_flag_review) nếu không có" in text
    assert "rows read 6 = accepted 4 + quarantined 2 + dropped 0" in text


def test_the_policy_is_read_from_the_wave_yaml_beside_the_file_and_printed_by_add_wave(tmp_path, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    path = write_kobo_csv(ANSWERS, MEMBER, folder / "kobo.csv", review={1: "validation_status_on_hold"})
    meta = meta_for(MEMBER, review={"reject": ["validation_status_not_approved", "validation_status_on_hold"],
                                    "flag": []})
    (folder / "wave.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code = importer.main(["--instrument", "member", "--wave", "2026", str(path), "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert code == 0  # written; quarantined rows only warn
    assert "rows read 6 = accepted 5 + quarantined 1 + dropped 0" in out
    assert ("review status: quarantined if validation_status_not_approved, validation_status_on_hold; "
            "kept and flagged (_flag_review) if none") in out
    # Run again unchanged: the summary (from the manifest) still states the policy applied.
    importer.main(["--instrument", "member", "--wave", "2026", str(path), "--data-dir", str(tmp_path / "data")])
    again = capsys.readouterr().out
    assert "member 2026: unchanged" in again
    assert "quarantined if validation_status_not_approved, validation_status_on_hold" in again


def test_the_default_policy_is_printed_when_wave_yaml_has_none(tmp_path):
    r = _import(tmp_path, write_kobo_csv(ANSWERS, MEMBER, tmp_path / "kobo.csv"))
    text = "\n".join(_summary(r))
    assert ("review status: quarantined if rejected, validation_status_not_approved; "
            "kept and flagged (_flag_review) if hasIssues, validation_status_on_hold") in text
    assert "review to check 0" in text


@pytest.mark.parametrize("review, words", [
    ({"reject": ["rejected"], "flag": ["Rejected"]}, "both in review.reject and review.flag"),
    ({"reject": "rejected"}, "review.reject must be a list of review states"),
    ({"drop": ["rejected"]}, "review has unknown key(s) ['drop']"),
])
def test_a_wrong_policy_is_refused_before_anything_is_written(tmp_path, review, words):
    path = write_kobo_csv(ANSWERS, MEMBER, tmp_path / "kobo.csv")
    with pytest.raises(IngestError) as exc:
        _import(tmp_path, path, review=review)
    assert [p.code for p in exc.value.problems] == ["wave_metadata"]
    assert words in exc.value.problems[0].en
    assert not list(tmp_path.rglob("*.parquet"))


# --------------------------------------------------------------------------------------------
# A state nobody listed
# --------------------------------------------------------------------------------------------
def test_an_unknown_review_state_is_kept_unflagged_and_warned_about(tmp_path):
    review = {0: "rejected", 2: "needsCallback", 4: "needsCallback"}
    path = write_central_csv(ANSWERS, MEMBER, tmp_path / "central.csv", review=review)
    r = _import(tmp_path, path)
    assert _counts(r) == (6, 5, 1, 0)
    assert _flagged(r) == []
    warning = next(m for m in r.messages if m.code == "review_state_unknown")
    assert warning.level == "warning"
    assert "review status value(s) ['needsCallback'] are neither in the review policy" in warning.en
    assert "list them under review: reject or flag in wave.yaml" in warning.en
    assert "['needsCallback']" in warning.vi
    # Listed in the policy, the same state is no longer unknown and does what the policy says.
    listed = _import(tmp_path / "listed", path, review={"reject": ["rejected"], "flag": ["needsCallback"]})
    assert not any(m.code == "review_state_unknown" for m in listed.messages)
    assert _flagged(listed) == sorted([IDS[2], IDS[4]])
