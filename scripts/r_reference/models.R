#!/usr/bin/env Rscript
# Regenerates the golden values of tests/test_models.py from lme4, survey and sandwich on
# public data shipped with those packages.
#
#   Rscript scripts/r_reference/models.R        (run from the project root)
#
# Writes tests/r_reference/models_<case>.csv (the data each case uses) and
#        tests/r_reference/models_reference.json (estimates, SEs, variance components, calls).
suppressPackageStartupMessages({
  library(lme4)
  library(survey)
  library(sandwich)
  library(lmerTest)  # Satterthwaite df; masks lme4::lmer, so the calls below use lme4::lmer
  library(jsonlite)
})
out_dir <- file.path("tests", "r_reference")
stopifnot(dir.exists(out_dir))

# ---- data -----------------------------------------------------------------------------
data("sleepstudy", "Dyestuff", "Dyestuff2", "cake", package = "lme4")
data("api", package = "survey")
sleep <- data.frame(Reaction = sleepstudy$Reaction, Days = sleepstudy$Days,
                    Subject = as.character(sleepstudy$Subject))
dye <- data.frame(Yield = Dyestuff$Yield, Batch = as.character(Dyestuff$Batch))
dye2 <- data.frame(Yield = Dyestuff2$Yield, Batch = as.character(Dyestuff2$Batch))  # singular fit
cake_df <- data.frame(angle = cake$angle, recipe = as.character(cake$recipe),
                      temp = cake$temp, replicate = as.integer(as.character(cake$replicate)))
clus <- apiclus1[, c("snum", "dnum", "pw", "fpc", "api99", "api00", "ell", "meals", "stype")]
clus$stype <- as.character(clus$stype)
strat <- apistrat[, c("snum", "stype", "pw", "fpc", "api00", "ell", "meals")]
strat$stype <- as.character(strat$stype)
# Difference-in-differences shape: two "waves" (api99, api00) of the same schools; the
# "high" group is the districts (units) whose mean share of English learners is above the
# median district's: a unit-level class, as the project's high/low implementation.
# Dose-response shape: "intensity" is a district-level (unit-level) exposure, the district
# mean share of subsidised meals; school type plays the organisation.
clus$intensity <- ave(clus$meals, clus$dnum) / 100
long <- rbind(
  data.frame(snum = clus$snum, dnum = clus$dnum, pw = clus$pw, fpc = clus$fpc, stype = clus$stype,
             intensity = clus$intensity, wave = "1999", score = clus$api99),
  data.frame(snum = clus$snum, dnum = clus$dnum, pw = clus$pw, fpc = clus$fpc, stype = clus$stype,
             intensity = clus$intensity, wave = "2000", score = clus$api00)
)
district_ell <- tapply(clus$ell, clus$dnum, mean)
long$high <- as.integer(long$dnum %in% names(district_ell)[district_ell > median(district_ell)])
long <- long[order(long$snum, long$wave), ]
# Unit panel shape: sleepstudy subjects as units observed in four "waves" (days 0, 3, 6, 9).
panel <- sleep[sleep$Days %in% c(0, 3, 6, 9), ]
panel$wave <- sprintf("d%d", panel$Days)

write_csv <- function(df, name) write.csv(df, file.path(out_dir, paste0("models_", name, ".csv")), row.names = FALSE)
write_csv(sleep, "sleepstudy")
write_csv(dye, "dyestuff")
write_csv(dye2, "dyestuff2")
write_csv(cake_df, "cake")
write_csv(clus, "apiclus1")
write_csv(strat, "apistrat")
write_csv(long, "apiclus1_long")

# ---- helpers --------------------------------------------------------------------------
lmer_ref <- function(call_text, data) {
  fit <- eval(parse(text = paste0("lme4::", call_text)))
  vc <- as.data.frame(VarCorr(fit))
  ci <- confint(fit, method = "Wald", parm = "beta_")
  cf <- summary(fit)$coefficients
  list(
    call = call_text,
    term = rownames(cf), estimate = unname(cf[, "Estimate"]), se = unname(cf[, "Std. Error"]),
    statistic = unname(cf[, "t value"]),
    ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]),
    variance = setNames(as.list(vc$vcov), ifelse(is.na(vc$var1), vc$grp, paste(vc$grp, vc$var1))),
    reml_criterion = unname(REMLcrit(fit)),
    # lmerTest::lmer(<same formula>) summary(): Satterthwaite df and p-values
    satterthwaite = local({
      st <- summary(suppressMessages(lmerTest::as_lmerModLmerTest(fit)))$coefficients
      list(call = sub("^lmer\\(", "lmerTest::lmer(", call_text),
           df = unname(st[, "df"]), p_value = unname(st[, "Pr(>|t|)"]))
    }),
    n_obs = nobs(fit), n_groups = unname(ngrps(fit))
  )
}
svyglm_ref <- function(call_text, design_text) {
  des <- eval(parse(text = design_text))
  fit <- eval(parse(text = call_text))
  cf <- summary(fit)$coefficients
  ci <- confint(fit, ddf = fit$df.residual)  # t-based, the same df as summary()
  list(
    call = paste0(design_text, "; ", call_text),
    term = rownames(cf), estimate = unname(cf[, 1]), se = unname(cf[, 2]),
    statistic = unname(cf[, 3]), p_value = unname(cf[, 4]), df = fit$df.residual,
    ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]),
    n_obs = nrow(des), n_clusters = length(unique(des$cluster[, 1]))
  )
}

# ---- cases ----------------------------------------------------------------------------
ref <- list(
  generated_with = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                        lmerTest = as.character(packageVersion("lmerTest")),
                        survey = as.character(packageVersion("survey")),
                        sandwich = as.character(packageVersion("sandwich"))),
  lmer = list(
    sleepstudy = lmer_ref("lmer(Reaction ~ Days + (1 | Subject), data = sleep, REML = TRUE)", sleep),
    dyestuff = lmer_ref("lmer(Yield ~ 1 + (1 | Batch), data = dye, REML = TRUE)", dye),
    dyestuff2 = suppressMessages(lmer_ref("lmer(Yield ~ 1 + (1 | Batch), data = dye2, REML = TRUE)", dye2)),
    dose = lmer_ref("lmer(score ~ intensity + wave + stype + (1 | dnum), data = long, REML = TRUE)", long),
    cake = lmer_ref("lmer(angle ~ recipe + temp + (1 | replicate), data = cake_df, REML = TRUE)", cake_df),
    did = lmer_ref("lmer(score ~ high * wave + (1 | dnum), data = long, REML = TRUE)", long),
    panel = lmer_ref("lmer(Reaction ~ wave + (1 | Subject), data = panel, REML = TRUE)", panel)
  ),
  svyglm = list(
    apiclus1 = svyglm_ref("svyglm(api00 ~ ell + meals, design = des)",
                          "des <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = clus)"),
    apiclus1_nofpc = svyglm_ref("svyglm(api00 ~ ell + meals + stype, design = des)",
                                "des <- svydesign(id = ~dnum, weights = ~pw, data = clus)"),
    apistrat = svyglm_ref("svyglm(api00 ~ ell + meals + stype, design = des)",
                          "des <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat)"),
    dose = svyglm_ref("svyglm(score ~ intensity + wave + stype, design = des)",
                      "des <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = long)"),
    did = svyglm_ref("svyglm(score ~ high * wave, design = des)",
                     "des <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = long)")
  )
)

# Unit fixed effects with cluster-robust (CR1, Stata-like) SEs: sandwich::vcovCL type "HC1".
fe <- lm(Reaction ~ wave + factor(Subject), data = panel)
v <- vcovCL(fe, cluster = ~Subject, type = "HC1")
keep <- grep("^wave|Intercept", names(coef(fe)))
ref$fixed_effects <- list(
  panel = list(
    call = paste("fe <- lm(Reaction ~ wave + factor(Subject), data = panel);",
                 "sandwich::vcovCL(fe, cluster = ~Subject, type = \"HC1\")"),
    term = names(coef(fe))[keep], estimate = unname(coef(fe)[keep]),
    se_cluster = unname(sqrt(diag(v))[keep]),
    se_classical = unname(sqrt(diag(vcov(fe)))[keep]),
    df_residual = fe$df.residual
  )
)
write_csv(panel, "panel")

# ---- svyglm on the design object (src/analysis/stats/svyglm.py) ------------------------
# Calibrated designs (raking), options(survey.lonely.psu = "adjust"), zero weights, NAs in the
# outcome, gaussian and quasibinomial families, and regTermTest Wald tests. Each entry keeps
# its setup and call; the data are written beside the JSON. The logistic fits run IRLS to
# epsilon = 1e-14: at glm's default (1e-8) nhanes' SEs sit 3e-6 (relative) from the optimum.
options(survey.lonely.psu = "adjust")
svy_env <- new.env()
svyglm_design_ref <- function(setup, call_text, tests = character()) {
  eval(parse(text = setup), envir = svy_env)
  fit <- eval(parse(text = call_text), envir = svy_env)
  cf <- summary(fit)$coefficients
  ci <- confint(fit)  # svyglm's default: t quantiles on fit$df.residual
  wald <- lapply(tests, function(t) {
    rt <- regTermTest(fit, as.formula(t))
    list(call = sprintf("regTermTest(fit, %s)", t), Ftest = unname(drop(rt$Ftest)), df = rt$df,
         ddf = rt$ddf, p = unname(drop(rt$p)))
  })
  names(wald) <- tests
  list(setup = setup, call = paste0("fit <- ", call_text),
       options = "options(survey.lonely.psu = 'adjust')",
       term = rownames(cf), estimate = unname(cf[, 1]), se = unname(cf[, 2]),
       statistic = unname(cf[, 3]), p_value = unname(cf[, 4]), df = fit$df.residual,
       ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]),
       vcov = unname(as.vector(vcov(fit))), degf = degf(fit$survey.design),
       n_used = sum(weights(fit$survey.design, "sampling") > 0),
       wald = wald)
}
# apiclus1 raked on school type and sch.wide (apipop margins; full convergence); awarded = 1 if
# the school met its award target. Zero weights in a calibrated design come from svyglm(subset=)
# (R's `[.survey.design2` sets 1/prob to 0 and keeps the calibration's weights for the SEs): a
# weight of zero given *before* raking makes R's raking residual 0/0, so every SE is NaN.
cal <- apiclus1[, c("snum", "dnum", "pw", "fpc", "api00", "ell", "meals", "stype", "sch.wide", "awards")]
cal$stype <- as.character(cal$stype)
cal$sch.wide <- as.character(cal$sch.wide)
cal$awarded <- as.integer(cal$awards == "Yes")
cal$awards <- NULL
write_csv(cal, "apiclus1_cal")
assign("cal", cal, envir = svy_env)
api_rake <- paste(
  "pop_stype <- data.frame(stype = c('E', 'H', 'M'), Freq = c(4421, 755, 1018));",
  "pop_schwide <- data.frame(sch.wide = c('No', 'Yes'), Freq = c(1072, 5122));",
  "dr <- rake(svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = cal),",
  "list(~stype, ~sch.wide), list(pop_stype, pop_schwide), control = list(maxit = 200, epsilon = 1e-13))")
# Project-shaped design (tests/r_reference/units.csv from design.R): units as strata, unit size as
# fpc, U13 a lonely stratum (adjust), U12 and U14 censuses; w0: two members given weight zero
# (uncalibrated design), keep: the same two members left out by svyglm(subset = keep) (raked);
# high = score above 3 (NA where score is NA); raked on org, sex and party.
units_df <- read.csv(file.path(out_dir, "units.csv"), colClasses = c(q1 = "character"))
units_df$w0 <- units_df$w
units_df$w0[c(2, 40)] <- 0
units_df$keep <- units_df$w0 > 0
units_df$high <- as.integer(units_df$score > 3)
# Two independent waves of this shape: wave 2025 has other scores and a unit-level exposure
# (dose) that differs by wave; stacked as one design with strata wave x unit and each wave
# raked on its own margins (margins crossed with wave), which is what svyglm([d2024, d2025]) fits.
set.seed(4101)
unit_ids <- sort(unique(units_df$unit))
dose_a <- setNames(round(seq(0.1, 0.9, length.out = length(unit_ids)), 3), unit_ids)
dose_b <- setNames(round(pmin(1, dose_a + runif(length(unit_ids), 0, 0.3)), 3), unit_ids)
wave_a <- transform(units_df, wave = "2024", dose = unname(dose_a[unit]))
wave_b <- transform(units_df, wave = "2025", dose = unname(dose_b[unit]),
                    score = round(score + 0.4 * dose_b[unit] + rnorm(nrow(units_df), 0, 0.5), 2))
waves <- rbind(wave_a, wave_b)
waves$stratum <- paste(waves$wave, waves$unit)
waves$wave_org <- paste(waves$wave, waves$org)
waves$wave_sex <- paste(waves$wave, waves$sex)
waves$wave_party <- paste(waves$wave, waves$party)
write_csv(units_df, "units")
write_csv(waves[, c("wave", "unit", "org", "unit_size", "w", "sex", "party", "score", "high", "dose")], "units_waves")
assign("units_df", units_df, envir = svy_env)
assign("waves", waves, envir = svy_env)
unit_pop <- paste(
  "pop_org <- data.frame(org = c('CDVC', 'DTN', 'HCCB'), Freq = c(300, 200, 129));",
  "pop_sex <- data.frame(sex = c('female', 'male'), Freq = c(330, 299));",
  "pop_party <- data.frame(party = c('no', 'yes'), Freq = c(250, 379));")
unit_rake <- paste(unit_pop,
  "du <- rake(svydesign(id = ~1, strata = ~unit, weights = ~w, fpc = ~unit_size, data = units_df),",
  "list(~org, ~sex, ~party), list(pop_org, pop_sex, pop_party), control = list(maxit = 200, epsilon = 1e-13))")
waves_rake <- paste(unit_pop,
  "p2 <- function(p, v) { q <- rbind(p, p); q[[1]] <- paste(rep(c('2024', '2025'), each = nrow(p)), p[[1]]);",
  "names(q)[1] <- v; q };",
  "dw <- rake(svydesign(id = ~1, strata = ~stratum, weights = ~w, fpc = ~unit_size, data = waves),",
  "list(~wave_org, ~wave_sex, ~wave_party),",
  "list(p2(pop_org, 'wave_org'), p2(pop_sex, 'wave_sex'), p2(pop_party, 'wave_party')),",
  "control = list(maxit = 200, epsilon = 1e-13))")
nhanes_design <- paste("nhanes <- read.csv(file.path(out_dir, 'nhanes.csv'));",
  "dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = nhanes)")
assign("out_dir", out_dir, envir = svy_env)
tight <- "control = glm.control(epsilon = 1e-14, maxit = 100))"
ref$svyglm_design <- list(
  api_rake_gaussian = svyglm_design_ref(api_rake, "svyglm(api00 ~ ell + meals, design = dr)",
                                        c("~ell + meals")),
  api_rake_subset_gaussian = svyglm_design_ref(api_rake,
    "svyglm(api00 ~ ell + meals + stype, design = dr, subset = ell < 50)", c("~stype")),
  api_rake_quasibinomial = svyglm_design_ref(api_rake,
    paste("svyglm(awarded ~ ell + meals + stype, design = dr, family = quasibinomial,", tight),
    c("~stype", "~ell + meals")),
  nhanes_quasibinomial = svyglm_design_ref(nhanes_design,
    paste("svyglm(HI_CHOL ~ factor(race) + agecat + RIAGENDR, design = dnh, family = quasibinomial,", tight),
    c("~factor(race)", "~agecat")),
  units_rake_gaussian = svyglm_design_ref(unit_rake, "svyglm(score ~ org + sex, design = du)", c("~org")),
  units_rake_subset_gaussian = svyglm_design_ref(unit_rake,
    "svyglm(score ~ org + sex, design = du, subset = keep)", c("~org")),
  units_rake_quasibinomial = svyglm_design_ref(unit_rake,
    paste("svyglm(high ~ org + sex, design = du, family = quasibinomial, subset = keep,", tight), c("~org", "~sex")),
  units_zero_gaussian = svyglm_design_ref(
    "du0 <- svydesign(id = ~1, strata = ~unit, weights = ~w0, fpc = ~unit_size, data = units_df)",
    "svyglm(score ~ org + sex, design = du0)", c("~org")),
  units_waves_gaussian = svyglm_design_ref(waves_rake, "svyglm(score ~ dose + wave + org, design = dw)",
                                           c("~org", "~dose"))
)
options(survey.lonely.psu = "fail")

writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "models_reference.json"))
cat("wrote", file.path(out_dir, "models_reference.json"), "\n")
