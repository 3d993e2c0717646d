#!/usr/bin/env bash
# Run a scenario as a SLURM array of N shards, wait for it, and merge the shards.
#
#   run-and-merge.sh [-n N] [--reps R] [--seed S] [--threads T] [--sbatch-arg ARG]... SCENARIO.toml OUT_DIR
#
# Submits `sbatch --wait --array=0-(N-1) survmc-array.sbatch SCENARIO OUT_DIR/shards` (default N = 4),
# then `survmc merge OUT_DIR/shards/shard-0 ... shard-(N-1) --out OUT_DIR`. OUT_DIR then holds
# exactly the output of `survmc run SCENARIO --out OUT_DIR` in one process (provenance.json aside).
# SURVMC names the survmc binary (default: survmc on PATH); it must be reachable from the compute
# nodes, as must OUT_DIR (a shared filesystem). --sbatch-arg passes options to sbatch, e.g.
# --sbatch-arg=--partition=short --sbatch-arg=--time=01:00:00. Task logs: OUT_DIR/logs/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
n=4
sbatch_args=()
usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    case $1 in
        -n|--tasks) n=${2:?}; shift 2 ;;
        --reps) export SURVMC_REPS=${2:?}; shift 2 ;;
        --seed) export SURVMC_SEED=${2:?}; shift 2 ;;
        --threads) export SURVMC_THREADS=${2:?}; sbatch_args+=("--cpus-per-task=$2"); shift 2 ;;
        --sbatch-arg=*) sbatch_args+=("${1#--sbatch-arg=}"); shift ;;
        --sbatch-arg) sbatch_args+=("${2:?}"); shift 2 ;;
        -h|--help) usage ;;
        -*) echo "run-and-merge: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[[ $# -eq 2 ]] || usage
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run-and-merge: -n needs a positive integer, got $n" >&2; exit 2; }
scenario=$(realpath "$1")
mkdir -p "$2"
out=$(realpath "$2")
survmc=${SURVMC:-survmc}
if [[ $survmc == */* ]]; then survmc=$(realpath "$survmc"); fi
export SURVMC=$survmc

mkdir -p "$out/shards" "$out/logs"
echo "run-and-merge: $n shards of $scenario into $out/shards" >&2
sbatch --wait --array="0-$((n - 1))" --chdir="$out" \
    --output="$out/logs/survmc-%A_%a.out" --export=ALL "${sbatch_args[@]}" \
    "$here/survmc-array.sbatch" "$scenario" "$out/shards"

dirs=()
for ((k = 0; k < n; k++)); do dirs+=("$out/shards/shard-$k"); done
echo "run-and-merge: merging ${#dirs[@]} shards into $out" >&2
"$survmc" merge "${dirs[@]}" --out "$out"
