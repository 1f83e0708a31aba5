//! `clustersim sweep --emit-slurm FILE`: an `sbatch` script that runs a sweep as a Slurm job
//! array, one shard per array task, followed by a merge job.
//!
//! The script is submitted with `sbatch FILE`. Array task 0, first thing, submits the merge
//! job with `--dependency=afterok:$SLURM_ARRAY_JOB_ID`, which waits for every task of the
//! array and runs only if all succeeded; so one `sbatch` starts the whole sweep, and the
//! merge is queued while the array still runs (task 0 is running), never after it ended.
//! Each task writes its shard into `OUT/shards/I` with `--resume`, so a requeued task
//! continues where it stopped.

use std::fmt::Write as _;
use std::path::Path;

/// What the script needs.
pub struct SlurmScript<'a> {
    /// The clustersim program, as the compute nodes see it (an absolute path).
    pub program: &'a Path,
    /// The scenario file (absolute).
    pub scenario: &'a Path,
    /// The sweep's output folder (absolute, on a file system every node shares).
    pub out: &'a Path,
    /// Array tasks (shards).
    pub shards: usize,
    /// Runs in the sweep (for the script's comment).
    pub runs: usize,
    /// A name for the jobs.
    pub name: &'a str,
    /// Extra `#SBATCH` options, e.g. `--partition=batch`, `--time=02:00:00`.
    pub sbatch_options: &'a [String],
}

/// Single-quotes `s` for the shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl SlurmScript<'_> {
    /// The script's text.
    pub fn render(&self) -> String {
        let q = |p: &Path| shell_quote(&p.display().to_string());
        let mut s = String::new();
        let _ = writeln!(s, "#!/bin/bash");
        let _ = writeln!(s, "#SBATCH --job-name={}", self.name);
        let _ = writeln!(s, "#SBATCH --array=0-{}", self.shards - 1);
        let _ = writeln!(s, "#SBATCH --ntasks=1");
        let _ = writeln!(s, "#SBATCH --cpus-per-task=1");
        let _ = writeln!(s, "#SBATCH --output={}/slurm/%A_%a.out", self.out.display());
        for o in self.sbatch_options {
            let _ = writeln!(s, "#SBATCH {o}");
        }
        let _ = writeln!(
            s,
            "#\n# Written by clustersim {} (`clustersim sweep --emit-slurm`): the sweep of\n\
             # {} ({} runs) as {} array tasks, each running its shard single-threaded, then a\n\
             # merge job that writes sweep.parquet, sweep.csv, points.* and plots/ into\n\
             # {}.\n# Submit with: sbatch <this file>\n",
            crate::run::PROGRAM.version,
            self.scenario.display(),
            self.runs,
            self.shards,
            self.out.display(),
        );
        let _ = writeln!(s, "set -euo pipefail");
        let _ = writeln!(s, "CLUSTERSIM={}", q(self.program));
        let _ = writeln!(s, "SCENARIO={}", q(self.scenario));
        let _ = writeln!(s, "OUT={}", q(self.out));
        let _ = writeln!(s, "SHARDS={}", self.shards);
        let extra: Vec<String> = self.sbatch_options.iter().map(|o| shell_quote(o)).collect();
        let _ = writeln!(
            s,
            r#"
# Task 0 queues the merge, to run once every task of this array has succeeded.
if [ "$SLURM_ARRAY_TASK_ID" -eq 0 ]; then
    SHARD_DIRS=""
    for i in $(seq 0 $((SHARDS - 1))); do SHARD_DIRS="$SHARD_DIRS $(printf %q "$OUT/shards/$i")"; done
    sbatch --parsable --job-name={name}-merge --ntasks=1 --cpus-per-task=1 {extra}\
        --dependency="afterok:$SLURM_ARRAY_JOB_ID" --output="$OUT/slurm/merge-%j.out" \
        --wrap="$(printf %q "$CLUSTERSIM") merge --quiet --out $(printf %q "$OUT")$SHARD_DIRS" \
        > "$OUT/slurm/merge-job-id"
fi

exec "$CLUSTERSIM" sweep "$SCENARIO" --quiet --threads 1 --resume \
    --out "$OUT/shards/$SLURM_ARRAY_TASK_ID" \
    --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT""#,
            name = self.name,
            extra = if extra.is_empty() {
                String::new()
            } else {
                format!("{} ", extra.join(" "))
            },
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_an_array_with_a_dependent_merge() {
        let opts = vec!["--partition=batch".to_string()];
        let s = SlurmScript {
            program: Path::new("/opt/bin/clustersim"),
            scenario: Path::new("/home/u/s.toml"),
            out: Path::new("/scratch/it's here"),
            shards: 8,
            runs: 200,
            name: "clustersim-sweep",
            sbatch_options: &opts,
        }
        .render();
        assert!(s.starts_with("#!/bin/bash\n"));
        assert!(s.contains("#SBATCH --array=0-7\n"));
        assert!(s.contains("#SBATCH --partition=batch\n"));
        assert!(s.contains("OUT='/scratch/it'\\''s here'\n"));
        assert!(s.contains("--dependency=\"afterok:$SLURM_ARRAY_JOB_ID\""));
        assert!(s.contains("--shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\""));
        assert!(s.contains("'--partition=batch' "));
    }
}
