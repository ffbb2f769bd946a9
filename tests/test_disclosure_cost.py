"""Complementary suppression of least cost: the complement that hides the fewest respondents.

The tables are built from seeded respondents (`tidy_means`), so every margin is exactly the
n-weighted mean of its cells, as a real attacker would use it. Costs are respondents hidden by
complementary cells (the frequency cost of R's sdcTable); the older rule (a sibling of the
hidden cell first, then the smallest n) is quoted in each test with what it hid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.disclosure import find_disclosures, protect_table, safe_text

from test_disclosure_helpers import tidy_means


def _people(sizes: dict[tuple[str, str], int], dims: tuple[str, str], seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{dims[0]: a, dims[1]: b, "score": float(rng.integers(1, 6))}
            for (a, b), n in sizes.items() for _ in range(n)]
    return pd.DataFrame(rows)


def _hidden(pt) -> dict[tuple, str]:
    t = pt.table
    cols = list(pt.by)
    return {tuple(None if pd.isna(v) else v for v in r[cols]): r["note"] for _, r in t[t["suppressed"]].iterrows()}


def test_two_orgs_by_party_hides_the_40_not_the_233():
    # org x party with the organization margins and the total (no party margins). The cell
    # (B, no) has 3 respondents; B = (B, no) + (B, yes) is published, so one of (B, yes) or B
    # must go. Hiding (B, yes) = 40 alone protects it: B - (B, yes) - (B, no) pools 43.
    # The older rule hid the sibling with the smallest n first, (A, no) = 20, then had to hide
    # (A, yes) = 233 and (B, yes) = 40 for the rectangle: 293 respondents instead of 40.
    sizes = {("A", "no"): 20, ("A", "yes"): 233, ("B", "no"): 3, ("B", "yes"): 40}
    t = tidy_means(_people(sizes, ("org", "party")), [["org", "party"], ["org"], []])
    pt = protect_table(t, by=["org", "party"], name="org_party")
    assert _hidden(pt) == {("B", "no"): "n<5", ("B", "yes"): "x"}
    shown = pt.table[~pt.table["suppressed"]]
    assert sorted(shown["n"].astype(int)) == [20, 43, 233, 253, 296]
    # the attacker recovers nothing; without the complement it recovers (B, no) exactly in n
    assert find_disclosures([("org_party", pt, ["org", "party"])]).empty
    bare = protect_table(t, by=["org", "party"], name="org_party", complementary=False)
    found = find_disclosures([("org_party", bare, ["org", "party"])])
    assert found[["by", "n"]].to_dict("records") == [{"by": "org=B, party=no", "n": 3}]
    # the log says which hidden group the complement protects (researcher only)
    comp = pt.log[pt.log["reason"] == "complementary"]
    assert comp[["org", "party", "n"]].to_dict("records") == [{"org": "B", "party": "yes", "n": 40}]
    assert comp["detail"].str.endswith("org=B, party=no").all()


def test_total_published_elsewhere_hides_the_smallest_other_org():
    # The shape of the demo's party-admission scale (asked of non-members only): total 676,
    # CDVC 441, DTN 232, HCCB 3. The total is also published by a table by sex, so hiding it
    # here protects nothing; of the two organizations, DTN (232) is cheaper than CDVC (441).
    sizes = {("CDVC", "f"): 300, ("CDVC", "m"): 141, ("DTN", "f"): 132, ("DTN", "m"): 100,
             ("HCCB", "m"): 3}
    people = _people(sizes, ("org", "sex"))
    by_sex = protect_table(tidy_means(people, [["sex"], []]), by=["sex"], name="by_sex")
    by_org = protect_table(tidy_means(people, [["org"], []]), by=["org"], name="by_org",
                           published=[("by_sex", by_sex, ["sex"])])
    assert _hidden(by_org) == {("HCCB",): "n<5", ("DTN",): "x"}
    assert find_disclosures([("by_sex", by_sex, ["sex"]), ("by_org", by_org, ["org"])]).empty
    # the n of the hidden complement goes with its estimate: 676 - 441 - 232 would give HCCB's 3
    row = by_org.table[by_org.table["org"] == "DTN"].iloc[0]
    assert np.isnan(row["n"]) and np.isnan(row["estimate"])
    # a smaller sibling is chosen when there is one: with a fourth organization of 12, it goes
    sizes[("XYZ", "f")] = 12
    people = _people(sizes, ("org", "sex"))
    by_sex = protect_table(tidy_means(people, [["sex"], []]), by=["sex"], name="by_sex")
    by_org = protect_table(tidy_means(people, [["org"], []]), by=["org"], name="by_org",
                           published=[("by_sex", by_sex, ["sex"])])
    assert _hidden(by_org) == {("HCCB",): "n<5", ("XYZ",): "x"}
    assert find_disclosures([("by_sex", by_sex, ["sex"]), ("by_org", by_org, ["org"])]).empty


def test_redundant_complement_is_released():
    # Units nested in organizations; the org table has the total, A = 3, B = 233, C = 10 and
    # D = 20, and org C's two units are published in a unit table, so C is derivable from it
    # even when hidden here. Hiding C (the cheapest sibling) does not protect A (C = C1 + C2);
    # D (20) does. The older rule hid C, then D: 30 respondents; the release step keeps D only.
    sizes = {("A", "A1"): 3, ("B", "B1"): 233, ("C", "C1"): 5, ("C", "C2"): 5, ("D", "D1"): 20}
    people = _people(sizes, ("org", "unit"))
    hier = pd.DataFrame({"unit": [u for _, u in sizes], "org": [o for o, _ in sizes]})
    units = tidy_means(people[people["org"] == "C"], [["org", "unit"]])
    units_pt = protect_table(units, by=["org", "unit"], hierarchy=hier, name="units_c")
    orgs = tidy_means(people, [["org"], []])
    pt = protect_table(orgs, by=["org"], hierarchy=hier, name="orgs",
                       published=[("units_c", units_pt, ["org", "unit"])])
    assert _hidden(pt) == {("A",): "n<5", ("D",): "x"}
    assert find_disclosures([("units_c", units_pt, ["org", "unit"]), ("orgs", pt, ["org"])], hier).empty


def test_notes_on_unit_facts_speak_of_units():
    # A unit indicator by organization: n counts units (HCCB has 3 units with the indicator).
    t = pd.DataFrame({"org": ["CDVC", "DTN", "HCCB", None], "variable": "share_met",
                      "estimate": [0.6, 0.5, 1 / 3, 0.5], "n": [40, 30, 3, 73]})
    units = protect_table(t, by=["org"], counts="units", name="ind")
    assert _hidden(units) == {("HCCB",): "n<5", ("DTN",): "x"}
    assert units.footnotes("vi") == [
        "n<5: không công bố vì có ít hơn 5 cơ sở, để không suy ra được số liệu của từng cơ sở.",
        "x: không công bố để không suy ra được số liệu của nhóm khác hoặc của từng cơ sở.",
    ]
    assert units.footnotes("en")[0] == ("n<5: not published because fewer than 5 units are behind it, "
                                        "so that no single unit's figures can be inferred.")
    assert not any("người trả lời" in x or "respondent" in x for x in units.footnotes("vi") + units.footnotes("en"))
    # a recipe can say it on the table itself; the default stays respondents
    t.attrs["counts"] = "units"
    assert protect_table(t, by=["org"], name="ind").counts == "units"
    t.attrs.clear()
    members = protect_table(t, by=["org"], name="ind")
    assert members.counts == "respondents"
    assert members.footnotes("vi")[0] == ("n<5: không công bố vì có ít hơn 5 người trả lời, "
                                          "để bảo đảm bí mật cho người trả lời.")
    # the neutral sentence that replaces a disclosing one follows the table
    assert safe_text("Hội CCB đạt 33%.", units, labels={"HCCB": "Hội CCB"}) == (
        "Kết quả của nhóm này không được công bố vì có quá ít cơ sở (tránh suy ra số liệu của từng cơ sở).")
    assert safe_text("Hội CCB đạt 33%.", members, labels={"HCCB": "Hội CCB"}) == (
        "Kết quả của nhóm này không được công bố để bảo đảm bí mật cho người trả lời.")


def test_why_hidden_names_the_cell_a_complement_protects():
    # the demo's adm shape again: DTN's x protects HCCB's group of 3, and the sentence says so
    t = pd.DataFrame({"wave": "2025", "org": [None, "CDVC", "DTN", "HCCB"], "variable": "adm",
                      "estimate": [3.74, 3.59, 4.03, 2.89], "n": [676, 441, 232, 3]})
    pt = protect_table(t, by=["wave", "org"], name="constructs_by_org")
    labels = {"adm": "Phấn đấu vào Đảng", "DTN": "Đoàn Thanh niên", "HCCB": "Hội Cựu chiến binh"}
    assert pt.why_hidden("vi", labels) == [
        "Phấn đấu vào Đảng – Đoàn Thanh niên (x): nếu công bố, cùng với các số đã công bố khác sẽ suy ra được "
        "Phấn đấu vào Đảng – Hội Cựu chiến binh, nhóm có ít hơn 5 người trả lời."]
    # no sentence for a sensitive variable (an x there may be a homogeneous group)
    assert protect_table(t, by=["wave", "org"], sensitive=["adm"]).why_hidden("vi", labels) == []
    # and none where nothing is complementary
    assert protect_table(t[t["org"] != "HCCB"], by=["wave", "org"]).why_hidden("vi", labels) == []
