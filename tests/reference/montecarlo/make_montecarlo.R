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

# (d) type-I error of the log-rank and Cox Wald tests in a design shaped like the seed registry:
# n = 53 in fixed groups of 36 and 17, exponential deaths (rate 0.012 per month), Weibull follow-up
# (shape 0.51, scale 27 months, as calibrated for the late era): about 15 deaths, no effect.
g <- c(rep(0, 36), rep(1, 17))
rej_lr <- rej_cox <- logical(reps)
for (r in seq_len(reps)) {
  t <- rexp(53, 0.012); cz <- rweibull(53, 0.51, 27)
  y <- pmin(t, cz); e <- as.integer(t <= cz)
  if (sum(e) == 0) next
  rej_lr[r] <- survdiff(Surv(y, e) ~ g)$chisq >= qchisq(0.95, 1)
  fit <- suppressWarnings(coxph(Surv(y, e) ~ g))
  rej_cox[r] <- summary(fit)$coefficients[, "Pr(>|z|)"] < 0.05
}
rate <- function(x) { p <- mean(x); list(rate = p, mcse = sqrt(p * (1 - p) / reps)) }

res <- list(
  generated_by = paste0("R ", getRversion(), "; survival ", packageVersion("survival"),
                        "; make_montecarlo.R, set.seed(20261126), ", reps, " replicates each"),
  logrank_n66_hr2 = as.list(b_hr2), logrank_n66_hr1 = as.list(b_hr1),
  cox_n50_loghr_minus0.5 = c_res,
  null_n53_36_17_logrank = rate(rej_lr), null_n53_36_17_cox_wald = rate(rej_cox))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(outdir, "montecarlo.json"))
cat("wrote", file.path(outdir, "montecarlo.json"), "\n")
