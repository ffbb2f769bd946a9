#!/usr/bin/env Rscript
# Regenerates the golden values of tests/test_reliability.py from psych on public data.
#
#   Rscript scripts/r_reference/reliability.R        (run from the project root)
#
# Writes tests/r_reference/reliability_bfi.csv   (psych's bfi: A1-A5, C1-C5, gender; NAs kept)
#        tests/r_reference/reliability_bfi.json  (psych::alpha and psych::omega outputs)
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
cols <- c(paste0("A", 1:5), paste0("C", 1:5), "gender")
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

writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "reliability_bfi.json"))
cat("wrote", file.path(out_dir, "reliability_bfi.json"), "\n")
