#!/usr/bin/env bash
# survmc's estimators against R's, side by side, in one run on this machine.
#
#   benches/compare_r.sh [--no-bench] [R_SECONDS_PER_CELL]
#
# 1. `cargo bench --bench estimators` (criterion; median time per call and its 95% CI, read from
#    target/criterion/<estimator>/<n>/new/estimates.json);
# 2. `Rscript benches/peers/estimators.R` (median time per call and the IQR over batches);
# 3. prints one row per estimator x n: survmc µs [CI], R µs [IQR], ratio R / survmc;
# 4. `cargo bench --bench replicate` and `Rscript benches/peers/replicate.R`: one whole replicate of
#    the seed paper's pipeline (generation included) on each side, the ratio R / survmc per core,
#    and the engine's 1 -> 2 thread scaling (2000 replicates: `engine/2000/1` over `engine/2000/2`).
# `--no-bench` reuses the last criterion results. Without Rscript it says so and exits 0 (CI does not
# need R). The join is done in base R, so the script needs nothing beyond cargo and Rscript.
set -euo pipefail
cd "$(dirname "$0")/.."

run_bench=1
if [[ "${1:-}" == "--no-bench" ]]; then
  run_bench=0
  shift
fi
r_seconds="${1:-2}"
rscript="${RSCRIPT:-Rscript}" # RSCRIPT=/path/to/Rscript picks another R

if ! command -v "$rscript" >/dev/null 2>&1; then
  echo "compare_r: $rscript not found; skipping the comparison with R (install R with the survival," \
    "pROC and maxstat packages to run it)."
  exit 0
fi
if ! "$rscript" -e 'suppressPackageStartupMessages({library(survival); library(pROC); library(maxstat)})' \
  >/dev/null 2>&1; then
  echo "compare_r: R lacks one of survival, pROC, maxstat; skipping the comparison with R."
  exit 0
fi

target_dir="${CARGO_TARGET_DIR:-target}"
if [[ "$run_bench" == 1 ]]; then
  echo "compare_r: cargo bench --bench estimators ..." >&2
  cargo bench --bench estimators >&2
  echo "compare_r: cargo bench --bench replicate ..." >&2
  cargo bench --bench replicate >&2
fi
if [[ ! -d "$target_dir/criterion" ]]; then
  echo "compare_r: no criterion results in $target_dir/criterion" >&2
  exit 1
fi

r_csv="$(mktemp)"
trap 'rm -f "$r_csv"' EXIT
echo "compare_r: Rscript benches/peers/estimators.R $r_seconds ..." >&2
"$rscript" benches/peers/estimators.R "$r_seconds" >"$r_csv"

"$rscript" - "$target_dir/criterion" "$r_csv" <<'EOF'
args <- commandArgs(trailingOnly = TRUE)
crit_dir <- args[1]
r <- read.csv(args[2], stringsAsFactors = FALSE)
# criterion's estimates.json: {"mean":{...},"median":{"confidence_interval":{"confidence_level":..,
# "lower_bound":..,"upper_bound":..},"point_estimate":..,"standard_error":..},...}, in nanoseconds
median_of <- function(path) {
  j <- paste(readLines(path, warn = FALSE), collapse = "")
  m <- regmatches(j, regexpr('"median":\\{[^}]*\\}[^}]*\\}', j))
  num <- function(key) as.numeric(sub(paste0('.*"', key, '":([-0-9.eE+]+).*'), "\\1", m))
  c(point = num("point_estimate"), lower = num("lower_bound"), upper = num("upper_bound")) / 1000
}
fmt <- function(us) trimws(formatC(us, format = "fg", digits = 3, big.mark = ","))
fmt_ratio <- function(x) if (x < 10) sprintf("%.1f", x) else sprintf("%.0f", x)
rows <- list()
for (i in seq_len(nrow(r))) {
  est <- file.path(crit_dir, r$estimator[i], r$n[i], "new", "estimates.json")
  s <- if (file.exists(est)) median_of(est) else c(point = NA, lower = NA, upper = NA)
  rows[[i]] <- data.frame(
    estimator = r$estimator[i], n = r$n[i],
    survmc_us = if (is.na(s[["point"]])) "not benched" else
      sprintf("%s [%s, %s]", fmt(s[["point"]]), fmt(s[["lower"]]), fmt(s[["upper"]])),
    R_us = sprintf("%s [%s, %s]", fmt(r$median_us[i]), fmt(r$q25_us[i]), fmt(r$q75_us[i])),
    ratio = if (is.na(s[["point"]])) "-" else
      sprintf("%sx [%s, %s]", fmt_ratio(r$median_us[i] / s[["point"]]),
              fmt_ratio(r$q25_us[i] / s[["upper"]]), fmt_ratio(r$q75_us[i] / s[["lower"]])),
    stringsAsFactors = FALSE)
}
tab <- do.call(rbind, rows)
tab <- tab[order(factor(tab$estimator, levels = unique(r$estimator)), tab$n), ]
cat("| estimator | n | survmc µs/call [95% CI] | R µs/call [IQR] | R / survmc [range] |\n")
cat("|---|---:|---:|---:|---:|\n")
for (i in seq_len(nrow(tab))) {
  cat(sprintf("| %s | %d | %s | %s | %s |\n", tab$estimator[i], tab$n[i], tab$survmc_us[i],
              tab$R_us[i], tab$ratio[i]))
}
cat("\nsurvmc: criterion median and its 95% CI; R: median and quartiles over timed batches;\n")
cat("range of the ratio: R's quartiles over survmc's CI bounds.\n")
EOF

# The whole replicate and the engine's scaling. R's replicate script runs for about 10 x the
# per-cell seconds (at least 20 s), so that its batches of replicates are many.
r_rep_csv="$(mktemp)"
trap 'rm -f "$r_csv" "$r_rep_csv"' EXIT
echo "compare_r: Rscript benches/peers/replicate.R ..." >&2
"$rscript" benches/peers/replicate.R "$(awk -v s="$r_seconds" 'BEGIN { print (10 * s > 20 ? 10 * s : 20) }')" \
  >"$r_rep_csv"
"$rscript" - "$target_dir/criterion" "$r_rep_csv" <<'EOF'
args <- commandArgs(trailingOnly = TRUE)
crit_dir <- args[1]
r <- read.csv(args[2], stringsAsFactors = FALSE)
median_of <- function(path) {
  if (!file.exists(path)) return(c(point = NA, lower = NA, upper = NA))
  j <- paste(readLines(path, warn = FALSE), collapse = "")
  m <- regmatches(j, regexpr('"median":\\{[^}]*\\}[^}]*\\}', j))
  num <- function(key) as.numeric(sub(paste0('.*"', key, '":([-0-9.eE+]+).*'), "\\1", m))
  c(point = num("point_estimate"), lower = num("lower_bound"), upper = num("upper_bound")) / 1000
}
est <- function(...) median_of(file.path(crit_dir, ..., "new", "estimates.json"))
fmt <- function(us) trimws(formatC(us, format = "fg", digits = 3, big.mark = ","))
rep <- est("replicate", "tsh2024")
e1 <- est("engine_2000", "1")
e2 <- est("engine_2000", "2")
cat("\n| whole replicate (tsh2024, n = 53) | survmc µs [95% CI] | R µs [IQR] | R / survmc per core [range] |\n")
cat("|---|---:|---:|---:|\n")
if (is.na(rep[["point"]])) {
  cat("| generation + analysis | not benched | - | - |\n")
} else {
  cat(sprintf("| generation + analysis | %s [%s, %s] | %s [%s, %s] | %.0fx [%.0f, %.0f] |\n",
              fmt(rep[["point"]]), fmt(rep[["lower"]]), fmt(rep[["upper"]]),
              fmt(r$median_us[1]), fmt(r$q25_us[1]), fmt(r$q75_us[1]),
              r$median_us[1] / rep[["point"]], r$q25_us[1] / rep[["upper"]],
              r$q75_us[1] / rep[["lower"]]))
}
cat(sprintf("R's Firth fits: %s.\n", if (r$firth[1] == "coxphf") "coxphf, included" else
  "coxphf not installed, left out (R does less work than survmc: the ratio is an underestimate)"))
if (!is.na(e1[["point"]]) && !is.na(e2[["point"]])) {
  cat(sprintf(paste0("engine, 2000 replicates: 1 thread %s ms [%s, %s], 2 threads %s ms [%s, %s]; ",
                     "speed-up 1 -> 2 threads %.2fx [%.2f, %.2f]\n"),
              fmt(e1[["point"]] / 1000), fmt(e1[["lower"]] / 1000), fmt(e1[["upper"]] / 1000),
              fmt(e2[["point"]] / 1000), fmt(e2[["lower"]] / 1000), fmt(e2[["upper"]] / 1000),
              e1[["point"]] / e2[["point"]], e1[["lower"]] / e2[["upper"]], e1[["upper"]] / e2[["lower"]]))
} else {
  cat("engine scaling: not benched (cargo bench --bench replicate -- engine)\n")
}
EOF
