#!/usr/bin/env Rscript
# Monte Carlo reference for the coverage of the Cox likelihood-ratio (profile-likelihood) interval,
# simulated with R's own coxph and a partial likelihood written here, independently of survmc's code
# (tests/monte_carlo_profile.rs). Usage: Rscript make_montecarlo.R [OUTDIR]
# One binary covariate, exponential times, administrative censoring at 5 (no tied death times, so
# Efron = Breslow and l(b) = sum over deaths of x_i b - log sum_{y_j >= y_i} exp(x_j b)).
# The fit (b_hat, l(b_hat)) is coxph's (R's default control; its last iterate when it diverges).
# Ends: 2 (l(b_hat) - l(c)) = qchisq(0.95, 1) by uniroot; an end is infinite when l never decreases
# that way (every death has the largest (or smallest) x of its risk set). Replicates without a death
# or with a constant x have no fit and are left out, as survmc leaves them out.
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "."
set.seed(20261127)
reps <- 20000
crit <- qchisq(0.95, 1)

design <- function(n, p, beta, rate) {
  covered <- infinite <- rep(NA, reps)
  for (r in seq_len(reps)) {
    x <- rbinom(n, 1, p)
    t <- rexp(n, rate * exp(beta * x))
    y <- pmin(t, 5); e <- as.integer(t <= 5)
    if (sum(e) == 0 || length(unique(x)) < 2) next
    fit <- suppressWarnings(coxph(Surv(y, e) ~ x))
    b <- unname(coef(fit)); l_hat <- fit$loglik[2]
    o <- order(-y); xs <- x[o]; es <- e[o]
    loglik <- function(c) sum((xs * c - log(cumsum(exp(xs * c))))[es == 1])
    # running max / min of x over each risk set (y_j >= y_i: positions up to i in descending order)
    up_inf <- all(xs[es == 1] == cummax(xs)[es == 1])
    lo_inf <- all(xs[es == 1] == cummin(xs)[es == 1])
    f <- function(c) 2 * (l_hat - loglik(c)) - crit
    end <- function(dir) {
      w <- 1
      while (f(b + dir * w) < 0) w <- w * 2
      b + dir * uniroot(function(d) f(b + dir * d), c(0, w), tol = 1e-10)$root
    }
    lo <- if (lo_inf) -Inf else end(-1)
    up <- if (up_inf) Inf else end(1)
    covered[r] <- lo <= beta && beta <= up
    infinite[r] <- lo_inf || up_inf
  }
  covered <- covered[!is.na(covered)]; infinite <- infinite[!is.na(infinite)]
  m <- length(covered); cv <- mean(covered); inf <- mean(infinite)
  list(n = n, p = p, log_hr = beta, rate = rate, censoring_at = 5, replicates = reps, fitted = m,
       lr_coverage = cv, lr_coverage_mcse = sqrt(cv * (1 - cv) / m),
       infinite_end_share = inf, infinite_end_share_mcse = sqrt(inf * (1 - inf) / m))
}

res <- list(
  generated_by = paste0("R ", getRversion(), "; survival ", packageVersion("survival"),
                        "; make_montecarlo.R, set.seed(20261127), ", reps, " replicates each; ",
                        format(Sys.Date())),
  # the design of tests/reference/montecarlo (c): n = 50, x ~ Bernoulli(0.5), log-HR -0.5
  n50_loghr_minus0.5 = design(50, 0.5, -0.5, 0.5),
  # a small design where monotone likelihood is frequent: n = 12, x ~ Bernoulli(0.25), log-HR 1
  n12_loghr_1 = design(12, 0.25, 1, 0.05))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(outdir, "montecarlo_profile.json"))
cat("wrote", file.path(outdir, "montecarlo_profile.json"), "\n")
