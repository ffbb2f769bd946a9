"""What the report shows: protected tables, figures and sentences, in HTML and in the DOCX.

A pipeline notebook creates one `Section` and publishes through it:

* `Section.table` takes a `analysis.disclosure.ProtectedTable` (never a raw estimate table:
  anything else is refused), writes it as CSV and XLSX (`analysis.report.tables`, formula-injection
  safe) into ``tables/``, and shows it as an escaped HTML table with numbered caption, the
  disclosure footnotes and the source;
* `Section.figure` saves a `matplotlib` figure (built by `analysis.report.plots` from a protected
  table) into ``figures/`` and shows it with a numbered caption;
* `Section.sentences` shows generated sentences (`analysis.report.narrative`) after checking each one
  against the protected tables it talks about (`analysis.disclosure.safe_text`).

Each published block is also attached to the notebook output as metadata (``"analysis"``), so
`docx_blocks` can rebuild the same content, in the same order, for the Word report without
re-running anything, and the HTML assembled by `analysis.report.assembly.assemble` shows exactly what
the DOCX shows.

Why one module: each block's HTML and its DOCX description are written by the same call, side
by side, and read back here for the Word report, so the two outputs cannot drift apart.

Examples
--------
>>> caption_prefix("30_member_sentiment", 2, "table", "vi"), caption_prefix("00_executive_summary", 1, "figure", "en")
('Bảng 3.2', 'Figure 0.1')
"""

from __future__ import annotations

import base64
import html
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis import disclosure
from analysis.report import tables, xlsx

__all__ = [
    "Section",
    "ColumnSpec",
    "caption_prefix",
    "docx_blocks",
    "write_docx",
    "markdown_blocks",
]

_WORDS = {
    "vi": {"table": "Bảng", "figure": "Hình", "source": "Nguồn", "note": "Ghi chú",
           "banner": "DỮ LIỆU MÔ PHỎNG. Các con số chỉ để minh họa, không phản ánh ý kiến thực tế."},
    "en": {"table": "Table", "figure": "Figure", "source": "Source", "note": "Note",
           "banner": "SYNTHETIC DATA. The numbers are illustrative only, not real opinions."},
}
#: Columns that state a verdict about a row's numbers: emptied with the numbers of a hidden row.
_VERDICT_COLUMNS = ("significant", "status", "misbehaves", "low_r_drop", "alpha_rises", "due")
#: Column kinds and how a value is shown.
_KINDS = ("text", "mean", "pct", "int", "p", "ci", "ci_pct", "num", "d")


def caption_prefix(notebook: str, number: int, kind: str, lang: str) -> str:
    """``Bảng 3.2``: the notebook's section digit, then the table's or figure's number."""
    section = int(notebook[:2]) // 10 if notebook[:2].isdigit() else 0
    return f"{_WORDS[lang][kind]} {section}.{number}"


@dataclass(frozen=True)
class ColumnSpec:
    """One displayed column: source column, header, kind (see ``_KINDS``) and optional labels."""

    column: str
    header: str
    kind: str = "text"
    labels: Mapping[str, str] | None = None


_PERCENT_UNITS = {"share", "yes/no", "proportion", "percent"}


def _fmt(value: Any, kind: str, lang: str, row: Mapping[str, Any] | None = None, column: str = "") -> str:
    """One cell as text in the reader's number convention."""
    row = row or {}
    if kind in ("ind", "ind_ci"):
        # an indicator is a share (shown as %) or a count/rate (a number), as its instrument unit says
        kind = {"ind": "pct", "ind_ci": "pct_ci"}[kind] if str(row.get("unit", "")) in _PERCENT_UNITS else \
            {"ind": "num", "ind_ci": "mean_ci"}[kind]
    if kind == "num" and column == "target" and value is not None and not pd.isna(value) \
            and float(value) == int(float(value)):
        return tables.format_number(int(float(value)), 0, lang=lang)  # a target of 2 sessions reads "2"
    if kind == "ind_ci_only":
        return _fmt(None, "ci_pct" if str(row.get("unit", "")) in _PERCENT_UNITS else "ci", lang, row)
    if kind in ("mean_ci", "pct_ci"):
        main = _fmt(value, "mean" if kind == "mean_ci" else "pct", lang, row)
        ci = _fmt(None, "ci" if kind == "mean_ci" else "ci_pct", lang, row)
        lo_hi = ci.replace(" đến ", "–").replace(" to ", "–").split("–")
        if len(lo_hi) == 2 and lo_hi[0] == lo_hi[1]:
            return main  # an interval of width zero (every unit of a census alike) adds nothing
        return f"{main} ({ci})" if main and ci else main
    if kind == "ci" or kind == "ci_pct":
        lo, hi = row.get("ci_low"), row.get("ci_high")
        if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
            return ""
        if kind == "ci_pct":  # a share lies in 0–100%: the normal interval's overshoot is not shown
            lo, hi = max(float(lo), 0.0), min(float(hi), 1.0)
        # whole percents (2 decimals for a mean); one more where the two ends would read alike
        # (a rare answer, 0,6%–1,4%), none where even that prints one number twice
        first = 0 if kind == "ci_pct" else 2
        for decimals in (first, first + 1):
            text = tables.format_interval(lo, hi, decimals, lang=lang, percent=kind == "ci_pct")
            ends = text.replace(" đến ", "–").replace(" to ", "–").split("–")
            if len(ends) != 2 or ends[0] != ends[1]:
                return text
        return ""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind in ("mean", "num", "d", "pct100", "pct", "int", "p") and not isinstance(value, (bool, np.bool_)) \
            and not np.isfinite(float(value)):
        return tables.NOT_FINITE  # e.g. a census design effect: no meaningful number
    if kind == "mean":
        return tables.format_number(float(value), 2, lang=lang)
    if kind == "num":
        return tables.format_number(float(value), 2, lang=lang)
    if kind == "d":
        return tables.format_number(float(value), 2, lang=lang)
    if kind == "pct100":
        return tables.format_number(float(value), 0, lang=lang) + "%"
    if kind == "pct":
        # protected shares are rounded to 2 decimals: a decimal in the percentage would be noise
        return tables.format_percent(float(value), 0, lang=lang)
    if kind == "int":
        return tables.format_number(int(round(float(value))), 0, lang=lang)
    if kind == "p":
        p = float(value)
        return ("< " + tables.format_number(0.001, 3, lang=lang)) if p < 0.001 else tables.format_number(p, 3, lang=lang)
    if isinstance(value, (bool, np.bool_)):
        return {"vi": {True: "có", False: "không"}, "en": {True: "yes", False: "no"}}[lang][value]
    return unicodedata.normalize("NFC", str(value))


def _display_frame(table: pd.DataFrame, columns: Sequence[ColumnSpec], lang: str) -> pd.DataFrame:
    """The table as the reader sees it: labels, formatted numbers, markers in hidden rows."""
    out = {}
    hidden = table["suppressed"].astype(bool) if "suppressed" in table.columns else pd.Series(False, index=table.index)
    notes = table["note"] if "note" in table.columns else pd.Series("", index=table.index)
    first_stat = next((c.column for c in columns if c.kind not in ("text", "status")), None)
    records = table.to_dict("records")
    for spec in columns:
        cells = []
        for rec, hid, note in zip(records, hidden, notes):
            value = rec.get(spec.column)
            if spec.kind == "status" and hid:
                cells.append("")
            elif spec.kind in ("text", "status"):
                text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else _fmt(value, "text", lang)
                cells.append(unicodedata.normalize("NFC", (spec.labels or {}).get(text, text)))
            elif hid:
                cells.append(note if spec.column == first_stat else "")
            else:
                cells.append(_fmt(value, spec.kind, lang, rec, spec.column))
        out[spec.header] = cells
    return pd.DataFrame(out)


def _html_table(frame: pd.DataFrame, caption: str, footer: Sequence[str], numeric: Sequence[bool],
                name: str = "") -> str:
    esc = lambda s: html.escape(unicodedata.normalize("NFC", str(s)), quote=True)  # noqa: E731
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in frame.columns)
    # the label column (the text column with the longest texts, e.g. the indicator's name) keeps
    # a readable width when a wide table squeezes the page; short codes and numbers stay narrow
    lengths = {j: frame.iloc[:, j].astype(str).str.len().mean() for j, num in enumerate(numeric) if not num}
    label_col = max(lengths, key=lambda j: lengths[j]) if lengths else -1
    rows = []
    for rec in frame.itertuples(index=False, name=None):
        cells = "".join(
            f'<td class="num" style="white-space:{"nowrap" if len(str(v)) <= 14 else "normal"}">{esc(v)}</td>' if num else
            f'<td style="text-align:left{";min-width:12em" if j == label_col and lengths[j] > 20 else ""}">{esc(v)}</td>'
            for j, (v, num) in enumerate(zip(rec, numeric)))
        rows.append(f"<tr>{cells}</tr>")
    foot = "".join(f'<p class="table-note" style="font-size:.9em;margin:.1em 0">{esc(t)}</p>' for t in footer)
    anchor = f' id="table-{name}"' if name else ""  # the target of the sentences' source links
    return (f'<figure class="report-table"{anchor} style="margin:1em 0"><table><caption style="caption-side:top;'
            f'font-weight:bold;text-align:left;margin-bottom:.3em">{esc(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{foot}</figure>")


#: A table longer than this is not typeset in the HTML page and the DOCX, only exported: at 100×
#: the frame the units to follow up are 20,000 rows (2,000 pages nobody reads, and LibreOffice
#: needs minutes for them). The caption stays, with the number of rows and the file that holds
#: them (``tables/`` goes with the report). The demo's longest table has about 200 rows.
DOCUMENT_MAX_ROWS = 1000


def _in_file_text(name: str, rows: int, lang: str) -> str:
    count = tables.format_number(rows, 0, lang=lang)
    if lang == "vi":
        return (f"Bảng gồm {count} dòng, quá dài để in trong báo cáo; toàn bộ bảng ở tệp "
                f"tables/{name}.xlsx (và {name}.csv) gửi kèm báo cáo.")
    return (f"The table has {count} rows, too long to print in the report; all of it is in "
            f"tables/{name}.xlsx (and {name}.csv), delivered with the report.")


def _html_table_in_file(caption: str, text: str, footer: Sequence[str], name: str) -> str:
    esc = lambda s: html.escape(unicodedata.normalize("NFC", str(s)), quote=True)  # noqa: E731
    foot = "".join(f'<p class="table-note" style="font-size:.9em;margin:.1em 0">{esc(t)}</p>' for t in footer)
    return (f'<figure class="report-table" id="table-{name}" style="margin:1em 0"><figcaption style="font-weight:bold;'
            f'margin-bottom:.3em">{esc(caption)}</figcaption><p><em>{esc(text)}</em></p>{foot}</figure>')


def _table_and_variable(source: str) -> str:
    """``table[variable=v]`` of a `narrative.row_source` text (the other keys dropped)."""
    m = re.fullmatch(r"([^\[]+)\[(.*)\]", source or "")
    if not m:
        return ""
    var = [p for p in m[2].split(", ") if p.startswith("variable=")]
    return f"{m[1]}[{var[0]}]" if var else ""


#: More "why this x" sentences than this under one table are summarised in one.
WHY_HIDDEN_SHOWN = 4


def _why_hidden(protected: disclosure.ProtectedTable, columns: Sequence[ColumnSpec], lang: str) -> list[str]:
    """The table's complementary cells, each with the hidden cell it protects (a few, then a count)."""
    labels: dict[str, str] = {}
    t = protected.table
    if {"variable", "label"} <= set(t.columns):  # an indicator's or item's own wording
        labels.update({str(v): str(lab) for v, lab in zip(t["variable"], t["label"]) if pd.notna(lab)})
    for spec in columns:
        labels.update({str(k): str(v) for k, v in (spec.labels or {}).items()})
    why = list(dict.fromkeys(protected.why_hidden(lang, labels)))  # one sentence per cell, not per wave
    if len(why) <= WHY_HIDDEN_SHOWN:
        return why
    rest = len(why) - WHY_HIDDEN_SHOWN
    more = f"{rest} ô x khác được ẩn vì cùng lý do." if lang == "vi" else f"{rest} more x cells are hidden for the same reason."
    return [*why[:WHY_HIDDEN_SHOWN], more]


@dataclass
class Section:
    """The publishing helper of one pipeline notebook (see the module docstring).

    Parameters
    ----------
    output_dir : str or path
        The run folder (``tables/``, ``figures/``, ``results/`` are created inside).
    notebook : str
        The notebook's name, e.g. ``30_member_sentiment`` (numbers its tables ``Bảng 3.n``).
    lang : {"vi", "en"}
    """

    output_dir: str | Path
    notebook: str
    lang: str = "vi"
    _tables: int = field(default=0, init=False)
    _figures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        for sub in ("tables", "figures", "results"):
            (self.output_dir / sub).mkdir(parents=True, exist_ok=True)

    # -- words --------------------------------------------------------------------------
    def words(self, vi: str, en: str) -> str:
        """The text in the section's language."""
        return vi if self.lang == "vi" else en

    def _show(self, html_text: str, block: dict) -> None:
        from IPython.display import HTML, display

        display(HTML(html_text), metadata={"analysis": block})

    # -- blocks -------------------------------------------------------------------------
    def banner(self, synthetic: bool) -> None:
        """The synthetic-data banner, when the data are synthetic."""
        if synthetic:
            text = _WORDS[self.lang]["banner"]
            self._show(f'<p class="synthetic-note" style="color:#b00020;font-weight:bold">{html.escape(text)}</p>',
                       {"type": "paragraph", "text": text, "style": "banner"})

    def table(self, protected: disclosure.ProtectedTable, *, name: str, title: str,
              columns: Sequence[ColumnSpec], source: str, note: str | None = None,
              export: pd.DataFrame | None = None, pivot: tuple[Sequence[str], str] | None = None) -> None:
        """Publish a protected table: CSV + XLSX in ``tables/``, escaped HTML, DOCX block.

        Parameters
        ----------
        protected : ProtectedTable
            Output of `analysis.disclosure.protect_table`.
        name : str
            File stem in ``tables/`` (``[a-z0-9_]``).
        title : str
            Caption after the number.
        columns : sequence of ColumnSpec
            What to show, in order.
        source, note : str
            "Nguồn: …" and "Ghi chú: …" lines under the table. The note is followed by why each
            complementary ``x`` is hidden (`ProtectedTable.why_hidden`: the cell it would expose).
        export : DataFrame, optional
            Columns of ``protected.table`` to export (default: all but the internal ones);
            it must come from the protected table.
        pivot : (row headers, column header), optional
            Show the table wide: rows keyed by the columns with these headers, one column per
            value of the *column header* column, cells = the remaining (single) column.

        Notes
        -----
        Returns nothing on purpose: a value returned by the last line of a notebook cell would
        be displayed raw. The exported files hold codes and rounded numbers; every number and
        verdict of a hidden row is emptied, only its marker stays.
        """
        if not isinstance(protected, disclosure.ProtectedTable):
            raise TypeError(f"table {name!r}: publish a ProtectedTable (analysis.disclosure.protect_table), "
                            f"not {type(protected).__name__}")
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(f"table name {name!r}: use lower-case letters, digits and '_'")
        self._tables += 1
        why = _why_hidden(protected, columns, self.lang)  # with the columns' labels, before a pivot
        caption = f"{caption_prefix(self.notebook, self._tables, 'table', self.lang)}. {title}"
        data = protected.table if export is None else export
        out = data.drop(columns=[c for c in ("display",) if c in data.columns]).reset_index(drop=True)
        if "suppressed" in out.columns:
            # every number of a hidden row goes, not only the core's statistics (e.g. the two
            # wave means next to a difference, a p-value, an effect size)
            hid = out["suppressed"].astype(bool).to_numpy()
            nums = [c for c in out.columns if c not in protected.by and c != "suppressed"
                    and pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
            out[nums] = out[nums].astype("float64")
            out.loc[hid, nums] = np.nan
            verdicts = [c for c in _VERDICT_COLUMNS if c in out.columns]
            out[verdicts] = out[verdicts].astype(object)
            out.loc[hid, verdicts] = None
        xlsx.export_table(out, self.output_dir / "tables", name)
        marks = list(protected.footnotes(self.lang))
        note = " ".join(t for t in [note, *why] if t) or None
        footer = list(marks)
        if note:
            footer.append(f"{_WORDS[self.lang]['note']}: {note}")
        footer.append(f"{_WORDS[self.lang]['source']}: {source}")
        block = {"type": "table", "name": name, "caption": unicodedata.normalize("NFC", caption),
                 "title": unicodedata.normalize("NFC", title), "source": unicodedata.normalize("NFC", source),
                 # without the "Ghi chú:" label, which the DOCX writes itself
                 "note": unicodedata.normalize("NFC", " ".join([*marks, *([note] if note else [])])) or None,
                 "notes": [unicodedata.normalize("NFC", t) for t in footer],
                 # the grouping of the protected table, for the whole-report attacker
                 # (`analysis.disclosure.report_tables`): the CSV alone does not say it
                 "by": [str(c) for c in protected.by], "parents": [str(c) for c in protected.parents]}
        if pivot is None and len(protected.table) > DOCUMENT_MAX_ROWS:
            text = _in_file_text(name, len(protected.table), self.lang)
            block.update(columns=[], rows=[], numeric=[], in_file={"file": f"tables/{name}.xlsx",
                                                                     "rows": int(len(protected.table)), "text": text})
            self._show(_html_table_in_file(caption, text, footer, name), block)
            return
        shown = _display_frame(protected.table.reset_index(drop=True), columns, self.lang)
        if pivot is not None:
            index, across = list(pivot[0]), pivot[1]
            value = [c for c in shown.columns if c not in index and c != across]
            shown = shown.pivot_table(index=index, columns=across, values=value[0], aggfunc="first", sort=False)
            # columns in the instrument's order of the labels (age groups young to old, "Toàn
            # Khối" first), not in order of appearance or of codes ("a30_39" before "u30")
            spec = next((c for c in columns if c.header == across), None)
            order = {v: k for k, v in enumerate((spec.labels or {}).values())} if spec is not None else {}
            if order:
                shown = shown[sorted(shown.columns, key=lambda c: (order.get(str(c), len(order)), ))]
            shown = shown.reset_index()
            shown.columns = [str(c) for c in shown.columns]
            columns = [ColumnSpec(c, c, "text") for c in index] + [ColumnSpec(c, c, "num") for c in shown.columns[len(index):]]
        numeric = [c.kind not in ("text", "status") for c in columns]
        block.update(columns=list(shown.columns), rows=shown.values.tolist(), numeric=numeric)
        self._show(_html_table(shown, caption, footer, numeric, name), block)

    def figure(self, fig: Any, *, name: str, title: str, source: str, note: str | None = None) -> None:
        """Save a figure (built from a protected table) as PNG and show it with its caption."""
        from analysis.report import plots

        self._figures += 1
        caption = f"{caption_prefix(self.notebook, self._figures, 'figure', self.lang)}. {title}"
        path = plots.save_figure(fig, self.output_dir / "figures" / f"{name}.png")
        import matplotlib.pyplot as plt

        plt.close(fig)
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        lines = ([f"{_WORDS[self.lang]['note']}: {note}"] if note else []) + [f"{_WORDS[self.lang]['source']}: {source}"]
        foot = "".join(f'<p style="font-size:.9em;margin:.1em 0">{html.escape(t)}</p>' for t in lines)
        block = {"type": "figure", "name": name, "path": f"figures/{name}.png",
                 "caption": unicodedata.normalize("NFC", caption), "title": unicodedata.normalize("NFC", title),
                 "source": source, "note": note, "notes": lines}
        self._show(f'<figure style="margin:1em 0"><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
                   f'<figcaption style="font-weight:bold">{html.escape(caption)}</figcaption>{foot}</figure>', block)

    def sentences(self, sentences: Sequence[Any], protected: Sequence[disclosure.ProtectedTable] = (), *,
                  labels: Mapping[str, str] | None = None, sources: bool = True) -> None:
        """Show generated sentences as a list, each checked by `analysis.disclosure.safe_text`.

        Parameters
        ----------
        sentences : sequence of narrative.Sentence (or str)
        protected : sequence of ProtectedTable
            The tables the sentences talk about.
        sources : bool
            Add the source (table and row) after each sentence, in small print.
        """
        texts, items = [], []
        for s in sentences:
            text = getattr(s, "text", str(s))
            src = getattr(s, "source", "")
            safe = disclosure.safe_text(text, list(protected), labels=labels, lang=self.lang) if protected else \
                unicodedata.normalize("NFC", text)
            texts.append(safe)
            item = html.escape(safe)
            published = safe == unicodedata.normalize("NFC", text)
            if sources and src and published:
                # a link to the table the numbers come from, not the row's code
                table = src.split("[", 1)[0]
                word = self.words("bảng nguồn", "source table")
                item += (f' <sup><a class="source-link" href="#table-{html.escape(table)}" '
                         f'style="color:#555">{word}</a></sup>')
            # the row a sentence is about, for checks that words and tables agree; a withheld
            # sentence keeps only its table and variable (a group's name could be what is hidden)
            about = src if published else _table_and_variable(src)
            attr = f' data-source="{html.escape(about)}" data-withheld="{str(not published).lower()}"' if about else ""
            items.append(f"<li{attr}>{item}</li>")
        self._show(f"<ul class=\"findings\">{''.join(items)}</ul>", {"type": "bullets", "items": texts})

    def comments(self, publishable: pd.DataFrame, *, labels: Mapping[str, str] | None = None,
                 withheld: int = 0) -> None:
        """Show comments already screened by `analysis.disclosure.screen_comments`, escaped.

        Parameters
        ----------
        publishable : DataFrame
            ``[org, comment]`` (the *publishable* part of ``screen_comments``, sampled).
        withheld : int
            How many were withheld for review (only the count is shown).
        """
        labels = labels or {}
        items, texts = [], []
        for org, text in zip(publishable.get("org", []), publishable.get("comment", [])):
            who = labels.get(str(org), str(org))
            text = unicodedata.normalize("NFC", str(text))
            texts.append(f"{who}: “{text}”")
            items.append(f"<li><em>{html.escape(who)}</em>: “{html.escape(text)}”</li>")
        count = self.words(f"{withheld} ý kiến được giữ lại để rà soát thủ công, không đưa vào báo cáo.",
                           f"{withheld} comment(s) withheld for manual review, not shown.")
        if not items:
            texts = [self.words("Không có ý kiến nào đủ điều kiện trích dẫn.", "No comment can be quoted.")]
            items = [f"<li>{html.escape(texts[0])}</li>"]
        self._show(f"<ul class=\"comments\">{''.join(items)}</ul><p>{html.escape(count)}</p>",
                   {"type": "bullets", "items": texts + [count]})

    def figures(self, figures: Sequence[tuple[Any, str, str]], *, source: str, note: str | None = None) -> None:
        """Several figures ``(figure, name, title)`` with the same source (e.g. one per scale)."""
        for fig, name, title in figures:
            self.figure(fig, name=name, title=title, source=source, note=note)

    def paragraph(self, text: str) -> None:
        """A generated paragraph (already safe: no numbers about groups); nothing when empty."""
        if not text or not text.strip():
            return
        self._show(f"<p>{html.escape(unicodedata.normalize('NFC', text))}</p>", {"type": "paragraph", "text": text})

    def markdown(self, text: str) -> None:
        """A Markdown block (e.g. the disclosure policy from `policy_markdown`)."""
        from IPython.display import Markdown, display

        display(Markdown(text), metadata={"analysis": {"type": "markdown", "text": text}})

    def save_result(self, name: str, frame: pd.DataFrame | disclosure.ProtectedTable) -> None:
        """A protected table for another notebook, in ``results/<name>.csv`` (not shown)."""
        if not isinstance(frame, disclosure.ProtectedTable):
            raise TypeError(f"result {name!r}: save a ProtectedTable, not {type(frame).__name__}")
        out = frame.table.drop(columns=["display"])
        hid = out["suppressed"].astype(bool).to_numpy()
        verdicts = [c for c in _VERDICT_COLUMNS if c in out.columns]
        out[verdicts] = out[verdicts].astype(object)
        out.loc[hid, verdicts] = None
        nums = [c for c in out.columns if c not in frame.by and c != "suppressed"
                and pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
        out.loc[hid, nums] = np.nan
        tables.write_csv(out, self.output_dir / "results" / f"{name}.csv", excel_safe=False)

    def load_result(self, name: str) -> pd.DataFrame | None:
        """A table saved by another notebook of this run (None when that notebook did not run)."""
        path = self.output_dir / "results" / f"{name}.csv"
        if not path.is_file():
            return None
        return pd.read_csv(path, encoding="utf-8-sig", dtype={"wave": str, "baseline_wave": str})


# --------------------------------------------------------------------------------- DOCX

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def _plain(text: str) -> str:
    """Markdown inline markup removed (bold, italics, code, links)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(.*?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.*?)(?<!\s)\*(?!\w)", r"\1", text)
    return unicodedata.normalize("NFC", text.replace("`", ""))


def markdown_blocks(text: str) -> list[dict]:
    """Headings, paragraphs and bullet lists of a Markdown cell as DOCX blocks.

    Examples
    --------
    >>> markdown_blocks("# Tiêu đề\\n\\nĐoạn **một**.\\n\\n- a\\n- b")
    [{'type': 'heading', 'level': 1, 'text': 'Tiêu đề'}, {'type': 'paragraph', 'text': 'Đoạn một.'}, {'type': 'bullets', 'items': ['a', 'b']}]
    """
    blocks: list[dict] = []
    para: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if para:
            blocks.append({"type": "paragraph", "text": _plain(" ".join(para))})
            para.clear()
        if bullets:
            blocks.append({"type": "bullets", "items": [_plain(b) for b in bullets]})
            bullets.clear()

    for line in text.splitlines():
        stripped = line.strip()
        m = _MD_HEADING.match(stripped)
        if m:
            flush()
            blocks.append({"type": "heading", "level": len(m.group(1)), "text": _plain(m.group(2))})
        elif re.match(r"^([-*+]|\d+\.)\s+", stripped):
            if para:
                flush()
            bullets.append(re.sub(r"^([-*+]|\d+\.)\s+", "", stripped))
        elif not stripped:
            flush()
        elif stripped.startswith("|") or stripped.startswith("<"):
            continue  # raw tables/HTML in narrative cells are not carried to the DOCX
        else:
            if bullets:
                bullets[-1] += " " + stripped
            else:
                para.append(stripped)
    flush()
    return blocks


def docx_blocks(run_dir: Path | str, lang: str | None = None) -> list[dict]:
    """The report's content, in order, from the executed notebooks of a run folder.

    Markdown cells give headings and paragraphs; outputs published through `Section` give
    their tables, figures (with the PNG's path) and sentences. Other outputs (working displays)
    are not carried over.

    Returns
    -------
    list of dict
        Blocks ``{"type": "heading"|"paragraph"|"bullets"|"table"|"figure"|"markdown", …}``.
    """
    import nbformat

    run_dir = Path(run_dir)
    blocks: list[dict] = []
    for path in sorted((run_dir / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            tags = set(cell.metadata.get("tags", []))
            if lang and any(t.startswith("lang-") and t != f"lang-{lang}" for t in tags):
                continue  # narrative of the other language
            if cell.cell_type == "markdown":
                blocks += markdown_blocks(cell.source)
                continue
            for out in cell.get("outputs", []):
                block = (out.get("metadata") or {}).get("analysis")
                if not block:
                    continue
                block = dict(block)
                if block["type"] == "figure":
                    block["path"] = str(run_dir / block["path"])
                if block["type"] == "markdown":
                    blocks += markdown_blocks(block["text"])
                    continue
                blocks.append(block)
    return blocks


def write_docx(run_dir: Path | str, params: Mapping[str, Any], *, synthetic: bool,
               study_title: str | None = None) -> Path:
    """Build ``report.docx`` in *run_dir* from the executed notebooks (`analysis.report.docx_report`).

    The title block: the report title, the study's title (*study_title*, from study.yaml), the
    questionnaire's title and the wave — as on the HTML page.

    Returns
    -------
    pathlib.Path
    """
    from analysis.report import docx_report

    run_dir = Path(run_dir)
    lang = params.get("lang", "vi") if params.get("lang") in ("vi", "en") else "vi"
    title = {"vi": "BÁO CÁO KẾT QUẢ KHẢO SÁT", "en": "SURVEY REPORT"}[lang]
    try:
        from analysis import instruments

        ins = instruments.load(str(params.get("instrument", "")))
        survey = ins.title_vi if lang == "vi" else (ins.title_en or ins.title_vi)
    except Exception:  # a fixture or a renamed instrument: the id is still informative
        survey = str(params.get("instrument", ""))
    wave_line = {"vi": f"Đợt khảo sát năm {params.get('wave', '')}",
                 "en": f"Survey wave {params.get('wave', '')}"}[lang]
    # as on the HTML title block: the questionnaire's title, then the wave on its own line
    lines = [study_title, survey, wave_line] if study_title else [survey, wave_line]
    if lang == "vi":  # a date in running text reads "ngày 24 tháng 3 năm 2023", not "24/3/2023"
        lines = [re.sub(r"\bngày (\d{1,2})/(\d{1,2})/(\d{4})\b", r"ngày \1 tháng \2 năm \3", line) for line in lines]
    blocks = [{"type": "paragraph", "text": unicodedata.normalize("NFC", line), "style": "subtitle"}
              for line in lines] + docx_blocks(run_dir, lang)
    target = run_dir / "report.docx"
    docx_report.build_docx(_to_docx_model(blocks, docx_report), target, title=title, synthetic=synthetic, lang=lang,
                           toc=True)
    return target


def _to_docx_model(blocks: Sequence[dict], docx_report: Any) -> list:
    """Our blocks in `analysis.report.docx_report`'s block model (the one place to adapt).

    The DOCX numbers tables and figures itself ("Bảng 1", "Hình 1" through the document), so
    the bare title is passed; each notebook's top heading starts a new page.
    """
    out: list = []
    for block in blocks:
        kind = block["type"]
        if kind == "heading":
            if block["level"] == 1 and any(isinstance(b, docx_report.Heading) for b in out):
                out.append(docx_report.PageBreak())
            out.append(docx_report.Heading(block["text"], min(3, max(1, int(block["level"])))))
        elif kind == "paragraph" and block.get("style") == "banner":
            continue  # the DOCX carries the banner in every page header
        elif kind == "paragraph":
            out.append(docx_report.Paragraph(block["text"], indent=block.get("style") != "subtitle",
                                             align="center" if block.get("style") == "subtitle" else "justify",
                                             bold=block.get("style") in ("banner", "subtitle")))
        elif kind == "bullets":
            out.append(docx_report.Bullets(tuple(block["items"])))
        elif kind == "table" and block.get("in_file"):
            out.append(docx_report.TableInFile(block.get("title", block["caption"]), block["in_file"]["text"],
                                               block.get("source"), block.get("note")))
        elif kind == "table":
            data = pd.DataFrame(block["rows"], columns=block["columns"])
            out.append(docx_report.Table(data, block.get("title", block["caption"]), block.get("source"),
                                         block.get("note")))  # landscape only where no portrait size fits
        elif kind == "figure":
            out.append(docx_report.Figure(block["path"], block.get("title", block["caption"]), block.get("source"),
                                          block.get("note")))
    return out


def _json_default(value: Any) -> Any:  # pragma: no cover - used for debugging dumps only
    return str(value)


def dump_blocks(run_dir: Path | str) -> str:
    """The DOCX blocks as JSON text (for inspection and tests)."""
    return json.dumps(docx_blocks(run_dir), ensure_ascii=False, indent=1, default=_json_default)
