"""Synthetic demo layer: a population and survey waves with planted effects, for the demo.

`world` (the generator's settings, the members of the frame, the units' implementation
intensity, the fieldwork calendar), `members` (member answers, who responds, planted defects,
the planted truth), `units` (the unit survey), `text` (comments, planted personal data), `io`
(deterministic XLSX/JSON/YAML writers), `generate` (write every wave's files and ``truth.json``),
`demo` (``python -m analysis demo``: write the files and import them), `scale` (frames N times
the real one) and `regression` (a regression sample) for the benchmarks. Imports go
world → members/units → generate → demo. Sits on top: imports the instruments, the frame,
scoring and the import; nothing below imports it except the report command's lazy call of
`demo.prepare_demo`.
"""
