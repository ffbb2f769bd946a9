"""Statistics layer: pure functions, DataFrame or design in, tidy DataFrame out.

`design` (`SurveyDesign`, design-based estimates), `weighting` (raking, post-stratification,
trimming), `compare` (tests, wave differences, multiple testing), `reliability` (alpha,
one-factor omega, item statistics), `omega` (psych's default omega: Schmid–Leiman omega_h and
omega total) on `factoring` (psych's fa() steps: minres, varimax, oblimin), `models`
(dose-response, DiD and panel models), `scoring` (recoding and
construct scores from an instrument). Nothing here reads, writes, plots or prints. Imports only
`analysis.instruments` (for scoring) and third-party libraries.

Inside the layer imports go one way: `columns` (column access, `DesignError`) and
`calibration` (calibration steps, their removal from linearised values) → `linearisation`
(`Design`: the specification and the variance of linearised totals) → `weighting`, `compare`
(which take any `Design`) → `design` (`SurveyDesign`: `Design` with the estimates and methods
calling weighting and compare). The models: `model_result` (`ModelResult`, shared checks) →
`mixed` (`fit_mixed`), `svyglm` (`svyglm`, on a design) → `models`.
"""
