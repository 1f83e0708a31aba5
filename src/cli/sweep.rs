//! `clustersim sweep` (a scenario's [sweep], whole or a shard, or as a Slurm script with
//! --emit-slurm) and `clustersim merge` (the shards joined).

use super::progress::SweepProgress;
use crate::scenario;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `clustersim sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The scenario file, with a [sweep] section.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// The output folder: runs/ (one record per finished run), sweep.json, the tables and
    /// plots/.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (each run is single-threaded) [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Run only shard INDEX of COUNT (runs whose number is INDEX modulo COUNT), for
    /// `clustersim merge` to join; e.g. 0/4.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<crate::sweep::Shard>,
    /// Skip runs whose results are already in DIR (continue an interrupted sweep).
    #[arg(long)]
    pub resume: bool,
    /// Run even runs in which every job (or every job of one generated class) is dropped
    /// (by default such a run stops the sweep with an error naming it).
    #[arg(long)]
    pub allow_empty: bool,
    /// Do not run: write an sbatch script that runs the sweep as a Slurm job array with
    /// --shards tasks, then merges them into DIR.
    #[arg(long, value_name = "FILE")]
    pub emit_slurm: Option<PathBuf>,
    /// Array tasks for --emit-slurm, at least 1 (more than the runs: one a run) [default: the
    /// number of runs, at most 64].
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// An extra #SBATCH option for --emit-slurm (repeatable), e.g. --sbatch-option=--partition=batch.
    #[arg(long, value_name = "OPTION", allow_hyphen_values = true)]
    pub sbatch_option: Vec<String>,
    /// Overwrite the --emit-slurm script if it exists. (The --out folder is not replaced: a
    /// sweep adds its runs to it, see --resume.)
    #[arg(long)]
    pub force: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `clustersim merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shards' output folders.
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged sweep.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

pub(super) fn sweep_command(args: &SweepArgs) -> Result<()> {
    let loaded = scenario::load(&args.scenario)?;
    let sweep = crate::sweep::spec::Sweep::from_scenario(&loaded)?;
    let total = sweep.runs.len();
    if let Some(file) = &args.emit_slurm {
        if args.shards == Some(0) {
            anyhow::bail!("--shards must be at least 1");
        }
        // More tasks than runs would leave some with nothing to do.
        let shards = args.shards.unwrap_or(total.min(64)).clamp(1, total);
        let absolute = |p: &Path| -> Result<PathBuf> {
            std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))
        };
        let program = std::env::current_exe().context("finding the clustersim program")?;
        let out = absolute(&args.out)?;
        // Checked before the script is rendered or the folder created.
        let inputs = [args.scenario.as_path()];
        crate::outdir::check_target(file, crate::outdir::TargetKind::File, &inputs, args.force)?;
        let script = crate::sweep::slurm::SlurmScript {
            program: &program,
            scenario: &absolute(&args.scenario)?,
            out: &out,
            shards,
            runs: total,
            name: &format!("clustersim-{}", loaded.name()),
            sbatch_options: &args.sbatch_option,
        }
        // Refuses a path, name or option with a line break, which would end a comment or an
        // #SBATCH line and start a command of its own; before anything is written.
        .render()?;
        // Slurm opens the tasks' output files in this folder: it must exist before they start.
        std::fs::create_dir_all(out.join("slurm"))
            .with_context(|| format!("creating {}", out.join("slurm").display()))?;
        crate::outdir::write_file(file, &inputs, args.force, |mut f| {
            std::io::Write::write_all(&mut f, script.as_bytes())
        })?;
        if !args.quiet {
            say!(
                "{}: {total} runs as a Slurm array of {shards} tasks and a merge into {}",
                file.display(),
                out.display()
            );
            say!("submit it with: sbatch {}", file.display());
        }
        return Ok(());
    }
    warn_if_more_threads_than_cores(args.threads);
    let options = crate::sweep::SweepOptions {
        out: args.out.clone(),
        threads: args.threads,
        shard: args.shard,
        resume: args.resume,
        allow_empty: args.allow_empty,
    };
    let started = Instant::now();
    let reporter = SweepProgress::new(args.quiet);
    let outcome = crate::sweep::run_sweep(&sweep, &options, &|done, to_do| {
        reporter.update(done, to_do, started)
    })?;
    if !args.quiet {
        let share = match args.shard {
            Some(s) => format!(
                " (shard {}/{}: {} of them)",
                s.index, s.count, outcome.my_runs
            ),
            None => String::new(),
        };
        say!(
            "sweep {:?}: {} runs{share}, {} run now, {} already done, in {:.1} s",
            loaded.name(),
            outcome.total_runs,
            outcome.my_runs - outcome.skipped,
            outcome.skipped,
            started.elapsed().as_secs_f64()
        );
        if outcome.written.is_empty() {
            say!(
                "run records written to {}; join the shards with: clustersim merge --out DIR SHARD_DIR...",
                crate::sweep::record::runs_dir(&args.out).display()
            );
        } else {
            say!(
                "results written to {}: {}",
                args.out.display(),
                outcome.written.join(", ")
            );
        }
    }
    Ok(())
}

/// Says on standard error that `--threads` is capped at the cores (see
/// [`crate::sweep::worker_threads`]).
pub(super) fn warn_if_more_threads_than_cores(requested: Option<usize>) {
    if let Some(n) = requested {
        let used = crate::sweep::worker_threads(Some(n));
        if n > used {
            eprintln!(
                "warning: --threads {n} is more than the {used} cores of this machine; using {used}"
            );
        }
    }
}

pub(super) fn merge_command(args: &MergeArgs) -> Result<()> {
    let written = crate::sweep::merge(&args.dirs, &args.out)?;
    if !args.quiet {
        say!(
            "merged {} folders into {}: {}",
            args.dirs.len(),
            args.out.display(),
            written.join(", ")
        );
    }
    Ok(())
}
