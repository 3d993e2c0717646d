#!/usr/bin/env Rscript
# Profile-likelihood (likelihood-ratio) intervals of Cox coefficients, computed with R's own coxph,
# for tests/ref_cox_profile.rs (survmc::estimators::cox::profile). Usage:
#   Rscript make_reference.R [OUTDIR]      (run from this folder; reads ../data/*.csv)
# pl_k(c) = max over the other coefficients of the log partial likelihood with b_k = c, from
# coxph(Surv(time, event) ~ offset(c * x_k) + others) (no other covariate: the loglik of the offset
# model itself); each end solves 2 (l(b_hat) - pl_k(c)) = qchisq(0.95, 1) by uniroot (tol 1e-12).
# l(b_hat) is coxph's loglik at its (default-control) fit, the last iterate when it diverges. An end is
# reported infinite (null, with `*_infinite` true) when 2 (l(b_hat) - pl_k(c)) is still below the
# cut-off 60 units beyond b_hat (under monotone likelihood the profile keeps rising there).
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "."
crit <- qchisq(0.95, 1)
tight <- coxph.control(eps = 1e-13, toler.chol = 1e-15, iter.max = 200)

profile_case <- function(name, time, event, X, ties) {
  X <- as.matrix(X)
  p <- ncol(X)
  fit <- suppressWarnings(coxph(Surv(time, event) ~ X, ties = ties))
  b <- unname(coef(fit)); l_hat <- fit$loglik[2]
  pl <- function(c, k) {
    off <- c * X[, k]
    if (p == 1) {
      coxph(Surv(time, event) ~ offset(off), ties = ties)$loglik[1]
    } else {
      Z <- X[, -k, drop = FALSE]
      suppressWarnings(coxph(Surv(time, event) ~ Z + offset(off), ties = ties, control = tight))$loglik[2]
    }
  }
  f <- function(c, k) 2 * (l_hat - pl(c, k)) - crit
  end <- function(k, dir) {
    w <- 0.5
    repeat {
      if (f(b[k] + dir * w, k) > 0) break
      if (w >= 60) return(NULL)
      w <- min(w * 2, 60)
    }
    r <- uniroot(function(d) f(b[k] + dir * d, k), c(0, w), tol = 1e-12, maxiter = 1000)
    b[k] + dir * r$root
  }
  lower <- upper <- vector("list", p)
  for (k in seq_len(p)) { lower[k] <- list(end(k, -1)); upper[k] <- list(end(k, 1)) }
  list(
    case = name, ties = ties,
    generated_by = paste0("R ", getRversion(), "; survival ", packageVersion("survival"),
                          "; make_reference.R; ", format(Sys.Date())),
    time = time, event = event, covariates = colnames(X), x = unname(X),
    coef = b, loglik = l_hat,
    pl_lower = lapply(lower, function(v) if (is.null(v)) NA else v),
    pl_upper = lapply(upper, function(v) if (is.null(v)) NA else v),
    lower_infinite = sapply(lower, is.null), upper_infinite = sapply(upper, is.null))
}

write_case <- function(res) {
  path <- file.path(outdir, paste0(res$case, ".json"))
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), path)
  cat("wrote", path, "\n")
}

ov <- read.csv("../data/ovarian.csv")
tm <- read.csv("../data/ties_months.csv")
aml <- read.csv("../data/aml.csv")
# one covariate, no ties (Efron), continuous and centred/scaled by coxph
write_case(profile_case("ovarian_age", ov$time, ov$event, data.frame(age = ov$age), "efron"))
# one covariate with tied death times, both tie handlings
write_case(profile_case("ties_months_x_efron", tm$time, tm$event, data.frame(x = tm$x), "efron"))
write_case(profile_case("aml_maintained_breslow", aml$time, aml$event, data.frame(maintained = aml$maintained), "breslow"))
# two covariates: the other coefficient is re-maximised at each c
write_case(profile_case("ovarian_age_rx", ov$time, ov$event, data.frame(age = ov$age, rx = ov$rx), "efron"))
# monotone likelihood: every death has x = 1 (its upper end is infinite), alone and with a second,
# continuous covariate whose interval is finite
sep_time <- c(2, 3, 5, 6, 7, 9, 10, 12, 13, 15, 16, 18, 20, 21, 23, 25)
sep_x <- c(1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0)
sep_event <- c(1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0)
sep_z <- c(0.3, -1.1, 0.8, 1.5, -0.2, -0.9, 0.4, 1.2, -0.5, 0.0, 0.7, -1.4, 0.9, -0.3, 1.1, -0.6)
write_case(profile_case("separation_x", sep_time, sep_event, data.frame(x = sep_x), "efron"))
write_case(profile_case("separation_x_z", sep_time, sep_event, data.frame(x = sep_x, z = sep_z), "efron"))
