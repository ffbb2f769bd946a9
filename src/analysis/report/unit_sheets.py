"""Every unit's own feedback sheet (issue #16): ``python -m analysis unit-sheets --wave 2025``.

One two-page A4 sheet per grassroots unit and wave (DOCX and PDF, Vietnamese by default), cut
from `analysis.study.unit_sheets`: the unit's status on each requirement of the plan due, its
quarter within its organization (no other unit named), its trend across waves, its members'
scores beside its organization's only where they are safe together with every other sheet and
report, and two or three rule-based suggestions.

How the 103 sheets are made fast: the notebook ``notebooks/sheets/unit_sheet.ipynb`` renders a
*batch* of units per execution (parameter ``units``), so the expensive parts — a kernel start,
loading the waves, protecting every wave's unit scores as one table, one LibreOffice start for
the PDFs — are paid once per batch, not once per unit; ``--jobs`` batches run in parallel
(papermill through `analysis.report.execute.execute_notebook`). A researcher opens the same
notebook with one unit. Building the DOCX in the command's own process would save the kernel
start, but the notebook is the place a researcher follows a sheet's numbers to their source,
and with batches the kernel start is a few seconds of the total.

Guarantees (as the main report's, through the same helpers):

* **atomic**: the sheets are written to ``reports/.tmp-unit-sheets.<wave>.<lang>.*`` and
  promoted to ``reports/unit-sheets/<wave>/<lang>/`` (`analysis.report.publish.promote`) only
  when every sheet, the index and the audit succeeded; a failed run goes to ``.failed/``;
* **audited**: the whole-report attacker (`analysis.disclosure.audit_report`, with the frame's
  public member counts as weights) attacks the union of the sheets of every wave they show and
  the member and unit reports of the same and earlier waves found under ``reports/``;
* **reused**: a rerun whose inputs (data, frame, instruments, notebook, study.yaml, code,
  packages, parameters) are unchanged reuses the folder; otherwise a sheet whose content hash
  is unchanged is copied from the previous folder (no LibreOffice run for it).

Folder: ``<unit>.docx``, ``<unit>.pdf``, ``index.xlsx`` (for the committee: one row per unit),
``tables/unit_scores_<wave>.csv`` (the union of the score cells the sheets print, for the
attacker), ``notebooks/unit_sheet-<batch>.ipynb`` (executed) and ``manifest.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from analysis import config, project
from analysis.report.console import say
from analysis.report.errors import DisclosureAuditError, ReportError
from analysis.report.manifest import MANIFEST_NAME, now, read_manifest, stamp, write_json
from analysis.report.tables import format_interval, format_number, write_csv
from analysis.report.xlsx import write_xlsx

__all__ = ["INSTRUMENT", "NOTEBOOK", "sheet_hash", "render_docx", "render_sheets", "write_score_tables",
           "write_index", "audit_sheets", "run_unit_sheets", "register"]

#: The name the sheets use for the lock, the tmp folders and ``reports/<INSTRUMENT>/``.
INSTRUMENT = "unit-sheets"
#: The notebook that renders a batch of sheets, relative to the notebooks folder.
NOTEBOOK = Path("sheets") / "unit_sheet.ipynb"

_RENDER_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _w(lang: str, vi: str, en: str) -> str:
    return vi if lang == "vi" else en


def sheet_hash(content: Mapping[str, Any]) -> str:
    """sha256 of a sheet's content and of this renderer's code: equal hashes, equal sheets."""
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((blob + _RENDER_CODE).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------- the DOCX


def _setup(doc: Any) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(20), Mm(18), Mm(30), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Times New Roman", Pt(12)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), "Times New Roman")
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.space_before = Pt(0)


def _para(doc: Any, text: str = "", *, bold: bool = False, italic: bool = False, size: float | None = None,
          align: str | None = None, color: tuple[int, int, int] | None = None, space_before: float = 0) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    p = doc.add_paragraph()
    run = p.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)
    if color:
        run.font.color.rgb = RGBColor(*color)
    if align:
        p.alignment = {"center": WD_ALIGN_PARAGRAPH.CENTER, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}[align]
    if space_before:
        p.paragraph_format.space_before = Pt(space_before)
    return p


def _table(doc: Any, header: Sequence[str], rows: Sequence[Sequence[str]], widths_cm: Sequence[float],
           *, size: float = 10.5) -> Any:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    t = doc.add_table(rows=1 + len(rows), cols=len(header))
    t.style = "Table Grid"
    t.autofit = False
    layout = OxmlElement("w:tblLayout")  # fixed: LibreOffice keeps the widths instead of sharing equally
    layout.set(qn("w:type"), "fixed")
    t._tbl.tblPr.append(layout)
    for j, w in enumerate(widths_cm):
        t.columns[j].width = Cm(w)
    for i, row in enumerate([header, *rows]):
        for j, text in enumerate(row):
            cell = t.cell(i, j)
            cell.width = Cm(widths_cm[j])
            p = cell.paragraphs[0]
            run = p.add_run(str(text))
            run.font.size = Pt(size)
            run.bold = i == 0
            p.paragraph_format.space_after = Pt(0)
    return t


def _cell_text(cell: Mapping | None, lang: str, *, interval: bool = True) -> str:
    if not cell:
        return "—"
    if not cell["shown"]:
        return cell["note"] or "x"
    text = format_number(cell["estimate"], 2, lang=lang)
    return f"{text} ({format_interval(cell['ci_low'], cell['ci_high'], 2, lang=lang)})" if interval else text


def render_docx(content: Mapping[str, Any], path: str | Path) -> Path:
    """Write one unit's sheet (two A4 pages) from `analysis.study.sheet_content`'s dict."""
    import docx
    from docx.enum.text import WD_BREAK

    c, lang = content, content["lang"]
    doc = docx.Document()
    _setup(doc)
    props = doc.core_properties
    props.title = _w(lang, f"Phiếu phản hồi {c['unit']} đợt {c['wave']}",
                     f"Feedback sheet {c['unit']} wave {c['wave']}")
    props.author = "analysis"
    if c["synthetic"]:
        _para(doc, _w(lang, "DỮ LIỆU MÔ PHỎNG — không phải kết quả khảo sát thật",
                      "SYNTHETIC DATA — not real survey results"), bold=True, align="center", color=(0xC0, 0, 0))
    _para(doc, _w(lang, "PHIẾU PHẢN HỒI KẾT QUẢ THỰC HIỆN ĐỀ ÁN 04-ĐA/ĐUK",
                  "FEEDBACK SHEET ON PLAN 04-ĐA/ĐUK"), bold=True, size=14, align="center")
    _para(doc, f"{c['name']} ({c['unit']}) — {c['org_label']} — "
               f"{_w(lang, 'đợt khảo sát', 'survey wave')} {c['wave']}", bold=True, align="center")
    _para(doc, _w(lang, "Phiếu này chỉ nói về cơ sở của đồng chí; không nêu tên cơ sở nào khác.",
                  "This sheet is about your unit only; it names no other unit."), italic=True, size=11, align="center")

    # 1. requirements
    _para(doc, _w(lang, "1. Các yêu cầu của Đề án đối với cơ sở", "1. The plan's requirements for the unit"),
          bold=True, space_before=6)
    reqs = c["requirements"]
    if reqs:
        rows = [[str(r["task_group"]), r["label"], r["target_text"], str(r["target_year"]), r["value_text"],
                 r["status_label"]] for r in reqs]
        _table(doc, [_w(lang, "Nhóm", "Group"), _w(lang, "Yêu cầu", "Requirement"), _w(lang, "Mục tiêu", "Target"),
                     _w(lang, "Năm phải đạt", "Due"), _w(lang, "Cơ sở báo cáo", "Reported"),
                     _w(lang, "Tình trạng", "Status")], rows, [1.4, 6.4, 3.2, 1.3, 2.0, 2.2], size=10)
    _para(doc, _w(lang, "Nguồn: phiếu khảo sát cơ sở do cấp ủy, ban chấp hành cơ sở báo cáo; yêu cầu và năm "
                        "phải đạt theo Đề án 04-ĐA/ĐUK. “Không thuộc diện”: cơ sở không có số liệu cho yêu cầu này.",
                  "Source: the unit survey reported by the unit's committee; requirements and due years of "
                  "Plan 04-ĐA/ĐUK. “Does not apply”: the unit reported no value for it."), italic=True, size=10)

    # 2. standing
    _para(doc, _w(lang, "2. Vị trí của cơ sở trong tổ chức", "2. Where the unit stands in its organization"),
          bold=True, space_before=6)
    st = c["standing"]
    if st["n_due"]:
        _para(doc, _w(lang,
                      f"Cơ sở đạt {st['n_met']}/{st['n_due']} yêu cầu đến hạn, thuộc nhóm một phần tư thứ "
                      f"{st['quarter']} (1 là nhóm tốt nhất) trong {st['n_units_org']} cơ sở của "
                      f"{c['org_label']}. Phiếu chỉ cho biết nhóm, không xếp hạng và không nêu cơ sở khác.",
                      f"The unit met {st['n_met']} of {st['n_due']} requirements due and is in quarter "
                      f"{st['quarter']} (1 is the best) of the {st['n_units_org']} units of {c['org_label']}. "
                      "The sheet gives the quarter only: no rank, no other unit."), align="justify")
    else:
        _para(doc, _w(lang, "Cơ sở chưa gửi phiếu khảo sát cơ sở đợt này nên chưa xác định được vị trí.",
                      "The unit did not return the unit survey this wave, so it has no standing."))

    # 3. trend
    _para(doc, _w(lang, "3. Kết quả qua các đợt", "3. Across waves"), bold=True, space_before=6)
    rows = [[t["wave"],
             f"{t['n_met']}/{t['n_due']}" if t["n_due"] else _w(lang, "chưa báo cáo", "not reported"),
             str(t["quarter"]) if t["quarter"] else "—"] for t in c["trend"]]
    _table(doc, [_w(lang, "Đợt", "Wave"), _w(lang, "Số yêu cầu đạt/đến hạn", "Requirements met/due"),
                 _w(lang, "Nhóm một phần tư trong tổ chức", "Quarter in the organization")], rows, [2.0, 6.0, 8.5])
    _para(doc, _w(lang, "Số yêu cầu đến hạn tăng dần theo lộ trình của Đề án, nên tỷ lệ giữa các đợt không hoàn "
                        "toàn so sánh được.",
                  "More requirements fall due as the plan goes on, so the waves are not fully comparable."),
          italic=True, size=10)

    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # 4. members' scores
    _para(doc, _w(lang, "4. Ý kiến của đoàn viên, hội viên cơ sở", "4. What the unit's members say"), bold=True)
    if c["scores_shown"]:
        waves = c["waves"]
        earlier = waves[:-1][-2:]
        header = [_w(lang, "Thang đo", "Scale"), *earlier,
                  f"{_w(lang, 'Cơ sở', 'Unit')} {c['wave']} ({_w(lang, 'KTC 95%', '95% CI')})",
                  f"{c['org_label']} {c['wave']}"]
        rows = [[s["label"],
                 *[_cell_text(s["waves"].get(w, {}).get("unit"), lang, interval=False) for w in earlier],
                 _cell_text(s["waves"].get(c["wave"], {}).get("unit"), lang),
                 _cell_text(s["waves"].get(c["wave"], {}).get("org"), lang)] for s in c["scores"]]
        _table(doc, header, rows, [6.2 + 1.3 * (2 - len(earlier)), *[1.3] * len(earlier), 3.85, 3.85], size=10)
        _para(doc, _w(lang,
                      f"Thang điểm 1–5; {c['respondents']} đoàn viên, hội viên của cơ sở trả lời đợt {c['wave']}. "
                      "Điểm là ước lượng trực tiếp theo thiết kế mẫu (trọng số hiệu chỉnh theo khung tổng thể), "
                      "không co về điểm trung bình của tổ chức. “x”: ẩn để không suy ra được điểm của một nhóm "
                      f"dưới {c['k']} người; “n<{c['k']}”: ít hơn {c['k']} người trả lời.",
                      f"1–5 scale; {c['respondents']} of the unit's members answered in {c['wave']}. Scores are "
                      "direct design-based estimates (weights calibrated to the frame), not shrunk towards the "
                      f"organization's mean. “x”: withheld so that no group of fewer than {c['k']} can be derived; "
                      f"“n<{c['k']}”: fewer than {c['k']} answered."), italic=True, size=10, align="justify")
        if c["interval_words"]:
            _para(doc, c["interval_words"], bold=True, size=11)
    else:
        _para(doc, c["scores_hidden_reason"], align="justify")

    # 5. suggestions
    _para(doc, _w(lang, "5. Gợi ý cho cơ sở", "5. Suggestions"), bold=True, space_before=6)
    for s in c["suggestions"]:
        _para(doc, f"– {s}", align="justify")
    _para(doc, _w(lang, "Gợi ý lập theo quy tắc, tối đa ba: trước hết mỗi yêu cầu chưa đạt (theo thứ tự nhóm nhiệm "
                        "vụ của Đề án) cho một gợi ý, cơ sở chưa báo cáo được nhắc gửi phiếu; còn chỗ thì nêu thang "
                        "đo mà cả khoảng tin cậy của cơ sở thấp hơn điểm chung của tổ chức.",
                  "Suggestions follow a rule, at most three: first one per unmet requirement in the plan's order "
                  "(a unit that did not report is asked to); then the scales on which the unit's whole interval "
                  "lies below its organization's score."), italic=True, size=10)
    _para(doc, _w(lang, f"Bảo vệ người trả lời: không công bố số liệu nào của nhóm dưới {c['k']} người; "
                        "các phiếu phản hồi được kiểm tra cùng nhau và cùng các báo cáo chung để không suy ra "
                        "được số liệu bị ẩn.",
                  f"Respondents are protected: nothing about fewer than {c['k']} is published; all sheets are "
                  "checked together with the general reports so that no hidden figure can be derived."),
          italic=True, size=10, space_before=6)
    path = Path(path)
    doc.save(path)
    return path


# ------------------------------------------------------------------------- batches


def _previous_records(previous_dir: str | Path | None) -> dict[str, dict]:
    if not previous_dir:
        return {}
    manifest = read_manifest(Path(previous_dir)) or {}
    return {r["unit"]: r for r in manifest.get("sheets", [])}


def render_sheets(contents: Sequence[Mapping[str, Any]], output_dir: str | Path, *, batch: str = "1",
                  previous_dir: str | Path | None = None, pdf: bool = True) -> pd.DataFrame:
    """Render the sheets of *contents* (`analysis.study.sheet_contents`) into *output_dir* (DOCX,
    then one LibreOffice start for the PDFs).

    A sheet whose content hash equals the one recorded in *previous_dir*'s manifest is copied
    from there. The batch's records go to ``output_dir/.batches/<batch>.json`` for the command.

    Returns
    -------
    DataFrame
        ``[unit, org, hash, reused, scores_shown, n_met, n_due, quarter]``, one row per unit.
    """
    from analysis.report.pdf import docx_to_pdf

    out = Path(output_dir)
    previous = _previous_records(previous_dir)
    records, fresh = [], []
    for content in contents:
        unit = content["unit"]
        digest = sheet_hash(content)
        old = previous.get(unit)
        src = Path(previous_dir) if previous_dir else None
        reused = bool(old and old.get("hash") == digest and src is not None
                      and (src / f"{unit}.docx").is_file() and (not pdf or (src / f"{unit}.pdf").is_file()))
        if reused:
            for ext in (("docx", "pdf") if pdf else ("docx",)):
                shutil.copy2(src / f"{unit}.{ext}", out / f"{unit}.{ext}")
        else:
            fresh.append(render_docx(content, out / f"{unit}.docx"))
        st = content["standing"]
        records.append({"unit": unit, "org": content["org"], "name": content["name"], "hash": digest,
                        "reused": reused, "scores_shown": content["scores_shown"], "n_met": st["n_met"],
                        "n_due": st["n_due"], "quarter": st["quarter"], "n_units_org": st["n_units_org"],
                        "not_met": sum(r["status"] == "not_met" for r in content["requirements"])})
    if pdf and fresh:
        docx_to_pdf(fresh)
    (out / ".batches").mkdir(exist_ok=True)
    (out / ".batches" / f"{batch}.json").write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n",
                                                    encoding="utf-8")
    return pd.DataFrame(records)


def write_score_tables(ctx: Any, output_dir: str | Path) -> list[Path]:
    """``tables/unit_scores_<wave>.csv``: every score cell the sheets print, per wave (for the attacker)."""
    folder = Path(output_dir) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for wave, pt in ctx.scores.items():
        t = pt.table.drop(columns=["display"])
        paths.append(write_csv(t, folder / f"unit_scores_{wave}.csv"))
    return paths


def write_index(records: pd.DataFrame, path: str | Path, *, lang: str) -> Path:
    """``index.xlsx`` for the committee: one row per sheet (code, name, organization, requirements,
    quarter, whether member scores are shown, the files)."""
    r = records.sort_values("unit")
    df = pd.DataFrame({
        _w(lang, "Mã cơ sở", "Unit code"): r["unit"],
        _w(lang, "Tên cơ sở", "Unit"): r["name"],
        _w(lang, "Tổ chức", "Organization"): r["org"],
        _w(lang, "Yêu cầu đạt", "Requirements met"): r["n_met"],
        _w(lang, "Yêu cầu đến hạn", "Requirements due"): r["n_due"],
        _w(lang, "Yêu cầu chưa đạt", "Not met"): r["not_met"],
        _w(lang, "Nhóm một phần tư", "Quarter"): r["quarter"],
        _w(lang, "Có điểm của đoàn viên, hội viên", "Member scores shown"):
            r["scores_shown"].map({True: _w(lang, "có", "yes"), False: _w(lang, "không", "no")}),
        "DOCX": r["unit"] + ".docx",
        "PDF": r["unit"] + ".pdf",
    })
    return write_xlsx(df, path, sheet_name=_w(lang, "Danh sách phiếu", "Sheets"))


# ---------------------------------------------------------------------------- audit


def audit_sheets(sheets_dir: str | Path, report_dirs: Sequence[str | Path] = (), *, policy: Any = None,
                 population_dir: Path | None = None, replace: Mapping[str, pd.DataFrame] | None = None,
                 wave: str | None = None) -> pd.DataFrame:
    """The whole-report attacker on the union of the sheets and the reports in *report_dirs*.

    Every table of every report is renamed ``<report folder>/<table>`` so that the same table of
    two reports stays two tables; the frame's member counts weigh the weighted means
    (`analysis.disclosure.find_disclosures` ``frame_sizes``). Returns the findings (empty: safe).
    """
    from analysis import disclosure
    from analysis.instruments import population

    units = population.load_units(population_dir)
    hierarchy = units[["unit_id", "org"]].rename(columns={"unit_id": "unit"})
    sizes = units.set_index("unit_id")["members"].astype(float)
    extra = []
    for d in report_dirs:
        d = Path(d)
        tag = "/".join(d.parts[-3:])
        rt = disclosure.report_tables(d)
        extra += [(f"{tag}/{name}", df, by) for name, df, by in rt.tables]
    return disclosure.audit_report(sheets_dir, hierarchy, policy=policy, extra=extra, replace=replace, wave=wave,
                                   frame_sizes=sizes)


def _published_reports(reports_root: Path, wave: str, lang: str) -> list[Path]:
    """Member and unit reports of *wave* and earlier waves in *lang* (complete ones only)."""
    out = []
    for instrument in ("member", "unit"):
        folder = reports_root / instrument
        if not folder.is_dir():
            continue
        for wdir in sorted(folder.iterdir()):
            d = wdir / lang
            if wdir.name <= wave and (d / "tables").is_dir() and (read_manifest(d) or {}).get("status") == "complete":
                out.append(d)
    return out


# --------------------------------------------------------------------------- the run


def _cache_key(wave: str, waves: Sequence[str], parameters: Mapping[str, Any], dirs: Mapping[str, Path]) -> str:
    from analysis.report.inputs import collect_inputs, compute_cache_key, package_versions, sha256

    inputs = collect_inputs(["member", "unit"], waves, [], notebooks_dir=dirs["notebooks_dir"],
                            processed_dir=dirs["processed_dir"], population_dir=dirs["population_dir"],
                            surveys_dir=dirs["surveys_dir"], study_file=dirs["study_file"])
    inputs.append({"role": "notebook", "path": NOTEBOOK.as_posix(), "sha256": sha256(dirs["notebooks_dir"] / NOTEBOOK)})
    inputs.append({"role": "policy", "path": "disclosure.yaml", "sha256": sha256(config.DISCLOSURE_POLICY_FILE)})
    return compute_cache_key(inputs, parameters, package_versions())


def run_unit_sheets(wave: str, *, units: Sequence[str] | None = None, lang: str = "vi", jobs: int = 2,
                    force: bool = False, progress: bool = True, pdf: bool = True, audit: bool = True,
                    min_group_size: int | None = None, reports_root: Path | None = None,
                    notebooks_dir: Path | None = None, processed_dir: Path | None = None,
                    population_dir: Path | None = None, surveys_dir: Path | None = None,
                    study_file: Path | None = None) -> Path:
    """Render the sheets of *wave* (all units, or *units*) and publish them atomically; return the folder."""
    from tqdm import tqdm

    from analysis import disclosure
    from analysis.ingest import waves as waves_mod
    from analysis.instruments import population
    from analysis.report.execute import check_kernel, execute_notebook, kill_kernels
    from analysis.report.pipeline import Step
    from analysis.report.publish import keep_failed, promote, resolve_inside_reports, run_lock, tidy_leftovers

    dirs = {"notebooks_dir": Path(notebooks_dir or config.NOTEBOOKS_DIR),
            "processed_dir": Path(processed_dir or config.PROCESSED_DIR),
            "population_dir": Path(population_dir or config.POPULATION_DIR),
            "surveys_dir": Path(surveys_dir or config.SURVEYS_DIR),
            "study_file": Path(study_file or project.STUDY_FILE)}
    root = Path(reports_root or config.REPORTS_DIR)
    config.check_id(wave, "wave")
    imported = waves_mod.list_waves("member", processed_dir=dirs["processed_dir"])
    if wave not in imported:
        raise ReportError(f"wave {wave!r} of the member survey is not imported (imported: {imported})")
    waves = [w for w in imported if w <= wave]
    frame_units = sorted(population.load_units(dirs["population_dir"])["unit_id"].astype(str))
    wanted = sorted(dict.fromkeys(units)) if units else frame_units
    unknown = [u for u in wanted if u not in frame_units]
    if unknown:
        raise ValueError(f"--unit {', '.join(unknown)}: not in the population frame "
                         f"({dirs['population_dir'] / 'units.csv'})")
    k = disclosure.load_policy(k=min_group_size).k if min_group_size is not None else disclosure.load_policy().k
    parameters = {"instrument": "member", "wave": wave, "waves": waves, "lang": lang, "min_group_size": k,
                  "pdf": pdf}
    final = root / INSTRUMENT / wave / lang
    root.mkdir(parents=True, exist_ok=True)
    started = now()
    t0 = time.perf_counter()
    with run_lock(root, INSTRUMENT, wave, lang):
        tidy_leftovers(final, root, INSTRUMENT, wave, lang)
        key = _cache_key(wave, waves, parameters, dirs)
        old = read_manifest(final) or {}
        have = {r["unit"] for r in old.get("sheets", [])}
        if not force and old.get("cache_key") == key and set(wanted) <= have and old.get("status") == "complete":
            say(f"unit sheets {wave} ({lang}): inputs unchanged, reusing {final}")
            return final
        check_kernel()
        run_dir = resolve_inside_reports(root / f".tmp-{INSTRUMENT}.{wave}.{lang}.{stamp(started)}.{os.getpid()}", root)
        run_dir.mkdir(parents=True)
        try:
            # units not asked for keep their sheet from the previous folder, if the inputs are the same
            carried = []
            if units and old.get("cache_key") == key:
                for r in old.get("sheets", []):
                    if r["unit"] not in wanted:
                        for ext in ("docx", "pdf"):
                            if (final / f"{r['unit']}.{ext}").is_file():
                                shutil.copy2(final / f"{r['unit']}.{ext}", run_dir / f"{r['unit']}.{ext}")
                        carried.append(r)
            n_batches = max(1, min(jobs, len(wanted)))
            batches = [wanted[i::n_batches] for i in range(n_batches)]
            (run_dir / "notebooks").mkdir()
            bar = tqdm(total=len(wanted), desc=f"unit sheets {wave} {lang}", unit="sheet", disable=not progress)

            def run_batch(i: int) -> None:
                bdir = run_dir / f".batch-{i + 1}"
                (bdir / "notebooks").mkdir(parents=True)
                params = {**parameters, "units": batches[i], "batch": str(i + 1), "output_dir": str(run_dir),
                          "previous_dir": str(final) if final.is_dir() and not force else "",
                          "write_tables": i == 0}
                execute_notebook(Step("unit_sheet"), dirs["notebooks_dir"] / NOTEBOOK.parent, bdir, params, jobs=n_batches)
                os.replace(bdir / "notebooks" / "unit_sheet.ipynb", run_dir / "notebooks" / f"unit_sheet-{i + 1}.ipynb")
                shutil.rmtree(bdir)
                bar.update(len(batches[i]))

            pool = ThreadPoolExecutor(max_workers=n_batches, thread_name_prefix="unit-sheets")
            futures = [pool.submit(run_batch, i) for i in range(n_batches)]
            try:
                for f in futures:
                    f.result()
            except BaseException:
                # kernels run in their own session and miss the terminal's Ctrl-C: stop them first
                pool.shutdown(wait=False, cancel_futures=True)
                while any(not f.done() for f in futures):
                    kill_kernels()
                    wait(futures, timeout=0.5)
                raise
            finally:
                pool.shutdown(wait=True)
                bar.close()
            records = pd.DataFrame(carried + [r for p in sorted((run_dir / ".batches").glob("*.json"))
                                              for r in json.loads(p.read_text(encoding="utf-8"))])
            shutil.rmtree(run_dir / ".batches")
            missing = [u for u in wanted if not (run_dir / f"{u}.docx").is_file()
                       or (pdf and not (run_dir / f"{u}.pdf").is_file())]
            if missing:
                raise ReportError(f"unit sheets {wave}: no sheet was written for {missing}")
            write_index(records, run_dir / "index.xlsx", lang=lang)
            if audit:
                found = audit_sheets(run_dir, _published_reports(root, wave, lang), policy=disclosure.load_policy(k=k),
                                     population_dir=dirs["population_dir"], wave=wave)
                if len(found):
                    raise DisclosureAuditError(
                        f"unit sheets {wave}: {len(found)} hidden value(s) can be recovered from the sheets and the "
                        f"reports together:\n{found.head(20).to_string()}")
            seconds = round(time.perf_counter() - t0, 1)
            write_json(run_dir / MANIFEST_NAME, {
                "status": "complete", "instrument": INSTRUMENT, "wave": wave, "lang": lang, "cache_key": key,
                "parameters": parameters, "started_at": started.isoformat(), "ended_at": now().isoformat(),
                "duration_s": seconds, "batches": n_batches,
                "sheets": records.sort_values("unit").to_dict("records")})
            promote(run_dir, final, root, INSTRUMENT, wave, lang)
        except BaseException:
            if run_dir.exists():
                kept = keep_failed(run_dir, root, INSTRUMENT, wave, lang, stamp(started))
                say(f"unit sheets {wave} ({lang}) failed; the run is kept in {kept}")
            raise
    n_reused = int(records["reused"].sum()) if "reused" in records else 0
    say(f"unit sheets {wave} ({lang}): {len(wanted)} sheet(s) in {seconds} s ({n_reused} unchanged, reused) → {final}")
    return final


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``unit-sheets`` sub-command (see `analysis.cli`)."""
    p = subparsers.add_parser(
        "unit-sheets", help="one two-page feedback sheet per unit (DOCX, PDF) and an index",
        description="Render every unit's feedback sheet for a wave into reports/unit-sheets/<wave>/<lang>/ "
                    "(<unit>.docx, <unit>.pdf, index.xlsx), atomically, audited together with the reports.")
    p.add_argument("--wave", metavar="WAVE", help="wave id, e.g. 2025 (default: the latest imported member wave)")
    p.add_argument("--unit", dest="units", nargs="+", metavar="CODE", help="only these units (default: all)")
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="language (default vi)")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="batches rendered in parallel (default 2)")
    p.add_argument("--min-group-size", type=int, metavar="N", help="k (default from config/disclosure.yaml)")
    p.add_argument("--force", action="store_true", help="render every sheet again")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    from analysis.ingest import waves as waves_mod

    imported = waves_mod.list_waves("member")
    if not args.wave and not imported:
        say("error: no member wave is imported (python -m analysis demo writes the demo waves)")
        return 2
    try:
        run_unit_sheets(args.wave or imported[-1], units=args.units, lang=args.lang, jobs=args.jobs, force=args.force,
                        progress=not args.no_progress, min_group_size=args.min_group_size)
    except ReportError as exc:
        say(f"error: {exc}")
        return 1
    return 0
