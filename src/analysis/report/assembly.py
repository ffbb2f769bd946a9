"""Assembling a report: one self-contained HTML page (and one per notebook), the DOCX, the Board
edition (board.docx) and a PDF of every DOCX.

The HTML shows the executed notebooks' outputs and markdown (inputs and prompts hidden), with a
table of contents, tables and figures numbered through the whole report, every image embedded
and no reference to another host (`make_offline`): the page opens the same without a network.
"""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path
from typing import Any, Mapping, Sequence

from analysis.report.errors import ReportError
from analysis.report.parameters import LANGUAGES

__all__ = ["assemble", "make_offline", "instrument_title", "write_board_and_pdfs", "DOCUMENTS_FILE"]

_TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# The synthetic-data banner is the technical report's (`analysis.report.docx_report.BANNERS`): the
# page and the DOCX say the same, each in the report's language only.
_TITLES = {
    "vi": {"title": "BÁO CÁO KẾT QUẢ KHẢO SÁT", "wave": "Đợt khảo sát năm {wave}", "toc": "Mục lục"},
    "en": {"title": "SURVEY REPORT", "wave": "Survey wave {wave}", "toc": "Contents"},
}
_HEADING = re.compile(r"<h([1-6])(\s[^>]*)?>(.*?)</h\1>", re.S | re.I)
_ANCHOR_LINK = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)
_TAG = re.compile(r"<[^>]+>")
_EXTERNAL = r"""(?:https?:)?//"""
# Remote resources a browser would fetch when the page opens (nbconvert's templates add
# require.js, MathJax and fonts from CDNs; notebook outputs may add more).
_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc\s*=\s*['\"]?" + _EXTERNAL + r"[^>]*>.*?</script\s*>", re.S | re.I)
_LINK_HREF = re.compile(r"<link\b[^>]*\bhref\s*=\s*['\"]?" + _EXTERNAL + r"[^>]*>", re.I)
_SRC_TAG = re.compile(r"<(img|iframe|video|audio|source|embed|input|track)\b[^>]*\b(?:src|srcset|poster)\s*=\s*['\"]?"
                      + _EXTERNAL + r"[^>]*>", re.I)
_A_HREF = re.compile(r"(<a\b[^>]*?)\bhref(\s*=\s*['\"]?" + _EXTERNAL + r")", re.I)
_CSS_URL = re.compile(r"(@import\s+)?url\(\s*['\"]?" + _EXTERNAL + r"[^)]*\)\s*;?", re.I)
_CSS_IMPORT = re.compile(r"@import\s+['\"]" + _EXTERNAL + r"[^'\"]*['\"]\s*;?", re.I)


def make_offline(page: str) -> str:
    """Remove every reference to a resource on another host; keep external links as text.

    Examples
    --------
    >>> make_offline('<script src="https://cdn.x/require.js"></script><p>ok</p>')
    '<p>ok</p>'
    >>> make_offline('<a href="https://example.org">site</a>')
    '<a data-external-href="https://example.org">site</a>'
    """
    page = _SCRIPT_SRC.sub("", page)
    page = _LINK_HREF.sub("", page)
    page = _SRC_TAG.sub(lambda m: f"<span class=\"removed-resource\">[{m.group(1)}]</span>", page)
    # A link is not fetched on opening, but the report must not send readers to the web silently.
    page = _A_HREF.sub(r"\1data-external-href\2", page)
    page = _CSS_IMPORT.sub("", page)
    return _CSS_URL.sub(lambda m: "" if m.group(1) else "none", page)


def _notebook_body(path: Path, index: int, lang: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The notebook's outputs and markdown as an HTML fragment, plus its headings for the TOC.

    Cells tagged ``lang-vi`` / ``lang-en`` (a narrative written in both languages) show only in
    a report of their language.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    # Relative image links in markdown resolve against the run folder (the kernels' working
    # directory), where figures/ lives; embed_images turns them into data URIs.
    resources = {"metadata": {"path": str(path.parent.parent)}}
    notebook = nbformat.read(path, as_version=4)
    if lang in LANGUAGES:
        other = [f"lang-{x}" for x in LANGUAGES if x != lang]
        notebook.cells = [c for c in notebook.cells if not set(other) & set(c.metadata.get("tags", []))]
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    body = _ANCHOR_LINK.sub("", body)
    headings: list[dict[str, Any]] = []

    def renumber(match: re.Match) -> str:
        # Unique ids across notebooks: nbconvert derives ids from the text, which repeats.
        anchor = f"s{index}-{len(headings) + 1}"
        text = html.unescape(_TAG.sub("", match.group(3))).strip()
        headings.append({"level": int(match.group(1)), "id": anchor, "text": text})
        return f'<h{match.group(1)} id="{anchor}">{match.group(3)}</h{match.group(1)}>'

    return _HEADING.sub(renumber, body), headings


_CAPTION_NUMBER = re.compile(r"(<(caption|figcaption)\b[^>]*>\s*)(Bảng|Table|Hình|Figure) \d+(?:\.\d+)?\.")


def _number_captions(sections: Sequence[dict[str, Any]]) -> None:
    """Number tables and figures through the whole report: "Bảng 1", "Bảng 2", … "Hình 1", ….

    Each notebook numbers its own captions ("Bảng 3.2": it cannot know how many tables come
    before it, notebooks run in parallel); a reader of the assembled report expects one plain
    sequence, as in the DOCX. Captions are renumbered in reading order, in place.

    Examples
    --------
    >>> s = [{"body": '<caption>Bảng 1.1. A</caption><figcaption>Hình 1.1. F</figcaption>'},
    ...      {"body": '<caption style="x">Bảng 3.1. B</caption>'}]
    >>> _number_captions(s); [x["body"] for x in s]
    ['<caption>Bảng 1. A</caption><figcaption>Hình 1. F</figcaption>', '<caption style="x">Bảng 2. B</caption>']
    """
    counts = {"table": 0, "figure": 0}

    def renumber(match: re.Match) -> str:
        kind = "table" if match.group(3) in ("Bảng", "Table") else "figure"
        counts[kind] += 1
        return f"{match.group(1)}{match.group(3)} {counts[kind]}."

    for section in sections:
        section["body"] = _CAPTION_NUMBER.sub(renumber, unicodedata.normalize("NFC", section["body"]))


def instrument_title(instrument: str, lang: str) -> str:
    """The questionnaire's title in the report language (``title::vi`` / ``title::en``).

    Falls back to the Vietnamese title, then to the instrument id (a test fixture or an
    instrument not on disk), so a page is always titled.

    Examples
    --------
    >>> instrument_title("unit", "en")
    'Grassroots unit survey on carrying out Plan 04-ĐA/ĐUK'
    >>> instrument_title("no-such-instrument", "vi")
    'no-such-instrument'
    """
    from analysis import instruments

    try:
        ins = instruments.load(instrument)
    except Exception:  # noqa: BLE001 - any unreadable instrument: the id is still informative
        return instrument
    title = ins.title_en if lang == "en" and ins.title_en else ins.title_vi
    return unicodedata.normalize("NFC", title or instrument)


def _render_page(sections: Sequence[dict[str, Any]], params: Mapping[str, Any], synthetic: bool,
                 study_title: str | None) -> str:
    import jinja2

    from analysis.report.docx_report import BANNERS

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES_DIR)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             keep_trailing_newline=True)
    lang = params.get("lang", "vi") if params.get("lang") in LANGUAGES else "vi"
    wave = str(params.get("wave", ""))
    page = env.get_template("report.html.j2").render(
        lang=lang, text={**_TITLES[lang], "synthetic": BANNERS[lang]}, study_title=study_title,
        instrument=instrument_title(str(params.get("instrument", "")), lang), wave=wave,
        wave_line=_TITLES[lang]["wave"].format(wave=wave), sections=sections, synthetic=synthetic,
        toc=[h for s in sections for h in s["headings"] if h["level"] <= 3],
    )
    # Vietnamese text may arrive decomposed (NFD) from some sources; browsers and search expect NFC.
    return unicodedata.normalize("NFC", make_offline(page))


def assemble(run_dir: Path | str, params: Mapping[str, Any], *, synthetic: bool = False,
             study_title: str | None = None) -> Path:
    """Build ``report.html`` (and ``html/<notebook>.html``) and ``report.docx`` from the executed
    notebooks, so that a report folder is complete before it is promoted.

    Parameters
    ----------
    run_dir : path
        A run folder with ``notebooks/*.ipynb`` executed; notebooks are ordered by name, so
        ``00_executive_summary`` comes first.
    params : mapping
        The run's parameters (``instrument``, ``wave``, ``lang`` are used).
    synthetic : bool
        Show the synthetic-data banner.
    study_title : str, optional
        The study's title in the report language (study.yaml `title`), under the report title.

    Returns
    -------
    pathlib.Path
        The written report.html: self-contained (images as data URIs, no remote resource),
        inputs and prompts hidden, ``lang`` set, a table of contents from the headings.
    """
    run_dir = Path(run_dir)
    notebooks = sorted((run_dir / "notebooks").glob("*.ipynb"))
    if not notebooks:
        raise ReportError(f"no executed notebook in {run_dir / 'notebooks'}")
    sections = []
    for index, path in enumerate(notebooks, start=1):
        body, headings = _notebook_body(path, index, params.get("lang"))
        sections.append({"name": path.stem, "id": f"nb-{path.stem}", "body": body, "headings": headings})
    _number_captions(sections)
    html_dir = run_dir / "html"
    html_dir.mkdir(exist_ok=True)
    for section in sections:
        (html_dir / f"{section['name']}.html").write_text(_render_page([section], params, synthetic, study_title),
                                                         encoding="utf-8")
    target = run_dir / "report.html"
    target.write_text(_render_page(sections, params, synthetic, study_title), encoding="utf-8")
    # The Word report for the Board, from the same executed notebooks (analysis.report.content).
    from analysis.report import content as report_content

    report_content.write_docx(run_dir, params, synthetic=synthetic, study_title=study_title)
    write_board_and_pdfs(run_dir, params, synthetic=synthetic)
    return target


#: What `write_board_and_pdfs` made, in the run folder (the runner copies it into the manifest).
DOCUMENTS_FILE = "documents.json"


def _unit_survey(instrument: str) -> str | None:
    """The unit survey paired with *instrument* in study.yaml (None: it is the unit survey or has none)."""
    from analysis import project

    try:
        spec = project.load_study().instrument(instrument)
    except Exception:  # noqa: BLE001 - no study (a test project): the Board edition reads the member tables only
        return None
    return spec.unit_survey if spec.unit_survey and spec.unit_survey != instrument else None


def write_board_and_pdfs(run_dir: Path | str, params: Mapping[str, Any], *, synthetic: bool = False,
                         unit_instrument: str | None = None) -> dict[str, Any]:
    """Write ``board.docx`` (the Board edition, `analysis.report.board`) and a PDF of every DOCX of
    the run folder; record what was made in ``documents.json`` and return it.

    Without LibreOffice (or when it fails on a document) the run still succeeds: the DOCX are
    there, ``documents.json`` lists under ``pdf_missing`` which PDFs were not made and why, and a
    line on stderr says so. ``font`` is the font the PDFs are set in for Times New Roman
    (Liberation Serif where Times New Roman is not installed).
    """
    import json

    from analysis.report.board import board_document
    from analysis.report.board_docx import write_board_docx
    from analysis.report.console import say
    from analysis.report.letterhead import load_letterhead
    from analysis.report.pdf import PdfConversionError, PdfUnavailableError, docx_to_pdf, font_substitution

    run_dir = Path(run_dir)
    instrument = str(params.get("instrument", ""))
    if unit_instrument is None:
        unit_instrument = _unit_survey(instrument)
    # The Board edition reads the scorecard: a pipeline that publishes none (another study, a
    # fixture) gets the technical report and its PDF only.
    if any((run_dir / sub / "scorecard.csv").is_file() for sub in ("tables", "results")):
        head = load_letterhead()
        board = board_document(run_dir, params, head, synthetic=synthetic, unit_instrument=unit_instrument)
        write_board_docx(board, run_dir / "board.docx")
    docx = [run_dir / name for name in ("report.docx", "board.docx") if (run_dir / name).is_file()]
    made: list[str] = []
    missing: list[dict[str, str]] = []
    try:
        made = [p.name for p in docx_to_pdf(docx)]
    except (PdfUnavailableError, PdfConversionError) as exc:
        made = [p.with_suffix(".pdf").name for p in docx if p.with_suffix(".pdf").is_file()]
        missing = [{"file": p.with_suffix(".pdf").name, "reason": str(exc)} for p in docx
                   if p.with_suffix(".pdf").name not in made]
        say(f"{instrument} {params.get('wave', '')}: PDF not made: "
            f"{', '.join(m['file'] for m in missing)} ({exc})")
    has_board = (run_dir / "board.docx").is_file()
    info = {"board": "board.docx" if has_board else None, "draft": head.draft if has_board else None,
            "pdf": made, "pdf_missing": missing, "font": font_substitution() if made else None}
    (run_dir / DOCUMENTS_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return info
