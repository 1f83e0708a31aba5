#!/usr/bin/env bash
# Calibration from a real Slurm: run inside with-slurm.sh (as .ci/run does):
#
#   bash tests/slurm/with-slurm.sh bash tests/slurm/calibrate-on-slurm.sh [CLUSTERSIM]
#
# Submits a burst of small batch jobs (one sbatch each, so that slurmctld's RPC statistics
# count them) and waits until they have run, captures `sdiag` and `scontrol show config`,
# has `clustersim calibrate` fit a [controller] section to them, checks that the section
# took sdiag's figures and this cluster's SchedulerParameters, and that a scenario using it
# validates and runs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
clustersim=${1:-${CARGO_TARGET_DIR:-$repo/target}/release/clustersim}
jobs=${CALIBRATE_JOBS:-60}
log() { printf '[%s] calibrate-on-slurm: %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

[[ -n ${SLURM_CONF:-} ]] || { log "SLURM_CONF is not set; run me through with-slurm.sh"; exit 2; }
[[ -x $clustersim ]] || { log "no clustersim program at $clustersim (build it first)"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-slurm-calibrate.XXXXXX")
trap 'if [[ ${KEEP_SLURM_SCRATCH:-0} == 1 ]]; then log "kept $work"; else rm -rf -- "$work"; fi' EXIT

log "submitting $jobs small jobs, one sbatch each"
ids=()
for ((i = 0; i < jobs; i++)); do
    ids+=("$(sbatch --parsable --output=/dev/null --wrap 'sleep 1')")
done
bash "$here/wait-for-jobs.sh" 600 "${ids[@]}"

sdiag >"$work/sdiag.txt"
scontrol show config >"$work/config.txt"
grep -q '^Main schedule statistics' "$work/sdiag.txt" || fail "sdiag printed no main statistics"
submitted=$(awk '/REQUEST_SUBMIT_BATCH_JOB/ { for (i = 1; i <= NF; i++) if ($i ~ /^count:/) { sub("count:", "", $i); print $i } }' "$work/sdiag.txt")
log "sdiag counts ${submitted:-no} batch submissions"
[[ ${submitted:-0} -ge $jobs ]] || fail "sdiag counted ${submitted:-0} submissions, expected $jobs"

"$clustersim" calibrate --sdiag "$work/sdiag.txt" --slurm-conf "$work/config.txt" >"$work/controller.toml"
cat "$work/controller.toml" >&2
grep -q '^\[controller\]' "$work/controller.toml" || fail "no [controller] section"
# The submission service time is sdiag's mean for REQUEST_SUBMIT_BATCH_JOB.
ave=$(awk '/REQUEST_SUBMIT_BATCH_JOB/ { for (i = 1; i <= NF; i++) if ($i ~ /^ave_time:/) { sub("ave_time:", "", $i); print $i } }' "$work/sdiag.txt")
ave=$((ave > 0 ? ave : 1))
grep -q "^rpc_service_us = $ave\$" "$work/controller.toml" || fail "rpc_service_us is not sdiag's $ave µs"
grep -q 'rpc_service_us = .*REQUEST_SUBMIT_BATCH_JOB' "$work/controller.toml" || fail "no note on the service time"
# This cluster's SlurmctldTimeout (scontrol prints "120 sec").
timeout_s=$(awk -F= '/^SlurmctldTimeout/ { gsub(/[^0-9]/, "", $2); print $2 }' "$work/config.txt")
grep -q "^slurmctld_timeout_s = $timeout_s\$" "$work/controller.toml" || fail "slurmctld_timeout_s is not $timeout_s"

# The fitted section in a scenario: it validates and runs.
sed '/^\[controller\]/d' "$repo/scenarios/submission-storm.toml" |
    sed 's/^jobs = 30000$/jobs = 3000/; s/^jobs = 3000$/jobs = 300/' >"$work/scenario.toml"
cat "$work/controller.toml" >>"$work/scenario.toml"
"$clustersim" validate "$work/scenario.toml" >&2
"$clustersim" run "$work/scenario.toml" --out "$work/run" --no-plots --quiet
grep -q '"controller"' "$work/run/summary.json" || fail "the run reports no controller"
log "OK: a [controller] section fitted to this Slurm's sdiag ran"
