# Reference values for src/analysis/stats/sample_size.py: sample sizes for a mean or a
# proportion (target variance, CV or margin of error, finite population correction), for a
# difference of two means with power, Kish's design effect of unequal weights, proportional and
# Neyman allocation — computed with R's PracTools (Valliant, Dever & Kreuter, "Practical Tools for
# Designing and Weighting Survey Samples", 2nd ed. 2018).
#
# Run from the repository root:   Rscript scripts/r_reference/sample_size.R
# Writes tests/r_reference/sample_size_reference.json: every value beside the exact R call that
# made it, so the tests run without R. Weights for deffK: `apistrat` and `apiclus1` from the
# survey package (the same public data as design.R).
#
# PracTools is not a Debian package; install it from CRAN into a private library
#   Rscript -e 'install.packages("PracTools", lib = "/tmp/Rlib", repos = "https://cloud.r-project.org")'
#   R_LIBS=/tmp/Rlib Rscript scripts/r_reference/sample_size.R
# Where CRAN cannot be reached, PRACTOOLS_SRC may name a folder holding the package's own R
# sources (R/nCont.R, nContMoe.R, nPropMoe.R, nDep2sam.R, strAlloc.R and deffK from deff.R of
# the CRAN release): they are sourced instead and the JSON says so. The published worked
# examples of the PracTools vignette "Sample Size Calculation in Single-stage Sampling" are
# written too, as printed there, so either way the functions are checked against the book's
# own numbers.
suppressMessages({
  library(survey)
  library(jsonlite)
})
script_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
root <- if (length(script_arg)) normalizePath(file.path(dirname(sub("^--file=", "", script_arg[1])), "..", "..")) else "."
out_file <- file.path(root, "tests", "r_reference", "sample_size_reference.json")

src <- Sys.getenv("PRACTOOLS_SRC")
if (requireNamespace("PracTools", quietly = TRUE)) {
  suppressMessages(library(PracTools))
  practools <- paste("PracTools", as.character(packageVersion("PracTools")), "(installed package)")
} else if (nzchar(src)) {
  files <- sort(list.files(src, pattern = "[.]R$", full.names = TRUE))
  for (f in files) source(f)
  practools <- paste0("PracTools R sources sourced from PRACTOOLS_SRC (", paste(basename(files), collapse = ", "),
                      "); the package could not be installed")
} else {
  stop("PracTools is not installed and PRACTOOLS_SRC is not set (see the head of this script)")
}

refs <- list()
env <- environment()
# Evaluate an R call given as text and keep both: the call is what the test prints beside the value.
ref <- function(name, call) {
  value <- eval(parse(text = call), envir = env)
  if (inherits(value, "power.htest")) value <- unclass(value)[c("n1", "n2")]
  if (is.list(value) && !is.null(value$nh)) value <- value$nh
  refs[[name]] <<- list(call = call, value = value)
}

# --- nCont: a mean, target CV or variance, with and without the fpc -------------------------------
ref("ncont_cv_inf", "nCont(CV0 = 0.05, CVpop = 2)")
ref("ncont_cv_n500", "nCont(CV0 = 0.05, CVpop = 2, N = 500)")
ref("ncont_cv_vector", "nCont(CV0 = seq(0.01, 0.21, 0.02), CVpop = 2)")
ref("ncont_v0_inf", "nCont(V0 = (0.10 / qnorm(0.975))^2, S2 = 0.55)")
ref("ncont_v0_n315", "nCont(V0 = (0.10 / qnorm(0.975))^2, S2 = 0.55, N = 315)")
ref("ncont_v0_deff", "nCont(V0 = (0.10 / qnorm(0.975))^2, S2 = 1.37 * 0.55, N = 1183)")
ref("ncont_s2_ybar", "nCont(CV0 = 0.02, S2 = 0.55, ybarU = 3.4, N = 4816)")

# --- nContMoe: a margin of error, absolute (moe.sw = 1) or relative to the mean (moe.sw = 2) ------
ref("ncontmoe_abs_n4816", "nContMoe(moe.sw = 1, e = 0.10, alpha = 0.05, S2 = 0.55, N = 4816)")
ref("ncontmoe_abs_a10", "nContMoe(moe.sw = 1, e = 0.10, alpha = 0.10, S2 = 0.55, N = 315)")
ref("ncontmoe_abs_vector", "nContMoe(moe.sw = 1, e = c(0.05, 0.10, 0.20), S2 = 0.8, N = 1183)")
ref("ncontmoe_rel", "nContMoe(moe.sw = 2, e = 0.03, alpha = 0.05, S2 = 0.55, ybarU = 3.4, N = 315)")

# --- proportions: nPropMoe (nProp(V0) = nPropMoe(moe.sw = 1, e = z sqrt(V0)), nProp(CV0) = -------
# --- nPropMoe(moe.sw = 2, e = z CV0); the nProp help page states the first for V0 = (0.005/1.96)^2)
ref("npropmoe_vector", "nPropMoe(moe.sw = 1, e = seq(0.01, 0.08, 0.01), alpha = 0.05, pU = 0.5)")
ref("npropmoe_n315", "nPropMoe(moe.sw = 1, e = 0.05, alpha = 0.05, pU = 0.3, N = 315)")
ref("npropmoe_rel_n1183", "nPropMoe(moe.sw = 2, e = 0.10, alpha = 0.05, pU = 0.3, N = 1183)")
ref("npropmoe_help_v0", "nPropMoe(moe.sw = 1, e = 0.005, alpha = 2 * (1 - pnorm(1.96)), pU = 0.01)")
ref("npropmoe_help_cv0", "nPropMoe(moe.sw = 2, e = qnorm(0.975) * 0.05, alpha = 0.05, pU = 0.01)")

# --- nDep2sam: difference of two means with power (overlapping samples) -----------------------------
ref("ndep2sam_help", "nDep2sam(S2x = 200, S2y = 200, g = 0.75, r = 1, rho = 0.9, alt = 'one.sided', del = 5, sig.level = 0.05, pow = 0.80)")
ref("ndep2sam_independent", "nDep2sam(S2x = 0.55, S2y = 0.60, g = 0, r = 1, rho = 0, alt = 'two.sided', del = 0.2, sig.level = 0.05, pow = 0.80)")
ref("ndep2sam_ratio", "nDep2sam(S2x = 0.55, S2y = 0.60, g = 0.5, r = 2, rho = 0.6, alt = 'two.sided', del = 0.2, sig.level = 0.05, pow = 0.90)")
# The unrounded n1 (nDep2sam returns ceiling(n1)): the same formula, written out.
ref("ndep2sam_independent_n1_exact", "(0.55 + 0.60) / 0.2^2 * (qnorm(0.975) - qnorm(0.2))^2")

# --- change against an observed previous wave: nCont on the variance left for the new wave --------
ref("change_v0", "(0.2 / (qnorm(0.975) + qnorm(0.8)))^2 - 0.03^2")
ref("change_n", "nCont(V0 = (0.2 / (qnorm(0.975) + qnorm(0.8)))^2 - 0.03^2, S2 = 1.2 * 0.55, N = 1183)")

# --- Kish's design effect of unequal weights ----------------------------------------------------
data(api)
ref("deffk_apistrat", "deffK(apistrat$pw)")
ref("deffk_apiclus1", "deffK(apiclus1$pw)")
ref("deffk_small", "deffK(c(1, 1, 2, 4))")

# --- allocation to strata: proportional and Neyman (vignette example) -----------------------------
Nh <- c(215, 65, 252, 50, 149, 144)
Sh <- c(26787207, 10645109, 6909676, 11085034, 9817762, 44553355)
refs$strata <- list(call = "Nh <- c(215, 65, 252, 50, 149, 144); Sh <- c(26787207, 10645109, 6909676, 11085034, 9817762, 44553355)",
                    value = list(Nh = Nh, Sh = Sh))
ref("stralloc_neyman", "strAlloc(n.tot = 100, Nh = Nh, Sh = Sh, alloc = 'neyman')")
ref("stralloc_prop", "strAlloc(n.tot = 100, Nh = Nh, alloc = 'prop')")

# --- published worked examples (PracTools vignette "Sample Size Calculation in Single-stage ----
# --- Sampling", Examples 1-3), as printed there -------------------------------------------------
refs$published <- list(
  source = "PracTools vignette 'Sample Size Calculation in Single-stage Sampling' (Valliant, Dever, Kreuter), Examples 1-3",
  examples = list(
    list(call = "nCont(CV0 = 0.05, CVpop = 2)", printed = 1600),
    list(call = "round(nCont(CV0 = 0.05, CVpop = 2, N = 500))", printed = 381),
    list(call = "ceiling(nCont(CV0 = seq(0.01, 0.21, 0.02), CVpop=2))",
         printed = c(40000, 4445, 1600, 817, 494, 331, 237, 178, 139, 111, 91)),
    list(call = "ceiling(nPropMoe(moe.sw=1, e=seq(0.01,0.08,0.01), alpha=0.05, pU=0.5))",
         printed = c(9604, 2401, 1068, 601, 385, 267, 196, 151))
  )
)

out <- list(practools = practools, R = R.version.string, survey = as.character(packageVersion("survey")),
            references = refs)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
cat("wrote", out_file, "with", practools, "\n")
