"""Ingest layer: everything that comes into the project, read, checked and stored.

Received survey exports (`read` → `header` → `convert` → `prepare`, with `meta` for the wave's
``wave.yaml``, `vn_encoding` for legacy Vietnamese encodings, `validate` (its rules written in
`expression`, over the flat `spec` of the instrument) and `quality` from the
instrument, `store` for data/processed) tied together by `importer.import_wave`; the read side
of the store (`waves`: which waves exist, their data, the instrument version each used).
Only this layer reads ``data/raw``. Imports `analysis.config` and `analysis.instruments`.
"""
