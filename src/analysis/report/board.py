"""The Board edition: a short report, laid out as a Party or state document, from a run's results.

The technical report (report.html, report.docx) keeps every table and the methods for researchers;
the Board reads a few pages. This module writes ``board.docx`` from what the notebooks already
published in the run folder (``results/*.csv``, ``tables/*.csv``: protected, rounded, in the
report's language), the frame totals those tables carry and the waves' ``wave.yaml`` fieldwork
dates; the header and signature come from ``config/report.yaml`` (`analysis.report.letterhead`).
It computes no statistic: it chooses, groups and words what was published.

Sections: header block, title, I. introduction (the plan and its date, the two surveys, fieldwork
dates, who answered: members x/6.314 and units y/103), II. the scorecard of the six task groups,
III. results by organization (what works, what lags), IV. members' views and the unit
indicators over time, V. the association between implementation and members' views, VI. limits
(one paragraph), VII. recommendations, then the signature block and "Nơi nhận". No p-value, test,
effect size, variable name, code tag or file path is printed; a difference is called a rise or a
fall only where the technical report calls it significant (`analysis.report.narrative.is_significant`
on the published interval and adjusted p-value).

Recommendations (kiến nghị) follow fixed rules, so that two runs on the same results recommend
the same things:

* **K1, lagging targets** — the (at most three) targets of the plan with the smallest share of
  units meeting them, among those not met everywhere; each names the organization with the
  smallest share for it.
* **K2, lagging organization** — the organization whose units met the smallest share of all
  unit-target pairs, when it is below the bloc's share.
* **K3, units to follow up** — units that miss at least half of the targets with a value
  (``units_to_follow_up``), counted per organization; their list is in the technical report.
* **K4, members' views** — the (at most three) member scales with the lowest current score
  among those that did not rise since the baseline.
* **K5, next wave** — repeat both surveys with the same questionnaires, so that changes stay
  comparable.

Hand-written because it is wording, not computation: each rule reads one published table.

Why one module: the sections and the recommendations word the same published tables with the
same helpers (`_read`, `_join`, `Labels`, the significance rule) in one voice and one set of
terms ("thang đo" for a member scale, "chỉ tiêu" for a target of the plan); apart, each part
would import all of them and the terms could drift.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from analysis.report.letterhead import Letterhead, no_break
from analysis.report.narrative import is_significant
from analysis.report.tables import format_count, format_date, format_number, format_percent

__all__ = ["BoardDocument", "Block", "board_document", "MAX_PAGES", "WRAPS"]

#: The Board edition's length limit (A4 pages), checked by the tests on the PDF.
MAX_PAGES = 12
_MAX_LAGGING = 3  # K1, K4: the Board reads a few priorities, not a list


#: How a table column may wrap (`Block.wrap`): ``never`` (a count, a verdict: one line),
#: ``comma`` (only after a comma: "0/2 chỉ tiêu đạt, / 2 đạt một phần"), ``words`` (between words).
WRAPS = ("never", "comma", "words")


@dataclass(frozen=True)
class Block:
    """One piece of the Board document: ``heading``, ``paragraph``, ``bullets`` or ``table``.

    A table's column widths are set from its content by `analysis.report.board_docx`; *wrap*
    says, per column, where a cell may break (`WRAPS`; ``words`` for a column not listed).
    """

    kind: str
    text: str = ""
    items: tuple[str, ...] = ()
    table: pd.DataFrame | None = None
    note: str = ""
    source: str = ""
    wrap: tuple[str, ...] = ()


@dataclass(frozen=True)
class BoardDocument:
    """What `analysis.report.board_docx` lays out: header, title, body blocks and closing block."""

    lang: str
    letterhead: Letterhead
    title: str
    subject: str
    blocks: tuple[Block, ...]
    synthetic: bool
    facts: Mapping[str, Any] = field(default_factory=dict)  # the counts the introduction states


def _w(lang: str, vi: str, en: str) -> str:
    return unicodedata.normalize("NFC", vi if lang == "vi" else en)


def _read(run_dir: Path, name: str) -> pd.DataFrame | None:
    """A published CSV of the run (``results/`` first, then ``tables/``), or None."""
    ids = {"org": "string", "unit": "string", "wave": "string", "baseline_wave": "string"}
    for sub in ("results", "tables"):
        path = run_dir / sub / f"{name}.csv"
        if path.is_file():
            return pd.read_csv(path, encoding="utf-8-sig", dtype=ids)
    return None


def _join(items: Sequence[str], lang: str) -> str:
    """A list in running text: "a, b và c"; "a; b; c" when an item holds a comma itself.

    Labels such as "giám sát, phản biện xã hội" or figures such as "(từ 3,91 lên 4,37)" carry
    commas, so commas between them would no longer show where one item ends.

    Examples
    --------
    >>> _join(["a", "b", "c"], "vi"), _join(["a, b", "c"], "vi"), _join(["x, y", "z", "w"], "en")
    ('a, b và c', 'a, b; c', 'x, y; z; and w')
    """
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    if any("," in i for i in items):
        last = "; " if lang == "vi" or len(items) == 2 else "; and "
        return "; ".join(items[:-1]) + last + items[-1]
    last = " và " if lang == "vi" else " and "
    return ", ".join(items[:-1]) + last + items[-1]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def _n(count: int, one: str, many: str) -> str:
    """English "1 scale", "4 scales" (the Vietnamese noun has no plural)."""
    return f"{count} {one if count == 1 else many}"


@dataclass(frozen=True)
class Labels:
    """Display labels in the report language: scales, indicators, organizations."""

    scales: Mapping[str, str]
    indicators: Mapping[str, str]
    orgs: Mapping[str, str]
    scale_range: tuple[float, float] | None

    def org(self, code: Any) -> str:
        return self.orgs.get(str(code), str(code))


def labels_for(instrument: str, unit_instrument: str | None, lang: str) -> Labels:
    """Labels from the questionnaires (member scales, unit indicators, organization names)."""
    from analysis import instruments

    ins = instruments.load(instrument)
    unit = instruments.load(unit_instrument) if unit_instrument else None
    scales = {c.name: c.label(lang) for c in ins.constructs}
    indicators = {i.name: i.label(lang) for i in (unit or ins).indicators}
    orgs: dict[str, str] = {}
    for source in (ins, unit):
        item = source.role_item("org") if source is not None else None
        if item is not None and item.list_name:
            orgs.update({c.name: c.label(lang) for c in source.choice_list(item.list_name)})
    scale_range = None
    if ins.constructs and ins.constructs[0].items:
        first = ins.item(ins.constructs[0].items[0])
        if first.list_name:
            scale_range = ins.scale_range(first.list_name)
    return Labels(scales, indicators, orgs, scale_range)


def _fieldwork(raw_dir: Path, instrument: str, wave: str, lang: str) -> str | None:
    """"từ ngày 3 tháng 11 đến ngày 29 tháng 11 năm 2025" from the wave's wave.yaml, if it has them."""
    import yaml

    path = raw_dir / instrument / wave / "wave.yaml"
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        start, end = (pd.Timestamp(str(meta[k])).date() for k in ("fieldwork_start", "fieldwork_end"))
    except (OSError, KeyError, ValueError, TypeError):
        return None
    if lang == "vi":
        return f"từ {format_date(start, lang='vi')} đến {format_date(end, lang='vi')}"
    return f"from {format_date(start, lang='en')} to {format_date(end, lang='en')}"


def _response_counts(run_dir: Path, wave: str) -> dict[str, int]:
    """Members who answered / members in the frame; units that answered / units in the frame."""
    out: dict[str, int] = {}
    rates = _read(run_dir, "response_rates")
    if rates is not None and {"org", "unit", "n", "members"} <= set(rates.columns):
        total = rates[rates["org"].isna() & rates["unit"].isna()]
        if len(total):
            out.update(members_answered=int(total["n"].iloc[0]), members=int(total["members"].iloc[0]))
    units = _read(run_dir, "unit_response")
    if units is not None and {"wave", "n", "units"} <= set(units.columns):
        now = units[units["wave"] == str(wave)]
        if len(now):
            out.update(units_answered=int(now["n"].sum()), units=int(now["units"].sum()))
    return out


def _significant(row: pd.Series) -> bool:
    return is_significant(row.get("estimate"), row.get("ci_low"), row.get("ci_high"), row.get("p_adjusted"))


def _points(x: float, lang: str) -> str:
    return format_number(x, 2, lang=lang)


# --- sections ---------------------------------------------------------------------------------

def _introduction(head: Letterhead, facts: Mapping[str, Any], instrument_is_unit: bool, lang: str,
                  wave: str, baseline: str, synthetic: bool) -> list[Block]:
    blocks = [Block("heading", _w(lang, "I. KHÁI QUÁT", "I. OVERVIEW"))]
    plan = head.plan_reference(lang)
    if lang == "vi":
        text = (f"Thực hiện {plan}, năm {wave} tiến hành đợt khảo sát thường niên để đánh giá kết quả "
                f"so với đợt đầu năm {baseline}. ")
        text += ("Khảo sát gồm phiếu cơ sở: mỗi cơ sở một phiếu, do ban chấp hành trả lời về việc thực hiện "
                 "các nhiệm vụ của Đề án." if instrument_is_unit else
                 "Khảo sát gồm hai phiếu: phiếu đoàn viên, hội viên (không ghi tên) về cảm nhận đối với hoạt động "
                 "của tổ chức, và phiếu cơ sở (mỗi cơ sở một phiếu, do ban chấp hành trả lời) về việc thực hiện "
                 "các nhiệm vụ của Đề án.")
    else:
        text = f"Under {plan}, the yearly survey of {wave} assesses progress against the baseline of {baseline}. "
        text += ("It consists of the unit survey: one questionnaire per grassroots unit, answered by its executive "
                 "committee, on carrying out the plan's tasks." if instrument_is_unit else
                 "It has two questionnaires: an anonymous member survey on how members see their organization's "
                 "activities, and a unit survey (one per grassroots unit, answered by its executive committee) on "
                 "carrying out the plan's tasks.")
    blocks.append(Block("paragraph", text))
    who = []
    if "members" in facts and not instrument_is_unit:
        share = format_percent(facts["members_answered"] / facts["members"], 0, lang=lang)
        when = f" {facts['member_fieldwork']}" if facts.get("member_fieldwork") else ""
        count = format_count(facts["members_answered"], facts["members"], lang=lang)
        who.append(_w(lang, f"phiếu đoàn viên, hội viên được thu{when}: {count} đoàn viên, hội viên trả lời ({share})",
                      f"the member survey was fielded{when}: {count} members answered ({share})"))
    if "units" in facts:
        when = f" {facts['unit_fieldwork']}" if facts.get("unit_fieldwork") else ""
        count = format_count(facts["units_answered"], facts["units"], lang=lang)
        who.append(_w(lang, f"phiếu cơ sở được thu{when}: {count} cơ sở trả lời",
                      f"the unit survey was fielded{when}: {count} units answered"))
    if who:
        first = who[0][:1].upper() + who[0][1:]
        blocks.append(Block("paragraph", "; ".join([first, *who[1:]]) + "."))
    if not instrument_is_unit:
        blocks.append(Block("paragraph", _w(
            lang, "Kết quả phiếu đoàn viên, hội viên được gia quyền theo số đoàn viên, hội viên của từng tổ chức, "
                  "theo giới tính và đảng viên, để đại diện cho toàn bộ đoàn viên, hội viên của Khối.",
            "Member answers are weighted to each organization's membership by sex and party membership, so that "
            "they represent all members of the bloc.")))
    if synthetic:
        blocks.append(Block("paragraph", _w(
            lang, "Lưu ý: số liệu trong báo cáo này là dữ liệu mô phỏng, dùng để thử quy trình; "
                  "không dùng để đánh giá thực tế.",
            "Note: the figures in this report are simulated data, made to test the process; "
            "they must not be used for a real assessment.")))
    return blocks


def _scorecard(run_dir: Path, lang: str, wave: str) -> list[Block]:
    card = _read(run_dir, "scorecard")
    if card is None or card.empty:
        return []
    has_members = "members" in card.columns and card["members"].notna().any()
    frame = pd.DataFrame({
        _w(lang, "Nhóm", "Group"): card["task_group"].astype(int).astype(str),
        _w(lang, "Nhóm nhiệm vụ", "Task group"): card["label"],
        _w(lang, "Đánh giá", "Verdict"): card["verdict_label"],
        _w(lang, "Chỉ tiêu (phiếu cơ sở)", "Targets (unit survey)"): card["targets"].fillna(""),
    })
    wrap: tuple[str, ...] = ("never", "words", "never", "comma")
    if has_members:
        frame[_w(lang, "Cảm nhận của đoàn viên, hội viên", "Members' views")] = card["members"].fillna("")
        wrap += ("comma",)
    counts = card["verdict"].value_counts()
    achieved, partly = int(counts.get("achieved", 0)), int(counts.get("partly", 0))
    other = len(card) - achieved - partly
    if lang == "vi":
        intro = (f"Trong sáu nhóm nhiệm vụ của Đề án, năm {wave} có {achieved} nhóm đạt, {partly} nhóm đạt một phần"
                 + (f" và {other} nhóm chưa đạt hoặc chưa kết luận được." if other else "."))
    else:
        intro = (f"In {wave}, {achieved} of the plan's six task groups {'was' if achieved == 1 else 'were'} "
                 f"achieved and {partly} partly achieved"
                 + (f"; {other} {'was' if other == 1 else 'were'} not achieved or inconclusive." if other else "."))
    rule = _w(lang, "Một nhóm đạt khi mọi chỉ tiêu của nhóm đạt ở mọi cơ sở và không thang đo cảm nhận nào của đoàn "
                    "viên, hội viên giảm; đạt một phần khi có chỉ tiêu đạt hoặc đạt một phần, hoặc có thang đo tăng "
                    "so với đợt đầu.",
              "A group is achieved when every target is met in every unit and no member scale fell; partly "
              "achieved when some target is met or partly met, or a member scale rose since the baseline.")
    return [Block("heading", _w(lang, "II. KẾT QUẢ THỰC HIỆN SÁU NHÓM NHIỆM VỤ", "II. THE SIX TASK GROUPS")),
            Block("paragraph", f"{intro} {rule}"),
            Block("table", _w(lang, f"Đánh giá sáu nhóm nhiệm vụ của Đề án, năm {wave}",
                              f"The plan's six task groups, {wave}"), table=frame, wrap=wrap,
                  source=_w(lang, "phiếu khảo sát cơ sở và phiếu đoàn viên, hội viên.", "unit and member surveys."))]


def _targets(run_dir: Path) -> pd.DataFrame | None:
    t = _read(run_dir, "scorecard_targets")
    if t is None or t.empty or not {"org", "variable", "n_met", "n_with_value"} <= set(t.columns):
        return None
    return t


def _count(c: pd.Series | None, lang: str) -> str:
    """A published "met/with a value" cell; "x" where it is withheld."""
    if c is None or bool(c.get("suppressed")) or pd.isna(c["n_met"]):
        return "x"
    return format_count(c["n_met"], c["n_with_value"], lang=lang)


def _org_changes(mine: pd.DataFrame, labels: Labels, lang: str) -> str:
    """"Đoàn viên, hội viên đánh giá cao hơn đợt đầu ở 4/12 thang đo" for one organization."""
    up = sum(_significant(r) and r["estimate"] > 0 for _, r in mine.iterrows())
    down = [_lower_first(labels.scales.get(r["variable"], r["variable"])) for _, r in mine.iterrows()
            if _significant(r) and r["estimate"] < 0]
    if lang == "vi":
        text = f"Đoàn viên, hội viên đánh giá cao hơn đợt đầu ở {up}/{len(mine)} thang đo"
        return text + (f", thấp hơn ở {len(down)} thang đo ({_join(down, lang)})" if down else "")
    text = f"Members rate {up} of {len(mine)} scales higher than at the baseline"
    return text + (f" and {len(down)} lower ({_join(down, lang)})" if down else "")


def _by_organization(run_dir: Path, labels: Labels, lang: str, wave: str) -> list[Block]:
    t = _targets(run_dir)
    if t is None:
        return []
    bloc = t[t["org"].isna()]
    orgs = [o for o in t["org"].dropna().unique()]
    rows = []
    for _, r in bloc.iterrows():
        first = _w(lang, "Chỉ tiêu của Đề án", "Target of the plan")
        row = {first: labels.indicators.get(r["variable"], r["variable"])}
        for org in orgs:
            cell = t[(t["org"] == org) & (t["variable"] == r["variable"])]
            row[labels.org(org)] = _count(cell.iloc[0] if len(cell) else None, lang)
        row[_w(lang, "Toàn Khối", "All")] = format_count(r["n_met"], r["n_with_value"], lang=lang)
        rows.append(row)
    frame = pd.DataFrame(rows)
    blocks = [Block("heading", _w(lang, "III. KẾT QUẢ THEO TỪNG TỔ CHỨC", "III. RESULTS BY ORGANIZATION")),
              Block("table", _w(lang, f"Số cơ sở đạt từng chỉ tiêu của Đề án theo tổ chức, năm {wave}",
                                f"Units meeting each target of the plan, by organization, {wave}"),
                    table=frame, wrap=("words",) + ("never",) * (len(frame.columns) - 1),
                    note=_w(lang, "số cơ sở đạt / số cơ sở có số liệu; x: không công bố vì dễ nhận ra cơ sở.",
                            "units meeting the target / units with a value; x: withheld, it would identify units."),
                    source=_w(lang, "phiếu khảo sát cơ sở; chỉ tiêu theo Đề án.", "unit survey; targets of the plan."))]
    changes = _read(run_dir, "changes_constructs_by_org")
    for org in orgs:
        own = t[(t["org"] == org) & t["n_met"].notna() & (t["n_with_value"] > 0)].copy()
        if own.empty:
            continue
        own["share"] = own["n_met"] / own["n_with_value"]
        n_full = int((own["share"] >= 1).sum())
        low = own[own["share"] < 1].nsmallest(2, "share")
        lag = [f"{_lower_first(labels.indicators.get(r['variable'], r['variable']))} "
               f"({format_count(r['n_met'], r['n_with_value'], lang=lang)} {_w(lang, 'cơ sở', 'units')})"
               for _, r in low.iterrows()]
        sentences = []
        if n_full:
            sentences.append(_w(lang, f"{n_full}/{len(own)} chỉ tiêu đạt ở mọi cơ sở",
                                f"{n_full} of {len(own)} targets are met in every unit"))
        if lag:
            sentences.append(_w(lang, f"Chậm nhất là {_join(lag, lang)}", f"Furthest behind: {_join(lag, lang)}"))
        if changes is not None and "org" in changes.columns:
            mine = changes[changes["org"] == org]
            if len(mine):
                sentences.append(_org_changes(mine, labels, lang))
        if sentences:
            blocks.append(Block("paragraph", f"{labels.org(org)}: " + ". ".join(sentences) + "."))
    return blocks


def _members_views(run_dir: Path, labels: Labels, lang: str, wave: str, baseline: str) -> list[Block]:
    overall = _read(run_dir, "changes_constructs_overall")
    indicators = _read(run_dir, "changes_indicators")
    blocks: list[Block] = []
    if overall is not None and len(overall):
        rng = labels.scale_range
        span = f"{format_number(rng[0], 0)}–{format_number(rng[1], 0)}" if rng else ""
        rose, fell, flat = [], [], []
        for _, r in overall.iterrows():
            name = _lower_first(labels.scales.get(r["variable"], r["variable"]))
            a, b = _points(r["estimate_a"], lang), _points(r["estimate_b"], lang)
            if not _significant(r):
                flat.append(name)
            elif r["estimate"] > 0:
                rose.append(_w(lang, f"{name} (từ {a} lên {b})", f"{name} (from {a} to {b})"))
            else:
                fell.append(_w(lang, f"{name} (từ {a} xuống {b})", f"{name} (from {a} to {b})"))
        text = []
        if rose:
            text.append(_w(lang, f"So với năm {baseline}, đoàn viên, hội viên đánh giá cao hơn rõ rệt ở {len(rose)} "
                                 f"thang đo: {_join(rose, lang)}.",
                           f"Compared with {baseline}, members rate {_n(len(rose), 'scale', 'scales')} clearly "
                           f"higher: {_join(rose, lang)}."))
        if fell:
            text.append(_w(lang, f"Thấp hơn rõ rệt ở {len(fell)} thang đo: {_join(fell, lang)}.",
                           f"Clearly lower on {_n(len(fell), 'scale', 'scales')}: {_join(fell, lang)}."))
        if flat:
            text.append(_w(lang, f"{len(flat)} thang đo chưa có chuyển biến rõ: {_join(flat, lang)}.",
                           f"{_n(len(flat), 'scale has', 'scales have')} not clearly moved: {_join(flat, lang)}."))
        if span:
            text.append(_w(lang, f"Các con số là điểm trung bình trên thang điểm {span}.",
                           f"Figures are mean scores on a {span} scale."))
        blocks.append(Block("paragraph", " ".join(text)))
    if indicators is not None and len(indicators):
        up, down = [], []
        moved = indicators[[_significant(r) for _, r in indicators.iterrows()]]
        n_up, n_down = int((moved["estimate"] > 0).sum()), int((moved["estimate"] < 0).sum())
        # the few clearest changes (largest test statistic, not printed); the rest are counted
        order = moved.assign(_rank=moved["z"].abs() if "z" in moved.columns else moved["estimate"].abs())
        for _, r in order.sort_values("_rank", ascending=False).iterrows():
            if len(up if r["estimate"] > 0 else down) >= _MAX_LAGGING + 1:
                continue
            a = r.get("level_a") if isinstance(r.get("level_a"), str) else _points(r["estimate_a"], lang)
            b = r.get("level_b") if isinstance(r.get("level_b"), str) else _points(r["estimate_b"], lang)
            name = _lower_first(labels.indicators.get(r["variable"], r["variable"]))
            (up if r["estimate"] > 0 else down).append(f"{name} ({a} → {b})")
        text = []
        if up:
            text.append(_w(lang, f"Ở phiếu cơ sở, so với năm {baseline}, {n_up} chỉ số tăng rõ rệt, rõ nhất là "
                                 f"{_join(up, lang)}.",
                           f"In the unit survey, compared with {baseline}, {_n(n_up, 'indicator', 'indicators')} "
                           f"rose clearly, most clearly {_join(up, lang)}."))
        if down:
            text.append(_w(lang, f"{n_down} chỉ số giảm rõ rệt, rõ nhất là {_join(down, lang)}.",
                           f"{_n(n_down, 'indicator', 'indicators')} fell clearly, most clearly {_join(down, lang)}."))
        rest = len(indicators) - n_up - n_down
        if rest:
            text.append(_w(lang, f"{rest} chỉ số còn lại chưa thay đổi rõ.",
                           "The other indicator has not clearly changed." if rest == 1 else
                           f"The other {rest} indicators have not clearly changed."))
        blocks.append(Block("paragraph", " ".join(text)))
    if blocks:
        heading = (_w(lang, "IV. CẢM NHẬN CỦA ĐOÀN VIÊN, HỘI VIÊN VÀ CHUYỂN BIẾN Ở CƠ SỞ",
                      "IV. MEMBERS' VIEWS AND CHANGE IN THE UNITS") if overall is not None
                   else _w(lang, "IV. CHUYỂN BIẾN Ở CƠ SỞ", "IV. CHANGE IN THE UNITS"))
        blocks.insert(0, Block("heading", heading))
    return blocks


def _dose_response(run_dir: Path, labels: Labels, lang: str) -> list[Block]:
    dose = _read(run_dir, "dose_response")
    if dose is None or dose.empty:
        return []
    pos, neg = [], []
    for _, r in dose.iterrows():
        if _significant(r):
            name = _lower_first(labels.scales.get(r["variable"], r["variable"]))
            size = _points(abs(r["estimate"]), lang)
            item = _w(lang, f"{name} (khoảng {size} điểm)", f"{name} (about {size} points)")
            (pos if r["estimate"] > 0 else neg).append(item)
    text = []
    if pos:
        text.append(_w(lang, "Ở những cơ sở thực hiện được nhiều chỉ tiêu của Đề án hơn, đoàn viên, hội viên đánh giá "
                             f"cao hơn về {_join(pos, lang)}; con số là chênh lệch giữa một cơ sở đạt mọi chỉ tiêu và "
                             "một cơ sở chưa đạt chỉ tiêu nào, trong cùng năm và cùng tổ chức.",
                       "Where units met more of the plan's targets, members rate higher "
                       f"{_join(pos, lang)}; each figure is the difference between a unit meeting every target and one "
                       "meeting none, in the same year and organization."))
    if neg:
        text.append(_w(lang, f"Ngược lại, đánh giá thấp hơn về {_join(neg, lang)}.",
                       f"Conversely, they rate lower {_join(neg, lang)}."))
    rest = len(dose) - len(pos) - len(neg)
    if rest:
        text.append(_w(lang, f"Ở {rest} thang đo còn lại không thấy mối liên hệ rõ.",
                       f"No clear association on the other {_n(rest, 'scale', 'scales')}."))
    text.append(_w(lang, "Đây là mối liên hệ, không phải bằng chứng Đề án là nguyên nhân: không có nhóm đối chứng, và "
                         "cơ sở thực hiện tốt có thể khác các cơ sở khác ở những điểm khác.",
                   "This is an association, not proof that the plan caused it: there is no control group, and units "
                   "that implement well may differ from the others in other ways."))
    return [Block("heading", _w(lang, "V. MỨC THỰC HIỆN ĐỀ ÁN VÀ CẢM NHẬN CỦA ĐOÀN VIÊN, HỘI VIÊN",
                                "V. IMPLEMENTATION AND MEMBERS' VIEWS")),
            Block("paragraph", " ".join(text))]


def _limits(facts: Mapping[str, Any], instrument_is_unit: bool, lang: str, k: int, number: str) -> list[Block]:
    parts = []
    if not instrument_is_unit and "members" in facts:
        share = format_percent(facts["members_answered"] / facts["members"], 0, lang=lang)
        parts.append(_w(lang, f"Phiếu đoàn viên, hội viên không ghi tên và mỗi năm hỏi lại những người khác nhau; "
                              f"{share} đoàn viên, hội viên trả lời, nên người không trả lời có thể nghĩ khác, dù kết "
                              "quả đã được gia quyền theo số đoàn viên, hội viên của từng tổ chức.",
                        f"The member survey is anonymous and asks different people each year; {share} of members "
                        "answered, so those who did not may think otherwise, although answers are weighted to each "
                        "organization's membership."))
    parts.append(_w(lang, "Phiếu cơ sở do ban chấp hành tự trả lời, chưa được đối chiếu với hồ sơ.",
                    "The unit survey is answered by each executive committee and has not been checked against "
                    "records."))
    parts.append(_w(lang, "Không có nhóm đối chứng, nên các thay đổi là những gì diễn ra trong thời gian thực hiện "
                          "Đề án, không tự nó chứng minh Đề án là nguyên nhân.",
                    "There is no control group: the changes are what happened while the plan was carried out, not by "
                    "themselves proof that the plan caused them."))
    parts.append(_w(lang, f"Số liệu của nhóm ít hơn {k} người hoặc {k} cơ sở không được công bố, để không nhận ra "
                          "được ai.",
                    f"Figures about fewer than {k} people or {k} units are withheld, so that nobody can be "
                    "identified."))
    parts.append(_w(lang, f"Phương pháp và toàn bộ các bảng số liệu có trong báo cáo kỹ thuật kèm theo{number}.",
                    f"The methods and every table are in the accompanying technical report{number}."))
    return [Block("heading", _w(lang, "VI. GIỚI HẠN CỦA ĐÁNH GIÁ", "VI. LIMITS OF THIS ASSESSMENT")),
            Block("paragraph", " ".join(parts))]


def _lagging_targets(bloc: pd.DataFrame, orgs: pd.DataFrame, labels: Labels, lang: str) -> list[str]:
    """K1: the targets with the smallest share of units meeting them, among those not met everywhere."""
    out = []
    for _, r in bloc[bloc["share"] < 1].nsmallest(_MAX_LAGGING, "share").iterrows():
        name = _lower_first(labels.indicators.get(r["variable"], r["variable"]))
        mine = orgs[orgs["variable"] == r["variable"]].nsmallest(1, "share")
        where = ""
        if len(mine):
            m = mine.iloc[0]
            there = format_count(m["n_met"], m["n_with_value"], lang=lang)
            where = _w(lang, f", trước hết ở {labels.org(m['org'])} ({there} cơ sở đạt)",
                       f", first in the {labels.org(m['org'])} ({there} units meet it)")
        missing = format_number(int(r["n_with_value"] - r["n_met"]), 0, lang=lang)
        met = format_count(r["n_met"], r["n_with_value"], lang=lang)
        out.append(_w(lang, f"Chỉ đạo {missing} cơ sở chưa đạt chỉ tiêu “{name}” (toàn Khối mới đạt {met} cơ sở)"
                            f"{where}.",
                      f"Direct the {missing} units that do not yet meet the target “{name}” (met in {met} units)"
                      f"{where}."))
    return out


def _lagging_organization(bloc: pd.DataFrame, orgs: pd.DataFrame, labels: Labels, lang: str) -> list[str]:
    """K2: the organization whose units met the smallest share of unit-target pairs, below the bloc's."""
    pooled = orgs.groupby("org")[["n_met", "n_with_value"]].sum()
    pooled["share"] = pooled["n_met"] / pooled["n_with_value"]
    whole = bloc["n_met"].sum() / bloc["n_with_value"].sum() if len(bloc) else math.nan
    worst = pooled["share"].idxmin()
    if not pooled.loc[worst, "share"] < whole:
        return []
    name, own = labels.org(worst), format_percent(pooled.loc[worst, "share"], 0, lang=lang)
    all_ = format_percent(whole, 0, lang=lang)
    return [_w(lang, f"Ban Thường vụ làm việc với ban chấp hành {name}: các cơ sở của tổ chức này đạt {own} lượt "
                     f"chỉ tiêu, thấp nhất trong ba tổ chức (toàn Khối {all_}).",
               f"The Standing Committee should meet the executive committee of the {name}: its units meet {own} of "
               f"the unit targets, the lowest of the three organizations (bloc: {all_}).")]


def _units_to_follow_up(run_dir: Path, n_targets: int, labels: Labels, lang: str) -> list[str]:
    """K3: units missing at least half of the targets with a value, counted per organization."""
    follow = _read(run_dir, "units_to_follow_up")
    if follow is None or not n_targets or not {"unit", "org", "reason"} <= set(follow.columns):
        return []
    missed = follow[follow["reason"] == "not_met"].groupby(["org", "unit"]).size()
    lagging = missed[missed >= math.ceil(n_targets / 2)]
    if not len(lagging):
        return []
    per_org = lagging.groupby(level="org").size()
    detail = _join([f"{format_number(int(v), 0, lang=lang)} {_w(lang, 'thuộc', 'in the')} {labels.org(o)}"
                    for o, v in per_org.items()], lang)
    return [_w(lang, f"Rà soát, hướng dẫn trực tiếp {len(lagging)} cơ sở chưa đạt từ một nửa số chỉ tiêu trở lên "
                     f"({detail}); danh sách cơ sở có trong báo cáo kỹ thuật.",
               f"Review and guide directly the {len(lagging)} units missing at least half of the targets "
               f"({detail}); the list is in the technical report.")]


def recommendations(run_dir: Path, labels: Labels, lang: str) -> list[str]:
    """The kiến nghị, by the rules K1–K5 of the module docstring, in order."""
    out: list[str] = []
    t = _targets(run_dir)
    if t is not None:
        known = t[t["n_met"].notna() & (t["n_with_value"] > 0)].copy()
        known["share"] = known["n_met"] / known["n_with_value"]
        bloc = known[known["org"].isna()]
        orgs = known[known["org"].notna()]
        out += _lagging_targets(bloc, orgs, labels, lang)                                     # K1
        if len(orgs):
            out += _lagging_organization(bloc, orgs, labels, lang)                            # K2
        out += _units_to_follow_up(run_dir, int(len(bloc)), labels, lang)                     # K3
    overall = _read(run_dir, "changes_constructs_overall")
    if overall is not None and len(overall):                                                 # K4
        still = overall[[not (_significant(r) and r["estimate"] > 0) for _, r in overall.iterrows()]]
        low = [_lower_first(labels.scales.get(v, v)) for v in still.nsmallest(_MAX_LAGGING, "estimate_b")["variable"]]
        if low:
            out.append(_w(lang, "Đổi mới nội dung, hình thức hoạt động ở những mặt đoàn viên, hội viên chưa thấy "
                                f"chuyển biến và đánh giá thấp nhất: {_join(low, lang)}.",
                          "Renew the content and forms of activities where members see no change and rate lowest: "
                          f"{_join(low, lang)}."))
    out.append(_w(lang, "Tiếp tục khảo sát hằng năm với cùng bộ phiếu để theo dõi chuyển biến và đánh giá kết quả "
                        "Đề án cuối giai đoạn.",
                  "Repeat both surveys every year with the same questionnaires, to follow the changes and assess the "
                  "plan at the end of the period."))
    return out


def board_document(run_dir: Path | str, params: Mapping[str, Any], letterhead: Letterhead, *, synthetic: bool,
                   unit_instrument: str | None = None, raw_dir: Path | str | None = None) -> BoardDocument:
    """The Board edition of the run in *run_dir*, in the run's language (``params['lang']``).

    Parameters
    ----------
    run_dir : path
        A run folder whose notebooks have written ``results/`` and ``tables/``.
    params : mapping
        The run's parameters (``instrument``, ``wave``, ``baseline_wave``, ``lang``, ``min_group_size``).
    letterhead : Letterhead
        The configured header and signature (`analysis.report.letterhead.load_letterhead`).
    synthetic : bool
        Demo data: said in the introduction and in every page header.
    unit_instrument : str, optional
        The unit survey of a member report (its indicators' labels); None for the unit report.
    raw_dir : path, optional
        Where the waves' ``wave.yaml`` live (fieldwork dates); `analysis.config.RAW_DIR` by default.
    """
    from analysis import config

    run_dir = Path(run_dir)
    lang = params.get("lang") if params.get("lang") in ("vi", "en") else "vi"
    instrument, wave = str(params["instrument"]), str(params["wave"])
    baseline = str(params.get("baseline_wave") or (params.get("waves") or [wave])[0])
    is_unit = unit_instrument is None or unit_instrument == instrument
    labels = labels_for(instrument, None if is_unit else unit_instrument, lang)
    raw = Path(raw_dir or config.RAW_DIR)
    facts: dict[str, Any] = _response_counts(run_dir, wave)
    facts["member_fieldwork"] = None if is_unit else _fieldwork(raw, instrument, wave, lang)
    facts["unit_fieldwork"] = _fieldwork(raw, instrument if is_unit else str(unit_instrument), wave, lang)
    k = int(params.get("min_group_size") or 5)
    number = ""
    blocks = (_introduction(letterhead, facts, is_unit, lang, wave, baseline, synthetic)
              + _scorecard(run_dir, lang, wave)
              + _by_organization(run_dir, labels, lang, wave)
              + _members_views(run_dir, labels, lang, wave, baseline)
              + ([] if is_unit else _dose_response(run_dir, labels, lang))
              + _limits(facts, is_unit, lang, k, number))
    blocks = _renumber(blocks)
    recs = recommendations(run_dir, labels, lang)
    blocks.append(Block("heading", _roman(sum(b.kind == "heading" for b in blocks) + 1)
                        + _w(lang, "KIẾN NGHỊ", "RECOMMENDATIONS")))
    blocks.append(Block("bullets", items=tuple(recs)))
    survey = _w(lang, "khảo sát cơ sở" if is_unit else "khảo sát", "unit survey" if is_unit else "surveys")
    subject = _w(lang, f"Kết quả {survey} năm {wave} về việc thực hiện Đề án số {no_break(letterhead.plan_symbol)}",
                 f"Results of the {wave} {survey} on carrying out Plan {no_break(letterhead.plan_symbol)}")
    return BoardDocument(lang, letterhead, _w(lang, "BÁO CÁO", "REPORT"), subject, tuple(blocks), synthetic, facts)


_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def _roman(n: int) -> str:
    return f"{_ROMAN[n - 1]}. "


def _renumber(blocks: list[Block]) -> list[Block]:
    """Number the headings I., II., … in the order they appear (a section may be absent)."""
    out, n = [], 0
    for b in blocks:
        if b.kind == "heading":
            n += 1
            text = b.text.split(". ", 1)[1] if ". " in b.text[:6] else b.text
            b = Block("heading", _roman(n) + text)
        out.append(b)
    return out
