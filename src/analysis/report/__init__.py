"""Report layer: from the notebooks' tidy results to the documents a reader gets.

`tables` (number formats, table export), `narrative` (rule-based sentences), `plots`,
`content` (what a notebook shows: tables, figures, notes), `docx_report` (DOCX layout) and
`runner` (papermill execution, HTML assembly, manifest, caching, ``python -m analysis report``).
Only this layer writes ``reports/``. Imports the layers below it (instruments, ingest,
disclosure) — never `analysis.study`.
"""
