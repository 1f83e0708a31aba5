#!/usr/bin/env bash
# Self-test of the Slurm harness; run it inside with-slurm.sh:
#
#   bash tests/slurm/with-slurm.sh bash tests/slurm/demo-array.sh
#
# Exercises the pattern the real test uses: a 4-task job array in which task 0, first
# thing, submits a merge job with --dependency=afterok:<the whole array>; each task
# writes shard-<task>.txt; the merge job concatenates the shards into merged.txt.
# Checks that sbatch works from inside a job (PATH and SLURM_CONF inherited), that
# the merge job runs only after every task, and that wait-for-jobs.sh reports it all.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[%s] demo-array: %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

[[ -n ${SLURM_CONF:-} ]] || { log "SLURM_CONF is not set; run me through with-slurm.sh"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-demo-array.XXXXXX")
# On failure show what the jobs wrote; keep the folder with KEEP_SLURM_SCRATCH=1.
on_exit() {
    local rc=$?
    if ((rc != 0)); then
        log "FAILED (status $rc); job output follows"
        tail -n +1 "$work"/logs/* >&2 2>/dev/null || true
    fi
    if [[ ${KEEP_SLURM_SCRATCH:-0} == 1 ]]; then
        log "kept $work"
    else
        rm -rf -- "$work"
    fi
}
trap on_exit EXIT
mkdir "$work/logs"

# The job script. $work is substituted now (#SBATCH lines cannot expand variables);
# \$ marks what the job expands at run time.
cat >"$work/shards.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=demo-shards
#SBATCH --array=0-3
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/logs/shards_%A_%a.out
set -euo pipefail
if [[ \$SLURM_ARRAY_TASK_ID == 0 ]]; then
    # First thing: the merge job, held until every task of this array succeeded.
    # Written via a temporary file and mv so a reader never sees a partial id.
    merge_id=\$(sbatch --parsable --job-name=demo-merge \\
        --dependency=afterok:\$SLURM_ARRAY_JOB_ID \\
        --output=$work/logs/merge_%j.out \\
        --wrap "cat shard-*.txt > merged.txt")
    echo "\$merge_id" >merge-job-id.txt.tmp
    mv merge-job-id.txt.tmp merge-job-id.txt
    echo "task 0 submitted merge job \$merge_id (sbatch=\$(command -v sbatch), SLURM_CONF=\$SLURM_CONF)"
fi
# Long enough that the merge job is seen pending on its dependency.
sleep 1
echo "\$SLURM_ARRAY_TASK_ID \$SLURM_ARRAY_TASK_COUNT" >shard-\$SLURM_ARRAY_TASK_ID.txt
echo "task \$SLURM_ARRAY_TASK_ID of \$SLURM_ARRAY_TASK_COUNT done in \$PWD on \$SLURMD_NODENAME"
EOF

# --chdir: the jobs' working directory (shards and merged.txt land there); the merge
# job inherits it from task 0.
array_id=$(sbatch --parsable --chdir="$work" "$work/shards.sbatch")
log "submitted array job $array_id"

bash "$here/wait-for-jobs.sh" 60 "$array_id"
log "array job $array_id completed"

[[ -s $work/merge-job-id.txt ]] || { log "FAIL: task 0 wrote no merge-job-id.txt"; exit 1; }
merge_id=$(<"$work/merge-job-id.txt")
log "merge job $merge_id (from merge-job-id.txt)"
bash "$here/wait-for-jobs.sh" 60 "$merge_id"
log "merge job $merge_id completed"

expected=$'0 4\n1 4\n2 4\n3 4'
actual=$(cat "$work/merged.txt")
if [[ $actual != "$expected" ]]; then
    log "FAIL: merged.txt is not as expected"
    printf -- '--- expected\n%s\n--- actual\n%s\n' "$expected" "$actual" >&2
    exit 1
fi

# The merge job ran after every task: it started no earlier than the last task ended.
merge_start=$(scontrol -o show job "$merge_id" | grep -o 'StartTime=[^ ]*' | cut -d= -f2)
last_end=$(scontrol -o show job "$array_id" | grep -o 'EndTime=[^ ]*' | cut -d= -f2 | sort | tail -n 1)
if [[ $merge_start < $last_end ]]; then
    log "FAIL: merge job started $merge_start, before the last task ended ($last_end)"
    exit 1
fi

echo "--- job output ---"
cat "$work"/logs/*.out
echo "--- merged.txt ---"
cat "$work/merged.txt"
log "OK: 4 shards merged by job $merge_id after array $array_id"
