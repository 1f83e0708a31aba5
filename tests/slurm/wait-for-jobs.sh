#!/usr/bin/env bash
# Wait until Slurm jobs have finished and tell whether they all COMPLETED.
#
#   bash tests/slurm/wait-for-jobs.sh TIMEOUT_S JOBID...
#
# Waits for every given job, every task of a given array job, and every job that
# depends on one of them (e.g. a merge job submitted with --dependency=afterok:ARRAY
# from inside the array), transitively, until none is pending or running.
#   exit 0  all of them COMPLETED
#   exit 1  some ended in another state (FAILED, CANCELLED, TIMEOUT, ...), or one
#           can never start (DependencyNeverSatisfied), or TIMEOUT_S ran out;
#           a table of job ids, states, reasons and exit codes goes to stderr
#   exit 2  usage error
#
# States come from `scontrol -o show job` (one line per job; there is no slurmdbd,
# so finished jobs are known only for MinJobAge seconds, 600 with with-slurm.sh).
# All jobs are read in one call: one consistent snapshot of the given jobs and of the
# jobs that depend on them.
#
# Dependents are found through their Dependency= field, which Slurm clears once the
# dependency is satisfied. A dependent is therefore seen only if it is submitted
# while the job it depends on is still unfinished and a poll (every 0.5 s) happens
# before that job ends - true for a merge job that array task 0 submits first thing,
# when the array takes longer than a poll. To be certain, also pass its id (as the
# demo does, reading it from a file task 0 writes).
set -euo pipefail

POLL_S=0.5

usage() { echo "usage: bash $0 TIMEOUT_S JOBID..." >&2; exit 2; }
[[ $# -ge 2 ]] || usage
timeout_s=$1
shift
[[ $timeout_s =~ ^[0-9]+$ ]] || usage
for id in "$@"; do
    # Plain job ids (an array job's id stands for all its tasks).
    [[ $id =~ ^[0-9]+$ ]] || { echo "not a job id: $id" >&2; usage; }
done

# Tracked ids: the given ones plus the dependents found on the way.
declare -A tracked=()
for id in "$@"; do tracked[$id]=1; done

# Snapshot of all jobs as tab-separated rows:
#   display-id  JobId  ArrayJobId  JobState  Reason  ExitCode  Dependency
# display-id is ARRAYJOB_TASK for array tasks ("12_3", or "12_[4-7]" for tasks not
# started yet), else the job id. Missing fields come out as "-" (never empty: a tab
# is whitespace to `read`, so empty fields would shift the others).
snapshot() {
    local out
    out=$(timeout 20 scontrol -o show job 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
    printf '%s\n' "$out" | awk '
        {
            delete f
            for (i = 1; i <= NF; i++) {
                eq = index($i, "=")
                if (eq > 1) {
                    k = substr($i, 1, eq - 1)
                    if (!(k in f)) f[k] = substr($i, eq + 1)
                }
            }
            if (!("JobId" in f)) next
            disp = f["JobId"]
            if (("ArrayJobId" in f) && ("ArrayTaskId" in f)) {
                t = f["ArrayTaskId"]
                if (t ~ /[-,%]/) t = "[" t "]"
                disp = f["ArrayJobId"] "_" t
            }
            dep = ("Dependency" in f) ? f["Dependency"] : "-"
            if (dep == "(null)" || dep == "") dep = "-"
            printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", disp, f["JobId"], \
                (("ArrayJobId" in f) ? f["ArrayJobId"] : "-"), \
                (("JobState" in f) ? f["JobState"] : "UNKNOWN"), \
                (("Reason" in f) ? f["Reason"] : "-"), \
                (("ExitCode" in f) ? f["ExitCode"] : "-"), dep
        }'
}

# States after which a job will not run (again) by itself.
is_final() {
    case $1 in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | PREEMPTED | BOOT_FAIL | \
            DEADLINE | OUT_OF_MEMORY | SPECIAL_EXIT | REVOKED) return 0 ;;
        *) return 1 ;;
    esac
}

# Does Dependency= value $1 name tracked job/array $2? Forms: afterok:12,
# afterok:12_*, afterany:12_3, each followed by "(state)", ":" or ",".
depends_on() {
    local dep=$1 re="(^|[:,?])$2(_[0-9*]+)?([(:,+]|\$)"
    [[ $dep =~ $re ]]
}

deadline=$((SECONDS + timeout_s))
declare -a rows=()
while :; do
    if ! snap=$(snapshot); then
        # slurmctld busy or briefly unreachable: try again until the deadline.
        if ((SECONDS >= deadline)); then
            echo "wait-for-jobs: scontrol kept failing; gave up after ${timeout_s}s" >&2
            exit 1
        fi
        sleep "$POLL_S"
        continue
    fi
    rows=()
    [[ -z $snap ]] || mapfile -t rows <<<"$snap"

    # Adopt dependents of anything tracked (repeat until no new ones: chains).
    added=1
    while ((added)); do
        added=0
        for row in "${rows[@]}"; do
            IFS=$'\t' read -r _ jobid _ _ _ _ dep <<<"$row"
            [[ $dep != - && -z ${tracked[$jobid]:-} ]] || continue
            for id in "${!tracked[@]}"; do
                if depends_on "$dep" "$id"; then
                    tracked[$jobid]=1
                    added=1
                    printf '[%s] wait-for-jobs: job %s depends on %s; waiting for it too\n' \
                        "$(date +%H:%M:%S)" "$jobid" "$id" >&2
                    break
                fi
            done
        done
    done

    # Collect the rows of tracked jobs (array tasks through their ArrayJobId).
    declare -A seen=()
    table=()
    active=0
    failed=0
    for row in "${rows[@]}"; do
        IFS=$'\t' read -r disp jobid arr state reason exitc _ <<<"$row"
        if [[ -n ${tracked[$jobid]:-} || -n ${tracked[$arr]:-} ]]; then
            seen[$jobid]=1
            seen[$arr]=1
            if ! is_final "$state"; then
                if [[ $state == PENDING && $reason == DependencyNeverSatisfied ]]; then
                    # A dependency that failed: such a job pends forever.
                    failed=1
                else
                    active=1
                fi
            elif [[ $state != COMPLETED ]]; then
                failed=1
            fi
            table+=("$(printf '%-14s %-14s %-26s %s' "$disp" "$state" "$reason" "$exitc")")
        fi
    done
    # Given ids Slurm does not know (typo, or purged after MinJobAge): a failure.
    for id in "${!tracked[@]}"; do
        if [[ -z ${seen[$id]:-} ]]; then
            failed=1
            table+=("$(printf '%-14s %-14s %-26s %s' "$id" NOT_FOUND - -)")
        fi
    done
    unset seen

    if ((!active)); then
        break
    fi
    if ((SECONDS >= deadline)); then
        failed=1
        echo "wait-for-jobs: timed out after ${timeout_s}s" >&2
        break
    fi
    sleep "$POLL_S"
done

if ((failed)); then
    {
        printf '%-14s %-14s %-26s %s\n' JOBID STATE REASON EXITCODE
        printf '%s\n' "${table[@]}" | sort -V
    } >&2
    exit 1
fi
printf '[%s] wait-for-jobs: %d job record(s) COMPLETED\n' "$(date +%H:%M:%S)" "${#table[@]}" >&2
exit 0
