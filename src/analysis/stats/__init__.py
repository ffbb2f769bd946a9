"""Statistics layer: pure functions, DataFrame or design in, tidy DataFrame out.

`design` (`SurveyDesign`, design-based estimates), `weighting` (raking, post-stratification,
trimming), `compare` (tests, wave differences, multiple testing), `reliability` (alpha, omega,
item statistics), `models` (regression and mixed models), `scoring` (recoding and construct
scores from an instrument). Nothing here reads, writes, plots or prints. Imports only
`analysis.instruments` (for scoring) and third-party libraries.
"""
