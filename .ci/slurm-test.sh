#!/usr/bin/env bash
# SLURM for real (issue 4): start a single-node SLURM in this container, run a small scenario as a
# 4-task array job and merge it (scenarios/slurm/run-and-merge.sh), run the same scenario in one
# process, and require every output file (provenance.json aside) to be byte-identical.
#
#   .ci/slurm-test.sh        (as root; installs slurm and munge with apt-get when missing)
#
# Environment: SURVMC (binary; default: build and use target/debug/survmc), SCENARIO (default
# scenarios/textbook_binary.toml, else the first of the fallbacks below that exists), REPS (2000),
# SEED (20261126), TASKS (4), SLURM_TEST_DIR (work directory; default a fresh one under /tmp),
# SLURMCTLD_PORT and SLURMD_PORT (6817, 6818: change them if another SLURM listens there).
# The daemons run on their own config, state, munge socket and pidfiles in the work directory
# and are stopped by pidfile on exit, whatever happens. Exits non-zero on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$(date +%s)
say() { echo "slurm-test [$(($(date +%s) - start))s]: $*" >&2; }

reps=${REPS:-2000}
# blocks of 250 replicates, so that every one of the 4 tasks has blocks to run (sbatch passes the
# environment on to the tasks)
export SURVMC_BLOCK_SIZE=${SURVMC_BLOCK_SIZE:-250}
seed=${SEED:-20261126}
tasks=${TASKS:-4}
scenario=${SCENARIO:-}
if [[ -z $scenario ]]; then
    for s in scenarios/textbook_binary.toml scenarios/textbook_exponential.toml; do
        if [[ -f $s ]]; then scenario=$s; break; fi
    done
fi
[[ -n $scenario && -f $scenario ]] || { say "no scenario file (set SCENARIO)"; exit 1; }
scenario=$(realpath "$scenario")

if [[ -z ${SURVMC:-} ]]; then
    say "building survmc"
    cargo build --quiet --bin survmc
    SURVMC=$root/target/debug/survmc
fi
SURVMC=$(realpath "$SURVMC")
export SURVMC
if ! "$SURVMC" run --help >/dev/null 2>&1 || ! "$SURVMC" merge --help >/dev/null 2>&1; then
    say "$SURVMC has no 'run' and 'merge' commands"
    exit 1
fi

# --- install ---------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
    || ! command -v munged >/dev/null; then
    say "installing slurm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
    }
fi

# --- configure -------------------------------------------------------------------------------
work=${SLURM_TEST_DIR:-$(mktemp -d /tmp/survmc-slurm-test.XXXXXX)}
mkdir -p "$work"
work=$(realpath "$work")
chmod 755 "$work" # munged (user munge) must reach its directory inside
mkdir -p "$work/state" "$work/spool" "$work/munge"
chown munge:munge "$work/munge"
chmod 711 "$work/munge" # munged wants its socket directory executable by all
pids=()
cleanup() {
    local status=$?
    # Stop what this script started, by pidfile, in reverse order.
    for pidfile in "$work/slurmd.pid" "$work/slurmctld.pid" "$work/munge/munged.pid"; do
        if [[ -s $pidfile ]]; then
            local pid
            pid=$(cat "$pidfile")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
    if [[ $status -ne 0 ]]; then
        for log in "$work"/slurmctld.log "$work"/slurmd.log "$work"/out/logs/*; do
            [[ -f $log ]] && { echo "--- $log (last lines)" >&2; tail -n 20 "$log" >&2; }
        done
    fi
    exit $status
}
trap cleanup EXIT

# munge: a key of our own, our own socket, run as user munge.
key=$work/munge/munge.key
dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
chown munge:munge "$key"
chmod 400 "$key"
socket=$work/munge/munge.socket
runuser -u munge -- munged --key-file="$key" --socket="$socket" --pid-file="$work/munge/munged.pid" \
    --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"
for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || { say "munged did not start"; cat "$work/munge/munged.log" >&2; exit 1; }

host=$(hostname)
node=$(slurmd -C | head -n 1)
export SLURM_CONF=$work/slurm.conf
cat > "$SLURM_CONF" <<CONF
ClusterName=survmctest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
# Start array tasks promptly (with the defaults one starts every 3 s, and the test waits for them).
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000
SelectType=select/cons_tres
MpiDefault=none
ReturnToService=2
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=survmc Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

say "starting slurmctld and slurmd"
slurmctld -f "$SLURM_CONF" -i
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do
    state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
    [[ $state == idle* ]] && break
    sleep 0.2
done
[[ ${state:-} == idle* ]] || { say "the node did not come up (state: ${state:-none})"; exit 1; }

# --- the array, merged, against one process --------------------------------------------------
say "array of $tasks tasks: $(basename "$scenario") --reps $reps --seed $seed"
scenarios/slurm/run-and-merge.sh -n "$tasks" --reps "$reps" --seed "$seed" "$scenario" "$work/out"
say "single process"
"$SURVMC" run "$scenario" --reps "$reps" --seed "$seed" --out "$work/single"

files() { (cd "$1" && find . -type f ! -name provenance.json ! -path './shards/*' ! -path './logs/*' | sort); }
if ! diff <(files "$work/single") <(files "$work/out") >&2; then
    say "the merged run and the single run have different files"
    exit 1
fi
n=0
while read -r f; do
    cmp "$work/single/$f" "$work/out/$f" || { say "$f differs"; exit 1; }
    n=$((n + 1))
done < <(files "$work/single")
[[ $n -ge 3 ]] || { say "only $n files to compare"; exit 1; }
say "$n files byte-identical (sharded on SLURM and merged vs one process); passed"
