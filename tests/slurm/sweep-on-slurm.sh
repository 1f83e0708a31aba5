#!/usr/bin/env bash
# The sharded sweep on a real Slurm: run inside with-slurm.sh (as .ci/run does):
#
#   bash tests/slurm/with-slurm.sh bash tests/slurm/sweep-on-slurm.sh [CLUSTERSIM]
#
# Runs the example sweep (scenarios/gpu-sweep.toml) on this machine, then has
# `clustersim sweep --emit-slurm` write its sbatch script (a 4-task job array whose task 0
# queues the dependent merge job), submits it with sbatch, waits for the array and the
# merge, and checks that the merged tables and plots are the single-machine sweep's,
# byte for byte.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
clustersim=${1:-${CARGO_TARGET_DIR:-$repo/target}/release/clustersim}
log() { printf '[%s] sweep-on-slurm: %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

[[ -n ${SLURM_CONF:-} ]] || { log "SLURM_CONF is not set; run me through with-slurm.sh"; exit 2; }
[[ -x $clustersim ]] || { log "no clustersim program at $clustersim (build it first)"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-slurm-sweep.XXXXXX")
on_exit() {
    local rc=$?
    if ((rc != 0)); then
        log "FAILED (status $rc); the jobs' output follows"
        tail -n +1 "$work"/slurm-out/slurm/*.out >&2 2>/dev/null || true
    fi
    if [[ ${KEEP_SLURM_SCRATCH:-0} == 1 ]]; then log "kept $work"; else rm -rf -- "$work"; fi
}
trap on_exit EXIT

scenario="$repo/scenarios/gpu-sweep.toml"
log "single-machine sweep of $scenario"
"$clustersim" sweep "$scenario" --out "$work/local" --quiet

log "emitting and submitting the Slurm script"
"$clustersim" sweep "$scenario" --out "$work/slurm-out" --emit-slurm "$work/sweep.sbatch" --shards 4
array_id=$(sbatch --parsable "$work/sweep.sbatch")
log "array job $array_id submitted"
bash "$here/wait-for-jobs.sh" 600 "$array_id"
[[ -s $work/slurm-out/slurm/merge-job-id ]] || { log "FAIL: task 0 queued no merge job"; exit 1; }
merge_id=$(<"$work/slurm-out/slurm/merge-job-id")
log "array done; waiting for merge job $merge_id"
bash "$here/wait-for-jobs.sh" 600 "$merge_id"

# Every shard ran its share: 135 runs round-robin over 4 shards.
for i in 0 1 2 3; do
    n=$(find "$work/slurm-out/shards/$i/runs" -name 'run-*.json' | wc -l)
    expected=$(( (135 - i + 3) / 4 ))
    [[ $n == "$expected" ]] || { log "FAIL: shard $i wrote $n runs, expected $expected"; exit 1; }
done

compared=0
for f in sweep.csv sweep.parquet points.csv points.parquet; do
    cmp "$work/local/$f" "$work/slurm-out/$f" || { log "FAIL: $f differs from the single-machine sweep"; exit 1; }
    compared=$((compared + 1))
done
for f in "$work"/local/plots/*; do
    cmp "$f" "$work/slurm-out/plots/$(basename "$f")" || { log "FAIL: plots/$(basename "$f") differs"; exit 1; }
    compared=$((compared + 1))
done
rows=$(($(wc -l <"$work/slurm-out/sweep.csv") - 1))
[[ $rows == 135 ]] || { log "FAIL: the merged table has $rows rows, expected 135"; exit 1; }
log "OK: 4 Slurm array tasks and merge job $merge_id reproduced the sweep ($rows runs, $compared files identical)"
