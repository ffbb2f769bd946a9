# Reference values for the estimators beyond means and totals in src/analysis/stats (proportions
# over every declared level, ratios, quantiles, with-replacement design effects, the "average"
# lonely-PSU rule), computed with R's `survey` (the version is written into the JSON).
#
# Run from the repository root:   Rscript scripts/r_reference/estimators.R
# Writes tests/r_reference/estimators_reference.json (every value with the exact R call that made
# it) and the data the tests read (tests/r_reference/estimators_*.csv), so the tests run without
# R. Data: `api` (apistrat, apiclus1) from the survey package, the project-shaped units.csv
# written by design.R (units as strata, unit size as fpc, lonely and census strata), and a second
# wave of it drawn here with a fixed seed in which answer "3" does not occur.
suppressMessages({
  library(survey)
  library(jsonlite)
})
script_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
root <- if (length(script_arg)) normalizePath(file.path(dirname(sub("^--file=", "", script_arg[1])), "..", "..")) else "."
out_dir <- file.path(root, "tests", "r_reference")
options(survey.lonely.psu = "fail")

data(api)
keep <- c("snum", "stype", "dnum", "pw", "fpc", "api00", "api99", "api.stu", "enroll", "awards",
          "sch.wide", "meals", "ell", "acs.k3")
write.csv(apistrat[, keep], file.path(out_dir, "estimators_apistrat.csv"), row.names = FALSE, na = "")
write.csv(apiclus1[, keep], file.path(out_dir, "estimators_apiclus1.csv"), row.names = FALSE, na = "")
apistrat <- read.csv(file.path(out_dir, "estimators_apistrat.csv"))
apiclus1 <- read.csv(file.path(out_dir, "estimators_apiclus1.csv"))

# Two waves of the project-shaped data: 2024 is units.csv (design.R); 2025 is drawn from the same
# units with answers "1" and "2" only, so "3" vanishes; the instrument declares "1".."4" ("4" is
# chosen by nobody in either wave).
units_df <- read.csv(file.path(out_dir, "units.csv"), colClasses = c(q1 = "character"))
set.seed(20252)
w25 <- units_df[, c("unit", "org", "unit_size", "w")]
w25$q1 <- sample(c("1", "2"), nrow(w25), replace = TRUE, prob = c(0.3, 0.7))
waves <- rbind(cbind(wave = "2024", units_df[, c("unit", "org", "unit_size", "w", "q1")]),
               cbind(wave = "2025", w25))
write.csv(waves, file.path(out_dir, "estimators_waves.csv"), row.names = FALSE, na = "")
waves <- read.csv(file.path(out_dir, "estimators_waves.csv"), colClasses = c(q1 = "character", wave = "character"))

refs <- list()
env <- environment()
tidy_stat <- function(x, df = Inf) {
  ci <- confint(x, df = df)
  r <- list(names = names(coef(x)), estimate = unname(coef(x)), se = unname(as.vector(SE(x))),
            ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]))
  if (!is.null(attr(x, "deff"))) r$deff <- unname(diag(as.matrix(attr(x, "deff"))))
  r
}
tidy_by <- function(x) {
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
  # deff.svyby() refuses deff = "replace" (it tests !deffs): read the DEff columns instead
  if (!identical(info$deffs, FALSE)) r$deff <- as.vector(as.matrix(x[, grep("^DEff", names(x)), drop = FALSE]))
  r
}
ref <- function(id, call, tidy = identity, setup = NULL) {
  if (!is.null(setup)) eval(parse(text = setup), envir = env)
  value <- eval(parse(text = call), envir = env)
  refs[[id]] <<- list(setup = setup, call = call, value = tidy(value))
}
design_calls <- list(
  dstrat = "svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)",
  dclus1 = "svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)",
  dunit = "svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = units_df)",
  dwave24 = "svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = subset(waves, wave == '2024'))",
  dwave25 = "svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = subset(waves, wave == '2025'))",
  dwaves = "svydesign(id = ~1, strata = ~interaction(wave, unit), weights = ~w, fpc = ~unit_size, data = waves)"
)
for (nm in names(design_calls)) assign(nm, eval(parse(text = design_calls[[nm]])))
refs$designs <- design_calls
rake_setup <- paste(
  "pop_stype <- data.frame(stype = c('E', 'H', 'M'), Freq = c(4421, 755, 1018));",
  "pop_schwide <- data.frame(sch.wide = c('No', 'Yes'), Freq = c(1072, 5122));",
  "pop_awards <- data.frame(awards = c('No', 'Yes'), Freq = c(2027, 4167));",
  "dclus1r <- rake(dclus1, list(~stype, ~sch.wide, ~awards), list(pop_stype, pop_schwide, pop_awards),",
  "control = list(maxit = 200, epsilon = 1e-13));",
  "dclus1p <- postStrata <- postStratify(dclus1, ~stype, pop_stype)")
eval(parse(text = rake_setup), envir = env)
refs$rake_setup <- rake_setup

# ---- (a) every declared level: a level nobody chose is 0 with SE 0 --------------------------
options(survey.lonely.psu = "adjust")
lv <- "c('1', '2', '3', '4', '5')"
ref("levels_unit_q1", sprintf("svymean(~factor(q1, levels = %s), dunit, deff = TRUE)", lv), tidy_stat,
    setup = "options(survey.lonely.psu = 'adjust')")
ref("levels_unit_by_q1_org", sprintf("svyby(~factor(q1, levels = %s), ~org, dunit, svymean, deff = TRUE)", lv),
    tidy_by, setup = "options(survey.lonely.psu = 'adjust')")
ref("levels_clus1_stype", "svymean(~factor(stype, levels = c('E', 'H', 'M', 'X')), dclus1, deff = TRUE)",
    tidy_stat)
ref("levels_clus1_by_stype_awards",
    "svyby(~factor(stype, levels = c('E', 'H', 'M', 'X')), ~awards, dclus1, svymean, deff = TRUE)", tidy_by)
lv4 <- "c('1', '2', '3', '4')"
ref("levels_wave24_q1", sprintf("svymean(~factor(q1, levels = %s), dwave24)", lv4), tidy_stat,
    setup = "options(survey.lonely.psu = 'adjust')")
ref("levels_wave25_q1", sprintf("svymean(~factor(q1, levels = %s), dwave25)", lv4), tidy_stat,
    setup = "options(survey.lonely.psu = 'adjust')")
ref("levels_waves_by", sprintf("svyby(~factor(q1, levels = %s), ~wave, dwaves, svymean)", lv4), tidy_by,
    setup = "options(survey.lonely.psu = 'adjust')")
ref("levels_waves_change", sprintf(paste(
  "svycontrast(svyby(~factor(q1, levels = %s), ~wave, dwaves, svymean, covmat = TRUE),",
  "lapply(setNames(1:4, paste0('q1_', 1:4)), function(k) { v <- numeric(8); v[2 * k - 1] <- -1; v[2 * k] <- 1; v }))"),
  lv4), tidy_stat, setup = "options(survey.lonely.psu = 'adjust')")
options(survey.lonely.psu = "fail")

# ---- (b) ratios: svyratio (CI from confint(): normal, and on the design df) ------------------
tidy_ratio <- function(x, d) {
  r <- tidy_stat(x)
  ci <- confint(x, df = degf(d))
  r$ci_low_df <- unname(ci[, 1])
  r$ci_high_df <- unname(ci[, 2])
  r$deff <- unname(as.vector(attr(x, "deff")))
  r$degf <- degf(d)
  r
}
ref("ratio_clus1", "svyratio(~api.stu, ~enroll, dclus1, deff = TRUE)", function(x) tidy_ratio(x, dclus1))
ref("ratio_strat", "svyratio(~api.stu, ~enroll, dstrat, deff = TRUE)", function(x) tidy_ratio(x, dstrat))
ref("ratio_strat_narm", "svyratio(~api.stu, ~acs.k3, dstrat, na.rm = TRUE, deff = TRUE)",
    function(x) tidy_ratio(x, dstrat))
ref("ratio_rake", "svyratio(~api.stu, ~enroll, dclus1r, deff = TRUE)", function(x) tidy_ratio(x, dclus1r))
ref("ratio_ps", "svyratio(~api.stu, ~enroll, dclus1p, deff = TRUE)", function(x) tidy_ratio(x, dclus1p))
ref("ratio_clus1_by_stype",
    "svyby(~api.stu, ~stype, denominator = ~enroll, design = dclus1, FUN = svyratio, deff = TRUE)", tidy_by)
ref("ratio_strat_by_awards",
    "svyby(~api.stu, ~awards, denominator = ~enroll, design = dstrat, FUN = svyratio, deff = TRUE)", tidy_by)
ref("ratio_rake_by_stype",
    "svyby(~api.stu, ~stype, denominator = ~enroll, design = dclus1r, FUN = svyratio, deff = TRUE)", tidy_by)
ref("ratio_unit_adjust", "svyratio(~score, ~w, dunit, na.rm = TRUE, deff = TRUE)",
    function(x) tidy_ratio(x, dunit), setup = "options(survey.lonely.psu = 'adjust')")
options(survey.lonely.psu = "fail")

# ---- (c) quantiles: svyquantile's default in survey >= 4 (qrule = "math", interval.type = "mean",
# Woodruff interval on the design df, se = interval width / (2 qt(0.975, df))) ---------------
tidy_q <- function(x) {
  ci <- confint(x)
  list(names = names(coef(x)), estimate = unname(coef(x)), se = unname(SE(x)),
       ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]))
}
# svyby: the Woodruff interval is in the ci_l/ci_u columns of vartype = c("se", "ci") (confint() on
# the svyby object would be estimate +- 1.96 SE instead)
tidy_qby <- function(x) {
  info <- attr(x, "svyby")
  vars <- info$variables
  ng <- nrow(x)
  col <- function(prefix) as.vector(as.matrix(x[, paste0(prefix, vars)]))
  list(by = lapply(as.list(x[, seq_along(info$margins), drop = FALSE]),
                   function(v) rep(as.character(v), times = length(vars))),
       variable = rep(vars, each = ng), estimate = col(""), se = col("se."),
       ci_low = col("ci_l."), ci_high = col("ci_u."))
}
qs3 <- "c(0.25, 0.5, 0.75)"
ref("quantile_clus1", sprintf("svyquantile(~api00, dclus1, %s, ci = TRUE)", qs3), tidy_q)
ref("quantile_clus1_tails", "svyquantile(~api00, dclus1, c(0.01, 0.1, 0.9, 0.99), ci = TRUE)", tidy_q)
ref("quantile_clus1_alpha10", "svyquantile(~api00, dclus1, c(0.5), ci = TRUE, alpha = 0.1)", tidy_q)
ref("quantile_clus1_enroll", sprintf("svyquantile(~enroll, dclus1, %s, ci = TRUE)", qs3), tidy_q)
ref("quantile_strat", sprintf("svyquantile(~api00, dstrat, %s, ci = TRUE)", qs3), tidy_q)
ref("quantile_strat_narm", sprintf("svyquantile(~acs.k3, dstrat, %s, ci = TRUE, na.rm = TRUE)", qs3), tidy_q)
ref("quantile_rake", sprintf("svyquantile(~api00, dclus1r, %s, ci = TRUE)", qs3), tidy_q)
ref("quantile_clus1_by_stype",
    sprintf("svyby(~api00, ~stype, dclus1, svyquantile, quantiles = %s, ci = TRUE, vartype = c('se', 'ci'))", qs3), tidy_qby)
ref("quantile_strat_by_awards",
    sprintf("svyby(~api00, ~awards, dstrat, svyquantile, quantiles = %s, ci = TRUE, vartype = c('se', 'ci'))", qs3), tidy_qby)
ref("quantile_rake_by_stype",
    sprintf("svyby(~api00, ~stype, dclus1r, svyquantile, quantiles = %s, ci = TRUE, vartype = c('se', 'ci'))", qs3), tidy_qby)
ref("quantile_unit_adjust", sprintf("svyquantile(~score, dunit, %s, ci = TRUE, na.rm = TRUE)", qs3), tidy_q,
    setup = "options(survey.lonely.psu = 'adjust')")
ref("quantile_unit_by_org",
    sprintf("svyby(~score, ~org, dunit, svyquantile, quantiles = %s, ci = TRUE, na.rm = TRUE, vartype = c('se', 'ci'))", qs3), tidy_qby,
    setup = "options(survey.lonely.psu = 'adjust')")
options(survey.lonely.psu = "fail")

# ---- (d) with-replacement design effects (deff = "replace") and the "average" lonely-PSU rule ----
ref("replace_clus1_mean", "svymean(~api00, dclus1, deff = 'replace')", tidy_stat)
ref("replace_strat_total", "svytotal(~enroll, dstrat, deff = 'replace')", tidy_stat)
ref("replace_clus1_prop", "svymean(~stype, dclus1, deff = 'replace')", tidy_stat)
ref("replace_rake_by_mean", "svyby(~api00, ~stype, dclus1r, svymean, deff = 'replace')", tidy_by)
ref("replace_strat_by_total", "svyby(~enroll, ~awards, dstrat, svytotal, deff = 'replace')", tidy_by)
ref("replace_clus1_ratio", "svyratio(~api.stu, ~enroll, dclus1, deff = 'replace')",
    function(x) list(estimate = unname(coef(x)), se = unname(as.vector(SE(x))), deff = unname(as.vector(attr(x, "deff")))))
ref("replace_unit_mean", "svymean(~score, dunit, na.rm = TRUE, deff = 'replace')", tidy_stat,
    setup = "options(survey.lonely.psu = 'adjust')")
# "average": a stratum with one PSU contributes nothing and the sum over the other strata is
# scaled by (strata present) / (strata without a lonely PSU)
avg <- "options(survey.lonely.psu = 'average')"
ref("average_unit_mean", "svymean(~score, dunit, na.rm = TRUE, deff = TRUE)", tidy_stat, setup = avg)
ref("average_unit_total", "svytotal(~score, dunit, na.rm = TRUE, deff = TRUE)", tidy_stat, setup = avg)
ref("average_unit_prop", "svymean(~q1, dunit, deff = TRUE)", tidy_stat, setup = avg)
ref("average_unit_by_org", "svyby(~score, ~org, dunit, svymean, na.rm = TRUE, deff = TRUE)", tidy_by, setup = avg)
ref("average_unit_by_total_org", "svyby(~score, ~org, dunit, svytotal, na.rm = TRUE, deff = TRUE)", tidy_by,
    setup = avg)
ref("average_unit_ratio", "svyratio(~score, ~w, dunit, na.rm = TRUE)", tidy_stat, setup = avg)
unit_rake_setup <- paste(
  "options(survey.lonely.psu = 'average');",
  "dunitr <- rake(dunit, list(~org, ~sex, ~party),",
  "list(data.frame(org = c('CDVC', 'DTN', 'HCCB'), Freq = c(300, 200, 129)),",
  "data.frame(sex = c('female', 'male'), Freq = c(330, 299)),",
  "data.frame(party = c('no', 'yes'), Freq = c(250, 379))),",
  "control = list(maxit = 200, epsilon = 1e-13))")
ref("average_unit_rake_by_org", "svyby(~score, ~org, dunitr, svymean, na.rm = TRUE, deff = TRUE)", tidy_by,
    setup = unit_rake_setup)
ref("average_unit_rake_prop", "svymean(~q1, dunitr, deff = TRUE)", tidy_stat, setup = avg)
options(survey.lonely.psu = "fail")

refs$r_version <- R.version.string
refs$survey_version <- as.character(packageVersion("survey"))
write_json(refs, file.path(out_dir, "estimators_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, null = "null", na = "null")
cat("wrote", file.path(out_dir, "estimators_reference.json"), "\n")
