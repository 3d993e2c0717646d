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
#    and the engine's 1 -> 2 thread scaling (`engine/2000/1` over `engine/2000/2`: 2000 replicates
#    in blocks of 250; and `engine/20000/*`: 20,000 in blocks of 2000, `survmc run`'s default).
#    The replicate is timed in paired rounds (SURVMC_ROUNDS, default 5): survmc's
#    `replicate/tsh2024`, then R's replicate for a fifth of R's time, round after round, so that both
#    sides of each round's ratio see the machine in the same state (R's time for the same work has
#    varied by 30% between runs here); the ratio is the median of the rounds' ratios, its range
#    their least and greatest. With `--no-bench`: one R run against the last criterion result.
# 5. if `python3 -c 'import lifelines'` works: benches/peers/estimators.py and replicate.py (lifelines
#    and scipy), added to both tables as a lifelines column and a lifelines / survmc ratio; else one
#    line says lifelines was skipped and why. PYTHON=/path/to/python3 picks another Python.
# `--no-bench` reuses the last criterion results. Without Rscript it says so and exits 0 (CI does not
# need R). The join is done in base R, so the script needs nothing beyond cargo and Rscript (Python
# and lifelines are optional, for the third column only).
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
py_csv="$(mktemp)"
r_rep_csv="$(mktemp)"
py_rep_csv="$(mktemp)"
rounds_dir="$(mktemp -d)" # the paired rounds of the whole replicate
trap 'rm -rf "$r_csv" "$py_csv" "$r_rep_csv" "$py_rep_csv" "$rounds_dir"' EXIT
echo "compare_r: Rscript benches/peers/estimators.R $r_seconds ..." >&2
"$rscript" benches/peers/estimators.R "$r_seconds" >"$r_csv"

# lifelines (optional): py_skip is empty when the Python peers run, else the reason they do not.
python="${PYTHON:-python3}"
py_skip=""
if ! command -v "$python" >/dev/null 2>&1; then
  py_skip="$python not found"
elif ! "$python" -c 'import lifelines, scipy' >/dev/null 2>&1; then
  py_skip="$python cannot import lifelines and scipy; pip install lifelines to add them"
fi
if [[ -z "$py_skip" ]]; then
  echo "compare_r: $python benches/peers/estimators.py $r_seconds ..." >&2
  if ! "$python" benches/peers/estimators.py "$r_seconds" >"$py_csv"; then
    py_skip="benches/peers/estimators.py failed"
  fi
fi
if [[ -n "$py_skip" ]]; then
  : >"$py_csv"
fi

"$rscript" - "$target_dir/criterion" "$r_csv" "$py_csv" "$py_skip" <<'EOF'
args <- commandArgs(trailingOnly = TRUE)
crit_dir <- args[1]
r <- read.csv(args[2], stringsAsFactors = FALSE)
# lifelines' rows (benches/peers/estimators.py), when it ran; key "estimator/n"
py <- if (file.info(args[3])$size > 0) read.csv(args[3], stringsAsFactors = FALSE) else NULL
py_key <- if (is.null(py)) character(0) else paste(py$estimator, py$n, sep = "/")
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
  j <- match(paste(r$estimator[i], r$n[i], sep = "/"), py_key)
  rows[[i]] <- data.frame(
    estimator = r$estimator[i], n = r$n[i],
    survmc_us = if (is.na(s[["point"]])) "not benched" else
      sprintf("%s [%s, %s]", fmt(s[["point"]]), fmt(s[["lower"]]), fmt(s[["upper"]])),
    R_us = sprintf("%s [%s, %s]", fmt(r$median_us[i]), fmt(r$q25_us[i]), fmt(r$q75_us[i])),
    ratio = if (is.na(s[["point"]])) "-" else
      sprintf("%sx [%s, %s]", fmt_ratio(r$median_us[i] / s[["point"]]),
              fmt_ratio(r$q25_us[i] / s[["upper"]]), fmt_ratio(r$q75_us[i] / s[["lower"]])),
    py_us = if (is.na(j)) "-" else
      sprintf("%s [%s, %s]", fmt(py$median_us[j]), fmt(py$q25_us[j]), fmt(py$q75_us[j])),
    py_ratio = if (is.na(j) || is.na(s[["point"]])) "-" else
      sprintf("%sx [%s, %s]", fmt_ratio(py$median_us[j] / s[["point"]]),
              fmt_ratio(py$q25_us[j] / s[["upper"]]), fmt_ratio(py$q75_us[j] / s[["lower"]])),
    stringsAsFactors = FALSE)
}
tab <- do.call(rbind, rows)
tab <- tab[order(factor(tab$estimator, levels = unique(r$estimator)), tab$n), ]
if (is.null(py)) {
  cat("| estimator | n | survmc µs/call [95% CI] | R µs/call [IQR] | R / survmc [range] |\n")
  cat("|---|---:|---:|---:|---:|\n")
  for (i in seq_len(nrow(tab))) {
    cat(sprintf("| %s | %d | %s | %s | %s |\n", tab$estimator[i], tab$n[i], tab$survmc_us[i],
                tab$R_us[i], tab$ratio[i]))
  }
} else {
  cat(paste("| estimator | n | survmc µs/call [95% CI] | R µs/call [IQR] | R / survmc [range]",
            "| lifelines µs/call [IQR] | lifelines / survmc [range] |\n"))
  cat("|---|---:|---:|---:|---:|---:|---:|\n")
  for (i in seq_len(nrow(tab))) {
    cat(sprintf("| %s | %d | %s | %s | %s | %s | %s |\n", tab$estimator[i], tab$n[i],
                tab$survmc_us[i], tab$R_us[i], tab$ratio[i], tab$py_us[i], tab$py_ratio[i]))
  }
}
cat("\nsurvmc: criterion median and its 95% CI; R: median and quartiles over timed batches;\n")
cat("range of the ratio: R's quartiles over survmc's CI bounds.\n")
if (is.null(py)) {
  cat(sprintf("lifelines: skipped (%s).\n", args[4]))
} else {
  cat(paste("lifelines (Python: lifelines for km, logrank, cox; scipy for fisher_2x2, mann_whitney;",
            "'-' where it has no equivalent): timed as R.\n"))
}
EOF

# The whole replicate and the engine's scaling. R's replicate script runs for about 10 x the
# per-cell seconds (at least 20 s), so that its batches of replicates are many.
rep_seconds="$(awk -v s="$r_seconds" 'BEGIN { print (10 * s > 20 ? 10 * s : 20) }')"
if [[ "$run_bench" == 1 ]]; then
  rounds="${SURVMC_ROUNDS:-5}"
  round_seconds="$(awk -v s="$rep_seconds" -v k="$rounds" 'BEGIN { print (s / k > 3 ? s / k : 3) }')"
  for k in $(seq 1 "$rounds"); do
    echo "compare_r: round $k of $rounds: cargo bench --bench replicate -- replicate/tsh2024, then" \
      "Rscript benches/peers/replicate.R $round_seconds ..." >&2
    cargo bench --bench replicate -- replicate/tsh2024 >&2
    cp "$target_dir/criterion/replicate/tsh2024/new/estimates.json" "$rounds_dir/survmc_$k.json"
    "$rscript" benches/peers/replicate.R "$round_seconds" >"$rounds_dir/r_$k.csv"
  done
else
  echo "compare_r: Rscript benches/peers/replicate.R $rep_seconds ..." >&2
  "$rscript" benches/peers/replicate.R "$rep_seconds" >"$r_rep_csv"
fi
if [[ -z "$py_skip" ]]; then
  echo "compare_r: $python benches/peers/replicate.py $rep_seconds ..." >&2
  if ! "$python" benches/peers/replicate.py "$rep_seconds" >"$py_rep_csv"; then
    echo "compare_r: benches/peers/replicate.py failed; no lifelines column for the replicate" >&2
    : >"$py_rep_csv"
  fi
fi
"$rscript" - "$target_dir/criterion" "$r_rep_csv" "$py_rep_csv" "$rounds_dir" <<'EOF'
args <- commandArgs(trailingOnly = TRUE)
crit_dir <- args[1]
py <- if (file.info(args[3])$size > 0) read.csv(args[3], stringsAsFactors = FALSE) else NULL
median_of <- function(path) {
  if (!file.exists(path)) return(c(point = NA, lower = NA, upper = NA))
  j <- paste(readLines(path, warn = FALSE), collapse = "")
  m <- regmatches(j, regexpr('"median":\\{[^}]*\\}[^}]*\\}', j))
  num <- function(key) as.numeric(sub(paste0('.*"', key, '":([-0-9.eE+]+).*'), "\\1", m))
  c(point = num("point_estimate"), lower = num("lower_bound"), upper = num("upper_bound")) / 1000
}
est <- function(...) median_of(file.path(crit_dir, ..., "new", "estimates.json"))
fmt <- function(us) trimws(formatC(us, format = "fg", digits = 3, big.mark = ","))
# paired rounds (survmc then R, round after round), or one R run against the last criterion result;
# each side as c(point, lower, upper): survmc's and R's medians with their ranges, and the ratio
round_files <- list.files(args[4], pattern = "^r_[0-9]+[.]csv$")
if (length(round_files) > 0) {
  ks <- sort(as.integer(sub("^r_([0-9]+)[.]csv$", "\\1", round_files)))
  r_rounds <- do.call(rbind, lapply(ks, function(k) read.csv(file.path(args[4], paste0("r_", k, ".csv")),
                                                               stringsAsFactors = FALSE)))
  s_rounds <- sapply(ks, function(k) median_of(file.path(args[4], paste0("survmc_", k, ".json")))[["point"]])
  ratios <- r_rounds$median_us / s_rounds
  # medians over the rounds, with the least and greatest round
  over_rounds <- function(v) c(point = median(v), lower = min(v), upper = max(v))
  rep <- over_rounds(s_rounds)
  r_us <- over_rounds(r_rounds$median_us)
  ratio <- over_rounds(ratios)
  firth <- r_rounds$firth[1]
  paired <- sprintf("%d paired rounds (survmc, then R); per round survmc µs / R µs = R / survmc: %s",
                    length(ratios), paste(sprintf("%s / %s = %.0fx", fmt(s_rounds), fmt(r_rounds$median_us),
                                                  ratios), collapse = "; "))
  head_cells <- "survmc µs [least, greatest round] | R µs [least, greatest round] | R / survmc per core [least, greatest round]"
} else {
  r <- read.csv(args[2], stringsAsFactors = FALSE)
  rep <- est("replicate", "tsh2024")
  r_us <- c(point = r$median_us[1], lower = r$q25_us[1], upper = r$q75_us[1])
  ratio <- c(point = r_us[["point"]] / rep[["point"]], lower = r_us[["lower"]] / rep[["upper"]],
             upper = r_us[["upper"]] / rep[["lower"]])
  firth <- r$firth[1]
  paired <- NULL
  head_cells <- "survmc µs [95% CI] | R µs [IQR] | R / survmc per core [range]"
}
engines <- list(list(label = "2000 replicates (blocks of 250)", e1 = est("engine_2000", "1"), e2 = est("engine_2000", "2")),
                list(label = "20,000 replicates (blocks of 2000)", e1 = est("engine_20000", "1"), e2 = est("engine_20000", "2")))
py_cells <- if (is.null(py)) "" else if (is.na(rep[["point"]])) " - | - |" else
  sprintf(" %s [%s, %s] | %.0fx [%.0f, %.0f] |", fmt(py$median_us[1]), fmt(py$q25_us[1]),
          fmt(py$q75_us[1]), py$median_us[1] / rep[["point"]], py$q25_us[1] / rep[["upper"]],
          py$q75_us[1] / rep[["lower"]])
cat(paste0("\n| whole replicate (tsh2024, n = 53) | ", head_cells, " |",
           if (is.null(py)) "" else " lifelines µs [IQR] | lifelines / survmc per core [range] |", "\n"))
cat(paste0("|---|---:|---:|---:|", if (is.null(py)) "" else "---:|---:|", "\n"))
if (is.na(rep[["point"]])) {
  cat(paste0("| generation + analysis | not benched | - | - |", if (is.null(py)) "" else " - | - |", "\n"))
} else {
  cat(sprintf("| generation + analysis | %s [%s, %s] | %s [%s, %s] | %.0fx [%.0f, %.0f] |%s\n",
              fmt(rep[["point"]]), fmt(rep[["lower"]]), fmt(rep[["upper"]]),
              fmt(r_us[["point"]]), fmt(r_us[["lower"]]), fmt(r_us[["upper"]]),
              ratio[["point"]], ratio[["lower"]], ratio[["upper"]], py_cells))
}
if (!is.null(paired)) cat(paired, "\n", sep = "")
if (!is.null(py)) {
  cat(sprintf(paste0("lifelines' replicate (benches/peers/replicate.py): %s (less work than survmc: ",
                     "the ratio is an underestimate).\n"), py$scope[1]))
}
cat(sprintf("R's Firth fits: %s.\n", if (firth == "coxphf") "coxphf, included" else
  "coxphf not installed, left out (R does less work than survmc: the ratio is an underestimate)"))
for (e in engines) {
  e1 <- e$e1
  e2 <- e$e2
  if (!is.na(e1[["point"]]) && !is.na(e2[["point"]])) {
    cat(sprintf(paste0("engine, %s: 1 thread %s ms [%s, %s], 2 threads %s ms [%s, %s]; ",
                       "speed-up 1 -> 2 threads %.2fx [%.2f, %.2f]\n"), e$label,
                fmt(e1[["point"]] / 1000), fmt(e1[["lower"]] / 1000), fmt(e1[["upper"]] / 1000),
                fmt(e2[["point"]] / 1000), fmt(e2[["lower"]] / 1000), fmt(e2[["upper"]] / 1000),
                e1[["point"]] / e2[["point"]], e1[["lower"]] / e2[["upper"]], e1[["upper"]] / e2[["lower"]]))
  } else {
    cat(sprintf("engine scaling, %s: not benched (cargo bench --bench replicate -- engine)\n", e$label))
  }
}
EOF
