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

writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "models_reference.json"))
cat("wrote", file.path(out_dir, "models_reference.json"), "\n")
