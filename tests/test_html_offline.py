"""report.html opens offline: no request to any host, Vietnamese rendered, code hidden, a TOC.

The browser test opens the page in headless Chromium (Debian's /usr/bin/chromium through
playwright) and logs every request. Without Chromium it is skipped, except in CI
(ANALYSIS_REQUIRE_BROWSER=1), where it must run.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis.report import runner as report

from conftest import CHROMIUM, make_report_project, require_chromium

TITLE = "BÁO CÁO KẾT QUẢ KHẢO SÁT"
# src=/href=/srcset=/poster= (quoted or not) pointing at another host: http(s):// or //host.
EXTERNAL_ATTR = re.compile(r"""(?<![\w-])(?:src|href|srcset|poster|action|data)\s*=\s*['"]?\s*(?:https?:)?//""", re.I)
EXTERNAL_CSS = re.compile(r"""url\(\s*['"]?\s*(?:https?:)?//|@import\s+['"](?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The fixture pipeline run once; its report folder."""
    project = make_report_project(tmp_path_factory.mktemp("html") / "project")
    return report.run_report("member", "2025", progress=False, **project.dirs()).report_dir


def _external(page: str) -> list[str]:
    return [m.group(0) for m in EXTERNAL_ATTR.finditer(page)] + [m.group(0) for m in EXTERNAL_CSS.finditer(page)]


def test_report_html_is_self_contained_vietnamese_and_hides_code(built):
    page = (built / "report.html").read_text(encoding="utf-8")
    assert _external(page) == []
    assert "<script" not in page.lower()  # nothing to run, nothing to fetch
    assert '<meta charset="utf-8">' in page and '<html lang="vi">' in page
    assert '"Liberation Serif"' in page and '"DejaVu Serif"' in page  # fonts with Vietnamese glyphs
    assert unicodedata.is_normalized("NFC", page)
    # the study's title comes from its study.yaml (conftest.FIXTURE_STUDY), never from the code
    assert TITLE in page and "Nghiên cứu thử" in page and "DỮ LIỆU MÔ PHỎNG" in page
    assert "Đề án 04" not in page
    images = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    # Code cells hidden: no source and no prompts.
    assert "time.sleep(" not in page and "NAME = " not in page
    assert not re.search(r"In(?:&nbsp;|\s)*\[\s*\d*\s*\]", page)
    assert "Out[" not in page


def test_table_of_contents_links_to_every_heading_with_summary_first(built):
    page = (built / "report.html").read_text(encoding="utf-8")
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S).group(0)
    links = re.findall(r'href="#([^"]+)">([^<]*)<', toc)
    ids = set(re.findall(r'<h[1-6] id="([^"]+)"', page))
    assert links and {target for target, _ in links} <= ids
    texts = [text for _, text in links]
    # Notebooks in name order: the summary (00_) first.
    assert texts[:2] == ["Tóm tắt kết quả", "Mục 00_summary"]
    assert texts.index("BÁO CÁO THỬ NGHIỆM — Phần Alpha") < texts.index("Phần Beta: đánh giá")
    assert {p.name for p in (built / "html").iterdir()} == {"00_summary.html", "10_alpha.html", "20_beta.html"}


def test_make_offline_strips_what_nbconvert_default_templates_fetch():
    nb = new_notebook(cells=[
        new_markdown_cell("# Tiêu đề\n\n$x^2$ <img src='https://example.org/logo.png'> [nguồn](https://example.org)"),
        new_code_cell("x", outputs=[new_output(
            "display_data", data={"text/html": "<style>@import url('https://fonts.googleapis.com/css');</style>"
                                               "<script src='//cdn.example.org/w.js'></script><p>ok</p>"})]),
    ])
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert _external(page)  # the default template does fetch require.js, MathJax…
    cleaned = report.make_offline(page)
    assert _external(cleaned) == []
    assert "<p>ok</p>" in cleaned and 'data-external-href="https://example.org"' in cleaned


@pytest.mark.browser
def test_report_opens_offline_in_chromium(built, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            page.goto((built / "report.html").as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            text = page.inner_text("body")
            lang = page.evaluate("document.documentElement.lang")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert requests, "no request logged: the listener did not work"
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert failed == []
    assert lang == "vi"
    assert unicodedata.is_normalized("NFC", text)
    assert TITLE in text and "Phần Beta: đánh giá" in text and "Mục lục" in text
    assert "time.sleep(" not in text
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_assemble_embeds_linked_figures_and_honours_lang(built, tmp_path):
    # A markdown image linked to figures/ (relative to the run folder) becomes a data URI.
    run = tmp_path / "run"
    (run / "notebooks").mkdir(parents=True)
    (run / "figures").mkdir()
    (run / "figures" / "f.png").write_bytes((built / "figures" / "fixture.png").read_bytes())
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Hình\n\n![Hình 1](figures/f.png)")]),
                   run / "notebooks" / "00_x.ipynb")
    page = report.assemble(run, {"lang": "en", "instrument": "member", "wave": "2025"}).read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "SURVEY REPORT" in page and "DỮ LIỆU MÔ PHỎNG" not in page
    assert re.search(r'<img alt="Hình 1" src="data:image/png;base64,', page)
    assert _external(page) == []
