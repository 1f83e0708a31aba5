#!/usr/bin/env bash
# Run a command against a throw-away, local, single-node Slurm cluster.
#
#   bash tests/slurm/with-slurm.sh CMD [ARGS...]
#
# What it does, in order:
#   1. installs the Debian packages slurmctld, slurmd, slurm-client and munge if any
#      is missing (sudo only when not root);
#   2. creates a scratch folder holding everything the cluster needs: a munge key and
#      munged's socket/pid/log/seed, slurm.conf, the state and spool folders and the
#      daemons' logs, so nothing under /etc or /var is used or changed;
#   3. starts munged, slurmctld and slurmd (node "simnode", all CPUs of this machine)
#      in their own sessions, recording their PIDs, and waits until the node is idle;
#   4. runs CMD with SLURM_CONF exported (working directory unchanged) so that sbatch,
#      squeue, scontrol, ... - also when called from inside a job - talk to this cluster;
#   5. always (normal exit, failure, Ctrl-C, TERM): cancels every job, waits until the
#      queue is empty, stops the three daemons by their recorded PIDs (TERM, then KILL)
#      and removes the scratch folder (kept when KEEP_SLURM_SCRATCH=1);
#   6. exits with CMD's exit status.
#
# Environment knobs:
#   KEEP_SLURM_SCRATCH=1   keep the scratch folder (config, logs, job state) for debugging
#   SLURM_START_TIMEOUT=30 seconds to wait for the node to become idle
#   SLURM_STOP_TIMEOUT=30  seconds to wait for the queue to drain at the end
#
# Needs root for the daemons (SlurmUser=root keeps the cluster free of service
# accounts and permission set-up). Jobs run as the submitting user (root here).
set -euo pipefail

readonly PACKAGES=(slurmctld slurmd slurm-client munge)
readonly NODE_NAME=simnode
START_TIMEOUT=${SLURM_START_TIMEOUT:-30}
STOP_TIMEOUT=${SLURM_STOP_TIMEOUT:-30}

log() { printf '[%s] with-slurm: %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ $# -eq 0 ]]; then
    echo "usage: bash $0 CMD [ARGS...]" >&2
    exit 2
fi

# ---------------------------------------------------------------------------------
# 1. Packages
# ---------------------------------------------------------------------------------
missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        # db:Status-Status is "installed" only for a fully configured package.
        # shellcheck disable=SC2016  # ${...} is dpkg-query's format, not bash's
        if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
            printf '%s\n' "$p"
        fi
    done
}

install_packages() {
    local -a missing sudo=()
    mapfile -t missing < <(missing_packages)
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "packages present: ${PACKAGES[*]}"
        return
    fi
    [[ $EUID -eq 0 ]] || sudo=(sudo)
    log "installing ${missing[*]}"
    # noninteractive: no debconf prompts. The packages' postinst scripts try to start
    # the system services; in a container policy-rc.d (or having no init) stops that.
    # Where they do start, they use /etc/munge, /etc/slurm and ports 6817/6818 - none
    # of which this harness uses - so they neither interfere nor are touched.
    local -a apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y
                  --no-install-recommends "${missing[@]}")
    if ! "${apt[@]}" >&2; then
        # Usually stale package lists (a fresh container has none or old ones).
        log "install failed; running apt-get update and retrying"
        "${sudo[@]}" apt-get update >&2
        "${apt[@]}" >&2
    fi
    mapfile -t missing < <(missing_packages)
    [[ ${#missing[@]} -eq 0 ]] || die "still missing after install: ${missing[*]}"
    log "installed ${PACKAGES[*]}"
}

install_packages

# The daemons run as root (SlurmUser=root, munged as root): see the header.
[[ $EUID -eq 0 ]] || die "the Slurm daemons must run as root; re-run as root (e.g. sudo -E bash $0 ...)"

# ---------------------------------------------------------------------------------
# 2. Scratch folder, munge
# ---------------------------------------------------------------------------------
# Filled in as things start; the EXIT trap reads them.
SCRATCH=""
MUNGED_PID=""
SLURMCTLD_PID=""
SLURMD_PID=""
CMD_PID=""
DAEMONS_UP=0

# True when PID is a live (not zombie) process.
alive() {
    local pid=$1 state
    [[ -n $pid && -r /proc/$pid/stat ]] || return 1
    # Field 3 of /proc/PID/stat is the state; the command name (field 2) is in
    # parentheses and may contain spaces, so take what follows the last ')'.
    state=$(sed -e 's/.*) //' -e 's/ .*//' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

any_alive() {
    local pid
    for pid in "$@"; do
        alive "$pid" && return 0
    done
    return 1
}

# Print the daemons' logs to stderr. slurmctld/slurmd write their log file and, with
# -D, also stderr (*.out); the file is the fuller one (slurmstepd writes there too),
# stderr alone holds errors from before the file is opened (e.g. a bad slurm.conf).
# munged in the foreground logs to stderr only.
dump_logs() {
    local name f
    [[ -n $SCRATCH && -d $SCRATCH/log ]] || return 0
    for name in munged slurmctld slurmd; do
        f=$SCRATCH/log/$name.log
        [[ -s $f ]] || f=$SCRATCH/log/$name.out
        [[ -s $f ]] || continue
        printf '%s\n' "----- ${f##*/} (last 40 lines) -----" >&2
        tail -n 40 "$f" >&2
    done
    printf '%s\n' "----- end of daemon logs -----" >&2
}

# Stop one daemon by recorded PID: TERM, up to 5 s grace, then KILL.
stop_pid() {
    local name=$1 pid=$2 i
    [[ -n $pid ]] || return 0
    if alive "$pid"; then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            log "$name (pid $pid) ignored TERM; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Reap it (it is our child) so it does not linger as a zombie.
    wait "$pid" 2>/dev/null || true
}

# Queue contents as job ids ("12", "13_[2-3]", ...), empty when drained or unreachable.
# Clients retry an unreachable controller for a while: bound every call.
queue_ids() { timeout -k 2 10 squeue -h -o %i 2>/dev/null || true; }

# PID $1 and all its descendants (read from one `ps` snapshot, before anything is
# signalled, so children re-parented to init on their parent's death are included).
process_tree() {
    ps -e -o pid= -o ppid= | awk -v root="$1" '
        { kids[$2] = kids[$2] " " $1 }
        END {
            queue[1] = root; n = 1
            for (i = 1; i <= n; i++) {
                print queue[i]
                m = split(kids[queue[i]], k, " ")
                for (j = 1; j <= m; j++) queue[++n] = k[j]
            }
        }'
}

cleanup() {
    local rc=$? i pid
    local -a tree=() ids=()
    # A second Ctrl-C/TERM must not cut the clean-up short (that leaves daemons
    # behind). A no-op trap rather than ignoring: ignored signals stay ignored in the
    # commands run below, handled ones are reset to default.
    trap ':' INT TERM HUP
    set +e
    # CMD still running: we were signalled (TERM from e.g. `timeout`, or Ctrl-C).
    # Stop CMD and everything it started (it may not pass signals on).
    if [[ -n $CMD_PID ]] && alive "$CMD_PID"; then
        mapfile -t tree < <(process_tree "$CMD_PID")
        log "stopping command (pids ${tree[*]})"
        kill -TERM "${tree[@]}" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            any_alive "${tree[@]}" || break
            sleep 0.1
        done
        for pid in "${tree[@]}"; do
            alive "$pid" && kill -KILL "$pid" 2>/dev/null
        done
        wait "$CMD_PID" 2>/dev/null
    fi
    # Jobs first: a job's slurmstepd is not a child of slurmd and outlives it, so the
    # daemons may only go once every job (and its steps) has finished.
    # Cancelled again every second while the queue drains: a job can still submit
    # another on its way out (e.g. task 0 submitting the merge job).
    if alive "$SLURMCTLD_PID"; then
        for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
            mapfile -t ids < <(queue_ids)
            [[ ${#ids[@]} -gt 0 ]] || break
            if ((i % 5 == 0)); then
                log "cancelling jobs: ${ids[*]}"
                timeout -k 2 10 scancel "${ids[@]}" 2>/dev/null
            fi
            sleep 0.2
        done
        mapfile -t ids < <(queue_ids)
        if [[ ${#ids[@]} -gt 0 ]]; then
            log "WARNING: queue not empty after ${STOP_TIMEOUT}s:"
            timeout -k 2 10 squeue >&2
        fi
    fi
    stop_pid slurmd "$SLURMD_PID"
    stop_pid slurmctld "$SLURMCTLD_PID"
    stop_pid munged "$MUNGED_PID"
    if [[ $rc -ne 0 && $DAEMONS_UP -eq 1 ]]; then
        log "command failed (status $rc); daemon logs follow"
        dump_logs
    fi
    if [[ -n $SCRATCH && -d $SCRATCH ]]; then
        if [[ ${KEEP_SLURM_SCRATCH:-0} == 1 ]]; then
            log "kept scratch folder $SCRATCH"
        else
            rm -rf -- "$SCRATCH"
            log "removed scratch folder"
        fi
    fi
    log "done (status $rc)"
    exit "$rc"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap runs (bash runs EXIT traps on
# `exit`, not when killed by an untrapped signal).
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Hermetic: Slurm variables from the caller's environment (e.g. when run inside a
# real Slurm job, or a user's SQUEUE_FORMAT) would leak into our clients and jobs.
while read -r var; do
    unset "$var"
done < <(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCANCEL|SCONTROL)_' || true)

# A unix socket path must fit in 108 bytes; a deep TMPDIR would not leave room.
scratch_parent=${TMPDIR:-/tmp}
((${#scratch_parent} <= 60)) || scratch_parent=/tmp
SCRATCH=$(mktemp -d "$scratch_parent/clustersim-slurm.XXXXXX")
# mktemp makes 0700; munge clients (and job processes of other users) must traverse
# it to reach munged's socket, hence world-executable. Not world-writable: munged
# refuses to use a socket/log/pid folder others may write to.
chmod 0755 "$SCRATCH"
mkdir -m 0755 "$SCRATCH/munge" "$SCRATCH/log" "$SCRATCH/state" "$SCRATCH/spool" "$SCRATCH/run"
log "scratch folder $SCRATCH"

MUNGE_SOCKET=$SCRATCH/munge/munge.socket
MUNGE_KEY=$SCRATCH/munge/munge.key
# Our own key rather than /etc/munge/munge.key: nothing outside the scratch folder is
# read or written, and a system munged (if any) is neither needed nor disturbed.
(umask 077 && head -c 1024 /dev/urandom >"$MUNGE_KEY")
chmod 0600 "$MUNGE_KEY"

log "starting munged"
# --foreground so the PID we record is munged itself (it would otherwise fork away).
# setsid puts each daemon in its own session: a Ctrl-C at the terminal reaches CMD
# and this script, not the daemons, which the EXIT trap stops in the right order.
# --force: munged refuses to start when it finds "insecure" permissions on the
# folders above its files (e.g. a group-writable TMPDIR); for a throw-away test
# cluster that must not stop us. (In the foreground munged logs to stderr, i.e. to
# log/munged.out; --log-file is given for completeness.)
setsid munged --foreground --force \
    --key-file="$MUNGE_KEY" \
    --socket="$MUNGE_SOCKET" \
    --pid-file="$SCRATCH/munge/munged.pid" \
    --log-file="$SCRATCH/log/munged.log" \
    --seed-file="$SCRATCH/munge/munged.seed" \
    >"$SCRATCH/log/munged.out" 2>&1 </dev/null &
MUNGED_PID=$!

munge_ok=0
for ((i = 0; i < 50; i++)); do
    if [[ -S $MUNGE_SOCKET ]] &&
        munge -n --socket="$MUNGE_SOCKET" 2>/dev/null | unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1; then
        munge_ok=1
        break
    fi
    alive "$MUNGED_PID" || break
    sleep 0.1
done
if [[ $munge_ok -ne 1 ]]; then
    dump_logs
    die "munged did not come up (munge -n | unmunge failed)"
fi
log "munged up (pid $MUNGED_PID), munge -n | unmunge works"

# ---------------------------------------------------------------------------------
# 3. slurm.conf
# ---------------------------------------------------------------------------------
# True when something listens on TCP port $1 (IPv4 or IPv6).
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    # /proc/net/tcp*: "sl local_address rem_address st ..."; st 0A = LISTEN.
    awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
# Fixed, unusual ports (not Slurm's 6817/6818, so a real Slurm on the machine is no
# problem); if taken (e.g. by a second run in parallel), step to the next pair.
# Concurrent runs take turns from here until their daemons listen (lock released
# once the node is idle), so two never pick the same free pair. The lock is on this
# script itself: nothing to create or clean up.
exec 9<"${BASH_SOURCE[0]}"
flock -w 120 9 || die "waited 120 s for another with-slurm.sh run to start its daemons"
CTLD_PORT=""
for base in 16817 16827 16837 16847 16857 16867 16877 16887; do
    if ! port_in_use "$base" && ! port_in_use $((base + 1)); then
        CTLD_PORT=$base
        break
    fi
done
[[ -n $CTLD_PORT ]] || die "no free port pair found in 16817..16888"
SLURMD_PORT=$((CTLD_PORT + 1))

CPUS=$(nproc)
# 90% of physical memory, in MB, so the node never looks smaller than configured.
MEM_MB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)

export SLURM_CONF=$SCRATCH/slurm.conf
cat >"$SLURM_CONF" <<EOF
# Generated by tests/slurm/with-slurm.sh: a throw-away single-node cluster.
ClusterName=clustersim
# "localhost" with an explicit address: no dependence on this machine's hostname or
# on name resolution (containers often have odd ones).
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
# Everything as root: no slurm service account, no ownership set-up.
SlurmUser=root
SlurmdUser=root

# Authentication and job credentials through munge (Slurm 22.05 as packaged by
# Debian), talking to our own munged through its socket.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge

# No cgroups (not available/writable in containers): plain process tracking, no task
# binding, no accounting gatherer. No slurmdbd either (so no sacct; see MinJobAge).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
# No mail program on a test machine; avoid errors about it.
MailProg=/bin/true

# Each array task gets one CPU and tasks share the node (cons_tres + CR_CPU).
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# slurmctld starts pending batch jobs from a once-a-second background loop, after
# batch_sched_delay seconds (default 3); 0 makes a job start on the next tick.
# sched_interval=1 (a full scheduling pass every second instead of every 60 s)
# brings the very first batch job of a fresh slurmctld from ~3 s to ~2 s.
# (kill_invalid_depend would not help: in 22.05 a job whose dependency failed stays
# PENDING/DependencyNeverSatisfied; wait-for-jobs.sh counts that as a failure.)
SchedulerParameters=batch_sched_delay=0,sched_interval=1
# Keep finished jobs in slurmctld's memory for 10 min so \`scontrol show job ID\`
# still reports their final state (there is no accounting database).
MinJobAge=600
# A node that was DOWN comes back as soon as it registers.
ReturnToService=2
# Trust the node definition below rather than the hardware slurmd detects
# (container CPU/memory detection can differ and would drain the node).
SlurmdParameters=config_overrides
# Quick shutdown: scancel's SIGTERM is followed by SIGKILL after 5 s (default 30 s).
KillWait=5

StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$SCRATCH/run/slurmctld.pid
SlurmdPidFile=$SCRATCH/run/slurmd.pid
SlurmctldLogFile=$SCRATCH/log/slurmctld.log
SlurmdLogFile=$SCRATCH/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# A fixed node name with an explicit address (slurmd is started with -N $NODE_NAME),
# so the machine's hostname never matters.
NodeName=$NODE_NAME NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE_NAME Default=YES MaxTime=INFINITE State=UP
EOF
log "wrote $SLURM_CONF (ports $CTLD_PORT/$SLURMD_PORT, $CPUS CPUs, ${MEM_MB} MB)"

# ---------------------------------------------------------------------------------
# 4. slurmctld, slurmd
# ---------------------------------------------------------------------------------
log "starting slurmctld"
# -D: stay in the foreground (so $! is the daemon); -i: ignore (absent) old state.
# 9<&-: the daemons must not inherit (and so keep) the port lock.
setsid slurmctld -D -i -f "$SLURM_CONF" >"$SCRATCH/log/slurmctld.out" 2>&1 </dev/null 9<&- &
SLURMCTLD_PID=$!
log "starting slurmd"
setsid slurmd -D -N "$NODE_NAME" -f "$SLURM_CONF" >"$SCRATCH/log/slurmd.out" 2>&1 </dev/null 9<&- &
SLURMD_PID=$!

state=""
deadline=$((SECONDS + START_TIMEOUT))
while ((SECONDS < deadline)); do
    alive "$SLURMCTLD_PID" || { dump_logs; die "slurmctld exited during start-up"; }
    alive "$SLURMD_PID" || { dump_logs; die "slurmd exited during start-up"; }
    state=$(timeout -k 2 5 sinfo -h -n "$NODE_NAME" -o %T 2>/dev/null || true)
    [[ $state == idle ]] && break
    sleep 0.2
done
if [[ $state != idle ]]; then
    dump_logs
    die "node $NODE_NAME not idle after ${START_TIMEOUT}s (state: '${state:-no answer}')"
fi
DAEMONS_UP=1
exec 9<&- # release the port lock
log "slurm up: slurmctld pid $SLURMCTLD_PID, slurmd pid $SLURMD_PID, node $NODE_NAME idle"

# ---------------------------------------------------------------------------------
# 5. The command
# ---------------------------------------------------------------------------------
log "running: $*"
# In the background plus `wait`, so a TERM sent to this script (e.g. by a CI job's
# timeout) is acted on at once rather than after CMD finishes. Two things make the
# background run behave like a foreground one: bash gives background commands
# /dev/null as stdin (<&0 keeps ours) and ignores Ctrl-C/SIGQUIT in them (trap -
# restores the defaults, so Ctrl-C reaches CMD directly as usual).
(
    trap - INT QUIT
    exec "$@"
) <&0 &
CMD_PID=$!
rc=0
wait "$CMD_PID" || rc=$?
CMD_PID=""
log "command exited with status $rc"
exit "$rc"
