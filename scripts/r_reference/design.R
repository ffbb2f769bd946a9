# Reference values for src/analysis/{design,weighting,compare}.py, computed with R's `survey`.
#
# Run from the repository root:   Rscript scripts/r_reference/design.R
# Writes tests/r_reference/design_reference.json (every value with the exact R call that made
# it) and the public datasets the tests read (tests/r_reference/*.csv), so the tests run
# without R. The datasets are `api` (apistrat, apiclus1) and `nhanes` from the survey package,
# plus a small synthetic data set shaped like this project's design (units as strata, unit size
# as fpc, some units with a single respondent), generated here with a fixed seed.
suppressMessages({
  library(survey)
  library(jsonlite)
})
# Paths are relative to the repository root, found from this script's location.
script_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
root <- if (length(script_arg)) normalizePath(file.path(dirname(sub("^--file=", "", script_arg[1])), "..", "..")) else "."
out_dir <- file.path(root, "tests", "r_reference")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
options(survey.lonely.psu = "fail")

data(api)
data(nhanes)

# ---- datasets written for the tests -------------------------------------------------------
keep <- c("snum", "stype", "dnum", "pw", "fpc", "api00", "api99", "enroll", "awards",
          "sch.wide", "both", "acs.k3", "meals")
write.csv(apistrat[, keep], file.path(out_dir, "apistrat.csv"), row.names = FALSE, na = "")
write.csv(apiclus1[, keep], file.path(out_dir, "apiclus1.csv"), row.names = FALSE, na = "")
write.csv(nhanes, file.path(out_dir, "nhanes.csv"), row.names = FALSE, na = "")
# apiclus2: two-stage cluster sample (districts, then schools), fpc at both stages
write.csv(apiclus2[, c("snum", "stype", "dnum", "fpc1", "fpc2", "pw", "api00", "api99", "enroll")],
          file.path(out_dir, "apiclus2.csv"), row.names = FALSE, na = "")

# Project-shaped data: 14 grassroots units = strata, unit size = fpc, members sampled within
# units. U13 and U14 have one respondent (lonely strata); U12 is a census (n = N); U14 has N = 1.
set.seed(20231)
units <- data.frame(
  unit = sprintf("U%02d", 1:14),
  org = rep(c("CDVC", "HCCB", "DTN"), length.out = 14),
  unit_size = c(80, 45, 60, 30, 25, 70, 40, 55, 35, 50, 20, 6, 12, 1),
  n_sampled = c(20, 12, 15, 8, 6, 18, 10, 14, 9, 12, 5, 6, 1, 1)
)
rows <- units[rep(seq_len(nrow(units)), units$n_sampled), ]
rownames(rows) <- NULL
rows$w <- rows$unit_size / rows$n_sampled
rows$sex <- sample(c("female", "male"), nrow(rows), replace = TRUE)
rows$party <- sample(c("no", "yes"), nrow(rows), replace = TRUE, prob = c(0.4, 0.6))
rows$score <- round(3 + 0.3 * (rows$org == "DTN") + 0.2 * (rows$sex == "male") +
                      rnorm(nrow(rows), sd = 0.8), 2)
rows$score[sample(nrow(rows), 9)] <- NA
rows$q1 <- sample(c("1", "2", "3"), nrow(rows), replace = TRUE)
rows$n_sampled <- NULL
write.csv(rows, file.path(out_dir, "units.csv"), row.names = FALSE, na = "")
units_df <- read.csv(file.path(out_dir, "units.csv"), colClasses = c(q1 = "character"))

# ---- helpers: evaluate the call text itself, so the JSON shows exactly what was run ---------
refs <- list()
env <- environment()
tidy_stat <- function(x) {
  ci <- confint(x)
  r <- list(names = names(coef(x)), estimate = unname(coef(x)), se = unname(SE(x)),
            ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]))
  if (!is.null(attr(x, "deff"))) r$deff <- unname(diag(as.matrix(attr(x, "deff"))))
  r
}
tidy_by <- function(x) {
  # Long format, variable-major (the order of coef(), SE() and confint() on a svyby object).
  info <- attr(x, "svyby")
  nby <- length(info$margins)
  vars <- info$variables
  ng <- nrow(x)
  ci <- confint(x)
  r <- list(by = lapply(as.list(x[, seq_len(nby), drop = FALSE]),
                        function(col) rep(as.character(col), times = length(vars))),
            variable = rep(vars, each = ng),
            estimate = as.vector(as.matrix(x[, vars])), se = as.vector(as.matrix(SE(x))),
            ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]))
  if (isTRUE(info$deffs)) r$deff <- as.vector(as.matrix(deff(x)))
  r
}
tidy_test <- function(x) {
  list(statistic = unname(x$statistic), parameter = as.list(x$parameter),
       estimate = unname(x$estimate), p_value = unname(x$p.value))
}
ref <- function(id, call, tidy = identity, setup = NULL) {
  if (!is.null(setup)) eval(parse(text = setup), envir = env)
  value <- eval(parse(text = call), envir = env)
  refs[[id]] <<- list(setup = setup, call = call, value = tidy(value))
}
design_calls <- list(
  dstrat = "svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)",
  dstrat_now = "svydesign(id = ~1, strata = ~stype, fpc = ~fpc, data = apistrat)",
  dclus1 = "svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)",
  dclus2 = "svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)",
  dnh = "svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = nhanes)",
  dunit = "svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = units_df)"
)
for (nm in names(design_calls)) assign(nm, eval(parse(text = design_calls[[nm]])))
refs$designs <- design_calls

# ---- apistrat: stratified, fpc --------------------------------------------------------------
ref("strat_mean_api00", "svymean(~api00, dstrat, deff = TRUE)", tidy_stat)
ref("strat_mean_api00_noweights", "svymean(~api00, dstrat_now, deff = TRUE)", tidy_stat)
ref("strat_total_enroll", "svytotal(~enroll, dstrat, deff = TRUE)", tidy_stat)
ref("strat_mean_acsk3_narm", "svymean(~acs.k3, dstrat, na.rm = TRUE, deff = TRUE)", tidy_stat)
ref("strat_prop_awards", "svymean(~awards, dstrat, deff = TRUE)", tidy_stat)
ref("strat_by_api00_awards", "svyby(~api00, ~awards, dstrat, svymean, deff = TRUE)", tidy_by)
ref("strat_by_acsk3_awards_narm",
    "svyby(~acs.k3, ~awards, dstrat, svymean, na.rm = TRUE, deff = TRUE)", tidy_by)
ref("strat_by_total_enroll_awards", "svyby(~enroll, ~awards, dstrat, svytotal, deff = TRUE)", tidy_by)
ref("strat_by_api00_awards_schwide",
    "svyby(~api00, ~awards + sch.wide, dstrat, svymean, deff = TRUE)", tidy_by)
ref("strat_by_prop_schwide_awards", "svyby(~sch.wide, ~awards, dstrat, svymean, deff = TRUE)", tidy_by)
ref("strat_ttest_api00_awards", "svyttest(api00 ~ awards, dstrat)", tidy_test)
ref("strat_chisq_schwide_stype", "svychisq(~sch.wide + stype, dstrat)", tidy_test)
ref("strat_chisq_awards_both", "svychisq(~awards + both, dstrat)", tidy_test)
ref("strat_trim_weights", "weights(trimWeights(dstrat, upper = 40))")
ref("strat_trim_mean", "svymean(~api00, trimWeights(dstrat, upper = 40), deff = TRUE)", tidy_stat)

# ---- apiclus1: one-stage cluster sample, fpc --------------------------------------------------
ref("clus1_mean_api00", "svymean(~api00, dclus1, deff = TRUE)", tidy_stat)
ref("clus1_total_enroll", "svytotal(~enroll, dclus1, deff = TRUE)", tidy_stat)
ref("clus1_prop_stype", "svymean(~stype, dclus1, deff = TRUE)", tidy_stat)
ref("clus1_by_api00_stype", "svyby(~api00, ~stype, dclus1, svymean, deff = TRUE)", tidy_by)
ref("clus1_by_total_enroll_stype", "svyby(~enroll, ~stype, dclus1, svytotal, deff = TRUE)", tidy_by)
ref("clus1_ttest_api00_schwide", "svyttest(api00 ~ sch.wide, dclus1)", tidy_test)
ref("clus1_chisq_schwide_stype", "svychisq(~sch.wide + stype, dclus1)", tidy_test)

# ---- apiclus2: two-stage cluster sample, fpc at both stages (R's multistage variance) -------
ref("clus2_mean_api00", "svymean(~api00, dclus2, deff = TRUE)", tidy_stat)
ref("clus2_total_enroll", "svytotal(~enroll, dclus2, na.rm = TRUE, deff = TRUE)", tidy_stat)
ref("clus2_by_api00_stype", "svyby(~api00, ~stype, dclus2, svymean, deff = TRUE)", tidy_by)
ref("clus2_rake_mean_api00", "svymean(~api00, dclus2r, deff = TRUE)", tidy_stat, setup = paste(
  "dclus2r <- rake(dclus2, list(~stype), list(data.frame(stype = c('E', 'H', 'M'), Freq = c(4421, 755, 1018))),",
  "control = list(maxit = 200, epsilon = 1e-13))"))
ref("clus2_rake_by_api99_stype", "svyby(~api99, ~stype, dclus2r, svymean, deff = TRUE)", tidy_by)

# Raking to apipop margins, run to full convergence (R's default epsilon = 1 stops early).
rake_setup <- paste(
  "pop_stype <- data.frame(stype = c('E', 'H', 'M'), Freq = c(4421, 755, 1018));",
  "pop_schwide <- data.frame(sch.wide = c('No', 'Yes'), Freq = c(1072, 5122));",
  "pop_awards <- data.frame(awards = c('No', 'Yes'), Freq = c(2027, 4167));",
  "dclus1r <- rake(dclus1, list(~stype, ~sch.wide, ~awards), list(pop_stype, pop_schwide, pop_awards),",
  "control = list(maxit = 200, epsilon = 1e-13))")
ref("rake_weights", "weights(dclus1r)", setup = rake_setup)
ref("rake_mean_api00", "svymean(~api00, dclus1r, deff = TRUE)", tidy_stat)
ref("rake_total_enroll", "svytotal(~enroll, dclus1r, deff = TRUE)", tidy_stat)
ref("rake_prop_both", "svymean(~both, dclus1r, deff = TRUE)", tidy_stat)
ref("rake_by_api00_stype", "svyby(~api00, ~stype, dclus1r, svymean, deff = TRUE)", tidy_by)
ref("rake_by_acsk3_awards_narm", "svyby(~acs.k3, ~awards, dclus1r, svymean, na.rm = TRUE, deff = TRUE)", tidy_by)
ref("rake_ttest_api00_schwide", "svyttest(api00 ~ sch.wide, dclus1r)", tidy_test)
ref("rake_chisq_both_stype", "svychisq(~both + stype, dclus1r)", tidy_test)
ref("rake_trim_weights", "weights(trimWeights(dclus1r, upper = 45))")
ref("rake_trim_mean", "svymean(~api00, trimWeights(dclus1r, upper = 45), deff = TRUE)", tidy_stat)
ref("rake_trim_strict_weights", "weights(trimWeights(dclus1r, upper = 42, strict = TRUE))")
ref("rake2_mean_api00", "svymean(~api00, dclus1r2, deff = TRUE)", tidy_stat,
    setup = paste("dclus1r2 <- rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide),",
                  "control = list(maxit = 200, epsilon = 1e-13))"))

ps_setup <- "dclus1p <- postStratify(dclus1, ~stype, pop_stype)"
ref("ps_weights", "weights(dclus1p)", setup = ps_setup)
ref("ps_mean_api00", "svymean(~api00, dclus1p, deff = TRUE)", tidy_stat)
ref("ps_total_enroll", "svytotal(~enroll, dclus1p, deff = TRUE)", tidy_stat)
ref("ps_by_api00_awards", "svyby(~api00, ~awards, dclus1p, svymean, deff = TRUE)", tidy_by)

# Chained calibration: post-stratify, then rake on two other margins (both kept for the SEs).
chain_setup <- paste("dclus1pr <- rake(postStratify(dclus1, ~stype, pop_stype), list(~sch.wide, ~awards),",
                     "list(pop_schwide, pop_awards), control = list(maxit = 200, epsilon = 1e-13))")
ref("chain_mean_api00", "svymean(~api00, dclus1pr, deff = TRUE)", tidy_stat, setup = chain_setup)
ref("chain_by_enroll_stype", "svyby(~enroll, ~stype, dclus1pr, svytotal, deff = TRUE)", tidy_by)

# ---- nhanes: strata + clusters (nested), missing values -----------------------------------
ref("nh_mean_hichol", "svymean(~HI_CHOL, dnh, na.rm = TRUE, deff = TRUE)", tidy_stat)
ref("nh_total_hichol", "svytotal(~HI_CHOL, dnh, na.rm = TRUE, deff = TRUE)", tidy_stat)
ref("nh_by_hichol_race", "svyby(~HI_CHOL, ~race, dnh, svymean, na.rm = TRUE, deff = TRUE)", tidy_by)
ref("nh_prop_agecat", "svymean(~agecat, dnh, deff = TRUE)", tidy_stat)
ref("nh_ttest_hichol_sex", "svyttest(HI_CHOL ~ RIAGENDR, dnh)", tidy_test)
ref("nh_chisq_hichol_race", "svychisq(~HI_CHOL + race, dnh)", tidy_test)

# ---- project-shaped design: units as strata with fpc, lonely strata ----------------------
for (lonely in c("adjust", "certainty", "remove")) {
  options(survey.lonely.psu = lonely)
  ref(paste0("unit_", lonely, "_mean_score"),
      "svymean(~score, dunit, na.rm = TRUE, deff = TRUE)", tidy_stat,
      setup = sprintf("options(survey.lonely.psu = '%s')", lonely))
  ref(paste0("unit_", lonely, "_by_score_org"),
      "svyby(~score, ~org, dunit, svymean, na.rm = TRUE, deff = TRUE)", tidy_by,
      setup = sprintf("options(survey.lonely.psu = '%s')", lonely))
  ref(paste0("unit_", lonely, "_total_score"),
      "svytotal(~score, dunit, na.rm = TRUE, deff = TRUE)", tidy_stat,
      setup = sprintf("options(survey.lonely.psu = '%s')", lonely))
}
options(survey.lonely.psu = "fail")
ref("unit_fail_mean_score_no_cdvc", "svymean(~score, subset(dunit, org != 'CDVC'), na.rm = TRUE, deff = TRUE)",
    tidy_stat, setup = "options(survey.lonely.psu = 'fail')")
options(survey.lonely.psu = "adjust")
unit_rake_setup <- paste(
  "options(survey.lonely.psu = 'adjust');",
  "dunitr <- rake(dunit, list(~org, ~sex, ~party),",
  "list(data.frame(org = c('CDVC', 'DTN', 'HCCB'), Freq = c(300, 200, 129)),",
  "data.frame(sex = c('female', 'male'), Freq = c(330, 299)),",
  "data.frame(party = c('no', 'yes'), Freq = c(250, 379))),",
  "control = list(maxit = 200, epsilon = 1e-13))")
ref("unit_rake_weights", "weights(dunitr)", setup = unit_rake_setup)
ref("unit_rake_by_score_org", "svyby(~score, ~org, dunitr, svymean, na.rm = TRUE, deff = TRUE)", tidy_by)
ref("unit_rake_prop_q1", "svymean(~q1, dunitr, deff = TRUE)", tidy_stat)
ref("unit_rake_by_prop_q1_org", "svyby(~q1, ~org, dunitr, svymean, deff = TRUE)", tidy_by)
ref("unit_rake_chisq_q1_org", "svychisq(~q1 + org, dunitr)", tidy_test)
ref("unit_rake_ttest_score_sex", "svyttest(score ~ sex, dunitr)", tidy_test)

# ---- effect size: Cohen's d with svyvar-based (weighted) group variances, pooled by group n
ref("strat_cohens_d_api00_awards", paste(
  "with(list(m = coef(svyby(~api00, ~awards, dstrat, svymean)),",
  "v = coef(svyby(~api00, ~awards, dstrat, svyvar)), n = as.vector(table(apistrat$awards))),",
  "unname((m[2] - m[1]) / sqrt(((n[1] - 1) * v[1] + (n[2] - 1) * v[2]) / (sum(n) - 2))))"))

# ---- multiple testing ---------------------------------------------------------------------
ref("p_adjust_bh", "p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2, NA, 0.04, 0.5), method = 'BH')")

refs$r_version <- R.version.string
refs$survey_version <- as.character(packageVersion("survey"))
write_json(refs, file.path(out_dir, "design_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, null = "null", na = "null")
cat("wrote", file.path(out_dir, "design_reference.json"), "\n")
