"""Report layer: from the notebooks' tidy results to the documents a reader gets.

What a notebook shows: `tables` (number formats, table export), `narrative` (rule-based
sentences), `plots`, `content` (tables, figures, notes of a notebook) and `docx_report` (DOCX
layout). How a report is made (`runner.run_report`, ``python -m analysis report`` in `command`):
`pipeline` (notebooks/pipeline.yaml: order and needs), `cells` (sections a study cannot offer are
left out), `parameters`, `execute` (papermill, the kernel), `inputs` (the cache key), `assembly`
(report.html, report.docx), `publish` (atomic promotion, failed runs kept), `manifest`, `errors`.
Only this layer writes ``reports/``. Imports the layers below it (instruments, ingest,
disclosure) — never `analysis.study`.
"""
