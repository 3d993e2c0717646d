# One whole replicate of the seed paper's pipeline (scenarios/tsh2024.toml, n = 53) done in R,
# generation included, timed per replicate: the peer of `replicate/tsh2024` in benches/replicate.rs.
#
#   Rscript benches/peers/replicate.R [seconds]
#
# Prints CSV: bench,median_us,q25_us,q75_us,batches,reps_per_batch,firth
# (microseconds per replicate: median and quartiles over batches of `reps_per_batch` replicates,
# each batch timed with proc.time() and lasting at least 0.5 s; `firth` is "coxphf" when the coxphf
# package is installed and its fits are included, else "absent").
#
# A simplified but honest equivalent of what survmc does per replicate; what differs:
# - the cohort is drawn with R's generator from a reduced version of the scenario: the same 36/17
#   strata, n = 53, the same kinds and numbers of columns (3 normal, 6 lognormal with 4-8 missing
#   values, 9 binary, 10 categorical with 3-4 levels, 7 derived indicators: 35 screened columns),
#   exponential OS and progression times driven by 3 of them, censoring by era, treatment at
#   progression among 3 options. Not the scenario's exact distributions (the cost of these fits
#   depends on n, the numbers of events and distinct times and the numbers of levels, which match);
# - KM: one survfit per endpoint with summary() at the times (log CI) and the log-log and plain
#   intervals from its std.err (survmc also fits once and derives the three intervals);
# - Firth's penalised Cox with profile-likelihood intervals by coxphf (if installed; survmc's own
#   implementation follows coxphf); survmc fits it only where the Cox likelihood is monotone (the
#   scenario's `analysis.firth = "when_monotone"`), coxphf here for every Cox estimand; without
#   coxphf R does less work than survmc, so the ratio is then an underestimate;
# - not done in R (survmc does them, so again R does less): the likelihood-ratio (profile) interval
#   of each Cox estimand (R has no built-in one: it would take a uniroot over coxph fits with an
#   offset, tens of fits per interval) and the restricted-mean difference after progression;
# - the engine's accumulation of performance measures is not done in R (survmc's replicate bench
#   excludes it too; the engine bench includes it).
#
# Per replicate, as survmc: KM S(t) OS at 12, 36, 60 and PFS at 60 with three CIs; RMST of OS and
# PFS to 60; 3 Cox estimands (2 univariate, 1 adjusted) each by coxph (Efron) and coxphf; 6
# log-rank tests; ROC of each continuous marker (10) for death with DeLong CI and the Youden cut
# (pROC); maxstat
# (Lau92 and Lau94); 35 univariate Cox screens and the multivariate fit of the selected columns;
# Table 1: Fisher's exact test of every categorical column by stratum and Mann-Whitney of every
# continuous one.

suppressPackageStartupMessages({
  library(survival); library(pROC); library(maxstat)
})
has_coxphf <- requireNamespace("coxphf", quietly = TRUE)

args <- commandArgs(trailingOnly = TRUE)
seconds <- if (length(args) >= 1) as.numeric(args[1]) else 20
min_batch_s <- 0.5

n <- 53
stratum <- rep(0:1, c(36, 17))

with_missing <- function(x, k) { x[sample.int(length(x), k)] <- NA; x }

draw <- function() {
  s <- stratum
  d <- data.frame(stratum = s)
  d$age <- round(rnorm(n, ifelse(s == 0, 66, 55), ifelse(s == 0, 6, 9)))
  d$bmi <- with_missing(round(rnorm(n, 22, 2.6), 1), 4)
  d$pt <- round(rnorm(n, 90, 12))
  for (j in 1:6) d[[paste0("lab", j)]] <- with_missing(round(rlnorm(n, log(10), 0.6), 1), 4 + j %% 5)
  for (j in 1:9) d[[paste0("bin", j)]] <- rbinom(n, 1, ifelse(s == 0, 0.35, 0.5))
  for (j in 1:10) d[[paste0("cat", j)]] <- sample.int(3 + j %% 2, n, replace = TRUE) - 1
  d$nodules <- ifelse(s == 0, pmin(10, pmax(1, round(rnorm(n, 6, 2)))), 11 + round(rgamma(n, 1, 1 / 12)))
  # derived indicators (as the scenario's: thresholds and level groups)
  d$nodules_gt10 <- as.integer(s == 1)
  d$ly23 <- as.integer(d$cat1 >= 2)
  d$v23 <- as.integer(d$cat2 >= 2)
  d$age_ge65 <- as.integer(d$age >= 65)
  d$lab1_ge10 <- as.integer(d$lab1 >= 10)
  d$lab2_ge10 <- as.integer(d$lab2 >= 10)
  d$pt_lt80 <- as.integer(d$pt < 80)
  # outcomes (months): OS and progression, censoring by era, treatment at progression
  lp <- 1.4 * d$nodules_gt10 + 0.8 * d$ly23 + 0.5 * d$bin1
  t_os <- rexp(n, 0.012 * exp(lp))
  t_prog <- rexp(n, 0.05 * exp(0.5 * lp))
  era <- sample(rep(0:1, c(5, 48)))
  cens <- ifelse(era == 0, runif(n, 30, 70), runif(n, 3, 40))
  d$os_time <- pmax(0.1, round(pmin(t_os, cens), 1)); d$os_event <- as.integer(t_os <= cens)
  pfs <- pmin(t_prog, t_os)
  d$pfs_time <- pmax(0.1, round(pmin(pfs, cens), 1)); d$pfs_event <- as.integer(pfs <= cens)
  d$progressed <- t_prog < pmin(t_os, cens)
  d$treatment <- ifelse(d$progressed, sample.int(3, n, replace = TRUE), NA)
  d
}

screened <- c("age", "bmi", "pt", paste0("lab", 1:6), paste0("bin", 1:9), paste0("cat", 1:10),
              "nodules_gt10", "ly23", "v23", "age_ge65", "lab1_ge10", "lab2_ge10", "pt_lt80")
categorical <- c(paste0("bin", 1:9), paste0("cat", 1:10))
continuous <- c("age", "bmi", "pt", paste0("lab", 1:6), "nodules")

km_at <- function(time, event, times, tau) {
  fit <- survfit(Surv(time, event) ~ 1, conf.type = "log")
  s <- summary(fit, times = times, extend = TRUE, rmean = tau)
  z <- qnorm(0.975)
  loglog <- exp(-exp(log(-log(s$surv)) + c(-1, 1) %o% (z * s$std.err / (s$surv * log(s$surv)))))
  plain <- s$surv + c(-1, 1) %o% (z * s$std.err)
  list(s$surv, s$lower, s$upper, loglog, plain, s$table[["rmean"]], s$table[["se(rmean)"]])
}

cox_estimand <- function(d, f) {
  fit <- coxph(f, data = d, ties = "efron")
  out <- summary(fit)$coefficients[1, ]
  if (has_coxphf) {
    ff <- tryCatch(coxphf::coxphf(f, data = d, pl = TRUE), error = function(e) NULL)
    out <- c(out, if (is.null(ff)) NA else ff$ci.lower[1])
  }
  out
}

one_replicate <- function() {
  d <- draw()
  r <- list()
  r$km_os <- km_at(d$os_time, d$os_event, c(12, 36, 60), 60)
  r$km_pfs <- km_at(d$pfs_time, d$pfs_event, 60, 60)
  os <- Surv(d$os_time, d$os_event)
  r$cox1 <- cox_estimand(d, Surv(os_time, os_event) ~ nodules_gt10)
  r$cox2 <- cox_estimand(d, Surv(os_time, os_event) ~ ly23)
  r$cox3 <- cox_estimand(d, Surv(os_time, os_event) ~ nodules_gt10 + ly23)
  r$lr <- list(
    survdiff(os ~ d$stratum), survdiff(Surv(d$pfs_time, d$pfs_event) ~ d$stratum),
    survdiff(Surv(os_time, os_event) ~ treatment, data = d[d$progressed, ]),
    survdiff(os ~ d$bin2), survdiff(os ~ d$bin3), survdiff(os ~ d$bin4))
  # the Youden cut-off of every continuous characteristic (survmc: 15 markers; this cohort has 10)
  r$roc <- lapply(continuous, function(v) {
    roc_fit <- roc(d$os_event, d[[v]], levels = c(0, 1), direction = "auto", quiet = TRUE)
    list(ci.auc(roc_fit, method = "delong"),
         coords(roc_fit, "best", best.method = "youden",
                ret = c("threshold", "sensitivity", "specificity")))
  })
  r$maxstat <- lapply(c("Lau92", "Lau94"), function(pm)
    maxstat.test(Surv(os_time, os_event) ~ nodules, data = d, smethod = "LogRank", pmethod = pm,
                 minprop = 0.1, maxprop = 0.9))
  p_uni <- vapply(screened, function(v) {
    fit <- coxph(Surv(d$os_time, d$os_event) ~ d[[v]], ties = "efron")
    summary(fit)$coefficients[1, 5]
  }, numeric(1))
  chosen <- screened[!is.na(p_uni) & p_uni < 0.05]
  if (length(chosen) > 0) {
    r$multi <- coxph(as.formula(paste("Surv(os_time, os_event) ~", paste(chosen, collapse = "+"))),
                     data = d, ties = "efron")
  }
  r$table1 <- c(
    vapply(categorical, function(v) fisher.test(table(d$stratum, d[[v]]))$p.value, numeric(1)),
    vapply(continuous, function(v)
      suppressWarnings(wilcox.test(d[[v]][d$stratum == 0], d[[v]][d$stratum == 1])$p.value),
      numeric(1)))
  r
}

set.seed(20240601)
invisible(one_replicate())  # warm up (loads lazy code); invisible: Rscript prints top-level values
m <- 1
repeat {
  el <- system.time(for (i in seq_len(m)) one_replicate())[["elapsed"]]
  if (el >= min_batch_s) break
  m <- m * if (el <= 0) 10 else max(2, ceiling(1.2 * min_batch_s / el))
}
per_rep <- numeric(0)
start <- proc.time()[["elapsed"]]
while (length(per_rep) < 5 || proc.time()[["elapsed"]] - start < seconds) {
  t0 <- proc.time()[["elapsed"]]
  for (i in seq_len(m)) one_replicate()
  per_rep <- c(per_rep, (proc.time()[["elapsed"]] - t0) / m)
}
q <- quantile(per_rep * 1e6, c(0.25, 0.5, 0.75), names = FALSE)
cat("bench,median_us,q25_us,q75_us,batches,reps_per_batch,firth\n")
cat(sprintf("tsh2024,%.1f,%.1f,%.1f,%d,%d,%s\n", q[2], q[1], q[3], length(per_rep), as.integer(m),
            if (has_coxphf) "coxphf" else "absent"))
