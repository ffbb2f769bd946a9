"""Synthetic demo layer: a population and survey waves with planted effects, for the demo.

`members` (the member survey and the planted truth), `units` (the unit survey), `text`
(comments, planted personal data), `io` (deterministic XLSX/JSON/YAML writers), `demo`
(``python -m analysis demo``: write the files and import them). Sits on top: imports the
instruments, the frame, scoring and the import; nothing below imports it.
"""
