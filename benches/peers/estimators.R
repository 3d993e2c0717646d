# The work of benches/estimators.rs, done in R (survival, pROC, maxstat, stats), timed per call.
#
#   Rscript benches/peers/estimators.R [seconds_per_cell]
#
# Prints CSV: estimator,n,median_us,q25_us,q75_us,batches,calls_per_batch
# (microseconds per call: median and quartiles over batches; each batch is `calls_per_batch` calls
# timed together with proc.time(), sized to last at least 50 ms so the clock's resolution does not
# matter).
#
# The data are drawn here with R's own generator from the same distribution as the Rust bench
# (not the same values): the cost of these estimators depends on n, the number of distinct times
# and of events, which the distribution fixes, not on the exact values.
#
#   x1 ~ Bernoulli(0.5); z, z2..z9 ~ N(0, 1)
#   T ~ Exp(0.05 exp(0.7 x1 + 0.5 z)) months; C ~ Exp(0.045)   (about 40% censored)
#   time = max(0.1, round(min(T, C), 1)); event = T <= C
#
# Each timed call produces what the Rust call produces:
#   km       survfit + summary(times = 3, 6, 12, rmean = "individual"): S(t) with CI, rmean, median
#   logrank  survdiff(rho = 0), 2 groups
#   cox1     coxph(ties = "efron") on z;  cox10 on x1, z, z2..z9
#   roc      roc() (direction auto) + ci.auc(DeLong) + coords("best", Youden)
#   maxstat  maxstat.test(LogRank, minprop 0.1, maxprop 0.9) with pmethod Lau92 and Lau94 (the Rust
#            estimator returns both p-values; R needs one call each)
#   fisher_2x2   fisher.test(conf.int = FALSE) on x1 x event (the Rust test returns the p-value
#            only; R still computes the conditional MLE of the odds ratio)
#   fisher_2x4   fisher.test on x1 x quartile of z (both tables made once, outside the timing)
#   mann_whitney  wilcox.test(z | x1 = 1, z | x1 = 0) default (exact when both groups < 50 and no
#            ties) and the normal approximation (the Rust test returns both; R needs one call each)

suppressPackageStartupMessages({
  library(survival); library(pROC); library(maxstat)
})

args <- commandArgs(trailingOnly = TRUE)
seconds_per_cell <- if (length(args) >= 1) as.numeric(args[1]) else 2
min_batch_s <- 0.05
sizes <- c(53, 500, 5000)

draw <- function(n) {
  x1 <- rbinom(n, 1, 0.5)
  z <- matrix(rnorm(n * 9), n, 9, dimnames = list(NULL, c("z", paste0("z", 2:9))))
  t <- rexp(n, 0.05 * exp(0.7 * x1 + 0.5 * z[, "z"]))
  c <- rexp(n, 0.045)
  d <- data.frame(time = pmax(0.1, round(pmin(t, c), 1)), event = as.integer(t <= c), x1 = x1, z)
  d$zq <- cut(d$z, quantile(d$z, 0:4 / 4), include.lowest = TRUE)
  d
}

# One cell: calibrate the batch size, then time batches for about `seconds_per_cell` seconds.
time_cell <- function(f) {
  f()  # warm up (loads lazy code)
  m <- 1
  repeat {
    el <- system.time(for (i in seq_len(m)) f())[["elapsed"]]
    if (el >= min_batch_s) break
    m <- m * if (el <= 0) 10 else max(2, ceiling(1.2 * min_batch_s / el))
  }
  per_call <- numeric(0)
  start <- proc.time()[["elapsed"]]
  while (length(per_call) < 5 ||
         (proc.time()[["elapsed"]] - start < seconds_per_cell && length(per_call) < 200)) {
    t0 <- proc.time()[["elapsed"]]
    for (i in seq_len(m)) f()
    per_call <- c(per_call, (proc.time()[["elapsed"]] - t0) / m)
  }
  q <- quantile(per_call * 1e6, c(0.25, 0.5, 0.75), names = FALSE)
  c(median = q[2], q25 = q[1], q75 = q[3], batches = length(per_call), calls = m)
}

cells <- function(d) {
  s <- Surv(d$time, d$event)
  covs10 <- as.matrix(d[, c("x1", "z", paste0("z", 2:9))])
  tab22 <- table(d$x1, d$event)
  tab24 <- table(d$x1, d$zq)
  z1 <- d$z[d$x1 == 1]
  z0 <- d$z[d$x1 == 0]
  list(
    km = function() {
      fit <- survfit(s ~ 1, conf.type = "log")
      summary(fit, times = c(3, 6, 12), rmean = "individual", extend = TRUE)
    },
    logrank = function() survdiff(s ~ d$x1, rho = 0),
    cox1 = function() coxph(s ~ d$z, ties = "efron"),
    cox10 = function() coxph(s ~ covs10, ties = "efron"),
    roc = function() {
      r <- roc(d$event, d$z, levels = c(0, 1), direction = "auto", quiet = TRUE)
      ci.auc(r, method = "delong")
      coords(r, "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity"))
    },
    maxstat = function() {
      maxstat.test(Surv(time, event) ~ z, data = d, smethod = "LogRank", pmethod = "Lau92",
                   minprop = 0.1, maxprop = 0.9)
      maxstat.test(Surv(time, event) ~ z, data = d, smethod = "LogRank", pmethod = "Lau94",
                   minprop = 0.1, maxprop = 0.9)
    },
    fisher_2x2 = function() fisher.test(tab22, conf.int = FALSE),
    fisher_2x4 = function() fisher.test(tab24),
    mann_whitney = function() {
      suppressWarnings(wilcox.test(z1, z0, correct = TRUE))
      suppressWarnings(wilcox.test(z1, z0, exact = FALSE, correct = TRUE))
    }
  )
}

only <- Sys.getenv("SURVMC_R_ONLY")  # optional comma-separated estimator names
set.seed(20261126)
cat("estimator,n,median_us,q25_us,q75_us,batches,calls_per_batch\n")
for (n in sizes) {
  d <- draw(n)
  fs <- cells(d)
  for (name in names(fs)) {
    if (nzchar(only) && !(name %in% strsplit(only, ",")[[1]])) next
    r <- time_cell(fs[[name]])
    cat(sprintf("%s,%d,%.3f,%.3f,%.3f,%d,%d\n", name, n, r[["median"]], r[["q25"]], r[["q75"]],
                as.integer(r[["batches"]]), as.integer(r[["calls"]])))
  }
}
