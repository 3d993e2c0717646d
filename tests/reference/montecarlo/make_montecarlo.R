#!/usr/bin/env Rscript
# Monte Carlo references made by R's own survival package, independent of survmc's code, for the
# engine's validation tests (issue 4 (b), (c)). Usage: Rscript make_montecarlo.R OUTDIR
# Each number comes with its Monte Carlo SE so the Rust test can allow for both simulations' error.
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "."
set.seed(20261126)
reps <- 20000

# (b) log-rank, n = 66, 1:1 allocation, exponential times, no censoring (66 events), HR 2 and HR 1.
logrank_reject <- function(hr) {
  rej <- logical(reps)
  g <- rep(0:1, each = 33)
  for (r in seq_len(reps)) {
    t <- rexp(66, rate = ifelse(g == 1, hr, 1))
    rej[r] <- survdiff(Surv(t, rep(1, 66)) ~ g)$chisq >= qchisq(0.95, 1)
  }
  p <- mean(rej); c(rate = p, mcse = sqrt(p * (1 - p) / reps))
}
b_hr2 <- logrank_reject(2); b_hr1 <- logrank_reject(1)

# (c) Cox, n = 50, x ~ Bernoulli(0.5), log-HR -0.5, exponential baseline rate 0.5, administrative
# censoring at 5; Efron ties (R's default; there are no ties here).
beta <- -0.5
est <- se <- cover <- numeric(reps)
for (r in seq_len(reps)) {
  x <- rbinom(50, 1, 0.5)
  t <- rexp(50, 0.5 * exp(beta * x))
  fit <- coxph(Surv(pmin(t, 5), as.integer(t <= 5)) ~ x)
  est[r] <- coef(fit); se[r] <- sqrt(fit$var[1, 1])
  cover[r] <- abs(est[r] - beta) <= qnorm(0.975) * se[r]
}
c_res <- list(
  bias = mean(est) - beta, bias_mcse = sd(est) / sqrt(reps),
  emp_se = sd(est), emp_se_mcse = sd(est) / sqrt(2 * (reps - 1)),
  model_se = sqrt(mean(se^2)),
  coverage = mean(cover), coverage_mcse = sqrt(mean(cover) * (1 - mean(cover)) / reps))

res <- list(
  generated_by = paste0("R ", getRversion(), "; survival ", packageVersion("survival"),
                        "; make_montecarlo.R, set.seed(20261126), ", reps, " replicates each"),
  logrank_n66_hr2 = as.list(b_hr2), logrank_n66_hr1 = as.list(b_hr1),
  cox_n50_loghr_minus0.5 = c_res)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(outdir, "montecarlo.json"))
cat("wrote", file.path(outdir, "montecarlo.json"), "\n")
