#!/usr/bin/env Rscript
# Regenerates the golden values of tests/test_reliability.py from psych on public data.
#
#   Rscript scripts/r_reference/reliability.R        (run from the project root)
#
# Writes tests/r_reference/reliability_bfi.csv   (psych's bfi: the 25 items and gender; NAs kept)
#        tests/r_reference/reliability_bfi.json  (psych::alpha and psych::omega outputs)
# Read by tests/test_reliability.py (alpha, one-factor omega) and tests/test_omega.py (psych's
# default omega: Schmid-Leiman, omega_h).
#
# Data: the 2800-respondent `bfi` data set shipped with psych (also in psychTools);
# scoring keys are psych's own bfi keys: agreeableness -A1 A2 A3 A4 A5,
# conscientiousness C1 C2 C3 -C4 -C5.
suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})
out_dir <- file.path("tests", "r_reference")
stopifnot(dir.exists(out_dir))

data("bfi", package = if ("bfi" %in% data(package = "psych")$results[, "Item"]) "psych" else "psychTools")
cols <- c(colnames(bfi)[1:25], "gender")
bfi_small <- bfi[, cols]
write.csv(bfi_small, file.path(out_dir, "reliability_bfi.csv"), row.names = FALSE, na = "")

scales <- list(
  agreeableness = list(items = paste0("A", 1:5), keys = c("A1")),
  conscientiousness = list(items = paste0("C", 1:5), keys = c("C4", "C5"))
)

# psych::alpha with keys= flips keyed items as max + min - x (max/min over all items).
alpha_ref <- function(x, keys, use) {
  a <- psych::alpha(x, keys = keys, use = use, warnings = FALSE)
  list(
    call = sprintf("psych::alpha(x, keys = c(%s), use = \"%s\")",
                   paste0('"', keys, '"', collapse = ", "), use),
    alpha = a$total$raw_alpha,
    alpha_std = a$total$std.alpha,
    n_rows = nrow(x),
    items = list(
      item = colnames(x),
      r_drop = unname(a$item.stats$r.drop),
      alpha_if_dropped = unname(a$alpha.drop$raw_alpha),
      std_alpha_if_dropped = unname(a$alpha.drop$std.alpha),
      mean = unname(a$item.stats$mean),
      sd = unname(a$item.stats$sd),
      n = unname(a$item.stats$n)
    )
  )
}

# psych::omega(x, nfactors = 1): cor(x, use = "pairwise") -> fa(nfactors = 1, fm = "minres")
# -> omega.tot = (sum(R) - sum(u2)) / sum(R), u2 = 1 - loading^2.
omega_ref <- function(x, keys) {
  key <- ifelse(colnames(x) %in% keys, -1, 1)
  o <- suppressMessages(suppressWarnings(psych::omega(x, nfactors = 1, key = key, plot = FALSE)))
  f <- psych::fa(cor(x, use = "pairwise") * outer(key, key), nfactors = 1, fm = "minres")
  list(
    call = sprintf("psych::omega(x, nfactors = 1, key = c(%s))$omega.tot",
                   paste(key, collapse = ", ")),
    omega_total = o$omega.tot,
    loadings = unname(as.numeric(f$loadings[, 1]))
  )
}

result <- list(
  generated_with = list(
    R = R.version.string,
    psych = as.character(packageVersion("psych"))
  ),
  scales = list()
)
for (name in names(scales)) {
  s <- scales[[name]]
  x <- bfi_small[, s$items]
  x_complete <- na.omit(x)
  result$scales[[name]] <- list(
    items = s$items,
    reverse = s$keys,
    pairwise = alpha_ref(x, s$keys, "pairwise"),
    # listwise: psych::alpha on the complete cases, i.e. psych::alpha(na.omit(x), ...)
    listwise = modifyList(alpha_ref(x_complete, s$keys, "pairwise"),
                          list(call = sprintf("psych::alpha(na.omit(x), keys = c(%s))",
                                              paste0('"', s$keys, '"', collapse = ", ")))),
    omega_pairwise = omega_ref(x, s$keys),
    omega_listwise = omega_ref(x_complete, s$keys)
  )
  # by gender (1 = male, 2 = female in bfi)
  result$scales[[name]]$by_gender <- lapply(split(x, bfi_small$gender), function(g) {
    a <- alpha_ref(g, s$keys, "pairwise")
    o <- omega_ref(g, s$keys)
    list(alpha = a$alpha, alpha_std = a$alpha_std, omega_total = o$omega_total, n_rows = nrow(g))
  })
}

# psych's default omega(): nfactors = 3, fm = "minres", rotate = "oblimin", flip = TRUE,
# no key (items loading negatively on g are flipped). Warnings are kept: psych warns on
# improper (ultra-Heywood) solutions, which the Python side must warn about too.
omega_h_ref <- function(x, call, ...) {
  msgs <- character(0)
  o <- withCallingHandlers(
    suppressMessages(psych::omega(x, plot = FALSE, ...)),
    warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
  sl <- unclass(o$schmid$sl)
  list(
    call = call,
    omega_h = unname(o$omega_h),               # o$omega_h
    omega_total = unname(o$omega.tot),         # o$omega.tot
    omega_limit = unname(o$omega.lim),         # o$omega.lim
    alpha = unname(o$alpha),                   # o$alpha
    ecv = unname(o$ECV),                       # o$ECV
    items = colnames(x),
    key = unname(as.numeric(o$key)),           # o$key
    sl_columns = colnames(sl),                 # o$schmid$sl (rows: items, flipped)
    sl = unname(lapply(seq_len(nrow(sl)), function(i) unname(sl[i, ]))),
    phi = unname(lapply(seq_len(nrow(o$schmid$phi)), function(i) unname(o$schmid$phi[i, ]))),
    gloading = unname(as.numeric(o$schmid$gloading)),  # o$schmid$gloading
    omega_group = list(rows = rownames(o$omega.group),   # o$omega.group
                       total = unname(o$omega.group$total), general = unname(o$omega.group$general),
                       group = unname(o$omega.group$group)),
    n_rows = nrow(x),
    warnings = unique(msgs)
  )
}
five <- function(letter) paste0(letter, 1:5)
result$omega_hierarchical <- list(
  bfi25 = omega_h_ref(bfi_small[, 1:25], "psych::omega(bfi[, 1:25])"),
  bfi25_listwise = omega_h_ref(na.omit(bfi_small[, 1:25]), "psych::omega(na.omit(bfi[, 1:25]))"),
  neuroticism = omega_h_ref(bfi_small[, five("N")], "psych::omega(bfi[, paste0(\"N\", 1:5)])"),
  extraversion = omega_h_ref(bfi_small[, five("E")], "psych::omega(bfi[, paste0(\"E\", 1:5)])"),
  agreeableness = omega_h_ref(bfi_small[, five("A")], "psych::omega(bfi[, paste0(\"A\", 1:5)])"),
  conscientiousness = omega_h_ref(bfi_small[, five("C")], "psych::omega(bfi[, paste0(\"C\", 1:5)])"),
  openness = omega_h_ref(bfi_small[, five("O")], "psych::omega(bfi[, paste0(\"O\", 1:5)])"),
  two_factors = omega_h_ref(bfi_small[, c(five("A"), five("C"))],
                            "psych::omega(bfi[, c(paste0(\"A\", 1:5), paste0(\"C\", 1:5))], nfactors = 2)",
                            nfactors = 2)
)
result$generated_with$GPArotation <- as.character(packageVersion("GPArotation"))

# One-factor omega on an awkward triple of bfi items: psych's fa() warns "An ultra-Heywood case
# was detected" (N4's communality is above 1), and omega_total must warn too.
heywood_x <- bfi_small[, c("E1", "N3", "N4")]
heywood_msgs <- character(0)
heywood_o <- withCallingHandlers(
  suppressMessages(psych::omega(heywood_x, nfactors = 1, plot = FALSE)),
  warning = function(w) { heywood_msgs <<- c(heywood_msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
heywood_f <- suppressWarnings(psych::fa(cor(heywood_x, use = "pairwise"), 1))
result$omega_one_factor_heywood <- list(
  call = "psych::omega(bfi[, c(\"E1\", \"N3\", \"N4\")], nfactors = 1)$omega.tot",
  items = colnames(heywood_x),
  omega_total = unname(heywood_o$omega.tot),
  loadings = unname(as.numeric(heywood_f$loadings)),     # fa(cor(x, use = "pairwise"), 1)$loadings
  communality = unname(heywood_f$communality),           # fa(...)$communality (> 1: ultra-Heywood)
  warnings = unique(heywood_msgs)
)

# The steps of psych's fa() that omega() builds on (tests/test_omega.py, analysis.stats.factoring).
lam <- c(0.8, 0.7, 0.6, 0.5)
r_one <- outer(lam, lam); diag(r_one) <- 1
f_one <- psych::fa(r_one, 1)
r25 <- cor(bfi_small[, 1:25], use = "pairwise")
f25 <- suppressWarnings(psych::fa(r25, 3, rotate = "varimax", fm = "minres"))
ob25 <- GPArotation::oblimin(loadings(f25))
rows <- function(m) unname(lapply(seq_len(nrow(m)), function(i) unname(unclass(m)[i, ])))
result$factoring <- list(
  one_factor = list(
    call = "lam <- c(.8, .7, .6, .5); r <- outer(lam, lam); diag(r) <- 1; psych::fa(r, 1)",
    loadings = unname(as.numeric(f_one$loadings)),        # $loadings: psych stops short of lam
    uniquenesses = unname(1 - f_one$communalities)       # 1 - $communalities (the optimised psi)
  ),
  bfi25 = list(
    call = "f <- psych::fa(cor(bfi[, 1:25], use = \"pairwise\"), 3, rotate = \"varimax\"); GPArotation::oblimin(loadings(f))",
    uniquenesses = unname(1 - f25$communalities),        # 1 - f$communalities
    varimax = rows(loadings(f25)),                       # loadings(f)
    oblimin = rows(ob25$loadings),                       # oblimin(loadings(f))$loadings
    phi = rows(ob25$Phi)                                 # oblimin(loadings(f))$Phi
  )
)

writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           file.path(out_dir, "reliability_bfi.json"))
cat("wrote", file.path(out_dir, "reliability_bfi.json"), "\n")
