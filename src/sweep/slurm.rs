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

/// Single-quotes `s` for the shell: `'…'`, with each `'` written as `'\''`. Inside single
/// quotes bash expands nothing (`$`, backticks, `\`, `"` are literal), so the quoted text is
/// exactly `s`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Escapes `s` for the value of an `#SBATCH` option. sbatch reads these lines itself, not
/// through a shell: a value ends at white space, `#` starts a comment, quotes are removed
/// and `\` makes the next character literal. So every character that is not plainly part
/// of a path gets a `\`, and the value sbatch reads is exactly `s`.
pub fn sbatch_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !(c.is_ascii_alphanumeric() || "/._-+,:=%@".contains(c)) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text that cannot be written into the script safely: a control character (a line break
/// would end a comment or an `#SBATCH` line and start a command of its own), or a path that
/// is not UTF-8 (it could not be written as it is).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} {shown}: {why}; a Slurm script cannot hold it safely, choose another")]
pub struct UnsafeInScript {
    /// Which input, e.g. `--out`.
    pub what: String,
    /// The input, escaped for display.
    pub shown: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// `text` if it holds no control character.
pub fn script_safe<'a>(what: &str, text: &'a str) -> Result<&'a str, UnsafeInScript> {
    if text.chars().any(char::is_control) {
        return Err(UnsafeInScript {
            what: what.to_string(),
            shown: format!("{text:?}"),
            why: "it holds a control character (a line break, a tab, …)",
        });
    }
    Ok(text)
}

/// `path` as text if it is UTF-8 and holds no control character.
pub fn script_safe_path<'a>(what: &str, path: &'a Path) -> Result<&'a str, UnsafeInScript> {
    let text = path.to_str().ok_or_else(|| UnsafeInScript {
        what: what.to_string(),
        shown: format!("{path:?}"),
        why: "it is not UTF-8",
    })?;
    script_safe(what, text)
}

impl SlurmScript<'_> {
    /// The script's text, or which input cannot be written into it safely. Every path, the
    /// job name and the options are checked ([`script_safe`]); in the shell part they are
    /// single-quoted ([`shell_quote`]), in `#SBATCH` lines escaped ([`sbatch_escape`]), and
    /// in comments they stand as they are (with no line break, a comment cannot end early).
    pub fn render(&self) -> Result<String, UnsafeInScript> {
        let program = script_safe_path("the clustersim program", self.program)?;
        let scenario = script_safe_path("the scenario", self.scenario)?;
        let out = script_safe_path("--out", self.out)?;
        let name = script_safe("the job name (the scenario's name)", self.name)?;
        for o in self.sbatch_options {
            script_safe("--sbatch-option", o)?;
        }
        let mut s = String::new();
        let _ = writeln!(s, "#!/bin/bash");
        let _ = writeln!(s, "#SBATCH --job-name={}", sbatch_escape(name));
        let _ = writeln!(s, "#SBATCH --array=0-{}", self.shards - 1);
        let _ = writeln!(s, "#SBATCH --ntasks=1");
        let _ = writeln!(s, "#SBATCH --cpus-per-task=1");
        let _ = writeln!(
            s,
            "#SBATCH --output={}",
            sbatch_escape(&format!("{out}/slurm/%A_%a.out"))
        );
        // The user's own options, as given: they are sbatch syntax already.
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
            scenario,
            self.runs,
            self.shards,
            out,
        );
        let _ = writeln!(s, "set -euo pipefail");
        let _ = writeln!(s, "CLUSTERSIM={}", shell_quote(program));
        let _ = writeln!(s, "SCENARIO={}", shell_quote(scenario));
        let _ = writeln!(s, "OUT={}", shell_quote(out));
        let _ = writeln!(s, "SHARDS={}", self.shards);
        let extra: Vec<String> = self.sbatch_options.iter().map(|o| shell_quote(o)).collect();
        let _ = writeln!(
            s,
            r#"
# Task 0 queues the merge, to run once every task of this array has succeeded.
if [ "$SLURM_ARRAY_TASK_ID" -eq 0 ]; then
    SHARD_DIRS=""
    for i in $(seq 0 $((SHARDS - 1))); do SHARD_DIRS="$SHARD_DIRS $(printf %q "$OUT/shards/$i")"; done
    sbatch --parsable --job-name={merge_name} --ntasks=1 --cpus-per-task=1 {extra}\
        --dependency="afterok:$SLURM_ARRAY_JOB_ID" --output="$OUT/slurm/merge-%j.out" \
        --wrap="$(printf %q "$CLUSTERSIM") merge --quiet --out $(printf %q "$OUT")$SHARD_DIRS" \
        > "$OUT/slurm/merge-job-id"
fi

exec "$CLUSTERSIM" sweep "$SCENARIO" --quiet --threads 1 --resume \
    --out "$OUT/shards/$SLURM_ARRAY_TASK_ID" \
    --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT""#,
            merge_name = shell_quote(&format!("{name}-merge")),
            extra = if extra.is_empty() {
                String::new()
            } else {
                format!("{} ", extra.join(" "))
            },
        );
        Ok(s)
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
        .render()
        .unwrap();
        assert!(s.starts_with("#!/bin/bash\n"));
        assert!(s.contains("#SBATCH --array=0-7\n"));
        assert!(s.contains("#SBATCH --partition=batch\n"));
        assert!(s.contains("OUT='/scratch/it'\\''s here'\n"));
        assert!(s.contains("--dependency=\"afterok:$SLURM_ARRAY_JOB_ID\""));
        assert!(s.contains("--shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\""));
        assert!(s.contains("'--partition=batch' "));
        assert!(s.contains("#SBATCH --output=/scratch/it\\'s\\ here/slurm/%A_%a.out\n"));
        assert!(s.contains("--job-name='clustersim-sweep-merge'"));
    }
}
